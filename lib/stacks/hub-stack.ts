import {
  Annotations,
  BOOTSTRAP_QUALIFIER_CONTEXT,
  CfnOutput,
  DefaultStackSynthesizer,
  Stack,
  type StackProps,
  Token,
} from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Capability, DeploymentType, StackSet, StackSetTarget, StackSetTemplate } from 'cdk-stacksets';
import type { Construct } from 'constructs';
import type { PlannedStackSet } from '../../functions/shared/config/deploy-plan.js';
import { deployPlan } from '../../functions/shared/config/deploy-plan.js';
import {
  hubEnvironment,
  ORG_NAMES,
  orgArns,
  spokeEnvironments,
} from '../../functions/shared/config/organization.js';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { ENV } from '../../functions/shared/runtime/constants.js';
import { AlertTopics } from '../constructs/alerts.js';
import { HubMonitoring } from '../constructs/hub-monitoring.js';
import { OrgHub, type OrgPrincipals } from '../constructs/org-hub.js';
import { acknowledge, wildcardResource } from '../nag.js';
import { EcrStewardStackSetStack, type OrgSpokeProps } from './ecr-steward-stack.js';

/** The spokes as a service-managed StackSet (`organization.deployment: "stackset"`). */
export interface SpokeStackSetProps {
  /** Its name and stack instances, from `deployPlan(config).stackSet`. */
  readonly plan: PlannedStackSet;
  /**
   * Lambda code reaches the stack instances through S3 buckets named `<prefix>-<region>`, one per target
   * region, which must exist beforehand and let the organization's accounts read them.
   */
  readonly assetBucketPrefix: string;
}

export interface EcrStewardHubStackProps extends StackProps {
  /** The validated config; it must have `organization`. */
  readonly config: StewardConfig;
  /**
   * Deploy the spokes from the hub as a StackSet (the hub account must be the organization's management
   * account or a delegated administrator for StackSets).
   * @default none: each spoke is a stack of its own (`EcrStewardStack` with `org`)
   */
  readonly spokeStackSet?: SpokeStackSetProps;
}

/** What every spoke knows of the hub, built from the config alone (plain strings, never stack references). */
export function orgSpokeProps(config: StewardConfig): OrgSpokeProps {
  const hub = hubEnvironment(config);
  if (!hub) throw new Error('orgSpokeProps: the config has no "organization"');
  const { busArn, stateTableArn } = orgArns(config);
  // The plan role's home: the first (alphabetically) region of each account's DEPLOYED spokes (a spoke where no
  // selection applies is not deployed), decided from the whole config, which a narrowed spoke config is not.
  const planRoleHomes: Record<string, string> = {};
  for (const s of deployPlan(config).stacks)
    if (
      s.role === 'spoke' &&
      (planRoleHomes[s.account] === undefined || s.region < planRoleHomes[s.account]!)
    )
      planRoleHomes[s.account] = s.region;
  return { hub, busArn, stateTableArn, planRoleHomes };
}

/**
 * Who the hub admits, from the config: the whole AWS Organization when `organization.organizationId` is set
 * (spokes of accounts added later, e.g. by a StackSet's auto-deployment, are admitted without a change here),
 * else exactly the accounts of the `accounts` targets.
 */
export function orgPrincipals(config: StewardConfig): OrgPrincipals {
  const org = config.organization;
  if (!org) throw new Error('EcrStewardHubStack: the config has no "organization"');
  if (org.organizationId) return { organizationId: org.organizationId };
  return { accounts: [...new Set(spokeEnvironments(config).map((e) => e.account))].sort() };
}

/**
 * The hub of an organization (`organization.hub`): the bus every spoke forwards its audit records and alerts to,
 * the org audit table, the org state table with the org breaker, and the alerts, security, notices and approvals
 * topics for the whole organization, subscribed as `alerts.subscriptions` says. The approvals endpoint stays in
 * each spoke (it decides requests of that spoke's registry).
 */
export class EcrStewardHubStack extends Stack {
  readonly topics: AlertTopics;
  readonly hub: OrgHub;
  /** The hub's dashboard and alarms (`hubAlarmList`). */
  readonly monitoring: HubMonitoring;
  /** The spokes' StackSet and its template; only with `spokeStackSet`. */
  readonly spokes?: { readonly stackSet: StackSet; readonly template: EcrStewardStackSetStack };

  constructor(scope: Construct, id: string, props: EcrStewardHubStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.topics = new AlertTopics(this, 'Topics');
    this.hub = new OrgHub(this, 'Org', {
      config,
      topics: this.topics,
      principals: orgPrincipals(config),
      names: ORG_NAMES,
      stateTableArn: orgArns(config).stateTableArn,
    });
    this.topics.subscribe(config.alerts.subscriptions);
    this.monitoring = new HubMonitoring(this, 'Monitoring', { hub: this.hub, alerts: this.topics.alerts });
    if (props.spokeStackSet) this.spokes = this.addSpokeStackSet(config, props.spokeStackSet);

    const outputs: [string, string, string][] = [
      ['OrgAuditTableName', ENV.orgAuditTable, this.hub.auditTable.tableName],
      ['OrgStateTableName', ENV.orgStateTable, this.hub.stateTable.tableName],
      ['OrgBusArn', ENV.orgBusArn, this.hub.bus.eventBusArn],
      ['AlertsTopicArn', ENV.alertsTopic, this.topics.alerts.topicArn],
      ['SecurityTopicArn', ENV.securityTopic, this.topics.security.topicArn],
      ['NoticesTopicArn', ENV.noticesTopic, this.topics.notices.topicArn],
      ['ApprovalsTopicArn', ENV.approvalsTopic, this.topics.approvals.topicArn],
    ];
    for (const [oid, env, value] of outputs)
      new CfnOutput(this, oid, { value, description: `export ${env}=<this value> for the ecr-steward CLI` });
  }

  /**
   * The spokes as one StackSet, service-managed with auto-deployment (a new account of a target OU gets its
   * spoke, a leaving one keeps it: a spoke's tables are retained anyway). Every instance runs the same template,
   * so selections narrowed by `accounts`/`regions` must be narrowed by the functions where they run.
   */
  private addSpokeStackSet(config: StewardConfig, props: SpokeStackSetProps) {
    const { plan } = props;
    const assetBuckets = plan.regions.map((region) =>
      s3.Bucket.fromBucketName(this, `AssetBucket-${region}`, `${props.assetBucketPrefix}-${region}`),
    );
    // The hub counts organization-scope thresholds across every spoke; a spoke counts only its own scopes.
    const spokeConfig: StewardConfig = {
      ...config,
      alerts: {
        ...config.alerts,
        thresholds: config.alerts.thresholds.filter((t) => t.scope !== 'organization'),
      },
    };
    const template = new EcrStewardStackSetStack(this, 'SpokeTemplate', {
      config: spokeConfig,
      org: orgSpokeProps(config),
      assetBuckets,
      assetBucketPrefix: props.assetBucketPrefix,
    });
    const targets = plan.targets.map((t) =>
      t.organizationalUnits
        ? StackSetTarget.fromOrganizationalUnits({
            organizationalUnits: [...t.organizationalUnits],
            regions: [...t.regions],
          })
        : StackSetTarget.fromAccounts({ accounts: [...(t.accounts ?? [])], regions: [...t.regions] }),
    );
    if (plan.targets.some((t) => !t.organizationalUnits))
      Annotations.of(this).addWarningV2(
        'ecr-steward:stackset-account-targets',
        'A service-managed StackSet reaches single accounts only within an organizational unit (CloudFormation ' +
          'INTERSECTION): the account targets of organization.targets deploy only if CloudFormation accepts them ' +
          'without one — prefer organizationalUnits targets with deployment "stackset", or deployment "stacks".',
      );
    const stackSet = new StackSet(this, 'Spokes', {
      stackSetName: plan.name,
      description: 'ECR Steward spokes: cleanup, audit and scan gate of each account and region',
      template: StackSetTemplate.fromStackSetStack(template),
      deploymentType: DeploymentType.serviceManaged({
        autoDeployEnabled: true,
        autoDeployRetainStacks: true,
      }),
      capabilities: [Capability.IAM],
      ...(targets[0] ? { target: targets[0] } : {}),
    });
    for (const target of targets.slice(1)) stackSet.addTarget(target);
    this.acknowledgeAssetCopy(props.assetBucketPrefix, plan.regions);
    return { stackSet, template };
  }

  /**
   * cdk-stacksets copies the spokes' Lambda code into the asset buckets with CDK's own BucketDeployment
   * function (one per stack): its role and runtime are CDK's, and are acknowledged here, on that function only.
   */
  private acknowledgeAssetCopy(prefix: string, regions: readonly string[]): void {
    const copiers = this.node.children.filter((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
    const bucket = (name: string) => wildcardResource(`arn:<AWS::Partition>:s3:::${name}/*`);
    const account = Token.isUnresolved(this.account) ? '<AWS::AccountId>' : this.account;
    const region = Token.isUnresolved(this.region) ? '<AWS::Region>' : this.region;
    const qualifier = String(
      this.node.tryGetContext(BOOTSTRAP_QUALIFIER_CONTEXT) ?? DefaultStackSynthesizer.DEFAULT_QUALIFIER,
    );
    for (const copier of copiers) {
      acknowledge(
        copier,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        "CDK's BucketDeployment function (the StackSet asset copy) is CDK's own: its role has only the basic execution policy for its logs.",
      );
      acknowledge(
        copier,
        [
          'AwsSolutions-IAM5[Action::s3:GetObject*]',
          'AwsSolutions-IAM5[Action::s3:GetBucket*]',
          'AwsSolutions-IAM5[Action::s3:List*]',
          'AwsSolutions-IAM5[Action::s3:DeleteObject*]',
          'AwsSolutions-IAM5[Action::s3:Abort*]',
          bucket(`cdk-${qualifier}-assets-${account}-${region}`),
          ...regions.map((r) => bucket(`${prefix}-${r}`)),
        ],
        "CDK's BucketDeployment copies the spokes' Lambda code from the CDK asset bucket into the StackSet asset buckets: object actions on those buckets' objects only.",
      );
      acknowledge(
        copier,
        'AwsSolutions-L1',
        "The runtime of CDK's BucketDeployment function is chosen by aws-cdk-lib, not by ECR Steward; it runs only while the stack deploys.",
      );
    }
  }
}
