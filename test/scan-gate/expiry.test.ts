/**
 * The quarantine expiry (gate.onFail.quarantine.expireAfterDays) with in-memory ports (helpers.ts): when a
 * quarantine begins and ends (`quarantinedAt`), that an expired quarantine removes the image only if it still
 * fails when judged again, only through the safe delete path (in use, breaker, dry-run, write-ahead audit), and
 * the scheduled run that finds the due images (`expireQuarantined`).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ExpiryReport,
  type ExpiryRun,
  expireQuarantined,
  judgeImage,
  quarantineExpiresAt,
} from '../../functions/scan-gate/core.js';
import { verdictPk } from '../../functions/scan-gate/verdicts.js';
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

const DAY = 86_400_000;
const TAG = `quarantined-${DIGEST.slice(7, 19)}`;
const at = (days: number, ms = 0) => new Date(NOW.getTime() + days * DAY + ms);

const failing = () => basicScan([{ name: 'CVE-2024-0001', severity: 'CRITICAL', packageName: 'openssl' }]);
const passing = () => basicScan([{ name: 'CVE-2024-0009', severity: 'LOW' }]);
const pending = () => basicScan([], 'IN_PROGRESS');
const SUMMARY = 'FAIL: 1 CRITICAL finding (at most 0 allowed) — worst: CVE-2024-0001 (CRITICAL in openssl)';

const EXPIRY = { onFail: { quarantine: { enabled: true, expireAfterDays: 7 } } };
const QUIET_EXPIRY = { onFail: { notify: false, quarantine: { enabled: true, expireAfterDays: 7 } } };
const WHY = `quarantined since ${NOW.toISOString()} and still failing after 7 days: ${SUMMARY}`;

const judge = (
  config: GateConfig,
  h: GateHarness,
  now: Date,
  eventId: string,
  mode: 'dry-run' | 'enforce' = 'enforce',
) => judgeImage(config, image(), eventId, now, h.ports, { mode });

const run = (config: GateConfig, h: GateHarness, now: Date, extra: Partial<ExpiryRun> = {}) =>
  expireQuarantined(
    config,
    {
      runId: 'expiry-1',
      mode: 'enforce',
      limit: 100,
      bounds: { maxDeletesPerRepository: 500 },
      ...extra,
    },
    now,
    h.ports,
  );

const NOTHING: ExpiryReport = {
  runId: 'expiry-1',
  mode: 'enforce',
  due: 0,
  removed: 0,
  planned: 0,
  released: 0,
  gone: 0,
  kept: [],
  failures: [],
  more: false,
};

describe('judgeImage: when the quarantine began', () => {
  it('records the first FAIL as quarantinedAt, keeps it through later FAIL and PENDING verdicts, and clears it on PASS', async () => {
    // Prepare
    const config = gateConfig(QUIET_EXPIRY);
    const h = gateHarness(failing());

    // Act
    await judge(config, h, NOW, 'e1');
    await judge(config, h, at(1), 'e2');
    h.scan = pending();
    await judge(config, h, at(2), 'e3');
    h.scan = passing();
    await judge(config, h, at(3), 'e4');
    h.scan = failing();
    await judge(config, h, at(4), 'e5');

    // Assess
    expect(h.history.map((r) => [r.verdict, r.quarantinedAt])).toEqual([
      ['FAIL', NOW.toISOString()],
      ['FAIL', NOW.toISOString()],
      ['PENDING', NOW.toISOString()],
      ['PASS', undefined],
      ['FAIL', at(4).toISOString()],
    ]);
  });

  it('records it in an IMMUTABLE repository too, where the quarantine lives in the record only', async () => {
    // Prepare
    const h = gateHarness(failing());
    h.repository = { tagMutability: 'IMMUTABLE' };

    // Act
    await judge(gateConfig(QUIET_EXPIRY), h, NOW, 'e1');

    // Assess
    expect(h.lastRecord()).toMatchObject({ quarantineTag: undefined, quarantinedAt: NOW.toISOString() });
  });

  it('records nothing when the quarantine is off', async () => {
    // Prepare
    const h = gateHarness(failing());

    // Act
    await judge(gateConfig(), h, NOW, 'e1');

    // Assess
    expect(h.lastRecord().quarantinedAt).toBeUndefined();
  });

  it('dates a quarantine recorded before quarantinedAt existed from that record', async () => {
    // Prepare
    const h = gateHarness(failing());
    h.image = { tags: ['v1', TAG], pushedAt: NOW.getTime() - DAY };
    h.latest.set(verdictPk(image()), {
      ...image(),
      tags: ['v1', TAG],
      verdict: 'FAIL',
      summary: SUMMARY,
      reasons: [],
      counts: { CRITICAL: 1 },
      blocking: [{ id: 'CVE-2024-0001', severity: 'CRITICAL', packageName: 'openssl' }],
      policyHash: 'old',
      at: at(-2).toISOString(),
      trigger: 'ecr-scan',
      eventId: 'e0',
      actions: [],
      quarantineTag: TAG,
    });

    // Act
    await judge(gateConfig(QUIET_EXPIRY), h, NOW, 'e1');

    // Assess
    expect(h.lastRecord().quarantinedAt).toBe(at(-2).toISOString());
  });

  it('says when a quarantine expires, and nothing when the config gives it no expiry', () => {
    expect(quarantineExpiresAt(gateConfig(EXPIRY), NOW.toISOString())).toEqual(at(7));
    expect(
      quarantineExpiresAt(gateConfig({ onFail: { quarantine: { enabled: true } } }), NOW.toISOString()),
    ).toBeUndefined();
    expect(quarantineExpiresAt(gateConfig(EXPIRY), undefined)).toBeUndefined();
  });

  it('refuses an expiry without the quarantine', () => {
    expect(() => gateConfig({ onFail: { quarantine: { expireAfterDays: 7 } } })).toThrow(
      /expireAfterDays needs the quarantine enabled/,
    );
  });
});

describe('judgeImage: an expired quarantine', () => {
  it('keeps the image a millisecond before the expiry and removes it at the expiry, through the safe delete path', async () => {
    // Prepare
    const config = gateConfig(EXPIRY);
    const h = gateHarness(failing());
    await judge(config, h, NOW, 'e1');

    // Act
    const before = await judge(config, h, at(7, -1), 'e2');
    h.journal.length = 0;
    const expired = await judge(config, h, at(7), 'e3');

    // Assess
    expect(before.actions).toEqual([]);
    expect(expired.actions).toEqual([`removed: ${WHY}`, 'notified removal']);
    expect(h.journal.filter((j) => /^(inUse|breaker|audit|registry|notify)/.test(j))).toEqual([
      'inUse',
      `breaker:firstOpen:registry,repository:${REPO}`,
      `audit:PENDING:${DIGEST}`,
      `registry:deleteImages:${DIGEST}`,
      `audit:DELETED:${DIGEST}`,
      `notify:ECR Steward: ${REPO} image removed after its quarantine expired`,
    ]);
    expect(h.audit[0]).toMatchObject({
      registryId: ACCOUNT,
      region: REGION,
      repository: REPO,
      digest: DIGEST,
      status: 'PENDING',
      tags: ['v1', TAG],
      actor: { type: 'ecr-steward', rulePriority: null, reasons: [WHY] },
    });
    expect(h.notifications.at(-1)?.message).toContain(`${REPO}@${DIGEST} [v1, ${TAG}] was removed.\n${WHY}`);
    expect(h.lastRecord()).toMatchObject({
      verdict: 'FAIL',
      quarantineTag: undefined,
      quarantinedAt: undefined,
      actions: expired.actions,
    });
  });

  it('does not notify the removal when notify is off', async () => {
    // Prepare
    const config = gateConfig(QUIET_EXPIRY);
    const h = gateHarness(failing());
    await judge(config, h, NOW, 'e1');

    // Act
    const outcome = await judge(config, h, at(8), 'e2');

    // Assess
    expect(outcome.actions).toEqual([
      `removed: quarantined since ${NOW.toISOString()} and still failing after 7 days: ${SUMMARY}`,
    ]);
    expect(h.notifications).toEqual([]);
    expect(h.deleteCalls).toEqual([[DIGEST]]);
  });

  it('keeps an image in use, says where, and stays quarantined for the next run', async () => {
    // Prepare
    const config = gateConfig(QUIET_EXPIRY);
    const h = gateHarness(failing());
    await judge(config, h, NOW, 'e1');
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
    const outcome = await judge(config, h, at(8), 'e2');

    // Assess
    expect(outcome.actions).toEqual(['not removed: in use by ecs:service/prod/orders']);
    expect(h.deleteCalls).toEqual([]);
    expect(h.audit).toEqual([]);
    expect(h.lastRecord()).toMatchObject({ quarantineTag: TAG, quarantinedAt: NOW.toISOString() });
  });

  it('keeps an image on hold (by tag or digest) while the hold is in force, then removes it', async () => {
    // Prepare
    const config = gateConfig(QUIET_EXPIRY);
    const h = gateHarness(failing());
    await judge(config, h, NOW, 'e1');
    h.holds = [
      { tag: 'v1', reason: 'legal hold', owner: 'legal', expiresAt: at(9).toISOString() },
      { digest: `sha256:${'0'.repeat(64)}`, reason: 'another image', owner: 'ops' },
    ];

    // Act
    const held = await judge(config, h, at(8), 'e2');
    const released = await judge(config, h, at(9), 'e3');

    // Assess
    const why = 'not removed: held: legal hold (by legal, until 2026-06-10T12:00:00.000Z)';
    expect(held.actions).toEqual([why]);
    expect(held.removal).toEqual({ outcome: 'kept', action: why });
    expect(released.removal?.outcome).toBe('removed');
    expect(h.deleteCalls).toEqual([[DIGEST]]);
    expect(h.journal).toContain(`selection:${REPO}`);
  });

  it('keeps an image held by digest even when removal is on and in-use checks are off', async () => {
    // Prepare
    const config = gateConfig({ onFail: { notify: false, remove: { enabled: true, allowInUse: true } } });
    const h = gateHarness(failing());
    h.holds = [{ digest: DIGEST, reason: 'evidence', owner: 'security' }];

    // Act
    const outcome = await judge(config, h, NOW, 'e1');

    // Assess
    expect(outcome.actions).toEqual(['not removed: held: evidence (by security)']);
    expect(h.deleteCalls).toEqual([]);
    expect(h.audit).toEqual([]);
  });

  it('removes nothing while the breaker is open', async () => {
    // Prepare
    const config = gateConfig(QUIET_EXPIRY);
    const h = gateHarness(failing());
    await judge(config, h, NOW, 'e1');
    h.breaker = { scope: 'registry' };

    // Act
    const outcome = await judge(config, h, at(8), 'e2');

    // Assess
    expect(outcome.actions).toEqual(['not removed: breaker open for registry']);
    expect(h.deleteCalls).toEqual([]);
    expect(h.lastRecord().quarantinedAt).toBe(NOW.toISOString());
  });

  it('in dry-run mode records a PLANNED removal and deletes nothing', async () => {
    // Prepare
    const config = gateConfig(EXPIRY);
    const h = gateHarness(failing());
    await judge(config, h, NOW, 'e1', 'dry-run');

    // Act
    const outcome = await judge(config, h, at(8), 'e2', 'dry-run');

    // Assess
    expect(outcome.actions).toEqual(['would be removed (dry-run): recorded as PLANNED']);
    expect(h.deleteCalls).toEqual([]);
    expect(h.audit).toEqual([
      expect.objectContaining({
        status: 'PLANNED',
        evidence: 'steward-write-ahead',
        digest: DIGEST,
        actor: expect.objectContaining({
          reasons: [`quarantined since ${NOW.toISOString()} and still failing after 7 days: ${SUMMARY}`],
        }),
      }),
    ]);
    expect(h.image?.tags).toEqual(['v1', TAG]);
    expect(h.lastRecord().quarantinedAt).toBe(NOW.toISOString());
  });

  it('releases an image that was fixed in the meantime instead of removing it', async () => {
    // Prepare
    const config = gateConfig(QUIET_EXPIRY);
    const h = gateHarness(failing());
    await judge(config, h, NOW, 'e1');
    h.scan = passing();

    // Act
    const outcome = await judge(config, h, at(8), 'e2');

    // Assess
    expect(outcome.verdict).toBe('PASS');
    expect(outcome.actions).toEqual([`quarantine lifted: tag ${TAG} removed`, 'notified recovery']);
    expect(h.deleteCalls).toEqual([]);
    expect(h.lastRecord().quarantinedAt).toBeUndefined();
  });

  it('releases an image whose finding was allowlisted in the meantime', async () => {
    // Prepare
    const h = gateHarness(failing());
    await judge(gateConfig(QUIET_EXPIRY), h, NOW, 'e1');
    const allowlisted = gateConfig({
      ...QUIET_EXPIRY,
      policy: {
        allowlist: [
          {
            cve: 'CVE-2024-0001',
            reason: 'not reachable from the service',
            owner: 'team-orders',
            expiresAt: '2027-01-01',
          },
        ],
      },
    });

    // Act
    const outcome = await judge(allowlisted, h, at(8), 'e2');

    // Assess
    expect(outcome.verdict).toBe('PASS');
    expect(h.deleteCalls).toEqual([]);
    expect(h.image?.tags).toEqual(['v1']);
  });

  it('removes once when removal is on as well: at the first FAIL, with the removal reason', async () => {
    // Prepare
    const config = gateConfig({
      onFail: { notify: false, quarantine: { enabled: true, expireAfterDays: 7 }, remove: { enabled: true } },
    });
    const h = gateHarness(failing());

    // Act
    const outcome = await judge(config, h, NOW, 'e1');

    // Assess
    expect(outcome.actions).toEqual([`quarantined with tag ${TAG}`, 'removed']);
    expect(h.deleteCalls).toEqual([[DIGEST]]);
    expect(h.audit[0]?.actor?.reasons).toEqual([`scan gate FAIL: ${SUMMARY}`]);
    expect(h.lastRecord().quarantinedAt).toBeUndefined();
  });
});

describe('expireQuarantined', () => {
  it('judges nothing before any quarantine is due, and asks the index with the cutoff now minus the expiry', async () => {
    // Prepare
    const config = gateConfig(QUIET_EXPIRY);
    const h = gateHarness(failing());
    await judge(config, h, NOW, 'e1');
    h.journal.length = 0;

    // Act
    const report = await run(config, h, at(7, -1));

    // Assess
    expect(report).toEqual(NOTHING);
    expect(h.journal).toEqual([`quarantine:due:${at(0, -1).toISOString()}:101`]);
  });

  it('removes a due image that still fails, and reports it', async () => {
    // Prepare
    const config = gateConfig(QUIET_EXPIRY);
    const h = gateHarness(failing());
    await judge(config, h, NOW, 'e1');

    // Act
    const report = await run(config, h, at(7));
    const next = await run(config, h, at(8));

    // Assess
    expect(report).toEqual({ ...NOTHING, due: 1, removed: 1 });
    expect(h.deleteCalls).toEqual([[DIGEST]]);
    expect(h.lastRecord()).toMatchObject({ trigger: 'quarantine-expiry', eventId: 'expiry-1' });
    expect(next).toEqual(NOTHING);
  });

  it('in dry-run mode plans the removal, and plans it again on the next run', async () => {
    // Prepare
    const config = gateConfig(QUIET_EXPIRY);
    const h = gateHarness(failing());
    await judge(config, h, NOW, 'e1', 'dry-run');

    // Act
    const first = await run(config, h, at(7), { mode: 'dry-run' });
    const second = await run(config, h, at(8), { mode: 'dry-run' });

    // Assess
    expect(first).toEqual({ ...NOTHING, mode: 'dry-run', due: 1, planned: 1 });
    expect(second).toEqual(first);
    expect(h.deleteCalls).toEqual([]);
    expect(h.audit.map((a) => a.status)).toEqual(['PLANNED', 'PLANNED']);
  });

  it('reports what it kept and why', async () => {
    // Prepare
    const config = gateConfig(QUIET_EXPIRY);
    const h = gateHarness(failing());
    await judge(config, h, NOW, 'e1');
    h.inUseRefs = [
      { registryId: ACCOUNT, region: REGION, repository: REPO, tag: 'v1', where: 'lambda:orders-fn:$LATEST' },
    ];

    // Act
    const report = await run(config, h, at(7));

    // Assess
    expect(report).toEqual({
      ...NOTHING,
      due: 1,
      kept: [
        {
          repository: REPO,
          digest: DIGEST,
          verdict: 'FAIL',
          reason: 'not removed: in use by lambda:orders-fn:$LATEST (as tag v1)',
        },
      ],
    });
  });

  it('reports a PENDING image as kept, with its verdict', async () => {
    // Prepare
    const config = gateConfig(QUIET_EXPIRY);
    const h = gateHarness(failing());
    await judge(config, h, NOW, 'e1');
    h.scan = pending();

    // Act
    const report = await run(config, h, at(7));

    // Assess
    expect(report.kept).toEqual([
      {
        repository: REPO,
        digest: DIGEST,
        verdict: 'PENDING',
        reason: expect.stringMatching(/^verdict PENDING: /),
      },
    ]);
    expect(h.deleteCalls).toEqual([]);
  });

  it('releases a fixed image and takes a gone image out of the index', async () => {
    // Prepare
    const config = gateConfig(QUIET_EXPIRY);
    const fixed = gateHarness(failing());
    await judge(config, fixed, NOW, 'e1');
    fixed.scan = passing();
    const gone = gateHarness(failing());
    await judge(config, gone, NOW, 'e1');
    gone.image = undefined;

    // Act
    const fixedReport = await run(config, fixed, at(7));
    const goneReport = await run(config, gone, at(7));
    const goneAgain = await run(config, gone, at(8));

    // Assess
    expect(fixedReport).toEqual({ ...NOTHING, due: 1, released: 1 });
    expect(goneReport).toEqual({ ...NOTHING, due: 1, gone: 1 });
    expect(gone.journal).toContain(`quarantine:release:${DIGEST}`);
    expect(goneAgain).toEqual(NOTHING);
  });

  it('judges at most `limit` images, oldest quarantine first, and says more are due', async () => {
    // Prepare
    const config = gateConfig(QUIET_EXPIRY);
    const h = gateHarness(failing());
    await judge(config, h, NOW, 'e1');
    const younger = image({ digest: `sha256:${'e'.repeat(64)}` });
    h.latest.set(verdictPk(younger), {
      ...h.lastRecord(),
      digest: younger.digest,
      quarantinedAt: at(0, 1).toISOString(),
    });

    // Act
    const report = await run(config, h, at(8), { limit: 1 });

    // Assess
    expect(report).toEqual({ ...NOTHING, due: 1, removed: 1, more: true });
    expect(h.deleteCalls).toEqual([[DIGEST]]);
  });

  it('gives an image it kept its next turn after the others, so kept images cannot crowd them out', async () => {
    // Prepare: the oldest quarantine is an image in use (kept run after run); a younger one is due too.
    const config = gateConfig(QUIET_EXPIRY);
    const h = gateHarness(failing());
    await judge(config, h, NOW, 'e1');
    h.inUseRefs = [
      {
        registryId: ACCOUNT,
        region: REGION,
        repository: REPO,
        digest: DIGEST,
        where: 'ecs:service/prod/orders',
      },
    ];
    const younger = image({ digest: `sha256:${'e'.repeat(64)}` });
    h.latest.set(verdictPk(younger), {
      ...h.lastRecord(),
      digest: younger.digest,
      quarantinedAt: at(0, 1).toISOString(),
    });

    // Act
    const first = await run(config, h, at(8), { limit: 1 });
    const second = await run(config, h, at(9), { limit: 1 });

    // Assess
    expect(first.kept.map((k) => k.digest)).toEqual([DIGEST]);
    expect(h.journal).toContain(`quarantine:defer:${DIGEST}:${at(1, 1).toISOString()}`);
    expect(second).toMatchObject({ due: 1, removed: 1, kept: [] });
    expect(h.deleteCalls).toEqual([[younger.digest]]);
  });

  it('names the expiry run in the audit records of its removals', async () => {
    // Prepare
    const config = gateConfig(QUIET_EXPIRY);
    const h = gateHarness(failing());
    await judge(config, h, NOW, 'e1');

    // Act
    await run(config, h, at(7));

    // Assess
    expect(h.audit.map((a) => [a.status, a.actor?.runId])).toEqual([
      ['PENDING', 'expiry-1'],
      ['DELETED', 'expiry-1'],
    ]);
  });

  it('restarts the quarantine of a digest deleted while quarantined and pushed again, and removes nothing', async () => {
    // Prepare: quarantined at NOW, deleted two days later, pushed again since.
    const config = gateConfig(QUIET_EXPIRY);
    const h = gateHarness(failing());
    await judge(config, h, NOW, 'e1');
    h.deletedAt = at(2).toISOString();

    // Act
    const report = await run(config, h, at(8));

    // Assess
    const reason = `quarantine restarted: the digest was deleted at ${at(2).toISOString()} and pushed again`;
    expect(report).toEqual({
      ...NOTHING,
      due: 1,
      kept: [{ repository: REPO, digest: DIGEST, verdict: 'FAIL', reason }],
    });
    expect(h.deleteCalls).toEqual([]);
    expect(h.lastRecord()).toMatchObject({ actions: [reason], quarantinedAt: at(8).toISOString() });
  });

  it('removes as usual when the recorded deletion is older than the quarantine', async () => {
    // Prepare
    const config = gateConfig(QUIET_EXPIRY);
    const h = gateHarness(failing());
    h.deletedAt = at(-30).toISOString();
    await judge(config, h, NOW, 'e1');

    // Act
    const report = await run(config, h, at(8));

    // Assess
    expect(report).toEqual({ ...NOTHING, due: 1, removed: 1 });
    expect(h.journal).toContain(`deletedAt:${DIGEST}`);
  });

  it('reports an image it could not judge and goes on with the others', async () => {
    // Prepare
    const config = gateConfig(QUIET_EXPIRY);
    const h = gateHarness(failing());
    await judge(config, h, NOW, 'e1');
    const other = image({ digest: `sha256:${'f'.repeat(64)}` });
    // Quarantined a moment earlier, so it is judged first.
    h.latest.set(verdictPk(other), {
      ...h.lastRecord(),
      digest: other.digest,
      quarantinedAt: at(0, -1).toISOString(),
    });
    const scanFindings = h.ports.scans.scanFindings;
    h.ports.scans.scanFindings = async (repository, digest) => {
      if (digest === other.digest) throw new Error('ThrottlingException: Rate exceeded');
      return scanFindings(repository, digest);
    };

    // Act
    const report = await run(config, h, at(8));

    // Assess
    expect(report.failures).toEqual([
      { repository: REPO, digest: other.digest, error: 'ThrottlingException: Rate exceeded' },
    ]);
    expect(report.removed).toBe(1);
    expect(h.deleteCalls).toEqual([[DIGEST]]);
  });

  it.each([
    ['no expiry is configured', { onFail: { quarantine: { enabled: true } } }],
    ['the gate is disabled', { enabled: false, ...EXPIRY }],
  ])('does nothing when %s', async (_, input) => {
    // Prepare
    const config = gateConfig(input);
    const h = gateHarness(failing());
    await judge(gateConfig(EXPIRY), h, NOW, 'e1');
    h.journal.length = 0;

    // Act
    const report = await run(config, h, at(30));

    // Assess
    expect(report).toEqual(NOTHING);
    expect(h.journal).toEqual([]);
  });
});

describe('quarantine expiry: invariants', () => {
  type Step = { days: number; scan: 'fail' | 'pass' | 'pending'; inUse: boolean; expiryRun: boolean };
  const step = fc.record({
    days: fc.integer({ min: 0, max: 4 }),
    scan: fc.constantFrom('fail' as const, 'pass' as const, 'pending' as const),
    inUse: fc.boolean(),
    expiryRun: fc.boolean(),
  });

  it('removes only an image that fails now, is not in use, and has been quarantined for the whole expiry', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps: Step[]) => {
        const config = gateConfig(QUIET_EXPIRY);
        const h = gateHarness(failing());
        let now = NOW.getTime();
        let failingSince: number | undefined;
        for (const [i, s] of steps.entries()) {
          if (!h.image) break;
          now += s.days * DAY;
          h.scan = s.scan === 'fail' ? failing() : s.scan === 'pass' ? passing() : pending();
          h.inUseRefs = s.inUse
            ? [{ registryId: ACCOUNT, region: REGION, repository: REPO, digest: DIGEST, where: 'ecs:x' }]
            : [];
          const deletesBefore = h.deleteCalls.length;
          const verdictsBefore = h.history.length;
          if (s.expiryRun) await run(config, h, new Date(now));
          else await judge(config, h, new Date(now), `e${i}`);
          const removed = h.deleteCalls.length > deletesBefore;
          // What the gate saw (an expiry run judges due images only): a FAIL starts the quarantine, PENDING
          // keeps it, PASS ends it.
          const judged = h.history.length > verdictsBefore;
          const quarantineStart = !judged
            ? failingSince
            : s.scan === 'pass'
              ? undefined
              : s.scan === 'fail'
                ? (failingSince ?? now)
                : failingSince;
          if (removed) {
            expect(s.scan).toBe('fail');
            expect(s.inUse).toBe(false);
            expect(quarantineStart).toBeDefined();
            expect(now - quarantineStart!).toBeGreaterThanOrEqual(7 * DAY);
          }
          failingSince = quarantineStart;
        }
      }),
      { numRuns: 300 },
    );
  });
});
