/**
 * The one way any caller deletes images: guard ─► dry-run: PLANNED records; enforce: notices (SCHEDULED) for
 * images without one, then for what is due: breaker ─► write-ahead PENDING ─► BatchDeleteImage (DELETED) or
 * UpdateImageStorageClass (ARCHIVED); notices that no longer apply end CANCELLED. Callers say what they want
 * removed and why; they never branch on the mode, read holds or check what is in use themselves.
 */

import { approvalNeeded, type RequestView, requestView, stateAt } from '../approvals/decide.js';
import { type ApprovalPorts, openRequest } from '../approvals/lifecycle.js';
import type { DeletionRequestRecord, Requester } from '../approvals/model.js';
import { matchingPattern, sameParty } from '../approvals/principals.js';
import {
  type AuditRecord,
  type AuditStatus,
  type DeleteSignal,
  type KeptManifest,
  MANIFEST_KEPT_BYTES,
} from '../audit/records.js';
import type { ApprovalRequired } from '../config/approval.js';
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
  recordBatch,
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
  'approval-refused',
]);

const HOUR_MS = 3_600_000;

const DAY_MS = 86_400_000;

/** An open audit record of the repository (AuditStore.open): a notice or an archived image. */
export interface OpenRecord {
  readonly digest: string;
  readonly status: AuditStatus;
  readonly tags: readonly string[];
  readonly dueAt?: string | undefined;
  readonly purgeAt?: string | undefined;
  readonly archivedAt?: string | undefined;
  /** The deletion request the notice belongs to, when it needs (or needed) an approval. */
  readonly requestId?: string | undefined;
  readonly actor: { readonly rulePriority?: number | null | undefined };
}

/** What the approvals of the managing selection ask of this run. */
export interface DeletionApproval {
  readonly required: ApprovalRequired;
  readonly expiresAfterHours: number;
  /** The repository's tags, when `required` asks by tags. */
  readonly repositoryTags?: Readonly<Record<string, string>> | undefined;
  /** The selection's label, for the request and its message. */
  readonly selection?: string | undefined;
  /** Who asks: this run (planned deletions), unless a person's request is being acted on. @default the run */
  readonly requester?: Requester | undefined;
  /** Why, in the request: a summary of the run's plan. @default the candidates' reasons */
  readonly reason?: string | undefined;
  /** The selection's approvers: an APPROVED request's decision must be by one of them. */
  readonly approvers?: readonly string[] | undefined;
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
  /**
   * A lifecycle policy's `transition` rules: the candidates are archived (ECR's archive class, restorable, no
   * purge), never deleted, whatever the soft-delete setting; an image ECR will not archive is kept. They pass the
   * guard (holds, in use, protections, breaker, bounds) and are recorded like any archive. @default false
   */
  readonly archiveOnly?: boolean | undefined;
  /** Sends the notice of the deletions this run schedules; called before their SCHEDULED records are written. */
  readonly announce?:
    | ((
        scheduled: readonly { readonly candidate: DeletionCandidate; readonly dueAt: string }[],
      ) => Promise<void>)
    | undefined;
  /** Why the caller's plan keeps an image it once planned (its protection), for the notice it ends. */
  readonly keptReasons?: ReadonlyMap<string, string> | undefined;
  /** The selection's approvals. @default none asked for (requests already open are still honoured) */
  readonly approval?: DeletionApproval | undefined;
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
  /** The request this run opened for deletions that need an approval. */
  readonly requested?: { readonly id: string; readonly images: number } | undefined;
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
export interface DeletionPorts extends Omit<SafeDeletePorts, 'registry' | 'audit'> {
  readonly audit: SafeDeletePorts['audit'] & {
    /** One image's audit record, strongly consistent (which request its notice names). @default not read */
    get?(ref: {
      registryId: string;
      region: string;
      repository: string;
      digest: string;
    }): Promise<{ readonly status: string; readonly requestId?: string | undefined } | undefined>;
    /**
     * Of these digests, those whose audit record already says DELETED, with when: an image deleted once and
     * pushed again, which the guard keeps. `read`: whether a call was made for it (a wait during which the
     * breaker may have opened). @default not read (the write-ahead still refuses them)
     */
    deletedOf?(
      ref: { registryId: string; region: string; repository: string },
      digests: readonly string[],
    ): Promise<{ readonly deleted: ReadonlyMap<string, string>; readonly read: boolean }>;
  };
  readonly registry: SafeDeletePorts['registry'] &
    Partial<SafeArchivePorts['registry']> & {
      /** The manifests to keep in the write-ahead record of an irreversible delete. @default none kept */
      manifests?(
        repository: string,
        digests: readonly string[],
      ): Promise<ReadonlyMap<string, { mediaType: string; body: string }>>;
    };
  /** The requests table and the approvals topic. Needed as soon as a notice belongs to a request. */
  readonly approvals?: ApprovalPorts | undefined;
}

/**
 * The requests the images wait for, and those refused lately in the repository (which keep their images out of a
 * new request for `expiresAfterHours`). An image is tied to a request three ways, any of which keeps it until the
 * request is APPROVED: its notice names the request (the open records, an index read); its audit record read by
 * key (strongly consistent, when approvals are configured: the index may lag a run that just asked); or a
 * pending request of the repository lists it (a run that crashed after asking, before its notices).
 */
async function approvalContext(
  request: DeletionRequest,
  open: readonly OpenRecord[],
  ports: DeletionPorts,
): Promise<{
  requests: Map<string, RequestView>;
  refused: Map<string, RequestView>;
  cooldownMs: number;
  /** Whether any table was read: a read is a wait during which the breaker may have opened. */
  read: boolean;
}> {
  const requests = new Map<string, RequestView>();
  const refused = new Map<string, RequestView>();
  const cooldownMs = (request.approval?.expiresAfterHours ?? 72) * HOUR_MS;
  const configured = (request.approval?.required ?? 'never') !== 'never';
  const linked = new Map(
    open.filter((r) => r.requestId !== undefined).map((r) => [r.digest, r.requestId!] as const),
  );
  const ref = {
    registryId: request.repository.registryId,
    region: request.repository.region,
    repository: request.repository.name,
  };
  if (configured && ports.audit.get) {
    const get = ports.audit.get.bind(ports.audit);
    const unlinked = request.candidates.filter((c) => !linked.has(c.digest));
    await mapLimit(unlinked, 16, async (c) => {
      const record = await get({ ...ref, digest: c.digest });
      if (record?.requestId && ['SCHEDULED', 'PENDING', 'FAILED'].includes(record.status))
        linked.set(c.digest, record.requestId);
    });
  }
  if (linked.size === 0 && !configured) return { requests, refused, cooldownMs, read: false };
  if (!ports.approvals)
    throw new Error('deletion requests are in use but no requests table is configured (REQUESTS_TABLE_NAME)');
  const approvals = ports.approvals;
  const byId = new Map<string, RequestView>();
  for (const id of new Set(linked.values())) {
    const found = await approvals.requests.get(id);
    // A request that cannot be found, or an approval that does not hold up, cannot let anything go.
    const problem = found ? approvalProblem(found, request.approval?.approvers) : 'not found';
    byId.set(
      id,
      found && !problem
        ? requestView(found)
        : { id: `${id} (${problem})`, state: 'EXPIRED', createdAt: 0, expiresAt: 0, decidedAt: 0 },
    );
  }
  for (const [digest, id] of linked) requests.set(digest, byId.get(id)!);
  if (configured) {
    const since = new Date(request.now.getTime() - 2 * cooldownMs).toISOString();
    const recent = await approvals.requests.forRepository(ref, since);
    const newestFirst = recent
      .filter((r) => r.kind === 'delete')
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
    for (const r of newestFirst) {
      const state = stateAt(requestView(r), request.now.getTime());
      for (const image of r.images) {
        if (refused.has(image.digest) || requests.has(image.digest)) continue;
        // A pending request listing the image keeps it, even when no notice names the request yet.
        if (state === 'PENDING_APPROVAL') requests.set(image.digest, requestView(r));
        // Only the newest request of an image speaks for it: an approved one ends the cooldown (and approves
        // nothing by itself: an approval counts through the notice it was given for).
        else
          refused.set(
            image.digest,
            state === 'REJECTED' || state === 'EXPIRED' ? requestView(r) : NOT_REFUSED,
          );
      }
    }
    for (const [digest, view] of refused) if (view === NOT_REFUSED) refused.delete(digest);
  }
  return { requests, refused, cooldownMs, read: true };
}

/**
 * Why an APPROVED request does not hold up, or undefined: the state alone is not trusted (a row edited in the
 * table is not an approval), so the decision must be an approval by someone other than the requester, and by an
 * approver of the selection when the run knows them.
 */
function approvalProblem(
  r: DeletionRequestRecord,
  approvers: readonly string[] | undefined,
): string | undefined {
  if (r.state !== 'APPROVED') return undefined;
  const d = r.decision;
  if (d?.action !== 'approve' || !d.by) return 'approved without an approval decision';
  if (r.requester.type === 'principal' && sameParty(d.by, r.requester.arn))
    return 'approved by its own requester';
  if (approvers && !matchingPattern(d.by, approvers)) return `approved by ${d.by}, not an approver`;
  return undefined;
}

const NOT_REFUSED: RequestView = { id: '', state: 'APPROVED', createdAt: 0, expiresAt: 0 };

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
  const approvals =
    request.mode === 'enforce' && request.candidates.length > 0 && request.caller !== 'purge'
      ? await approvalContext(request, open, ports)
      : undefined;
  // The read above stands for the first delete (or archive) batch only while nothing else is awaited before it:
  // every call in between (approvals, the notice, a request, records, manifests) is a wait during which the
  // breaker may open — most likely then, as other repositories of the same batch are deleting. After any, the
  // first batch reads the breaker again.
  // An image deleted once and pushed again cannot be deleted again with a record of its own (the write-ahead
  // refuses it): the guard keeps it before it takes a notice (given on every run, never acted on) or a share of
  // the bounds (spent on every run, starving the images after it). A noticed image has an open record instead.
  const unnoticed =
    request.mode === 'enforce' && request.caller !== 'purge' && ports.audit.deletedOf
      ? request.candidates.filter((c) => !noticed.has(c.digest)).map((c) => c.digest)
      : [];
  const settled =
    unnoticed.length > 0
      ? await ports.audit.deletedOf!(
          { registryId: repository.registryId, region: repository.region, repository: repository.name },
          unnoticed,
        )
      : undefined;
  let breakerFresh = approvals?.read !== true && settled?.read !== true;
  const guardWith = (needed: string | undefined) =>
    guard(request.candidates, {
      caller: request.caller,
      mode: request.mode,
      managed: guardProtections(request.selection, request.holds),
      inUse: request.inUse,
      breaker,
      allowance: request.allowance,
      now: now.getTime(),
      notice: governance?.notice.hours ? { hours: governance.notice.hours, scheduled: noticed } : undefined,
      softDelete: request.archiveOnly ? 'archive' : governance?.softDelete.mode,
      approval: approvals ? { ...approvals, needed } : undefined,
      settled: settled?.deleted,
    });
  let decisions = guardWith(undefined);
  // Whether this run's deletions need an approval is weighed on what it would remove (now or once noticed):
  // when they do, the guard runs again and asks for every image that has no request yet.
  const needed =
    approvals && request.approval
      ? approvalNeeded(request.approval.required, {
          ...decisions.reduce(
            (size, d) => {
              const acting =
                d.action === 'schedule' ||
                d.action === 'delete' ||
                d.action === 'archive' ||
                // What only the bounds or an open breaker hold back goes in a later run: it counts too, or
                // bounds smaller than the threshold would let every deletion through unasked.
                // and what already waits for an answer: a small run after a large one is still part of it.
                (d.action === 'keep' &&
                  (d.code === 'notice-pending' ||
                    d.code === 'bounds' ||
                    d.code === 'breaker-open' ||
                    d.code === 'awaiting-approval'));
              if (!acting) return size;
              const c = request.candidates.find((x) => x.digest === d.digest);
              return { images: size.images + 1, bytes: size.bytes + (c?.sizeBytes ?? 0) };
            },
            { images: 0, bytes: 0 },
          ),
          repositoryTags: request.approval.repositoryTags,
        })
      : undefined;
  if (needed) decisions = guardWith(needed);
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
    requested: undefined as { id: string; images: number } | undefined,
  };

  if (request.mode === 'dry-run') {
    const planned = chosen('plan');
    await recordBatch(
      ports.audit,
      planned.map((c) => signal(c, 'PLANNED')),
    );
    return { ...base, planned: planned.length };
  }

  // Notices: one SCHEDULED record per image; the store keeps the first due time, so a repeat never delays.
  const asked = new Set<string>();
  for (const d of decisions)
    if (d.action === 'schedule') {
      base.scheduled.push({ candidate: byDigest.get(d.digest)!, dueAt: new Date(d.dueAt).toISOString() });
      if (d.ask) asked.add(d.digest);
    }
  // The notice goes out before the records that say it was given: if sending fails, nothing is recorded and
  // the next attempt sends it (a notice may arrive twice, never not at all).
  if (base.scheduled.length > 0 && request.announce) {
    breakerFresh = false;
    await request.announce(base.scheduled);
  }
  // The request (stored, audited, announced to the approvers) before the notices that name it: a crash in
  // between leaves a request no notice belongs to, which deletes nothing; the next run asks again.
  if (asked.size > 0) {
    if (!ports.approvals)
      throw new Error(
        'these deletions need an approval but no requests table is configured (REQUESTS_TABLE_NAME)',
      );
    const items = base.scheduled.filter((s) => asked.has(s.candidate.digest));
    breakerFresh = false;
    const opened = await openRequest(
      {
        kind: 'delete',
        registryId: repository.registryId,
        region: repository.region,
        repository: repository.name,
        selection: request.approval?.selection,
        images: items.map(({ candidate: c }) => ({
          digest: c.digest,
          tags: c.tags,
          sizeBytes: c.sizeBytes,
          reason: c.reasons.at(-1) ?? request.caller,
        })),
        reason:
          request.approval?.reason ??
          `${request.caller} plans ${items.length} deletion${items.length === 1 ? '' : 's'} in ${repository.name}; approval needed: ${needed}`,
        requester: request.approval?.requester ?? { type: 'ecr-steward', runId },
        now,
        expiresAfterHours: request.approval?.expiresAfterHours ?? 72,
        dueAt: items.map((s) => s.dueAt).sort()[0],
      },
      ports.approvals,
    );
    base.requested = { id: opened.id, images: items.length };
  }
  const requestOf = (digest: string) =>
    asked.has(digest) ? base.requested?.id : approvals?.requests.get(digest)?.id;
  if (base.scheduled.length > 0) breakerFresh = false;
  await recordBatch(
    ports.audit,
    base.scheduled.map(({ candidate, dueAt }) =>
      signal(candidate, 'SCHEDULED', {
        evidence: 'steward-notice',
        dueAt,
        requestId: requestOf(candidate.digest),
      }),
    ),
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
  // The open records as the store returns them are whole audit records: the write-ahead merges on them.
  const knownOf = (digest: string): AuditRecord | undefined => {
    const r = openByDigest.get(digest) as Partial<AuditRecord> | undefined;
    return r && typeof r.version === 'number' && typeof r.pk === 'string' && r.dryRun === false
      ? (r as AuditRecord)
      : undefined;
  };
  if (base.cancelled.length > 0) breakerFresh = false;
  await recordBatch(
    ports.audit,
    base.cancelled.map(({ digest, reason }) => {
      const c = byDigest.get(digest);
      const fallback = {
        digest,
        tags: openByDigest.get(digest)?.tags ?? [],
        sizeBytes: 0,
        rulePriority: null,
        reasons: [],
      };
      return signal(c ?? fallback, 'CANCELLED', {
        evidence: 'steward-cancel',
        note: reason,
        ...(c ? {} : { actor: undefined }),
      });
    }),
  );

  // Soft delete: archive what is due; ECR's refusals are deleted or kept as the config says.
  const toArchive = chosen('archive');
  const toDelete = chosen('delete');
  let result = base;
  // Images ECR would not archive, to be deleted instead: their write-ahead records (written for the archive) are
  // settled FAILED when the breaker stops the run before their delete, so nothing is left PENDING and the next run,
  // which keeps their notice, tries again.
  const refusedForDelete: DeletionCandidate[] = [];
  const settleStopped = (stopped: readonly DeletionCandidate[], open: { readonly scope: string }) =>
    recordBatch(
      ports.audit,
      stopped.map((c) =>
        signal(c, 'FAILED', {
          evidence: 'steward-failure',
          failure: {
            code: 'BreakerOpen',
            reason: `the breaker opened for ${open.scope} before it could be deleted instead`,
          },
        }),
      ),
    );
  if (toArchive.length > 0) {
    if (!ports.registry.archiveImages)
      throw new Error('soft delete needs a registry that can archive images');
    // A transition rule's archive stays archived (as ECR's own transition does): no purge is due for it.
    const purgeAt = request.archiveOnly
      ? undefined
      : new Date(now.getTime() + (governance?.softDelete.purgeAfterDays ?? 30) * DAY_MS).toISOString();
    const archived = await safeArchive(
      repository.name,
      toArchive.map((c) => ({
        digest: c.digest,
        sizeBytes: c.sizeBytes,
        purgeAt,
        known: knownOf(c.digest),
        signal: (status, extra) => signal(c, status, extra),
      })),
      { ...ports, registry: { archiveImages: ports.registry.archiveImages.bind(ports.registry) } },
      { breakerCheckedAt: breakerFresh ? now : undefined },
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
      if (!request.archiveOnly && governance?.softDelete.unarchivable === 'delete') {
        const instead = { ...c, reasons: [...c.reasons, `${why}; softDelete.unarchivable is delete`] };
        toDelete.push(instead);
        refusedForDelete.push(instead);
      } else {
        const note = request.archiveOnly
          ? `kept: ${why}; a transition rule only ever archives`
          : `kept: ${why}; softDelete.unarchivable is keep`;
        result.cancelled.push({ digest: c.digest, reason: note });
        await ports.audit.record(signal(c, 'CANCELLED', { evidence: 'steward-cancel', note }));
      }
    }
    if (archived.breaker) {
      // The breaker stopped the archives: nothing is deleted instead either; what was not attempted waits.
      await settleStopped(refusedForDelete, archived.breaker);
      return { ...result, notAttempted: result.notAttempted + toDelete.length };
    }
  }
  if (toDelete.length === 0) return result;
  // Governed and not archived: the write-ahead record keeps the manifest, so it proves what was there.
  const readsManifests =
    governance !== undefined && governance.softDelete.mode === 'off' && request.caller !== 'purge';
  if (readsManifests && ports.registry.manifests) breakerFresh = false;
  const keep = readsManifests
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
      known: knownOf(c.digest),
      signal: (status, extra) =>
        signal(c, status, { ...(status === 'PENDING' ? { manifest: manifestOf(c.digest) } : {}), ...extra }),
    })),
    ports,
    // The guard's breaker read covers the first batch unless anything was awaited in between (an archive too).
    { breakerCheckedAt: toArchive.length === 0 && breakerFresh ? now : undefined },
  );
  if (deleted.breaker && deleted.notAttempted > 0) {
    // The last `notAttempted` were never written ahead for the delete (batches go in order).
    const stopped = new Set(toDelete.slice(toDelete.length - deleted.notAttempted).map((c) => c.digest));
    await settleStopped(
      refusedForDelete.filter((c) => stopped.has(c.digest)),
      deleted.breaker,
    );
  }
  return {
    ...result,
    ...deleted,
    // The archive's failures stay beside the deletion's (of the images ECR would not archive).
    failures: [...result.failures, ...deleted.failures],
    alreadyGone: result.alreadyGone + deleted.alreadyGone,
    notAttempted: result.notAttempted + deleted.notAttempted,
    breaker: deleted.breaker ?? result.breaker,
  };
}
