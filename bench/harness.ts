import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fmt, fmtFigure } from './format.js';

/**
 * A figure a benchmark reports beside wall time and heap (API calls, a ratio, a latency percentile),
 * printed on its own line with its goal, if any.
 */
export interface Figure {
  readonly label: string;
  readonly value: number;
  readonly unit?: string | undefined;
  /** Printed in parentheses after the value: how it was counted, its parts. */
  readonly detail?: string | undefined;
  /** A goal from the project's requirements: the value must be at most this. A missed goal makes `npm run bench` exit 1. */
  readonly atMost?: number | undefined;
  /** A point of comparison that is not a goal, e.g. ECR's own "within 24 hours". */
  readonly versus?: string | undefined;
}

/**
 * One benchmark: `setup` builds the input (not measured), `run` is the measured work (awaited when it
 * returns a promise). A benchmark module default-exports one of these; `bench/run.ts` lists the modules.
 */
export interface Benchmark<State = unknown> {
  readonly name: string;
  readonly description: string;
  /** Goals from the project's requirements; a missed goal makes `npm run bench` exit 1. */
  readonly goals?: { readonly wallMs?: number; readonly heapMB?: number } | undefined;
  /** Measured runs (the median is reported) and unmeasured warm-up runs before them. */
  readonly runs?: number | undefined;
  readonly warmups?: number | undefined;
  setup(): State | Promise<State>;
  run(state: State): unknown;
  /** A one-line description of a run's result, printed once so the reader can see the work was real. */
  describe?(result: unknown): string;
  /** The benchmark's own figures, from the last measured run's result. */
  figures?(result: unknown): readonly Figure[];
  /** Releases what `setup` started (servers, child processes); runs even when a run failed. */
  teardown?(state: State): unknown;
}

/** Typed helper for benchmark modules: infers `State` from `setup`. */
export function defineBenchmark<State>(benchmark: Benchmark<State>): Benchmark<State> {
  return benchmark;
}

export interface Measurement {
  readonly name: string;
  readonly description: string;
  readonly wallMs: {
    readonly median: number;
    readonly min: number;
    readonly max: number;
    readonly runs: number;
  };
  /**
   * Median CPU time of the process per run (all threads, so GC helpers count). Less disturbed than wall
   * time when other processes compete for the CPUs; the goals still apply to wall time.
   */
  readonly cpuMs: number;
  /** Heap in use with the input built, after a full GC: the floor the run starts from. */
  readonly inputHeapMB: number;
  /** The highest heap use seen during any measured run, input included. */
  readonly peakHeapMB: number;
  /** Peak resident set size of the whole process so far (includes setup and earlier benchmarks). */
  readonly peakRssMB: number;
  readonly result: string | undefined;
  readonly figures: readonly Figure[];
  readonly goals: NonNullable<Benchmark['goals']>;
  readonly missed: readonly string[];
}

const MB = 1024 * 1024;

/**
 * A forced full GC, so each run starts from the same heap and the input's size can be read exactly.
 * `npm run bench` runs without --expose-gc, so expose it at run time.
 */
const gc: () => void = (() => {
  v8.setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/**
 * Runs one benchmark and measures it: median wall time over `runs` after `warmups`, and peak heap.
 * The peak is read from V8's GC profiler: heap use is highest just before a collection, so the largest
 * "before GC" figure (or the use at the end, whichever is larger) is the run's true peak.
 */
export async function measure<State>(benchmark: Benchmark<State>): Promise<Measurement> {
  const state = await benchmark.setup();
  try {
    return await measureRuns(benchmark, state);
  } finally {
    await benchmark.teardown?.(state);
  }
}

/** Calls `run`, awaiting only a promise, so synchronous benchmarks are timed without an extra tick. */
async function runOnce<State>(benchmark: Benchmark<State>, state: State): Promise<unknown> {
  const result = benchmark.run(state);
  return result instanceof Promise ? await result : result;
}

async function measureRuns<State>(benchmark: Benchmark<State>, state: State): Promise<Measurement> {
  const runs = benchmark.runs ?? 7;
  const warmups = benchmark.warmups ?? 2;
  let result: unknown;
  for (let i = 0; i < warmups; i++) result = await runOnce(benchmark, state);
  result = undefined;
  gc();
  const inputHeap = v8.getHeapStatistics().used_heap_size;

  const times: number[] = [];
  const cpuTimes: number[] = [];
  let peakHeap = inputHeap;
  for (let i = 0; i < runs; i++) {
    gc();
    const profiler = new v8.GCProfiler();
    profiler.start();
    const cpuStart = process.cpuUsage();
    const start = process.hrtime.bigint();
    result = await runOnce(benchmark, state);
    const end = process.hrtime.bigint();
    const cpu = process.cpuUsage(cpuStart);
    cpuTimes.push((cpu.user + cpu.system) / 1000);
    const atEnd = v8.getHeapStatistics().used_heap_size;
    const profile = profiler.stop();
    times.push(Number(end - start) / 1e6);
    for (const event of profile.statistics) {
      peakHeap = Math.max(peakHeap, event.beforeGC.heapStatistics.usedHeapSize);
    }
    peakHeap = Math.max(peakHeap, atEnd);
    if (i < runs - 1) result = undefined;
  }

  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const cpuMedian = [...cpuTimes].sort((a, b) => a - b)[Math.floor(cpuTimes.length / 2)]!;
  const goals = benchmark.goals ?? {};
  const peakHeapMB = peakHeap / MB;
  const missed: string[] = [];
  if (goals.wallMs !== undefined && median >= goals.wallMs)
    missed.push(`wall ${fmt(median)} ms ≥ ${goals.wallMs} ms`);
  if (goals.heapMB !== undefined && peakHeapMB >= goals.heapMB)
    missed.push(`heap ${fmt(peakHeapMB)} MB ≥ ${goals.heapMB} MB`);
  const figures = benchmark.figures?.(result) ?? [];
  for (const f of figures)
    if (f.atMost !== undefined && !(f.value <= f.atMost))
      missed.push(`${f.label} ${fmtFigure(f.value)} > ${f.atMost}`);
  return {
    name: benchmark.name,
    description: benchmark.description,
    wallMs: { median, min: sorted[0]!, max: sorted.at(-1)!, runs },
    cpuMs: cpuMedian,
    inputHeapMB: inputHeap / MB,
    peakHeapMB,
    // maxRSS is in kilobytes.
    peakRssMB: process.resourceUsage().maxRSS / 1024,
    result: benchmark.describe?.(result),
    figures,
    goals,
    missed,
  };
}

/** The report of one measurement, a few aligned lines. */
export function formatMeasurement(m: Measurement): string {
  const goal = (value: number, limit: number | undefined, unit: string): string =>
    limit === undefined ? '' : `   goal < ${limit} ${unit}: ${value < limit ? 'met' : 'MISSED'}`;
  const w = m.wallMs;
  const labelWidth = Math.max(7, ...m.figures.map((f) => f.label.length));
  return [
    `${m.name}: ${m.description}`,
    ...(m.result ? [`  result  ${m.result}`] : []),
    ...m.figures.map((f) => {
      const unit = f.unit ? ` ${f.unit}` : '';
      const detail = f.detail ? ` (${f.detail})` : '';
      const versus = f.versus ? `   vs ${f.versus}` : '';
      const goal =
        f.atMost === undefined
          ? ''
          : `   goal ≤ ${f.atMost}${unit}: ${f.value <= f.atMost ? 'met' : 'MISSED'}`;
      return `  ${f.label.padEnd(labelWidth)} ${fmtFigure(f.value)}${unit}${detail}${versus}${goal}`;
    }),
    `  wall    median ${fmt(w.median)} ms (min ${fmt(w.min)}, max ${fmt(w.max)}; ${w.runs} runs)${goal(w.median, m.goals.wallMs, 'ms')}`,
    `  cpu     median ${fmt(m.cpuMs)} ms (all threads)`,
    `  heap    peak ${fmt(m.peakHeapMB)} MB (input ${fmt(m.inputHeapMB)} MB + run ${fmt(m.peakHeapMB - m.inputHeapMB)} MB)${goal(m.peakHeapMB, m.goals.heapMB, 'MB')}`,
    `  rss     peak ${fmt(m.peakRssMB)} MB (whole process)`,
  ].join('\n');
}

/**
 * A fixed reference workload (a 100,000-entry Map keyed by digest-like strings, then a sort of the keys),
 * the same kind of work a plan does. Printed beside the results so figures from different machines, or
 * from a busy machine, can be put in proportion: a plan takes roughly a fixed multiple of it.
 */
export function calibrate(): number {
  const keys = Array.from(
    { length: 100_000 },
    (_, i) => `sha256:${((i * 2_654_435_761) >>> 0).toString(16).padStart(64, '0')}`,
  );
  const times: number[] = [];
  for (let run = 0; run < 5; run++) {
    const start = process.hrtime.bigint();
    const map = new Map<string, { i: number }>();
    for (const [i, k] of keys.entries()) map.set(k, { i });
    [...map.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times.sort((a, b) => a - b)[2]!;
}
