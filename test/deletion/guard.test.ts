import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DELETION_CALLERS,
  type GuardCandidate,
  type GuardContext,
  guard,
} from '../../functions/shared/deletion/guard.js';
import { holdInForce, holdOn } from '../../functions/shared/deletion/holds.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const DAY = 86_400_000;
const digest = (n: number | string) => `sha256:${String(n).padStart(64, '0')}`;

const context = (over: Partial<GuardContext> = {}): GuardContext => ({
  caller: 'lifecycle',
  mode: 'enforce',
  managed: {},
  inUse: { digests: new Map(), tags: new Map() },
  allowance: 100,
  now: NOW,
  ...over,
});
const candidate = (n: number, over: Partial<GuardCandidate> = {}): GuardCandidate => ({
  digest: digest(n),
  tags: [`t${n}`],
  pushedAt: NOW - 30 * DAY,
  ...over,
});

describe('guard', () => {
  it('deletes in enforce mode and plans in dry-run mode when nothing objects', () => {
    // Act
    const enforce = guard([candidate(1)], context());
    const dryRun = guard([candidate(1)], context({ mode: 'dry-run', caller: 'gate-removal' }));

    // Assess
    expect(enforce).toEqual([{ digest: digest(1), action: 'delete', reason: 'lifecycle: may be deleted' }]);
    expect(dryRun).toEqual([
      { digest: digest(1), action: 'plan', reason: 'dry-run: gate-removal would delete it' },
    ]);
  });

  it.each([
    ['not-managed', context({ managed: undefined }), 'not managed: no selection of the config manages it'],
    [
      'hold',
      context({ managed: { holds: [{ tag: 't1', owner: 'sre', reason: 'incident 42' }] } }),
      'held: incident 42 (by sre)',
    ],
    [
      'hold',
      context({
        managed: {
          holds: [{ digest: digest(1), owner: 'audit', reason: 'escrow', expiresAt: '2027-01-01' }],
        },
      }),
      'held: escrow (by audit, until 2027-01-01)',
    ],
    [
      'in-use',
      context({ inUse: { digests: new Map([[digest(1), ['ecs:task/prod/abc']]]) } }),
      'in use by ecs:task/prod/abc',
    ],
    [
      'in-use',
      context({ inUse: { tags: new Map([['t1', ['lambda:fn']]]) } }),
      'in use by lambda:fn (as tag t1)',
    ],
    ['in-use-unavailable', context({ inUse: 'unavailable' }), 'in-use sources could not be read (fail safe)'],
    ['protected-tag', context({ managed: { protectedTags: ['t*'] } }), 'tag t1 is protected (t*)'],
    ['protected-tag', context({ managed: { protectedTags: ['^t\\d$'] } }), 'tag t1 is protected (^t\\d$)'],
    [
      'min-age',
      context({ managed: { minAgeDays: 31 } }),
      'younger than the minimum age of 31 days (30.0 days)',
    ],
    [
      'breaker-open',
      context({ breaker: { scope: 'registry', reason: 'too many deletes' } }),
      'breaker open for registry (too many deletes)',
    ],
    ['bounds', context({ allowance: 0 }), 'over the bounds of this run (0): waits for the next run'],
  ] as const)('keeps the image with code %s when its check objects', (code, ctx, reason) => {
    // Act
    const [decision] = guard([candidate(1)], ctx);

    // Assess
    expect(decision).toEqual({ digest: digest(1), action: 'keep', code, reason });
  });

  it('keeps in dry-run mode too, so a plan shows what enforce would really do', () => {
    const [decision] = guard([candidate(1)], context({ mode: 'dry-run', managed: undefined }));
    expect(decision?.action).toBe('keep');
  });

  it('deletes once a hold has expired, and the expiry instant itself ends it', () => {
    // Prepare
    const hold = { tag: 't1', owner: 'sre', reason: 'x', expiresAt: new Date(NOW).toISOString() };

    // Act
    const [decision] = guard([candidate(1)], context({ managed: { holds: [hold] } }));

    // Assess
    expect(decision?.action).toBe('delete');
    expect(holdInForce(hold, NOW - 1)).toBe(true);
    expect(holdInForce(hold, NOW)).toBe(false);
  });

  it('treats an image without a readable push time as too young for a minimum age', () => {
    const [decision] = guard(
      [candidate(1, { pushedAt: 'not a date' })],
      context({ managed: { minAgeDays: 1 } }),
    );
    expect(decision).toMatchObject({ action: 'keep', code: 'min-age' });
  });

  it('keeps what follows a kept image (an index child, a signature) even when nothing objects to it', () => {
    // Prepare
    const index = candidate(1, { tags: ['t1'] });
    const child = candidate(2, { tags: [], follows: digest(1) });
    const grandchild = candidate(3, { tags: [], follows: digest(2) });

    // Act
    const decisions = guard([index, child, grandchild], context({ managed: { protectedTags: ['t1'] } }));

    // Assess
    expect(decisions.map((d) => [d.action, d.action === 'keep' ? d.code : undefined])).toEqual([
      ['keep', 'protected-tag'],
      ['keep', 'follows-kept'],
      ['keep', 'follows-kept'],
    ]);
    expect(decisions[2]).toMatchObject({ reason: `goes with ${digest(2)}, which is kept` });
  });

  it('takes whole units within the bounds: skips a unit that does not fit and takes later units that do', () => {
    // Prepare
    const a = candidate(1);
    const a1 = candidate(11, { follows: digest(1) });
    const a2 = candidate(12, { follows: digest(1) });
    const b = candidate(2);
    const c = candidate(3);

    // Act
    const decisions = guard([a, b, a1, a2, c], context({ allowance: 2 }));

    // Assess
    expect(decisions.filter((d) => d.action === 'delete').map((d) => d.digest)).toEqual([
      digest(2),
      digest(3),
    ]);
    expect(decisions.filter((d) => d.action === 'keep').map((d) => d.digest)).toEqual([
      digest(1),
      digest(11),
      digest(12),
    ]);
  });

  it('never splits a unit, never exceeds the allowance and keeps the order, for any forest', () => {
    const forest = fc.array(fc.tuple(fc.nat(), fc.boolean(), fc.boolean()), { maxLength: 40 }).map((specs) =>
      specs.map(([parent, hasParent, outside], i) =>
        candidate(i, {
          follows: hasParent && i > 0 ? (outside ? digest('gone') : digest(parent % i)) : undefined,
        }),
      ),
    );
    fc.assert(
      fc.property(forest, fc.nat({ max: 45 }), (candidates, allowance) => {
        const decisions = guard(candidates, context({ allowance }));
        const chosen = new Set(decisions.filter((d) => d.action === 'delete').map((d) => d.digest));
        expect(chosen.size).toBeLessThanOrEqual(allowance);
        expect(decisions.map((d) => d.digest)).toEqual(candidates.map((c) => c.digest));
        const byDigest = new Map(candidates.map((c) => [c.digest, c]));
        const rootOf = (c: GuardCandidate): string => {
          let current = c;
          while (current.follows && byDigest.has(current.follows)) current = byDigest.get(current.follows)!;
          return current.digest;
        };
        for (const c of candidates) expect(chosen.has(c.digest)).toBe(chosen.has(rootOf(c)));
      }),
    );
  });

  it('never lets through an image that is unmanaged, held, in use, protected, too young, under an open breaker or over the bounds, for any caller', () => {
    const tag = fc.constantFrom('latest', 'v1', 'v2', 'prod-1', 'dev', 'x');
    const image = fc.record({
      n: fc.nat({ max: 30 }),
      tags: fc.uniqueArray(tag, { maxLength: 3 }),
      ageDays: fc.double({ min: 0, max: 60, noNaN: true }),
    });
    const scenario = fc.record({
      images: fc.uniqueArray(image, { selector: (i) => i.n, maxLength: 20 }),
      caller: fc.constantFrom(...DELETION_CALLERS),
      mode: fc.constantFrom('dry-run' as const, 'enforce' as const),
      managed: fc.boolean(),
      heldTags: fc.uniqueArray(tag, { maxLength: 2 }),
      heldDigests: fc.uniqueArray(fc.nat({ max: 30 }), { maxLength: 3 }),
      inUseDigests: fc.uniqueArray(fc.nat({ max: 30 }), { maxLength: 3 }),
      inUseTags: fc.uniqueArray(tag, { maxLength: 2 }),
      inUseUnavailable: fc.boolean(),
      protectedTags: fc.uniqueArray(fc.constantFrom('latest', 'prod-*', '^v\\d$'), { maxLength: 2 }),
      minAgeDays: fc.option(fc.integer({ min: 0, max: 45 }), { nil: undefined }),
      breaker: fc.boolean(),
      allowance: fc.nat({ max: 25 }),
    });
    fc.assert(
      fc.property(scenario, (s) => {
        const candidates = s.images.map((i) =>
          candidate(i.n, { tags: i.tags, pushedAt: NOW - i.ageDays * DAY }),
        );
        const holds = [
          ...s.heldTags.map((t) => ({ tag: t, owner: 'o', reason: 'r' })),
          ...s.heldDigests.map((n) => ({ digest: digest(n), owner: 'o', reason: 'r' })),
        ];
        const decisions = guard(
          candidates,
          context({
            caller: s.caller,
            mode: s.mode,
            managed: s.managed
              ? { holds, protectedTags: s.protectedTags, minAgeDays: s.minAgeDays }
              : undefined,
            inUse: s.inUseUnavailable
              ? 'unavailable'
              : {
                  digests: new Map(s.inUseDigests.map((n) => [digest(n), ['ecs']])),
                  tags: new Map(s.inUseTags.map((t) => [t, ['lambda']])),
                },
            breaker: s.breaker ? { scope: 'registry' } : undefined,
            allowance: s.allowance,
          }),
        );
        const passed = decisions.filter((d) => d.action !== 'keep');
        expect(passed.length).toBeLessThanOrEqual(s.allowance);
        for (const d of passed) {
          const img = s.images.find((i) => digest(i.n) === d.digest)!;
          expect(d.action).toBe(s.mode === 'enforce' ? 'delete' : 'plan');
          expect(s.managed).toBe(true);
          expect(s.breaker).toBe(false);
          expect(s.inUseUnavailable).toBe(false);
          expect(holdOn(holds, { digest: d.digest, tags: img.tags }, NOW)).toBeUndefined();
          expect(s.inUseDigests).not.toContain(img.n);
          expect(img.tags.filter((t) => s.inUseTags.includes(t))).toEqual([]);
          expect(img.tags.filter((t) => (s.protectedTags as readonly string[]).includes(t))).toEqual([]);
          if (s.protectedTags.includes('prod-*'))
            expect(img.tags.some((t) => t.startsWith('prod-'))).toBe(false);
          if (s.protectedTags.includes('^v\\d$')) expect(img.tags.some((t) => /^v\d$/.test(t))).toBe(false);
          if (s.minAgeDays !== undefined) expect(img.ageDays).toBeGreaterThanOrEqual(s.minAgeDays);
        }
      }),
      { numRuns: 500 },
    );
  });
});
