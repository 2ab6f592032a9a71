/**
 * Faults everywhere: 20% throttling and 5% server errors on every operation of the local cloud's server
 * (ECR, ECS, Lambda, SQS, SNS, tagging) and of DynamoDB (through the fault proxy in front of dynalite), plus
 * 20% of BatchDeleteImage items failing with ECR's transient KmsError. A push to a 5,000-image repository
 * still ends with exactly the images the lifecycle engine plans deleted, each with exactly one audit record,
 * and no protected image (in use, held, protected tag) touched. Whatever a fault leaves undone is left to the
 * next run, as in production: the test sweeps until the plan is done, then checks the end state.
 *
 * Scale and time. The repository is already managed when the faults start (a fault-free sweep took its
 * snapshot), as a 5,000-image repository would be. Every deletion costs about 11 DynamoDB calls (write-ahead,
 * settle, the audit function's merge and counters), each throttled 20% and failed 5% of the time here. With
 * standard retry for DynamoDB and 8 audit records in flight per batch, the fault phase of this test takes
 * about 26 s for its 18 planned removals (15 deleted, 3 protected). A 3,000-deletion variant was measured at
 * about 2 audited deletions a second on this single-process local cloud (347 in 170 s), so it would take
 * about 25 minutes: the test keeps the small plan, and the fault rates are not lowered for it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultInjector } from '../../local/faults.js';
import {
  auditByDigest,
  config,
  DAY,
  deadLetters,
  type E2E,
  expectedPlan,
  expiring,
  figures,
  imageUri,
  inUseRefs,
  present,
  push,
  seed,
  startE2E,
  waitFor,
  workerReports,
} from './harness.js';

const REPO = 'fleet/big';
const IMAGES = 5_000;
const FAULTS = { throttleRate: 0.2, serverErrorRate: 0.05 } as const;
/** Share of BatchDeleteImage items failed with ECR's transient KmsError (retried by EcrRegistry). */
const PARTIAL = 0.2;

let e2e: E2E;
const faults = new FaultInjector({ seed: 20_260_601 });

beforeAll(async () => {
  e2e = await startE2E('faults', { faults, dynamoFaults: true });
}, 180_000);

afterAll(async () => {
  await e2e?.close();
});

describe('faults on every operation, DynamoDB included', () => {
  it('a cleanup of a 5,000-image repository deletes exactly the planned images, each with one audit record, and touches no protected image', async () => {
    const started = Date.now();
    const keep = config.selections.find((s) => s.name === 'fleet')!.lifecyclePolicy as {
      rules: { selection: { countNumber: number } }[];
    };
    const kept = keep.rules[0]!.selection.countNumber;
    const original = kept;
    const added = IMAGES - kept - 1;

    // The repository as ECR Steward already manages it: `kept` images, the newest policy-sized set, and a
    // snapshot from an earlier (fault-free) sweep that found nothing to delete.
    const month = 30 * DAY;
    const originals = seed(
      e2e,
      REPO,
      Array.from({ length: original }, (_, i) => ({
        tags: i === 0 ? ['escrow'] : i === 1 ? ['keep-forever'] : i % 3 === 0 ? [] : [`build-${i}`],
        ageMs: month - i * 60_000,
      })),
      { seedPrefix: 'original' },
    );
    // The oldest image after the two protected ones runs in production, pinned by digest.
    e2e.cloud.ecs.runService('prod', 'fleet', imageUri(REPO, originals[2]!), originals[2]);
    const warm = await e2e.cloud.runSchedule('CleanupSweepSchedule');
    expect(warm.ok).toBe(true);
    await e2e.cloud.settle(120_000);
    const warmReport = await waitFor('the warm-up report', () => workerReports(e2e, REPO).at(-1));
    expect(warmReport).toMatchObject({ outcome: 'done', expired: 0 });
    expect(e2e.cloud.ecr.imageCount(REPO)).toBe(original);

    // More images arrive (a registry migration, say: no push events), interleaved with the oldest ones.
    seed(
      e2e,
      REPO,
      Array.from({ length: added }, (_, i) => ({
        tags: i % 2 === 0 ? [`import-${i}`] : [],
        ageMs: month - i * 120_000 - 30_000,
      })),
      { seedPrefix: 'added' },
    );
    const refs = await inUseRefs(e2e);

    // From here on every call may be throttled or fail.
    const base = faults.snapshot();
    const eventsBefore = e2e.busEvents.length;
    faults.set('*', FAULTS);
    faults.set('ecr:BatchDeleteImage', { ...FAULTS, partialFailureRate: PARTIAL });
    const faultStart = Date.now();
    const pushed = push(e2e, REPO, ['build-new']);
    expect(e2e.cloud.ecr.imageCount(REPO)).toBe(IMAGES);
    const before = present(e2e, REPO);
    const plan = await expectedPlan(e2e, REPO, new Date(), refs);
    const planned = expiring(plan);
    const protectedDigests = plan.decisions.filter((d) => d.protectedBy.length > 0).map((d) => d.imageDigest);
    expect(planned.length).toBe(IMAGES - kept - 3);
    expect(protectedDigests.sort()).toEqual([originals[0]!, originals[1]!, originals[2]!].sort());

    let rounds = 1;
    await e2e.cloud.settle(200_000, 500);
    // A fault can leave part of the plan to the next run (a KmsError twice, a run that gave up): sweep on.
    while (planned.some((d) => present(e2e, REPO).has(d)) && rounds < 4) {
      rounds++;
      await e2e.cloud.runSchedule('CleanupSweepSchedule');
      await e2e.cloud.settle(200_000, 500);
    }
    const faultMs = Date.now() - faultStart;
    // What was injected during the fault phase (the counters also saw the fault-free warm-up).
    const injected = Object.fromEntries(
      Object.entries(faults.snapshot()).map(([op, c]) => {
        const b = base[op];
        return [
          op,
          {
            requests: c.requests - (b?.requests ?? 0),
            throttled: c.throttled - (b?.throttled ?? 0),
            serverErrors: c.serverErrors - (b?.serverErrors ?? 0),
            partialItems: c.partialItems - (b?.partialItems ?? 0),
          },
        ];
      }),
    );
    faults.clear();

    const after = present(e2e, REPO);
    const deleted = [...before].filter((d) => !after.has(d)).sort();
    expect(deleted).toEqual(planned);
    for (const d of protectedDigests) expect(after.has(d), d).toBe(true);
    expect(after.has(pushed)).toBe(true);

    const records = await auditByDigest(e2e);
    for (const d of planned) {
      expect(records.get(d), d).toHaveLength(1);
      const r = records.get(d)![0]!;
      expect(r.status).toBe('DELETED');
      expect(r.actor.type).toBe('ecr-steward');
      expect(r.actor.rulePriority).toBe(1);
      expect(r.evidence).toContain('image-action-event');
    }
    // Only the planned images have records: nothing protected or kept was touched or recorded.
    expect([...records.keys()].sort()).toEqual(planned);
    expect(deadLetters(e2e)).toEqual({ cleanupDlq: 0, cleanupAsyncDlq: 0, auditDlq: 0, scanGateDlq: 0 });

    // The faults really were there, on DynamoDB as much as on the local server.
    const sum = (prefix: string, key: 'throttled' | 'serverErrors' | 'partialItems' | 'requests') =>
      Object.entries(injected)
        .filter(([op]) => op.startsWith(prefix))
        .reduce((n, [, c]) => n + c[key], 0);
    expect(sum('dynamodb:', 'throttled')).toBeGreaterThan(0);
    expect(sum('dynamodb:', 'serverErrors')).toBeGreaterThan(0);
    expect(sum('ecr:', 'throttled') + sum('ecr:', 'serverErrors')).toBeGreaterThan(0);
    // (The fault streams are seeded, so this run's KmsError items are the same every time.)
    expect(sum('ecr:BatchDeleteImage', 'partialItems')).toBeGreaterThan(0);
    const total = (key: 'throttled' | 'serverErrors' | 'partialItems' | 'requests') => sum('', key);

    const byService = Object.fromEntries(
      ['ecr', 'dynamodb', 'sqs', 'sns', 'ecs', 'lambda', 'tagging'].map((s) => [
        s,
        {
          requests: sum(`${s}:`, 'requests'),
          throttled: sum(`${s}:`, 'throttled'),
          serverErrors: sum(`${s}:`, 'serverErrors'),
          partialItems: sum(`${s}:`, 'partialItems'),
        },
      ]),
    );
    figures('faults-5000', {
      images: before.size,
      events: e2e.busEvents.length - eventsBefore,
      planned: planned.length,
      protected: protectedDigests.length,
      deletes: deleted.length,
      records: [...records.values()].flat().length,
      rounds,
      workerOutcomes: workerReports(e2e, REPO).map((r) => `${r.outcome}:${r.expired}`),
      faultsInjected: total('throttled') + total('serverErrors') + total('partialItems'),
      requests: total('requests'),
      byService,
      lost: planned.length - deleted.length,
      faultPhaseMs: faultMs,
      ms: Date.now() - started,
    });
  }, 240_000);
});
