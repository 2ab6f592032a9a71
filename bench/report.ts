import type { ChildProcess } from 'node:child_process';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { verdictPk } from '../functions/scan-gate/verdicts.js';
import { readRegistryReport } from '../functions/shared/adapters/report-reader.js';
import { type DeleteSignal, mergeSignal } from '../functions/shared/audit/records.js';
import { documentClient } from '../functions/shared/audit/store.js';
import { validateConfig } from '../functions/shared/config/load.js';
import { type Report, renderHtml } from '../functions/shared/report/index.js';
import { CLIENT_DEFAULTS, DYNAMODB_CLIENT_DEFAULTS } from '../functions/shared/runtime/clients.js';
import { StewardPorts } from '../functions/shared/runtime/ports.js';
import { startDynamoProxy } from '../local/dynamo-proxy.js';
import { EcrEmulator, ociImageManifest } from '../local/ecr-emulator.js';
import { FaultInjector } from '../local/faults.js';
import { type LocalServer, startLocalServer } from '../local/server.js';
import { EcsService, LambdaService } from '../local/services.js';
import { createStewardTables, createVerdictTable } from '../test/support/dynamo.js';
import { startDynaliteProcess } from './dynalite.js';
import { defineBenchmark, type Figure } from './harness.js';

/**
 * `ecr-steward report` on a large registry (issue 14 §1): 1,000 repositories of 100 images each, every one
 * managed, reported in full — repositories listed, every image listed, each repository's lifecycle plan made
 * (the cleanup core's read-only preview), the in-use sources read, the latest verdicts scanned, 30 days of
 * the audit table queried — and the HTML page rendered. The real reader runs over the real ports: ECR is the
 * emulator, ECS and Lambda the local stand-ins, all over HTTP through the local server; DynamoDB is dynalite
 * (a process of its own) behind the local DynamoDB proxy. The same fault injector adds 20 ms to every request
 * of all of them, as bench/local-latency.ts does for the local cloud. Goal: under 10 s.
 */

const REPOSITORIES = 1_000;
const PER_REPOSITORY = 100;
const IMAGES = REPOSITORIES * PER_REPOSITORY;
/** Each repository: 70 builds (the policy keeps 50) and 30 untagged images (expired after 7 days). */
const BUILDS = 70;
const KEEP_BUILDS = 50;
const LATENCY_MS = 20;
const GOAL_MS = 10_000;
/** Deletions in the audit table over the period, and images with a verdict. */
const DELETIONS = 3_000;
const VERDICTS = 20_000;
const REGION = 'us-east-1';
const DAY_MS = 86_400_000;
const name = (i: number) => `bench/report-${String(i).padStart(4, '0')}`;

const CONFIG = validateConfig(
  {
    mode: 'dry-run',
    selections: [
      {
        name: 'bench',
        repositories: ['bench/report-*'],
        lifecyclePolicy: {
          rules: [
            {
              rulePriority: 1,
              selection: {
                tagStatus: 'tagged',
                tagPatternList: ['build-*'],
                countType: 'imageCountMoreThan',
                countNumber: KEEP_BUILDS,
              },
              action: { type: 'expire' },
            },
            {
              rulePriority: 2,
              selection: {
                tagStatus: 'untagged',
                countType: 'sinceImagePushed',
                countUnit: 'days',
                countNumber: 7,
              },
              action: { type: 'expire' },
            },
          ],
        },
      },
    ],
  },
  'bench/report.ts',
);

/** Untagged image j (0–29) is j days and 12 hours old: those with j ≥ 7 are past rule 2's 7 days. */
const UNTAGGED_OLD = PER_REPOSITORY - BUILDS - 7;
/** Expected: in each repository, the 20 oldest builds and the 23 old untagged images. */
const EXPIRES = REPOSITORIES * (BUILDS - KEEP_BUILDS + UNTAGGED_OLD);

interface State {
  readonly server: LocalServer;
  readonly proxy: { close(): Promise<void> };
  readonly dynalite: ChildProcess;
  readonly faults: FaultInjector;
  readonly ports: () => StewardPorts;
  readonly registryId: string;
  readonly now: Date;
}

interface Result {
  readonly report: Report;
  readonly htmlBytes: number;
  readonly requests: Record<string, number>;
  readonly counted: Record<string, number>;
}

/** Each repository: builds every 6 hours, untagged images a day apart (see UNTAGGED_OLD). */
function populate(ecr: EcrEmulator, now: number): void {
  for (let r = 0; r < REPOSITORIES; r++) {
    const repo = name(r);
    ecr.createRepository(repo);
    for (let i = 0; i < PER_REPOSITORY; i++) {
      const build = i < BUILDS;
      ecr.putImage(repo, {
        manifest: ociImageManifest(`${repo}/${i}`),
        tags: build ? [`build-${i}`] : [],
        pushedAt: new Date(build ? now - (BUILDS - i) * 6 * 3_600_000 : now - (i - BUILDS + 0.5) * DAY_MS),
        sizeBytes: 5_000_000 + ((r * 7 + i * 13) % 100) * 1_000_000,
        // A third pulled at some point in the last 120 days.
        lastPulledAt: i % 3 === 0 ? new Date(now - ((i * 5) % 120) * DAY_MS - 3_600_000) : undefined,
      });
    }
  }
}

/** Writes items 25 at a time (BatchWriteItem's maximum), straight to dynalite: setup, not measured. */
async function writeAll(
  doc: ReturnType<typeof documentClient>,
  table: string,
  items: readonly Record<string, unknown>[],
): Promise<void> {
  for (let i = 0; i < items.length; i += 25) {
    let pending: Record<string, unknown[]> | undefined = {
      [table]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })),
    };
    while (pending && Object.keys(pending).length > 0) {
      const out = await doc.send(new BatchWriteCommand({ RequestItems: pending as never }));
      pending = out.UnprocessedItems as Record<string, unknown[]> | undefined;
    }
  }
}

export default defineBenchmark<State>({
  name: 'report',
  description: `ecr-steward report of ${REPOSITORIES.toLocaleString('en-US')} repositories and ${IMAGES.toLocaleString('en-US')} images (plans, verdicts, 30 days of audit, HTML page), ${LATENCY_MS} ms on every request`,
  goals: { wallMs: GOAL_MS },
  runs: 1,
  warmups: 0,
  async setup() {
    const now = new Date();
    const ecr = new EcrEmulator({ region: REGION, now: () => now });
    populate(ecr, now.getTime());
    const faults = new FaultInjector().set('*', { latencyMs: LATENCY_MS });
    const server = await startLocalServer({
      handlers: {
        ecr: ecr.handle,
        ecs: (op, input) => ecs.handle(op, input),
        lambda: (op, input, raw) => lambda.handle(op, input, raw),
      },
      faults,
    });
    const ecs = new EcsService();
    ecs.runService('prod', 'api', `${ecr.accountId}.dkr.ecr.${REGION}.amazonaws.com/${name(0)}:build-69`);
    const lambda = new LambdaService();
    const { child: dynalite, url: target } = await startDynaliteProcess();
    const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
    const direct = new DynamoDBClient({
      ...DYNAMODB_CLIENT_DEFAULTS,
      region: REGION,
      endpoint: target,
      credentials,
    });
    const tables = {
      audit: 'bench-report-audit',
      state: 'bench-report-state',
      verdict: 'bench-report-verdicts',
    };
    await createStewardTables(direct, tables);
    await createVerdictTable(direct, tables.verdict);
    const seed = documentClient(direct);
    // Deletions over the last 30 days, by three principals.
    const principals = [
      'arn:aws:iam::123456789012:user/alice',
      'arn:aws:iam::123456789012:role/ci',
      undefined,
    ];
    await writeAll(
      seed,
      tables.audit,
      Array.from({ length: DELETIONS }, (_, i) => {
        const at = new Date(now.getTime() - ((i * 37) % (29 * 24)) * 3_600_000).toISOString();
        const principal = principals[i % 3];
        const signal: DeleteSignal = {
          registryId: ecr.accountId,
          region: REGION,
          repository: name(i % REPOSITORIES),
          digest: `sha256:${i.toString(16).padStart(64, '0')}`,
          at,
          status: 'DELETED',
          evidence: principal ? 'cloudtrail-batch-delete' : 'steward-delete',
          sizeBytes: 10_000_000,
          actor: principal ? { type: 'principal', principal } : { type: 'ecr-steward', runId: 'bench' },
        };
        return mergeSignal(undefined, signal, at, {}) as unknown as Record<string, unknown>;
      }),
    );
    const digests = Array.from({ length: VERDICTS }, (_, i) => ({
      repository: name(i % REPOSITORIES),
      digest: ecr.images(name(i % REPOSITORIES))[Math.floor(i / REPOSITORIES) % PER_REPOSITORY]!.digest,
    }));
    await writeAll(
      seed,
      tables.verdict,
      digests.map(({ repository, digest }, i) => {
        const ref = { registryId: ecr.accountId, region: REGION, repository, digest };
        return {
          pk: verdictPk(ref),
          sk: 'LATEST',
          ...ref,
          verdict: ['PASS', 'FAIL', 'PENDING'][i % 3],
          at: now.toISOString(),
        };
      }),
    );
    direct.destroy();
    const proxy = await startDynamoProxy({ target, faults });
    const local = { ...CLIENT_DEFAULTS, region: REGION, endpoint: server.url, credentials };
    const clients = {
      ecr: new ECRClient(local),
      ecs: new ECSClient(local),
      lambda: new LambdaClient(local),
      doc: documentClient(
        new DynamoDBClient({ ...DYNAMODB_CLIENT_DEFAULTS, region: REGION, endpoint: proxy.url, credentials }),
      ),
    };
    // A fresh factory per run: its in-use read and call counts start from nothing, as a CLI run's do.
    const ports = () => new StewardPorts(CONFIG, { tables, clients });
    return { server, proxy, dynalite, faults, ports, registryId: ecr.accountId, now };
  },
  async run(state): Promise<Result> {
    const before = state.faults.snapshot();
    const ports = state.ports();
    const report = await readRegistryReport(ports, {
      registryId: state.registryId,
      region: REGION,
      now: state.now,
      since: new Date(state.now.getTime() - 30 * DAY_MS),
      all: false,
      verdicts: true,
      audit: true,
    });
    const html = renderHtml(report);
    const t = report.totals;
    if (t.repositories !== REPOSITORIES || t.images !== IMAGES || t.reclaimableImages !== EXPIRES)
      throw new Error(
        `report: expected ${REPOSITORIES} repositories, ${IMAGES} images, ${EXPIRES} to expire; got ${t.repositories}, ${t.images}, ${t.reclaimableImages}; warnings ${JSON.stringify(report.warnings.slice(0, 3))}`,
      );
    if (!report.audit.available || report.audit.deletes !== DELETIONS)
      throw new Error(
        `report: expected ${DELETIONS} deletions in the period, got ${JSON.stringify(report.audit).slice(0, 200)}`,
      );
    const verdictCount = (t.verdicts?.PASS ?? 0) + (t.verdicts?.FAIL ?? 0) + (t.verdicts?.PENDING ?? 0);
    if (verdictCount !== VERDICTS)
      throw new Error(`report: expected ${VERDICTS} verdicts, got ${verdictCount}`);
    const after = state.faults.snapshot();
    const requests: Record<string, number> = {};
    for (const [op, c] of Object.entries(after)) {
      const n = c.requests - (before[op]?.requests ?? 0);
      if (n > 0) requests[op] = n;
    }
    return { report, htmlBytes: Buffer.byteLength(html), requests, counted: ports.calls.toJSON() };
  },
  describe(result) {
    const { report, htmlBytes } = result as Result;
    const t = report.totals;
    return (
      `${t.repositories} repositories, ${t.images} images, ${t.reclaimableImages} reclaimable, ` +
      `${report.audit.available ? report.audit.deletes : 0} deletions in 30 days; HTML page ${(htmlBytes / 1024).toFixed(0)} KiB`
    );
  },
  figures(result): Figure[] {
    const { requests, counted } = result as Result;
    const total = Object.values(requests).reduce((a, b) => a + b, 0);
    const list = Object.entries(requests)
      .sort(([, a], [, b]) => b - a)
      .map(([op, n]) => `${op} ${n}`)
      .join(', ');
    const describeImages = requests['ecr:DescribeImages'] ?? 0;
    return [
      {
        label: 'requests',
        value: total,
        detail: `at the local server and the DynamoDB proxy, retries included: ${list}`,
      },
      {
        label: 'DescribeImages/repo',
        value: describeImages / REPOSITORIES,
        detail: `${PER_REPOSITORY} images a repository, 1,000 a page; the reader counted ${counted.DescribeImages ?? 0}`,
        atMost: 1,
      },
    ];
  },
  async teardown(state) {
    await state.proxy.close();
    await state.server.close();
    state.dynalite.kill();
  },
});
