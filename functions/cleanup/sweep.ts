import { chunks, type RepositoryInfo } from '../shared/adapters/ecr.js';
import { needsRepositoryTags, selectionFor } from '../shared/config/load.js';
import type { StewardConfig } from '../shared/config/schema.js';
import { dedupId, messageGroupId } from './queue-ids.js';

export interface SweepPorts {
  listRepositories(): Promise<RepositoryInfo[]>;
  /** Tags of every tagged repository (one paginated Resource Groups Tagging API read, not one call per repository). */
  repositoryTags(): Promise<Map<string, Record<string, string>>>;
  /** Sends up to 10 messages in one call; returns the ids that failed. */
  sendBatch(
    entries: readonly { id: string; body: string; groupId: string; deduplicationId: string }[],
  ): Promise<string[]>;
}

export interface SweepReport {
  readonly runId: string;
  readonly repositories: number;
  readonly managed: number;
  readonly enqueued: number;
  readonly sendCalls: number;
}

/**
 * Fans a sweep out: one queue message per managed repository, sent 10 at a time with a few batches in
 * flight, so 10,000 repositories take seconds. The queue's message groups then spread the work over many
 * short worker invocations.
 */
export async function sweep(
  config: StewardConfig,
  runId: string,
  now: Date,
  ports: SweepPorts,
): Promise<SweepReport> {
  const repositories = await ports.listRepositories();
  const needsTags = needsRepositoryTags(config);
  const tags = needsTags ? await ports.repositoryTags() : new Map<string, Record<string, string>>();
  const managed = repositories.filter(
    (r) => selectionFor(config, r.name, tags.get(r.arn) ?? {}) !== undefined,
  );
  const batches = chunks(managed, 10);
  let sendCalls = 0;
  let cursor = 0;
  const worker = async () => {
    while (cursor < batches.length) {
      const batch = batches[cursor++]!;
      let entries = batch.map((r, i) => ({
        id: String(i),
        body: JSON.stringify({ kind: 'sweep', repository: r.name, runId, at: now.toISOString() }),
        groupId: messageGroupId(r.name),
        deduplicationId: dedupId(`sweep#${runId}#${r.name}`),
      }));
      for (let attempt = 0; entries.length > 0; attempt++) {
        if (attempt >= 5)
          throw new Error(
            `sweep ${runId}: ${entries.length} messages could not be enqueued after 5 attempts`,
          );
        sendCalls++;
        const failed = new Set(await ports.sendBatch(entries));
        entries = entries.filter((e) => failed.has(e.id));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, batches.length) }, worker));
  return {
    runId,
    repositories: repositories.length,
    managed: managed.length,
    enqueued: managed.length,
    sendCalls,
  };
}

/** The cleanup queue's FIFO ids, shared with the intake (functions/cleanup/queue-ids.ts). */
export { dedupId, messageGroupId };
