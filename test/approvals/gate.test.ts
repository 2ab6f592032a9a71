/**
 * The scan gate's removals under approvals: a failing image in a repository whose deletions need an approval
 * is not removed when judged; the gate opens a request (the same one path as the cleanup's runs) and the notice
 * names it; the gate removes it when it judges the image again (its next scan event or the quarantine expiry)
 * once an approver has approved and the notice is due — if it still fails then.
 */
import { describe, expect, it } from 'vitest';
import { judgeImage } from '../../functions/scan-gate/core.js';
import { validateConfig } from '../../functions/shared/config/load.js';
import { effectiveGovernance } from '../../functions/shared/config/schema.js';
import { basicScan, DIGEST, gateConfig, gateHarness, image, NOW, REPO } from '../scan-gate/helpers.js';
import { approvalWorld, OPS_ROLE } from './support.js';

const failing = () => basicScan([{ name: 'CVE-2024-0001', severity: 'CRITICAL', packageName: 'openssl' }]);

describe('scan gate removals under approvals', () => {
  it('opens a request instead of removing, and records the notice with its id', async () => {
    // Prepare
    const h = gateHarness(failing());
    const world = approvalWorld();
    const steward = validateConfig({
      mode: 'enforce',
      selections: [{ repositories: ['services/*'], lifecyclePolicy: 'fromRepository' }],
      governance: {
        notice: { hours: 24 },
        approval: { required: 'always', approvers: [OPS_ROLE], expiresAfterHours: 48 },
      },
    });
    const ports = {
      ...h.ports,
      governance: (s: Parameters<typeof effectiveGovernance>[1]) =>
        effectiveGovernance(steward.governance, s),
      deletes: { ...h.ports.deletes, approvals: world.ports },
    };

    // Act
    const outcome = await judgeImage(
      gateConfig({ onFail: { remove: { enabled: true } } }),
      image(),
      'event-1',
      NOW,
      ports,
      { mode: 'enforce' },
    );

    // Assess
    const requests = world.requests.all();
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      kind: 'delete',
      state: 'PENDING_APPROVAL',
      repository: REPO,
      imageCount: 1,
      images: [expect.objectContaining({ digest: DIGEST })],
      expiresAt: new Date(NOW.getTime() + 48 * 3_600_000).toISOString(),
    });
    expect(requests[0]?.reason).toMatch(new RegExp(`^the scan gate removes ${REPO}@${DIGEST}: `));
    expect(world.approvalMessages.map((m) => m.subject)).toEqual([
      `ECR Steward: approval needed to delete 1 image (0 B) in ${REPO}`,
    ]);
    expect(h.deleteCalls).toEqual([]);
    expect(h.audit.map((a) => [a.status, a.requestId])).toEqual([['SCHEDULED', requests[0]?.id]]);
    expect(outcome.actions.some((a) => a.startsWith('removal scheduled: approval needed'))).toBe(true);
  });
});
