import {
  Aws,
  CfnCondition,
  type CfnResource,
  Fn,
  type ICfnConditionExpression,
  Stack,
  Token,
} from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import { Construct } from 'constructs';
import { type ReplicationRule, replicationRules } from '../../functions/shared/config/organization.js';
import type { StewardConfig } from '../../functions/shared/config/schema.js';

type Rule = ecr.CfnReplicationConfiguration.ReplicationRuleProperty;
type Destination = ecr.CfnReplicationConfiguration.ReplicationDestinationProperty;

/** `replicationRules`' rules as the L1 construct takes them (the same field names; mutable copies). */
function toCfnRules(rules: readonly ReplicationRule[]): Rule[] {
  return rules.map((r) => ({
    destinations: r.destinations.map((d) => ({ region: d.region, registryId: d.registryId })),
    repositoryFilters: r.repositoryFilters.map((f) => ({ filter: f.filter, filterType: f.filterType })),
  }));
}

export interface ReplicationProps {
  /** The rules of the registry's replication configuration (`replicationRules(config, env)`). */
  readonly rules: readonly Rule[];
  /**
   * Whether the registry's own account and region are known at synthesis. When not (a StackSet template, or a
   * stack without `env`), a destination that could turn out to be the registry itself is kept only under a
   * condition that it is not, and the whole configuration only when some destination remains: ECR refuses to
   * replicate a registry into itself.
   * @default true
   */
  readonly environmentKnown?: boolean;
}

/**
 * Backup of key images (`backup` in the config): the registry's ECR replication configuration, copying the
 * repositories whose names start with the globs' literal prefixes to other regions and accounts. A registry
 * has exactly one replication configuration, so it is created only in the stack of that account and region,
 * and it replaces any the registry had. ECR replicates pushes only (never deletions) made after the
 * configuration exists; each destination's own ECR Steward decides what happens to the copies there.
 */
export class Replication extends Construct {
  readonly configuration: ecr.CfnReplicationConfiguration;

  /**
   * The replication of the registry `scope`'s stack governs, or undefined when the config asks for no backup
   * or every destination is the registry itself.
   */
  static forStack(scope: Construct, id: string, config: StewardConfig): Replication | undefined {
    const stack = Stack.of(scope);
    const environmentKnown = !Token.isUnresolved(stack.account) && !Token.isUnresolved(stack.region);
    const rules = replicationRules(config, { account: stack.account, region: stack.region });
    if (!rules) return undefined;
    return new Replication(scope, id, { rules: toCfnRules(rules), environmentKnown });
  }

  constructor(scope: Construct, id: string, props: ReplicationProps) {
    super(scope, id);
    if (props.environmentKnown ?? true) {
      this.configuration = new ecr.CfnReplicationConfiguration(this, 'Resource', {
        replicationConfiguration: { rules: [...props.rules] },
      });
      return;
    }
    const keeps: CfnCondition[] = [];
    const rules = props.rules.map((rule, r) => ({
      ...rule,
      destinations: (rule.destinations as Destination[]).map((d, i) => {
        // Without `backup.accounts` the destination is the stack's own account: only the region can differ.
        const self = Token.isUnresolved(d.registryId)
          ? Fn.conditionEquals(Aws.REGION, d.region)
          : Fn.conditionAnd(
              Fn.conditionEquals(Aws.REGION, d.region),
              Fn.conditionEquals(Aws.ACCOUNT_ID, d.registryId),
            );
        const keep = new CfnCondition(this, `NotSelf${r}x${i}`, { expression: Fn.conditionNot(self) });
        keeps.push(keep);
        // The L1 renames the fields of plain objects only, not those inside an intrinsic: CloudFormation's here.
        const cfn = { Region: d.region, RegistryId: d.registryId };
        return Fn.conditionIf(keep.logicalId, cfn, Aws.NO_VALUE) as unknown as Destination;
      }),
    }));
    // A condition defined as a bare reference to another is not valid CloudFormation: one destination's is used as is.
    const anyKept =
      keeps.length === 1 ? keeps[0]! : new CfnCondition(this, 'AnyDestination', { expression: anyOf(keeps) });
    this.configuration = new ecr.CfnReplicationConfiguration(this, 'Resource', {
      replicationConfiguration: { rules },
    });
    (this.configuration as CfnResource).cfnOptions.condition = anyKept;
  }
}

/** `Fn::Or` of any number of conditions (CloudFormation takes 2 to 10 at a time). */
function anyOf(conditions: readonly ICfnConditionExpression[]): ICfnConditionExpression {
  if (conditions.length === 1) return conditions[0]!;
  if (conditions.length <= 10) return Fn.conditionOr(...conditions);
  const chunks: ICfnConditionExpression[] = [];
  for (let i = 0; i < conditions.length; i += 10) chunks.push(anyOf(conditions.slice(i, i + 10)));
  return anyOf(chunks);
}
