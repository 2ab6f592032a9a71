/**
 * The weekly digest: gathers a week of the audit table, the holds, the scan gate's failures and the current
 * lifecycle plans, and sends one digest per selection (the notices topic, with the `selection` attribute its
 * filtered subscriptions match) and one for the whole registry (the alerts topic).
 *
 * It talks to the world only through the narrow ports below (no SDK, no environment), so it is tested against
 * dynalite and in memory and runs unchanged in the function and the local cloud.
 *
 * Idempotent per scheduled run: every message is sent under a once-marker in the state table (claimed with a
 * conditional put before publishing, marked done after), so a retry of the same run sends only what the failed
 * attempt had not; a run whose every message was sent is recognised by its own marker before any work.
 */
import type { RepositoryInfo } from '../shared/adapters/ecr.js';
import type { AuditStatus } from '../shared/audit/records.js';
import { needsRepositoryTags, selectionFor } from '../shared/config/load.js';
import type { Selection, StewardConfig } from '../shared/config/schema.js';
import {
  type DigestContent,
  type DigestTotals,
  digestMessage,
  type ExpiringHold,
  emptyTotals,
  type GateFailure,
  type ReclaimableRepository,
  type UnplannedRepository,
} from '../shared/digest/message.js';
import { addZonedDays, type DigestWindow, digestWindow } from '../shared/digest/window.js';
import { type Notice, selectionLabel } from '../shared/governance/notice.js';
import type { StoredHold } from '../shared/holds/model.js';
import { mapLimit } from '../shared/runtime/concurrency.js';
import type { ReclaimResult } from './reclaimable.js';

/** What the digest reads of one audit record (the store projects these attributes only). */
export interface DigestRecord {
  readonly repository: string;
  readonly status: AuditStatus;
  readonly dryRun: boolean;
  /** ISO-8601: when the record's current state began (the deletion time of a DELETED record). */
  readonly at: string;
  readonly archivedAt?: string | undefined;
  readonly restoredAt?: string | undefined;
  readonly sizeBytes?: number | undefined;
  readonly actorType?: string | undefined;
}

/** A once-marker's key in the state table. */
export interface MarkerKey {
  readonly pk: string;
  readonly sk: string;
}

export interface DigestPorts {
  /** Every repository of the registry (metadata only). */
  listRepositories(): Promise<readonly RepositoryInfo[]>;
  /** A repository's resource tags; read only when some selection needs tags. */
  repositoryTags(arn: string): Promise<Readonly<Record<string, string>>>;
  /**
   * The audit records whose current state began at or after `since` (the byDay index), page by page, so a busy
   * week is never held in memory at once.
   */
  auditRecords(since: string, onPage: (records: readonly DigestRecord[]) => void): Promise<void>;
  /** Every hold of the holds table (expired ones included), or none when the stack has no holds table. */
  holds(): Promise<readonly StoredHold[]>;
  /** The images whose gate verdict was FAIL in `[since, until)`, once each (its latest FAIL there). */
  gateFailures(since: string, until: string): Promise<readonly GateFailure[]>;
  /** What the current lifecycle plan would reclaim in a managed repository, given its holds of the table. */
  reclaimable(repository: RepositoryInfo, holds: readonly StoredHold[]): Promise<ReclaimResult>;
  readonly markers: {
    /** Whether the marker says its work was done. */
    isDone(key: MarkerKey): Promise<boolean>;
    /** True when this caller must do the work now; false when it was done. Throws while a duplicate holds it. */
    claim(key: MarkerKey, now: Date, expiresAt: number): Promise<boolean>;
    done(key: MarkerKey): Promise<void>;
  };
  /** Publishes one message: `notices` (a selection's digest) or `alerts` (the registry's). */
  publish(topic: 'notices' | 'alerts', message: Notice): Promise<void>;
}

export interface DigestRequest {
  readonly registryId: string;
  readonly region: string;
  /** The end of the week: the scheduled time of the run (the same for each retry of it). */
  readonly end: Date;
  /** Now: when the plans are made. */
  readonly now: Date;
}

/** One message the run sent (or found sent by an earlier attempt). */
export interface DigestSent {
  readonly topic: 'notices' | 'alerts';
  readonly selection?: string | undefined;
  readonly subject: string;
  /** False when an earlier attempt of the same run had sent it already. */
  readonly sentNow: boolean;
}

export interface DigestReport {
  readonly window: DigestWindow;
  /** True when an earlier attempt of this run had sent every message: nothing was read or sent. */
  readonly alreadySent: boolean;
  readonly repositories: number;
  readonly managed: number;
  readonly unplanned: number;
  readonly messages: readonly DigestSent[];
}

/** Repositories planned at once: each plan lists a repository's images, so a few in flight keep ECR calm. */
export const RECLAIM_CONCURRENCY = 4;
/** How long a digest's markers stay in the state table: longer than any retry of its run. */
const MARKER_DAYS = 35;
/** The holds a digest announces: those expiring within this many days after it. */
const EXPIRING_WITHIN_DAYS = 7;

/** The marker of one message of a run (`sk`: `ALL`, or `SELECTION#<index>#<label>`), or of the run (`RUN`). */
export function markerKey(end: Date, part: string): MarkerKey {
  return { pk: `DIGEST#${end.toISOString()}`, sk: part };
}

/** A selection's repositories in words: its name globs and the tags it requires. */
export function selectionScope(selection: Selection): string {
  const parts = [
    ...(selection.repositories ?? []),
    ...Object.entries(selection.repositoryTags ?? {}).map(([k, v]) => `tagged ${k}=${v}`),
  ];
  return parts.join(', ');
}

type MutableTotals = {
  -readonly [K in keyof DigestTotals]: DigestTotals[K] extends object
    ? { -readonly [J in keyof DigestTotals[K]]: DigestTotals[K][J] }
    : DigestTotals[K];
};

const mutableTotals = (): MutableTotals => {
  const t = emptyTotals();
  return { ...t, deletedBy: { ...t.deletedBy } };
};

/** One scope's figures: a selection's (by index) or the registry's (`undefined`). */
interface Scope {
  readonly totals: MutableTotals;
  readonly reclaimable: ReclaimableRepository[];
  readonly unplanned: UnplannedRepository[];
  readonly expiringHolds: ExpiringHold[];
  readonly gateFailures: GateFailure[];
}

const newScope = (): Scope => ({
  totals: mutableTotals(),
  reclaimable: [],
  unplanned: [],
  expiringHolds: [],
  gateFailures: [],
});

/** Sends the digest of the week ending at `req.end`. */
export async function runDigest(
  config: StewardConfig,
  req: DigestRequest,
  ports: DigestPorts,
): Promise<DigestReport> {
  const window = digestWindow(req.end, config.digest.timezone);
  const runMarker = markerKey(req.end, 'RUN');
  if (await ports.markers.isDone(runMarker))
    return { window, alreadySent: true, repositories: 0, managed: 0, unplanned: 0, messages: [] };

  const start = window.start.getTime();
  const end = window.end.getTime();
  const inWeek = (iso: string | undefined) => {
    if (iso === undefined) return false;
    const t = Date.parse(iso);
    return t >= start && t < end;
  };

  // Which selection manages each repository, decided as the cleanup decides it (tags read only when needed).
  const repositories = await ports.listRepositories();
  const needsTags = needsRepositoryTags(config);
  const managedBy = new Map<string, number>();
  await mapLimit(repositories, 8, async (r) => {
    const tags = needsTags ? await ports.repositoryTags(r.arn) : undefined;
    const selection = selectionFor(config, r.name, tags);
    if (selection) managedBy.set(r.name, config.selections.indexOf(selection));
  });
  // A repository deleted since its records were written is matched by name alone.
  const selectionOf = (repository: string): number | undefined => {
    const known = managedBy.get(repository);
    if (known !== undefined) return known;
    const byName = selectionFor(config, repository);
    return byName ? config.selections.indexOf(byName) : undefined;
  };

  const all = newScope();
  const scopes = config.selections.map(newScope);
  const scopesOf = (repository: string): Scope[] => {
    const i = selectionOf(repository);
    return i === undefined ? [all] : [all, scopes[i]!];
  };

  await ports.auditRecords(window.start.toISOString(), (page) => {
    for (const r of page) {
      if (r.dryRun) continue;
      for (const { totals: t } of scopesOf(r.repository)) {
        if (r.status === 'DELETED' && inWeek(r.at)) {
          t.deleted++;
          t.deletedBytes += r.sizeBytes ?? 0;
          if (r.actorType === 'ecr-steward') t.deletedBy.steward++;
          else if (r.actorType === 'ecr-lifecycle') t.deletedBy.lifecycle++;
          else t.deletedBy.others++;
        }
        if (inWeek(r.archivedAt)) {
          t.archived++;
          t.archivedBytes += r.sizeBytes ?? 0;
        }
        if (inWeek(r.restoredAt)) t.restored++;
      }
    }
  });

  const holds = await ports.holds();
  const expiryEnd = addZonedDays(window.end, window.timeZone, EXPIRING_WITHIN_DAYS).getTime();
  const expiresSoon = (iso: string | undefined) => {
    if (iso === undefined) return false;
    const t = Date.parse(iso);
    return t >= end && t < expiryEnd;
  };
  const holdsByRepository = new Map<string, StoredHold[]>();
  for (const h of holds) {
    holdsByRepository.set(h.repository, [...(holdsByRepository.get(h.repository) ?? []), h]);
    for (const scope of scopesOf(h.repository)) {
      if (inWeek(h.createdAt)) scope.totals.holdsPlaced++;
      if (expiresSoon(h.expiresAt))
        scope.expiringHolds.push({
          repository: h.repository,
          covers:
            h.tag !== undefined
              ? `tag ${h.tag}`
              : h.digest !== undefined
                ? `digest ${h.digest}`
                : 'the whole repository',
          reason: h.reason,
          owner: h.principal,
          expiresAt: h.expiresAt!,
          id: h.id,
        });
    }
  }
  // Holds written in the config apply to every repository of their selection.
  config.selections.forEach((selection, i) => {
    for (const h of selection.steward?.holds ?? []) {
      if (!expiresSoon(h.expiresAt)) continue;
      const hold: ExpiringHold = {
        repository: `selection ${selectionLabel(selection, i)} (${selectionScope(selection)})`,
        covers: h.tag !== undefined ? `tag ${h.tag}` : `digest ${h.digest}`,
        reason: h.reason,
        owner: h.owner,
        expiresAt: new Date(Date.parse(h.expiresAt!)).toISOString(),
      };
      all.expiringHolds.push(hold);
      scopes[i]!.expiringHolds.push(hold);
    }
  });

  for (const failure of await ports.gateFailures(window.start.toISOString(), window.end.toISOString()))
    for (const scope of scopesOf(failure.repository)) {
      scope.totals.gateFailures++;
      scope.gateFailures.push(failure);
    }

  const managed = repositories.filter((r) => managedBy.has(r.name));
  // A repository whose plan fails (a throttled read, a lost permission) is named, not allowed to stop the digest.
  const results = await mapLimit(managed, RECLAIM_CONCURRENCY, async (r) => {
    try {
      return await ports.reclaimable(r, holdsByRepository.get(r.name) ?? []);
    } catch (e) {
      return { unplanned: `the plan failed: ${(e as Error).message}` };
    }
  });
  managed.forEach((r, i) => {
    const result = results[i]!;
    for (const scope of scopesOf(r.name)) {
      if ('unplanned' in result) scope.unplanned.push({ repository: r.name, reason: result.unplanned });
      else scope.reclaimable.push({ repository: r.name, bytes: result.bytes, images: result.images });
    }
  });

  const content = (scope: Scope, selection?: { label: string; repositories: string }): DigestContent => ({
    registryId: req.registryId,
    region: req.region,
    window,
    selection,
    mode: config.mode,
    totals: scope.totals,
    reclaimable: [...scope.reclaimable].sort(
      (a, b) => b.bytes - a.bytes || a.repository.localeCompare(b.repository),
    ),
    reclaimableTotal: {
      bytes: scope.reclaimable.reduce((s, r) => s + r.bytes, 0),
      images: scope.reclaimable.reduce((s, r) => s + r.images, 0),
      repositories: scope.reclaimable.length + scope.unplanned.length,
    },
    unplanned: [...scope.unplanned].sort((a, b) => a.repository.localeCompare(b.repository)),
    plannedAt: req.now,
    expiringHolds: [...scope.expiringHolds].sort(
      (a, b) => Date.parse(a.expiresAt) - Date.parse(b.expiresAt) || a.repository.localeCompare(b.repository),
    ),
    gateFailures: [...scope.gateFailures].sort(
      (a, b) => b.at.localeCompare(a.at) || a.repository.localeCompare(b.repository),
    ),
  });

  const outgoing: { key: MarkerKey; topic: 'notices' | 'alerts'; label?: string; message: Notice }[] = [];
  config.selections.forEach((selection, i) => {
    const label = selectionLabel(selection, i);
    outgoing.push({
      key: markerKey(req.end, `SELECTION#${i}#${label}`),
      topic: 'notices',
      label,
      message: digestMessage(content(scopes[i]!, { label, repositories: selectionScope(selection) })),
    });
  });
  outgoing.push({
    key: markerKey(req.end, 'ALL'),
    topic: 'alerts',
    message: digestMessage({
      ...content(all),
      bySelection: config.selections.map((s, i) => ({
        label: selectionLabel(s, i),
        totals: scopes[i]!.totals,
      })),
    }),
  });

  const expiresAt = Math.floor(req.end.getTime() / 1000) + MARKER_DAYS * 86_400;
  const messages: DigestSent[] = [];
  for (const m of outgoing) {
    const mine = await ports.markers.claim(m.key, req.now, expiresAt);
    if (mine) {
      await ports.publish(m.topic, m.message);
      await ports.markers.done(m.key);
    }
    messages.push({
      topic: m.topic,
      ...(m.label !== undefined ? { selection: m.label } : {}),
      subject: m.message.subject,
      sentNow: mine,
    });
  }
  if (await ports.markers.claim(runMarker, req.now, expiresAt)) await ports.markers.done(runMarker);

  return {
    window,
    alreadySent: false,
    repositories: repositories.length,
    managed: managed.length,
    unplanned: all.unplanned.length,
    messages,
  };
}
