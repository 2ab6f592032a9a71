import { describe, expect, it } from 'vitest';
import type { BenchmarkResult } from '../../bench/results.js';
import {
  evaluateTargets,
  formatTargets,
  LABELS,
  missedTargets,
  readSource,
  TARGETS,
  type Target,
} from '../../bench/targets.js';

function bench(name: string, wall: number, figures: BenchmarkResult['figures'] = []): BenchmarkResult {
  return {
    name,
    description: name,
    wallMs: { median: wall, min: wall, max: wall, runs: 1 },
    cpuMs: wall,
    heapMB: { input: 1, peak: 2 },
    peakRssMB: 3,
    figures,
    goals: {},
    missed: [],
  };
}

const CLEANUP = bench('cleanup-20x200', 41_000, [
  { label: LABELS.cleanupWall, value: 39_000, unit: 'ms' },
  { label: LABELS.requests, value: 15_036 },
  { label: LABELS.requestsFloor, value: 97 },
  { label: LABELS.dynamo, value: 14_939 },
  { label: LABELS.dynamoFloor, value: 120 },
]);

describe('readSource', () => {
  it('returns a benchmark wall median, a figure of a named benchmark, or a figure of any benchmark', () => {
    const results = [CLEANUP, bench('cli-start', 900, [{ label: LABELS.helpRatio, value: 9.5, unit: '×' }])];
    expect(readSource(results, { wallOf: 'cleanup-20x200' })).toBe(41_000);
    expect(readSource(results, { figure: LABELS.cleanupWall, of: 'cleanup-20x200' })).toBe(39_000);
    expect(readSource(results, { figure: LABELS.requests, of: 'cleanup-20x200' })).toBe(15_036);
    expect(readSource(results, { figure: LABELS.requests, of: 'cli-start' })).toBeUndefined();
    expect(readSource(results, { figure: LABELS.helpRatio })).toBe(9.5);
    expect(readSource(results, { wallOf: 'plan' })).toBeUndefined();
  });
});

describe('evaluateTargets', () => {
  it('returns met, missed, or neither for a row without a value or without a target', () => {
    const targets: Target[] = [
      { measure: 'below, met', source: { wallOf: 'plan' }, below: 250 },
      { measure: 'below, equal is missed', source: { wallOf: 'plan' }, below: 240 },
      { measure: 'at most, equal is met', source: { wallOf: 'plan' }, atMost: 240 },
      { measure: 'no target', source: { wallOf: 'plan' } },
      { measure: 'not run', source: { wallOf: 'absent' }, below: 1 },
    ];
    expect(
      evaluateTargets([bench('plan', 240)], targets).map((r) => [r.target.measure, r.value, r.met]),
    ).toEqual([
      ['below, met', 240, true],
      ['below, equal is missed', 240, false],
      ['at most, equal is met', 240, true],
      ['no target', 240, undefined],
      ['not run', undefined, undefined],
    ]);
  });

  it("reads the 20×200 cleanup's rows with their lower bounds", () => {
    const rows = evaluateTargets([CLEANUP]).filter((r) => r.target.measure.startsWith('cleanup 20×200'));
    expect(rows.map((r) => [r.value, r.floor, r.met])).toEqual([
      [39_000, undefined, false],
      [15_036, 97, false],
      [14_939, 120, false],
    ]);
  });

  it("reads the sweep's DynamoDB lower bound (holds, records, write-ahead, settle) from local-latency's figures", () => {
    const latency = bench('local-latency', 60_000, [
      { label: LABELS.sweepDynamo, value: 7 },
      { label: LABELS.sweepDynamoFloor, value: 4 },
    ]);
    const row = evaluateTargets([latency]).find(
      (r) => r.target.measure === 'sweep: DynamoDB calls per repository',
    );
    expect([row?.value, row?.floor, row?.met]).toEqual([7, 4, false]);
  });

  it("reads the plan ratio's lower bound (parse + warm engine + JSON.stringify) from cli-plan's figures", () => {
    const cliPlan = bench('cli-plan', 5_000, [
      { label: LABELS.planRatio, value: 3.5, unit: '×' },
      { label: LABELS.planRatioFloor, value: 2.5, unit: '×' },
    ]);
    const row = evaluateTargets([cliPlan]).find(
      (r) => r.target.measure === 'ecr-steward plan 100k / JSON.parse',
    );
    expect([row?.value, row?.floor, row?.met]).toEqual([3.5, 2.5, false]);
    expect(formatTargets(row ? [row] : []).split('\n')[2]).toContain(
      '1.40× floor (parse + warm engine + JSON.stringify 2.50)',
    );
  });
});

describe('formatTargets', () => {
  it('prints measured / target, the ratio to the lower bound and the verdict, one row per target', () => {
    const rows = evaluateTargets(
      [CLEANUP, bench('plan', 180)],
      TARGETS.slice(0, 3).concat(TARGETS[8]!, TARGETS[5]!),
    );
    expect(formatTargets(rows).split('\n')).toEqual([
      'Targets (issue #19):',
      '  measure                                          measured  target      vs lower bound',
      '  cleanup 20×200, one process: wall               39,000 ms  < 4,000 ms                                       MISSED',
      '  cleanup 20×200, one process: requests              15,036  < 600       155× floor (ECR + in-use 97)         MISSED',
      '  cleanup 20×200, one process: DynamoDB requests     14,939  < 300       124× floor (3 per delete batch 120)  MISSED',
      '  engine plan 100k, median                           180 ms  < 250 ms                                         met',
      '  ecr-steward --help / node -e 0                    not run  ≤ 2×',
    ]);
  });
});

describe('missedTargets', () => {
  it('returns one line per missed target with its value and limit', () => {
    expect(missedTargets(evaluateTargets([CLEANUP, bench('plan', 180)]))).toEqual([
      'target: cleanup 20×200, one process: wall 39,000 ms ≥ 4,000 ms',
      'target: cleanup 20×200, one process: requests 15,036 ≥ 600',
      'target: cleanup 20×200, one process: DynamoDB requests 14,939 ≥ 300',
    ]);
  });
});
