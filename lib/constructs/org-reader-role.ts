import { Aws, CfnCondition, type CfnResource, Fn, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { spokeEnvironments } from '../../functions/shared/config/organization.js';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { acknowledge, wildcardResource } from '../nag.js';
import { inUseReadActions } from './cleanup.js';

/** The ECR reads a live plan makes (`ecr-steward plan --repository`): listings, manifests, policy, replicas. */
export const PLAN_READ_ACTIONS = [
  'ecr:DescribeRepositories',
  'ecr:ListTagsForResource',
  'ecr:DescribeImages',
  'ecr:BatchGetImage',
  'ecr:GetLifecyclePolicy',
  'ecr:DescribeImageReplicationStatus',
] as const;

export interface OrgReaderRoleProps {
  readonly config: StewardConfig;
  /** The hub account: its principals (operators, the platform pipeline) may assume the role. */
  readonly hubAccount: string;
  /**
   * The one region of the account whose stack creates the role (a role name is global to the account, so two
   * regional stacks must not both create it). In a StackSet, whose regions are known only at deployment, the
   * role's resources carry a condition on AWS::Region instead. @default every region (one spoke per account)
   */
  readonly onlyInRegion?: string;
}

/**
 * The region whose spoke stack creates an account's reader role: the first (alphabetically) of the account's
 * spoke regions, or, in a StackSet, of every target region. Undefined when this stack is not it.
 */
export function readerRoleRegion(
  config: StewardConfig,
  stack: Stack,
  homes?: Readonly<Record<string, string>>,
): string | undefined {
  const organization = config.organization;
  if (!organization) return undefined;
  if (Token.isUnresolved(stack.account) || Token.isUnresolved(stack.region))
    return [...new Set(organization.targets.flatMap((t) => t.regions))].sort()[0];
  const home =
    homes?.[stack.account] ??
    spokeEnvironments(config)
      .filter((e) => e.account === stack.account)
      .map((e) => e.region)
      .sort()[0];
  return home === stack.region ? stack.region : undefined;
}

/**
 * The role `ecr-steward plan --account A --region R` assumes in a spoke (`organization.roleName`). Read-only:
 * the image metadata of the registry and the in-use sources a plan consults; no write of any kind, no table.
 * Only principals of the hub account may assume it, and only those its own IAM allows to (sts:AssumeRole on
 * this role's ARN), so a spoke's plan is one signed call away for the platform team and nobody else.
 */
export class OrgReaderRole extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: OrgReaderRoleProps) {
    super(scope, id);
    const organization = props.config.organization;
    if (!organization) throw new Error('OrgReaderRole needs config.organization');
    this.role = new iam.Role(this, 'Role', {
      // A fixed name: the CLI builds the ARN from the account and the config's roleName.
      roleName: organization.roleName,
      assumedBy: new iam.AccountPrincipal(props.hubAccount),
      description:
        'ECR Steward: read-only plans of this registry from the hub account (ecr-steward plan --account)',
    });
    const statements = [
      new iam.PolicyStatement({
        sid: 'ReadImageMetadata',
        actions: [...PLAN_READ_ACTIONS],
        // Every region of the account: the one role serves `plan --account A --region R` for each of them.
        resources: [
          Stack.of(this).formatArn({
            service: 'ecr',
            region: '*',
            resource: 'repository',
            resourceName: '*',
          }),
        ],
      }),
    ];
    const inUse = inUseReadActions(props.config);
    statements.push(
      new iam.PolicyStatement({
        sid: 'FindTaggedRepositories',
        actions: ['tag:GetResources'],
        resources: ['*'],
      }),
    );
    if (inUse.length > 0)
      statements.push(new iam.PolicyStatement({ sid: 'InUseSources', actions: inUse, resources: ['*'] }));
    const policy = new iam.Policy(this, 'ReadPolicy', { statements });
    policy.attachToRole(this.role);
    if (props.onlyInRegion !== undefined && Token.isUnresolved(Stack.of(this).region)) {
      const here = new CfnCondition(this, 'HomeRegion', {
        expression: Fn.conditionEquals(Aws.REGION, props.onlyInRegion),
      });
      for (const resource of [this.role.node.defaultChild, policy.node.defaultChild] as CfnResource[])
        resource.cfnOptions.condition = here;
    }
    acknowledge(
      policy,
      [
        `arn:<AWS::Partition>:ecr:*:${Token.isUnresolved(Stack.of(this).account) ? '<AWS::AccountId>' : Stack.of(this).account}:repository/*`,
        '*',
      ].map(wildcardResource),
      'A plan of any repository of the registry reads its image metadata (no image layers, no writes); tag:GetResources and the ECS/Lambda list and describe actions of the in-use sources have no resource-level permissions.',
    );
  }
}
