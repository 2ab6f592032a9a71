/**
 * The one "hold in force" predicate. The lifecycle plan, the deletion guard and (later) the CLI's holds all
 * ask it, so a hold means the same thing wherever a delete could come from.
 */
import type { Hold } from '../lifecycle/types.js';

/** Whether a hold still applies at `now` (epoch ms): it has no expiry, or its expiry is still ahead. */
export function holdInForce(hold: Pick<Hold, 'expiresAt'>, now: number): boolean {
  return hold.expiresAt === undefined || Date.parse(hold.expiresAt) > now;
}

/**
 * Whether a hold names this image: by digest, or by one of its current tags (a tag hold follows the tag: it
 * keeps whichever digest carries it now); a hold with neither covers the whole repository.
 */
export function holdNames(
  hold: Pick<Hold, 'digest' | 'tag'>,
  image: { readonly digest: string; readonly tags: readonly string[] },
): boolean {
  if (hold.digest === undefined && hold.tag === undefined) return true;
  return hold.digest === image.digest || (hold.tag !== undefined && image.tags.includes(hold.tag));
}

/** The first hold in force on this image, if any. */
export function holdOn(
  holds: readonly Hold[],
  image: { readonly digest: string; readonly tags: readonly string[] },
  now: number,
): Hold | undefined {
  return holds.find((h) => holdInForce(h, now) && holdNames(h, image));
}

/** How a hold reads in a plan, a report and an audit record: `held: <reason> (by <owner>[, until <date>])`. */
export function describeHold(hold: Hold): string {
  return `held: ${hold.reason} (by ${hold.owner}${hold.expiresAt ? `, until ${hold.expiresAt}` : ''})`;
}
