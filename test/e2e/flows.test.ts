/**
 * The whole system through the synthesized rules and the bundled functions, on the local cloud:
 * - a push to a managed repository → the cleanup deletes exactly what the lifecycle engine plans for those
 *   images, each deletion with exactly one audit record (DELETED, actor ecr-steward, the rule's priority),
 *   while an image an ECS service runs, a held image and a protected tag survive;
 * - an image replicated into a managed repository (`ECR Replication Action`, no PUSH) → cleaned up like a push;
 * - a basic scan with a CRITICAL finding → FAIL verdict, one security message, the quarantine tag;
 * - that quarantine expired → the scheduled expiry judges the image again and removes it (write-ahead audit,
 *   one DELETED record with the reason, one security message);
 * - a burst of manual deletes (BatchDeleteImage through the real SDK, with its CloudTrail record) crosses
 *   the repository threshold → exactly one alert for the window, the breaker opens, and the next cleanup
 *   of that repository reports breaker-open and deletes nothing.
 */
import { BatchDeleteImageCommand } from '@aws-sdk/client-ecr';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quarantineTag } from '../../functions/scan-gate/core.js';
import { VerdictStore, verdictPk } from '../../functions/scan-gate/verdicts.js';
import { BreakerStore, repositoryScope } from '../../functions/shared/state/breaker.js';
import { ociImageManifest } from '../../local/ecr-emulator.js';
import { cloudTrailBatchDelete } from '../../local/scenario.js';
import {
  auditByDigest,
  awayFromWindowEdge,
  config,
  DAY,
  deadLetters,
  type E2E,
  expectedPlan,
  expiring,
  figures,
  imageUri,
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  present,
  push,
  seed,
  startE2E,
  waitFor,
  workerReports,
} from './harness.js';

const API = 'services/api';
const PAYMENTS = 'services/payments';
const REPLICA = 'services/replica';
const ALICE = `arn:aws:iam::${LOCAL_ACCOUNT}:user/alice`;

let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E('flows');
}, 180_000);

afterAll(async () => {
  await e2e?.close();
});

describe('flows through the synthesized rules and the bundled functions', () => {
  it('a push deletes exactly the planned images, each with one audit record; in-use, held and protected images survive', async () => {
    const started = Date.now();
    // Oldest first: a protected release, eight releases, five dev builds, three old and one fresh leftover.
    const layout: { tags: string[]; ageMs?: number }[] = [
      { tags: ['v0.9.0', 'prod-stable'] },
      ...Array.from({ length: 8 }, (_, i) => ({ tags: [`v1.${i}.0`] })),
      ...Array.from({ length: 5 }, (_, i) => ({ tags: [`dev-${i + 1}`] })),
      { tags: [] },
      { tags: [] },
      { tags: [] },
      { tags: [], ageMs: 2 * 3_600_000 },
    ];
    const digests = seed(e2e, API, layout);
    const byTag = (tag: string) => digests[layout.findIndex((l) => l.tags.includes(tag))]!;
    // An ECS service runs v1.2.0, pinned by digest as ECS resolves it.
    e2e.cloud.ecs.runService('prod', 'api', imageUri(API, byTag('v1.2.0')), byTag('v1.2.0'));

    const pushed = push(e2e, API, ['v2.0.0']);
    // The images as the worker will find them (read now, before the flow can act on them).
    const before = present(e2e, API);
    const plan = await expectedPlan(e2e, API, new Date());
    await e2e.cloud.settle(60_000);

    // What the policy says, by hand: rule 1 keeps the 3 newest v* (v2.0.0, v1.7.0, v1.6.0); of the rest
    // v0.9.0 (prod-*), v1.1.0 (hold) and v1.2.0 (in use) are saved. Rule 2 keeps dev-4, dev-5. Rule 3
    // takes the three leftovers older than a day; the fresh one stays.
    const expected = new Map<string, number>([
      ...['v1.0.0', 'v1.3.0', 'v1.4.0', 'v1.5.0'].map((t) => [byTag(t), 1] as const),
      ...['dev-1', 'dev-2', 'dev-3'].map((t) => [byTag(t), 2] as const),
      ...[14, 15, 16].map((i) => [digests[i]!, 3] as const),
    ]);
    expect(expiring(plan)).toEqual([...expected.keys()].sort());

    const after = present(e2e, API);
    const deleted = [...before].filter((d) => !after.has(d)).sort();
    expect(deleted).toEqual([...expected.keys()].sort());
    for (const kept of ['v0.9.0', 'v1.1.0', 'v1.2.0', 'v1.6.0', 'v1.7.0', 'dev-4', 'dev-5'])
      expect(after.has(byTag(kept)), kept).toBe(true);
    expect(after.has(digests[17]!)).toBe(true);
    expect(after.has(pushed)).toBe(true);

    const records = await auditByDigest(e2e);
    for (const [digest, priority] of expected) {
      const list = records.get(digest) ?? [];
      expect(list, digest).toHaveLength(1);
      const r = list[0]!;
      expect(r.status).toBe('DELETED');
      expect(r.repository).toBe(API);
      expect(r.actor.type).toBe('ecr-steward');
      expect(r.actor.rulePriority).toBe(priority);
      expect(r.evidence).toEqual(
        expect.arrayContaining(['steward-write-ahead', 'steward-delete', 'image-action-event']),
      );
    }
    // Nothing else was recorded: no protected or kept image has a record.
    expect([...records.keys()].sort()).toEqual([...expected.keys()].sort());
    const reports = await waitFor(
      'the worker report',
      () => workerReports(e2e, API).length > 0 && workerReports(e2e, API),
    );
    expect(reports.at(-1)).toMatchObject({ outcome: 'done', expired: expected.size, mode: 'enforce' });
    expect(reports.at(-1)?.protectedByReason).toMatchObject({ 'in-use': 1, hold: 1, 'protected-tag': 1 });
    expect(deadLetters(e2e)).toEqual({ cleanupDlq: 0, cleanupAsyncDlq: 0, auditDlq: 0, scanGateDlq: 0 });

    figures('push-cleanup', {
      images: before.size,
      events: e2e.busEvents.length,
      planned: expected.size,
      deletes: deleted.length,
      records: [...records.values()].flat().length,
      protected: reports.at(-1)?.protectedByReason,
      faultsInjected: 0,
      lost: expected.size - deleted.length,
      ms: Date.now() - started,
    });
  }, 60_000);

  it('a replicated image is cleaned up within seconds, like a push, though ECR emits no PUSH for it', async () => {
    const started = Date.now();
    // Four dev builds ten days old; rule 2 keeps the two newest dev-* images.
    const digests = seed(
      e2e,
      REPLICA,
      [1, 2, 3, 4].map((i) => ({ tags: [`dev-${i}`] })),
    );
    const replicated = e2e.cloud.ecr.replicateImage(REPLICA, {
      manifest: ociImageManifest(`${REPLICA}/replicated/${Date.now()}`, { sizeBytes: 20_000 }),
      tags: ['dev-9'],
      sourceRegion: 'us-east-1',
    });
    await e2e.cloud.settle(60_000);
    const settledMs = Date.now() - started;

    // dev-9 and dev-4 stay; dev-1, dev-2 and dev-3 go, each with one DELETED record of ours.
    const after = present(e2e, REPLICA);
    expect([...after].sort()).toEqual([replicated, digests[3]!].sort());
    const records = await auditByDigest(e2e);
    for (const digest of digests.slice(0, 3)) {
      expect(records.get(digest), digest).toHaveLength(1);
      expect(records.get(digest)?.[0]).toMatchObject({
        status: 'DELETED',
        repository: REPLICA,
        actor: { type: 'ecr-steward', rulePriority: 2 },
      });
    }
    // The arrival reached the intake as a replication: ECR emitted no PUSH for it.
    const arrivals = e2e.busEvents.filter(
      (e) => e.detail['repository-name'] === REPLICA && e.detail['image-digest'] === replicated,
    );
    expect(arrivals.map((e) => [e['detail-type'], e.detail['action-type'], e.detail.result])).toEqual([
      ['ECR Replication Action', 'REPLICATE', 'SUCCESS'],
    ]);
    expect(workerReports(e2e, REPLICA).at(-1)).toMatchObject({
      outcome: 'done',
      expired: 3,
      trigger: 'push',
    });
    expect(deadLetters(e2e)).toEqual({ cleanupDlq: 0, cleanupAsyncDlq: 0, auditDlq: 0, scanGateDlq: 0 });
    figures('replication-cleanup', { expired: 3, settledMs });
  });

  it('a scan with a CRITICAL finding: FAIL verdict, one security message, quarantine tag', async () => {
    const started = Date.now();
    const image = e2e.cloud.ecr.image(API, 'v2.0.0')!;
    const eventsBefore = e2e.busEvents.length;
    const securityBefore = e2e.cloud.sns.messages.filter((m) => m.topicArn === e2e.topics.security).length;
    e2e.cloud.ecr.setScanFindings(API, image.digest, {
      status: 'COMPLETE',
      scanType: 'BASIC',
      findings: [
        {
          name: 'CVE-2024-3094',
          severity: 'CRITICAL',
          uri: 'https://nvd.nist.gov/vuln/detail/CVE-2024-3094',
          attributes: [
            { key: 'package_name', value: 'xz-utils' },
            { key: 'package_version', value: '5.6.0' },
          ],
        },
        { name: 'CVE-2023-4911', severity: 'HIGH', attributes: [{ key: 'package_name', value: 'glibc' }] },
      ],
    });
    await e2e.cloud.settle(60_000);

    const verdict = await new VerdictStore(e2e.doc, e2e.tables.verdicts).latest({
      registryId: LOCAL_ACCOUNT,
      region: LOCAL_REGION,
      repository: API,
      digest: image.digest,
    });
    expect(verdict?.verdict).toBe('FAIL');
    expect(verdict?.blocking.map((f) => f.id)).toContain('CVE-2024-3094');
    const security = e2e.cloud.sns.messages.filter((m) => m.topicArn === e2e.topics.security);
    expect(security.length - securityBefore).toBe(1);
    expect(security.at(-1)?.subject).toContain(API);
    expect(security.at(-1)?.message).toContain('CVE-2024-3094');
    const tag = quarantineTag(config.gate.onFail.quarantine.tagPrefix, image.digest);
    expect(e2e.cloud.ecr.image(API, image.digest)?.tags).toEqual(expect.arrayContaining(['v2.0.0', tag]));
    expect(verdict?.quarantineTag).toBe(tag);
    expect(deadLetters(e2e).scanGateDlq).toBe(0);
    figures('scan-gate', {
      events: e2e.busEvents.length - eventsBefore,
      verdict: verdict?.verdict,
      securityMessages: security.length - securityBefore,
      quarantineTag: tag,
      deletes: 0,
      faultsInjected: 0,
      lost: 0,
      ms: Date.now() - started,
    });
  }, 60_000);

  it('an expired quarantine: the still-failing image is removed through the safe delete path, with its reason', async () => {
    const started = Date.now();
    const image = e2e.cloud.ecr.image(API, 'v2.0.0')!;
    const verdicts = new VerdictStore(e2e.doc, e2e.tables.verdicts);
    const ref = { registryId: LOCAL_ACCOUNT, region: LOCAL_REGION, repository: API, digest: image.digest };
    const quarantined = await verdicts.latest(ref);
    expect(quarantined?.quarantinedAt).toBeDefined();
    // Nothing is due yet: the quarantine began moments ago and expires after a day.
    const early = await e2e.cloud.runSchedule('ScanGateQuarantineExpirySchedule');
    await e2e.cloud.settle(60_000);
    expect(early.ok).toBe(true);
    expect(present(e2e, API).has(image.digest)).toBe(true);
    // Two days pass (for the record, and for the image: the minimum age protects the gate's removals too).
    const since = new Date(Date.now() - 2 * DAY).toISOString();
    e2e.cloud.ecr.agePushTime(API, image.digest, 2 * DAY);
    await e2e.doc.send(
      new UpdateCommand({
        TableName: e2e.tables.verdicts,
        Key: { pk: verdictPk(ref), sk: 'LATEST' },
        // The quarantine's start, and its place in the quarantine index with it.
        UpdateExpression: 'SET quarantinedAt = :since, qdue = :since',
        ExpressionAttributeValues: { ':since': since },
      }),
    );
    const securityBefore = e2e.cloud.sns.messages.filter((m) => m.topicArn === e2e.topics.security).length;

    const run = await e2e.cloud.runSchedule('ScanGateQuarantineExpirySchedule');
    await e2e.cloud.settle(60_000);

    expect(run.ok).toBe(true);
    expect(present(e2e, API).has(image.digest)).toBe(false);
    const records = (await auditByDigest(e2e)).get(image.digest) ?? [];
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      status: 'DELETED',
      repository: API,
      actor: { type: 'ecr-steward', rulePriority: null },
    });
    expect(records[0]?.actor.reasons?.[0]).toMatch(
      new RegExp(`^quarantined since ${since} and still failing after 1 days: FAIL: 1 CRITICAL`),
    );
    const security = e2e.cloud.sns.messages.filter((m) => m.topicArn === e2e.topics.security);
    expect(security.slice(securityBefore).map((m) => m.subject)).toEqual([
      `ECR Steward: ${API} image removed after its quarantine expired`,
    ]);
    const after = await verdicts.latest(ref);
    expect(after).toMatchObject({ verdict: 'FAIL', trigger: 'quarantine-expiry' });
    expect(after?.quarantinedAt).toBeUndefined();
    expect(await verdicts.dueForExpiry(new Date().toISOString(), 10)).toEqual([]);
    expect(deadLetters(e2e).scanGateDlq).toBe(0);
    figures('quarantine-expiry', {
      due: 1,
      removed: 1,
      records: records.length,
      securityMessages: security.length - securityBefore,
      lost: 0,
      ms: Date.now() - started,
    });
  }, 90_000);

  it('a burst of manual deletes crosses the threshold: one alert per window, and the breaker stops the next cleanup', async () => {
    const started = Date.now();
    const threshold = config.alerts.thresholds.find((t) => t.scope === 'repository' && t.maxDeletes)!;
    const burst = threshold.maxDeletes! + 10;
    // Builds (no rule selects them) and four old dev builds the policy would expire (it keeps 2 of them).
    const layout = [
      ...Array.from({ length: burst + 5 }, (_, i) => ({ tags: [`build-${i}`] })),
      ...Array.from({ length: 4 }, (_, i) => ({ tags: [`dev-${i + 1}`], ageMs: 3 * DAY - i * 60_000 })),
    ];
    const digests = seed(e2e, PAYMENTS, layout);
    const victims = digests.slice(0, burst);
    const alertsBefore = e2e.cloud.sns.messages.filter((m) => m.topicArn === e2e.topics.alerts).length;
    const eventsBefore = e2e.busEvents.length;
    let cloudTrail = 0;
    // The burst must land in one 5-minute window to be counted together.
    const waited = await awayFromWindowEdge(5, 30_000);

    for (let i = 0; i < victims.length; i += 100) {
      const batch = victims.slice(i, i + 100);
      const out = await e2e.ecr.send(
        new BatchDeleteImageCommand({
          repositoryName: PAYMENTS,
          imageIds: batch.map((imageDigest) => ({ imageDigest })),
        }),
      );
      expect(out.failures ?? []).toEqual([]);
      // CloudTrail records the call with its principal; EventBridge carries it to the audit rule.
      e2e.cloud.publish(cloudTrailBatchDelete(PAYMENTS, batch, out.imageIds ?? [], ALICE));
      cloudTrail++;
    }
    await e2e.cloud.settle(60_000);

    const alerts = e2e.cloud.sns.messages.filter((m) => m.topicArn === e2e.topics.alerts).slice(alertsBefore);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.subject).toContain(`repository ${PAYMENTS}`);
    expect(alerts[0]?.message).toContain(`breaker for repository:${PAYMENTS} is OPEN`);
    const breaker = new BreakerStore(e2e.doc, e2e.tables.state);
    expect((await breaker.get(repositoryScope(PAYMENTS)))?.state).toBe('open');
    const records = await auditByDigest(e2e);
    for (const d of victims) {
      expect(records.get(d), d).toHaveLength(1);
      expect(records.get(d)?.[0]).toMatchObject({
        status: 'DELETED',
        actor: { type: 'principal', principal: ALICE },
      });
    }

    // The next cleanup of that repository: a push. The plan would expire two dev builds; the breaker stops it.
    const planBefore = present(e2e, PAYMENTS);
    push(e2e, PAYMENTS, ['dev-5']);
    const wouldExpire = expiring(await expectedPlan(e2e, PAYMENTS, new Date()));
    expect(wouldExpire.length).toBeGreaterThan(0);
    await e2e.cloud.settle(60_000);
    // And the nightly sweep: every managed repository again.
    const sweep = await e2e.cloud.runSchedule('CleanupSweepSchedule');
    expect(sweep.ok).toBe(true);
    await e2e.cloud.settle(60_000);

    const reports = await waitFor(
      'two worker reports',
      () => workerReports(e2e, PAYMENTS).length >= 2 && workerReports(e2e, PAYMENTS),
    );
    for (const r of reports) expect(r).toMatchObject({ outcome: 'breaker-open', expired: 0 });
    for (const d of wouldExpire) expect(present(e2e, PAYMENTS).has(d)).toBe(true);
    expect(present(e2e, PAYMENTS).size).toBe(planBefore.size + 1);
    const stewardRecords = [...(await auditByDigest(e2e)).values()]
      .flat()
      .filter((r) => r.repository === PAYMENTS && r.actor.type === 'ecr-steward');
    expect(stewardRecords).toEqual([]);
    // Still exactly one alert: the deletions after the crossing claim no second one in the window.
    expect(
      e2e.cloud.sns.messages.filter((m) => m.topicArn === e2e.topics.alerts).slice(alertsBefore),
    ).toHaveLength(1);
    expect(deadLetters(e2e)).toEqual({ cleanupDlq: 0, cleanupAsyncDlq: 0, auditDlq: 0, scanGateDlq: 0 });

    figures('burst-breaker', {
      events: e2e.busEvents.length - eventsBefore + cloudTrail,
      manualDeletes: victims.length,
      threshold: threshold.maxDeletes,
      alerts: alerts.length,
      records: victims.length,
      breaker: 'open',
      workerOutcomes: reports.map((r) => r.outcome),
      stewardDeletesAfter: stewardRecords.length,
      waitedForWindowMs: waited,
      faultsInjected: 0,
      lost: 0,
      ms: Date.now() - started,
    });
  }, 120_000);
});
