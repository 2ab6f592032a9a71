/**
 * ECR in memory for the cleanup's RegistryPort: deleteImages removes the images it is asked to delete and
 * records every call, so a test can prove what was (not) deleted.
 */

import type { CleanupPorts, RegistryPort } from '../../functions/cleanup/core.js';
import type { DeleteOutcome, RepositoryInfo } from '../../functions/shared/adapters/ecr.js';
import type { Image } from '../../functions/shared/lifecycle/types.js';
import { ACCOUNT, digestOf, REGION } from './helpers.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DAY_MS = 86_400_000;

/** `count` single-manifest images named `<prefix>-<k>`, the k-th pushed k+1 days before `now`. */
export function images(prefix: string, count: number, now: Date): Image[] {
  return Array.from({ length: count }, (_, k) => ({
    digest: digestOf(`${prefix}-${k}`),
    tags: [`${prefix}-${k}`],
    pushedAt: now.getTime() - (k + 1) * DAY_MS,
    sizeBytes: 1_000 + k,
    status: 'ACTIVE' as const,
    manifestMediaType: OCI_MANIFEST,
  }));
}

export class MemoryRegistry implements RegistryPort {
  readonly repositories = new Map<string, Image[]>();
  /** The digests of every deleteImages call, in order. */
  readonly deleteCalls: string[][] = [];
  /** Runs after each deleteImages call (a test's hook, e.g. ECR's events reaching the audit). */
  afterDelete?: (repository: string, deleted: readonly string[]) => void;

  add(name: string, list: Image[]): this {
    this.repositories.set(name, [...list]);
    return this;
  }

  images(name: string): Image[] {
    return [...(this.repositories.get(name) ?? [])];
  }

  async describeRepository(name: string): Promise<RepositoryInfo | undefined> {
    if (!this.repositories.has(name)) return undefined;
    return { name, arn: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${name}`, registryId: ACCOUNT };
  }

  async repositoryTags(): Promise<Record<string, string>> {
    return {};
  }

  async listImages(repository: string): Promise<Image[]> {
    return this.images(repository);
  }

  async indexChildren() {
    return { children: new Map<string, string[]>(), unreadable: [] };
  }

  async lifecyclePolicyText(): Promise<string | undefined> {
    return undefined;
  }

  async existingDigests(repository: string, digests: readonly string[]): Promise<ReadonlySet<string>> {
    const present = new Set((this.repositories.get(repository) ?? []).map((i) => i.digest));
    return new Set(digests.filter((d) => present.has(d)));
  }

  async deleteImages(repository: string, digests: readonly string[]): Promise<DeleteOutcome> {
    this.deleteCalls.push([...digests]);
    const gone = new Set(digests);
    const before = this.images(repository);
    this.repositories.set(
      repository,
      before.filter((i) => !gone.has(i.digest)),
    );
    const deleted = before.filter((i) => gone.has(i.digest)).map((i) => i.digest);
    this.afterDelete?.(repository, deleted);
    // As EcrRegistry reports it: ImageNotFound means already gone, not a failure.
    return {
      deleted,
      failures: [],
      alreadyGone: digests.filter((d) => !deleted.includes(d)),
      unattributed: [],
    };
  }

  async archiveImages(): Promise<DeleteOutcome> {
    return { deleted: [], failures: [] };
  }
}

/** Cleanup ports around a registry: nothing in use, the given audit, breaker and reconciliation. */
export function cleanupPorts(
  registry: MemoryRegistry,
  rest: Pick<CleanupPorts, 'audit' | 'breaker'> & Partial<Pick<CleanupPorts, 'reconcile' | 'checkpoint'>>,
): CleanupPorts {
  return { registry, inUse: async () => [], ...rest };
}
