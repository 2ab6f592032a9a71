import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import { dedupId, messageGroupId } from '../functions/cleanup/sweep.js';
import { documentClient } from '../functions/shared/audit/store.js';
import { parseConfig } from '../functions/shared/config/load.js';
import type { StewardConfig } from '../functions/shared/config/schema.js';
import { StewardPorts, tablesFromEnv } from '../functions/shared/runtime/ports.js';
import { LocalCloud } from '../local/cloud.js';
import { ociImageManifest } from '../local/ecr-emulator.js';
import { type FaultCounts, FaultInjector } from '../local/faults.js';
import { synthesize } from '../local/synth.js';
import type { CleanupJob, CleanupOutput } from './cleanup-20x200-process.js';
import { type DynaliteProcess, startDynaliteProcess } from './dynalite.js';
import { defineBenchmark, type Figure } from './harness.js';
import { LABELS } from './targets.js';

/**
 * Issue #19's side-by-side workload: 20 repositories × 200 images, 3,000 to delete, every call to the local
 * cloud (DynamoDB included) delayed by 5 ms, as a peer cleanup Lambda was measured on an ECR emulator. Two cases:
 * - `cleanup-20x200`: one process (bench/cleanup-20x200-process.ts) runs the worker's run path (one StewardPorts,
 *   `cleanupPorts`, the real `cleanupRepository`) over the 20 repositories, 10 at a time as the worker runs a batch, against the local cloud's
 *   ECR, ECS and Lambda and real DynamoDB tables (dynalite, in a process of its own: bench/dynalite.ts): real write-ahead records, breaker reads,
 *   reconciliation. ECR's events are off, so every request counted is that process's. Figures: its wall time,
 *   requests by service and operation, and their lower bounds.
 * - `cleanup-20x200-cloud`: the whole flow on the local cloud: one sweep message per repository on the cleanup
 *   queue (what the sweep sends), the worker function deletes, ECR's DELETE events reach the audit function,
 *   until the cloud settles. Figure: every call that is not an ECR call (DynamoDB, SNS, SQS, ECS, Lambda),
 *   per delete.
 * Requests are counted where they arrive: the local server (ECR, ECS, Lambda, SNS, SQS) and the DynamoDB proxy,
 * both through the same FaultInjector that adds the latency, so SDK retries are counted too.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, '.local');
export const CLEANUP_CONFIG = 'bench/cleanup-20x200.bench.jsonc';
const LATENCY_MS = 5;
const HOUR_MS = 3_600_000;

const REPOSITORIES = 20;
/** Per repository: tagged images (the newest 50 kept, the newest also `latest`) and old untagged ones. */
const TAGGED = 100;
const UNTAGGED = 100;
const KEEP_TAGGED = 50;
const EXPIRES_PER_REPOSITORY = TAGGED - KEEP_TAGGED + UNTAGGED;
export const EXPIRES = REPOSITORIES * EXPIRES_PER_REPOSITORY; // 3,000
/** One ECS service runs the `latest` image of every 4th repository: in-use reads are real work. */
const SERVICE_EVERY = 4;
/** BatchDeleteImage takes 100 image ids: the batches the deletes need. */
export const DELETE_BATCHES = REPOSITORIES * Math.ceil(EXPIRES_PER_REPOSITORY / 100);

let assembly: string | undefined;
/** Synthesizes (and bundles) the app with the bench config once per `npm run bench`; both cases start from it. */
function cdkOut(): string {
  assembly ??= synthesize(ROOT, CLEANUP_CONFIG, path.join(OUT, 'bench-cleanup-cdk.out'));
  return assembly;
}

export const repositoryName = (set: string, i: number) => `bench/${set}-${String(i).padStart(2, '0')}`;

/** Fills the 20 repositories of one run (events off: images that were there before ECR Steward). */
function seed(cloud: LocalCloud, set: string): string[] {
  const names = Array.from({ length: REPOSITORIES }, (_, i) => repositoryName(set, i));
  const uri = (repo: string) =>
    `${cloud.env.account}.dkr.ecr.${cloud.env.region}.amazonaws.com/${repo}:latest`;
  const now = Date.now();
  const events = cloud.eventsOn;
  cloud.eventsOn = false;
  try {
    for (const [r, name] of names.entries()) {
      cloud.ecr.createRepository(name);
      // A build every 6 hours (the newest 30 hours ago): each leaves an untagged image behind, then pushes a tagged one.
      for (let i = 0; i < Math.max(TAGGED, UNTAGGED); i++) {
        const at = now - (TAGGED - i + 4) * HOUR_MS * 6;
        if (i < UNTAGGED)
          cloud.ecr.putImage(name, {
            manifest: ociImageManifest(`${name}/untagged-${i}`),
            pushedAt: new Date(at - 60_000),
          });
        if (i < TAGGED)
          cloud.ecr.putImage(name, {
            manifest: ociImageManifest(`${name}/r-${i}`),
            tags: i === TAGGED - 1 ? [`r-${i}`, 'latest'] : [`r-${i}`],
            pushedAt: new Date(at),
          });
      }
      if (r % SERVICE_EVERY === 0) {
        const latest = cloud.ecr.image(name, 'latest');
        cloud.ecs.runService('bench', `svc-${set}-${r}`, uri(name), latest?.digest);
      }
    }
  } finally {
    cloud.eventsOn = events;
  }
  return names;
}

export interface CloudState {
  readonly cloud: LocalCloud;
  readonly dynalite: DynaliteProcess;
  readonly faults: FaultInjector;
  readonly config: StewardConfig;
  /** Tables and topics as the worker function finds them in its environment. */
  readonly env: Record<string, string>;
  /** Repository sets not yet cleaned: each measured run takes the next one. */
  readonly sets: string[][];
  /** This process's SDK clients, pointed at the local cloud (DynamoDB through its proxy). */
  readonly clients: ReturnType<typeof localClients>;
}

export async function startCloud(name: string, runs: number): Promise<CloudState> {
  const out = cdkOut();
  const faults = new FaultInjector().set('*', { latencyMs: LATENCY_MS });
  const logDir = path.join(OUT, `bench-${name}-logs`);
  rmSync(logDir, { recursive: true, force: true });
  // DynamoDB on a core of its own, as the service is: the emulator and the proxy keep this process's.
  const dynalite = await startDynaliteProcess();
  const cloud = await LocalCloud.start({
    cdkOut: out,
    logDir,
    faults,
    dynamoFaults: true,
    dynamoTarget: dynalite.url,
  });
  const config = parseConfig(readFileSync(path.join(ROOT, CLEANUP_CONFIG), 'utf8'), CLEANUP_CONFIG);
  const worker = cloud.ids.functions.get(cloud.functionId('worker'));
  if (!worker) throw new Error(`${name}: the template has no cleanup worker`);
  const sets = Array.from({ length: runs }, (_, i) => seed(cloud, `c${i}`));
  const env = { ...cloud.cliEnv(), ...worker.environment };
  return { cloud, dynalite, faults, config, env, sets, clients: localClients(cloud) };
}

export async function stopCloud(state: CloudState): Promise<void> {
  for (const client of Object.values(state.clients)) client.destroy();
  await state.cloud.close();
  await state.dynalite.stop();
}

/** Requests per operation (`ecr:DescribeImages`, `dynamodb:PutItem`) between two injector snapshots. */
export function requestsBetween(
  before: Readonly<Record<string, Pick<FaultCounts, 'requests'>>>,
  after: Readonly<Record<string, Pick<FaultCounts, 'requests'>>>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [op, c] of Object.entries(after)) {
    const n = c.requests - (before[op]?.requests ?? 0);
    if (n > 0) out[op] = n;
  }
  return out;
}

const sum = (o: Readonly<Record<string, number>>) => Object.values(o).reduce((a, b) => a + b, 0);
const service = (op: string) => op.split(':', 1)[0]!;
/** `{ ecr: 100, dynamodb: 240 }` from per-operation counts. */
export function byService(requests: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [op, n] of Object.entries(requests)) out[service(op)] = (out[service(op)] ?? 0) + n;
  return out;
}
/** `ecr 100 (DescribeImages 20, BatchDeleteImage 40, …); dynamodb …`, largest first. */
export function breakdown(requests: Readonly<Record<string, number>>): string {
  const services = Object.entries(byService(requests)).sort(([, a], [, b]) => b - a);
  return services
    .map(([s, total]) => {
      const ops = Object.entries(requests)
        .filter(([op]) => service(op) === s)
        .sort(([, a], [, b]) => b - a)
        .map(([op, n]) => `${op.slice(s.length + 1)} ${n.toLocaleString('en-US')}`);
      return `${s} ${total.toLocaleString('en-US')} (${ops.join(', ')})`;
    })
    .join('; ');
}

/** Audit records of a run by status, read after the counting stopped. */
async function auditStatuses(state: CloudState, runIds: readonly string[]): Promise<Record<string, number>> {
  const ports = new StewardPorts(state.config, { tables: tablesFromEnv(state.env), clients: state.clients });
  const out: Record<string, number> = {};
  for (const runId of runIds)
    for (const r of await ports.audit.byRun(runId)) out[r.status] = (out[r.status] ?? 0) + 1;
  return out;
}

/** SDK clients of this process, pointed at the local cloud (DynamoDB through its proxy). */
function localClients(cloud: LocalCloud) {
  const base = {
    region: cloud.env.region,
    endpoint: cloud.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  };
  return {
    ecr: new ECRClient(base),
    ecs: new ECSClient(base),
    lambda: new LambdaClient(base),
    sns: new SNSClient(base),
    doc: documentClient(new DynamoDBClient({ ...base, endpoint: cloud.dynamoEndpoint })),
  };
}

/** Throws unless every repository of the set holds exactly what the policy keeps. */
export function checkCleaned(cloud: LocalCloud, names: readonly string[], what: string): void {
  const kept = KEEP_TAGGED;
  const wrong = names.filter((n) => cloud.ecr.imageCount(n) !== kept);
  if (wrong.length > 0)
    throw new Error(
      `${what}: ${wrong.length} repositories not cleaned as planned (e.g. ${wrong[0]} holds ${cloud.ecr.imageCount(wrong[0]!)} images, not ${kept})`,
    );
}

interface InProcessResult {
  readonly requests: Record<string, number>;
  readonly expired: number;
  readonly audit: Record<string, number>;
  readonly output: CleanupOutput;
}

/** Runs bench/cleanup-20x200-process.ts with a job; its answer, or an error with its stderr. */
function cleanupProcess(job: CleanupJob): Promise<CleanupOutput> {
  const script = path.join(ROOT, 'bench', 'cleanup-20x200-process.ts');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BENCH_CLEANUP_JOB: JSON.stringify(job) },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const last = stdout.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{'))
        reject(
          new Error(`the cleanup process exited ${code}: ${stderr.slice(-2000) || stdout.slice(-2000)}`),
        );
      else resolve(JSON.parse(last) as CleanupOutput);
    });
  });
}

/** The one-process case: the cleanup in a process of its own, the local cloud in this one. */
export const cleanup20x200 = defineBenchmark<CloudState>({
  name: 'cleanup-20x200',
  description: `worker run path in one process, ${REPOSITORIES} repositories × ${TAGGED + UNTAGGED} images (${EXPIRES.toLocaleString('en-US')} expire), local cloud at ${LATENCY_MS} ms per call`,
  // A run takes about a minute before #19 (15,000 requests at 5 ms): one, without warm-up.
  runs: 1,
  warmups: 0,
  setup: () => startCloud('cleanup-20x200', 1),
  async run(state): Promise<InProcessResult> {
    const names = state.sets.shift();
    if (!names) throw new Error('cleanup-20x200: no untouched repository set left for this run');
    const { cloud, faults } = state;
    // The deletes reach no audit function here: every request counted is the cleanup process's.
    cloud.eventsOn = false;
    const before = faults.snapshot();
    const runId = `bench-20x200-${Date.now()}`;
    const output = await cleanupProcess({
      config: path.join(ROOT, CLEANUP_CONFIG),
      env: state.env,
      endpoint: cloud.endpoint,
      dynamoEndpoint: cloud.dynamoEndpoint,
      account: cloud.env.account,
      region: cloud.env.region,
      runId,
      repositories: names,
    });
    const requests = requestsBetween(before, faults.snapshot());
    cloud.eventsOn = true;
    const expired = output.reports.reduce((n, r) => n + r.expired, 0);
    const failed = output.reports.filter((r) => r.outcome !== 'done' || r.failures.length > 0);
    if (failed.length > 0 || expired !== EXPIRES)
      throw new Error(
        `cleanup-20x200: expected ${EXPIRES} expired, got ${expired}; ${failed.length} repositories not done ` +
          `(e.g. ${JSON.stringify(failed[0])})`,
      );
    checkCleaned(cloud, names, 'cleanup-20x200');
    return { requests, expired, audit: await auditStatuses(state, [runId]), output };
  },
  describe(result) {
    const r = result as InProcessResult;
    const audit = Object.entries(r.audit)
      .map(([s, n]) => `${s} ${n}`)
      .join(', ');
    return `${r.output.reports.length} repositories, ${r.expired} images expired; audit records of the run: ${audit}`;
  },
  figures(result): Figure[] {
    const r = result as InProcessResult;
    const services = byService(r.requests);
    const total = sum(r.requests);
    const dynamo = services.dynamodb ?? 0;
    const floor = (services.ecr ?? 0) + (services.ecs ?? 0) + (services.lambda ?? 0);
    return [
      {
        label: LABELS.cleanupWall,
        value: Math.round(r.output.wallMs),
        unit: 'ms',
        detail: `the cleanup process from its first call to its last answer (its start not counted); CPU ${Math.round(r.output.cpuMs).toLocaleString('en-US')} ms`,
        atMost: 4_000,
      },
      { label: LABELS.requests, value: total, detail: breakdown(r.requests), atMost: 600 },
      {
        label: LABELS.requestsFloor,
        value: floor,
        detail: "ECR + in-use (ECS, Lambda) requests of this run: the issue's lower bound",
      },
      {
        label: LABELS.dynamo,
        value: dynamo,
        detail: `${(dynamo / r.expired).toFixed(2)} per delete`,
        atMost: 300,
      },
      {
        label: LABELS.dynamoFloor,
        value: 3 * DELETE_BATCHES,
        detail: `3 per delete batch (write-ahead, breaker read, settle) × ${DELETE_BATCHES} BatchDeleteImage batches of ≤ 100`,
      },
    ];
  },
  teardown: stopCloud,
});

interface FlowResult {
  readonly requests: Record<string, number>;
  readonly deleted: number;
  readonly flowMs: number;
  readonly invocations: Record<string, number>;
  readonly failedDeliveries: number;
  readonly deadLettered: number;
  readonly audit: Record<string, number>;
}

/** The whole flow on the local cloud: worker function, ECR's DELETE events, audit function. */
export const cleanup20x200Cloud = defineBenchmark<CloudState>({
  name: 'cleanup-20x200-cloud',
  description: `worker + audit functions on the local cloud, ${REPOSITORIES} repositories × ${TAGGED + UNTAGGED} images (${EXPIRES.toLocaleString('en-US')} expire), ${LATENCY_MS} ms per call`,
  runs: 1,
  warmups: 0,
  setup: () => startCloud('cleanup-20x200-cloud', 1),
  async run(state): Promise<FlowResult> {
    const names = state.sets.shift();
    if (!names) throw new Error('cleanup-20x200-cloud: no untouched repository set left for this run');
    const { cloud, faults } = state;
    const workerId = cloud.functionId('worker');
    const mapping = cloud.ids.mappings.find((m) => m.functionId === workerId && m.source !== 'stream');
    const queue = mapping && cloud.queues.get(mapping.queue);
    if (!queue) throw new Error("cleanup-20x200-cloud: the worker's queue is not in the template");
    await cloud.settle(60_000);
    const before = faults.snapshot();
    const deliveriesBefore = cloud.deliveries.length;
    const imagesBefore = names.reduce((n, name) => n + cloud.ecr.imageCount(name), 0);
    const now = new Date();
    const runId = `sweep-bench-${now.getTime()}`;
    const start = Date.now();
    // Exactly what the sweep function enqueues, without its own calls (listing, tags, SendMessageBatch).
    for (const repository of names)
      queue.send(JSON.stringify({ kind: 'sweep', repository, runId, at: now.toISOString() }), {
        groupId: messageGroupId(repository),
        deduplicationId: dedupId(`sweep#${runId}#${repository}`),
      });
    await cloud.settle(900_000);
    const flowMs = Date.now() - start;
    const requests = requestsBetween(before, faults.snapshot());
    const deliveries = cloud.deliveries.slice(deliveriesBefore);
    checkCleaned(cloud, names, 'cleanup-20x200-cloud');
    const invocations: Record<string, number> = {};
    for (const d of deliveries) invocations[d.target] = (invocations[d.target] ?? 0) + 1;
    return {
      requests,
      deleted: imagesBefore - names.reduce((n, name) => n + cloud.ecr.imageCount(name), 0),
      flowMs,
      invocations,
      failedDeliveries: deliveries.filter((d) => !d.ok && d.kind !== 'dead-letter').length,
      deadLettered: deliveries.filter((d) => d.kind === 'dead-letter').length,
      audit: await auditStatuses(state, [runId]),
    };
  },
  describe(result) {
    const r = result as FlowResult;
    const audit = Object.entries(r.audit)
      .map(([s, n]) => `${s} ${n}`)
      .join(', ');
    const invocations = Object.entries(r.invocations)
      .map(([id, n]) => `${id.replace(/[0-9A-F]{8}$/, '')} ${n}`)
      .join(', ');
    return `${r.deleted} images deleted in ${(r.flowMs / 1000).toFixed(1)} s; audit records of the run: ${audit}; deliveries: ${invocations}`;
  },
  figures(result): Figure[] {
    const r = result as FlowResult;
    const other = Object.fromEntries(Object.entries(r.requests).filter(([op]) => service(op) !== 'ecr'));
    const ecr = Object.fromEntries(Object.entries(r.requests).filter(([op]) => service(op) === 'ecr'));
    const n = sum(other);
    return [
      {
        label: LABELS.nonEcr,
        value: n,
        detail: `${(n / r.deleted).toFixed(2)} per delete; ${breakdown(other)}`,
        atMost: 600,
      },
      { label: 'ECR calls', value: sum(ecr), detail: breakdown(ecr) },
      { label: 'flow', value: r.flowMs, unit: 'ms', detail: 'from the messages queued to the cloud settled' },
      {
        // Only latency is injected: any failure is a bug, even one a retry hid from the figures above.
        label: 'failed deliveries',
        value: r.failedDeliveries,
        detail: `function invocations and queue batches that failed; ${r.deadLettered} dead-lettered`,
        atMost: 0,
      },
    ];
  },
  teardown: stopCloud,
});

export default cleanup20x200;
