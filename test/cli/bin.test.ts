/**
 * bin/ecr-steward.js in a checkout: the bundle is a cache of the sources, so it is built on first use,
 * rebuilt when a source changed after it was built (a stale bundle never runs), reused when current, and
 * only when no bundle can be built do the sources run with tsx, said in one line on stderr. Run in a
 * throwaway checkout (the real bin and build script, a two-file CLI, the project's node_modules linked in),
 * so nothing here touches this checkout's dist/ or sources.
 */
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, ROOT } from './run-cli.js';

let checkout: string;

/** The throwaway CLI's one changing source: its `run` prints this word, then its arguments. */
function writeWord(word: string, extraImport = ''): void {
  writeFileSync(join(checkout, 'cli', 'word.ts'), `${extraImport}export const word: string = '${word}';\n`);
}

beforeAll(() => {
  checkout = mkdtempSync(join(tmpdir(), 'ecr-steward-bin-'));
  for (const dir of ['bin', 'scripts', 'cli']) mkdirSync(join(checkout, dir));
  copyFileSync(join(ROOT, 'bin', 'ecr-steward.js'), join(checkout, 'bin', 'ecr-steward.js'));
  copyFileSync(join(ROOT, 'scripts', 'build-cli.mjs'), join(checkout, 'scripts', 'build-cli.mjs'));
  symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'), 'dir');
  writeFileSync(
    join(checkout, 'package.json'),
    '{ "name": "bin-test", "version": "0.0.0", "type": "module" }\n',
  );
  writeFileSync(
    join(checkout, 'cli', 'main.ts'),
    [
      "import { word } from './word.js';",
      'export async function run(argv: readonly string[]): Promise<number> {',
      "  process.stdout.write([word, ...argv.slice(2)].join(' ') + '\\n');",
      '  return 0;',
      '}',
      '',
    ].join('\n'),
  );
  writeWord('one');
});

afterAll(() => {
  if (checkout) rmSync(checkout, { recursive: true, force: true });
});

function runBin(args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(checkout, 'bin', 'ecr-steward.js'), ...args], {
      cwd: checkout,
      env: { PATH: process.env.PATH ?? '', HOME: checkout },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const bundleTime = () => statSync(join(checkout, 'dist', 'cli.mjs')).mtimeMs;

// In order: each case starts from the state the one before left.
describe('bin/ecr-steward.js in a checkout', () => {
  it('builds the bundle on first use and runs it, printing nothing of its own', async () => {
    const result = await runBin(['a', 'b']);

    expect(result).toEqual({ code: 0, stdout: 'one a b\n', stderr: '' });
    const manifest = JSON.parse(readFileSync(join(checkout, 'dist', 'cli.inputs.json'), 'utf8')) as {
      inputs: string[];
    };
    expect(manifest.inputs).toEqual(['cli/main.ts', 'cli/word.ts']);
  });

  it('runs the bundle as it is while no source changed', async () => {
    const built = bundleTime();

    const result = await runBin(['c']);

    expect(result).toEqual({ code: 0, stdout: 'one c\n', stderr: '' });
    expect(bundleTime()).toBe(built);
  });

  it('rebuilds the bundle before running when a source changed after the build', async () => {
    const built = bundleTime();
    writeWord('two');

    const result = await runBin(['d']);

    expect(result).toEqual({ code: 0, stdout: 'two d\n', stderr: '' });
    expect(bundleTime()).toBeGreaterThan(built);
  });

  it('runs the sources with tsx, saying so in one line, when a stale bundle cannot be rebuilt', async () => {
    // A package the bundle must never carry: the build refuses it, tsx runs it.
    writeWord('three', "import 'constructs';\n");

    const result = await runBin(['e']);

    expect(result).toEqual({
      code: 0,
      stdout: 'three e\n',
      stderr:
        "ecr-steward: running the sources with tsx: dist/cli.mjs is out of date and cannot be built (constructs must not be in the CLI's bundle (imported by cli/word.ts): load it lazily outside the bundle, or keep it out of cli/); node scripts/build-cli.mjs says more\n",
    });
  });

  it('says the bundle is not built when there is none and none can be built', async () => {
    rmSync(join(checkout, 'dist'), { recursive: true });

    const result = await runBin([]);

    expect(result.code).toBe(0);
    expect(result.stdout).toBe('three\n');
    expect(result.stderr).toMatch(
      /^ecr-steward: running the sources with tsx: dist\/cli\.mjs is not built and cannot be built \(/,
    );
    expect(result.stderr.split('\n')).toHaveLength(2);
  });
});
