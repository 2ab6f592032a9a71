import { ECRClient } from '@aws-sdk/client-ecr';
import { type CleanupReport, cleanupRepository } from '../functions/cleanup/core.js';
import { CallCounter, ECR_LIMITS, EcrRegistry } from '../functions/shared/adapters/ecr.js';
import { validateConfig } from '../functions/shared/config/load.js';
import { CLIENT_DEFAULTS } from '../functions/shared/runtime/clients.js';
import { EcrEmulator, ociImageIndex, ociImageManifest } from '../local/ecr-emulator.js';
import { type LocalServer, startLocalServer } from '../local/server.js';
import { defineBenchmark, type Figure } from './harness.js';

/**
 * The AWS API calls of one cleanup of a large repository, against their lower bound. The real
 * cleanupRepository and the real EcrRegistry (the only code that talks to ECR) run against the ECR emulator
 * over HTTP, so every request the SDK sends, retries included, is counted at the server. The audit, breaker
 * and in-use ports are in-memory fakes (DynamoDB and ECS/Lambda are not ECR calls); their calls are counted
 * separately.
 */

const RELEASES = 500; // multi-arch: an index tagged v1.<i>.0 with two untagged children
const BUILDS = 8_500; // single images tagged build-<i>
const IMAGES = RELEASES * 3 + BUILDS; // 10,000
const KEEP_RELEASES = 400; // expires 100 indexes + their 200 children
const KEEP_BUILDS = 5_800; // expires 2,700 builds
const EXPIRES = (RELEASES - KEEP_RELEASES) * 3 + (BUILDS - KEEP_BUILDS); // 3,000
const HOUR_MS = 3_600_000;

const CONFIG = validateConfig(
  {
    mode: 'enforce',
    bounds: { maxDeletesPerRun: 100_000, maxDeletesPerRepository: 100_000 },
    selections: [
      {
        repositories: ['bench/*'],
        lifecyclePolicy: {
          rules: [
            {
              rulePriority: 1,
              selection: {
                tagStatus: 'tagged',
                tagPatternList: ['v*'],
                countType: 'imageCountMoreThan',
                countNumber: KEEP_RELEASES,
              },
              action: { type: 'expire' },
            },
            {
              rulePriority: 2,
              selection: {
                tagStatus: 'tagged',
                tagPatternList: ['build-*'],
                countType: 'imageCountMoreThan',
                countNumber: KEEP_BUILDS,
              },
              action: { type: 'expire' },
            },
          ],
        },
      },
    ],
  },
  'bench/api-calls.ts',
);

/** Fills a repository: releases (index + 2 children) every 12 hours, builds every hour, all in the past. */
function populate(ecr: EcrEmulator, name: string, now: number): void {
  ecr.createRepository(name);
  for (let i = 0; i < RELEASES; i++) {
    const pushedAt = new Date(now - (RELEASES - i) * 12 * HOUR_MS);
    const children = ['amd64', 'arm64'].map((arch) =>
      ecr.putImage(name, { manifest: ociImageManifest(`${name}/v1.${i}.0/${arch}`), pushedAt }),
    );
    ecr.putImage(name, { manifest: ociImageIndex(children), tags: [`v1.${i}.0`], pushedAt });
  }
  for (let i = 0; i < BUILDS; i++)
    ecr.putImage(name, {
      manifest: ociImageManifest(`${name}/build-${i}`),
      tags: [`build-${i}`],
      pushedAt: new Date(now - (BUILDS - i) * HOUR_MS),
    });
}

interface State {
  readonly ecr: EcrEmulator;
  readonly server: LocalServer;
  readonly client: ECRClient;
  /** Requests that reached the server, by operation (`ecr:DescribeImages`). */
  readonly wire: Map<string, number>;
  /** Repositories still untouched: each run cleans the next one. */
  readonly repositories: string[];
}

interface Result {
  readonly report: CleanupReport;
  readonly counter: Record<string, number>;
  readonly wire: Record<string, number>;
  readonly ports: { auditRecords: number; breakerReads: number; inUseReads: number };
  readonly left: number;
}

const WARMUPS = 1;
const RUNS = 3;

export default defineBenchmark<State>({
  name: 'api-calls',
  description: `cleanupRepository with EcrRegistry over HTTP, ${IMAGES.toLocaleString('en-US')} images (${RELEASES} multi-arch), ${EXPIRES.toLocaleString('en-US')} expire`,
  warmups: WARMUPS,
  runs: RUNS,
  async setup() {
    const ecr = new EcrEmulator({ region: 'us-east-1' });
    const now = Date.now();
    const repositories = Array.from({ length: WARMUPS + RUNS }, (_, i) => `bench/api-calls-${i}`);
    for (const name of repositories) populate(ecr, name, now);
    const wire = new Map<string, number>();
    const server = await startLocalServer({
      handlers: { ecr: ecr.handle },
      // One line per request: `ecr:DescribeImages 200 3ms`.
      log: (line) => {
        const op = line.split(' ', 1)[0]!;
        if (op.includes(':')) wire.set(op, (wire.get(op) ?? 0) + 1);
      },
    });
    const client = new ECRClient({
      ...CLIENT_DEFAULTS,
      region: 'us-east-1',
      endpoint: server.url,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    return { ecr, server, client, wire, repositories };
  },
  async run(state): Promise<Result> {
    const repository = state.repositories.shift();
    if (!repository) throw new Error('api-calls: no untouched repository left for this run');
    state.wire.clear();
    const calls = new CallCounter();
    const ports = { auditRecords: 0, breakerReads: 0, inUseReads: 0 };
    const report = await cleanupRepository(
      CONFIG,
      {
        repository,
        region: 'us-east-1',
        runId: 'bench-api-calls',
        now: new Date(),
        trigger: 'sweep',
        budget: { remaining: CONFIG.bounds.maxDeletesPerRun },
      },
      {
        registry: new EcrRegistry(state.client, calls),
        audit: {
          record: async () => {
            ports.auditRecords++;
          },
        },
        breaker: {
          firstOpen: async () => {
            ports.breakerReads++;
            return undefined;
          },
        },
        inUse: async () => {
          ports.inUseReads++;
          return [];
        },
      },
    );
    const left = state.ecr.imageCount(repository);
    if (report.outcome !== 'done' || report.expired !== EXPIRES || left !== IMAGES - EXPIRES)
      throw new Error(
        `api-calls: expected ${EXPIRES} of ${IMAGES} images expired; got outcome ${report.outcome}, ` +
          `planned ${report.planned.expire}, expired ${report.expired}, ${left} left, ` +
          `failures ${JSON.stringify(report.failures.slice(0, 3))}, warnings ${JSON.stringify(report.warnings)}`,
      );
    return {
      report,
      counter: calls.toJSON(),
      wire: Object.fromEntries([...state.wire].sort(([a], [b]) => a.localeCompare(b))),
      ports,
      left,
    };
  },
  describe(result) {
    const { report, left } = result as Result;
    return `${report.images} images: expired ${report.expired}, ${left} left, ${report.failures.length} failures`;
  },
  figures(result): Figure[] {
    const { counter, wire, ports } = result as Result;
    const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
    const total = sum(wire);
    const pages = Math.ceil(IMAGES / ECR_LIMITS.describePage);
    const deletes = Math.ceil(EXPIRES / ECR_LIMITS.batchIds);
    const lookups = Math.ceil(RELEASES / ECR_LIMITS.batchIds);
    const bound = pages + deletes + lookups;
    const list = (o: Record<string, number>) =>
      Object.entries(o)
        .map(([op, n]) => `${op.replace(/^ecr:/, '')} ${n}`)
        .join(', ');
    return [
      { label: 'ECR calls', value: total, detail: `${list(wire)}; EcrRegistry's own count: ${sum(counter)}` },
      {
        label: 'lower bound',
        value: bound,
        detail: `${pages} DescribeImages pages + ${deletes} BatchDeleteImage + ${lookups} BatchGetImage for ${RELEASES} indexes`,
      },
      { label: 'ratio', value: total / bound, atMost: 1.1 },
      {
        label: 'other ports',
        value: ports.auditRecords + ports.breakerReads + ports.inUseReads,
        detail: `audit records ${ports.auditRecords}, breaker reads ${ports.breakerReads}, in-use reads ${ports.inUseReads}; fakes here, DynamoDB/ECS/Lambda in the stack`,
      },
    ];
  },
  async teardown(state) {
    state.client.destroy();
    await state.server.close();
  },
});
