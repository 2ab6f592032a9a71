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
 * once per pattern. Plans test every tag of up to 100,000 images against every pattern, so the common
 * shapes (no `*`, one `*`) are plain string checks, and for the others the regular expression only runs
 * on tags that start and end like the pattern (a necessary condition, and almost all tags fail it).
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

/** A rule's tag selection compiled once, so a plan does not look up or build matchers per image. */
export interface CompiledSelection {
  /** Whether an image's tags satisfy the selection (see `matchesSelection`). */
  readonly matches: (tags: readonly string[]) => boolean;
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
      return { matches: () => true, leadingChar: undefined };
    case 'untagged':
      return { matches: (tags) => tags.length === 0, leadingChar: undefined };
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
        return { matches: () => false, leadingChar: undefined };
      }
      const lead = leads.find((text) => text.length > 0);
      return {
        matches: (tags) => {
          if (tags.length === 0) return false;
          for (const test of tests) if (!someTag(tags, test)) return false;
          return true;
        },
        leadingChar: lead?.charCodeAt(0),
      };
    }
  }
  return { matches: () => false, leadingChar: undefined };
}

/**
 * Whether an image's tags satisfy a rule's tag selection. Lists are an AND: every entry must be matched
 * by some tag of the image (each entry may be matched by a different tag).
 */
export function matchesSelection(selection: LifecycleSelection, tags: readonly string[]): boolean {
  return compileSelection(selection).matches(tags);
}
