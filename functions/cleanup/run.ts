/**
 * The one wiring of a repository's cleanup over real adapters, shared by the worker and the CLI's `run`: the
 * same registry, audit store, breaker, in-use reader and reconciliation, so a run from a laptop settles the
 * same PENDING records and records the same vanished digests as the function would.
 */
import type { ReconcileReport } from '../shared/audit/reconcile.js';
import { reconcileRepository } from '../shared/audit/reconcile.js';
import { type AuditRecord, type DeleteSignal, repoKey } from '../shared/audit/records.js';
import { noticeMessage, selectionLabel } from '../shared/governance/notice.js';
import { toHold } from '../shared/holds/store.js';
import type { StewardPorts } from '../shared/runtime/ports.js';
import { repositoryImageCountItem } from '../shared/state/counters.js';
import type { CleanupPorts, RegistryPort } from './core.js';

/**
 * The repositories (message groups) one worker invocation cleans at the same time: all of a FIFO batch's (at
 * most 10 messages). A repository's cleanup mostly waits on ECR and DynamoDB, so ten at once take about the
 * time of one; the in-use read is shared (read once per invocation), and the run's budget is taken through
 * allowances, so together they never delete more than one repository after another would.
 */
export const WORKER_CONCURRENCY = 10;

/**
 * The images the repositories one worker invocation cleans at once may hold between their listing and the end
 * of their cleanup (`CleanupPorts.admit`): a plan of 100,000 images peaks at about 150 MB of heap, so ten
 * large repositories at once would not fit the worker's memory, while ten small ones run together. A larger
 * repository runs alone.
 */
export const MAX_IMAGES_AT_ONCE = 100_000;

export interface CleanupWiring {
  /** The account whose in-use references count (the registry's). */
  readonly accountId: string;
  readonly region: string;
  readonly runId: string;
  readonly now: Date;
  /**
   * A preview: plan only. Nothing is written (no PLANNED records, no reconciliation, no snapshot), nothing
   * deleted; the breaker is not read.
   */
  readonly readOnly?: boolean | undefined;
  /** Told after each reconciliation that found something (the worker logs it). */
  readonly onReconciled?: ((repository: string, result: ReconcileReport) => void) | undefined;
  /** Told after each delete call, with the number of digests it carried (the CLI's progress bar). */
  readonly onDeleteBatch?: ((count: number) => void) | undefined;
  /** Admits the repository, by its images, among those cleaned at once (see MAX_IMAGES_AT_ONCE). */
  readonly admit?: ((images: number) => Promise<() => void>) | undefined;
}

/** The cleanup core's ports over the factory's adapters and stores. */
export function cleanupPorts(ports: StewardPorts, wiring: CleanupWiring): CleanupPorts {
  const registry: RegistryPort = wiring.onDeleteBatch
    ? {
        describeRepository: (n) => ports.registry.describeRepository(n),
        repositoryTags: (a) => ports.registry.repositoryTags(a),
        listImages: (r) => ports.registry.listImages(r),
        indexChildren: (r, d) => ports.registry.indexChildren(r, d),
        lifecyclePolicyText: (r) => ports.registry.lifecyclePolicyText(r),
        existingDigests: (r, d) => ports.registry.existingDigests(r, d),
        manifests: (r, d) => ports.registry.manifests(r, d),
        archiveImages: (r, d) => ports.registry.archiveImages(r, d),
        replicas: (r, d) => ports.registry.replicas(r, d),
        deleteImages: async (r, d) => {
          const out = await ports.registry.deleteImages(r, d);
          wiring.onDeleteBatch?.(d.length);
          return out;
        },
      }
    : ports.registry;
  const inUse = () => ports.inUse(wiring.accountId, wiring.region);
  if (wiring.readOnly) {
    return {
      registry,
      // A preview writes nothing: PLANNED records are the function's, not a person's preview.
      audit: { record: async (_s: DeleteSignal) => undefined },
      breaker: { firstOpen: async () => undefined },
      inUse,
      admit: wiring.admit,
    };
  }
  const { audit, snapshots, counters } = ports;
  /** Each repository's open records, from its reconciliation's read, until the run asks for them. */
  const reconciledOpen = new Map<string, readonly AuditRecord[]>();
  /** Each repository's records page as its reconciliation read it: which of its digests were deleted before. */
  const reconciledPages = new Map<
    string,
    { readonly records: readonly AuditRecord[]; readonly complete: boolean }
  >();
  const holds = ports.holds;
  return {
    registry,
    audit: {
      record: (signal) => audit.record(signal),
      // Each repository writes its own transactions: sharing them with the repositories cleaned at once was
      // tried and dropped (under throttling a refused shared transaction sent every caller back to write alone,
      // and the e2e approvals run at 20% throttling no longer settled in time).
      recordAll: (signals, known) => audit.recordAll(signals, known),
      // The open records the reconciliation just read and brought up to date, else one read of the index.
      open: async (ref) => {
        const known = reconciledOpen.get(repoKey(ref));
        reconciledOpen.delete(repoKey(ref));
        return known ?? (await audit.open(ref));
      },
      get: (ref) => audit.get(ref),
      // From the repository's records as its reconciliation just read them, when that page held them all (no
      // call); else one consistent read of these digests' records.
      deletedOf: async (ref, digests) => {
        const page = reconciledPages.get(repoKey(ref));
        const asked = new Set(digests);
        const records = page?.complete
          ? page.records.filter((r) => !r.dryRun && asked.has(r.digest))
          : [...(await audit.getAll(digests.map((digest) => ({ ...ref, digest })))).values()];
        const deleted = new Map(
          records.filter((r) => r.status === 'DELETED').map((r) => [r.digest, r.at] as const),
        );
        return { deleted, read: !page?.complete };
      },
    },
    breaker: ports.breaker,
    inUse,
    admit: wiring.admit,
    holds: holds ? async (ref) => (await holds.forRepository(ref)).map(toHold) : undefined,
    approvals: ports.approvals,
    notify: (notice) =>
      ports.publishNotice(
        noticeMessage({
          registryId: notice.registryId,
          region: notice.region,
          repository: notice.repository,
          selection: selectionLabel(notice.selection, ports.config.selections.indexOf(notice.selection)),
          dueAt: notice.dueAt,
          runId: notice.runId,
          images: notice.images,
          softDelete: notice.softDelete,
          purgeAfterDays: notice.purgeAfterDays,
          ...(notice.thresholdWarning ? { thresholdWarning: notice.thresholdWarning } : {}),
        }),
      ),
    reconcile: async (repo, images, { purgeAfterDays }) => {
      const ref = { registryId: repo.registryId, region: wiring.region, repository: repo.name };
      reconciledOpen.delete(repoKey(ref));
      reconciledPages.delete(repoKey(ref));
      // The repository's image count (the audit function's share-of-images thresholds) is written with the
      // snapshot, in one call, when both live in the same table (they do: the state table).
      const count = repositoryImageCountItem(repo.name, images.length, wiring.now);
      const together = counters.tableName === snapshots.tableName;
      const result = await reconcileRepository(
        ref,
        images,
        wiring.now,
        wiring.runId,
        {
          snapshots: {
            load: (r) => snapshots.load(r),
            save: (r, snapshot) => snapshots.save(r, snapshot, together ? { alongside: [count] } : {}),
          },
          audit: {
            get: (r) => audit.get(r),
            record: (signal) => audit.record(signal),
            pending: (r) => audit.pending(r),
            repositoryPage: async (r) => {
              const page = await audit.repositoryPage(r);
              reconciledPages.set(repoKey(ref), page);
              return page;
            },
          },
          // Its read of the repository's records gives the open records too (as they are after its writes).
          opened: (records) => reconciledOpen.set(repoKey(ref), records),
        },
        purgeAfterDays,
      );
      if (!together) await counters.setRepositoryImageCount(repo.name, images.length, wiring.now);
      if (result.recordedUnknown + result.settledDeleted + result.settledFailed + result.settledArchived > 0)
        wiring.onReconciled?.(repo.name, result);
      return result;
    },
  };
}
