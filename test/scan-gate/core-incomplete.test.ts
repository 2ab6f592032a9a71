/**
 * judgeImage on incomplete scan data, with in-memory ports (helpers.ts) and a fake timer for the re-reads:
 * DescribeImageScanFindings is read again (3 reads, 2 s apart) while the findings do not match the scan's own
 * counts or the scan has no completion time; what is still incomplete is recorded PENDING within the grace
 * window and FAIL after it, never PASS; the CVSS source of the config reaches the verdict.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { judgeImage } from '../../functions/scan-gate/core.js';
import type { ScanFindingsOutput } from '../../functions/scan-gate/findings.js';
import type { GateConfig } from '../../functions/shared/config/schema.js';
import {
  DIGEST,
  type GateHarness,
  gateConfig,
  gateHarness,
  image,
  loadFindings,
  NOW,
  REPO,
} from './helpers.js';

const READ = `scans:scanFindings:${REPO}@${DIGEST}`;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout'] });
});

afterEach(() => {
  vi.useRealTimers();
});

/** Judges the harness's image, letting the re-read timer run. */
async function judge(config: GateConfig, h: GateHarness) {
  const outcome = judgeImage(config, image(), 'event-1', NOW, h.ports, { mode: 'enforce' });
  await vi.runAllTimersAsync();
  return outcome;
}

/** Makes the harness answer `outputs` in turn, the last one again when they run out. */
function answers(h: GateHarness, ...outputs: ScanFindingsOutput[]) {
  let read = 0;
  const scans = h.ports.scans;
  const scanFindings = scans.scanFindings.bind(scans);
  scans.scanFindings = async (repository, digest) => {
    h.scan = outputs[Math.min(read++, outputs.length - 1)]!;
    return scanFindings(repository, digest);
  };
}

describe('judgeImage: incomplete scan data', () => {
  it('reads again until the findings are listed, then judges them (aws/aws-sdk#289)', async () => {
    // Prepare: COMPLETE with nothing listed, twice, then AWS's enhanced sample (one HIGH finding).
    const h = gateHarness();
    const empty = loadFindings('enhanced-complete-empty-aws-sdk-289');
    answers(h, empty, empty, loadFindings('enhanced'));

    // Act
    const outcome = await judge(gateConfig(), h);

    // Assess
    expect(h.journal.filter((j) => j === READ)).toHaveLength(3);
    expect(outcome.verdict).toBe('FAIL');
    expect(h.lastRecord().summary).toMatch(/^FAIL: 1 HIGH finding \(at most 0 allowed\)/);
  });

  it('records PENDING, with no action, when the data is still incomplete within the grace window', async () => {
    // Prepare: pushed 5 minutes ago; counts say 1 HIGH, nothing is listed.
    const h = gateHarness(loadFindings('enhanced-complete-counts-without-findings'));
    h.image = { tags: ['v1'], pushedAt: NOW.getTime() - 5 * 60_000 };

    // Act
    const outcome = await judge(gateConfig({ onFail: { quarantine: { enabled: true } } }), h);

    // Assess
    expect(h.journal.filter((j) => j === READ)).toHaveLength(3);
    expect(outcome).toMatchObject({
      verdict: 'PENDING',
      summary: 'PENDING: scan data incomplete: findingSeverityCounts says 1 HIGH, 0 listed',
      actions: [],
    });
    expect(h.lastRecord()).toMatchObject({ verdict: 'PENDING', actions: [] });
    expect(h.notifications).toEqual([]);
  });

  it('records FAIL after the grace window, and acts on it as on any FAIL', async () => {
    // Prepare: the harness's image was pushed a day ago; the scan gives no completion time.
    const h = gateHarness(loadFindings('basic-missing-completion-time'));

    // Act
    const outcome = await judge(gateConfig(), h);

    // Assess
    expect(outcome.verdict).toBe('FAIL');
    expect(outcome.summary).toBe(
      'FAIL: scan data still incomplete after 1440 minutes: status COMPLETE without imageScanCompletedAt',
    );
    expect(outcome.actions).toEqual(['notified']);
    expect(h.notifications[0]?.message).toContain('scan data still incomplete after 1440 minutes');
  });

  it('quarantines but never removes an image whose FAIL rests on incomplete data alone', async () => {
    // Prepare
    const h = gateHarness(loadFindings('basic-missing-completion-time'));
    const config = gateConfig({
      onFail: { notify: false, quarantine: { enabled: true }, remove: { enabled: true } },
    });

    // Act
    const outcome = await judge(config, h);

    // Assess
    expect(outcome.verdict).toBe('FAIL');
    expect(outcome.actions).toEqual([
      `quarantined with tag quarantined-${DIGEST.slice(7, 19)}`,
      'not removed: the FAIL rests on incomplete scan data alone, which never removes an image',
    ]);
    expect(h.deleteCalls).toEqual([]);
    expect(h.audit).toEqual([]);
  });

  it('reads once when the data is complete', async () => {
    // Prepare
    const h = gateHarness(loadFindings('basic'));

    // Act
    const outcome = await judge(gateConfig(), h);

    // Assess
    expect(h.journal.filter((j) => j === READ)).toHaveLength(1);
    expect(outcome.verdict).toBe('PASS');
  });
});

describe('judgeImage: cvssSource', () => {
  it("compares blockCvssAtOrAbove with Inspector's score by default and NVD's when the config says nvd", async () => {
    // Prepare: Inspector scores the finding 6.5, NVD's CVSS 3.1 vector 8.1.
    const policy = { maxFindings: {}, blockCvssAtOrAbove: 7 };
    const scanner = gateHarness(loadFindings('enhanced-inspector-vs-nvd'));
    const nvd = gateHarness(loadFindings('enhanced-inspector-vs-nvd'));

    // Act
    const byDefault = await judge(gateConfig({ policy }), scanner);
    const byNvd = await judge(gateConfig({ policy, cvssSource: 'nvd' }), nvd);

    // Assess
    expect(byDefault.verdict).toBe('PASS');
    expect(byNvd.verdict).toBe('FAIL');
    expect(byNvd.summary).toMatch(/^FAIL: 1 finding\(s\) with CVSS ≥ 7 \(NVD's score\)/);
  });
});
