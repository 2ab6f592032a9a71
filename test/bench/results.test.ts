import { describe, expect, it } from 'vitest';
import {
  type BenchmarkResult,
  type BenchResults,
  compareResults,
  formatComparison,
  parseBenchArgs,
  parseResults,
} from '../../bench/results.js';

const machine = {
  date: '2026-12-06T16:00:00.000Z',
  node: 'v20.19.0',
  platform: 'linux',
  arch: 'x64',
  cpuModel: 'Test CPU @ 2.0GHz',
  cores: 2,
  loadAverage: [1.5, 1.2, 1],
  referenceMs: 80,
  commit: '4aacd08aaaaa',
};

function bench(name: string, wall: number, figures: BenchmarkResult['figures']): BenchmarkResult {
  return {
    name,
    description: `${name} benchmark`,
    wallMs: { median: wall, min: wall, max: wall, runs: 1 },
    cpuMs: wall / 2,
    heapMB: { input: 10, peak: 40 },
    peakRssMB: 200,
    figures,
    goals: {},
    missed: [],
  };
}

const results = (...benchmarks: BenchmarkResult[]): BenchResults => ({ version: 1, machine, benchmarks });

describe('parseBenchArgs', () => {
  it('returns the names and the default results file when no option is given', () => {
    expect(parseBenchArgs(['plan', 'cleanup-20x200'])).toEqual({
      names: ['plan', 'cleanup-20x200'],
      compare: undefined,
      out: 'bench/results.json',
    });
  });

  it('reads --compare and --out anywhere, with a space or an equals sign', () => {
    expect(parseBenchArgs(['--compare', 'old.json', 'plan', '--out=new.json'])).toEqual({
      names: ['plan'],
      compare: 'old.json',
      out: 'new.json',
    });
  });

  it.each([
    [['--compare'], '--compare needs a file'],
    [['--compare', '--out', 'x.json'], '--compare needs a file'],
    [['--out='], '--out needs a file'],
    [['--fast'], 'unknown option --fast'],
  ])('throws on %j with the usage', (argv, message) => {
    expect(() => parseBenchArgs(argv)).toThrow(message);
    expect(() => parseBenchArgs(argv)).toThrow('usage: npm run bench -- [NAME…]');
  });
});

describe('parseResults', () => {
  it('returns a results file as written', () => {
    const doc = results(bench('plan', 300, []));
    expect(parseResults(JSON.stringify(doc), 'old.json')).toEqual(doc);
  });

  it.each([
    ['{', 'old.json: not JSON'],
    ['{"benchmarks": []}', 'old.json: not a bench results file'],
    [
      JSON.stringify({ version: 1, machine, benchmarks: [{ name: 'plan', figures: [] }] }),
      'old.json: benchmarks[0] has no name, wallMs.median or figures',
    ],
  ])('throws naming the file for %s', (text, message) => {
    expect(() => parseResults(text, 'old.json')).toThrow(message);
  });
});

describe('compareResults', () => {
  it('returns old → new and new / old for every measure present in both runs', () => {
    const older = results(
      bench('cleanup-20x200', 40_000, [
        { label: 'requests', value: 15_000 },
        { label: 'gone', value: 1 },
      ]),
      bench('only-old', 10, []),
    );
    const newer = results(
      bench('cleanup-20x200', 2_000, [
        { label: 'requests', value: 300 },
        { label: 'new figure', value: 5 },
      ]),
      bench('only-new', 10, []),
    );
    expect(compareResults(older, newer)).toEqual([
      {
        benchmark: 'cleanup-20x200',
        measure: 'wall median',
        unit: 'ms',
        old: 40_000,
        new: 2_000,
        ratio: 0.05,
      },
      {
        benchmark: 'cleanup-20x200',
        measure: 'cpu median',
        unit: 'ms',
        old: 20_000,
        new: 1_000,
        ratio: 0.05,
      },
      { benchmark: 'cleanup-20x200', measure: 'heap peak', unit: 'MB', old: 40, new: 40, ratio: 1 },
      { benchmark: 'cleanup-20x200', measure: 'requests', unit: '', old: 15_000, new: 300, ratio: 0.02 },
    ]);
  });

  it('returns an infinite ratio from zero to a positive value and 1 from zero to zero', () => {
    const older = results(
      bench('x', 10, [
        { label: 'failures', value: 0 },
        { label: 'dead', value: 0 },
      ]),
    );
    const newer = results(
      bench('x', 10, [
        { label: 'failures', value: 2 },
        { label: 'dead', value: 0 },
      ]),
    );
    const rows = compareResults(older, newer).filter((r) => r.measure === 'failures' || r.measure === 'dead');
    expect(rows.map((r) => [r.measure, r.ratio])).toEqual([
      ['failures', Number.POSITIVE_INFINITY],
      ['dead', 1],
    ]);
  });
});

describe('formatComparison', () => {
  it('prints the old run and one aligned line per measure', () => {
    const rows = compareResults(
      results(bench('plan', 360, [{ label: 'ratio', value: 4.8, unit: '×' }])),
      results(bench('plan', 240, [{ label: 'ratio', value: 1.6, unit: '×' }])),
    );
    expect(formatComparison(rows, machine, 'bench/baseline.json').split('\n')).toEqual([
      'Compared with bench/baseline.json (2026-12-06T16:00:00.000Z, node v20.19.0, Test CPU @ 2.0GHz, load 1.50 1.20 1.00, 4aacd08aaaaa): new / old',
      '  plan  wall median  360 ms → 240 ms  ×0.667',
      '  plan  cpu median   180 ms → 120 ms  ×0.667',
      '  plan  heap peak     40 MB →  40 MB  ×1.000',
      '  plan  ratio         4.80× →  1.60×  ×0.333',
    ]);
  });

  it('says so when no benchmark ran in both', () => {
    expect(formatComparison([], machine, 'old.json')).toContain('\n  no benchmark ran in both');
  });
});
