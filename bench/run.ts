/**
 * `npm run bench [-- NAME…] [--compare OLD.json] [--out FILE]`: runs the benchmarks (all, or those named) one
 * after another and prints wall time, peak heap and each benchmark's own figures against their goals, then
 * issue #19's Targets table (bench/targets.ts) for the benchmarks that ran. Writes every figure, with the
 * machine's CPU model and load, to bench/results.json (or FILE); with --compare, prints each measure present in
 * both runs as old → new and the ratio new / old.
 * Exits 1 if a goal or target is missed or a benchmark fails; the others still run and the table is printed.
 * A new benchmark is a module under bench/ that default-exports `defineBenchmark({…})`, plus a line below.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import * as path from 'node:path';
import apiCalls from './api-calls.js';
import bundles from './bundles.js';
import cleanup20x200, { cleanup20x200Cloud } from './cleanup-20x200.js';
import cleanup20x200Cli from './cleanup-20x200-cli.js';
import cliStart from './cli-start.js';
import governance from './governance.js';
import { type Benchmark, calibrate, formatMeasurement, measure } from './harness.js';
import localLatency from './local-latency.js';
import org from './org.js';
import parse, { cliPlan } from './parse.js';
import plan from './plan.js';
import report from './report.js';
import {
  type BenchMachine,
  type BenchmarkResult,
  type BenchResults,
  benchmarkResult,
  compareResults,
  formatComparison,
  parseBenchArgs,
  parseResults,
} from './results.js';
import { evaluateTargets, formatTargets, missedTargets } from './targets.js';

const BENCHMARKS: readonly Benchmark<never>[] = [
  plan,
  parse,
  cliPlan,
  cliStart,
  apiCalls,
  cleanup20x200,
  cleanup20x200Cloud,
  cleanup20x200Cli,
  governance,
  localLatency,
  report,
  org,
  bundles,
] as Benchmark<never>[];

// On Node 20 the AWS SDK warns that its later versions need Node 22: noise among the figures.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
let args: ReturnType<typeof parseBenchArgs>;
try {
  args = parseBenchArgs(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(2);
}
const unknown = args.names.filter((name) => !BENCHMARKS.some((b) => b.name === name));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown benchmark(s): ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}\n`,
  );
  process.exit(2);
}
// Read the old results first: a wrong --compare file fails before minutes of benchmarks, not after.
let older: BenchResults | undefined;
if (args.compare !== undefined) {
  try {
    older = parseResults(readFileSync(args.compare, 'utf8'), args.compare);
  } catch (e) {
    process.stderr.write(`--compare: ${(e as Error).message}\n`);
    process.exit(2);
  }
}

const machine: BenchMachine = {
  date: new Date().toISOString(),
  node: process.version,
  platform: process.platform,
  arch: process.arch,
  cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
  cores: os.availableParallelism(),
  loadAverage: os.loadavg().map((n) => Number(n.toFixed(2))),
  referenceMs: Number(calibrate().toFixed(1)),
  commit: gitCommit(),
};
process.stdout.write(
  `node ${machine.node}, ${machine.platform}/${machine.arch}, ${machine.cpuModel} × ${machine.cores}, ` +
    `load ${machine.loadAverage.join(' ')}; reference workload ${machine.referenceMs.toFixed(0)} ms ` +
    '(lower is a faster machine)\n\n',
);
const missed: string[] = [];
const results: BenchmarkResult[] = [];
for (const benchmark of BENCHMARKS) {
  if (args.names.length > 0 && !args.names.includes(benchmark.name)) continue;
  try {
    const m = await measure(benchmark);
    process.stdout.write(`${formatMeasurement(m)}\n\n`);
    missed.push(...m.missed.map((what) => `${m.name}: ${what}`));
    results.push(benchmarkResult(m));
  } catch (e) {
    // One broken benchmark must not hide the others' figures: report it, go on, exit 1.
    process.stdout.write(`${benchmark.name}: FAILED: ${(e as Error).stack ?? e}\n\n`);
    missed.push(`${benchmark.name}: failed: ${(e as Error).message}`);
  }
}

const targets = evaluateTargets(results);
if (targets.some((t) => t.value !== undefined)) process.stdout.write(`${formatTargets(targets)}\n\n`);
missed.push(...missedTargets(targets));

const doc: BenchResults = { version: 1, machine, benchmarks: results };
mkdirSync(path.dirname(path.resolve(args.out)), { recursive: true });
writeFileSync(args.out, `${JSON.stringify(doc, null, 2)}\n`);
process.stdout.write(`Results written to ${args.out}\n`);
if (older && args.compare !== undefined)
  process.stdout.write(`\n${formatComparison(compareResults(older, doc), older.machine, args.compare)}\n`);
if (missed.length > 0) {
  process.stdout.write(`\nGoals missed:\n${missed.map((m) => `  ${m}`).join('\n')}\n`);
  process.exitCode = 1;
}

/** The commit measured (`+dirty` with uncommitted changes), or undefined outside a git checkout. */
function gitCommit(): string | undefined {
  try {
    const git = (...a: string[]) =>
      execFileSync('git', a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const head = git('rev-parse', '--short=12', 'HEAD');
    return git('status', '--porcelain', '--untracked-files=no') ? `${head}+dirty` : head;
  } catch {
    return undefined;
  }
}
