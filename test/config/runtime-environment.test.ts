import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../functions/shared/config/load.js';
import { inThisEnvironment } from '../../functions/shared/runtime/config.js';

const policy = {
  rules: [
    {
      rulePriority: 1,
      selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 5 },
      action: { type: 'expire' },
    },
  ],
};

/** An organization's one config, as a StackSet's template bundles it for every account and region. */
const config = validateConfig({
  organization: {
    hub: { account: '111111111111', region: 'eu-west-1' },
    organizationId: 'o-local0example',
    deployment: 'stackset',
    targets: [{ organizationalUnits: ['ou-ab12-cd34ef56'], regions: ['eu-west-1', 'us-east-1'] }],
  },
  selections: [
    {
      name: 'eu team',
      accounts: ['222222222222'],
      regions: ['eu-west-1'],
      repositories: ['team/*'],
      lifecyclePolicy: policy,
    },
    { name: 'everywhere', repositories: ['services/*'], lifecyclePolicy: policy },
  ],
});

describe('inThisEnvironment', () => {
  it('keeps the selections that apply to the account and region the function runs in', () => {
    // Act
    const names = [
      ['222222222222', 'eu-west-1'],
      ['222222222222', 'us-east-1'],
      ['333333333333', 'eu-west-1'],
    ].map(([account, region]) =>
      inThisEnvironment(config, { ECR_STEWARD_REGISTRY_ID: account, AWS_REGION: region }).selections.map(
        (s) => s.name,
      ),
    );

    // Assess
    expect(names).toEqual([['eu team', 'everywhere'], ['everywhere'], ['everywhere']]);
  });

  it('leaves a config alone without an organization, or when the account is not known', () => {
    // Prepare
    const single = validateConfig({ selections: [{ repositories: ['a/*'], lifecyclePolicy: policy }] });

    // Act / Assess
    expect(
      inThisEnvironment(single, { ECR_STEWARD_REGISTRY_ID: '222222222222', AWS_REGION: 'eu-west-1' }),
    ).toBe(single);
    expect(inThisEnvironment(config, { AWS_REGION: 'eu-west-1' })).toBe(config);
  });
});
