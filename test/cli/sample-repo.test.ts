import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SAMPLE_DIR, SAMPLE_FILES, writeSampleRepo } from '../../scripts/sample-repo.js';
import { ROOT, removeTempFiles, runCli, tempFiles } from './run-cli.js';

afterAll(removeTempFiles);

describe('sample-repo generator', () => {
  it('writes files byte-identical to the committed fixtures when run again', async () => {
    const dir = await tempFiles({});

    await writeSampleRepo(dir);

    for (const file of Object.values(SAMPLE_FILES)) {
      const fresh = await readFile(join(dir, file), 'utf8');
      const committed = await readFile(join(SAMPLE_DIR, file), 'utf8');
      // Not toBe: a 200 kB diff would drown the report; the file name says what to regenerate.
      expect(fresh === committed, `${file} differs: run npx tsx scripts/sample-repo.ts`).toBe(true);
    }
  });

  it('writes a policy that ecr-steward validate accepts', async () => {
    const result = await runCli(['validate', '--policy', join(SAMPLE_DIR, SAMPLE_FILES.policy)]);

    expect(result.code).toBe(0);
  });
});

describe('npm run sample-plan', () => {
  it('prints the plan table of the sample repository when run', () => {
    // What `npm run sample-plan` runs (tsx scripts/sample-plan.ts), without npm's own start-up time.
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/sample-plan.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
    });

    expect(result.status).toBe(0);
    expect(result.stdout).toContain(
      'ECR Steward plan for checkout-api at 2026-11-01T00:00:00.000Z: 442 images',
    );
    expect(result.stdout).toContain('Summary: 442 images; expire 275 (40.2 GiB)');
  });
});
