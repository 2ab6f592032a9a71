/**
 * `npm run sample-plan`: the offline plan of the sample repository (examples/sample-repo) as of its fixed
 * date — the engine alone, without the local cloud.
 */
import { join } from 'node:path';
import { run } from '../cli/main.js';
import { SAMPLE_DIR, SAMPLE_FILES, SAMPLE_NOW } from './sample-repo.js';

const file = (name: keyof typeof SAMPLE_FILES): string => join(SAMPLE_DIR, SAMPLE_FILES[name]);

process.exitCode = await run([
  process.argv[0] ?? 'node',
  'ecr-steward',
  'plan',
  ...['--policy', file('policy'), '--images', file('images'), '--manifests', file('manifests')],
  ...['--steward', file('steward'), '--in-use', file('inUse'), '--now', SAMPLE_NOW],
]);
