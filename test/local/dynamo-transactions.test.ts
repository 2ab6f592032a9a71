/**
 * TransactWriteItems on the local DynamoDB (dynalite has none: local/dynamo-proxy.ts runs it, see
 * local/dynamo-transactions.ts), exercised through the real SDK so its errors parse as they would from AWS.
 */

import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DynamoDBClient,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/shared/audit/store.js';
import { type DynamoProxy, startDynamoProxy } from '../../local/dynamo-proxy.js';
import { TableStream } from '../../local/streams.js';
import { createAndWait, DUMMY_CREDENTIALS, DYNAMO_REGION } from '../support/dynamo.js';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (o: Record<string, number>) => Server;

const TABLE = 'Things';
const STREAMED = 'Streamed';
let server: Server;
let proxy: DynamoProxy;
let stream: TableStream;
let client: DynamoDBClient;
let doc: ReturnType<typeof documentClient>;
let n = 0;

beforeAll(async () => {
  server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const target = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stream = new TableStream(
    `arn:aws:dynamodb:us-east-1:111111111111:table/${STREAMED}/stream/x`,
    'NEW_AND_OLD_IMAGES',
    ['pk', 'sk'],
    DYNAMO_REGION,
  );
  proxy = await startDynamoProxy({ target, streams: new Map([[STREAMED, stream]]) });
  client = new DynamoDBClient({
    endpoint: proxy.url,
    region: DYNAMO_REGION,
    credentials: DUMMY_CREDENTIALS,
    maxAttempts: 1,
  });
  doc = documentClient(client);
  for (const TableName of [TABLE, STREAMED])
    await createAndWait(
      client,
      new CreateTableCommand({
        TableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    );
}, 30_000);

afterAll(async () => {
  client?.destroy();
  await proxy?.close();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

/** A partition of its own for each test. */
let pk = '';
beforeEach(() => {
  n++;
  pk = `p${n}`;
});

const get = async (sk: string, table = TABLE) =>
  (await doc.send(new GetCommand({ TableName: table, Key: { pk, sk }, ConsistentRead: true }))).Item;

async function canceled(run: Promise<unknown>): Promise<TransactionCanceledException> {
  const e = await run.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(TransactionCanceledException);
  return e as TransactionCanceledException;
}

describe('TransactWriteItems on the local DynamoDB', () => {
  it('applies every Put, Update, Delete and ConditionCheck when every condition holds', async () => {
    // Prepare
    await doc.send(new PutCommand({ TableName: TABLE, Item: { pk, sk: 'u', n: 1 } }));
    await doc.send(new PutCommand({ TableName: TABLE, Item: { pk, sk: 'd', n: 1 } }));
    await doc.send(new PutCommand({ TableName: TABLE, Item: { pk, sk: 'c', n: 7 } }));

    // Act
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: TABLE,
              Item: { pk, sk: 'new', n: 1 },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          {
            Update: {
              TableName: TABLE,
              Key: { pk, sk: 'u' },
              UpdateExpression: 'ADD n :one',
              ConditionExpression: 'n = :was',
              ExpressionAttributeValues: { ':one': 1, ':was': 1 },
            },
          },
          { Delete: { TableName: TABLE, Key: { pk, sk: 'd' }, ConditionExpression: 'attribute_exists(pk)' } },
          {
            ConditionCheck: {
              TableName: TABLE,
              Key: { pk, sk: 'c' },
              ConditionExpression: 'n = :seven',
              ExpressionAttributeValues: { ':seven': 7 },
            },
          },
        ],
      }),
    );

    // Assess
    expect(await get('new')).toEqual({ pk, sk: 'new', n: 1 });
    expect(await get('u')).toEqual({ pk, sk: 'u', n: 2 });
    expect(await get('d')).toBeUndefined();
    expect(await get('c')).toEqual({ pk, sk: 'c', n: 7 });
  });

  it('cancels the whole transaction on a failed condition, with one reason per item and the old item when asked', async () => {
    // Prepare
    await doc.send(new PutCommand({ TableName: TABLE, Item: { pk, sk: 'taken', n: 1 } }));
    await doc.send(new PutCommand({ TableName: TABLE, Item: { pk, sk: 'u', n: 1 } }));

    // Act
    const e = await canceled(
      doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: TABLE,
                Item: { pk, sk: 'fresh', n: 1 },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Update: {
                TableName: TABLE,
                Key: { pk, sk: 'u' },
                UpdateExpression: 'SET n = :two',
                ExpressionAttributeValues: { ':two': 2 },
              },
            },
            {
              Put: {
                TableName: TABLE,
                Item: { pk, sk: 'taken', n: 2 },
                ConditionExpression: 'attribute_not_exists(pk)',
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            {
              ConditionCheck: {
                TableName: TABLE,
                Key: { pk, sk: 'absent' },
                ConditionExpression: 'attribute_exists(pk)',
              },
            },
          ],
        }),
      ),
    );

    // Assess: nothing landed, and the reasons say which conditions failed
    expect(e.CancellationReasons).toEqual([
      { Code: 'None' },
      { Code: 'None' },
      {
        Code: 'ConditionalCheckFailed',
        Message: 'The conditional request failed',
        Item: { pk: { S: pk }, sk: { S: 'taken' }, n: { N: '1' } },
      },
      { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' },
    ]);
    expect(e.message).toBe(
      'Transaction cancelled, please refer cancellation reasons for specific reasons [None, None, ConditionalCheckFailed, ConditionalCheckFailed]',
    );
    expect(await get('fresh')).toBeUndefined();
    expect(await get('u')).toEqual({ pk, sk: 'u', n: 1 });
    expect(await get('taken')).toEqual({ pk, sk: 'taken', n: 1 });
  });

  it.each([
    [
      'more than 100 items',
      Array.from({ length: 101 }, (_, i) => ({ Put: { TableName: TABLE, Item: { pk: 'v', sk: `${i}` } } })),
      /Member must have length less than or equal to 100/,
    ],
    [
      'two operations on one item',
      [
        { Put: { TableName: TABLE, Item: { pk: 'v', sk: 'same', n: 1 } } },
        { Delete: { TableName: TABLE, Key: { pk: 'v', sk: 'same' } } },
      ],
      /^Transaction request cannot include multiple operations on one item$/,
    ],
    [
      'an item with two operations',
      [
        {
          Put: { TableName: TABLE, Item: { pk: 'v', sk: 'a' } },
          Delete: { TableName: TABLE, Key: { pk: 'v', sk: 'b' } },
        },
      ],
      /^TransactItems can only contain one of Check, Put, Update or Delete$/,
    ],
  ])('refuses %s with a ValidationException and writes nothing', async (_name, TransactItems, message) => {
    // Act
    const e = await doc.send(new TransactWriteCommand({ TransactItems: TransactItems as never })).then(
      () => undefined,
      (err: Error) => err,
    );

    // Assess
    expect(e?.name).toBe('ValidationException');
    expect(e?.message).toMatch(message);
    expect(
      (await doc.send(new GetCommand({ TableName: TABLE, Key: { pk: 'v', sk: '0' }, ConsistentRead: true })))
        .Item,
    ).toBeUndefined();
    expect(
      (await doc.send(new GetCommand({ TableName: TABLE, Key: { pk: 'v', sk: 'a' }, ConsistentRead: true })))
        .Item,
    ).toBeUndefined();
  });

  it('serializes concurrent transactions on one item: each condition sees the other transaction whole', async () => {
    // Prepare: 20 transactions each bump a counter conditioned on the value it read, plus an item of its own
    await doc.send(new PutCommand({ TableName: TABLE, Item: { pk, sk: 'counter', n: 0 } }));
    const bump = (i: number) =>
      doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: TABLE,
                Key: { pk, sk: 'counter' },
                UpdateExpression: 'ADD n :one',
                ExpressionAttributeValues: { ':one': 1 },
              },
            },
            {
              Put: {
                TableName: TABLE,
                Item: { pk, sk: `own-${i}` },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      );
    // and one that fails, racing them: its rollback must not undo anyone's increment
    const failing = doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: TABLE,
              Key: { pk, sk: 'counter' },
              UpdateExpression: 'ADD n :hundred',
              ExpressionAttributeValues: { ':hundred': 100 },
            },
          },
          {
            ConditionCheck: {
              TableName: TABLE,
              Key: { pk, sk: 'nope' },
              ConditionExpression: 'attribute_exists(pk)',
            },
          },
        ],
      }),
    );

    // Act
    const [rejected] = await Promise.all([
      canceled(failing),
      ...Array.from({ length: 20 }, (_, i) => bump(i)),
      ...Array.from({ length: 20 }, () =>
        doc.send(
          new UpdateCommand({
            TableName: TABLE,
            Key: { pk, sk: 'counter' },
            UpdateExpression: 'ADD n :ten',
            ExpressionAttributeValues: { ':ten': 10 },
          }),
        ),
      ),
    ]);

    // Assess
    expect(rejected.CancellationReasons?.map((r) => r.Code)).toEqual(['None', 'ConditionalCheckFailed']);
    expect(await get('counter')).toEqual({ pk, sk: 'counter', n: 20 + 200 });
  });

  it('records each written item in the stream of its table, and nothing for a canceled transaction', async () => {
    // Prepare
    await doc.send(new PutCommand({ TableName: STREAMED, Item: { pk, sk: 'old', v: 1 } }));

    // Act
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: STREAMED, Item: { pk, sk: 'a', v: 1 } } },
          {
            Update: {
              TableName: STREAMED,
              Key: { pk, sk: 'old' },
              UpdateExpression: 'SET v = :two',
              ExpressionAttributeValues: { ':two': 2 },
            },
          },
          {
            ConditionCheck: {
              TableName: TABLE,
              Key: { pk, sk: 'x' },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          { Put: { TableName: TABLE, Item: { pk, sk: 'not-streamed' } } },
        ],
      }),
    );
    await canceled(
      doc.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: STREAMED, Item: { pk, sk: 'b', v: 1 } } },
            {
              Put: {
                TableName: STREAMED,
                Item: { pk, sk: 'a', v: 9 },
                ConditionExpression: 'v = :zero',
                ExpressionAttributeValues: { ':zero': 0 },
              },
            },
          ],
        }),
      ),
    );

    // Assess
    expect(
      stream.records
        .filter((r) => (r.dynamodb.Keys.pk as { S?: string } | undefined)?.S === pk)
        .map((r) => [r.eventName, r.dynamodb.Keys.sk, r.dynamodb.OldImage?.v, r.dynamodb.NewImage?.v]),
    ).toEqual([
      ['INSERT', { S: 'old' }, undefined, { N: '1' }],
      ['INSERT', { S: 'a' }, undefined, { N: '1' }],
      ['MODIFY', { S: 'old' }, { N: '1' }, { N: '2' }],
    ]);
    expect(await get('b', STREAMED)).toBeUndefined();
  });

  it("answers a Put dynalite refuses with dynalite's own error and writes none of the transaction", async () => {
    // Prepare: 30 puts whose conditions hold (two BatchWriteItem calls' worth), and one put dynalite refuses:
    // a key of the wrong type (refused when the items are read), or an item over 400 KB (refused when written).
    const puts = Array.from({ length: 30 }, (_, i) => ({
      Put: {
        TableName: TABLE,
        Item: { pk: { S: pk }, sk: { S: `k${i}` } },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    }));
    const refusal = async (item: Record<string, unknown>) => {
      const refused = { Put: { TableName: TABLE, Item: item } };
      return client
        .send(
          new TransactWriteItemsCommand({
            TransactItems: [...puts.slice(0, 20), refused, ...puts.slice(20)],
          } as never),
        )
        .then(
          () => undefined,
          (err: unknown) => err as Error,
        );
    };

    // Act
    const wrongKey = await refusal({ pk: { S: pk }, sk: { N: '1' } });
    const tooLarge = await refusal({
      pk: { S: pk },
      sk: { S: 'large' },
      data: { S: 'x'.repeat(410 * 1024) },
    });

    // Assess
    expect([wrongKey?.name, wrongKey?.message]).toEqual([
      'ValidationException',
      'The provided key element does not match the schema',
    ]);
    expect([tooLarge?.name, tooLarge?.message]).toEqual([
      'ValidationException',
      'Item size has exceeded the maximum allowed size',
    ]);
    for (let i = 0; i < 30; i++) expect(await get(`k${i}`)).toBeUndefined();
    expect(await get('large')).toBeUndefined();
  });

  it('applies a transaction once per ClientRequestToken and refuses the token with other parameters', async () => {
    // Prepare
    const raw = (n: number) =>
      new TransactWriteItemsCommand({
        ClientRequestToken: `token-${pk}`,
        TransactItems: [
          {
            Update: {
              TableName: TABLE,
              Key: { pk: { S: pk }, sk: { S: 'once' } },
              UpdateExpression: 'ADD n :n',
              ExpressionAttributeValues: { ':n': { N: String(n) } },
            },
          },
        ],
      });

    // Act
    await client.send(raw(1));
    await client.send(raw(1));
    const mismatch = await client.send(raw(2)).then(
      () => undefined,
      (e: Error) => e,
    );

    // Assess
    expect(await get('once')).toEqual({ pk, sk: 'once', n: 1 });
    expect(mismatch?.name).toBe('IdempotentParameterMismatchException');
  });
});

describe('single-item writes on the local DynamoDB', () => {
  it('answers a failed conditional PutItem with the item found when ReturnValuesOnConditionCheckFailure is ALL_OLD', async () => {
    // Prepare
    await doc.send(new PutCommand({ TableName: TABLE, Item: { pk, sk: 'one', n: 1 } }));
    const put = (ReturnValuesOnConditionCheckFailure?: 'ALL_OLD') =>
      doc
        .send(
          new PutCommand({
            TableName: TABLE,
            Item: { pk, sk: 'one', n: 2 },
            ConditionExpression: 'attribute_not_exists(pk)',
            ReturnValuesOnConditionCheckFailure,
          }),
        )
        .then(
          () => undefined,
          (e: ConditionalCheckFailedException) => e,
        );

    // Act
    const asked = await put('ALL_OLD');
    const unasked = await put();

    // Assess
    expect(asked).toBeInstanceOf(ConditionalCheckFailedException);
    expect(asked?.Item).toEqual({ pk: { S: pk }, sk: { S: 'one' }, n: { N: '1' } });
    expect(unasked).toBeInstanceOf(ConditionalCheckFailedException);
    expect(unasked?.Item).toBeUndefined();
    expect(await get('one')).toEqual({ pk, sk: 'one', n: 1 });
  });
});
