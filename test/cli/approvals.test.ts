/**
 * The CLI's side of approvals, run as a person runs it (a child process) against a small local approvals
 * endpoint that records every call and checks its SigV4 signature by computing it again with the SDK's signer
 * for the test credentials: what is sent (method, path, query, body), that it is signed, what is printed, and
 * the exit codes of refusals. The endpoint also answers CloudFormation's DescribeStacks (awsQuery XML), so the
 * URL discovery from the stack output runs through the real SDK client.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { describeDecision, formatRequests } from '../../cli/commands/approvals.js';
import {
  approvalsClient,
  discoverApprovalsUrl,
  EndpointRefusal,
  parseEndpointUrl,
  refusalFrom,
  regionFromFunctionUrl,
} from '../../cli/signed.js';
import type { DeletionRequestRecord } from '../../functions/shared/approvals/model.js';
import { keepNewest } from '../fixtures/images.js';
import { type CliResult, noAwsSetup, removeTempFiles, runCli, tempFiles } from './run-cli.js';

const REGION = 'eu-west-1';
const ACCOUNT = '123456789012';
const CREDENTIALS = {
  accessKeyId: 'AKIDAPPROVALSTEST01',
  secretAccessKey: 'approvals-test-secret-key/0123456789',
};
const ALICE = 'arn:aws:iam::123456789012:user/alice';
const OPS = 'arn:aws:sts::123456789012:assumed-role/ops-approver/ops';
const DIGEST_A = `sha256:${'a'.repeat(64)}`;
const DIGEST_B = `sha256:${'b'.repeat(64)}`;
const DIGEST_C = `sha256:${'c'.repeat(64)}`;

const PENDING_ID = 'req-20260601T120000-k3x9qa';
const APPROVED_ID = 'req-20260530T080000-a1b2c3';
const SELF_ID = 'req-20260601T130000-5e1fap';
const FORBIDDEN_ID = 'req-20260601T140000-zzzzzz';
const UNKNOWN_ID = 'req-20260601T150000-000000';
const BROKEN_ID = 'req-20260601T160000-111111';

/** 3 images of 1.20 GiB in all. */
function pending(over: Partial<DeletionRequestRecord> = {}): DeletionRequestRecord {
  return {
    id: PENDING_ID,
    kind: 'delete',
    state: 'PENDING_APPROVAL',
    registryId: ACCOUNT,
    region: REGION,
    repository: 'team/app',
    selection: 'team',
    images: [
      { digest: DIGEST_A, tags: ['v1'], sizeBytes: 429_496_729, reason: 'rule 1: keep the newest 1' },
      { digest: DIGEST_B, tags: [], sizeBytes: 429_496_730, reason: 'rule 1: keep the newest 1' },
      { digest: DIGEST_C, tags: ['v0'], sizeBytes: 429_496_730, reason: 'rule 1: keep the newest 1' },
    ],
    imageCount: 3,
    bytes: 1_288_490_189,
    reason: 'old builds',
    requester: { type: 'principal', arn: ALICE },
    createdAt: '2026-06-01T12:00:00.000Z',
    expiresAt: '2026-06-04T12:00:00.000Z',
    ...over,
  };
}

const PLANNED: DeletionRequestRecord = pending({
  id: 'req-20260601T121500-p1anrd',
  repository: 'team/web',
  images: [{ digest: DIGEST_A, tags: [], sizeBytes: 734_003_200, reason: 'rule 1' }],
  imageCount: 1,
  bytes: 734_003_200,
  reason: 'run plan: 1 image expired by rule 1',
  requester: { type: 'ecr-steward', runId: 'run-42' },
  createdAt: '2026-06-01T12:15:00.000Z',
  expiresAt: '2026-06-04T12:15:00.000Z',
});

const RESET: DeletionRequestRecord = pending({
  id: 'req-20260601T123000-br3akr',
  kind: 'breaker-reset',
  repository: undefined,
  scope: 'registry',
  images: [],
  imageCount: 0,
  bytes: 0,
  reason: 'false alarm: the migration deleted on purpose',
  createdAt: '2026-06-01T12:30:00.000Z',
  expiresAt: '2026-06-04T12:30:00.000Z',
});

const DECIDED: DeletionRequestRecord = pending({
  id: APPROVED_ID,
  state: 'APPROVED',
  createdAt: '2026-05-30T08:00:00.000Z',
  expiresAt: '2026-06-02T08:00:00.000Z',
  decision: { action: 'approve', by: OPS, at: '2026-05-30T09:00:00.000Z', comment: 'ok' },
});

/** One call as the endpoint received it, with the outcome of checking its signature. */
interface Seen {
  readonly method: string;
  readonly path: string;
  readonly rawQuery: string;
  readonly query: Record<string, string>;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly signedHeaders: readonly string[];
  /** Undefined when the signature verifies; otherwise why not. */
  readonly signatureProblem: string | undefined;
}

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly contentType?: string;
}

const json = (status: number, body: unknown): Answer => ({ status, body: JSON.stringify(body) });
const refusal = (status: number, code: string, message: string) => json(status, { error: { code, message } });

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/;

/**
 * Checks a call's SigV4 signature as AWS would: the same request (method, path, query, the signed headers, the
 * body) signed again with the test credentials at the call's own x-amz-date must give the same Authorization
 * header, and the signed payload hash must be the body's.
 */
async function signatureProblem(
  seen: Omit<Seen, 'signatureProblem' | 'signedHeaders'>,
  port: number,
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
): Promise<string | undefined> {
  const auth = seen.headers.authorization;
  if (!auth) return 'no Authorization header';
  const m = AUTHORIZATION.exec(auth);
  if (!m) return `malformed Authorization: ${auth}`;
  const [, accessKeyId, , region, service, signedHeaders] = m;
  if (accessKeyId !== credentials.accessKeyId) return `access key ${accessKeyId}`;
  if (region !== REGION || service !== 'lambda') return `scope ${region}/${service}`;
  const amzDate = seen.headers['x-amz-date'] ?? '';
  const d = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!d) return `x-amz-date ${amzDate}`;
  const signingDate = new Date(`${d[1]}-${d[2]}-${d[3]}T${d[4]}:${d[5]}:${d[6]}Z`);
  const bodyHash = createHash('sha256').update(seen.body).digest('hex');
  if (seen.headers['x-amz-content-sha256'] !== bodyHash) return 'x-amz-content-sha256 is not the body hash';
  const headers: Record<string, string> = {};
  for (const name of (signedHeaders ?? '').split(';')) headers[name] = seen.headers[name] ?? '';
  const again = await new SignatureV4({
    service: 'lambda',
    region: REGION,
    credentials,
    sha256: Hash.bind(null, 'sha256'),
  }).sign(
    new HttpRequest({
      method: seen.method,
      protocol: 'http:',
      hostname: '127.0.0.1',
      port,
      path: seen.path,
      query: seen.query,
      headers,
      ...(seen.body !== '' ? { body: seen.body } : {}),
    }),
    { signingDate },
  );
  return again.headers.authorization === auth ? undefined : 'signature does not match';
}

/** A CloudFormation DescribeStacks answer (awsQuery XML) for one stack and its outputs. */
function describeStacksXml(name: string, outputs: Record<string, string>): string {
  const members = Object.entries(outputs)
    .map(([k, v]) => `<member><OutputKey>${k}</OutputKey><OutputValue>${v}</OutputValue></member>`)
    .join('');
  return `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member><StackName>${name}</StackName><StackId>arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/${name}/1</StackId><StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2026-01-01T00:00:00Z</CreationTime><Outputs>${members}</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeStacksResponse>`;
}

const NO_STACK_XML = (name: string) =>
  `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${name} does not exist</Message></Error><RequestId>2</RequestId></ErrorResponse>`;

/** The endpoint's canned answers, by route. */
function answer(seen: Seen, stacks: Record<string, Record<string, string>>): Answer {
  if (seen.method === 'POST' && seen.path === '/') {
    const form = new URLSearchParams(seen.body);
    const name = form.get('StackName') ?? '';
    const outputs = stacks[name];
    return outputs
      ? { status: 200, body: describeStacksXml(name, outputs), contentType: 'text/xml' }
      : { status: 400, body: NO_STACK_XML(name), contentType: 'text/xml' };
  }
  // A URL with a base path (`http://127.0.0.1:<port>/from-env/`) is served the same routes.
  const route = seen.path.replace(/^\/[a-z-]+(?=\/requests)/, '');
  if (seen.method === 'GET' && route === '/requests')
    return json(200, { requests: [pending(), PLANNED, RESET] });
  if (seen.method === 'POST' && route === '/requests') return json(201, { request: created(seen.body) });
  const decide = /^\/requests\/([^/]+)\/(approve|reject)$/.exec(route);
  if (seen.method === 'POST' && decide) {
    const [, id, action] = decide;
    const body = JSON.parse(seen.body) as { comment?: string; reason?: string };
    if (id === PENDING_ID)
      return json(200, {
        request: pending({
          state: action === 'approve' ? 'APPROVED' : 'REJECTED',
          decision: {
            action: action as 'approve' | 'reject',
            by: OPS,
            at: '2026-06-01T13:00:00.000Z',
            ...body,
          },
        }),
        changed: true,
      });
    if (id === APPROVED_ID) return json(200, { request: DECIDED, changed: false });
    if (id === SELF_ID)
      return refusal(403, 'SelfApproval', `${ALICE} asked for ${SELF_ID}: another approver must answer it`);
    if (id === FORBIDDEN_ID) return json(403, { Message: 'Forbidden' });
    if (id === BROKEN_ID) return { status: 502, body: 'Internal Server Error' };
  }
  return refusal(404, 'NotFound', `no request ${seen.path.split('/')[2] ?? ''}`);
}

let counter = 0;

/** The request the endpoint creates for a `POST /requests` body. */
function created(text: string): DeletionRequestRecord {
  const body = JSON.parse(text) as {
    kind: 'delete' | 'breaker-reset';
    repository?: string;
    digests?: string[];
    scope?: string;
    reason: string;
  };
  counter++;
  const digests = body.digests ?? [];
  return {
    id: `req-20260601T170000-n0000${counter}`,
    kind: body.kind,
    state: 'PENDING_APPROVAL',
    registryId: ACCOUNT,
    region: REGION,
    ...(body.kind === 'delete' ? { repository: body.repository } : { scope: body.scope }),
    images: digests.map((digest) => ({ digest, tags: [], sizeBytes: 104_857_600, reason: body.reason })),
    imageCount: digests.length,
    bytes: digests.length * 104_857_600,
    reason: body.reason,
    requester: { type: 'principal', arn: ALICE },
    createdAt: '2026-06-01T17:00:00.000Z',
    expiresAt: '2026-06-04T17:00:00.000Z',
  };
}

interface Endpoint {
  readonly url: string;
  readonly port: number;
  /** Every call received since the last `reset`. */
  readonly calls: Seen[];
  /** Stack name → outputs, for DescribeStacks. */
  stacks: Record<string, Record<string, string>>;
  /** The credentials the signatures are checked against. */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  close(): Promise<void>;
}

async function startEndpoint(): Promise<Endpoint> {
  let port = 0;
  const endpoint: Omit<Endpoint, 'url' | 'port' | 'close'> = {
    calls: [],
    stacks: {},
    credentials: CREDENTIALS,
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const base = {
        method: req.method ?? '',
        path: url.pathname,
        rawQuery: url.search.slice(1),
        query: Object.fromEntries(url.searchParams),
        headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      const signed = /SignedHeaders=([^,]+)/.exec(headers.authorization ?? '')?.[1];
      const seen: Seen = {
        ...base,
        signedHeaders: signed ? signed.split(';') : [],
        // DescribeStacks is signed for CloudFormation by the SDK itself; only the endpoint's calls are checked here.
        signatureProblem:
          base.path === '/' ? undefined : await signatureProblem(base, port, endpoint.credentials),
      };
      endpoint.calls.push(seen);
      const a = answer(seen, endpoint.stacks);
      res.writeHead(a.status, { 'content-type': a.contentType ?? 'application/json' });
      res.end(a.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  return Object.assign(endpoint, {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

let endpoint: Endpoint;
let cwd: string;

beforeAll(async () => {
  endpoint = await startEndpoint();
  cwd = await tempFiles({
    'approval.config.json': {
      selections: [{ repositories: ['team/*'], lifecyclePolicy: keepNewest(1) }],
      governance: { approval: { approvers: ['arn:aws:iam::123456789012:role/ops-*'], breakerReset: true } },
    },
  });
});

afterAll(async () => {
  await endpoint?.close();
  await removeTempFiles();
});

beforeEach(() => {
  endpoint.calls.length = 0;
  endpoint.stacks = {};
  endpoint.credentials = CREDENTIALS;
});

/** The CLI as a person with the test credentials runs it: no profile, no endpoint override unless given. */
async function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return runCli(args, {
    cwd,
    env: await noAwsSetup({
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      APPROVALS_URL: undefined,
      ECR_STEWARD_CONFIG: undefined,
      ...env,
    }),
  });
}

/** The endpoint's calls as method, path, query and parsed body, each checked to carry a good signature. */
function sent(): { method: string; path: string; query: string; body: unknown }[] {
  return endpoint.calls.map((c) => {
    expect(c.signatureProblem, `${c.method} ${c.path}`).toBeUndefined();
    return {
      method: c.method,
      path: c.path,
      query: c.rawQuery,
      body: c.body === '' ? undefined : JSON.parse(c.body),
    };
  });
}

describe('ecr-steward approvals list', () => {
  it('asks for the pending requests and prints them as a table', async () => {
    // Act
    const result = await cli(['approvals', 'list', '--url', `${endpoint.url}/`]);

    // Assess
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(sent()).toEqual([
      { method: 'GET', path: '/requests', query: 'state=PENDING_APPROVAL', body: undefined },
    ]);
    expect(result.stdout).toBe(
      [
        'ID                          STATE             REPOSITORY/SCOPE  IMAGES  BYTES     REQUESTER                             CREATED               EXPIRES',
        'req-20260601T120000-k3x9qa  PENDING_APPROVAL  team/app          3       1.20 GiB  arn:aws:iam::123456789012:user/alice  2026-06-01T12:00:00Z  2026-06-04T12:00:00Z',
        'req-20260601T121500-p1anrd  PENDING_APPROVAL  team/web          1       700 MiB   ecr-steward (run run-42)              2026-06-01T12:15:00Z  2026-06-04T12:15:00Z',
        'req-20260601T123000-br3akr  PENDING_APPROVAL  breaker registry  -       -         arn:aws:iam::123456789012:user/alice  2026-06-01T12:30:00Z  2026-06-04T12:30:00Z',
        '',
      ].join('\n'),
    );
  });

  it('signs with the SigV4 headers of a function URL call: Authorization, x-amz-date, x-amz-content-sha256', async () => {
    // Act
    const result = await cli(['approvals', 'list', '--url', endpoint.url]);

    // Assess
    expect(result.code).toBe(0);
    const [call] = endpoint.calls;
    expect(call?.signatureProblem).toBeUndefined();
    expect(call?.headers).toMatchObject({
      authorization: expect.stringMatching(
        new RegExp(
          `^AWS4-HMAC-SHA256 Credential=${CREDENTIALS.accessKeyId}/\\d{8}/${REGION}/lambda/aws4_request, `,
        ),
      ),
      'x-amz-date': expect.stringMatching(/^\d{8}T\d{6}Z$/),
      'x-amz-content-sha256': createHash('sha256').update('').digest('hex'),
      'user-agent': expect.stringMatching(/^ecr-steward\/\d+\.\d+\.\d+$/),
    });
    expect(call?.signedHeaders).toEqual(['accept', 'host', 'x-amz-content-sha256', 'x-amz-date']);
  });

  it('signs the session token too when the credentials are temporary', async () => {
    // Prepare
    endpoint.credentials = { ...CREDENTIALS, sessionToken: 'session-token-of-ops' };

    // Act
    const result = await cli(['approvals', 'list', '--url', endpoint.url], {
      AWS_SESSION_TOKEN: 'session-token-of-ops',
    });

    // Assess
    expect(result.code).toBe(0);
    const [call] = endpoint.calls;
    expect(call?.signatureProblem).toBeUndefined();
    expect(call?.headers['x-amz-security-token']).toBe('session-token-of-ops');
    expect(call?.signedHeaders).toContain('x-amz-security-token');
  });

  it('sends every state and the repository when asked, and prints the requests as JSON', async () => {
    // Act
    const result = await cli([
      'approvals',
      'list',
      '--state',
      'all',
      '--repository',
      'team/app',
      '--format',
      'json',
      '--url',
      endpoint.url,
    ]);

    // Assess
    expect(result.code).toBe(0);
    expect(sent()).toEqual([
      { method: 'GET', path: '/requests', query: 'state=all&repository=team%2Fapp', body: undefined },
    ]);
    expect(JSON.parse(result.stdout)).toEqual(
      [pending(), PLANNED, RESET].map((r) => JSON.parse(JSON.stringify(r))),
    );
  });

  it('refuses an unknown --state before any call (exit 2)', async () => {
    // Act
    const result = await cli(['approvals', 'list', '--state', 'waiting', '--url', endpoint.url]);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'error: --state "waiting": use one of PENDING_APPROVAL, APPROVED, REJECTED, EXPIRED or all\n',
    );
    expect(endpoint.calls).toEqual([]);
  });
});

describe('ecr-steward approve', () => {
  it('posts the comment to the request and prints the decision with the request summary', async () => {
    // Act
    const result = await cli([
      'approve',
      PENDING_ID,
      '--comment',
      'checked with the team',
      '--url',
      endpoint.url,
    ]);

    // Assess
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(sent()).toEqual([
      {
        method: 'POST',
        path: `/requests/${PENDING_ID}/approve`,
        query: '',
        body: { comment: 'checked with the team' },
      },
    ]);
    expect(endpoint.calls[0]?.signedHeaders).toEqual([
      'accept',
      'content-type',
      'host',
      'x-amz-content-sha256',
      'x-amz-date',
    ]);
    expect(result.stdout).toBe(
      `approved ${PENDING_ID} (3 images, 1.20 GiB in team/app) by ${OPS}; the images go once their notice is due (a hold or a new pull still keeps an image)\n`,
    );
  });

  it('sends an empty body without --comment', async () => {
    // Act
    const result = await cli(['approve', PENDING_ID, '--url', endpoint.url]);

    // Assess
    expect(result.code).toBe(0);
    expect(sent()).toEqual([
      { method: 'POST', path: `/requests/${PENDING_ID}/approve`, query: '', body: {} },
    ]);
  });

  it('says the request was already approved when the endpoint changed nothing', async () => {
    // Act
    const result = await cli(['approve', APPROVED_ID, '--url', endpoint.url]);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      `${APPROVED_ID} was already approved by ${OPS} at 2026-05-30T09:00:00.000Z (3 images, 1.20 GiB in team/app); nothing changed\n`,
    );
  });

  it('prints the refusal and exits 1 when the endpoint refuses a self-approval (403 SelfApproval)', async () => {
    // Act
    const result = await cli(['approve', SELF_ID, '--url', endpoint.url]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `refused (SelfApproval): ${ALICE} asked for ${SELF_ID}: another approver must answer it\n`,
    );
    expect(sent()).toEqual([{ method: 'POST', path: `/requests/${SELF_ID}/approve`, query: '', body: {} }]);
  });

  it('explains AWS\'s own refusal ({"Message":"Forbidden"}) and exits 1', async () => {
    // Act
    const result = await cli(['approve', FORBIDDEN_ID, '--url', endpoint.url]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'refused (Forbidden): AWS refused the call before the approvals function ran: your identity may not invoke the approvals URL (lambda:InvokeFunctionUrl), or the signature does not match (clock, region or credentials)\n',
    );
  });

  it('exits 2 when the endpoint knows no such request (404 NotFound)', async () => {
    // Act
    const result = await cli(['approve', UNKNOWN_ID, '--url', endpoint.url]);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`refused (NotFound): no request ${UNKNOWN_ID}\n`);
  });

  it('exits 2 naming the URL when the endpoint fails (HTTP 502)', async () => {
    // Act
    const result = await cli(['approve', BROKEN_ID, '--url', endpoint.url]);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `error: the approvals endpoint ${endpoint.url} failed: HTTP 502 (HTTP502): Internal Server Error; see the approvals function's logs\n`,
    );
  });

  it('refuses a malformed request id before any call (exit 2)', async () => {
    // Act
    const result = await cli(['approve', 'req-42', '--url', endpoint.url]);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'error: "req-42": not a request id (e.g. req-20260601T120000-k3x9qa; `ecr-steward approvals list` shows them)\n',
    );
    expect(endpoint.calls).toEqual([]);
  });
});

describe('ecr-steward reject', () => {
  it('posts the reason and prints the rejection', async () => {
    // Act
    const result = await cli([
      'reject',
      PENDING_ID,
      '--reason',
      'v0 is still deployed in eu-central-1',
      '--url',
      endpoint.url,
    ]);

    // Assess
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(sent()).toEqual([
      {
        method: 'POST',
        path: `/requests/${PENDING_ID}/reject`,
        query: '',
        body: { reason: 'v0 is still deployed in eu-central-1' },
      },
    ]);
    expect(result.stdout).toBe(
      `rejected ${PENDING_ID} (3 images, 1.20 GiB in team/app) by ${OPS}: v0 is still deployed in eu-central-1; its images are kept\n`,
    );
  });

  it('requires --reason (exit 2, nothing sent)', async () => {
    // Act
    const result = await cli(['reject', PENDING_ID, '--url', endpoint.url]);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('error: --reason is required: say why the request is rejected\n');
    expect(endpoint.calls).toEqual([]);
  });
});

describe('ecr-steward delete request', () => {
  it('creates one request per repository, each digest once, and prints the commands an approver runs', async () => {
    // Prepare
    counter = 0;

    // Act
    const result = await cli([
      'delete',
      'request',
      `team/app@${DIGEST_A}`,
      `team/web@${DIGEST_C}`,
      `team/app@${DIGEST_B}`,
      `team/app@${DIGEST_A}`,
      '--reason',
      'leaked credentials in these layers',
      '--url',
      endpoint.url,
    ]);

    // Assess
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(sent()).toEqual([
      {
        method: 'POST',
        path: '/requests',
        query: '',
        body: {
          kind: 'delete',
          repository: 'team/app',
          digests: [DIGEST_A, DIGEST_B],
          reason: 'leaked credentials in these layers',
        },
      },
      {
        method: 'POST',
        path: '/requests',
        query: '',
        body: {
          kind: 'delete',
          repository: 'team/web',
          digests: [DIGEST_C],
          reason: 'leaked credentials in these layers',
        },
      },
    ]);
    expect(result.stdout).toBe(
      [
        'created req-20260601T170000-n00001 (2 images, 200 MiB in team/app): PENDING_APPROVAL until 2026-06-04T17:00:00.000Z; an approver other than you answers with',
        '  ecr-steward approve req-20260601T170000-n00001 [--comment TEXT]',
        '  ecr-steward reject req-20260601T170000-n00001 --reason TEXT',
        'created req-20260601T170000-n00002 (1 image, 100 MiB in team/web): PENDING_APPROVAL until 2026-06-04T17:00:00.000Z; an approver other than you answers with',
        '  ecr-steward approve req-20260601T170000-n00002 [--comment TEXT]',
        '  ecr-steward reject req-20260601T170000-n00002 --reason TEXT',
        '',
      ].join('\n'),
    );
  });

  it('refuses a tag reference before any call (exit 2): a request names images by digest', async () => {
    // Act
    const result = await cli([
      'delete',
      'request',
      `team/app@${DIGEST_A}`,
      'team/app:v1',
      '--reason',
      'old',
      '--url',
      endpoint.url,
    ]);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'error: "team/app:v1": a deletion request names images by digest (REPOSITORY@sha256:…), not by tag, since a tag can move before the request is approved; find the digest with aws ecr describe-images --repository-name team/app --image-ids imageTag=v1\n',
    );
    expect(endpoint.calls).toEqual([]);
  });

  it('refuses more than 100 images of one repository in one request before any call (exit 2)', async () => {
    // Prepare
    const refs = Array.from({ length: 101 }, (_, i) => `team/app@sha256:${i.toString(16).padStart(64, '0')}`);

    // Act
    const result = await cli(['delete', 'request', ...refs, '--reason', 'old', '--url', endpoint.url]);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'error: team/app: 101 images; one request takes at most 100 images of a repository: ask for the rest in another request\n',
    );
    expect(endpoint.calls).toEqual([]);
  });

  it('requires --reason (exit 2, nothing sent)', async () => {
    // Act
    const result = await cli(['delete', 'request', `team/app@${DIGEST_A}`, '--url', endpoint.url]);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('error: --reason is required: say why the images must go\n');
    expect(endpoint.calls).toEqual([]);
  });
});

describe('ecr-steward breaker reset, as a request', () => {
  it('posts a breaker-reset request with --request instead of resetting', async () => {
    // Prepare
    counter = 0;

    // Act
    const result = await cli([
      'breaker',
      'reset',
      '--scope',
      'repository:team/app',
      '--request',
      '--reason',
      'the mass delete was the planned migration',
      '--url',
      endpoint.url,
    ]);

    // Assess
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(sent()).toEqual([
      {
        method: 'POST',
        path: '/requests',
        query: '',
        body: {
          kind: 'breaker-reset',
          scope: 'repository:team/app',
          reason: 'the mass delete was the planned migration',
        },
      },
    ]);
    expect(result.stdout).toBe(
      [
        'created req-20260601T170000-n00001 (reset of breaker repository:team/app): PENDING_APPROVAL until 2026-06-04T17:00:00.000Z; an approver other than you answers with',
        '  ecr-steward approve req-20260601T170000-n00001 [--comment TEXT]',
        '  ecr-steward reject req-20260601T170000-n00001 --reason TEXT',
        '',
      ].join('\n'),
    );
  });

  it('asks instead of resetting when the --config requires an approval for resets', async () => {
    // Prepare
    counter = 0;

    // Act
    const result = await cli([
      'breaker',
      'reset',
      '--scope',
      'registry',
      '--config',
      join(cwd, 'approval.config.json'),
      '--reason',
      'false alarm',
      '--url',
      endpoint.url,
    ]);

    // Assess
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(sent()).toEqual([
      {
        method: 'POST',
        path: '/requests',
        query: '',
        body: { kind: 'breaker-reset', scope: 'registry', reason: 'false alarm' },
      },
    ]);
  });

  it('requires --reason for a reset request (exit 2, nothing sent)', async () => {
    // Act
    const result = await cli(['breaker', 'reset', '--scope', 'registry', '--request', '--url', endpoint.url]);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('error: --reason is required: say why the breaker should be reset\n');
    expect(endpoint.calls).toEqual([]);
  });
});

describe('finding the approvals URL', () => {
  it('prefers --url over $APPROVALS_URL', async () => {
    // Act
    const result = await cli(['approvals', 'list', '--url', endpoint.url], {
      APPROVALS_URL: `${endpoint.url}/from-env/`,
    });

    // Assess
    expect(result.code).toBe(0);
    expect(sent().map((c) => c.path)).toEqual(['/requests']);
  });

  it('uses $APPROVALS_URL, base path included, without --url', async () => {
    // Act
    const result = await cli(['approvals', 'list'], { APPROVALS_URL: `${endpoint.url}/from-env/` });

    // Assess
    expect(result.code).toBe(0);
    expect(sent().map((c) => c.path)).toEqual(['/from-env/requests']);
  });

  it("reads the stack's ApprovalsUrl output (DescribeStacks through AWS_ENDPOINT_URL) when no URL is given", async () => {
    // Prepare
    endpoint.stacks = {
      EcrSteward: { AuditTableName: 'audit', ApprovalsUrl: `${endpoint.url}/from-stack/` },
    };

    // Act
    const result = await cli(['approvals', 'list'], { AWS_ENDPOINT_URL: endpoint.url });

    // Assess
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const [describe, list] = endpoint.calls;
    expect(Object.fromEntries(new URLSearchParams(describe?.body))).toMatchObject({
      Action: 'DescribeStacks',
      StackName: 'EcrSteward',
    });
    expect(list).toMatchObject({ method: 'GET', path: '/from-stack/requests', signatureProblem: undefined });
  });

  it('exits 2 saying how to give the URL when the stack does not exist', async () => {
    // Act
    const result = await cli(['approvals', 'list', '--stack', 'Elsewhere'], {
      AWS_ENDPOINT_URL: endpoint.url,
    });

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'error: no approvals URL: pass --url or set $APPROVALS_URL; stack Elsewhere was not found (name another with --stack)\n',
    );
    expect(endpoint.calls.map((c) => c.path)).toEqual(['/']);
  });

  it('exits 2 saying the stack was deployed without approvals when it has no ApprovalsUrl output', async () => {
    // Prepare
    endpoint.stacks = { EcrSteward: { AuditTableName: 'audit' } };

    // Act
    const result = await cli(['approvals', 'list'], { AWS_ENDPOINT_URL: endpoint.url });

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'error: no approvals URL: stack EcrSteward has no ApprovalsUrl output (deploy it with governance.approval configured), or pass --url / set $APPROVALS_URL\n',
    );
  });

  it('exits 2 naming the URL when nothing answers there', async () => {
    // Prepare: a port that was free a moment ago.
    const gone = await startEndpoint();
    await gone.close();

    // Act
    const result = await cli(['approvals', 'list', '--url', gone.url]);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `error: cannot reach the approvals endpoint ${gone.url} (ECONNREFUSED; from --url): check the URL and the network\n`,
    );
  });
});

describe('approvalsClient', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("signs for the region in a function URL's host, whatever region it is given", async () => {
    // Prepare
    const fetched: { url: string; init: RequestInit }[] = [];
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      fetched.push({ url, init });
      return new Response(JSON.stringify({ requests: [] }), { status: 200 });
    });
    const client = approvalsClient({
      url: 'https://abcdefghij0123456789.lambda-url.ap-southeast-2.on.aws/',
      region: REGION,
      credentials: CREDENTIALS,
    });

    // Act
    const requests = await client.list({ state: 'EXPIRED' });

    // Assess
    expect(requests).toEqual([]);
    expect(client.region).toBe('ap-southeast-2');
    expect(fetched.map((f) => f.url)).toEqual([
      'https://abcdefghij0123456789.lambda-url.ap-southeast-2.on.aws/requests?state=EXPIRED',
    ]);
    const headers = (fetched[0]?.init.headers ?? {}) as Record<string, string>;
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDAPPROVALSTEST01\/\d{8}\/ap-southeast-2\/lambda\/aws4_request, /,
    );
  });

  it('throws a CliError naming the URL for an answer that is not the contract', async () => {
    // Prepare
    vi.stubGlobal('fetch', async () => new Response('{"items":[]}', { status: 200 }));
    const client = approvalsClient({
      url: 'https://example.com/approvals',
      region: REGION,
      credentials: CREDENTIALS,
    });

    // Act / Assess
    await expect(client.list()).rejects.toThrow(
      'https://example.com/approvals answered GET /requests with JSON that is not the approvals contract (requests: is required): is it the approvals function URL, and of the same ECR Steward version?',
    );
  });
});

describe('signed.ts helpers', () => {
  it.each([
    ['https://abc123.lambda-url.eu-west-1.on.aws/', 'eu-west-1'],
    ['https://abc123.lambda-url.us-gov-west-1.on.aws', 'us-gov-west-1'],
    ['http://127.0.0.1:4566/', undefined],
    ['https://approvals.example.com/', undefined],
    ['not a url', undefined],
  ])('reads the region of %s as %s', (url, region) => {
    expect(regionFromFunctionUrl(url)).toBe(region);
  });

  it.each([
    [
      403,
      '{"error":{"code":"NotAnApprover","message":"you may not approve"}}',
      'NotAnApprover',
      'you may not approve',
    ],
    [
      409,
      '{"Message":"Forbidden","error":{"code":"Expired","message":"it expired"}}',
      'Expired',
      'it expired',
    ],
    [429, '{"Message":"Rate exceeded"}', 'HTTP429', 'Rate exceeded'],
    [400, '<html>\n bad </html>', 'HTTP400', '<html> bad </html>'],
    [404, '', 'HTTP404', 'HTTP 404 with no body'],
  ])('reads a %i answer %j as code %s', (status, body, code, message) => {
    const refused = refusalFrom(status, body);
    expect(refused).toBeInstanceOf(EndpointRefusal);
    expect({ status: refused.status, code: refused.code, message: refused.message }).toEqual({
      status,
      code,
      message,
    });
  });

  it.each([
    [
      'http://approvals.example.com/',
      'the approvals URL must be https (plain http only to 127.0.0.1 or localhost)',
    ],
    ['https://x.example.com/?a=1', 'give the function URL alone, without a query, fragment or user'],
    ['approvals', 'not a URL (e.g. https://<id>.lambda-url.<region>.on.aws/)'],
  ])('refuses the URL %s', (url, why) => {
    expect(() => parseEndpointUrl(url, '--url')).toThrow(`--url ${JSON.stringify(url)}: ${why}`);
  });

  it('takes the URL from --url, then $APPROVALS_URL, then the stack output', async () => {
    // Prepare
    const asked: string[] = [];
    const read = async (stack: string, key: string) => {
      asked.push(`${stack}.${key}`);
      return 'https://from-stack.example.com/';
    };

    // Act
    const fromOption = await discoverApprovalsUrl(
      { url: 'https://a.example.com/' },
      { APPROVALS_URL: 'https://b.example.com/' },
      read,
    );
    const fromEnv = await discoverApprovalsUrl({}, { APPROVALS_URL: 'https://b.example.com/' }, read);
    const fromStack = await discoverApprovalsUrl({ stack: 'Prod' }, {}, read);

    // Assess
    expect([fromOption, fromEnv, fromStack]).toEqual([
      { url: 'https://a.example.com/', source: '--url' },
      { url: 'https://b.example.com/', source: '$APPROVALS_URL' },
      { url: 'https://from-stack.example.com/', source: 'stack Prod output ApprovalsUrl' },
    ]);
    expect(asked).toEqual(['Prod.ApprovalsUrl']);
  });
});

describe('formatRequests', () => {
  it('adds who decided when some listed request has been decided', () => {
    // Prepare
    const expired = pending({
      id: 'req-20260520T080000-exp1rd',
      state: 'EXPIRED',
      repository: 'team/db',
      imageCount: 1,
      bytes: 512,
      requester: { type: 'ecr-steward', runId: 'run-7' },
      createdAt: '2026-05-20T08:00:00.000Z',
      expiresAt: '2026-05-23T08:00:00.000Z',
      decision: { action: 'expire', by: 'ecr-steward', at: '2026-05-23T08:00:00.000Z' },
    });

    // Act
    const text = formatRequests([DECIDED, expired, RESET], 'all');

    // Assess
    expect(text).toBe(
      [
        'ID                          STATE             REPOSITORY/SCOPE  IMAGES  BYTES     REQUESTER                             CREATED               EXPIRES               DECIDED BY',
        `req-20260530T080000-a1b2c3  APPROVED          team/app          3       1.20 GiB  ${ALICE}  2026-05-30T08:00:00Z  2026-06-02T08:00:00Z  ${OPS}`,
        'req-20260520T080000-exp1rd  EXPIRED           team/db           1       512 B     ecr-steward (run run-7)               2026-05-20T08:00:00Z  2026-05-23T08:00:00Z  ecr-steward',
        `req-20260601T123000-br3akr  PENDING_APPROVAL  breaker registry  -       -         ${ALICE}  2026-06-01T12:30:00Z  2026-06-04T12:30:00Z  -`,
        '',
      ].join('\n'),
    );
  });

  it.each([
    ['PENDING_APPROVAL', 'no requests PENDING_APPROVAL\n'],
    ['all', 'no requests\n'],
  ] as const)('says there are none for --state %s', (state, text) => {
    expect(formatRequests([], state)).toBe(text);
  });
});

describe('describeDecision', () => {
  const reset = (over: Partial<DeletionRequestRecord>) => ({ request: { ...RESET, ...over }, changed: true });

  it.each([
    [
      'approve',
      reset({ state: 'APPROVED', decision: { action: 'approve', by: OPS, at: '2026-06-01T13:00:00.000Z' } }),
      `approved ${RESET.id} (reset of breaker registry) by ${OPS}; the breaker is reset`,
    ],
    [
      'reject',
      reset({
        state: 'REJECTED',
        decision: { action: 'reject', by: OPS, at: '2026-06-01T13:00:00.000Z', reason: 'still deleting' },
      }),
      `rejected ${RESET.id} (reset of breaker registry) by ${OPS}: still deleting; the breaker stays as it is`,
    ],
    [
      'reject',
      {
        ...reset({
          state: 'REJECTED',
          decision: { action: 'reject', by: OPS, at: '2026-06-01T13:00:00.000Z', reason: 'still deleting' },
        }),
        changed: false,
      },
      `${RESET.id} was already rejected by ${OPS} at 2026-06-01T13:00:00.000Z (reset of breaker registry): still deleting; nothing changed`,
    ],
    [
      'approve',
      { request: pending({ state: 'EXPIRED' }), changed: false },
      `${PENDING_ID} is EXPIRED (3 images, 1.20 GiB in team/app); nothing changed`,
    ],
  ] as const)('describes %s as one line (%#)', (action, answer, line) => {
    expect(describeDecision(action, answer)).toBe(line);
  });
});
