import { type ParseError, parse, printParseErrorCode } from 'jsonc-parser';
import type { z } from 'zod';
import { globToRegExp } from '../lifecycle/match.js';
import { formatPath, keyProblems, prototypeProblems } from './keys.js';
import { configSchema, type Selection, type StewardConfig } from './schema.js';

/** A configuration that failed validation; `issues` name each field and what to do. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly issues: readonly string[],
  ) {
    super(`invalid ECR Steward config (${source}):\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses and validates config text (JSON with comments allowed). Refuses, with their paths and lines,
 * duplicate keys (a parser would silently keep the last) and `__proto__`/`constructor`/`prototype` keys (a
 * `"__proto__"` key would otherwise become the prototype of its object and supply fields it does not have).
 */
export function parseConfig(text: string, source = 'config'): StewardConfig {
  const errors: ParseError[] = [];
  const doc: unknown = parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length > 0) {
    throw new ConfigError(
      source,
      errors.map((e) => `${lineCol(text, e.offset)}: ${printParseErrorCode(e.error)}`),
    );
  }
  const keys = keyProblems(text);
  if (keys.length > 0) throw new ConfigError(source, keys);
  return validateConfig(doc, source);
}

/**
 * Validates an already-parsed config document. A document with a forbidden key (or an object whose
 * prototype was replaced) is refused before the schema reads it, so no field can come from a prototype.
 */
export function validateConfig(doc: unknown, source = 'config'): StewardConfig {
  const prototypes = prototypeProblems(doc);
  if (prototypes.length > 0) throw new ConfigError(source, prototypes);
  // reportInput: a wrong type is told apart from a missing field by the input it got.
  const result = configSchema.safeParse(doc, { reportInput: true });
  if (!result.success)
    throw new ConfigError(
      source,
      result.error.issues.flatMap((i) => describeIssue(i)),
    );
  return result.data;
}

const ARTICLE: Record<string, string> = {
  int: 'an integer',
  array: 'an array',
  object: 'an object',
  record: 'an object',
  undefined: 'nothing',
};

/** "a number", "an object", … for a zod type name. */
function expectedName(expected: string): string {
  return ARTICLE[expected] ?? `a ${expected}`;
}

/** What the config gave, in the words of `expectedName`. */
function gotName(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'an array';
  if (typeof input === 'number') return `the number ${input}`;
  if (typeof input === 'object') return 'an object';
  return expectedName(typeof input);
}

/** A union branch's issues, when it got past the top-level type check (it is the branch that was meant). */
function deepBranch(
  branches: readonly (readonly z.core.$ZodIssue[])[],
): readonly z.core.$ZodIssue[] | undefined {
  return branches.find((b) => b.some((i) => i.path.length > 0 || i.code === 'custom'));
}

function describeIssue(issue: z.core.$ZodIssue, prefix: readonly PropertyKey[] = []): string[] {
  const where = formatPath([...prefix, ...issue.path]);
  // Missing fields come with an undefined input; JSON has no undefined value, so that is unambiguous.
  const got = issue.input !== undefined;
  if (issue.code === 'unrecognized_keys') {
    return [
      `${where}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')} — check the spelling against schema/steward.config.schema.json`,
    ];
  }
  if (issue.code === 'invalid_type' && !got) return [`${where}: required — add it`];
  if (issue.code === 'invalid_type') {
    return [`${where}: expected ${expectedName(issue.expected)}, got ${gotName(issue.input)}`];
  }
  if (issue.code === 'invalid_value') {
    const one = issue.values.length === 1;
    const values = issue.values.map((v) => JSON.stringify(v)).join(', ');
    return [`${where}: must be ${one ? values : `one of ${values}`}`];
  }
  if (issue.code === 'invalid_union') {
    const branch = deepBranch(issue.errors);
    if (branch) return branch.flatMap((i) => describeIssue(i, [...prefix, ...issue.path]));
    if (!got) return [`${where}: required — add it`];
    const expected = issue.errors.flatMap((b) =>
      b.map((i) =>
        i.code === 'invalid_value'
          ? i.values.map((v) => JSON.stringify(v)).join(' or ')
          : i.code === 'invalid_type'
            ? expectedName(i.expected)
            : i.message,
      ),
    );
    return [`${where}: expected ${[...new Set(expected)].join(' or ')}, got ${gotName(issue.input)}`];
  }
  return [`${where}: ${issue.message}`];
}

function lineCol(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${(before[before.length - 1]?.length ?? 0) + 1}`;
}

/**
 * The repository tag a name-wide selection needs. A glob with no literal prefix (`*`, `*-prod`) could reach
 * every repository of the registry, so such a selection manages only the repositories that carry this tag, and
 * the IAM grant for it is conditioned on the same tag: no selection ever yields an unconditioned delete on
 * `repository/*`.
 */
export const MANAGED_TAG = { key: 'steward', value: 'managed' } as const;

/** Whether a repository-name glob has no literal prefix, so it could match any repository. */
export function isWideGlob(glob: string): boolean {
  return glob.startsWith('*');
}

/**
 * The repository tags a selection requires: its own `repositoryTags`, plus the managed tag when a glob of it is
 * wide. Undefined when the selection is decided by name alone.
 */
export function requiredTags(selection: Selection): Readonly<Record<string, string>> | undefined {
  const wide = (selection.repositories ?? []).some(isWideGlob);
  if (!wide) return selection.repositoryTags;
  return { ...selection.repositoryTags, [MANAGED_TAG.key]: MANAGED_TAG.value };
}

/** Whether some selection needs repository tags to decide (so repository tags must be read). */
export function needsRepositoryTags(config: StewardConfig): boolean {
  const asksByTags = (r: unknown) =>
    typeof r === 'object' && r !== null && (r as { repositoryTags?: unknown }).repositoryTags !== undefined;
  return (
    config.selections.some((s) => requiredTags(s) !== undefined) ||
    // An approval asked for by repository tags reads them too.
    asksByTags(config.governance.approval.required) ||
    config.selections.some((s) => asksByTags(s.governance?.approval?.required))
  );
}

/**
 * The selection that manages a repository, or undefined when it is not managed. The first matching
 * selection wins. `tags` may be omitted when no selection needs tags (see `needsRepositoryTags`); a selection
 * that needs them never matches without them.
 */
export function selectionFor(
  config: StewardConfig,
  repositoryName: string,
  tags?: Readonly<Record<string, string>>,
): Selection | undefined {
  return config.selections.find((s) => {
    if (s.repositories && !s.repositories.some((glob) => globToRegExp(glob).test(repositoryName)))
      return false;
    const required = requiredTags(s);
    if (required) {
      if (!tags) return false;
      for (const [k, v] of Object.entries(required)) if (tags[k] !== v) return false;
    }
    return true;
  });
}

/**
 * Repository-name prefixes an EventBridge pattern can match on, or undefined when some selection
 * cannot be expressed that way (tag-based, or a glob that does not end in a single trailing `*`).
 */
export function repositoryNameFilters(
  config: StewardConfig,
): { exact: string[]; prefixes: string[] } | undefined {
  const exact: string[] = [];
  const prefixes: string[] = [];
  for (const s of config.selections) {
    if (!s.repositories) return undefined;
    for (const glob of s.repositories) {
      const stars = glob.split('*').length - 1;
      if (stars === 0) exact.push(glob);
      else if (stars === 1 && glob.endsWith('*') && glob.length > 1) prefixes.push(glob.slice(0, -1));
      else return undefined;
    }
  }
  return { exact: [...new Set(exact)].sort(), prefixes: [...new Set(prefixes)].sort() };
}

/**
 * Where the config lets ECR Steward write (delete, tag, archive): repository-name globs, and tag sets a
 * repository must carry. The IAM statements of every function that writes are generated from this, so the
 * permission and `selectionFor` always agree. A selection with `repositoryTags` or a wide glob is scoped by
 * tags (`requiredTags`); any other by its names.
 */
export function writeScope(config: StewardConfig): {
  readonly byName: readonly string[];
  readonly byTags: readonly Readonly<Record<string, string>>[];
} {
  const byName = new Set<string>();
  const byTags = new Map<string, Readonly<Record<string, string>>>();
  for (const s of config.selections) {
    const tags = requiredTags(s);
    if (tags) {
      // An empty tag set would become an unconditioned grant on repository/*: never, whatever the schema let by.
      if (Object.keys(tags).length === 0)
        throw new Error(`selection ${s.name ?? s.repositories?.join(',') ?? ''}: repositoryTags is empty`);
      const sorted = Object.fromEntries(Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : 1)));
      byTags.set(JSON.stringify(sorted), sorted);
    } else for (const glob of s.repositories ?? []) byName.add(glob);
  }
  return { byName: [...byName].sort(), byTags: [...byTags.values()] };
}
