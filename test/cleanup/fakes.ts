/**
 * In-memory ports for cleanupRepository. Every port call is appended to one shared journal, so a test can
 * assert the order of calls across ports (write-ahead record before the delete call, and so on).
 */

import type { CleanupPorts, CleanupRequest, RegistryPort } from '../../functions/cleanup/core.js';
import type { DeleteOutcome, RepositoryInfo } from '../../functions/shared/adapters/ecr.js';
import type { ImageReference } from '../../functions/shared/adapters/in-use.js';
import type { DeleteSignal } from '../../functions/shared/audit/records.js';
import { validateConfig } from '../../functions/shared/config/load.js';
import type { StewardConfig, StewardConfigInput } from '../../functions/shared/config/schema.js';
import type { Image } from '../../functions/shared/lifecycle/types.js';
import type { BreakerScope } from '../../functions/shared/state/breaker.js';
import { keepNewest, NOW } from '../fixtures/images.js';

export const ACCOUNT = '123456789012';
export const REGION = 'us-west-2';

export interface FakeRepository {
  readonly images: Image[];
  readonly tags?: Record<string, string>;
  /** index digest → child digests returned by indexChildren; indexes absent here are unreadable. */
  readonly children?: Map<string, string[]>;
  readonly policyText?: string;
}

/**
 * ECR in memory, behind the adapter's contract. deleteImages removes the images in the order given, except
 * that, as in ECR, a child of an image index still in the repository fails with ImageReferencedByManifestList
 * (retried once at the end of the call, as EcrRegistry does). `onDelete` replaces all of that.
 */
export class FakeRegistry implements RegistryPort {
  readonly repositories = new Map<string, FakeRepository>();
  /** Every deleteImages call's digests, in order. */
  readonly deleteCalls: string[][] = [];
  onDelete?: (digests: readonly string[]) => DeleteOutcome;

  constructor(private readonly journal: string[]) {}

  add(name: string, repository: FakeRepository): this {
    this.repositories.set(name, repository);
    return this;
  }

  private repo(name: string): FakeRepository {
    const repo = this.repositories.get(name);
    if (!repo) throw new Error(`fake registry: no repository ${name}`);
    return repo;
  }

  async describeRepository(name: string): Promise<RepositoryInfo | undefined> {
    this.journal.push(`registry:describeRepository:${name}`);
    if (!this.repositories.has(name)) return undefined;
    return { name, arn: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${name}`, registryId: ACCOUNT };
  }

  async repositoryTags(arn: string): Promise<Record<string, string>> {
    this.journal.push(`registry:repositoryTags:${arn}`);
    return this.repo(arn.split(':repository/')[1]!).tags ?? {};
  }

  async listImages(repository: string): Promise<Image[]> {
    this.journal.push(`registry:listImages:${repository}`);
    return [...this.repo(repository).images];
  }

  async indexChildren(repository: string, digests: readonly string[]) {
    this.journal.push(`registry:indexChildren:${digests.length}`);
    const known = this.repo(repository).children ?? new Map<string, string[]>();
    const children = new Map<string, string[]>();
    const unreadable: string[] = [];
    for (const d of digests) {
      const kids = known.get(d);
      if (kids) children.set(d, kids);
      else unreadable.push(d);
    }
    return { children, unreadable };
  }

  async lifecyclePolicyText(repository: string): Promise<string | undefined> {
    this.journal.push(`registry:lifecyclePolicyText:${repository}`);
    return this.repo(repository).policyText;
  }

  /** Every existingDigests call's digests, in order. */
  readonly existCalls: string[][] = [];

  async existingDigests(repository: string, digests: readonly string[]): Promise<ReadonlySet<string>> {
    this.journal.push(`registry:existingDigests:${digests.length}`);
    this.existCalls.push([...digests]);
    const present = new Set(this.repo(repository).images.map((i) => i.digest));
    return new Set(digests.filter((d) => present.has(d)));
  }

  async deleteImages(repository: string, digests: readonly string[]): Promise<DeleteOutcome> {
    this.journal.push(`registry:deleteImages:${digests.length}`);
    this.deleteCalls.push([...digests]);
    const outcome = this.onDelete?.(digests) ?? this.deleteInOrder(repository, digests);
    const repo = this.repo(repository);
    const gone = new Set(outcome.deleted);
    this.repositories.set(repository, { ...repo, images: repo.images.filter((i) => !gone.has(i.digest)) });
    return outcome;
  }

  private deleteInOrder(repository: string, digests: readonly string[]): DeleteOutcome {
    const repo = this.repo(repository);
    const present = new Set(repo.images.map((i) => i.digest));
    const referenced = (digest: string) =>
      [...(repo.children ?? new Map<string, string[]>())].some(
        ([index, kids]) => present.has(index) && kids.includes(digest),
      );
    const deleted: string[] = [];
    const attempt = (list: readonly string[]) => {
      const failed: string[] = [];
      for (const d of list) {
        if (referenced(d)) failed.push(d);
        else {
          present.delete(d);
          deleted.push(d);
        }
      }
      return failed;
    };
    const failed = attempt(attempt(digests));
    return {
      deleted,
      failures: failed.map((digest) => ({
        digest,
        code: 'ImageReferencedByManifestList',
        reason: 'Requested image is referenced by an image index',
      })),
    };
  }

  /** The manifests ECR would return: a small OCI manifest naming the digest. */
  async manifests(_repository: string, digests: readonly string[]) {
    this.journal.push(`registry:manifests:${digests.length}`);
    return new Map(
      digests.map(
        (d) =>
          [
            d,
            { mediaType: 'application/vnd.oci.image.manifest.v1+json', body: `{"digest":"${d}"}` },
          ] as const,
      ),
    );
  }

  /** Replaces the archive's answer (ECR's refusals); by default every image is archived. */
  onArchive?: (digests: readonly string[]) => DeleteOutcome;

  async archiveImages(repository: string, digests: readonly string[]): Promise<DeleteOutcome> {
    this.journal.push(`registry:archiveImages:${digests.length}`);
    const outcome = this.onArchive?.(digests) ?? { deleted: [...digests], failures: [] };
    const done = new Set(outcome.deleted);
    const repo = this.repositories.get(repository);
    if (repo)
      this.repositories.set(repository, {
        ...repo,
        images: repo.images.map((i) => (done.has(i.digest) ? { ...i, status: 'ARCHIVED' as const } : i)),
      });
    return outcome;
  }
}

/** The audit table in memory: every signal, in order. `failWhen` makes a write throw. */
export class FakeAudit {
  readonly signals: DeleteSignal[] = [];
  failWhen?: (signal: DeleteSignal) => boolean;
  constructor(private readonly journal: string[]) {}

  async record(signal: DeleteSignal): Promise<unknown> {
    this.journal.push(`audit:${signal.status}:${signal.digest}`);
    if (this.failWhen?.(signal)) throw new Error(`audit write failed for ${signal.digest}`);
    this.signals.push(signal);
    return undefined;
  }

  byStatus(status: DeleteSignal['status']): string[] {
    return this.signals.filter((s) => s.status === status).map((s) => s.digest);
  }
}

/** Breakers: `openFrom` opens the breaker from the n-th read (1-based) on. */
export class FakeBreaker {
  reads = 0;
  openFrom?: number;
  state: { scope: string; reason?: string } = { scope: 'registry', reason: '250 deletes in 10 minutes' };
  readonly scopesRead: (readonly BreakerScope[])[] = [];
  constructor(private readonly journal: string[]) {}

  async firstOpen(scopes: readonly BreakerScope[], _now: Date) {
    this.reads++;
    this.scopesRead.push(scopes);
    this.journal.push('breaker:firstOpen');
    return this.openFrom !== undefined && this.reads >= this.openFrom ? this.state : undefined;
  }
}

export interface Harness {
  readonly journal: string[];
  readonly registry: FakeRegistry;
  readonly audit: FakeAudit;
  readonly breaker: FakeBreaker;
  inUseRefs: ImageReference[];
  inUseError?: Error;
  checkpoint?: CleanupPorts['checkpoint'];
  ports(): CleanupPorts;
}

export function harness(): Harness {
  const journal: string[] = [];
  const h: Harness = {
    journal,
    registry: new FakeRegistry(journal),
    audit: new FakeAudit(journal),
    breaker: new FakeBreaker(journal),
    inUseRefs: [],
    ports() {
      return {
        registry: h.registry,
        audit: h.audit,
        breaker: h.breaker,
        inUse: async () => {
          journal.push('inUse');
          if (h.inUseError) throw h.inUseError;
          return h.inUseRefs;
        },
        checkpoint: async (step, repository) => {
          journal.push(`checkpoint:${step}`);
          await h.checkpoint?.(step, repository);
        },
      };
    },
  };
  return h;
}

/** A validated config managing `team/*` with "keep the newest `keep`" and no extra protections. */
export function config(overrides: Partial<StewardConfigInput> = {}, keep = 1): StewardConfig {
  return validateConfig({
    mode: 'enforce',
    selections: [{ name: 'team', repositories: ['team/*'], lifecyclePolicy: keepNewest(keep), steward: {} }],
    ...overrides,
  });
}

export function request(overrides: Partial<CleanupRequest> = {}): CleanupRequest {
  return {
    repository: 'team/app',
    region: REGION,
    runId: 'run-test-1',
    now: NOW,
    trigger: 'push',
    budget: { remaining: 1000 },
    ...overrides,
  };
}
