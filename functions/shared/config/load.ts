import { type ParseError, parse, printParseErrorCode } from 'jsonc-parser';
import type { z } from 'zod';
import { globToRegExp } from '../lifecycle/match.js';
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

/** Parses and validates config text (JSON with comments allowed). */
export function parseConfig(text: string, source = 'config'): StewardConfig {
  const errors: ParseError[] = [];
  const doc: unknown = parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length > 0) {
    throw new ConfigError(
      source,
      errors.map((e) => `${lineCol(text, e.offset)}: ${printParseErrorCode(e.error)}`),
    );
  }
  return validateConfig(doc, source);
}

/** Validates an already-parsed config document. */
export function validateConfig(doc: unknown, source = 'config'): StewardConfig {
  const result = configSchema.safeParse(doc);
  if (!result.success) throw new ConfigError(source, result.error.issues.map(describeIssue));
  return result.data;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
  const where = path || '(root)';
  if (issue.code === 'unrecognized_keys') {
    return `${where}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')} — check the spelling against schema/steward.config.schema.json`;
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) return `${where}: required — add it`;
  if (issue.code === 'invalid_value') {
    return `${where}: must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return `${where}: ${issue.message}`;
}

function lineCol(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${(before[before.length - 1]?.length ?? 0) + 1}`;
}

/** Whether a selection names repositories by tags (so repository tags must be read to decide). */
export function needsRepositoryTags(config: StewardConfig): boolean {
  return config.selections.some((s) => s.repositoryTags !== undefined);
}

/**
 * The selection that manages a repository, or undefined when it is not managed. The first matching
 * selection wins. `tags` may be omitted when no selection uses tags.
 */
export function selectionFor(
  config: StewardConfig,
  repositoryName: string,
  tags?: Readonly<Record<string, string>>,
): Selection | undefined {
  return config.selections.find((s) => {
    if (s.repositories && !s.repositories.some((glob) => globToRegExp(glob).test(repositoryName)))
      return false;
    if (s.repositoryTags) {
      if (!tags) return false;
      for (const [k, v] of Object.entries(s.repositoryTags)) if (tags[k] !== v) return false;
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
