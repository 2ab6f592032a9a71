/**
 * SDK client settings shared by every adapter: adaptive retry (client-side rate limiting on throttling) with a
 * generous attempt budget. Endpoints come from the SDK's standard AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE>
 * settings, so the same code runs against AWS, LocalStack or the local cloud.
 */
export const CLIENT_DEFAULTS = { retryMode: 'adaptive', maxAttempts: 8 } as const;
