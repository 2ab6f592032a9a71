/**
 * `ecr-steward gate evaluate`, run as a user runs it (test/cli/run-cli.ts spawns bin/ecr-steward.js): judges
 * AWS's published DescribeImageScanFindings samples (test/fixtures/findings) against a policy file, offline.
 * Exit codes are what a pipeline branches on: 0 PASS, 1 FAIL, 3 PENDING, 2 bad input.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { policyHash } from '../../functions/scan-gate/gate.js';
import type { GatePolicyInput } from '../../functions/scan-gate/policy.js';
import { removeTempFiles, runCli, tempFiles } from '../cli/run-cli.js';
import { FINDINGS_FILE, policy } from './helpers.js';

afterAll(removeTempFiles);

const JSON_KEYS = [
  'verdict',
  'summary',
  'reasons',
  'counts',
  'blocking',
  'allowlisted',
  'expiredAllowlist',
  'policyHash',
];

/** Writes the policy to a temporary file and runs `gate evaluate` on a findings file. */
async function evaluate(policyInput: GatePolicyInput | string, findings: string, ...extra: string[]) {
  const dir = await tempFiles({ 'policy.json': policyInput });
  return runCli(['gate', 'evaluate', '--policy', join(dir, 'policy.json'), '--findings', findings, ...extra]);
}

describe('ecr-steward gate evaluate: verdicts', () => {
  it('exits 0 and prints the summary for a basic scan within the policy', async () => {
    // Act
    const result = await evaluate({}, FINDINGS_FILE.basic);

    // Assess
    expect(result).toEqual({ code: 0, stdout: 'PASS: 1 finding(s) within the policy\n', stderr: '' });
  });

  it('exits 1 with the JSON verdict for a basic scan over the policy', async () => {
    // Prepare
    const input = { maxFindings: { MEDIUM: 0 } };

    // Act
    const result = await evaluate(input, FINDINGS_FILE.basic, '--format', 'json');

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('');
    const out = JSON.parse(result.stdout);
    expect(Object.keys(out)).toEqual(JSON_KEYS);
    expect(out).toEqual({
      verdict: 'FAIL',
      summary: 'FAIL: 1 MEDIUM finding (at most 0 allowed) — worst: CVE-2019-5188 (MEDIUM in e2fsprogs)',
      reasons: ['1 MEDIUM finding (at most 0 allowed)'],
      counts: { MEDIUM: 1 },
      blocking: [
        {
          id: 'CVE-2019-5188',
          severity: 'MEDIUM',
          packageName: 'e2fsprogs',
          packageVersion: '1.44.1-1ubuntu1.1',
          cvss: 4.6,
          cvssNvd: 4.6,
          cvssMax: 4.6,
        },
      ],
      allowlisted: [],
      expiredAllowlist: [],
      policyHash: policyHash(policy(input)),
    });
  });

  it('exits 1 with the JSON verdict for an enhanced scan with a HIGH finding (default policy)', async () => {
    // Act
    const result = await evaluate({}, FINDINGS_FILE.enhanced, '--format', 'json');

    // Assess
    expect(result.code).toBe(1);
    const out = JSON.parse(result.stdout);
    expect(Object.keys(out)).toEqual(JSON_KEYS);
    expect(out.verdict).toBe('FAIL');
    expect(out.counts).toEqual({ HIGH: 1 });
    expect(out.blocking).toEqual([
      {
        id: 'CVE-2022-49043',
        severity: 'HIGH',
        packageName: 'libxml2',
        packageVersion: '2.9.14+dfsg',
        fixAvailable: false,
        cvss: 8.1,
        cvssNvd: 8.1,
        cvssMax: 8.1,
        status: 'ACTIVE',
      },
    ]);
    expect(out.policyHash).toBe(policyHash(policy({})));
  });

  it('exits 0 for the enhanced scan when unfixed findings are ignored', async () => {
    // Act
    const result = await evaluate({ ignoreUnfixed: true }, FINDINGS_FILE.enhanced, '--format', 'json');

    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      verdict: 'PASS',
      reasons: ['1 finding(s) without a fix ignored'],
      blocking: [],
    });
  });

  it('applies an allowlist entry until --now reaches its expiry', async () => {
    // Prepare
    const input = {
      allowlist: [
        {
          cve: 'cve-2022-49043',
          repositories: ['sample-*'],
          reason: 'libxml2 XInclude is not used',
          owner: 'security@example.com',
          expiresAt: '2026-07-01T00:00:00Z',
        },
      ],
    };
    const args = ['--repository', 'sample-repo', '--format', 'json'];

    // Act
    const before = await evaluate(
      input,
      FINDINGS_FILE.enhanced,
      ...args,
      '--now',
      '2026-06-30T23:59:59.999Z',
    );
    const at = await evaluate(input, FINDINGS_FILE.enhanced, ...args, '--now', '2026-07-01T00:00:00Z');
    const elsewhere = await evaluate(
      input,
      FINDINGS_FILE.enhanced,
      '--repository',
      'web',
      '--format',
      'json',
      '--now',
      '2026-06-01T00:00:00Z',
    );

    // Assess
    expect(before.code).toBe(0);
    expect(JSON.parse(before.stdout).allowlisted).toEqual([
      {
        id: 'CVE-2022-49043',
        package: 'libxml2',
        owner: 'security@example.com',
        expiresAt: '2026-07-01T00:00:00Z',
      },
    ]);
    expect(at.code).toBe(1);
    expect(JSON.parse(at.stdout).expiredAllowlist).toEqual(input.allowlist);
    expect(elsewhere.code).toBe(1);
  });

  it('exits 0 for an image carrying an exempt tag given with --tags', async () => {
    // Act
    const result = await evaluate(
      { exemptTags: ['hotfix-*'] },
      FINDINGS_FILE.enhanced,
      '--tags',
      'v1,hotfix-7',
    );

    // Assess
    expect(result).toEqual({ code: 0, stdout: 'PASS: tag hotfix-7 is exempt from the gate\n', stderr: '' });
  });

  it('exits 3 (PENDING) for output without a scan status, and 1 for a FAILED scan', async () => {
    // Prepare
    const dir = await tempFiles({
      'none.json': { imageScanFindings: { findings: [] } },
      'failed.json': { imageScanStatus: { status: 'FAILED', description: 'UnsupportedImageError' } },
    });

    // Act
    const none = await evaluate({}, join(dir, 'none.json'));
    const failed = await evaluate({}, join(dir, 'failed.json'));

    // Assess
    expect(none.code).toBe(3);
    expect(none.stdout).toBe('PENDING: scan status MISSING (policy says PENDING)\n');
    expect(failed.code).toBe(1);
  });
  it("exits 3 (PENDING) when the listed findings fall short of the scan's own counts, within the grace window", async () => {
    // Prepare: the scan counts two HIGH findings and lists one, a policy that allows five.
    const dir = await tempFiles({
      'short.json': {
        imageScanStatus: { status: 'COMPLETE' },
        imageScanFindings: {
          imageScanCompletedAt: '2026-06-01T10:00:00Z',
          findingSeverityCounts: { HIGH: 2 },
          findings: [{ name: 'CVE-2026-0001', severity: 'HIGH' }],
        },
      },
    });

    // Act
    const result = await evaluate(
      { maxFindings: { HIGH: 5 } },
      join(dir, 'short.json'),
      '--now',
      '2026-06-01T10:30:00Z',
    );

    // Assess
    expect(result).toEqual({
      code: 3,
      stdout: 'PENDING: scan data incomplete: findingSeverityCounts says 2 HIGH, 1 listed\n',
      stderr: '',
    });
  });

  it("compares NVD's score with blockCvssAtOrAbove when --cvss-source nvd, the scanner's otherwise", async () => {
    // Prepare: Inspector scores the finding 6.5 from the distribution's advisory; NVD's older vector says 8.1.
    const dir = await tempFiles({
      'enhanced.json': {
        imageScanStatus: { status: 'COMPLETE' },
        imageScanFindings: {
          imageScanCompletedAt: '2026-06-01T10:00:00Z',
          findingSeverityCounts: { HIGH: 1 },
          enhancedFindings: [
            {
              severity: 'HIGH',
              status: 'ACTIVE',
              score: 6.5,
              packageVulnerabilityDetails: {
                vulnerabilityId: 'CVE-2026-0002',
                source: 'DEBIAN_CVE',
                cvss: [{ baseScore: 8.1, source: 'NVD', version: '3.1' }],
              },
            },
          ],
        },
      },
    });
    const input = { maxFindings: { HIGH: 5 }, blockCvssAtOrAbove: 7 };

    // Act
    const scanner = await evaluate(input, join(dir, 'enhanced.json'));
    const nvd = await evaluate(input, join(dir, 'enhanced.json'), '--cvss-source', 'nvd');

    // Assess
    expect(scanner).toEqual({ code: 0, stdout: 'PASS: 1 finding(s) within the policy\n', stderr: '' });
    expect(nvd).toEqual({
      code: 1,
      stdout: "FAIL: 1 finding(s) with CVSS ≥ 7 (NVD's score) — worst: CVE-2026-0002 (HIGH)\n",
      stderr: '',
    });
  });
});

describe('ecr-steward gate evaluate: bad input exits 2', () => {
  it('for a policy with an unknown severity', async () => {
    // Act
    const result = await evaluate(JSON.stringify({ maxFindings: { SEVERE: 1 } }), FINDINGS_FILE.basic);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/--policy .*policy\.json: not a gate policy: maxFindings/);
  });

  it('for a policy with an unknown field', async () => {
    const result = await evaluate({ maxFinding: { HIGH: 1 } } as never, FINDINGS_FILE.basic);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('not a gate policy');
  });

  it('for findings that are not JSON', async () => {
    // Prepare
    const dir = await tempFiles({ 'findings.json': '{"imageScanFindings": ' });

    // Act
    const result = await evaluate({}, join(dir, 'findings.json'));

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--findings .*findings\.json: not valid JSON/);
  });

  it('for findings that are not describe-image-scan-findings output', async () => {
    // Prepare
    const dir = await tempFiles({
      'findings.json': { imageScanFindings: { findings: [{ severity: 'HIGH' }] } },
    });

    // Act
    const result = await evaluate({}, join(dir, 'findings.json'));

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'not describe-image-scan-findings output: imageScanFindings.findings[0].name',
    );
  });

  it('for a findings file that does not exist', async () => {
    const result = await evaluate({}, '/nonexistent/findings.json');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('cannot read the file: no such file');
  });

  it('for a --now that is not an ISO time', async () => {
    const result = await evaluate({}, FINDINGS_FILE.basic, '--now', 'yesterday');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--now "yesterday": not an ISO-8601 time');
  });

  it('without --policy', async () => {
    const result = await runCli(['gate', 'evaluate', '--findings', FINDINGS_FILE.basic]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("required option '--policy <file>' not specified");
  });
});
