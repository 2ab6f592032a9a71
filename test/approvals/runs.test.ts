/**
 * Approvals through the real cleanup core and deletion path: runs that open one request per repository and
 * run, wait for the answer, act once approved and due, keep what is rejected or expired, and a person's
 * request through the endpoint. The stores are in memory with the real merge and conditional rules
 * (./support.ts); the last test drives random interleavings with injected throttling and checks, at the
 * moment of every destructive call, that only images of approved requests reach ECR.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ApiCall, handleCall } from '../../functions/approvals/core.js';
import { type CleanupPorts, cleanupRepository } from '../../functions/cleanup/core.js';
import type { DeleteOutcome } from '../../functions/shared/adapters/ecr.js';
import { answer } from '../../functions/shared/approvals/decide.js';
import { expireRequests, newRequestId, openRequest } from '../../functions/shared/approvals/lifecycle.js';
import { type DeletionRequestRecord, REQUEST_ID } from '../../functions/shared/approvals/model.js';
import { matchingPattern, sameParty } from '../../functions/shared/approvals/principals.js';
import type { StewardConfigInput } from '../../functions/shared/config/schema.js';
import { holdOn } from '../../functions/shared/deletion/holds.js';
import type { Hold, Image } from '../../functions/shared/lifecycle/types.js';
import { config, FakeBreaker, FakeRegistry, request } from '../cleanup/fakes.js';
import { digestOf, image, NOW } from '../fixtures/images.js';
import {
  ACCOUNT,
  ARN,
  approvalWorld,
  caller,
  Faults,
  HOUR_MS,
  MemoryAudit,
  OPS_ROLE,
  REGION,
  retried,
  ThrottlingException,
} from './support.js';

const REPO = 'team/app';
const APPROVERS = [OPS_ROLE, ARN.lead];
const at = (hours: number) => new Date(NOW.getTime() + hours * HOUR_MS);

type Governance = NonNullable<StewardConfigInput['governance']>;
type ApprovalInput = NonNullable<Governance['approval']>;

/** The registry of the tests, failing like `faults` says; `beforeDestroy` sees every destructive call first. */
class ThrottledRegistry extends FakeRegistry {
  beforeDestroy?: (digests: readonly string[]) => void;
  constructor(private readonly faults: Faults) {
    super([]);
  }
  override async listImages(repository: string): Promise<Image[]> {
    this.faults.maybeThrow('registry.listImages');
    return super.listImages(repository);
  }
  override async deleteImages(repository: string, digests: readonly string[]): Promise<DeleteOutcome> {
    this.beforeDestroy?.(digests);
    this.faults.maybeThrow('registry.deleteImages');
    return super.deleteImages(repository, digests);
  }
  override async archiveImages(repository: string, digests: readonly string[]): Promise<DeleteOutcome> {
    this.beforeDestroy?.(digests);
    this.faults.maybeThrow('registry.archiveImages');
    return super.archiveImages(repository, digests);
  }
}

/**
 * One repository of `count` images a day apart (img-0 newest, tagged v0…), "keep the newest `keep`", the
 * operators and the lead approving, alice asking; every port in memory.
 */
function setup(
  options: {
    approval?: ApprovalInput;
    notice?: number;
    count?: number;
    keep?: number;
    faults?: Faults;
    softDelete?: 'archive' | 'off';
    maxDeletesPerRepository?: number;
  } = {},
) {
  const faults = options.faults ?? new Faults();
  const registry = new ThrottledRegistry(faults);
  const count = options.count ?? 5;
  registry.add(REPO, {
    images: Array.from({ length: count }, (_, i) =>
      image(`img-${i}`, { age: i + 2, tags: [`v${i}`], sizeBytes: 1_000 * (i + 1) }),
    ),
  });
  const audit = new MemoryAudit(faults);
  const approvals = approvalWorld(faults);
  const holds: Hold[] = [];
  const noticesSent: string[][] = [];
  const cfg = config(
    {
      ...(options.maxDeletesPerRepository
        ? { bounds: { maxDeletesPerRepository: options.maxDeletesPerRepository } }
        : {}),
      governance: {
        notice: { hours: options.notice ?? 24 },
        softDelete: { mode: options.softDelete ?? 'off' },
        approval: {
          required: 'always',
          approvers: APPROVERS,
          requesters: [ARN.alice],
          expiresAfterHours: 72,
          ...options.approval,
        },
      },
    },
    options.keep ?? 2,
  );
  const ports: CleanupPorts = {
    registry,
    audit,
    breaker: new FakeBreaker([]),
    inUse: async () => [],
    holds: async () => {
      faults.maybeThrow('holds');
      return [...holds];
    },
    notify: async (n) => {
      noticesSent.push(n.images.map((i) => i.digest));
    },
    approvals: approvals.ports,
  };
  const run = (hours: number, runId = `run-${hours}h`) =>
    cleanupRepository(cfg, request({ now: at(hours), runId }), ports);
  /** An answer given through the pure core and stored as the endpoint stores it. */
  const decide = async (
    id: string,
    action: 'approve' | 'reject',
    by: string,
    hours: number,
    reason?: string,
  ): Promise<DeletionRequestRecord> => {
    const result = answer({
      request: approvals.requests.items.get(id),
      id,
      action,
      caller: caller(by),
      approvers: APPROVERS,
      now: at(hours),
      reason,
    });
    if (!result.ok) throw new Error(`${result.code}: ${result.message}`);
    expect(await approvals.requests.answer(result.request)).toBe(true);
    return result.request;
  };
  /** The endpoint over the same stores (a person's request; answers as a signed caller gives them). */
  const endpoint = (method: string, path: string, by: string, hours: number, body?: unknown) => {
    const call: ApiCall = {
      method,
      path,
      query: {},
      body: body === undefined ? undefined : JSON.stringify(body),
      caller: caller(by),
    };
    return handleCall(
      cfg,
      call,
      {
        ...approvals.ports,
        registryId: ACCOUNT,
        region: REGION,
        registry: {
          describeRepository: async (name) =>
            registry.repositories.has(name)
              ? { name, arn: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${name}` }
              : undefined,
          repositoryTags: async () => ({}),
          describeImage: async (repository, digest) => {
            faults.maybeThrow('registry.describeImage');
            return registry.repositories.get(repository)?.images.find((i) => i.digest === digest);
          },
        },
        recordNotice: (signal) => audit.record(signal),
        publishNotice: async () => {},
        resetBreaker: async () => {},
      },
      at(hours),
    );
  };
  return { registry, audit, approvals, holds, noticesSent, run, decide, endpoint, faults, cfg };
}

const digests = (...names: string[]) => names.map(digestOf).sort();
const deleted = (registry: FakeRegistry) => registry.deleteCalls.flat().sort();

describe('runs with approvals', () => {
  it('(a) opens one request for the whole run, waits for the approval, then deletes exactly its images once due', async () => {
    // Prepare: five images, keep two: img-2, img-3 and img-4 expire.
    const s = setup();
    const expiring = digests('img-2', 'img-3', 'img-4');

    // Act: the first run notices and asks.
    const first = await s.run(0);

    // Assess
    const [request] = s.approvals.requests.all();
    expect(s.approvals.requests.all()).toHaveLength(1);
    expect(first).toMatchObject({
      outcome: 'done',
      scheduled: 3,
      expired: 0,
      requested: { id: request!.id, images: 3 },
    });
    expect(request).toMatchObject({
      kind: 'delete',
      state: 'PENDING_APPROVAL',
      repository: REPO,
      selection: 'team',
      requester: { type: 'ecr-steward', runId: 'run-0h' },
      imageCount: 3,
      bytes: 3_000 + 4_000 + 5_000,
      createdAt: NOW.toISOString(),
      expiresAt: at(72).toISOString(),
      reason: 'lifecycle plans 3 deletions in team/app; approval needed: approval.required is "always"',
    });
    expect(request!.images.map((i) => i.digest).sort()).toEqual(expiring);
    expect(s.approvals.approvalMessages).toHaveLength(1);
    const message = s.approvals.approvalMessages[0]!;
    expect(message.subject).toBe('ECR Steward: approval needed to delete 3 images (11.7 KiB) in team/app');
    expect(message.message).toContain(`  ecr-steward approve ${request!.id} --comment "<why>"`);
    expect(message.message).toContain(`  ecr-steward reject ${request!.id} --reason "<why>"`);
    expect(message.message).toContain(`Due:        ${at(24).toISOString()} at the earliest`);
    expect(s.approvals.events.map((e) => [e.action, e.outcome, e.principal])).toEqual([
      ['create', 'allowed', 'ecr-steward'],
    ]);
    for (const d of expiring)
      expect(s.audit.state(d)).toMatchObject({
        status: 'SCHEDULED',
        dueAt: at(24).toISOString(),
        requestId: request!.id,
      });
    expect(s.noticesSent.map((n) => [...n].sort())).toEqual([expiring]);

    // Act: a run before the answer, even after the notice is due, deletes nothing and asks nothing again.
    const waiting = await s.run(30);

    // Assess
    expect(waiting).toMatchObject({ expired: 0, scheduled: 0, awaitingApproval: 3, requested: undefined });
    expect(s.approvals.requests.all()).toHaveLength(1);
    expect(s.registry.deleteCalls).toEqual([]);

    // Act: approved, then the next run.
    await s.decide(request!.id, 'approve', ARN.ops, 31);
    const due = await s.run(32);

    // Assess
    expect(due).toMatchObject({ outcome: 'done', expired: 3, awaitingApproval: 0 });
    expect(deleted(s.registry)).toEqual(expiring);
    for (const d of expiring)
      expect(s.audit.state(d)).toMatchObject({ status: 'DELETED', requestId: request!.id });
  });

  it('(a) waits for the notice even once approved', async () => {
    // Prepare
    const s = setup();
    await s.run(0);
    const [request] = s.approvals.requests.all();
    await s.decide(request!.id, 'approve', ARN.lead, 1);

    // Act
    const early = await s.run(2);
    const due = await s.run(24);

    // Assess
    expect(early).toMatchObject({ expired: 0 });
    expect(due).toMatchObject({ expired: 3 });
    expect(s.registry.deleteCalls).toHaveLength(1);
  });

  it('(b) ends the notices of a rejected request CANCELLED naming it, asks nothing within the cooldown, and asks again after', async () => {
    // Prepare
    const s = setup();
    await s.run(0);
    const [rejected] = s.approvals.requests.all();
    await s.decide(rejected!.id, 'reject', ARN.ops, 5, 'those builds are still referenced');

    // Act
    const after = await s.run(30);

    // Assess
    expect(after).toMatchObject({ expired: 0, cancelled: 3, requested: undefined });
    for (const d of digests('img-2', 'img-3', 'img-4'))
      expect(s.audit.state(d)).toMatchObject({
        status: 'CANCELLED',
        note: `request ${rejected!.id} was rejected: kept`,
        requestId: rejected!.id,
      });

    // Act: within the cooldown (72 hours from the rejection), then after it.
    const within = await s.run(40);
    const cooled = await s.run(5 + 72);

    // Assess
    expect(within).toMatchObject({ expired: 0, scheduled: 0, cancelled: 0, requested: undefined });
    expect(cooled).toMatchObject({ expired: 0, scheduled: 3, requested: { images: 3 } });
    const all = s.approvals.requests.all();
    expect(all.map((r) => r.state)).toEqual(['REJECTED', 'PENDING_APPROVAL']);
    expect(all[1]!.createdAt).toBe(at(77).toISOString());
    expect(s.registry.deleteCalls).toEqual([]);
  });

  it('(c) expires an unanswered request, tells the notices topic the images stay, and deletes nothing', async () => {
    // Prepare
    const s = setup();
    await s.run(0);
    const [request] = s.approvals.requests.all();

    // Act
    const notYet = await expireRequests(at(71), s.approvals.ports);
    const expired = await expireRequests(at(72), s.approvals.ports);
    const next = await s.run(73);

    // Assess
    expect(notYet).toEqual([]);
    expect(expired.map((r) => [r.id, r.state, r.decision?.by])).toEqual([
      [request!.id, 'EXPIRED', 'ecr-steward'],
    ]);
    expect(s.approvals.requests.all()[0]).toMatchObject({ state: 'EXPIRED' });
    expect(s.approvals.notices).toHaveLength(1);
    expect(s.approvals.notices[0]).toMatchObject({
      subject: `ECR Steward: request ${request!.id} expired; nothing is deleted`,
    });
    expect(s.approvals.notices[0]!.message).toContain(
      `Request ${request!.id} (3 images in team/app) expired unanswered.`,
    );
    expect(s.approvals.notices[0]!.message).toContain('Its images are kept');
    expect(s.approvals.events.map((e) => [e.action, e.principal, e.state])).toEqual([
      ['create', 'ecr-steward', 'PENDING_APPROVAL'],
      ['expire', 'ecr-steward', 'EXPIRED'],
    ]);
    expect(next).toMatchObject({ expired: 0, cancelled: 3 });
    expect(s.audit.state(digestOf('img-2'))?.note).toBe(`request ${request!.id} expired unanswered: kept`);
    expect(s.registry.deleteCalls).toEqual([]);
  });

  it('(d) asks only when a run crosses overImages: 3 images under 5 go after the notice, 8 need a request', async () => {
    // Prepare
    const small = setup({ approval: { required: { overImages: 5 } } });
    const large = setup({ approval: { required: { overImages: 5 } }, count: 10 });

    // Act
    const smallFirst = await small.run(0);
    const smallDue = await small.run(24);
    const largeFirst = await large.run(0);
    const largeDue = await large.run(24);

    // Assess
    expect(smallFirst).toMatchObject({ scheduled: 3, requested: undefined });
    expect(small.approvals.requests.all()).toEqual([]);
    expect(smallDue).toMatchObject({ expired: 3 });
    expect(deleted(small.registry)).toEqual(digests('img-2', 'img-3', 'img-4'));
    expect(largeFirst).toMatchObject({ scheduled: 8, requested: { images: 8 } });
    expect(large.approvals.requests.all()[0]?.reason).toBe(
      'lifecycle plans 8 deletions in team/app; approval needed: 8 images, over 5',
    );
    expect(largeDue).toMatchObject({ expired: 0, awaitingApproval: 8 });
    expect(large.registry.deleteCalls).toEqual([]);
  });

  it('(d) weighs overImages on the whole plan: bounds that spread the deletions over runs do not let them through unasked', async () => {
    // Prepare: no notice, 8 images planned, at most 3 deletes per repository and run.
    const w = setup({
      approval: { required: { overImages: 5 } },
      notice: 0,
      count: 10,
      maxDeletesPerRepository: 3,
    });

    // Act
    const first = await w.run(0);
    const second = await w.run(1);

    // Assess
    expect(first).toMatchObject({ scheduled: 8, requested: { images: 8 } });
    expect(second).toMatchObject({ expired: 0, awaitingApproval: 8 });
    expect(w.registry.deleteCalls).toEqual([]);
  });

  it('(d) counts what already waits for an answer: one more planned image after a large request is asked for too', async () => {
    // Prepare: 8 planned images open a request (over 5)…
    const w = setup({ approval: { required: { overImages: 5 } }, count: 10 });
    const first = await w.run(0);
    // …and a new image pushes one more of the old ones out of the two kept.
    w.registry.repositories
      .get(REPO)!
      .images.push(image('img-new', { age: 0.5, tags: ['v-new'], sizeBytes: 1_000 }));

    // Act
    const second = await w.run(1);

    // Assess: the one newly planned image is asked for (9 would go, over 5), not noticed unasked.
    expect(first).toMatchObject({ requested: { images: 8 } });
    expect(second).toMatchObject({ scheduled: 1, requested: { images: 1 }, awaitingApproval: 8 });
    expect(w.approvals.requests.all()).toHaveLength(2);
  });

  it('(e) keeps an image a hold placed after the approval covers, and deletes the rest', async () => {
    // Prepare
    const s = setup();
    await s.run(0);
    const [request] = s.approvals.requests.all();
    await s.decide(request!.id, 'approve', ARN.ops, 1);
    s.holds.push({ tag: 'v3', reason: 'rollback target', owner: ARN.alice });

    // Act
    const due = await s.run(24);

    // Assess
    expect(due).toMatchObject({ expired: 2, cancelled: 1 });
    expect(deleted(s.registry)).toEqual(digests('img-2', 'img-4'));
    expect(s.audit.state(digestOf('img-3'))).toMatchObject({
      status: 'CANCELLED',
      note: `held: rollback target (by ${ARN.alice})`,
      requestId: request!.id,
    });
  });

  it("(f) acts on a person's request only once approved and due: caller manual, the principal kept in the DELETED record", async () => {
    // Prepare: nothing is planned (keep 10 of 5); alice asks for the newest image to go.
    const s = setup({ keep: 10, approval: { required: 'never' } });
    const target = digestOf('img-0');
    const created = await s.endpoint('POST', '/requests', ARN.alice, 0, {
      kind: 'delete',
      repository: REPO,
      digests: [target],
      reason: 'contains a leaked token',
    });
    expect(created.status).toBe(201);
    const request = (created.body as { request: DeletionRequestRecord }).request;

    // Act
    const pending = await s.run(25);
    const own = await s.endpoint('POST', `/requests/${request.id}/approve`, ARN.alice, 26, {});
    const approved = await s.endpoint('POST', `/requests/${request.id}/approve`, ARN.ops, 26, {
      comment: 'confirmed',
    });
    const due = await s.run(27);

    // Assess
    expect(pending).toMatchObject({ expired: 0, awaitingApproval: 1 });
    expect(own.status).toBe(403);
    expect(approved.status).toBe(200);
    expect(due).toMatchObject({ outcome: 'done', expired: 1 });
    expect(s.registry.deleteCalls).toEqual([[target]]);
    expect(s.audit.state(target)).toMatchObject({
      status: 'DELETED',
      requestId: request.id,
      actor: {
        principal: ARN.alice,
        rulePriority: null,
        reasons: [`requested by ${ARN.alice} (${request.id}): contains a leaked token`],
      },
    });
    expect(s.audit.statuses(target)).toEqual(['SCHEDULED', 'PENDING', 'DELETED']);
  });

  it("(f) keeps a person's image whose APPROVED row names someone who is not an approver (a row edited in the table)", async () => {
    // Prepare: alice asks; the row is then set APPROVED straight in the table, by mallory, who approves nothing.
    const s = setup({ keep: 10, approval: { required: 'never' } });
    const target = digestOf('img-0');
    const created = await s.endpoint('POST', '/requests', ARN.alice, 0, {
      kind: 'delete',
      repository: REPO,
      digests: [target],
      reason: 'contains a leaked token',
    });
    const request = (created.body as { request: DeletionRequestRecord }).request;
    await s.run(1);
    s.approvals.requests.items.set(request.id, {
      ...s.approvals.requests.items.get(request.id)!,
      state: 'APPROVED',
      decision: { action: 'approve', by: ARN.mallory, at: at(2).toISOString() },
    });

    // Act
    const due = await s.run(27);

    // Assess
    expect(due).toMatchObject({ expired: 0 });
    expect(s.registry.deleteCalls).toEqual([]);
    expect(s.audit.statuses(target)).toEqual(['SCHEDULED', 'CANCELLED']);
  });

  it("(f) keeps a person's image when the request is rejected, and when it expires", async () => {
    for (const ending of ['reject', 'expire'] as const) {
      // Prepare
      const s = setup({ keep: 10, approval: { required: 'never' } });
      const target = digestOf('img-1');
      const created = await s.endpoint('POST', '/requests', ARN.alice, 0, {
        kind: 'delete',
        repository: REPO,
        digests: [target],
        reason: 'old',
      });
      const id = (created.body as { request: DeletionRequestRecord }).request.id;

      // Act
      if (ending === 'reject')
        await s.endpoint('POST', `/requests/${id}/reject`, ARN.lead, 1, { reason: 'no' });
      else await expireRequests(at(72), s.approvals.ports);
      const report = await s.run(80);

      // Assess
      expect(report).toMatchObject({ expired: 0, cancelled: 1 });
      expect(s.audit.state(target)?.status).toBe('CANCELLED');
      expect(s.registry.deleteCalls).toEqual([]);
    }
  });

  it('deletes no image whose request is not APPROVED, and none without a PENDING record first, under throttling, duplicated and reordered runs', async () => {
    const who = fc.constantFrom(ARN.alice, ARN.lead, ARN.mallory, ARN.ops, ARN.opsNight);
    const hours = fc.integer({ min: 0, max: 120 });
    // Runs and answers are drawn more often than the rest, so that many scenarios reach a due, approved image.
    const action = fc.oneof(
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('run' as const), hours, twice: fc.boolean() }) },
      {
        weight: 4,
        arbitrary: fc.record({
          kind: fc.constant('answer' as const),
          action: fc.constantFrom('approve' as const, 'approve' as const, 'reject' as const),
          by: who,
          which: fc.nat(),
          hours,
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('expire' as const), hours }) },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('hold' as const),
          tag: fc.constantFrom('v0', 'v1', 'v2', 'v3', 'v4', 'v5'),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const) }) },
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant('ask' as const),
          by: who,
          images: fc.uniqueArray(fc.nat({ max: 5 }), { minLength: 1, maxLength: 3 }),
          hours,
        }),
      },
    );
    const scenario = fc.record({
      seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      notice: fc.constantFrom(0, 1, 24),
      softDelete: fc.constantFrom('off' as const, 'archive' as const),
      actions: fc.array(action, { minLength: 1, maxLength: 24, size: 'max' }),
    });
    let destructiveCalls = 0;
    let approvedSeen = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async ({ seed, notice, softDelete, actions }) => {
        const faults = new Faults(seed);
        const s = setup({ notice, softDelete, count: 6, faults });
        const violations: string[] = [];
        s.registry.beforeDestroy = (list) => {
          destructiveCalls++;
          for (const digest of list) {
            const record = s.audit.state(digest);
            if (record?.status !== 'PENDING')
              violations.push(`${digest}: no PENDING record before the call (${record?.status})`);
            const request = record?.requestId ? s.approvals.requests.items.get(record.requestId) : undefined;
            if (request?.state !== 'APPROVED')
              violations.push(
                `${digest}: its request ${record?.requestId} is ${request?.state ?? 'missing'}`,
              );
            else if (!request.images.some((i) => i.digest === digest))
              violations.push(`${digest}: ${request.id} does not list it`);
            const image = s.registry.repositories.get(REPO)!.images.find((i) => i.digest === digest);
            if (image && holdOn(s.holds, image, NOW.getTime()) !== undefined)
              violations.push(`${digest}: held`);
          }
        };
        faults.rate = 0.2;
        /** A run that could not read the holds table stopped safely; its message is redelivered like a throttled one. */
        const runOnce = async (hours: number) => {
          const report = await s.run(hours, `run-${hours}h`);
          if (report.outcome === 'holds-unavailable') throw new ThrottlingException(report.message);
          return report;
        };
        /** At most 8 attempts, as a queue's redrive would; then the message is left to the DLQ. */
        const attempt = async (fn: () => Promise<unknown>) => {
          try {
            await retried(fn, 8);
          } catch (e) {
            if (!(e instanceof ThrottlingException)) throw e;
          }
        };
        for (const a of actions) {
          if (a.kind === 'run') {
            await attempt(() => runOnce(a.hours));
            if (a.twice) await attempt(() => runOnce(a.hours));
          } else if (a.kind === 'answer') {
            const all = s.approvals.requests.all();
            const target = all[a.which % Math.max(1, all.length)];
            if (!target) continue;
            await attempt(() =>
              s.endpoint(
                'POST',
                `/requests/${target.id}/${a.action}`,
                a.by,
                a.hours,
                a.action === 'reject' ? { reason: 'no' } : {},
              ),
            );
          } else if (a.kind === 'expire') {
            await attempt(() => expireRequests(at(a.hours), s.approvals.ports));
          } else if (a.kind === 'hold') {
            s.holds.push({ tag: a.tag, reason: 'keep', owner: ARN.lead });
          } else if (a.kind === 'release') {
            s.holds.length = 0;
          } else {
            await attempt(() =>
              s.endpoint('POST', '/requests', a.by, a.hours, {
                kind: 'delete',
                repository: REPO,
                digests: a.images.map((i) => digestOf(`img-${i}`)),
                reason: 'asked',
              }),
            );
          }
        }
        // Then the operators approve whatever still waits, in time, and the due runs come (still throttled).
        for (const r of s.approvals.requests.all().filter((x) => x.state === 'PENDING_APPROVAL')) {
          const when = (Date.parse(r.createdAt) - NOW.getTime()) / HOUR_MS + 1;
          await attempt(() => s.endpoint('POST', `/requests/${r.id}/approve`, ARN.lead, when, {}));
        }
        for (const h of [150, 150, 151]) await attempt(() => runOnce(h));
        expect(violations).toEqual([]);
        // Every approval was given by an approver who is not the requester's party.
        for (const r of s.approvals.requests.all().filter((x) => x.state === 'APPROVED')) {
          approvedSeen++;
          expect(matchingPattern(r.decision!.by, APPROVERS)).toBeDefined();
          if (r.requester.type === 'principal')
            expect(sameParty(r.decision!.by, r.requester.arn)).toBe(false);
        }
      }),
      { numRuns: 150 },
    );
    // The property means something only if destructive calls and approvals happened.
    expect(destructiveCalls).toBeGreaterThan(20);
    expect(approvedSeen).toBeGreaterThan(20);
  });
});

describe('request lifecycle', () => {
  const newRequest = {
    kind: 'delete' as const,
    registryId: ACCOUNT,
    region: REGION,
    repository: REPO,
    images: [{ digest: digestOf('img-2'), tags: ['v2'], sizeBytes: 3_000, reason: 'rule 1' }],
    reason: 'lifecycle plans 1 deletion',
    requester: { type: 'ecr-steward' as const, runId: 'run-1' },
    now: NOW,
    expiresAfterHours: 72,
  };

  it('makes sortable request ids in the REQUEST_ID format', () => {
    // Act
    const id = newRequestId(NOW, () => Uint8Array.from([0, 1, 31, 32, 255, 17]));

    // Assess
    expect(id).toBe('req-20260601T120000-01z0zh');
    expect(REQUEST_ID.test(id)).toBe(true);
  });

  it('takes another id when the first one is taken, and never overwrites a request', async () => {
    // Prepare
    const w = approvalWorld();
    const taken = await openRequest(newRequest, w.ports);
    let creates = 0;
    const create = w.requests.create.bind(w.requests);
    w.requests.create = async (r) => {
      creates++;
      // The first candidate collides with the request already stored.
      return create(creates === 1 ? { ...r, id: taken.id } : r);
    };

    // Act
    const second = await openRequest(newRequest, w.ports);

    // Assess
    expect(creates).toBe(2);
    expect(second.id).not.toBe(taken.id);
    expect(
      w.requests
        .all()
        .map((r) => r.id)
        .sort(),
    ).toEqual([taken.id, second.id].sort());
  });

  it('leaves a request it could not announce pending (nothing is deleted for it) and the expiry run announces it', async () => {
    // Prepare: SNS fails after the request was stored and audited.
    const w = approvalWorld();
    const publish = w.ports.publishApproval;
    const failing = { ...w.ports, publishApproval: async () => Promise.reject(new Error('SNS is down')) };
    await expect(openRequest(newRequest, failing)).rejects.toThrow('SNS is down');
    const [stored] = w.requests.all();

    // Act
    const expired = await expireRequests(at(1), { ...w.ports, publishApproval: publish });
    const again = await expireRequests(at(2), w.ports);

    // Assess
    expect(stored?.state).toBe('PENDING_APPROVAL');
    expect(stored?.announcedAt).toBeUndefined();
    expect(expired).toEqual([]);
    expect(w.approvalMessages).toHaveLength(1);
    expect(w.approvalMessages[0]?.message).toContain(`ecr-steward approve ${stored!.id}`);
    expect(w.requests.all()[0]?.announcedAt).toBe(at(1).toISOString());
    expect(again).toEqual([]);
    expect(w.approvalMessages).toHaveLength(1);
  });

  it('does not expire a request an approver answered first', async () => {
    // Prepare
    const s = setup();
    await s.run(0);
    const [request] = s.approvals.requests.all();
    await s.decide(request!.id, 'approve', ARN.ops, 71);

    // Act
    const expired = await expireRequests(at(80), s.approvals.ports);

    // Assess
    expect(expired).toEqual([]);
    expect(s.approvals.requests.all()[0]?.state).toBe('APPROVED');
    expect(s.approvals.notices).toEqual([]);
  });
});
