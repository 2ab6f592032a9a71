import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../functions/shared/config/load.js';
import {
  BUILT_IN_PRICES,
  monthlyCost,
  priceFor,
  principalOf,
  pullAgeBucket,
  summarizeDeletions,
  summarizeRepository,
} from '../../functions/shared/report/index.js';
import { ALICE, API_FACTS, DELETIONS, fixtureReport, NOW, SINCE, TOOLS_FACTS } from './fixture.js';

const GIB = 1024 ** 3;

describe('summarizeRepository', () => {
  it('sums bytes by storage class, the planned expiry, pull ages, untagged images and verdicts when the repository is managed', () => {
    // Prepare: the fixture's managed repository (four images, one archived, one planned to expire).
    // Act
    const summary = summarizeRepository(API_FACTS, NOW);
    // Assess
    expect(summary).toEqual({
      name: 'services/api',
      managed: true,
      selection: 'services',
      images: 4,
      archivedImages: 1,
      standardBytes: 600_000_000,
      archiveBytes: 50_000_000,
      reclaimableBytes: 100_000_000,
      reclaimableImages: 1,
      archivableBytes: 0,
      neverPulled: 1,
      pullAge: { '0-7': 1, '8-30': 0, '31-90': 1, '90+': 1, never: 1 },
      untagged: 1,
      verdicts: { PASS: 1, FAIL: 1, PENDING: 0, unscanned: 2 },
      largest: [
        expect.objectContaining({
          digest: `sha256:${'a'.repeat(64)}`,
          bytes: 300_000_000,
          storage: 'standard',
        }),
        expect.objectContaining({ digest: `sha256:${'b'.repeat(64)}`, bytes: 200_000_000 }),
        expect.objectContaining({ digest: `sha256:${'c'.repeat(64)}`, bytes: 100_000_000, tags: [] }),
        expect.objectContaining({
          digest: `sha256:${'d'.repeat(64)}`,
          bytes: 50_000_000,
          storage: 'archive',
        }),
      ],
    });
  });

  it('counts an image index as no bytes and leaves reclaimable null with the reason when there is no plan', () => {
    // Prepare: an unmanaged repository holding an image and a multi-arch index.
    // Act
    const summary = summarizeRepository(TOOLS_FACTS, NOW);
    // Assess: the index's reported size is its children's, which are counted themselves.
    expect(summary).toMatchObject({
      managed: false,
      images: 2,
      standardBytes: 10_000_000,
      archiveBytes: 0,
      reclaimableBytes: null,
      reclaimableImages: null,
      archivableBytes: null,
      planNote: 'not managed by the config',
      pullAge: { '0-7': 0, '8-30': 1, '31-90': 0, '90+': 0, never: 1 },
      verdicts: { PASS: 0, FAIL: 0, PENDING: 0, unscanned: 2 },
    });
    expect(summary.largest.map((i) => i.tags)).toEqual([['latest']]);
  });

  it('keeps only the largest N images when asked for fewer', () => {
    // Act
    const summary = summarizeRepository(API_FACTS, NOW, 2);
    // Assess
    expect(summary.largest.map((i) => i.bytes)).toEqual([300_000_000, 200_000_000]);
  });

  it('omits verdict counts when the verdict table was not read', () => {
    // Act
    const summary = summarizeRepository({ ...API_FACTS, verdicts: undefined }, NOW);
    // Assess
    expect(summary.verdicts).toBeUndefined();
  });
});

describe('pullAgeBucket', () => {
  it.each([
    [undefined, 'never'],
    ['2026-12-06T11:00:00Z', '0-7'],
    ['2026-11-28T12:00:01Z', '0-7'],
    ['2026-11-28T12:00:00Z', '8-30'],
    ['2026-11-05T12:00:01Z', '8-30'],
    ['2026-11-05T12:00:00Z', '31-90'],
    ['2026-09-07T12:00:00Z', '31-90'],
    ['2026-09-07T11:59:59Z', '31-90'],
    ['2026-09-06T12:00:00Z', '90+'],
  ])('puts a pull at %s in bucket %s (whole days since the pull)', (pulled, bucket) => {
    // Act
    const got = pullAgeBucket(pulled === undefined ? undefined : Date.parse(pulled), NOW);
    // Assess
    expect(got).toBe(bucket);
  });
});

describe('summarizeDeletions', () => {
  it('totals the period by principal, by day (empty days included) and by repository when deletions precede it', () => {
    // Act
    const audit = summarizeDeletions(DELETIONS, SINCE, NOW);
    // Assess: the deletion of 2026-10-01 is before the period.
    expect(audit.deletes).toBe(3);
    expect(audit.bytes).toBe(55_000_000);
    expect(audit.byPrincipal).toEqual([
      { principal: 'ECR Steward', deletes: 1, bytes: 40_000_000 },
      { principal: ALICE, deletes: 2, bytes: 15_000_000 },
    ]);
    expect(audit.byDay.map((d) => [d.day, d.deletes, d.bytes])).toEqual([
      ['2026-11-29', 0, 0],
      ['2026-11-30', 0, 0],
      ['2026-12-01', 0, 0],
      ['2026-12-02', 0, 0],
      ['2026-12-03', 0, 0],
      ['2026-12-04', 1, 10_000_000],
      ['2026-12-05', 2, 45_000_000],
      ['2026-12-06', 0, 0],
    ]);
    expect(audit.byRepository).toEqual({
      'services/api': { deletes: 2, bytes: 50_000_000 },
      'tools/ci': { deletes: 1, bytes: 5_000_000 },
    });
  });

  it('keeps a repository named like an Object.prototype member in its own entry', () => {
    // Act
    const audit = summarizeDeletions(
      [
        {
          repository: 'constructor',
          digest: 'sha256:1',
          at: '2026-12-01T00:00:00.000Z',
          bytes: 7,
          principal: 'x',
        },
      ],
      SINCE,
      NOW,
    );
    // Assess
    expect(Object.hasOwn(audit.byRepository, 'constructor')).toBe(true);
    expect(audit.byRepository.constructor).toEqual({ deletes: 1, bytes: 7 });
  });
});

describe('principalOf', () => {
  it.each([
    [{ type: 'principal' as const, principal: ALICE }, ALICE],
    [{ type: 'principal' as const }, 'unknown principal'],
    [{ type: 'ecr-steward' as const }, 'ECR Steward'],
    [{ type: 'ecr-lifecycle' as const }, 'ECR lifecycle policy'],
    [{ type: 'unknown' as const }, 'unknown'],
  ])('names the actor %o as %s', (actor, name) => {
    // Act / Assess
    expect(principalOf(actor)).toBe(name);
  });
});

describe('priceFor', () => {
  it('uses the config price when the config names the region', () => {
    // Prepare
    const config = validateConfig(
      {
        selections: [{ repositories: ['x/*'], lifecyclePolicy: 'fromRepository' }],
        report: { prices: { 'eu-west-1': { standardPerGbMonth: 0.08, archivePerGbMonth: 0.02 } } },
      },
      'test',
    );
    // Act / Assess
    expect(priceFor('eu-west-1', config.report)).toEqual({
      standardPerGbMonth: 0.08,
      archivePerGbMonth: 0.02,
      source: 'config',
    });
    expect(priceFor('us-east-1', config.report)).toEqual({
      standardPerGbMonth: 0.1,
      archivePerGbMonth: 0.1,
      source: 'built-in',
    });
  });

  it('has no price for a partition outside the built-in table when the config names none', () => {
    // Act / Assess
    expect(priceFor('cn-north-1', {})).toBeUndefined();
    expect(priceFor('us-gov-west-1', {})).toBeUndefined();
    expect(Object.keys(BUILT_IN_PRICES)).toContain('ap-southeast-7');
  });
});

describe('monthlyCost', () => {
  it('prices standard and archive bytes per GB-month of 2^30 bytes', () => {
    // Act / Assess
    expect(
      monthlyCost(
        { standard: 2 * GIB, archive: 10 * GIB },
        { standardPerGbMonth: 0.1, archivePerGbMonth: 0.07 },
      ),
    ).toBeCloseTo(0.9, 12);
  });
});

describe('buildReport', () => {
  it('adds the repositories up, largest first, with costs, verdicts and the period deletions when every source was read', () => {
    // Act
    const report = fixtureReport();
    // Assess
    expect(report.repositories.map((r) => [r.name, r.monthlyCost, r.reclaimed])).toEqual([
      ['services/api', (650_000_000 / GIB) * 0.1, { deletes: 2, bytes: 50_000_000 }],
      ['tools/ci', (10_000_000 / GIB) * 0.1, { deletes: 1, bytes: 5_000_000 }],
    ]);
    expect(report.totals).toEqual({
      repositories: 2,
      managedRepositories: 1,
      images: 6,
      archivedImages: 1,
      standardBytes: 610_000_000,
      archiveBytes: 50_000_000,
      reclaimableBytes: 100_000_000,
      reclaimableImages: 1,
      archivableBytes: 0,
      repositoriesWithoutPlan: 1,
      monthlyCost: (660_000_000 / GIB) * 0.1,
      reclaimableMonthlyCost: (100_000_000 / GIB) * 0.1,
      neverPulled: 2,
      pullAge: { '0-7': 1, '8-30': 1, '31-90': 1, '90+': 1, never: 2 },
      untagged: 1,
      untaggedShare: 1 / 6,
      verdicts: { PASS: 1, FAIL: 1, PENDING: 0, unscanned: 4 },
    });
    expect(report.largest.map((i) => `${i.repository} ${i.bytes}`)).toEqual([
      'services/api 300000000',
      'services/api 200000000',
      'services/api 100000000',
      'services/api 50000000',
      'tools/ci 10000000',
    ]);
    expect(report.verdicts).toEqual({ available: true });
    expect(report.audit).toMatchObject({ available: true, deletes: 3, bytes: 55_000_000 });
    expect(report.price).toEqual({ standardPerGbMonth: 0.1, archivePerGbMonth: 0.1, source: 'built-in' });
  });

  it('says why verdicts, the audit and prices are not available instead of reporting zeros', () => {
    // Act
    const report = fixtureReport({
      region: 'cn-north-1',
      price: undefined,
      verdictsUnavailable: 'no verdict table: pass --verdict-table or set VERDICT_TABLE_NAME',
      audit: { unavailable: 'no audit table: pass --audit-table or set AUDIT_TABLE_NAME' },
    });
    // Assess
    expect(report.price).toEqual({
      available: false,
      reason: 'no built-in ECR price for cn-north-1: set report.prices["cn-north-1"] in the config',
    });
    expect(report.verdicts).toEqual({
      available: false,
      reason: 'no verdict table: pass --verdict-table or set VERDICT_TABLE_NAME',
    });
    expect(report.audit).toEqual({
      available: false,
      reason: 'no audit table: pass --audit-table or set AUDIT_TABLE_NAME',
    });
    expect(report.totals.monthlyCost).toBeNull();
    expect(report.totals.verdicts).toBeUndefined();
    expect(report.repositories.every((r) => r.monthlyCost === null && r.reclaimed === null)).toBe(true);
  });

  it('reports an empty registry with zero totals and a zero untagged share', () => {
    // Act
    const report = fixtureReport({ repositories: [] });
    // Assess
    expect(report.totals).toMatchObject({ repositories: 0, images: 0, untaggedShare: 0, monthlyCost: 0 });
    expect(report.largest).toEqual([]);
  });
});
