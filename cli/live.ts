import { type CleanupReport, cleanupRepository, type RegistryPort } from '../functions/cleanup/core.js';
import { cleanupPorts } from '../functions/cleanup/run.js';
import type { CallCounter, RepositoryInfo } from '../functions/shared/adapters/ecr.js';
import type { ImageReference } from '../functions/shared/adapters/in-use.js';
import { needsRepositoryTags, selectionFor } from '../functions/shared/config/load.js';
import { selectionsIn } from '../functions/shared/config/organization.js';
import type { StewardConfig } from '../functions/shared/config/schema.js';
import { mapLimit } from '../functions/shared/runtime/concurrency.js';
import { ENV } from '../functions/shared/runtime/constants.js';
import { StewardPorts } from '../functions/shared/runtime/ports.js';
import {
  auditTableName,
  dynamo,
  type LiveOptions,
  region,
  registryId,
  stateTableName,
  tableName,
} from './aws.js';

/**
 * How long the run's in-use snapshot, taken before the previews, is reused by the runs they preview. Confirmed
 * later than this, the sources are read again.
 */
export const PREVIEW_REUSE_MS = 5 * 60_000;

export interface LiveSessionOptions extends LiveOptions {
  readonly holdsTable?: string | undefined;
  /** @default PREVIEW_REUSE_MS */
  readonly reuseMs?: number | undefined;
  /** The clock (tests move it past the reuse window). @default Date.now */
  readonly clock?: (() => number) | undefined;
}

/** Registry reads of one repository, by method and arguments. */
interface PreviewReads {
  readonly memo: Map<string, Promise<unknown>>;
}

/**
 * What a run takes over from its preview: reads that cannot go stale in a way that matters. A repository's
 * description (name, ARN, registry) and an index's children (a manifest's content is its digest). Never the
 * listing, the lifecycle policy or the repository's tags: the run plans on those as they are when it runs.
 */
const UNCHANGING = ['describeRepository#', 'indexChildren#'];

/** A registry port that answers the plan's reads from `reads`, filling it on a miss; every other call goes through. */
function remembering(registry: RegistryPort, reads: PreviewReads): RegistryPort {
  const memo =
    <A extends unknown[], R>(name: string, read: (...args: A) => Promise<R>) =>
    (...args: A): Promise<R> => {
      const key = `${name}#${JSON.stringify(args)}`;
      const known = reads.memo.get(key) as Promise<R> | undefined;
      if (known) return known;
      const fresh = read(...args);
      reads.memo.set(key, fresh);
      fresh.catch(() => reads.memo.delete(key));
      return fresh;
    };
  return {
    describeRepository: memo('describeRepository', (n: string) => registry.describeRepository(n)),
    repositoryTags: memo('repositoryTags', (a: string) => registry.repositoryTags(a)),
    lifecyclePolicyText: memo('lifecyclePolicyText', (r: string) => registry.lifecyclePolicyText(r)),
    listImages: memo('listImages', (r: string) => registry.listImages(r)),
    indexChildren: memo('indexChildren', (r: string, d: readonly string[]) => registry.indexChildren(r, d)),
    deleteImages: (r, d) => registry.deleteImages(r, d),
    existingDigests: (r, d) => registry.existingDigests(r, d),
    archiveImages: (r, d) => registry.archiveImages(r, d),
    manifests: registry.manifests ? (r, d) => registry.manifests!(r, d) : undefined,
    replicas: registry.replicas ? (r, d) => registry.replicas!(r, d) : undefined,
  };
}

/**
 * One CLI run over one or more repositories, in one process: one set of clients and stores, and one in-use
 * snapshot for the whole run, taken before the previews and shared by every preview and run (not one per
 * repository, nor one for the preview and another for the run); read again only once older than
 * `PREVIEW_REUSE_MS`. An unreadable source refuses the deletes of every repository of the run.
 *
 * Each repository's run lists it again and plans on what it lists (as the worker does), taking over from the
 * preview only what cannot go stale (UNCHANGING). Reusing the preview's listing was weighed and left: a plan is
 * made on the whole repository (a count rule keeps the newest N of what is there), so an image deleted or
 * re-tagged since the preview changes what other images the plan may delete; checking that exactly takes a listing
 * again, and a listing (1,000 images a call) is cheaper than any check by digest (100 a call).
 *
 * What reusing the in-use snapshot trades: with `--yes`, previews and runs follow each other at once and share
 * the snapshot (read again past the window, so a long run over many repositories never works on one older than
 * that), as a worker's snapshot ages over its own run. When a person confirms at a prompt, the sources are read
 * again right after the answer (`refreshInUse`): a workload started while the prompt was open is seen.
 *
 * Same core, adapters, engine and wiring as the worker (cleanupPorts): a read-only preview records nothing; an
 * enforcing run writes the same audit records, reconciles the repository as the worker does (settling PENDING
 * records a crash left, recording digests that vanished) and respects the same breaker.
 */
export class LiveSession {
  readonly ports: StewardPorts;
  private readonly reads = new Map<string, PreviewReads>();
  private snapshot: { at: number; refs: Promise<readonly ImageReference[]> } | undefined;
  private readonly clock: () => number;
  private readonly reuseMs: number;

  private constructor(
    readonly config: StewardConfig,
    readonly accountId: string,
    readonly region: string,
    opts: LiveSessionOptions,
  ) {
    this.clock = opts.clock ?? Date.now;
    this.reuseMs = opts.reuseMs ?? PREVIEW_REUSE_MS;
    this.ports = new StewardPorts(config, {
      // Table names are asked for only when a store is used: a read-only preview needs none.
      tables: {
        get audit() {
          return auditTableName(opts);
        },
        get state() {
          return stateTableName(opts);
        },
        // An enforcing run reads the holds placed from the CLI like the worker; without the table it refuses to
        // run rather than delete what a hold would keep. A preview never asks.
        get holds() {
          return tableName(opts.holdsTable, ENV.holdsTable, '--holds-table');
        },
        get noticesTopic() {
          return process.env[ENV.noticesTopic];
        },
        // Approvals: a run from a laptop honours requests and opens them like the worker (the stack outputs both).
        get requests() {
          return process.env[ENV.requestsTable];
        },
        get approvalsTopic() {
          return process.env[ENV.approvalsTopic];
        },
      },
      clients: { doc: dynamo() },
    });
  }

  /** Settles the account (and with it the region keys use) first, as every live path does. */
  static async open(config: StewardConfig, opts: LiveSessionOptions = {}): Promise<LiveSession> {
    const accountId = await registryId(opts);
    const here = region();
    // An organization's config as the spoke of this account and region runs it: a selection limited elsewhere
    // by `accounts`/`regions` (the backup copies of another account's repositories) manages nothing here.
    return new LiveSession(selectionsIn(config, { account: accountId, region: here }), accountId, here, opts);
  }

  get calls(): CallCounter {
    return this.ports.calls;
  }

  /**
   * The run's in-use snapshot: read once, shared by every repository and by preview and run; read again only
   * once it is older than the window. An unreadable source stays a rejection (InUseUnavailableError) that every
   * repository of the run sees: none deletes anything.
   */
  private inUse(): Promise<readonly ImageReference[]> {
    const now = this.clock();
    if (!this.snapshot || now - this.snapshot.at > this.reuseMs) {
      // StewardPorts memoizes the read per instance; a snapshot past the window is read past that memo.
      const refs = (
        this.snapshot ? new StewardPorts(this.config, { tables: {}, calls: this.ports.calls }) : this.ports
      ).inUse(this.accountId, this.region);
      refs.catch(() => undefined);
      this.snapshot = { at: now, refs };
    }
    return this.snapshot.refs;
  }

  /** Takes the in-use snapshot now (before the previews), so its age counts from before any plan. */
  snapshotInUse(): void {
    void this.inUse();
  }

  /**
   * Reads the in-use sources again now, whatever the snapshot's age: after a person confirmed the previews.
   * A prompt may stay open for any time under the window, and a workload started meanwhile on an image the
   * plan expires must be seen before anything is deleted; one read for the whole run, not one per repository.
   */
  refreshInUse(): void {
    const refs = new StewardPorts(this.config, { tables: {}, calls: this.ports.calls }).inUse(
      this.accountId,
      this.region,
    );
    refs.catch(() => undefined);
    this.snapshot = { at: this.clock(), refs };
  }

  /**
   * The repositories the config manages, by name (and by repository tags when a selection asks for them), in
   * name order: the `run --all` set. Their descriptions and tags are kept for their previews.
   */
  async managedRepositories(concurrency: number): Promise<string[]> {
    const listed = await this.ports.registry.listRepositories();
    const byTags = needsRepositoryTags(this.config);
    const chosen = await mapLimit(listed, concurrency, async (repository: RepositoryInfo) => {
      const tags = byTags ? await this.ports.registry.repositoryTags(repository.arn) : undefined;
      if (!selectionFor(this.config, repository.name, tags)) return undefined;
      const reads = this.readsOf(repository.name);
      reads.memo.set(`describeRepository#${JSON.stringify([repository.name])}`, Promise.resolve(repository));
      if (tags) reads.memo.set(`repositoryTags#${JSON.stringify([repository.arn])}`, Promise.resolve(tags));
      return repository.name;
    });
    return chosen.filter((n): n is string => n !== undefined).sort((a, b) => a.localeCompare(b));
  }

  private readsOf(repository: string): PreviewReads {
    const known = this.reads.get(repository);
    if (known) return known;
    const reads = { memo: new Map<string, Promise<unknown>>() };
    this.reads.set(repository, reads);
    return reads;
  }

  /** The cleanup of one repository in this session. `budget` is shared by the repositories of one phase. */
  async cleanup(
    repository: string,
    opts: {
      readonly mode: 'dry-run' | 'enforce';
      readonly readOnly: boolean;
      readonly budget: { remaining: number };
      readonly onDeleteBatch?: ((n: number) => void) | undefined;
    },
  ): Promise<{ report: CleanupReport }> {
    const previewed = this.readsOf(repository);
    // A preview starts from what `managedRepositories` kept; a run from what cannot have gone stale since.
    const reads = opts.readOnly
      ? previewed
      : {
          memo: new Map([...previewed.memo].filter(([key]) => UNCHANGING.some((u) => key.startsWith(u)))),
        };
    const now = new Date();
    const runId = `cli-${now.toISOString().replace(/[-:.]/g, '').slice(0, 15)}`;
    const wired = cleanupPorts(this.ports, {
      accountId: this.accountId,
      region: this.region,
      runId,
      now,
      readOnly: opts.readOnly,
      onDeleteBatch: opts.onDeleteBatch,
    });
    const report = await cleanupRepository(
      this.config,
      {
        repository,
        region: this.region,
        runId,
        now,
        trigger: 'cli',
        budget: opts.budget,
        mode: opts.mode,
      },
      {
        ...wired,
        registry: remembering(wired.registry, reads),
        inUse: () => this.inUse(),
      },
    );
    return { report };
  }
}

/**
 * The cleanup of one repository from the CLI, in a session of its own (`ecr-steward plan --repository`): the
 * same core, adapters, engine and wiring as the worker.
 */
export async function liveCleanup(
  config: StewardConfig,
  repository: string,
  opts: LiveSessionOptions & {
    mode: 'dry-run' | 'enforce';
    readOnly: boolean;
    onDeleteBatch?: (n: number) => void;
  },
): Promise<{ report: CleanupReport; calls: CallCounter }> {
  const session = await LiveSession.open(config, opts);
  const { report } = await session.cleanup(repository, {
    mode: opts.mode,
    readOnly: opts.readOnly,
    budget: { remaining: config.bounds.maxDeletesPerRun },
    onDeleteBatch: opts.onDeleteBatch,
  });
  return { report, calls: session.calls };
}
