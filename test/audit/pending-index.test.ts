/**
 * Write-aheads in the repository's index (records.ts, store.ts `inProgress`, reconcile.ts): every PENDING record
 * carries the `openByRepository` key, so a cleanup run reads what a crash left PENDING and its open records
 * with one Query; a repository last reconciled by an older version (whose PENDING records are not indexed) is
 * reconciled with the older read once, and its snapshot then says the index holds them. Real stores on dynalite.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { reconcileRepository, SnapshotStore } from '../../functions/shared/audit/reconcile.js';
import { type AuditRecord, type DeleteSignal, mergeSignal } from '../../functions/shared/audit/records.js';
import { AuditStore, documentClient } from '../../functions/shared/audit/store.js';
import { type Dynamo, startDynamo, type Tables } from '../support/dynamo.js';
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
  tables = await db.createTables('pending-index');
});

const ref = { registryId: ACCOUNT, region: REGION, repository: REPO };
const T1 = new Date('2026-06-01T03:00:00.000Z');
const T2 = new Date('2026-06-02T03:00:00.000Z');

/** A document client that notes each call: the command, and the index a Query reads. */
function journaled(): { doc: ReturnType<typeof documentClient>; calls: string[] } {
  const doc = documentClient(db.client);
  const calls: string[] = [];
  const send = doc.send.bind(doc) as (command: unknown) => Promise<unknown>;
  doc.send = ((command: { constructor: { name: string }; input: { IndexName?: string } }) => {
    calls.push(`${command.constructor.name}${command.input.IndexName ? ` ${command.input.IndexName}` : ''}`);
    return send(command);
  }) as typeof doc.send;
  return { doc, calls };
}

const writeAhead = (digest: string, runId: string, extra: Partial<DeleteSignal> = {}): DeleteSignal => ({
  ...ref,
  digest,
  status: 'PENDING',
  evidence: 'steward-write-ahead',
  at: T1.toISOString(),
  actor: { type: 'ecr-steward', runId, rulePriority: 1 },
  ...extra,
});

describe('write-aheads in the openByRepository index', () => {
  it('keeps a PENDING record in the index until it is settled, and open() lists only open records', async () => {
    // Prepare
    const audit = new AuditStore(db.doc, tables.audit, { now: () => T1 });
    const [plain, noticed] = images('orders', 2, T1).map((i) => i.digest) as [string, string];
    await audit.record({
      ...writeAhead(noticed, 'run-0'),
      status: 'SCHEDULED',
      evidence: 'steward-notice',
      dueAt: T1.toISOString(),
    });

    // Act
    await audit.recordAll([writeAhead(plain, 'run-1'), writeAhead(noticed, 'run-1')]);
    const whilePending = await audit.inProgress(ref);
    const openWhilePending = await audit.open(ref);
    await audit.record({ ...writeAhead(plain, 'run-1'), status: 'DELETED', evidence: 'steward-delete' });
    const afterSettle = await audit.inProgress(ref);

    // Assess
    expect(whilePending.map((r) => [r.digest, r.status, r.gsi5sk]).sort()).toEqual(
      [
        [noticed, 'PENDING', `${T1.toISOString()}#${noticed}`],
        [plain, 'PENDING', `${T1.toISOString()}#${plain}`],
      ].sort(),
    );
    expect(openWhilePending.map((r) => r.digest)).toEqual([noticed]);
    expect(afterSettle.map((r) => r.digest)).toEqual([noticed]);
  });

  it('reconciles with one Query of the index once the snapshot says so, settling a crashed run and handing over the open records', async () => {
    // Prepare: a first run (snapshot saved, flagged); then a crashed run left two write-aheads, one image gone
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
    const { doc, calls } = journaled();
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
      'QueryCommand openByRepository',
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
    // The FAILED write-ahead had no notice: it is not open. The notice is, as the store reads it now.
    expect(opened).toEqual(await audit.open(ref));
    expect(opened?.map((r) => [r.digest, r.status])).toEqual([[notice.digest, 'SCHEDULED']]);
  });

  it("settles what an older version left PENDING (not indexed) from one page of the repository's records, once", async () => {
    // Prepare: a snapshot of an older version (no flag) and a PENDING record without the index key
    const list = images('orders', 3, T1);
    await new SnapshotStore(db.doc, tables.state).save(ref, {
      at: T1.toISOString(),
      entries: list.map((i) => ({
        digest: i.digest,
        tags: i.tags,
        pushedAt: i.pushedAt,
        sizeBytes: i.sizeBytes,
      })),
    });
    const {
      gsi5pk: _pk,
      gsi5sk: _sk,
      ...older
    } = mergeSignal(undefined, writeAhead(list[0]!.digest, 'run-old'), T1.toISOString())!;
    await db.doc.send(new PutCommand({ TableName: tables.audit, Item: older }));
    const { doc, calls } = journaled();
    const audit = new AuditStore(doc, tables.audit, { now: () => T2 });
    const snapshots = new SnapshotStore(doc, tables.state);
    let opened: readonly AuditRecord[] | undefined;

    // Act: two runs
    const first = await reconcileRepository(ref, list, T2, 'run-2', {
      snapshots,
      audit,
      opened: (records) => {
        opened = records;
      },
    });
    const firstCalls = calls.splice(0);
    await reconcileRepository(ref, list, T2, 'run-3', { snapshots, audit });

    // Assess
    expect(first.settledFailed).toBe(1);
    // Read whole in one page: its open records (none: the FAILED write-ahead had no notice) come with it.
    expect(opened).toEqual([]);
    expect(firstCalls).toEqual([
      'BatchGetCommand',
      'QueryCommand byRepository',
      'GetCommand',
      'PutCommand',
      'PutCommand',
    ]);
    expect(calls).toEqual(['BatchGetCommand', 'QueryCommand openByRepository', 'PutCommand']);
    expect((await snapshots.load(ref))?.pendingIndexed).toBe(true);
    expect(await audit.get({ ...ref, digest: list[0]!.digest })).toMatchObject({ status: 'FAILED' });
  });

  it("falls back to the older read of PENDING records when the repository's records take more than a page", async () => {
    // Prepare: a store whose page of the repository's records is not complete
    const audit = new AuditStore(db.doc, tables.audit, { now: () => T2 });
    const reads: string[] = [];
    let opened = false;
    const ports = {
      snapshots: new SnapshotStore(db.doc, tables.state),
      audit: {
        get: (r: Parameters<AuditStore['get']>[0]) => audit.get(r),
        record: (signal: DeleteSignal) => audit.record(signal),
        pending: async (r: typeof ref) => {
          reads.push('pending');
          return audit.pending(r);
        },
        inProgress: async (r: typeof ref) => {
          reads.push('inProgress');
          return audit.inProgress(r);
        },
        repositoryPage: async () => {
          reads.push('repositoryPage');
          return { records: [], complete: false };
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
});
