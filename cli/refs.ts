import { CliError } from './util.js';

/**
 * ECR's own repository-name grammar (API reference, `CreateRepository.repositoryName`: 2–256 characters,
 * `(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*`). A name outside it can name no
 * repository, so asking AWS about it only turns a typo into a confusing service error.
 */
const REPOSITORY_NAME = /^(?=.{2,256}$)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/** The only digest form ECR Steward records and ECR reports for images: `sha256:` and 64 lower-case hex digits. */
const DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * An image tag: the OCI distribution grammar's characters (`[A-Za-z0-9_][A-Za-z0-9_.-]*`) with ECR's
 * length limit of 300 (API reference, `ImageTag`).
 */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,299}$/;

/** An ECR registry host (`123456789012.dkr.ecr.eu-west-1.amazonaws.com`), which people paste from image URIs. */
const REGISTRY_HOST = /^\d{12}\.dkr[.-]ecr(?:-fips)?\.[a-z0-9-]+\.(?:amazonaws\.com(?:\.cn)?|on\.aws)\//;

/** A reference to one image of one repository, checked: exactly one of `digest` and `tag` is set. */
export type ImageRef =
  | { readonly repository: string; readonly digest: string; readonly tag?: undefined }
  | { readonly repository: string; readonly tag: string; readonly digest?: undefined };

/** Whether `value` is an image digest as ECR Steward records them (`sha256:` + 64 lower-case hex). */
export function isImageDigest(value: string): boolean {
  return DIGEST.test(value);
}

/** Why `name` cannot be an ECR repository name, or undefined when it can. */
function repositoryProblem(name: string): string | undefined {
  if (name === '') return 'the repository name is empty';
  if (REPOSITORY_NAME.test(name)) return undefined;
  if (name.length < 2 || name.length > 256)
    return `a repository name has 2 to 256 characters, not ${name.length}`;
  if (/[A-Z]/.test(name)) return 'a repository name is lower case';
  return 'not an ECR repository name (lower-case letters, digits, and . _ - / between them)';
}

/** Why `digest` is not an image digest, or undefined when it is. */
function digestProblem(digest: string): string | undefined {
  if (DIGEST.test(digest)) return undefined;
  if (/^sha256:[A-Fa-f0-9]{64}$/.test(digest)) return 'a digest is written in lower-case hex';
  return 'not an image digest: expected sha256: followed by 64 hex digits';
}

/**
 * Checks a repository name as `option` gave it; a bad one is a one-line `CliError` (exit 2) naming the
 * option and the rule it breaks.
 */
export function parseRepositoryName(value: string, option: string): string {
  const problem = repositoryProblem(value);
  if (problem) throw new CliError(`${option} ${JSON.stringify(value)}: ${problem}`);
  return value;
}

/** Checks an image digest as `option` gave it (`sha256:` + 64 lower-case hex); otherwise a one-line `CliError` (exit 2). */
export function parseDigest(value: string, option: string): string {
  const problem = digestProblem(value);
  if (problem) throw new CliError(`${option} ${JSON.stringify(value)}: ${problem}`);
  return value;
}

/**
 * Parses `REPOSITORY@DIGEST` or `REPOSITORY:TAG` (the `gate check` argument). Every part is checked
 * before any AWS call, so a typo exits 2 with the reason instead of reading as "no such image" (exit 1,
 * which a pipeline takes for a verdict).
 */
export function parseImageRef(ref: string): ImageRef {
  const fail = (why: string): never => {
    throw new CliError(`${JSON.stringify(ref)}: ${why}`);
  };
  const host = REGISTRY_HOST.exec(ref);
  if (host) fail(`give the repository without the registry host ${host[0].slice(0, -1)}`);
  const at = ref.indexOf('@');
  if (at >= 0) {
    const name = ref.slice(0, at);
    const digest = ref.slice(at + 1);
    if (name.includes(':')) fail('give REPOSITORY@DIGEST or REPOSITORY:TAG, not both a tag and a digest');
    const problem = repositoryProblem(name) ?? digestProblem(digest);
    if (problem) fail(problem);
    return { repository: name, digest };
  }
  const colon = ref.lastIndexOf(':');
  if (colon < 0) fail('give REPOSITORY@DIGEST or REPOSITORY:TAG');
  const name = ref.slice(0, colon);
  const tag = ref.slice(colon + 1);
  const problem =
    repositoryProblem(name) ??
    (tag === ''
      ? 'the tag is empty'
      : TAG.test(tag)
        ? undefined
        : 'not an image tag (up to 300 letters, digits, _ . -, not starting with . or -)');
  if (problem) fail(problem);
  return { repository: name, tag };
}

/** A breaker scope as the state table keys it: the registry, or one repository by name. */
export type ScopeText = 'registry' | `repository:${string}`;

/**
 * Parses `--scope`: `registry` or `repository:<name>`, the two forms the breaker store keys
 * (`functions/shared/state/breaker.ts`). A name that no repository can have would reset (or list) a
 * breaker that never existed and say so with a straight face, so it is refused.
 */
export function parseBreakerScope(value: string | undefined): ScopeText {
  if (value === 'registry') return 'registry';
  const usage = 'use "registry" or "repository:<name>"';
  if (value === undefined || !value.startsWith('repository:'))
    throw new CliError(`--scope ${JSON.stringify(value ?? '')}: ${usage}`);
  const name = value.slice('repository:'.length);
  const problem = repositoryProblem(name);
  if (problem) throw new CliError(`--scope ${JSON.stringify(value)}: ${problem}; ${usage}`);
  return `repository:${name}`;
}
