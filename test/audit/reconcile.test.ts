/**
 * Reconciliation (functions/shared/audit/reconcile.ts): ECR's events are best effort, so every cleanup run
 * compares the repository with the previous run's snapshot and records what vanished without a record.
 * Real audit and snapshot stores on dynalite.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  reconcileRepository,
  type SnapshotEntry,
  SnapshotStore,
  vanishedEntries,
} from '../../functions/shared/audit/reconcile.js';
import { AuditStore, documentClient } from '../../functions/shared/audit/store.js';
import type { Image } from '../../functions/shared/lifecycle/types.js';
import { type Dynamo, startDynamo, type Tables } from '../support/dynamo.js';
import { ACCOUNT, digestOf, REGION, REPO } from './helpers.js';
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
  tables = await db.createTables('reconcile');
});

const ref = { registryId: ACCOUNT, region: REGION, repository: REPO };
const T1 = new Date('2026-06-01T03:00:00.000Z');
const T2 = new Date('2026-06-02T03:00:00.000Z');

/** A document client whose PutCommands are counted (the client's send, wrapped). */
function countingPuts(): { doc: ReturnType<typeof documentClient>; puts: PutCommand[] } {
  const doc = documentClient(db.client);
  const puts: PutCommand[] = [];
  const send = doc.send.bind(doc) as (command: unknown) => Promise<unknown>;
  doc.send = ((command: unknown) => {
    if (command instanceof PutCommand) puts.push(command);
    return send(command);
  }) as typeof doc.send;
  return { doc, puts };
}

const entriesOf = (list: readonly Image[]): SnapshotEntry[] =>
  list
    .map((i) => ({ digest: i.digest, tags: [...i.tags], pushedAt: i.pushedAt, sizeBytes: i.sizeBytes }))
    .sort((a, b) => (a.digest < b.digest ? -1 : 1));

const partOf = (digest: string) => digest.slice(7, 9);

describe('reconcileRepository', () => {
  it('records one deletion by unknown with evidence reconciliation when a digest vanished without any record', async () => {
    // Prepare
    const audit = new AuditStore(db.doc, tables.audit, { now: () => T2 });
    const snapshots = new SnapshotStore(db.doc, tables.state);
    const list = images('orders', 4, T1);
    await reconcileRepository(ref, list, T1, 'run-1', { snapshots, audit });
    const [gone, ...left] = [list[2]!, list[0]!, list[1]!, list[3]!];

    // Act
    const report = await reconcileRepository(ref, left, T2, 'run-2', { snapshots, audit });

    // Assess
    expect(report).toEqual({
      vanished: 1,
      recordedUnknown: 1,
      settledDeleted: 0,
      settledFailed: 0,
      settledArchived: 0,
    });
    expect(await audit.byRepository(ref)).toEqual([
      {
        pk: `IMG#${gone.digest}`,
        sk: `REPO#${ACCOUNT}#${REGION}#${REPO}`,
        registryId: ACCOUNT,
        region: REGION,
        repository: REPO,
        digest: gone.digest,
        gsi1pk: `REPO#${ACCOUNT}#${REGION}#${REPO}`,
        gsi1sk: `${T2.toISOString()}#${gone.digest}`,
        gsi3pk: 'DAY#2026-06-02',
        gsi3sk: `${T2.toISOString()}#${REPO}#${gone.digest}`,
        status: 'DELETED',
        dryRun: false,
        tags: ['orders-2'],
        sizeBytes: 1002,
        pushedAt: new Date(gone.pushedAt).toISOString(),
        actor: { type: 'unknown' },
        at: T2.toISOString(),
        recordedAt: T2.toISOString(),
        updatedAt: T2.toISOString(),
        evidence: ['reconciliation'],
        eventIds: [`reconcile#run-2#${gone.digest}`],
        version: 1,
      },
    ]);
  });

  it('records nothing new when the vanished digest already has a DELETED record', async () => {
    // Prepare
    const audit = new AuditStore(db.doc, tables.audit, { now: () => T2 });
    const snapshots = new SnapshotStore(db.doc, tables.state);
    const list = images('orders', 3, T1);
    await reconcileRepository(ref, list, T1, 'run-1', { snapshots, audit });
    await audit.record({
      ...ref,
      digest: list[0]!.digest,
      status: 'DELETED',
      evidence: 'image-action-event',
      at: '2026-06-01T10:00:00.000Z',
      eventId: 'ev-1',
    });

    // Act
    const report = await reconcileRepository(ref, list.slice(1), T2, 'run-2', { snapshots, audit });

    // Assess
    expect(report).toEqual({
      vanished: 1,
      recordedUnknown: 0,
      settledDeleted: 0,
      settledFailed: 0,
      settledArchived: 0,
    });
    const records = await audit.byRepository(ref);
    expect(records.map((r) => [r.digest, r.version, r.evidence])).toEqual([
      [list[0]!.digest, 1, ['image-action-event']],
    ]);
  });

  it('finds nothing vanished when a later run sees the same images (the snapshot moved on)', async () => {
    // Prepare
    const audit = new AuditStore(db.doc, tables.audit, { now: () => T2 });
    const snapshots = new SnapshotStore(db.doc, tables.state);
    const list = images('orders', 3, T1);
    await reconcileRepository(ref, list, T1, 'run-1', { snapshots, audit });
    await reconcileRepository(ref, list.slice(1), T2, 'run-2', { snapshots, audit });

    // Act
    const report = await reconcileRepository(ref, list.slice(1), T2, 'run-3', { snapshots, audit });

    // Assess
    expect(report).toEqual({
      vanished: 0,
      recordedUnknown: 0,
      settledDeleted: 0,
      settledFailed: 0,
      settledArchived: 0,
    });
    expect(await audit.byRepository(ref)).toHaveLength(1);
  });

  it('lists exactly the snapshot entries when their digest is gone', () => {
    // Prepare
    const previous = entriesOf(images('x', 4, T1));

    // Act
    const gone = vanishedEntries(previous, new Set([previous[0]!.digest, previous[3]!.digest]));

    // Assess
    expect(gone).toEqual([previous[1], previous[2]]);
  });
});

describe('SnapshotStore', () => {
  it('returns undefined when a repository has no snapshot yet', async () => {
    // Prepare
    const snapshots = new SnapshotStore(db.doc, tables.state);

    // Act
    const loaded = await snapshots.load(ref);

    // Assess
    expect(loaded).toBeUndefined();
  });

  it('round-trips 5,000 images across parts and rewrites only the changed parts when saved again', async () => {
    // Prepare: the same repository later, with three images changed in three different parts
    const { doc, puts } = countingPuts();
    const snapshots = new SnapshotStore(doc, tables.state);
    const list = images('big', 5_000, T1);
    const parts = new Set(list.map((i) => partOf(i.digest)));
    const removed = list[0]!;
    const retagged = list.find((i) => partOf(i.digest) !== partOf(removed.digest))!;
    const added: Image = { ...removed, digest: digestOf('new-image'), tags: ['new'] };
    const changed = [
      ...list.filter((i) => i !== removed).map((i) => (i === retagged ? { ...i, tags: ['retagged'] } : i)),
      added,
    ];
    const changedParts = [removed, retagged, added].map((i) => partOf(i.digest));

    // Act: a first save, an unchanged save, then the changed save
    await snapshots.save(ref, { at: T1.toISOString(), entries: entriesOf(list) });
    const firstPuts = puts.length;
    const first = await snapshots.load(ref);
    await snapshots.save(ref, { at: T2.toISOString(), entries: entriesOf(list) });
    const unchangedPuts = puts.length - firstPuts;
    const beforeChange = puts.length;
    await snapshots.save(ref, { at: T2.toISOString(), entries: entriesOf(changed) });
    const changedPuts = puts.slice(beforeChange);
    const last = await snapshots.load(ref);

    // Assess
    expect(parts.size).toBe(256);
    expect(firstPuts).toBe(parts.size + 1);
    expect(first?.at).toBe(T1.toISOString());
    expect([...first!.entries].sort((a, b) => (a.digest < b.digest ? -1 : 1))).toEqual(entriesOf(list));
    expect(unchangedPuts).toBe(1);
    expect(new Set(changedParts).size).toBe(3);
    expect(changedPuts.map((p) => p.input.Item?.sk).sort()).toEqual(
      [...changedParts.map((part) => `PART#${part}`), 'META'].sort(),
    );
    expect(last?.at).toBe(T2.toISOString());
    expect(last?.entries).toHaveLength(5_000);
    expect([...last!.entries].sort((a, b) => (a.digest < b.digest ? -1 : 1))).toEqual(entriesOf(changed));
    const meta = (await db.scan(tables.state)).find((i) => i.sk === 'META');
    expect(meta).toMatchObject({
      pk: `SNAP#${ACCOUNT}#${REGION}#${REPO}`,
      at: T2.toISOString(),
      count: 5_000,
    });
  });
});
