/**
 * The local transactions decide a Put's or Delete's condition in the proxy (local/dynalite-conditions.ts) and
 * write the items whose conditions hold in BatchWriteItem calls. That is only right if the decision is always
 * the one dynalite gives the single conditional call: checked here against dynalite itself, on chosen cases
 * and on generated items, conditions and before-images (fast-check).
 */
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DeleteItemCommand,
  type DeleteItemCommandInput,
  DynamoDBClient,
  PutItemCommand,
  type PutItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Decided, decideCondition } from '../../local/dynalite-conditions.js';
import type { AttributeMap } from '../../local/streams.js';
import { createAndWait, DUMMY_CREDENTIALS, DYNAMO_REGION } from '../support/dynamo.js';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (o: Record<string, number>) => Server;

const TABLE = 'Conditions';
let server: Server;
let client: DynamoDBClient;

beforeAll(async () => {
  server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: DYNAMO_REGION,
    credentials: DUMMY_CREDENTIALS,
    maxAttempts: 1,
  });
  await createAndWait(
    client,
    new CreateTableCommand({
      TableName: TABLE,
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
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

let n = 0;

/** What dynalite answers the single call, as a decision: done, condition failed, or refused. */
async function dynaliteSays(
  op: 'Put' | 'Delete',
  request: Record<string, unknown>,
  before: AttributeMap | undefined,
): Promise<Decided> {
  const key = op === 'Put' ? (request.Item as AttributeMap) : (request.Key as AttributeMap);
  await client.send(new DeleteItemCommand({ TableName: TABLE, Key: { pk: key.pk!, sk: key.sk! } as never }));
  if (before) await client.send(new PutItemCommand({ TableName: TABLE, Item: before as never }));
  try {
    if (op === 'Put') await client.send(new PutItemCommand(request as unknown as PutItemCommandInput));
    else await client.send(new DeleteItemCommand(request as unknown as DeleteItemCommandInput));
    return 'holds';
  } catch (e) {
    const name = (e as Error).name;
    if (name === 'ConditionalCheckFailedException') return 'fails';
    if (name === 'ValidationException') return 'undecided';
    throw e;
  }
}

describe('decideCondition', () => {
  it('decides the conditions of the audit store as dynalite does: absent, and version match', () => {
    // Prepare
    const item = { pk: { S: 'IMG#a' }, sk: { S: 'RUN#1' }, v: { N: '1' }, s: { S: 'PENDING' } };
    const put = (extra: Record<string, unknown>) => ({ TableName: TABLE, Item: item, ...extra });
    const absent = put({ ConditionExpression: 'attribute_not_exists(pk)' });
    const version = put({
      ConditionExpression: '#v = :v AND #s <> :deleted',
      ExpressionAttributeNames: { '#v': 'v', '#s': 's' },
      ExpressionAttributeValues: { ':v': { N: '1' }, ':deleted': { S: 'DELETED' } },
    });

    // Act + Assess
    expect(decideCondition('Put', absent, undefined)).toBe('holds');
    expect(decideCondition('Put', absent, item)).toBe('fails');
    expect(decideCondition('Put', version, item)).toBe('holds');
    expect(decideCondition('Put', version, { ...item, v: { N: '2' } })).toBe('fails');
    expect(decideCondition('Put', version, { ...item, s: { S: 'DELETED' } })).toBe('fails');
    expect(decideCondition('Put', version, undefined)).toBe('fails');
    expect(decideCondition('Put', put({}), item)).toBe('holds');
  });

  it('leaves undecided what dynalite would refuse, so that dynalite answers it', () => {
    // Prepare
    const item = { pk: { S: 'a' }, sk: { S: 'b' } };

    // Act + Assess: an unparsable expression, an unused value, a name that is not defined, a too-large item.
    expect(
      decideCondition('Put', { TableName: TABLE, Item: item, ConditionExpression: 'pk = ' }, undefined),
    ).toBe('undecided');
    expect(
      decideCondition(
        'Put',
        {
          TableName: TABLE,
          Item: item,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':unused': { S: 'x' } },
        },
        undefined,
      ),
    ).toBe('undecided');
    expect(
      decideCondition(
        'Delete',
        { TableName: TABLE, Key: item, ConditionExpression: '#missing = :v' },
        undefined,
      ),
    ).toBe('undecided');
    expect(
      decideCondition(
        'Put',
        { TableName: TABLE, Item: { ...item, big: { S: 'x'.repeat(410 * 1024) } } },
        undefined,
      ),
    ).toBe('undecided');
  });

  it('does not change the request it is given', () => {
    // Prepare
    const request = {
      TableName: TABLE,
      Item: { pk: { S: 'a' }, sk: { S: 'b' }, n: { N: '01' } },
      ConditionExpression: 'attribute_not_exists(pk)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    };
    const copy = structuredClone(request);

    // Act
    decideCondition('Put', request, undefined);

    // Assess
    expect(request).toEqual(copy);
  });

  it('decides every generated Put and Delete as dynalite answers the single call', async () => {
    const value = fc.oneof(
      fc.constantFrom('a', 'b', 'PENDING', 'DELETED').map((S) => ({ S })),
      fc.integer({ min: 0, max: 3 }).map((i) => ({ N: String(i) })),
    );
    const attrs = fc.dictionary(fc.constantFrom('v', 's', 'n'), value, { maxKeys: 3 });
    const comparison = fc.record({
      name: fc.constantFrom('v', 's', 'n', 'pk', 'sk'),
      op: fc.constantFrom('=', '<>', '<', '>='),
      value,
    });
    const condition = fc.oneof(
      fc.constant(undefined),
      fc.constantFrom('attribute_not_exists(pk)', 'attribute_exists(pk)', 'attribute_exists(v)').map((e) => ({
        ConditionExpression: e,
      })),
      fc.array(comparison, { minLength: 1, maxLength: 3 }).chain((parts) =>
        fc.constantFrom(' AND ', ' OR ').map((join) => ({
          ConditionExpression: parts.map((p, i) => `#n${i} ${p.op} :v${i}`).join(join),
          ExpressionAttributeNames: Object.fromEntries(parts.map((p, i) => [`#n${i}`, p.name])),
          ExpressionAttributeValues: Object.fromEntries(parts.map((p, i) => [`:v${i}`, p.value])),
        })),
      ),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<'Put' | 'Delete'>('Put', 'Delete'),
        attrs,
        fc.option(attrs, { nil: undefined }),
        condition,
        async (op, written, existing, cond) => {
          n++;
          const key = { pk: { S: `p${n}` }, sk: { S: 's' } };
          const request =
            op === 'Put'
              ? { TableName: TABLE, Item: { ...key, ...written }, ...cond }
              : { TableName: TABLE, Key: key, ...cond };
          const before = existing ? { ...key, ...existing } : undefined;
          expect(decideCondition(op, request, before)).toBe(await dynaliteSays(op, request, before));
        },
      ),
      { numRuns: 150 },
    );
  });
});
