import { oneLine } from './util.js';

/** What to say when the SDK finds no region: the two ways the CLI takes one. */
export const NO_REGION = 'no AWS region: set AWS_REGION or pass --region';

/** What to say when the SDK's credential chain finds nothing: the usual ways to give it something. */
export const NO_CREDENTIALS =
  'no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run aws sso login';

const CREDENTIALS_HINT = 'set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run aws sso login';

/** The SDK's wording when every provider of the default chain came up empty. */
const NO_PROVIDER = 'Could not load credentials from any providers';

/** Errors of the credential and token providers (profile not found, SSO session expired, …). */
const PROVIDER_ERRORS = new Set(['CredentialsProviderError', 'TokenProviderError']);

/** Service answers that mean "these credentials are not (or no longer) good", whatever the service. */
const REJECTED = new Set([
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
]);

const DENIED = new Set(['AccessDenied', 'AccessDeniedException']);

/** Network failures that mean the endpoint is not there (a local cloud not started, a typo in the URL). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

/**
 * Describes, in one line, an error that says the AWS setup is missing or wrong (no region, no or bad
 * credentials, access denied, an unreachable endpoint) rather than that ECR Steward is broken; undefined
 * for anything else. `env` (default `process.env`) supplies the profile and endpoint the message names. Looks through `cause` chains, since SDK middleware sometimes wraps the original.
 */
export function describeAwsSetupError(
  error: unknown,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const described = describeOne(e, env);
    if (described) return described;
  }
  return undefined;
}

function describeOne(e: Error, env: Readonly<Record<string, string | undefined>>): string | undefined {
  const message = oneLine(e.message);
  // @smithy/config-resolver throws a plain Error with exactly this text: the message is all there is.
  if (e.message === 'Region is missing') return NO_REGION;
  if (PROVIDER_ERRORS.has(e.name)) {
    if (e.message.startsWith(NO_PROVIDER)) {
      // A named profile that yields nothing is a typo or a profile without credentials, not "set AWS_PROFILE".
      const profile = env.AWS_PROFILE;
      return profile
        ? `no AWS credentials for profile "${profile}": check it in your AWS config and credentials files, or run aws sso login --profile ${profile}`
        : NO_CREDENTIALS;
    }
    return `AWS credentials: ${message} (${CREDENTIALS_HINT})`;
  }
  if (REJECTED.has(e.name))
    return `AWS rejected the credentials (${e.name}: ${message}); refresh them: ${CREDENTIALS_HINT}`;
  if (DENIED.has(e.name)) return `access denied by AWS: ${message}`;
  const code = (e as NodeJS.ErrnoException).code;
  if (code && UNREACHABLE.has(code)) {
    const endpoint = env.AWS_ENDPOINT_URL;
    return `cannot reach ${endpoint ? `AWS_ENDPOINT_URL ${endpoint}` : 'AWS'} (${code}): check the endpoint and the network`;
  }
  return undefined;
}
