/**
 * evaluateGate: (gate policy, findings, now) → verdict. Every policy feature at its exact boundary, the scan
 * statuses with the grace window, incomplete scan data (PENDING, then FAIL after the grace window, never PASS),
 * the CVSS source, the order of the blocking findings, the policy hash, and properties that must hold for any
 * policy and any findings (fast-check).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Completeness,
  type CvssSource,
  type Finding,
  normaliseFindings,
  type ScanFindingsOutput,
  type ScanStatus,
  scanFindingsOutputSchema,
} from '../../functions/scan-gate/findings.js';
import { evaluateGate, type GateInput, policyHash } from '../../functions/scan-gate/gate.js';
import {
  type AllowlistEntry,
  type GatePolicyInput,
  SEVERITIES,
  type Severity,
} from '../../functions/scan-gate/policy.js';
import {
  COMPLETE,
  type FindingsFixture,
  finding,
  findings,
  loadFindings,
  NOW,
  policy,
  REPO,
} from './helpers.js';

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

describe('incomplete scan data', () => {
  const HIGH_MISSING = 'findingSeverityCounts says 1 HIGH, 0 listed';
  const incomplete = (problem = HIGH_MISSING, completedAt?: number): Completeness => ({
    complete: false,
    problems: [problem],
    completedAt,
  });
  const iso = (ms: number) => new Date(ms).toISOString();

  it('is PENDING within the grace window from the push, with a reason starting "scan data incomplete: "', () => {
    // Prepare
    const pushedAt = NOW.getTime() - 60 * MINUTE + 1;

    // Act
    const verdict = evaluate({}, [], { completeness: incomplete(), pushedAt });

    // Assess
    expect(verdict.verdict).toBe('PENDING');
    expect(verdict.summary).toBe(`PENDING: scan data incomplete: ${HIGH_MISSING}`);
    expect(verdict.reasons).toEqual([
      `scan data incomplete: ${HIGH_MISSING}`,
      `within the 60-minute grace window from the image's push at ${iso(pushedAt)}`,
    ]);
    expect(verdict.blocking).toEqual([]);
  });

  it('is FAIL from the exact end of the grace window, saying how long the data has been incomplete', () => {
    // Prepare
    const pushedAt = NOW.getTime() - 61 * MINUTE;
    const problem = 'status COMPLETE without imageScanCompletedAt';

    // Act
    const atEnd = evaluate({}, [], {
      completeness: incomplete(problem),
      pushedAt: NOW.getTime() - 60 * MINUTE,
    });
    const after = evaluate({}, [], { completeness: incomplete(problem), pushedAt });

    // Assess
    expect(atEnd.verdict).toBe('FAIL');
    expect(after.verdict).toBe('FAIL');
    expect(after.summary).toBe(`FAIL: scan data still incomplete after 61 minutes: ${problem}`);
    expect(after.reasons).toEqual([
      `scan data still incomplete after 61 minutes: ${problem}`,
      `the 60-minute grace window from the image's push at ${iso(pushedAt)} has passed`,
    ]);
  });

  it("runs the window from the scan's completion when it is later than the push (a re-scan of an old image)", () => {
    // Prepare
    const pushedAt = NOW.getTime() - 365 * 24 * 60 * MINUTE;
    const recent = NOW.getTime() - 10 * MINUTE;
    const earlier = NOW.getTime() - 120 * MINUTE;

    // Act
    const rescanned = evaluate({}, [], { completeness: incomplete(HIGH_MISSING, recent), pushedAt });
    const longAgo = evaluate({}, [], { completeness: incomplete(HIGH_MISSING, earlier), pushedAt });

    // Assess
    expect(rescanned.verdict).toBe('PENDING');
    expect(rescanned.reasons[1]).toBe(
      `within the 60-minute grace window from the scan's completion at ${iso(recent)}`,
    );
    expect(longAgo.verdict).toBe('FAIL');
    expect(longAgo.summary).toBe(`FAIL: scan data still incomplete after 120 minutes: ${HIGH_MISSING}`);
  });

  it('does not believe a completion time in the future: the window runs from the push', () => {
    // Prepare
    const pushedAt = NOW.getTime() - 120 * MINUTE;

    // Act
    const verdict = evaluate({}, [], {
      completeness: incomplete(HIGH_MISSING, NOW.getTime() + 60 * MINUTE),
      pushedAt,
    });

    // Assess
    expect(verdict.verdict).toBe('FAIL');
    expect(verdict.reasons[1]).toBe(
      `the 60-minute grace window from the image's push at ${iso(pushedAt)} has passed`,
    );
  });

  it('stays PENDING with neither a push nor a completion time (an offline file): no window to end', () => {
    // Act
    const verdict = evaluate({}, [], { completeness: incomplete() });

    // Assess
    expect(verdict.verdict).toBe('PENDING');
    expect(verdict.reasons).toEqual([
      `scan data incomplete: ${HIGH_MISSING}`,
      'no push or completion time to start the grace window from',
    ]);
  });

  it('fails at once when the findings listed already fail, and says the data is incomplete', () => {
    // Act
    const verdict = evaluate({}, findings(1, 'CRITICAL'), {
      completeness: incomplete(),
      pushedAt: NOW.getTime(),
    });

    // Assess
    expect(verdict.verdict).toBe('FAIL');
    expect(verdict.reasons).toEqual([
      '1 CRITICAL finding (at most 0 allowed)',
      `scan data incomplete: ${HIGH_MISSING}`,
    ]);
    expect(verdict.blocking.map((f) => f.id)).toEqual(['CVE-2026-CRITICAL-0']);
  });

  it('judges a status the API does not document as incomplete data, not as a scan status', () => {
    // Prepare
    const output = scanFindingsOutputSchema.parse(loadFindings('basic-unknown-status'));
    const { status, findings: found, completeness } = normaliseFindings(output);

    // Act
    const young = evaluate({}, found, { scanStatus: status, completeness, pushedAt: NOW.getTime() - MINUTE });
    const old = evaluate({}, found, {
      scanStatus: status,
      completeness,
      pushedAt: NOW.getTime() - 90 * MINUTE,
    });

    // Assess
    expect(young.summary).toBe('PENDING: scan data incomplete: unknown scan status "SCAN_DEFERRED"');
    expect(old.summary).toBe(
      'FAIL: scan data still incomplete after 90 minutes: unknown scan status "SCAN_DEFERRED"',
    );
  });

  it.each<FindingsFixture>([
    'enhanced-complete-empty-aws-sdk-289',
    'enhanced-active-old-client-aws-cli-6759',
    'enhanced-complete-counts-without-findings',
    'basic-counts-without-findings',
    'basic-missing-completion-time',
    'basic-unknown-status',
  ])('never passes the recorded shape %s: PENDING after the push, FAIL two days later', (file) => {
    // Prepare
    const {
      status,
      findings: found,
      completeness,
    } = normaliseFindings(scanFindingsOutputSchema.parse(loadFindings(file)));
    const judge = (pushedAt: number) =>
      evaluate({}, found, { scanStatus: status, completeness, pushedAt, now: NOW });

    // Act
    const fresh = judge(NOW.getTime() - 5 * MINUTE);
    const stale = judge(NOW.getTime() - 2 * 24 * 60 * MINUTE);

    // Assess
    expect(fresh.verdict).toBe('PENDING');
    expect(fresh.summary).toMatch(/^PENDING: scan data incomplete: /);
    expect(stale.verdict).toBe('FAIL');
    expect(stale.summary).toMatch(/^FAIL: scan data still incomplete after 2880 minutes: /);
  });
});

describe('cvssSource', () => {
  const judge = (cvssSource: CvssSource | undefined) => {
    const {
      status,
      findings: found,
      completeness,
    } = normaliseFindings(scanFindingsOutputSchema.parse(loadFindings('enhanced-inspector-vs-nvd')));
    return evaluate({ maxFindings: {}, blockCvssAtOrAbove: 7 }, found, {
      scanStatus: status,
      completeness,
      cvssSource,
    });
  };

  it("passes a finding Amazon Inspector scores 6.5 under blockCvssAtOrAbove 7 though NVD's vector says 8.1", () => {
    // Act
    const byDefault = judge(undefined);
    const scanner = judge('scanner');

    // Assess
    expect(byDefault.verdict).toBe('PASS');
    expect(byDefault.summary).toBe('PASS: 1 finding(s) within the policy');
    expect(scanner).toEqual(byDefault);
  });

  it.each<[CvssSource, string]>([
    ['nvd', "1 finding(s) with CVSS ≥ 7 (NVD's score)"],
    ['max', '1 finding(s) with CVSS ≥ 7 (the highest score of any source)'],
  ])('fails the same finding with cvssSource %s', (source, reason) => {
    // Act
    const verdict = judge(source);

    // Assess
    expect(verdict.verdict).toBe('FAIL');
    expect(verdict.reasons).toEqual([reason]);
    expect(verdict.blocking.map((f) => f.id)).toEqual(['CVE-2019-17498']);
  });

  it('orders blocking findings of one severity by the score of the chosen source', () => {
    // Prepare
    const found = [
      finding('CVE-A', 'HIGH', { cvss: 8, cvssNvd: 6, cvssMax: 8 }),
      finding('CVE-B', 'HIGH', { cvss: 5, cvssNvd: 9, cvssMax: 9 }),
    ];

    // Act
    const scanner = evaluate({}, found, { cvssSource: 'scanner' });
    const nvd = evaluate({}, found, { cvssSource: 'nvd' });

    // Assess
    expect(scanner.blocking.map((f) => f.id)).toEqual(['CVE-A', 'CVE-B']);
    expect(nvd.blocking.map((f) => f.id)).toEqual(['CVE-B', 'CVE-A']);
  });

  it('falls back to the scanner score when the finding has none from the chosen source', () => {
    // Act
    const verdict = evaluate(
      { maxFindings: {}, blockCvssAtOrAbove: 7 },
      [finding('CVE-C', 'LOW', { cvss: 7.2 })],
      {
        cvssSource: 'nvd',
      },
    );

    // Assess
    expect(verdict.verdict).toBe('FAIL');
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

describe('property: incomplete data never passes', () => {
  const SEVERITY_NAMES = [
    'CRITICAL',
    'HIGH',
    'MEDIUM',
    'LOW',
    'INFORMATIONAL',
    'UNDEFINED',
    'UNTRIAGED',
    'SEVERE',
  ];
  const COUNTED = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL'];
  const arbBasic = fc.record({
    name: fc.constantFrom('CVE-2024-0001', 'CVE-2024-0002', 'CVE-2024-0003'),
    severity: fc.constantFrom(...SEVERITY_NAMES),
    attributes: fc.constantFrom(
      [],
      [{ key: 'CVSS3_SCORE', value: '9.8' }],
      [{ key: 'CVSS2_SCORE', value: '4.3' }],
    ),
  });
  const arbEnhanced = fc.record({
    severity: fc.constantFrom(...SEVERITY_NAMES),
    status: fc.constantFrom('ACTIVE', 'SUPPRESSED', 'CLOSED'),
    score: fc.integer({ min: 0, max: 100 }).map((n) => n / 10),
    fixAvailable: fc.constantFrom('YES', 'NO', 'PARTIAL'),
    packageVulnerabilityDetails: fc.record({
      vulnerabilityId: fc.constantFrom('CVE-2024-0001', 'CVE-2024-0002'),
      vulnerablePackages: fc.array(fc.record({ name: fc.constantFrom('openssl', 'zlib') }), { maxLength: 2 }),
    }),
  });
  /** A finished scan's whole finding list of one kind, and a strict subset of it: at least one left out. */
  const arbScan = fc
    .tuple(
      fc.oneof(
        fc
          .array(arbBasic, { minLength: 1, maxLength: 12 })
          .map((all) => ({ kind: 'findings' as const, all })),
        fc
          .array(arbEnhanced, { minLength: 1, maxLength: 12 })
          .map((all) => ({ kind: 'enhancedFindings' as const, all })),
      ),
      fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
      fc.nat(),
      fc.constantFrom('COMPLETE', 'ACTIVE'),
      fc.option(fc.integer({ min: -3 * 24 * 60, max: 10 }), { nil: undefined }),
      fc.boolean(),
    )
    .map(([{ kind, all }, keep, dropped, status, completedMinutesAgo, withTotal]): ScanFindingsOutput => {
      const counts: Record<string, number> = {};
      for (const f of all) {
        const s = COUNTED.includes(f.severity) ? f.severity : 'UNDEFINED';
        counts[s] = (counts[s] ?? 0) + 1;
      }
      if (withTotal) counts.TOTAL = all.length;
      const listed = all.filter((_, i) => i !== dropped % all.length && keep[i]);
      return {
        imageScanStatus: { status },
        imageScanFindings: {
          ...(completedMinutesAgo === undefined
            ? {}
            : { imageScanCompletedAt: (NOW.getTime() + completedMinutesAgo * MINUTE) / 1000 }),
          findingSeverityCounts: counts,
          [kind]: listed,
        },
      };
    });
  const arbPolicy: fc.Arbitrary<GatePolicyInput> = fc.record(
    {
      maxFindings: fc.dictionary(fc.constantFrom<Severity>(...SEVERITIES), fc.integer({ min: 0, max: 20 })),
      blockCvssAtOrAbove: fc.integer({ min: 0, max: 100 }).map((n) => n / 10),
      ignoreUnfixed: fc.boolean(),
      allowlist: fc.constantFrom(
        [],
        [{ cve: 'CVE-2024-0001', reason: 'accepted', owner: 'a@example.com', expiresAt: '2027-01-01' }],
      ),
      graceMinutes: fc.integer({ min: 0, max: 24 * 60 }),
    },
    { requiredKeys: [] },
  );

  it('for any finished scan listing a strict subset of what its counts say, the verdict is never PASS', () => {
    fc.assert(
      fc.property(
        arbScan,
        arbPolicy,
        fc.option(fc.integer({ min: 0, max: 4 * 24 * 60 }), { nil: undefined }),
        fc.constantFrom<CvssSource>('scanner', 'nvd', 'max'),
        (output, p, pushedMinutesAgo, cvssSource) => {
          const {
            status,
            findings: found,
            completeness,
          } = normaliseFindings(scanFindingsOutputSchema.parse(output));
          const verdict = evaluate(p, found, {
            scanStatus: status,
            completeness,
            cvssSource,
            pushedAt: pushedMinutesAgo === undefined ? undefined : NOW.getTime() - pushedMinutesAgo * MINUTE,
          });
          expect(completeness.complete).toBe(false);
          expect(verdict.verdict).not.toBe('PASS');
        },
      ),
      { numRuns: 500 },
    );
  });
});
