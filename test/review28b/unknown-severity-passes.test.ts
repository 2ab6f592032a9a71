/**
 * FAIL-OPEN (scan gate, LOW): a finding whose severity is not one the gate knows (e.g. a new scanner severity
 * "SEVERE") is silently read as UNDEFINED (functions/scan-gate/findings.ts:55-58 `.catch('UNDEFINED')`), and the
 * completeness check buckets the scan's own count for it as UNDEFINED too (findings.ts:155-159), so the data looks
 * complete and — since the default policy limits only CRITICAL and HIGH — the verdict is PASS. The gate promises
 * to fail closed on data it cannot interpret (an unknown STATUS is incomplete data); an unknown severity should
 * be treated the same way (PENDING / FAIL "scan data incomplete"), never PASS.
 */
import { describe, expect, it } from 'vitest';
import { normaliseFindings, scanFindingsOutputSchema } from '../../functions/scan-gate/findings.js';
import { evaluateGate } from '../../functions/scan-gate/gate.js';
import { NOW, policy, SCAN_COMPLETED_AT } from '../scan-gate/helpers.js';

describe('a finding with a severity the gate does not know', () => {
  it('does not PASS under the default policy', () => {
    const scan = normaliseFindings(
      scanFindingsOutputSchema.parse({
        imageScanStatus: { status: 'COMPLETE' },
        imageScanFindings: {
          imageScanCompletedAt: SCAN_COMPLETED_AT,
          findingSeverityCounts: { SEVERE: 1 },
          findings: [{ name: 'CVE-2026-9999', severity: 'SEVERE', attributes: [] }],
        },
      }),
    );
    const verdict = evaluateGate({
      policy: policy(),
      repository: 'services/orders',
      imageTags: ['v1'],
      pushedAt: NOW.getTime() - 86_400_000,
      scanStatus: scan.status,
      findings: scan.findings,
      completeness: scan.completeness,
      now: NOW,
    });
    expect(verdict.verdict).not.toBe('PASS');
  });
});
