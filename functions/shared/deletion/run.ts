/**
 * The one way any caller deletes images: guard ─► (dry-run: PLANNED records) / (enforce: breaker ─►
 * write-ahead PENDING ─► BatchDeleteImage ─► DELETED / FAILED). Callers say what they want removed and why;
 * they never branch on the mode, read holds or check what is in use themselves.
 */
import type { DeleteSignal } from '../audit/records.js';
import type { Selection } from '../config/schema.js';
import type { InUse } from '../lifecycle/types.js';
import { mapLimit } from '../runtime/concurrency.js';
import {
  type DeletionCaller,
  type GuardCandidate,
  type GuardDecision,
  type GuardProtections,
  guard,
  type KeepCode,
} from './guard.js';
import { breakerScopesFor, type SafeDeletePorts, safeDelete } from './safe-delete.js';

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
}

/** The protections of a selection that the guard applies to every caller. */
export function guardProtections(selection: Selection | undefined): GuardProtections | undefined {
  if (!selection) return undefined;
  const s = selection.steward;
  return { holds: s?.holds, protectedTags: s?.protectedTags, minAgeDays: s?.minAgeDays };
}

export async function runDeletion(request: DeletionRequest, ports: SafeDeletePorts): Promise<DeletionResult> {
  const { repository, runId, now } = request;
  // Only an enforcing run reads the breaker: a dry run deletes nothing, and its plan shows what enforce would do.
  const breaker =
    request.mode === 'enforce' && request.candidates.length > 0 && request.selection
      ? await ports.breaker.firstOpen(breakerScopesFor(repository.name), now)
      : undefined;
  const decisions = guard(request.candidates, {
    caller: request.caller,
    mode: request.mode,
    managed: guardProtections(request.selection),
    inUse: request.inUse,
    breaker,
    allowance: request.allowance,
    now: now.getTime(),
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
  const chosen = (action: 'delete' | 'plan') =>
    decisions.filter((d) => d.action === action).map((d) => byDigest.get(d.digest)!);
  const base = {
    decisions,
    kept,
    planned: 0,
    deleted: 0,
    alreadyGone: 0,
    bytesReclaimed: 0,
    failures: [],
    notAttempted: 0,
    breaker,
  };

  if (request.mode === 'dry-run') {
    const planned = chosen('plan');
    await mapLimit(planned, 16, (c) => ports.audit.record(signal(c, 'PLANNED')));
    return { ...base, planned: planned.length };
  }
  const toDelete = chosen('delete');
  if (toDelete.length === 0) return base;
  const result = await safeDelete(
    repository.name,
    toDelete.map((c) => ({
      digest: c.digest,
      sizeBytes: c.sizeBytes,
      signal: (status, extra) => signal(c, status, extra),
    })),
    ports,
    { breakerCheckedAt: now },
  );
  return { ...base, ...result, breaker: result.breaker ?? breaker };
}
