/**
 * The local cloud's HTTP front door: one server on 127.0.0.1 that speaks the four wire protocols the
 * project's AWS SDK v3 clients use, so that every client configured with AWS_ENDPOINT_URL=<url> reaches it:
 *
 * - awsJson (POST /, `X-Amz-Target: <prefix>.<Operation>`): ECR, ECS, EventBridge and Resource Groups
 *   Tagging (awsJson1.1), SQS (awsJson1.0 with `awsQueryCompatible`, as @aws-sdk/client-sqs 3.x sends it).
 * - awsQuery (form-encoded POST, `Action=<Operation>`, XML responses): SNS, and STS (GetCallerIdentity,
 *   AssumeRole).
 * - restJson1 (method + path, e.g. `POST /2015-03-31/functions/{FunctionName}/invocations`): Lambda.
 *
 * The server decodes the request, asks the FaultInjector what to inject, calls the service's handler with
 * the decoded input and renders the result or a {@link ServiceError} in that protocol's format. SigV4
 * headers are accepted and ignored: the local cloud has no credentials to check.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerInCallerClock } from './caller-clock.js';
import type { FaultInjector } from './faults.js';

/** The services the local cloud can host. */
export type ServiceName = 'ecr' | 'ecs' | 'sqs' | 'tagging' | 'sns' | 'lambda' | 'sts' | 'events';

/** The request as received, for handlers that need more than the decoded input (Lambda headers, raw bodies). */
export interface RawRequest {
  /** Path without the query string. */
  readonly path: string;
  readonly method: string;
  /** Lower-cased header names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly query: URLSearchParams;
}

/** A handler's answer. `body` is serialised by the protocol: JSON (Dates as epoch seconds) or query XML. */
export interface ServiceResponse {
  /** HTTP status; 200 when omitted. */
  status?: number;
  /**
   * JSON protocols: any JSON value (Date values become epoch-second numbers, the awsJson/restJson default);
   * a string or Uint8Array is sent as is (Lambda Invoke payloads). Query protocol: the `<Op>Result` content.
   */
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * One service's emulator. `op` is the operation name (`DescribeImages`, `Publish`, `Invoke`); `input` is the
 * decoded request: the JSON body (awsJson), the un-flattened form (query: `X.member.N` → arrays,
 * `X.entry.N.{key,value}` → records), or path + query + headers + body members (Lambda).
 */
// biome-ignore lint/suspicious/noExplicitAny: handlers declare their own input types; `unknown` would make every handler's parameter type unassignable.
export type ServiceHandler = (op: string, input: any, raw: RawRequest) => Promise<ServiceResponse>;

/** Options of {@link ServiceError} beyond code, message and status. */
export interface ServiceErrorOptions {
  /** Extra response headers (e.g. Lambda's `Retry-After`). */
  readonly headers?: Record<string, string>;
  /** Extra members of the error body (e.g. Lambda's `Reason`). */
  readonly fields?: Record<string, unknown>;
  /**
   * awsQuery-compatible services (SQS): the legacy query error code sent in `x-amzn-query-error`, e.g.
   * `AWS.SimpleQueueService.NonExistentQueue` for `QueueDoesNotExist`. Defaults to `code`.
   */
  readonly queryCode?: string;
}

/**
 * An error a handler throws to answer with the service's error format: awsJson `{"__type", "message"}` +
 * `X-Amzn-ErrorType`, query `<ErrorResponse><Error><Type/><Code/><Message/>`, restJson `X-Amzn-ErrorType` +
 * `{"message"}`. 4xx are `Sender` faults, 5xx `Receiver` faults.
 */
export class ServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    readonly options: ServiceErrorOptions = {},
  ) {
    super(message);
    this.name = code;
  }
}

/** Options of {@link startLocalServer}. */
export interface LocalServerOptions {
  /** Emulators by service. Read per request, so handlers may be added to the object after start. */
  readonly handlers: Partial<Record<ServiceName, ServiceHandler>>;
  readonly faults?: FaultInjector;
  /** One line per request (`ecr:DescribeImages 200 3ms`) and per unexpected handler error. */
  readonly log?: (line: string) => void;
  /** Port to listen on; 0 (default) picks a free one. */
  readonly port?: number;
}

/** A running local server. */
export interface LocalServer {
  /** `http://127.0.0.1:<port>`: the value for AWS_ENDPOINT_URL or a client's `endpoint`. */
  readonly url: string;
  readonly port: number;
  /** Stops listening and ends every open (keep-alive) connection. */
  close(): Promise<void>;
}

/**
 * Layer downloads. In AWS, ECR's GetDownloadUrlForLayer answers a presigned S3 URL that the client GETs without
 * SigV4. The ECR emulator answers a URL on this server instead, `GET /local-ecr/<registry>/<repository>/blobs/<digest>`,
 * which is routed back to the ECR handler as this pseudo-operation (so faults can be injected into downloads as
 * `ecr:DownloadLayer`); the handler answers the bytes.
 */
export const LAYER_DOWNLOAD_OP = 'DownloadLayer';

/** The path of a layer download URL (see {@link LAYER_DOWNLOAD_OP}). */
export function layerDownloadPath(registryId: string, repositoryName: string, digest: string): string {
  return `/local-ecr/${registryId}/${repositoryName}/blobs/${encodeURIComponent(digest)}`;
}

const LAYER_DOWNLOAD_PATH = /^\/local-ecr\/(\d{12})\/(.+)\/blobs\/([^/]+)$/;

/** X-Amz-Target prefixes of the awsJson services (the SDK's `serviceTarget` values). */
const JSON_TARGETS: readonly (readonly [string, ServiceName])[] = [
  ['AmazonEC2ContainerRegistry_V20150921.', 'ecr'],
  ['AmazonEC2ContainerServiceV20141113.', 'ecs'],
  ['AmazonSQS.', 'sqs'],
  ['ResourceGroupsTaggingAPI_20170126.', 'tagging'],
  ['AWSEvents.', 'events'],
];

/** Namespaces used in awsJson `__type` values where the real service qualifies them. */
const JSON_NAMESPACES: Partial<Record<ServiceName, string>> = { sqs: 'com.amazonaws.sqs' };

/**
 * The errors each service answers throttled or failed calls with; names are the ones in the SDK models
 * (SQS `RequestThrottled` is modelled as HTTP 403 with query code `RequestThrottled`; SNS `Throttled` 429;
 * Lambda `TooManyRequestsException` 429). Every throttling name here is in the SDK's THROTTLING_ERROR_CODES
 * or has status 429, and every server error is a 500, so the standard retry strategy retries them all.
 */
const FAULT_ERRORS: Record<ServiceName, { throttle: () => ServiceError; serverError: () => ServiceError }> = {
  ecr: {
    throttle: () => new ServiceError('ThrottlingException', 'Rate exceeded', 400),
    serverError: () => new ServiceError('ServerException', 'Internal server error (injected)', 500),
  },
  ecs: {
    throttle: () => new ServiceError('ThrottlingException', 'Rate exceeded', 400),
    serverError: () => new ServiceError('ServerException', 'Internal server error (injected)', 500),
  },
  tagging: {
    throttle: () => new ServiceError('ThrottledException', 'Rate exceeded', 400),
    serverError: () => new ServiceError('InternalServiceException', 'Internal service error (injected)', 500),
  },
  sqs: {
    throttle: () => new ServiceError('RequestThrottled', 'Rate exceeded', 403),
    serverError: () => new ServiceError('InternalFailure', 'Internal failure (injected)', 500),
  },
  events: {
    throttle: () => new ServiceError('ThrottlingException', 'Rate exceeded', 400),
    serverError: () => new ServiceError('InternalException', 'Internal error (injected)', 500),
  },
  sts: {
    throttle: () => new ServiceError('Throttling', 'Rate exceeded', 400),
    serverError: () => new ServiceError('InternalFailure', 'Internal failure (injected)', 500),
  },
  sns: {
    throttle: () => new ServiceError('Throttled', 'Rate exceeded', 429),
    serverError: () => new ServiceError('InternalError', 'Internal error (injected)', 500),
  },
  lambda: {
    throttle: () =>
      new ServiceError('TooManyRequestsException', 'Rate Exceeded.', 429, {
        headers: { 'retry-after': '1' },
        fields: { Reason: 'CallerRateLimitExceeded', Type: 'User' },
      }),
    serverError: () =>
      new ServiceError('ServiceException', 'Service error (injected)', 500, { fields: { Type: 'Service' } }),
  },
};

/**
 * Lambda's REST routes (from the @aws-sdk/client-lambda `http` traits) for the operations a local cloud
 * plausibly needs; anything else is answered with UnknownOperationException.
 */
const LAMBDA_ROUTES: readonly (readonly [method: string, template: string, op: string])[] = [
  ['GET', '/2015-03-31/functions', 'ListFunctions'],
  ['GET', '/2015-03-31/functions/{FunctionName}', 'GetFunction'],
  ['GET', '/2015-03-31/functions/{FunctionName}/configuration', 'GetFunctionConfiguration'],
  ['PUT', '/2015-03-31/functions/{FunctionName}/configuration', 'UpdateFunctionConfiguration'],
  ['GET', '/2015-03-31/functions/{FunctionName}/versions', 'ListVersionsByFunction'],
  ['POST', '/2015-03-31/functions/{FunctionName}/versions', 'PublishVersion'],
  ['GET', '/2015-03-31/functions/{FunctionName}/aliases', 'ListAliases'],
  ['GET', '/2015-03-31/functions/{FunctionName}/aliases/{Name}', 'GetAlias'],
  ['POST', '/2015-03-31/functions/{FunctionName}/invocations', 'Invoke'],
  ['POST', '/2014-11-13/functions/{FunctionName}/invoke-async', 'InvokeAsync'],
  ['GET', '/2015-03-31/event-source-mappings', 'ListEventSourceMappings'],
  ['POST', '/2015-03-31/event-source-mappings', 'CreateEventSourceMapping'],
  ['GET', '/2015-03-31/event-source-mappings/{UUID}', 'GetEventSourceMapping'],
  ['PUT', '/2015-03-31/event-source-mappings/{UUID}', 'UpdateEventSourceMapping'],
  ['DELETE', '/2015-03-31/event-source-mappings/{UUID}', 'DeleteEventSourceMapping'],
  ['GET', '/2017-03-31/tags/{Resource}', 'ListTags'],
  ['GET', '/2019-09-30/functions/{FunctionName}/concurrency', 'GetFunctionConcurrency'],
  ['PUT', '/2017-10-31/functions/{FunctionName}/concurrency', 'PutFunctionConcurrency'],
  ['DELETE', '/2017-10-31/functions/{FunctionName}/concurrency', 'DeleteFunctionConcurrency'],
];

const LAMBDA_MATCHERS = LAMBDA_ROUTES.map(([method, template, op]) => {
  const names: string[] = [];
  const pattern = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { method, op, names, regex: new RegExp(`^${pattern}$`) };
});

/** Lambda request headers bound to input members (Invoke / InvokeAsync). */
const LAMBDA_HEADERS: Readonly<Record<string, string>> = {
  'x-amz-invocation-type': 'InvocationType',
  'x-amz-log-type': 'LogType',
  'x-amz-client-context': 'ClientContext',
};

/** A decoded request: which service and operation, and the input for the handler. */
interface Decoded {
  readonly service: ServiceName;
  readonly op: string;
  readonly input: unknown;
  readonly protocol: 'json' | 'query' | 'rest';
  /** awsJson version the client spoke (1.0 for SQS, 1.1 otherwise); echoed in the response content type. */
  readonly jsonVersion?: string;
  /** Why the body could not be decoded (answered with SerializationException). */
  readonly invalid?: string;
}

/**
 * Starts the local cloud's server on 127.0.0.1. Requests for services without a handler are answered with
 * UnknownOperationException (400, not retried) so a missing emulator fails fast instead of timing out.
 */
export async function startLocalServer(opts: LocalServerOptions): Promise<LocalServer> {
  const server = createServer((req, res) => {
    void serve(req, res, opts);
  });
  // The SDK's keep-alive agent reuses sockets; Node's default 5 s server keep-alive closes idle ones while
  // the agent may be writing a new request on them (ECONNRESET "socket hang up"). Outlive the agent instead.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
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
      }),
  };
}

async function serve(req: IncomingMessage, res: ServerResponse, opts: LocalServerOptions): Promise<void> {
  const started = Date.now();
  answerInCallerClock(req, res);
  const requestId = randomUUID();
  let label = `${req.method} ${req.url}`;
  let note = '';
  let decoded: Decoded | undefined;
  try {
    const raw = await readRequest(req);
    decoded = decodeRequest(raw);
    if (!decoded) {
      const body = JSON.stringify({
        __type: 'UnknownOperationException',
        message: `The local cloud does not know ${raw.method} ${raw.path}`,
      });
      send(res, 404, { 'content-type': 'application/json', 'x-amzn-requestid': requestId }, body);
      return;
    }
    const operation = `${decoded.service}:${decoded.op}`;
    label = operation;
    if (decoded.invalid) throw new ServiceError('SerializationException', decoded.invalid);
    const handler = opts.handlers[decoded.service];
    if (!handler) {
      throw new ServiceError(
        'UnknownOperationException',
        `the local cloud has no ${decoded.service} emulator`,
      );
    }
    let input = decoded.input;
    let merge: ((output: unknown) => unknown) | undefined;
    if (opts.faults) {
      const decision = await opts.faults.before(operation, input);
      if (decision.drop) {
        note = ' [dropped]';
        req.socket.destroy();
        return;
      }
      if (decision.fault) {
        note = ` [${decision.fault}]`;
        respondError(res, decoded, requestId, FAULT_ERRORS[decoded.service][decision.fault]());
        return;
      }
      const split = opts.faults.splitBatch(operation, input);
      if (split) {
        note = ' [partial]';
        input = split.input;
        merge = split.merge;
      }
    }
    // Every item failed by injection: the emulator would reject an empty batch, so answer without it.
    const result = input === undefined && merge ? {} : await handler(decoded.op, input, raw);
    const body = merge ? merge(input === undefined ? undefined : result.body) : result.body;
    respondOk(res, decoded, requestId, { ...result, body });
  } catch (e) {
    const error =
      e instanceof ServiceError
        ? e
        : new ServiceError('InternalFailure', `local cloud handler failed: ${(e as Error).message}`, 500);
    if (!(e instanceof ServiceError))
      opts.log?.(`${label} handler error: ${(e as Error).stack ?? String(e)}`);
    note ||= ` ${error.code}`;
    if (decoded) respondError(res, decoded, requestId, error);
    else
      send(
        res,
        error.status,
        { 'content-type': 'application/json' },
        JSON.stringify({ message: error.message }),
      );
  } finally {
    opts.log?.(`${label} ${res.statusCode} ${Date.now() - started}ms${note}`);
  }
}

async function readRequest(req: IncomingMessage): Promise<RawRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return {
    path: url.pathname,
    method: (req.method ?? 'GET').toUpperCase(),
    headers,
    body: Buffer.concat(chunks).toString('utf8'),
    query: url.searchParams,
  };
}

function decodeRequest(raw: RawRequest): Decoded | undefined {
  const target = raw.headers['x-amz-target'];
  if (target) {
    const match = JSON_TARGETS.find(([prefix]) => target.startsWith(prefix));
    if (!match) return undefined;
    const jsonVersion =
      /application\/x-amz-json-(1\.[01])/.exec(raw.headers['content-type'] ?? '')?.[1] ?? '1.1';
    const base = {
      service: match[1],
      op: target.slice(match[0].length),
      protocol: 'json' as const,
      jsonVersion,
    };
    const parsed = parseJson(raw.body);
    return parsed.ok
      ? { ...base, input: parsed.value }
      : { ...base, input: undefined, invalid: parsed.error };
  }
  if ((raw.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    const params = new URLSearchParams(raw.body);
    const action = params.get('Action');
    if (!action) return undefined;
    // STS speaks awsQuery too; the CLI asks it who the caller is (holds and restores name their principal)
    // and assumes a role in another account of a local organization (`plan --account --role`).
    const service = action === 'GetCallerIdentity' || action === 'AssumeRole' ? 'sts' : 'sns';
    return { service, op: action, protocol: 'query', input: unflattenQuery(params) };
  }
  const path = raw.path.length > 1 ? raw.path.replace(/\/+$/, '') : raw.path;
  const layer = raw.method === 'GET' ? LAYER_DOWNLOAD_PATH.exec(path) : null;
  if (layer)
    return {
      service: 'ecr',
      op: LAYER_DOWNLOAD_OP,
      protocol: 'rest',
      input: {
        registryId: layer[1],
        repositoryName: layer[2],
        layerDigest: decodeURIComponent(layer[3] ?? ''),
      },
    };
  for (const route of LAMBDA_MATCHERS) {
    if (route.method !== raw.method) continue;
    const m = route.regex.exec(path);
    if (!m) continue;
    // Presigned-URL SigV4 parameters (X-Amz-Signature, …) are auth, not operation members.
    const input: Record<string, unknown> = Object.fromEntries(
      [...raw.query].filter(([name]) => !name.toLowerCase().startsWith('x-amz-')),
    );
    route.names.forEach((name, i) => {
      input[name] = decodeURIComponent(m[i + 1] ?? '');
    });
    for (const [header, member] of Object.entries(LAMBDA_HEADERS)) {
      const value = raw.headers[header];
      if (value !== undefined) input[member] = value;
    }
    const base = { service: 'lambda' as const, op: route.op, protocol: 'rest' as const };
    // Invoke's payload is the raw body (any bytes the caller sent), not a JSON envelope of members.
    if (route.op === 'Invoke' || route.op === 'InvokeAsync')
      return { ...base, input: { ...input, Payload: raw.body } };
    const parsed = parseJson(raw.body);
    if (!parsed.ok) return { ...base, input, invalid: parsed.error };
    return { ...base, input: { ...input, ...(parsed.value as Record<string, unknown>) } };
  }
  return undefined;
}

function parseJson(body: string): { ok: true; value: unknown } | { ok: false; error: string } {
  if (body.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch (e) {
    return { ok: false, error: `Request body is not valid JSON: ${(e as Error).message}` };
  }
}

/**
 * Turns awsQuery form parameters into the nested input the operation's shape describes:
 * `A.member.1.B=x` → `{A: [{B: 'x'}]}`, `M.entry.1.Name=k&M.entry.1.Value.StringValue=v` →
 * `{M: {k: {StringValue: 'v'}}}` (SNS message attributes use Name/Value, other maps key/value).
 */
export function unflattenQuery(params: URLSearchParams): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  const entryLists = new Set<unknown[]>();
  for (const [key, value] of params) {
    const parts = key.split('.');
    let node: Record<string, unknown> | unknown[] = root;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] ?? '';
      const last = i === parts.length - 1;
      const next = parts[i + 1];
      if ((part === 'member' || part === 'entry') && next !== undefined && /^\d+$/.test(next)) continue;
      const isIndex = /^\d+$/.test(part);
      const slot: string | number = isIndex ? Number(part) - 1 : part;
      if (last) {
        (node as Record<string | number, unknown>)[slot] = value;
        break;
      }
      const listNext = next === 'member' || next === 'entry' || (next !== undefined && /^\d+$/.test(next));
      const container = node as Record<string | number, unknown>;
      if (container[slot] === undefined) {
        const created: Record<string, unknown> | unknown[] = listNext ? [] : {};
        if (next === 'entry') entryLists.add(created as unknown[]);
        container[slot] = created;
      }
      node = container[slot] as Record<string, unknown> | unknown[];
    }
  }
  return mapEntries(root, entryLists) as Record<string, unknown>;
}

function mapEntries(value: unknown, entryLists: Set<unknown[]>): unknown {
  if (Array.isArray(value)) {
    const items = value.filter((v) => v !== undefined).map((v) => mapEntries(v, entryLists));
    if (!entryLists.has(value)) return items;
    const out: Record<string, unknown> = {};
    for (const item of items as Record<string, unknown>[]) {
      const key = item.key ?? item.Name ?? item.Key;
      if (typeof key === 'string') out[key] = item.value ?? item.Value;
    }
    return out;
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, mapEntries(v, entryLists)]),
    );
  }
  return value;
}

/** JSON with Dates as epoch seconds (the awsJson and restJson default timestamp format). */
function toJson(body: unknown): string {
  return JSON.stringify(body ?? {}, function (this: Record<string, unknown>, key, value) {
    const original = this[key];
    return original instanceof Date ? original.getTime() / 1000 : value;
  });
}

const xmlEscape = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c,
  );

/** awsQuery XML of an output value: structures as elements, lists as `<member>` items, Dates as ISO-8601. */
function toXml(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((v) => `<member>${toXml(v)}</member>`).join('');
  if (typeof value === 'object')
    return Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([k, v]) => `<${k}>${toXml(v)}</${k}>`)
      .join('');
  return xmlEscape(String(value));
}

const SNS_XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';

function respondOk(res: ServerResponse, decoded: Decoded, requestId: string, result: ServiceResponse): void {
  const status = result.status ?? 200;
  if (decoded.protocol === 'query') {
    const inner = typeof result.body === 'string' ? result.body : toXml(result.body);
    const xml =
      `<${decoded.op}Response xmlns="${SNS_XMLNS}"><${decoded.op}Result>${inner}</${decoded.op}Result>` +
      `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${decoded.op}Response>`;
    send(res, status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId, ...result.headers }, xml);
    return;
  }
  const contentType =
    decoded.protocol === 'json'
      ? `application/x-amz-json-${decoded.jsonVersion ?? '1.1'}`
      : 'application/json';
  const payload =
    typeof result.body === 'string' || result.body instanceof Uint8Array ? result.body : toJson(result.body);
  send(
    res,
    status,
    { 'content-type': contentType, 'x-amzn-requestid': requestId, ...result.headers },
    payload,
  );
}

function respondError(res: ServerResponse, decoded: Decoded, requestId: string, error: ServiceError): void {
  const fault = error.status >= 500 ? 'Receiver' : 'Sender';
  const headers: Record<string, string> = { 'x-amzn-requestid': requestId, ...error.options.headers };
  if (decoded.protocol === 'query') {
    const xml =
      `<ErrorResponse xmlns="${SNS_XMLNS}"><Error><Type>${fault}</Type><Code>${xmlEscape(error.code)}</Code>` +
      `<Message>${xmlEscape(error.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
    send(res, error.status, { ...headers, 'content-type': 'text/xml' }, xml);
    return;
  }
  headers['x-amzn-errortype'] = error.code;
  const namespace = JSON_NAMESPACES[decoded.service];
  const body: Record<string, unknown> = {
    __type: namespace ? `${namespace}#${error.code}` : error.code,
    message: error.message,
    ...error.options.fields,
  };
  if (decoded.protocol === 'json') {
    headers['content-type'] = `application/x-amz-json-${decoded.jsonVersion ?? '1.1'}`;
    // awsQuery-compatible JSON services (SQS) also carry the legacy code; the SDK prefers it.
    if (decoded.service === 'sqs')
      headers['x-amzn-query-error'] = `${error.options.queryCode ?? error.code};${fault}`;
  } else headers['content-type'] = 'application/json';
  send(res, error.status, headers, JSON.stringify(body));
}

function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: string | Uint8Array,
): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...headers, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}
