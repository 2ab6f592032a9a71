/**
 * Review 27a: shared fixtures. The audit table in memory with DynamoDB's merge semantics (as in
 * test/deletion/governance.test.ts), and a governed repository of five images over the cleanup fakes.
 */
import { type CleanupPorts, cleanupRepository, type NoticeRequest } from '../../functions/cleanup/core.js';
import {
  type AuditRecord,
  type DeleteSignal,
  keysOf,
  mergeSignal,
} from '../../functions/shared/audit/records.js';
import type { StewardConfigInput } from '../../functions/shared/config/schema.js';
import { ARCHIVE_REFUSED } from '../../functions/shared/deletion/safe-delete.js';
import { config, harness, request } from '../cleanup/fakes.js';
import { digestOf, image } from '../fixtures/images.js';

export const HOUR = 3_600_000;
export const REPO = 'team/app';

export class MemoryAudit {
  readonly items = new Map<string, AuditRecord>();
  readonly signals: DeleteSignal[] = [];
  constructor(private readonly journal?: string[]) {}
  async record(signal: DeleteSignal) {
    this.journal?.push(`audit:${signal.status}:${signal.digest}`);
    this.signals.push(signal);
    const { pk, sk } = keysOf(signal, { dryRun: signal.status === 'PLANNED', runId: signal.actor?.runId });
    const existing = this.items.get(`${pk}|${sk}`);
    const next = mergeSignal(existing, signal, signal.at);
    if (next) this.items.set(`${pk}|${sk}`, next);
    return { record: next ?? existing, newlyDeleted: false };
  }
  async open(ref: { registryId: string; region: string; repository: string }) {
    return [...this.items.values()].filter((r) => r.repository === ref.repository && r.gsi5pk !== undefined);
  }
  state(digest: string): AuditRecord | undefined {
    return [...this.items.values()].find((r) => r.digest === digest && !r.dryRun);
  }
}

/**
 * Makes ECR refuse to archive the first image of the run's first archive call (an image an unarchived index still
 * lists) and archive the rest; returns the refused digest once known.
 */
export function refuseFirstArchive(g: ReturnType<typeof governed>): () => string | undefined {
  let refused: string | undefined;
  g.h.registry.onArchive = (digests) => {
    refused ??= digests[0];
    return {
      deleted: digests.filter((d) => d !== refused),
      failures: digests.includes(refused!)
        ? [{ digest: refused!, code: ARCHIVE_REFUSED, reason: 'child of an index' }]
        : [],
    };
  };
  return () => refused;
}

/**
 * Gives a MemoryAudit the worker's `deletedOf` (which of these digests' records already say DELETED), noting
 * the digests each call asks about; without it a run learns of them only from the write-ahead's refusal.
 */
export function answerDeletedOf(audit: MemoryAudit): string[][] {
  const asked: string[][] = [];
  Object.assign(audit, {
    async deletedOf(_ref: unknown, digests: readonly string[]) {
      asked.push([...digests]);
      const deleted = new Map(
        digests.flatMap((d) => {
          const r = audit.state(d);
          return r?.status === 'DELETED' ? [[d, r.at] as const] : [];
        }),
      );
      return { deleted, read: true };
    },
  });
  return asked;
}

/** `count` images a day apart (img-0 newest); the policy keeps the newest two. */
export function governed(
  governance: StewardConfigInput['governance'],
  count = 5,
  extra: Partial<StewardConfigInput> = {},
) {
  const h = harness();
  h.registry.add(REPO, {
    images: Array.from({ length: count }, (_, i) => image(`img-${i}`, { age: i + 2, tags: [`v${i}`] })),
  });
  const audit = new MemoryAudit(h.journal);
  const notices: NoticeRequest[] = [];
  const hooks: { onNotify?: () => void } = {};
  const ports = (): CleanupPorts => ({
    ...h.ports(),
    audit,
    holds: async () => [],
    notify: async (n) => {
      h.journal.push('notify');
      notices.push(n);
      hooks.onNotify?.();
    },
  });
  const cfg = config({ governance, ...extra }, 2);
  const run = (now: Date, runId = `run-${now.getTime()}`, budget = { remaining: 1000 }) =>
    cleanupRepository(cfg, request({ now, runId, budget }), ports());
  return { h, audit, notices, run, hooks, cfg, ports };
}

export const expiringOf = (count: number) =>
  Array.from({ length: count - 2 }, (_, i) => digestOf(`img-${i + 2}`));
