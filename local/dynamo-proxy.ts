/**
 * A fault-injecting proxy in front of dynalite: DynamoDB clients pointed at it (AWS_ENDPOINT_URL_DYNAMODB)
 * see the same FaultInjector the local server applies to ECR, SQS and SNS, under the operation names
 * `dynamodb:<Operation>` taken from the `X-Amz-Target: DynamoDB_20120810.<Operation>` header.
 *
 * Faults are decided before the request reaches dynalite, so a throttled or failed call has no effect (as
 * DynamoDB guarantees for these errors) and the SDK's retry is always safe. They are answered as DynamoDB
 * answers them (awsJson1.0):
 * - throttling: 400 `ProvisionedThroughputExceededException` for item and query operations (what the data
 *   plane returns), `ThrottlingException` for the control plane (CreateTable, DescribeTable, …);
 * - server errors: 500 `InternalServerError`;
 * - `onceBefore` hooks run first and may drop the request (the socket is destroyed without an answer).
 * Everything else is forwarded byte for byte and dynalite's answer is returned as is.
 *
 * Every item write (PutItem, UpdateItem, DeleteItem, BatchWriteItem) and every item read (GetItem,
 * BatchGetItem) is made holding a lock per item, so nothing lands, and nothing is read, between a
 * transaction's writes and its rollback. dynalite has no
 * TransactWriteItems: the proxy runs it (local/dynamo-transactions.ts), all or nothing, with DynamoDB's
 * validation, CancellationReasons and ClientRequestToken. Every DynamoDB client of the local cloud and of the
 * tests reaches dynalite through this proxy (local/cloud.ts, test/support/dynamo.ts), so transactions work
 * everywhere.
 *
 * Tables with a stream (`streams`): every successful write (including each item of a transaction) is also
 * recorded in the table's stream (local/streams.ts). Under the item's lock, the proxy reads the item
 * (consistent GetItem) before and after the write and appends what changed, so two writers of one item
 * through the proxy never mix their images up.
 */
import { randomUUID } from 'node:crypto';
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerInCallerClock, callerDateHeader } from './caller-clock.js';
import {
  type Answer,
  DynamoError,
  type TokenLog,
  type TransactionDeps,
  transactWriteItems,
} from './dynamo-transactions.js';
import type { FaultDecision, FaultInjector } from './faults.js';
import { type AttributeMap, KeyedLock, type TableStream } from './streams.js';

const TARGET_PREFIX = 'DynamoDB_20120810.';
const NAMESPACE = 'com.amazonaws.dynamodb.v20120810';

/** The operations whose throttling DynamoDB reports as ProvisionedThroughputExceededException. */
const DATA_PLANE = new Set([
  'GetItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'Query',
  'Scan',
  'BatchGetItem',
  'BatchWriteItem',
  'TransactGetItems',
  'TransactWriteItems',
  'ExecuteStatement',
  'BatchExecuteStatement',
  'ExecuteTransaction',
]);

export interface DynamoProxyOptions {
  /** dynalite's URL, e.g. `http://127.0.0.1:4567`. */
  readonly target: string;
  /** Faults to inject; none when absent (the proxy is then there for the streams). */
  readonly faults?: FaultInjector | undefined;
  /** The streams of the tables that have one, by table name. */
  readonly streams?: ReadonlyMap<string, TableStream>;
  /** One line per faulted request. */
  readonly log?: (line: string) => void;
}

export interface DynamoProxy {
  /** The proxy's URL: the value for AWS_ENDPOINT_URL_DYNAMODB. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** The error DynamoDB answers a throttled call of `operation` with. */
export function throttleError(operation: string): { status: number; type: string; message: string } {
  return DATA_PLANE.has(operation)
    ? {
        status: 400,
        type: 'ProvisionedThroughputExceededException',
        message:
          'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
      }
    : {
        status: 400,
        type: 'ThrottlingException',
        message: 'Rate of requests exceeds the allowed throughput.',
      };
}

export async function startDynamoProxy(opts: DynamoProxyOptions): Promise<DynamoProxy> {
  const target = new URL(opts.target);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const locks = new KeyedLock();
  const keySchemas = new Map<string, readonly string[]>();
  const tokens: TokenLog = new Map();
  const server = createServer((req, res) => {
    void proxy(req, res).catch((e: Error) => {
      opts.log?.(`dynamo proxy error: ${e.message}`);
      if (!res.headersSent) respondError(res, 500, 'InternalServerError', `local proxy: ${e.message}`);
      else res.destroy();
    });
  });
  // Outlive the SDK's keep-alive sockets (see local/server.ts).
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;

  async function proxy(req: IncomingMessage, res: ServerResponse): Promise<void> {
    answerInCallerClock(req, res);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const header = req.headers['x-amz-target'];
    const amzTarget = Array.isArray(header) ? header[0] : header;
    if (amzTarget?.startsWith(TARGET_PREFIX)) {
      const op = amzTarget.slice(TARGET_PREFIX.length);
      const operation = `dynamodb:${op}`;
      let input: unknown;
      try {
        input = JSON.parse(body.toString('utf8'));
      } catch {
        input = undefined;
      }
      const decision: FaultDecision = opts.faults
        ? await opts.faults.before(operation, input)
        : { drop: false };
      if (decision.drop) {
        opts.log?.(`${operation} [dropped]`);
        req.socket.destroy();
        return;
      }
      if (decision.fault === 'throttle') {
        const e = throttleError(op);
        opts.log?.(`${operation} [throttle]`);
        respondError(res, e.status, e.type, e.message);
        return;
      }
      if (decision.fault === 'serverError') {
        opts.log?.(`${operation} [serverError]`);
        respondError(res, 500, 'InternalServerError', 'Internal server error (injected)');
        return;
      }
      if (op === 'TransactWriteItems') {
        await transaction(input, req.headers.authorization, res);
        return;
      }
      // A table dynalite does not know has no key schema: dynalite answers the call itself.
      const items = await lockedItems(op, input, req.headers.authorization).catch((e: unknown) => {
        if (e instanceof DynamoError) return [];
        throw e;
      });
      const allOld = (input as { ReturnValuesOnConditionCheckFailure?: unknown } | undefined)
        ?.ReturnValuesOnConditionCheckFailure;
      if (items.length === 1 && allOld === 'ALL_OLD' && op !== 'GetItem') {
        await returningOld(op, input as Record<string, unknown>, req.headers.authorization, res, items[0]!);
        return;
      }
      if (items.length > 0) {
        await captured(req, body, res, items);
        return;
      }
    }
    await forward(req, body, res);
  }

  /** Runs a TransactWriteItems request (local/dynamo-transactions.ts) and answers it. */
  async function transaction(input: unknown, auth: string | undefined, res: ServerResponse): Promise<void> {
    try {
      await transactWriteItems(input, transactionDeps(auth), tokens);
      respondJson(res, 200, {});
    } catch (e) {
      if (!(e instanceof DynamoError)) throw e;
      respondError(res, e.status, e.type, e.message, e.extra);
    }
  }

  function transactionDeps(auth: string | undefined): TransactionDeps {
    return {
      call: (operation, payload) => call(operation, payload, auth),
      keyOf: (table, item) => keyOf(table, item, auth),
      lockKey,
      withLocks: (keys, fn) => locks.with(keys, fn),
      changed: (table, before, after) => {
        opts.streams?.get(table)?.append(before, after);
      },
      streamed: (table) => opts.streams?.has(table) ?? false,
      now: () => Date.now(),
    };
  }

  /**
   * The items an item operation (or a batch of them) touches: every write is made holding its items' locks, so
   * it never lands between a transaction's writes and its rollback, and a GetItem or BatchGetItem never reads a
   * write a transaction is about to undo (DynamoDB's item reads never see a transaction's writes before it
   * commits). Query and Scan take no lock: a transaction's writes may show there as they land (the local
   * proxy's approximation of read committed).
   */
  async function lockedItems(op: string, input: unknown, auth: string | undefined): Promise<LockedItem[]> {
    const touched = itemsOf(op, input);
    return Promise.all(
      touched.map(async ({ table, item }) => {
        const key = await keyOf(table, item, auth);
        const stream = READS.has(op) ? undefined : opts.streams?.get(table);
        return { table, key, lockKey: lockKey(table, key), stream };
      }),
    );
  }

  /** Forwards an operation while holding its items; writes to a table with a stream are appended to it. */
  async function captured(
    req: IncomingMessage,
    body: Buffer,
    res: ServerResponse,
    items: readonly LockedItem[],
  ): Promise<void> {
    const auth = req.headers.authorization;
    const streamed = items.filter((w): w is LockedItem & { stream: TableStream } => w.stream !== undefined);
    await locks.with(
      items.map((w) => w.lockKey),
      async () => {
        const before = await Promise.all(streamed.map((w) => readItem(w, auth)));
        const status = await forward(req, body, res);
        if (status !== 200 || streamed.length === 0) return;
        const after = await Promise.all(streamed.map((w) => readItem(w, auth)));
        streamed.forEach((w, i) => {
          w.stream.append(before[i], after[i]);
        });
      },
    );
  }

  /**
   * A single-item write with `ReturnValuesOnConditionCheckFailure: ALL_OLD` (dynalite ignores it): under the
   * item's lock, the item is read before the write, and a failed condition is answered with it, as DynamoDB
   * answers (ConditionalCheckFailedException with `Item`).
   */
  async function returningOld(
    op: string,
    input: Record<string, unknown>,
    auth: string | undefined,
    res: ServerResponse,
    item: LockedItem,
  ): Promise<void> {
    const { ReturnValuesOnConditionCheckFailure: _old, ...forwarded } = input;
    await locks.with([item.lockKey], async () => {
      const before = await readItem(item, auth);
      const answer = await call(op, forwarded, auth);
      if (answer.status === 200) {
        if (item.stream) item.stream.append(before, await readItem(item, auth));
        respondJson(res, 200, answer.body);
        return;
      }
      const failed = String(answer.body.__type ?? '').endsWith('#ConditionalCheckFailedException');
      respondJson(res, answer.status, failed && before ? { ...answer.body, Item: before } : answer.body);
    });
  }

  /** The key attributes of a table (partition key first), from DescribeTable, once per table. */
  async function keyNames(table: string, auth: string | undefined): Promise<readonly string[]> {
    const known = opts.streams?.get(table)?.keyNames ?? keySchemas.get(table);
    if (known) return known;
    const answer = await call('DescribeTable', { TableName: table }, auth);
    if (answer.status !== 200)
      throw new DynamoError(
        answer.status,
        String(answer.body.__type ?? 'ResourceNotFoundException')
          .split('#')
          .pop()!,
        String(answer.body.message ?? answer.body.Message ?? `table ${table} not found`),
      );
    const schema = ((answer.body.Table as { KeySchema?: { AttributeName: string; KeyType: string }[] })
      ?.KeySchema ?? []) as { AttributeName: string; KeyType: string }[];
    const names = [...schema]
      .sort((a, b) => (a.KeyType === 'HASH' ? -1 : b.KeyType === 'HASH' ? 1 : 0))
      .map((k) => k.AttributeName);
    keySchemas.set(table, names);
    return names;
  }

  async function keyOf(table: string, item: AttributeMap, auth: string | undefined): Promise<AttributeMap> {
    const names = await keyNames(table, auth);
    return Object.fromEntries(names.filter((k) => item[k] !== undefined).map((k) => [k, item[k]]));
  }

  /** A consistent GetItem of one item, straight from dynalite. */
  async function readItem(
    w: LockedItem,
    authorization: string | undefined,
  ): Promise<AttributeMap | undefined> {
    const answer = await call(
      'GetItem',
      { TableName: w.table, Key: w.key, ConsistentRead: true },
      authorization,
    );
    if (answer.status !== 200)
      throw new Error(
        `stream capture: GetItem ${w.table} answered ${answer.status}: ${JSON.stringify(answer.body)}`,
      );
    return answer.body.Item as AttributeMap | undefined;
  }

  /** One call straight to dynalite (no fault, no lock): the proxy's own reads and a transaction's writes. */
  function call(
    operation: string,
    input: Record<string, unknown>,
    authorization: string | undefined,
  ): Promise<Answer> {
    const payload = Buffer.from(JSON.stringify(input));
    return new Promise((resolve, reject) => {
      const upstream = request(
        {
          protocol: target.protocol,
          hostname: target.hostname,
          port: target.port,
          method: 'POST',
          path: '/',
          headers: {
            host: target.host,
            'content-type': 'application/x-amz-json-1.0',
            'x-amz-target': `${TARGET_PREFIX}${operation}`,
            'content-length': String(payload.length),
            authorization:
              authorization ??
              'AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
            'x-amz-date': '20200101T000000Z',
          },
          agent,
        },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (c: Buffer) => chunks.push(c));
          answer.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              resolve({
                status: answer.statusCode ?? 502,
                body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
              });
            } catch {
              reject(new Error(`${operation} answered ${answer.statusCode}: ${text}`));
            }
          });
          answer.on('error', reject);
        },
      );
      upstream.on('error', reject);
      upstream.end(payload);
    });
  }

  function forward(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<number> {
    return new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: target.host, 'content-length': String(body.length) };
      const upstream = request(
        {
          protocol: target.protocol,
          hostname: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers,
          agent,
        },
        (answer) => {
          // dynalite's Date is the machine's: the answer's is the caller's clock (local/caller-clock.ts).
          const date = callerDateHeader(req);
          res.writeHead(answer.statusCode ?? 502, date ? { ...answer.headers, date } : answer.headers);
          answer.pipe(res);
          answer.on('end', () => resolve(answer.statusCode ?? 502));
          answer.on('error', reject);
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}

/** The item reads that take their items' locks (so they never see a write a transaction is about to undo). */
const READS = new Set(['GetItem', 'BatchGetItem']);

/** One item an operation touches, the key its lock is taken by, and its table's stream (writes only). */
interface LockedItem {
  readonly table: string;
  readonly key: AttributeMap;
  readonly lockKey: string;
  readonly stream?: TableStream | undefined;
}

/** The lock of one item: its table and key values in key-schema order (the same for a key and a whole item). */
function lockKey(table: string, key: AttributeMap): string {
  return `${table}\u0000${JSON.stringify(Object.values(key))}`;
}

/**
 * The items a single-item operation or a BatchWriteItem touches (as whole items or keys), none for other
 * operations (TransactWriteItems is run by the proxy itself).
 */
function itemsOf(op: string, input: unknown): { table: string; item: AttributeMap }[] {
  const out: { table: string; item: AttributeMap }[] = [];
  const add = (table: unknown, item: unknown) => {
    if (typeof table === 'string' && item && typeof item === 'object')
      out.push({ table, item: item as AttributeMap });
  };
  const i = (input ?? {}) as Record<string, unknown>;
  switch (op) {
    case 'PutItem':
      add(i.TableName, i.Item);
      break;
    case 'GetItem':
    case 'UpdateItem':
    case 'DeleteItem':
      add(i.TableName, i.Key);
      break;
    case 'BatchGetItem':
      for (const [table, request] of Object.entries((i.RequestItems ?? {}) as Record<string, unknown>)) {
        const keys = (request as { Keys?: unknown } | undefined)?.Keys;
        if (Array.isArray(keys)) for (const key of keys) add(table, key);
      }
      break;
    case 'BatchWriteItem':
      for (const [table, requests] of Object.entries((i.RequestItems ?? {}) as Record<string, unknown>))
        if (Array.isArray(requests))
          for (const r of requests as Record<string, { Item?: unknown; Key?: unknown } | undefined>[])
            add(table, r?.PutRequest?.Item ?? r?.DeleteRequest?.Key);
      break;
  }
  return out;
}

/** An awsJson1.0 error as DynamoDB sends it, with the CRC32 of the body DynamoDB clients may check. */
function respondError(
  res: ServerResponse,
  status: number,
  type: string,
  message: string,
  extra: Record<string, unknown> = {},
): void {
  // DynamoDB names the message `Message` in a TransactionCanceledException, `message` elsewhere.
  const text = type === 'TransactionCanceledException' ? { Message: message } : { message };
  respondJson(res, status, { __type: `${NAMESPACE}#${type}`, ...text, ...extra });
}

/** An awsJson1.0 answer with DynamoDB's headers. */
function respondJson(res: ServerResponse, status: number, payload: Record<string, unknown>): void {
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': String(body.length),
    'x-amzn-requestid': randomUUID(),
    'x-amz-crc32': String(crc32(body)),
  });
  res.end(body);
}

let table: Uint32Array | undefined;

/** CRC-32 (IEEE), as DynamoDB's `x-amz-crc32` header carries it. */
export function crc32(data: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of data) crc = table[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
