/**
 * The published package, as `npm pack` makes it: extracted into an empty folder with no node_modules
 * anywhere above it, its bin runs the bundle alone. Proves the bundle is self-contained (every dependency
 * inside it, nothing of the checkout's sources or node_modules reached) and that it is the same program as
 * the checkout's: the same help, the same plan of the sample repository, byte for byte.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, ROOT, runCli, SAMPLE } from './run-cli.js';

const run = promisify(execFile);

let dir: string;
let files: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ecr-steward-pack-'));
  // As `npm publish` would: npm runs the `prepare` script (the bundle's build) before it packs.
  const { stdout } = await run('npm', ['pack', '--pack-destination', dir, '--json', '--prefer-offline'], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as {
    filename: string;
    files: { path: string }[];
  }[];
  files = packed!.files.map((f) => f.path).sort();
  await run('tar', ['-xzf', join(dir, packed!.filename), '-C', dir]);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** `node package/bin/ecr-steward.js …` in the extract folder, with no environment that could reach the checkout. */
function runPacked(args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(dir, 'package', 'bin', 'ecr-steward.js'), ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir },
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

/** Every node_modules folder Node's resolution could reach from `from`, walking up to the root. */
function reachableNodeModules(from: string): string[] {
  const found: string[] = [];
  for (let d = from; ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules'))) found.push(join(d, 'node_modules'));
    if (dirname(d) === d) return found;
  }
}

describe('npm pack output', () => {
  it('holds the bin, the bundle with its maps and the config schema, and no sources', () => {
    expect(files).toContain('bin/ecr-steward.js');
    expect(files).toContain('dist/cli.mjs');
    expect(files).toContain('dist/cli.mjs.map');
    expect(files).toContain('schema/steward.config.schema.json');
    expect(files).toContain('package.json');
    expect(files.some((f) => /^dist\/chunks\/.+\.mjs$/.test(f))).toBe(true);
    expect(files.filter((f) => /^(cli|functions|lib|local|scripts|test|node_modules)\//.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts'))).toEqual([]);
    // The manifest of the build's inputs serves the checkout's freshness check only.
    expect(files).not.toContain('dist/cli.inputs.json');
  });

  it('is extracted where no node_modules can be reached', () => {
    expect(reachableNodeModules(join(dir, 'package'))).toEqual([]);
  });

  it('prints the same help as the checkout, exit 0', async () => {
    const [packed, checkout] = await Promise.all([runPacked(['--help']), runCli(['--help'])]);

    expect(packed.stderr).toBe('');
    expect(packed.code).toBe(0);
    expect(packed.stdout).toMatch(/^Usage: ecr-steward \[options\] \[command\]\n/);
    expect(packed.stdout).toBe(checkout.stdout);
  });

  it("prints the package's version", async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

    const result = await runPacked(['--version']);

    expect(result).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('validates a lifecycle policy, exit 0', async () => {
    const policy = join(dir, 'policy.json');
    await writeFile(
      policy,
      JSON.stringify({
        rules: [
          {
            rulePriority: 1,
            selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 5 },
            action: { type: 'expire' },
          },
        ],
      }),
    );

    const result = await runPacked(['validate', '--policy', policy]);

    expect(result).toEqual({
      code: 0,
      stdout: `${policy}: valid ECR lifecycle policy (1 rule)\n`,
      stderr: '',
    });
  });

  it('validates the example config and lists its alarms as the checkout does (no CDK in the bundle)', async () => {
    const config = join(ROOT, 'examples', 'steward.config.jsonc');

    const [packed, checkout] = await Promise.all([
      runPacked(['validate', '--config', config, '--format', 'json']),
      runCli(['validate', '--config', config, '--format', 'json']),
    ]);

    expect(packed.code).toBe(0);
    expect(packed.stderr).toBe(checkout.stderr);
    expect(JSON.parse(packed.stdout)).toMatchObject({ valid: true, errors: [] });
    expect(packed.stdout).toBe(checkout.stdout);
  });

  it('plans the sample repository offline exactly as the checkout does', async () => {
    const args = [
      'plan',
      ...['--policy', SAMPLE.policy, '--images', SAMPLE.images, '--manifests', SAMPLE.manifests],
      ...['--steward', SAMPLE.steward, '--in-use', SAMPLE.inUse, '--now', SAMPLE.now, '--format', 'json'],
    ];

    const [packed, checkout] = await Promise.all([runPacked(args), runCli(args)]);

    expect(packed.stderr).toBe('');
    expect(packed.code).toBe(0);
    expect(JSON.parse(packed.stdout)).toMatchObject({ repository: expect.any(String) });
    expect(packed.stdout).toBe(checkout.stdout);
  });

  it('refuses `local` with what it needs (a checkout), exit 2', async () => {
    const result = await runPacked(['local']);

    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'error: ecr-steward local runs inside an ecr-steward checkout (git clone, then npm ci): it synthesizes the CDK app and runs dynalite, which an installed ecr-steward does not carry\n',
    });
  });
});
