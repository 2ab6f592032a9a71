/**
 * Deletion governance on the wire: the app synthesized with test/e2e/steward.governance.jsonc (a 24-hour notice,
 * then soft delete to ECR's archive class; `prod-*` protected), its bundled functions on the local cloud, and
 * the local cloud's clock moved by hand so that 24 hours pass in a moment. ECR's push events reach the real
 * rules, the intake and the FIFO queue; the due-deletion processor is the stack's own schedule
 * (`CleanupDueDeletionSchedule`, the sweep with `{"kind":"due"}`). Every test reads the end state from
 * the outside: the audit records in the table, the images as DescribeImages shows them, the notices the
 * notices topic received, and the UpdateImageStorageClass calls that reached the ECR emulator.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  BatchGetImageCommand,
  DescribeImagesCommand,
  type ImageDetail,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import { afterEach, describe, expect, it } from 'vitest';
import { dedupId, messageGroupId } from '../../functions/cleanup/sweep.js';
import type { AuditRecord } from '../../functions/shared/audit/records.js';
import { parseConfig } from '../../functions/shared/config/load.js';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { noticeMessage } from '../../functions/shared/governance/notice.js';
import type { EcrEvent } from '../../local/ecr-emulator.js';
import { type FaultDecision, FaultInjector } from '../../local/faults.js';
import {
  auditByDigest,
  DAY,
  deadLetters,
  type E2E,
  expectedPlan,
  figures,
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  push,
  seed,
  startE2E,
  waitFor,
  workerReports,
} from './harness.js';
import { ROOT } from './synth.js';

const CONFIG = 'test/e2e/steward.governance.jsonc';
const governed: StewardConfig = parseConfig(readFileSync(path.join(ROOT, CONFIG), 'utf8'), CONFIG);
const NOTICE_MS = 24 * 3_600_000;
const PURGE_MS = 30 * DAY;

/**
 * The fault injector, also keeping every UpdateImageStorageClass that reached the ECR emulator (neither
 * throttled nor dropped): "archived twice" is counted from the calls ECR performed, not from the events,
 * because archiving an archived image changes nothing ECR would report.
 */
class ObservingFaults extends FaultInjector {
  readonly archiveCalls: string[] = [];

  override async before(operation: string, input: unknown): Promise<FaultDecision> {
    const decision = await super.before(operation, input);
    const call = input as { imageId?: { imageDigest?: string }; targetStorageClass?: string } | undefined;
    if (
      operation === 'ecr:UpdateImageStorageClass' &&
      call?.targetStorageClass === 'ARCHIVE' &&
      !decision.drop &&
      !decision.fault
    )
      this.archiveCalls.push(call.imageId?.imageDigest ?? '?');
    return decision;
  }

  /** How many archive calls ECR performed, per digest. */
  archivesOf(digests: readonly string[]): Record<string, number> {
    return Object.fromEntries(digests.map((d) => [d, this.archiveCalls.filter((c) => c === d).length]));
  }
}

let e2e: E2E | undefined;

afterEach(async () => {
  await e2e?.close();
  e2e = undefined;
});

async function start(name: string, faults: ObservingFaults, visibilityMs?: number): Promise<E2E> {
  e2e = await startE2E(name, {
    config: CONFIG,
    faults,
    dynamoFaults: true,
    ...(visibilityMs !== undefined ? { visibilityMs } : {}),
  });
  return e2e;
}

/** The repository's audit records by digest, each digest's record asserted to be its only one. */
async function recordsOf(t: E2E, repository: string): Promise<Map<string, AuditRecord>> {
  const out = new Map<string, AuditRecord>();
  for (const [digest, records] of await auditByDigest(t)) {
    const mine = records.filter((r) => r.repository === repository);
    if (mine.length === 0) continue;
    expect(mine, `records of ${digest}`).toHaveLength(1);
    out.set(digest, mine[0]!);
  }
  return out;
}

/** `status` (and `dueAt` while scheduled) of each record, sorted by digest: one line to compare at a glance. */
const states = (records: Map<string, AuditRecord>) =>
  Object.fromEntries(
    [...records.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([d, r]) => [d, r.status === 'SCHEDULED' ? `SCHEDULED@${r.dueAt}` : r.status]),
  );

/** The images of a repository as DescribeImages answers with `imageStatus: ANY`: digest → imageStatus. */
async function ecrStatuses(t: E2E, repository: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let nextToken: string | undefined;
  do {
    const page = await t.ecr.send(
      new DescribeImagesCommand({
        repositoryName: repository,
        filter: { imageStatus: 'ANY' },
        maxResults: 1000,
        nextToken,
      }),
    );
    for (const d of page.imageDetails ?? ([] as ImageDetail[]))
      out[d.imageDigest ?? '?'] = d.imageStatus ?? 'ACTIVE';
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}

const statusMap = (active: readonly string[], archived: readonly string[]) =>
  Object.fromEntries([
    ...active.map((d) => [d, 'ACTIVE'] as const),
    ...archived.map((d) => [d, 'ARCHIVED'] as const),
  ]);

/** The notices the notices topic received (the worker publishes nothing else there). */
const notices = (t: E2E) => t.cloud.sns.messages.filter((m) => m.topicArn === t.topics.notices);

/** The ARCHIVE events ECR sent, by digest. */
const archiveEvents = (t: E2E, repository: string) =>
  t.ecrEvents
    .filter(
      (e) =>
        e.detail['action-type'] === 'UPDATE_STORAGE_CLASS' &&
        e.detail['target-storage-class'] === 'ARCHIVE' &&
        e.detail['repository-name'] === repository,
    )
    .map((e) => String(e.detail['image-digest']));

/** Runs the due-deletion processor as its schedule would, and waits until the queue and functions are idle. */
async function processDue(t: E2E): Promise<{ enqueued?: number }> {
  const result = await t.cloud.runSchedule('CleanupDueDeletionSchedule');
  expect(result.ok, result.error?.message).toBe(true);
  await t.cloud.settle(60_000);
  return (result.result ?? {}) as { enqueued?: number };
}

/** Moves the local clock to `iso` plus `deltaMs` (the clock only moves forward). */
function clockTo(t: E2E, iso: string, deltaMs: number): void {
  const ms = Date.parse(iso) + deltaMs - t.cloud.now().getTime();
  expect(ms, `the clock is already past ${iso}`).toBeGreaterThan(0);
  t.cloud.advanceClock(ms);
}

/** The notice the worker must have sent for these SCHEDULED records of one run. */
function expectedNotice(repository: string, records: readonly AuditRecord[]) {
  const sorted = [...records].sort((a, b) => (a.digest < b.digest ? -1 : 1));
  return noticeMessage({
    registryId: LOCAL_ACCOUNT,
    region: LOCAL_REGION,
    repository,
    selection: 'governed',
    dueAt: sorted.map((r) => r.dueAt!).sort()[0]!,
    runId: sorted[0]!.actor.runId!,
    softDelete: 'archive',
    purgeAfterDays: 30,
    images: sorted.map((r) => ({
      digest: r.digest,
      tags: r.tags,
      ...(r.pushedAt ? { pushedAt: r.pushedAt } : {}),
      ...(r.lastPulledAt ? { lastPulledAt: r.lastPulledAt } : {}),
      sizeBytes: r.sizeBytes ?? 0,
      reason: r.actor.reasons?.at(-1) ?? '',
    })),
  });
}

/** The push event ECR sent for a digest. */
const pushEventOf = (t: E2E, digest: string): EcrEvent => {
  const event = t.busEvents.find(
    (e) => e.detail['action-type'] === 'PUSH' && e.detail['image-digest'] === digest,
  );
  if (!event) throw new Error(`no push event for ${digest}`);
  return event;
};

/** Adds a tag to an image already in the repository, as `docker tag` + `docker push` (PutImage) would. */
async function retag(t: E2E, repository: string, digest: string, tag: string): Promise<void> {
  const got = await t.ecr.send(
    new BatchGetImageCommand({ repositoryName: repository, imageIds: [{ imageDigest: digest }] }),
  );
  const image = got.images?.[0];
  expect(image?.imageManifest).toBeDefined();
  await t.ecr.send(
    new PutImageCommand({
      repositoryName: repository,
      imageManifest: image!.imageManifest!,
      imageManifestMediaType: image!.imageManifestMediaType,
      imageTag: tag,
    }),
  );
}

describe('deletion governance on the local cloud', () => {
  it('gives one notice per image and one SNS notice per run that scheduled when push events are duplicated and out of order, and archives nothing before the due time', async () => {
    // Prepare: five dev builds from before, then two pushes a second apart; the policy keeps two dev builds.
    const started = Date.now();
    const faults = new ObservingFaults({ seed: 11 });
    const t = await start('governance-duplicates', faults);
    const repository = 'governed/duplicates';
    const queue = t.cloud.queues.get(t.queues.cleanup)!;
    const old = seed(
      t,
      repository,
      Array.from({ length: 5 }, (_, i) => ({ tags: [`dev-s${i}`] })),
    );
    const firstFour = old.slice(0, 4);

    // Act: push A.
    const beforeA = t.cloud.now().getTime();
    const a = push(t, repository, ['dev-a']);
    await t.cloud.settle();
    const afterA = t.cloud.now().getTime();
    const eventA = pushEventOf(t, a);
    const afterFirst = await recordsOf(t, repository);

    // Assess: the four oldest are noticed, due 24 hours after the run, all at one time.
    expect([...afterFirst.keys()].sort()).toEqual([...firstFour].sort());
    const dueA = afterFirst.get(old[0]!)!.dueAt!;
    expect(Date.parse(dueA)).toBeGreaterThanOrEqual(beforeA + NOTICE_MS);
    expect(Date.parse(dueA)).toBeLessThanOrEqual(afterA + NOTICE_MS);
    for (const d of firstFour)
      expect(afterFirst.get(d)).toMatchObject({
        status: 'SCHEDULED',
        dueAt: dueA,
        evidence: ['steward-notice'],
        actor: { type: 'ecr-steward', rulePriority: 1 },
      });

    // Act: the same event again (EventBridge delivers at least once), then push B a second later.
    t.cloud.publish(eventA);
    await t.cloud.settle();
    t.cloud.advanceClock(1_000);
    const b = push(t, repository, ['dev-b']);
    await t.cloud.settle();
    const afterB = t.cloud.now().getTime();
    // The older event A once more, after the queue's five-minute deduplication window: it reaches the worker.
    queue.send(JSON.stringify(eventA), {
      groupId: messageGroupId(repository),
      deduplicationId: dedupId(`${eventA.id}#late`),
    });
    await t.cloud.settle();

    // Assess: one record per image; the first notices keep their due time; s4 (planned since B) got its own.
    const scheduled = await recordsOf(t, repository);
    const dueB = scheduled.get(old[4]!)!.dueAt!;
    expect(Date.parse(dueB)).toBeGreaterThan(Date.parse(dueA));
    expect(Date.parse(dueB)).toBeLessThanOrEqual(afterB + NOTICE_MS);
    expect(states(scheduled)).toEqual({
      ...Object.fromEntries(firstFour.map((d) => [d, `SCHEDULED@${dueA}`])),
      [old[4]!]: `SCHEDULED@${dueB}`,
    });
    for (const d of old) expect(scheduled.get(d)!.evidence).toEqual(['steward-notice']);
    // The duplicate was dropped by the FIFO queue; the late one ran and scheduled nothing.
    expect(queue.deduplicated).toBe(1);
    const runs = await waitFor('three worker runs', () => {
      const r = workerReports(t, repository);
      return r.length >= 3 && r;
    });
    expect(runs.map((r) => [r.trigger, r.outcome, r.scheduled, r.cancelled, r.archived])).toEqual([
      ['push', 'done', 4, 0, 0],
      ['push', 'done', 1, 0, 0],
      ['push', 'done', 0, 0, 0],
    ]);
    // One SNS notice per run that scheduled something, with exactly what the records say.
    const sent = notices(t);
    const first = expectedNotice(
      repository,
      firstFour.map((d) => scheduled.get(d)!),
    );
    const second = expectedNotice(repository, [scheduled.get(old[4]!)!]);
    expect(t.topics.notices).not.toBe('');
    expect(sent.map((m) => m.subject)).toEqual([first.subject, second.subject]);
    expect(first.subject).toBe(
      `ECR Steward: 4 images of ${repository} to be archived after ${dueA.slice(0, 16).replace('T', ' ')} UTC`,
    );
    expect(sent.map((m) => m.message)).toEqual([first.message, second.message]);
    for (const d of firstFour) expect(sent[0]!.message).toContain(`- ${d}\n`);

    // Act: half a minute before the first notice is due, the processor and a full sweep run.
    clockTo(t, dueA, -30_000);
    const early = await processDue(t);
    const sweep = await t.cloud.runSchedule('CleanupSweepSchedule');
    expect(sweep.ok).toBe(true);
    await t.cloud.settle();

    // Assess: nothing was due, so nothing moved: every image is ACTIVE, every notice stands unchanged.
    expect(early.enqueued).toBe(0);
    expect(await ecrStatuses(t, repository)).toEqual(statusMap([...old, a, b], []));
    expect(states(await recordsOf(t, repository))).toEqual(states(scheduled));
    expect(faults.archiveCalls).toEqual([]);

    // Act: the window passes for every notice; the processor runs.
    clockTo(t, dueB, 1_000);
    const processorAt = t.cloud.now().getTime();
    const due = await processDue(t);

    // Assess: exactly the five noticed images are archived in ECR and recorded ARCHIVED; A and B stay.
    expect(due.enqueued).toBe(1);
    expect(await ecrStatuses(t, repository)).toEqual(statusMap([a, b], old));
    const archived = await recordsOf(t, repository);
    expect([...archived.keys()].sort()).toEqual([...old].sort());
    const purgeAt = archived.get(old[0]!)!.purgeAt!;
    for (const d of old) {
      const r = archived.get(d)!;
      expect(r).toMatchObject({
        status: 'ARCHIVED',
        purgeAt,
        evidence: ['steward-archive', 'steward-notice', 'steward-write-ahead'],
        actor: { type: 'ecr-steward', rulePriority: 1 },
      });
      expect(r.actor.runId).toMatch(/^due-/);
      expect(r.dueAt).toBeUndefined();
      expect(Date.parse(r.archivedAt!)).toBeGreaterThanOrEqual(processorAt);
    }
    // The purge time is the processor run's time plus purgeAfterDays (30).
    expect(Date.parse(purgeAt) - PURGE_MS).toBeGreaterThanOrEqual(processorAt);
    expect(Date.parse(purgeAt) - PURGE_MS).toBeLessThanOrEqual(t.cloud.now().getTime());
    expect(faults.archivesOf(old)).toEqual(Object.fromEntries(old.map((d) => [d, 1])));
    expect(archiveEvents(t, repository).sort()).toEqual([...old].sort());
    // The processor gave no new notice.
    expect(notices(t)).toHaveLength(2);
    expect(deadLetters(t)).toEqual({ cleanupDlq: 0, cleanupAsyncDlq: 0, auditDlq: 0, scanGateDlq: 0 });
    figures('governance-duplicates', {
      images: old.length + 2,
      notices: notices(t).length,
      deduplicated: queue.deduplicated,
      workerRuns: workerReports(t, repository).length,
      archived: faults.archiveCalls.length,
      ms: Date.now() - started,
    });
  }, 60_000);

  it('settles a crash between UpdateImageStorageClass and the audit settle as ARCHIVED on the next run, archiving no image twice', async () => {
    // Prepare: three images noticed, then due.
    const started = Date.now();
    const faults = new ObservingFaults({ seed: 12 });
    const t = await start('governance-crash', faults);
    const repository = 'governed/crash';
    const old = seed(
      t,
      repository,
      Array.from({ length: 4 }, (_, i) => ({ tags: [`dev-s${i}`] })),
    );
    const planned = old.slice(0, 3).sort();
    const newest = push(t, repository, ['dev-new']);
    await t.cloud.settle();
    const noticed = await recordsOf(t, repository);
    expect(Object.keys(states(noticed))).toEqual(planned);
    clockTo(t, noticed.get(planned[0]!)!.dueAt!, 1_000);

    // The worker dies just as its first UpdateImageStorageClass reaches ECR; ECR still performs the call.
    let atCrash:
      | { records: Record<string, string>; intents: string[]; ecr: Record<string, string> }
      | undefined;
    let crashedOn = '';
    const crashed = new Promise<void>((resolve, reject) => {
      faults.onceBefore('ecr:UpdateImageStorageClass', async (ctx) => {
        t.cloud.functions.kill(t.workerId);
        try {
          crashedOn = (ctx.input as { imageId: { imageDigest: string } }).imageId.imageDigest;
          const records = await recordsOf(t, repository);
          atCrash = {
            records: states(records),
            intents: [...records.values()].map((r) => r.intent ?? '-'),
            ecr: await ecrStatuses(t, repository),
          };
          resolve();
        } catch (e) {
          reject(e);
        }
      });
    });

    // Act: the processor runs; the killed run's message comes back (SQS, after its visibility timeout).
    const result = await t.cloud.runSchedule('CleanupDueDeletionSchedule');
    expect(result.ok).toBe(true);
    await crashed;
    await t.cloud.settle(60_000);

    // Assess: at the crash every write-ahead was durable. The archive calls run a few at a time, so calls already
    // on their way when the worker died may land too: only planned images can be archived, none other.
    expect(planned).toContain(crashedOn);
    expect(atCrash?.records).toEqual(Object.fromEntries(planned.map((d) => [d, 'PENDING'])));
    expect(atCrash?.intents).toEqual(['archive', 'archive', 'archive']);
    for (const [digest, status] of Object.entries(atCrash?.ecr ?? {}))
      if (status === 'ARCHIVED') expect(planned).toContain(digest);
    // After the next run: every planned image archived exactly once, each with one ARCHIVED record; the one
    // whose reply was lost was settled by reconciliation from what ECR shows.
    const records = await recordsOf(t, repository);
    expect(states(records)).toEqual(Object.fromEntries(planned.map((d) => [d, 'ARCHIVED'])));
    expect(await ecrStatuses(t, repository)).toEqual(statusMap([old[3]!, newest], planned));
    expect(records.get(crashedOn)!.evidence).toContain('settled');
    expect(records.get(crashedOn)!.evidence).not.toContain('steward-archive');
    for (const r of records.values()) expect(r.purgeAt).toBeDefined();
    expect(faults.archivesOf(planned)).toEqual(Object.fromEntries(planned.map((d) => [d, 1])));
    expect(archiveEvents(t, repository).sort()).toEqual(planned);
    // The crash gave no second notice.
    expect(notices(t)).toHaveLength(1);

    // Act: the processor once more.
    await processDue(t);

    // Assess: nothing changes; nothing is archived again.
    expect(states(await recordsOf(t, repository))).toEqual(states(records));
    expect(faults.archivesOf(planned)).toEqual(Object.fromEntries(planned.map((d) => [d, 1])));
    expect(deadLetters(t)).toEqual({ cleanupDlq: 0, cleanupAsyncDlq: 0, auditDlq: 0, scanGateDlq: 0 });
    figures('governance-crash', {
      planned: planned.length,
      archiveCalls: faults.archiveCalls.length,
      workerOutcomes: workerReports(t, repository).map((r) => `${r.runId}:${r.outcome}:${r.archived}`),
      ms: Date.now() - started,
    });
  }, 60_000);

  it('archives exactly the due, still-planned images, each with one ARCHIVED record, when 20% of ECR and DynamoDB calls are throttled', async () => {
    // Prepare: eight dev builds from before and one push: seven noticed, due first.
    const started = Date.now();
    // Seeded fault streams: which calls a seed throttles depends on how many calls the phase makes, so the seed
    // is one whose streams throttle both services here (the assertions below check that they did).
    const faults = new ObservingFaults({ seed: 20_261_206 });
    const t = await start('governance-throttled', faults);
    const repository = 'governed/throttled';
    const old = seed(
      t,
      repository,
      Array.from({ length: 8 }, (_, i) => ({ tags: [`dev-s${i}`] })),
    );
    const p1 = push(t, repository, ['dev-p1']);
    await t.cloud.settle();
    const first = await recordsOf(t, repository);
    expect([...first.keys()].sort()).toEqual(old.slice(0, 7).sort());
    const dueFirst = first.get(old[0]!)!.dueAt!;
    // Twelve hours later: one more push (s7 noticed now, due later) and s6 re-tagged prod-6 (kept).
    t.cloud.advanceClock(12 * 3_600_000);
    const p2 = push(t, repository, ['dev-p2']);
    await t.cloud.settle();
    await retag(t, repository, old[6]!, 'prod-6');
    await t.cloud.settle();
    const before = await recordsOf(t, repository);
    const dueNow = old.slice(0, 6).sort();
    const notYet = [old[7]!];
    const dueLater = before.get(old[7]!)!.dueAt!;
    expect(Date.parse(dueLater)).toBeGreaterThan(Date.parse(dueFirst) + 11 * 3_600_000);
    expect(states(before)).toEqual({
      ...Object.fromEntries(dueNow.map((d) => [d, `SCHEDULED@${dueFirst}`])),
      ...Object.fromEntries(notYet.map((d) => [d, `SCHEDULED@${dueLater}`])),
      [old[6]!]: 'CANCELLED',
    });
    clockTo(t, dueFirst, 60_000);

    // Act: from here 20% of ECR and DynamoDB calls are throttled; the processor runs until the queue settles
    // and, as the schedule would, again while a due image is left (at most four times).
    const base = faults.snapshot();
    faults.set('ecr:*', { throttleRate: 0.2 });
    faults.set('dynamodb:*', { throttleRate: 0.2 });
    let rounds = 0;
    do {
      rounds++;
      await t.cloud.runSchedule('CleanupDueDeletionSchedule');
      await t.cloud.settle(60_000);
    } while (
      rounds < 4 &&
      Object.entries(await ecrStatuses(t, repository)).some(
        ([d, s]) => dueNow.includes(d) && s !== 'ARCHIVED',
      )
    );
    const throttledOf = (prefix: string) =>
      Object.entries(faults.snapshot())
        .filter(([op]) => op.startsWith(prefix))
        .reduce((n, [op, c]) => n + c.throttled - (base[op]?.throttled ?? 0), 0);
    const throttled = { ecr: throttledOf('ecr:'), dynamodb: throttledOf('dynamodb:') };
    faults.clear();

    // Assess: exactly the due, still-planned images are archived; the later notices and the re-tagged image
    // are untouched; every due image has one record, ARCHIVED, and ECR performed one archive call for it.
    // The faults really were there, on both services.
    expect(throttled.ecr).toBeGreaterThan(0);
    expect(throttled.dynamodb).toBeGreaterThan(0);
    expect(await ecrStatuses(t, repository)).toEqual(statusMap([old[6]!, ...notYet, p1, p2], dueNow));
    const after = await recordsOf(t, repository);
    expect(states(after)).toEqual({
      ...Object.fromEntries(dueNow.map((d) => [d, 'ARCHIVED'])),
      ...Object.fromEntries(notYet.map((d) => [d, `SCHEDULED@${dueLater}`])),
      [old[6]!]: 'CANCELLED',
    });
    for (const d of dueNow) expect(after.get(d)!.purgeAt).toBeDefined();
    expect(faults.archivesOf([...dueNow, ...notYet, old[6]!])).toEqual({
      ...Object.fromEntries(dueNow.map((d) => [d, 1])),
      ...Object.fromEntries([...notYet, old[6]!].map((d) => [d, 0])),
    });
    expect(deadLetters(t)).toEqual({ cleanupDlq: 0, cleanupAsyncDlq: 0, auditDlq: 0, scanGateDlq: 0 });
    figures('governance-throttled', {
      due: dueNow.length,
      rounds,
      throttled,
      archiveCalls: faults.archiveCalls.length,
      workerOutcomes: workerReports(t, repository).map((r) => `${r.trigger}:${r.outcome}:${r.archived}`),
      ms: Date.now() - started,
    });
  }, 60_000);

  it('keeps an image re-tagged during its notice window so the policy keeps it, and ends its notice CANCELLED with the reason', async () => {
    // Prepare: three images noticed.
    const faults = new ObservingFaults({ seed: 14 });
    const t = await start('governance-retag', faults);
    const repository = 'governed/retag';
    const old = seed(
      t,
      repository,
      Array.from({ length: 4 }, (_, i) => ({ tags: [`dev-s${i}`] })),
    );
    const newest = push(t, repository, ['dev-new']);
    await t.cloud.settle();
    const noticed = await recordsOf(t, repository);
    const planned = old.slice(0, 3).sort();
    expect(Object.keys(states(noticed))).toEqual(planned);
    const dueAt = noticed.get(planned[0]!)!.dueAt!;
    const saved = old[1]!;

    // Act: six hours into the window the team tags one of them prod-1 (protected), then the window passes.
    t.cloud.advanceClock(6 * 3_600_000);
    await retag(t, repository, saved, 'prod-1');
    await t.cloud.settle();
    const plan = await expectedPlan(t, repository, t.cloud.now(), [], governed);
    const cancelled = (await recordsOf(t, repository)).get(saved)!;
    clockTo(t, dueAt, 1_000);
    const due = await processDue(t);

    // Assess: the re-tag ended the notice at once, with the protection's reason; nothing else moved then.
    const keep = plan.decisions.find((d) => d.imageDigest === saved)!;
    expect(keep.action).toBe('keep');
    expect(keep.reasons.at(-1)).toBe('tag prod-1 is protected (prod-*)');
    expect(cancelled).toMatchObject({
      status: 'CANCELLED',
      note: 'tag prod-1 is protected (prod-*)',
      evidence: ['steward-cancel', 'steward-notice'],
    });
    expect(cancelled.dueAt).toBeUndefined();
    // After the due time: the other two archived, the re-tagged one still ACTIVE with its CANCELLED record.
    expect(due.enqueued).toBe(1);
    expect(await ecrStatuses(t, repository)).toEqual(statusMap([saved, old[3]!, newest], [old[0]!, old[2]!]));
    const records = await recordsOf(t, repository);
    expect(states(records)).toEqual({
      [old[0]!]: 'ARCHIVED',
      [saved]: 'CANCELLED',
      [old[2]!]: 'ARCHIVED',
    });
    expect(records.get(saved)).toMatchObject({ note: 'tag prod-1 is protected (prod-*)' });
    expect(faults.archivesOf(planned)).toEqual({ [old[0]!]: 1, [saved]: 0, [old[2]!]: 1 });
    // One notice (the push's); the re-tag's run and the processor's scheduled nothing.
    expect(notices(t)).toHaveLength(1);
    expect(
      workerReports(t, repository).map((r) => [r.trigger, r.scheduled, r.cancelled, r.archived]),
    ).toEqual([
      ['push', 3, 0, 0],
      ['push', 0, 1, 0],
      ['sweep', 0, 0, 2],
    ]);
  }, 60_000);
});
