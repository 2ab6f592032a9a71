#!/usr/bin/env node
// The published command: registers tsx so the TypeScript CLI runs without a build step, then hands over.
// Plain JavaScript on purpose: this file must run before anything can compile TypeScript.

let register;
try {
  ({ register } = await import('tsx/esm/api'));
} catch {
  process.stderr.write('error: ecr-steward needs the tsx package; run npm ci in the ecr-steward checkout\n');
  process.exit(70);
}
register();
const { run } = await import('../cli/main.ts');
process.exitCode = await run(process.argv);
