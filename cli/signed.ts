import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import * as z from 'zod';
import {
  type DeletionRequestRecord,
  REQUEST_STATES,
  type RequestState,
} from '../functions/shared/approvals/model.js';
import { CLIENT_DEFAULTS } from '../functions/shared/runtime/clients.js';
import { ENV } from '../functions/shared/runtime/constants.js';
import { resolveRegion } from './aws.js';
import { NO_REGION } from './aws-errors.js';
import { APPROVALS_URL_OUTPUT, DEFAULT_STACK_NAME } from './register/endpoint.js';
import { CliError, describeZodIssues, packageVersion } from './util.js';

// Where they were first defined: the command registrations take them from the light module.
export { APPROVALS_URL_OUTPUT, DEFAULT_STACK_NAME, endpointOptions } from './register/endpoint.js';

/** The service a function URL's signature is scoped to (AWS: "sign with the service name lambda"). */
const SIGNING_SERVICE = 'lambda';

/**
 * Long enough for a cold start of the approvals function and a DynamoDB write or two; short enough that a
 * URL that accepts the connection and never answers does not hang a terminal.
 */
const TIMEOUT_MS = 60_000;

/** `<url-id>.lambda-url.<region>.on.aws`: the host of every Lambda function URL. */
const FUNCTION_URL_HOST = /^[a-z0-9]+\.lambda-url\.([a-z0-9-]+)\.on\.aws$/;

/** What `POST /requests` takes: images of one repository to delete, or a breaker to reset. */
export type CreateRequestBody =
  | {
      readonly kind: 'delete';
      readonly repository: string;
      readonly digests: readonly string[];
      readonly reason: string;
    }
  | { readonly kind: 'breaker-reset'; readonly scope: string; readonly reason: string };

/** The answer to an approve or reject: the request as it is now, and whether this call changed it. */
export interface DecisionAnswer {
  readonly request: DeletionRequestRecord;
  /** False when the request already carried the same decision (approving twice is not an error). */
  readonly changed: boolean;
}

/** Credentials as the signer takes them: fixed ones, or a provider such as the default chain. */
export type SigningCredentials = ConstructorParameters<typeof SignatureV4>[0]['credentials'];

export interface ApprovalsClientOptions {
  /** The function URL (`https://<id>.lambda-url.<region>.on.aws/`, or the local cloud's `http://127.0.0.1:<port>/`). */
  readonly url: string;
  /** The signing region when the URL does not name one (a real function URL always does, and wins). */
  readonly region?: string | undefined;
  /** @default the SDK's default credential chain (environment, profile, SSO, container, instance) */
  readonly credentials?: SigningCredentials | undefined;
  /**
   * Where the URL came from (`--url`, `$APPROVALS_URL`, a stack output), named in errors about it.
   * @default 'approvals URL'
   */
  readonly source?: string | undefined;
}

export interface ApprovalsClient {
  /** The endpoint's base URL, as requests are sent to it. */
  readonly url: string;
  /** The region the calls are signed for. */
  readonly region: string;
  create(body: CreateRequestBody): Promise<DeletionRequestRecord>;
  /** Without `state` the endpoint lists PENDING_APPROVAL requests; `all` asks for every state. */
  list(filter?: {
    state?: RequestState | 'all' | undefined;
    repository?: string | undefined;
  }): Promise<DeletionRequestRecord[]>;
  get(id: string): Promise<DeletionRequestRecord>;
  approve(id: string, body?: { comment?: string | undefined }): Promise<DecisionAnswer>;
  reject(id: string, body: { reason: string }): Promise<DecisionAnswer>;
}

/**
 * The endpoint said no (a 4xx answer): `code` is the contract's `RefusalCode` (`SelfApproval`, `NotFound`, …),
 * or `Forbidden` when AWS itself refused the signed call before the function ran, or `HTTP<status>` for an
 * answer in neither form. The CLI prints it as `refused (<code>): <message>`.
 */
export class EndpointRefusal extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'EndpointRefusal';
    this.status = status;
    this.code = code;
  }
}

/** The region in a function URL's host (`abc.lambda-url.eu-west-1.on.aws` → `eu-west-1`), if it is one. */
export function regionFromFunctionUrl(url: string): string | undefined {
  try {
    return FUNCTION_URL_HOST.exec(new URL(url).hostname)?.[1];
  } catch {
    return undefined;
  }
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Checks the endpoint URL and returns it without a trailing slash: https, or http to this machine only (the
 * local cloud). A signature is no secret, but the body of an approval is, and a request signed for one host
 * must not be sent in the clear across a network. `label` names where the URL came from.
 */
export function parseEndpointUrl(value: string, label: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(
      `${label} ${JSON.stringify(value)}: not a URL (e.g. https://<id>.lambda-url.<region>.on.aws/)`,
    );
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.has(url.hostname)))
    throw new CliError(
      `${label} ${JSON.stringify(value)}: the approvals URL must be https (plain http only to 127.0.0.1 or localhost)`,
    );
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '')
    throw new CliError(
      `${label} ${JSON.stringify(value)}: give the function URL alone, without a query, fragment or user`,
    );
  return url;
}

/** RFC 3986 escaping, the same the signer applies to the canonical query: what is sent is what was signed. */
function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

const requestImageSchema = z.looseObject({
  digest: z.string(),
  tags: z.array(z.string()),
  sizeBytes: z.number(),
  reason: z.string(),
});

const decisionSchema = z.looseObject({
  action: z.enum(['approve', 'reject', 'expire']),
  by: z.string(),
  at: z.string(),
  comment: z.string().optional(),
  reason: z.string().optional(),
  sourceIp: z.string().optional(),
  userAgent: z.string().optional(),
});

/** A request as the endpoint answers it: checked, because a wrong `--url` may well answer JSON of another shape. */
const requestSchema = z.looseObject({
  id: z.string(),
  kind: z.enum(['delete', 'breaker-reset']),
  state: z.enum(REQUEST_STATES),
  registryId: z.string(),
  region: z.string(),
  repository: z.string().optional(),
  scope: z.string().optional(),
  selection: z.string().optional(),
  images: z.array(requestImageSchema),
  imageCount: z.number(),
  bytes: z.number(),
  reason: z.string(),
  requester: z.discriminatedUnion('type', [
    z.looseObject({ type: z.literal('ecr-steward'), runId: z.string() }),
    z.looseObject({ type: z.literal('principal'), arn: z.string() }),
  ]),
  createdAt: z.string(),
  expiresAt: z.string(),
  decision: decisionSchema.optional(),
  announcedAt: z.string().optional(),
});

const oneSchema = z.looseObject({ request: requestSchema });
const listSchema = z.looseObject({ requests: z.array(requestSchema) });
const decisionAnswerSchema = z.looseObject({ request: requestSchema, changed: z.boolean() });

const refusalSchema = z.looseObject({
  error: z.looseObject({ code: z.string().min(1), message: z.string() }),
});
/** What AWS itself answers when IAM refuses a call to an AWS_IAM function URL. */
const awsRefusalSchema = z.looseObject({ Message: z.string() });

/**
 * Reads a non-2xx answer: the contract's `{"error":{"code","message"}}` (the local cloud adds AWS's `Message`
 * beside it), AWS's own `{"Message":"Forbidden"}`, or anything else by its status and text.
 */
export function refusalFrom(status: number, text: string): EndpointRefusal {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const ours = refusalSchema.safeParse(body);
  if (ours.success) return new EndpointRefusal(status, ours.data.error.code, ours.data.error.message);
  const aws = awsRefusalSchema.safeParse(body);
  if (aws.success)
    return new EndpointRefusal(
      status,
      aws.data.Message === 'Forbidden' ? 'Forbidden' : `HTTP${status}`,
      aws.data.Message === 'Forbidden'
        ? 'AWS refused the call before the approvals function ran: your identity may not invoke the approvals URL (lambda:InvokeFunctionUrl), or the signature does not match (clock, region or credentials)'
        : aws.data.Message,
    );
  const shown = text.trim().replace(/\s+/g, ' ').slice(0, 200);
  return new EndpointRefusal(status, `HTTP${status}`, shown === '' ? `HTTP ${status} with no body` : shown);
}

let userAgent: string | undefined;

/** `ecr-steward/<version>`: the endpoint audits every decision with the caller's user agent. */
function cliUserAgent(): string {
  if (!userAgent) {
    userAgent = `ecr-steward/${packageVersion()}`;
  }
  return userAgent;
}

/**
 * A client of the approvals endpoint at `url`. Each call is one JSON request, signed with SigV4 through the
 * SDK's own signer over exactly the bytes that are sent, and sent with Node's fetch. A 2xx answer is checked
 * against the contract; a 4xx one throws `EndpointRefusal`; an unreachable URL, a timeout, a 5xx or an answer
 * of the wrong shape throws a `CliError` (exit 2) that names the URL.
 */
export function approvalsClient(options: ApprovalsClientOptions): ApprovalsClient {
  const source = options.source ?? 'approvals URL';
  const base = parseEndpointUrl(options.url, source);
  const region = regionFromFunctionUrl(options.url) ?? options.region ?? process.env.AWS_REGION;
  if (!region) throw new CliError(NO_REGION);
  const basePath = base.pathname.replace(/\/+$/, '');
  const shownUrl = `${base.origin}${basePath}`;
  const signer = new SignatureV4({
    service: SIGNING_SERVICE,
    region,
    credentials: options.credentials ?? defaultProvider(),
    sha256: Hash.bind(null, 'sha256'),
  });

  async function call<S extends z.ZodType>(
    method: 'GET' | 'POST',
    route: string,
    schema: S,
    query: Record<string, string> = {},
    body?: unknown,
  ): Promise<z.output<S>> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const path = `${basePath}${route}`;
    const request = new HttpRequest({
      method,
      protocol: base.protocol,
      hostname: base.hostname,
      ...(base.port !== '' ? { port: Number(base.port) } : {}),
      path,
      query,
      // `host` is signed and fetch sends the same value (the URL's host, with a port only when not the default).
      headers: {
        host: base.host,
        accept: 'application/json',
        ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(payload !== undefined ? { body: payload } : {}),
    });
    const signed = await signer.sign(request);
    const search = Object.entries(query)
      .map(([k, v]) => `${escapeUri(k)}=${escapeUri(v)}`)
      .join('&');
    const headers: Record<string, string> = { 'user-agent': cliUserAgent() };
    for (const [name, value] of Object.entries(signed.headers)) if (name !== 'host') headers[name] = value;

    let response: Response;
    let text: string;
    try {
      response = await fetch(`${base.origin}${path}${search === '' ? '' : `?${search}`}`, {
        method,
        headers,
        ...(payload !== undefined ? { body: payload } : {}),
        // A function URL never redirects; a signed approval is not to be replayed wherever a 3xx points.
        redirect: 'manual',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      text = await response.text();
    } catch (e) {
      throw unreachable(shownUrl, source, e);
    }
    if (response.status >= 400 && response.status < 500) throw refusalFrom(response.status, text);
    if (response.status < 200 || response.status >= 300) {
      const failure = refusalFrom(response.status, text);
      throw new CliError(
        `the approvals endpoint ${shownUrl} failed: HTTP ${response.status} (${failure.code}): ${failure.message}; see the approvals function's logs`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new CliError(
        `${shownUrl} answered ${method} ${route} with something other than JSON: is it the approvals function URL?`,
      );
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      throw new CliError(
        `${shownUrl} answered ${method} ${route} with JSON that is not the approvals contract (${describeZodIssues(parsed.error.issues)}): is it the approvals function URL, and of the same ECR Steward version?`,
      );
    return parsed.data;
  }

  const requestPath = (id: string) => `/requests/${encodeURIComponent(id)}`;

  return {
    url: shownUrl,
    region,
    create: async (body) => (await call('POST', '/requests', oneSchema, {}, body)).request,
    list: async (filter = {}) => {
      const query: Record<string, string> = {};
      if (filter.state !== undefined) query.state = filter.state;
      if (filter.repository !== undefined) query.repository = filter.repository;
      return (await call('GET', '/requests', listSchema, query)).requests;
    },
    get: async (id) => (await call('GET', requestPath(id), oneSchema)).request,
    approve: (id, body = {}) =>
      call(
        'POST',
        `${requestPath(id)}/approve`,
        decisionAnswerSchema,
        {},
        body.comment === undefined ? {} : { comment: body.comment },
      ),
    reject: (id, body) =>
      call('POST', `${requestPath(id)}/reject`, decisionAnswerSchema, {}, { reason: body.reason }),
  };
}

/** A fetch failure as one line: the URL, what went wrong, and where the URL came from to fix it. */
function unreachable(url: string, source: string, error: unknown): CliError {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError')
    return new CliError(`the approvals endpoint ${url} did not answer within ${TIMEOUT_MS / 1000} s`);
  const why = e.cause?.code ?? e.cause?.message ?? e.message;
  return new CliError(
    `cannot reach the approvals endpoint ${url} (${why}; from ${source}): check the URL and the network`,
  );
}

/** The options every command that calls the endpoint takes. */
export interface EndpointOptions {
  readonly url?: string;
  readonly stack?: string;
}

/** Reads one output of a CloudFormation stack; undefined when the stack has no such output. */
export type StackOutputReader = (stackName: string, outputKey: string) => Promise<string | undefined>;

/**
 * Reads `outputKey` of `stackName` with DescribeStacks (the client honours AWS_ENDPOINT_URL). A stack that
 * does not exist is a `CliError` saying how else to give the URL; other AWS errors (credentials, access) go
 * up to `main`, which explains them.
 */
export const readStackOutput: StackOutputReader = async (stackName, outputKey) => {
  // Three attempts, not the functions' eight: a person is waiting, and a lookup that fails fails fast.
  const cfn = new CloudFormationClient({ ...CLIENT_DEFAULTS, maxAttempts: 3 });
  try {
    const out = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = out.Stacks?.[0];
    if (!stack) throw missingStack(stackName);
    return stack.Outputs?.find((o) => o.OutputKey === outputKey)?.OutputValue;
  } catch (e) {
    // CloudFormation's answer for an unknown stack: ValidationError "Stack with id X does not exist".
    if ((e as Error).name === 'ValidationError' && /does not exist/.test((e as Error).message))
      throw missingStack(stackName);
    throw e;
  } finally {
    cfn.destroy();
  }
};

function missingStack(stackName: string): CliError {
  return new CliError(
    `no approvals URL: pass --url or set $${ENV.approvalsUrl}; stack ${stackName} was not found (name another with --stack)`,
  );
}

/** Where the endpoint URL came from, for messages. */
export interface DiscoveredUrl {
  readonly url: string;
  readonly source: string;
}

/**
 * Finds the approvals URL: `--url`, else $APPROVALS_URL, else the `ApprovalsUrl` output of `--stack` (default
 * `EcrSteward`). A stack without that output was deployed without approvals: the message says so.
 */
export async function discoverApprovalsUrl(
  options: EndpointOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
  readOutput: StackOutputReader = readStackOutput,
): Promise<DiscoveredUrl> {
  if (options.url !== undefined) return { url: options.url, source: '--url' };
  const fromEnv = env[ENV.approvalsUrl];
  if (fromEnv) return { url: fromEnv, source: `$${ENV.approvalsUrl}` };
  const stack = options.stack ?? DEFAULT_STACK_NAME;
  const url = await readOutput(stack, APPROVALS_URL_OUTPUT);
  if (!url)
    throw new CliError(
      `no approvals URL: stack ${stack} has no ${APPROVALS_URL_OUTPUT} output (deploy it with governance.approval configured), or pass --url / set $${ENV.approvalsUrl}`,
    );
  return { url, source: `stack ${stack} output ${APPROVALS_URL_OUTPUT}` };
}

/**
 * The client the commands use: the URL found by `discoverApprovalsUrl`, signed for the URL's own region or,
 * for a URL that names none (the local cloud), the CLI's region (`--region`, $AWS_REGION, the profile).
 */
export async function connectApprovals(options: EndpointOptions): Promise<ApprovalsClient> {
  const found = await discoverApprovalsUrl(options);
  // Checked before the region is looked for: a mistyped URL is the error to report, not a missing region.
  parseEndpointUrl(found.url, found.source);
  const region = regionFromFunctionUrl(found.url) ?? (await resolveRegion());
  return approvalsClient({ url: found.url, region, source: found.source });
}
