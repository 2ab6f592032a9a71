import Table from 'cli-table3';
import type { Decision, Plan, ProtectionCode } from '../functions/shared/lifecycle/index.js';
import { humanBytes } from './util.js';

/** Codes that only say "follows its kept index/subject": the image was never a rule's candidate itself. */
const FOLLOWER_CODES: ReadonlySet<ProtectionCode> = new Set(['index-child', 'referrer']);

const DAY_MS = 86_400_000;

export interface TableOptions {
  /** Total width in columns; the reason column takes what the others leave. */
  readonly width: number;
}

/**
 * Renders a plan for people: what is expired, then archived (each with the reason), then a count of
 * what is kept with the images a protection saved listed, then a summary line and the warnings.
 */
export function renderPlanTable(plan: Plan, opts: TableOptions): string {
  const now = Date.parse(plan.now);
  const byDigest = new Map(plan.decisions.map((d) => [d.imageDigest, d]));
  const out: string[] = [];
  const n = plan.summary.images;
  out.push(`ECR Steward plan for ${plan.repository} at ${plan.now}: ${n} image${n === 1 ? '' : 's'}`, '');

  for (const action of ['expire', 'transition'] as const) {
    const rows = plan.decisions.filter((d) => d.action === action);
    const bytes = action === 'expire' ? plan.summary.bytesReclaimed : plan.summary.bytesTransitioned;
    const title = action === 'expire' ? 'Expire' : 'Transition to archive';
    out.push(`${title}: ${count(rows.length)}, ${humanBytes(bytes)}`);
    if (rows.length > 0) out.push(decisionTable(order(rows, byDigest), now, opts.width, false));
    out.push('');
  }

  const kept = plan.decisions.filter((d) => d.action === 'keep');
  const saved = kept.filter(wasSaved);
  const following = kept.filter((d) => !wasSaved(d) && d.protectedBy.length > 0).length;
  const byRules = kept.length - saved.length - following;
  out.push(
    `Keep: ${count(kept.length)}: ${byRules} by the rules, ${saved.length} saved by a protection, ` +
      `${following} following a kept image index or subject`,
  );
  if (saved.length > 0) out.push(decisionTable(order(saved, byDigest), now, opts.width, true));
  out.push('', summaryLine(plan));
  for (const warning of plan.warnings) out.push(`Warning: ${warning}`);
  return `${out.join('\n')}\n`;
}

/** One line with every count of the summary, for people and for logs. */
export function summaryLine(plan: Plan): string {
  const s = plan.summary;
  const protectedCounts = Object.entries(s.protected)
    .filter(([, v]) => (v ?? 0) > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([code, v]) => `${code} ${v}`);
  return (
    `Summary: ${count(s.images)}; expire ${s.expire} (${humanBytes(s.bytesReclaimed)}), ` +
    `transition ${s.transition} (${humanBytes(s.bytesTransitioned)}), keep ${s.keep}` +
    (protectedCounts.length > 0 ? `; protections: ${protectedCounts.join(', ')}` : '')
  );
}

/** Whether a protection saved the image from a rule (as opposed to it merely following a kept parent). */
function wasSaved(d: Decision): boolean {
  return (
    d.protectedBy.length > 0 && (d.rulePriority !== null || d.protectedBy.some((c) => !FOLLOWER_CODES.has(c)))
  );
}

const count = (n: number): string => `${n} image${n === 1 ? '' : 's'}`;

/**
 * Orders rows by rule, then oldest first, with each index child or referrer right under the image it
 * follows so a unit reads as one block.
 */
function order(rows: readonly Decision[], byDigest: ReadonlyMap<string, Decision>): Decision[] {
  const key = (d: Decision): string => {
    const rule = String(d.rulePriority ?? 999_999).padStart(6, '0');
    return `${rule}|${d.pushedAt}|${d.imageDigest}`;
  };
  const sortKey = (d: Decision): string => {
    // A follower sorts by its parent's key: the parent may be in another section, but siblings stay together.
    const parent = d.follows === undefined ? undefined : byDigest.get(d.follows);
    return parent ? `${key(parent)}|1|${d.imageDigest}` : `${key(d)}|0`;
  };
  return [...rows].sort((a, b) => {
    const ka = sortKey(a);
    const kb = sortKey(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

/**
 * Rows cli-table3 lays out at a time. Its layout compares each cell with the cells of every row above it, so
 * one table of n rows costs n² (100,000 decisions did not finish in ten minutes); tables of this many rows
 * are stitched into one instead (see `decisionTable`).
 */
const ROWS_PER_LAYOUT = 100;

function decisionTable(
  rows: readonly Decision[],
  now: number,
  width: number,
  showProtection: boolean,
): string {
  const fixed = showProtection ? [23, 24, 19, 10, 6, 18] : [23, 24, 19, 10, 6];
  // Borders take one column each, one more than the number of columns.
  const reasonWidth = Math.max(30, width - fixed.reduce((a, b) => a + b, 0) - (fixed.length + 2));
  const head = [
    'Image',
    'Tags',
    'Pushed',
    'Size',
    'Rule',
    ...(showProtection ? ['Protected by'] : []),
    'Reason',
  ];
  const layout = (slice: readonly Decision[]): string[] => {
    const table = new Table({
      head,
      colWidths: [...fixed, reasonWidth],
      colAligns: ['left', 'left', 'left', 'right', 'right', 'left', 'left'],
      wordWrap: true,
      // No colours: the table is often piped into files and CI logs, where escape codes are noise.
      style: { head: [], border: [], compact: true },
    });
    for (const d of slice) table.push(tableRow(d, now, showProtection));
    return table.toString().split('\n');
  };
  // Every column has a fixed width and no cell spans, so each row is laid out on its own: the rows of tables
  // of ROWS_PER_LAYOUT rows, between the first one's top and head and its bottom border, are the lines one
  // table of all the rows has. Compact tables have one rule inside, under the head; cell lines start with │.
  const out: string[] = [];
  let bottom = '';
  for (let start = 0; start < rows.length; start += ROWS_PER_LAYOUT) {
    const lines = layout(rows.slice(start, start + ROWS_PER_LAYOUT));
    const body = lines.findIndex((line) => line.startsWith('├')) + 1;
    if (start === 0) out.push(...lines.slice(0, body));
    for (let l = body; l < lines.length - 1; l++) out.push(lines[l]!);
    bottom = lines[lines.length - 1]!;
  }
  out.push(bottom);
  return out.join('\n');
}

function tableRow(d: Decision, now: number, showProtection: boolean): string[] {
  const ageDays = Math.floor((now - Date.parse(d.pushedAt)) / DAY_MS);
  return [
    `${d.follows ? '└ ' : ''}${shortDigest(d.imageDigest)}`,
    formatTags(d.imageTags),
    `${d.pushedAt.slice(0, 10)} (${ageDays}d)`,
    humanBytes(d.sizeBytes),
    d.rulePriority === null ? '-' : String(d.rulePriority),
    ...(showProtection ? [d.protectedBy.join(', ')] : []),
    reasonsOf(d, showProtection),
  ];
}

/** For a saved image the protections' reasons come first: they are what the reader is looking for. */
function reasonsOf(d: Decision, saved: boolean): string {
  const reasons = saved && d.reasons.length > 1 ? [...d.reasons.slice(1), d.reasons[0]!] : d.reasons;
  return reasons.join('; ');
}

function shortDigest(digest: string): string {
  const [algo, hex] = digest.split(':');
  return hex === undefined ? digest.slice(0, 19) : `${algo}:${hex.slice(0, 12)}`;
}

const COSIGN_TAG = /^(sha256-[a-f0-9]{12})[a-f0-9]{52}(\.\w+)$/;
const MAX_TAGS = 3;

/** Tags, shortened so the column stays narrow: cosign tags lose most of their digest, long lists are cut. */
function formatTags(tags: readonly string[]): string {
  if (tags.length === 0) return '<untagged>';
  const shown = tags.slice(0, MAX_TAGS).map((t) => t.replace(COSIGN_TAG, '$1…$2'));
  return shown.join(', ') + (tags.length > MAX_TAGS ? ` +${tags.length - MAX_TAGS}` : '');
}
