/**
 * AuditStore's conditional puts (functions/shared/audit/store.ts) on dynalite: the condition is built from the
 * next status, so that no write can turn a settled deletion into anything but DELETED.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AuditRecord, type DeleteSignal, mergeSignal } from '../../functions/shared/audit/records.js';
import { AuditStore, putCondition } from '../../functions/shared/audit/store.js';
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
  tables = await db.createTables('store');
});

const D = digestOf('store');
const base = { registryId: ACCOUNT, region: REGION, repository: REPO, digest: D } as const;
const pending: DeleteSignal = {
  ...base,
  status: 'PENDING',
  evidence: 'steward-write-ahead',
  at: '2026-06-01T12:00:00.000Z',
  actor: { type: 'ecr-steward', runId: 'run-1' },
};
const deleted: DeleteSignal = { ...pending, status: 'DELETED', evidence: 'steward-delete' };

describe('putCondition', () => {
  it('requires a new record not to exist', () => {
    expect(putCondition(undefined, { status: 'PENDING' })).toEqual({
      ConditionExpression: 'attribute_not_exists(pk)',
    });
  });

  it('requires the version read when the next status is DELETED', () => {
    expect(putCondition({ version: 3 }, { status: 'DELETED' })).toEqual({
      ConditionExpression: '#v = :v',
      ExpressionAttributeNames: { '#v': 'version' },
      ExpressionAttributeValues: { ':v': 3 },
    });
  });

  it.each(['PENDING', 'FAILED', 'PLANNED'] as const)(
    'requires the version read and a stored status other than DELETED when the next status is %s',
    (status) => {
      expect(putCondition({ version: 3 }, { status })).toEqual({
        ConditionExpression: '#v = :v AND #s <> :deleted',
        ExpressionAttributeNames: { '#v': 'version', '#s': 'status' },
        ExpressionAttributeValues: { ':v': 3, ':deleted': 'DELETED' },
      });
    },
  );
});

describe('AuditStore.record', () => {
  it('lets a DELETED record gain evidence and event ids and keeps it DELETED when a FAILED signal follows', async () => {
    // Prepare
    const store = new AuditStore(db.doc, tables.audit);
    await store.record(pending);
    await store.record(deleted);

    // Act
    await store.record({
      ...pending,
      status: 'FAILED',
      evidence: 'steward-failure',
      failure: { code: 'KmsError', reason: 'key disabled' },
    });
    await store.record({ ...deleted, evidence: 'image-action-event', eventId: 'ev-1' });

    // Assess
    const record = await store.get(deleted);
    expect([record?.status, record?.evidence, record?.eventIds, record?.failure, record?.version]).toEqual([
      'DELETED',
      ['image-action-event', 'steward-delete', 'steward-failure', 'steward-write-ahead'],
      ['ev-1'],
      undefined,
      4,
    ]);
  });

  it('has DynamoDB refuse a put that would make a DELETED record PENDING, even with the right version', async () => {
    // Prepare: a stale merge (made from the PENDING record) is written after the record became DELETED.
    const store = new AuditStore(db.doc, tables.audit);
    const first = (await store.record(pending)).record!;
    const settled = (await store.record(deleted)).record!;
    const stale: AuditRecord = {
      ...mergeSignal(first, { ...pending, evidence: 'reconciliation' }, '2026-06-01T12:05:00.000Z')!,
      version: settled.version + 1,
    };

    // Act
    const put = db.doc.send(
      new PutCommand({
        TableName: tables.audit,
        Item: stale,
        ...putCondition({ version: settled.version }, stale),
      }),
    );

    // Assess
    await expect(put).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    expect((await store.get(deleted))?.status).toBe('DELETED');
  });
});
