import type { LifecycleSelection } from './types.js';

const globCache = new Map<string, RegExp>();

/**
 * ECR's tag pattern: a whole-tag glob where `*` matches any run of characters (also none) and every
 * other character is literal and case-sensitive.
 */
export function globToRegExp(pattern: string): RegExp {
  let re = globCache.get(pattern);
  if (!re) {
    const body = pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    re = new RegExp(`^${body}$`, 's');
    globCache.set(pattern, re);
  }
  return re;
}

/** A compiled tag test: whether one tag matches. */
export type TagTest = (tag: string) => boolean;

/**
 * The glob of `globToRegExp` as a test that answers exactly as `globToRegExp(pattern).test(tag)`, compiled
 * once per pattern and plan. Plans test every tag of up to 100,000 images against every pattern, so the
 * common shapes (no `*`, one `*`) are plain string checks, and for the others the regular expression only
 * runs on tags that start and end like the pattern (a necessary condition, and almost all tags fail it).
 */
export function compileGlob(pattern: string): TagTest {
  const parts = pattern.split('*');
  const head = parts[0]!;
  const tail = parts[parts.length - 1]!;
  if (parts.length === 1) return (tag) => tag === pattern;
  const min = head.length + tail.length;
  if (parts.length === 2) return (tag) => tag.length >= min && tag.startsWith(head) && tag.endsWith(tail);
  const re = globToRegExp(pattern);
  return (tag) => tag.length >= min && tag.startsWith(head) && tag.endsWith(tail) && re.test(tag);
}

/** A tag selector of the Steward policy: `^…` is a regular expression, anything else a whole-tag glob. */
export function compileTagSelector(selector: string): RegExp {
  return selector.startsWith('^') ? new RegExp(selector) : globToRegExp(selector);
}

/** `compileTagSelector` as a test, with the glob fast paths of `compileGlob`. */
export function compileTagSelectorTest(selector: string): TagTest {
  if (!selector.startsWith('^')) return compileGlob(selector);
  const re = new RegExp(selector);
  return (tag) => re.test(tag);
}

/** Whether some tag passes `test`. */
function someTag(tags: readonly string[], test: TagTest): boolean {
  for (const tag of tags) if (test(tag)) return true;
  return false;
}

/** A rule's tag selection compiled once per plan, for `selectionMatches`. */
export interface CompiledSelection {
  /**
   * `tagged`: every test must pass for some tag (lists are an AND; each entry may be matched by a
   * different tag). `none`: nothing matches (a tagged selection with no list).
   */
  readonly kind: 'any' | 'untagged' | 'tagged' | 'none';
  readonly tests: readonly TagTest[];
  /**
   * A character (UTF-16 code unit) that some tag of every matching image starts with, if the selection
   * implies one: the first character of a prefix, or of the text before a pattern's first `*`. Lists are
   * an AND, so any one entry's character will do. Lets a plan test only the images that can match.
   */
  readonly leadingChar: number | undefined;
}

export function compileSelection(selection: LifecycleSelection): CompiledSelection {
  switch (selection.tagStatus) {
    case 'any':
      return { kind: 'any', tests: [], leadingChar: undefined };
    case 'untagged':
      return { kind: 'untagged', tests: [], leadingChar: undefined };
    case 'tagged': {
      // An empty list is still a list (every entry of none is matched), as `every` on [] is true.
      let tests: TagTest[];
      /** Text every match has a tag starting with, per entry. */
      let leads: readonly string[];
      if (selection.tagPrefixList) {
        const prefixes = selection.tagPrefixList;
        tests = prefixes.map((prefix) => (tag: string) => tag.startsWith(prefix));
        leads = prefixes;
      } else if (selection.tagPatternList) {
        const patterns = selection.tagPatternList;
        tests = patterns.map(compileGlob);
        leads = patterns.map((pattern) => pattern.split('*')[0]!);
      } else {
        return { kind: 'none', tests: [], leadingChar: undefined };
      }
      const lead = leads.find((text) => text.length > 0);
      return { kind: 'tagged', tests, leadingChar: lead?.charCodeAt(0) };
    }
  }
  return { kind: 'none', tests: [], leadingChar: undefined };
}

/** Whether an image's tags satisfy a compiled selection (see `matchesSelection`). */
export function selectionMatches(selection: CompiledSelection, tags: readonly string[]): boolean {
  switch (selection.kind) {
    case 'any':
      return true;
    case 'untagged':
      return tags.length === 0;
    case 'tagged':
      if (tags.length === 0) return false;
      for (const test of selection.tests) if (!someTag(tags, test)) return false;
      return true;
    case 'none':
      return false;
  }
}

/**
 * Whether an image's tags satisfy a rule's tag selection. Lists are an AND: every entry must be matched
 * by some tag of the image (each entry may be matched by a different tag).
 */
export function matchesSelection(selection: LifecycleSelection, tags: readonly string[]): boolean {
  return selectionMatches(compileSelection(selection), tags);
}
