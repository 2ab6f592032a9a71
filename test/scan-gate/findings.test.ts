/**
 * normaliseFindings: DescribeImageScanFindings output, basic (`findings[]`, package and CVSS in `attributes`)
 * and enhanced (`enhancedFindings[]` from Inspector), reduced to the one shape the gate judges.
 */
import { describe, expect, it } from 'vitest';
import {
  normaliseFindings,
  type ScanFindingsOutput,
  scanFindingsOutputSchema,
} from '../../functions/scan-gate/findings.js';
import { loadEvent } from '../fixtures/events.js';
import { loadFindings } from './helpers.js';

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
    expect(findings.map((f) => f.cvss)).toEqual([9.8, undefined, undefined]);
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
  it('reads the published enhanced sample: NotAvailable means no fix, the score is the CVSS', () => {
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

  it('takes the highest of the cvss[] base scores and the Inspector score (the 2021 sample)', () => {
    // Prepare
    const detail = loadEvent('eventbridge/inspector2-finding-ecr.json').detail;

    // Act
    const [finding] = normalise(enhanced(detail)).findings;

    // Assess: base scores 6.5, 5.8 and 8.1; no fixedInVersion and no fixAvailable: fix unknown.
    expect(finding).toMatchObject({
      id: 'CVE-2019-17498',
      severity: 'MEDIUM',
      packageName: 'libssh2',
      packageVersion: '1.4.3',
      cvss: 8.1,
      fixAvailable: undefined,
      fixedInVersion: undefined,
    });
  });

  it('uses the finding score when it is above every base score', () => {
    // Prepare
    const finding = {
      severity: 'HIGH',
      score: 9.1,
      packageVulnerabilityDetails: { vulnerabilityId: 'CVE-9', cvss: [{ baseScore: 7 }, { baseScore: 8 }] },
    };

    // Act / Assess
    expect(normalise(enhanced(finding)).findings[0]?.cvss).toBe(9.1);
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
    expect(normalise({})).toEqual({ status: 'MISSING', findings: [] });
  });

  it('passes COMPLETE with no findings through as a finished scan with nothing found', () => {
    // Prepare: enhanced scanning can report COMPLETE before any finding exists (aws/aws-sdk#289).
    const output: ScanFindingsOutput = {
      imageScanStatus: { status: 'COMPLETE' },
      imageScanFindings: { findingSeverityCounts: {} },
    };

    // Act / Assess
    expect(normalise(output)).toEqual({ status: 'COMPLETE', findings: [] });
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
