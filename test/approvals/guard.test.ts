import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RequestView } from '../../functions/shared/approvals/decide.js';
import type { RequestState } from '../../functions/shared/approvals/model.js';
import {
  type GuardApproval,
  type GuardCandidate,
  type GuardContext,
  guard,
} from '../../functions/shared/deletion/guard.js';
import { HOUR_MS } from './support.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const DAY = 86_400_000;
const COOLDOWN = 72 * HOUR_MS;
const digest = (n: number) => `sha256:${String(n).padStart(64, '0')}`;
const iso = (ms: number) => new Date(ms).toISOString();

const candidate = (n: number, over: Partial<GuardCandidate> = {}): GuardCandidate => ({
  digest: digest(n),
  tags: [`t${n}`],
  pushedAt: NOW - 30 * DAY,
  ...over,
});

const view = (state: RequestState, over: Partial<RequestView> = {}): RequestView => ({
  id: 'req-20260601T100000-abcdef',
  state,
  createdAt: NOW - 2 * HOUR_MS,
  expiresAt: NOW + 70 * HOUR_MS,
  ...(state === 'PENDING_APPROVAL' ? {} : { decidedAt: NOW - HOUR_MS }),
  ...over,
});

const approval = (over: Partial<GuardApproval> = {}): GuardApproval => ({
  requests: new Map(),
  cooldownMs: COOLDOWN,
  ...over,
});

/** A lifecycle run in enforce mode with a 24-hour notice; image 1 was noticed (due `dueIn` from now). */
const context = (a: GuardApproval, over: Partial<GuardContext> = {}, dueIn?: number): GuardContext => ({
  caller: 'lifecycle',
  mode: 'enforce',
  managed: {},
  inUse: { digests: new Map(), tags: new Map() },
  allowance: 100,
  now: NOW,
  notice: { hours: 24, scheduled: new Map(dueIn === undefined ? [] : [[digest(1), NOW + dueIn]]) },
  approval: a,
  ...over,
});

const withRequest = (state: RequestState, over: Partial<RequestView> = {}) =>
  approval({ requests: new Map([[digest(1), view(state, over)]]) });

describe('guard with approvals', () => {
  it('keeps an image whose request is pending, saying until when it waits', () => {
    // Act
    const [decision] = guard([candidate(1)], context(withRequest('PENDING_APPROVAL'), {}, -HOUR_MS));

    // Assess
    expect(decision).toEqual({
      digest: digest(1),
      action: 'keep',
      code: 'awaiting-approval',
      reason: `awaiting approval of req-20260601T100000-abcdef (until ${iso(NOW + 70 * HOUR_MS)})`,
    });
  });

  it.each([
    ['REJECTED', withRequest('REJECTED'), 'request req-20260601T100000-abcdef was rejected: kept'],
    ['EXPIRED', withRequest('EXPIRED'), 'request req-20260601T100000-abcdef expired unanswered: kept'],
    [
      'PENDING_APPROVAL past its expiry (not yet marked)',
      withRequest('PENDING_APPROVAL', { expiresAt: NOW }),
      'request req-20260601T100000-abcdef expired unanswered: kept',
    ],
  ])('keeps an image whose request is %s with approval-refused', (_state, a, reason) => {
    const [decision] = guard([candidate(1)], context(a, {}, -HOUR_MS));
    expect(decision).toEqual({ digest: digest(1), action: 'keep', code: 'approval-refused', reason });
  });

  it('deletes an image whose request is APPROVED once its notice is due', () => {
    const [decision] = guard([candidate(1)], context(withRequest('APPROVED'), {}, 0));
    expect(decision).toEqual({ digest: digest(1), action: 'delete', reason: 'lifecycle: may be deleted' });
  });

  it('archives instead with soft delete, once approved and due', () => {
    const [decision] = guard([candidate(1)], context(withRequest('APPROVED'), { softDelete: 'archive' }, 0));
    expect(decision).toEqual({
      digest: digest(1),
      action: 'archive',
      reason: 'lifecycle: may be archived (soft delete)',
    });
  });

  it('keeps an APPROVED image whose notice is not due yet (notice-pending)', () => {
    const [decision] = guard([candidate(1)], context(withRequest('APPROVED'), {}, HOUR_MS));
    expect(decision).toEqual({
      digest: digest(1),
      action: 'keep',
      code: 'notice-pending',
      reason: `notice given: due at ${iso(NOW + HOUR_MS)}`,
    });
  });

  it('schedules an image with no request with ask, due a notice period from now, when approval is needed', () => {
    // Act
    const [decision] = guard([candidate(1)], context(approval({ needed: '8 images, over 5' })));

    // Assess
    expect(decision).toEqual({
      digest: digest(1),
      action: 'schedule',
      dueAt: NOW + 24 * HOUR_MS,
      ask: true,
      reason: `approval needed (8 images, over 5): asked; lifecycle may delete it at ${iso(NOW + 24 * HOUR_MS)} at the earliest, once approved`,
    });
  });

  it('asks for an image already noticed without a request, keeping the due time of its notice', () => {
    // Act: noticed 30 hours ago (due 6 hours ago), no request yet.
    const [decision] = guard(
      [candidate(1)],
      context(approval({ needed: 'approval.required is "always"' }), {}, -6 * HOUR_MS),
    );

    // Assess
    expect(decision).toMatchObject({ action: 'schedule', ask: true, dueAt: NOW - 6 * HOUR_MS });
  });

  it('asks with the due time now when there is no notice period, and says archive with soft delete', () => {
    const [decision] = guard(
      [candidate(1)],
      context(approval({ needed: 'always' }), { notice: undefined, softDelete: 'archive', caller: 'manual' }),
    );
    expect(decision).toEqual({
      digest: digest(1),
      action: 'schedule',
      dueAt: NOW,
      ask: true,
      reason: `approval needed (always): asked; manual may archive it at ${iso(NOW)} at the earliest, once approved`,
    });
  });

  it('keeps an image refused lately until the cooldown ends, then asks again', () => {
    // Prepare: rejected an hour ago.
    const refused = approval({
      needed: 'approval.required is "always"',
      refused: new Map([[digest(1), view('REJECTED')]]),
    });
    const until = NOW - HOUR_MS + COOLDOWN;

    // Act
    const [within] = guard([candidate(1)], context(refused));
    const [after] = guard([candidate(1)], context(refused, { now: until }));

    // Assess
    expect(within).toEqual({
      digest: digest(1),
      action: 'keep',
      code: 'approval-refused',
      reason: `request req-20260601T100000-abcdef was rejected: kept, not asked again before ${iso(until)}`,
    });
    expect(after).toMatchObject({ action: 'schedule', ask: true, dueAt: until + 24 * HOUR_MS });
  });

  it('counts the cooldown of an expiry never marked from its expiry time', () => {
    // Prepare: pending, expired 2 hours ago, never marked EXPIRED (no decision time).
    const refused = approval({
      needed: 'always',
      refused: new Map([[digest(1), view('PENDING_APPROVAL', { expiresAt: NOW - 2 * HOUR_MS })]]),
    });

    // Act
    const [decision] = guard([candidate(1)], context(refused));

    // Assess
    expect(decision).toEqual({
      digest: digest(1),
      action: 'keep',
      code: 'approval-refused',
      reason: `request req-20260601T100000-abcdef expired unanswered: kept, not asked again before ${iso(NOW - 2 * HOUR_MS + COOLDOWN)}`,
    });
  });

  it('keeps an image refused lately even when this run needs no approval', () => {
    const [decision] = guard(
      [candidate(1)],
      context(approval({ refused: new Map([[digest(1), view('EXPIRED')]]) })),
    );
    expect(decision).toMatchObject({ action: 'keep', code: 'approval-refused' });
  });

  it('gives an ordinary notice (no ask) when no approval is needed and the image has no request', () => {
    const [decision] = guard([candidate(1)], context(approval()));
    expect(decision).toEqual({
      digest: digest(1),
      action: 'schedule',
      dueAt: NOW + 24 * HOUR_MS,
      reason: `notice given: lifecycle may delete it at ${iso(NOW + 24 * HOUR_MS)}`,
    });
  });

  it('keeps an approved image under a hold: the hold comes first', () => {
    const [decision] = guard(
      [candidate(1)],
      context(
        withRequest('APPROVED'),
        { managed: { holds: [{ tag: 't1', reason: 'incident 7', owner: 'sre' }] } },
        0,
      ),
    );
    expect(decision).toEqual({
      digest: digest(1),
      action: 'keep',
      code: 'hold',
      reason: 'held: incident 7 (by sre)',
    });
  });

  it('keeps an approved, due image under an open breaker', () => {
    const [decision] = guard(
      [candidate(1)],
      context(withRequest('APPROVED'), { breaker: { scope: 'registry' } }, 0),
    );
    expect(decision).toMatchObject({ action: 'keep', code: 'breaker-open' });
  });

  it('ignores approvals in a dry run (it plans) and in a purge (it deletes what was archived)', () => {
    // Prepare
    const pending = withRequest('PENDING_APPROVAL');
    const needed = approval({ needed: 'always' });

    // Act
    const dry = guard([candidate(1)], context(pending, { mode: 'dry-run' }, HOUR_MS));
    const dryAsk = guard([candidate(1)], context(needed, { mode: 'dry-run' }));
    const purge = guard([candidate(1)], context(pending, { caller: 'purge' }, HOUR_MS));
    const purgeAsk = guard([candidate(1)], context(needed, { caller: 'purge' }));

    // Assess
    expect(dry).toEqual([
      { digest: digest(1), action: 'plan', reason: 'dry-run: lifecycle would delete it' },
    ]);
    expect(dryAsk).toEqual([
      { digest: digest(1), action: 'plan', reason: 'dry-run: lifecycle would delete it' },
    ]);
    expect(purge).toEqual([{ digest: digest(1), action: 'delete', reason: 'purge: may be deleted' }]);
    expect(purgeAsk).toEqual([{ digest: digest(1), action: 'delete', reason: 'purge: may be deleted' }]);
  });

  it('keeps what follows an image awaiting approval (an index child goes with its index)', () => {
    // Prepare: the index waits for its request; its child has none (it was never asked for alone).
    const a = approval({ requests: new Map([[digest(1), view('PENDING_APPROVAL')]]) });
    const ctx = context(a, {
      notice: {
        hours: 24,
        scheduled: new Map([
          [digest(1), NOW - HOUR_MS],
          [digest(2), NOW - HOUR_MS],
        ]),
      },
    });

    // Act
    const decisions = guard([candidate(1), candidate(2, { follows: digest(1) })], ctx);

    // Assess
    expect(decisions.map((d) => [d.action, d.action === 'keep' ? d.code : undefined])).toEqual([
      ['keep', 'awaiting-approval'],
      ['keep', 'follows-kept'],
    ]);
  });

  it('never deletes or archives an image whose request is not APPROVED, nor one without a request when approval is needed', () => {
    const state = fc.constantFrom<RequestState | 'none'>(
      'none',
      'PENDING_APPROVAL',
      'APPROVED',
      'REJECTED',
      'EXPIRED',
    );
    const image = fc.record({
      n: fc.nat({ max: 20 }),
      state,
      expiresIn: fc.integer({ min: -100, max: 100 }),
      noticed: fc.option(fc.integer({ min: -48, max: 48 }), { nil: undefined }),
      refusedHoursAgo: fc.option(fc.integer({ min: 0, max: 200 }), { nil: undefined }),
      follows: fc.option(fc.nat({ max: 20 }), { nil: undefined }),
    });
    const scenario = fc.record({
      images: fc.uniqueArray(image, { selector: (i) => i.n, maxLength: 15 }),
      needed: fc.boolean(),
      caller: fc.constantFrom(
        'lifecycle' as const,
        'due-deletion' as const,
        'manual' as const,
        'gate-removal' as const,
      ),
      hours: fc.integer({ min: 0, max: 48 }),
      softDelete: fc.constantFrom('archive' as const, 'off' as const),
      allowance: fc.nat({ max: 20 }),
    });
    fc.assert(
      fc.property(scenario, (s) => {
        const requests = new Map<string, RequestView>();
        const refused = new Map<string, RequestView>();
        const scheduled = new Map<string, number>();
        for (const i of s.images) {
          if (i.state !== 'none')
            requests.set(digest(i.n), view(i.state, { expiresAt: NOW + i.expiresIn * HOUR_MS }));
          if (i.noticed !== undefined) scheduled.set(digest(i.n), NOW + i.noticed * HOUR_MS);
          if (i.refusedHoursAgo !== undefined)
            refused.set(digest(i.n), view('REJECTED', { decidedAt: NOW - i.refusedHoursAgo * HOUR_MS }));
        }
        const candidates = s.images.map((i) =>
          candidate(i.n, {
            follows: i.follows !== undefined && i.follows !== i.n ? digest(i.follows) : undefined,
          }),
        );
        const decisions = guard(candidates, {
          caller: s.caller,
          mode: 'enforce',
          managed: {},
          inUse: { digests: new Map(), tags: new Map() },
          allowance: s.allowance,
          now: NOW,
          notice: { hours: s.hours, scheduled },
          softDelete: s.softDelete,
          approval: { requests, refused, cooldownMs: COOLDOWN, needed: s.needed ? 'always' : undefined },
        });
        for (const d of decisions) {
          if (d.action !== 'delete' && d.action !== 'archive') continue;
          const request = requests.get(d.digest);
          if (request) {
            expect(request.state).toBe('APPROVED');
          } else {
            expect(s.needed).toBe(false);
            // A refusal within its cooldown keeps the image even when no approval is needed now.
            const r = refused.get(d.digest);
            if (r) expect(NOW).toBeGreaterThanOrEqual(r.decidedAt! + COOLDOWN);
          }
          // A notice period is never skipped: a due notice was given.
          if (s.hours > 0) expect(scheduled.get(d.digest)).toBeLessThanOrEqual(NOW);
        }
        for (const d of decisions)
          if (d.action === 'schedule' && d.ask) expect(requests.has(d.digest)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});
