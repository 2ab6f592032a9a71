/**
 * normaliseFindings: DescribeImageScanFindings output, basic (`findings[]`, package and CVSS in `attributes`)
 * and enhanced (`enhancedFindings[]` from Inspector), reduced to the one shape the gate judges; completeness:
 * the recorded shapes of incomplete scan data (test/fixtures/findings) are never complete; readScanFindings:
 * bounded re-reads while the data is incomplete.
 */
import { describe, expect, it, vi } from 'vitest';
import {
  completeness,
  normaliseFindings,
  readScanFindings,
  SCAN_REREAD,
  type ScanFindingsOutput,
  scanFindingsOutputSchema,
} from '../../functions/scan-gate/findings.js';
import { loadEvent } from '../fixtures/events.js';
import { type FindingsFixture, loadFindings, loadFindingsPages } from './helpers.js';

const normalise = (output: ScanFindingsOutput) => normaliseFindings(scanFindingsOutputSchema.parse(output));

/** An enhanced output with one finding built from `finding`. */
const enhanced = (finding: Record<string, unknown>, status = 'ACTIVE'): ScanFindingsOutput => ({
  imageScanStatus: { status },
  imageScanFindings: { enhancedFindings: [finding as never] },
});

const pkg = (name: string, version: string, fixedInVersion?: string) => ({
  name,
  version,
  packageManager: 'OS',
  ...(fixedInVersion === undefined ? {} : { fixedInVersion }),
});

describe('normaliseFindings: basic scanning', () => {
  it('reads the published basic sample: package name and version, CVSS from the attributes', () => {
    // Act
    const { status, findings } = normalise(loadFindings('basic'));

    // Assess
    expect(status).toBe('COMPLETE');
    expect(findings).toEqual([
      {
        id: 'CVE-2019-5188',
        severity: 'MEDIUM',
        packageName: 'e2fsprogs',
        packageVersion: '1.44.1-1ubuntu1.1',
        cvss: 4.6,
        cvssNvd: 4.6,
        cvssMax: 4.6,
      },
    ]);
  });

  it('prefers CVSS3_SCORE over CVSS2_SCORE and leaves the score unknown when neither is given', () => {
    // Prepare
    const output: ScanFindingsOutput = {
      imageScanStatus: { status: 'COMPLETE' },
      imageScanFindings: {
        findings: [
          {
            name: 'CVE-1',
            severity: 'HIGH',
            attributes: [
              { key: 'CVSS2_SCORE', value: '5' },
              { key: 'CVSS3_SCORE', value: '9.8' },
            ],
          },
          { name: 'CVE-2', severity: 'LOW', attributes: [{ key: 'package_name', value: 'zlib' }] },
          { name: 'CVE-3', severity: 'LOW' },
        ],
      },
    };

    // Act
    const { findings } = normalise(output);

    // Assess
    expect(findings.map((f) => [f.cvss, f.cvssNvd, f.cvssMax])).toEqual([
      [9.8, 9.8, 9.8],
      [undefined, undefined, undefined],
      [undefined, undefined, undefined],
    ]);
    expect(findings[1]).toEqual({
      id: 'CVE-2',
      severity: 'LOW',
      packageName: 'zlib',
      packageVersion: undefined,
      cvss: undefined,
    });
  });

  it('upper-cases severities and maps unknown or missing ones to UNDEFINED', () => {
    // Prepare
    const output: ScanFindingsOutput = {
      imageScanStatus: { status: 'COMPLETE' },
      imageScanFindings: {
        findings: [
          { name: 'a', severity: 'critical' },
          { name: 'b', severity: 'Informational' },
          { name: 'c', severity: 'SEVERE' },
          { name: 'd' },
        ],
      },
    };

    // Act / Assess
    expect(normalise(output).findings.map((f) => f.severity)).toEqual([
      'CRITICAL',
      'INFORMATIONAL',
      'UNDEFINED',
      'UNDEFINED',
    ]);
  });

  it('gives basic findings no status, so the gate counts every one of them', () => {
    expect(normalise(loadFindings('basic')).findings[0]?.status).toBeUndefined();
  });
});

describe('normaliseFindings: enhanced scanning', () => {
  it("reads the published enhanced sample: NotAvailable means no fix, Inspector's score is the CVSS", () => {
    // Act
    const { status, findings } = normalise(loadFindings('enhanced'));

    // Assess
    expect(status).toBe('ACTIVE');
    expect(findings).toEqual([
      {
        id: 'CVE-2022-49043',
        severity: 'HIGH',
        packageName: 'libxml2',
        packageVersion: '2.9.14+dfsg',
        fixedInVersion: undefined,
        fixAvailable: false,
        cvss: 8.1,
        cvssNvd: 8.1,
        cvssMax: 8.1,
        epss: undefined,
        status: 'ACTIVE',
      },
    ]);
  });

  it('fans out one finding per vulnerable package (the 2024 Inspector ECR finding)', () => {
    // Prepare: the detail of an Inspector2 Finding event has the enhanced finding's shape.
    const detail = loadEvent('eventbridge/inspector2-finding-ecr-2024.json').detail;

    // Act
    const { findings } = normalise(enhanced(detail));

    // Assess: empty cvss[] and no score leave the CVSS unknown; epss and fixAvailable YES carry over.
    expect(findings).toEqual(
      ['libssl3t64', 'openssl'].map((name) => ({
        id: 'CVE-2024-6119',
        severity: 'MEDIUM',
        packageName: name,
        packageVersion: '3.0.13',
        fixedInVersion: '0:3.0.13-0ubuntu3.4',
        fixAvailable: true,
        cvss: undefined,
        epss: 0.00045,
        status: 'ACTIVE',
      })),
    );
  });

  it("scores the 2021 event's finding 6.5 by Inspector, 8.1 by NVD's newest version, 8.1 at most", () => {
    // Prepare: an Inspector2 Finding event names the score inspectorScore (ECR names it score).
    const detail = loadEvent('eventbridge/inspector2-finding-ecr.json').detail;

    // Act
    const [finding] = normalise(enhanced(detail)).findings;

    // Assess: base scores REDHAT_CVE 6.5 (3.0), NVD 5.8 (2.0), NVD 8.1 (3.1); no fix information: unknown.
    expect(finding).toMatchObject({
      id: 'CVE-2019-17498',
      severity: 'MEDIUM',
      packageName: 'libssh2',
      packageVersion: '1.4.3',
      cvss: 6.5,
      cvssNvd: 8.1,
      cvssMax: 8.1,
      fixAvailable: undefined,
      fixedInVersion: undefined,
    });
  });

  it('scores the same finding alike in the shape DescribeImageScanFindings gives it (score, scoreDetails)', () => {
    // Act
    const [finding] = normalise(loadFindings('enhanced-inspector-vs-nvd')).findings;

    // Assess
    expect([finding?.cvss, finding?.cvssNvd, finding?.cvssMax]).toEqual([6.5, 8.1, 8.1]);
  });

  it('without an Inspector score, takes the score of the source Inspector took the finding from', () => {
    // Prepare: the SDK gives score 0 when Inspector gave none.
    const finding = {
      severity: 'HIGH',
      score: 0,
      packageVulnerabilityDetails: {
        vulnerabilityId: 'CVE-5',
        source: 'DEBIAN_CVE',
        cvss: [
          { baseScore: 9.8, source: 'NVD', version: '3.1' },
          { baseScore: 5.5, source: 'DEBIAN_CVE', version: '3.1' },
          { baseScore: 7.0, source: 'NVD', version: '2.0' },
        ],
      },
    };

    // Act / Assess
    const [f] = normalise(enhanced(finding)).findings;
    expect([f?.cvss, f?.cvssNvd, f?.cvssMax]).toEqual([5.5, 9.8, 9.8]);
  });

  it('with no score of its own source either, falls back to NVD, and NVD to the scanner', () => {
    // Prepare
    const nvdOnly = {
      severity: 'HIGH',
      packageVulnerabilityDetails: {
        vulnerabilityId: 'CVE-6',
        source: 'ALPINE_SECDB',
        cvss: [{ baseScore: 7.5, source: 'NVD', version: '3.1' }],
      },
    };
    const inspectorOnly = {
      severity: 'HIGH',
      score: 4.2,
      packageVulnerabilityDetails: { vulnerabilityId: 'CVE-8' },
    };

    // Act
    const [a] = normalise(enhanced(nvdOnly)).findings;
    const [b] = normalise(enhanced(inspectorOnly)).findings;

    // Assess
    expect([a?.cvss, a?.cvssNvd, a?.cvssMax]).toEqual([7.5, 7.5, 7.5]);
    expect([b?.cvss, b?.cvssNvd, b?.cvssMax]).toEqual([4.2, 4.2, 4.2]);
  });

  it('uses the finding score when it is above every base score', () => {
    // Prepare
    const finding = {
      severity: 'HIGH',
      score: 9.1,
      packageVulnerabilityDetails: { vulnerabilityId: 'CVE-9', cvss: [{ baseScore: 7 }, { baseScore: 8 }] },
    };

    // Act / Assess
    expect(normalise(enhanced(finding)).findings[0]).toMatchObject({ cvss: 9.1, cvssNvd: 9.1, cvssMax: 9.1 });
  });

  it('keeps one finding, without a package, when no vulnerable package is listed', () => {
    // Prepare
    const finding = { severity: 'LOW', packageVulnerabilityDetails: { vulnerabilityId: 'CVE-7' } };

    // Act
    const { findings } = normalise(enhanced(finding));

    // Assess
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ id: 'CVE-7', severity: 'LOW', packageName: undefined });
  });

  it('names a finding without a vulnerability id by its title', () => {
    // Prepare
    const finding = { severity: 'LOW', title: 'Weak configuration' };

    // Act / Assess
    expect(normalise(enhanced(finding)).findings[0]?.id).toBe('Weak configuration');
  });

  it.each([
    ['YES', true],
    ['PARTIAL', true],
    ['NO', false],
    ['no', false],
  ])('reads fixAvailable %s as %s', (fixAvailable, expected) => {
    // Prepare
    const finding = {
      severity: 'HIGH',
      fixAvailable,
      packageVulnerabilityDetails: { vulnerabilityId: 'CVE-1', vulnerablePackages: [pkg('a', '1')] },
    };

    // Act / Assess
    expect(normalise(enhanced(finding)).findings[0]?.fixAvailable).toBe(expected);
  });

  it('derives the fix from fixedInVersion when fixAvailable is absent', () => {
    // Prepare
    const finding = {
      severity: 'HIGH',
      packageVulnerabilityDetails: {
        vulnerabilityId: 'CVE-1',
        vulnerablePackages: [
          pkg('fixed', '1.0', '1.1'),
          pkg('unfixed', '2.0', 'NotAvailable'),
          pkg('unknown', '3'),
        ],
      },
    };

    // Act
    const { findings } = normalise(enhanced(finding));

    // Assess
    expect(findings.map((f) => [f.packageName, f.fixAvailable, f.fixedInVersion])).toEqual([
      ['fixed', true, '1.1'],
      ['unfixed', false, undefined],
      ['unknown', undefined, undefined],
    ]);
  });

  it('with fixAvailable PARTIAL, a package whose fixedInVersion is NotAvailable has no fix', () => {
    // Prepare: PARTIAL means some of the vulnerable packages have a fix and some do not.
    const finding = {
      severity: 'HIGH',
      fixAvailable: 'PARTIAL',
      packageVulnerabilityDetails: {
        vulnerabilityId: 'CVE-2',
        vulnerablePackages: [pkg('openssl', '3.0.13', '3.0.14'), pkg('libssl', '3.0.13', 'NotAvailable')],
      },
    };

    // Act
    const { findings } = normalise(enhanced(finding));

    // Assess
    expect(findings.map((f) => [f.packageName, f.fixAvailable, f.fixedInVersion])).toEqual([
      ['openssl', true, '3.0.14'],
      ['libssl', false, undefined],
    ]);
  });

  it.each(['ACTIVE', 'SUPPRESSED', 'CLOSED'])('carries the finding status %s', (status) => {
    // Prepare
    const finding = { severity: 'HIGH', status, packageVulnerabilityDetails: { vulnerabilityId: 'CVE-1' } };

    // Act / Assess
    expect(normalise(enhanced(finding)).findings[0]?.status).toBe(status);
  });

  it('accepts UNTRIAGED, an Inspector severity basic scanning does not have', () => {
    expect(normalise(enhanced({ severity: 'UNTRIAGED' })).findings[0]?.severity).toBe('UNTRIAGED');
  });
});

describe('normaliseFindings: scan status', () => {
  it('is MISSING when the output has no imageScanStatus', () => {
    expect(normalise({})).toEqual({
      status: 'MISSING',
      findings: [],
      completeness: { complete: true, problems: [] },
    });
  });

  it('passes a finished scan with nothing found through when it says when it finished', () => {
    // Prepare
    const output: ScanFindingsOutput = {
      imageScanStatus: { status: 'COMPLETE' },
      imageScanFindings: { imageScanCompletedAt: 1579839105.0, findingSeverityCounts: {}, findings: [] },
    };

    // Act / Assess
    expect(normalise(output)).toEqual({
      status: 'COMPLETE',
      findings: [],
      completeness: { complete: true, problems: [], completedAt: 1579839105000 },
    });
  });

  it('does not take COMPLETE with nothing listed and no completion time for a clean scan (aws/aws-sdk#289)', () => {
    // Act
    const scan = normalise(loadFindings('enhanced-complete-empty-aws-sdk-289'));

    // Assess
    expect(scan.status).toBe('COMPLETE');
    expect(scan.findings).toEqual([]);
    expect(scan.completeness).toEqual({
      complete: false,
      problems: ['status COMPLETE without imageScanCompletedAt'],
    });
  });

  it.each(['FAILED', 'UNSUPPORTED_IMAGE', 'IN_PROGRESS', 'PENDING', 'FINDINGS_UNAVAILABLE'])(
    'passes %s through',
    (status) => {
      expect(normalise({ imageScanStatus: { status, description: 'x' } }).status).toBe(status);
    },
  );

  it('accepts imageScanCompletedAt as epoch seconds, ISO text or a Date (CLI output and SDK objects)', () => {
    for (const imageScanCompletedAt of [1579839105.0, '2025-06-09T07:08:40.144000+00:00', new Date(0)]) {
      expect(
        scanFindingsOutputSchema.safeParse({ imageScanFindings: { imageScanCompletedAt, findings: [] } })
          .success,
      ).toBe(true);
    }
  });

  it('rejects a basic finding without a name', () => {
    expect(
      scanFindingsOutputSchema.safeParse({ imageScanFindings: { findings: [{ severity: 'HIGH' }] } }).success,
    ).toBe(false);
  });
});

describe('completeness', () => {
  const check = (output: ScanFindingsOutput) => completeness(scanFindingsOutputSchema.parse(output));

  /** A finished enhanced scan listing `found` against `counts`. */
  const scan = (
    found: readonly Record<string, unknown>[],
    counts: Record<string, number> | undefined,
    status = 'ACTIVE',
  ): ScanFindingsOutput => ({
    imageScanStatus: { status },
    imageScanFindings: {
      imageScanCompletedAt: '2026-06-01T11:00:00Z',
      enhancedFindings: found as never[],
      ...(counts === undefined ? {} : { findingSeverityCounts: counts }),
    },
  });
  const high = (status?: string) => ({
    severity: 'HIGH',
    ...(status === undefined ? {} : { status }),
    packageVulnerabilityDetails: { vulnerabilityId: 'CVE-1' },
  });

  it.each<[FindingsFixture, number]>([
    ['basic', 1579839105000],
    ['enhanced', Date.parse('2025-06-09T07:08:40.144Z')],
    ['enhanced-inspector-vs-nvd', Date.parse('2021-12-03T18:02:30Z')],
  ])('finds the published sample %s complete, finished at its imageScanCompletedAt', (file, completedAt) => {
    expect(check(loadFindings(file))).toEqual({ complete: true, problems: [], completedAt });
  });

  it.each<[FindingsFixture, string[]]>([
    ['enhanced-complete-empty-aws-sdk-289', ['status COMPLETE without imageScanCompletedAt']],
    ['enhanced-active-old-client-aws-cli-6759', ['status ACTIVE without imageScanCompletedAt']],
    ['enhanced-complete-counts-without-findings', ['findingSeverityCounts says 1 HIGH, 0 listed']],
    ['basic-counts-without-findings', ['findingSeverityCounts says 1 MEDIUM, 0 listed']],
    ['basic-missing-completion-time', ['status COMPLETE without imageScanCompletedAt']],
    ['basic-unknown-status', ['unknown scan status "SCAN_DEFERRED"']],
  ])('finds the recorded shape %s incomplete: %j', (file, problems) => {
    // Act
    const result = check(loadFindings(file));

    // Assess
    expect(result.complete).toBe(false);
    expect(result.problems).toEqual(problems);
  });

  it('finds findings with a severity the gate does not know incomplete, though the counts match them', () => {
    // Prepare: a scanner severity the API does not document, counted by the scan itself as well
    const output = {
      imageScanStatus: { status: 'COMPLETE' },
      imageScanFindings: {
        imageScanCompletedAt: 1_780_000_000,
        findingSeverityCounts: { SEVERE: 1, HIGH: 1 },
        findings: [
          { name: 'CVE-2026-9999', severity: 'Severe', attributes: [] },
          { name: 'CVE-2026-0001', severity: 'HIGH', attributes: [] },
        ],
      },
    };

    // Act
    const result = check(output as ScanFindingsOutput);

    // Assess
    expect(result).toEqual({
      complete: false,
      problems: ['findings with a severity the gate does not know: "SEVERE"'],
      completedAt: 1_780_000_000_000,
    });
  });

  it('finds one page of several incomplete: the nextToken, and fewer findings than its counts', () => {
    // Prepare
    const [first] = loadFindingsPages('basic-pages-short');

    // Act
    const result = check(first as ScanFindingsOutput);

    // Assess
    expect(result.problems).toEqual([
      'only one page was read (the output has a nextToken)',
      'findingSeverityCounts says 1 HIGH, 0 listed',
      'findingSeverityCounts says 2 MEDIUM, 1 listed',
    ]);
  });

  it('finds more findings than counted incomplete: pages of two scans were mixed', () => {
    expect(check(scan([high(), high()], { HIGH: 1 })).problems).toEqual([
      'findingSeverityCounts says 1 HIGH, 2 listed',
    ]);
  });

  it('says when the scan changed while its pages were read', () => {
    // Prepare
    const output = { ...scan([high()], { HIGH: 1 }), read: { pages: 2, changedDuringRead: true } };

    // Act / Assess
    expect(check(output).problems).toEqual(['the scan changed while its 2 pages were read']);
  });

  it('finds listed findings without counts incomplete, and no findings without counts complete', () => {
    expect(check(scan([high()], undefined)).problems).toEqual([
      '1 finding(s) listed without findingSeverityCounts to check them against',
    ]);
    expect(check(scan([], undefined)).complete).toBe(true);
  });

  it('reports a completion time that is not a time', () => {
    // Prepare
    const output: ScanFindingsOutput = {
      imageScanStatus: { status: 'COMPLETE' },
      imageScanFindings: { imageScanCompletedAt: 'yesterday', findings: [] },
    };

    // Act / Assess
    expect(check(output)).toEqual({
      complete: false,
      problems: ['imageScanCompletedAt "yesterday" is not a time'],
      completedAt: undefined,
    });
  });

  it('accepts counts that count every finding or only the ACTIVE ones', () => {
    // Prepare: one ACTIVE and one SUPPRESSED HIGH finding.
    const found = [high('ACTIVE'), high('SUPPRESSED')];

    // Act / Assess
    expect(check(scan(found, { HIGH: 2 })).complete).toBe(true);
    expect(check(scan(found, { HIGH: 1 })).complete).toBe(true);
    expect(check(scan(found, { HIGH: 3 })).complete).toBe(false);
  });

  it('counts findings as listed, not fanned out per vulnerable package', () => {
    // Prepare: one finding, two vulnerable packages.
    const finding = {
      severity: 'HIGH',
      packageVulnerabilityDetails: {
        vulnerabilityId: 'CVE-1',
        vulnerablePackages: [{ name: 'a' }, { name: 'b' }],
      },
    };

    // Act / Assess
    expect(check(scan([finding], { HIGH: 1 })).complete).toBe(true);
    expect(normalise(scan([finding], { HIGH: 1 })).findings).toHaveLength(2);
  });

  it('takes explicit zeros, a TOTAL, and UNTRIAGED or no severity counted as UNDEFINED', () => {
    // Prepare
    const found = [high(), { severity: 'UNTRIAGED' }, {}];

    // Act / Assess
    expect(check(scan(found, { CRITICAL: 0, HIGH: 1, UNDEFINED: 2, TOTAL: 3 })).complete).toBe(true);
    expect(check(scan(found, { HIGH: 1, UNDEFINED: 2, TOTAL: 4 })).problems).toEqual([
      'findingSeverityCounts says 4 in total, 3 listed',
    ]);
  });

  it.each(['IN_PROGRESS', 'PENDING', 'FAILED', 'UNSUPPORTED_IMAGE', 'MISSING', 'FINDINGS_UNAVAILABLE'])(
    'leaves %s to the gate: its findings are not judged',
    (status) => {
      expect(check({ imageScanStatus: { status } })).toEqual({ complete: true, problems: [] });
    },
  );
});

describe('readScanFindings', () => {
  /** A read that answers `outputs` in turn (the last one again when they run out), and counts its calls. */
  function reads(...outputs: ScanFindingsOutput[]) {
    let calls = 0;
    const read = async () => structuredClone(outputs[Math.min(calls++, outputs.length - 1)]!);
    return { read, calls: () => calls };
  }

  it('reads a complete scan once and never sleeps', async () => {
    // Prepare
    const { read, calls } = reads(loadFindings('basic'));
    const sleep = vi.fn(async (_ms: number) => {});

    // Act
    const scan = await readScanFindings(read, { attempts: 3, delayMs: 2000, sleep });

    // Assess
    expect(scan.reads).toBe(1);
    expect(scan.completeness.complete).toBe(true);
    expect(scan.findings.map((f) => f.id)).toEqual(['CVE-2019-5188']);
    expect(calls()).toBe(1);
    expect(sleep).not.toHaveBeenCalled();
  });

  it('reads again, delayMs apart, until the findings are listed (aws/aws-sdk#289)', async () => {
    // Prepare: COMPLETE with nothing listed twice, then the findings.
    const empty = loadFindings('enhanced-complete-empty-aws-sdk-289');
    const { read, calls } = reads(empty, empty, loadFindings('enhanced'));
    const sleep = vi.fn(async (_ms: number) => {});

    // Act
    const scan = await readScanFindings(read, { attempts: 3, delayMs: 2000, sleep });

    // Assess
    expect(scan.reads).toBe(3);
    expect(scan.completeness.complete).toBe(true);
    expect(scan.findings.map((f) => f.id)).toEqual(['CVE-2022-49043']);
    expect(calls()).toBe(3);
    expect(sleep.mock.calls).toEqual([[2000], [2000]]);
  });

  it('stops after attempts reads and returns the last, still incomplete, read', async () => {
    // Prepare
    const { read, calls } = reads(loadFindings('basic-counts-without-findings'));
    const sleep = vi.fn(async (_ms: number) => {});

    // Act
    const scan = await readScanFindings(read, { attempts: 3, delayMs: 500, sleep });

    // Assess
    expect(scan.reads).toBe(3);
    expect(scan.completeness).toEqual({
      complete: false,
      problems: ['findingSeverityCounts says 1 MEDIUM, 0 listed'],
      completedAt: 1579839105000,
    });
    expect(calls()).toBe(3);
    expect(sleep.mock.calls).toEqual([[500], [500]]);
  });

  it('does not read again a scan that is not finished: the grace window waits for it', async () => {
    // Prepare
    const { read, calls } = reads({ imageScanStatus: { status: 'IN_PROGRESS' } });

    // Act
    const scan = await readScanFindings(read, { attempts: 3, delayMs: 1, sleep: async () => {} });

    // Assess
    expect([scan.status, scan.reads, calls()]).toEqual(['IN_PROGRESS', 1, 1]);
  });

  it('reads once with attempts 1 (or less)', async () => {
    // Prepare
    const { read, calls } = reads(loadFindings('basic-missing-completion-time'));
    const sleep = vi.fn(async (_ms: number) => {});

    // Act
    await readScanFindings(read, { attempts: 0, delayMs: 1, sleep });

    // Assess
    expect(calls()).toBe(1);
    expect(sleep).not.toHaveBeenCalled();
  });

  it('throws what the read throws, and an output that is not DescribeImageScanFindings output', async () => {
    // Prepare
    const options = { attempts: 3, delayMs: 1, sleep: async () => {} };

    // Act / Assess
    await expect(readScanFindings(() => Promise.reject(new Error('throttled')), options)).rejects.toThrow(
      'throttled',
    );
    await expect(
      readScanFindings(
        async () => ({ imageScanFindings: { findings: [{ severity: 'HIGH' }] } }) as never,
        options,
      ),
    ).rejects.toThrow(/name/);
  });

  it('waits with a real timer by default: 3 reads 2 s apart', async () => {
    // Prepare
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    const { read, calls } = reads(loadFindings('basic-missing-completion-time'));

    try {
      // Act
      const pending = readScanFindings(read);
      await vi.advanceTimersByTimeAsync(1999);
      const before = calls();
      await vi.advanceTimersByTimeAsync(2001);
      const scan = await pending;

      // Assess
      expect(SCAN_REREAD).toEqual({ attempts: 3, delayMs: 2000 });
      expect(before).toBe(1);
      expect(scan.reads).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });
});
