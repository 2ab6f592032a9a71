import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadImagesFile, loadPolicyFile } from '../cli/inputs.js';
import {
  describeImagesOutputSchema,
  type Image,
  planRepository,
  toImage,
} from '../functions/shared/lifecycle/index.js';
import { defineBenchmark, type Figure } from './harness.js';
import { SYNTH_NOW, synthesizeRepository, TEN_RULE_POLICY_TEXT } from './synth.js';
import { LABELS } from './targets.js';

const IMAGES = 100_000;

/**
 * Reading describe-images output: JSON text to engine images, as `ecr-steward plan --images` does.
 * No goal of its own; it shows what a 100,000-image plan costs before the engine starts.
 */
export default defineBenchmark({
  name: 'parse',
  description: `describe-images JSON → images (JSON.parse + schema + toImage), ${IMAGES.toLocaleString('en-US')} images`,
  runs: 5,
  warmups: 1,
  setup: () => JSON.stringify({ imageDetails: synthesizeRepository(IMAGES).imageDetails }),
  run: (text) => describeImagesOutputSchema.parse(JSON.parse(text)).imageDetails.map(toImage),
  describe: (result) => `${(result as Image[]).length} images`,
});

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PAIRS = 5;

interface CliPlanState {
  readonly dir: string;
  readonly images: string;
  readonly policy: string;
  /** Bytes of the describe-images file. */
  readonly bytes: number;
}

/** One process: its wall time from spawn to exit and its peak RSS. */
interface ProcessRun {
  readonly ms: number;
  readonly rssMB: number;
}

interface CliPlanResult {
  readonly cli: ProcessRun;
  readonly parse: ProcessRun;
  /** JSON.parse of the same text inside this process, median: the parse without a process start. */
  readonly inProcessParseMs: number;
  /**
   * What the plan adds to a parse at the least, measured warm in this process (medians): the engine planning the
   * same images with the same policy (planRepository), and V8's own JSON.stringify(plan, null, 2) of its output.
   */
  readonly inProcessEngineMs: number;
  readonly inProcessStringifyMs: number;
}

/**
 * `ecr-steward plan` on 100,000 images, as a user runs it (the published bin, `--format json` to a file), against
 * a process that only reads the same file and JSON.parses it. Both are child processes started the same way, so
 * the ratio is what the CLI adds to the unavoidable work: a start, a read, a parse. Each run alternates them
 * (a warm-up pair, then medians of 5 pairs) so a busy moment of a shared machine falls on both. Peak RSS is the
 * child's own (bench/max-rss.mjs).
 */
export const cliPlan = defineBenchmark<CliPlanState>({
  name: 'cli-plan',
  description: `ecr-steward plan --images (${IMAGES.toLocaleString('en-US')} images) --format json, vs node reading and JSON.parse-ing the same file; child processes, ${PAIRS} pairs`,
  runs: 1,
  warmups: 0,
  setup() {
    const dir = path.join(ROOT, '.local', 'bench-cli-plan');
    mkdirSync(dir, { recursive: true });
    const images = path.join(dir, 'images.json');
    const policy = path.join(dir, 'policy.json');
    const text = JSON.stringify({ imageDetails: synthesizeRepository(IMAGES).imageDetails });
    writeFileSync(images, text);
    writeFileSync(policy, TEN_RULE_POLICY_TEXT);
    return { dir, images, policy, bytes: Buffer.byteLength(text) };
  },
  async run(state): Promise<CliPlanResult> {
    const cliArgs = [
      path.join(ROOT, 'bin', 'ecr-steward.js'),
      'plan',
      '--policy',
      state.policy,
      '--images',
      state.images,
      '--now',
      SYNTH_NOW.toISOString(),
      '--format',
      'json',
    ];
    const parseArgs = [
      '-e',
      "JSON.parse(require('node:fs').readFileSync(process.argv[1], 'utf8'))",
      state.images,
    ];
    const cli: ProcessRun[] = [];
    const parse: ProcessRun[] = [];
    // The first pair warms the file cache (and lets the bin rebuild a stale bundle): not counted.
    for (let i = 0; i <= PAIRS; i++) {
      const c = await timeProcess(cliArgs, state.dir);
      const p = await timeProcess(parseArgs, state.dir);
      if (i > 0) {
        cli.push(c);
        parse.push(p);
      }
    }
    const text = readFileSync(state.images, 'utf8');
    const inProcess: number[] = [];
    for (let i = 0; i < PAIRS; i++) {
      const start = process.hrtime.bigint();
      JSON.parse(text);
      inProcess.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    // The floor: the plan command's own work beyond the parse, each step at its best (warm, in this process).
    const policy = await loadPolicyFile(state.policy);
    const loaded = await loadImagesFile(state.images);
    const engine: number[] = [];
    const stringify: number[] = [];
    for (let i = 0; i < PAIRS; i++) {
      let start = process.hrtime.bigint();
      const plan = planRepository({
        repository: loaded.repository,
        policy,
        images: loaded.images,
        now: SYNTH_NOW,
      });
      engine.push(Number(process.hrtime.bigint() - start) / 1e6);
      start = process.hrtime.bigint();
      JSON.stringify(plan, null, 2);
      stringify.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    return {
      cli: { ms: median(cli.map((r) => r.ms)), rssMB: median(cli.map((r) => r.rssMB)) },
      parse: { ms: median(parse.map((r) => r.ms)), rssMB: median(parse.map((r) => r.rssMB)) },
      inProcessParseMs: median(inProcess),
      inProcessEngineMs: median(engine),
      inProcessStringifyMs: median(stringify),
    };
  },
  describe(result) {
    const r = result as CliPlanResult;
    return `plan ${r.cli.ms.toFixed(0)} ms, read + JSON.parse ${r.parse.ms.toFixed(0)} ms (medians of ${PAIRS})`;
  },
  figures(result): Figure[] {
    const r = result as CliPlanResult;
    return [
      {
        label: 'ecr-steward plan',
        value: Math.round(r.cli.ms),
        unit: 'ms',
        detail: `process start to exit, median of ${PAIRS}`,
      },
      {
        label: 'node read + JSON.parse',
        value: Math.round(r.parse.ms),
        unit: 'ms',
        detail: `a process that only reads and parses the same file; in this process JSON.parse alone takes ${r.inProcessParseMs.toFixed(0)} ms`,
      },
      { label: LABELS.planRatio, value: r.cli.ms / r.parse.ms, unit: '×', atMost: 2 },
      {
        label: LABELS.planRatioFloor,
        value: (r.parse.ms + r.inProcessEngineMs + r.inProcessStringifyMs) / r.parse.ms,
        unit: '×',
        detail: `the reading process (${r.parse.ms.toFixed(0)} ms) + the engine's plan of the same images (${r.inProcessEngineMs.toFixed(0)} ms) + V8's JSON.stringify of the plan (${r.inProcessStringifyMs.toFixed(0)} ms), each warm in this process: what any plan command adds at the least`,
      },
      {
        label: LABELS.planRss,
        value: Math.round(r.cli.rssMB),
        unit: 'MB',
        detail: `peak of the plan process; the parsing process peaks at ${r.parse.rssMB.toFixed(0)} MB`,
        atMost: 250,
      },
    ];
  },
  teardown(state) {
    rmSync(state.dir, { recursive: true, force: true });
  },
});

/** Runs `node --import max-rss.mjs …args` with stdout to nowhere; throws with its stderr unless it exits 0. */
function timeProcess(args: readonly string[], dir: string): Promise<ProcessRun> {
  const rssFile = path.join(dir, `rss-${process.pid}`);
  rmSync(rssFile, { force: true });
  const probe = path.join(ROOT, 'bench', 'max-rss.mjs');
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, ['--import', probe, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, BENCH_MAX_RSS_FILE: rssFile },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (code !== 0) {
        reject(new Error(`node ${args.slice(0, 2).join(' ')} … exited ${code}: ${stderr.slice(0, 2000)}`));
        return;
      }
      let kib: number;
      try {
        kib = Number(readFileSync(rssFile, 'utf8'));
      } catch {
        reject(
          new Error(`node ${args.slice(0, 2).join(' ')} … left no peak RSS (bench/max-rss.mjs did not run)`),
        );
        return;
      }
      resolve({ ms, rssMB: kib / 1024 });
    });
  });
}

function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}
