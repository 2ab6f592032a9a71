/**
 * judgeImage with in-memory ports (helpers.ts): what the gate does on FAIL (notify once, quarantine, remove
 * through the shared safe delete path), on PASS after FAIL (lift the quarantine, notify recovery), when the
 * image is gone, and what the verdict record holds.
 */
import { describe, expect, it } from 'vitest';
import { consoleLink, gatePolicyFor, judgeImage, quarantineTag } from '../../functions/scan-gate/core.js';
import { policyHash } from '../../functions/scan-gate/gate.js';
import { InUseUnavailableError } from '../../functions/shared/adapters/in-use.js';
import type { GateConfig } from '../../functions/shared/config/schema.js';
import {
  ACCOUNT,
  basicScan,
  DIGEST,
  type GateHarness,
  gateConfig,
  gateHarness,
  image,
  NOW,
  REGION,
  REPO,
} from './helpers.js';

const TAG = `quarantined-${DIGEST.slice(7, 19)}`;
const LATER = new Date(NOW.getTime() + 60_000);
const LATER_STILL = new Date(NOW.getTime() + 120_000);

const critical = (name: string, packageName = 'openssl') => ({
  name,
  severity: 'CRITICAL' as const,
  packageName,
});
const failing = () => basicScan([critical('CVE-2024-0001')]);
const passing = () => basicScan([{ name: 'CVE-2024-0009', severity: 'LOW' }]);

const QUARANTINE = { onFail: { quarantine: { enabled: true } } };
const REMOVE = { onFail: { remove: { enabled: true } } };

const judge = (config: GateConfig, h: GateHarness, now = NOW, eventId = 'event-1') =>
  judgeImage(config, image(), eventId, now, h.ports, { mode: 'enforce' });

describe('judgeImage: FAIL notifications', () => {
  it('notifies once on FAIL, not again for an identical evaluation, and again for a new blocking finding', async () => {
    // Prepare
    const config = gateConfig();
    const h = gateHarness(failing());

    // Act
    const first = await judge(config, h, NOW, 'e1');
    const second = await judge(config, h, LATER, 'e2');
    h.scan = basicScan([critical('CVE-2024-0001'), critical('CVE-2024-0002', 'zlib')]);
    const third = await judge(config, h, LATER_STILL, 'e3');

    // Assess
    expect([first.verdict, second.verdict, third.verdict]).toEqual(['FAIL', 'FAIL', 'FAIL']);
    expect(first.actions).toEqual(['notified']);
    expect(second.actions).toEqual([]);
    expect(third.actions).toEqual(['notified']);
    expect(h.notifications.map((n) => n.subject)).toEqual([
      `ECR Steward: ${REPO} image fails the scan gate`,
      `ECR Steward: ${REPO} image has new blocking findings`,
    ]);
  });

  it('says what fails, where to look and how a pipeline checks it', async () => {
    // Prepare
    const h = gateHarness(failing());

    // Act
    await judge(gateConfig(), h);

    // Assess
    const { message } = h.notifications[0]!;
    expect(message).toContain(`${REPO}@${DIGEST} [v1]`);
    expect(message).toContain('CRITICAL CVE-2024-0001 in openssl');
    expect(message).toContain(consoleLink(image()));
    expect(message).toContain(`npx ecr-steward gate check ${REPO}@${DIGEST}`);
  });

  it('does not notify again for an identical FAIL with more than 50 blocking findings', async () => {
    // Prepare: the record keeps only the 50 most severe blocking findings.
    const config = gateConfig();
    const h = gateHarness(
      basicScan(Array.from({ length: 60 }, (_, i) => critical(`CVE-2024-${1000 + i}`, `pkg-${i}`))),
    );

    // Act
    await judge(config, h, NOW, 'e1');
    const second = await judge(config, h, LATER, 'e2');

    // Assess
    expect(h.lastRecord().blocking).toHaveLength(50);
    expect(second.actions).toEqual([]);
    expect(h.notifications).toHaveLength(1);
  });

  it('does not notify when onFail.notify is off', async () => {
    // Prepare
    const h = gateHarness(failing());

    // Act
    const outcome = await judge(gateConfig({ onFail: { notify: false } }), h);

    // Assess
    expect(outcome.verdict).toBe('FAIL');
    expect(h.notifications).toEqual([]);
  });

  it('notifies again when an image fails after having passed', async () => {
    // Prepare
    const config = gateConfig();
    const h = gateHarness(failing());

    // Act
    await judge(config, h, NOW, 'e1');
    h.scan = passing();
    await judge(config, h, LATER, 'e2');
    h.scan = failing();
    const again = await judge(config, h, LATER_STILL, 'e3');

    // Assess
    expect(again.actions).toContain('notified');
    expect(h.notifications.map((n) => n.subject)).toEqual([
      `ECR Steward: ${REPO} image fails the scan gate`,
      `ECR Steward: ${REPO} image now passes the scan gate`,
      `ECR Steward: ${REPO} image fails the scan gate`,
    ]);
  });
});

describe('judgeImage: quarantine', () => {
  it(`tags a failing image in a MUTABLE repository with quarantined-<12 hex> (${TAG.length} chars)`, async () => {
    // Prepare
    const h = gateHarness(failing());

    // Act
    const outcome = await judge(gateConfig(QUARANTINE), h);

    // Assess
    expect(quarantineTag('quarantined-', DIGEST)).toBe(TAG);
    expect(TAG).toMatch(/^quarantined-[0-9a-f]{12}$/);
    expect(h.journal).toContain(`scans:addTag:${TAG}`);
    expect(h.image?.tags).toEqual(['v1', TAG]);
    expect(outcome.actions).toEqual(['notified', `quarantined with tag ${TAG}`]);
    expect(h.lastRecord().quarantineTag).toBe(TAG);
  });

  it('uses the configured prefix', async () => {
    // Prepare
    const h = gateHarness(failing());

    // Act
    await judge(gateConfig({ onFail: { quarantine: { enabled: true, tagPrefix: 'blocked_' } } }), h);

    // Assess
    expect(h.image?.tags).toEqual(['v1', `blocked_${DIGEST.slice(7, 19)}`]);
  });

  it('does not tag twice: an image already carrying the tag stays quarantined', async () => {
    // Prepare
    const config = gateConfig({ ...QUARANTINE, onFail: { ...QUARANTINE.onFail, notify: false } });
    const h = gateHarness(failing());

    // Act
    await judge(config, h, NOW, 'e1');
    const second = await judge(config, h, LATER, 'e2');

    // Assess
    expect(h.journal.filter((j) => j.startsWith('scans:addTag'))).toHaveLength(1);
    expect(second.actions).toEqual([]);
    expect(h.lastRecord().quarantineTag).toBe(TAG);
  });

  it('does not tag in an IMMUTABLE repository and says the quarantine is in the record only', async () => {
    // Prepare
    const h = gateHarness(failing());
    h.repository = { tagMutability: 'IMMUTABLE' };

    // Act
    const outcome = await judge(gateConfig(QUARANTINE), h);

    // Assess
    expect(h.journal.some((j) => j.startsWith('scans:addTag'))).toBe(false);
    expect(h.image?.tags).toEqual(['v1']);
    expect(outcome.actions).toEqual([
      'notified',
      `not tagged: ${REPO} has immutable tags, so the quarantine is kept in the verdict record only`,
    ]);
    expect(h.lastRecord()).toMatchObject({ verdict: 'FAIL', actions: outcome.actions });
    expect(h.lastRecord().quarantineTag).toBeUndefined();
  });

  it('does not quarantine when quarantine is off (the default)', async () => {
    // Prepare
    const h = gateHarness(failing());

    // Act
    await judge(gateConfig(), h);

    // Assess
    expect(h.journal.some((j) => j.startsWith('scans:addTag'))).toBe(false);
    expect(h.lastRecord().quarantineTag).toBeUndefined();
  });
});

describe('judgeImage: removal through the safe delete path', () => {
  it('reads the breaker, writes PENDING before the delete call and DELETED after it', async () => {
    // Prepare
    const h = gateHarness(failing());

    // Act
    const outcome = await judge(gateConfig(REMOVE), h);

    // Assess
    const steps = h.journal.filter((j) => /^(breaker|audit|registry|inUse)/.test(j));
    expect(steps).toEqual([
      'inUse',
      `breaker:firstOpen:registry,repository:${REPO}`,
      `audit:PENDING:${DIGEST}`,
      `registry:deleteImages:${DIGEST}`,
      `audit:DELETED:${DIGEST}`,
    ]);
    expect(outcome.actions).toEqual(['notified', 'removed']);
    expect(h.audit[0]).toMatchObject({
      registryId: ACCOUNT,
      region: REGION,
      repository: REPO,
      digest: DIGEST,
      status: 'PENDING',
      evidence: 'steward-write-ahead',
      tags: ['v1'],
      actor: { type: 'ecr-steward', rulePriority: null },
    });
    expect(h.audit[0]?.actor?.reasons?.[0]).toMatch(/^scan gate FAIL: FAIL: 1 CRITICAL finding/);
    expect(h.audit[1]).toMatchObject({ status: 'DELETED', evidence: 'steward-delete' });
  });

  it('deletes nothing while the breaker is open, and says so', async () => {
    // Prepare
    const h = gateHarness(failing());
    h.breaker = { scope: 'registry', reason: '250 deletes in 10 minutes' };

    // Act
    const outcome = await judge(gateConfig(REMOVE), h);

    // Assess
    expect(h.deleteCalls).toEqual([]);
    expect(h.audit).toEqual([]);
    expect(outcome.actions).toContain('not removed: breaker open for registry (250 deletes in 10 minutes)');
    expect(h.lastRecord().actions).toContain(
      'not removed: breaker open for registry (250 deletes in 10 minutes)',
    );
  });

  it('does not remove an image in use by digest, and names where it is used', async () => {
    // Prepare
    const h = gateHarness(failing());
    h.inUseRefs = [
      {
        registryId: ACCOUNT,
        region: REGION,
        repository: REPO,
        digest: DIGEST,
        where: 'ecs:service/prod/orders',
      },
      {
        registryId: ACCOUNT,
        region: REGION,
        repository: REPO,
        digest: DIGEST,
        where: 'lambda:orders-fn:$LATEST',
      },
    ];

    // Act
    const outcome = await judge(gateConfig(REMOVE), h);

    // Assess
    expect(h.deleteCalls).toEqual([]);
    expect(h.audit).toEqual([]);
    expect(outcome.actions).toContain(
      'not removed: in use by ecs:service/prod/orders, lambda:orders-fn:$LATEST',
    );
  });

  it('does not remove an image in use by one of its tags', async () => {
    // Prepare
    const h = gateHarness(failing());
    h.inUseRefs = [
      {
        registryId: ACCOUNT,
        region: REGION,
        repository: REPO,
        tag: 'v1',
        where: 'ecs:task-definition/orders:7',
      },
      {
        registryId: ACCOUNT,
        region: REGION,
        repository: REPO,
        tag: 'v2',
        where: 'ecs:task-definition/orders:8',
      },
    ];

    // Act
    const outcome = await judge(gateConfig(REMOVE), h);

    // Assess
    expect(h.deleteCalls).toEqual([]);
    expect(outcome.actions).toContain('not removed: in use by ecs:task-definition/orders:7 (as tag v1)');
  });

  it('ignores references to the same repository name in another region or registry', async () => {
    // Prepare
    const h = gateHarness(failing());
    h.inUseRefs = [
      { registryId: ACCOUNT, region: 'eu-west-1', repository: REPO, digest: DIGEST, where: 'ecs:elsewhere' },
      { registryId: '210987654321', region: REGION, repository: REPO, digest: DIGEST, where: 'ecs:other' },
    ];

    // Act
    const outcome = await judge(gateConfig(REMOVE), h);

    // Assess
    expect(outcome.actions).toContain('removed');
  });

  it('removes an image in use when allowInUse is set, without asking where it is used', async () => {
    // Prepare
    const h = gateHarness(failing());
    h.inUseRefs = [
      {
        registryId: ACCOUNT,
        region: REGION,
        repository: REPO,
        digest: DIGEST,
        where: 'ecs:service/prod/orders',
      },
    ];

    // Act
    const outcome = await judge(gateConfig({ onFail: { remove: { enabled: true, allowInUse: true } } }), h);

    // Assess
    expect(h.journal).not.toContain('inUse');
    expect(h.deleteCalls).toEqual([[DIGEST]]);
    expect(outcome.actions).toContain('removed');
  });

  it('fails safe when the in-use sources cannot be read', async () => {
    // Prepare
    const h = gateHarness(failing());
    h.inUseError = new InUseUnavailableError('ecs', new Error('AccessDenied'));

    // Act
    const outcome = await judge(gateConfig(REMOVE), h);

    // Assess
    expect(h.deleteCalls).toEqual([]);
    expect(outcome.actions.find((a) => a.startsWith('not removed:'))).toMatch(/\(fail safe\)$/);
  });

  it('records a failed delete as FAILED and says why', async () => {
    // Prepare
    const h = gateHarness(failing());
    h.onDelete = (digests) => ({
      deleted: [],
      failures: digests.map((digest) => ({
        digest,
        code: 'ImageTagDoesNotMatchDigest',
        reason: 'Invalid parameter',
      })),
    });

    // Act
    const outcome = await judge(gateConfig(REMOVE), h);

    // Assess
    expect(h.audit.map((s) => [s.status, s.evidence])).toEqual([
      ['PENDING', 'steward-write-ahead'],
      ['FAILED', 'steward-failure'],
    ]);
    expect(outcome.actions).toContain('removal failed: ImageTagDoesNotMatchDigest Invalid parameter');
  });

  it('records an image ECR says is not found as already gone, not as a failure', async () => {
    // Prepare
    const h = gateHarness(failing());
    h.onDelete = (digests) => ({
      deleted: [],
      failures: digests.map((digest) => ({
        digest,
        code: 'ImageNotFound',
        reason: 'Requested image not found',
      })),
    });

    // Act
    const outcome = await judge(gateConfig(REMOVE), h);

    // Assess
    expect(h.audit.map((s) => [s.status, s.evidence])).toEqual([
      ['PENDING', 'steward-write-ahead'],
      ['DELETED', 'steward-already-gone'],
    ]);
    expect(outcome.removal).toEqual({ outcome: 'removed', action: 'removed (it was already gone)' });
  });

  it('does not remove a passing image', async () => {
    // Prepare
    const h = gateHarness(passing());

    // Act
    await judge(gateConfig(REMOVE), h);

    // Assess
    expect(h.deleteCalls).toEqual([]);
    expect(h.journal).not.toContain('inUse');
  });
});

describe('judgeImage: PASS after FAIL', () => {
  it('lifts the quarantine by removing the tag when the image keeps another tag, and notifies recovery', async () => {
    // Prepare
    const config = gateConfig(QUARANTINE);
    const h = gateHarness(failing());
    await judge(config, h, NOW, 'e1');
    h.scan = passing();

    // Act
    const outcome = await judge(config, h, LATER, 'e2');

    // Assess
    expect(outcome.verdict).toBe('PASS');
    expect(h.journal).toContain(`scans:removeTag:${TAG}`);
    expect(h.image?.tags).toEqual(['v1']);
    expect(outcome.actions).toEqual([`quarantine lifted: tag ${TAG} removed`, 'notified recovery']);
    expect(h.notifications.at(-1)).toEqual({
      subject: `ECR Steward: ${REPO} image now passes the scan gate`,
      message: expect.stringContaining(`${REPO}@${DIGEST} now passes: PASS: 1 finding(s) within the policy`),
    });
    expect(h.lastRecord().quarantineTag).toBeUndefined();
  });

  it('lifts the quarantine when a PENDING verdict came between the FAIL and the PASS', async () => {
    // Prepare
    const config = gateConfig(QUARANTINE);
    const h = gateHarness(failing());
    await judge(config, h, NOW, 'e1');
    h.scan = basicScan([], 'IN_PROGRESS');
    const rescanning = await judge(config, h, LATER, 'e2');
    h.scan = passing();

    // Act
    const outcome = await judge(config, h, LATER_STILL, 'e3');

    // Assess
    expect(rescanning.verdict).toBe('PENDING');
    expect(outcome.actions).toEqual([`quarantine lifted: tag ${TAG} removed`, 'notified recovery']);
    expect(h.image?.tags).toEqual(['v1']);
    expect(h.lastRecord()).toMatchObject({
      verdict: 'PASS',
      quarantineTag: undefined,
      quarantinedAt: undefined,
    });
  });

  it("keeps the tag when it is the image's only tag (removing it would delete the image) and says why", async () => {
    // Prepare
    const config = gateConfig(QUARANTINE);
    const h = gateHarness(failing());
    h.image = { tags: [], pushedAt: NOW.getTime() - 86_400_000 };
    await judge(config, h, NOW, 'e1');
    expect(h.image.tags).toEqual([TAG]);
    h.scan = passing();

    // Act
    const outcome = await judge(config, h, LATER, 'e2');

    // Assess
    expect(h.journal.some((j) => j.startsWith('scans:removeTag'))).toBe(false);
    expect(h.image.tags).toEqual([TAG]);
    expect(outcome.actions).toEqual([
      `quarantine lifted in the record; tag ${TAG} kept because it is the image's only tag`,
      'notified recovery',
    ]);
    expect(h.lastRecord()).toMatchObject({ verdict: 'PASS', quarantineTag: undefined });
  });

  it('notifies recovery without touching tags when nothing was quarantined', async () => {
    // Prepare
    const config = gateConfig();
    const h = gateHarness(failing());
    await judge(config, h, NOW, 'e1');
    h.scan = passing();

    // Act
    const outcome = await judge(config, h, LATER, 'e2');

    // Assess
    expect(outcome.actions).toEqual(['notified recovery']);
    expect(h.journal.some((j) => j.startsWith('scans:removeTag'))).toBe(false);
  });

  it('does not notify recovery when notifyOnRecovery is off, nor for a PASS that follows a PASS', async () => {
    // Prepare
    const h = gateHarness(failing());
    await judge(gateConfig({ notifyOnRecovery: false }), h, NOW, 'e1');
    h.scan = passing();

    // Act
    const recovered = await judge(gateConfig({ notifyOnRecovery: false }), h, LATER, 'e2');
    const again = await judge(gateConfig(), h, LATER_STILL, 'e3');

    // Assess
    expect(recovered.actions).toEqual([]);
    expect(again.actions).toEqual([]);
    expect(h.notifications).toHaveLength(1);
  });

  it('keeps the quarantine while the verdict is PENDING', async () => {
    // Prepare
    const config = gateConfig(QUARANTINE);
    const h = gateHarness(failing());
    await judge(config, h, NOW, 'e1');
    h.scan = basicScan([], 'IN_PROGRESS');
    h.image = { tags: ['v1', TAG], pushedAt: LATER.getTime() - 60_000 };

    // Act
    const outcome = await judge(config, h, LATER, 'e2');

    // Assess
    expect(outcome.verdict).toBe('PENDING');
    expect(h.image.tags).toContain(TAG);
    expect(h.lastRecord().quarantineTag).toBe(TAG);
  });
});

describe('judgeImage: allowlist expiry reminder', () => {
  it('reminds once when an allowlist entry has expired', async () => {
    // Prepare
    const allowlist = [
      { cve: 'CVE-2024-0001', reason: 'mitigated', owner: 'sec@example.com', expiresAt: NOW.toISOString() },
    ];
    const config = gateConfig({ policy: { allowlist } });
    const h = gateHarness(failing());

    // Act
    const first = await judge(config, h, NOW, 'e1');
    const second = await judge(config, h, LATER, 'e2');

    // Assess
    expect(first.actions).toEqual(['notified', 'allowlist expiry reminder sent']);
    expect(second.actions).toEqual([]);
    expect(h.notifications[1]).toEqual({
      subject: 'ECR Steward: 1 CVE allowlist entry has expired',
      message: expect.stringContaining('CVE-2024-0001 (owner sec@example.com, reason: mitigated) expired'),
    });
  });
});

describe('judgeImage: the image is gone', () => {
  it('returns IMAGE_GONE, reads no findings, records nothing and notifies nobody', async () => {
    // Prepare
    const h = gateHarness(failing());
    h.image = undefined;

    // Act
    const outcome = await judge(gateConfig({ ...QUARANTINE, ...REMOVE }), h);

    // Assess
    expect(outcome).toEqual({
      image: image(),
      verdict: 'IMAGE_GONE',
      summary: 'the image no longer exists',
      actions: [],
    });
    expect(h.journal).toEqual([`scans:image:${REPO}@${DIGEST}`]);
    expect(h.history).toEqual([]);
    expect(h.notifications).toEqual([]);
  });
});

describe('judgeImage: the verdict record', () => {
  it('holds the verdict, counts, at most 50 blocking findings, the policy hash, actions and quarantine tag', async () => {
    // Prepare
    const config = gateConfig({ ...QUARANTINE, policy: { maxFindings: { CRITICAL: 0, HIGH: 0 } } });
    const h = gateHarness(
      basicScan([
        ...Array.from({ length: 55 }, (_, i) => critical(`CVE-2024-${2000 + i}`, `pkg-${i}`)),
        { name: 'CVE-2024-3000', severity: 'HIGH' },
        { name: 'CVE-2024-3001', severity: 'MEDIUM' },
      ]),
    );
    h.image = { tags: ['v1', 'latest'], pushedAt: NOW.getTime() - 86_400_000 };

    // Act
    const outcome = await judgeImage(
      config,
      image({ trigger: 'inspector-finding' }),
      'event-42',
      NOW,
      h.ports,
      { mode: 'enforce' },
    );

    // Assess
    const record = h.lastRecord();
    expect(record).toMatchObject({
      registryId: ACCOUNT,
      region: REGION,
      repository: REPO,
      digest: DIGEST,
      tags: ['v1', 'latest'],
      verdict: 'FAIL',
      summary: outcome.summary,
      counts: { CRITICAL: 55, HIGH: 1, MEDIUM: 1 },
      policyHash: policyHash(config.policy),
      at: NOW.toISOString(),
      trigger: 'inspector-finding',
      eventId: 'event-42',
      actions: ['notified', `quarantined with tag ${TAG}`],
      quarantineTag: TAG,
    });
    expect(record.reasons).toEqual([
      '55 CRITICAL findings (at most 0 allowed)',
      '1 HIGH finding (at most 0 allowed)',
    ]);
    expect(record.blocking).toHaveLength(50);
    expect(record.blocking.every((f) => f.severity === 'CRITICAL')).toBe(true);
    expect(record.blocking[0]).toEqual({ id: 'CVE-2024-2000', severity: 'CRITICAL', packageName: 'pkg-0' });
    expect(outcome.actions).toEqual(record.actions);
  });

  it('records a PENDING verdict for a scan still in progress, without actions', async () => {
    // Prepare
    const h = gateHarness(basicScan([], 'IN_PROGRESS'));
    h.image = { tags: ['v1'], pushedAt: NOW.getTime() - 60_000 };

    // Act
    const outcome = await judge(gateConfig({ ...QUARANTINE, ...REMOVE }), h);

    // Assess
    expect(outcome.verdict).toBe('PENDING');
    expect(h.lastRecord()).toMatchObject({ verdict: 'PENDING', counts: {}, blocking: [], actions: [] });
  });
});

describe('gatePolicyFor', () => {
  const strict = { maxFindings: { CRITICAL: 0, HIGH: 0, MEDIUM: 0 } };
  const lax = { maxFindings: { CRITICAL: 5 } };
  const config = gateConfig({
    policy: { maxFindings: { CRITICAL: 0 } },
    selections: [
      { repositoryTags: { tier: 'prod' }, policy: strict },
      { repositories: ['sandbox/*'], policy: lax },
    ],
  });

  it('takes the first matching selection, by repository tags or name glob, else the default policy', () => {
    expect(gatePolicyFor(config, 'services/orders', { tier: 'prod' }).maxFindings).toEqual(
      strict.maxFindings,
    );
    expect(gatePolicyFor(config, 'sandbox/x', { tier: 'prod' }).maxFindings).toEqual(strict.maxFindings);
    expect(gatePolicyFor(config, 'sandbox/x', { tier: 'dev' }).maxFindings).toEqual(lax.maxFindings);
    expect(gatePolicyFor(config, 'sandbox/x').maxFindings).toEqual(lax.maxFindings);
    expect(gatePolicyFor(config, 'services/orders').maxFindings).toEqual({ CRITICAL: 0 });
  });

  it('judges an image with the policy of its repository', async () => {
    // Prepare
    const h = gateHarness(basicScan([critical('CVE-1'), critical('CVE-2')]));
    h.repository = { tagMutability: 'MUTABLE', tags: { tier: 'dev' } };

    // Act
    const outcome = await judgeImage(config, image({ repository: 'sandbox/tool' }), 'e1', NOW, h.ports, {
      mode: 'enforce',
    });

    // Assess
    expect(outcome.verdict).toBe('PASS');
    expect(h.lastRecord().policyHash).toBe(policyHash(gatePolicyFor(config, 'sandbox/tool')));
  });
});
