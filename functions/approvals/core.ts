/**
 * The approvals endpoint's core: one signed call in, one JSON answer out. The caller is who the signature
 * says (the function URL's `requestContext.authorizer.iam`), never what a body claims. Every answer given or
 * refused is written to the audit table, with the caller's principal, source IP and user agent.
 *
 * It talks to the world only through `ApprovalsEndpointPorts`, so the tests drive it without AWS and the local
 * cloud runs it unchanged behind a SigV4-verifying function URL.
 */
import * as z from 'zod';
import type { RequestEvent } from '../shared/approvals/audit.js';
import { requestEvent } from '../shared/approvals/audit.js';
import { answer } from '../shared/approvals/decide.js';
import { type ApprovalPorts, openRequest } from '../shared/approvals/lifecycle.js';
import { refusalNotice } from '../shared/approvals/message.js';
import {
  type CallerIdentity,
  type DeletionRequestRecord,
  REFUSAL_STATUS,
  REQUEST_ID,
  REQUEST_STATES,
  type RefusalCode,
} from '../shared/approvals/model.js';
import { matchingPattern } from '../shared/approvals/principals.js';
import type { DeleteSignal } from '../shared/audit/records.js';
import { effectiveApproval } from '../shared/config/approval.js';
import { needsRepositoryTags, selectionFor } from '../shared/config/load.js';
import { effectiveGovernance, type Selection, type StewardConfig } from '../shared/config/schema.js';
import { type NoticeImage, noticeMessage, selectionLabel } from '../shared/governance/notice.js';
import type { Image } from '../shared/lifecycle/types.js';
import type { BreakerScope } from '../shared/state/breaker.js';

/** One HTTP call as the function URL delivers it, with the signed caller. */
export interface ApiCall {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly body: string | undefined;
  /** Undefined when the call carried no IAM identity (a URL not set to AWS_IAM): refused. */
  readonly caller: CallerIdentity | undefined;
}

export interface ApiAnswer {
  readonly status: number;
  readonly body: unknown;
}

export interface ApprovalsEndpointPorts extends ApprovalPorts {
  readonly registryId: string;
  readonly region: string;
  readonly registry: {
    describeRepository(name: string): Promise<{ arn: string; name: string } | undefined>;
    repositoryTags(arn: string): Promise<Record<string, string>>;
    describeImage(repository: string, digest: string): Promise<Image | undefined>;
  };
  /** Records a notice of a person's request (SCHEDULED, with the request id) in the audit table. */
  readonly recordNotice: (signal: DeleteSignal) => Promise<unknown>;
  /** Publishes a deletion notice to the notices topic. */
  readonly publishNotice: (message: ReturnType<typeof noticeMessage>) => Promise<void>;
  /** Closes a breaker (an approved reset) and records the reset in the audit table. */
  readonly resetBreaker: (scope: BreakerScope, by: string, requestId: string, now: Date) => Promise<void>;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const text = (max: number) => z.string().trim().min(1).max(max);

const createSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('delete'),
    repository: z.string().regex(/^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/, {
      message: 'not an ECR repository name',
    }),
    digests: z
      .array(z.string().regex(DIGEST, { message: 'not an image digest (sha256:<64 hex>)' }))
      .min(1)
      .max(100),
    reason: text(1000),
  }),
  z.strictObject({
    kind: z.literal('breaker-reset'),
    scope: z.string().regex(/^(?:registry|repository:.+)$/, {
      message: 'a breaker scope is "registry" or "repository:<name>"',
    }),
    reason: text(1000),
  }),
]);
const approveSchema = z.strictObject({ comment: text(1000).optional() });
const rejectSchema = z.strictObject({ reason: text(1000), comment: text(1000).optional() });

const refused = (code: RefusalCode, message: string): ApiAnswer => ({
  status: REFUSAL_STATUS[code],
  body: { error: { code, message } },
});

/** Parses a JSON body against `schema`; a refusal (400) says which field is wrong. */
function parseBody<T>(
  body: string | undefined,
  schema: z.ZodType<T>,
): { ok: true; value: T } | { ok: false; answer: ApiAnswer } {
  let doc: unknown;
  try {
    doc = body === undefined || body === '' ? {} : JSON.parse(body);
  } catch (e) {
    return { ok: false, answer: refused('BadRequest', `the body is not JSON: ${(e as Error).message}`) };
  }
  const parsed = schema.safeParse(doc);
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    answer: refused(
      'BadRequest',
      parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '),
    ),
  };
}

export async function handleCall(
  config: StewardConfig,
  call: ApiCall,
  ports: ApprovalsEndpointPorts,
  now: Date,
): Promise<ApiAnswer> {
  const caller = call.caller;
  if (!caller?.arn)
    return refused('Unsigned', 'the call carries no IAM identity: sign it with SigV4 (service lambda)');
  const path = call.path.replace(/\/+$/, '') || '/';
  const method = call.method.toUpperCase();
  if (path === '/requests' && method === 'GET') return list(config, call, caller, ports);
  if (path === '/requests' && method === 'POST') return create(config, call, caller, ports, now);
  const one = /^\/requests\/([^/]+)(?:\/(approve|reject))?$/.exec(path);
  if (one) {
    let id: string;
    try {
      id = decodeURIComponent(one[1]!);
    } catch {
      // A malformed escape is an id that names nothing, refused (and audited) as one.
      id = one[1]!;
    }
    const action = one[2] as 'approve' | 'reject' | undefined;
    if (!REQUEST_ID.test(id)) {
      const message = `no request ${id.slice(0, 80)} (ids look like req-20261206T101500-k3x9qa)`;
      if (action)
        await ports.recordEvent({
          requestId: '(malformed)',
          action,
          outcome: 'refused',
          code: 'NotFound',
          principal: caller.arn,
          sourceIp: caller.sourceIp,
          userAgent: caller.userAgent,
          at: now.toISOString(),
          note: message,
        });
      return refused('NotFound', message);
    }
    if (!action && method === 'GET') return show(config, id, caller, ports);
    if (action && method === 'POST') return decide(config, id, action, call, caller, ports, now);
  }
  return refused(
    'NotFound',
    `no route ${method} ${path}: see GET /requests, POST /requests, POST /requests/{id}/approve|reject`,
  );
}

/** Every approver and requester pattern of the config (global and per selection). */
function everyone(config: StewardConfig): string[] {
  const g = config.governance.approval;
  return [
    ...g.approvers,
    ...g.requesters,
    ...config.selections.flatMap((s) => [
      ...(s.governance?.approval?.approvers ?? []),
      ...(s.governance?.approval?.requesters ?? []),
    ]),
  ];
}

async function list(
  config: StewardConfig,
  call: ApiCall,
  caller: CallerIdentity,
  ports: ApprovalsEndpointPorts,
): Promise<ApiAnswer> {
  if (!matchingPattern(caller.arn, everyone(config)))
    return refused('NotAnApprover', `${caller.arn} is neither an approver nor a requester of this config`);
  const state = call.query.state;
  if (state !== undefined && state !== 'all' && !(REQUEST_STATES as readonly string[]).includes(state))
    return refused('BadRequest', `state: one of ${REQUEST_STATES.join(', ')}, all`);
  const repository = call.query.repository;
  const requests = await ports.requests.list({
    state:
      state === undefined
        ? 'PENDING_APPROVAL'
        : state === 'all'
          ? undefined
          : (state as DeletionRequestRecord['state']),
    repository: repository ? { registryId: ports.registryId, region: ports.region, repository } : undefined,
  });
  return { status: 200, body: { requests } };
}

async function show(
  config: StewardConfig,
  id: string,
  caller: CallerIdentity,
  ports: ApprovalsEndpointPorts,
): Promise<ApiAnswer> {
  if (!matchingPattern(caller.arn, everyone(config)))
    return refused('NotAnApprover', `${caller.arn} is neither an approver nor a requester of this config`);
  const request = await ports.requests.get(id);
  return request ? { status: 200, body: { request } } : refused('NotFound', `no request ${id}`);
}

/** The selection managing a repository (reading its tags only when some selection needs them). */
async function managing(
  config: StewardConfig,
  repository: string,
  ports: ApprovalsEndpointPorts,
): Promise<{ selection: Selection; arn: string } | { missing: true } | undefined> {
  const repo = await ports.registry.describeRepository(repository);
  if (!repo) return { missing: true };
  const tags = needsRepositoryTags(config) ? await ports.registry.repositoryTags(repo.arn) : undefined;
  const selection = selectionFor(config, repo.name, tags);
  return selection ? { selection, arn: repo.arn } : undefined;
}

async function create(
  config: StewardConfig,
  call: ApiCall,
  caller: CallerIdentity,
  ports: ApprovalsEndpointPorts,
  now: Date,
): Promise<ApiAnswer> {
  const parsed = parseBody(call.body, createSchema);
  if (!parsed.ok) {
    const { code, message } = (parsed.answer.body as { error: { code: RefusalCode; message: string } }).error;
    await ports.recordEvent({
      requestId: '(none)',
      action: 'create',
      outcome: 'refused',
      code,
      principal: caller.arn,
      sourceIp: caller.sourceIp,
      userAgent: caller.userAgent,
      at: now.toISOString(),
      note: message,
    });
    return parsed.answer;
  }
  const body = parsed.value;
  const audit = (requestId: string, outcome: 'refused', code: RefusalCode, message: string) =>
    ports.recordEvent({
      requestId,
      action: 'create',
      outcome,
      code,
      principal: caller.arn,
      sourceIp: caller.sourceIp,
      userAgent: caller.userAgent,
      at: now.toISOString(),
      note: message,
      ...(body.kind === 'delete' ? { repository: body.repository } : { scope: body.scope }),
    } satisfies RequestEvent);
  const refuse = async (code: RefusalCode, message: string) => {
    await audit('(none)', 'refused', code, message);
    return refused(code, message);
  };

  if (body.kind === 'breaker-reset') {
    const approval = config.governance.approval;
    if (!matchingPattern(caller.arn, [...approval.requesters, ...approval.approvers]))
      return refuse(
        'NotARequester',
        `${caller.arn} may not ask for a breaker reset: it matches no requester or approver`,
      );
    const request = await openRequest(
      {
        kind: 'breaker-reset',
        registryId: ports.registryId,
        region: ports.region,
        scope: body.scope,
        images: [],
        reason: body.reason,
        requester: { type: 'principal', arn: caller.arn },
        now,
        expiresAfterHours: approval.expiresAfterHours,
        sourceIp: caller.sourceIp,
        userAgent: caller.userAgent,
      },
      ports,
    );
    return { status: 201, body: { request } };
  }

  const managed = await managing(config, body.repository, ports);
  if (managed && 'missing' in managed)
    return refuse(
      'BadRequest',
      `repository ${body.repository} does not exist in ${ports.registryId} (${ports.region})`,
    );
  if (!managed)
    return refuse(
      'NotManaged',
      `repository ${body.repository} is not managed by ECR Steward (no selection of the config matches it): delete with ECR directly, or add a selection`,
    );
  const { selection } = managed;
  const index = config.selections.indexOf(selection);
  const governance = effectiveGovernance(config.governance, selection);
  const approval = effectiveApproval(config.governance.approval, selection.governance?.approval);
  if (!matchingPattern(caller.arn, [...approval.requesters, ...approval.approvers]))
    return refuse(
      'NotARequester',
      `${caller.arn} may not ask for deletions in ${body.repository}: it matches none of the requesters or approvers of its selection`,
    );
  const digests = [...new Set(body.digests)];
  const images: Image[] = [];
  const missing: string[] = [];
  for (const digest of digests) {
    const image = await ports.registry.describeImage(body.repository, digest);
    if (image) images.push(image);
    else missing.push(digest);
  }
  if (missing.length > 0) return refuse('BadRequest', `not in ${body.repository}: ${missing.join(', ')}`);

  const dueAt = new Date(now.getTime() + governance.notice.hours * 3_600_000).toISOString();
  const label = selectionLabel(selection, index);
  const noticeImages: NoticeImage[] = images.map((i) => ({
    digest: i.digest,
    tags: i.tags,
    pushedAt: new Date(i.pushedAt).toISOString(),
    ...(i.lastPulledAt ? { lastPulledAt: new Date(i.lastPulledAt).toISOString() } : {}),
    sizeBytes: i.sizeBytes ?? 0,
    reason: `requested by ${caller.arn}: ${body.reason}`,
  }));
  // The same order as a run's: the notice to the team, then the request, then the records that name it.
  await ports.publishNotice(
    noticeMessage({
      registryId: ports.registryId,
      region: ports.region,
      repository: body.repository,
      selection: label,
      dueAt,
      runId: `manual-${now.toISOString()}`,
      images: noticeImages,
      softDelete: governance.softDelete.mode,
      purgeAfterDays: governance.softDelete.purgeAfterDays,
    }),
  );
  const request = await openRequest(
    {
      kind: 'delete',
      registryId: ports.registryId,
      region: ports.region,
      repository: body.repository,
      selection: label,
      images: images.map((i) => ({
        digest: i.digest,
        tags: i.tags,
        sizeBytes: i.sizeBytes ?? 0,
        reason: body.reason,
      })),
      reason: body.reason,
      requester: { type: 'principal', arn: caller.arn },
      now,
      expiresAfterHours: approval.expiresAfterHours,
      dueAt,
      sourceIp: caller.sourceIp,
      userAgent: caller.userAgent,
    },
    ports,
  );
  for (const i of images)
    await ports.recordNotice({
      registryId: ports.registryId,
      region: ports.region,
      repository: body.repository,
      digest: i.digest,
      status: 'SCHEDULED',
      evidence: 'steward-notice',
      at: now.toISOString(),
      dueAt,
      requestId: request.id,
      tags: i.tags,
      sizeBytes: i.sizeBytes,
      pushedAt: new Date(i.pushedAt).toISOString(),
      lastPulledAt: i.lastPulledAt ? new Date(i.lastPulledAt).toISOString() : undefined,
      actor: {
        type: 'principal',
        principal: caller.arn,
        runId: request.id,
        rulePriority: null,
        reasons: [`requested by ${caller.arn}: ${body.reason}`],
      },
    });
  return { status: 201, body: { request } };
}

async function decide(
  config: StewardConfig,
  id: string,
  action: 'approve' | 'reject',
  call: ApiCall,
  caller: CallerIdentity,
  ports: ApprovalsEndpointPorts,
  now: Date,
): Promise<ApiAnswer> {
  const parsed =
    action === 'approve' ? parseBody(call.body, approveSchema) : parseBody(call.body, rejectSchema);
  const given = parsed.ok ? (parsed.value as { comment?: string; reason?: string }) : {};
  let request = await ports.requests.get(id);
  const audit = (
    r: DeletionRequestRecord | undefined,
    outcome: 'allowed' | 'refused',
    extra: { code?: RefusalCode; note?: string; changed?: boolean },
  ) =>
    ports.recordEvent(
      requestEvent(r, {
        requestId: id,
        action,
        outcome,
        principal: caller.arn,
        sourceIp: caller.sourceIp,
        userAgent: caller.userAgent,
        at: now.toISOString(),
        ...extra,
      }),
    );
  if (!parsed.ok) {
    const { code, message } = (parsed.answer.body as { error: { code: RefusalCode; message: string } }).error;
    await audit(request, 'refused', { code, note: message });
    return parsed.answer;
  }
  const approvers = async (r: DeletionRequestRecord | undefined): Promise<readonly string[]> => {
    if (r?.kind !== 'delete' || !r.repository) return config.governance.approval.approvers;
    const managed = await managing(config, r.repository, ports);
    // A repository no selection manages any more (or deleted since): the global approvers answer.
    const selection = managed && !('missing' in managed) ? managed.selection : undefined;
    return effectiveApproval(config.governance.approval, selection?.governance?.approval).approvers;
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    const result = answer({
      request,
      id,
      action,
      caller,
      approvers: await approvers(request),
      now,
      comment: given.comment,
      reason: given.reason,
    });
    if (!result.ok) {
      await audit(request, 'refused', { code: result.code, note: result.message });
      return refused(result.code, result.message);
    }
    if (result.changed && !(await ports.requests.answer(result.request))) {
      // Someone answered first: read it again and answer against what they decided.
      request = await ports.requests.get(id);
      continue;
    }
    await audit(result.request, 'allowed', {
      changed: result.changed,
      note: given.reason ?? given.comment,
    });
    const r = result.request;
    if (
      r.state === 'APPROVED' &&
      r.kind === 'breaker-reset' &&
      // Only the approval itself resets: a repeat (idempotent, changed:false) never closes a breaker that
      // opened again since.
      result.changed
    )
      await ports.resetBreaker(r.scope as BreakerScope, caller.arn, r.id, now);
    if (result.changed && result.request.state === 'REJECTED')
      await ports.publishNotice(refusalNotice(result.request));
    return { status: 200, body: { request: result.request, changed: result.changed } };
  }
  throw new Error(`request ${id} kept changing while it was being answered`);
}
