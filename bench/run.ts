/**
 * `npm run bench [-- NAME…]`: runs the benchmarks (all, or those named) one after another and prints
 * wall time, peak heap and each benchmark's own figures against their goals. Exits 1 if a goal is missed.
 * A new benchmark is a module under bench/ that default-exports `defineBenchmark({…})`, plus a line below.
 */
import apiCalls from './api-calls.js';
import governance from './governance.js';
import { type Benchmark, calibrate, formatMeasurement, measure } from './harness.js';
import localLatency from './local-latency.js';
import org from './org.js';
import parse from './parse.js';
import plan from './plan.js';
import report from './report.js';

const BENCHMARKS: readonly Benchmark<never>[] = [
  plan,
  parse,
  apiCalls,
  governance,
  localLatency,
  report,
  org,
] as Benchmark<never>[];

// On Node 20 the AWS SDK warns that its later versions need Node 22: noise among the figures.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !BENCHMARKS.some((b) => b.name === name));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown benchmark(s): ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}\n`,
  );
  process.exit(2);
}

const load = (await import('node:os')).loadavg()[0]!.toFixed(2);
process.stdout.write(
  `node ${process.version}, ${process.platform}/${process.arch}, load ${load}; ` +
    `reference workload ${calibrate().toFixed(0)} ms (lower is a faster machine)\n\n`,
);
const missed: string[] = [];
for (const benchmark of BENCHMARKS) {
  if (wanted.length > 0 && !wanted.includes(benchmark.name)) continue;
  const m = await measure(benchmark);
  process.stdout.write(`${formatMeasurement(m)}\n\n`);
  missed.push(...m.missed.map((what) => `${m.name}: ${what}`));
}
if (missed.length > 0) {
  process.stdout.write(`Goals missed:\n${missed.map((m) => `  ${m}`).join('\n')}\n`);
  process.exitCode = 1;
}
