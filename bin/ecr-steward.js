#!/usr/bin/env node
// The published command: runs the CLI's bundle, dist/cli.mjs (scripts/build-cli.mjs; `npm ci` builds it), so
// a start compiles no TypeScript. Plain JavaScript on purpose: this file must run before anything is built.
//
// Installed (npm pack / npm install): the package carries the bundle and not the sources; it runs as is.
// In a checkout, the sources are the truth and the bundle a cache of them: tests, `npm start` and people run
// this file right after editing a source, so a bundle built before the edit must never run silently. Each
// start compares the bundle's manifest with the sources it was built from (one stat per file, a few ms); when
// the bundle is missing or stale it is rebuilt on the spot (about two seconds, once, no output: the command's
// own stdout and stderr stay exactly the command's). Only when no bundle can be built (esbuild not installed,
// or a build error) does the command run the sources with tsx instead, saying so in one line on stderr.

import { existsSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const bundle = new URL('dist/cli.mjs', root);

// Stack traces of a bug map back to the TypeScript when asked for (the bundle's source map ships with it).
if (process.env.ECR_STEWARD_DEBUG) process.setSourceMapsEnabled(true);

let main = bundle;
if (existsSync(new URL('cli/main.ts', root))) {
  const build = await import('../scripts/build-cli.mjs');
  const state = build.bundleState();
  if (state !== 'current') {
    try {
      await build.buildCli();
    } catch (e) {
      const why = e?.errors?.[0]?.text ?? e?.message ?? String(e);
      process.stderr.write(
        `ecr-steward: running the sources with tsx: dist/cli.mjs is ${state === 'missing' ? 'not built' : 'out of date'} and cannot be built (${why.split('\n')[0]}); node scripts/build-cli.mjs says more\n`,
      );
      main = new URL('cli/main.ts', root);
    }
  }
}

if (main !== bundle) {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write(
      'error: ecr-steward needs the tsx package; run npm ci in the ecr-steward checkout\n',
    );
    process.exit(70);
  }
  register();
} else if (!existsSync(bundle)) {
  process.stderr.write('error: ecr-steward is installed without dist/cli.mjs; reinstall the package\n');
  process.exit(70);
}
const { run } = await import(main.href);
process.exitCode = await run(process.argv);
