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

/** A tag selector of the Steward policy: `^…` is a regular expression, anything else a whole-tag glob. */
export function compileTagSelector(selector: string): RegExp {
  return selector.startsWith('^') ? new RegExp(selector) : globToRegExp(selector);
}

/**
 * Whether an image's tags satisfy a rule's tag selection. Lists are an AND: every entry must be matched
 * by some tag of the image (each entry may be matched by a different tag).
 */
export function matchesSelection(selection: LifecycleSelection, tags: readonly string[]): boolean {
  switch (selection.tagStatus) {
    case 'any':
      return true;
    case 'untagged':
      return tags.length === 0;
    case 'tagged': {
      if (tags.length === 0) return false;
      if (selection.tagPrefixList) {
        return selection.tagPrefixList.every((prefix) => tags.some((t) => t.startsWith(prefix)));
      }
      if (selection.tagPatternList) {
        return selection.tagPatternList.every((pattern) => {
          const re = globToRegExp(pattern);
          return tags.some((t) => re.test(t));
        });
      }
      return false;
    }
  }
}
