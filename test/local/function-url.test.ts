/**
 * The local cloud's function URLs: SigV4 verification against the local principals (requests signed by the
 * SDK's own signer, as a real client signs them), the resource-policy evaluation, the event the function
 * receives and the HTTP answer it gives, a URL server end to end over HTTP, and the cloud serving the URLs
 * its template declares (and booting without any).
 */
import { request as httpRequest } from 'node:http';
import { Hash } from '@smithy/hash-node';
import { HttpRequest, type IHttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  evaluateUrlPolicy,
  type FunctionUrlCall,
  type FunctionUrlEvent,
  type FunctionUrlServer,
  functionUrlEvent,
  functionUrlResponse,
  type IncomingSignedRequest,
  type InvokeOutcome,
  principalMatches,
  requestTime,
  startFunctionUrl,
  urlIdFor,
  verifySigV4,
} from '../../local/function-url.js';
import {
  credentialsEnv,
  credentialsFor,
  LOCAL_PRINCIPALS,
  type LocalCredentials,
  OPS_APPROVER_ROLE_ARN,
  principalByAccessKey,
  principalNamed,
} from '../../local/principals.js';
import { LOCAL_ACCOUNT, LOCAL_REGION, readTemplate, type Template } from '../../local/template.js';
import { assemblies } from '../support/assembly.js';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const MINUTE = 60_000;
const ALICE = `arn:aws:iam::${LOCAL_ACCOUNT}:user/alice`;
const OPS = `arn:aws:sts::${LOCAL_ACCOUNT}:assumed-role/ops-approver/ops`;
const MALLORY = `arn:aws:iam::${LOCAL_ACCOUNT}:user/mallory`;

/** RFC 3986 escaping, as SDK clients put a query on the wire (the signer escapes the same way). */
function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

interface ToSign {
  readonly method?: string;
  readonly path?: string;
  readonly query?: Record<string, string>;
  readonly body?: string;
  readonly headers?: Record<string, string>;
  readonly port?: number;
  /** @default NOW */
  readonly date?: Date;
  /** @default 'lambda' */
  readonly service?: string;
  /** Whether the signer adds x-amz-content-sha256 (the SDK's default). @default true */
  readonly applyChecksum?: boolean;
}

/** Signs a request the way a client of a function URL does: SignatureV4 over an HttpRequest with the host header. */
async function sign(credentials: LocalCredentials, r: ToSign = {}): Promise<IHttpRequest> {
  const port = r.port ?? 4567;
  const signer = new SignatureV4({
    credentials,
    region: LOCAL_REGION,
    service: r.service ?? 'lambda',
    sha256: Hash.bind(null, 'sha256'),
    applyChecksum: r.applyChecksum ?? true,
  });
  return signer.sign(
    new HttpRequest({
      method: r.method ?? 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port,
      path: r.path ?? '/requests/req-20260601T120000-abcdef/approve',
      query: r.query ?? {},
      headers: {
        host: `127.0.0.1:${port}`,
        ...(r.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...r.headers,
      },
      ...(r.body !== undefined ? { body: r.body } : {}),
    }),
    { signingDate: r.date ?? NOW },
  );
}

function rawQuery(query: IHttpRequest['query']): string {
  return Object.entries(query ?? {})
    .map(([k, v]) => `${escapeUri(k)}=${escapeUri(String(v))}`)
    .join('&');
}

/** The request as the URL server receives it from the wire. */
function received(signed: IHttpRequest, changes: Partial<IncomingSignedRequest> = {}): IncomingSignedRequest {
  return {
    method: signed.method,
    path: signed.path,
    rawQueryString: rawQuery(signed.query),
    headers: Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), v])),
    body: Buffer.from(typeof signed.body === 'string' ? signed.body : ''),
    ...changes,
  };
}

const BODY = JSON.stringify({ comment: 'looks right' });

// --------------------------------------------------------------------------------------------- principals

describe('local principals', () => {
  it('gives each principal its own access key and secret', () => {
    expect(new Set(LOCAL_PRINCIPALS.map((p) => p.accessKeyId)).size).toBe(3);
    expect(new Set(LOCAL_PRINCIPALS.map((p) => p.secretAccessKey)).size).toBe(3);
    expect(LOCAL_PRINCIPALS.map((p) => [p.name, p.arn])).toEqual([
      ['alice', ALICE],
      ['ops', OPS],
      ['mallory', MALLORY],
    ]);
  });

  it('finds a principal by its access key, and nothing for a foreign key', () => {
    expect(principalByAccessKey(credentialsFor('ops').accessKeyId)?.name).toBe('ops');
    expect(principalByAccessKey('AKIAIOSFODNN7EXAMPLE')).toBeUndefined();
  });

  it('returns a session token only for the assumed-role session', () => {
    expect(credentialsFor('alice').sessionToken).toBeUndefined();
    expect(credentialsFor('ops').sessionToken).toBe(principalNamed('ops').sessionToken);
    expect(OPS_APPROVER_ROLE_ARN).toBe(`arn:aws:iam::${LOCAL_ACCOUNT}:role/ops-approver`);
  });

  it('returns the credentials as the environment variables of the default credential chain', () => {
    const alice = principalNamed('alice');
    const ops = principalNamed('ops');
    expect(credentialsEnv('alice')).toEqual({
      AWS_ACCESS_KEY_ID: alice.accessKeyId,
      AWS_SECRET_ACCESS_KEY: alice.secretAccessKey,
      AWS_SESSION_TOKEN: '',
    });
    expect(credentialsEnv('ops')).toEqual({
      AWS_ACCESS_KEY_ID: ops.accessKeyId,
      AWS_SECRET_ACCESS_KEY: ops.secretAccessKey,
      AWS_SESSION_TOKEN: ops.sessionToken,
    });
  });

  it('throws with the known names for an unknown principal', () => {
    expect(() => credentialsFor('bob')).toThrow(
      'no local principal "bob": the local cloud knows alice, ops, mallory',
    );
  });
});

// ---------------------------------------------------------------------------------------------- signatures

describe('verifySigV4', () => {
  it('accepts alice signing a POST with a body, and names her', async () => {
    const signed = await sign(credentialsFor('alice'), { body: BODY });

    const check = await verifySigV4(received(signed), LOCAL_PRINCIPALS, NOW);

    expect(check.ok && check.principal.arn).toBe(ALICE);
    expect(check.ok && check.accessKeyId).toBe(credentialsFor('alice').accessKeyId);
  });

  it('accepts ops signing with the session token of the assumed role', async () => {
    const signed = await sign(credentialsFor('ops'), {
      method: 'GET',
      path: '/requests',
      query: { state: 'PENDING_APPROVAL', repository: 'team/app one' },
    });

    const check = await verifySigV4(received(signed), LOCAL_PRINCIPALS, NOW, { region: LOCAL_REGION });

    expect(check.ok && check.principal.arn).toBe(OPS);
  });

  it('accepts a signature made without x-amz-content-sha256 (the body is hashed by the verifier)', async () => {
    const signed = await sign(credentialsFor('alice'), { body: BODY, applyChecksum: false });
    expect(signed.headers['x-amz-content-sha256']).toBeUndefined();

    const check = await verifySigV4(received(signed), LOCAL_PRINCIPALS, NOW);

    expect(check.ok).toBe(true);
  });

  it('accepts a date 14 minutes from the server time, either way', async () => {
    for (const offset of [-14 * MINUTE, 14 * MINUTE]) {
      const signed = await sign(credentialsFor('alice'), { date: new Date(NOW.getTime() + offset) });
      expect((await verifySigV4(received(signed), LOCAL_PRINCIPALS, NOW)).ok).toBe(true);
    }
  });

  type Case = [
    description: string,
    prepare: () => Promise<IncomingSignedRequest>,
    code: string,
    message: string,
  ];

  const cases: Case[] = [
    [
      'refuses a request without an Authorization header as Unsigned',
      async () => {
        const r = received(await sign(credentialsFor('alice'), { body: BODY }));
        const { authorization: _, ...headers } = r.headers;
        return { ...r, headers };
      },
      'Unsigned',
      'the request is not signed: no Authorization header (sign it with SigV4 for service "lambda")',
    ],
    [
      'refuses a signature made with the wrong secret',
      async () =>
        received(
          await sign(
            { accessKeyId: credentialsFor('alice').accessKeyId, secretAccessKey: 'guessed' },
            { body: BODY },
          ),
        ),
      'InvalidSignature',
      `the signature does not match the request: the secret of ${credentialsFor('alice').accessKeyId} did not sign this method, path, query, signed headers and body`,
    ],
    [
      'refuses a body changed after signing (the signed content hash no longer matches)',
      async () =>
        received(await sign(credentialsFor('alice'), { body: BODY }), {
          body: Buffer.from('{"comment":"x"}'),
        }),
      'InvalidSignature',
      'the body does not match its x-amz-content-sha256: it was changed after signing',
    ],
    [
      'refuses a body changed after signing when no content hash was sent',
      async () =>
        received(await sign(credentialsFor('alice'), { body: BODY, applyChecksum: false }), {
          body: Buffer.from('{"comment":"x"}'),
        }),
      'InvalidSignature',
      `the signature does not match the request: the secret of ${credentialsFor('alice').accessKeyId} did not sign this method, path, query, signed headers and body`,
    ],
    [
      'refuses a query changed after signing',
      async () =>
        received(
          await sign(credentialsFor('ops'), {
            method: 'GET',
            path: '/requests',
            query: { state: 'APPROVED' },
          }),
          {
            rawQueryString: 'state=PENDING_APPROVAL',
          },
        ),
      'InvalidSignature',
      `the signature does not match the request: the secret of ${credentialsFor('ops').accessKeyId} did not sign this method, path, query, signed headers and body`,
    ],
    [
      'refuses a path changed after signing',
      async () =>
        received(await sign(credentialsFor('ops'), { body: BODY }), {
          path: '/requests/req-20260601T120000-zzzzzz/approve',
        }),
      'InvalidSignature',
      `the signature does not match the request: the secret of ${credentialsFor('ops').accessKeyId} did not sign this method, path, query, signed headers and body`,
    ],
    [
      'refuses a request signed 20 minutes ago',
      async () =>
        received(await sign(credentialsFor('alice'), { date: new Date(NOW.getTime() - 20 * MINUTE) })),
      'InvalidSignature',
      "signature expired: the request was signed at 2026-06-01T11:40:00.000Z, 20 minutes from the server's time 2026-06-01T12:00:00.000Z (at most 15 minutes)",
    ],
    [
      'refuses a request signed 20 minutes in the future',
      async () =>
        received(await sign(credentialsFor('alice'), { date: new Date(NOW.getTime() + 20 * MINUTE) })),
      'InvalidSignature',
      "signature expired: the request was signed at 2026-06-01T12:20:00.000Z, 20 minutes from the server's time 2026-06-01T12:00:00.000Z (at most 15 minutes)",
    ],
    [
      'refuses an access key no local principal holds',
      async () =>
        received(
          await sign({
            accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
            secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
          }),
        ),
      'InvalidSignature',
      'unknown access key AKIAIOSFODNN7EXAMPLE: no local principal holds it (alice, ops, mallory do)',
    ],
    [
      'refuses a signature for another service',
      async () => received(await sign(credentialsFor('alice'), { service: 'execute-api' })),
      'InvalidSignature',
      'the request is signed for service "execute-api"; a function URL expects "lambda"',
    ],
    [
      "refuses ops's temporary key without its session token",
      async () => {
        const { sessionToken: _, ...keys } = credentialsFor('ops');
        return received(await sign(keys));
      },
      'InvalidSignature',
      `the access key ${credentialsFor('ops').accessKeyId} is temporary: the request must carry its x-amz-security-token`,
    ],
    [
      "refuses ops's temporary key with another session token",
      async () => received(await sign({ ...credentialsFor('ops'), sessionToken: 'stolen' })),
      'InvalidSignature',
      `the security token does not belong to ${credentialsFor('ops').accessKeyId}`,
    ],
    [
      'refuses an Authorization header of another algorithm',
      async () => {
        const r = received(await sign(credentialsFor('alice')));
        return { ...r, headers: { ...r.headers, authorization: 'Basic YWxpY2U6c2VjcmV0' } };
      },
      'InvalidSignature',
      'the Authorization header uses "Basic"; a function URL accepts AWS4-HMAC-SHA256 (SigV4) only',
    ],
    [
      'refuses a signed header that was removed from the request',
      async () => {
        const r = received(await sign(credentialsFor('alice'), { body: BODY }));
        const { 'content-type': _, ...headers } = r.headers;
        return { ...r, headers };
      },
      'InvalidSignature',
      'the signed header "content-type" is not in the request',
    ],
  ];

  it.each(cases)('%s', async (_description, prepare, code, message) => {
    const check = await verifySigV4(await prepare(), LOCAL_PRINCIPALS, NOW);

    expect(check).toEqual({ ok: false, refusal: { status: 403, code, message } });
  });

  it('refuses a signature scoped to another region than the URL', async () => {
    const check = await verifySigV4(received(await sign(credentialsFor('alice'))), LOCAL_PRINCIPALS, NOW, {
      region: 'eu-west-1',
    });

    expect(check).toEqual({
      ok: false,
      refusal: {
        status: 403,
        code: 'InvalidSignature',
        message: 'the request is signed for region "us-east-1"; this function URL is in "eu-west-1"',
      },
    });
  });
});

// ------------------------------------------------------------------------------------------ resource policy

describe('evaluateUrlPolicy', () => {
  const alice = principalNamed('alice');
  const ops = principalNamed('ops');
  const mallory = principalNamed('mallory');
  const grant = (principal: string) => [{ logicalId: 'Grant', principal }];

  it.each([
    ['admits every identity of an account named by its id', LOCAL_ACCOUNT, mallory, true],
    [
      'admits every identity of an account named by its root ARN',
      `arn:aws:iam::${LOCAL_ACCOUNT}:root`,
      alice,
      true,
    ],
    ['refuses the identities of another account', '123456789012', alice, false],
    ['admits the exact user ARN', ALICE, alice, true],
    ['refuses another user than the one named', ALICE, mallory, false],
    ["admits a role's assumed-role sessions", OPS_APPROVER_ROLE_ARN, ops, true],
    [
      "admits a role's sessions when the role has a path",
      `arn:aws:iam::${LOCAL_ACCOUNT}:role/team/ops-approver`,
      ops,
      true,
    ],
    [
      'refuses the sessions of a role with a longer name',
      `arn:aws:iam::${LOCAL_ACCOUNT}:role/ops`,
      ops,
      false,
    ],
    [
      'refuses a same-named role of another account',
      'arn:aws:iam::123456789012:role/ops-approver',
      ops,
      false,
    ],
    ['refuses a user for a role grant', OPS_APPROVER_ROLE_ARN, alice, false],
    ['admits the exact session ARN', OPS, ops, true],
    ['admits anyone for *', '*', mallory, true],
    ['never admits an IAM caller by a service principal', 'lambda.amazonaws.com', alice, false],
  ])('%s', (_description, principal, caller, admitted) => {
    expect(principalMatches(principal, caller)).toBe(admitted);
    expect(evaluateUrlPolicy(caller, grant(principal), 'ApprovalsFn').ok).toBe(admitted);
  });

  it('names the statement that admits the caller', () => {
    const permissions = [
      { logicalId: 'Alice', principal: ALICE },
      { logicalId: 'Ops', principal: OPS_APPROVER_ROLE_ARN },
    ];

    expect(evaluateUrlPolicy(ops, permissions, 'ApprovalsFn')).toEqual({
      ok: true,
      permission: permissions[1],
    });
  });

  it('refuses as AccessDenied when no statement names the caller', () => {
    expect(evaluateUrlPolicy(mallory, grant(OPS_APPROVER_ROLE_ARN), 'ApprovalsFn')).toEqual({
      ok: false,
      refusal: {
        status: 403,
        code: 'AccessDenied',
        message: `${MALLORY} may not invoke the function URL of ApprovalsFn: no statement of its resource policy grants lambda:InvokeFunctionUrl to this principal or its account`,
      },
    });
  });
});

// ----------------------------------------------------------------------------------------- event, response

describe('functionUrlEvent', () => {
  it('builds the payload format 2.0 event with the signer in requestContext.authorizer.iam', async () => {
    const signed = await sign(credentialsFor('ops'), {
      path: '/requests/req-1/reject',
      query: { a: '1', b: 'x y' },
      body: BODY,
      headers: { cookie: 'c1=v1; c2=v2', 'user-agent': 'ecr-steward/0.1.0' },
    });
    const request = received(signed, { rawQueryString: 'a=1&b=x%20y&a=2' });

    const event = functionUrlEvent({
      request,
      caller: { principal: principalNamed('ops'), accessKeyId: credentialsFor('ops').accessKeyId },
      urlId: 'abc123',
      accountId: LOCAL_ACCOUNT,
      region: LOCAL_REGION,
      sourceIp: '127.0.0.1',
      protocol: 'HTTP/1.1',
      requestId: '11111111-2222-3333-4444-555555555555',
      time: NOW,
    });

    expect(event).toEqual({
      version: '2.0',
      routeKey: '$default',
      rawPath: '/requests/req-1/reject',
      rawQueryString: 'a=1&b=x%20y&a=2',
      cookies: ['c1=v1', 'c2=v2'],
      headers: {
        ...Object.fromEntries(Object.entries(request.headers).filter(([k]) => k !== 'cookie')),
        'x-forwarded-for': '127.0.0.1',
        'x-forwarded-proto': 'http',
        'x-amzn-trace-id': `Root=1-${(NOW.getTime() / 1000).toString(16)}-111111112222333344445555`,
      },
      queryStringParameters: { a: '1,2', b: 'x y' },
      requestContext: {
        accountId: LOCAL_ACCOUNT,
        apiId: 'abc123',
        authentication: null,
        authorizer: {
          iam: {
            accessKey: credentialsFor('ops').accessKeyId,
            accountId: LOCAL_ACCOUNT,
            callerId: 'AROALOCALOPSAPPROVER:ops',
            cognitoIdentity: null,
            principalOrgId: null,
            userArn: OPS,
            userId: 'AROALOCALOPSAPPROVER:ops',
          },
        },
        domainName: 'abc123.lambda-url.us-east-1.on.aws',
        domainPrefix: 'abc123',
        http: {
          method: 'POST',
          path: '/requests/req-1/reject',
          protocol: 'HTTP/1.1',
          sourceIp: '127.0.0.1',
          userAgent: 'ecr-steward/0.1.0',
        },
        requestId: '11111111-2222-3333-4444-555555555555',
        routeKey: '$default',
        stage: '$default',
        time: '01/Jun/2026:12:00:00 +0000',
        timeEpoch: NOW.getTime(),
      },
      body: BODY,
      pathParameters: null,
      isBase64Encoded: false,
      stageVariables: null,
    });
  });

  it('leaves out body, query parameters and cookies a request does not have, and base64-encodes binary bodies', () => {
    const base = {
      urlId: 'abc',
      accountId: LOCAL_ACCOUNT,
      region: LOCAL_REGION,
      sourceIp: '127.0.0.1',
      protocol: 'HTTP/1.1',
      requestId: 'r',
      time: NOW,
    };
    const get = functionUrlEvent({
      ...base,
      request: { method: 'GET', path: '/', rawQueryString: '', headers: {}, body: new Uint8Array() },
    });
    expect(get.body).toBeUndefined();
    expect(get.queryStringParameters).toBeUndefined();
    expect(get.cookies).toBeUndefined();
    expect(get.isBase64Encoded).toBe(false);
    expect(get.requestContext.authorizer).toBeNull();

    const binary = functionUrlEvent({
      ...base,
      request: {
        method: 'PUT',
        path: '/',
        rawQueryString: '',
        headers: { 'content-type': 'application/octet-stream' },
        body: Buffer.from([0, 1, 2, 255]),
      },
    });
    expect(binary.body).toBe('AAEC/w==');
    expect(binary.isBase64Encoded).toBe(true);
  });

  it('formats requestContext.time as Lambda does', () => {
    expect(requestTime(new Date('2020-03-12T19:03:58.390Z'))).toBe('12/Mar/2020:19:03:58 +0000');
  });
});

describe('functionUrlResponse', () => {
  const text = (outcome: InvokeOutcome) => {
    const a = functionUrlResponse(outcome);
    return { status: a.status, headers: a.headers, body: a.body.toString('utf8') };
  };

  it('passes a structured response through, with cookies as set-cookie', () => {
    expect(
      text({
        ok: true,
        result: {
          statusCode: 201,
          headers: { 'Content-Type': 'application/json', 'X-Count': 3 },
          body: '{"request":{}}',
          cookies: ['a=1', 'b=2'],
        },
      }),
    ).toEqual({
      status: 201,
      headers: { 'content-type': 'application/json', 'x-count': '3', 'set-cookie': ['a=1', 'b=2'] },
      body: '{"request":{}}',
    });
  });

  it('decodes a base64 body of a structured response', () => {
    expect(
      text({ ok: true, result: { statusCode: 200, body: 'aGVsbG8=', isBase64Encoded: true } }).body,
    ).toBe('hello');
  });

  it.each([
    ['an object without statusCode', { message: 'hi' }, '{"message":"hi"}'],
    ['a string (quoted, as Lambda sends it)', 'Hello, world!', '"Hello, world!"'],
    ['nothing', null, 'null'],
  ])('infers 200 application/json for %s', (_description, result, body) => {
    expect(text({ ok: true, result })).toEqual({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body,
    });
  });

  it('answers 502 for a function error and for an impossible status', () => {
    expect(text({ ok: false, error: { name: 'TypeError', message: 'x is undefined' } })).toEqual({
      status: 502,
      headers: { 'content-type': 'application/json' },
      body: '{"Message":"Internal Server Error","error":{"code":"FunctionError","message":"TypeError: x is undefined"}}',
    });
    expect(text({ ok: true, result: { statusCode: 42 } }).status).toBe(502);
  });
});

// ------------------------------------------------------------------------------------------------- server

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly json: unknown;
}

/** Sends a signed request over HTTP exactly as signed (headers, path, query, body). */
function send(signed: IHttpRequest): Promise<Answer> {
  const query = rawQuery(signed.query);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: signed.port,
        method: signed.method,
        path: `${signed.path}${query === '' ? '' : `?${query}`}`,
        headers: signed.headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            json: text === '' ? undefined : JSON.parse(text),
          });
        });
      },
    );
    req.on('error', reject);
    req.end(typeof signed.body === 'string' ? signed.body : undefined);
  });
}

describe('startFunctionUrl', () => {
  let server: FunctionUrlServer;
  let port: number;
  const calls: FunctionUrlCall[] = [];
  const invoke = vi.fn(
    async (_functionId: string, event: FunctionUrlEvent): Promise<InvokeOutcome> =>
      event.rawPath === '/boom'
        ? { ok: false, error: { name: 'Error', message: 'the table is gone' } }
        : {
            ok: true,
            result: {
              statusCode: 200,
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(event),
            },
          },
  );

  beforeAll(async () => {
    server = await startFunctionUrl({
      functionId: 'ApprovalsFn',
      invoke,
      principals: LOCAL_PRINCIPALS,
      permissions: [
        { logicalId: 'GrantOps', principal: OPS_APPROVER_ROLE_ARN },
        { logicalId: 'GrantAlice', principal: ALICE },
      ],
      onCall: (call) => calls.push(call),
    });
    port = Number(new URL(server.url).port);
  });

  afterAll(async () => {
    await server?.close();
  });

  afterEach(() => {
    calls.length = 0;
  });

  it('serves on 127.0.0.1 with a URL ending in / like a real function URL', () => {
    expect(server.url).toBe(`http://127.0.0.1:${port}/`);
    expect(server.authType).toBe('AWS_IAM');
  });

  it('invokes the function for a signed POST with the signer, path, query and body in the event', async () => {
    const answer = await send(
      await sign(credentialsFor('alice'), {
        port,
        date: new Date(),
        path: '/requests/req-20260601T120000-abcdef/approve',
        query: { dryRun: 'true' },
        body: BODY,
      }),
    );

    expect(answer.status).toBe(200);
    const event = answer.json as FunctionUrlEvent;
    expect(event.requestContext.authorizer?.iam.userArn).toBe(ALICE);
    expect(event.requestContext.authorizer?.iam.accessKey).toBe(credentialsFor('alice').accessKeyId);
    expect(event.requestContext.http.method).toBe('POST');
    expect(event.requestContext.http.path).toBe('/requests/req-20260601T120000-abcdef/approve');
    expect(event.rawPath).toBe('/requests/req-20260601T120000-abcdef/approve');
    expect(event.queryStringParameters).toEqual({ dryRun: 'true' });
    expect(event.body).toBe(BODY);
    expect(event.isBase64Encoded).toBe(false);
    expect(event.requestContext.apiId).toBe(urlIdFor(LOCAL_ACCOUNT, LOCAL_REGION, 'ApprovalsFn'));
    expect(event.requestContext.requestId).toBe(answer.headers['x-amzn-requestid']);
    expect(invoke).toHaveBeenCalledWith('ApprovalsFn', event);
    expect(calls).toEqual([
      {
        functionId: 'ApprovalsFn',
        method: 'POST',
        path: '/requests/req-20260601T120000-abcdef/approve',
        caller: ALICE,
        status: 200,
        refusal: undefined,
      },
    ]);
  });

  it('invokes the function for a signed GET by ops with the decoded query', async () => {
    const answer = await send(
      await sign(credentialsFor('ops'), {
        port,
        date: new Date(),
        method: 'GET',
        path: '/requests',
        query: { state: 'PENDING_APPROVAL', repository: 'team/app' },
      }),
    );

    expect(answer.status).toBe(200);
    const event = answer.json as FunctionUrlEvent;
    expect(event.requestContext.authorizer?.iam.userArn).toBe(OPS);
    expect(event.requestContext.http.method).toBe('GET');
    expect(event.requestContext.http.path).toBe('/requests');
    expect(event.rawQueryString).toBe('state=PENDING_APPROVAL&repository=team%2Fapp');
    expect(event.queryStringParameters).toEqual({ state: 'PENDING_APPROVAL', repository: 'team/app' });
    expect(event.body).toBeUndefined();
  });

  it('refuses an unsigned call with 403 Unsigned before the function runs', async () => {
    invoke.mockClear();
    const signed = await sign(credentialsFor('alice'), { port, date: new Date(), body: BODY });
    delete signed.headers.authorization;

    const answer = await send(signed);

    expect(answer.status).toBe(403);
    expect(answer.headers['content-type']).toBe('application/json');
    expect(answer.json).toEqual({
      Message: 'Forbidden',
      error: {
        code: 'Unsigned',
        message:
          'the request is not signed: no Authorization header (sign it with SigV4 for service "lambda")',
      },
    });
    expect(invoke).not.toHaveBeenCalled();
    expect(calls.map((c) => [c.status, c.refusal, c.caller])).toEqual([[403, 'Unsigned', undefined]]);
  });

  it('refuses a wrong signature with 403 InvalidSignature', async () => {
    invoke.mockClear();
    const keyId = credentialsFor('ops').accessKeyId;
    const answer = await send(
      await sign(
        { ...credentialsFor('ops'), secretAccessKey: 'not-the-secret' },
        { port, date: new Date(), body: BODY },
      ),
    );

    expect(answer.status).toBe(403);
    expect(answer.json).toEqual({
      Message: 'Forbidden',
      error: {
        code: 'InvalidSignature',
        message: `the signature does not match the request: the secret of ${keyId} did not sign this method, path, query, signed headers and body`,
      },
    });
    expect(invoke).not.toHaveBeenCalled();
  });

  it('refuses mallory, correctly signed but granted nothing, with 403 AccessDenied', async () => {
    invoke.mockClear();
    const answer = await send(await sign(credentialsFor('mallory'), { port, date: new Date(), body: BODY }));

    expect(answer.status).toBe(403);
    expect(answer.json).toEqual({
      Message: 'Forbidden',
      error: {
        code: 'AccessDenied',
        message: `${MALLORY} may not invoke the function URL of ApprovalsFn: no statement of its resource policy grants lambda:InvokeFunctionUrl to this principal or its account`,
      },
    });
    expect(invoke).not.toHaveBeenCalled();
    expect(calls.map((c) => [c.status, c.refusal, c.caller])).toEqual([[403, 'AccessDenied', MALLORY]]);
  });

  it('answers 502 with the error when the function fails', async () => {
    const answer = await send(
      await sign(credentialsFor('ops'), { port, date: new Date(), path: '/boom', body: BODY }),
    );

    expect(answer.status).toBe(502);
    expect(answer.json).toEqual({
      Message: 'Internal Server Error',
      error: { code: 'FunctionError', message: 'Error: the table is gone' },
    });
  });

  it('serves a NONE URL without checks, with a null authorizer', async () => {
    const open = await startFunctionUrl({
      functionId: 'PublicFn',
      authType: 'NONE',
      invoke,
      principals: LOCAL_PRINCIPALS,
      permissions: [],
    });
    try {
      const openPort = Number(new URL(open.url).port);
      const signed = await sign(credentialsFor('mallory'), { port: openPort, method: 'GET', path: '/hello' });
      delete signed.headers.authorization;

      const answer = await send(signed);

      expect(answer.status).toBe(200);
      expect((answer.json as FunctionUrlEvent).requestContext.authorizer).toBeNull();
    } finally {
      await open.close();
    }
  });
});

// ------------------------------------------------------------------------------------------- the template

/** A template with the approvals function's URL and its grants, as the stack synthesizes them. */
function urlTemplate(): Template {
  const fnArn = { 'Fn::GetAtt': ['ApprovalsFnA1B2C3', 'Arn'] };
  return {
    Resources: {
      ApprovalsFnA1B2C3: {
        Type: 'AWS::Lambda::Function',
        Properties: { Handler: 'index.handler', Timeout: 10 },
        Metadata: { 'aws:asset:path': 'asset.echo' },
      },
      ApprovalsFnFunctionUrl: {
        Type: 'AWS::Lambda::Url',
        Properties: { AuthType: 'AWS_IAM', TargetFunctionArn: fnArn },
      },
      OpsRole: { Type: 'AWS::IAM::Role', Properties: { RoleName: 'ops-approver' } },
      GrantOpsRole: {
        Type: 'AWS::Lambda::Permission',
        Properties: {
          Action: 'lambda:InvokeFunctionUrl',
          FunctionName: fnArn,
          FunctionUrlAuthType: 'AWS_IAM',
          Principal: { 'Fn::GetAtt': ['OpsRole', 'Arn'] },
        },
      },
      GrantOpsRoleDualAuth: {
        Type: 'AWS::Lambda::Permission',
        Properties: {
          Action: 'lambda:InvokeFunction',
          FunctionName: fnArn,
          InvokedViaFunctionUrl: true,
          Principal: { 'Fn::GetAtt': ['OpsRole', 'Arn'] },
        },
      },
      GrantAccount: {
        Type: 'AWS::Lambda::Permission',
        Properties: {
          Action: 'lambda:InvokeFunctionUrl',
          FunctionName: fnArn,
          FunctionUrlAuthType: 'AWS_IAM',
          Principal: { Ref: 'AWS::AccountId' },
        },
      },
      GrantForNoneUrls: {
        Type: 'AWS::Lambda::Permission',
        Properties: {
          Action: 'lambda:InvokeFunctionUrl',
          FunctionName: fnArn,
          FunctionUrlAuthType: 'NONE',
          Principal: '*',
        },
      },
    },
  };
}

describe('readTemplate (function URLs)', () => {
  it("reads each AWS::Lambda::Url with its function's InvokeFunctionUrl grants for AWS_IAM", () => {
    const { urls } = readTemplate(urlTemplate(), '/cdk.out', 'http://127.0.0.1:1');

    expect(urls).toEqual([
      {
        logicalId: 'ApprovalsFnFunctionUrl',
        functionId: 'ApprovalsFnA1B2C3',
        authType: 'AWS_IAM',
        permissions: [
          { logicalId: 'GrantOpsRole', principal: OPS_APPROVER_ROLE_ARN, principalOrgId: undefined },
          { logicalId: 'GrantAccount', principal: LOCAL_ACCOUNT, principalOrgId: undefined },
        ],
      },
    ]);
  });

  it('reads no URL from a template that has none', () => {
    const template = urlTemplate();
    delete template.Resources.ApprovalsFnFunctionUrl;

    expect(readTemplate(template, '/cdk.out', 'http://127.0.0.1:1').urls).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------- the cloud

describe('LocalCloud function URLs', () => {
  const fixtures = assemblies('function-url-');
  /** A local cloud of `template` with one echo function (and its URL when `template` has one). */
  const start = (template: Template) =>
    fixtures.start(template, {
      'asset.echo':
        "exports.handler = async (event) => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });\n",
    });

  afterAll(() => fixtures.remove());

  it('serves the template URL: the function sees the signer, a non-grantee is refused', async () => {
    const cloud = await start(urlTemplate());
    try {
      const url = cloud.functionUrl('ApprovalsFnA1B2C3');
      const port = Number(new URL(url).port);
      expect(cloud.functionUrl('approvals')).toBe(url);
      expect(cloud.functionUrls()).toEqual(new Map([['ApprovalsFnA1B2C3', url]]));
      expect(cloud.cliEnv().APPROVALS_URL).toBe(url);
      expect(cloud.principals).toBe(LOCAL_PRINCIPALS);

      // ops: granted through the role of the template; alice: through the account grant.
      const byOps = await send(
        await sign(credentialsFor('ops'), {
          port,
          date: new Date(),
          path: '/requests/r/approve',
          body: BODY,
        }),
      );
      expect(byOps.status).toBe(200);
      expect((byOps.json as FunctionUrlEvent).requestContext.authorizer?.iam.userArn).toBe(OPS);
      expect((byOps.json as FunctionUrlEvent).body).toBe(BODY);

      const unsigned = await sign(credentialsFor('alice'), {
        port,
        date: new Date(),
        method: 'GET',
        path: '/requests',
      });
      delete unsigned.headers.authorization;
      expect((await send(unsigned)).status).toBe(403);

      expect(cloud.urlCalls.map((c) => [c.method, c.path, c.caller, c.status, c.refusal])).toEqual([
        ['POST', '/requests/r/approve', OPS, 200, undefined],
        ['GET', '/requests', undefined, 403, 'Unsigned'],
      ]);
    } finally {
      await cloud.close();
    }
  });

  it('refuses a principal the template does not grant', async () => {
    const template = urlTemplate();
    delete template.Resources.GrantAccount;
    const cloud = await start(template);
    try {
      const port = Number(new URL(cloud.functionUrl('ApprovalsFnA1B2C3')).port);
      const answer = await send(await sign(credentialsFor('alice'), { port, date: new Date(), body: BODY }));

      expect(answer.status).toBe(403);
      expect(answer.json).toEqual({
        Message: 'Forbidden',
        error: {
          code: 'AccessDenied',
          message: `${ALICE} may not invoke the function URL of ApprovalsFnA1B2C3: no statement of its resource policy grants lambda:InvokeFunctionUrl to this principal or its account`,
        },
      });
    } finally {
      await cloud.close();
    }
  });

  it('boots without URLs when the template has none, and says so when asked for one', async () => {
    const template = urlTemplate();
    delete template.Resources.ApprovalsFnFunctionUrl;
    const cloud = await start(template);
    try {
      expect(cloud.functionUrls().size).toBe(0);
      expect(cloud.cliEnv().APPROVALS_URL).toBeUndefined();
      expect(() => cloud.functionUrl('ApprovalsFnA1B2C3')).toThrow(
        'no function URL for "ApprovalsFnA1B2C3": the template serves no function URL',
      );
    } finally {
      await cloud.close();
    }
  });
});
