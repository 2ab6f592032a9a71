import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SAMPLE_DIR, SAMPLE_FILES, SAMPLE_NOW } from '../../scripts/sample-repo.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'ecr-steward.js');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the real command (`node bin/ecr-steward.js …`) in a child process, so the tests cover the shim,
 * argument parsing, exit codes and what reaches stdout and stderr, exactly as a user sees them.
 */
export function runCli(
  args: readonly string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, ECR_STEWARD_DEBUG: '', ...opts.env },
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

const tempDirs: string[] = [];

/** A fresh temporary directory with the given files (name → content; objects are written as JSON). */
export async function tempFiles(files: Record<string, string | object>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ecr-steward-cli-'));
  tempDirs.push(dir);
  for (const [name, content] of Object.entries(files)) {
    await writeFile(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

/** Removes the directories `tempFiles` made; call it from `afterAll`. */
export async function removeTempFiles(): Promise<void> {
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** The sample repository's files, as `plan` options, and its fixed `now`. */
export const SAMPLE = {
  policy: join(SAMPLE_DIR, SAMPLE_FILES.policy),
  images: join(SAMPLE_DIR, SAMPLE_FILES.images),
  manifests: join(SAMPLE_DIR, SAMPLE_FILES.manifests),
  steward: join(SAMPLE_DIR, SAMPLE_FILES.steward),
  inUse: join(SAMPLE_DIR, SAMPLE_FILES.inUse),
  now: SAMPLE_NOW,
} as const;
