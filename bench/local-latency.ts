import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalCloud } from '../local/cloud.js';
import { ociImageManifest } from '../local/ecr-emulator.js';
import { type FaultCounts, FaultInjector } from '../local/faults.js';
import { synthesize } from '../local/synth.js';
import { defineBenchmark, type Figure } from './harness.js';
import { LABELS } from './targets.js';

/**
 * The whole system on the local cloud, every request to the local server delayed by 20 ms (DynamoDB, served
 * by dynalite, is not delayed; its calls are counted at the local DynamoDB proxy, as the functions make them,
 * not at dynalite, which also sees the calls the proxy makes to emulate transactions and streams):
 * - push to enforced: a push to a repository that then holds one build too many, until the cleanup has
 *   deleted the oldest one (and, separately, until the audit pipeline has settled too);
 * - a sweep of 1,000 small managed repositories, each with two images to expire: from the schedule firing
 *   to the cloud settling, and the API calls it made per repository.
 * The local cloud runs one execution environment per function and one worker batch at a time, where Lambda
 * would scale out, so the sweep's time is an upper bound of what the stack takes. The worker cleans a batch's
 * repositories at once, and their breaker reads, snapshot loads and snapshot saves share calls
 * (functions/shared/state/coalesce.ts): the DynamoDB calls per repository are counted over the whole sweep, a
 * shared call divided among the repositories that shared it.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, '.local');
const CONFIG = 'bench/steward.bench.jsonc';
const LATENCY_MS = 20;
const DAY_MS = 86_400_000;

/** The config's rule 1 keeps 10 `build-*` images; rule 2 expires untagged ones older than a day. */
const KEEP_BUILDS = 10;
const REPOSITORY = 'bench/latency';
const PUSHES = 30;
const SWEEP_REPOSITORIES = 1_000;
/** Each swept repository: 3 builds (kept) and 2 old untagged images (expired). */
const SWEEP_BUILDS = 3;
const SWEEP_UNTAGGED = 2;
const sweepName = (i: number) => `bench/sweep-${String(i).padStart(4, '0')}`;

interface State {
  readonly cloud: LocalCloud;
  readonly faults: FaultInjector;
  readonly synthMs: number;
}

interface PushTiming {
  /** From putImage to the delete that brought the repository back to its planned size. */
  readonly enforcedMs: number;
  /** From putImage to the end of the last invocation it caused (intake, worker, audit). */
  readonly quietMs: number;
}

interface SweepResult {
  readonly managed: number;
  readonly fanOutMs: number;
  readonly totalMs: number;
  readonly deleted: number;
  readonly server: Record<string, number>;
  readonly dynamo: Record<string, number>;
}

interface Result {
  readonly synthMs: number;
  readonly cold: PushTiming;
  readonly pushes: readonly PushTiming[];
  readonly sweep: SweepResult;
  /** Invocations and batches that failed (and were retried), and messages or events dead-lettered. */
  readonly failedDeliveries: number;
  readonly deadLettered: number;
}

export default defineBenchmark<State>({
  name: 'local-latency',
  description: `local cloud, ${LATENCY_MS} ms on every request: ${PUSHES} pushes to enforced, sweep of ${SWEEP_REPOSITORIES.toLocaleString('en-US')} repositories`,
  runs: 1,
  warmups: 0,
  async setup() {
    const started = Date.now();
    const cdkOut = synthesize(ROOT, CONFIG, path.join(OUT, 'bench-cdk.out'));
    const synthMs = Date.now() - started;
    // DynamoDB goes through the injector only to be counted: its rule adds nothing.
    const faults = new FaultInjector().set('*', { latencyMs: LATENCY_MS }).set('dynamodb:*', {});
    // The functions' log of this run only, to read when a figure looks wrong.
    const logDir = path.join(OUT, 'bench-logs');
    rmSync(logDir, { recursive: true, force: true });
    const cloud = await LocalCloud.start({ cdkOut, logDir, faults, dynamoFaults: true });

    // Images that were there before ECR Steward: no events.
    cloud.eventsOn = false;
    const now = Date.now();
    cloud.ecr.createRepository(REPOSITORY);
    for (let i = 0; i < KEEP_BUILDS; i++)
      cloud.ecr.putImage(REPOSITORY, {
        manifest: ociImageManifest(`${REPOSITORY}/seed-${i}`),
        tags: [`build-seed-${i}`],
        pushedAt: new Date(now - (KEEP_BUILDS - i + 1) * DAY_MS),
      });
    for (let r = 0; r < SWEEP_REPOSITORIES; r++) {
      const name = sweepName(r);
      cloud.ecr.createRepository(name);
      for (let i = 0; i < SWEEP_BUILDS + SWEEP_UNTAGGED; i++)
        cloud.ecr.putImage(name, {
          manifest: ociImageManifest(`${name}/${i}`),
          tags: i < SWEEP_UNTAGGED ? [] : [`build-${i}`],
          // 10 to 6 days old: the untagged ones are past rule 2's day.
          pushedAt: new Date(now - (10 - i) * DAY_MS),
        });
    }
    cloud.eventsOn = true;
    return { cloud, faults, synthMs };
  },
  async run(state): Promise<Result> {
    // The first push starts the intake, worker and audit execution environments (cold starts).
    const cold = await push(state.cloud, 'build-cold');
    const pushes: PushTiming[] = [];
    for (let i = 0; i < PUSHES; i++) pushes.push(await push(state.cloud, `build-${i}`));
    const sweep = await sweepAll(state);
    return {
      synthMs: state.synthMs,
      cold,
      pushes,
      sweep,
      failedDeliveries: state.cloud.deliveries.filter((d) => !d.ok && d.kind !== 'dead-letter').length,
      deadLettered: state.cloud.deliveries.filter((d) => d.kind === 'dead-letter').length,
    };
  },
  describe(result) {
    const r = result as Result;
    return (
      `${r.pushes.length} pushes enforced, ${r.sweep.managed} repositories swept (${r.sweep.deleted} images deleted); ` +
      `synth + bundling ${(r.synthMs / 1000).toFixed(1)} s (setup, not measured)`
    );
  },
  figures(result): Figure[] {
    const r = result as Result;
    const enforced = r.pushes.map((p) => p.enforcedMs).sort((a, b) => a - b);
    const quiet = r.pushes.map((p) => p.quietMs).sort((a, b) => a - b);
    const ecr24h = 'ECR lifecycle policies: within 24 hours (86,400,000 ms)';
    const s = r.sweep;
    const perRepo = (n: number) => n / s.managed;
    const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
    const breakdown = (o: Record<string, number>, strip = '') =>
      Object.entries(o)
        .sort(([, a], [, b]) => b - a)
        .map(([op, n]) => `${op.replace(strip, '')} ${perRepo(n).toFixed(2)}`)
        .join(', ');
    const ecr = Object.fromEntries(Object.entries(s.server).filter(([op]) => op.startsWith('ecr:')));
    const other = Object.fromEntries(Object.entries(s.server).filter(([op]) => !op.startsWith('ecr:')));
    return [
      {
        label: 'push→enforced p50',
        value: percentile(enforced, 50),
        unit: 'ms',
        detail: `${enforced.length} pushes, each leaving one build too many`,
        versus: ecr24h,
      },
      {
        label: 'push→enforced p95',
        value: percentile(enforced, 95),
        unit: 'ms',
        detail: `max ${Math.max(...enforced)} ms; first push with cold execution environments ${r.cold.enforcedMs} ms`,
        versus: ecr24h,
      },
      {
        label: 'push→enforced cold',
        value: r.cold.enforcedMs,
        unit: 'ms',
        detail: `the first push, which starts the intake, worker and audit execution environments; until quiet ${r.cold.quietMs} ms`,
      },
      {
        label: 'push→quiet p50',
        value: percentile(quiet, 50),
        unit: 'ms',
        detail: `until the last invocation the push caused ended, audit included; p95 ${percentile(quiet, 95)} ms`,
      },
      {
        label: 'sweep total',
        value: s.totalMs,
        unit: 'ms',
        detail: `${s.managed} managed repositories, ${s.deleted} images deleted; fan-out ${s.fanOutMs} ms; ${(s.totalMs / s.managed).toFixed(1)} ms per repository`,
      },
      {
        label: 'sweep ECR calls/repo',
        value: perRepo(sum(ecr)),
        detail: breakdown(ecr, 'ecr:'),
      },
      {
        label: 'sweep other calls/repo',
        value: perRepo(sum(other)),
        detail: `at the local server: ${breakdown(other)}`,
      },
      {
        label: 'sweep DynamoDB/repo',
        value: perRepo(sum(s.dynamo)),
        detail: `at the DynamoDB proxy: ${breakdown(s.dynamo)}`,
      },
      {
        // What the guarantees read and write per repository at the least: a consistent read of its holds and one
        // of its audit records (notices, archives, a crash's PENDING) before anything is deleted, and per delete
        // batch a write-ahead before the delete call and a settle after it.
        label: LABELS.sweepDynamoFloor,
        value: 2 + 2 * perRepo(s.server['ecr:BatchDeleteImage'] ?? 0),
        detail:
          'holds read + audit records read per repository, write-ahead + settle per delete batch (BatchDeleteImage)',
      },
      {
        // Only latency is injected: any failure is a bug, even one that a retry hid from the figures above.
        label: 'failed deliveries',
        value: r.failedDeliveries,
        detail: `function invocations and queue batches that failed; ${r.deadLettered} dead-lettered`,
        atMost: 0,
      },
    ];
  },
  async teardown(state) {
    await state.cloud.close();
  },
});

/** Pushes a new build and waits for the cloud to settle; throws unless the repository is back to its planned size. */
async function push(cloud: LocalCloud, tag: string): Promise<PushTiming> {
  const start = Date.now();
  let enforcedAt: number | undefined;
  const stop = cloud.ecr.onEvent(() => {
    if (enforcedAt === undefined && cloud.ecr.imageCount(REPOSITORY) === KEEP_BUILDS) enforcedAt = Date.now();
  });
  try {
    cloud.ecr.putImage(REPOSITORY, { manifest: ociImageManifest(`${REPOSITORY}/${tag}`), tags: [tag] });
    await cloud.settle(60_000);
  } finally {
    stop();
  }
  const count = cloud.ecr.imageCount(REPOSITORY);
  if (enforcedAt === undefined || count !== KEEP_BUILDS)
    throw new Error(
      `push ${tag}: ${REPOSITORY} holds ${count} images after the cloud settled, not ${KEEP_BUILDS}; ` +
        `failed deliveries: ${JSON.stringify(cloud.deliveries.filter((d) => d.at >= start && !d.ok))}`,
    );
  return { enforcedMs: enforcedAt - start, quietMs: lastDelivery(cloud, start) - start };
}

/** Runs the sweep schedule and waits for the cloud to settle; throws unless every repository was cleaned. */
async function sweepAll(state: State): Promise<SweepResult> {
  const { cloud, faults } = state;
  const serverBefore = faults.snapshot();
  const imagesBefore = countImages(cloud);
  const start = Date.now();
  const invoked = await cloud.runSchedule('CleanupSweepSchedule');
  const fanOutMs = Date.now() - start;
  if (!invoked.ok) throw new Error(`the sweep function failed: ${invoked.error?.message}`);
  await cloud.settle(600_000);
  const totalMs = Date.now() - start;
  const wrong = Array.from({ length: SWEEP_REPOSITORIES }, (_, i) => sweepName(i)).filter(
    (name) => cloud.ecr.imageCount(name) !== SWEEP_BUILDS,
  );
  if (wrong.length > 0)
    throw new Error(
      `sweep: ${wrong.length} repositories not cleaned (e.g. ${wrong[0]} holds ${cloud.ecr.imageCount(wrong[0]!)} images, not ${SWEEP_BUILDS})`,
    );
  const managed = (invoked.result as { managed?: number } | undefined)?.managed ?? 0;
  const calls = difference(serverBefore, faults.snapshot());
  return {
    managed,
    fanOutMs,
    totalMs,
    deleted: imagesBefore - countImages(cloud),
    server: Object.fromEntries(Object.entries(calls).filter(([op]) => !op.startsWith('dynamodb:'))),
    dynamo: Object.fromEntries(
      Object.entries(calls)
        .filter(([op]) => op.startsWith('dynamodb:'))
        .map(([op, n]) => [op.slice('dynamodb:'.length), n]),
    ),
  };
}

function countImages(cloud: LocalCloud): number {
  return cloud.ecr.repositoryNames().reduce((n, name) => n + cloud.ecr.imageCount(name), 0);
}

/** The end of the last invocation or batch delivery recorded since `since`. */
function lastDelivery(cloud: LocalCloud, since: number): number {
  let last = since;
  for (let i = cloud.deliveries.length - 1; i >= 0 && cloud.deliveries[i]!.at >= since; i--)
    last = Math.max(last, cloud.deliveries[i]!.at);
  return last;
}

/** Requests per operation made between two snapshots. */
function difference(
  before: Record<string, Pick<FaultCounts, 'requests'>>,
  after: Record<string, Pick<FaultCounts, 'requests'>>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [op, c] of Object.entries(after)) {
    const n = c.requests - (before[op]?.requests ?? 0);
    if (n > 0) out[op] = n;
  }
  return out;
}

/** Nearest-rank percentile of ascending values. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
