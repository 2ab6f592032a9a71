/**
 * The targets of issue #19 ("Performance"), read off the benchmarks that ran: one row per target with the
 * measured value, the target, and the ratio to a lower bound where there is one. Pure: it reads results, so
 * the same table can be printed for a run just made or for a results file.
 *
 * Each row names where its value comes from: a benchmark's wall median, or a Figure found by its label. The
 * labels are the contract with the benchmark modules; a module that reports one of these measures uses the
 * label exactly (e.g. bench/cli-start.ts reports `ecr-steward --help / node -e 0`). A row whose source did
 * not run prints "not run" and counts neither as met nor as missed.
 */
import { fmtFigure } from './format.js';
import type { BenchmarkResult } from './results.js';

/** Where a row's value (or its lower bound) is read. */
export type TargetSource =
  | { readonly wallOf: string }
  | { readonly figure: string; readonly of?: string | undefined };

export interface Target {
  /** What is measured, as the table says it. */
  readonly measure: string;
  readonly source: TargetSource;
  readonly unit?: string | undefined;
  /** The target: the value must be below `below`, or at most `atMost`. */
  readonly below?: number | undefined;
  readonly atMost?: number | undefined;
  /** The lower bound the value is put against, when there is one. */
  readonly floor?: { readonly source: TargetSource; readonly what: string } | undefined;
}

/** Figure labels the targets read; the benchmarks that report them use these constants or the same text. */
export const LABELS = {
  /** bench/cleanup-20x200.ts: the cleanup process's own wall time (its start not counted). */
  cleanupWall: 'cleanup wall',
  requests: 'requests',
  requestsFloor: 'requests floor',
  dynamo: 'DynamoDB requests',
  dynamoFloor: 'DynamoDB floor',
  nonEcr: 'non-ECR calls',
  /** bench/cli-start.ts: `ecr-steward --help` wall (ms) and its ratio to `node -e 0` in the same run (×). */
  helpWall: 'ecr-steward --help',
  helpRatio: 'ecr-steward --help / node -e 0',
  planRatio: 'ecr-steward plan / JSON.parse',
  /** bench/parse.ts: (reading process + warm engine + warm JSON.stringify of the plan) / reading process. */
  planRatioFloor: 'ecr-steward plan / JSON.parse floor',
  planRss: 'ecr-steward plan RSS',
  sweepTotal: 'sweep total',
  sweepDynamo: 'sweep DynamoDB/repo',
  /** bench/local-latency.ts: holds + records reads per repository, write-ahead + settle per delete batch. */
  sweepDynamoFloor: 'sweep DynamoDB/repo floor',
  pushP95: 'push→enforced p95',
  pushCold: 'push→enforced cold',
} as const;

const CLEANUP = 'cleanup-20x200';

/** Issue #19's Targets table, row by row. */
export const TARGETS: readonly Target[] = [
  {
    measure: 'cleanup 20×200, one process: wall',
    source: { figure: LABELS.cleanupWall, of: CLEANUP },
    unit: 'ms',
    below: 4_000,
  },
  {
    measure: 'cleanup 20×200, one process: requests',
    source: { figure: LABELS.requests, of: CLEANUP },
    below: 600,
    floor: { source: { figure: LABELS.requestsFloor, of: CLEANUP }, what: 'ECR + in-use' },
  },
  {
    measure: 'cleanup 20×200, one process: DynamoDB requests',
    source: { figure: LABELS.dynamo, of: CLEANUP },
    below: 300,
    floor: { source: { figure: LABELS.dynamoFloor, of: CLEANUP }, what: '3 per delete batch' },
  },
  {
    measure: 'non-ECR calls for 3,000 deletes (worker + audit)',
    source: { figure: LABELS.nonEcr, of: `${CLEANUP}-cloud` },
    atMost: 600,
  },
  { measure: 'ecr-steward --help: wall', source: { figure: LABELS.helpWall }, unit: 'ms' },
  { measure: 'ecr-steward --help / node -e 0', source: { figure: LABELS.helpRatio }, unit: '×', atMost: 2 },
  {
    measure: 'ecr-steward plan 100k / JSON.parse',
    source: { figure: LABELS.planRatio },
    unit: '×',
    atMost: 2,
    floor: { source: { figure: LABELS.planRatioFloor }, what: 'parse + warm engine + JSON.stringify' },
  },
  { measure: 'ecr-steward plan 100k: RSS', source: { figure: LABELS.planRss }, unit: 'MB', below: 250 },
  { measure: 'engine plan 100k, median', source: { wallOf: 'plan' }, unit: 'ms', below: 250 },
  {
    measure: 'sweep 1,000 repositories (20 ms per call)',
    source: { figure: LABELS.sweepTotal, of: 'local-latency' },
    unit: 'ms',
    below: 20_000,
  },
  {
    measure: 'sweep: DynamoDB calls per repository',
    source: { figure: LABELS.sweepDynamo },
    atMost: 3,
    floor: { source: { figure: LABELS.sweepDynamoFloor }, what: 'holds, records, write-ahead, settle' },
  },
  { measure: 'push to enforced p95', source: { figure: LABELS.pushP95 }, unit: 'ms', below: 200 },
  { measure: 'push to enforced, cold', source: { figure: LABELS.pushCold }, unit: 'ms', below: 600 },
];

/** A value read from the results: the benchmark's wall median, or the figure with the label. */
export function readSource(results: readonly BenchmarkResult[], source: TargetSource): number | undefined {
  if ('wallOf' in source) return results.find((b) => b.name === source.wallOf)?.wallMs.median;
  for (const b of results) {
    if (source.of !== undefined && b.name !== source.of) continue;
    const f = b.figures.find((x) => x.label === source.figure);
    if (f) return f.value;
  }
  return undefined;
}

export interface TargetRow {
  readonly target: Target;
  /** Undefined when the benchmark reporting it did not run. */
  readonly value?: number | undefined;
  readonly floor?: number | undefined;
  /** Undefined for a row without a target (shown for context) or whose value is missing. */
  readonly met?: boolean | undefined;
}

export function evaluateTargets(
  results: readonly BenchmarkResult[],
  targets: readonly Target[] = TARGETS,
): TargetRow[] {
  return targets.map((target) => {
    const value = readSource(results, target.source);
    const floor = target.floor ? readSource(results, target.floor.source) : undefined;
    const met =
      value === undefined
        ? undefined
        : target.below !== undefined
          ? value < target.below
          : target.atMost !== undefined
            ? value <= target.atMost
            : undefined;
    return { target, value, floor, met };
  });
}

/** The Targets section: measured / target, ratio to the lower bound, met or MISSED (or "not run"). */
export function formatTargets(rows: readonly TargetRow[]): string {
  const unit = (t: Target) => (t.unit === undefined ? '' : t.unit === '×' ? '×' : ` ${t.unit}`);
  const goal = (t: Target) =>
    t.below !== undefined
      ? `< ${fmtFigure(t.below)}${unit(t)}`
      : t.atMost !== undefined
        ? `≤ ${fmtFigure(t.atMost)}${unit(t)}`
        : '';
  const cells = rows.map(({ target, value, floor, met }) => [
    target.measure,
    value === undefined ? 'not run' : `${fmtFigure(value)}${unit(target)}`,
    goal(target),
    value !== undefined && floor !== undefined && floor > 0 && target.floor
      ? `${(value / floor).toFixed(value / floor >= 10 ? 0 : 2)}× floor (${target.floor.what} ${fmtFigure(floor)})`
      : '',
    met === undefined ? '' : met ? 'met' : 'MISSED',
  ]);
  const header = ['measure', 'measured', 'target', 'vs lower bound', ''];
  const width = (c: number) => Math.max(header[c]!.length, ...cells.map((row) => row[c]!.length));
  const widths = [0, 1, 2, 3].map(width);
  const line = (row: readonly string[]) =>
    `  ${row[0]!.padEnd(widths[0]!)}  ${row[1]!.padStart(widths[1]!)}  ${row[2]!.padEnd(widths[2]!)}  ${row[3]!.padEnd(widths[3]!)}  ${row[4]}`.trimEnd();
  return ['Targets (issue #19):', line(header), ...cells.map(line)].join('\n');
}

/** The missed targets, one line each, for the "Goals missed" list. */
export function missedTargets(rows: readonly TargetRow[]): string[] {
  return rows
    .filter((r) => r.met === false)
    .map((r) => {
      const t = r.target;
      const u = t.unit === undefined ? '' : t.unit === '×' ? '×' : ` ${t.unit}`;
      const limit = t.below !== undefined ? `≥ ${fmtFigure(t.below)}` : `> ${fmtFigure(t.atMost!)}`;
      return `target: ${t.measure} ${fmtFigure(r.value!)}${u} ${limit}${u}`;
    });
}
