/**
 * A small registry for the report's tests: one managed repository (four images, one archived, one the plan
 * expires, two with verdicts) and one unmanaged repository (an image and a multi-arch index), with four
 * deletions in the audit table, one of them before the period. Every figure the tests expect follows from here.
 */
import type { Image } from '../../functions/shared/lifecycle/types.js';
import {
  buildReport,
  type DeletionFact,
  type Report,
  type RepositoryFacts,
  summarizeDeletions,
  summarizeRepository,
} from '../../functions/shared/report/index.js';

export const NOW = new Date('2026-12-06T12:00:00.000Z');
export const SINCE = new Date('2026-11-29T12:00:00.000Z');
export const ALICE = 'arn:aws:iam::123456789012:user/alice';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const at = (iso: string) => Date.parse(iso);

export const API_IMAGES: Image[] = [
  {
    digest: digest('a'),
    tags: ['v2'],
    pushedAt: at('2026-12-01T00:00:00Z'),
    sizeBytes: 300_000_000,
    status: 'ACTIVE',
    lastPulledAt: at('2026-12-05T00:00:00Z'),
  },
  {
    digest: digest('b'),
    tags: ['v1'],
    pushedAt: at('2026-10-01T00:00:00Z'),
    sizeBytes: 200_000_000,
    status: 'ACTIVE',
    lastPulledAt: at('2026-11-01T00:00:00Z'),
  },
  {
    digest: digest('c'),
    tags: [],
    pushedAt: at('2026-09-01T00:00:00Z'),
    sizeBytes: 100_000_000,
    status: 'ACTIVE',
  },
  {
    digest: digest('d'),
    tags: ['old'],
    pushedAt: at('2026-01-01T00:00:00Z'),
    sizeBytes: 50_000_000,
    status: 'ARCHIVED',
    lastPulledAt: at('2026-06-01T00:00:00Z'),
  },
];

export const TOOLS_IMAGES: Image[] = [
  {
    digest: digest('e'),
    tags: ['latest'],
    pushedAt: at('2026-11-01T00:00:00Z'),
    sizeBytes: 10_000_000,
    status: 'ACTIVE',
    lastPulledAt: at('2026-11-20T00:00:00Z'),
  },
  {
    digest: digest('f'),
    tags: ['multi'],
    pushedAt: at('2026-11-02T00:00:00Z'),
    sizeBytes: 10_000_000,
    status: 'ACTIVE',
    manifestMediaType: 'application/vnd.oci.image.index.v1+json',
  },
];

export const API_FACTS: RepositoryFacts = {
  name: 'services/api',
  selection: 'services',
  images: API_IMAGES,
  plan: { expire: [digest('c')], transition: [] },
  verdicts: new Map([
    [digest('a'), 'PASS'],
    [digest('b'), 'FAIL'],
  ]),
};

export const TOOLS_FACTS: RepositoryFacts = {
  name: 'tools/ci',
  images: TOOLS_IMAGES,
  plan: { unavailable: 'not managed by the config' },
  verdicts: new Map(),
};

export const DELETIONS: DeletionFact[] = [
  {
    repository: 'services/api',
    digest: digest('1'),
    at: '2026-12-05T10:00:00.000Z',
    bytes: 40_000_000,
    principal: 'ECR Steward',
  },
  {
    repository: 'services/api',
    digest: digest('2'),
    at: '2026-12-04T09:00:00.000Z',
    bytes: 10_000_000,
    principal: ALICE,
  },
  {
    repository: 'tools/ci',
    digest: digest('3'),
    at: '2026-12-05T11:00:00.000Z',
    bytes: 5_000_000,
    principal: ALICE,
  },
  {
    repository: 'services/api',
    digest: digest('4'),
    at: '2026-10-01T00:00:00.000Z',
    bytes: 99_000_000,
    principal: ALICE,
  },
];

/** The fixture's report, as the reader would build it for `--all --since 7d` at NOW in us-east-1. */
export function fixtureReport(overrides: Partial<Parameters<typeof buildReport>[0]> = {}): Report {
  return buildReport({
    generatedAt: NOW,
    registryId: '123456789012',
    region: 'us-east-1',
    scope: 'all',
    price: { standardPerGbMonth: 0.1, archivePerGbMonth: 0.1, source: 'built-in' },
    repositories: [summarizeRepository(TOOLS_FACTS, NOW), summarizeRepository(API_FACTS, NOW)],
    audit: summarizeDeletions(DELETIONS, SINCE, NOW),
    ...overrides,
  });
}

/** Strings a registry or an audit table could hand the page, each of which must render as text. */
export const HOSTILE = {
  tag: '<script>alert("tag")</script>',
  principal: 'arn:aws:sts::123456789012:assumed-role/x/<img src=x onerror=alert(1)>',
  repository: 'evil/"><svg onload=alert(2)>',
} as const;

/**
 * The fixture with thirteen more repositories (so the bytes chart draws ten and "others"), and a hostile tag,
 * principal and repository name.
 */
export function crowdedReport(): Report {
  const extra = Array.from({ length: 13 }, (_, i) =>
    summarizeRepository(
      {
        name: i === 0 ? HOSTILE.repository : `team-${String(i).padStart(2, '0')}/app`,
        selection: 'teams',
        images: [
          {
            digest: `sha256:${String(i).padStart(64, '0')}`,
            tags: i === 0 ? [HOSTILE.tag] : [`v${i}`],
            pushedAt: Date.parse('2026-11-01T00:00:00Z'),
            // The hostile one is large enough to be among the largest images the page lists.
            sizeBytes: i === 0 ? 400_000_000 : (i + 1) * 20_000_000,
            status: 'ACTIVE',
          },
        ],
        plan: { expire: [], transition: [] },
        verdicts: new Map(),
      },
      NOW,
    ),
  );
  return buildReport({
    generatedAt: NOW,
    registryId: '123456789012',
    region: 'us-east-1',
    scope: 'all',
    price: { standardPerGbMonth: 0.1, archivePerGbMonth: 0.1, source: 'built-in' },
    repositories: [summarizeRepository(TOOLS_FACTS, NOW), summarizeRepository(API_FACTS, NOW), ...extra],
    audit: summarizeDeletions(
      [...DELETIONS, { ...DELETIONS[0]!, digest: `sha256:${'9'.repeat(64)}`, principal: HOSTILE.principal }],
      SINCE,
      NOW,
    ),
  });
}
