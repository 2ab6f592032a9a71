#!/usr/bin/env node
// Builds the published command: esbuild bundles cli/main.ts and everything it imports (the SDK clients,
// commander, zod, the shared cores) into dist/cli.mjs, so `ecr-steward` starts without compiling TypeScript.
// Plain JavaScript on purpose: `npm ci` runs it (the `prepare` script) and bin/ecr-steward.js runs it on first
// use in a checkout, both before anything can compile TypeScript.
//
//   node scripts/build-cli.mjs           build dist/cli.mjs and dist/chunks/ (+ maps and the inputs manifest)
//   node scripts/build-cli.mjs --check   exit 0 when dist/cli.mjs is current with the sources, 1 when not
//   node scripts/build-cli.mjs --prepare as `npm ci` runs it: skip with a note when esbuild is not installed
//
// Only node: built-ins at the top: bin/ecr-steward.js imports this file for `bundleState` at every start in a
// checkout, and esbuild is loaded only when a build is due.

import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout this script belongs to. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** What the build writes, relative to the root: the entry (its chunks go to dist/chunks/), its source map, and what it was built from. */
export const OUTPUT = {
  bundle: 'dist/cli.mjs',
  map: 'dist/cli.mjs.map',
  manifest: 'dist/cli.inputs.json',
};

/**
 * Packages the CLI must never carry: CDK (a 60 MB library the commands do not need; the stack is deployed
 * with `cdk`, not with `ecr-steward`), the local cloud's DynamoDB, and tsx (a development tool that
 * `ecr-steward local` loads from the checkout). An import of one of them fails the build, so the bundle
 * cannot silently grow back; tsx stays an external import, for the one command that runs only in a checkout.
 */
const FORBIDDEN = ['aws-cdk-lib', 'aws-cdk', 'constructs', 'cdk-nag', 'cdk-stacksets', 'dynalite'];
const EXTERNAL = ['tsx', 'tsx/*'];

/**
 * Files besides the bundle's own inputs whose change makes a bundle stale: this script (the build's
 * settings), package.json (versions, `type`) and package-lock.json, which `npm install` rewrites when a
 * dependency changes (an upgraded package keeps its tarball's old modification times, so its own files
 * cannot tell; `npm ci` runs the build itself).
 */
const ALSO_WATCHED = ['scripts/build-cli.mjs', 'package.json', 'package-lock.json'];

/**
 * Bundles the CLI into dist/: cli.mjs (commander and the command registrations: all that `--help` loads) and
 * one chunk under dist/chunks/ per part loaded on demand (each command's work, the SDK clients), so a start
 * compiles only what the command runs. The build is written to a temporary folder and moved into place
 * chunks first, cli.mjs next, the manifest last: a command starting meanwhile (or a build racing this one)
 * runs either the old build or the new one, never half of one. Chunks are named by their content, so a
 * chunk both builds have is the same file; chunks the new build no longer uses are removed once they are
 * `keepOldChunksMs` old (a command of the old build still running may yet load one); an explicit build
 * (`npm run build`, `prepare` before `npm pack`) removes them all, so the package carries only its own.
 * @param {{ root?: string, esbuild?: typeof import('esbuild'), keepOldChunksMs?: number }} [options]
 * @returns {Promise<{ bundle: string, bytes: number, chunks: number, inputs: number, ms: number }>}
 */
export async function buildCli({ root = ROOT, esbuild, keepOldChunksMs = 10 * 60_000 } = {}) {
  const started = Date.now();
  const { build } = esbuild ?? (await import('esbuild'));
  const dist = path.join(root, 'dist');
  const tmp = path.join(dist, `.build-${process.pid}-${started}`);
  try {
    const result = await build({
      absWorkingDir: root,
      entryPoints: { cli: 'cli/main.ts' },
      outdir: tmp,
      outExtension: { '.js': '.mjs' },
      chunkNames: 'chunks/[name]-[hash]',
      bundle: true,
      splitting: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // ESM builds first: a UMD build (jsonc-parser's `main`) hides its requires from the bundler.
      mainFields: ['module', 'main'],
      minify: true,
      // Error and class names survive minifying: messages and `instanceof` checks name them.
      keepNames: true,
      // Stack traces map back to the TypeScript when ECR_STEWARD_DEBUG is set (bin/ecr-steward.js turns
      // source maps on then); without the sources' text the maps stay small.
      sourcemap: 'linked',
      sourcesContent: false,
      legalComments: 'none',
      metafile: true,
      logLevel: 'silent',
      external: EXTERNAL,
      plugins: [forbid(FORBIDDEN)],
      // The bundled CommonJS packages call require() for node built-ins; an ES module has none of its own.
      banner: {
        js: "import { createRequire as __stewardCreateRequire } from 'node:module';\nconst require = __stewardCreateRequire(import.meta.url);",
      },
    });
    const inputs = Object.keys(result.metafile.inputs)
      .filter((file) => !file.includes('node_modules/') && !file.startsWith('<'))
      .sort();
    // A CLI with nothing loaded on demand has no chunks at all.
    const chunks = existsSync(path.join(tmp, 'chunks')) ? readdirSync(path.join(tmp, 'chunks')) : [];
    mkdirSync(path.join(dist, 'chunks'), { recursive: true });
    for (const chunk of chunks) renameSync(path.join(tmp, 'chunks', chunk), path.join(dist, 'chunks', chunk));
    renameSync(path.join(tmp, 'cli.mjs.map'), path.join(root, OUTPUT.map));
    renameSync(path.join(tmp, 'cli.mjs'), path.join(root, OUTPUT.bundle));
    writeFileSync(
      path.join(tmp, 'manifest.json'),
      `${JSON.stringify({ builtAt: started, inputs }, null, 1)}\n`,
    );
    renameSync(path.join(tmp, 'manifest.json'), path.join(root, OUTPUT.manifest));
    pruneChunks(path.join(dist, 'chunks'), new Set(chunks), started, keepOldChunksMs);
    const bytes = Object.entries(result.metafile.outputs)
      .filter(([file]) => file.endsWith('.mjs'))
      .reduce((sum, [, output]) => sum + output.bytes, 0);
    return {
      bundle: OUTPUT.bundle,
      bytes,
      chunks: chunks.length / 2,
      inputs: inputs.length,
      ms: Date.now() - started,
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Removes the chunks (and maps) of earlier builds that `keep` does not name, once `graceMs` old. */
function pruneChunks(dir, keep, now, graceMs) {
  for (const file of readdirSync(dir)) {
    if (keep.has(file)) continue;
    const stat = statSync(path.join(dir, file), { throwIfNoEntry: false });
    if (stat && now - stat.mtimeMs >= graceMs) rmSync(path.join(dir, file), { force: true });
  }
}

/**
 * Whether dist/cli.mjs may run for this checkout: `missing` (never built), `stale` (a source it was built
 * from, or a file of {@link ALSO_WATCHED}, changed after the build started, or is gone) or `current`.
 * Costs one `stat` per source file (a few milliseconds), paid by each start in a checkout only.
 * @param {string} [root]
 * @returns {'missing' | 'stale' | 'current'}
 */
export function bundleState(root = ROOT) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(path.join(root, OUTPUT.manifest), 'utf8'));
    statSync(path.join(root, OUTPUT.bundle));
  } catch {
    return 'missing';
  }
  const builtAt = Number(manifest.builtAt);
  const files = [...(Array.isArray(manifest.inputs) ? manifest.inputs : []), ...ALSO_WATCHED];
  for (const file of files) {
    const stat = statSync(path.join(root, file), { throwIfNoEntry: false });
    // A watched file that is absent (a checkout without a lockfile) cannot have changed; a source that is gone can.
    if (stat === undefined ? !ALSO_WATCHED.includes(file) : stat.mtimeMs > builtAt) return 'stale';
  }
  return 'current';
}

/** An esbuild plugin failing the build on any import of `packages` (or a subpath), naming the importer. */
function forbid(packages) {
  const filter = new RegExp(`^(${packages.map((p) => p.replace(/[-/]/g, '\\$&')).join('|')})(/|$)`);
  return {
    name: 'forbid',
    setup(build) {
      build.onResolve({ filter }, (args) => ({
        errors: [
          {
            text: `${args.path} must not be in the CLI's bundle (imported by ${path.relative(build.initialOptions.absWorkingDir ?? '.', args.importer)}): load it lazily outside the bundle, or keep it out of cli/`,
          },
        ],
      }));
    },
  };
}

async function main(args) {
  if (args.includes('--check')) {
    const state = bundleState();
    process.stdout.write(`${OUTPUT.bundle}: ${state}\n`);
    return state === 'current' ? 0 : 1;
  }
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    if (!args.includes('--prepare')) throw new Error('esbuild is not installed: run npm ci');
    // `npm ci --omit=dev` (or an install of this package from git without its dev dependencies): the
    // command still runs from the sources with tsx when that is installed; nothing to build here.
    process.stderr.write('build-cli: esbuild is not installed; dist/cli.mjs not built\n');
    return 0;
  }
  try {
    const { bundle, bytes, chunks, inputs, ms } = await buildCli({ esbuild, keepOldChunksMs: 0 });
    process.stdout.write(
      `${bundle} and ${chunks} chunks: ${(bytes / 1024).toFixed(0)} KiB from ${inputs} sources in ${ms} ms\n`,
    );
    return 0;
  } catch (e) {
    // esbuild's own report names every error with its file and line.
    const errors = /** @type {{ errors?: { text: string, location?: { file: string, line: number } }[] }} */ (
      e
    ).errors;
    if (!errors) throw e;
    for (const error of errors) {
      const where = error.location ? `${error.location.file}:${error.location.line}: ` : '';
      process.stderr.write(`build-cli: ${where}${error.text}\n`);
    }
    return 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
