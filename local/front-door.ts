/**
 * The organization's front door: one HTTP endpoint for every account and region of a local organization
 * (local/org.ts). Every function and CLI of every environment points AWS_ENDPOINT_URL and
 * AWS_ENDPOINT_URL_DYNAMODB here, each with its own access key (`LOCAL<12-digit account>`), and the front door
 * sends each request to the right environment's servers, as AWS's regional endpoints and account boundaries
 * would:
 *
 * - by the resource a request names when it names one by ARN in another environment: a PutEvents entry's
 *   `EventBusName`, an SNS `TopicArn`, a DynamoDB `TableName` (cross-account DynamoDB is reached by table ARN);
 * - otherwise by the SigV4 `Authorization` header: the account from the access key, the region from the
 *   credential scope.
 *
 * DynamoDB calls that name another account's table are checked against that table's resource policy (the
 * template's `ResourcePolicy`: actions, principals, `aws:PrincipalOrgID`, `dynamodb:LeadingKeys`) and refused
 * with AccessDeniedException as DynamoDB refuses them; allowed ones reach dynalite with the plain table name,
 * and the ARN is put back in the answer's table-keyed maps. The resource-policy evaluator here is also the
 * one the events service uses for bus policies.
 */
import { randomUUID } from 'node:crypto';
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerInCallerClock } from './caller-clock.js';
import { crc32 } from './dynamo-proxy.js';
import { principalMatches } from './function-url.js';
import type { LocalEnvironment, PolicyStatement, TableDef } from './template.js';

/** The local organization's id: every local account belongs to it unless a test says otherwise. */
export const LOCAL_ORGANIZATION_ID = 'o-local0example';

/** Which accounts belong to the local organization, and its id (for `aws:PrincipalOrgID`). */
export interface LocalOrganization {
  readonly id: string;
  isMember(account: string): boolean;
}

/** The organization of a cloud nobody configured: every account is a member. */
export const EVERY_ACCOUNT: LocalOrganization = { id: LOCAL_ORGANIZATION_ID, isMember: () => true };

/** An organization of exactly these accounts. */
export function organizationOf(members: readonly string[], id = LOCAL_ORGANIZATION_ID): LocalOrganization {
  const set = new Set(members);
  return { id, isMember: (account) => set.has(account) };
}

/** The access key an environment's functions and CLI sign with: the account is readable from it. */
export function localAccessKey(account: string): string {
  return `LOCAL${account}`;
}

/** The secret of every local access key (the front door routes by key; nothing checks the secret). */
export const LOCAL_SECRET = 'local/not-a-real-secret';

/** The account an access key belongs to (`LOCAL<12 digits>…`), or undefined for any other key. */
export function accountOfAccessKey(accessKeyId: string | undefined): string | undefined {
  return /^LOCAL(\d{12})/.exec(accessKeyId ?? '')?.[1];
}

/** What the credential scope of a SigV4 Authorization header says. */
export interface CredentialScope {
  readonly accessKeyId: string;
  readonly region: string;
  readonly service: string;
}

/**
 * Reads `AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request, …`. Only the scope is read:
 * the front door routes, it does not authenticate (local/function-url.ts verifies signatures where it matters).
 */
export function credentialScope(authorization: string | undefined): CredentialScope | undefined {
  const m = /Credential=([^/\s,]+)\/\d{8}\/([^/\s,]+)\/([^/\s,]+)\/aws4_request/.exec(authorization ?? '');
  return m ? { accessKeyId: m[1]!, region: m[2]!, service: m[3]! } : undefined;
}

/** The caller's account from a request's Authorization header; `fallback` for keys that name none. */
export function callerAccount(headers: Readonly<Record<string, string>>, fallback: string): string {
  return accountOfAccessKey(credentialScope(headers.authorization)?.accessKeyId) ?? fallback;
}

/** The ARN a local caller of `account` is reported as (every local client signs as this one identity). */
export function callerArn(account: string): string {
  return `arn:aws:iam::${account}:user/local`;
}

// ------------------------------------------------------------------------------------- resource policies

/** What a resource policy is evaluated for. */
export interface PolicyRequest {
  readonly callerAccount: string;
  /** The caller's organization id (`aws:PrincipalOrgID`); absent for an account outside the organization. */
  readonly callerOrgId?: string | undefined;
  /** e.g. `events:PutEvents`, `dynamodb:GetItem`. */
  readonly action: string;
  /** Multi-valued condition keys of the request, e.g. `dynamodb:LeadingKeys`. */
  readonly context?: Readonly<Record<string, readonly string[]>>;
}

/** The outcome of {@link evaluateResourcePolicy}: allowed, with the statement that allowed or denied. */
export interface PolicyOutcome {
  readonly allowed: boolean;
  readonly sid?: string | undefined;
  readonly explicitDeny?: boolean;
}

const glob = (pattern: string) =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i');

function asList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

function principalNames(principal: unknown, caller: { arn: string; accountId: string }): boolean {
  if (principal === '*') return true;
  if (!principal || typeof principal !== 'object') return false;
  return asList((principal as { AWS?: unknown }).AWS).some((p) => principalMatches(p, caller));
}

/** One condition operator over a key's request values: IAM's semantics for the operators local policies use. */
function conditionHolds(operator: string, wanted: string[], values: readonly string[] | undefined): boolean {
  const [set, base] = operator.includes(':') ? (operator.split(':') as [string, string]) : ['', operator];
  const ifExists = base.endsWith('IfExists');
  const op = ifExists ? base.slice(0, -'IfExists'.length) : base;
  const test = (v: string) =>
    wanted.some((w) => {
      switch (op) {
        case 'StringEquals':
        case 'ArnEquals':
          return v === w;
        case 'StringEqualsIgnoreCase':
          return v.toLowerCase() === w.toLowerCase();
        case 'StringLike':
        case 'ArnLike':
          return glob(w).test(v);
        case 'StringNotEquals':
          return v !== w;
        default:
          return false; // an operator the local cloud does not know never holds: fail closed
      }
    });
  if (op === 'Null') return wanted.includes(String(values === undefined || values.length === 0));
  if (set === 'ForAllValues') return (values ?? []).every(test); // true when the key is absent, as in IAM
  if (values === undefined || values.length === 0) return ifExists;
  return values.some(test);
}

/**
 * Evaluates a resource policy for a caller from another account, as IAM does for the resource side: an
 * explicit Deny that matches wins; otherwise an Allow whose action, principal and every condition match;
 * otherwise implicitly denied. Principals: `*`, `{AWS: account | root ARN | ARN | *}`; conditions:
 * `StringEquals`, `StringLike`, `StringEqualsIgnoreCase`, `StringNotEquals`, `ArnEquals`, `ArnLike`, `Null`,
 * with `ForAllValues:`/`ForAnyValue:` and `…IfExists`, over `aws:PrincipalOrgID`, `aws:PrincipalAccount`,
 * `aws:PrincipalArn` and the request's own keys. Unknown operators never hold.
 */
export function evaluateResourcePolicy(
  statements: readonly PolicyStatement[],
  req: PolicyRequest,
): PolicyOutcome {
  const caller = { arn: callerArn(req.callerAccount), accountId: req.callerAccount };
  const keys: Record<string, readonly string[]> = {
    'aws:principalaccount': [req.callerAccount],
    'aws:principalarn': [caller.arn],
    ...(req.callerOrgId ? { 'aws:principalorgid': [req.callerOrgId] } : {}),
    ...Object.fromEntries(Object.entries(req.context ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  };
  const matches = (s: PolicyStatement) =>
    asList(s.Action).some((a) => glob(a).test(req.action)) &&
    principalNames(s.Principal, caller) &&
    Object.entries(s.Condition ?? {}).every(([operator, byKey]) =>
      Object.entries(byKey).every(([key, wanted]) =>
        conditionHolds(operator, asList(wanted), keys[key.toLowerCase()]),
      ),
    );
  const deny = statements.find((s) => s.Effect === 'Deny' && matches(s));
  if (deny) return { allowed: false, sid: deny.Sid, explicitDeny: true };
  const allow = statements.find((s) => s.Effect === 'Allow' && matches(s));
  return allow ? { allowed: true, sid: allow.Sid } : { allowed: false };
}

/** The message AWS gives a caller a resource policy does not admit. */
export function accessDeniedMessage(
  account: string,
  action: string,
  resource: string,
  explicit = false,
): string {
  return explicit
    ? `User: ${callerArn(account)} is not authorized to perform: ${action} on resource: ${resource} with an explicit deny in a resource-based policy`
    : `User: ${callerArn(account)} is not authorized to perform: ${action} on resource: ${resource} because no resource-based policy allows the ${action} action`;
}

// ------------------------------------------------------------------------------------------- DynamoDB

const DYNAMO_PREFIX = 'DynamoDB_20120810.';
const TABLE_ARN = /^arn:aws[\w-]*:dynamodb:([a-z0-9-]+):(\d{12}):table\/([^/]+)$/;

/** A table named by ARN: where it lives. */
interface TableRef {
  readonly arn: string;
  readonly region: string;
  readonly account: string;
  readonly name: string;
}

function tableRef(name: string): TableRef | undefined {
  const m = TABLE_ARN.exec(name);
  return m ? { arn: name, region: m[1]!, account: m[2]!, name: m[3]! } : undefined;
}

type Json = Record<string, unknown>;

/** Every table name a DynamoDB request names, with a function that rewrites them. */
function tableNames(input: Json): string[] {
  const names: string[] = [];
  if (typeof input.TableName === 'string') names.push(input.TableName);
  if (input.RequestItems && typeof input.RequestItems === 'object')
    names.push(...Object.keys(input.RequestItems as Json));
  for (const item of (input.TransactItems as Json[] | undefined) ?? [])
    for (const part of Object.values(item))
      if (part && typeof (part as Json).TableName === 'string')
        names.push((part as Json).TableName as string);
  return names;
}

function renameTables(input: Json, rename: (name: string) => string): Json {
  const out: Json = { ...input };
  if (typeof out.TableName === 'string') out.TableName = rename(out.TableName);
  for (const key of [
    'RequestItems',
    'Responses',
    'UnprocessedItems',
    'UnprocessedKeys',
    'ItemCollectionMetrics',
  ])
    if (out[key] && typeof out[key] === 'object' && !Array.isArray(out[key]))
      out[key] = Object.fromEntries(Object.entries(out[key] as Json).map(([k, v]) => [rename(k), v]));
  if (Array.isArray(out.TransactItems))
    out.TransactItems = (out.TransactItems as Json[]).map((item) =>
      Object.fromEntries(
        Object.entries(item).map(([k, part]) => [
          k,
          part && typeof (part as Json).TableName === 'string'
            ? { ...(part as Json), TableName: rename((part as Json).TableName as string) }
            : part,
        ]),
      ),
    );
  const capacity = out.ConsumedCapacity;
  const renameCapacity = (c: Json) =>
    typeof c.TableName === 'string' ? { ...c, TableName: rename(c.TableName) } : c;
  if (Array.isArray(capacity)) out.ConsumedCapacity = (capacity as Json[]).map(renameCapacity);
  else if (capacity && typeof capacity === 'object') out.ConsumedCapacity = renameCapacity(capacity as Json);
  return out;
}

/** The string or number value of a DynamoDB attribute value (`{S}`, `{N}`, `{B}`). */
function scalar(value: unknown): string | undefined {
  const v = value as { S?: string; N?: string; B?: string } | undefined;
  return v?.S ?? v?.N ?? v?.B;
}

/**
 * `dynamodb:LeadingKeys`: the partition-key values a request reads or writes, for the tables it names by ARN.
 * Key-addressed operations give them exactly; a Query gives the value its key condition compares the
 * partition key with; a Scan gives none (and `ForAllValues` then holds, as in IAM).
 */
export function leadingKeys(
  op: string,
  input: Json,
  partitionKey: (table: string) => string | undefined,
): string[] {
  const out: string[] = [];
  const fromKey = (table: string, key: unknown) => {
    const pk = partitionKey(table);
    const v = pk ? scalar((key as Json | undefined)?.[pk]) : undefined;
    if (v !== undefined) out.push(v);
  };
  const table = typeof input.TableName === 'string' ? input.TableName : '';
  if (['GetItem', 'DeleteItem', 'UpdateItem'].includes(op)) fromKey(table, input.Key);
  if (op === 'PutItem') fromKey(table, input.Item);
  if (op === 'BatchGetItem')
    for (const [t, spec] of Object.entries((input.RequestItems as Json) ?? {}))
      for (const key of ((spec as Json).Keys as unknown[]) ?? []) fromKey(t, key);
  if (op === 'BatchWriteItem')
    for (const [t, writes] of Object.entries((input.RequestItems as Json) ?? {}))
      for (const w of writes as Json[])
        fromKey(t, (w.PutRequest as Json | undefined)?.Item ?? (w.DeleteRequest as Json | undefined)?.Key);
  if (op === 'Query') {
    const pk = partitionKey(table);
    const names = (input.ExpressionAttributeNames as Record<string, string> | undefined) ?? {};
    const values = (input.ExpressionAttributeValues as Json | undefined) ?? {};
    for (const m of String(input.KeyConditionExpression ?? '').matchAll(/([#\w]+)\s*=\s*(:\w+)/g)) {
      const name = names[m[1]!] ?? m[1]!;
      const v = scalar(values[m[2]!]);
      if (name === pk && v !== undefined) out.push(v);
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------------ the server

/** One environment behind the front door. */
export interface FrontDoorRoute extends LocalEnvironment {
  /** The environment's local server (ECR, SQS, SNS, Events, STS, ECS, Lambda, tagging). */
  readonly endpoint: string;
  /** Its DynamoDB (dynalite, or the proxy in front of it). */
  readonly dynamoEndpoint: string;
  /** Its tables by local name, for resource policies and partition keys. */
  readonly tables: ReadonlyMap<string, TableDef>;
}

/** One request the front door answered. */
export interface FrontDoorCall {
  readonly at: number;
  readonly caller: string;
  /** `<account>/<region>` of the environment it went to, or `refused`. */
  readonly to: string;
  readonly operation: string;
  readonly status: number;
  readonly refusal?: string | undefined;
}

/** A running front door. */
export interface FrontDoor {
  /** `http://127.0.0.1:<port>`: AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_DYNAMODB of every environment. */
  readonly url: string;
  /** Every request, oldest first. */
  readonly calls: FrontDoorCall[];
  /** Adds (or replaces) the environment `route.account`/`route.region`. */
  register(route: FrontDoorRoute): void;
  close(): Promise<void>;
}

/** Options of {@link startFrontDoor}. */
export interface FrontDoorOptions {
  readonly organization: LocalOrganization;
  /** Where a request signed with a key that names no account goes (the local principals' keys, `local`). */
  readonly defaultEnvironment: LocalEnvironment;
  readonly log?: (line: string) => void;
}

/** Starts the front door on 127.0.0.1 (a free port); environments are registered as they boot. */
export async function startFrontDoor(opts: FrontDoorOptions): Promise<FrontDoor> {
  const routes = new Map<string, FrontDoorRoute>();
  const calls: FrontDoorCall[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const key = (account: string, region: string) => `${account}/${region}`;

  const server = createServer((req, res) => {
    void handle(req, res).catch((e: Error) => {
      opts.log?.(`front door error: ${e.stack ?? e.message}`);
      if (!res.headersSent)
        answerError(res, 500, 'json', 'InternalFailure', `local front door: ${e.message}`);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    answerInCallerClock(req, res);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body: Buffer = Buffer.concat(chunks);
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(', ') : v;
    };
    const scope = credentialScope(header('authorization'));
    const caller = accountOfAccessKey(scope?.accessKeyId) ?? opts.defaultEnvironment.account;
    const callerRegion = scope?.region ?? opts.defaultEnvironment.region;
    const target = header('x-amz-target') ?? '';
    const record = (to: string, operation: string, status: number, refusal?: string) => {
      calls.push({ at: Date.now(), caller, to, operation, status, refusal });
      opts.log?.(`front door ${caller} ${operation} → ${to} ${status}${refusal ? ` ${refusal}` : ''}`);
    };

    if (target.startsWith(DYNAMO_PREFIX)) {
      const op = target.slice(DYNAMO_PREFIX.length);
      let input: Json;
      try {
        input = JSON.parse(body.toString('utf8') || '{}') as Json;
      } catch {
        input = {};
      }
      const refs = tableNames(input).map(tableRef);
      const named = refs.filter((r): r is TableRef => r !== undefined);
      const envs = new Set(named.map((r) => key(r.account, r.region)));
      if (envs.size > 1) {
        record('refused', `dynamodb:${op}`, 400, 'tables of more than one environment');
        answerError(
          res,
          400,
          'dynamodb',
          'ValidationException',
          'One request may not name tables of two accounts or regions',
        );
        return;
      }
      const routeKey = named[0] ? key(named[0].account, named[0].region) : key(caller, callerRegion);
      const route = routes.get(routeKey);
      if (!route) {
        record('refused', `dynamodb:${op}`, 400, `no environment ${routeKey}`);
        answerError(
          res,
          400,
          'dynamodb',
          named[0] ? 'ResourceNotFoundException' : 'UnrecognizedClientException',
          named[0]
            ? `Requested resource not found: ${named[0].arn}`
            : `No local environment for account ${caller} in ${callerRegion}`,
        );
        return;
      }
      if (named[0] && named[0].account !== caller) {
        const action = `dynamodb:${op}`;
        const partitionKey = (t: string) =>
          route.tables.get(tableRef(t)?.name ?? t)?.keySchema.find((k) => k.KeyType === 'HASH')
            ?.AttributeName;
        for (const ref of named) {
          const table = route.tables.get(ref.name);
          const outcome = evaluateResourcePolicy(
            [...(table?.resourcePolicy ? asStatements(table.resourcePolicy.Statement) : [])],
            {
              callerAccount: caller,
              callerOrgId: opts.organization.isMember(caller) ? opts.organization.id : undefined,
              action,
              context: { 'dynamodb:LeadingKeys': leadingKeys(op, input, partitionKey) },
            },
          );
          if (!outcome.allowed) {
            const message = accessDeniedMessage(caller, action, ref.arn, outcome.explicitDeny);
            record(routeKey, action, 400, 'AccessDeniedException');
            answerError(res, 400, 'dynamodb', 'AccessDeniedException', message);
            return;
          }
        }
      }
      if (named.length === 0) {
        await forward(req, body, res, route.dynamoEndpoint);
        record(routeKey, `dynamodb:${op}`, res.statusCode);
        return;
      }
      const toArn = new Map(named.map((r) => [r.name, r.arn]));
      body = Buffer.from(JSON.stringify(renameTables(input, (n) => tableRef(n)?.name ?? n)), 'utf8');
      const answer = await exchange(req, body, route.dynamoEndpoint);
      let out = answer.body;
      try {
        const parsed = JSON.parse(out.toString('utf8') || '{}') as Json;
        out = Buffer.from(JSON.stringify(renameTables(parsed, (n) => toArn.get(n) ?? n)), 'utf8');
      } catch {
        // not JSON: passed on as is
      }
      const headers = {
        ...answer.headers,
        'content-length': String(out.length),
        'x-amz-crc32': String(crc32(out)),
      };
      res.writeHead(answer.status, headers);
      res.end(out);
      record(routeKey, `dynamodb:${op}`, answer.status);
      return;
    }

    // Everything else: by the ARN of the resource it names in another environment, else by the credentials.
    const text = body.toString('utf8');
    const arn = namedArn(target, header('content-type') ?? '', text);
    const routeKey = arn ? key(arn.account, arn.region) : key(caller, callerRegion);
    const route = routes.get(routeKey);
    const operation = target || new URLSearchParams(text).get('Action') || `${req.method} ${req.url}`;
    if (!route) {
      record('refused', operation, 403, `no environment ${routeKey}`);
      answerError(
        res,
        403,
        'json',
        'UnrecognizedClientException',
        `The security token included in the request is invalid: no local environment for account ${caller} in ${callerRegion}`,
      );
      return;
    }
    await forward(req, body, res, route.endpoint);
    record(routeKey, operation, res.statusCode);
  }

  function exchange(
    req: IncomingMessage,
    body: Buffer,
    endpoint: string,
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
    const url = new URL(endpoint);
    return new Promise((resolve, reject) => {
      const upstream = request(
        {
          hostname: url.hostname,
          port: url.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: url.host, 'content-length': String(body.length) },
          agent,
        },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (c: Buffer) => chunks.push(c));
          answer.on('end', () =>
            resolve({
              status: answer.statusCode ?? 502,
              headers: answer.headers,
              body: Buffer.concat(chunks),
            }),
          );
          answer.on('error', reject);
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });
  }

  async function forward(req: IncomingMessage, body: Buffer, res: ServerResponse, endpoint: string) {
    const answer = await exchange(req, body, endpoint);
    res.writeHead(answer.status, { ...answer.headers, 'content-length': String(answer.body.length) });
    res.end(answer.body);
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
    calls,
    register: (route) => routes.set(key(route.account, route.region), route),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}

function asStatements(s: readonly PolicyStatement[] | PolicyStatement): PolicyStatement[] {
  return Array.isArray(s) ? [...(s as PolicyStatement[])] : [s as PolicyStatement];
}

const ANY_ARN = /^arn:aws[\w-]*:(events|sns):([a-z0-9-]+):(\d{12}):/;

/**
 * The environment a non-DynamoDB request names by ARN: the first PutEvents entry's `EventBusName` (the
 * events service checks every entry against its own buses), or SNS's `TopicArn`.
 */
function namedArn(target: string, contentType: string, body: string): LocalEnvironment | undefined {
  let arn: unknown;
  if (target === 'AWSEvents.PutEvents') {
    try {
      arn = ((JSON.parse(body) as { Entries?: { EventBusName?: unknown }[] }).Entries ?? [])[0]?.EventBusName;
    } catch {
      return undefined;
    }
  } else if (contentType.startsWith('application/x-www-form-urlencoded')) {
    arn = new URLSearchParams(body).get('TopicArn') ?? undefined;
  }
  const m = typeof arn === 'string' ? ANY_ARN.exec(arn) : null;
  return m ? { region: m[2]!, account: m[3]! } : undefined;
}

function answerError(
  res: ServerResponse,
  status: number,
  flavour: 'json' | 'dynamodb',
  type: string,
  message: string,
): void {
  const body = Buffer.from(
    JSON.stringify({
      __type: flavour === 'dynamodb' ? `com.amazonaws.dynamodb.v20120810#${type}` : type,
      message,
    }),
    'utf8',
  );
  res.writeHead(status, {
    'content-type': flavour === 'dynamodb' ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1',
    'content-length': String(body.length),
    'x-amzn-requestid': randomUUID(),
    'x-amzn-errortype': type,
    ...(flavour === 'dynamodb' ? { 'x-amz-crc32': String(crc32(body)) } : {}),
  });
  res.end(body);
}
