import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AnswerInput,
  answer,
  approvalNeeded,
  expire,
  requestsByDigest,
  stateAt,
} from '../../functions/shared/approvals/decide.js';
import type { DeletionRequestRecord } from '../../functions/shared/approvals/model.js';
import { matchingPattern, sameParty } from '../../functions/shared/approvals/principals.js';
import { ARN, caller, HOUR_MS, OPS_ROLE, pendingRequest, SOURCE_IP, USER_AGENT } from './support.js';

const GiB = 2 ** 30;
const APPROVERS = [OPS_ROLE, ARN.lead];
const CREATED_MS = Date.parse(pendingRequest().createdAt);
const at = (hours: number) => new Date(CREATED_MS + hours * HOUR_MS);

const input = (over: Partial<AnswerInput> = {}): AnswerInput => ({
  request: pendingRequest(),
  id: pendingRequest().id,
  action: 'approve',
  caller: caller(ARN.ops),
  approvers: APPROVERS,
  now: at(1),
  ...over,
});

/** Answers and, as the store does, keeps the new state only when it changed a pending request. */
function applied(request: DeletionRequestRecord, over: Partial<AnswerInput>): DeletionRequestRecord {
  const result = answer(input({ request, ...over }));
  if (!result.ok) throw new Error(`${result.code}: ${result.message}`);
  return result.request;
}

describe('approvalNeeded', () => {
  const size = { images: 3, bytes: 60 * GiB, repositoryTags: { env: 'prod', team: 'payments' } };

  it.each([
    ['never', 'never' as const, size, undefined],
    ['always', 'always' as const, size, 'approval.required is "always"'],
    ['always, with nothing to delete', 'always' as const, { images: 0, bytes: 0 }, undefined],
    ['overImages, crossed', { overImages: 2 }, size, '3 images, over 2'],
    ['overImages, reached but not crossed', { overImages: 3 }, size, undefined],
    ['overBytes, crossed', { overBytes: 50 * GiB }, size, '60.0 GiB, over 50.0 GiB'],
    ['overBytes, not crossed', { overBytes: 60 * GiB }, size, undefined],
    ['repositoryTags, all present', { repositoryTags: { env: 'prod' } }, size, 'repository tagged env=prod'],
    ['repositoryTags, one differs', { repositoryTags: { env: 'prod', team: 'search' } }, size, undefined],
    [
      'repositoryTags, tags not read',
      { repositoryTags: { env: 'prod' } },
      { images: 3, bytes: 0 },
      undefined,
    ],
    [
      'every threshold, each one crossed',
      { overImages: 2, overBytes: 1000, repositoryTags: { env: 'prod', team: 'payments' } },
      { images: 3, bytes: 5000, repositoryTags: { env: 'prod', team: 'payments' } },
      '3 images, over 2; 4.88 KiB, over 1000 B; repository tagged env=prod, team=payments',
    ],
    [
      'every threshold, only the bytes crossed',
      { overImages: 5, overBytes: 1000, repositoryTags: { env: 'dev' } },
      { images: 3, bytes: 5000, repositoryTags: { env: 'prod' } },
      '4.88 KiB, over 1000 B',
    ],
  ])('answers for %s', (_what, required, weighed, expected) => {
    expect(approvalNeeded(required, weighed)).toBe(expected);
  });
});

describe('answer', () => {
  it('refuses an unknown request with NotFound', () => {
    expect(answer(input({ request: undefined, id: 'req-20260601T120000-zzzzzz' }))).toEqual({
      ok: false,
      code: 'NotFound',
      message: 'no request req-20260601T120000-zzzzzz',
    });
  });

  it('refuses a caller the approvers do not include with NotAnApprover, for approve and reject alike', () => {
    for (const action of ['approve', 'reject'] as const)
      expect(answer(input({ action, caller: caller(ARN.mallory), reason: 'no' }))).toEqual({
        ok: false,
        code: 'NotAnApprover',
        message: `${ARN.mallory} may not ${action} req-20260601T120000-abcdef: it matches none of the approvers (${OPS_ROLE}, ${ARN.lead})`,
      });
  });

  it('says when no approver is configured at all', () => {
    const result = answer(input({ approvers: [] }));
    expect(result).toMatchObject({ ok: false, code: 'NotAnApprover' });
    expect(!result.ok && result.message).toBe(
      `${ARN.ops} may not approve req-20260601T120000-abcdef: it matches none of the approvers (none configured)`,
    );
  });

  it('refuses the requester approving their own request with SelfApproval, even when they are an approver', () => {
    expect(answer(input({ caller: caller(ARN.alice), approvers: [...APPROVERS, ARN.alice] }))).toEqual({
      ok: false,
      code: 'SelfApproval',
      message: `${ARN.alice} asked for req-20260601T120000-abcdef and may not approve it: another approver must (separation of duties)`,
    });
  });

  it('refuses a requester who is no approver with NotAnApprover before SelfApproval (membership is checked first)', () => {
    expect(answer(input({ caller: caller(ARN.alice) }))).toMatchObject({ ok: false, code: 'NotAnApprover' });
  });

  it('refuses another session of the role that asked with SelfApproval', () => {
    // Prepare: the night shift's session asked; the day shift's session of the same role tries to approve.
    const request = pendingRequest({ requester: { type: 'principal', arn: ARN.opsNight } });

    // Act
    const result = answer(input({ request, caller: caller(ARN.ops) }));

    // Assess
    expect(result).toMatchObject({ ok: false, code: 'SelfApproval' });
  });

  it('lets the requester withdraw (reject) their own request, though they are no approver', () => {
    // Act
    const result = answer(input({ action: 'reject', caller: caller(ARN.alice) }));

    // Assess
    expect(result).toEqual({
      ok: true,
      changed: true,
      request: {
        ...pendingRequest(),
        state: 'REJECTED',
        decision: {
          action: 'reject',
          by: ARN.alice,
          at: at(1).toISOString(),
          reason: 'withdrawn by the requester',
          sourceIp: SOURCE_IP,
          userAgent: USER_AGENT,
        },
      },
    });
  });

  it('approves a pending request with the whole decision: action, by, at, comment, source IP and user agent', () => {
    // Act
    const result = answer(input({ comment: 'checked with the team' }));

    // Assess
    expect(result).toEqual({
      ok: true,
      changed: true,
      request: {
        ...pendingRequest(),
        state: 'APPROVED',
        decision: {
          action: 'approve',
          by: ARN.ops,
          at: at(1).toISOString(),
          comment: 'checked with the team',
          sourceIp: SOURCE_IP,
          userAgent: USER_AGENT,
        },
      },
    });
  });

  it('rejects a pending request with the reason given', () => {
    const result = answer(
      input({ action: 'reject', caller: caller(ARN.lead), reason: 'still in use by batch' }),
    );
    expect(result).toMatchObject({
      ok: true,
      changed: true,
      request: {
        state: 'REJECTED',
        decision: { action: 'reject', by: ARN.lead, reason: 'still in use by batch' },
      },
    });
  });

  it('answers an approval again with changed:false and the request untouched, by the same or another approver', () => {
    // Prepare
    const approved = applied(pendingRequest(), {});

    // Act
    const same = answer(input({ request: approved, now: at(2) }));
    const other = answer(input({ request: approved, caller: caller(ARN.lead), now: at(3) }));

    // Assess
    expect(same).toEqual({ ok: true, changed: false, request: approved });
    expect(other).toEqual({ ok: true, changed: false, request: approved });
  });

  it('refuses a rejection after an approval, and an approval after a rejection, with AlreadyDecided', () => {
    // Prepare
    const approved = applied(pendingRequest(), {});
    const rejected = applied(pendingRequest(), { action: 'reject', reason: 'no' });

    // Act, Assess
    expect(
      answer(input({ request: approved, action: 'reject', caller: caller(ARN.lead), reason: 'x' })),
    ).toEqual({
      ok: false,
      code: 'AlreadyDecided',
      message: `req-20260601T120000-abcdef is already APPROVED (by ${ARN.ops} at ${at(1).toISOString()})`,
    });
    expect(answer(input({ request: rejected, caller: caller(ARN.lead) }))).toEqual({
      ok: false,
      code: 'AlreadyDecided',
      message: `req-20260601T120000-abcdef is already REJECTED (by ${ARN.ops} at ${at(1).toISOString()})`,
    });
  });

  it('refuses an approval once the request is past its expiry, though the item still says PENDING_APPROVAL', () => {
    for (const hours of [72, 100])
      expect(answer(input({ now: at(hours) }))).toEqual({
        ok: false,
        code: 'Expired',
        message: `req-20260601T120000-abcdef expired unanswered at ${at(72).toISOString()}; its images are kept (a later run asks again if it still plans them)`,
      });
    expect(answer(input({ now: new Date(at(72).getTime() - 1) }))).toMatchObject({ ok: true, changed: true });
  });

  it('refuses a rejection of an expired request with Expired too', () => {
    const expired = expire(pendingRequest(), at(72))!;
    expect(answer(input({ request: expired, action: 'reject', reason: 'late', now: at(73) }))).toMatchObject({
      ok: false,
      code: 'Expired',
    });
  });

  it('lets a request of ECR Steward itself be approved by any approver (nobody is its requester)', () => {
    const planned = pendingRequest({ requester: { type: 'ecr-steward', runId: 'run-1' } });
    expect(answer(input({ request: planned, caller: caller(ARN.opsNight) }))).toMatchObject({
      ok: true,
      changed: true,
      request: { state: 'APPROVED' },
    });
  });

  it('never approves except by an approver who is not the requester, and a decided request never changes, for any calls', () => {
    const who = fc.constantFrom(ARN.alice, ARN.lead, ARN.mallory, ARN.ops, ARN.opsNight);
    const call = fc.record({
      by: who,
      action: fc.constantFrom('approve' as const, 'reject' as const),
      hours: fc.integer({ min: 0, max: 100 }),
      reason: fc.option(fc.constantFrom('no', 'later'), { nil: undefined }),
    });
    fc.assert(
      fc.property(who, fc.array(call, { maxLength: 12 }), (requester, calls) => {
        let request = pendingRequest({ requester: { type: 'principal', arn: requester } });
        for (const c of calls) {
          const before = request;
          const result = answer(
            input({ request, caller: caller(c.by), action: c.action, now: at(c.hours), reason: c.reason }),
          );
          // As the store: an answer is kept only when it changes a request still PENDING_APPROVAL.
          if (result.ok && result.changed) {
            expect(before.state).toBe('PENDING_APPROVAL');
            request = result.request;
          }
          if (request.state === 'APPROVED' && before.state !== 'APPROVED') {
            expect(c.action).toBe('approve');
            expect(matchingPattern(c.by, APPROVERS)).toBeDefined();
            expect(sameParty(c.by, requester)).toBe(false);
            expect(c.hours).toBeLessThan(72);
          }
          if (before.state !== 'PENDING_APPROVAL') expect(request).toBe(before);
          if (!result.ok) expect(request).toBe(before);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('expire', () => {
  it('expires a pending request at its expiry instant, by ecr-steward, and says why', () => {
    expect(expire(pendingRequest(), at(72))).toEqual({
      ...pendingRequest(),
      state: 'EXPIRED',
      decision: {
        action: 'expire',
        by: 'ecr-steward',
        at: at(72).toISOString(),
        reason: `nobody answered before ${at(72).toISOString()}`,
      },
    });
  });

  it('leaves a request not yet due, or already answered, alone', () => {
    expect(expire(pendingRequest(), new Date(at(72).getTime() - 1))).toBeUndefined();
    const approved = applied(pendingRequest(), {});
    expect(expire(approved, at(100))).toBeUndefined();
  });
});

describe('stateAt / requestsByDigest', () => {
  it('reads a pending request past its expiry as EXPIRED, and an answered one as it is', () => {
    const expiresAt = at(72).getTime();
    expect(stateAt({ state: 'PENDING_APPROVAL', expiresAt }, expiresAt - 1)).toBe('PENDING_APPROVAL');
    expect(stateAt({ state: 'PENDING_APPROVAL', expiresAt }, expiresAt)).toBe('EXPIRED');
    expect(stateAt({ state: 'APPROVED', expiresAt }, expiresAt + HOUR_MS)).toBe('APPROVED');
    expect(stateAt({ state: 'REJECTED', expiresAt }, expiresAt + HOUR_MS)).toBe('REJECTED');
  });

  it('gives each digest the newest delete request that lists it, and ignores breaker resets', () => {
    // Prepare
    const a = `sha256:${'a'.repeat(64)}`;
    const b = `sha256:${'b'.repeat(64)}`;
    const older = pendingRequest({ id: 'req-20260601T120000-aaaaaa', state: 'REJECTED' });
    const newer = pendingRequest({
      id: 'req-20260602T120000-bbbbbb',
      createdAt: at(24).toISOString(),
      images: [{ digest: a, tags: [], sizeBytes: 1, reason: 'again' }],
    });
    const reset = pendingRequest({
      id: 'req-20260603T120000-cccccc',
      kind: 'breaker-reset',
      createdAt: at(48).toISOString(),
      scope: 'registry',
    });

    // Act
    const byDigest = requestsByDigest([reset, older, newer]);

    // Assess
    expect([...byDigest.keys()].sort()).toEqual([a, b]);
    expect(byDigest.get(a)).toEqual({
      id: newer.id,
      state: 'PENDING_APPROVAL',
      createdAt: at(24).getTime(),
      expiresAt: at(72).getTime(),
      decidedAt: undefined,
    });
    expect(byDigest.get(b)).toMatchObject({ id: older.id, state: 'REJECTED' });
  });
});
