import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatPolicyError, validatePolicyText } from '../../functions/shared/lifecycle/index.js';
import { removeTempFiles, runCli, SAMPLE, tempFiles } from './run-cli.js';

afterAll(removeTempFiles);

// Four errors across two rules: a tagged rule without a tag list, a duplicate priority, a since* rule
// without countUnit and a zero countNumber.
const INVALID_POLICY = JSON.stringify(
  {
    rules: [
      {
        rulePriority: 1,
        selection: { tagStatus: 'tagged', countType: 'imageCountMoreThan', countNumber: 5 },
        action: { type: 'expire' },
      },
      {
        rulePriority: 1,
        selection: { tagStatus: 'any', countType: 'sinceImagePushed', countNumber: 0 },
        action: { type: 'expire' },
      },
    ],
  },
  null,
  2,
);

describe('ecr-steward validate', () => {
  it('exits 0 and says so when the policy is valid', async () => {
    const result = await runCli(['validate', '--policy', SAMPLE.policy]);

    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${SAMPLE.policy}: valid ECR lifecycle policy (8 rules)\n`);
    expect(result.stderr).toBe('');
  });

  it('exits 1 and lists every error, one line each, when the policy is invalid', async () => {
    const dir = await tempFiles({ 'policy.json': INVALID_POLICY });
    const path = join(dir, 'policy.json');
    const expected = validatePolicyText(INVALID_POLICY).errors.map((e) => `${path}: ${formatPolicyError(e)}`);

    const result = await runCli(['validate', '--policy', path]);

    expect(result.code).toBe(1);
    expect(expected.length).toBeGreaterThanOrEqual(4);
    expect(result.stderr.trimEnd().split('\n')).toEqual(expected);
    expect(result.stdout).toBe('');
  });

  it('prints {"valid":false,"errors":[…]} with path, rule and message when --format json and the policy is invalid', async () => {
    const dir = await tempFiles({ 'policy.json': INVALID_POLICY });

    const result = await runCli(['validate', '--policy', join(dir, 'policy.json'), '--format', 'json']);

    expect(result.code).toBe(1);
    const out = JSON.parse(result.stdout) as { valid: boolean; errors: Record<string, unknown>[] };
    expect(out.valid).toBe(false);
    expect(out.errors).toHaveLength(validatePolicyText(INVALID_POLICY).errors.length);
    for (const error of out.errors) expect(Object.keys(error).sort()).toEqual(['message', 'path', 'rule']);
    expect(out.errors).toContainEqual({
      path: 'rules[1].selection.countUnit',
      rule: { index: 1, priority: 1 },
      message: 'countUnit "days" is required when countType is sinceImagePushed',
    });
  });

  it('prints {"valid":true,"errors":[]} when --format json and the policy is valid', async () => {
    const result = await runCli(['validate', '--policy', SAMPLE.policy, '--format', 'json']);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ valid: true, errors: [] });
  });

  it('exits 1 with a not-JSON error when the file is not JSON', async () => {
    const dir = await tempFiles({ 'policy.json': `{"rules": [${' '.repeat(120)}` });

    const result = await runCli(['validate', '--policy', join(dir, 'policy.json')]);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/policy\.json: \(text\): not JSON: /);
  });

  it('exits 1 with the length error when the policy is shorter than ECR accepts', async () => {
    const dir = await tempFiles({ 'policy.json': '{"rules": []}' });

    const result = await runCli(['validate', '--policy', join(dir, 'policy.json')]);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('the policy text is 13 characters; ECR accepts 100 to 30720');
  });

  it('exits 2 with one message and no stack trace when the file does not exist', async () => {
    const result = await runCli(['validate', '--policy', 'no/such/policy.json']);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe('error: --policy no/such/policy.json: cannot read the file: no such file\n');
    expect(result.stdout).toBe('');
  });

  it('exits 2 when neither --policy nor --config is given', async () => {
    const result = await runCli(['validate']);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe('error: validate needs --policy FILE or --config FILE\n');
  });

  it('exits 2 when both --policy and --config are given', async () => {
    const result = await runCli(['validate', '--policy', SAMPLE.policy, '--config', EXAMPLE_CONFIG]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "error: option '--policy <file>' cannot be used with option '--config <file>'",
    );
  });

  it('exits 2 when --format names an unknown format', async () => {
    const result = await runCli(['validate', '--policy', SAMPLE.policy, '--format', 'yaml']);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("argument 'yaml' is invalid. Allowed choices are text, json.");
  });
});

const EXAMPLE_CONFIG = 'examples/steward.config.jsonc';

// The config that can delete nearly everything: enforce, "*", keep 1, breaker off, no thresholds.
const RECKLESS_CONFIG = JSON.stringify({
  mode: 'enforce',
  bounds: { maxDeletesPerRun: 100000, maxDeletesPerRepository: 100000 },
  selections: [
    {
      repositories: ['*'],
      lifecyclePolicy: {
        rules: [
          {
            rulePriority: 1,
            description: 'keep one',
            selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 },
            action: { type: 'expire' },
          },
        ],
      },
    },
  ],
  alerts: { breaker: { enabled: false }, thresholds: [] },
});

describe('ecr-steward validate --config', () => {
  it('exits 0 and says so when the config is valid and warns of nothing', async () => {
    const result = await runCli(['validate', '--config', EXAMPLE_CONFIG]);

    expect(result.code).toBe(0);
    // Then the alarms the config deploys (asserted line by line in test/stack/monitoring.test.ts).
    expect(result.stdout.split('\n')[0]).toBe(
      `${EXAMPLE_CONFIG}: valid ECR Steward config (2 selections, mode dry-run)`,
    );
    expect(result.stderr).toBe('');
  });

  it('exits 1 and lists every error, one line each prefixed with the file, when the config is invalid', async () => {
    const dir = await tempFiles({
      'steward.config.jsonc': [
        '{',
        '  "__proto__": { "mode": "enforce" },',
        '  "selections": [{ "repositories": ["web"], "lifecyclePolicy": "fromRepository" }],',
        '  "sweep": { "schedule": "cron(0 3 * * ? *)", "schedule": "rate(1 day)" }',
        '}',
      ].join('\n'),
    });
    const path = join(dir, 'steward.config.jsonc');

    const result = await runCli(['validate', '--config', path]);

    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      `${path}: (root): key "__proto__" (line 2) is not allowed — remove it (it can change what the whole object means)`,
      `${path}: sweep: duplicate key "schedule" (line 4) — keep one`,
    ]);
    expect(result.stdout).toBe('');
  });

  it('exits 1 with the schema errors of a well-formed but wrong config', async () => {
    const dir = await tempFiles({
      'c.json': {
        selections: [{ repositories: ['web'], lifecyclePolicy: 'fromRepository' }],
        sweep: { schedule: 'cron(99 99 * * ? *)' },
        bounds: { maxDeletesPerRun: '10' },
      },
    });
    const path = join(dir, 'c.json');

    const result = await runCli(['validate', '--config', path]);

    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      `${path}: bounds.maxDeletesPerRun: expected a number, got a string`,
      `${path}: sweep.schedule: minutes "99" is not in the minutes range 0-59 — use a schedule such as "cron(0 3 * * ? *)" or "rate(12 hours)"`,
    ]);
  });

  it('exits 0 and prints each warning with a warning: prefix when the config is valid but can surprise', async () => {
    const dir = await tempFiles({ 'c.json': RECKLESS_CONFIG });
    const path = join(dir, 'c.json');

    const result = await runCli(['validate', '--config', path]);

    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe(
      `${path}: valid ECR Steward config (1 selection, mode enforce)`,
    );
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      new RegExp(
        `^warning: ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: selections\\[0\\]\\.repositories\\[0\\]: "\\*" has no literal prefix`,
      ),
    );
    expect(lines[1]).toBe(
      `warning: ${path}: selections[0]: one run can delete more than 50% of a repository with nothing to stop it (mode is enforce, alerts.breaker.enabled is false, its lifecycle policy can leave as few as 1 image, and a run may delete 100000 images of a repository) — enable alerts.breaker with a threshold such as {"scope": "repository", "window": "1h", "maxPercentOfImages": 50}, or lower bounds.maxDeletesPerRepository`,
    );
  });

  it('prints {"valid", "errors", "warnings"} when --format json', async () => {
    const dir = await tempFiles({ 'c.json': RECKLESS_CONFIG });

    const result = await runCli(['validate', '--config', join(dir, 'c.json'), '--format', 'json']);

    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as { valid: boolean; errors: string[]; warnings: string[] };
    expect(out.valid).toBe(true);
    expect(out.errors).toEqual([]);
    expect(out.warnings).toHaveLength(2);
    expect(result.stderr).toBe('');
  });

  it('exits 1 with the line and column of a syntax error', async () => {
    const dir = await tempFiles({ 'c.json': '{\n  "mode": "dry-run"\n  "selections": []\n}' });
    const path = join(dir, 'c.json');

    const result = await runCli(['validate', '--config', path]);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`${path}: line 3, column 3: CommaExpected\n`);
  });

  it('exits 2 with one message when the config file does not exist', async () => {
    const result = await runCli(['validate', '--config', 'no/such/config.json']);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe('error: --config no/such/config.json: cannot read the file: no such file\n');
  });
});
