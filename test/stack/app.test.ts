/**
 * bin/app.ts as the CDK CLI runs it (`npx tsx bin/app.ts` with the context in CDK_CONTEXT_JSON), bundling
 * skipped so no function is built.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateConfig } from '../../functions/shared/config/load.js';
import { configWarnings } from '../../functions/shared/config/warnings.js';

const ROOT = new URL('../..', import.meta.url).pathname;

function runApp(context: Record<string, unknown>, outdir?: string, preload?: string) {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CDK_CONTEXT_JSON: JSON.stringify({ 'aws:cdk:bundling-stacks': [], ...context }),
  };
  if (outdir) env.CDK_OUTDIR = outdir;
  else delete env.CDK_OUTDIR;
  const args = ['tsx', ...(preload ? ['--import', preload] : []), 'bin/app.ts'];
  const out = spawnSync('npx', args, { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
  return { status: out.status, stdout: out.stdout, stderr: out.stderr };
}

describe('bin/app.ts', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ecr-steward-app-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('exits with 1 and names the fields when the config is invalid', () => {
    // Prepare
    const config = join(dir, 'steward.config.json');
    writeFileSync(
      config,
      JSON.stringify({
        mode: 'enforcing',
        selections: [{ repositories: ['web'], lifecyclePolicy: 'fromRepository', stewrd: {} }],
      }),
    );

    // Act
    const result = runApp({ config });

    // Assess
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('invalid ECR Steward config');
    expect(result.stderr).toContain('  - mode: must be one of "dry-run", "enforce"');
    expect(result.stderr).toContain('  - selections[0]: unknown field stewrd');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits with 1 and says how to pass a config when the file cannot be read', () => {
    // Act
    const result = runApp({ config: join(dir, 'missing.json') });

    // Assess
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`ECR Steward: cannot read the config ${join(dir, 'missing.json')}`);
    expect(result.stderr).toContain('Pass -c config=PATH.');
  });

  it('prints each config warning as "warning: …" and records it on the stack, and still synthesizes', () => {
    // Prepare: a wide glob manages every repository tagged steward=managed, which configWarnings says
    const config = join(dir, 'steward.config.json');
    writeFileSync(
      config,
      JSON.stringify({
        mode: 'dry-run',
        selections: [{ name: 'everything', repositories: ['*'], lifecyclePolicy: 'fromRepository' }],
      }),
    );
    const expected = configWarnings(validateConfig(JSON.parse(readFileSync(config, 'utf8'))));

    // Act
    const result = runApp({ config }, dir);

    // Assess
    expect(result.status).toBe(0);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected[0]).toContain('selections[0].repositories[0]: "*" has no literal prefix');
    const printed = result.stderr.split('\n').filter((line) => line.startsWith('warning: '));
    expect(printed).toEqual(expected.map((w) => `warning: ${w}`));
    const metadata: Record<string, { type: string; data: string }[]> = JSON.parse(
      readFileSync(join(dir, 'EcrSteward.metadata.json'), 'utf8'),
    );
    const recorded = (metadata['/EcrSteward'] ?? []).filter((e) => e.type === 'aws:cdk:warning');
    expect(recorded.map((e) => e.data)).toEqual(
      expected.map((w, i) => `${w} [ack: ecr-steward:config-warning-${i}]`),
    );
  });

  it('fails the synthesis and names the rules when a construct breaks AwsSolutions rules (cdk-nag is registered)', () => {
    // Prepare: nag-canary.ts adds a queue without a dead-letter queue and without a TLS-only policy
    const canary = './test/stack/nag-canary.ts';

    // Act
    const result = runApp({}, dir, canary);

    // Assess
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('EcrSteward/NagCanary/Resource');
    expect(result.stderr).toContain("Acknowledge with 'AwsSolutions::AwsSolutions-SQS3'");
    expect(result.stderr).toContain("Acknowledge with 'AwsSolutions::AwsSolutions-SQS4'");
    const reports: { pluginName: string; violations: { ruleName: string }[] }[] = JSON.parse(
      readFileSync(join(dir, 'validation-report.json'), 'utf8'),
    ).pluginReports;
    expect(reports.flatMap((r) => r.violations.map((v) => v.ruleName)).sort()).toEqual([
      'AwsSolutions-SQS3',
      'AwsSolutions-SQS4',
    ]);
  });

  it('synthesizes the example config with a clean AwsSolutions report', () => {
    // Act
    const result = runApp({}, dir);

    // Assess
    expect(result.stderr).not.toContain('invalid ECR Steward config');
    expect(result.status).toBe(0);
    expect(existsSync(join(dir, 'EcrSteward.template.json'))).toBe(true);
    const file = join(dir, 'validation-report.json');
    const reports: { pluginName: string; conclusion: string; violations: unknown[] }[] = existsSync(file)
      ? JSON.parse(readFileSync(file, 'utf8')).pluginReports
      : [];
    expect(reports.filter((r) => r.conclusion !== 'success').map((r) => r.pluginName)).toEqual([]);
    expect(reports.flatMap((r) => r.violations)).toEqual([]);
  });
});
