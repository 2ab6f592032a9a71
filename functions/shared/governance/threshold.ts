/**
 * Whether deletions a notice announces would cross a delete-rate threshold when they fall due: they all fall
 * due together, so the audit function would count them in one window, alert, and (with the breaker on) stop
 * the rest. The notice says so ahead of time. Pure.
 */
import type { Threshold } from '../config/schema.js';

export function thresholdWarning(
  thresholds: readonly Threshold[],
  scheduled: { readonly count: number; readonly repositoryImages: number },
  breakerEnabled: boolean,
): string | undefined {
  for (const t of thresholds) {
    const overCount = t.maxDeletes !== undefined && scheduled.count > t.maxDeletes;
    const share = scheduled.repositoryImages > 0 ? (100 * scheduled.count) / scheduled.repositoryImages : 0;
    const overShare =
      t.scope === 'repository' && t.maxPercentOfImages !== undefined && share > t.maxPercentOfImages;
    if (!overCount && !overShare) continue;
    const limit = overCount
      ? `${t.maxDeletes} deletions`
      : `${t.maxPercentOfImages}% of the repository's images`;
    return `these ${scheduled.count} deletions fall due together and cross the ${t.scope} threshold of ${limit} in ${t.window}${breakerEnabled ? ': the breaker will open and stop the rest until it is reset' : ': an alert will be raised'} — lower bounds.maxDeletesPerRepository to spread them over several runs, or raise the threshold`;
  }
  return undefined;
}
