/**
 * Review #19 (22b1b96): safeDelete over AuditStore.recordAll on dynalite behind the local proxy. Verified:
 * - every image's PENDING record is durable (a consistent read finds it) when BatchDeleteImage is called, also
 *   for images whose records already exist from earlier runs (FAILED, CANCELLED: the write-ahead's first
 *   transaction is canceled on their conditions and merged again from the records the cancellation returns);
 * - a partial BatchDeleteImage answer settles each record by what ECR said of it (DELETED, FAILED, DELETED as
 *   already gone), merged on what the write-ahead wrote;
 * - a write-ahead transaction that fails (a cancellation DynamoDB will not retry) makes no delete call and
 *   leaves no record.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DeleteOutcome } from '../../functions/shared/adapters/ecr.js';
import type { DeleteSignal } from '../../functions/shared/audit/records.js';
import { AuditStore } from '../../functions/shared/audit/store.js';
import { type DeleteItem, safeDelete } from '../../functions/shared/deletion/safe-delete.js';
import { ACCOUNT, digestOf, REGION } from '../audit/helpers.js';
import { type Dynamo, startDynamo, type Tables } from '../support/dynamo.js';

const REPOSITORY = 'team/app';

let db: Dynamo;
let tables: Tables;
beforeAll(async () => {
  db = await startDynamo();
});
afterAll(async () => {
  await db.close();
});
beforeEach(async () => {
  tables = await db.createTables('review19-wa');
});

const ref = (digest: string) => ({ registryId: ACCOUNT, region: REGION, repository: REPOSITORY, digest });
const signalOf =
  (digest: string, runId: string) =>
  (status: DeleteSignal['status'], extra: Partial<DeleteSignal> = {}): DeleteSignal => ({
    ...ref(digest),
    status,
    evidence: 'steward-write-ahead',
    at: '2026-06-01T12:00:00.000Z',
    tags: [],
    sizeBytes: 10,
    actor: { type: 'ecr-steward', runId, rulePriority: 1, reasons: ['old'] },
    ...extra,
  });
const item = (digest: string): DeleteItem => ({
  digest,
  sizeBytes: 10,
  signal: (status, extra) => signalOf(digest, 'run-2')(status, extra),
});

function ports(store: AuditStore, onDelete: (digests: readonly string[]) => Promise<DeleteOutcome>) {
  return {
    registry: {
      deleteImages: (_repository: string, digests: readonly string[]) => onDelete(digests),
      existingDigests: async () => new Set<string>(),
    },
    audit: {
      record: (s: DeleteSignal) => store.record(s),
      recordAll: (s: readonly DeleteSignal[], k?: Parameters<AuditStore['recordAll']>[1]) =>
        store.recordAll(s, k),
    },
    breaker: { firstOpen: async () => undefined },
  };
}

describe('review19: the write-ahead batch is durable before the delete call', () => {
  it('finds every record PENDING at the delete call, records of earlier runs included, and settles each by the answer', async () => {
    // Prepare: image b failed in an earlier run; image c had a notice cancelled
    const store = new AuditStore(db.doc, tables.audit);
    const [a, b, c] = ['wa-a', 'wa-b', 'wa-c'].map(digestOf) as [string, string, string];
    await store.record(signalOf(b, 'run-1')('PENDING'));
    await store.record(
      signalOf(b, 'run-1')('FAILED', { evidence: 'steward-failure', failure: { code: 'X', reason: 'y' } }),
    );
    await store.record(
      signalOf(c, 'run-1')('SCHEDULED', { evidence: 'steward-notice', dueAt: '2026-06-02T00:00:00.000Z' }),
    );
    await store.record(signalOf(c, 'run-1')('CANCELLED', { evidence: 'steward-cancel', note: 'held' }));
    const atDelete: (string | undefined)[] = [];

    // Act
    const result = await safeDelete(
      REPOSITORY,
      [a, b, c].map(item),
      ports(store, async (digests) => {
        for (const d of digests) atDelete.push((await store.get(ref(d)))?.status);
        return {
          deleted: [a],
          failures: [
            { digest: b, code: 'AccessDeniedException', reason: 'denied' },
            { digest: c, code: 'ImageNotFound', reason: 'Requested image not found' },
          ],
        };
      }),
    );

    // Assess
    expect(atDelete).toEqual(['PENDING', 'PENDING', 'PENDING']);
    expect(result).toMatchObject({ deleted: 1, alreadyGone: 1, notAttempted: 0 });
    expect(result.failures).toEqual([{ digest: b, code: 'AccessDeniedException', reason: 'denied' }]);
    expect(await store.get(ref(a))).toMatchObject({
      status: 'DELETED',
      version: 2,
      evidence: ['steward-delete', 'steward-write-ahead'],
      actor: { runId: 'run-2' },
    });
    expect(await store.get(ref(b))).toMatchObject({
      status: 'FAILED',
      version: 4,
      failure: { code: 'AccessDeniedException', reason: 'denied' },
      actor: { runId: 'run-2' },
    });
    expect(await store.get(ref(c))).toMatchObject({
      status: 'DELETED',
      version: 4,
      evidence: expect.arrayContaining(['steward-already-gone', 'steward-write-ahead']),
    });
  });

  it('makes no delete call and leaves no record when the write-ahead transaction is canceled for a ValidationError', async () => {
    // Prepare: a client that cancels every transaction
    const doc = db.doc;
    const send = doc.send.bind(doc) as (...a: unknown[]) => Promise<unknown>;
    const refusing = new Proxy(doc, {
      get(target, prop, receiver) {
        if (prop === 'send')
          return (command: { constructor: { name: string } }, ...rest: unknown[]) =>
            command.constructor.name === 'TransactWriteCommand'
              ? Promise.reject(
                  Object.assign(new Error('Transaction cancelled [None, ValidationError]'), {
                    name: 'TransactionCanceledException',
                    $metadata: { httpStatusCode: 400 },
                    CancellationReasons: [{ Code: 'None' }, { Code: 'ValidationError' }],
                  }),
                )
              : send(command, ...rest);
        return Reflect.get(target, prop, receiver);
      },
    }) as DynamoDBDocumentClient;
    const store = new AuditStore(refusing, tables.audit);
    const deletes: string[][] = [];

    // Act
    const attempt = safeDelete(
      REPOSITORY,
      ['wa-x', 'wa-y'].map(digestOf).map(item),
      ports(store, async (digests) => {
        deletes.push([...digests]);
        return { deleted: [...digests], failures: [] };
      }),
    );

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'TransactionCanceledException' });
    expect(deletes).toEqual([]);
    expect(await db.scan(tables.audit)).toEqual([]);
  });
});
