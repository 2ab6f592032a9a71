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
 * Tables with a stream (`streams`): every successful write (PutItem, UpdateItem, DeleteItem, BatchWriteItem,
 * TransactWriteItems) is also recorded in the table's stream (local/streams.ts). Under a lock per item, the
 * proxy reads the item (consistent GetItem) before and after the write and appends what changed, so two
 * writers of one item through the proxy never mix their images up.
 */
import { randomUUID } from 'node:crypto';
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
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
      const writes = opts.streams?.size ? streamedWrites(op, input, opts.streams) : [];
      if (writes.length > 0) {
        await captured(req, body, res, writes);
        return;
      }
    }
    await forward(req, body, res);
  }

  /** Forwards a write while holding its items, and appends what it changed to the tables' streams. */
  async function captured(
    req: IncomingMessage,
    body: Buffer,
    res: ServerResponse,
    writes: readonly StreamedWrite[],
  ): Promise<void> {
    const lockKeys = writes.map((w) => `${w.table}\u0000${JSON.stringify(w.key)}`);
    const auth = req.headers.authorization;
    await locks.with(lockKeys, async () => {
      const before = await Promise.all(writes.map((w) => readItem(w, auth)));
      const status = await forward(req, body, res);
      if (status !== 200) return;
      const after = await Promise.all(writes.map((w) => readItem(w, auth)));
      writes.forEach((w, i) => {
        w.stream.append(before[i], after[i]);
      });
    });
  }

  /** A consistent GetItem of one item, straight from dynalite. */
  function readItem(w: StreamedWrite, authorization: string | undefined): Promise<AttributeMap | undefined> {
    const payload = Buffer.from(JSON.stringify({ TableName: w.table, Key: w.key, ConsistentRead: true }));
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
            'x-amz-target': `${TARGET_PREFIX}GetItem`,
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
            if (answer.statusCode !== 200) {
              reject(new Error(`stream capture: GetItem ${w.table} answered ${answer.statusCode}: ${text}`));
              return;
            }
            resolve((JSON.parse(text) as { Item?: AttributeMap }).Item);
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
          res.writeHead(answer.statusCode ?? 502, answer.headers);
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

/** One item a write touches, in a table with a stream. */
interface StreamedWrite {
  readonly table: string;
  readonly key: AttributeMap;
  readonly stream: TableStream;
}

/** The items of streamed tables that a write operation touches (none for reads and other tables). */
function streamedWrites(
  op: string,
  input: unknown,
  streams: ReadonlyMap<string, TableStream>,
): StreamedWrite[] {
  const out: StreamedWrite[] = [];
  const add = (table: unknown, item: unknown) => {
    const stream = typeof table === 'string' ? streams.get(table) : undefined;
    if (stream && item && typeof item === 'object')
      out.push({ table: table as string, key: stream.keyOf(item as AttributeMap), stream });
  };
  const i = (input ?? {}) as Record<string, unknown>;
  switch (op) {
    case 'PutItem':
      add(i.TableName, i.Item);
      break;
    case 'UpdateItem':
    case 'DeleteItem':
      add(i.TableName, i.Key);
      break;
    case 'BatchWriteItem':
      for (const [table, requests] of Object.entries((i.RequestItems ?? {}) as Record<string, unknown[]>))
        for (const r of requests as Record<string, { Item?: unknown; Key?: unknown }>[])
          add(table, r.PutRequest?.Item ?? r.DeleteRequest?.Key);
      break;
    case 'TransactWriteItems':
      for (const item of (i.TransactItems ?? []) as Record<string, Record<string, unknown>>[]) {
        if (item.Put) add(item.Put.TableName, item.Put.Item);
        if (item.Update) add(item.Update.TableName, item.Update.Key);
        if (item.Delete) add(item.Delete.TableName, item.Delete.Key);
      }
      break;
  }
  return out;
}

/** An awsJson1.0 error as DynamoDB sends it, with the CRC32 of the body DynamoDB clients may check. */
function respondError(res: ServerResponse, status: number, type: string, message: string): void {
  const body = Buffer.from(JSON.stringify({ __type: `${NAMESPACE}#${type}`, message }), 'utf8');
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
