/**
 * Review #19: AuditStore.recordAll (22b1b96) against the answers real DynamoDB gives when a record is being
 * written by a transaction at the same time (the audit function's burst transactions vs the deletion path's
 * write-ahead and settle). The local proxy serializes such writes under its item locks, so it never answers
 * them; here they are injected at the document client, over dynalite behind the proxy for everything else.
 *
 * DynamoDB: "A PutItem, UpdateItem, or DeleteItem request for an item that conflicts with an ongoing
 * TransactWriteItems request that includes the same item fails with a TransactionConflictException" (400; the
 * SDK does not retry it: it is neither a throttling nor a transient error code). Inside a transaction the same
 * conflict is a CancellationReason `TransactionConflict`, which recordAll retries.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DeleteSignal } from '../../functions/shared/audit/records.js';
import { AuditStore } from '../../functions/shared/audit/store.js';
import { ACCOUNT, digestOf, REGION, REPO } from '../audit/helpers.js';
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
  tables = await db.createTables('review19-conflict');
});

const NOW = new Date('2026-06-01T12:00:05.000Z');
const signal = (digest: string, status: DeleteSignal['status']): DeleteSignal => ({
  registryId: ACCOUNT,
  region: REGION,
  repository: REPO,
  digest,
  status,
  evidence: status === 'PENDING' ? 'steward-write-ahead' : 'steward-delete',
  at: '2026-06-01T12:00:00.000Z',
  tags: ['v1'],
  sizeBytes: 10,
  actor: { type: 'ecr-steward', runId: 'run-1', rulePriority: 1, reasons: ['old'] },
});

/** A store whose client answers the first `times` commands named `name` with `error`, then goes through. */
function refusing(name: string, times: number, error: () => Error): { store: AuditStore; calls: string[] } {
  const calls: string[] = [];
  let left = times;
  const doc = db.doc;
  const send = doc.send.bind(doc) as (...a: unknown[]) => Promise<unknown>;
  const proxy = new Proxy(doc, {
    get(target, prop, receiver) {
      if (prop === 'send')
        return (command: { constructor: { name: string } }, ...rest: unknown[]) => {
          calls.push(command.constructor.name);
          if (command.constructor.name === name && left > 0) {
            left--;
            return Promise.reject(error());
          }
          return send(command, ...rest);
        };
      return Reflect.get(target, prop, receiver);
    },
  }) as DynamoDBDocumentClient;
  return { store: new AuditStore(proxy, tables.audit, { now: () => NOW }), calls };
}

const canceled = (codes: string[]) => () =>
  Object.assign(
    new Error(
      `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes.join(', ')}]`,
    ),
    {
      name: 'TransactionCanceledException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      CancellationReasons: codes.map((Code) => ({ Code })),
    },
  );

describe('review19: recordAll, cancellation reasons', () => {
  it('retries a transaction canceled for TransactionConflict and writes the whole batch once', async () => {
    // Prepare: two write-ahead records; the first transaction is canceled, one item conflicting
    const { store, calls } = refusing('TransactWriteCommand', 1, canceled(['TransactionConflict', 'None']));
    const digests = [digestOf('conflict-a'), digestOf('conflict-b')];

    // Act
    const results = await store.recordAll(digests.map((d) => signal(d, 'PENDING')));

    // Assess
    expect(calls).toEqual(['TransactWriteCommand', 'TransactWriteCommand']);
    expect(results.map((r) => [r.record?.digest, r.record?.status, r.record?.version])).toEqual([
      [digests[0], 'PENDING', 1],
      [digests[1], 'PENDING', 1],
    ]);
    const rows = await db.scan(tables.audit);
    expect(rows.map((r) => [r.digest, r.status, r.version]).sort()).toEqual(
      [
        [digests[0], 'PENDING', 1],
        [digests[1], 'PENDING', 1],
      ].sort(),
    );
  });

  it('does not retry a transaction canceled for a ValidationError, and writes nothing', async () => {
    // Prepare
    const { store, calls } = refusing('TransactWriteCommand', 1, canceled(['None', 'ValidationError']));
    const digests = [digestOf('invalid-a'), digestOf('invalid-b')];

    // Act
    const attempt = store.recordAll(digests.map((d) => signal(d, 'PENDING')));

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'TransactionCanceledException' });
    expect(calls).toEqual(['TransactWriteCommand']);
    expect(await db.scan(tables.audit)).toEqual([]);
  });
});

const transactionConflict = () =>
  Object.assign(new Error('Transaction is ongoing for the item'), {
    name: 'TransactionConflictException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });

describe('review19: recordAll, a single-record put under a concurrent transaction', () => {
  it('retries a single-record put that DynamoDB refuses with TransactionConflictException (another transaction holds the record)', async () => {
    // Prepare: the write-ahead of one image (a batch of one goes as a conditional PutItem)
    const { store, calls } = refusing('PutCommand', 1, transactionConflict);
    const digest = digestOf('conflict-single');

    // Act
    const results = await store.recordAll([signal(digest, 'PENDING')]);

    // Assess: the record is written once the other transaction is done, as a transaction's conflict is retried
    expect(results).toHaveLength(1);
    expect(results[0]!.record).toMatchObject({ status: 'PENDING', version: 1 });
    expect(calls.filter((c) => c === 'PutCommand')).toHaveLength(2);
    const stored = new AuditStore(db.doc, tables.audit);
    expect(await stored.get({ registryId: ACCOUNT, region: REGION, repository: REPO, digest })).toMatchObject(
      {
        status: 'PENDING',
        version: 1,
      },
    );
  });
});
