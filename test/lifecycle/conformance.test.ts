/**
 * ECR's own worked examples (docs/ecr-lifecycle.md §2.2, §2.3), run through the engine without a Steward policy:
 * the plan must be exactly the result AWS documents, with the rule that acted.
 */
import { describe, expect, it } from 'vitest';
import { matchesSelection } from '../../functions/shared/lifecycle/index.js';
import { type ImageSpec, images, outcomes, plan, rule } from './helpers.js';

interface Row {
  readonly example: string;
  readonly policy: { readonly rules: readonly Record<string, unknown>[] };
  readonly repo: Readonly<Record<string, ImageSpec>>;
  /** name → `action:rulePriority` */
  readonly expected: Readonly<Record<string, string>>;
}

const countRule = (priority: number, selection: Record<string, unknown>, count: number) =>
  rule(priority, { ...selection, countType: 'imageCountMoreThan', countNumber: count });
const ageRule = (priority: number, selection: Record<string, unknown>, days: number) =>
  rule(priority, { ...selection, countType: 'sinceImagePushed', countUnit: 'days', countNumber: days });

const multipleRulesRepo = {
  A: { tags: ['beta-1', 'prod-1'], age: 10 },
  B: { tags: ['beta-2', 'prod-2'], age: 9 },
  C: { tags: ['beta-3'], age: 8 },
};

const rows: readonly Row[] = [
  {
    example: '"Filtering on multiple rules" Example A (prod rule before beta rule)',
    policy: {
      rules: [
        countRule(1, { tagStatus: 'tagged', tagPrefixList: ['prod'] }, 1),
        countRule(2, { tagStatus: 'tagged', tagPrefixList: ['beta'] }, 1),
      ],
    },
    repo: multipleRulesRepo,
    // Rule 2 would mark A and B, but both were seen by rule 1: only A goes.
    expected: { A: 'expire:1', B: 'keep:-', C: 'keep:-' },
  },
  {
    example: '"Filtering on multiple rules" Example A with the rules listed in reverse array order',
    policy: {
      rules: [
        countRule(2, { tagStatus: 'tagged', tagPrefixList: ['beta'] }, 1),
        countRule(1, { tagStatus: 'tagged', tagPrefixList: ['prod'] }, 1),
      ],
    },
    repo: multipleRulesRepo,
    expected: { A: 'expire:1', B: 'keep:-', C: 'keep:-' },
  },
  {
    example: '"Filtering on multiple rules" Example B (beta rule before prod rule)',
    policy: {
      rules: [
        countRule(1, { tagStatus: 'tagged', tagPrefixList: ['beta'] }, 1),
        countRule(2, { tagStatus: 'tagged', tagPrefixList: ['prod'] }, 1),
      ],
    },
    repo: multipleRulesRepo,
    expected: { A: 'expire:1', B: 'expire:1', C: 'keep:-' },
  },
  {
    example: '"Filtering on multiple tags in a single rule" Example A (prefixes are an AND)',
    policy: { rules: [ageRule(1, { tagStatus: 'tagged', tagPrefixList: ['alpha', 'beta'] }, 5)] },
    repo: {
      A: { tags: ['alpha-1'], age: 12 },
      B: { tags: ['beta-1'], age: 11 },
      C: { tags: ['alpha-2', 'beta-2'], age: 10 },
      D: { tags: ['alpha-3'], age: 4 },
      E: { tags: ['beta-3'], age: 3 },
      F: { tags: ['alpha-4', 'beta-4'], age: 2 },
    },
    expected: {
      A: 'keep:-',
      B: 'keep:-',
      C: 'expire:1',
      D: 'keep:-',
      E: 'keep:-',
      F: 'keep:-',
    },
  },
  {
    example:
      '"Filtering on multiple tags in a single rule" Example A, current docs (tagPatternList alpha*, beta*)',
    policy: { rules: [ageRule(1, { tagStatus: 'tagged', tagPatternList: ['alpha*', 'beta*'] }, 5)] },
    repo: {
      A: { tags: ['alpha-1'], age: 12 },
      B: { tags: ['beta-1'], age: 11 },
      C: { tags: ['alpha-2', 'beta-2'], age: 10 },
      D: { tags: ['alpha-3'], age: 4 },
      E: { tags: ['beta-3'], age: 3 },
      F: { tags: ['alpha-4', 'beta-4'], age: 2 },
    },
    expected: {
      A: 'keep:-',
      B: 'keep:-',
      C: 'expire:1',
      D: 'keep:-',
      E: 'keep:-',
      F: 'keep:-',
    },
  },
  {
    example: '"Filtering on multiple tags in a single rule" Example B (tags are not exclusive)',
    policy: { rules: [countRule(1, { tagStatus: 'tagged', tagPrefixList: ['alpha', 'beta'] }, 1)] },
    repo: {
      A: { tags: ['alpha-1', 'beta-1', 'gamma-1'], age: 10 },
      B: { tags: ['alpha-2', 'beta-2'], age: 9 },
      C: { tags: ['alpha-3', 'beta-3', 'gamma-2'], age: 8 },
    },
    expected: { A: 'expire:1', B: 'expire:1', C: 'keep:-' },
  },
  {
    example: '"Filtering on all images" Example A (any, keep 1)',
    policy: { rules: [countRule(1, { tagStatus: 'any' }, 1)] },
    repo: {
      A: { tags: ['alpha-1'], age: 4 },
      B: { tags: ['beta-1'], age: 3 },
      C: { tags: [], age: 2 },
      D: { tags: ['alpha-2'], age: 1 },
    },
    expected: { A: 'expire:1', B: 'expire:1', C: 'expire:1', D: 'keep:-' },
  },
  {
    example: '"Filtering on all images" Example B (the any rule ranks images it cannot mark)',
    policy: {
      rules: [
        countRule(1, { tagStatus: 'tagged', tagPrefixList: ['alpha'] }, 1),
        ageRule(2, { tagStatus: 'untagged' }, 1),
        countRule(3, { tagStatus: 'any' }, 1),
      ],
    },
    repo: {
      A: { tags: ['alpha-1', 'beta-1'], age: 4 },
      B: { tags: [], age: 3 },
      C: { tags: ['alpha-2'], age: 2 },
      D: { tags: ['git hash'], age: 1 },
      // "1 day ago" in the doc; E must be the newest image and must survive the 1-day untagged rule.
      // 18 hours keeps it off the undocumented "exactly N days" boundary.
      E: { tags: [], age: 0.75 },
    },
    expected: { A: 'expire:1', B: 'expire:2', C: 'keep:-', D: 'expire:3', E: 'keep:-' },
  },
  {
    example: 're:Post "keep for 10 years": one tagPatternList is an AND, so the keep rule matched nothing',
    policy: {
      rules: [
        ageRule(
          1,
          { tagStatus: 'tagged', tagPatternList: ['latest', 'main', 'master', 'cache', '20*'] },
          3650,
        ),
        ageRule(2, { tagStatus: 'any' }, 60),
      ],
    },
    repo: {
      L: { tags: ['latest'], age: 90 },
      M: { tags: ['main'], age: 120 },
      D: { tags: ['20240105'], age: 200 },
      ALL: { tags: ['latest', 'main', 'master', 'cache', '2024-01'], age: 300 },
      N: { tags: ['feature-1'], age: 10 },
    },
    expected: { L: 'expire:2', M: 'expire:2', D: 'expire:2', ALL: 'keep:-', N: 'keep:-' },
  },
  {
    example: 're:Post fix: one rule per pattern (OR) shields each image from the any rule',
    policy: {
      rules: [
        ageRule(1, { tagStatus: 'tagged', tagPatternList: ['latest'] }, 3650),
        ageRule(2, { tagStatus: 'tagged', tagPatternList: ['main'] }, 3650),
        ageRule(3, { tagStatus: 'tagged', tagPatternList: ['20*'] }, 3650),
        ageRule(4, { tagStatus: 'any' }, 60),
      ],
    },
    repo: {
      L: { tags: ['latest'], age: 90 },
      M: { tags: ['main'], age: 120 },
      D: { tags: ['20240105'], age: 200 },
      X: { tags: ['feature-1'], age: 70 },
      N: { tags: ['feature-2'], age: 10 },
    },
    expected: { L: 'keep:-', M: 'keep:-', D: 'keep:-', X: 'expire:4', N: 'keep:-' },
  },
];

describe('planRepository (ECR worked examples)', () => {
  it.each(rows)('returns the documented result for $example', ({ policy, repo, expected }) => {
    // Prepare
    const input = images(repo);

    // Act
    const result = plan({ policy, images: input });

    // Assess
    expect(outcomes(result, Object.keys(repo))).toEqual(expected);
    expect(result.decisions).toHaveLength(input.length);
    expect(result.summary.expire).toBe(Object.values(expected).filter((e) => e.startsWith('expire')).length);
    for (const d of result.decisions) expect(d.protectedBy).toEqual([]);
  });
});

describe('planRepository (combining archive and expire rules)', () => {
  const archiveThenExpire = (countType: 'sinceImagePulled' | 'sinceImagePushed') => ({
    rules: [
      rule(
        1,
        { tagStatus: 'any', countType, countUnit: 'days', countNumber: 30 },
        { type: 'transition', targetStorageClass: 'archive' },
      ),
      rule(2, {
        tagStatus: 'any',
        storageClass: 'archive',
        countType: 'sinceImageTransitioned',
        countUnit: 'days',
        countNumber: 365,
      }),
    ],
  });
  const repo: Record<string, ImageSpec> = {
    // standard images
    stale: { age: 200, pulledDaysAgo: 40 },
    pulled: { age: 200, pulledDaysAgo: 5 },
    neverPulledOld: { age: 100 },
    neverPulledNew: { age: 10 },
    // restored 3 days ago, last pulled long before: ECR uses last_activated_at (rule 15)
    restored: { age: 300, pulledDaysAgo: 200, activatedDaysAgo: 3 },
    // archive class: rule 1 (standard) neither selects nor shields them
    archivedLong: { age: 600, status: 'ARCHIVED', archivedDaysAgo: 400 },
    archivedRecently: { age: 600, status: 'ARCHIVED', archivedDaysAgo: 100 },
    // being restored: in neither storage class
    activating: { age: 600, status: 'ACTIVATING', archivedDaysAgo: 400 },
  };

  it('archives standard images not pulled for 30 days and expires images archived over 365 days when rule 1 is sinceImagePulled', () => {
    // Prepare
    const input = images(repo);

    // Act
    const result = plan({ policy: archiveThenExpire('sinceImagePulled'), images: input });

    // Assess
    expect(outcomes(result, Object.keys(repo))).toEqual({
      stale: 'transition:1',
      pulled: 'keep:-',
      neverPulledOld: 'transition:1',
      neverPulledNew: 'keep:-',
      restored: 'keep:-',
      archivedLong: 'expire:2',
      archivedRecently: 'keep:-',
      activating: 'keep:-',
    });
    expect(result.summary).toMatchObject({ images: 8, expire: 1, transition: 2, keep: 5 });
    expect(result.summary.bytesTransitioned).toBe(2_000);
    expect(result.summary.bytesReclaimed).toBe(1_000);
  });

  it('archives by push age and expires archived images when rule 1 is sinceImagePushed', () => {
    // Prepare: whether sinceImagePushed counts from a restore is not documented (docs/ecr-lifecycle.md §7.3), so no restored image
    const { restored: _undocumented, ...pushedRepo } = repo;
    const input = images(pushedRepo);

    // Act
    const result = plan({ policy: archiveThenExpire('sinceImagePushed'), images: input });

    // Assess
    expect(outcomes(result, Object.keys(pushedRepo))).toEqual({
      stale: 'transition:1',
      pulled: 'transition:1',
      neverPulledOld: 'transition:1',
      neverPulledNew: 'keep:-',
      archivedLong: 'expire:2',
      archivedRecently: 'keep:-',
      activating: 'keep:-',
    });
  });
});

describe('planRepository (ECR evaluation details)', () => {
  it('keeps an image whose extra non-matching tags do not stop a rule from selecting it', () => {
    // Prepare
    const repo = { A: { tags: ['latest', 'prod-1'], age: 30 }, B: { tags: ['prod-2'], age: 1 } };
    const policy = { rules: [countRule(1, { tagStatus: 'tagged', tagPatternList: ['prod-*'] }, 1)] };

    // Act
    const result = plan({ policy, images: images(repo) });

    // Assess
    expect(outcomes(result, Object.keys(repo))).toEqual({ A: 'expire:1', B: 'keep:-' });
  });

  it('selects untagged images only with untagged and any rules when tagged rules come first', () => {
    // Prepare
    const repo = { U: { tags: [], age: 30 }, T: { tags: ['x'], age: 30 } };
    const policy = {
      rules: [
        ageRule(1, { tagStatus: 'tagged', tagPatternList: ['*'] }, 10),
        ageRule(2, { tagStatus: 'untagged' }, 10),
      ],
    };

    // Act
    const result = plan({ policy, images: images(repo) });

    // Assess
    expect(outcomes(result, Object.keys(repo))).toEqual({ U: 'expire:2', T: 'expire:1' });
  });

  it('explains each decision with the rule and the count or age when the plan is built', () => {
    // Prepare
    const repo = { A: { tags: ['alpha-1'], age: 4 }, D: { tags: ['alpha-2'], age: 1 } };
    const policy = { rules: [countRule(1, { tagStatus: 'tagged', tagPrefixList: ['alpha'] }, 1)] };

    // Act
    const result = plan({ policy, images: images(repo) });

    // Assess
    expect(result.decisions.map((d) => [d.imageTags, d.reasons])).toEqual(
      expect.arrayContaining([
        [
          ['alpha-1'],
          ['rule 1 (tags prefixed ["alpha"]) keeps the 1 newest of 2 matching images; this is number 2'],
        ],
        [['alpha-2'], ['rule 1 (tags prefixed ["alpha"]) keeps the 1 newest; this is number 1 of 2']],
      ]),
    );
    expect(result.now).toBe('2026-06-01T12:00:00.000Z');
    expect(result.repository).toBe('team/app');
  });
});

describe('matchesSelection', () => {
  const pattern = (tagPatternList: string[]) =>
    ({ tagStatus: 'tagged', tagPatternList, countType: 'imageCountMoreThan', countNumber: 1 }) as const;
  const prefix = (tagPrefixList: string[]) =>
    ({ tagStatus: 'tagged', tagPrefixList, countType: 'imageCountMoreThan', countNumber: 1 }) as const;

  it.each([
    // [HOW] wildcard examples
    [['prod*'], ['prod'], true],
    [['prod*'], ['prod1'], true],
    [['prod*'], ['production-team1'], true],
    [['prod*'], ['repo-production'], false],
    [['*prod*'], ['repo-production'], true],
    [['*prod*'], ['prod-team'], true],
    // no wildcard: the whole tag
    [['prod'], ['prod'], true],
    [['prod'], ['prod1'], false],
    // only * is special
    [['v1.?'], ['v1.2'], false],
    [['v1.?'], ['v1.?'], true],
    [['v1.2'], ['v1x2'], false],
    // AND across entries, each satisfied by any tag
    [['alpha*', 'beta*'], ['alpha-1'], false],
    [['alpha*', 'beta*'], ['beta-1', 'alpha-1'], true],
    [['latest', 'main'], ['latest'], false],
  ])('matches pattern list %j against tags %j as %s', (list, tags, expected) => {
    expect(matchesSelection(pattern(list), tags)).toBe(expected);
  });

  it.each([
    [['prod'], ['prod'], true],
    [['prod'], ['prod1', 'x'], true],
    [['prod'], ['my-prod'], false],
    [['alpha', 'beta'], ['alpha-2', 'beta-2'], true],
    [['alpha', 'beta'], ['alpha-1'], false],
  ])('matches prefix list %j against tags %j as %s', (list, tags, expected) => {
    expect(matchesSelection(prefix(list), tags)).toBe(expected);
  });

  it('matches no untagged image when the rule is tagged, and every image when it is any', () => {
    expect(matchesSelection(pattern(['*']), [])).toBe(false);
    expect(matchesSelection(pattern(['*']), ['anything'])).toBe(true);
    expect(
      matchesSelection({ tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 }, []),
    ).toBe(true);
    expect(
      matchesSelection({ tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 }, ['a']),
    ).toBe(false);
    expect(matchesSelection({ tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }, [])).toBe(
      true,
    );
  });
});
