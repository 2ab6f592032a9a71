/**
 * The one destructive call path of ECR Steward: for each batch of at most 100 images, read the breaker, write
 * the PENDING audit records, call BatchDeleteImage, then settle each record. A crash at any point leaves
 * records that reconciliation settles. Only `runDeletion` (./run.ts) calls it, after the guard.
 *
 * With an audit store that writes in batches (`recordAll`: one TransactWriteItems of conditional puts per 100
 * records), a batch of 100 images costs one breaker read, one write-ahead call, one delete call and one settle
 * call: the write-ahead transaction is all or nothing, so the delete call is made only once every record of
 * the batch is durable, and the settle merges on the records the write-ahead wrote (re-reading only those a
 * confirmation changed in between).
 */
import { chunks, type DeleteOutcome } from '../adapters/ecr.js';
import type { AuditRecord, DeleteSignal, Evidence } from '../audit/records.js';
import { mapLimit } from '../runtime/concurrency.js';
import { type BreakerScope, registryScope, repositoryScope } from '../state/breaker.js';

export interface SafeDeletePorts {
  readonly registry: {
    deleteImages(repository: string, digests: readonly string[]): Promise<DeleteOutcome>;
    /** Which of these digests still exist (DescribeImages by digest). */
    existingDigests(repository: string, digests: readonly string[]): Promise<ReadonlySet<string>>;
  };
  readonly audit: AuditWriter;
  readonly breaker: {
    firstOpen(
      scopes: readonly BreakerScope[],
      now: Date,
    ): Promise<{ scope: string; reason?: string | undefined } | undefined>;
  };
  readonly checkpoint?:
    | ((step: 'after-write-ahead' | 'after-delete', repository: string) => void | Promise<void>)
    | undefined;
}

/** The audit store as the destructive path writes it. */
export interface AuditWriter {
  record(signal: DeleteSignal): Promise<unknown>;
  /**
   * Records many signals at once, all or nothing per call (AuditStore.recordAll); `known[i]` is what the caller
   * knows of signal i's record. @default one `record` per signal, 16 at a time
   */
  recordAll?(
    signals: readonly DeleteSignal[],
    known?: readonly (AuditRecord | undefined)[],
  ): Promise<readonly { readonly record: AuditRecord | undefined }[]>;
}

/**
 * Records a batch of signals: in one batched write when the store has it, else one write per signal. Returns
 * the records written (undefined where unknown), for a later batch's `known`.
 */
export async function recordBatch(
  audit: AuditWriter,
  signals: readonly DeleteSignal[],
  known?: readonly (AuditRecord | undefined)[],
): Promise<readonly (AuditRecord | undefined)[]> {
  if (signals.length === 0) return [];
  if (audit.recordAll) return (await audit.recordAll(signals, known)).map((r) => r.record);
  const results = await mapLimit(signals, 16, (signal) => audit.record(signal));
  // AuditStore.record answers with the record it wrote (or found); a writer that says nothing leaves it unknown.
  return results.map((r) =>
    typeof r === 'object' && r !== null && 'record' in r ? (r as { record?: AuditRecord }).record : undefined,
  );
}

/**
 * The failure of an image whose write-ahead found its audit record already DELETED: ECR Steward deleted this
 * digest before and it was pushed again. The record (one per digest and repository, a deletion final) cannot
 * show a second deletion, and nothing is deleted that its audit record does not announce first: it is kept,
 * and reported, every run, until a person deletes it (their deletion is audited from ECR's event).
 */
export const ALREADY_RECORDED_DELETED = 'AuditRecordSettled';

/** Splits a written batch: the items whose record is ready for the destructive call, and those it must skip. */
function settledBefore<T extends DeleteItem>(
  batch: readonly T[],
  written: readonly (AuditRecord | undefined)[],
): {
  ready: T[];
  readyWritten: (AuditRecord | undefined)[];
  refused: { digest: string; code: string; reason: string }[];
} {
  const ready: T[] = [];
  const readyWritten: (AuditRecord | undefined)[] = [];
  const refused: { digest: string; code: string; reason: string }[] = [];
  batch.forEach((item, i) => {
    const record = written[i];
    if (record?.status === 'DELETED') {
      refused.push({
        digest: item.digest,
        code: ALREADY_RECORDED_DELETED,
        reason: `its audit record already says DELETED (${record.at}, run ${record.actor.runId ?? 'unknown'}): the digest was pushed again after that deletion, and a second one could not be recorded apart from it, so it is kept — delete it by hand if it must go`,
      });
      return;
    }
    ready.push(item);
    readyWritten.push(record);
  });
  return { ready, readyWritten, refused };
}

/** One image to delete, with what its audit record must say. */
export interface DeleteItem {
  readonly digest: string;
  readonly sizeBytes: number;
  /**
   * The image's audit record as the caller last read or wrote it (an open notice): the write-ahead merges on
   * it instead of assuming none, so a noticed image costs no refused transaction. A stale one is only refused
   * (its version moved) and merged again on the record the refusal returns.
   */
  readonly known?: AuditRecord | undefined;
  /** Builds the audit signal for a status; the caller knows the actor, rule and reasons. */
  readonly signal: (
    status: 'PENDING' | 'ARCHIVED' | 'DELETED' | 'FAILED',
    extra?: Partial<DeleteSignal>,
  ) => DeleteSignal;
}

export interface SafeDeleteResult {
  readonly deleted: number;
  readonly bytesReclaimed: number;
  /** Images ECR answered `ImageNotFound` for: gone already (the goal is reached), not deleted by us. */
  readonly alreadyGone: number;
  readonly failures: readonly { digest: string; code: string; reason: string }[];
  /** Set when the breaker stopped the deletes; `notAttempted` images were left alone. */
  readonly breaker?: { readonly scope: string; readonly reason?: string | undefined } | undefined;
  readonly notAttempted: number;
}

/** The breakers that cover a repository: the whole registry's and the repository's own. */
export const breakerScopesFor = (repository: string): BreakerScope[] => [
  registryScope,
  repositoryScope(repository),
];

export async function safeDelete(
  repository: string,
  items: readonly DeleteItem[],
  ports: SafeDeletePorts,
  options: { readonly breakerCheckedAt?: Date | undefined } = {},
): Promise<SafeDeleteResult> {
  const scopes = breakerScopesFor(repository);
  const failures: { digest: string; code: string; reason: string }[] = [];
  let deletedCount = 0;
  let alreadyGone = 0;
  let bytesReclaimed = 0;
  let attempted = 0;
  for (const [i, whole] of chunks(items, 100).entries()) {
    // The breaker is read before every batch (the first one's read may have been made by the caller just
    // before): an alert raised mid-run stops the rest of it.
    const open =
      i === 0 && options.breakerCheckedAt ? undefined : await ports.breaker.firstOpen(scopes, new Date());
    if (open) {
      return {
        deleted: deletedCount,
        bytesReclaimed,
        alreadyGone,
        failures,
        breaker: open,
        notAttempted: items.length - attempted,
      };
    }
    // Write-ahead: every record is durable before the delete call is made.
    const allWritten = await recordBatch(
      ports.audit,
      whole.map((item) => item.signal('PENDING', { evidence: 'steward-write-ahead' })),
      whole.map((item) => item.known),
    );
    attempted += whole.length;
    // Only images whose record now announces this deletion are deleted.
    const { ready: batch, readyWritten: written, refused } = settledBefore(whole, allWritten);
    failures.push(...refused);
    await ports.checkpoint?.('after-write-ahead', repository);
    if (batch.length === 0) continue;
    const outcome = await ports.registry.deleteImages(
      repository,
      batch.map((i) => i.digest),
    );
    await ports.checkpoint?.('after-delete', repository);
    const deleted = new Set(outcome.deleted);
    // ImageNotFound is the goal reached by someone else, whichever way the adapter reports it.
    const gone = new Set([
      ...(outcome.alreadyGone ?? []),
      ...outcome.failures.filter((f) => f.code === 'ImageNotFound').map((f) => f.digest),
    ]);
    const failed = new Map(outcome.failures.filter((f) => !gone.has(f.digest)).map((f) => [f.digest, f]));
    // ECR answered neither way for these: look at once instead of leaving them FAILED until a later run.
    const unreported = batch.filter(
      (i) => !deleted.has(i.digest) && !gone.has(i.digest) && !failed.has(i.digest),
    );
    const stillThere =
      unreported.length > 0
        ? await ports.registry.existingDigests(
            repository,
            unreported.map((i) => i.digest),
          )
        : new Set<string>();
    const unattributed = (outcome.unattributed ?? [])
      .map((f) => `${f.tag ? `tag ${f.tag}: ` : ''}${f.code} ${f.reason}`.trim())
      .join('; ');
    const settlement = batch.map((item) => {
      const settle = (status: 'DELETED' | 'FAILED', evidence: Evidence, extra: Partial<DeleteSignal> = {}) =>
        item.signal(status, { evidence, ...extra });
      if (deleted.has(item.digest)) {
        deletedCount++;
        bytesReclaimed += item.sizeBytes;
        return settle('DELETED', 'steward-delete');
      }
      if (gone.has(item.digest)) {
        alreadyGone++;
        return settle('DELETED', 'steward-already-gone');
      }
      const f = failed.get(item.digest);
      if (f) {
        failures.push(f);
        return settle('FAILED', 'steward-failure', { failure: { code: f.code, reason: f.reason } });
      }
      if (!stillThere.has(item.digest)) {
        // Our write-ahead, our call, and the image is gone: our delete (ECR's reply just did not say so).
        deletedCount++;
        bytesReclaimed += item.sizeBytes;
        return settle('DELETED', 'steward-verify');
      }
      const reported = {
        digest: item.digest,
        code: 'NotReported',
        reason: unattributed
          ? `ECR reported no result for this digest and it still exists; failures without a digest: ${unattributed}`
          : 'ECR reported neither a deletion nor a failure, and the image still exists',
      };
      failures.push(reported);
      return settle('FAILED', 'steward-failure', {
        failure: { code: reported.code, reason: reported.reason },
      });
    });
    await recordBatch(ports.audit, settlement, written);
  }
  return { deleted: deletedCount, bytesReclaimed, alreadyGone, failures, notAttempted: 0 };
}

export interface SafeArchivePorts extends Omit<SafeDeletePorts, 'registry'> {
  readonly registry: {
    /** UpdateImageStorageClass to ARCHIVE, one image a call; `deleted` lists the archived digests. */
    archiveImages(repository: string, digests: readonly string[]): Promise<DeleteOutcome>;
  };
}

/** ECR's answer for an image it will not archive (one an unarchived image index still lists). */
export const ARCHIVE_REFUSED = 'ImageStorageClassUpdateNotSupportedException';

export interface SafeArchiveResult {
  readonly archived: number;
  readonly failures: readonly { digest: string; code: string; reason: string }[];
  readonly bytesArchived: number;
  readonly alreadyGone: number;
  /** Images ECR would not archive, with its code and reason: the caller deletes or keeps them, as configured. */
  readonly refused: readonly { digest: string; code: string; reason: string }[];
  readonly breaker?: { readonly scope: string; readonly reason?: string | undefined } | undefined;
  readonly notAttempted: number;
}

/**
 * Soft delete through the same discipline as a delete: breaker before every batch, a write-ahead PENDING record
 * (intent `archive`) before UpdateImageStorageClass, then ARCHIVED with the purge time. A crash between the
 * call and the settle leaves a PENDING archive that reconciliation settles by what ECR shows.
 */
export async function safeArchive(
  repository: string,
  /** `purgeAt`: when the archive is purged, or undefined for one that stays (a lifecycle transition). */
  items: readonly (DeleteItem & { readonly purgeAt: string | undefined })[],
  ports: SafeArchivePorts,
  options: { readonly breakerCheckedAt?: Date | undefined } = {},
): Promise<SafeArchiveResult> {
  const scopes = breakerScopesFor(repository);
  const refused: { digest: string; code: string; reason: string }[] = [];
  const failures: { digest: string; code: string; reason: string }[] = [];
  let archived = 0;
  let bytesArchived = 0;
  let alreadyGone = 0;
  let attempted = 0;
  for (const [i, whole] of chunks(items, 100).entries()) {
    const open =
      i === 0 && options.breakerCheckedAt ? undefined : await ports.breaker.firstOpen(scopes, new Date());
    if (open)
      return {
        archived,
        bytesArchived,
        alreadyGone,
        refused,
        failures,
        breaker: open,
        notAttempted: items.length - attempted,
      };
    const allWritten = await recordBatch(
      ports.audit,
      // An archive without a purge time is a lifecycle transition's: reconciliation must never give it one.
      whole.map((item) =>
        item.signal('PENDING', {
          evidence: 'steward-write-ahead',
          intent: item.purgeAt === undefined ? 'transition' : 'archive',
        }),
      ),
      whole.map((item) => item.known),
    );
    attempted += whole.length;
    // Only images whose record now announces this archive are archived.
    const {
      ready: batch,
      readyWritten: written,
      refused: recordedDeleted,
    } = settledBefore(whole, allWritten);
    failures.push(...recordedDeleted);
    await ports.checkpoint?.('after-write-ahead', repository);
    if (batch.length === 0) continue;
    const outcome = await ports.registry.archiveImages(
      repository,
      batch.map((i) => i.digest),
    );
    await ports.checkpoint?.('after-delete', repository);
    const done = new Set(outcome.deleted);
    const failed = new Map(outcome.failures.map((f) => [f.digest, f]));
    const settlement = batch.map((item): DeleteSignal | undefined => {
      if (done.has(item.digest)) {
        archived++;
        bytesArchived += item.sizeBytes;
        const at = new Date().toISOString();
        return item.signal('ARCHIVED', {
          evidence: 'steward-archive',
          archivedAt: at,
          purgeAt: item.purgeAt,
        });
      }
      const f = failed.get(item.digest) ?? {
        digest: item.digest,
        code: 'NotReported',
        reason: 'ECR reported neither an archive nor a failure',
      };
      if (f.code === 'ImageNotFoundException' || f.code === 'ImageNotFound') {
        alreadyGone++;
        return item.signal('DELETED', { evidence: 'steward-already-gone' });
      }
      if (f.code === ARCHIVE_REFUSED) {
        // ECR will not archive this image: the caller deletes it instead, or keeps it, as the config says.
        refused.push(f);
        return undefined;
      }
      // Any other failure (access denied, a validation error…) is no refusal: FAILED, and the next run retries.
      failures.push(f);
      return item.signal('FAILED', {
        evidence: 'steward-failure',
        failure: { code: f.code, reason: f.reason },
      });
    });
    const settled = settlement.flatMap((signal, i) => (signal ? [{ signal, known: written[i] }] : []));
    await recordBatch(
      ports.audit,
      settled.map((s) => s.signal),
      settled.map((s) => s.known),
    );
  }
  return { archived, bytesArchived, alreadyGone, refused, failures, notAttempted: 0 };
}
