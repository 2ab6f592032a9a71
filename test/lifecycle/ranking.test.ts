/**
 * How `imageCountMoreThan` ranks images (plan.ts `youngestFirst`): youngest first by activity time, ties by
 * digest. The planner ranks by one numeric sort when the times allow exact keys and by a comparator otherwise;
 * these properties hold the numbers each image is given to a reference ranking, over times that take either
 * path (whole and fractional milliseconds, ties, -0, spans too wide for exact keys).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Image,
  type LifecyclePolicy,
  planRepository,
  validatePolicyDocument,
} from '../../functions/shared/lifecycle/index.js';
import { NOW } from './helpers.js';

const RUNS = { numRuns: 300, seed: 20261206 } as const;

/** The furthest a Date reaches, so every time can be printed as `pushedAt`. */
const MAX_MS = 8.64e15;

const timeArb = fc.oneof(
  // Few distinct values: many ties, broken by digest.
  fc.integer({ min: 0, max: 3 }).map((d) => NOW.getTime() - d * 1000),
  fc.integer({ min: -MAX_MS, max: MAX_MS }),
  fc.double({ min: -MAX_MS, max: MAX_MS, noNaN: true }),
  fc.constantFrom(0, -0, 0.5, -0.5, MAX_MS, -MAX_MS),
);

const imagesArb: fc.Arbitrary<Image[]> = fc
  .uniqueArray(fc.stringMatching(/^[0-9a-f]{1,4}$/), { minLength: 1, maxLength: 40 })
  .chain((names) =>
    fc.tuple(
      fc.constant(names),
      fc.array(timeArb, { minLength: names.length, maxLength: names.length }),
      fc.array(fc.option(timeArb, { nil: undefined, freq: 4 }), {
        minLength: names.length,
        maxLength: names.length,
      }),
    ),
  )
  .map(([names, pushed, activated]) =>
    names.map((name, k) => ({
      digest: `sha256:${name}`,
      tags: [],
      pushedAt: pushed[k]!,
      sizeBytes: 1,
      status: 'ACTIVE' as const,
      lastActivatedAt: activated[k],
    })),
  );

function countPolicy(count: number): LifecyclePolicy {
  const result = validatePolicyDocument({
    rules: [
      {
        rulePriority: 1,
        selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: count },
        action: { type: 'expire' },
      },
    ],
  });
  if (!result.valid) throw new Error(JSON.stringify(result.errors));
  return result.policy;
}

/** The reference: the comparator the planner's ranking must agree with, on a stable sort. */
function referenceRanks(images: readonly Image[]): Map<string, number> {
  const time = (i: Image): number => i.lastActivatedAt ?? i.pushedAt;
  const ranked = [...images].sort((a, b) => {
    const [x, y] = [time(a), time(b)];
    if (y > x) return 1;
    if (y < x) return -1;
    return a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0;
  });
  return new Map(ranked.map((image, r) => [image.digest, r + 1]));
}

describe('imageCountMoreThan ranking', () => {
  it('numbers every image as a stable sort youngest first, ties by digest, would, and expires those past the count', () => {
    fc.assert(
      fc.property(imagesArb, fc.integer({ min: 1, max: 10 }), (images, count) => {
        // Act
        const plan = planRepository({ repository: 'r', policy: countPolicy(count), images, now: NOW });

        // Assess
        const expected = referenceRanks(images);
        for (const d of plan.decisions) {
          const rank = expected.get(d.imageDigest)!;
          const number = /this is number (\d+)/.exec(d.reasons[0] ?? '')?.[1];
          expect(Number(number)).toBe(rank);
          expect(d.action).toBe(rank > count ? 'expire' : 'keep');
        }
      }),
      RUNS,
    );
  });
});
