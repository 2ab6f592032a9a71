/**
 * Findings of an independent review of approvals, kept as regression tests: an image tied to a pending request
 * only through a stale index read, a repeated reset approval, self-approval under a second Identity Center
 * permission set, the gate under a size threshold, an expiry whose event write failed, an APPROVED row without
 * an approval decision, a role pattern with a path, and a malformed escape in an id.
 */
import { describe, expect, it } from 'vitest';
import { type ApiCall, type ApprovalsEndpointPorts, handleCall } from '../../functions/approvals/core.js';
import { judgeImage } from '../../functions/scan-gate/core.js';
import { answer } from '../../functions/shared/approvals/decide.js';
import { expireRequests } from '../../functions/shared/approvals/lifecycle.js';
import type { DeletionRequestRecord } from '../../functions/shared/approvals/model.js';
import { matchingPattern } from '../../functions/shared/approvals/principals.js';
import { selectionFor, validateConfig } from '../../functions/shared/config/load.js';
import { effectiveGovernance } from '../../functions/shared/config/schema.js';
import {
  type DeletionPorts,
  type DeletionRequest,
  runDeletion,
} from '../../functions/shared/deletion/run.js';
import { urlPrincipals } from '../../lib/constructs/approvals.js';
import { DAY_MS, digestOf, keepNewest, NOW } from '../fixtures/images.js';
import { basicScan, gateConfig, gateHarness, image as gateImage } from '../scan-gate/helpers.js';
import {
  ACCOUNT,
  ARN,
  approvalWorld,
  caller,
  HOUR_MS,
  MemoryAudit,
  OPS_ROLE,
  pendingRequest,
  REGION,
} from './support.js';

const cfg = validateConfig({
  mode: 'enforce',
  selections: [{ name: 'team', repositories: ['team/*'], lifecyclePolicy: keepNewest(1), steward: {} }],
  governance: {
    approval: {
      required: { overImages: 2 },
      approvers: [OPS_ROLE],
      requesters: [ARN.alice],
      breakerReset: true,
    },
  },
});

function ports(world = approvalWorld(), audit = new MemoryAudit()) {
  const deleted: string[] = [];
  const p: DeletionPorts = {
    registry: {
      async deleteImages(_r, digests) {
        deleted.push(...digests);
        return { deleted: [...digests], failures: [] };
      },
      async existingDigests() {
        return new Set<string>();
      },
    },
    audit,
    breaker: { firstOpen: async () => undefined },
    approvals: world.ports,
  };
  return { p, deleted, world, audit };
}

const cand = (n: string) => ({
  digest: digestOf(n),
  tags: [],
  pushedAt: new Date(NOW.getTime() - 30 * DAY_MS).toISOString(),
  sizeBytes: 10,
  rulePriority: 1,
  reasons: ['expired by rule 1'],
});

const run = (over: Partial<DeletionRequest>): DeletionRequest => ({
  repository: { registryId: ACCOUNT, region: REGION, name: 'team/app' },
  caller: 'lifecycle',
  mode: 'enforce',
  runId: 'run-1',
  now: NOW,
  selection: selectionFor(cfg, 'team/app'),
  inUse: { digests: new Map(), tags: new Map() },
  allowance: 100,
  candidates: [],
  wholeRepository: true,
  approval: { required: { overImages: 2 }, expiresAfterHours: 72 },
  ...over,
});

describe('F1: the link image -> pending request lives only on the (GSI-read) open record', () => {
  it('a pending request covering the images does not keep them when the open list misses its notices', async () => {
    const f = ports();
    // Run 1: three images, over overImages 2: a request is opened and SCHEDULED records name it.
    const r1 = await runDeletion(run({ candidates: ['a', 'b', 'c'].map(cand) }), f.p);
    expect(r1.requested?.images).toBe(3);
    expect(f.deleted).toEqual([]);
    // Run 2 a minute later: one image was pulled (no longer planned). The openByRepository GSI has not yet
    // caught up (or run 1 crashed between openRequest and the SCHEDULED puts), so `open` is empty.
    const r2 = await runDeletion(
      run({
        now: new Date(NOW.getTime() + 60_000),
        runId: 'run-2',
        candidates: ['a', 'b'].map(cand),
        open: [],
      }),
      f.p,
    );
    // The request is still PENDING_APPROVAL and lists a and b.
    expect(f.world.requests.all()[0]?.state).toBe('PENDING_APPROVAL');
    // a and b are deleted without any approval.
    expect(f.deleted).toEqual([]);
    expect(r2.deleted).toBe(0);
  });
});

describe('F1 control', () => {
  it('with a fresh open list the same images are kept awaiting approval', async () => {
    const f = ports();
    await runDeletion(run({ candidates: ['a', 'b', 'c'].map(cand) }), f.p);
    const open = await f.audit.open({ registryId: ACCOUNT, region: REGION, repository: 'team/app' });
    const r2 = await runDeletion(
      run({ now: new Date(NOW.getTime() + 60_000), runId: 'run-2', candidates: ['a', 'b'].map(cand), open }),
      f.p,
    );
    expect(f.deleted).toEqual([]);
    expect(r2.kept['awaiting-approval']).toBe(2);
  });
});

describe('F2: a repeat approval of a breaker reset closes a breaker that opened again', () => {
  it('resets once: a repeat by the same approver 10 minutes later does not close the breaker again', async () => {
    const world = approvalWorld();
    const resets: string[] = [];
    const p: ApprovalsEndpointPorts = {
      ...world.ports,
      registryId: ACCOUNT,
      region: REGION,
      registry: {
        describeRepository: async () => undefined,
        repositoryTags: async () => ({}),
        describeImage: async () => undefined,
      },
      recordNotice: async () => undefined,
      publishNotice: async () => undefined,
      resetBreaker: async (_s, _by, _id, at) => {
        resets.push(at.toISOString());
      },
    };
    const call = (by: string, path: string, body: unknown, at: Date) =>
      handleCall(
        cfg,
        { method: 'POST', path, query: {}, body: JSON.stringify(body), caller: caller(by) } as ApiCall,
        p,
        at,
      );
    const created = await call(
      ARN.alice,
      '/requests',
      { kind: 'breaker-reset', scope: 'registry', reason: 'x' },
      NOW,
    );
    const id = (created.body as { request: DeletionRequestRecord }).request.id;
    await call(ARN.ops, `/requests/${id}/approve`, {}, NOW);
    // ...10 minutes later the breaker has opened again (a new burst); ops repeats the approve.
    await call(ARN.ops, `/requests/${id}/approve`, {}, new Date(NOW.getTime() + 10 * 60_000));
    // two resets from one approval.
    expect(resets).toHaveLength(1);
  });
});

describe('F3: self-approval through a second role (IAM Identity Center permission sets)', () => {
  it('refuses alice approving, under her Ops permission set, what she asked under her Dev permission set', () => {
    const dev = `arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_Dev_0123456789abcdef/alice@example.com`;
    const ops = `arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_Ops_fedcba9876543210/alice@example.com`;
    const result = answer({
      request: pendingRequest({ requester: { type: 'principal', arn: dev } }),
      id: 'req-20260601T120000-abcdef',
      action: 'approve',
      caller: caller(ops),
      approvers: [`arn:aws:iam::${ACCOUNT}:role/AWSReservedSSO_Ops_*`],
      now: NOW,
    });
    // ok: true
    expect(result).toMatchObject({ ok: false, code: 'SelfApproval' });
  });
});

describe('F4: the gate never crosses overBytes/overImages', () => {
  it('removes a failing image without a request when approval.required is {overBytes: "1 MiB"}', async () => {
    const h = gateHarness(
      basicScan([{ name: 'CVE-2024-0001', severity: 'CRITICAL', packageName: 'openssl' }]),
    );
    const world = approvalWorld();
    const steward = validateConfig({
      mode: 'enforce',
      selections: [{ repositories: ['services/*'], lifecyclePolicy: 'fromRepository' }],
      governance: { approval: { required: { overBytes: '1 MiB' }, approvers: [OPS_ROLE] } },
    });
    const p = {
      ...h.ports,
      governance: (s: Parameters<typeof effectiveGovernance>[1]) =>
        effectiveGovernance(steward.governance, s),
      deletes: { ...h.ports.deletes, approvals: world.ports },
    };
    // The image is, say, 4 GiB: the gate never reads its size (candidate sizeBytes: 0).
    await judgeImage(gateConfig({ onFail: { remove: { enabled: true } } }), gateImage(), 'e-1', NOW, p, {
      mode: 'enforce',
    });
    expect(h.deleteCalls).toEqual([]);
    expect(world.requests.all()).toHaveLength(1);
  });
});

describe('F5: audit events lost when the write after the state change fails', () => {
  it('an expiry whose expire event fails is never audited', async () => {
    const world = approvalWorld();
    await world.requests.create(pendingRequest());
    let fail = true;
    const ports = {
      ...world.ports,
      recordEvent: async (e: Parameters<typeof world.ports.recordEvent>[0]) => {
        if (fail) {
          fail = false;
          throw new Error('ThrottlingException');
        }
        world.events.push(e);
      },
    };
    const later = new Date(NOW.getTime() + 100 * HOUR_MS);
    await expect(expireRequests(later, ports)).rejects.toThrow();
    await expireRequests(new Date(later.getTime() + 15 * 60_000), ports);
    expect(world.requests.all()[0]?.state).toBe('EXPIRED');
    // no expire event, ever; nor the notice to the teams.
    expect(world.events.map((e) => e.action)).toContain('expire');
  });
});

describe('F6: the guard trusts a bare state=APPROVED', () => {
  it('deletes for a request whose item says APPROVED but carries no decision (edited in the table)', async () => {
    const f = ports();
    const req = pendingRequest({
      repository: 'team/app',
      state: 'APPROVED',
      images: [{ digest: digestOf('a'), tags: [], sizeBytes: 10, reason: 'x' }],
    });
    await f.world.requests.create(req);
    await runDeletion(
      run({
        candidates: [cand('a')],
        open: [
          {
            digest: digestOf('a'),
            status: 'SCHEDULED',
            tags: [],
            dueAt: NOW.toISOString(),
            requestId: req.id,
            actor: { rulePriority: 1 },
          },
        ],
      }),
      f.p,
    );
    // an APPROVED item without a decision by a matching approver is honoured.
    expect(f.deleted).toEqual([]);
  });
});

describe('role paths and malformed ids', () => {
  const SSO = `arn:aws:iam::${ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Ops_0123456789abcdef`;
  const SESSION = `arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_Ops_0123456789abcdef/bob@example.com`;

  it('a role pattern with a path matches its sessions (IAM drops the path from session ARNs)', () => {
    const cfg = validateConfig({
      mode: 'enforce',
      selections: [{ repositories: ['team/*'], lifecyclePolicy: keepNewest(1) }],
      governance: { approval: { required: 'always', approvers: [SSO] } },
    });
    expect(cfg.governance.approval.approvers).toEqual([SSO]);
    expect(urlPrincipals([SSO])).toEqual([{ type: 'arn', arn: SSO }]);
    expect(matchingPattern(SESSION, [SSO])).toBe(SSO);
  });

  it('a malformed percent-escape in the id is a 404, not a thrown URIError', async () => {
    const cfg = validateConfig({
      mode: 'enforce',
      selections: [{ repositories: ['team/*'], lifecyclePolicy: keepNewest(1) }],
      governance: { approval: { required: 'always', approvers: [OPS_ROLE] } },
    });
    const w = approvalWorld();
    const ports = {
      ...w.ports,
      registryId: ACCOUNT,
      region: REGION,
      registry: {} as never,
      recordNotice: async () => 0,
      publishNotice: async () => {},
      resetBreaker: async () => {},
    };
    const a = await handleCall(
      cfg,
      { method: 'POST', path: '/requests/%E0%A4%A/approve', query: {}, body: '{}', caller: caller(ARN.ops) },
      ports as never,
      NOW,
    );
    expect(a.status).toBe(404);
  });
});
