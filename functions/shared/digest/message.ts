/**
 * The weekly digest's text: what happened in the registry over a week and what is coming, one message per
 * selection (the notices topic, filtered on `selection`) and one for the whole registry (the alerts topic).
 * Pure: the digest function gathers the figures, this turns them into a subject and a plain-text body that
 * reads well in an e-mail client and stays far below SNS's 256 KB.
 */
import type { Notice, NoticeAttribute } from '../governance/notice.js';
import { NOTICE_SUBJECT_MAX } from '../governance/notice.js';
import { humanBytes } from '../runtime/format.js';
import { type DigestWindow, zonedMinute } from './window.js';

/** What happened in one scope (a selection, or the registry) over the week. */
export interface DigestTotals {
  /** Images deleted (DELETED records dated in the week), by anyone, and their bytes. */
  readonly deleted: number;
  readonly deletedBytes: number;
  /** Who deleted them: ECR Steward, ECR's own lifecycle policy, anyone else (a person, or unattributed). */
  readonly deletedBy: { readonly steward: number; readonly lifecycle: number; readonly others: number };
  /** Images moved to ECR's archive storage class in the week, and their bytes. */
  readonly archived: number;
  readonly archivedBytes: number;
  /** Images brought back from the archive in the week. */
  readonly restored: number;
  /** Holds placed in the week. */
  readonly holdsPlaced: number;
  /** Images whose scan-gate verdict was FAIL in the week. */
  readonly gateFailures: number;
}

/** A repository and what the current lifecycle plan would reclaim in it. */
export interface ReclaimableRepository {
  readonly repository: string;
  readonly bytes: number;
  readonly images: number;
}

/** A managed repository whose plan could not be made (no policy, an unreadable in-use source…), and why. */
export interface UnplannedRepository {
  readonly repository: string;
  readonly reason: string;
}

/** A hold that stops applying within the week after the digest. */
export interface ExpiringHold {
  /** The repository (a table hold), or the selection's repositories (a hold of the config). */
  readonly repository: string;
  /** `tag v1.3.0`, `digest sha256:…` or `the whole repository`. */
  readonly covers: string;
  readonly reason: string;
  /** Who placed it (a table hold) or its owner (a hold of the config). */
  readonly owner: string;
  /** ISO-8601. */
  readonly expiresAt: string;
  /** The hold id (table holds); absent for a hold written in the config. */
  readonly id?: string | undefined;
}

/** An image the scan gate failed in the week (its latest FAIL of the week). */
export interface GateFailure {
  readonly repository: string;
  readonly digest: string;
  readonly tags: readonly string[];
  /** The verdict's one-line summary. */
  readonly summary: string;
  /** ISO-8601. */
  readonly at: string;
}

/** Everything one digest message says. */
export interface DigestContent {
  readonly registryId: string;
  readonly region: string;
  readonly window: DigestWindow;
  /** The selection this digest is for; absent: the whole registry. */
  readonly selection?: { readonly label: string; readonly repositories: string } | undefined;
  /** The config's mode: a dry run deletes nothing, which the digest says. */
  readonly mode: 'dry-run' | 'enforce';
  readonly totals: DigestTotals;
  /** The repositories with the most to reclaim, most first (at most TOP_RECLAIMABLE are shown). */
  readonly reclaimable: readonly ReclaimableRepository[];
  /** Bytes and images the plan would reclaim over all the scope's repositories. */
  readonly reclaimableTotal: {
    readonly bytes: number;
    readonly images: number;
    readonly repositories: number;
  };
  readonly unplanned: readonly UnplannedRepository[];
  /** When the plan was made. */
  readonly plannedAt: Date;
  /** Holds that expire within the week after `window.end`, soonest first. */
  readonly expiringHolds: readonly ExpiringHold[];
  readonly gateFailures: readonly GateFailure[];
  /** The registry digest's per-selection lines (label and totals), in config order. */
  readonly bySelection?: readonly { readonly label: string; readonly totals: DigestTotals }[] | undefined;
}

/** The repositories a digest names as having the most to reclaim. */
export const TOP_RECLAIMABLE = 5;
/** Lists longer than these are cut, with a count of the rest and the command that lists them all. */
export const LISTED_GATE_FAILURES = 20;
export const LISTED_HOLDS = 30;
export const LISTED_UNPLANNED = 10;
/** SNS accepts 256 KB per message, attributes included: the body never exceeds this. */
export const DIGEST_MAX_BYTES = 240 * 1024;
/** A line longer than this (a long summary or reason) is shortened. */
const LINE_MAX = 300;

/** The message attribute every digest carries (`kind` = `digest`), so a subscriber can filter digests in or out. */
export const DIGEST_KIND = 'digest';

/** `1,234`: counts as people read them. */
export const count = (n: number): string => n.toLocaleString('en-US');

const plural = (n: number, word: string): string => `${count(n)} ${word}${n === 1 ? '' : 's'}`;

/** Totals of nothing: a scope in which nothing happened. */
export function emptyTotals(): DigestTotals {
  return {
    deleted: 0,
    deletedBytes: 0,
    deletedBy: { steward: 0, lifecycle: 0, others: 0 },
    archived: 0,
    archivedBytes: 0,
    restored: 0,
    holdsPlaced: 0,
    gateFailures: 0,
  };
}

/**
 * `ECR Steward weekly digest (prod): 1,234 images deleted, 4.20 GiB reclaimed (week of 2026-11-30)`. The
 * selection is left out when the subject would pass SNS's limit (the body names it); ASCII only.
 */
export function digestSubject(content: DigestContent): string {
  const { totals } = content;
  const tail = `${plural(totals.deleted, 'image')} deleted, ${humanBytes(totals.deletedBytes)} reclaimed (week of ${content.window.weekOf})`;
  const label = content.selection?.label;
  if (label !== undefined && /^[\x20-\x7e]*$/.test(label)) {
    const withLabel = `ECR Steward weekly digest (${label}): ${tail}`;
    if (withLabel.length <= NOTICE_SUBJECT_MAX) return withLabel;
  }
  return `ECR Steward weekly digest: ${tail}`.slice(0, NOTICE_SUBJECT_MAX);
}

function totalsLines(t: DigestTotals, mode: DigestContent['mode']): string[] {
  const by = [
    `ECR Steward ${count(t.deletedBy.steward)}`,
    `ECR's lifecycle policy ${count(t.deletedBy.lifecycle)}`,
    `others ${count(t.deletedBy.others)}`,
  ].join(', ');
  return [
    `  Deleted:        ${plural(t.deleted, 'image')}, ${humanBytes(t.deletedBytes)} reclaimed${t.deleted > 0 ? ` (by ${by})` : ''}`,
    `  Archived:       ${plural(t.archived, 'image')} (${humanBytes(t.archivedBytes)})`,
    `  Restored:       ${plural(t.restored, 'image')}`,
    `  Holds placed:   ${count(t.holdsPlaced)}`,
    `  Gate failures:  ${plural(t.gateFailures, 'image')}`,
    ...(mode === 'dry-run'
      ? ['  Mode:           dry-run: ECR Steward deletes nothing; its plans are recorded as PLANNED']
      : []),
  ];
}

function reclaimLines(content: DigestContent): string[] {
  const tz = content.window.timeZone;
  const { reclaimableTotal: total } = content;
  const lines = [
    `Most to reclaim (the lifecycle plan as of ${zonedMinute(content.plannedAt, tz)}, read-only)`,
    `  In all: ${humanBytes(total.bytes)} in ${plural(total.images, 'image')} of ${count(total.repositories)} ${total.repositories === 1 ? 'repository' : 'repositories'}`,
  ];
  const top = content.reclaimable.filter((r) => r.bytes > 0 || r.images > 0).slice(0, TOP_RECLAIMABLE);
  if (top.length === 0) lines.push('  Nothing: every plan keeps every image.');
  const width = Math.max(0, ...top.map((r) => r.repository.length));
  top.forEach((r, i) => {
    lines.push(
      `  ${i + 1}. ${r.repository.padEnd(width)}  ${humanBytes(r.bytes)} in ${plural(r.images, 'image')}`,
    );
  });
  if (content.unplanned.length > 0) {
    lines.push(`  Not planned (${count(content.unplanned.length)}):`);
    for (const u of content.unplanned.slice(0, LISTED_UNPLANNED))
      lines.push(`  - ${u.repository}: ${u.reason}`);
    const rest = content.unplanned.length - LISTED_UNPLANNED;
    if (rest > 0) lines.push(`  ...and ${count(rest)} more.`);
  }
  return lines;
}

function holdLines(content: DigestContent): string[] {
  const tz = content.window.timeZone;
  const holds = content.expiringHolds;
  const lines = [`Holds expiring in the next 7 days (${holds.length})`];
  if (holds.length === 0) lines.push('  None.');
  for (const h of holds.slice(0, LISTED_HOLDS)) {
    const where = h.id !== undefined ? `hold ${h.id}` : 'in the config';
    lines.push(
      `  - ${h.repository}, ${h.covers}, until ${zonedMinute(new Date(h.expiresAt), tz)}: ${h.reason} (by ${h.owner}; ${where})`,
    );
  }
  const rest = holds.length - LISTED_HOLDS;
  if (rest > 0) lines.push(`  ...and ${count(rest)} more: npx ecr-steward hold list`);
  if (holds.some((h) => h.id !== undefined))
    lines.push(
      '  To keep a hold, place a new one before it expires: npx ecr-steward hold add REPOSITORY [--tag T | --digest D] --reason "<why>"',
    );
  return lines;
}

function gateLines(content: DigestContent): string[] {
  const failures = content.gateFailures;
  if (failures.length === 0) return [];
  const lines = [`Gate failures (${failures.length})`];
  for (const f of failures.slice(0, LISTED_GATE_FAILURES)) {
    const tags = f.tags.length > 0 ? f.tags.join(', ') : 'untagged';
    lines.push(`  - ${f.repository}@${f.digest} (${tags}): ${f.summary}`);
  }
  const rest = failures.length - LISTED_GATE_FAILURES;
  if (rest > 0) lines.push(`  ...and ${count(rest)} more.`);
  lines.push('  Check one: npx ecr-steward gate check REPOSITORY@DIGEST');
  return lines;
}

function selectionLines(content: DigestContent): string[] {
  const rows = content.bySelection ?? [];
  if (rows.length === 0) return [];
  const width = Math.max(...rows.map((r) => r.label.length));
  return [
    'By selection',
    ...rows.map(
      ({ label, totals: t }) =>
        `  ${label.padEnd(width)}  deleted ${count(t.deleted)} (${humanBytes(t.deletedBytes)}), archived ${count(t.archived)}, restored ${count(t.restored)}, holds placed ${count(t.holdsPlaced)}, gate failures ${count(t.gateFailures)}`,
    ),
  ];
}

const shorten = (line: string): string =>
  line.length <= LINE_MAX ? line : `${line.slice(0, LINE_MAX - 3)}...`;

/** The digest as SNS publishes it: subject, plain-text body, and the `kind` (and `selection`) attributes. */
export function digestMessage(content: DigestContent): Notice {
  const tz = content.window.timeZone;
  const scope = content.selection
    ? `selection ${content.selection.label} (${content.selection.repositories})`
    : 'every repository of the registry';
  const sections: string[][] = [
    [
      `ECR Steward weekly digest for ${scope}`,
      `Week:      ${zonedMinute(content.window.start, tz)} to ${zonedMinute(content.window.end, tz)} (${tz})`,
      `Registry:  ${content.registryId} (${content.region})`,
    ],
    ['This week', ...totalsLines(content.totals, content.mode)],
    selectionLines(content),
    reclaimLines(content),
    holdLines(content),
    gateLines(content),
    [`The records behind these figures: npx ecr-steward audit --since ${content.window.start.toISOString()}`],
  ];
  const lines = sections
    .filter((s) => s.length > 0)
    .flatMap((s, i) => (i === 0 ? s : ['', ...s]))
    .map(shorten);
  const attributes: Record<string, NoticeAttribute> = {
    kind: { DataType: 'String', StringValue: DIGEST_KIND },
  };
  if (content.selection) attributes.selection = { DataType: 'String', StringValue: content.selection.label };
  return { subject: digestSubject(content), message: fitted(lines), attributes };
}

/** The body, cut at a line boundary with a note when it would pass DIGEST_MAX_BYTES (the lists are bounded). */
function fitted(lines: readonly string[]): string {
  const whole = `${lines.join('\n')}\n`;
  if (Buffer.byteLength(whole) <= DIGEST_MAX_BYTES) return whole;
  const note = '...the digest is cut here: it would pass the size SNS accepts.\n';
  const kept: string[] = [];
  let bytes = Buffer.byteLength(note);
  for (const line of lines) {
    const size = Buffer.byteLength(line) + 1;
    if (bytes + size > DIGEST_MAX_BYTES) break;
    kept.push(line);
    bytes += size;
  }
  return `${kept.join('\n')}\n${note}`;
}
