/**
 * The cleanup process of bench/cleanup-20x200.ts: started with `node --import tsx`, it reads its job from the
 * environment variable BENCH_CLEANUP_JOB (JSON), runs the worker's run path over the repositories (one
 * StewardPorts, `cleanupPorts`, the real `cleanupRepository`, WORKER_CONCURRENCY repositories at a time, one budget, as
 * the worker runs a batch) against the local cloud of the parent, and writes its reports, wall and CPU time as one
 * line of JSON on stdout. A process of its own, as the peer of issue #19 was: the local cloud (ECR emulator,
 * dynalite behind the proxy) runs in the parent (dynalite itself in a third process), so its work never waits on the cleanup's event loop, nor the cleanup on its.
 */
import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import { type CleanupReport, cleanupRepository } from '../functions/cleanup/core.js';
import { cleanupPorts, MAX_IMAGES_AT_ONCE, WORKER_CONCURRENCY } from '../functions/cleanup/run.js';
import { documentClient } from '../functions/shared/audit/store.js';
import { parseConfig } from '../functions/shared/config/load.js';
import { mapLimit, WeightedGate } from '../functions/shared/runtime/concurrency.js';
import { StewardPorts, tablesFromEnv } from '../functions/shared/runtime/ports.js';

/** What the parent asks for. */
export interface CleanupJob {
  /** The config file (absolute). */
  readonly config: string;
  /** Table names and topics, as the worker function finds them in its environment. */
  readonly env: Record<string, string>;
  readonly endpoint: string;
  readonly dynamoEndpoint: string;
  readonly account: string;
  readonly region: string;
  readonly runId: string;
  readonly repositories: readonly string[];
}

/** What the process answers. */
export interface CleanupOutput {
  readonly reports: readonly Omit<CleanupReport, 'plan'>[];
  /** From the first call to the last answer: the process's start (node, tsx, imports) is not in it. */
  readonly wallMs: number;
  readonly cpuMs: number;
}

const text = process.env.BENCH_CLEANUP_JOB;
if (!text)
  throw new Error('cleanup-20x200-process: BENCH_CLEANUP_JOB is not set (bench/cleanup-20x200.ts sets it)');
const job = JSON.parse(text) as CleanupJob;
const config = parseConfig(readFileSync(job.config, 'utf8'), job.config);
const base = {
  region: job.region,
  endpoint: job.endpoint,
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
};
const clients = {
  ecr: new ECRClient(base),
  ecs: new ECSClient(base),
  lambda: new LambdaClient(base),
  sns: new SNSClient(base),
  doc: documentClient(new DynamoDBClient({ ...base, endpoint: job.dynamoEndpoint })),
};

const cpuStart = process.cpuUsage();
const start = process.hrtime.bigint();
const now = new Date();
const ports = new StewardPorts(config, { tables: tablesFromEnv(job.env), clients });
const budget = { remaining: config.bounds.maxDeletesPerRun };
const gate = new WeightedGate(MAX_IMAGES_AT_ONCE);
// As the worker runs a batch's repositories: WORKER_CONCURRENCY at a time, one budget.
const reports: Omit<CleanupReport, 'plan'>[] = await mapLimit(
  job.repositories,
  WORKER_CONCURRENCY,
  async (repository) => {
    const { plan: _plan, ...report } = await cleanupRepository(
      config,
      { repository, region: job.region, runId: job.runId, now, trigger: 'sweep', budget },
      cleanupPorts(ports, {
        accountId: job.account,
        region: job.region,
        runId: job.runId,
        now,
        admit: (images) => gate.acquire(images),
      }),
    );
    return report;
  },
);
const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
const cpu = process.cpuUsage(cpuStart);
for (const client of Object.values(clients)) client.destroy();
const output: CleanupOutput = { reports, wallMs, cpuMs: (cpu.user + cpu.system) / 1000 };
process.stdout.write(`${JSON.stringify(output)}\n`);
