/**
 * A real DynamoDB for tests: dynalite (an in-memory implementation of the DynamoDB API) started in-process on
 * a random 127.0.0.1 port, behind the local proxy that runs TransactWriteItems (`endpoint` is the proxy's), with ECR Steward's audit table (pk/sk and the byRepository, byRun, byDay, byDue and
 * openByRepository indexes of functions/shared/audit/store.ts, as lib/constructs/audit-tables.ts defines them)
 * and state table (pk/sk).
 *
 *   const db = await startDynamo();          // beforeAll
 *   const tables = await db.createTables();  // fresh, empty tables for one test (optional)
 *   await db.close();                        // afterAll
 */

import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type GlobalSecondaryIndex,
} from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { VERDICT_INDEXES } from '../../functions/scan-gate/verdicts.js';
import { AUDIT_INDEXES, documentClient } from '../../functions/shared/audit/store.js';
import { startDynamoProxy } from '../../local/dynamo-proxy.js';

// dynalite is CommonJS and ships no types: (options) => http.Server.
const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}) => Server;

export const DYNAMO_REGION = 'us-east-1';
export const DUMMY_CREDENTIALS = { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' } as const;

export interface Tables {
  readonly audit: string;
  readonly state: string;
}

export interface Dynamo {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  /** The document client ECR Steward's stores use (removeUndefinedValues), pointed at dynalite. */
  readonly doc: DynamoDBDocumentClient;
  /** The tables created at start: `audit` and `state`. */
  readonly tables: Tables;
  /** Creates another, empty pair of tables (unique names) so a test starts from nothing. */
  createTables(prefix?: string): Promise<Tables>;
  /** Every item of a table (test assertions). */
  scan(table: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

const S = 'S' as const;
const attribute = (AttributeName: string): AttributeDefinition => ({ AttributeName, AttributeType: S });
const keySchema = (hash: string, range: string) => [
  { AttributeName: hash, KeyType: 'HASH' as const },
  { AttributeName: range, KeyType: 'RANGE' as const },
];
const index = (IndexName: string, hash: string, range: string): GlobalSecondaryIndex => ({
  IndexName,
  KeySchema: keySchema(hash, range),
  Projection: { ProjectionType: 'ALL' },
});

/** Creates the audit table (pk/sk + 5 GSIs, two of them sparse) and the state table (pk/sk) under the given names. */
/**
 * Creates a table and waits until it and its indexes are ACTIVE: dynalite answers CreateTable with CREATING and
 * flips the status on a timer, so under load the first request could otherwise find no table.
 */
export async function createAndWait(client: DynamoDBClient, command: CreateTableCommand): Promise<void> {
  await client.send(command);
  const TableName = command.input.TableName;
  for (let attempt = 0; attempt < 200; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName }));
    const indexes = Table?.GlobalSecondaryIndexes ?? [];
    if (Table?.TableStatus === 'ACTIVE' && indexes.every((i) => i.IndexStatus === 'ACTIVE')) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`table ${TableName} did not become ACTIVE`);
}

export async function createStewardTables(client: DynamoDBClient, tables: Tables): Promise<void> {
  await createAndWait(
    client,
    new CreateTableCommand({
      TableName: tables.audit,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        'pk',
        'sk',
        'gsi1pk',
        'gsi1sk',
        'gsi2pk',
        'gsi2sk',
        'gsi3pk',
        'gsi3sk',
        'gsi4pk',
        'gsi4sk',
        'gsi5pk',
        'gsi5sk',
      ].map(attribute),
      KeySchema: keySchema('pk', 'sk'),
      GlobalSecondaryIndexes: [
        index(AUDIT_INDEXES.byRepository, 'gsi1pk', 'gsi1sk'),
        index(AUDIT_INDEXES.byRun, 'gsi2pk', 'gsi2sk'),
        index(AUDIT_INDEXES.byDay, 'gsi3pk', 'gsi3sk'),
        index(AUDIT_INDEXES.byDue, 'gsi4pk', 'gsi4sk'),
        index(AUDIT_INDEXES.openByRepository, 'gsi5pk', 'gsi5sk'),
      ],
    }),
  );
  await createAndWait(
    client,
    new CreateTableCommand({
      TableName: tables.state,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: ['pk', 'sk'].map(attribute),
      KeySchema: keySchema('pk', 'sk'),
    }),
  );
}

/**
 * Creates a verdict table as lib/constructs/scan-gate.ts defines it: pk/sk and the sparse quarantine index
 * (VERDICT_INDEXES.quarantined, every attribute projected).
 */
export async function createVerdictTable(client: DynamoDBClient, TableName: string): Promise<void> {
  const { name, partitionKey, sortKey } = VERDICT_INDEXES.quarantined;
  await createAndWait(
    client,
    new CreateTableCommand({
      TableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: ['pk', 'sk', partitionKey, sortKey].map(attribute),
      KeySchema: keySchema('pk', 'sk'),
      GlobalSecondaryIndexes: [index(name, partitionKey, sortKey)],
    }),
  );
}

/**
 * Creates a holds table as functions/shared/holds/store.ts keys it: pk/sk only (holds by repository in one
 * partition, their locators under `HOLDID#<id>`), no index.
 */
export async function createHoldsTable(client: DynamoDBClient, TableName: string): Promise<void> {
  await createAndWait(
    client,
    new CreateTableCommand({
      TableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: ['pk', 'sk'].map(attribute),
      KeySchema: keySchema('pk', 'sk'),
    }),
  );
}

/**
 * Starts dynalite in-process on a random local port behind the local DynamoDB proxy (local/dynamo-proxy.ts,
 * which adds TransactWriteItems, as the local cloud's clients see it) and creates the audit and state tables.
 */
export async function startDynamo(): Promise<Dynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const proxy = await startDynamoProxy({ target: `http://127.0.0.1:${port}` });
  const endpoint = proxy.url;
  const client = new DynamoDBClient({
    endpoint,
    region: DYNAMO_REGION,
    credentials: DUMMY_CREDENTIALS,
    maxAttempts: 1,
  });
  const doc = documentClient(client);
  let counter = 0;
  const createTables = async (prefix = 'steward'): Promise<Tables> => {
    counter++;
    const tables = { audit: `${prefix}-audit-${counter}`, state: `${prefix}-state-${counter}` };
    await createStewardTables(client, tables);
    return tables;
  };
  const tables = await createTables();
  return {
    endpoint,
    client,
    doc,
    tables,
    createTables,
    async scan(table) {
      const items: Record<string, unknown>[] = [];
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await doc.send(new ScanCommand({ TableName: table, ExclusiveStartKey }));
        items.push(...(page.Items ?? []));
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
      return items;
    },
    async close() {
      client.destroy();
      await proxy.close();
      await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    },
  };
}

/** A command as a journal sees it: its class name and its input. */
export interface JournaledCommand {
  readonly constructor: { readonly name: string };
  readonly input: Record<string, unknown>;
}

/**
 * A document client over `client` (as the stores use one) that notes each command it sends, in the order sent:
 * `label(command)` (its class name by default), with `!<error name>` appended when the call is refused. `around`
 * may hold each call's answer back (a test that makes concurrent callers answer abreast).
 */
export function journaled(
  client: DynamoDBClient,
  opts: {
    readonly label?: (command: JournaledCommand) => string;
    readonly around?: (sent: Promise<unknown>) => Promise<unknown>;
  } = {},
): { doc: DynamoDBDocumentClient; calls: string[] } {
  const doc = documentClient(client);
  const calls: string[] = [];
  const label = opts.label ?? ((command: JournaledCommand) => command.constructor.name);
  const send = doc.send.bind(doc) as (command: unknown) => Promise<unknown>;
  doc.send = ((command: JournaledCommand) => {
    const at = calls.push(label(command)) - 1;
    const sent = send(command).catch((e: unknown) => {
      calls[at] += `!${(e as Error).name}`;
      throw e;
    });
    return opts.around ? opts.around(sent) : sent;
  }) as typeof doc.send;
  return { doc, calls };
}
