/**
 * Backup of key images in other regions and accounts (config `backup`, carried out by ECR's registry
 * replication): which repositories ECR copies, and how a plan says that an image it would expire or archive
 * has a copy elsewhere. Pure: the replica statuses are read by the ECR adapter (`EcrRegistry.replicas`).
 *
 * ECR's replication rules filter repositories by name prefix (`PREFIX_MATCH`), so a backup glob covers the
 * repositories whose name starts with its literal part (what comes before the first `*`) — exactly what the
 * replication rule built from it copies, no more and no less.
 */
import { literalPrefix } from '../config/organization.js';
import type { Plan } from '../lifecycle/types.js';

/** One destination that holds a complete copy of an image (DescribeImageReplicationStatus COMPLETE). */
export interface Replica {
  readonly region: string;
  readonly registryId: string;
}

/** The backup section's repositories (name globs). */
export interface BackupScope {
  readonly repositories: readonly string[];
}

/** Whether ECR replication (built from `backup`) copies the images pushed to `repository`. */
export function backupCovers(backup: BackupScope | undefined, repository: string): boolean {
  return (backup?.repositories ?? []).some((glob) => repository.startsWith(literalPrefix(glob)));
}

/** "replicated to us-east-1", naming the account when the copy is in another registry than `ownAccount`. */
export function replicaNote(replicas: readonly Replica[], ownAccount: string): string {
  const where = [...replicas]
    .map((r) => (r.registryId === ownAccount ? r.region : `${r.region} (${r.registryId})`))
    .sort();
  return `replicated to ${where.join(', ')}`;
}

/**
 * The plan with "replicated to …" added to the reasons of every image it expires or archives that has a
 * complete replica: the reader sees which deletions leave a copy in another region (a delete is never
 * replicated, so the copy stays). Kept images are not annotated: nothing happens to them.
 */
export function withReplicas(
  plan: Plan,
  replicas: ReadonlyMap<string, readonly Replica[]>,
  ownAccount: string,
): Plan {
  if (replicas.size === 0) return plan;
  return {
    ...plan,
    decisions: plan.decisions.map((d) => {
      const found = replicas.get(d.imageDigest);
      if (d.action === 'keep' || !found || found.length === 0) return d;
      return { ...d, reasons: [...d.reasons, replicaNote(found, ownAccount)] };
    }),
  };
}
