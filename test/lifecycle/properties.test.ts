/**
 * Properties of the planner over random valid policies, random repositories with random index and referrer
 * graphs, and random Steward policies.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compileTagSelector,
  DAY_MS,
  type Image,
  type InUse,
  type LifecyclePolicy,
  type LifecycleRule,
  matchesSelection,
  type Plan,
  type PlanInput,
  planRepository,
  type StewardPolicy,
  stewardPolicySchema,
  validatePolicyDocument,
} from '../../functions/shared/lifecycle/index.js';
import { NOW, OCI_INDEX } from './helpers.js';

const now = NOW.getTime();
const RUNS = { numRuns: 400, seed: 20260601 } as const;

// ---------------------------------------------------------------- policies

const PREFIXES = ['prod', 'beta', 'alpha', 'v', 'release', '1.', 'sha256-'] as const;
const PATTERNS = [
  'prod-*',
  '*-1',
  'v*',
  '*.*.*',
  'latest',
  '*',
  'beta*',
  '*a*',
  'release-?',
  'sha256-*.sig',
] as const;

type RuleDraft = { selection: Record<string, unknown>; action: Record<string, unknown> };
type CountDraft = { count: Record<string, unknown>; action: Record<string, unknown> };

const tagList = fc.oneof(
  fc.record({ tagPrefixList: fc.uniqueArray(fc.constantFrom(...PREFIXES), { minLength: 1, maxLength: 2 }) }),
  fc.record({ tagPatternList: fc.uniqueArray(fc.constantFrom(...PATTERNS), { minLength: 1, maxLength: 2 }) }),
);
const transition = { type: 'transition', targetStorageClass: 'archive' };
const standardCount = fc.oneof(
  fc.record({
    count: fc.record({
      countType: fc.constant('imageCountMoreThan'),
      countNumber: fc.integer({ min: 1, max: 5 }),
    }),
    action: fc.constantFrom({ type: 'expire' }, transition),
  }),
  fc.record({
    count: fc.record({
      countType: fc.constant('sinceImagePushed'),
      countUnit: fc.constant('days'),
      countNumber: fc.integer({ min: 1, max: 300 }),
    }),
    action: fc.constantFrom({ type: 'expire' }, transition),
  }),
  fc.record({
    count: fc.record({
      countType: fc.constant('sinceImagePulled'),
      countUnit: fc.constant('days'),
      countNumber: fc.integer({ min: 1, max: 300 }),
    }),
    action: fc.constant(transition),
  }),
);
const archiveCount = fc.record({
  count: fc.record({
    storageClass: fc.constant('archive'),
    countType: fc.constant('sinceImageTransitioned'),
    countUnit: fc.constant('days'),
    countNumber: fc.integer({ min: 90, max: 400 }),
  }),
  action: fc.constant({ type: 'expire' }),
});

const draft = (
  tags: fc.Arbitrary<Record<string, unknown>>,
  count: fc.Arbitrary<CountDraft>,
): fc.Arbitrary<RuleDraft> =>
  fc.tuple(tags, count).map(([t, c]) => ({ selection: { ...t, ...c.count }, action: c.action }));

const classRules = (count: fc.Arbitrary<CountDraft>) =>
  fc.record({
    tagged: fc.array(
      draft(
        tagList.map((l) => ({ tagStatus: 'tagged', ...l })),
        count,
      ),
      { maxLength: 4 },
    ),
    untagged: fc.option(draft(fc.constant({ tagStatus: 'untagged' }), count), { nil: undefined }),
    any: fc.option(draft(fc.constant({ tagStatus: 'any' }), count), { nil: undefined }),
  });

/** A random policy ECR accepts: unique priorities, `any` last in its storage class, one untagged rule per class. */
const policyArb: fc.Arbitrary<LifecyclePolicy> = fc
  .tuple(classRules(standardCount), classRules(archiveCount))
  .chain(([standard, archive]) => {
    const groups = [standard, archive].map((c) => [...c.tagged, ...(c.untagged ? [c.untagged] : [])]);
    const anys = [standard.any, archive.any];
    const total = groups[0]!.length + groups[1]!.length + anys.filter(Boolean).length;
    return fc
      .uniqueArray(fc.integer({ min: 1, max: 200 }), { minLength: total, maxLength: total })
      .map((priorities) => {
        const rules: LifecycleRule[] = [];
        let next = 0;
        groups.forEach((group, c) => {
          const mine = priorities.slice(next, next + group.length + (anys[c] ? 1 : 0));
          next += mine.length;
          const ordered = [...mine].sort((a, b) => a - b);
          // the any rule takes the highest priority of its class; the others take the rest in random order
          const anyPriority = anys[c] ? ordered.pop() : undefined;
          const rest = mine.filter((p) => ordered.includes(p));
          group.forEach((d, i) => {
            rules.push({ rulePriority: rest[i]!, ...d } as unknown as LifecycleRule);
          });
          if (anys[c] && anyPriority !== undefined)
            rules.push({ rulePriority: anyPriority, ...anys[c] } as unknown as LifecycleRule);
        });
        return rules;
      })
      .chain((rules) => fc.shuffledSubarray(rules, { minLength: rules.length, maxLength: rules.length }));
  })
  .filter((rules) => rules.length > 0)
  .map((rules) => ({ rules }));

// ---------------------------------------------------------------- repositories

const TAG_POOL = [
  'prod-1',
  'prod-2',
  'beta-1',
  'alpha-1',
  'v1.0.0',
  'v1.2.0',
  '1.3.0',
  'v2.0.0',
  'v2.1.0-rc.1',
  'latest',
  'main',
  'release-7',
  'release-x',
  'git-abc',
] as const;
const ABSENT = `sha256:${'f'.repeat(64)}`;
const digestAt = (i: number) => `sha256:${(i + 1).toString(16).padStart(64, '0')}`;

interface Repo {
  readonly images: Image[];
  readonly indexChildren: Map<string, string[]>;
}

const imageArb = (i: number, n: number) =>
  fc
    .record({
      age: fc.integer({ min: 0, max: 400 * DAY_MS }),
      status: fc.constantFrom('ACTIVE', 'ACTIVE', 'ACTIVE', 'ARCHIVED', 'ACTIVATING'),
      pulled: fc.option(fc.integer({ min: 0, max: 400 * DAY_MS }), { nil: undefined }),
      archived: fc.integer({ min: 0, max: 500 * DAY_MS }),
      activated: fc.option(fc.integer({ min: 0, max: 100 * DAY_MS }), { nil: undefined }),
      kind: fc.constantFrom('plain', 'plain', 'index', 'oci-referrer', 'cosign-referrer'),
      // a subject: another image of the repository, or one that is gone
      subject: fc.integer({ min: -1, max: n - 1 }),
      cosignKind: fc.constantFrom('sig', 'att', 'sbom'),
      size: fc.integer({ min: 0, max: 1_000_000 }),
    })
    .map((r): Image => {
      const subject = r.subject < 0 || r.subject === i ? ABSENT : digestAt(r.subject);
      return {
        digest: digestAt(i),
        tags: r.kind === 'cosign-referrer' ? [`sha256-${subject.slice(7)}.${r.cosignKind}`] : [],
        pushedAt: now - r.age,
        sizeBytes: r.size,
        status: r.status as Image['status'],
        lastPulledAt: r.pulled === undefined ? undefined : now - r.pulled,
        lastArchivedAt: r.status === 'ACTIVE' ? undefined : now - r.archived,
        lastActivatedAt: r.activated === undefined ? undefined : now - r.activated,
        manifestMediaType: r.kind === 'index' ? OCI_INDEX : undefined,
        subjectDigest: r.kind === 'oci-referrer' ? subject : undefined,
      };
    });

const repoArb: fc.Arbitrary<Repo> = fc.integer({ min: 0, max: 12 }).chain((n) =>
  fc
    .record({
      images: fc.tuple(...Array.from({ length: n }, (_, i) => imageArb(i, n))),
      // each pool tag belongs to at most one image, as in ECR
      owners: fc.array(fc.option(fc.integer({ min: 0, max: Math.max(0, n - 1) }), { nil: undefined }), {
        minLength: TAG_POOL.length,
        maxLength: TAG_POOL.length,
      }),
      // per image: its children if it is an index (undefined: manifest unknown)
      children: fc.array(
        fc.option(fc.subarray([...Array.from({ length: n }, (_, i) => digestAt(i)), ABSENT]), {
          nil: undefined,
          freq: 6,
        }),
        { minLength: n, maxLength: n },
      ),
    })
    .map(({ images, owners, children }) => {
      const tagged = images.map((img) => ({ ...img, tags: [...img.tags] }));
      owners.forEach((owner, t) => {
        if (owner !== undefined && n > 0) tagged[owner]!.tags.push(TAG_POOL[t]!);
      });
      const indexChildren = new Map<string, string[]>();
      tagged.forEach((img, i) => {
        const kids = children[i];
        if (img.manifestMediaType === OCI_INDEX && kids !== undefined) indexChildren.set(img.digest, kids);
      });
      return { images: tagged, indexChildren };
    }),
);

// ---------------------------------------------------------------- Steward policy and use

const stewardArb = (repo: Repo, policy: LifecyclePolicy): fc.Arbitrary<StewardPolicy | undefined> => {
  const digests = repo.images.map((i) => i.digest);
  const holdTarget =
    digests.length > 0
      ? fc.oneof(
          fc.constantFrom(...digests).map((digest) => ({ digest })),
          fc.constantFrom(...TAG_POOL).map((tag) => ({ tag })),
        )
      : fc.constantFrom(...TAG_POOL).map((tag) => ({ tag }));
  return fc.option(
    fc.record(
      {
        protectedTags: fc.subarray(['release-*', '^v\\d+\\.\\d+\\.\\d+$', 'main', '*-1']),
        keepSemver: fc.record(
          { count: fc.integer({ min: 1, max: 3 }), perMajor: fc.boolean(), includePrerelease: fc.boolean() },
          { requiredKeys: ['count'] },
        ),
        keepAtLeast: fc.array(
          fc.record(
            {
              rulePriority: fc.constantFrom(...policy.rules.map((r) => r.rulePriority)),
              count: fc.integer({ min: 1, max: 3 }),
            },
            { requiredKeys: ['count'] },
          ),
          { maxLength: 2 },
        ),
        minAgeDays: fc.integer({ min: 0, max: 60 }),
        pulledWithinDays: fc.integer({ min: 0, max: 60 }),
        holds: fc.array(
          fc
            .tuple(holdTarget, fc.option(fc.integer({ min: -30, max: 30 }), { nil: undefined }))
            .map(([target, offsetDays]) => ({
              ...target,
              reason: 'incident',
              owner: 'oncall',
              ...(offsetDays === undefined
                ? {}
                : { expiresAt: new Date(now + offsetDays * DAY_MS).toISOString() }),
            })),
          { maxLength: 3 },
        ),
        indexAsUnit: fc.boolean(),
      },
      { requiredKeys: [] },
    ),
    { nil: undefined },
  );
};

const inUseArb = (repo: Repo): fc.Arbitrary<InUse | undefined> =>
  fc.option(
    fc.record({
      digests: fc
        .subarray([...repo.images.map((i) => i.digest), ABSENT])
        .map((ds) => new Map(ds.map((d) => [d, ['ecs:service/prod/web']]))),
      tags: fc.subarray([...TAG_POOL]).map((ts) => new Map(ts.map((t) => [t, ['lambda:function:api']]))),
    }),
    { nil: undefined },
  );

const inputArb: fc.Arbitrary<PlanInput> = fc.tuple(policyArb, repoArb).chain(([policy, repo]) =>
  fc.record({
    repository: fc.constant('team/app'),
    policy: fc.constant(policy),
    images: fc.constant(repo.images),
    now: fc.constant(NOW),
    indexChildren: fc.constant(repo.indexChildren),
    steward: stewardArb(repo, policy),
    inUse: inUseArb(repo),
  }),
);

// ---------------------------------------------------------------- oracles

const storageClassOf = (image: Image) =>
  image.status === 'ACTIVE' ? 'standard' : image.status === 'ARCHIVED' ? 'archive' : undefined;

const selects = (rule: LifecycleRule, image: Image): boolean =>
  storageClassOf(image) === (rule.selection.storageClass ?? 'standard') &&
  matchesSelection(rule.selection, image.tags);

/** Images a hold, a use or a protected tag must save (the protections that apply to every image). */
function hardProtected(input: PlanInput): Set<string> {
  const out = new Set<string>();
  const ownerOf = new Map<string, string>();
  for (const image of input.images) for (const tag of image.tags) ownerOf.set(tag, image.digest);
  for (const d of input.inUse?.digests?.keys() ?? []) out.add(d);
  for (const t of input.inUse?.tags?.keys() ?? []) if (ownerOf.has(t)) out.add(ownerOf.get(t)!);
  const steward = input.steward;
  if (!steward) return out;
  for (const hold of steward.holds ?? []) {
    if (hold.expiresAt !== undefined && Date.parse(hold.expiresAt) <= now) continue;
    const target = hold.digest ?? ownerOf.get(hold.tag!);
    if (target) out.add(target);
  }
  const selectors = (steward.protectedTags ?? []).map(compileTagSelector);
  for (const image of input.images)
    if (image.tags.some((t) => selectors.some((re) => re.test(t)))) out.add(image.digest);
  return out;
}

const byDigest = (p: Plan) => new Map(p.decisions.map((d) => [d.imageDigest, d]));

// ---------------------------------------------------------------- properties

describe('planRepository (properties)', () => {
  it('generates only policies ECR accepts and Steward policies the schema accepts', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        expect(validatePolicyDocument(input.policy, { checkLength: false }).errors).toEqual([]);
        if (input.steward) expect(stewardPolicySchema.safeParse(input.steward).success).toBe(true);
      }),
      RUNS,
    );
  });

  it('returns the same plan for the same input, whatever the order of images, rules and index entries', () => {
    fc.assert(
      fc.property(inputArb, fc.integer(), fc.integer(), (input, seedImages, seedRules) => {
        // Prepare
        const shuffled: PlanInput = {
          ...input,
          images: shuffle(input.images, seedImages),
          policy: { rules: shuffle(input.policy.rules, seedRules) },
          indexChildren: new Map(shuffle([...(input.indexChildren ?? new Map()).entries()], seedImages)),
        };

        // Act
        const first = planRepository(input);
        const again = planRepository(input);
        const reordered = planRepository(shuffled);

        // Assess
        expect(again).toEqual(first);
        expect(reordered).toEqual(first);
      }),
      RUNS,
    );
  });

  it('makes exactly one decision per image with one action, and a summary that adds up', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        // Act
        const result = planRepository(input);

        // Assess
        const digests = result.decisions.map((d) => d.imageDigest);
        expect([...digests].sort()).toEqual(input.images.map((i) => i.digest).sort());
        expect(new Set(digests).size).toBe(digests.length);
        for (const d of result.decisions) {
          expect(['expire', 'transition', 'keep']).toContain(d.action);
          expect(d.reasons.length).toBeGreaterThan(0);
        }
        const count = (a: string) => result.decisions.filter((d) => d.action === a).length;
        expect(result.summary).toMatchObject({
          images: input.images.length,
          expire: count('expire'),
          transition: count('transition'),
          keep: count('keep'),
        });
      }),
      RUNS,
    );
  });

  it('never expires or transitions an image on hold, in use or with a protected tag', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        // Act
        const result = byDigest(planRepository(input));

        // Assess
        for (const digest of hardProtected(input)) {
          const d = result.get(digest);
          if (d) expect({ digest, action: d.action }).toEqual({ digest, action: 'keep' });
        }
      }),
      RUNS,
    );
  });

  it('never expires or transitions a child of a kept index', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        // Act
        const result = byDigest(planRepository(input));

        // Assess
        for (const [index, children] of input.indexChildren ?? []) {
          if (result.get(index)?.action !== 'keep') continue;
          for (const child of children) {
            const d = result.get(child);
            if (d && child !== index)
              expect({ index, child, action: d.action }).toEqual({ index, child, action: 'keep' });
          }
        }
      }),
      RUNS,
    );
  });

  it('acts with rule p only on images rule p selects, unless the image follows another', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        // Act
        const result = planRepository(input);

        // Assess
        const images = new Map(input.images.map((i) => [i.digest, i]));
        for (const d of result.decisions) {
          if (d.action === 'keep' || d.follows !== undefined) continue;
          const rule = input.policy.rules.find((r) => r.rulePriority === d.rulePriority);
          expect(rule, `rule ${d.rulePriority} exists`).toBeDefined();
          expect(rule!.action.type).toBe(d.action);
          expect(selects(rule!, images.get(d.imageDigest)!)).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('acts with rule p in ECR mode only on images no higher-priority rule of the class selects', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        // Act
        const result = planRepository({ ...input, steward: undefined, inUse: undefined });

        // Assess
        const images = new Map(input.images.map((i) => [i.digest, i]));
        for (const d of result.decisions) {
          if (d.action === 'keep' || d.follows !== undefined) continue;
          const image = images.get(d.imageDigest)!;
          const shielding = input.policy.rules.filter(
            (r) => r.rulePriority < d.rulePriority! && selects(r, image),
          );
          expect(shielding.map((r) => r.rulePriority)).toEqual([]);
        }
      }),
      RUNS,
    );
  });

  it('only ever saves images when the Steward policy does not treat indexes as units', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        // Prepare
        const steward = { ...(input.steward ?? {}), indexAsUnit: false };

        // Act
        const ecr = byDigest(planRepository({ ...input, steward: undefined, inUse: undefined }));
        const guarded = planRepository({ ...input, steward });

        // Assess: every action of the guarded plan is ECR's own, by the same rule
        for (const d of guarded.decisions) {
          if (d.action === 'keep') continue;
          const e = ecr.get(d.imageDigest)!;
          expect({ action: d.action, rule: d.rulePriority }).toEqual({
            action: e.action,
            rule: e.rulePriority,
          });
        }
      }),
      RUNS,
    );
  });
});

/** A deterministic Fisher–Yates shuffle. */
function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1_103_515_245) + 12_345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
