/**
 * The approvals endpoint's core (handleCall) with in-memory ports: the routes, the refusal matrix with its
 * statuses, and the audit event every create, approve and reject writes, allowed or refused.
 */

import type { LambdaFunctionURLEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import {
  type ApiAnswer,
  type ApiCall,
  type ApprovalsEndpointPorts,
  handleCall,
} from '../../functions/approvals/core.js';
import { callerOf } from '../../functions/approvals/handler.js';
import type { DeletionRequestRecord } from '../../functions/shared/approvals/model.js';
import { validateConfig } from '../../functions/shared/config/load.js';
import type { StewardConfig, StewardConfigInput } from '../../functions/shared/config/schema.js';
import type { Image } from '../../functions/shared/lifecycle/types.js';
import type { BreakerScope } from '../../functions/shared/state/breaker.js';
import { digestOf, image, keepNewest, NOW } from '../fixtures/images.js';
import {
  ACCOUNT,
  ARN,
  approvalWorld,
  caller,
  HOUR_MS,
  MemoryAudit,
  OPS_ROLE,
  REGION,
  SOURCE_IP,
  USER_AGENT,
} from './support.js';

/** team/* is managed with a 24-hour notice; the operators' role and the lead approve; alice may ask. */
function steward(
  approval: Partial<NonNullable<StewardConfigInput['governance']>['approval']> = {},
): StewardConfig {
  return validateConfig({
    mode: 'enforce',
    selections: [{ name: 'team', repositories: ['team/*'], lifecyclePolicy: keepNewest(10), steward: {} }],
    governance: {
      notice: { hours: 24 },
      approval: {
        required: 'always',
        approvers: [OPS_ROLE, ARN.lead],
        requesters: [ARN.alice],
        expiresAfterHours: 72,
        breakerReset: true,
        ...approval,
      },
    },
  });
}

const IMAGES: Image[] = [
  image('build-1', { age: 10, tags: ['v1'], sizeBytes: 5_000 }),
  image('build-2', { age: 9, tags: [], sizeBytes: 7_000 }),
];

function endpoint(config: StewardConfig = steward()) {
  const world = approvalWorld();
  const audit = new MemoryAudit();
  const repositories = new Map<string, Image[]>([
    ['team/app', IMAGES],
    ['other/tool', [image('tool-1', { age: 1 })]],
  ]);
  const resets: { scope: BreakerScope; by: string; requestId: string; at: string }[] = [];
  const ports: ApprovalsEndpointPorts = {
    ...world.ports,
    registryId: ACCOUNT,
    region: REGION,
    registry: {
      describeRepository: async (name) =>
        repositories.has(name)
          ? { name, arn: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${name}` }
          : undefined,
      repositoryTags: async () => ({}),
      describeImage: async (repository, digest) =>
        repositories.get(repository)?.find((i) => i.digest === digest),
    },
    recordNotice: (signal) => audit.record(signal),
    publishNotice: async (message) => {
      world.notices.push(message);
    },
    resetBreaker: async (scope, by, requestId, at) => {
      resets.push({ scope, by, requestId, at: at.toISOString() });
    },
  };
  const call = (
    method: string,
    path: string,
    options: { by?: string | undefined; body?: unknown; query?: Record<string, string>; at?: Date } = {},
  ): Promise<ApiAnswer> => {
    const c: ApiCall = {
      method,
      path,
      query: options.query ?? {},
      body:
        options.body === undefined
          ? undefined
          : typeof options.body === 'string'
            ? options.body
            : JSON.stringify(options.body),
      caller: options.by === undefined ? undefined : caller(options.by),
    };
    return handleCall(config, c, ports, options.at ?? NOW);
  };
  /** alice asks for both images of team/app to go. */
  const ask = async (at: Date = NOW): Promise<DeletionRequestRecord> => {
    const answer = await call('POST', '/requests', {
      by: ARN.alice,
      at,
      body: {
        kind: 'delete',
        repository: 'team/app',
        digests: IMAGES.map((i) => i.digest),
        reason: 'rollback done',
      },
    });
    expect(answer.status).toBe(201);
    return (answer.body as { request: DeletionRequestRecord }).request;
  };
  return { ...world, audit, resets, call, ask };
}

const refusal = (status: number, code: string, message: string | unknown) => ({
  status,
  body: { error: { code, message } },
});

/** The fields every audit event of a caller's call carries. */
const byCaller = (principal: string) => ({ principal, sourceIp: SOURCE_IP, userAgent: USER_AGENT });

describe('handleCall', () => {
  it('refuses a call without an IAM identity with 403 Unsigned (there is nobody to audit)', async () => {
    // Prepare
    const e = endpoint();

    // Act
    const answer = await e.call('GET', '/requests');

    // Assess
    expect(answer).toEqual(
      refusal(403, 'Unsigned', 'the call carries no IAM identity: sign it with SigV4 (service lambda)'),
    );
    expect(e.events).toEqual([]);
  });

  it('lists pending requests by default, every state with state=all, and one repository on request', async () => {
    // Prepare
    const e = endpoint();
    const first = await e.ask();
    const second = await e.ask(new Date(NOW.getTime() + HOUR_MS));
    await e.call('POST', `/requests/${first.id}/approve`, { by: ARN.ops, body: {} });

    // Act
    const pending = await e.call('GET', '/requests', { by: ARN.ops });
    const all = await e.call('GET', '/requests', { by: ARN.alice, query: { state: 'all' } });
    const approved = await e.call('GET', '/requests', { by: ARN.lead, query: { state: 'APPROVED' } });
    const elsewhere = await e.call('GET', '/requests', {
      by: ARN.ops,
      query: { state: 'all', repository: 'team/web' },
    });

    // Assess
    const ids = (a: ApiAnswer) => (a.body as { requests: DeletionRequestRecord[] }).requests.map((r) => r.id);
    expect(pending.status).toBe(200);
    expect(ids(pending)).toEqual([second.id]);
    expect(ids(all)).toEqual([first.id, second.id]);
    expect(ids(approved)).toEqual([first.id]);
    expect(ids(elsewhere)).toEqual([]);
  });

  it('refuses an unknown state with 400, and a caller who is neither approver nor requester with 403', async () => {
    // Prepare
    const e = endpoint();

    // Act
    const bad = await e.call('GET', '/requests', { by: ARN.ops, query: { state: 'DONE' } });
    const stranger = await e.call('GET', '/requests', { by: ARN.mallory });

    // Assess
    expect(bad).toEqual(
      refusal(400, 'BadRequest', 'state: one of PENDING_APPROVAL, APPROVED, REJECTED, EXPIRED, all'),
    );
    expect(stranger).toEqual(
      refusal(403, 'NotAnApprover', `${ARN.mallory} is neither an approver nor a requester of this config`),
    );
  });

  it("opens a person's delete request: 201, the notice and the approvals message sent, SCHEDULED records naming the request and the person", async () => {
    // Prepare
    const e = endpoint();

    // Act
    const answer = await e.call('POST', '/requests', {
      by: ARN.alice,
      body: {
        kind: 'delete',
        repository: 'team/app',
        digests: [IMAGES[0]!.digest],
        reason: 'leaked a secret',
      },
    });

    // Assess
    expect(answer.status).toBe(201);
    const request = (answer.body as { request: DeletionRequestRecord }).request;
    expect(request).toMatchObject({
      kind: 'delete',
      state: 'PENDING_APPROVAL',
      registryId: ACCOUNT,
      region: REGION,
      repository: 'team/app',
      selection: 'team',
      images: [{ digest: IMAGES[0]!.digest, tags: ['v1'], sizeBytes: 5_000, reason: 'leaked a secret' }],
      imageCount: 1,
      bytes: 5_000,
      reason: 'leaked a secret',
      requester: { type: 'principal', arn: ARN.alice },
      createdAt: NOW.toISOString(),
      expiresAt: new Date(NOW.getTime() + 72 * HOUR_MS).toISOString(),
    });
    expect(e.requests.all()).toEqual([
      expect.objectContaining({ id: request.id, state: 'PENDING_APPROVAL' }),
    ]);
    // The team's notice, then the approvers' message with the exact commands.
    const dueAt = new Date(NOW.getTime() + 24 * HOUR_MS).toISOString();
    expect(e.notices).toHaveLength(1);
    expect(e.notices[0]?.subject).toBe(
      'ECR Steward: 1 image of team/app to be deleted after 2026-06-02 12:00 UTC',
    );
    expect(e.notices[0]?.message).toContain(`reason: requested by ${ARN.alice}: leaked a secret`);
    expect(e.approvalMessages).toHaveLength(1);
    expect(e.approvalMessages[0]?.message).toContain(`  ecr-steward approve ${request.id} --comment "<why>"`);
    expect(e.approvalMessages[0]?.message).toContain(`  ecr-steward reject ${request.id} --reason "<why>"`);
    expect(e.approvalMessages[0]?.message).toContain(`Asked by:   ${ARN.alice}`);
    expect(e.approvalMessages[0]?.attributes.requestId).toEqual({
      DataType: 'String',
      StringValue: request.id,
    });
    // The notice's record: SCHEDULED, due after the notice period, naming the request and who asked (the
    // notice itself is ECR Steward's act, on the person's behalf).
    expect(e.audit.state(IMAGES[0]!.digest)).toMatchObject({
      status: 'SCHEDULED',
      dueAt,
      requestId: request.id,
      actor: {
        type: 'ecr-steward',
        principal: ARN.alice,
        runId: request.id,
        rulePriority: null,
        reasons: [`requested by ${ARN.alice}: leaked a secret`],
      },
    });
    expect(e.audit.state(IMAGES[1]!.digest)).toBeUndefined();
    expect(e.events).toEqual([
      expect.objectContaining({
        requestId: request.id,
        action: 'create',
        outcome: 'allowed',
        principal: ARN.alice,
        at: NOW.toISOString(),
        note: 'leaked a secret',
        state: 'PENDING_APPROVAL',
        repository: 'team/app',
        imageCount: 1,
        bytes: 5_000,
        requester: ARN.alice,
      }),
    ]);
  });

  it.each([
    [
      'a caller who is no requester nor approver',
      ARN.mallory,
      { kind: 'delete', repository: 'team/app', digests: [digestOf('build-1')], reason: 'x' },
      refusal(
        403,
        'NotARequester',
        `${ARN.mallory} may not ask for deletions in team/app: it matches none of the requesters or approvers of its selection`,
      ),
    ],
    [
      'a repository no selection manages',
      ARN.alice,
      { kind: 'delete', repository: 'other/tool', digests: [digestOf('tool-1')], reason: 'x' },
      refusal(
        422,
        'NotManaged',
        'repository other/tool is not managed by ECR Steward (no selection of the config matches it): delete with ECR directly, or add a selection',
      ),
    ],
    [
      'a repository that does not exist',
      ARN.alice,
      { kind: 'delete', repository: 'team/gone', digests: [digestOf('build-1')], reason: 'x' },
      refusal(400, 'BadRequest', `repository team/gone does not exist in ${ACCOUNT} (${REGION})`),
    ],
    [
      'a digest not in the repository',
      ARN.alice,
      {
        kind: 'delete',
        repository: 'team/app',
        digests: [digestOf('build-1'), digestOf('nope')],
        reason: 'x',
      },
      refusal(400, 'BadRequest', `not in team/app: ${digestOf('nope')}`),
    ],
  ])('refuses a delete request for %s, and audits the refusal', async (_what, by, body, expected) => {
    // Prepare
    const e = endpoint();

    // Act
    const answer = await e.call('POST', '/requests', { by, body });

    // Assess
    expect(answer).toEqual(expected);
    expect(e.requests.all()).toEqual([]);
    expect(e.notices).toEqual([]);
    expect(e.audit.signals).toEqual([]);
    expect(e.events).toEqual([
      {
        requestId: '(none)',
        action: 'create',
        outcome: 'refused',
        code: expected.body.error.code,
        ...byCaller(by),
        at: NOW.toISOString(),
        note: expected.body.error.message,
        repository: body.repository,
      },
    ]);
  });

  it.each([
    ['a body that is not JSON', '{"kind":"delete",', /^the body is not JSON: /],
    ['an unknown kind', { kind: 'purge', reason: 'x' }, /^kind: /],
    [
      'a digest that is not one',
      { kind: 'delete', repository: 'team/app', digests: ['latest'], reason: 'x' },
      /^digests\.0: not an image digest \(sha256:<64 hex>\)$/,
    ],
    [
      'an extra field (the requester named in the body)',
      {
        kind: 'delete',
        repository: 'team/app',
        digests: [digestOf('build-1')],
        reason: 'x',
        requester: ARN.ops,
      },
      /requester/,
    ],
    ['no reason', { kind: 'delete', repository: 'team/app', digests: [digestOf('build-1')] }, /^reason: /],
  ])('refuses a create with %s with 400 BadRequest, creating nothing', async (_what, body, message) => {
    // Prepare
    const e = endpoint();

    // Act
    const answer = await e.call('POST', '/requests', { by: ARN.alice, body });

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: { code: 'BadRequest', message: expect.stringMatching(message) } });
    expect(e.requests.all()).toEqual([]);
    expect(e.audit.signals).toEqual([]);
  });

  it('approves as an approver (200, changed), refuses the requester, and answers a repeat with changed:false — each call audited once', async () => {
    // Prepare
    const e = endpoint();
    const request = await e.ask();
    e.events.length = 0;
    const later = new Date(NOW.getTime() + HOUR_MS);

    // Act
    const approve = await e.call('POST', `/requests/${request.id}/approve`, {
      by: ARN.ops,
      at: later,
      body: { comment: 'ok' },
    });
    const own = await e.call('POST', `/requests/${request.id}/approve`, {
      by: ARN.alice,
      at: later,
      body: {},
    });
    const again = await e.call('POST', `/requests/${request.id}/approve`, {
      by: ARN.ops,
      at: later,
      body: {},
    });
    const byLead = await e.call('POST', `/requests/${request.id}/approve`, { by: ARN.lead, at: later });

    // Assess
    const approved = {
      ...request,
      announcedAt: expect.any(String),
      state: 'APPROVED',
      decision: {
        action: 'approve',
        by: ARN.ops,
        at: later.toISOString(),
        comment: 'ok',
        sourceIp: SOURCE_IP,
        userAgent: USER_AGENT,
      },
    };
    expect(approve).toEqual({ status: 200, body: { request: approved, changed: true } });
    expect(own).toEqual(
      refusal(
        403,
        'NotAnApprover',
        `${ARN.alice} may not approve ${request.id}: it matches none of the approvers (${OPS_ROLE}, ${ARN.lead})`,
      ),
    );
    expect(again).toEqual({ status: 200, body: { request: approved, changed: false } });
    expect(byLead).toEqual({ status: 200, body: { request: approved, changed: false } });
    expect(e.requests.all()[0]).toMatchObject({ state: 'APPROVED', decision: { by: ARN.ops } });
    const common = {
      requestId: request.id,
      action: 'approve',
      at: later.toISOString(),
      repository: 'team/app',
      scope: undefined,
      imageCount: 2,
      bytes: 12_000,
      requester: ARN.alice,
    };
    expect(e.events).toEqual([
      { ...common, outcome: 'allowed', ...byCaller(ARN.ops), state: 'APPROVED', changed: true, note: 'ok' },
      {
        ...common,
        outcome: 'refused',
        code: 'NotAnApprover',
        ...byCaller(ARN.alice),
        state: 'APPROVED',
        note: (own.body as { error: { message: string } }).error.message,
      },
      {
        ...common,
        outcome: 'allowed',
        ...byCaller(ARN.ops),
        state: 'APPROVED',
        changed: false,
        note: undefined,
      },
      {
        ...common,
        outcome: 'allowed',
        ...byCaller(ARN.lead),
        state: 'APPROVED',
        changed: false,
        note: undefined,
      },
    ]);
  });

  it('refuses an approver approving their own request with 403 SelfApproval, and audits it', async () => {
    // Prepare: alice leads the team, so she may approve — but not what she asked for herself.
    const e = endpoint(steward({ approvers: [OPS_ROLE, ARN.alice] }));
    const request = await e.ask();
    e.events.length = 0;

    // Act
    const own = await e.call('POST', `/requests/${request.id}/approve`, { by: ARN.alice, body: {} });

    // Assess
    expect(own).toEqual(
      refusal(
        403,
        'SelfApproval',
        `${ARN.alice} asked for ${request.id} and may not approve it: another approver must (separation of duties)`,
      ),
    );
    expect(e.events).toEqual([
      expect.objectContaining({
        requestId: request.id,
        action: 'approve',
        outcome: 'refused',
        code: 'SelfApproval',
        ...byCaller(ARN.alice),
        state: 'PENDING_APPROVAL',
      }),
    ]);
    expect(e.requests.all()[0]?.state).toBe('PENDING_APPROVAL');
  });

  it('rejects with a reason (the notices topic is told the images stay), and refuses a reject without one with 400', async () => {
    // Prepare
    const e = endpoint();
    const request = await e.ask();
    e.events.length = 0;
    e.notices.length = 0;

    // Act
    const noReason = await e.call('POST', `/requests/${request.id}/reject`, { by: ARN.ops, body: {} });
    const reject = await e.call('POST', `/requests/${request.id}/reject`, {
      by: ARN.ops,
      body: { reason: 'still in use by batch' },
    });
    const approveAfter = await e.call('POST', `/requests/${request.id}/approve`, { by: ARN.lead, body: {} });

    // Assess
    expect(noReason.status).toBe(400);
    expect(noReason.body).toEqual({
      error: { code: 'BadRequest', message: expect.stringMatching(/^reason: /) },
    });
    expect(reject).toMatchObject({
      status: 200,
      body: {
        changed: true,
        request: {
          state: 'REJECTED',
          decision: { action: 'reject', by: ARN.ops, reason: 'still in use by batch' },
        },
      },
    });
    expect(approveAfter).toEqual(
      refusal(
        409,
        'AlreadyDecided',
        `${request.id} is already REJECTED (by ${ARN.ops} at ${NOW.toISOString()})`,
      ),
    );
    expect(e.notices).toHaveLength(1);
    expect(e.notices[0]?.message).toContain('Its images are kept');
    expect(e.notices[0]?.message).toContain('Reason: still in use by batch');
    expect(e.events.map((x) => [x.action, x.outcome, x.code, x.principal, x.sourceIp, x.userAgent])).toEqual([
      ['reject', 'refused', 'BadRequest', ARN.ops, SOURCE_IP, USER_AGENT],
      ['reject', 'allowed', undefined, ARN.ops, SOURCE_IP, USER_AGENT],
      ['approve', 'refused', 'AlreadyDecided', ARN.lead, SOURCE_IP, USER_AGENT],
    ]);
  });

  it('lets the requester withdraw their own request', async () => {
    // Prepare
    const e = endpoint();
    const request = await e.ask();

    // Act
    const withdraw = await e.call('POST', `/requests/${request.id}/reject`, {
      by: ARN.alice,
      body: { reason: 'wrong digests' },
    });

    // Assess
    expect(withdraw).toMatchObject({
      status: 200,
      body: { changed: true, request: { state: 'REJECTED', decision: { by: ARN.alice } } },
    });
  });

  it('answers 404 for an id that is not one, and for a well-formed id nobody created (audited)', async () => {
    // Prepare
    const e = endpoint();
    const unknown = 'req-20260601T120000-zzzzzz';

    // Act
    const malformed = await e.call('POST', '/requests/nope/approve', { by: ARN.ops, body: {} });
    const missing = await e.call('POST', `/requests/${unknown}/approve`, { by: ARN.ops, body: {} });
    const show = await e.call('GET', `/requests/${unknown}`, { by: ARN.ops });
    const route = await e.call('DELETE', '/requests', { by: ARN.ops });

    // Assess
    expect(malformed).toEqual(
      refusal(404, 'NotFound', 'no request nope (ids look like req-20261206T101500-k3x9qa)'),
    );
    expect(missing).toEqual(refusal(404, 'NotFound', `no request ${unknown}`));
    expect(show).toEqual(refusal(404, 'NotFound', `no request ${unknown}`));
    expect(route).toEqual(
      refusal(
        404,
        'NotFound',
        'no route DELETE /requests: see GET /requests, POST /requests, POST /requests/{id}/approve|reject',
      ),
    );
    expect(e.events.filter((x) => x.requestId === '(malformed)')).toEqual([
      {
        requestId: '(malformed)',
        action: 'approve',
        outcome: 'refused',
        code: 'NotFound',
        ...byCaller(ARN.ops),
        at: NOW.toISOString(),
        note: 'no request nope (ids look like req-20261206T101500-k3x9qa)',
      },
    ]);
    expect(e.events.filter((x) => x.requestId === unknown)).toEqual([
      {
        requestId: unknown,
        action: 'approve',
        outcome: 'refused',
        code: 'NotFound',
        ...byCaller(ARN.ops),
        at: NOW.toISOString(),
        note: `no request ${unknown}`,
      },
    ]);
  });

  it('refuses an approval after the expiry with 409 Expired, though nothing marked it yet', async () => {
    // Prepare
    const e = endpoint();
    const request = await e.ask();
    e.events.length = 0;
    const late = new Date(NOW.getTime() + 72 * HOUR_MS);

    // Act
    const answer = await e.call('POST', `/requests/${request.id}/approve`, {
      by: ARN.ops,
      at: late,
      body: {},
    });

    // Assess
    expect(answer).toEqual(
      refusal(
        409,
        'Expired',
        `${request.id} expired unanswered at ${late.toISOString()}; its images are kept (a later run asks again if it still plans them)`,
      ),
    );
    expect(e.requests.all()[0]?.state).toBe('PENDING_APPROVAL');
    expect(e.events).toEqual([
      expect.objectContaining({
        action: 'approve',
        outcome: 'refused',
        code: 'Expired',
        ...byCaller(ARN.ops),
      }),
    ]);
  });

  it('shows one request to an approver or a requester, and refuses a stranger', async () => {
    // Prepare
    const e = endpoint();
    const request = await e.ask();

    // Act
    const shown = await e.call('GET', `/requests/${request.id}`, { by: ARN.alice });
    const stranger = await e.call('GET', `/requests/${request.id}`, { by: ARN.mallory });

    // Assess
    expect(shown).toMatchObject({
      status: 200,
      body: { request: { id: request.id, state: 'PENDING_APPROVAL' } },
    });
    expect(stranger.status).toBe(403);
  });

  it('resets the breaker once when another approver approves a reset request, and not again on a repeat by someone else', async () => {
    // Prepare
    const e = endpoint();
    const created = await e.call('POST', '/requests', {
      by: ARN.alice,
      body: { kind: 'breaker-reset', scope: 'repository:team/app', reason: 'burst was a planned migration' },
    });
    const request = (created.body as { request: DeletionRequestRecord }).request;

    // Act
    const own = await e.call('POST', `/requests/${request.id}/approve`, { by: ARN.alice, body: {} });
    const approve = await e.call('POST', `/requests/${request.id}/approve`, { by: ARN.ops, body: {} });
    const repeat = await e.call('POST', `/requests/${request.id}/approve`, {
      by: ARN.lead,
      at: new Date(NOW.getTime() + 60_000),
      body: {},
    });

    // Assess
    expect(created.status).toBe(201);
    expect(request).toMatchObject({
      kind: 'breaker-reset',
      scope: 'repository:team/app',
      imageCount: 0,
      images: [],
    });
    expect(e.approvalMessages[0]?.subject).toBe(
      'ECR Steward: approval needed to reset the breaker repository:team/app',
    );
    expect(own.status).toBe(403);
    expect(approve).toMatchObject({ status: 200, body: { changed: true, request: { state: 'APPROVED' } } });
    expect(repeat).toMatchObject({ status: 200, body: { changed: false } });
    expect(e.resets).toEqual([
      { scope: 'repository:team/app', by: ARN.ops, requestId: request.id, at: NOW.toISOString() },
    ]);
  });

  it('refuses a breaker reset request from a stranger and one with a malformed scope', async () => {
    // Prepare
    const e = endpoint();

    // Act
    const stranger = await e.call('POST', '/requests', {
      by: ARN.mallory,
      body: { kind: 'breaker-reset', scope: 'registry', reason: 'x' },
    });
    const badScope = await e.call('POST', '/requests', {
      by: ARN.alice,
      body: { kind: 'breaker-reset', scope: 'everything', reason: 'x' },
    });

    // Assess
    expect(stranger).toEqual(
      refusal(
        403,
        'NotARequester',
        `${ARN.mallory} may not ask for a breaker reset: it matches no requester or approver`,
      ),
    );
    expect(badScope).toEqual(
      refusal(400, 'BadRequest', 'scope: a breaker scope is "registry" or "repository:<name>"'),
    );
    expect(e.resets).toEqual([]);
    expect(e.requests.all()).toEqual([]);
  });
});

describe('callerOf', () => {
  /** A function URL event (payload 2.0) as Lambda delivers it, with the IAM authorizer block when signed. */
  const event = (iam?: Record<string, unknown>, body?: string): LambdaFunctionURLEvent =>
    ({
      version: '2.0',
      rawPath: '/requests/req-20260601T120000-abcdef/approve',
      rawQueryString: '',
      headers: {},
      body,
      isBase64Encoded: false,
      requestContext: {
        accountId: ACCOUNT,
        apiId: 'url-id',
        domainName: 'url-id.lambda-url.us-west-2.on.aws',
        domainPrefix: 'url-id',
        http: {
          method: 'POST',
          path: '/requests',
          protocol: 'HTTP/1.1',
          sourceIp: SOURCE_IP,
          userAgent: USER_AGENT,
        },
        requestId: 'id',
        routeKey: '$default',
        stage: '$default',
        time: '01/Jun/2026:12:00:00 +0000',
        timeEpoch: NOW.getTime(),
        ...(iam ? { authorizer: { iam } } : {}),
      },
    }) as unknown as LambdaFunctionURLEvent;

  it('takes the caller from the signed identity, with the source IP and user agent of the call', () => {
    expect(
      callerOf(event({ userArn: ARN.ops, accountId: ACCOUNT, userId: 'AROAEXAMPLE:ops', callerId: 'x' })),
    ).toEqual({
      arn: ARN.ops,
      accountId: ACCOUNT,
      userId: 'AROAEXAMPLE:ops',
      sourceIp: SOURCE_IP,
      userAgent: USER_AGENT,
    });
  });

  it('finds no caller in an unsigned call, whatever its body claims', () => {
    expect(
      callerOf(event(undefined, JSON.stringify({ caller: { arn: ARN.ops }, userArn: ARN.ops }))),
    ).toBeUndefined();
    expect(callerOf(event({ accountId: ACCOUNT }))).toBeUndefined();
  });
});

describe('handleCall audits every request created or refused', () => {
  it("records a person's request with the call's source IP and user agent", async () => {
    // Prepare
    const e = endpoint();

    // Act
    const request = await e.ask();

    // Assess
    expect(e.events.filter((x) => x.action === 'create')).toEqual([
      expect.objectContaining({
        requestId: request.id,
        action: 'create',
        outcome: 'allowed',
        ...byCaller(ARN.alice),
      }),
    ]);
    expect(request.announcedAt).toBe(NOW.toISOString());
    expect(e.requests.items.get(request.id)?.announcedAt).toBe(NOW.toISOString());
  });

  it('records a create refused for a body that is not JSON', async () => {
    // Prepare
    const e = endpoint();

    // Act
    const answer = await e.call('POST', '/requests', { by: ARN.mallory, body: '{"kind":' });

    // Assess
    expect(answer.status).toBe(400);
    expect(e.events).toEqual([
      expect.objectContaining({
        requestId: '(none)',
        action: 'create',
        outcome: 'refused',
        code: 'BadRequest',
        ...byCaller(ARN.mallory),
      }),
    ]);
  });
});
