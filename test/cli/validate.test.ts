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

  it('exits 2 when --policy is missing', async () => {
    const result = await runCli(['validate']);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error: required option '--policy <file>' not specified");
  });

  it('exits 2 when --format names an unknown format', async () => {
    const result = await runCli(['validate', '--policy', SAMPLE.policy, '--format', 'yaml']);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("argument 'yaml' is invalid. Allowed choices are text, json.");
  });
});
