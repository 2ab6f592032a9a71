/**
 * The machine-readable side of `npm run bench`: the results file (what ran, where, and every figure), the
 * command line, and the comparison of two results files. Pure: run.ts gathers the machine's facts and does
 * the reading, writing and printing.
 */
import { fmtFigure } from './format.js';
import type { Figure, Measurement } from './harness.js';

/** Where and when the figures were measured: enough to put figures from two runs in proportion. */
export interface BenchMachine {
  /** ISO-8601. */
  readonly date: string;
  readonly node: string;
  readonly platform: string;
  readonly arch: string;
  /** `os.cpus()[0].model`. */
  readonly cpuModel: string;
  readonly cores: number;
  /** `os.loadavg()` at the start: 1, 5 and 15 minutes. A busy machine's figures are slower. */
  readonly loadAverage: readonly number[];
  /** The reference workload's time (harness.ts `calibrate`): lower is a faster machine. */
  readonly referenceMs: number;
  /** The commit measured, `+dirty` when the working tree had changes; undefined outside a git checkout. */
  readonly commit?: string | undefined;
}

/** One benchmark's figures as written to the results file. */
export interface BenchmarkResult {
  readonly name: string;
  readonly description: string;
  readonly wallMs: Measurement['wallMs'];
  readonly cpuMs: number;
  readonly heapMB: { readonly input: number; readonly peak: number };
  readonly peakRssMB: number;
  readonly result?: string | undefined;
  readonly figures: readonly Figure[];
  readonly goals: Measurement['goals'];
  readonly missed: readonly string[];
}

/** `bench/results.json`. `version` changes when a field changes meaning. */
export interface BenchResults {
  readonly version: 1;
  readonly machine: BenchMachine;
  readonly benchmarks: readonly BenchmarkResult[];
}

export function benchmarkResult(m: Measurement): BenchmarkResult {
  return {
    name: m.name,
    description: m.description,
    wallMs: m.wallMs,
    cpuMs: m.cpuMs,
    heapMB: { input: m.inputHeapMB, peak: m.peakHeapMB },
    peakRssMB: m.peakRssMB,
    ...(m.result === undefined ? {} : { result: m.result }),
    figures: m.figures,
    goals: m.goals,
    missed: m.missed,
  };
}

/**
 * Reads a results file's text; throws naming the file and what is wrong, so `--compare` with the wrong file
 * says so instead of printing an empty comparison.
 */
export function parseResults(text: string, source: string): BenchResults {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not JSON (${(e as Error).message})`);
  }
  const r = doc as Partial<BenchResults> | null;
  if (r?.version !== 1 || !Array.isArray(r.benchmarks) || typeof r.machine !== 'object')
    throw new Error(`${source}: not a bench results file (version 1, with machine and benchmarks)`);
  for (const [i, b] of r.benchmarks.entries())
    if (typeof b?.name !== 'string' || typeof b.wallMs?.median !== 'number' || !Array.isArray(b.figures))
      throw new Error(`${source}: benchmarks[${i}] has no name, wallMs.median or figures`);
  return r as BenchResults;
}

/** The command line of `npm run bench`. */
export interface BenchArgs {
  /** Benchmarks to run; all when empty. */
  readonly names: readonly string[];
  /** A results file to compare this run's figures with. */
  readonly compare?: string | undefined;
  /** Where to write this run's results. */
  readonly out: string;
}

export const DEFAULT_RESULTS = 'bench/results.json';

/** `[NAME…] [--compare OLD.json] [--out FILE]`, options anywhere; throws with the usage on anything else. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const usage = 'usage: npm run bench -- [NAME…] [--compare OLD.json] [--out FILE]';
  const names: string[] = [];
  let compare: string | undefined;
  let out = DEFAULT_RESULTS;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.startsWith('--') ? (arg.split(/=(.*)/s, 2) as [string, string?]) : [arg];
    if (flag === '--compare' || flag === '--out') {
      const value = inline ?? argv[++i];
      if (value === undefined || value === '' || (inline === undefined && value.startsWith('--')))
        throw new Error(`${flag} needs a file; ${usage}`);
      if (flag === '--compare') compare = value;
      else out = value;
    } else if (arg.startsWith('-')) throw new Error(`unknown option ${arg}; ${usage}`);
    else names.push(arg);
  }
  return { names, compare, out };
}

/** One measure present in both runs. `ratio` is new / old: below 1 is an improvement for every measure here. */
export interface ComparisonRow {
  readonly benchmark: string;
  readonly measure: string;
  readonly unit: string;
  readonly old: number;
  readonly new: number;
  readonly ratio: number;
}

/**
 * Every measure present in both runs, in the new run's order: each benchmark's wall median, CPU and peak heap,
 * then each of its figures (matched by label). A benchmark or figure in only one of the two is left out.
 */
export function compareResults(older: BenchResults, newer: BenchResults): ComparisonRow[] {
  const rows: ComparisonRow[] = [];
  for (const b of newer.benchmarks) {
    const o = older.benchmarks.find((x) => x.name === b.name);
    if (!o) continue;
    const add = (measure: string, unit: string, before: number | undefined, after: number | undefined) => {
      if (typeof before !== 'number' || typeof after !== 'number') return;
      rows.push({
        benchmark: b.name,
        measure,
        unit,
        old: before,
        new: after,
        ratio: before === 0 ? (after === 0 ? 1 : Number.POSITIVE_INFINITY) : after / before,
      });
    };
    add('wall median', 'ms', o.wallMs.median, b.wallMs.median);
    add('cpu median', 'ms', o.cpuMs, b.cpuMs);
    add('heap peak', 'MB', o.heapMB?.peak, b.heapMB?.peak);
    for (const f of b.figures) {
      const before = o.figures.find((x) => x.label === f.label);
      if (before) add(f.label, f.unit ?? '', before.value, f.value);
    }
  }
  return rows;
}

/** The comparison as aligned lines: `benchmark  measure  old → new  ×ratio`. */
export function formatComparison(
  rows: readonly ComparisonRow[],
  older: BenchMachine,
  source: string,
): string {
  const head = `Compared with ${source} (${older.date}, node ${older.node}, ${older.cpuModel}, load ${older.loadAverage.map((n) => n.toFixed(2)).join(' ')}${older.commit ? `, ${older.commit}` : ''}): new / old`;
  if (rows.length === 0) return `${head}\n  no benchmark ran in both`;
  const value = (n: number, unit: string) =>
    `${fmtFigure(n)}${unit === '' || unit === '×' ? unit : ` ${unit}`}`;
  const cells = rows.map((r) => [
    r.benchmark,
    r.measure,
    value(r.old, r.unit),
    value(r.new, r.unit),
    Number.isFinite(r.ratio) ? `×${r.ratio.toFixed(r.ratio >= 10 ? 1 : 3)}` : '×∞',
  ]);
  const width = (c: number) => Math.max(...cells.map((row) => row[c]!.length));
  const [w0, w1, w2, w3] = [width(0), width(1), width(2), width(3)];
  return [
    head,
    ...cells.map(
      ([b, m, o, n, r]) =>
        `  ${b!.padEnd(w0)}  ${m!.padEnd(w1)}  ${o!.padStart(w2)} → ${n!.padStart(w3)}  ${r}`,
    ),
  ].join('\n');
}
