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
 */
import { randomUUID } from 'node:crypto';
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FaultInjector } from './faults.js';

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
  readonly faults: FaultInjector;
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
      const decision = await opts.faults.before(operation, input);
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
    }
    await forward(req, body, res);
  }

  function forward(req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
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
          answer.on('end', resolve);
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
