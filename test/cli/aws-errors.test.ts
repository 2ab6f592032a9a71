import { describe, expect, it } from 'vitest';
import { describeAwsSetupError, NO_CREDENTIALS, NO_REGION } from '../../cli/aws-errors.js';

/** An error shaped as the SDK throws it: a name, a message, and optionally a Node error code. */
function sdkError(name: string, message: string, code?: string): Error {
  const e = new Error(message);
  e.name = name;
  if (code) (e as NodeJS.ErrnoException).code = code;
  return e;
}

describe('describeAwsSetupError', () => {
  it('returns the region message when the SDK says "Region is missing"', () => {
    // Prepare
    const error = new Error('Region is missing');

    // Act
    const described = describeAwsSetupError(error, {});

    // Assess
    expect(described).toBe('no AWS region: set AWS_REGION or pass --region');
    expect(described).toBe(NO_REGION);
  });

  it('returns the credentials message when no provider of the chain has credentials and no profile is named', () => {
    // Prepare
    const error = sdkError('CredentialsProviderError', 'Could not load credentials from any providers');

    // Act
    const described = describeAwsSetupError(error, {});

    // Assess
    expect(described).toBe(
      'no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run aws sso login',
    );
    expect(described).toBe(NO_CREDENTIALS);
  });

  it('names the profile when AWS_PROFILE is set but yields no credentials', () => {
    // Prepare
    const error = sdkError('CredentialsProviderError', 'Could not load credentials from any providers');

    // Act
    const described = describeAwsSetupError(error, { AWS_PROFILE: 'staging' });

    // Assess
    expect(described).toBe(
      'no AWS credentials for profile "staging": check it in your AWS config and credentials files, or run aws sso login --profile staging',
    );
  });

  it("keeps the provider's own reason, on one line, when a provider fails for a reason of its own", () => {
    // Prepare
    const error = sdkError('TokenProviderError', 'The SSO session has expired.\nRun aws sso login.');

    // Act
    const described = describeAwsSetupError(error, {});

    // Assess
    expect(described).toBe(
      'AWS credentials: The SSO session has expired.\\nRun aws sso login. (set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run aws sso login)',
    );
  });

  it('says the credentials were rejected when a service answers ExpiredTokenException', () => {
    // Prepare
    const error = sdkError('ExpiredTokenException', 'The security token included in the request is expired');

    // Act
    const described = describeAwsSetupError(error, {});

    // Assess
    expect(described).toBe(
      'AWS rejected the credentials (ExpiredTokenException: The security token included in the request is expired); refresh them: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run aws sso login',
    );
  });

  it('says access was denied when a service answers AccessDeniedException', () => {
    // Prepare
    const error = sdkError(
      'AccessDeniedException',
      'User: arn:aws:iam::123456789012:user/x is not authorized',
    );

    // Act
    const described = describeAwsSetupError(error, {});

    // Assess
    expect(described).toBe('access denied by AWS: User: arn:aws:iam::123456789012:user/x is not authorized');
  });

  it('names AWS_ENDPOINT_URL when the endpoint refuses the connection', () => {
    // Prepare
    const error = sdkError('Error', 'connect ECONNREFUSED 127.0.0.1:4566', 'ECONNREFUSED');

    // Act
    const described = describeAwsSetupError(error, { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' });

    // Assess
    expect(described).toBe(
      'cannot reach AWS_ENDPOINT_URL http://127.0.0.1:4566 (ECONNREFUSED): check the endpoint and the network',
    );
  });

  it('finds the setup error when it is the cause of a wrapping error', () => {
    // Prepare
    const error = new Error('request failed', { cause: new Error('Region is missing') });

    // Act
    const described = describeAwsSetupError(error, {});

    // Assess
    expect(described).toBe(NO_REGION);
  });

  it('returns undefined when the error says nothing about the AWS setup', () => {
    // Prepare
    const errors = [
      new TypeError("Cannot read properties of undefined (reading 'imageDigest')"),
      sdkError('ThrottlingException', 'Rate exceeded'),
      sdkError('Error', 'socket hang up', 'ECONNRESET'),
      'Region is missing',
    ];

    // Act
    const described = errors.map((e) => describeAwsSetupError(e, {}));

    // Assess
    expect(described).toEqual([undefined, undefined, undefined, undefined]);
  });
});
