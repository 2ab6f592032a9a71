/**
 * Inputs the live commands check before they call AWS: a malformed image reference for `gate check`, a
 * malformed `audit --digest`, a malformed `breaker reset --scope`. Each is exit 2 with one line, so a
 * pipeline never takes a typo for a FAIL (1) or a PENDING (3) verdict. The machine has a region and no
 * credentials: a well-formed input gets past the check and stops at the credentials, which proves the
 * check let it through.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noAwsSetup, removeTempFiles, runCli } from './run-cli.js';

afterAll(removeTempFiles);

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const NO_CREDENTIALS =
  'error: no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run aws sso login\n';

let env: Record<string, string | undefined>;

beforeAll(async () => {
  env = await noAwsSetup({ AWS_REGION: 'eu-west-1' });
});

const cli = (...args: string[]) => runCli(args, { env });

describe('ecr-steward gate check with a malformed reference', () => {
  it.each([
    [
      'team/api@sha256:abc',
      'error: "team/api@sha256:abc": not an image digest: expected sha256: followed by 64 hex digits\n',
    ],
    [`@${DIGEST}`, `error: "@${DIGEST}": the repository name is empty\n`],
    [
      'team/api:-bad',
      'error: "team/api:-bad": not an image tag (up to 300 letters, digits, _ . -, not starting with . or -)\n',
    ],
  ])('exits 2 with one line when the reference is %s', async (image, stderr) => {
    // Act
    const result = await cli('gate', 'check', image, '--verdict-table', 'verdicts');

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(stderr);
    expect(result.stdout).toBe('');
  });

  it('gets past the check when the reference is well formed', async () => {
    // Act
    const result = await cli('gate', 'check', `team/api@${DIGEST}`, '--verdict-table', 'verdicts');

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(NO_CREDENTIALS);
  });
});

describe('ecr-steward audit --digest', () => {
  it('exits 2 with one line when the digest is not sha256: and 64 hex digits', async () => {
    // Act
    const result = await cli('audit', '--digest', 'sha256:xyz', '--audit-table', 'audit');

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'error: --digest "sha256:xyz": not an image digest: expected sha256: followed by 64 hex digits\n',
    );
    expect(result.stdout).toBe('');
  });

  it('gets past the check when the digest is well formed', async () => {
    // Act
    const result = await cli('audit', '--digest', DIGEST, '--audit-table', 'audit');

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(NO_CREDENTIALS);
  });
});

describe('ecr-steward breaker reset --scope', () => {
  it.each([
    ['repository', 'error: --scope "repository": use "registry" or "repository:<name>"\n'],
    [
      'repository:',
      'error: --scope "repository:": the repository name is empty; use "registry" or "repository:<name>"\n',
    ],
    [
      'repository:Team/API',
      'error: --scope "repository:Team/API": a repository name is lower case; use "registry" or "repository:<name>"\n',
    ],
  ])('exits 2 with one line when the scope is %s', async (scope, stderr) => {
    // Act
    const result = await cli(
      'breaker',
      'reset',
      '--scope',
      scope,
      '--state-table',
      'state',
      '--audit-table',
      'audit',
    );

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(stderr);
    expect(result.stdout).toBe('');
  });

  it('gets past the check when the scope names a repository', async () => {
    // Act
    const result = await cli(
      'breaker',
      'reset',
      '--scope',
      'repository:team/api',
      '--state-table',
      'state',
      '--audit-table',
      'audit',
    );

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(NO_CREDENTIALS);
  });
});
