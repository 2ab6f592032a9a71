/**
 * The one way any caller deletes images: guard ─► dry-run: PLANNED records; enforce: notices (SCHEDULED) for
 * images without one, then for what is due: breaker ─► write-ahead PENDING ─► BatchDeleteImage (DELETED) or
 * UpdateImageStorageClass (ARCHIVED); notices that no longer apply end CANCELLED. Callers say what they want
 * removed and why; they never branch on the mode, read holds or check what is in use themselves.
 */
import {
  type AuditStatus,
  type DeleteSignal,
  type KeptManifest,
  MANIFEST_KEPT_BYTES,
} from '../audit/records.js';
import type { EffectiveGovernance, Selection } from '../config/schema.js';
import type { Hold, InUse } from '../lifecycle/types.js';
import { mapLimit } from '../runtime/concurrency.js';
import {
  type DeletionCaller,
  type GuardCandidate,
  type GuardDecision,
  type GuardProtections,
  guard,
  type KeepCode,
} from './guard.js';
import {
  breakerScopesFor,
  type SafeArchivePorts,
  type SafeDeletePorts,
  safeArchive,
  safeDelete,
} from './safe-delete.js';

/** What the guard keeps for a reason that ends a notice (transient reasons — bounds, breaker — do not). */
const ENDS_NOTICE: ReadonlySet<KeepCode> = new Set([
  'not-managed',
  'hold',
  'in-use',
  'protected-tag',
  'min-age',
]);

const DAY_MS = 86_400_000;

/** An open audit record of the repository (AuditStore.open): a notice or an archived image. */
export interface OpenRecord {
  readonly digest: string;
  readonly status: AuditStatus;
  readonly tags: readonly string[];
  readonly dueAt?: string | undefined;
  readonly purgeAt?: string | undefined;
  readonly archivedAt?: string | undefined;
  readonly actor: { readonly rulePriority?: number | null | undefined };
}

export interface DeletionCandidate extends GuardCandidate {
  readonly sizeBytes: number;
  readonly pushedAt?: string | undefined;
  readonly lastPulledAt?: string | undefined;
  /** The lifecycle rule that acted, or null for a removal no rule asked for (the gate's). */
  readonly rulePriority: number | null;
  /** Why the caller wants it gone; the audit record keeps them. */
  readonly reasons: readonly string[];
}

export interface DeletionRequest {
  readonly repository: { readonly registryId: string; readonly region: string; readonly name: string };
  readonly caller: DeletionCaller;
  readonly mode: 'dry-run' | 'enforce';
  readonly runId: string;
  readonly now: Date;
  /** The selection managing the repository (`selectionFor`), or undefined: then nothing is deleted. */
  readonly selection: Selection | undefined;
  /** See GuardContext.inUse. */
  readonly inUse: InUse | 'unavailable' | undefined;
  /** Deletes still allowed (the smaller of the run's and the repository's bounds). */
  readonly allowance: number;
  /** In deletion order: parents before what follows them. */
  readonly candidates: readonly DeletionCandidate[];
  /** Holds placed from the CLI (the holds table), on top of the selection's own. */
  readonly holds?: readonly Hold[] | undefined;
  /** The notice period and soft delete of the managing selection. @default none: delete when planned */
  readonly governance?: EffectiveGovernance | undefined;
  /** The repository's open records (notices given, images archived). @default none */
  readonly open?: readonly OpenRecord[] | undefined;
  /**
   * The caller planned the whole repository (the lifecycle cleanup): a notice it gave for an image it no
   * longer plans ends CANCELLED. A caller that asks about one image (the gate) leaves other notices alone.
   */
  readonly wholeRepository?: boolean | undefined;
  /** Sends the notice of the deletions this run schedules; called before their SCHEDULED records are written. */
  readonly announce?:
    | ((
        scheduled: readonly { readonly candidate: DeletionCandidate; readonly dueAt: string }[],
      ) => Promise<void>)
    | undefined;
  /** Why the caller's plan keeps an image it once planned (its protection), for the notice it ends. */
  readonly keptReasons?: ReadonlyMap<string, string> | undefined;
}

export interface DeletionResult {
  readonly decisions: readonly GuardDecision[];
  /** Dry-run: images recorded PLANNED. */
  readonly planned: number;
  readonly deleted: number;
  readonly alreadyGone: number;
  readonly bytesReclaimed: number;
  readonly failures: readonly { digest: string; code: string; reason: string }[];
  /** Set when an open breaker stopped deletes (before or during the run). */
  readonly breaker?: { readonly scope: string; readonly reason?: string | undefined } | undefined;
  /** Images the guard let through that were not attempted because the breaker opened mid-run. */
  readonly notAttempted: number;
  /** What the guard kept, by code. */
  readonly kept: Readonly<Partial<Record<KeepCode, number>>>;
  /** Notices given in this run (new SCHEDULED records), with their due time. */
  readonly scheduled: readonly { readonly candidate: DeletionCandidate; readonly dueAt: string }[];
  /** Notices ended in this run, with why. */
  readonly cancelled: readonly { readonly digest: string; readonly reason: string }[];
  readonly archived: number;
  readonly bytesArchived: number;
}

/** The protections of a selection that the guard applies to every caller. */
export function guardProtections(
  selection: Selection | undefined,
  extraHolds: readonly Hold[] = [],
): GuardProtections | undefined {
  if (!selection) return undefined;
  const s = selection.steward;
  return {
    holds: [...(s?.holds ?? []), ...extraHolds],
    protectedTags: s?.protectedTags,
    minAgeDays: s?.minAgeDays,
  };
}

/** The destructive ports: those of a delete, and (for soft delete) a registry that can archive. */
export interface DeletionPorts extends Omit<SafeDeletePorts, 'registry'> {
  readonly registry: SafeDeletePorts['registry'] &
    Partial<SafeArchivePorts['registry']> & {
      /** The manifests to keep in the write-ahead record of an irreversible delete. @default none kept */
      manifests?(
        repository: string,
        digests: readonly string[],
      ): Promise<ReadonlyMap<string, { mediaType: string; body: string }>>;
    };
}

export async function runDeletion(request: DeletionRequest, ports: DeletionPorts): Promise<DeletionResult> {
  const { repository, runId, now, governance } = request;
  const open = request.open ?? [];
  const noticed = new Map(
    open
      // A noticed image stays noticed while its deletion is retried (PENDING or FAILED keep the due time).
      .filter((r) => ['SCHEDULED', 'PENDING', 'FAILED'].includes(r.status) && r.dueAt !== undefined)
      .map((r) => [r.digest, Date.parse(r.dueAt!)] as const),
  );
  // Only an enforcing run reads the breaker: a dry run deletes nothing, and its plan shows what enforce would do.
  const breaker =
    request.mode === 'enforce' && request.candidates.length > 0 && request.selection
      ? await ports.breaker.firstOpen(breakerScopesFor(repository.name), now)
      : undefined;
  const decisions = guard(request.candidates, {
    caller: request.caller,
    mode: request.mode,
    managed: guardProtections(request.selection, request.holds),
    inUse: request.inUse,
    breaker,
    allowance: request.allowance,
    now: now.getTime(),
    notice: governance?.notice.hours ? { hours: governance.notice.hours, scheduled: noticed } : undefined,
    softDelete: governance?.softDelete.mode,
  });
  const kept: Partial<Record<KeepCode, number>> = {};
  for (const d of decisions) if (d.action === 'keep') kept[d.code] = (kept[d.code] ?? 0) + 1;
  const byDigest = new Map(request.candidates.map((c) => [c.digest, c]));
  const signal = (
    c: DeletionCandidate,
    status: DeleteSignal['status'],
    extra: Partial<DeleteSignal> = {},
  ): DeleteSignal => ({
    registryId: repository.registryId,
    region: repository.region,
    repository: repository.name,
    digest: c.digest,
    evidence: 'steward-write-ahead',
    status,
    at: status === 'PLANNED' ? now.toISOString() : new Date().toISOString(),
    tags: c.tags,
    sizeBytes: c.sizeBytes,
    pushedAt: c.pushedAt,
    lastPulledAt: c.lastPulledAt,
    actor: { type: 'ecr-steward', runId, rulePriority: c.rulePriority, reasons: c.reasons },
    ...extra,
  });
  const chosen = (action: 'delete' | 'archive' | 'plan') =>
    decisions.filter((d) => d.action === action).map((d) => byDigest.get(d.digest)!);
  const base = {
    decisions,
    kept,
    planned: 0,
    deleted: 0,
    alreadyGone: 0,
    bytesReclaimed: 0,
    failures: [] as { digest: string; code: string; reason: string }[],
    notAttempted: 0,
    breaker,
    scheduled: [] as { candidate: DeletionCandidate; dueAt: string }[],
    cancelled: [] as { digest: string; reason: string }[],
    archived: 0,
    bytesArchived: 0,
  };

  if (request.mode === 'dry-run') {
    const planned = chosen('plan');
    await mapLimit(planned, 16, (c) => ports.audit.record(signal(c, 'PLANNED')));
    return { ...base, planned: planned.length };
  }

  // Notices: one SCHEDULED record per image; the store keeps the first due time, so a repeat never delays.
  for (const d of decisions)
    if (d.action === 'schedule')
      base.scheduled.push({ candidate: byDigest.get(d.digest)!, dueAt: new Date(d.dueAt).toISOString() });
  // The notice goes out before the records that say it was given: if sending fails, nothing is recorded and
  // the next attempt sends it (a notice may arrive twice, never not at all).
  if (base.scheduled.length > 0) await request.announce?.(base.scheduled);
  await mapLimit(base.scheduled, 16, ({ candidate, dueAt }) =>
    ports.audit.record(signal(candidate, 'SCHEDULED', { evidence: 'steward-notice', dueAt })),
  );

  // Notices that no longer apply: the image is now held, in use, protected… or (whole-repository callers) no
  // longer planned at all. Transient reasons (bounds, breaker) leave the notice standing.
  for (const d of decisions)
    if (d.action === 'keep' && ENDS_NOTICE.has(d.code) && noticed.has(d.digest))
      base.cancelled.push({ digest: d.digest, reason: d.reason });
  if (request.wholeRepository)
    for (const r of open)
      if (noticed.has(r.digest) && !byDigest.has(r.digest) && r.actor.rulePriority !== null)
        base.cancelled.push({
          digest: r.digest,
          reason:
            request.keptReasons?.get(r.digest) ??
            'no longer planned (re-tagged, pulled, or the policy changed)',
        });
  const openByDigest = new Map(open.map((r) => [r.digest, r]));
  await mapLimit(base.cancelled, 16, ({ digest, reason }) => {
    const c = byDigest.get(digest);
    const fallback = {
      digest,
      tags: openByDigest.get(digest)?.tags ?? [],
      sizeBytes: 0,
      rulePriority: null,
      reasons: [],
    };
    return ports.audit.record(
      signal(c ?? fallback, 'CANCELLED', {
        evidence: 'steward-cancel',
        note: reason,
        ...(c ? {} : { actor: undefined }),
      }),
    );
  });

  // Soft delete: archive what is due; ECR's refusals are deleted or kept as the config says.
  const toArchive = chosen('archive');
  const toDelete = chosen('delete');
  let result = base;
  if (toArchive.length > 0) {
    if (!ports.registry.archiveImages)
      throw new Error('soft delete needs a registry that can archive images');
    const purgeAt = new Date(
      now.getTime() + (governance?.softDelete.purgeAfterDays ?? 30) * DAY_MS,
    ).toISOString();
    const archived = await safeArchive(
      repository.name,
      toArchive.map((c) => ({
        digest: c.digest,
        sizeBytes: c.sizeBytes,
        purgeAt,
        signal: (status, extra) => signal(c, status, extra),
      })),
      { ...ports, registry: { archiveImages: ports.registry.archiveImages.bind(ports.registry) } },
      { breakerCheckedAt: now },
    );
    result = {
      ...result,
      archived: archived.archived,
      bytesArchived: archived.bytesArchived,
      alreadyGone: archived.alreadyGone,
      notAttempted: archived.notAttempted,
      breaker: archived.breaker ?? breaker,
      failures: [...archived.failures],
    };
    for (const refusal of archived.refused) {
      const c = byDigest.get(refusal.digest)!;
      const why = `ECR would not archive it (${refusal.code}: ${refusal.reason})`;
      if (governance?.softDelete.unarchivable === 'delete')
        toDelete.push({ ...c, reasons: [...c.reasons, `${why}; softDelete.unarchivable is delete`] });
      else {
        result.cancelled.push({ digest: c.digest, reason: `kept: ${why}; softDelete.unarchivable is keep` });
        await ports.audit.record(
          signal(c, 'CANCELLED', {
            evidence: 'steward-cancel',
            note: `kept: ${why}; softDelete.unarchivable is keep`,
          }),
        );
      }
    }
    if (archived.breaker) return result;
  }
  if (toDelete.length === 0) return result;
  // Governed and not archived: the write-ahead record keeps the manifest, so it proves what was there.
  const keep =
    governance !== undefined && governance.softDelete.mode === 'off' && request.caller !== 'purge'
      ? ((await ports.registry.manifests?.(
          repository.name,
          toDelete.map((c) => c.digest),
        )) ?? new Map<string, { mediaType: string; body: string }>())
      : new Map<string, { mediaType: string; body: string }>();
  const manifestOf = (digest: string): KeptManifest | undefined => {
    const m = keep.get(digest);
    if (!m) return undefined;
    const bytes = Buffer.byteLength(m.body);
    return { mediaType: m.mediaType, bytes, ...(bytes <= MANIFEST_KEPT_BYTES ? { body: m.body } : {}) };
  };
  const deleted = await safeDelete(
    repository.name,
    toDelete.map((c) => ({
      digest: c.digest,
      sizeBytes: c.sizeBytes,
      signal: (status, extra) =>
        signal(c, status, { ...(status === 'PENDING' ? { manifest: manifestOf(c.digest) } : {}), ...extra }),
    })),
    ports,
    // The guard's breaker read covers the first batch unless an archive ran in between.
    { breakerCheckedAt: toArchive.length === 0 ? now : undefined },
  );
  return {
    ...result,
    ...deleted,
    alreadyGone: result.alreadyGone + deleted.alreadyGone,
    notAttempted: result.notAttempted + deleted.notAttempted,
    breaker: deleted.breaker ?? result.breaker,
  };
}
