/**
 * Generates the sample repository under `examples/sample-repo/`: a few hundred images of one service's
 * ECR repository as `aws ecr describe-images` would print them, the index manifests, an ECR lifecycle
 * policy, a Steward policy and an in-use list. Deterministic (seeded), so the committed files can be
 * checked against a fresh run: `tsx scripts/sample-repo.ts [out-dir]`.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRng, digestFor, type Rng } from './rng.js';

/** The instant the fixtures are written for: every age in the sample is relative to it. */
export const SAMPLE_NOW = '2026-11-01T00:00:00Z';
export const SAMPLE_REPOSITORY = 'checkout-api';
export const SAMPLE_DIR = fileURLToPath(new URL('../examples/sample-repo/', import.meta.url));
/** The files in `SAMPLE_DIR`, as `ecr-steward plan` takes them. */
export const SAMPLE_FILES = {
  images: 'images.json',
  manifests: 'manifests.json',
  policy: 'policy.json',
  steward: 'steward.json',
  inUse: 'in-use.json',
} as const;

const SEED = 20_261_101;
const REGISTRY_ID = '123456789012';
const DAY_MS = 86_400_000;
const MiB = 1024 * 1024;
const NOW_MS = Date.parse(SAMPLE_NOW);

const MT = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  spdx: 'application/spdx+json',
} as const;

/** One `ImageDetail` as the AWS CLI prints it, with timestamps as epoch seconds (the wire format). */
interface ImageDetail {
  registryId: string;
  repositoryName: string;
  imageDigest: string;
  imageTags?: string[];
  imageSizeInBytes: number;
  imagePushedAt: number;
  imageManifestMediaType: string;
  artifactMediaType: string;
  imageStatus: 'ACTIVE' | 'ARCHIVED';
  lastRecordedPullTime?: number;
  lastArchivedAt?: number;
  subjectManifestDigest?: string;
}

interface BatchGetImage {
  images: {
    registryId: string;
    repositoryName: string;
    imageId: { imageDigest: string; imageTag?: string };
    imageManifest: string;
    imageManifestMediaType: string;
  }[];
  failures: never[];
}

export interface SampleRepo {
  readonly images: { imageDetails: ImageDetail[] };
  readonly manifests: BatchGetImage;
  readonly policy: unknown;
  readonly steward: unknown;
  readonly inUse: unknown;
}

interface PushSpec {
  readonly name: string;
  readonly tags?: readonly string[];
  readonly pushedAt: number;
  readonly sizeBytes: number;
  readonly mediaType: string;
  readonly artifactType: string;
  readonly pulledAt?: number | undefined;
  readonly archivedAt?: number | undefined;
  readonly subject?: string | undefined;
}

/** Epoch seconds with milliseconds, as ECR returns them (`1761955200.417`). */
const epochSeconds = (ms: number): number => Math.round(ms) / 1000;
const daysAgo = (days: number): number => NOW_MS - days * DAY_MS;

/** A release line: its versions in push order and the dates of the first and last push. */
interface ReleaseLine {
  readonly major: number;
  /** Patch releases per minor version: `[2, 3]` is x.0.0, x.0.1, x.1.0, x.1.1, x.1.2. */
  readonly patches: readonly number[];
  /** Pre-releases, each pushed just before the release it precedes. */
  readonly prereleases: readonly string[];
  readonly from: string;
  readonly to: string;
}

const RELEASE_LINES: readonly ReleaseLine[] = [
  {
    major: 1,
    patches: [2, 3, 2, 3, 2],
    prereleases: ['1.0.0-rc.1', '1.0.0-rc.2'],
    from: '2024-09-02',
    to: '2025-05-12',
  },
  {
    major: 2,
    patches: [2, 2, 1, 2, 1, 2, 1, 1, 2],
    prereleases: ['2.0.0-beta.1', '2.0.0-rc.1', '2.5.0-rc.1'],
    from: '2025-05-26',
    to: '2026-02-23',
  },
  {
    major: 3,
    patches: [2, 2, 1, 2, 2],
    prereleases: ['3.0.0-rc.1', '3.0.0-rc.2', '3.3.0-rc.1', '3.4.0-rc.1', '3.5.0-rc.1'],
    from: '2026-03-09',
    to: '2026-10-29',
  },
];

/** Versions of a release line in push order: each pre-release right before its release. */
function versionsOf(line: ReleaseLine): string[] {
  const releases: string[] = [];
  line.patches.forEach((count, minor) => {
    for (let patch = 0; patch < count; patch++) releases.push(`${line.major}.${minor}.${patch}`);
  });
  const out: string[] = [];
  for (const release of releases) {
    out.push(...line.prereleases.filter((p) => p.split('-')[0] === release), release);
  }
  // A pre-release of a version not released yet (3.5.0-rc.1) comes last.
  out.push(...line.prereleases.filter((p) => !releases.includes(p.split('-')[0]!)));
  return out;
}

/** A working-hours push time on `dayMs` ± `jitterDays`. */
function pushTime(rng: Rng, dayMs: number, jitterDays = 0): number {
  const day = Math.floor(dayMs / DAY_MS) + rng.int(-jitterDays, jitterDays);
  return day * DAY_MS + rng.int(8 * 3600, 18 * 3600) * 1000 + rng.int(0, 999);
}

/** Builds the whole sample repository in memory. Pure: the same code always gives the same data. */
export function generateSampleRepo(): SampleRepo {
  const rng = createRng(SEED);
  const details: ImageDetail[] = [];
  const manifests: BatchGetImage['images'] = [];

  const push = (spec: PushSpec): string => {
    const digest = digestFor(SAMPLE_REPOSITORY, spec.name);
    details.push({
      registryId: REGISTRY_ID,
      repositoryName: SAMPLE_REPOSITORY,
      imageDigest: digest,
      ...(spec.tags && spec.tags.length > 0 ? { imageTags: [...spec.tags] } : {}),
      imageSizeInBytes: spec.sizeBytes,
      imagePushedAt: epochSeconds(spec.pushedAt),
      imageManifestMediaType: spec.mediaType,
      artifactMediaType: spec.artifactType,
      imageStatus: spec.archivedAt === undefined ? 'ACTIVE' : 'ARCHIVED',
      ...(spec.pulledAt === undefined ? {} : { lastRecordedPullTime: epochSeconds(spec.pulledAt) }),
      ...(spec.archivedAt === undefined ? {} : { lastArchivedAt: epochSeconds(spec.archivedAt) }),
      ...(spec.subject === undefined ? {} : { subjectManifestDigest: spec.subject }),
    });
    return digest;
  };

  /** A multi-arch image: untagged per-platform children first (buildx pushes them first), then the tagged index. */
  const pushMultiArch = (
    name: string,
    tags: readonly string[],
    pushedAt: number,
    pulledAt?: number,
  ): string => {
    const platforms = [
      { architecture: 'amd64', os: 'linux' },
      { architecture: 'arm64', os: 'linux' },
    ];
    const children = platforms.map((platform) => {
      const sizeBytes = rng.int(120 * MiB, 165 * MiB);
      const digest = push({
        name: `${name}/${platform.os}-${platform.architecture}`,
        pushedAt: pushedAt - rng.int(5_000, 40_000),
        sizeBytes,
        mediaType: MT.ociManifest,
        artifactType: MT.ociConfig,
        pulledAt,
      });
      return { digest, sizeBytes, platform };
    });
    const manifest = {
      schemaVersion: 2,
      mediaType: MT.ociIndex,
      manifests: children.map((c) => ({
        mediaType: MT.ociManifest,
        digest: c.digest,
        size: rng.int(1_000, 2_400),
        platform: c.platform,
      })),
    };
    // ECR reports an index's size as the largest of its manifests.
    const digest = push({
      name,
      tags,
      pushedAt,
      sizeBytes: Math.max(...children.map((c) => c.sizeBytes)),
      mediaType: MT.ociIndex,
      artifactType: MT.ociIndex,
      pulledAt,
    });
    manifests.push({
      registryId: REGISTRY_ID,
      repositoryName: SAMPLE_REPOSITORY,
      imageId: { imageDigest: digest },
      imageManifest: JSON.stringify(manifest),
      imageManifestMediaType: MT.ociIndex,
    });
    return digest;
  };

  // ---------------------------------------------------------------- releases v1.x–v3.x
  const releaseDigests = new Map<string, string>();
  const newestOfMinor = new Map<string, string>();
  const newestOfMajor = new Map<number, string>();
  for (const line of RELEASE_LINES) {
    for (const v of versionsOf(line).filter((v) => !v.includes('-'))) {
      newestOfMinor.set(v.split('.').slice(0, 2).join('.'), v);
      newestOfMajor.set(line.major, v);
    }
  }
  for (const line of RELEASE_LINES) {
    const versions = versionsOf(line);
    const from = Date.parse(`${line.from}T00:00:00Z`);
    const step = (Date.parse(`${line.to}T00:00:00Z`) - from) / Math.max(1, versions.length - 1);
    versions.forEach((version, i) => {
      const pushedAt = pushTime(rng, from + i * step, i === 0 || i === versions.length - 1 ? 0 : 2);
      const [major, minor] = version.split('.');
      const tags = [`v${version}`];
      if (newestOfMinor.get(`${major}.${minor}`) === version) tags.push(`v${major}.${minor}`);
      if (newestOfMajor.get(line.major) === version) tags.push(`v${major}`);
      if (version === '3.4.1') tags.push('latest', 'prod-us-east-1');
      if (version === '3.4.0') tags.push('prod-eu-west-1');

      const age = (NOW_MS - pushedAt) / DAY_MS;
      let pulledAt: number | undefined;
      let archivedAt: number | undefined;
      if (line.major === 1) {
        // v1 is retired: the oldest releases were archived by hand last year, the rest are rarely pulled.
        if (['1.0.0', '1.0.1', '1.1.0'].includes(version)) archivedAt = daysAgo(rng.int(470, 480));
        else if (version === '1.1.1') archivedAt = daysAgo(rng.int(270, 280));
        else if (version === '1.4.1') pulledAt = daysAgo(rng.int(25, 35));
        else if (!version.includes('-') && rng.chance(0.7))
          pulledAt = daysAgo(rng.int(130, Math.floor(age) - 5));
      } else if (!version.includes('-')) {
        const recent = line.major === 3 || version.startsWith('2.8');
        if (recent) pulledAt = daysAgo(rng.next() * Math.min(age, line.major === 3 ? 12 : 40));
        else if (rng.chance(0.6)) pulledAt = daysAgo(rng.int(60, Math.max(61, Math.floor(age) - 10)));
      }

      const multiArch = line.major === 3 || (line.major === 2 && versionAtLeast(version, '2.3.0'));
      let digest: string;
      if (multiArch) digest = pushMultiArch(`release/${version}`, tags, pushedAt, pulledAt);
      else {
        const docker = line.major === 1;
        digest = push({
          name: `release/${version}`,
          tags,
          pushedAt,
          sizeBytes: rng.int(docker ? 180 * MiB : 150 * MiB, docker ? 225 * MiB : 190 * MiB),
          mediaType: docker ? MT.dockerManifest : MT.ociManifest,
          artifactType: docker ? MT.dockerConfig : MT.ociConfig,
          pulledAt,
          archivedAt,
        });
      }
      releaseDigests.set(version, digest);

      // CI signs releases from v2 on with cosign (a tag beside the subject) and, from v3 on, attaches an
      // SBOM as an OCI 1.1 referrer (subjectManifestDigest).
      if (line.major >= 2) {
        push({
          name: `release/${version}/cosign`,
          tags: [`sha256-${digest.slice('sha256:'.length)}.sig`],
          pushedAt: pushedAt + rng.int(20_000, 90_000),
          sizeBytes: rng.int(420, 1_800),
          mediaType: MT.ociManifest,
          artifactType: MT.ociConfig,
        });
      }
      if (line.major >= 3) {
        push({
          name: `release/${version}/sbom`,
          pushedAt: pushedAt + rng.int(90_000, 180_000),
          sizeBytes: rng.int(40 * 1024, 120 * 1024),
          mediaType: MT.ociManifest,
          artifactType: MT.spdx,
          subject: digest,
        });
      }
    });
  }

  // ---------------------------------------------------------------- main branch builds
  const mainDigests = new Map<number, string>();
  const MAIN_FIRST = 1001;
  const MAIN_LAST = 1140;
  const mainFrom = Date.parse('2026-04-20T00:00:00Z');
  const mainStep = (daysAgo(0.5) - mainFrom) / (MAIN_LAST - MAIN_FIRST);
  for (let n = MAIN_FIRST; n <= MAIN_LAST; n++) {
    const pushedAt = mainFrom + (n - MAIN_FIRST) * mainStep + rng.int(0, 3 * 3600_000);
    const age = (NOW_MS - pushedAt) / DAY_MS;
    // Some old builds are pulled again for a bisect; recent ones by the staging deploys.
    const pulledAt = rng.chance(age < 20 ? 0.5 : 0.08) ? daysAgo(rng.next() * Math.min(age, 25)) : undefined;
    const tags = [`main-${n}`, ...(n === MAIN_LAST ? ['staging'] : [])];
    mainDigests.set(
      n,
      push({
        name: `main/${n}`,
        tags,
        pushedAt,
        sizeBytes: rng.int(140 * MiB, 175 * MiB),
        mediaType: MT.ociManifest,
        artifactType: MT.ociConfig,
        pulledAt,
      }),
    );
  }

  // ---------------------------------------------------------------- feature branch builds
  // Steady through the summer, then a burst of 25 in the last 2.5 days (someone iterating on a fix): more
  // than the policy keeps, so the minimum age has something to protect.
  const devTimes: number[] = [];
  const devFrom = Date.parse('2026-06-01T00:00:00Z');
  for (let i = 0; i < 80; i++) devTimes.push(pushTime(rng, devFrom + i * ((daysAgo(4) - devFrom) / 79)));
  for (let i = 0; i < 25; i++) devTimes.push(daysAgo(2.5) + rng.int(0, 2.5 * DAY_MS - 3_600_000));
  devTimes.sort((a, b) => a - b);
  for (const pushedAt of devTimes) {
    push({
      name: `dev/${pushedAt}`,
      tags: [`dev-${rng.hex(7)}`],
      pushedAt,
      sizeBytes: rng.int(140 * MiB, 180 * MiB),
      mediaType: MT.ociManifest,
      artifactType: MT.ociConfig,
      pulledAt: rng.chance(0.1)
        ? pushedAt + rng.int(600_000, Math.max(600_001, NOW_MS - pushedAt - 1))
        : undefined,
    });
  }

  // ---------------------------------------------------------------- pull-request builds and one-offs
  for (let i = 0; i < 20; i++) {
    const pushedAt = pushTime(rng, Date.parse('2026-04-01T00:00:00Z') + i * 10 * DAY_MS, 3);
    push({
      name: `pr/${i}`,
      tags: [`pr-${1180 + i * 7 + rng.int(0, 6)}`],
      pushedAt,
      sizeBytes: rng.int(140 * MiB, 180 * MiB),
      mediaType: MT.ociManifest,
      artifactType: MT.ociConfig,
    });
  }
  const oneOffs: readonly [string, string][] = [
    ['scratch-jdoe', '2025-12-03'],
    ['perf-baseline', '2026-02-17'],
    ['debug-oom', '2026-10-15'],
  ];
  for (const [tag, date] of oneOffs) {
    push({
      name: `one-off/${tag}`,
      tags: [tag],
      pushedAt: pushTime(rng, Date.parse(`${date}T00:00:00Z`)),
      sizeBytes: rng.int(140 * MiB, 200 * MiB),
      mediaType: MT.ociManifest,
      artifactType: MT.ociConfig,
    });
  }

  // ---------------------------------------------------------------- untagged leftovers
  // Images whose tag moved on (re-pushed dev tags, rebuilt releases): most old, a few fresh.
  const untagged: string[] = [];
  for (let i = 0; i < 36; i++) {
    const age = i < 6 ? rng.int(1, 12) : rng.int(15, 420);
    untagged.push(
      push({
        name: `untagged/${i}`,
        pushedAt: pushTime(rng, daysAgo(age)),
        sizeBytes: rng.int(120 * MiB, 220 * MiB),
        mediaType: MT.ociManifest,
        artifactType: MT.ociConfig,
        // One is pinned by digest in a deployment that still pulls it.
        pulledAt: i === 20 ? daysAgo(2) : undefined,
      }),
    );
  }

  details.sort((a, b) => a.imagePushedAt - b.imagePushedAt || (a.imageDigest < b.imageDigest ? -1 : 1));

  const must = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`sample: ${what} was not generated`);
    return value;
  };
  const heldDigest = must(releaseDigests.get('2.3.1'), 'release 2.3.1');
  return {
    images: { imageDetails: details },
    manifests: { images: manifests, failures: [] },
    policy: SAMPLE_POLICY,
    steward: {
      protectedTags: ['latest', 'prod-*'],
      keepSemver: { count: 2, perMajor: true },
      minAgeDays: 3,
      pulledWithinDays: 14,
      holds: [
        {
          digest: heldDigest,
          owner: 'security@example.com',
          reason: 'SEC-1187: build shipped to a customer under audit; keep until the audit closes',
          expiresAt: '2027-03-31T00:00:00Z',
        },
      ],
    },
    inUse: {
      digests: {
        [must(releaseDigests.get('3.4.1'), 'release 3.4.1')]: ['ecs:service/prod/checkout-api'],
        [must(mainDigests.get(1070), 'main-1070')]: ['ecs:service/staging/checkout-api-canary'],
        [must(untagged[12], 'untagged 12')]: ['ecs:task-definition/nightly-report:42'],
      },
      tags: {
        'v2.2.0': ['lambda:function/checkout-legacy-refunds'],
        'v3.4.0': ['ecs:service/prod-eu/checkout-api'],
      },
    },
  };
}

function versionAtLeast(version: string, min: string): boolean {
  const a = version.split('-')[0]!.split('.').map(Number);
  const b = min.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}

const SAMPLE_POLICY = {
  rules: [
    {
      rulePriority: 1,
      description: 'Pre-releases: expire 30 days after push',
      selection: {
        tagStatus: 'tagged',
        tagPatternList: ['v*.*.*-*'],
        countType: 'sinceImagePushed',
        countUnit: 'days',
        countNumber: 30,
      },
      action: { type: 'expire' },
    },
    {
      rulePriority: 2,
      description: 'v1 is retired: archive its releases once nobody pulled them for 120 days',
      selection: {
        tagStatus: 'tagged',
        tagPatternList: ['v1.*'],
        countType: 'sinceImagePulled',
        countUnit: 'days',
        countNumber: 120,
      },
      action: { type: 'transition', targetStorageClass: 'archive' },
    },
    {
      rulePriority: 3,
      description: 'Releases: keep the 20 newest',
      selection: {
        tagStatus: 'tagged',
        tagPatternList: ['v*.*.*'],
        countType: 'imageCountMoreThan',
        countNumber: 20,
      },
      action: { type: 'expire' },
    },
    {
      rulePriority: 4,
      description: 'main builds: keep the 30 newest',
      selection: {
        tagStatus: 'tagged',
        tagPrefixList: ['main-'],
        countType: 'imageCountMoreThan',
        countNumber: 30,
      },
      action: { type: 'expire' },
    },
    {
      rulePriority: 5,
      description: 'Feature branch builds: keep the 20 newest',
      selection: {
        tagStatus: 'tagged',
        tagPrefixList: ['dev-'],
        countType: 'imageCountMoreThan',
        countNumber: 20,
      },
      action: { type: 'expire' },
    },
    {
      rulePriority: 6,
      description: 'Untagged images: expire 14 days after push',
      selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 },
      action: { type: 'expire' },
    },
    {
      rulePriority: 10,
      description: 'Anything else: expire 90 days after push',
      selection: { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 90 },
      action: { type: 'expire' },
    },
    {
      rulePriority: 20,
      description: 'Archived images: delete a year after archiving',
      selection: {
        tagStatus: 'any',
        storageClass: 'archive',
        countType: 'sinceImageTransitioned',
        countUnit: 'days',
        countNumber: 365,
      },
      action: { type: 'expire' },
    },
  ],
};

/**
 * Writes the sample repository to `dir` and formats it with the project's Biome settings, so a fresh
 * run is byte-identical to the committed files and `npm run lint` accepts them. Returns the paths written.
 */
export async function writeSampleRepo(dir: string = SAMPLE_DIR): Promise<string[]> {
  const repo = generateSampleRepo();
  await mkdir(dir, { recursive: true });
  const contents: Record<keyof typeof SAMPLE_FILES, unknown> = {
    images: repo.images,
    manifests: repo.manifests,
    policy: repo.policy,
    steward: repo.steward,
    inUse: repo.inUse,
  };
  const paths: string[] = [];
  for (const [key, file] of Object.entries(SAMPLE_FILES) as [keyof typeof SAMPLE_FILES, string][]) {
    const path = join(dir, file);
    await writeFile(path, `${JSON.stringify(contents[key], null, 2)}\n`);
    paths.push(path);
  }
  formatWithBiome(paths);
  return paths;
}

function formatWithBiome(paths: readonly string[]): void {
  const require = createRequire(import.meta.url);
  const biome = join(require.resolve('@biomejs/biome/package.json'), '..', 'bin', 'biome');
  const projectRoot = fileURLToPath(new URL('..', import.meta.url));
  const result = spawnSync(process.execPath, [biome, 'format', '--write', ...paths], {
    cwd: projectRoot,
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`biome format failed:\n${result.stderr}${result.stdout}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const paths = await writeSampleRepo(process.argv[2] ? resolve(process.argv[2]) : SAMPLE_DIR);
  for (const path of paths) process.stdout.write(`wrote ${path}\n`);
}
