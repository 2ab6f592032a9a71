/**
 * AuditStore.recordAll (functions/shared/audit/store.ts) on dynalite behind the local proxy's
 * TransactWriteItems: up to 100 conditional puts per call, the same records `record` writes one by one, and a
 * record found already there (a redelivery, a confirmation that came first) merged from the cancellation.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AuditRecord, DeleteSignal } from '../../functions/shared/audit/records.js';
import { AuditStore } from '../../functions/shared/audit/store.js';
import { type Dynamo, startDynamo, type Tables } from '../support/dynamo.js';
import { ACCOUNT, digestOf, REGION, REPO } from './helpers.js';

let db: Dynamo;
let tables: Tables;
beforeAll(async () => {
  db = await startDynamo();
});
afterAll(async () => {
  await db.close();
});
beforeEach(async () => {
  tables = await db.createTables('record-all');
});

const NOW = new Date('2026-06-01T12:00:05.000Z');
const signal = (
  digest: string,
  status: DeleteSignal['status'],
  extra: Partial<DeleteSignal> = {},
): DeleteSignal => ({
  registryId: ACCOUNT,
  region: REGION,
  repository: REPO,
  digest,
  status,
  evidence: status === 'PENDING' ? 'steward-write-ahead' : 'steward-delete',
  at: '2026-06-01T12:00:00.000Z',
  tags: [`t-${digest.slice(-4)}`],
  sizeBytes: 10,
  actor: { type: 'ecr-steward', runId: 'run-1', rulePriority: 1, reasons: ['old'] },
  ...extra,
});

/** A store whose document client counts the commands it sends, by name. */
function counted(table: string): { store: AuditStore; calls: string[] } {
  const calls: string[] = [];
  const doc = db.doc;
  const send = doc.send.bind(doc);
  const proxy = new Proxy(doc, {
    get(target, prop, receiver) {
      if (prop === 'send')
        return (command: { constructor: { name: string } }, ...rest: unknown[]) => {
          calls.push(command.constructor.name);
          return (send as (...a: unknown[]) => unknown)(command, ...rest);
        };
      return Reflect.get(target, prop, receiver);
    },
  });
  return { store: new AuditStore(proxy, table, { now: () => NOW }), calls };
}

const byDigest = (records: Record<string, unknown>[]) =>
  [...records].sort((a, b) => String(a.digest).localeCompare(String(b.digest)));

describe('AuditStore.recordAll', () => {
  it('writes 150 new write-ahead records in two transactions, exactly as record writes them one by one', async () => {
    // Prepare
    const digests = Array.from({ length: 150 }, (_, i) => digestOf(`all-${i}`));
    const { store, calls } = counted(tables.audit);
    const reference = new AuditStore(db.doc, tables.state, { now: () => NOW });

    // Act
    const results = await store.recordAll(digests.map((d) => signal(d, 'PENDING')));
    for (const d of digests) await reference.record(signal(d, 'PENDING'));

    // Assess
    expect(calls).toEqual(['TransactWriteCommand', 'TransactWriteCommand']);
    expect(results.map((r) => [r.record?.digest, r.record?.status, r.newlyDeleted])).toEqual(
      digests.map((d) => [d, 'PENDING', false]),
    );
    expect(byDigest(await db.scan(tables.audit))).toEqual(byDigest(await db.scan(tables.state)));
  });

  it('settles on the records it wrote in one transaction, without reading them', async () => {
    // Prepare
    const digests = Array.from({ length: 3 }, (_, i) => digestOf(`settle-${i}`));
    const { store, calls } = counted(tables.audit);
    const written = await store.recordAll(digests.map((d) => signal(d, 'PENDING')));

    // Act
    const settled = await store.recordAll(
      digests.map((d) => signal(d, 'DELETED')),
      written.map((r) => r.record),
    );

    // Assess
    expect(calls).toEqual(['TransactWriteCommand', 'TransactWriteCommand']);
    expect(settled.map((r) => [r.record?.status, r.record?.version, r.record?.actor.type])).toEqual(
      digests.map(() => ['DELETED', 2, 'ecr-steward']),
    );
  });

  it('merges records found already there from the cancellation and writes the whole batch again', async () => {
    // Prepare: one record confirmed by ECR's event before our write-ahead arrived, one write-ahead redelivered
    const [confirmed, redelivered, fresh] = ['found-1', 'found-2', 'found-3'].map(digestOf) as [
      string,
      string,
      string,
    ];
    const reference = new AuditStore(db.doc, tables.state, { now: () => NOW });
    const { store, calls } = counted(tables.audit);
    const event = signal(confirmed, 'DELETED', {
      evidence: 'image-action-event',
      eventId: 'ev-1',
      actor: undefined,
    });
    for (const s of [store, reference]) {
      await s.record(event);
      await s.record(signal(redelivered, 'PENDING'));
    }
    calls.length = 0;

    // Act
    const results = await store.recordAll([confirmed, redelivered, fresh].map((d) => signal(d, 'PENDING')));
    for (const d of [confirmed, redelivered, fresh]) await reference.record(signal(d, 'PENDING'));

    // Assess: a canceled transaction, then one with the merged records; the same records as record's
    expect(calls).toEqual(['TransactWriteCommand', 'TransactWriteCommand']);
    expect(results.map((r) => [r.record?.status, r.record?.version])).toEqual([
      ['DELETED', 2],
      ['PENDING', 1],
      ['PENDING', 1],
    ]);
    const records = byDigest(await db.scan(tables.audit)) as unknown as AuditRecord[];
    expect(records).toEqual(byDigest(await db.scan(tables.state)));
    expect(records.find((r) => r.digest === confirmed)).toMatchObject({
      status: 'DELETED',
      evidence: ['image-action-event', 'steward-write-ahead'],
      actor: { type: 'ecr-steward', runId: 'run-1', rulePriority: 1 },
    });
  });

  it('never turns a DELETED record back into PENDING, however stale what the caller knows', async () => {
    // Prepare
    const d = digestOf('stale');
    const { store } = counted(tables.audit);
    const [written] = await store.recordAll([signal(d, 'PENDING')]);
    await store.record(signal(d, 'DELETED', { evidence: 'image-action-event', eventId: 'ev-2' }));

    // Act: a FAILED settle made on the PENDING record the write-ahead returned
    const [result] = await store.recordAll(
      [signal(d, 'FAILED', { evidence: 'steward-failure', failure: { code: 'X', reason: 'y' } })],
      [written!.record],
    );

    // Assess
    expect(result?.record?.status).toBe('DELETED');
    expect((await db.scan(tables.audit)).map((r) => [r.status, r.version])).toEqual([['DELETED', 3]]);
  });

  it('writes a single record as one conditional PutItem, merging the record the failed condition returns', async () => {
    // Prepare
    const d = digestOf('single');
    const { store, calls } = counted(tables.audit);
    await store.record(
      signal(d, 'DELETED', { evidence: 'image-action-event', eventId: 'ev-3', actor: undefined }),
    );
    calls.length = 0;

    // Act
    const [result] = await store.recordAll([signal(d, 'PENDING')]);

    // Assess: a put refused with the record, and the merged put; never a read
    expect(calls).toEqual(['PutCommand', 'PutCommand']);
    expect(result?.record).toMatchObject({
      status: 'DELETED',
      version: 2,
      evidence: ['image-action-event', 'steward-write-ahead'],
      actor: { type: 'ecr-steward', runId: 'run-1' },
    });
  });
});
