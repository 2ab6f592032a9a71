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
 * `env` is laid over this process's environment; a variable given as `undefined` is removed (the SDK
 * reads an empty AWS_REGION as a region named "", not as no region).
 */
export function runCli(
  args: readonly string[],
  opts: { cwd?: string; env?: Record<string, string | undefined> } = {},
): Promise<CliResult> {
  const env: Record<string, string | undefined> = { ...process.env, ECR_STEWARD_DEBUG: '', ...opts.env };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env,
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

/**
 * The environment of a machine with no AWS setup, for running the live commands offline: every source of
 * the SDK's credential chain and region removed, the shared config and credentials files empty temporary
 * files (`config` fills the former), instance metadata disabled so nothing waits on 169.254.169.254.
 * `env` is laid over it.
 */
export async function noAwsSetup(
  env: Record<string, string | undefined> = {},
  config = '',
): Promise<Record<string, string | undefined>> {
  const dir = await tempFiles({ config, credentials: '' });
  return {
    HOME: dir,
    AWS_CONFIG_FILE: join(dir, 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
    AWS_PROFILE: undefined,
    AWS_ACCESS_KEY_ID: undefined,
    AWS_SECRET_ACCESS_KEY: undefined,
    AWS_SESSION_TOKEN: undefined,
    AWS_REGION: undefined,
    AWS_DEFAULT_REGION: undefined,
    AWS_ENDPOINT_URL: undefined,
    AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
    AWS_ROLE_ARN: undefined,
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
    AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
    AWS_CONTAINER_AUTHORIZATION_TOKEN: undefined,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ECR_STEWARD_REGISTRY_ID: undefined,
    ...env,
  };
}
