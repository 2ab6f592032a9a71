import { describe, expect, it } from 'vitest';
import {
  isImageDigest,
  parseBreakerScope,
  parseDigest,
  parseImageRef,
  parseRepositoryName,
} from '../../cli/refs.js';
import { CliError, EXIT } from '../../cli/util.js';

const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;

/** The CliError `act` throws: its message and exit code. */
function thrown(act: () => unknown): { message: string; exitCode: number } {
  try {
    act();
  } catch (e) {
    if (e instanceof CliError) return { message: e.message, exitCode: e.exitCode };
    throw e;
  }
  throw new Error('expected a CliError, nothing was thrown');
}

describe('parseImageRef', () => {
  it('returns the repository and digest when given REPOSITORY@DIGEST', () => {
    // Act
    const ref = parseImageRef(`team/api@${DIGEST}`);

    // Assess
    expect(ref).toEqual({ repository: 'team/api', digest: DIGEST });
  });

  it('returns the repository and tag when given REPOSITORY:TAG', () => {
    // Act
    const ref = parseImageRef('team/api:v1.2.3-rc_1');

    // Assess
    expect(ref).toEqual({ repository: 'team/api', tag: 'v1.2.3-rc_1' });
  });

  it.each([
    [`api@sha256:abc`, '"api@sha256:abc": not an image digest: expected sha256: followed by 64 hex digits'],
    [
      `api@${DIGEST.slice(7)}`,
      `"api@${DIGEST.slice(7)}": not an image digest: expected sha256: followed by 64 hex digits`,
    ],
    [
      `api@${DIGEST.toUpperCase().replace('SHA256', 'sha256')}`,
      `"api@${DIGEST.toUpperCase().replace('SHA256', 'sha256')}": a digest is written in lower-case hex`,
    ],
    [`@${DIGEST}`, `"@${DIGEST}": the repository name is empty`],
    [':v1', '":v1": the repository name is empty'],
    ['api:', '"api:": the tag is empty'],
    ['api:-v1', '"api:-v1": not an image tag (up to 300 letters, digits, _ . -, not starting with . or -)'],
    [
      `api:${'a'.repeat(301)}`,
      `"api:${'a'.repeat(301)}": not an image tag (up to 300 letters, digits, _ . -, not starting with . or -)`,
    ],
    ['API:v1', '"API:v1": a repository name is lower case'],
    ['a:v1', '"a:v1": a repository name has 2 to 256 characters, not 1'],
    [
      'team//api:v1',
      '"team//api:v1": not an ECR repository name (lower-case letters, digits, and . _ - / between them)',
    ],
    ['api', '"api": give REPOSITORY@DIGEST or REPOSITORY:TAG'],
    [
      `api:v1@${DIGEST}`,
      `"api:v1@${DIGEST}": give REPOSITORY@DIGEST or REPOSITORY:TAG, not both a tag and a digest`,
    ],
    [
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:v1',
      '"123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:v1": give the repository without the registry host 123456789012.dkr.ecr.eu-west-1.amazonaws.com',
    ],
  ])('throws a one-line CliError exiting 2 when given %s', (input, message) => {
    // Act
    const error = thrown(() => parseImageRef(input));

    // Assess
    expect(error).toEqual({ message, exitCode: EXIT.badInput });
  });

  it('accepts a 256-character repository name and a 300-character tag, the limits ECR documents', () => {
    // Prepare
    const repository = `a${'/b'.repeat(127)}a`;
    const tag = 'v'.repeat(300);

    // Act
    const ref = parseImageRef(`${repository}:${tag}`);

    // Assess
    expect(repository).toHaveLength(256);
    expect(ref).toEqual({ repository, tag });
  });
});

describe('parseDigest', () => {
  it('returns the digest when it is sha256: and 64 lower-case hex digits', () => {
    expect(parseDigest(DIGEST, '--digest')).toBe(DIGEST);
    expect(isImageDigest(DIGEST)).toBe(true);
  });

  it('throws a CliError naming the option when the digest is 63 hex digits', () => {
    // Act
    const error = thrown(() => parseDigest(DIGEST.slice(0, -1), '--digest'));

    // Assess
    expect(error).toEqual({
      message: `--digest "${DIGEST.slice(0, -1)}": not an image digest: expected sha256: followed by 64 hex digits`,
      exitCode: EXIT.badInput,
    });
    expect(isImageDigest(DIGEST.slice(0, -1))).toBe(false);
  });
});

describe('parseRepositoryName', () => {
  it('throws a CliError naming the option when the name has a trailing separator', () => {
    // Act
    const error = thrown(() => parseRepositoryName('team/api-', '--repository'));

    // Assess
    expect(error).toEqual({
      message:
        '--repository "team/api-": not an ECR repository name (lower-case letters, digits, and . _ - / between them)',
      exitCode: EXIT.badInput,
    });
  });
});

describe('parseBreakerScope', () => {
  it('returns the scope when it is "registry" or "repository:" and a repository name', () => {
    expect(parseBreakerScope('registry')).toBe('registry');
    expect(parseBreakerScope('repository:team/api')).toBe('repository:team/api');
  });

  it.each([
    [undefined, '--scope "": use "registry" or "repository:<name>"'],
    ['Registry', '--scope "Registry": use "registry" or "repository:<name>"'],
    ['repo:api', '--scope "repo:api": use "registry" or "repository:<name>"'],
    [
      'repository:',
      '--scope "repository:": the repository name is empty; use "registry" or "repository:<name>"',
    ],
    [
      'repository:Api',
      '--scope "repository:Api": a repository name is lower case; use "registry" or "repository:<name>"',
    ],
  ])('throws a one-line CliError exiting 2 when the scope is %s', (input, message) => {
    // Act
    const error = thrown(() => parseBreakerScope(input));

    // Assess
    expect(error).toEqual({ message, exitCode: EXIT.badInput });
  });
});
