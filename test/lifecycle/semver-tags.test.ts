/**
 * keepSemver reads an image's release from its tags with `semver.parse`, but skips the tags it can tell will not
 * parse without calling it (plan.ts MAY_BE_SEMVER and SEMVER_FULL). This property holds the releases kept to a
 * reference that calls `semver.parse` on every tag, over tags that almost parse: two-part versions, leading
 * zeros, "v", "=" and spaces, pre-releases, build metadata, numbers past the safe integers, stray letters.
 */
import fc from 'fast-check';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import {
  DAY_MS,
  type Image,
  type LifecyclePolicy,
  planRepository,
  validatePolicyDocument,
} from '../../functions/shared/lifecycle/index.js';
import { NOW } from './helpers.js';

const RUNS = { numRuns: 300, seed: 20261206 } as const;

const numberPart = fc.oneof(
  fc.integer({ min: 0, max: 20 }).map(String),
  fc.constantFrom('00', '01', '9007199254740993', ''),
);
const tagArb = fc
  .tuple(
    fc.constantFrom('', 'v', 'V', '=', ' ', ' v', 'vv'),
    fc.array(numberPart, { minLength: 1, maxLength: 4 }),
    fc.constantFrom('', '-rc.1', '-rc.2', '-alpha', '-', '+build.5', '-rc.1+b', 'x', ' '),
  )
  .map(([lead, parts, tail]) => `${lead}${parts.join('.')}${tail}`);

const imagesArb: fc.Arbitrary<Image[]> = fc
  .array(fc.array(tagArb, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 25 })
  .map((tagLists) =>
    tagLists.map((tags, k) => ({
      digest: `sha256:${k.toString(16).padStart(4, '0')}`,
      tags,
      pushedAt: NOW.getTime() - (k + 2) * DAY_MS,
      sizeBytes: 1,
      status: 'ACTIVE' as const,
    })),
  );

/** Expires every image (all are older than a day), so only a protection keeps one. */
function expireAll(): LifecyclePolicy {
  const result = validatePolicyDocument({
    rules: [
      {
        rulePriority: 1,
        selection: { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 },
        action: { type: 'expire' },
      },
    ],
  });
  if (!result.valid) throw new Error(JSON.stringify(result.errors));
  return result.policy;
}

/** The digests keepSemver keeps, with `semver.parse` called on every tag. */
function reference(images: readonly Image[], count: number, includePrerelease: boolean): string[] {
  const releases: { digest: string; v: semver.SemVer }[] = [];
  for (const image of images) {
    let best: semver.SemVer | undefined;
    for (const tag of image.tags) {
      const v = semver.parse(tag.startsWith('v') ? tag.slice(1) : tag);
      if (!v || (!includePrerelease && v.prerelease.length > 0)) continue;
      if (!best || v.compare(best) > 0) best = v;
    }
    if (best) releases.push({ digest: image.digest, v: best });
  }
  releases.sort((a, b) => b.v.compare(a.v) || (a.digest < b.digest ? -1 : 1));
  return releases
    .slice(0, count)
    .map((r) => r.digest)
    .sort();
}

describe('planRepository (keepSemver over near-versions)', () => {
  it('keeps exactly the releases semver.parse finds on every tag', () => {
    fc.assert(
      fc.property(
        imagesArb,
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        (images, count, includePrerelease) => {
          // Act
          const plan = planRepository({
            repository: 'r',
            policy: expireAll(),
            images,
            now: NOW,
            steward: { keepSemver: { count, includePrerelease } },
          });

          // Assess
          const kept = plan.decisions
            .filter((d) => d.protectedBy.includes('semver'))
            .map((d) => d.imageDigest)
            .sort();
          expect(kept).toEqual(reference(images, count, includePrerelease));
        },
      ),
      RUNS,
    );
  });
});
