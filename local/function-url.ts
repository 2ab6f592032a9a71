/**
 * Lambda function URLs on the local cloud, with AWS_IAM auth checked for real. A URL server does what
 * Lambda's front end does before a function sees a request:
 *
 * 1. verifies the SigV4 signature (service `lambda`) against the local principals' keys, recomputing it with
 *    the SDK's own signer (`@smithy/signature-v4`) over the request as received: a body, a query or a header
 *    changed after signing, a stale date, a foreign key or a missing session token is refused;
 * 2. evaluates the function's resource policy (the template's `lambda:InvokeFunctionUrl` permissions);
 * 3. builds the function URL event (payload format 2.0, with `requestContext.authorizer.iam` naming the signer)
 *    and invokes the function synchronously;
 * 4. turns the function's answer into the HTTP response, inferring the format as Lambda does.
 *
 * Refusals answer `{"Message":"Forbidden","error":{"code":C,"message":M}}`: AWS's body plus the reason, so a
 * test or a person sees which check failed. The checks are pure functions (`verifySigV4`,
 * `evaluateUrlPolicy`, `functionUrlEvent`, `functionUrlResponse`); the server only wires them to HTTP.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { REFUSAL_STATUS, type RefusalCode } from '../functions/shared/approvals/model.js';
import type { InvokeResult } from './functions.js';
import type { LocalPrincipal } from './principals.js';
import { LOCAL_ACCOUNT, LOCAL_REGION, type UrlPermissionDef } from './template.js';

/** How far the signed `x-amz-date` may be from the server's clock, either way (AWS: 15 minutes). */
export const SIGNATURE_MAX_SKEW_MS = 15 * 60_000;

/** The largest request body a function URL accepts (Lambda's synchronous payload limit, 6 MB). */
export const MAX_REQUEST_BYTES = 6 * 1024 * 1024;

const ALGORITHM = 'AWS4-HMAC-SHA256';
const SERVICE = 'lambda';
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const EMPTY_SHA256 = createHash('sha256').digest('hex');

/** A request as the URL server received it: what the signature covers. */
export interface IncomingSignedRequest {
  readonly method: string;
  /** The path as sent (still percent-encoded), without the query string. */
  readonly path: string;
  /** The query string as sent, without `?`; empty when there is none. */
  readonly rawQueryString: string;
  /** Lower-case names; a repeated header's values joined with `,` (as SigV4 and the event both join them). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

/** Why the URL refused a call, with the HTTP status the refusal code has everywhere (REFUSAL_STATUS). */
export interface Refusal {
  readonly status: number;
  readonly code: RefusalCode;
  readonly message: string;
}

/** The outcome of the signature check: the signer, or why the request is refused. */
export type SignatureCheck =
  | { readonly ok: true; readonly principal: LocalPrincipal; readonly accessKeyId: string }
  | { readonly ok: false; readonly refusal: Refusal };

/** The outcome of the resource-policy check: the statement that admits the caller, or AccessDenied. */
export type PolicyDecision =
  | { readonly ok: true; readonly permission: UrlPermissionDef }
  | { readonly ok: false; readonly refusal: Refusal };

function refuse(code: RefusalCode, message: string): { ok: false; refusal: Refusal } {
  return { ok: false, refusal: { status: REFUSAL_STATUS[code], code, message } };
}

interface ParsedAuthorization {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

/** Reads `AWS4-HMAC-SHA256 Credential=AK/yyyymmdd/region/service/aws4_request, SignedHeaders=a;b, Signature=hex`. */
function parseAuthorization(header: string): ParsedAuthorization | string {
  const space = header.indexOf(' ');
  const algorithm = space < 0 ? header : header.slice(0, space);
  if (algorithm !== ALGORITHM)
    return `the Authorization header uses "${algorithm}"; a function URL accepts ${ALGORITHM} (SigV4) only`;
  const fields = new Map<string, string>();
  for (const part of header.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential || !signedHeaders || !signature)
    return 'the Authorization header lacks Credential, SignedHeaders or Signature';
  const scope = credential.split('/');
  if (scope.length !== 5 || scope[4] !== 'aws4_request')
    return `the credential "${credential}" is not <access key>/<yyyymmdd>/<region>/<service>/aws4_request`;
  if (!/^[0-9a-f]{64}$/.test(signature)) return 'the signature is not 64 lower-case hex digits';
  const [accessKeyId, date, region, service] = scope as [string, string, string, string];
  return { accessKeyId, date, region, service, signedHeaders: signedHeaders.split(';'), signature };
}

/** `20260601T120000Z` as a Date, or undefined when it is not one. */
function parseAmzDate(value: string | undefined): Date | undefined {
  const m = value ? AMZ_DATE.exec(value) : null;
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!));
}

/**
 * A query string as the signer's `HttpRequest.query` holds it: decoded names and values, a repeated name as
 * an array. `+` stays `+` (SigV4 clients encode a space as `%20` and a plus as `%2B`); undefined when the
 * string has a malformed percent-escape.
 */
export function parseQuery(raw: string): Record<string, string | string[]> | undefined {
  const query: Record<string, string | string[]> = {};
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
      value = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1));
    } catch {
      return undefined;
    }
    const existing = query[name];
    if (existing === undefined) query[name] = value;
    else query[name] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return query;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Checks a request's SigV4 signature as Lambda does for an AWS_IAM function URL: `Unsigned` without an
 * Authorization header; `InvalidSignature` for a malformed header, another service or region, an access key
 * no principal holds, an `x-amz-date` more than 15 minutes from `now`, a missing or wrong session token, a
 * body that does not match its `x-amz-content-sha256`, or a signature that does not match the request as
 * received. The signature is recomputed with `@smithy/signature-v4` over the signed headers only, at the
 * signed date, with the body hashed here (the signer would otherwise trust a client's `x-amz-content-sha256`
 * header), and compared in constant time.
 */
export async function verifySigV4(
  request: IncomingSignedRequest,
  principals: readonly LocalPrincipal[],
  now: Date,
  options: { readonly region?: string } = {},
): Promise<SignatureCheck> {
  const header = request.headers.authorization;
  if (!header)
    return refuse(
      'Unsigned',
      'the request is not signed: no Authorization header (sign it with SigV4 for service "lambda")',
    );
  const auth = parseAuthorization(header);
  if (typeof auth === 'string') return refuse('InvalidSignature', auth);
  if (auth.service !== SERVICE)
    return refuse(
      'InvalidSignature',
      `the request is signed for service "${auth.service}"; a function URL expects "${SERVICE}"`,
    );
  if (options.region && auth.region !== options.region)
    return refuse(
      'InvalidSignature',
      `the request is signed for region "${auth.region}"; this function URL is in "${options.region}"`,
    );
  const principal = principals.find((p) => p.accessKeyId === auth.accessKeyId);
  if (!principal)
    return refuse(
      'InvalidSignature',
      `unknown access key ${auth.accessKeyId}: no local principal holds it (${principals.map((p) => p.name).join(', ')} do)`,
    );

  const signed = new Set(auth.signedHeaders);
  if (!signed.has('host')) return refuse('InvalidSignature', 'the host header must be signed');
  if (signed.has('date'))
    return refuse('InvalidSignature', 'the date header cannot be verified here: sign x-amz-date instead');
  if (!signed.has('x-amz-date')) return refuse('InvalidSignature', 'the x-amz-date header must be signed');
  for (const name of signed)
    if (request.headers[name] === undefined)
      return refuse('InvalidSignature', `the signed header "${name}" is not in the request`);
  const signingDate = parseAmzDate(request.headers['x-amz-date']);
  if (!signingDate)
    return refuse(
      'InvalidSignature',
      `x-amz-date "${request.headers['x-amz-date']}" is not an ISO 8601 basic time (yyyymmddThhmmssZ)`,
    );
  if (!request.headers['x-amz-date']!.startsWith(auth.date))
    return refuse(
      'InvalidSignature',
      `the credential scope's date ${auth.date} is not the date of x-amz-date ${request.headers['x-amz-date']}`,
    );
  const skewMs = Math.abs(now.getTime() - signingDate.getTime());
  if (skewMs > SIGNATURE_MAX_SKEW_MS)
    return refuse(
      'InvalidSignature',
      `signature expired: the request was signed at ${signingDate.toISOString()}, ${Math.round(skewMs / 60_000)} minutes from the server's time ${now.toISOString()} (at most ${SIGNATURE_MAX_SKEW_MS / 60_000} minutes)`,
    );

  const token = request.headers['x-amz-security-token'];
  if (principal.sessionToken !== undefined) {
    if (token === undefined)
      return refuse(
        'InvalidSignature',
        `the access key ${auth.accessKeyId} is temporary: the request must carry its x-amz-security-token`,
      );
    if (!sameSecret(token, principal.sessionToken))
      return refuse('InvalidSignature', `the security token does not belong to ${auth.accessKeyId}`);
  } else if (token !== undefined)
    return refuse(
      'InvalidSignature',
      `the access key ${auth.accessKeyId} is a long-term key: the request carries a session token it has none of`,
    );

  const bodyHash =
    request.body.length === 0 ? EMPTY_SHA256 : createHash('sha256').update(request.body).digest('hex');
  const claimedHash = request.headers['x-amz-content-sha256'];
  if (claimedHash !== undefined && claimedHash !== bodyHash)
    return refuse(
      'InvalidSignature',
      claimedHash === 'UNSIGNED-PAYLOAD'
        ? 'the payload is unsigned (x-amz-content-sha256: UNSIGNED-PAYLOAD); a function URL needs it signed'
        : 'the body does not match its x-amz-content-sha256: it was changed after signing',
    );
  const query = parseQuery(request.rawQueryString);
  if (!query) return refuse('InvalidSignature', 'the query string has a malformed percent-escape');

  const signer = new SignatureV4({
    credentials: {
      accessKeyId: principal.accessKeyId,
      secretAccessKey: principal.secretAccessKey,
      // Only a signed token goes into the canonical request; an unsigned one was checked above.
      ...(signed.has('x-amz-security-token') ? { sessionToken: principal.sessionToken } : {}),
    },
    region: auth.region,
    service: SERVICE,
    sha256: Hash.bind(null, 'sha256'),
    // Add no x-amz-content-sha256 the client did not sign; when it did, the header (checked above) is used.
    applyChecksum: false,
    uriEscapePath: true,
  });
  const expected = await signer.sign(
    new HttpRequest({
      method: request.method,
      protocol: 'http:',
      hostname: '127.0.0.1',
      path: request.path,
      query,
      headers: Object.fromEntries([...signed].map((name) => [name, request.headers[name]!])),
      body: request.body,
    }),
    // `signableHeaders` keeps a header the signer would skip (e.g. user-agent) when the client signed it.
    { signingDate, signableHeaders: signed },
  );
  const expectedSignature =
    /Signature=([0-9a-f]{64})/.exec(String(expected.headers.authorization))?.[1] ?? '';
  const matches =
    expectedSignature.length === auth.signature.length &&
    timingSafeEqual(Buffer.from(expectedSignature, 'hex'), Buffer.from(auth.signature, 'hex'));
  if (!matches)
    return refuse(
      'InvalidSignature',
      `the signature does not match the request: the secret of ${auth.accessKeyId} did not sign this method, path, query, signed headers and body`,
    );
  return { ok: true, principal, accessKeyId: auth.accessKeyId };
}

/** The identity a resource policy is evaluated for. */
export interface PolicyCaller {
  readonly arn: string;
  readonly accountId: string;
}

/**
 * Whether a resource-policy `Principal` names the caller: `*`; an account id or `arn:…:iam::<acct>:root`
 * (every identity of the account); the caller's exact ARN; or an IAM role, which admits that role's
 * assumed-role sessions (`arn:aws:sts::<acct>:assumed-role/<role name>/<session>`; a role's path is not part
 * of its sessions' ARNs), as AWS does. Service principals never name an IAM caller.
 */
export function principalMatches(principal: string, caller: PolicyCaller): boolean {
  if (principal === '*') return true;
  if (/^\d{12}$/.test(principal)) return caller.accountId === principal;
  const root = /^arn:aws[\w-]*:iam::(\d{12}):root$/.exec(principal);
  if (root) return caller.accountId === root[1];
  if (principal === caller.arn) return true;
  const role = /^arn:(aws[\w-]*):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(principal);
  if (role) {
    const [, partition, account, name] = role;
    const session = `arn:${partition}:sts::${account}:assumed-role/${name}/`;
    return caller.arn.startsWith(session) && /^[^/]+$/.test(caller.arn.slice(session.length));
  }
  return false;
}

/**
 * Evaluates a function's resource policy for an AWS_IAM URL call: the first statement whose principal names
 * the caller admits it; none → `AccessDenied`. Only the resource policy is consulted: the local cloud has no
 * identity policies, so a caller the function does not name is refused even in its own account (in AWS an
 * identity policy could admit a same-account caller). `PrincipalOrgID` is not evaluated: the local cloud has
 * no organization, so a statement with one admits by its principal alone.
 */
export function evaluateUrlPolicy(
  caller: PolicyCaller,
  permissions: readonly UrlPermissionDef[],
  functionId: string,
): PolicyDecision {
  const permission = permissions.find((p) => principalMatches(p.principal, caller));
  if (permission) return { ok: true, permission };
  return refuse(
    'AccessDenied',
    `${caller.arn} may not invoke the function URL of ${functionId}: no statement of its resource policy grants lambda:InvokeFunctionUrl to this principal or its account`,
  );
}

/** The function URL event (payload format 2.0) as Lambda sends it for an AWS_IAM (or NONE) URL. */
export interface FunctionUrlEvent {
  readonly version: '2.0';
  readonly routeKey: '$default';
  readonly rawPath: string;
  readonly rawQueryString: string;
  readonly cookies?: string[];
  readonly headers: Record<string, string>;
  readonly queryStringParameters?: Record<string, string>;
  readonly requestContext: {
    readonly accountId: string;
    readonly apiId: string;
    readonly authentication: null;
    readonly authorizer: {
      readonly iam: {
        readonly accessKey: string;
        readonly accountId: string;
        readonly callerId: string;
        readonly cognitoIdentity: null;
        readonly principalOrgId: null;
        readonly userArn: string;
        readonly userId: string;
      };
    } | null;
    readonly domainName: string;
    readonly domainPrefix: string;
    readonly http: {
      readonly method: string;
      readonly path: string;
      readonly protocol: string;
      readonly sourceIp: string;
      readonly userAgent: string;
    };
    readonly requestId: string;
    readonly routeKey: '$default';
    readonly stage: '$default';
    readonly time: string;
    readonly timeEpoch: number;
  };
  readonly body?: string;
  readonly pathParameters: null;
  readonly isBase64Encoded: boolean;
  readonly stageVariables: null;
}

export interface FunctionUrlEventInput {
  readonly request: IncomingSignedRequest;
  /** The verified signer; absent for a NONE URL (the event's authorizer is then null). */
  readonly caller?: { readonly principal: LocalPrincipal; readonly accessKeyId: string } | undefined;
  /** The URL's id (`<url-id>` of `https://<url-id>.lambda-url.<region>.on.aws`). */
  readonly urlId: string;
  readonly accountId: string;
  readonly region: string;
  readonly sourceIp: string;
  /** `HTTP/1.1` */
  readonly protocol: string;
  readonly requestId: string;
  readonly time: Date;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `12/Mar/2020:19:03:58 +0000`, the format of `requestContext.time`. */
export function requestTime(t: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(t.getUTCDate())}/${MONTHS[t.getUTCMonth()]}/${t.getUTCFullYear()}:${p(t.getUTCHours())}:${p(t.getUTCMinutes())}:${p(t.getUTCSeconds())} +0000`;
}

/**
 * Whether Lambda passes a body as text: text types, JSON, XML, JavaScript and forms are text; other content
 * types are binary (base64, `isBase64Encoded: true`). A body without a content type is passed as text here.
 */
function isTextBody(contentType: string | undefined): boolean {
  if (!contentType) return true;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return (
    type.startsWith('text/') ||
    /^application\/([\w.-]+\+)?(json|xml)$/.test(type) ||
    type === 'application/javascript' ||
    type === 'application/x-www-form-urlencoded'
  );
}

/**
 * Builds the event Lambda hands the function for a URL call: headers lower-case (cookies moved to
 * `cookies`), the query both raw and decoded (a repeated parameter's values joined with `,`), the body as
 * text or base64, and `requestContext.authorizer.iam` naming the verified signer. `queryStringParameters`,
 * `cookies` and `body` are absent when the request has none, as in AWS.
 */
export function functionUrlEvent(input: FunctionUrlEventInput): FunctionUrlEvent {
  const { request, caller } = input;
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (const [name, value] of Object.entries(request.headers)) {
    if (name === 'cookie')
      cookies = value
        .split(';')
        .map((c) => c.trim())
        .filter((c) => c !== '');
    else headers[name] = value;
  }
  headers['x-forwarded-for'] ??= input.sourceIp;
  headers['x-forwarded-proto'] ??= 'http';
  headers['x-amzn-trace-id'] ??=
    `Root=1-${Math.floor(input.time.getTime() / 1000).toString(16)}-${input.requestId.replace(/-/g, '').slice(0, 24)}`;
  const query = parseQuery(request.rawQueryString) ?? {};
  const queryStringParameters = Object.fromEntries(
    Object.entries(query).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v]),
  );
  const hasBody = request.body.length > 0;
  const text = isTextBody(request.headers['content-type']);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: request.path,
    rawQueryString: request.rawQueryString,
    ...(cookies && cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(Object.keys(queryStringParameters).length > 0 ? { queryStringParameters } : {}),
    requestContext: {
      accountId: input.accountId,
      apiId: input.urlId,
      authentication: null,
      authorizer: caller
        ? {
            iam: {
              accessKey: caller.accessKeyId,
              accountId: caller.principal.accountId,
              callerId: caller.principal.userId,
              cognitoIdentity: null,
              principalOrgId: null,
              userArn: caller.principal.arn,
              userId: caller.principal.userId,
            },
          }
        : null,
      domainName: `${input.urlId}.lambda-url.${input.region}.on.aws`,
      domainPrefix: input.urlId,
      http: {
        method: request.method,
        path: request.path,
        protocol: input.protocol,
        sourceIp: input.sourceIp,
        userAgent: request.headers['user-agent'] ?? '',
      },
      requestId: input.requestId,
      routeKey: '$default',
      stage: '$default',
      time: requestTime(input.time),
      timeEpoch: input.time.getTime(),
    },
    ...(hasBody ? { body: Buffer.from(request.body).toString(text ? 'utf8' : 'base64') } : {}),
    pathParameters: null,
    isBase64Encoded: hasBody && !text,
    stageVariables: null,
  };
}

/** An HTTP answer: status, headers (`set-cookie` as a list) and the body's bytes. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer;
}

function jsonAnswer(status: number, body: unknown, headers: Record<string, string> = {}): HttpAnswer {
  return {
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: Buffer.from(JSON.stringify(body)),
  };
}

/** A refusal as the URL answers it: AWS's `{"Message":"Forbidden"}` plus the code and the reason. */
export function refusalAnswer(refusal: Refusal): HttpAnswer {
  return jsonAnswer(refusal.status, {
    Message: STATUS_CODES[refusal.status] ?? 'Error',
    error: { code: refusal.code, message: refusal.message },
  });
}

/** What an invocation returned (FunctionPool.invoke's result). */
export type InvokeOutcome = Pick<InvokeResult, 'ok' | 'result' | 'error'>;

function functionError(message: string): HttpAnswer {
  return jsonAnswer(502, { Message: 'Internal Server Error', error: { code: 'FunctionError', message } });
}

/**
 * Turns a function's result into the HTTP response as Lambda does for a URL: an object with `statusCode`
 * is a structured response (`headers`, `body`, `isBase64Encoded`, `cookies` → `set-cookie`); anything else
 * (an object without `statusCode`, a string, null) is inferred: 200, `application/json`, and the body is the
 * result's JSON, so a string result arrives quoted. A failed invocation, or a structured response with an
 * impossible status, is a 502.
 */
export function functionUrlResponse(outcome: InvokeOutcome): HttpAnswer {
  if (!outcome.ok) {
    const e = outcome.error;
    return functionError(e ? `${e.name}: ${e.message}` : 'the function failed');
  }
  const result = outcome.result;
  if (result !== null && typeof result === 'object' && !Array.isArray(result) && 'statusCode' in result) {
    const r = result as {
      statusCode?: unknown;
      headers?: Record<string, unknown>;
      body?: unknown;
      isBase64Encoded?: unknown;
      cookies?: unknown;
    };
    const status = Number(r.statusCode);
    if (!Number.isInteger(status) || status < 100 || status > 599)
      return functionError(`the function returned an invalid statusCode ${JSON.stringify(r.statusCode)}`);
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(r.headers ?? {})) headers[name.toLowerCase()] = String(value);
    if (Array.isArray(r.cookies) && r.cookies.length > 0) headers['set-cookie'] = r.cookies.map(String);
    const body =
      r.body === undefined || r.body === null
        ? Buffer.alloc(0)
        : typeof r.body === 'string'
          ? Buffer.from(r.body, r.isBase64Encoded === true ? 'base64' : 'utf8')
          : Buffer.from(JSON.stringify(r.body));
    return { status, headers, body };
  }
  return jsonAnswer(200, result ?? null);
}

/** The invoker a URL server calls: the cloud's FunctionPool.invoke (a synchronous, RequestResponse call). */
export type UrlInvoke = (functionId: string, event: FunctionUrlEvent) => Promise<InvokeOutcome>;

/** One call the URL answered, for narration and tests. */
export interface FunctionUrlCall {
  readonly functionId: string;
  readonly method: string;
  readonly path: string;
  /** The verified signer's ARN; absent when the signature was refused (or the URL is NONE). */
  readonly caller?: string | undefined;
  readonly status: number;
  /** The refusal code when the URL itself refused. */
  readonly refusal?: RefusalCode | undefined;
}

export interface FunctionUrlOptions {
  /** Logical id of the function the URL invokes. */
  readonly functionId: string;
  readonly invoke: UrlInvoke;
  /** Who can sign (their keys); see local/principals.ts. */
  readonly principals: readonly LocalPrincipal[];
  /** The function's resource-policy statements for its AWS_IAM URL. */
  readonly permissions: readonly UrlPermissionDef[];
  /** `NONE` serves every request unchecked (the event's authorizer is null). @default 'AWS_IAM' */
  readonly authType?: 'AWS_IAM' | 'NONE';
  /** @default LOCAL_REGION */
  readonly region?: string;
  /** The function owner's account. @default LOCAL_ACCOUNT */
  readonly accountId?: string;
  /**
   * The clock signatures are judged by: the signer's clock, i.e. the real one (a CLI subprocess signs with
   * it even when the local cloud's clock has been moved). @default () => new Date()
   */
  readonly now?: () => Date;
  /**
   * The clock the event reports (`requestContext.time`): the local cloud's, which the function runs on too.
   * @default now
   */
  readonly eventNow?: () => Date;
  readonly onCall?: (call: FunctionUrlCall) => void;
}

export interface FunctionUrlServer {
  /** `http://127.0.0.1:<port>/`, ending in `/` like a real function URL. */
  readonly url: string;
  readonly functionId: string;
  readonly authType: 'AWS_IAM' | 'NONE';
  close(): Promise<void>;
}

/** The URL id Lambda would give this function: 32 lower-case characters, stable for account, region and function. */
export function urlIdFor(accountId: string, region: string, functionId: string): string {
  return createHash('sha256').update(`${accountId}:${region}:${functionId}`).digest('hex').slice(0, 32);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The request as the signature sees it: raw path and query, lower-case headers, repeated values joined. */
function incoming(req: IncomingMessage, body: Buffer): IncomingSignedRequest {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(req.headersDistinct))
    if (values) headers[name] = values.map((v) => v.trim()).join(name === 'cookie' ? '; ' : ',');
  return {
    method: req.method ?? 'GET',
    path: q < 0 ? url : url.slice(0, q),
    rawQueryString: q < 0 ? '' : url.slice(q + 1),
    headers,
    body,
  };
}

function send(res: ServerResponse, answer: HttpAnswer, requestId: string): void {
  res.writeHead(answer.status, {
    ...answer.headers,
    'x-amzn-requestid': requestId,
    'content-length': String(answer.body.length),
  });
  res.end(answer.body);
}

/**
 * Serves one function URL on 127.0.0.1 (a free port): each request is verified (AWS_IAM), checked against
 * the function's resource policy, turned into the URL event, and answered with the function's response.
 */
export async function startFunctionUrl(options: FunctionUrlOptions): Promise<FunctionUrlServer> {
  const authType = options.authType ?? 'AWS_IAM';
  const region = options.region ?? LOCAL_REGION;
  const accountId = options.accountId ?? LOCAL_ACCOUNT;
  const now = options.now ?? (() => new Date());
  const eventNow = options.eventNow ?? now;
  const urlId = urlIdFor(accountId, region, options.functionId);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    const body = await readBody(req);
    const request = incoming(req, body);
    const report = (status: number, caller?: string, refusal?: RefusalCode) =>
      options.onCall?.({
        functionId: options.functionId,
        method: request.method,
        path: request.path,
        caller,
        status,
        refusal,
      });
    if (body.length > MAX_REQUEST_BYTES) {
      send(res, jsonAnswer(413, { Message: 'Request Entity Too Large' }), requestId);
      report(413);
      return;
    }
    let caller: { principal: LocalPrincipal; accessKeyId: string } | undefined;
    if (authType === 'AWS_IAM') {
      const check = await verifySigV4(request, options.principals, now(), { region });
      if (!check.ok) {
        send(res, refusalAnswer(check.refusal), requestId);
        report(check.refusal.status, undefined, check.refusal.code);
        return;
      }
      const decision = evaluateUrlPolicy(check.principal, options.permissions, options.functionId);
      if (!decision.ok) {
        send(res, refusalAnswer(decision.refusal), requestId);
        report(decision.refusal.status, check.principal.arn, decision.refusal.code);
        return;
      }
      caller = { principal: check.principal, accessKeyId: check.accessKeyId };
    }
    const event = functionUrlEvent({
      request,
      caller,
      urlId,
      accountId,
      region,
      sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
      protocol: `HTTP/${req.httpVersion}`,
      requestId,
      time: eventNow(),
    });
    let outcome: InvokeOutcome;
    try {
      outcome = await options.invoke(options.functionId, event);
    } catch (e) {
      outcome = { ok: false, error: { name: (e as Error).name, message: (e as Error).message } };
    }
    const answer = functionUrlResponse(outcome);
    send(res, answer, requestId);
    report(answer.status, caller?.principal.arn);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent)
        send(
          res,
          jsonAnswer(500, {
            Message: 'Internal Server Error',
            error: { code: 'LocalUrlError', message: (e as Error).message },
          }),
          'none',
        );
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    functionId: options.functionId,
    authType,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
