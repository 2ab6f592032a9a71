/**
 * evaluateGate: (gate policy, findings, now) → verdict. Every policy feature at its exact boundary, the scan
 * statuses with the grace window, the order of the blocking findings, the policy hash, and properties that must
 * hold for any policy and any findings (fast-check).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Finding, ScanStatus } from '../../functions/scan-gate/findings.js';
import { evaluateGate, type GateInput, policyHash } from '../../functions/scan-gate/gate.js';
import {
  type AllowlistEntry,
  type GatePolicyInput,
  SEVERITIES,
  type Severity,
} from '../../functions/scan-gate/policy.js';
import { COMPLETE, finding, findings, NOW, policy, REPO } from './helpers.js';

const MINUTE = 60_000;

function evaluate(
  policyInput: GatePolicyInput,
  found: readonly Finding[],
  extra: Partial<Omit<GateInput, 'policy' | 'findings'>> = {},
) {
  return evaluateGate({
    policy: policy(policyInput),
    repository: REPO,
    imageTags: ['v1'],
    scanStatus: 'COMPLETE',
    findings: found,
    completeness: COMPLETE,
    now: NOW,
    ...extra,
  });
}

const entry = (cve: string, extra: Partial<AllowlistEntry> = {}): AllowlistEntry => ({
  cve,
  reason: 'not reachable from our code',
  owner: 'security@example.com',
  expiresAt: '2026-12-31T00:00:00Z',
  ...extra,
});

describe('maxFindings', () => {
  it.each(SEVERITIES)('%s: exactly the maximum passes, one more fails', (severity) => {
    // Prepare
    const limit = { maxFindings: { [severity]: 2 } };

    // Act
    const atMax = evaluate(limit, findings(2, severity));
    const overMax = evaluate(limit, findings(3, severity));

    // Assess
    expect(atMax.verdict).toBe('PASS');
    expect(atMax.counts).toEqual({ [severity]: 2 });
    expect(atMax.blocking).toEqual([]);
    expect(overMax.verdict).toBe('FAIL');
    expect(overMax.reasons).toContain(`3 ${severity} findings (at most 2 allowed)`);
    expect(overMax.blocking).toHaveLength(3);
  });

  it('defaults to no CRITICAL and no HIGH finding, other severities unlimited', () => {
    // Act
    const medium = evaluate({}, findings(25, 'MEDIUM'));
    const critical = evaluate({}, [finding('CVE-2024-3094', 'CRITICAL', { packageName: 'xz-utils' })]);
    const high = evaluate({}, findings(1, 'HIGH'));

    // Assess
    expect(medium.verdict).toBe('PASS');
    expect(medium.summary).toBe('PASS: 25 finding(s) within the policy');
    expect(critical.verdict).toBe('FAIL');
    expect(critical.reasons[0]).toBe('1 CRITICAL finding (at most 0 allowed)');
    expect(critical.summary).toBe(
      'FAIL: 1 CRITICAL finding (at most 0 allowed) — worst: CVE-2024-3094 (CRITICAL in xz-utils)',
    );
    expect(high.verdict).toBe('FAIL');
  });

  it('blocks only the findings of the severities over their limit', () => {
    // Act
    const verdict = evaluate({ maxFindings: { HIGH: 1, MEDIUM: 5 } }, [
      ...findings(2, 'HIGH'),
      ...findings(3, 'MEDIUM'),
    ]);

    // Assess
    expect(verdict.verdict).toBe('FAIL');
    expect(verdict.counts).toEqual({ HIGH: 2, MEDIUM: 3 });
    expect(verdict.blocking.map((f) => f.severity)).toEqual(['HIGH', 'HIGH']);
  });
});

describe('blockCvssAtOrAbove and blockEpssAtOrAbove', () => {
  it('blocks a CVSS exactly at the threshold and passes one just below it', () => {
    // Prepare
    const limit = { maxFindings: {}, blockCvssAtOrAbove: 7 };

    // Act
    const at = evaluate(limit, [finding('CVE-A', 'MEDIUM', { cvss: 7 })]);
    const below = evaluate(limit, [finding('CVE-B', 'MEDIUM', { cvss: 6.9 })]);
    const unknown = evaluate(limit, [finding('CVE-C', 'MEDIUM')]);

    // Assess
    expect(at.verdict).toBe('FAIL');
    expect(at.reasons).toEqual(['1 finding(s) with CVSS ≥ 7']);
    expect(at.blocking.map((f) => f.id)).toEqual(['CVE-A']);
    expect(below.verdict).toBe('PASS');
    expect(unknown.verdict).toBe('PASS');
  });

  it('blocks an EPSS exactly at the threshold and passes one just below it', () => {
    // Prepare
    const limit = { maxFindings: {}, blockEpssAtOrAbove: 0.5 };

    // Act
    const at = evaluate(limit, [finding('CVE-A', 'LOW', { epss: 0.5 })]);
    const below = evaluate(limit, [finding('CVE-B', 'LOW', { epss: 0.4999 })]);
    const unknown = evaluate(limit, [finding('CVE-C', 'LOW')]);

    // Assess
    expect(at.verdict).toBe('FAIL');
    expect(at.reasons).toEqual(['1 finding(s) with EPSS ≥ 0.5']);
    expect(below.verdict).toBe('PASS');
    expect(unknown.verdict).toBe('PASS');
  });

  it('lists a finding once when it breaks several rules', () => {
    // Act
    const verdict = evaluate({ blockCvssAtOrAbove: 9, blockEpssAtOrAbove: 0.9 }, [
      finding('CVE-1', 'CRITICAL', { cvss: 9.8, epss: 0.97 }),
    ]);

    // Assess
    expect(verdict.reasons).toHaveLength(3);
    expect(verdict.blocking).toHaveLength(1);
  });
});

describe('ignoreUnfixed', () => {
  it('ignores findings with no fix available, and only those', () => {
    // Prepare
    const found = [
      finding('CVE-NOFIX', 'CRITICAL', { fixAvailable: false }),
      finding('CVE-FIX', 'HIGH', { fixAvailable: true }),
      finding('CVE-UNKNOWN', 'HIGH'),
    ];

    // Act
    const ignoring = evaluate({ ignoreUnfixed: true }, found);
    const counting = evaluate({ ignoreUnfixed: false }, found);

    // Assess
    expect(ignoring.counts).toEqual({ HIGH: 2 });
    expect(ignoring.blocking.map((f) => f.id)).toEqual(['CVE-FIX', 'CVE-UNKNOWN']);
    expect(ignoring.reasons).toContain('1 finding(s) without a fix ignored');
    expect(counting.counts).toEqual({ CRITICAL: 1, HIGH: 2 });
  });

  it('turns an image whose only blocking finding has no fix into a PASS', () => {
    expect(
      evaluate({ ignoreUnfixed: true }, [finding('CVE-1', 'CRITICAL', { fixAvailable: false })]).verdict,
    ).toBe('PASS');
  });
});

describe('allowlist', () => {
  it('matches the CVE id case-insensitively', () => {
    // Prepare
    const allowlist = [entry('cve-2024-3094')];

    // Act
    const verdict = evaluate({ allowlist }, [finding('CVE-2024-3094', 'CRITICAL')]);

    // Assess
    expect(verdict.verdict).toBe('PASS');
    expect(verdict.allowlisted).toEqual([
      { finding: finding('CVE-2024-3094', 'CRITICAL'), entry: allowlist[0] },
    ]);
    expect(verdict.reasons).toEqual(['1 finding(s) allowlisted']);
    expect(verdict.counts).toEqual({});
  });

  it('does not cover another CVE', () => {
    expect(
      evaluate({ allowlist: [entry('CVE-2024-3094')] }, [finding('CVE-2024-3095', 'CRITICAL')]).verdict,
    ).toBe('FAIL');
  });

  it('applies to the repositories its globs match only', () => {
    // Prepare
    const allowlist = [entry('CVE-1', { repositories: ['services/*', 'tools/lint'] })];
    const found = [finding('CVE-1', 'CRITICAL')];

    // Act / Assess
    expect(evaluate({ allowlist }, found, { repository: 'services/orders' }).verdict).toBe('PASS');
    expect(evaluate({ allowlist }, found, { repository: 'services/a/b' }).verdict).toBe('PASS');
    expect(evaluate({ allowlist }, found, { repository: 'tools/lint' }).verdict).toBe('PASS');
    expect(evaluate({ allowlist }, found, { repository: 'web' }).verdict).toBe('FAIL');
    expect(evaluate({ allowlist }, found, { repository: 'tools/lint-2' }).verdict).toBe('FAIL');
  });

  it('applies to the packages it names only', () => {
    // Prepare
    const allowlist = [entry('CVE-1', { packages: ['xz-utils'] })];

    // Act
    const verdict = evaluate({ allowlist }, [
      finding('CVE-1', 'CRITICAL', { packageName: 'xz-utils' }),
      finding('CVE-1', 'CRITICAL', { packageName: 'xz-libs' }),
      finding('CVE-1', 'CRITICAL'),
    ]);

    // Assess
    expect(verdict.allowlisted.map((a) => a.finding.packageName)).toEqual(['xz-utils']);
    expect(verdict.counts).toEqual({ CRITICAL: 2 });
    expect(verdict.verdict).toBe('FAIL');
  });

  it('stops applying at the exact instant it expires, and still applies 1 ms before', () => {
    // Prepare
    const expiresAt = '2026-06-01T12:00:00.000Z';
    const allowlist = [entry('CVE-1', { expiresAt })];
    const found = [finding('CVE-1', 'CRITICAL')];

    // Act
    const atExpiry = evaluate({ allowlist }, found, { now: new Date(expiresAt) });
    const justBefore = evaluate({ allowlist }, found, { now: new Date(Date.parse(expiresAt) - 1) });

    // Assess
    expect(atExpiry.verdict).toBe('FAIL');
    expect(atExpiry.allowlisted).toEqual([]);
    expect(atExpiry.expiredAllowlist).toEqual([allowlist[0]]);
    expect(atExpiry.reasons).toContain(
      `allowlist entry for CVE-1 (owner security@example.com) expired ${expiresAt}`,
    );
    expect(justBefore.verdict).toBe('PASS');
    expect(justBefore.expiredAllowlist).toEqual([]);
  });

  it('reads a date-only expiresAt as the start of that day, UTC', () => {
    // Prepare
    const allowlist = [entry('CVE-1', { expiresAt: '2026-06-01' })];
    const found = [finding('CVE-1', 'CRITICAL')];

    // Act / Assess
    expect(evaluate({ allowlist }, found, { now: new Date('2026-05-31T23:59:59.999Z') }).verdict).toBe(
      'PASS',
    );
    expect(evaluate({ allowlist }, found, { now: new Date('2026-06-01T00:00:00.000Z') }).verdict).toBe(
      'FAIL',
    );
  });

  it('prefers a live entry over an expired one for the same CVE, without a reminder', () => {
    // Prepare
    const allowlist = [
      entry('CVE-1', { expiresAt: '2026-01-01T00:00:00Z', owner: 'old@example.com' }),
      entry('CVE-1', { expiresAt: '2027-01-01T00:00:00Z', owner: 'new@example.com' }),
    ];

    // Act
    const verdict = evaluate({ allowlist }, [finding('CVE-1', 'CRITICAL')]);

    // Assess
    expect(verdict.verdict).toBe('PASS');
    expect(verdict.allowlisted[0]?.entry.owner).toBe('new@example.com');
    expect(verdict.expiredAllowlist).toEqual([]);
  });

  it('reminds of an expired entry once, however many findings it matched, and not when it matches none', () => {
    // Prepare
    const allowlist = [
      entry('CVE-1', { expiresAt: '2026-01-01T00:00:00Z' }),
      entry('CVE-9', { expiresAt: '2026-01-01' }),
    ];

    // Act
    const verdict = evaluate({ allowlist }, [
      finding('CVE-1', 'LOW', { packageName: 'a' }),
      finding('CVE-1', 'LOW', { packageName: 'b' }),
    ]);

    // Assess
    expect(verdict.expiredAllowlist).toEqual([allowlist[0]]);
  });

  it('allowlists before ignoring unfixed findings', () => {
    // Act
    const verdict = evaluate({ ignoreUnfixed: true, allowlist: [entry('CVE-1')] }, [
      finding('CVE-1', 'CRITICAL', { fixAvailable: false }),
    ]);

    // Assess
    expect(verdict.allowlisted).toHaveLength(1);
    expect(verdict.reasons).toEqual(['1 finding(s) allowlisted']);
  });
});

describe('exemptTags', () => {
  it('passes an image carrying a tag matching an exempt glob, whatever its findings or scan status', () => {
    // Prepare
    const exempt = { exemptTags: ['hotfix-*', 'debug'] };

    // Act
    const withFindings = evaluate(exempt, findings(3, 'CRITICAL'), { imageTags: ['v1', 'hotfix-42'] });
    const failedScan = evaluate(exempt, [], { imageTags: ['debug'], scanStatus: 'FAILED' });

    // Assess
    expect(withFindings).toMatchObject({
      verdict: 'PASS',
      summary: 'PASS: tag hotfix-42 is exempt from the gate',
      reasons: ['tag hotfix-42 is exempt'],
      counts: {},
      blocking: [],
    });
    expect(failedScan.verdict).toBe('PASS');
  });

  it('does not exempt an image whose tags match no exempt glob', () => {
    expect(
      evaluate({ exemptTags: ['hotfix-*'] }, findings(1, 'CRITICAL'), { imageTags: ['v1', 'my-hotfix'] })
        .verdict,
    ).toBe('FAIL');
  });
});

describe('finding status', () => {
  it('does not count CLOSED or SUPPRESSED findings; ACTIVE and status-less (basic) ones count', () => {
    // Act
    const verdict = evaluate({}, [
      finding('CVE-CLOSED', 'CRITICAL', { status: 'CLOSED' }),
      finding('CVE-SUPPRESSED', 'CRITICAL', { status: 'SUPPRESSED' }),
      finding('CVE-ACTIVE', 'HIGH', { status: 'ACTIVE' }),
      finding('CVE-BASIC', 'HIGH'),
    ]);

    // Assess
    expect(verdict.counts).toEqual({ HIGH: 2 });
    expect(verdict.blocking.map((f) => f.id)).toEqual(['CVE-ACTIVE', 'CVE-BASIC']);
    expect(verdict.reasons).toContain('2 closed or suppressed finding(s) not counted');
  });

  it('passes an image whose only findings are closed or suppressed', () => {
    expect(
      evaluate({}, [
        finding('CVE-1', 'CRITICAL', { status: 'CLOSED' }),
        finding('CVE-2', 'CRITICAL', { status: 'SUPPRESSED' }),
      ]).verdict,
    ).toBe('PASS');
  });
});

describe('scan status', () => {
  const ONE_HOUR_AGO = NOW.getTime() - 60 * MINUTE;

  it('judges findings when the scan is COMPLETE or ACTIVE (continuous scanning)', () => {
    expect(evaluate({}, findings(1, 'CRITICAL'), { scanStatus: 'COMPLETE' }).verdict).toBe('FAIL');
    expect(evaluate({}, findings(1, 'CRITICAL'), { scanStatus: 'ACTIVE' }).verdict).toBe('FAIL');
    expect(evaluate({}, [], { scanStatus: 'COMPLETE' }).verdict).toBe('PASS');
  });

  it('maps FAILED to onScanStatus.failed (FAIL by default), even inside the grace window', () => {
    // Act
    const byDefault = evaluate({}, [], { scanStatus: 'FAILED', pushedAt: NOW.getTime() - MINUTE });
    const passing = evaluate({ onScanStatus: { failed: 'PASS' } }, [], { scanStatus: 'FAILED' });
    const pending = evaluate({ onScanStatus: { failed: 'PENDING' } }, [], { scanStatus: 'FAILED' });

    // Assess
    expect(byDefault).toMatchObject({
      verdict: 'FAIL',
      summary: 'FAIL: scan status FAILED (policy says FAIL)',
      reasons: ['scan status FAILED; the policy maps it to FAIL'],
      counts: {},
      blocking: [],
    });
    expect(passing.verdict).toBe('PASS');
    expect(pending.verdict).toBe('PENDING');
  });

  it('maps UNSUPPORTED_IMAGE to onScanStatus.unsupported (PASS by default)', () => {
    expect(evaluate({}, [], { scanStatus: 'UNSUPPORTED_IMAGE' }).verdict).toBe('PASS');
    expect(
      evaluate({ onScanStatus: { unsupported: 'FAIL' } }, [], { scanStatus: 'UNSUPPORTED_IMAGE' }).verdict,
    ).toBe('FAIL');
  });

  it.each<ScanStatus>(['MISSING', 'IN_PROGRESS', 'PENDING'])(
    '%s is PENDING inside the grace window and onScanStatus.missing from its exact end on',
    (scanStatus) => {
      // Prepare: missing → FAIL, so the end of the grace window is visible.
      const strict = { graceMinutes: 60, onScanStatus: { missing: 'FAIL' as const } };

      // Act
      const justInside = evaluate(strict, [], { scanStatus, pushedAt: ONE_HOUR_AGO + 1 });
      const atEnd = evaluate(strict, [], { scanStatus, pushedAt: ONE_HOUR_AGO });

      // Assess
      expect(justInside.verdict).toBe('PENDING');
      expect(justInside.summary).toBe(
        `PENDING: scan ${scanStatus.toLowerCase()}, within the 60-minute grace window`,
      );
      expect(atEnd.verdict).toBe('FAIL');
      expect(atEnd.reasons).toEqual([`scan status ${scanStatus}; the policy maps it to FAIL`]);
    },
  );

  it('maps a missing scan to PENDING by default after the grace window', () => {
    expect(evaluate({}, [], { scanStatus: 'MISSING', pushedAt: ONE_HOUR_AGO - MINUTE }).verdict).toBe(
      'PENDING',
    );
    expect(
      evaluate({ onScanStatus: { missing: 'PASS' } }, [], { scanStatus: 'MISSING', pushedAt: ONE_HOUR_AGO })
        .verdict,
    ).toBe('PASS');
  });

  it('has no grace window when the push time is unknown or graceMinutes is 0', () => {
    // Prepare
    const strict = { onScanStatus: { missing: 'FAIL' as const } };

    // Act / Assess
    expect(evaluate(strict, [], { scanStatus: 'MISSING' }).verdict).toBe('FAIL');
    expect(
      evaluate({ ...strict, graceMinutes: 0 }, [], { scanStatus: 'IN_PROGRESS', pushedAt: NOW.getTime() })
        .verdict,
    ).toBe('FAIL');
  });

  it('maps FINDINGS_UNAVAILABLE like a missing scan, and other statuses to PENDING', () => {
    // Prepare
    const strict = { onScanStatus: { missing: 'FAIL' as const } };

    // Act / Assess
    expect(evaluate(strict, [], { scanStatus: 'FINDINGS_UNAVAILABLE' }).verdict).toBe('FAIL');
    for (const scanStatus of ['SCAN_ELIGIBILITY_EXPIRED', 'LIMIT_EXCEEDED', 'IMAGE_ARCHIVED'] as const)
      expect(evaluate(strict, findings(1, 'CRITICAL'), { scanStatus }).verdict).toBe('PENDING');
  });
});

describe('blocking', () => {
  it('orders the blocking findings most severe first, then by CVSS, then by id', () => {
    // Prepare
    const found = [
      finding('CVE-LOW', 'LOW', { cvss: 9.9 }),
      finding('CVE-H-B', 'HIGH', { cvss: 7.5 }),
      finding('CVE-C-LOW', 'CRITICAL', { cvss: 9.0 }),
      finding('CVE-H-A', 'HIGH', { cvss: 7.5 }),
      finding('CVE-C-TOP', 'CRITICAL', { cvss: 10 }),
      finding('CVE-H-NONE', 'HIGH'),
      finding('CVE-UNTRIAGED', 'UNTRIAGED', { cvss: 9.5 }),
      finding('CVE-MEDIUM', 'MEDIUM', { cvss: 5 }),
    ];

    // Act
    const verdict = evaluate({ maxFindings: { CRITICAL: 0, HIGH: 0 }, blockCvssAtOrAbove: 9 }, found);

    // Assess: the MEDIUM finding is neither over a limit nor over the CVSS threshold.
    expect(verdict.blocking.map((f) => f.id)).toEqual([
      'CVE-C-TOP',
      'CVE-C-LOW',
      'CVE-H-A',
      'CVE-H-B',
      'CVE-H-NONE',
      'CVE-LOW',
      'CVE-UNTRIAGED',
    ]);
    expect(verdict.summary).toContain('worst: CVE-C-TOP (CRITICAL)');
  });
});

describe('policyHash', () => {
  it('is 16 hex characters, the same for the same policy and on the verdict', () => {
    // Prepare
    const input: GatePolicyInput = { maxFindings: { CRITICAL: 0 }, allowlist: [entry('CVE-1')] };

    // Act
    const hash = policyHash(policy(input));

    // Assess
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
    expect(policyHash(policy(structuredClone(input)))).toBe(hash);
    expect(evaluate(input, []).policyHash).toBe(hash);
    expect(evaluate(input, [], { scanStatus: 'FAILED' }).policyHash).toBe(hash);
  });

  it('does not depend on the order the policy was written in', () => {
    // Prepare
    const a: GatePolicyInput = {
      maxFindings: { CRITICAL: 0, HIGH: 2 },
      ignoreUnfixed: true,
      exemptTags: ['hotfix-*'],
    };
    const b: GatePolicyInput = {
      exemptTags: ['hotfix-*'],
      ignoreUnfixed: true,
      maxFindings: { HIGH: 2, CRITICAL: 0 },
    };

    // Act / Assess
    expect(policyHash(policy(a))).toBe(policyHash(policy(b)));
  });

  it('changes when any part of the policy changes', () => {
    // Prepare
    const variants: GatePolicyInput[] = [
      {},
      { maxFindings: { CRITICAL: 1, HIGH: 0 } },
      { blockCvssAtOrAbove: 9 },
      { blockEpssAtOrAbove: 0.9 },
      { ignoreUnfixed: true },
      { allowlist: [entry('CVE-1')] },
      { allowlist: [entry('CVE-1', { expiresAt: '2027-01-01' })] },
      { exemptTags: ['debug'] },
      { onScanStatus: { failed: 'PASS' } },
      { graceMinutes: 30 },
    ];

    // Act
    const hashes = variants.map((v) => policyHash(policy(v)));

    // Assess
    expect(new Set(hashes).size).toBe(variants.length);
  });
});

describe('properties', () => {
  const CVES = ['CVE-2024-0001', 'CVE-2024-0002', 'CVE-2024-0003', 'CVE-2024-0004'];
  const PACKAGES = ['openssl', 'zlib', 'xz-utils'];
  const severity = fc.constantFrom<Severity>(...SEVERITIES);
  const arbFinding: fc.Arbitrary<Finding> = fc.record(
    {
      id: fc.constantFrom(...CVES),
      severity,
      packageName: fc.constantFrom(...PACKAGES),
      cvss: fc.integer({ min: 0, max: 100 }).map((n) => n / 10),
      epss: fc.integer({ min: 0, max: 1000 }).map((n) => n / 1000),
      fixAvailable: fc.boolean(),
      status: fc.constantFrom('ACTIVE', 'SUPPRESSED', 'CLOSED'),
    },
    { requiredKeys: ['id', 'severity'] },
  );
  const arbEntry: fc.Arbitrary<AllowlistEntry> = fc.record(
    {
      cve: fc.constantFrom(...CVES, ...CVES.map((c) => c.toLowerCase())),
      repositories: fc.constantFrom(['services/*'], ['web'], [REPO]),
      packages: fc.subarray(PACKAGES, { minLength: 1 }),
      reason: fc.constant('accepted risk'),
      owner: fc.constantFrom('a@example.com', 'b@example.com'),
      expiresAt: fc.constantFrom(
        '2026-06-01T12:00:00.000Z',
        '2026-06-01T11:59:59.999Z',
        '2026-06-01T12:00:00.001Z',
        '2027-01-01',
        '2025-01-01',
      ),
    },
    { requiredKeys: ['cve', 'reason', 'owner', 'expiresAt'] },
  );
  const arbPolicy: fc.Arbitrary<GatePolicyInput> = fc.record(
    {
      maxFindings: fc.dictionary(severity, fc.integer({ min: 0, max: 3 })),
      blockCvssAtOrAbove: fc.integer({ min: 0, max: 100 }).map((n) => n / 10),
      blockEpssAtOrAbove: fc.integer({ min: 0, max: 100 }).map((n) => n / 100),
      ignoreUnfixed: fc.boolean(),
      allowlist: fc.array(arbEntry, { maxLength: 3 }),
      exemptTags: fc.constantFrom([], ['hotfix-*']),
    },
    { requiredKeys: [] },
  );
  const arbStatus = fc.constantFrom<ScanStatus>(
    'COMPLETE',
    'ACTIVE',
    'FAILED',
    'MISSING',
    'UNSUPPORTED_IMAGE',
  );
  const arbTags = fc.constantFrom(['v1'], ['hotfix-1'], []);
  const arbRepo = fc.constantFrom(REPO, 'web');

  it('adding a finding never turns FAIL into PASS', () => {
    fc.assert(
      fc.property(
        arbPolicy,
        fc.array(arbFinding, { maxLength: 8 }),
        arbFinding,
        arbStatus,
        arbTags,
        arbRepo,
        (p, found, extra, scanStatus, imageTags, repository) => {
          const before = evaluate(p, found, { scanStatus, imageTags, repository });
          const after = evaluate(p, [...found, extra], { scanStatus, imageTags, repository });
          if (before.verdict === 'FAIL') expect(after.verdict).toBe('FAIL');
        },
      ),
    );
  });

  it('allowlisting never turns PASS into FAIL', () => {
    fc.assert(
      fc.property(
        arbPolicy,
        fc.array(arbFinding, { maxLength: 8 }),
        arbEntry,
        arbStatus,
        arbTags,
        arbRepo,
        (p, found, added, scanStatus, imageTags, repository) => {
          const before = evaluate(p, found, { scanStatus, imageTags, repository });
          const after = evaluate({ ...p, allowlist: [...(p.allowlist ?? []), added] }, found, {
            scanStatus,
            imageTags,
            repository,
          });
          if (before.verdict === 'PASS') expect(after.verdict).toBe('PASS');
        },
      ),
    );
  });

  it('a judged scan fails exactly when something blocks, and blocking is ordered most severe first', () => {
    const rank = (s: Severity) => SEVERITIES.indexOf(s);
    fc.assert(
      fc.property(arbPolicy, fc.array(arbFinding, { maxLength: 10 }), arbRepo, (p, found, repository) => {
        const verdict = evaluate(p, found, { repository, imageTags: ['v1'] });
        expect(verdict.verdict === 'FAIL').toBe(verdict.blocking.length > 0);
        for (let i = 1; i < verdict.blocking.length; i++)
          expect(rank(verdict.blocking[i - 1]!.severity)).toBeLessThanOrEqual(
            rank(verdict.blocking[i]!.severity),
          );
        const counted = Object.values(verdict.counts).reduce((a, b) => a + b, 0);
        expect(counted + verdict.allowlisted.length).toBeLessThanOrEqual(found.length);
      }),
    );
  });

  it('is a pure function of its input', () => {
    fc.assert(
      fc.property(arbPolicy, fc.array(arbFinding, { maxLength: 8 }), arbStatus, (p, found, scanStatus) => {
        expect(evaluate(p, found, { scanStatus })).toEqual(
          evaluate(p, structuredClone(found), { scanStatus }),
        );
      }),
    );
  });
});
