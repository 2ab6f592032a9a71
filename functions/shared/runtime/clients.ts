/**
 * SDK client settings shared by every adapter: adaptive retry (client-side rate limiting on throttling) with a
 * generous attempt budget. Endpoints come from the SDK's standard AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE>
 * settings, so the same code runs against AWS, LocalStack or the local cloud.
 */
export const CLIENT_DEFAULTS = { retryMode: 'adaptive', maxAttempts: 8 } as const;

/**
 * DynamoDB's: standard retry (exponential backoff with jitter). On-demand tables throttle per partition (a hot
 * counter item in a burst), not per account; adaptive retry's client-wide rate limiter would slow every call
 * of the function, on every table, for one hot key. More attempts, since every audit write must land.
 */
export const DYNAMODB_CLIENT_DEFAULTS = { retryMode: 'standard', maxAttempts: 10 } as const;
