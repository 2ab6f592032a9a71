import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { deployPlan, formatDeployPlan } from '../../functions/shared/config/deploy-plan.js';
import { parseConfig, validateConfig } from '../../functions/shared/config/load.js';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { keepNewest } from '../fixtures/images.js';

const EXAMPLE = 'examples/org/steward.org.jsonc';
const example = () =>
  parseConfig(readFileSync(new URL(`../../${EXAMPLE}`, import.meta.url), 'utf8'), EXAMPLE);

const HUB = { account: '111111111111', region: 'eu-west-1' };
const A = '222222222222';
const B = '333333333333';
const OU = 'ou-ab12-cd34ef56';

const selection = (extra: Record<string, unknown> = {}) => ({
  repositories: ['web'],
  lifecyclePolicy: keepNewest(5),
  ...extra,
});

const org = (organization: Record<string, unknown>, extra: Record<string, unknown> = {}): StewardConfig =>
  validateConfig({ selections: [selection()], organization: { hub: HUB, ...organization }, ...extra });

describe('deployPlan', () => {
  it('plans the one EcrSteward stack in the deploying account when there is no organization', () => {
    // Prepare
    const config = validateConfig({ selections: [selection()] });

    // Act
    const plan = deployPlan(config);

    // Assess
    expect(plan).toEqual({
      mode: 'single',
      stacks: [
        { name: 'EcrSteward', role: 'single', account: 'CDK_DEFAULT_ACCOUNT', region: 'CDK_DEFAULT_REGION' },
      ],
      notes: [],
    });
  });

  it('plans the hub and one spoke stack per account and region when deployment is "stacks"', () => {
    // Act
    const plan = deployPlan(example());

    // Assess
    expect(plan).toEqual({
      mode: 'stacks',
      stacks: [
        { name: 'EcrStewardHub', role: 'hub', ...HUB },
        { name: `EcrSteward-${A}-eu-west-1`, role: 'spoke', account: A, region: 'eu-west-1' },
        { name: `EcrSteward-${B}-us-east-1`, role: 'spoke', account: B, region: 'us-east-1' },
      ],
      notes: [],
    });
  });

  it('skips, with a note, a spoke that no selection applies to', () => {
    // Prepare
    const config = org(
      { targets: [{ accounts: [A, B], regions: ['us-east-1'] }] },
      { selections: [selection({ accounts: [A] })] },
    );

    // Act
    const plan = deployPlan(config);

    // Assess
    expect(plan.stacks.map((s) => s.name)).toEqual(['EcrStewardHub', `EcrSteward-${A}-us-east-1`]);
    expect(plan.notes).toEqual([
      `EcrSteward-${B}-us-east-1 is not deployed: no selection applies to account ${B} in us-east-1 (every one is narrowed elsewhere by "accounts"/"regions")`,
    ]);
  });

  it('notes organizational-unit targets as needing a StackSet when given an unvalidated "stacks" config', () => {
    // Prepare
    const valid = org({ targets: [{ accounts: [A], regions: ['eu-west-1'] }] });
    const config: StewardConfig = {
      ...valid,
      organization: {
        ...valid.organization!,
        targets: [...valid.organization!.targets, { organizationalUnits: [OU], regions: ['eu-west-1'] }],
      },
    };

    // Act
    const plan = deployPlan(config);

    // Assess
    expect(plan.stacks.map((s) => s.role)).toEqual(['hub', 'spoke']);
    expect(plan.notes).toEqual([
      `organization.targets[1] (${OU}) is not deployed: organizational units need "deployment": "stackset"`,
    ]);
  });

  it('plans the hub and a StackSet over every target, and no spoke stacks, when deployment is "stackset"', () => {
    // Prepare
    const config = org({
      deployment: 'stackset',
      organizationId: 'o-local0example',
      includeHubAsSpoke: true,
      targets: [
        { organizationalUnits: [OU], regions: ['eu-west-1', 'us-east-1'] },
        { accounts: [A], regions: ['eu-central-1'] },
      ],
    });

    // Act
    const plan = deployPlan(config);

    // Assess
    expect(plan).toEqual({
      mode: 'stackset',
      stacks: [{ name: 'EcrStewardHub', role: 'hub', ...HUB }],
      stackSet: {
        name: 'EcrStewardSpokes',
        organizationalUnits: [OU],
        accounts: [A, HUB.account],
        regions: ['eu-west-1', 'us-east-1', 'eu-central-1'],
        targets: [
          { organizationalUnits: [OU], regions: ['eu-west-1', 'us-east-1'] },
          { accounts: [A], regions: ['eu-central-1'] },
          { accounts: [HUB.account], regions: ['eu-west-1'] },
        ],
      },
      notes: [],
    });
  });

  it('notes that narrowed selections are applied by each stack instance when deployment is "stackset"', () => {
    // Prepare
    const config = org(
      {
        deployment: 'stackset',
        organizationId: 'o-local0example',
        targets: [{ organizationalUnits: [OU], regions: ['eu-west-1'] }],
      },
      { selections: [selection({ regions: ['eu-west-1'] })] },
    );

    // Act
    const plan = deployPlan(config);

    // Assess
    expect(plan.notes).toEqual([
      'every stack instance runs the same template: the selections narrowed by "accounts"/"regions" are applied by each spoke for its own account and region',
    ]);
  });
});

describe('formatDeployPlan', () => {
  it('prints the stacks table and the bootstrap and deploy commands in order for "stacks"', () => {
    // Act
    const text = formatDeployPlan(deployPlan(example()), { configPath: EXAMPLE });

    // Assess
    expect(text).toBe(
      [
        'ECR Steward deploy plan (stacks): 3 stacks',
        '',
        '┌───────────────────────────────────┬───────┬──────────────┬───────────┐',
        '│ stack                             │ role  │ account      │ region    │',
        '├───────────────────────────────────┼───────┼──────────────┼───────────┤',
        '│ EcrStewardHub                     │ hub   │ 111111111111 │ eu-west-1 │',
        '│ EcrSteward-222222222222-eu-west-1 │ spoke │ 222222222222 │ eu-west-1 │',
        '│ EcrSteward-333333333333-us-east-1 │ spoke │ 333333333333 │ us-east-1 │',
        '└───────────────────────────────────┴───────┴──────────────┴───────────┘',
        '',
        'Deploy:',
        "  # with the hub account's (111111111111) credentials",
        '  npx cdk bootstrap aws://111111111111/eu-west-1',
        "  # once per spoke, with that account's credentials: let the hub account deploy there (or a narrower policy of yours)",
        '  npx cdk bootstrap aws://222222222222/eu-west-1 --trust 111111111111 --cloudformation-execution-policies arn:aws:iam::aws:policy/AdministratorAccess',
        '  npx cdk bootstrap aws://333333333333/us-east-1 --trust 111111111111 --cloudformation-execution-policies arn:aws:iam::aws:policy/AdministratorAccess',
        '  npx cdk deploy EcrStewardHub -c config=examples/org/steward.org.jsonc',
        "  # then the spokes (the hub's bus and breaker exist first), with the hub account's credentials",
        '  npx cdk deploy EcrSteward-222222222222-eu-west-1 -c config=examples/org/steward.org.jsonc',
        '  npx cdk deploy EcrSteward-333333333333-us-east-1 -c config=examples/org/steward.org.jsonc',
        '',
      ].join('\n'),
    );
  });

  it('prints the StackSet instances, the notes and the StackSet prerequisites for "stackset"', () => {
    // Prepare
    const config = org(
      {
        deployment: 'stackset',
        organizationId: 'o-local0example',
        targets: [{ organizationalUnits: [OU], regions: ['eu-west-1', 'us-east-1'] }],
      },
      { selections: [selection({ regions: ['us-east-1'] }), selection({ repositories: ['api'] })] },
    );

    // Act
    const text = formatDeployPlan(deployPlan(config));

    // Assess
    expect(text).toBe(
      [
        'ECR Steward deploy plan (stackset): 1 stack',
        '',
        '┌───────────────┬──────┬──────────────┬───────────┐',
        '│ stack         │ role │ account      │ region    │',
        '├───────────────┼──────┼──────────────┼───────────┤',
        '│ EcrStewardHub │ hub  │ 111111111111 │ eu-west-1 │',
        '└───────────────┴──────┴──────────────┴───────────┘',
        '',
        'StackSet EcrStewardSpokes (service-managed, auto-deployment on: accounts that join these OUs get a spoke; created by EcrStewardHub):',
        '┌────────────────────┬──────────────────────┐',
        '│ deployment targets │ regions              │',
        '├────────────────────┼──────────────────────┤',
        '│ ou-ab12-cd34ef56   │ eu-west-1, us-east-1 │',
        '└────────────────────┴──────────────────────┘',
        '',
        'Notes:',
        '  - every stack instance runs the same template: the selections narrowed by "accounts"/"regions" are applied by each spoke for its own account and region',
        '',
        'Deploy:',
        "  # with the hub account's (111111111111) credentials",
        '  npx cdk bootstrap aws://111111111111/eu-west-1',
        "  # the hub account must be the organization's management account or a delegated administrator of StackSets,",
        '  # with trusted access on: aws cloudformation activate-organizations-access',
        "  # the spokes' Lambda code goes through existing S3 buckets named PREFIX-<region>, one per region (eu-west-1, us-east-1), readable by the organization",
        '  npx cdk deploy EcrStewardHub -c config=steward.config.json -c assetBucketPrefix=PREFIX',
        '',
      ].join('\n'),
    );
  });

  it('names the configured asset buckets and needs no -c when organization.stackSetAssetBucketPrefix is set', () => {
    // Prepare
    const config = org({
      deployment: 'stackset',
      organizationId: 'o-local0example',
      stackSetAssetBucketPrefix: 'acme-steward-assets',
      targets: [{ organizationalUnits: [OU], regions: ['eu-west-1'] }],
    });

    // Act
    const lines = formatDeployPlan(deployPlan(config)).split('\n');

    // Assess
    expect(lines.slice(-3)).toEqual([
      "  # the spokes' Lambda code goes through existing S3 buckets named acme-steward-assets-<region>, one per region (eu-west-1), readable by the organization",
      '  npx cdk deploy EcrStewardHub -c config=steward.config.json',
      '',
    ]);
  });

  it('prints the single stack and its deploy command when there is no organization', () => {
    // Prepare
    const plan = deployPlan(validateConfig({ selections: [selection()] }));

    // Act
    const text = formatDeployPlan(plan, { configPath: 'my.jsonc' });

    // Assess
    expect(text.split('\n').slice(-4)).toEqual([
      'Deploy:',
      '  npx cdk bootstrap',
      '  npx cdk deploy EcrSteward -c config=my.jsonc',
      '',
    ]);
    expect(text).toContain(
      '│ EcrSteward │ single │ (your credentials’ account) │ (your credentials’ region) │',
    );
  });

  it('bootstraps the hub once when it is a spoke too, and uses the partition of the hub in the policy ARN', () => {
    // Prepare
    const config = org({
      hub: { account: HUB.account, region: 'cn-north-1' },
      includeHubAsSpoke: true,
      targets: [{ accounts: [A], regions: ['cn-north-1'] }],
    });

    // Act
    const text = formatDeployPlan(deployPlan(config));

    // Assess
    const bootstraps = text.split('\n').filter((l) => l.includes('cdk bootstrap'));
    expect(bootstraps).toEqual([
      '  npx cdk bootstrap aws://111111111111/cn-north-1',
      '  npx cdk bootstrap aws://222222222222/cn-north-1 --trust 111111111111 --cloudformation-execution-policies arn:aws-cn:iam::aws:policy/AdministratorAccess',
    ]);
    expect(text).toContain(
      '  npx cdk deploy EcrSteward-111111111111-cn-north-1 -c config=steward.config.json',
    );
  });
});
