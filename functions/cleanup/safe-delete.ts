/**
 * The one destructive path of ECR Steward, shared by the cleanup and the scan gate: for each batch of at
 * most 100 images, read the breaker, write the PENDING audit records, call BatchDeleteImage, then mark each
 * record DELETED or FAILED. A crash at any point leaves records that reconciliation settles.
 */
import { chunks, type DeleteOutcome } from '../shared/adapters/ecr.js';
import type { DeleteSignal } from '../shared/audit/records.js';
import { mapLimit } from '../shared/runtime/concurrency.js';
import { type BreakerScope, registryScope, repositoryScope } from '../shared/state/breaker.js';

export interface SafeDeletePorts {
  readonly registry: { deleteImages(repository: string, digests: readonly string[]): Promise<DeleteOutcome> };
  readonly audit: { record(signal: DeleteSignal): Promise<unknown> };
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

/** One image to delete, with what its audit record must say. */
export interface DeleteItem {
  readonly digest: string;
  readonly sizeBytes: number;
  /** Builds the audit signal for a status; the caller knows the actor, rule and reasons. */
  readonly signal: (status: 'PENDING' | 'DELETED' | 'FAILED', extra?: Partial<DeleteSignal>) => DeleteSignal;
}

export interface SafeDeleteResult {
  readonly deleted: number;
  readonly bytesReclaimed: number;
  readonly failures: readonly { digest: string; code: string; reason: string }[];
  /** Set when the breaker stopped the deletes; `notAttempted` images were left alone. */
  readonly breaker?: { readonly scope: string; readonly reason?: string | undefined } | undefined;
  readonly notAttempted: number;
}

export async function safeDelete(
  repository: string,
  items: readonly DeleteItem[],
  ports: SafeDeletePorts,
): Promise<SafeDeleteResult> {
  const scopes: BreakerScope[] = [registryScope, repositoryScope(repository)];
  const failures: { digest: string; code: string; reason: string }[] = [];
  let deletedCount = 0;
  let bytesReclaimed = 0;
  let attempted = 0;
  for (const batch of chunks(items, 100)) {
    // The breaker is read before every batch: an alert raised mid-run stops the rest of it.
    const open = await ports.breaker.firstOpen(scopes, new Date());
    if (open) {
      return {
        deleted: deletedCount,
        bytesReclaimed,
        failures,
        breaker: open,
        notAttempted: items.length - attempted,
      };
    }
    // Write-ahead: every record is durable before the delete call is made.
    await mapLimit(batch, 16, (item) =>
      ports.audit.record(item.signal('PENDING', { evidence: 'steward-write-ahead' })),
    );
    attempted += batch.length;
    await ports.checkpoint?.('after-write-ahead', repository);
    const outcome = await ports.registry.deleteImages(
      repository,
      batch.map((i) => i.digest),
    );
    await ports.checkpoint?.('after-delete', repository);
    const deleted = new Set(outcome.deleted);
    await mapLimit(batch, 16, async (item) => {
      if (deleted.has(item.digest)) {
        deletedCount++;
        bytesReclaimed += item.sizeBytes;
        return ports.audit.record(item.signal('DELETED', { evidence: 'steward-delete' }));
      }
      const f = outcome.failures.find((x) => x.digest === item.digest) ?? {
        digest: item.digest,
        code: 'NotReported',
        reason: 'ECR reported neither a deletion nor a failure',
      };
      failures.push(f);
      return ports.audit.record(
        item.signal('FAILED', { evidence: 'steward-failure', failure: { code: f.code, reason: f.reason } }),
      );
    });
  }
  return { deleted: deletedCount, bytesReclaimed, failures, notAttempted: 0 };
}
