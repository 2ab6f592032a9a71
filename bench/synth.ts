import type { InUse, StewardPolicy } from '../functions/shared/lifecycle/index.js';
import { createRng } from '../scripts/rng.js';

/**
 * A large synthetic repository for the benchmarks: the sample repository's mix (releases, pre-releases,
 * multi-arch indexes with children, cosign signatures, OCI referrers, dev builds, untagged leftovers,
 * archived images) at any size. Deterministic for a seed, so runs are comparable over time.
 */

export const SYNTH_NOW = new Date('2026-11-01T00:00:00Z');
const DAY_MS = 86_400_000;
const MiB = 1024 * 1024;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/** One `ImageDetail` in wire form (epoch-second timestamps), as `describe-images` returns it. */
export interface SynthImageDetail {
  imageDigest: string;
  imageTags?: string[];
  imageSizeInBytes: number;
  imagePushedAt: number;
  imageManifestMediaType: string;
  imageStatus: 'ACTIVE' | 'ARCHIVED';
  lastRecordedPullTime?: number;
  lastArchivedAt?: number;
  subjectManifestDigest?: string;
}

export interface SynthRepository {
  readonly imageDetails: SynthImageDetail[];
  readonly indexChildren: Map<string, string[]>;
  readonly counts: Readonly<Record<string, number>>;
}

/**
 * Synthesises exactly `total` images. About 6% are releases (a third of them multi-arch, most signed),
 * the rest builds and untagged leftovers in fixed proportions.
 */
export function synthesizeRepository(total: number, seed = 1): SynthRepository {
  const rng = createRng(seed);
  const now = SYNTH_NOW.getTime();
  const details: SynthImageDetail[] = [];
  const indexChildren = new Map<string, string[]>();
  const counts: Record<string, number> = {};
  let serial = 0;
  // Random hex is much cheaper than hashing 100,000 names, and the benchmark does not need stable names.
  const digest = (): string => `sha256:${rng.hex(56)}${(serial++).toString(16).padStart(8, '0')}`;
  const pushedDaysAgo = (maxDays: number): number => (now - rng.next() * maxDays * DAY_MS) / 1000;
  const add = (
    kind: string,
    d: Omit<SynthImageDetail, 'imageDigest' | 'imageStatus'> & Partial<SynthImageDetail>,
  ) => {
    const full: SynthImageDetail = { imageDigest: digest(), imageStatus: 'ACTIVE', ...d };
    details.push(full);
    counts[kind] = (counts[kind] ?? 0) + 1;
    return full;
  };
  const maybePull = (pushedAt: number, p: number): { lastRecordedPullTime?: number } =>
    rng.chance(p) ? { lastRecordedPullTime: pushedAt + rng.next() * (now / 1000 - pushedAt) } : {};

  // ---- releases: v1–v12, with pre-releases, indexes, signatures and SBOM referrers
  const releaseBudget = Math.floor(total * 0.06);
  let releases = 0;
  outer: for (let major = 1; major <= 12; major++) {
    for (let minor = 0; minor < 50; minor++) {
      for (let patch = 0; patch < 10; patch++) {
        if (releases >= releaseBudget) break outer;
        const pre = rng.chance(0.15) ? `-rc.${rng.int(1, 4)}` : '';
        const version = `${major}.${minor}.${patch}${pre}`;
        const pushedAt = pushedDaysAgo(1100 - major * 80);
        const tags = [`v${version}`];
        if (!pre && patch === 0) tags.push(`v${major}.${minor}`);
        if (major === 12 && minor === 0 && patch === 0)
          tags.push('latest', 'stable', 'prod-eu', 'release-42');
        const archived = major <= 2 && rng.chance(0.2);
        const base = {
          imageTags: tags,
          imagePushedAt: pushedAt,
          imageSizeInBytes: rng.int(100 * MiB, 220 * MiB),
          ...(archived
            ? { imageStatus: 'ARCHIVED' as const, lastArchivedAt: pushedAt + rng.int(30, 400) * 86_400 }
            : maybePull(pushedAt, 0.5)),
        };
        let subject: SynthImageDetail;
        if (!archived && rng.chance(0.33)) {
          const children = [0, 1, ...(rng.chance(0.3) ? [2] : [])].map(() =>
            add('index-child', {
              imagePushedAt: pushedAt - 30,
              imageSizeInBytes: rng.int(90 * MiB, 200 * MiB),
              imageManifestMediaType: OCI_MANIFEST,
            }),
          );
          subject = add('release-index', { ...base, imageManifestMediaType: OCI_INDEX });
          indexChildren.set(
            subject.imageDigest,
            children.map((c) => c.imageDigest),
          );
        } else {
          subject = add('release', { ...base, imageManifestMediaType: OCI_MANIFEST });
        }
        releases++;
        if (rng.chance(0.7)) {
          add('cosign-signature', {
            imageTags: [`sha256-${subject.imageDigest.slice(7)}.sig`],
            imagePushedAt: pushedAt + 60,
            imageSizeInBytes: rng.int(400, 2_000),
            imageManifestMediaType: OCI_MANIFEST,
          });
        }
        if (rng.chance(0.3)) {
          add('oci-referrer', {
            imagePushedAt: pushedAt + 120,
            imageSizeInBytes: rng.int(40_000, 120_000),
            imageManifestMediaType: OCI_MANIFEST,
            subjectManifestDigest: subject.imageDigest,
          });
        }
      }
    }
  }

  // ---- builds and leftovers fill the rest in fixed proportions; untagged takes the remainder
  const rest = total - details.length;
  const mix: [kind: string, share: number, make: (i: number) => string[]][] = [
    ['main-build', 0.28, (i) => [`main-${10_000 + i}`]],
    ['dev-build', 0.32, () => [`dev-${rng.hex(7)}`]],
    ['feature-build', 0.1, (i) => [`feat-${rng.pick(['login', 'cart', 'search', 'pay'])}-${i}`]],
    ['pr-build', 0.06, (i) => [`pr-${i}`, ...(rng.chance(0.1) ? [`pr-${i}-wip`] : [])]],
  ];
  for (const [kind, share, make] of mix) {
    const n = Math.floor(rest * share);
    for (let i = 0; i < n; i++) {
      const pushedAt = pushedDaysAgo(kind === 'main-build' ? 400 : 200);
      add(kind, {
        imageTags: make(i),
        imagePushedAt: pushedAt,
        imageSizeInBytes: rng.int(100 * MiB, 200 * MiB),
        imageManifestMediaType: OCI_MANIFEST,
        ...maybePull(pushedAt, 0.15),
      });
    }
  }
  while (details.length < total) {
    const pushedAt = pushedDaysAgo(500);
    add('untagged', {
      imagePushedAt: pushedAt,
      imageSizeInBytes: rng.int(100 * MiB, 200 * MiB),
      imageManifestMediaType: OCI_MANIFEST,
      ...maybePull(pushedAt, 0.05),
    });
  }
  return { imageDetails: details, indexChildren, counts };
}

/** Ten rules touching every rule kind: tag patterns and prefixes, counts and ages, transition, archive class. */
export const TEN_RULE_POLICY_TEXT = JSON.stringify({
  rules: [
    rule(1, {
      tagStatus: 'tagged',
      tagPatternList: ['v*.*.*-rc.*'],
      countType: 'sinceImagePushed',
      countUnit: 'days',
      countNumber: 30,
    }),
    rule(
      2,
      {
        tagStatus: 'tagged',
        tagPrefixList: ['v1.'],
        countType: 'sinceImagePulled',
        countUnit: 'days',
        countNumber: 180,
      },
      { type: 'transition', targetStorageClass: 'archive' },
    ),
    rule(3, {
      tagStatus: 'tagged',
      tagPatternList: ['v*.*.*'],
      countType: 'imageCountMoreThan',
      countNumber: 1000,
    }),
    rule(4, {
      tagStatus: 'tagged',
      tagPrefixList: ['main-'],
      countType: 'imageCountMoreThan',
      countNumber: 200,
    }),
    rule(5, {
      tagStatus: 'tagged',
      tagPrefixList: ['dev-'],
      countType: 'imageCountMoreThan',
      countNumber: 300,
    }),
    rule(6, {
      tagStatus: 'tagged',
      tagPatternList: ['feat-*-*'],
      countType: 'sinceImagePushed',
      countUnit: 'days',
      countNumber: 60,
    }),
    rule(7, {
      tagStatus: 'tagged',
      tagPatternList: ['pr-*', 'pr-*-wip'],
      countType: 'sinceImagePushed',
      countUnit: 'days',
      countNumber: 7,
    }),
    rule(8, { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 }),
    rule(9, { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 365 }),
    rule(10, {
      tagStatus: 'any',
      storageClass: 'archive',
      countType: 'sinceImageTransitioned',
      countUnit: 'days',
      countNumber: 90,
    }),
  ],
});

function rule(rulePriority: number, selection: object, action: object = { type: 'expire' }): object {
  return { rulePriority, description: `rule ${rulePriority}`, selection, action };
}

/** Every protection on: tags (globs and a regex), semver, keep-at-least, age, pulls, holds, in-use, units. */
export function allProtections(repo: SynthRepository): { steward: StewardPolicy; inUse: InUse } {
  const rng = createRng(7);
  const tagged = repo.imageDetails.filter((d) => d.imageTags && d.imageTags.length > 0);
  const holds = Array.from({ length: 100 }, (_, i) => {
    const image = rng.pick(tagged);
    return i % 2 === 0
      ? { digest: image.imageDigest, owner: 'bench@example.com', reason: `hold ${i}` }
      : {
          tag: image.imageTags![0]!,
          owner: 'bench@example.com',
          reason: `hold ${i}`,
          expiresAt: '2027-01-01T00:00:00Z',
        };
  });
  const digests = new Map<string, string[]>();
  for (let i = 0; i < 1000; i++)
    digests.set(rng.pick(repo.imageDetails).imageDigest, [`ecs:service/prod/svc-${i}`]);
  const tags = new Map<string, string[]>();
  for (let i = 0; i < 200; i++) tags.set(rng.pick(tagged).imageTags![0]!, [`lambda:function/fn-${i}`]);
  return {
    steward: {
      protectedTags: ['latest', 'stable', 'prod-*', '^release-\\d+$'],
      keepSemver: { count: 5, perMajor: true, includePrerelease: false },
      keepAtLeast: [{ rulePriority: 4, count: 250 }, { count: 10 }],
      minAgeDays: 3,
      pulledWithinDays: 30,
      holds,
      indexAsUnit: true,
    },
    inUse: { digests, tags },
  };
}
