/**
 * Deletion governance through the real cleanup core: a notice period before every delete (SCHEDULED, one per
 * image, never later), holds placed from the CLI, soft delete to the archive class and the purge. The audit
 * table is in memory but merges with the real rules (mergeSignal), so states move as they do in DynamoDB.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CleanupPorts, cleanupRepository, type NoticeRequest } from '../../functions/cleanup/core.js';
import {
  type AuditRecord,
  type DeleteSignal,
  keysOf,
  mergeSignal,
} from '../../functions/shared/audit/records.js';
import type { StewardConfigInput } from '../../functions/shared/config/schema.js';
import type { Hold } from '../../functions/shared/lifecycle/types.js';
import { config, harness, request } from '../cleanup/fakes.js';
import { DAY_MS, digestOf, image, NOW } from '../fixtures/images.js';

const HOUR = 3_600_000;
const REPO = 'team/app';

/** The audit table in memory, with DynamoDB's merge semantics (read, merge, put). */
class MemoryAudit {
  readonly items = new Map<string, AuditRecord>();
  readonly signals: DeleteSignal[] = [];
  async record(signal: DeleteSignal) {
    this.signals.push(signal);
    const { pk, sk } = keysOf(signal, { dryRun: signal.status === 'PLANNED', runId: signal.actor?.runId });
    const existing = this.items.get(`${pk}|${sk}`);
    const next = mergeSignal(existing, signal, signal.at);
    if (next) this.items.set(`${pk}|${sk}`, next);
    return { record: next ?? existing, newlyDeleted: false };
  }
  async open(ref: { registryId: string; region: string; repository: string }) {
    // What the sparse openByRepository index holds: the records that carry its key.
    return [...this.items.values()].filter((r) => r.repository === ref.repository && r.gsi5pk !== undefined);
  }
  state(digest: string): AuditRecord | undefined {
    return [...this.items.values()].find((r) => r.digest === digest && !r.dryRun);
  }
}

/** Five images a day apart (img-0 newest); keep the newest two, so img-2, img-3 and img-4 expire. */
function setup(governance: StewardConfigInput['governance'], holds: Hold[] = []) {
  const h = harness();
  h.registry.add(REPO, {
    images: [0, 1, 2, 3, 4].map((i) => image(`img-${i}`, { age: i + 2, tags: [`v${i}`] })),
  });
  const audit = new MemoryAudit();
  const notices: NoticeRequest[] = [];
  const tableHolds = { list: holds };
  const ports = (): CleanupPorts => ({
    ...h.ports(),
    audit,
    holds: async () => tableHolds.list,
    notify: async (n) => {
      notices.push(n);
    },
  });
  const cfg = config({ governance }, 2);
  const run = (now: Date, runId = `run-${now.getTime()}`) =>
    cleanupRepository(cfg, request({ now, runId }), ports());
  return { h, audit, notices, run, tableHolds };
}

const expiring = ['img-2', 'img-3', 'img-4'].map(digestOf);

describe('deletion governance', () => {
  it('gives one notice per image and deletes nothing until it is due', async () => {
    // Prepare
    const g = setup({ notice: { hours: 24 } });

    // Act
    const first = await g.run(NOW);
    const again = await g.run(new Date(NOW.getTime() + HOUR));

    // Assess
    expect(first).toMatchObject({ outcome: 'done', scheduled: 3, expired: 0 });
    expect(again).toMatchObject({ outcome: 'done', scheduled: 0, expired: 0 });
    expect(g.h.registry.deleteCalls).toEqual([]);
    expect(g.notices).toHaveLength(1);
    expect(g.notices[0]).toMatchObject({
      repository: REPO,
      dueAt: new Date(NOW.getTime() + 24 * HOUR).toISOString(),
      softDelete: 'off',
    });
    expect(g.notices[0]?.images.map((i) => i.digest).sort()).toEqual([...expiring].sort());
    for (const d of expiring)
      expect(g.audit.state(d)).toMatchObject({
        status: 'SCHEDULED',
        dueAt: new Date(NOW.getTime() + 24 * HOUR).toISOString(),
        gsi4pk: 'DUE',
      });
  });

  it('deletes the noticed images once due, through the write-ahead path', async () => {
    // Prepare
    const g = setup({ notice: { hours: 24 } });
    await g.run(NOW);

    // Act
    const due = await g.run(new Date(NOW.getTime() + 24 * HOUR));

    // Assess
    expect(due).toMatchObject({ outcome: 'done', expired: 3, scheduled: 0 });
    expect(g.h.registry.deleteCalls.flat().sort()).toEqual([...expiring].sort());
    for (const d of expiring) expect(g.audit.state(d)?.status).toBe('DELETED');
    expect(g.notices).toHaveLength(1);
  });

  it('keeps an image a hold placed after the notice covers, and ends its notice CANCELLED with the reason', async () => {
    // Prepare
    const g = setup({ notice: { hours: 24 } });
    await g.run(NOW);
    g.tableHolds.list = [
      { tag: 'v3', reason: 'rollback target', owner: 'arn:aws:iam::123456789012:user/ana' },
    ];

    // Act
    const due = await g.run(new Date(NOW.getTime() + 25 * HOUR));

    // Assess
    expect(g.h.registry.deleteCalls.flat().sort()).toEqual([digestOf('img-2'), digestOf('img-4')].sort());
    expect(g.audit.state(digestOf('img-3'))).toMatchObject({
      status: 'CANCELLED',
      note: 'held: rollback target (by arn:aws:iam::123456789012:user/ana)',
    });
    expect(due.cancelled).toBe(1);
  });

  it('ends the notice of an image that is no longer planned (the policy keeps it now) and does not delete it', async () => {
    // Prepare: during the window the newest image goes, so "keep the newest 2" now keeps img-2.
    const g = setup({ notice: { hours: 24 } });
    await g.run(NOW);
    const repo = g.h.registry.repositories.get(REPO)!;
    g.h.registry.add(REPO, {
      ...repo,
      images: repo.images.filter((i) => i.digest !== digestOf('img-0')),
    });

    // Act
    await g.run(new Date(NOW.getTime() + 25 * HOUR));

    // Assess
    expect(g.h.registry.deleteCalls.flat().sort()).toEqual([digestOf('img-3'), digestOf('img-4')].sort());
    expect(g.audit.state(digestOf('img-2'))).toMatchObject({
      status: 'CANCELLED',
      note: 'no longer planned (re-tagged, pulled, or the policy changed)',
    });
  });

  it('archives instead of deleting with soft delete, then purges after the restore window', async () => {
    // Prepare
    const g = setup({ notice: { hours: 24 }, softDelete: { mode: 'archive', purgeAfterDays: 30 } });
    await g.run(NOW);

    // Act
    const archive = await g.run(new Date(NOW.getTime() + 24 * HOUR));
    const early = await g.run(new Date(NOW.getTime() + 24 * HOUR + 29 * DAY_MS));
    const purge = await g.run(new Date(NOW.getTime() + 24 * HOUR + 30 * DAY_MS));

    // Assess
    expect(archive).toMatchObject({ archived: 3, expired: 0 });
    expect(early).toMatchObject({ archived: 0, purged: 0 });
    expect(purge).toMatchObject({ purged: 3 });
    expect(g.h.registry.deleteCalls.flat().sort()).toEqual([...expiring].sort());
    for (const d of expiring) expect(g.audit.state(d)?.status).toBe('DELETED');
    const states = g.audit.signals.filter((s) => s.digest === expiring[0]).map((s) => s.status);
    expect(states).toEqual(['SCHEDULED', 'PENDING', 'ARCHIVED', 'PENDING', 'DELETED']);
  });

  it('retries a failed due deletion on the next run without a second notice or a later due time', async () => {
    // Prepare
    const g = setup({ notice: { hours: 24 } });
    await g.run(NOW);
    g.h.registry.onDelete = (digests) => ({
      deleted: [],
      failures: digests.map((digest) => ({ digest, code: 'KmsError', reason: 'key disabled' })),
    });
    await g.run(new Date(NOW.getTime() + 24 * HOUR));
    g.h.registry.onDelete = undefined;

    // Act
    const retry = await g.run(new Date(NOW.getTime() + 25 * HOUR));

    // Assess
    expect(retry).toMatchObject({ scheduled: 0, expired: 3 });
    expect(g.notices).toHaveLength(1);
    expect(g.audit.signals.filter((s) => s.status === 'SCHEDULED')).toHaveLength(3);
    for (const d of expiring) expect(g.audit.state(d)?.status).toBe('DELETED');
  });

  it('records no notice it could not send, and sends it on the next attempt (never lost)', async () => {
    // Prepare
    const g = setup({ notice: { hours: 24 } });
    const h = g.h;
    const failing = cleanupRepository(
      config({ governance: { notice: { hours: 24 } } }, 2),
      request({ now: NOW }),
      {
        ...h.ports(),
        audit: g.audit,
        notify: async () => {
          throw new Error('SNS is down');
        },
      },
    );

    // Act
    await expect(failing).rejects.toThrow('SNS is down');
    const retry = await g.run(new Date(NOW.getTime() + 60_000));

    // Assess
    expect(retry.scheduled).toBe(3);
    expect(g.notices).toHaveLength(1);
    expect(g.audit.signals.filter((s) => s.status === 'SCHEDULED')).toHaveLength(3);
  });

  it('treats an archive failure that is no refusal (access denied) as FAILED, never as a reason to delete', async () => {
    // Prepare
    const g = setup({ softDelete: { mode: 'archive', unarchivable: 'delete' } });
    g.h.registry.onArchive = (digests) => ({
      deleted: [],
      failures: digests.map((digest) => ({
        digest,
        code: 'AccessDeniedException',
        reason: 'not authorized',
      })),
    });

    // Act
    const report = await g.run(NOW);

    // Assess
    expect(g.h.registry.deleteCalls).toEqual([]);
    expect(report.failures.map((f) => f.code)).toEqual([
      'AccessDeniedException',
      'AccessDeniedException',
      'AccessDeniedException',
    ]);
    for (const d of expiring) expect(g.audit.state(d)?.status).toBe('FAILED');
  });

  it('ends with a hold the notice of an image whose due deletion failed, and a later plan gives a new notice', async () => {
    // Prepare
    const g = setup({ notice: { hours: 24 } });
    await g.run(NOW);
    g.h.registry.onDelete = (digests) => ({
      deleted: [],
      failures: digests.map((digest) => ({ digest, code: 'KmsError', reason: 'key disabled' })),
    });
    await g.run(new Date(NOW.getTime() + 24 * HOUR));
    g.h.registry.onDelete = undefined;
    g.tableHolds.list = [{ tag: 'v3', reason: 'audit', owner: 'ana' }];

    // Act
    await g.run(new Date(NOW.getTime() + 25 * HOUR));
    g.tableHolds.list = [];
    const later = await g.run(new Date(NOW.getTime() + 60 * DAY_MS));

    // Assess: the held image's failed deletion ended CANCELLED; freed, it is noticed again, not deleted at once.
    expect(g.audit.state(digestOf('img-2'))?.status).toBe('DELETED');
    expect(g.audit.state(digestOf('img-4'))?.status).toBe('DELETED');
    expect(g.audit.signals.filter((x) => x.digest === digestOf('img-3')).map((x) => x.status)).toEqual([
      'SCHEDULED',
      'PENDING',
      'FAILED',
      'CANCELLED',
      'SCHEDULED',
    ]);
    expect(later.scheduled).toBe(1);
    expect(g.audit.state(digestOf('img-3'))).toMatchObject({
      status: 'SCHEDULED',
      dueAt: new Date(NOW.getTime() + 60 * DAY_MS + 24 * HOUR).toISOString(),
    });
  });

  it('records RESTORED for an archived image found active again (restored outside ECR Steward), and purges nothing of it', async () => {
    // Prepare
    const g = setup({ softDelete: { mode: 'archive', purgeAfterDays: 90 } });
    await g.run(NOW);
    const repo = g.h.registry.repositories.get(REPO)!;
    g.h.registry.add(REPO, {
      ...repo,
      images: repo.images.map((i) =>
        i.digest === digestOf('img-2') ? { ...i, status: 'ACTIVE' as const } : i,
      ),
    });

    // Act
    await g.run(new Date(NOW.getTime() + 91 * DAY_MS));

    // Assess
    expect(g.audit.signals.filter((s) => s.digest === digestOf('img-2')).map((s) => s.status)).toContain(
      'RESTORED',
    );
    expect(g.h.registry.deleteCalls.flat()).not.toContain(digestOf('img-2'));
  });

  it('keeps a scan-gate notice out of the due-deletion index (the gate acts on it), and a lifecycle notice in', async () => {
    // Prepare
    const audit = new MemoryAudit();
    const base = {
      registryId: '123456789012',
      region: 'us-west-2',
      repository: REPO,
      evidence: 'steward-notice' as const,
    };

    // Act
    await audit.record({
      ...base,
      digest: digestOf('gate'),
      status: 'SCHEDULED',
      at: NOW.toISOString(),
      dueAt: NOW.toISOString(),
      actor: { type: 'ecr-steward', rulePriority: null, runId: 'gate-1' },
    });
    await audit.record({
      ...base,
      digest: digestOf('rule'),
      status: 'SCHEDULED',
      at: NOW.toISOString(),
      dueAt: NOW.toISOString(),
      actor: { type: 'ecr-steward', rulePriority: 1, runId: 'run-1' },
    });

    // Assess
    expect(audit.state(digestOf('gate'))).toMatchObject({ gsi5pk: expect.any(String) });
    expect(audit.state(digestOf('gate'))?.gsi4pk).toBeUndefined();
    expect(audit.state(digestOf('rule'))).toMatchObject({ gsi4pk: 'DUE', gsi5pk: expect.any(String) });
  });

  it('keeps the manifest in the write-ahead record of a governed delete that cannot be undone (soft delete off)', async () => {
    // Prepare
    const g = setup({ notice: { hours: 1 } });
    await g.run(NOW);

    // Act
    await g.run(new Date(NOW.getTime() + HOUR));

    // Assess
    const pending = g.audit.signals.filter((s) => s.status === 'PENDING');
    expect(pending.map((s) => [s.digest, s.manifest]).sort()).toEqual(
      expiring
        .map((d) => [
          d,
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            bytes: `{"digest":"${d}"}`.length,
            body: `{"digest":"${d}"}`,
          },
        ])
        .sort(),
    );
    for (const d of expiring)
      expect(g.audit.state(d)).toMatchObject({ status: 'DELETED', manifest: { body: `{"digest":"${d}"}` } });
  });

  it('keeps an image ECR refuses to archive when unarchivable is keep, and deletes it when delete', async () => {
    for (const unarchivable of ['keep', 'delete'] as const) {
      // Prepare
      const g = setup({ softDelete: { mode: 'archive', unarchivable } });
      g.h.registry.onArchive = (digests) => ({
        deleted: digests.filter((d) => d !== digestOf('img-2')),
        failures: [
          {
            digest: digestOf('img-2'),
            code: 'ImageStorageClassUpdateNotSupportedException',
            reason: 'child of an index',
          },
        ],
      });

      // Act
      await g.run(NOW);

      // Assess
      expect(g.h.registry.deleteCalls.flat()).toEqual(unarchivable === 'delete' ? [digestOf('img-2')] : []);
      expect(g.audit.state(digestOf('img-2'))?.status).toBe(
        unarchivable === 'delete' ? 'DELETED' : 'CANCELLED',
      );
    }
  });

  it('says in the notice when the deletions, falling due together, would cross a delete-rate threshold', async () => {
    // Prepare
    const h = harness();
    h.registry.add(REPO, {
      images: [0, 1, 2, 3, 4].map((i) => image(`img-${i}`, { age: i + 2, tags: [`v${i}`] })),
    });
    const notices: NoticeRequest[] = [];
    const cfg = config(
      {
        governance: { notice: { hours: 24 } },
        alerts: { thresholds: [{ scope: 'repository', window: '5m', maxDeletes: 2 }] },
      },
      2,
    );

    // Act
    await cleanupRepository(cfg, request({ now: NOW }), {
      ...h.ports(),
      audit: new MemoryAudit(),
      notify: async (n) => {
        notices.push(n);
      },
    });

    // Assess
    expect(notices[0]?.thresholdWarning).toBe(
      'these 3 deletions fall due together and cross the repository threshold of 2 deletions in 5m: the breaker will open and stop the rest until it is reset — lower bounds.maxDeletesPerRepository to spread them over several runs, or raise the threshold',
    );
  });

  it('deletes nothing before its notice is due, for any order of runs and clocks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 72 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 48 }),
        async (hours, notice) => {
          const g = setup({ notice: { hours: notice } });
          // Runs at random times (out of order, repeated): pushes, sweeps and the due processor alike.
          for (const h of hours) await g.run(new Date(NOW.getTime() + h * HOUR));
          for (const signal of g.audit.signals.filter((s) => s.status === 'PENDING')) {
            const scheduled = g.audit.signals.find(
              (s) => s.digest === signal.digest && s.status === 'SCHEDULED',
            );
            expect(scheduled, 'every delete had a notice').toBeDefined();
            // The write-ahead record's run is at a clock at or after the first notice's due time.
            const runAt = Number(signal.actor?.runId?.slice(4));
            const firstDue = Math.min(
              ...g.audit.signals
                .filter((s) => s.digest === signal.digest && s.status === 'SCHEDULED')
                .map((s) => Date.parse(s.dueAt!)),
            );
            expect(runAt).toBeGreaterThanOrEqual(firstDue);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
