/**
 * A cleanup worker killed between its write-ahead audit records and the end of its delete loses nothing:
 * once the next run (and the audit function) have settled, every record is DELETED (directly, or FAILED by
 * settlement and then deleted again), no image is gone without a DELETED record, and no DELETED record
 * names an image that is still there.
 *
 * The kill is exact: a one-shot hook of the local server's fault injector runs just before the worker's
 * BatchDeleteImage reaches the ECR emulator, kills the worker's execution environment there, and either
 * drops the request (the crash came before the call left) or lets ECR perform it (the reply was lost).
 * The local visibility timeout is 3 s, so the killed run's message is not redelivered before the test has
 * looked at the PENDING records and started the next run itself (a sweep).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../functions/shared/audit/records.js';
import { FaultInjector } from '../../local/faults.js';
import {
  auditByDigest,
  deadLetters,
  type E2E,
  expectedPlan,
  expiring,
  figures,
  present,
  push,
  seed,
  startE2E,
  waitFor,
  workerReports,
} from './harness.js';

let e2e: E2E | undefined;

afterEach(async () => {
  await e2e?.close();
  e2e = undefined;
});

async function crashAndRecover(variant: 'before-delete' | 'reply-lost') {
  const started = Date.now();
  const repository = `services/crash-${variant}`;
  const faults = new FaultInjector({ seed: 3 });
  const t = await startE2E(`crash-${variant}`, { faults, visibilityMs: 3_000 });
  e2e = t;
  seed(
    t,
    repository,
    Array.from({ length: 40 }, (_, i) => ({ tags: [`dev-${i}`] })),
  );

  let pendingAtCrash: AuditRecord[] = [];
  let imagesAtCrash = 0;
  let requested: string[] = [];
  const crashed = new Promise<void>((resolve, reject) => {
    faults.onceBefore('ecr:BatchDeleteImage', async (ctx) => {
      t.cloud.functions.kill(t.workerId);
      try {
        requested = ((ctx.input as { imageIds?: { imageDigest: string }[] }).imageIds ?? []).map(
          (i) => i.imageDigest,
        );
        // The worker is dead and ECR has not seen the call: the state a crash leaves behind.
        pendingAtCrash = [...(await auditByDigest(t)).values()].flat().filter((r) => r.status === 'PENDING');
        imagesAtCrash = t.cloud.ecr.imageCount(repository);
        resolve();
      } catch (e) {
        reject(e);
      } finally {
        if (variant === 'before-delete') ctx.drop();
      }
    });
  });

  push(t, repository, ['dev-new']);
  const before = present(t, repository);
  const planned = expiring(await expectedPlan(t, repository, new Date()));
  await crashed;

  // The write-ahead records of the batch are durable; the images are all still there.
  expect(pendingAtCrash.map((r) => r.digest).sort()).toEqual(planned);
  expect(requested.sort()).toEqual(planned);
  expect(imagesAtCrash).toBe(before.size);
  if (variant === 'before-delete') {
    // Nothing moves until the next run: the records stay PENDING, the images stay.
    const now = [...(await auditByDigest(t)).values()].flat();
    expect(now.map((r) => `${r.digest}:${r.status}`).sort()).toEqual(planned.map((d) => `${d}:PENDING`));
    expect(t.cloud.ecr.imageCount(repository)).toBe(before.size);
  }

  // The next run: the sweep (queued behind the killed run's message, which FIFO redelivers with it).
  const sweep = await t.cloud.runSchedule('CleanupSweepSchedule');
  expect(sweep.ok).toBe(true);
  await t.cloud.settle(60_000);

  const after = present(t, repository);
  const deleted = [...before].filter((d) => !after.has(d)).sort();
  expect(deleted).toEqual(planned);
  const records = await auditByDigest(t);
  for (const digest of planned) {
    expect(records.get(digest), digest).toHaveLength(1);
    const r = records.get(digest)![0]!;
    expect(r.status).toBe('DELETED');
    expect(r.actor.type).toBe('ecr-steward');
    expect(r.actor.rulePriority).toBe(2);
  }
  // No image deleted without a DELETED record; no DELETED record for an image still present.
  const all = [...records.values()].flat();
  for (const d of deleted)
    expect(
      all.some((r) => r.digest === d && r.status === 'DELETED'),
      d,
    ).toBe(true);
  for (const r of all.filter((x) => x.status === 'DELETED'))
    expect(after.has(r.digest), r.digest).toBe(false);
  expect(all.filter((r) => r.status !== 'DELETED')).toEqual([]);
  expect(deadLetters(t)).toEqual({ cleanupDlq: 0, cleanupAsyncDlq: 0, auditDlq: 0, scanGateDlq: 0 });

  const settledBy = (evidence: string) => all.filter((r) => r.evidence.includes(evidence as never)).length;
  const reports = await waitFor('the worker report', () => workerReports(t, repository).length > 0);
  const reconciliation = t.cloud.functions.logRecords
    .filter((l) => l.record.message === 'reconciliation recorded deletions')
    .map((l) => l.record);
  figures(`crash-${variant}`, {
    images: before.size,
    events: t.busEvents.length,
    planned: planned.length,
    pendingAtCrash: pendingAtCrash.length,
    deletes: deleted.length,
    records: all.length,
    settled: settledBy('settled'),
    deletedBySteward: settledBy('steward-delete'),
    reconciliation: reconciliation.map(({ settledDeleted, settledFailed, recordedUnknown }) => ({
      settledDeleted,
      settledFailed,
      recordedUnknown,
    })),
    workerOutcomes: reports && workerReports(t, repository).map((r) => r.outcome),
    faultsInjected: faults.totals(),
    lost: planned.length - deleted.length,
    ms: Date.now() - started,
  });
  return { all, reconciliation, planned };
}

describe('a worker killed after its write-ahead records', () => {
  it('before its BatchDeleteImage left: the next run settles the PENDING records as FAILED and deletes again', async () => {
    const { all, reconciliation, planned } = await crashAndRecover('before-delete');
    // Settled FAILED by reconciliation (the images were still there), then deleted by the next run.
    expect(reconciliation.some((r) => r.settledFailed === planned.length)).toBe(true);
    for (const r of all) expect(r.evidence).toEqual(expect.arrayContaining(['settled', 'steward-delete']));
  }, 60_000);

  it('with its BatchDeleteImage performed but the reply lost: the audit function settles every record', async () => {
    const { all } = await crashAndRecover('reply-lost');
    // ECR's DELETE events confirm the write-ahead records; nothing is deleted twice.
    for (const r of all) {
      expect(r.evidence).toEqual(expect.arrayContaining(['steward-write-ahead', 'image-action-event']));
      expect(r.evidence).not.toContain('steward-delete');
    }
  }, 60_000);
});
