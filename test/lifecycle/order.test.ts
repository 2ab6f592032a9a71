/**
 * orderByDigest and findDigest (functions/shared/lifecycle/order.ts) on repositories large enough for the
 * numeric keys (512 images and more), which the planner's tests, on small repositories, never reach: the order
 * must be exactly a stable sort by digest, and a lookup must find the first image of a digest, whatever the
 * digests look like (hexadecimal or not, sharing long prefixes, repeated, with a prefix that stops being
 * common only late in the list).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findDigest, orderByDigest } from '../../functions/shared/lifecycle/order.js';
import type { Image } from '../../functions/shared/lifecycle/types.js';

const RUNS = { numRuns: 60, seed: 20261206 } as const;

const image = (digest: string): Image => ({
  digest,
  tags: [],
  pushedAt: 0,
  sizeBytes: 0,
  status: 'ACTIVE',
});

const hex = fc.stringMatching(/^[0-9a-f]{0,12}$/);
const digestArb = fc.oneof(
  { weight: 6, arbitrary: hex.map((h) => `sha256:${h}`) },
  { weight: 2, arbitrary: hex.map((h) => `sha256:00${h}`) },
  { weight: 1, arbitrary: fc.stringMatching(/^sha256:[0-9a-fA-Fg-z]{0,6}$/) },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);

/** Lists of at least 512 digests: random ones, with repeats, in one of several arrangements. */
const listArb: fc.Arbitrary<string[]> = fc
  .tuple(
    fc.array(digestArb, { minLength: 520, maxLength: 900 }),
    fc.constantFrom('as is', 'all hex', 'late break', 'repeats'),
    fc.stringMatching(/^[0-9a-f]{1,4}$/),
  )
  .map(([list, arrangement, h]) => {
    if (arrangement === 'all hex') return list.map((d, k) => `sha256:${k.toString(16)}${d.length % 7}`);
    // Every digest shares a long prefix until one, far down the list, does not.
    if (arrangement === 'late break')
      return list.map((_d, k) =>
        k === 400 ? `sha256:${h}` : `sha256:ffff${k.toString(16).padStart(4, '0')}`,
      );
    if (arrangement === 'repeats')
      return list.map((d, k) => (k % 3 === 0 ? list[(k * 7) % list.length]! : d));
    return list;
  });

describe('orderByDigest', () => {
  it('orders as a stable sort by digest and finds the first image of every digest', () => {
    fc.assert(
      fc.property(listArb, fc.array(digestArb, { maxLength: 30 }), (digests, probes) => {
        // Act
        const order = orderByDigest(digests.map(image));

        // Assess
        const expected = digests
          .map((digest, k) => ({ digest, k }))
          .sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : a.k - b.k));
        expect(order.images.map((i) => i.digest)).toEqual(expected.map((e) => e.digest));
        expect(Array.from(order.positionOf)).toEqual(
          digests.map((_, k) => expected.findIndex((e) => e.k === k)),
        );
        const firstOf = new Map<string, number>();
        expected.forEach((e, i) => {
          if (!firstOf.has(e.digest)) firstOf.set(e.digest, i);
        });
        expect(Array.from(order.idOf)).toEqual(expected.map((e) => firstOf.get(e.digest)));
        for (const digest of [...digests.slice(0, 50), ...probes])
          expect(findDigest(order, digest)).toBe(firstOf.get(digest) ?? -1);
      }),
      RUNS,
    );
  });
});
