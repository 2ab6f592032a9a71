import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  breakdown,
  byService,
  CLEANUP_CONFIG,
  type CloudState,
  checkCleaned,
  EXPIRES,
  requestsBetween,
  startCloud,
  stopCloud,
} from './cleanup-20x200.js';
import { defineBenchmark, type Figure } from './harness.js';

/**
 * Issue #19's 20 × 200 workload through the CLI (`ecr-steward run … --enforce --yes`), local cloud at 5 ms per
 * call, ECR's events off (every request counted is the CLI's), two ways on two untouched sets of repositories:
 * - one process for the 20 repositories (`--repository` × 20, `--concurrency 4`): one in-use snapshot for the
 *   whole run, each repository described once and listed for its preview and again for its run;
 * - one process per repository, in turn: what a script around `run --repository R` does (the issue measured
 *   174 s that way before #19, on a third-party emulator).
 * Wall times are the processes' as a person sees them (node's start included).
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'ecr-steward.js');

/** Runs `ecr-steward run` over these repositories in one process; throws with its output unless it exits 0. */
function cli(state: CloudState, repositories: readonly string[]): Promise<void> {
  const args = [
    BIN,
    'run',
    ...repositories.flatMap((r) => ['--repository', r]),
    '--enforce',
    '--yes',
    '--config',
    path.join(ROOT, CLEANUP_CONFIG),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...state.env,
        ECR_STEWARD_REGISTRY_ID: state.cloud.env.account,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`ecr-steward run exited ${code}: ${out.slice(-2000)}`)),
    );
  });
}

interface CliResult {
  readonly one: { readonly wallMs: number; readonly requests: Record<string, number> };
  readonly each: { readonly wallMs: number; readonly requests: Record<string, number> };
}

const total = (r: Readonly<Record<string, number>>) => Object.values(r).reduce((a, b) => a + b, 0);

export default defineBenchmark<CloudState>({
  name: 'cleanup-20x200-cli',
  description: `ecr-steward run --enforce --yes over 20 repositories × 200 images (${EXPIRES.toLocaleString('en-US')} expire), local cloud at 5 ms per call: one process vs one process per repository`,
  runs: 1,
  warmups: 0,
  async setup() {
    // The bin builds its bundle on first use after a source changed: built here, not in the measured runs.
    await new Promise<void>((resolve, reject) =>
      spawn(process.execPath, [BIN, '--version'], { cwd: ROOT, stdio: 'ignore' })
        .on('error', reject)
        .on('close', (code) =>
          code === 0 ? resolve() : reject(new Error(`ecr-steward --version exited ${code}`)),
        ),
    );
    return startCloud('cleanup-20x200-cli', 2);
  },
  async run(state): Promise<CliResult> {
    const [together, apart] = [state.sets.shift(), state.sets.shift()];
    if (!together || !apart) throw new Error('cleanup-20x200-cli: no untouched repository sets left');
    const { cloud, faults } = state;
    cloud.eventsOn = false;
    try {
      const measure = async (work: () => Promise<void>) => {
        const before = faults.snapshot();
        const start = performance.now();
        await work();
        return { wallMs: performance.now() - start, requests: requestsBetween(before, faults.snapshot()) };
      };
      const one = await measure(() => cli(state, together));
      checkCleaned(cloud, together, 'cleanup-20x200-cli (one process)');
      const each = await measure(async () => {
        for (const repository of apart) await cli(state, [repository]);
      });
      checkCleaned(cloud, apart, 'cleanup-20x200-cli (one process per repository)');
      return { one, each };
    } finally {
      cloud.eventsOn = true;
    }
  },
  describe(result) {
    const r = result as CliResult;
    return `one process ${(r.one.wallMs / 1000).toFixed(1)} s, ${total(r.one.requests)} requests; one per repository ${(r.each.wallMs / 1000).toFixed(1)} s, ${total(r.each.requests)} requests`;
  },
  figures(result): Figure[] {
    const r = result as CliResult;
    const inUse = (q: Record<string, number>) => (byService(q).ecs ?? 0) + (byService(q).lambda ?? 0);
    return [
      {
        label: 'cleanup 20x200 via CLI',
        value: Math.round(r.one.wallMs),
        unit: 'ms',
        detail: 'one ecr-steward run process for the 20 repositories, node start included',
      },
      {
        label: 'CLI requests',
        value: total(r.one.requests),
        detail: `${breakdown(r.one.requests)}; in-use ${inUse(r.one.requests)}`,
      },
      {
        label: 'cleanup 20x200 via CLI, a process per repository',
        value: Math.round(r.each.wallMs),
        unit: 'ms',
        detail: `20 ecr-steward run processes in turn; ${total(r.each.requests)} requests, in-use ${inUse(r.each.requests)}`,
        versus: `one process ${(r.each.wallMs / r.one.wallMs).toFixed(1)}× faster`,
      },
    ];
  },
  teardown: stopCloud,
});
