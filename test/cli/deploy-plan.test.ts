import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deployPlan, formatDeployPlan } from '../../functions/shared/config/deploy-plan.js';
import { parseConfig } from '../../functions/shared/config/load.js';
import { keepNewest } from '../fixtures/images.js';
import { ROOT, removeTempFiles, runCli, tempFiles } from './run-cli.js';

afterAll(removeTempFiles);

const EXAMPLE = 'examples/org/steward.org.jsonc';
const exampleConfig = () => parseConfig(readFileSync(join(ROOT, EXAMPLE), 'utf8'), EXAMPLE);

describe('ecr-steward deploy-plan', () => {
  it('prints the stacks table and the deploy commands when given an organization config', async () => {
    // Act
    const result = await runCli(['deploy-plan', '--config', EXAMPLE]);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(formatDeployPlan(deployPlan(exampleConfig()), { configPath: EXAMPLE }));
    expect(result.stdout).toContain(
      '│ EcrSteward-333333333333-us-east-1 │ spoke │ 333333333333 │ us-east-1 │',
    );
  });

  it('prints the plan as JSON when --format json', async () => {
    // Act
    const result = await runCli(['deploy-plan', '--config', EXAMPLE, '--format', 'json']);

    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      mode: 'stacks',
      stacks: [
        { name: 'EcrStewardHub', role: 'hub', account: '111111111111', region: 'eu-west-1' },
        {
          name: 'EcrSteward-222222222222-eu-west-1',
          role: 'spoke',
          account: '222222222222',
          region: 'eu-west-1',
        },
        {
          name: 'EcrSteward-333333333333-us-east-1',
          role: 'spoke',
          account: '333333333333',
          region: 'us-east-1',
        },
      ],
      notes: [],
    });
  });

  it('reads $ECR_STEWARD_CONFIG and plans the single stack when the config has no organization', async () => {
    // Prepare
    const dir = await tempFiles({
      'steward.json': { selections: [{ repositories: ['web'], lifecyclePolicy: keepNewest(5) }] },
    });
    const file = join(dir, 'steward.json');

    // Act
    const result = await runCli(['deploy-plan', '--format', 'json'], { env: { ECR_STEWARD_CONFIG: file } });

    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      mode: 'single',
      stacks: [
        { name: 'EcrSteward', role: 'single', account: 'CDK_DEFAULT_ACCOUNT', region: 'CDK_DEFAULT_REGION' },
      ],
      notes: [],
    });
  });

  it('exits 2 and names the field when the config is invalid', async () => {
    // Prepare
    const dir = await tempFiles({
      'steward.json': {
        selections: [{ repositories: ['web'], lifecyclePolicy: keepNewest(5) }],
        organization: {
          hub: { account: '111111111111', region: 'eu-west-1' },
          targets: [{ accounts: ['222222222222'], regions: ['eu-wset-1'] }],
        },
      },
    });
    const file = join(dir, 'steward.json');

    // Act
    const result = await runCli(['deploy-plan', '--config', file]);

    // Assess
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      [
        `error: invalid ECR Steward config (${file}):`,
        '  - organization.targets[0].regions[0]: "eu-wset-1" is not an AWS region — did you mean "eu-west-1"? (a region opened after 2026-12-06 is added in functions/shared/config/regions.ts)',
        '',
      ].join('\n'),
    );
  });
});
