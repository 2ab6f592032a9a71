/**
 * Review 19b (3f1e386 / e30dbb1): once a repository's snapshot said `pendingIndexed`, reconciliation read its
 * PENDING write-aheads only from the openByRepository index. A write-ahead without the index key written after
 * that — by a writer of an older version still running during a deployment's rollout or after a rollback (a
 * scan-gate removal, an older CLI), which saves no snapshot — was never seen again: the crashed run's PENDING
 * record was never settled. Since a46e586 reconciliation reads PENDING records from the repository's own
 * records, whoever wrote them; this holds it to that.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { reconcileRepository, SnapshotStore } from '../../functions/shared/audit/reconcile.js';
import { type DeleteSignal, mergeSignal } from '../../functions/shared/audit/records.js';
import { AuditStore } from '../../functions/shared/audit/store.js';
import { ACCOUNT, REGION, REPO } from '../audit/helpers.js';
import { images } from '../audit/registry.js';
import { type Dynamo, startDynamo, type Tables } from '../support/dynamo.js';

let db: Dynamo;
let tables: Tables;
beforeAll(async () => {
  db = await startDynamo();
});
afterAll(async () => {
  await db.close();
});
beforeEach(async () => {
  tables = await db.createTables('review19b-pending');
});

const ref = { registryId: ACCOUNT, region: REGION, repository: REPO };
const T1 = new Date('2026-06-01T03:00:00.000Z');
const T2 = new Date('2026-06-02T03:00:00.000Z');
const T3 = new Date('2026-06-03T03:00:00.000Z');

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
