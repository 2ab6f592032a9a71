/**
 * The DynamoDB fault proxy (local/dynamo-proxy.ts) that the fault test puts in front of dynalite: faults
 * answered as DynamoDB answers them, so the real SDK classifies and retries them as it would in AWS, and
 * requests without a fault forwarded untouched.
 */
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/shared/audit/store.js';
import { crc32, type DynamoProxy, startDynamoProxy } from '../../local/dynamo-proxy.js';
import { FaultInjector } from '../../local/faults.js';
import { DUMMY_CREDENTIALS, DYNAMO_REGION, type Dynamo, startDynamo } from '../support/dynamo.js';
import { figures } from './harness.js';

let db: Dynamo;
let proxy: DynamoProxy;
let faults: FaultInjector;

const client = (maxAttempts: number) =>
  new DynamoDBClient({
    endpoint: proxy.url,
    region: DYNAMO_REGION,
    credentials: DUMMY_CREDENTIALS,
    maxAttempts,
    retryMode: 'standard',
  });

beforeAll(async () => {
  db = await startDynamo();
  faults = new FaultInjector({ seed: 9 });
  proxy = await startDynamoProxy({ target: db.endpoint, faults });
}, 30_000);

afterAll(async () => {
  const t = faults.totals();
  figures('dynamo-proxy', {
    requests: t.requests,
    faultsInjected: t.throttled + t.serverErrors + t.dropped,
    throttled: t.throttled,
    serverErrors: t.serverErrors,
    dropped: t.dropped,
  });
  await proxy?.close();
  await db?.close();
});

beforeEach(() => faults.clear());

describe('the DynamoDB fault proxy', () => {
  it('forwards requests without faults and counts them by operation', async () => {
    const doc = documentClient(client(1));
    await doc.send(new PutCommand({ TableName: db.tables.state, Item: { pk: 'a', sk: 'b', n: 1 } }));
    const out = await doc.send(new GetCommand({ TableName: db.tables.state, Key: { pk: 'a', sk: 'b' } }));
    expect(out.Item).toEqual({ pk: 'a', sk: 'b', n: 1 });
    expect(faults.stats('dynamodb:PutItem').requests).toBeGreaterThan(0);
    expect(faults.stats('dynamodb:GetItem').requests).toBeGreaterThan(0);
  }, 10_000);

  it('answers a throttled item operation with ProvisionedThroughputExceededException, which the SDK retries', async () => {
    faults.set('dynamodb:GetItem', { throttleRate: 1 });
    const error = await documentClient(client(1))
      .send(new GetCommand({ TableName: db.tables.state, Key: { pk: 'a', sk: 'b' } }))
      .catch((e: unknown) => e as Error & { $metadata: { httpStatusCode: number }; $retryable?: unknown });
    expect(error).toMatchObject({
      name: 'ProvisionedThroughputExceededException',
      $metadata: { httpStatusCode: 400 },
    });
    expect(faults.stats('dynamodb:GetItem').throttled).toBe(1);

    // Half the calls throttled: the standard retry strategy gets every one through.
    faults.set('dynamodb:GetItem', { throttleRate: 0.5 });
    const doc = documentClient(client(10));
    for (let i = 0; i < 5; i++)
      await doc.send(new GetCommand({ TableName: db.tables.state, Key: { pk: 'a', sk: 'b' } }));
    expect(faults.stats('dynamodb:GetItem').throttled).toBeGreaterThan(1);
  }, 60_000);

  it('answers a throttled control-plane call with ThrottlingException', async () => {
    faults.set('dynamodb:ListTables', { throttleRate: 1 });
    await expect(client(1).send(new ListTablesCommand({}))).rejects.toMatchObject({
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
    });
  }, 10_000);

  it('answers a server error with a 500 InternalServerError and leaves the table unchanged', async () => {
    faults.set('dynamodb:*', { serverErrorRate: 1 });
    await expect(
      documentClient(client(1)).send(
        new PutCommand({ TableName: db.tables.state, Item: { pk: 'fail', sk: 'x' } }),
      ),
    ).rejects.toMatchObject({ name: 'InternalServerError', $metadata: { httpStatusCode: 500 } });
    faults.clear();
    const out = await documentClient(client(1)).send(
      new GetCommand({ TableName: db.tables.state, Key: { pk: 'fail', sk: 'x' } }),
    );
    expect(out.Item).toBeUndefined();
  }, 10_000);

  it('runs onceBefore hooks and drops the request when asked: nothing reaches dynalite', async () => {
    let seen: unknown;
    faults.onceBefore('dynamodb:PutItem', (ctx) => {
      seen = ctx.input;
      ctx.drop();
    });
    await expect(
      documentClient(client(1)).send(
        new PutCommand({ TableName: db.tables.state, Item: { pk: 'dropped', sk: 'x' } }),
      ),
    ).rejects.toThrow();
    expect(seen).toMatchObject({ TableName: db.tables.state, Item: { pk: { S: 'dropped' } } });
    expect(faults.stats('dynamodb:PutItem').dropped).toBe(1);
    const out = await documentClient(client(1)).send(
      new GetCommand({ TableName: db.tables.state, Key: { pk: 'dropped', sk: 'x' } }),
    );
    expect(out.Item).toBeUndefined();
  }, 10_000);

  it('computes the CRC-32 DynamoDB sends in x-amz-crc32', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(Buffer.alloc(0))).toBe(0);
  }, 1_000);
});
