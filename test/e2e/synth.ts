/**
 * The cloud assembly of the end-to-end tests: the app synthesized with test/e2e/steward.e2e.jsonc into
 * .local/test-cdk.out, functions bundled by esbuild as `cdk deploy` bundles them. `cdk synth` takes 20–40 s,
 * so it runs at most once per test run, whichever e2e file asks first: the inputs (bin, lib, functions, the
 * config, cdk.json, tsconfig.json, package-lock.json) are hashed, and the assembly is reused while the hash
 * matches. Test files run in parallel worker processes, so a lock directory makes the others wait for the
 * one that synthesizes. A test file that needs another stack (test/e2e/governance.test.ts) names its own config;
 * that assembly is synthesized the same way, into its own directory beside this one.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { synthesize } from '../../local/synth.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const E2E_CONFIG = 'test/e2e/steward.e2e.jsonc';
export const CDK_OUT = path.join(ROOT, '.local', 'test-cdk.out');
/** A lock older than this is taken over even if its owner still runs. */
const STALE_LOCK_MS = 5 * 60_000;

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(rel));
    else if (entry.isFile()) out.push(rel);
  }
  return out;
}

/**
 * Where the assembly of a config goes: the shared test config's in CDK_OUT, another config's (a test file
 * that needs its own stack, e.g. governance) beside it, named after the config file.
 */
export function cdkOutFor(configPath: string): string {
  if (configPath === E2E_CONFIG) return CDK_OUT;
  return `${CDK_OUT}-${path
    .basename(configPath)
    .replace(/\.jsonc?$/, '')
    .replace(/[^\w.-]/g, '_')}`;
}

/** A hash of everything the assembly is built from. */
export function inputsHash(configPath: string = E2E_CONFIG): string {
  const hash = createHash('sha256');
  const files = [
    ...['bin', 'lib', 'functions'].flatMap(filesUnder),
    configPath,
    'cdk.json',
    'tsconfig.json',
    'package-lock.json',
  ].sort();
  for (const file of files) {
    hash.update(`${file}\0`);
    hash.update(readFileSync(path.join(ROOT, file)));
    hash.update('\0');
  }
  return hash.digest('hex');
}

const stampOf = (cdkOut: string) => path.join(cdkOut, '.e2e-inputs');
const lockOf = (cdkOut: string) => `${cdkOut}.lock`;

const current = (hash: string, cdkOut: string) =>
  existsSync(stampOf(cdkOut)) &&
  readFileSync(stampOf(cdkOut), 'utf8') === hash &&
  // The assembly's manifest: a single stack's and an organization's (hub and spokes, no EcrSteward) alike.
  existsSync(path.join(cdkOut, 'manifest.json'));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether the lock's owner is gone (its process has exited) or has held it implausibly long. */
function lockIsStale(lock: string): boolean {
  try {
    if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) return true;
    const pid = Number(readFileSync(path.join(lock, 'pid'), 'utf8'));
    if (!pid) return false; // just created: the owner is about to write its pid
    process.kill(pid, 0);
    return false;
  } catch (e) {
    // ESRCH: no such process. ENOENT: the lock is gone, or its pid is not written yet.
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * The assembly directory, synthesized if the inputs changed since the last synth. Returns how long this
 * call spent synthesizing (0 when it reused the assembly or waited for another file's synth). `configPath`
 * (relative to the root) picks another config; its assembly has its own directory, stamp and lock.
 */
export async function ensureCdkOut(
  configPath: string = E2E_CONFIG,
): Promise<{ cdkOut: string; synthMs: number; waitedMs: number }> {
  const started = Date.now();
  const cdkOut = cdkOutFor(configPath);
  const lock = lockOf(cdkOut);
  mkdirSync(path.dirname(cdkOut), { recursive: true });
  const hash = inputsHash(configPath);
  for (;;) {
    if (current(hash, cdkOut)) return { cdkOut, synthMs: 0, waitedMs: Date.now() - started };
    try {
      mkdirSync(lock);
      writeFileSync(path.join(lock, 'pid'), String(process.pid));
    } catch {
      // Another file is synthesizing: wait for it, or take over the lock of a run that died holding it.
      if (lockIsStale(lock)) rmSync(lock, { recursive: true, force: true });
      await sleep(250);
      continue;
    }
    try {
      if (current(hash, cdkOut)) continue;
      const t0 = Date.now();
      rmSync(cdkOut, { recursive: true, force: true });
      synthesize(ROOT, configPath, cdkOut);
      writeFileSync(stampOf(cdkOut), hash);
      const synthMs = Date.now() - t0;
      console.log(`e2e: synthesized ${path.relative(ROOT, cdkOut)} with ${configPath} in ${synthMs} ms`);
      return { cdkOut, synthMs, waitedMs: t0 - started };
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}
