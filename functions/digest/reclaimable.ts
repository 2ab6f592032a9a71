/**
 * What the lifecycle plan would reclaim in one repository now: the cleanup core run as a dry run over read-only
 * ports, so the figure is the one the worker acts on (ECR's rules, the Steward protections, holds, running
 * images), not an estimate. No SDK here: the caller gives the ports (functions/digest/run.ts).
 */
import { type CleanupPorts, cleanupRepository } from '../cleanup/core.js';
import type { StewardConfig } from '../shared/config/schema.js';

/** The plan's expiring images of a repository and their bytes, or why no plan could be made. */
export type ReclaimResult =
  | { readonly bytes: number; readonly images: number }
  | { readonly unplanned: string };

/**
 * Plans `repository` as a dry run and sums the images the plan expires (an image the plan archives is not
 * reclaimed: it moves to the archive class). `ports` must be read-only (cleanupPorts with `readOnly`): a dry
 * run would otherwise write PLANNED records.
 */
export async function reclaimableIn(
  config: StewardConfig,
  repository: string,
  context: { readonly region: string; readonly runId: string; readonly now: Date },
  ports: CleanupPorts,
): Promise<ReclaimResult> {
  const report = await cleanupRepository(
    config,
    {
      repository,
      region: context.region,
      runId: context.runId,
      now: context.now,
      trigger: 'sweep',
      // The plan's decisions do not depend on the bounds; a budget per repository keeps one from starving another.
      budget: { remaining: config.bounds.maxDeletesPerRun },
      mode: 'dry-run',
    },
    ports,
  );
  if (!report.plan) return { unplanned: `${report.outcome}: ${report.message ?? 'no plan'}` };
  const expiring = report.plan.decisions.filter((d) => d.action === 'expire');
  return { bytes: expiring.reduce((sum, d) => sum + d.sizeBytes, 0), images: expiring.length };
}
