import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineBenchmark, type Figure } from './harness.js';

/**
 * How long `ecr-steward --help` takes as a user runs it (the published bin, a fresh process), against
 * `node -e 0` started the same way in the same run: the ratio is what the CLI adds to Node's own start, the
 * part a pipeline calling `ecr-steward gate check` per image pays each time. The runs alternate the two (and
 * which goes first) so a busy moment of a shared machine falls on both; the medians are compared. The first
 * pair is not counted: it warms the file cache and lets the bin rebuild a stale bundle in a checkout.
 * `gate check --help` is reported beside it: the registrations of the other commands and commander only.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'ecr-steward.js');
const PAIRS = 15;
/** Issue #19: `ecr-steward --help` within twice `node -e 0`. */
const MAX_RATIO = 2;

interface Result {
  readonly helpMs: number;
  readonly gateHelpMs: number;
  readonly nodeMs: number;
}

/** Wall time of one child process, from spawn to exit; it must exit 0. */
function timeProcess(args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (code === 0) resolve(ms);
      else reject(new Error(`node ${args.join(' ')} exited ${code}: ${stderr.slice(0, 2000)}`));
    });
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export default defineBenchmark({
  name: 'cli-start',
  description: `ecr-steward --help (and gate check --help) vs node -e 0: child processes, alternating, medians of ${PAIRS}`,
  runs: 1,
  warmups: 0,
  setup() {
    return undefined;
  },
  async run(): Promise<Result> {
    const runs = { help: [] as number[], gateHelp: [] as number[], node: [] as number[] };
    const commands: [keyof typeof runs, string[]][] = [
      ['help', [BIN, '--help']],
      ['node', ['-e', '0']],
      ['gateHelp', [BIN, 'gate', 'check', '--help']],
    ];
    for (let i = 0; i <= PAIRS; i++) {
      // Rotate which command starts the round: none always runs right after another's exit.
      for (let k = 0; k < commands.length; k++) {
        const [name, args] = commands[(i + k) % commands.length]!;
        const ms = await timeProcess(args);
        if (i > 0) runs[name].push(ms);
      }
    }
    return { helpMs: median(runs.help), gateHelpMs: median(runs.gateHelp), nodeMs: median(runs.node) };
  },
  describe(result) {
    const r = result as Result;
    return `--help ${r.helpMs.toFixed(0)} ms, gate check --help ${r.gateHelpMs.toFixed(0)} ms, node -e 0 ${r.nodeMs.toFixed(0)} ms (medians)`;
  },
  figures(result): Figure[] {
    const r = result as Result;
    // The labels are the ones bench/targets.ts reads for issue #19's table.
    return [
      { label: 'ecr-steward --help', value: r.helpMs, unit: 'ms', detail: `median of ${PAIRS}` },
      {
        label: 'ecr-steward --help / node -e 0',
        value: r.helpMs / r.nodeMs,
        unit: '×',
        detail: `node -e 0: ${r.nodeMs.toFixed(0)} ms, same run`,
        atMost: MAX_RATIO,
      },
      {
        label: 'ecr-steward gate check --help / node -e 0',
        value: r.gateHelpMs / r.nodeMs,
        unit: '×',
        detail: `${r.gateHelpMs.toFixed(0)} ms`,
      },
    ];
  },
});
