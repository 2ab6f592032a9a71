import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { StackSetStack, type StackSetStackProps } from 'cdk-stacksets';
import type { Construct } from 'constructs';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { ENV } from '../../functions/shared/runtime/constants.js';
import { AlertTopics } from '../constructs/alerts.js';
import { Approvals, approvalsEnabled } from '../constructs/approvals.js';
import { Audit } from '../constructs/audit.js';
import { AuditTables } from '../constructs/audit-tables.js';
import { Cleanup } from '../constructs/cleanup.js';
import { Digest } from '../constructs/digest.js';
import { Monitoring } from '../constructs/monitoring.js';
import { OrgForwarder } from '../constructs/org-forwarder.js';
import { grantOrgBreakerRead } from '../constructs/org-hub.js';
import { OrgReaderRole, readerRoleRegion } from '../constructs/org-reader-role.js';
import type { StewardParts } from '../constructs/parts.js';
import { Replication } from '../constructs/replication.js';
import { ScanGate } from '../constructs/scan-gate.js';

/**
 * What a spoke of an organization knows of its hub: plain strings built from the config (`orgArns`), never
 * CloudFormation references, which cannot cross accounts.
 */
export interface OrgSpokeProps {
  /** The hub's account and region. */
  readonly hub: { readonly account: string; readonly region: string };
  /** The hub bus, where the forwarder puts the spoke's audit records and alerts. */
  readonly busArn: string;
  /** The hub state table, whose org breaker item the deleting functions read before each delete batch. */
  readonly stateTableArn: string;
  /**
   * The region whose spoke stack creates each account's plan role (IAM is global: one role per account).
   * @default the first target region, as a condition on AWS::Region (a StackSet, where the region is unknown)
   */
  readonly planRoleHomes?: Readonly<Record<string, string>>;
}

export interface EcrStewardProps {
  /** The validated config (bin/app.ts loads it from `-c config=PATH`; a spoke's is `configForEnvironment`). */
  readonly config: StewardConfig;
  /**
   * Makes the stack a spoke of an organization: the audit table gets a stream, a forwarder sends every audit
   * record and alert to the hub bus, and the deleting functions read the org breaker too.
   * @default none: a single account and region, as without `organization` in the config
   */
  readonly org?: OrgSpokeProps;
}

export interface EcrStewardStackProps extends StackProps, EcrStewardProps {}

export type { StewardParts } from '../constructs/parts.js';

/**
 * Builds ECR Steward directly in `stack` (no construct of its own in between, so the logical ids of a single
 * stack deployed before organizations existed stay the same): the stack class of `cdk deploy` and the
 * StackSet template of an organization's spokes share it.
 */
function buildSteward(stack: Stack, props: EcrStewardProps): StewardParts {
  const { config, org } = props;
  const topics = new AlertTopics(stack, 'Topics');
  const tables = new AuditTables(stack, 'Tables', { stream: org !== undefined });
  const cleanup = new Cleanup(stack, 'Cleanup', {
    config,
    auditTable: tables.audit,
    stateTable: tables.state,
    alertsTopic: topics.alerts,
    holdsTable: tables.holds,
    noticesTopic: topics.notices,
    requestsTable: tables.requests,
    approvalsTopic: topics.approvals,
  });
  const audit = new Audit(stack, 'Audit', {
    config,
    auditTable: tables.audit,
    stateTable: tables.state,
    alertsTopic: topics.alerts,
    // Registry operations that weaken a managed repository are security findings.
    securityTopic: topics.security,
  });
  const gate = new ScanGate(stack, 'ScanGate', {
    config,
    auditTable: tables.audit,
    stateTable: tables.state,
    holdsTable: tables.holds,
    securityTopic: topics.security,
    alertsTopic: topics.alerts,
    noticesTopic: topics.notices,
    requestsTable: tables.requests,
    approvalsTopic: topics.approvals,
  });
  const approvals = approvalsEnabled(config)
    ? new Approvals(stack, 'Approvals', {
        config,
        requestsTable: tables.requests,
        auditTable: tables.audit,
        stateTable: tables.state,
        approvalsTopic: topics.approvals,
        noticesTopic: topics.notices,
      })
    : undefined;
  // In an organization the hub's topics deliver alerts.subscriptions, once, with the spoke named: a spoke
  // subscribing them too would send every alert twice. Its alerts are not lost if forwarding stalls: they wait
  // in the forwarder's queue (and its dead-letter queue, with an alarm). Notices stay with the spoke: their
  // subscriptions filter on the selection, which only the spoke's messages carry.
  if (!org) topics.subscribe(config.alerts.subscriptions);
  topics.subscribeNotices(config);

  let forwarder: OrgForwarder | undefined;
  if (org) {
    forwarder = new OrgForwarder(stack, 'OrgForwarder', {
      config,
      auditTable: tables.audit,
      topics,
      busArn: org.busArn,
    });
    // Every function that reads the breaker before deleting reads the org breaker too (fail safe: unreadable
    // counts as open, so the read must be allowed wherever a delete may happen).
    for (const fn of [cleanup.worker, gate.function, ...(approvals ? [approvals.function] : [])])
      grantOrgBreakerRead(fn, org.stateTableArn);
    // `ecr-steward plan --account A --region R` from the hub: a read-only role, once per account (IAM is global).
    const home = readerRoleRegion(config, stack, org.planRoleHomes);
    if (home !== undefined)
      new OrgReaderRole(stack, 'OrgReader', { config, hubAccount: org.hub.account, onlyInRegion: home });
  }
  const replication = config.backup ? Replication.forStack(stack, 'Replication', config) : undefined;
  // The weekly digest, and the dashboard and alarms that watch every part (digest included).
  const digest = config.digest.enabled
    ? new Digest(stack, 'Digest', { config, parts: { topics, tables, gate } })
    : undefined;
  new Monitoring(stack, 'Monitoring', {
    config,
    parts: {
      topics,
      tables,
      cleanup,
      audit,
      gate,
      ...(approvals ? { approvals } : {}),
      ...(forwarder ? { forwarder } : {}),
      ...(replication ? { replication } : {}),
      ...(digest ? { digest } : {}),
    },
  });

  // The CLI reads these names from the environment: `export AUDIT_TABLE_NAME=<AuditTableName>` and so on.
  const outputs: [string, string, string][] = [
    ['AuditTableName', ENV.auditTable, tables.audit.tableName],
    ['StateTableName', ENV.stateTable, tables.state.tableName],
    ['VerdictTableName', ENV.verdictTable, gate.verdictTable.tableName],
    ['AlertsTopicArn', ENV.alertsTopic, topics.alerts.topicArn],
    ['SecurityTopicArn', ENV.securityTopic, topics.security.topicArn],
    ['HoldsTableName', ENV.holdsTable, tables.holds.tableName],
    ['NoticesTopicArn', ENV.noticesTopic, topics.notices.topicArn],
    ['RequestsTableName', ENV.requestsTable, tables.requests.tableName],
    ['ApprovalsTopicArn', ENV.approvalsTopic, topics.approvals.topicArn],
    ...(approvals ? [['ApprovalsUrl', ENV.approvalsUrl, approvals.url.url] as [string, string, string]] : []),
  ];
  for (const [id, env, value] of outputs)
    new CfnOutput(stack, id, { value, description: `export ${env}=<this value> for the ecr-steward CLI` });
  return {
    topics,
    tables,
    cleanup,
    audit,
    gate,
    ...(approvals ? { approvals } : {}),
    ...(forwarder ? { forwarder } : {}),
    ...(replication ? { replication } : {}),
  };
}

/**
 * ECR Steward: cleanup, audit, scan gate and approvals for the ECR registry of one account and region. With
 * `org`, a spoke of an organization (see `EcrStewardHubStack` for the hub).
 */
export class EcrStewardStack extends Stack {
  readonly topics: AlertTopics;
  readonly tables: AuditTables;
  readonly cleanup: Cleanup;
  readonly audit: Audit;
  readonly gate: ScanGate;
  /** The approvals endpoint; only when the config puts approvals in use (`approvalsEnabled`). */
  readonly approvals?: Approvals;
  /** Forwards audit records and alerts to the hub; only in a spoke (`org`). */
  readonly forwarder?: OrgForwarder;
  /** The registry's replication configuration; only when the config has `backup`. */
  readonly replication?: Replication;

  constructor(scope: Construct, id: string, props: EcrStewardStackProps) {
    super(scope, id, props);
    const parts = buildSteward(this, props);
    this.topics = parts.topics;
    this.tables = parts.tables;
    this.cleanup = parts.cleanup;
    this.audit = parts.audit;
    this.gate = parts.gate;
    if (parts.approvals) this.approvals = parts.approvals;
    if (parts.forwarder) this.forwarder = parts.forwarder;
    if (parts.replication) this.replication = parts.replication;
  }
}

export interface EcrStewardStackSetStackProps extends StackSetStackProps, EcrStewardProps {}

/**
 * The spoke as the template of a CloudFormation StackSet (`deployment: "stackset"`): the same resources as
 * `EcrStewardStack`, synthesized into its parent (hub) stack's assets instead of as a stack of its own. Its
 * account and region are those of each stack instance, known only at deployment.
 */
export class EcrStewardStackSetStack extends StackSetStack {
  readonly parts: StewardParts;

  constructor(scope: Construct, id: string, props: EcrStewardStackSetStackProps) {
    super(scope, id, props);
    this.parts = buildSteward(this, props);
  }
}
