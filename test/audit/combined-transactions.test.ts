/**
 * AuditStore.recordAll(…, { combine: true }) (functions/shared/audit/store.ts, TransactionCombiner): the
 * write-aheads and settles of repositories cleaned at the same moment share one TransactWriteItems; a shared
 * transaction that is refused writes nothing, and each caller then writes alone as an uncombined call does.
 * Real audit store on dynalite, its calls journaled.
 */
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DeleteSignal } from '../../functions/shared/audit/records.js';
import { AuditStore, documentClient } from '../../functions/shared/audit/store.js';
import { type Dynamo, startDynamo, type Tables } from '../support/dynamo.js';
import { ACCOUNT, digestOf, REGION } from './helpers.js';

let db: Dynamo;
let tables: Tables;
beforeAll(async () => {
  db = await startDynamo();
});
afterAll(async () => {
  await db.close();
});
beforeEach(async () => {
  tables = await db.createTables('combined');
});

const AT = '2026-06-01T12:00:00.000Z';

/** A document client that notes each call: the command and, for a transaction, its number of puts. */
function journaled(): { doc: ReturnType<typeof documentClient>; calls: string[] } {
  const doc = documentClient(db.client);
  const calls: string[] = [];
  const send = doc.send.bind(doc) as (command: unknown) => Promise<unknown>;
  doc.send = ((command: { constructor: { name: string } }) => {
    calls.push(
      command instanceof TransactWriteCommand
        ? `TransactWriteCommand ${command.input.TransactItems?.length}`
        : command.constructor.name,
    );
    return send(command);
  }) as typeof doc.send;
  return { doc, calls };
}

const writeAhead = (repository: string, name: string): DeleteSignal => ({
  registryId: ACCOUNT,
  region: REGION,
  repository,
  digest: digestOf(name),
  status: 'PENDING',
  evidence: 'steward-write-ahead',
  at: AT,
  actor: { type: 'ecr-steward', runId: 'run-1', rulePriority: 1 },
});
const settle = (s: DeleteSignal): DeleteSignal => ({ ...s, status: 'DELETED', evidence: 'steward-delete' });

describe('AuditStore.recordAll, combined', () => {
  it('writes the write-aheads, then the settles, of three repositories in one transaction each', async () => {
    // Prepare
    const { doc, calls } = journaled();
    const store = new AuditStore(doc, tables.audit);
    const repositories = ['team/a', 'team/b', 'team/c'];
    const signals = repositories.map((r) => [writeAhead(r, `${r}-1`), writeAhead(r, `${r}-2`)]);

    // Act
    const written = await Promise.all(signals.map((s) => store.recordAll(s, [], { combine: true })));
    const settled = await Promise.all(
      signals.map((s, k) =>
        store.recordAll(
          s.map(settle),
          written[k]!.map((r) => r.record),
          { combine: true },
        ),
      ),
    );

    // Assess
    expect(calls).toEqual(['TransactWriteCommand 6', 'TransactWriteCommand 6']);
    expect(written.flat().map((r) => [r.record?.status, r.record?.version])).toEqual(
      Array(6).fill(['PENDING', 1]),
    );
    expect(settled.flat().map((r) => [r.record?.status, r.record?.version])).toEqual(
      Array(6).fill(['DELETED', 2]),
    );
    for (const s of signals.flat())
      expect(await store.get(s)).toMatchObject({
        status: 'DELETED',
        version: 2,
        evidence: ['steward-delete', 'steward-write-ahead'],
      });
  });

  it('writes each caller alone when the shared transaction is refused: nothing of it lands, each meets its own answer', async () => {
    // Prepare: a record repository b believes absent was written meanwhile (ECR's event came first)
    const { doc, calls } = journaled();
    const store = new AuditStore(doc, tables.audit);
    const a = [writeAhead('team/a', 'a-1'), writeAhead('team/a', 'a-2')];
    const b = [writeAhead('team/b', 'b-1'), writeAhead('team/b', 'b-2')];
    await new AuditStore(db.doc, tables.audit).record({
      ...b[0]!,
      status: 'DELETED',
      evidence: 'image-action-event',
      actor: undefined,
      eventId: 'ev-1',
    });

    // Act
    const [ofA, ofB] = await Promise.all([
      store.recordAll(a, [], { combine: true }),
      store.recordAll(b, [], { combine: true }),
    ]);

    // Assess: the shared transaction, then a's alone, b's alone (refused: the record it found), b's again
    expect(calls[0]).toBe('TransactWriteCommand 4');
    expect(calls.slice(1).sort()).toEqual([
      'TransactWriteCommand 2',
      'TransactWriteCommand 2',
      'TransactWriteCommand 2',
    ]);
    expect(ofA.map((r) => [r.record?.status, r.record?.version])).toEqual([
      ['PENDING', 1],
      ['PENDING', 1],
    ]);
    expect(ofB.map((r) => [r.record?.status, r.record?.version])).toEqual([
      ['DELETED', 2],
      ['PENDING', 1],
    ]);
    expect(await store.get(b[0]!)).toMatchObject({
      status: 'DELETED',
      evidence: ['image-action-event', 'steward-write-ahead'],
      actor: { type: 'ecr-steward', runId: 'run-1' },
    });
  });

  it('sends a caller alone in its turn as an uncombined call would: one PutItem for one record', async () => {
    // Prepare
    const { doc, calls } = journaled();
    const store = new AuditStore(doc, tables.audit);

    // Act
    const [result] = await store.recordAll([writeAhead('team/a', 'lone')], [], { combine: true });

    // Assess
    expect(calls).toEqual(['PutCommand']);
    expect(result?.record).toMatchObject({ status: 'PENDING', version: 1 });
  });
});
