/**
 * The live commands run as a user runs them (a child process) on a machine with no AWS setup: no
 * credentials anywhere, and with or without a region. They must say what to set and exit 2, never
 * report "a bug in ecr-steward" (70). Nothing here reaches a network: the shared config and credentials
 * files are empty temporary files, instance metadata is disabled, and every credential variable is removed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { noAwsSetup as bareMachine, removeTempFiles, runCli, SAMPLE } from './run-cli.js';

afterAll(removeTempFiles);

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const NO_CREDENTIALS =
  'error: no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run aws sso login\n';
const NO_REGION = 'error: no AWS region: set AWS_REGION or pass --region\n';

/** Runs the CLI and measures it: a credential lookup that waited on instance metadata would take seconds. */
async function timed(args: readonly string[], env: Record<string, string | undefined>) {
  const started = Date.now();
  const result = await runCli(args, { env });
  return { ...result, ms: Date.now() - started };
}

describe('ecr-steward live commands without an AWS setup', () => {
  it('exits 2 and says what to set when the region is set but there are no credentials', async () => {
    // Prepare
    const env = await bareMachine({ AWS_REGION: 'eu-west-1' });

    // Act
    const result = await timed(
      ['audit', '--repository', 'team/api', '--registry-id', '123456789012', '--audit-table', 'audit'],
      env,
    );

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(NO_CREDENTIALS);
    expect(result.stdout).toBe('');
    expect(result.ms).toBeLessThan(15_000);
  });

  it('exits 2 and says what to set when there is no region anywhere', async () => {
    // Prepare
    const env = await bareMachine();

    // Act
    const result = await timed(['breaker', 'status', '--state-table', 'state'], env);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(NO_REGION);
    expect(result.stdout).toBe('');
  });

  it('exits 2 for missing region before any call when a record key needs the region (audit --repository)', async () => {
    // Prepare
    const env = await bareMachine();

    // Act
    const result = await timed(
      ['audit', '--repository', 'team/api', '--registry-id', '123456789012', '--audit-table', 'audit'],
      env,
    );

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(NO_REGION);
  });

  it('takes the region from the profile in the shared config file when AWS_REGION is unset', async () => {
    // Prepare
    const env = await bareMachine({}, '[default]\nregion = eu-central-1\n');

    // Act
    const result = await timed(['gate', 'check', `team/api@${DIGEST}`, '--verdict-table', 'verdicts'], env);

    // Assess: the region was found, so the next thing missing is the credentials.
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(NO_CREDENTIALS);
  });

  it('takes the region from --region after the subcommand', async () => {
    // Prepare
    const env = await bareMachine();

    // Act
    const result = await timed(['breaker', 'status', '--state-table', 'state', '--region', 'eu-west-1'], env);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(NO_CREDENTIALS);
  });

  it("takes the region from the AWS CLI's AWS_DEFAULT_REGION, which the SDK alone ignores", async () => {
    // Prepare
    const env = await bareMachine({ AWS_DEFAULT_REGION: 'ap-southeast-2' });

    // Act
    const result = await timed(['breaker', 'status', '--state-table', 'state'], env);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(NO_CREDENTIALS);
  });

  it('exits 2 naming the profile when AWS_PROFILE names one that has no credentials', async () => {
    // Prepare
    const env = await bareMachine({ AWS_REGION: 'eu-west-1', AWS_PROFILE: 'staging' });

    // Act
    const result = await timed(['breaker', 'status', '--state-table', 'state'], env);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'error: no AWS credentials for profile "staging": check it in your AWS config and credentials files, or run aws sso login --profile staging\n',
    );
  });

  it('exits 2 when --region is not a region name', async () => {
    // Prepare
    const env = await bareMachine();

    // Act
    const result = await timed(['--region', 'eu west 1', 'breaker', 'status', '--state-table', 'state'], env);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('error: --region "eu west 1": not an AWS region name (e.g. eu-west-1)\n');
  });
  it("takes the profile's region for the live plan, whose run asks for the region before the account", async () => {
    // Prepare
    const env = await bareMachine({}, '[default]\nregion = eu-central-1\n');

    // Act
    const result = await timed(
      ['plan', '--repository', 'team/api', '--config', 'examples/steward.config.jsonc'],
      env,
    );

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(NO_CREDENTIALS);
  });

  it('exits 2 with the region message for the live plan when there is no region anywhere', async () => {
    // Prepare
    const env = await bareMachine();

    // Act
    const result = await timed(
      ['plan', '--repository', 'team/api', '--config', 'examples/steward.config.jsonc'],
      env,
    );

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(NO_REGION);
  });

  it('plans offline with no region and no credentials at all', async () => {
    // Prepare
    const env = await bareMachine();

    // Act
    const result = await timed(
      ['plan', '--policy', SAMPLE.policy, '--images', SAMPLE.images, '--now', SAMPLE.now, '--format', 'json'],
      env,
    );

    // Assess
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout).repository).toBe('checkout-api');
  });
});
