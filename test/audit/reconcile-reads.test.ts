/**
 * What reconciliation reads (reconcile.ts over AuditStore.repositoryPage): one page of the repository's records,
 * newest first, gives the PENDING write-aheads to settle and, when it holds every record, the open records the
 * run needs next, in one Query instead of two. Any writer's PENDING record is in it (older versions' too: every
 * record carries the byRepository key). Real stores on dynalite.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { reconcileRepository, SnapshotStore } from '../../functions/shared/audit/reconcile.js';
import { type AuditRecord, type DeleteSignal, mergeSignal } from '../../functions/shared/audit/records.js';
import { AuditStore } from '../../functions/shared/audit/store.js';
import { type Dynamo, journaled, startDynamo, type Tables } from '../support/dynamo.js';
import { ACCOUNT, REGION, REPO } from './helpers.js';
import { images } from './registry.js';

let db: Dynamo;
let tables: Tables;
beforeAll(async () => {
  db = await startDynamo();
});
afterAll(async () => {
  await db.close();
});
beforeEach(async () => {
  tables = await db.createTables('reconcile-reads');
});

const ref = { registryId: ACCOUNT, region: REGION, repository: REPO };
const T1 = new Date('2026-06-01T03:00:00.000Z');
const T2 = new Date('2026-06-02T03:00:00.000Z');
const T3 = new Date('2026-06-03T03:00:00.000Z');

/** A document client that notes each call: the command, and the index a Query reads. */
const journaledReads = () =>
  journaled(db.client, {
    label: (command) =>
      `${command.constructor.name}${command.input.IndexName ? ` ${String(command.input.IndexName)}` : ''}`,
  });

const writeAhead = (digest: string, runId: string, extra: Partial<DeleteSignal> = {}): DeleteSignal => ({
  ...ref,
  digest,
  status: 'PENDING',
  evidence: 'steward-write-ahead',
  at: T1.toISOString(),
  actor: { type: 'ecr-steward', runId, rulePriority: 1 },
  ...extra,
});

describe("reconciliation's reads", () => {
  it('settles a crashed run and hands over the open records after one Query of the repository', async () => {
    // Prepare: a first run; then a crashed run left two write-aheads (one image gone) and a notice was given
    const list = images('orders', 4, T1);
    const [kept, deleted, notice] = [list[0]!, list[1]!, list[2]!];
    const setup = new AuditStore(db.doc, tables.audit, { now: () => T1 });
    await reconcileRepository(ref, list, T1, 'run-1', {
      snapshots: new SnapshotStore(db.doc, tables.state),
      audit: setup,
    });
    await setup.recordAll([
      writeAhead(kept.digest, 'run-crashed'),
      writeAhead(deleted.digest, 'run-crashed'),
    ]);
    await setup.record({
      ...writeAhead(notice.digest, 'run-1'),
      status: 'SCHEDULED',
      evidence: 'steward-notice',
      dueAt: T2.toISOString(),
    });
    const { doc, calls } = journaledReads();
    const audit = new AuditStore(doc, tables.audit, { now: () => T2 });
    let opened: readonly AuditRecord[] | undefined;

    // Act: the image the crashed run deleted is gone from the listing
    const report = await reconcileRepository(
      ref,
      list.filter((i) => i.digest !== deleted.digest),
      T2,
      'run-2',
      {
        snapshots: new SnapshotStore(doc, tables.state),
        audit,
        opened: (records) => {
          opened = records;
        },
      },
    );

    // Assess: the vanished image's write-ahead is settled once (by the snapshot's comparison), the other FAILED
    expect(report).toEqual({
      vanished: 1,
      recordedUnknown: 0,
      settledDeleted: 1,
      settledFailed: 1,
      settledArchived: 0,
    });
    expect(calls).toEqual([
      'BatchGetCommand',
      'QueryCommand byRepository',
      'GetCommand',
      'GetCommand',
      'PutCommand',
      'GetCommand',
      'PutCommand',
      'PutCommand',
    ]);
    expect((await audit.get({ ...ref, digest: deleted.digest }))?.status).toBe('DELETED');
    expect(await audit.get({ ...ref, digest: kept.digest })).toMatchObject({
      status: 'FAILED',
      failure: { code: 'NotDeleted' },
    });
    // What the index read would have given: the notice, not the FAILED write-ahead (it had no notice).
    expect(opened).toEqual(await audit.open(ref));
    expect(opened?.map((r) => [r.digest, r.status])).toEqual([[notice.digest, 'SCHEDULED']]);
  });

  it('settles a write-ahead an older version left (no openByRepository key), on every run', async () => {
    // Prepare: a run of this version, then an older writer's write-ahead that stopped before its delete
    const list = images('orders', 3, T1);
    const snapshots = new SnapshotStore(db.doc, tables.state);
    await reconcileRepository(ref, list, T1, 'run-1', {
      snapshots,
      audit: new AuditStore(db.doc, tables.audit),
    });
    const {
      gsi5pk: _pk,
      gsi5sk: _sk,
      ...older
    } = mergeSignal(
      undefined,
      writeAhead(list[0]!.digest, 'gate-old', {
        actor: { type: 'ecr-steward', runId: 'gate-old', rulePriority: null },
      }),
      T1.toISOString(),
    )!;
    await db.doc.send(new PutCommand({ TableName: tables.audit, Item: older }));
    const audit = new AuditStore(db.doc, tables.audit, { now: () => T2 });

    // Act
    const report = await reconcileRepository(ref, list, T2, 'run-2', { snapshots, audit });

    // Assess
    expect(report.settledFailed).toBe(1);
    expect(await audit.get({ ...ref, digest: list[0]!.digest })).toMatchObject({ status: 'FAILED' });
  });

  it('reads the PENDING records again when the page does not reach back 30 days, and the open ones after', async () => {
    // Prepare: a page that is not complete and holds only recent records
    const audit = new AuditStore(db.doc, tables.audit, { now: () => T2 });
    const reads: string[] = [];
    let opened = false;
    const recent = mergeSignal(undefined, writeAhead('sha256:recent', 'run-x'), T2.toISOString())!;
    const ports = {
      snapshots: new SnapshotStore(db.doc, tables.state),
      audit: {
        get: (r: Parameters<AuditStore['get']>[0]) => audit.get(r),
        record: (signal: DeleteSignal) => audit.record(signal),
        pending: async (r: typeof ref) => {
          reads.push('pending');
          return audit.pending(r);
        },
        repositoryPage: async () => {
          reads.push('repositoryPage');
          return { records: [recent], complete: false };
        },
      },
      opened: () => {
        opened = true;
      },
    };

    // Act
    await reconcileRepository(ref, images('orders', 2, T1), T2, 'run-1', ports);

    // Assess
    expect(reads).toEqual(['repositoryPage', 'pending']);
    expect(opened).toBe(false);
  });

  it('takes the PENDING records from a page that is not complete but reaches back past 30 days', async () => {
    // Prepare
    const audit = new AuditStore(db.doc, tables.audit, { now: () => T2 });
    const reads: string[] = [];
    const stopped = mergeSignal(undefined, writeAhead('sha256:stopped', 'run-x'), T1.toISOString())!;
    const old = { ...stopped, status: 'DELETED' as const, gsi1sk: `2026-04-01T00:00:00.000Z#sha256:old` };
    const ports = {
      snapshots: new SnapshotStore(db.doc, tables.state),
      audit: {
        get: (r: Parameters<AuditStore['get']>[0]) => audit.get(r),
        record: (signal: DeleteSignal) => {
          reads.push(`record ${signal.digest} ${signal.status}`);
          return audit.record(signal);
        },
        pending: async () => {
          reads.push('pending');
          return [];
        },
        repositoryPage: async () => ({ records: [stopped, old], complete: false }),
      },
    };

    // Act
    const report = await reconcileRepository(ref, [], T2, 'run-1', ports);

    // Assess: the stopped write-ahead's image is not listed: settled DELETED, without the older read
    expect(report.settledDeleted).toBe(1);
    expect(reads).toEqual(['record sha256:stopped DELETED']);
  });
});

/*
 * Review 19b (3f1e386 / e30dbb1): once a repository's snapshot said `pendingIndexed`, reconciliation read its
 * PENDING write-aheads only from the openByRepository index. A write-ahead without the index key written after
 * that — by a writer of an older version still running during a deployment's rollout or after a rollback (a
 * scan-gate removal, an older CLI), which saves no snapshot — was never seen again: the crashed run's PENDING
 * record was never settled. Since a46e586 reconciliation reads PENDING records from the repository's own
 * records, whoever wrote them; this holds it to that.
 */
describe('reconciliation of a repository reconciled before', () => {
  it('settles a PENDING write-ahead that carries no index key (left by an older-version writer after a reconciliation)', async () => {
    // Prepare: a run of this version reconciles the repository; then an older-version writer leaves a
    // write-ahead without the openByRepository key and stops before its delete (the image is still listed).
    const list = images('orders', 3, T1);
    const snapshots = new SnapshotStore(db.doc, tables.state);
    await reconcileRepository(ref, list, T1, 'run-1', {
      snapshots,
      audit: new AuditStore(db.doc, tables.audit, { now: () => T1 }),
    });
    const signal: DeleteSignal = {
      ...ref,
      digest: list[0]!.digest,
      status: 'PENDING',
      evidence: 'steward-write-ahead',
      at: T2.toISOString(),
      actor: { type: 'ecr-steward', runId: 'gate-old', rulePriority: null },
    };
    const { gsi5pk: _pk, gsi5sk: _sk, ...older } = mergeSignal(undefined, signal, T2.toISOString())!;
    await db.doc.send(new PutCommand({ TableName: tables.audit, Item: older }));
    const audit = new AuditStore(db.doc, tables.audit, { now: () => T3 });

    // Act: the next run of this version
    const report = await reconcileRepository(ref, list, T3, 'run-2', {
      snapshots: new SnapshotStore(db.doc, tables.state),
      audit,
    });

    // Assess: the stopped write-ahead is settled FAILED, as the older read (AuditStore.pending) would find it
    expect(report.settledFailed).toBe(1);
    expect(await audit.get({ ...ref, digest: list[0]!.digest })).toMatchObject({ status: 'FAILED' });
    expect((await audit.pending(ref)).map((r) => r.digest)).toEqual([]);
  });
});
