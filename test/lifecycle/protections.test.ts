/**
 * Steward protections: each saves images an ECR rule would act on, adds its own code to `protectedBy`
 * and its own reason, and leaves the rule that would have acted as the decision's rulePriority.
 */
import { describe, expect, it } from 'vitest';
import { stewardPolicySchema } from '../../functions/shared/lifecycle/index.js';
import {
  decisionOf,
  digestOf,
  type ImageSpec,
  images,
  NOW,
  OCI_INDEX,
  outcomes,
  plan,
  rule,
} from './helpers.js';

/** rule 1: keep the newest image of the repository, expire the rest. */
const keepNewest = {
  rules: [rule(1, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 })],
};

const summaryOf = (result: ReturnType<typeof plan>, name: string) => {
  const d = decisionOf(result, name);
  return { action: d.action, rulePriority: d.rulePriority, protectedBy: d.protectedBy };
};

describe('planRepository (protected tags)', () => {
  const repo: Record<string, ImageSpec> = {
    newest: { tags: ['dev-3'], age: 1 },
    release: { tags: ['release-1.0', 'dev-2'], age: 5 },
    major: { tags: ['v12'], age: 6 },
    old: { tags: ['dev-1'], age: 7 },
    notMajor: { tags: ['v12-rc'], age: 8 },
    notRelease: { tags: ['prerelease-1'], age: 9 },
  };

  it('keeps images with a tag matching a glob or a ^regex when rule 1 would expire them', () => {
    // Prepare
    const steward = { protectedTags: ['release-*', '^v\\d+$'] };

    // Act
    const result = plan({ policy: keepNewest, images: images(repo), steward });

    // Assess
    expect(outcomes(result, Object.keys(repo))).toEqual({
      newest: 'keep:-',
      release: 'keep:1',
      major: 'keep:1',
      old: 'expire:1',
      notMajor: 'expire:1',
      notRelease: 'expire:1',
    });
    expect(decisionOf(result, 'release').protectedBy).toEqual(['protected-tag']);
    expect(decisionOf(result, 'release').reasons).toEqual([
      'rule 1 (all images) keeps the 1 newest of 6 matching images; this is number 2',
      'tag release-1.0 is protected (release-*)',
    ]);
    expect(decisionOf(result, 'major').reasons.at(-1)).toBe('tag v12 is protected (^v\\d+$)');
    expect(decisionOf(result, 'newest').protectedBy).toEqual([]);
    expect(result.summary.protected).toEqual({ 'protected-tag': 2 });
  });
});

describe('planRepository (keepSemver)', () => {
  it('keeps the newest releases by semver precedence, not push time, when count is 2', () => {
    // Prepare: v1.10.0 is the oldest push but the highest version.
    const repo = {
      v1_10: { tags: ['v1.10.0'], age: 30 },
      v1_9: { tags: ['1.9.0', 'stable'], age: 20 },
      v1_2: { tags: ['v1.2.0'], age: 10 },
      main: { tags: ['main'], age: 1 },
    };

    // Act
    const result = plan({ policy: keepNewest, images: images(repo), steward: { keepSemver: { count: 2 } } });

    // Assess
    expect(outcomes(result, Object.keys(repo))).toEqual({
      v1_10: 'keep:1',
      v1_9: 'keep:1',
      v1_2: 'expire:1',
      main: 'keep:-',
    });
    expect(summaryOf(result, 'v1_10').protectedBy).toEqual(['semver']);
    expect(decisionOf(result, 'v1_10').reasons.at(-1)).toBe('release 1.10.0 is one of the 2 newest releases');
    expect(decisionOf(result, 'v1_9').reasons.at(-1)).toBe('release 1.9.0 is one of the 2 newest releases');
  });

  it('keeps the newest release of each major version when perMajor is set', () => {
    // Prepare
    const repo = {
      r2_1: { tags: ['2.1.0'], age: 40 },
      r2_0: { tags: ['2.0.0'], age: 35 },
      r1_5: { tags: ['1.5.0'], age: 30 },
      r1_4: { tags: ['1.4.0'], age: 25 },
      main: { tags: ['main'], age: 1 },
    };

    // Act
    const result = plan({
      policy: keepNewest,
      images: images(repo),
      steward: { keepSemver: { count: 1, perMajor: true } },
    });

    // Assess
    expect(outcomes(result, Object.keys(repo))).toEqual({
      r2_1: 'keep:1',
      r2_0: 'expire:1',
      r1_5: 'keep:1',
      r1_4: 'expire:1',
      main: 'keep:-',
    });
    expect(decisionOf(result, 'r1_5').reasons.at(-1)).toBe(
      'release 1.5.0 is one of the 1 newest releases of major version 1',
    );
  });

  it.each([
    [undefined, { rc: 'expire:1', r1_9: 'keep:1', r1_8: 'expire:1', main: 'keep:-' }],
    [false, { rc: 'expire:1', r1_9: 'keep:1', r1_8: 'expire:1', main: 'keep:-' }],
    [true, { rc: 'keep:1', r1_9: 'expire:1', r1_8: 'expire:1', main: 'keep:-' }],
  ])('counts pre-releases only when includePrerelease is %s', (includePrerelease, expected) => {
    // Prepare
    const repo = {
      rc: { tags: ['2.0.0-rc.1'], age: 10 },
      r1_9: { tags: ['1.9.0'], age: 20 },
      r1_8: { tags: ['1.8.0'], age: 30 },
      main: { tags: ['main'], age: 1 },
    };

    // Act
    const result = plan({
      policy: keepNewest,
      images: images(repo),
      steward: { keepSemver: { count: 1, includePrerelease } },
    });

    // Assess
    expect(outcomes(result, Object.keys(repo))).toEqual(expected);
  });
});

describe('planRepository (keepAtLeast)', () => {
  const policy = {
    rules: [
      rule(1, {
        tagStatus: 'tagged',
        tagPrefixList: ['feature-'],
        countType: 'sinceImagePushed',
        countUnit: 'days',
        countNumber: 30,
      }),
      rule(2, { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 7 }),
    ],
  };

  it('keeps the youngest candidates of one rule until count images of its selection remain when rulePriority is given', () => {
    // Prepare: f4 is within 30 days, so it already counts as a survivor.
    const repo = {
      f1: { tags: ['feature-1'], age: 40 },
      f2: { tags: ['feature-2'], age: 50 },
      f3: { tags: ['feature-3'], age: 60 },
      f4: { tags: ['feature-4'], age: 10 },
      u1: { age: 20 },
      u2: { age: 30 },
    };

    // Act
    const result = plan({
      policy,
      images: images(repo),
      steward: { keepAtLeast: [{ rulePriority: 1, count: 2 }] },
    });

    // Assess
    expect(outcomes(result, Object.keys(repo))).toEqual({
      f1: 'keep:1',
      f2: 'expire:1',
      f3: 'expire:1',
      f4: 'keep:-',
      u1: 'expire:2',
      u2: 'expire:2',
    });
    expect(summaryOf(result, 'f1').protectedBy).toEqual(['keep-at-least']);
    expect(decisionOf(result, 'f1').reasons.at(-1)).toBe(
      'kept so that at least 2 images selected by rule 1 remain',
    );
  });

  it('applies to every rule when rulePriority is omitted', () => {
    // Prepare
    const repo = {
      f1: { tags: ['feature-1'], age: 40 },
      f2: { tags: ['feature-2'], age: 50 },
      u1: { age: 20 },
      u2: { age: 30 },
    };

    // Act
    const result = plan({ policy, images: images(repo), steward: { keepAtLeast: [{ count: 1 }] } });

    // Assess
    expect(outcomes(result, Object.keys(repo))).toEqual({
      f1: 'keep:1',
      f2: 'expire:1',
      u1: 'keep:2',
      u2: 'expire:2',
    });
    expect(summaryOf(result, 'u1').protectedBy).toEqual(['keep-at-least']);
    expect(result.summary.protected).toEqual({ 'keep-at-least': 2 });
  });
  it.each([
    ['in priority order', [1, 2]],
    ['in reverse order', [2, 1]],
  ])('rescues the same images when the rules are listed %s', (_order, order) => {
    // Prepare: rule 1 acts on both prod images, rule 2 on Q; its selection also holds P1 and P2.
    const rules = {
      1: rule(1, {
        tagStatus: 'tagged',
        tagPrefixList: ['prod'],
        countType: 'sinceImagePushed',
        countUnit: 'days',
        countNumber: 1,
      }),
      2: rule(2, { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 }),
    } as const;
    const repo = { P1: { tags: ['prod-1'], age: 5 }, P2: { tags: ['prod-2'], age: 10 }, Q: { age: 3 } };

    // Act
    const result = plan({
      policy: { rules: order.map((p) => rules[p as 1 | 2]) },
      images: images(repo),
      steward: { keepAtLeast: [{ count: 1 }] },
    });

    // Assess: rule 1 keeps P1 first; P1 is then a survivor of rule 2's selection too.
    expect(outcomes(result, Object.keys(repo))).toEqual({ P1: 'keep:1', P2: 'expire:1', Q: 'expire:2' });
  });
});

describe('planRepository (minAgeDays and pulledWithinDays)', () => {
  it('keeps images younger than minAgeDays, counting a restore as a push, when rule 1 would expire them', () => {
    // Prepare
    const repo = {
      newest: { age: 1 },
      young: { age: 3 },
      restored: { age: 100, activatedDaysAgo: 2 },
      old: { age: 10 },
    };

    // Act
    const result = plan({ policy: keepNewest, images: images(repo), steward: { minAgeDays: 7 } });

    // Assess
    expect(outcomes(result, Object.keys(repo))).toEqual({
      newest: 'keep:-',
      young: 'keep:1',
      restored: 'keep:1',
      old: 'expire:1',
    });
    expect(summaryOf(result, 'young').protectedBy).toEqual(['min-age']);
    expect(decisionOf(result, 'young').reasons.at(-1)).toBe(
      'younger than the minimum age of 7 days (3 days)',
    );
    expect(decisionOf(result, 'restored').reasons.at(-1)).toBe(
      'younger than the minimum age of 7 days (2 days)',
    );
  });

  it('keeps images pulled within pulledWithinDays when rule 1 would expire them', () => {
    // Prepare
    const repo = {
      newest: { age: 1 },
      pulled: { age: 20, pulledDaysAgo: 2 },
      pulledLongAgo: { age: 30, pulledDaysAgo: 40 },
      neverPulled: { age: 40 },
    };

    // Act
    const result = plan({ policy: keepNewest, images: images(repo), steward: { pulledWithinDays: 14 } });

    // Assess
    expect(outcomes(result, Object.keys(repo))).toEqual({
      newest: 'keep:-',
      pulled: 'keep:1',
      pulledLongAgo: 'expire:1',
      neverPulled: 'expire:1',
    });
    expect(summaryOf(result, 'pulled').protectedBy).toEqual(['pulled-recently']);
    expect(decisionOf(result, 'pulled').reasons.at(-1)).toBe('pulled 2 days ago, within 14 days');
  });
});

describe('planRepository (in use)', () => {
  it('keeps images in use by digest or by a tag reference when rule 1 would expire them', () => {
    // Prepare
    const repo = {
      newest: { age: 1 },
      byDigest: { age: 10 },
      byTag: { tags: ['v1'], age: 20 },
      unused: { tags: ['v0'], age: 30 },
    };
    const inUse = {
      digests: new Map([[digestOf('byDigest'), ['ecs:service/prod/web', 'ecs:task/prod/abc']]]),
      tags: new Map([
        ['v1', ['lambda:function:api']],
        ['no-such-tag', ['lambda:function:gone']],
      ]),
    };

    // Act
    const result = plan({ policy: keepNewest, images: images(repo), steward: {}, inUse });

    // Assess
    expect(outcomes(result, Object.keys(repo))).toEqual({
      newest: 'keep:-',
      byDigest: 'keep:1',
      byTag: 'keep:1',
      unused: 'expire:1',
    });
    expect(summaryOf(result, 'byDigest').protectedBy).toEqual(['in-use']);
    expect(decisionOf(result, 'byDigest').reasons.at(-1)).toBe(
      'in use by ecs:service/prod/web, ecs:task/prod/abc',
    );
    expect(decisionOf(result, 'byTag').reasons.at(-1)).toBe('in use by lambda:function:api (as tag v1)');
  });
});

describe('planRepository (holds)', () => {
  const repo = {
    newest: { age: 1 },
    heldByDigest: { age: 10 },
    heldByTag: { tags: ['v1'], age: 20 },
    expiredHold: { age: 30 },
    holdEndsNow: { age: 40 },
    free: { age: 50 },
  };
  const steward = {
    holds: [
      {
        digest: digestOf('heldByDigest'),
        reason: 'incident INC-42',
        owner: 'alice',
        expiresAt: '2026-07-01T00:00:00Z',
      },
      { tag: 'v1', reason: 'audit', owner: 'bob' },
      {
        digest: digestOf('expiredHold'),
        reason: 'old incident',
        owner: 'carol',
        expiresAt: '2026-05-01T00:00:00Z',
      },
      { digest: digestOf('holdEndsNow'), reason: 'until now', owner: 'dan', expiresAt: NOW.toISOString() },
      { tag: 'no-such-tag', reason: 'nothing', owner: 'erin' },
    ],
  };

  it('keeps held images by digest and by tag, and stops holding at expiresAt, when rule 1 would expire them', () => {
    // Act
    const result = plan({ policy: keepNewest, images: images(repo), steward });

    // Assess
    expect(outcomes(result, Object.keys(repo))).toEqual({
      newest: 'keep:-',
      heldByDigest: 'keep:1',
      heldByTag: 'keep:1',
      expiredHold: 'expire:1',
      holdEndsNow: 'expire:1',
      free: 'expire:1',
    });
    expect(summaryOf(result, 'heldByDigest').protectedBy).toEqual(['hold']);
    expect(decisionOf(result, 'heldByDigest').reasons.at(-1)).toBe(
      'held: incident INC-42 (by alice, until 2026-07-01T00:00:00Z)',
    );
    expect(decisionOf(result, 'heldByTag').reasons.at(-1)).toBe('held: audit (by bob)');
    expect(decisionOf(result, 'expiredHold').protectedBy).toEqual([]);
    expect(result.summary).toMatchObject({ expire: 3, keep: 3, protected: { hold: 2 } });
  });
});

describe('planRepository (graph unknown)', () => {
  const policy = {
    rules: [
      rule(1, { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 7 }),
      rule(2, {
        tagStatus: 'tagged',
        tagPrefixList: ['old'],
        countType: 'sinceImagePushed',
        countUnit: 'days',
        countNumber: 7,
      }),
    ],
  };
  const repo = {
    index: { tags: ['v1'], age: 30, manifestMediaType: OCI_INDEX },
    u1: { age: 20 },
    u2: { age: 40 },
    tagged: { tags: ['old-1'], age: 40 },
  };

  it('keeps untagged images when an index has no manifest and a Steward policy is given', () => {
    // Act: no indexChildren entry for the index
    const result = plan({ policy, images: images(repo), steward: {} });

    // Assess
    expect(outcomes(result, Object.keys(repo))).toEqual({
      index: 'keep:-',
      u1: 'keep:1',
      u2: 'keep:1',
      tagged: 'expire:2',
    });
    expect(summaryOf(result, 'u1').protectedBy).toEqual(['graph-unknown']);
    expect(decisionOf(result, 'u1').reasons.at(-1)).toBe(
      'untagged while an image index of the repository has no manifest: it may be a child',
    );
    expect(result.warnings).toEqual([
      '1 image index(es) have no manifest, so their children are unknown; untagged images are kept until the manifests can be read',
    ]);
  });

  it('only warns in ECR mode when an index has no manifest', () => {
    // Act
    const result = plan({ policy, images: images(repo) });

    // Assess
    expect(outcomes(result, Object.keys(repo))).toEqual({
      index: 'keep:-',
      u1: 'expire:1',
      u2: 'expire:1',
      tagged: 'expire:2',
    });
    expect(result.warnings).toEqual(['1 image index(es) have no manifest, so their children are unknown']);
  });

  it('acts on untagged images again when the manifest of the index is known', () => {
    // Act
    const result = plan({ policy, images: images(repo), steward: {}, children: { index: [] } });

    // Assess
    expect(outcomes(result, Object.keys(repo))).toMatchObject({ u1: 'expire:1', u2: 'expire:1' });
    expect(result.warnings).toEqual([]);
  });
});

describe('planRepository (protections together)', () => {
  it('lists every protection that applies, in a stable order, when several save one image', () => {
    // Prepare
    const repo = { newest: { age: 1 }, target: { tags: ['release-9', '9.0.0'], age: 3, pulledDaysAgo: 1 } };
    const steward = {
      protectedTags: ['release-*'],
      keepSemver: { count: 1 },
      minAgeDays: 7,
      pulledWithinDays: 7,
      holds: [{ tag: 'release-9', reason: 'freeze', owner: 'ops' }],
    };
    const inUse = { digests: new Map([[digestOf('target'), ['ecs:service/prod/web']]]) };

    // Act
    const result = plan({ policy: keepNewest, images: images(repo), steward, inUse });

    // Assess
    expect(summaryOf(result, 'target')).toEqual({
      action: 'keep',
      rulePriority: 1,
      protectedBy: ['hold', 'in-use', 'protected-tag', 'semver', 'min-age', 'pulled-recently'],
    });
    expect(decisionOf(result, 'target').reasons).toHaveLength(7);
    expect(result.summary.protected).toEqual({
      hold: 1,
      'in-use': 1,
      'protected-tag': 1,
      semver: 1,
      'min-age': 1,
      'pulled-recently': 1,
    });
  });

  it('adds no protection code when the rules keep the image anyway', () => {
    // Prepare
    const repo = { newest: { tags: ['release-1'], age: 1 } };

    // Act
    const result = plan({
      policy: keepNewest,
      images: images(repo),
      steward: { protectedTags: ['release-*'], holds: [{ tag: 'release-1', reason: 'x', owner: 'y' }] },
    });

    // Assess
    expect(summaryOf(result, 'newest')).toEqual({ action: 'keep', rulePriority: null, protectedBy: [] });
    expect(result.summary.protected).toEqual({});
  });
});

describe('stewardPolicySchema', () => {
  it('accepts a full Steward policy', () => {
    const input = {
      protectedTags: ['release-*', '^v\\d+$'],
      keepSemver: { count: 3, perMajor: true, includePrerelease: false },
      keepAtLeast: [{ rulePriority: 1, count: 2 }, { count: 1 }],
      minAgeDays: 7,
      pulledWithinDays: 30,
      holds: [
        { digest: digestOf('a'), reason: 'incident', owner: 'alice', expiresAt: '2026-07-01T00:00:00Z' },
      ],
      indexAsUnit: false,
    };
    expect(stewardPolicySchema.parse(input)).toEqual(input);
  });

  it.each([
    [
      'a hold naming both digest and tag',
      { holds: [{ digest: 'sha256:a', tag: 'v1', reason: 'r', owner: 'o' }] },
    ],
    ['a hold naming neither digest nor tag', { holds: [{ reason: 'r', owner: 'o' }] }],
    ['an invalid regular expression', { protectedTags: ['^(unclosed'] }],
    ['a misspelt protection', { protectedTag: ['release-*'] }],
    ['keepSemver count 0', { keepSemver: { count: 0 } }],
    [
      'an expiresAt that is not a date',
      { holds: [{ tag: 'v1', reason: 'r', owner: 'o', expiresAt: 'soon' }] },
    ],
  ])('rejects %s', (_name, input) => {
    expect(stewardPolicySchema.safeParse(input).success).toBe(false);
  });
});
