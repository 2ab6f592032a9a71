import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { parseConfig } from '../functions/shared/config/load.js';
import { defineBenchmark, type Figure } from './harness.js';

/**
 * Each Lambda function's bundle as the stack builds it (lib/constructs/steward-function.ts: esbuild, minified,
 * CJS, node20, `module` before `main`, source maps without the sources, the config defined in) and its cold
 * initialization: a fresh `node --enable-source-maps` (as the functions run) that `require`s the bundle and
 * validates the bundled config (`bundledConfig()`, which every handler but the cleanup's intake calls on its
 * first event), timed inside the child so Node's own start is not counted. The entries are read from the
 * constructs' `entry:` lines, so a new function is measured without editing this file. Issue #19's cold
 * push-to-enforced target (< 600 ms, `local-latency`) is the sum of this init (intake, then cleanup worker) and
 * the work; this case shows which bundle pays what.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CONSTRUCTS = path.join(ROOT, 'lib', 'constructs');
/** The config `local-latency` runs the local cloud with, whose cold push this init is part of. */
const CONFIG = path.join(ROOT, 'bench', 'steward.bench.jsonc');
const RUNS = 7;
/** Issue #19: push to enforced from cold, measured end to end by `local-latency`. */
const COLD_PUSH_TARGET_MS = 600;

interface FunctionInit {
  readonly entry: string;
  readonly bytes: number;
  readonly requireMs: number;
  readonly initMs: number;
}

/** The function entries the constructs bundle (`entry: 'functions/….ts'`), sorted. */
export function functionEntries(): string[] {
  const entries = new Set<string>();
  for (const file of readdirSync(CONSTRUCTS).filter((f) => f.endsWith('.ts'))) {
    // Every `'functions/….ts'` of an `entry:` line: one entry, or a choice of two (the cleanup's intake).
    for (const line of readFileSync(path.join(CONSTRUCTS, file), 'utf8').matchAll(/\bentry:[^\n]*/g)) {
      for (const m of line[0].matchAll(/'(functions\/[^']+\.ts)'/g)) entries.add(m[1]!);
    }
  }
  return [...entries].sort();
}

/**
 * Bundles `entry` with the stack's options into `dir`/index.cjs (+ .map). The entry is wrapped so the child can
 * call the bundle's own `bundledConfig` after the `require`: the handler module is bundled whole, as for Lambda.
 */
async function bundle(entry: string, dir: string, configJson: string): Promise<string> {
  const outfile = path.join(dir, 'index.cjs');
  const runtimeConfig = path.join(ROOT, 'functions', 'shared', 'runtime', 'config.ts');
  // A function that never reads the bundled config (the cleanup's intake) is measured without that check.
  const { metafile } = await build({
    entryPoints: [path.join(ROOT, entry)],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'cjs',
    mainFields: ['module', 'main'],
    logLevel: 'silent',
  });
  const readsConfig = Object.keys(metafile.inputs).some((f) => path.resolve(ROOT, f) === runtimeConfig);
  await build({
    stdin: {
      contents: [
        `export * from ${JSON.stringify(path.join(ROOT, entry))};`,
        readsConfig ? `export { bundledConfig as __benchConfig } from ${JSON.stringify(runtimeConfig)};` : '',
      ].join('\n'),
      resolveDir: ROOT,
      loader: 'ts',
    },
    outfile,
    bundle: true,
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    mainFields: ['module', 'main'],
    define: { __STEWARD_CONFIG__: JSON.stringify(configJson) },
    logLevel: 'silent',
  });
  return outfile;
}

const CHILD = `
const t0 = process.hrtime.bigint();
const m = require(process.argv[1]);
const t1 = process.hrtime.bigint();
m.__benchConfig?.();
const t2 = process.hrtime.bigint();
process.stdout.write(JSON.stringify([Number(t1 - t0) / 1e6, Number(t2 - t0) / 1e6]));
`;

/** One cold start in a fresh process: [require ms, require + config ms]. */
function coldStart(file: string): Promise<[number, number]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--enable-source-maps', '-e', CHILD, file], {
      cwd: path.dirname(file),
      env: {
        ...process.env,
        AWS_REGION: 'us-east-1',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(JSON.parse(out) as [number, number]);
      else reject(new Error(`cold start of ${file} exited ${code}: ${err.slice(0, 2000)}`));
    });
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export default defineBenchmark({
  name: 'bundles',
  description: `each function's bundle (stack's esbuild options): size, and require + config validation in a fresh node, medians of ${RUNS}`,
  runs: 1,
  warmups: 0,
  setup() {
    return undefined;
  },
  async run(): Promise<FunctionInit[]> {
    const configJson = JSON.stringify(parseConfig(readFileSync(CONFIG, 'utf8'), CONFIG));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'steward-bundles-'));
    try {
      const built: [string, string][] = [];
      for (const entry of functionEntries()) {
        built.push([entry, await bundle(entry, path.join(dir, entry.replace(/[/.]/g, '-')), configJson)]);
      }
      const times = new Map(built.map(([entry]) => [entry, [] as [number, number][]]));
      // The first round warms the file cache and is not counted; rounds alternate the functions so a busy
      // moment of a shared machine falls on all of them.
      for (let i = 0; i <= RUNS; i++) {
        for (const [entry, file] of built) {
          const t = await coldStart(file);
          if (i > 0) times.get(entry)!.push(t);
        }
      }
      return built.map(([entry, file]) => ({
        entry,
        bytes: statSync(file).size,
        requireMs: median(times.get(entry)!.map((t) => t[0])),
        initMs: median(times.get(entry)!.map((t) => t[1])),
      }));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  describe(result) {
    const r = result as FunctionInit[];
    return `${r.length} functions, ${(r.reduce((n, f) => n + f.bytes, 0) / 1e6).toFixed(1)} MB in all`;
  },
  figures(result): Figure[] {
    return (result as FunctionInit[]).flatMap((f) => [
      { label: `${f.entry} bundle`, value: f.bytes / 1024, unit: 'KiB' },
      {
        label: `${f.entry} init`,
        value: f.initMs,
        unit: 'ms',
        detail: `require ${f.requireMs.toFixed(0)} ms + bundled config where the function reads it; median of ${RUNS}`,
        versus: `cold push to enforced < ${COLD_PUSH_TARGET_MS} ms (local-latency)`,
      },
    ]);
  },
});
