/**
 * RequestsStore against a real DynamoDB implementation (dynalite), with the requests table keyed as
 * functions/shared/approvals/keys.ts says: pk/sk, `byState` (gsi1pk/gsi1sk) and `byRepository` (gsi2pk/gsi2sk).
 */
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expire } from '../../functions/shared/approvals/decide.js';
import { REQUEST_INDEXES, REQUEST_RETENTION_DAYS } from '../../functions/shared/approvals/keys.js';
import type { DeletionRequestRecord } from '../../functions/shared/approvals/model.js';
import { RequestsStore } from '../../functions/shared/approvals/store.js';
import { createAndWait, type Dynamo, startDynamo } from '../support/dynamo.js';
import { ACCOUNT, ARN, HOUR_MS, pendingRequest, REGION } from './support.js';

let db: Dynamo;
let tables = 0;

beforeAll(async () => {
  db = await startDynamo();
});

afterAll(async () => {
  await db?.close();
});

/** A fresh, empty requests table as lib/constructs/audit-tables.ts defines it. */
async function freshStore(): Promise<RequestsStore> {
  const TableName = `requests-${++tables}`;
  const key = (AttributeName: string) => ({ AttributeName, AttributeType: 'S' as const });
  const keySchema = (hash: string, range: string) => [
    { AttributeName: hash, KeyType: 'HASH' as const },
    { AttributeName: range, KeyType: 'RANGE' as const },
  ];
  await createAndWait(
    db.client,
    new CreateTableCommand({
      TableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk'].map(key),
      KeySchema: keySchema('pk', 'sk'),
      GlobalSecondaryIndexes: [
        {
          IndexName: REQUEST_INDEXES.byState,
          KeySchema: keySchema('gsi1pk', 'gsi1sk'),
          Projection: { ProjectionType: 'ALL' },
        },
        {
          IndexName: REQUEST_INDEXES.byRepository,
          KeySchema: keySchema('gsi2pk', 'gsi2sk'),
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  return new RequestsStore(db.doc, TableName);
}

const hours = (n: number) => new Date(Date.parse('2026-06-01T12:00:00.000Z') + n * HOUR_MS).toISOString();

/** A request created `n` hours after CREATED, with an id sortable by that time. */
function requestAt(n: number, over: Partial<DeletionRequestRecord> = {}): DeletionRequestRecord {
  const createdAt = hours(n);
  const stamp = createdAt.slice(0, 19).replace(/[-:]/g, '');
  return pendingRequest({
    id: `req-${stamp}-${String(n).padStart(6, '0')}`,
    createdAt,
    expiresAt: hours(n + 72),
    ...over,
  });
}

const scope = (repository: string) => ({ registryId: ACCOUNT, region: REGION, repository });

describe('RequestsStore', () => {
  it('creates a request once: a second create with the same id is refused and overwrites nothing', async () => {
    // Prepare
    const store = await freshStore();
    const first = requestAt(0);

    // Act
    const created = await store.create(first);
    const again = await store.create({ ...first, reason: 'someone else' });

    // Assess
    expect(created).toBe(true);
    expect(again).toBe(false);
    expect(await store.get(first.id)).toEqual(first);
  });

  it('stores the keys of both indexes, and no ttl while the request is pending', async () => {
    // Prepare
    const store = await freshStore();
    const r = requestAt(0);

    // Act
    await store.create(r);

    // Assess
    const { Item } = await db.doc.send(
      new GetCommand({ TableName: store.tableName, Key: { pk: `REQUEST#${r.id}`, sk: 'REQUEST' } }),
    );
    expect(Item).toMatchObject({
      gsi1pk: 'PENDING_APPROVAL',
      gsi1sk: `${r.createdAt}#${r.id}`,
      gsi2pk: `REPO#${ACCOUNT}#${REGION}#team/app`,
      gsi2sk: `${r.createdAt}#${r.id}`,
    });
    expect(Item?.ttl).toBeUndefined();
  });

  it('answers only a pending request: the first answer wins, a second one is refused', async () => {
    // Prepare
    const store = await freshStore();
    const r = requestAt(0);
    await store.create(r);
    const approved: DeletionRequestRecord = {
      ...r,
      state: 'APPROVED',
      decision: { action: 'approve', by: ARN.ops, at: hours(1), comment: 'ok', sourceIp: '203.0.113.7' },
    };
    const rejected: DeletionRequestRecord = {
      ...r,
      state: 'REJECTED',
      decision: { action: 'reject', by: ARN.lead, at: hours(1), reason: 'no' },
    };

    // Act
    const first = await store.answer(approved);
    const second = await store.answer(rejected);

    // Assess
    expect(first).toBe(true);
    expect(second).toBe(false);
    expect(await store.get(r.id)).toEqual(approved);
    const { Item } = await db.doc.send(
      new GetCommand({ TableName: store.tableName, Key: { pk: `REQUEST#${r.id}`, sk: 'REQUEST' } }),
    );
    expect(Item).toMatchObject({
      gsi1pk: 'APPROVED',
      ttl: Math.floor(Date.parse(hours(1)) / 1000) + REQUEST_RETENTION_DAYS * 86_400,
    });
  });

  it('refuses to answer a request that does not exist (it never creates one)', async () => {
    // Prepare
    const store = await freshStore();
    const ghost = expire(requestAt(0), new Date(hours(100)))!;

    // Act
    const answered = await store.answer(ghost);

    // Assess
    expect(answered).toBe(false);
    expect(await store.get(ghost.id)).toBeUndefined();
  });

  it('lists by state (pending by default in the endpoint, every state when none is given), oldest first', async () => {
    // Prepare
    const store = await freshStore();
    const a = requestAt(3);
    const b = requestAt(1);
    const c = requestAt(2, { repository: 'team/web' });
    for (const r of [a, b, c]) await store.create(r);
    await store.answer({
      ...a,
      state: 'REJECTED',
      decision: { action: 'reject', by: ARN.ops, at: hours(4), reason: 'no' },
    });

    // Act
    const pending = await store.list({ state: 'PENDING_APPROVAL' });
    const rejected = await store.list({ state: 'REJECTED' });
    const all = await store.list();
    const firstTwo = await store.list({ limit: 2 });

    // Assess
    expect(pending.map((r) => r.id)).toEqual([b.id, c.id]);
    expect(rejected.map((r) => [r.id, r.state])).toEqual([[a.id, 'REJECTED']]);
    expect(all.map((r) => r.id)).toEqual([b.id, c.id, a.id]);
    expect(firstTwo.map((r) => r.id)).toEqual([b.id, c.id]);
  });

  it('lists by repository, optionally in one state, and never lists a breaker reset there', async () => {
    // Prepare
    const store = await freshStore();
    const app1 = requestAt(1);
    const web = requestAt(2, { repository: 'team/web' });
    const app2 = requestAt(3);
    const reset = requestAt(4, {
      kind: 'breaker-reset',
      repository: undefined,
      scope: 'registry',
      images: [],
    });
    for (const r of [app1, web, app2, reset]) await store.create(r);
    await store.answer({
      ...app2,
      state: 'APPROVED',
      decision: { action: 'approve', by: ARN.ops, at: hours(5) },
    });

    // Act
    const app = await store.list({ repository: scope('team/app') });
    const approvedApp = await store.list({ repository: scope('team/app'), state: 'APPROVED' });
    const otherRegion = await store.list({ repository: { ...scope('team/app'), region: 'eu-west-1' } });

    // Assess
    expect(app.map((r) => r.id)).toEqual([app1.id, app2.id]);
    expect(approvedApp.map((r) => r.id)).toEqual([app2.id]);
    expect(otherRegion).toEqual([]);
    expect((await store.list({ state: 'PENDING_APPROVAL' })).map((r) => r.id)).toEqual([
      app1.id,
      web.id,
      reset.id,
    ]);
  });

  it('reads the requests of a repository created at or after a time, answered or not', async () => {
    // Prepare
    const store = await freshStore();
    const old = requestAt(0);
    const atSince = requestAt(10);
    const later = requestAt(20);
    for (const r of [old, atSince, later]) await store.create(r);
    await store.answer(expire(later, new Date(hours(100)))!);

    // Act
    const since = await store.forRepository(scope('team/app'), hours(10));

    // Assess
    expect(since.map((r) => [r.id, r.state])).toEqual([
      [atSince.id, 'PENDING_APPROVAL'],
      [later.id, 'EXPIRED'],
    ]);
  });

  it('marks a request announced once: a second mark keeps the first time', async () => {
    // Prepare
    const store = await freshStore();
    const r = requestAt(0);
    await store.create(r);

    // Act
    await store.markAnnounced(r.id, hours(1));
    await store.markAnnounced(r.id, hours(2));

    // Assess
    expect((await store.get(r.id))?.announcedAt).toBe(hours(1));
  });

  it('refuses to mark a request that does not exist, rather than creating a stub item', async () => {
    // Prepare
    const store = await freshStore();

    // Act, Assess
    await expect(store.markAnnounced('req-20260601T120000-nothin', hours(1))).rejects.toMatchObject({
      name: 'ConditionalCheckFailedException',
    });
    expect(await db.scan(store.tableName)).toEqual([]);
  });
});
