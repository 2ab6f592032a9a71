/**
 * Review of issue 13: the spoke's read-only plan role (`EcrStewardReadOnly`, `plan --account A --region R`).
 * IAM is global, so the role is created once per account, but its ECR reads are scoped to the ARN of the one
 * region whose stack creates it; and the stack that creates it is chosen among spoke environments that may not
 * be deployed at all.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { deployPlan } from '../../functions/shared/config/deploy-plan.js';
import { validateConfig } from '../../functions/shared/config/load.js';
import { configForEnvironment, type OrgEnvironment } from '../../functions/shared/config/organization.js';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { EcrStewardStack } from '../../lib/stacks/ecr-steward-stack.js';
import { orgSpokeProps } from '../../lib/stacks/hub-stack.js';
import { identityStatements, type Json, list, text } from '../stack/template-iam.js';

const HUB = { account: '111111111111', region: 'eu-west-1' };
const A = '222222222222';

function spokeTemplate(config: StewardConfig, env: OrgEnvironment): Template {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new EcrStewardStack(app, `EcrSteward-${env.account}-${env.region}`, {
    config: configForEnvironment(config, env),
    org: orgSpokeProps(config),
    env,
  });
  return Template.fromStack(stack);
}

/** The reader role's ECR statement (Sid ReadImageMetadata) resources, rendered, or undefined without a role. */
function readerEcrResources(template: Template): string[] | undefined {
  const roles = template.findResources('AWS::IAM::Role', { Properties: { RoleName: 'EcrStewardReadOnly' } });
  const [roleId] = Object.keys(roles);
  if (roleId === undefined) return undefined;
  const found = identityStatements(template).find(
    ({ roles: r, statement }) => r.includes(roleId) && (statement as Json).Sid === 'ReadImageMetadata',
  );
  return list((found?.statement as Json | undefined)?.Resource).map(text);
}

describe('review 13: the read-only plan role', () => {
  it('lets `plan --account A --region us-east-1` read the us-east-1 registry when A also has a spoke in eu-west-1', () => {
    // Prepare: account A has spokes in two regions; the role is created once (in eu-west-1)
    const config = validateConfig({
      mode: 'enforce',
      organization: { hub: HUB, targets: [{ accounts: [A], regions: ['eu-west-1', 'us-east-1'] }] },
      selections: [{ name: 'services', repositories: ['services/*'], lifecyclePolicy: 'fromRepository' }],
    });

    // Act
    const resources = readerEcrResources(spokeTemplate(config, { account: A, region: 'eu-west-1' }));

    // Assess: the one role of the account must be able to read the repositories of every spoke region of A.
    // Today it is `arn:<partition>:ecr:eu-west-1:222222222222:repository/*` only, so DescribeImages in
    // us-east-1 is AccessDenied for the role `plan --account 222222222222 --region us-east-1` assumes.
    expect(resources).toBeDefined();
    const readsUsEast1 = resources!.some((r) => /:ecr:(us-east-1|\*):/.test(r));
    expect(readsUsEast1, `ReadImageMetadata resources: ${resources!.join(', ')}`).toBe(true);
  });

  it('creates the role in some deployed spoke of the account when its first region has no selection', () => {
    // Prepare: A is a target in eu-west-1 and us-east-1, but the only selection is narrowed to us-east-1, so
    // deployPlan skips EcrSteward-A-eu-west-1 (idle) and deploys only EcrSteward-A-us-east-1.
    const config = validateConfig({
      mode: 'enforce',
      organization: { hub: HUB, targets: [{ accounts: [A], regions: ['eu-west-1', 'us-east-1'] }] },
      selections: [
        {
          name: 'services',
          regions: ['us-east-1'],
          repositories: ['services/*'],
          lifecyclePolicy: 'fromRepository',
        },
      ],
    });
    const deployed = deployPlan(config).stacks.filter((s) => s.role !== 'hub');
    expect(deployed.map((s) => `${s.account}/${s.region}`)).toEqual([`${A}/us-east-1`]);

    // Act
    const roles = deployed.map(
      (s) =>
        readerEcrResources(spokeTemplate(config, { account: s.account!, region: s.region! })) !== undefined,
    );

    // Assess: readerRoleRegion picks eu-west-1 (alphabetically first of spokeEnvironments, idle spokes
    // included), which is never deployed, so no stack creates the role and `plan --account` cannot work there.
    expect(roles.filter(Boolean)).toHaveLength(1);
  });
});
