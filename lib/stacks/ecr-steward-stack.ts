import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { ENV } from '../../functions/shared/runtime/constants.js';
import { AlertTopics } from '../constructs/alerts.js';
import { Approvals, approvalsEnabled } from '../constructs/approvals.js';
import { Audit } from '../constructs/audit.js';
import { AuditTables } from '../constructs/audit-tables.js';
import { Cleanup } from '../constructs/cleanup.js';
import { ScanGate } from '../constructs/scan-gate.js';

export interface EcrStewardStackProps extends StackProps {
  /** The validated config (bin/app.ts loads it from `-c config=PATH`). */
  readonly config: StewardConfig;
}

/** ECR Steward: cleanup, audit, scan gate and approvals for the ECR registry of one account and region. */
export class EcrStewardStack extends Stack {
  readonly topics: AlertTopics;
  readonly tables: AuditTables;
  readonly cleanup: Cleanup;
  readonly audit: Audit;
  readonly gate: ScanGate;
  /** The approvals endpoint; only when the config puts approvals in use (`approvalsEnabled`). */
  readonly approvals?: Approvals;

  constructor(scope: Construct, id: string, props: EcrStewardStackProps) {
    super(scope, id, props);
    this.topics = new AlertTopics(this, 'Topics');
    this.tables = new AuditTables(this, 'Tables');
    this.cleanup = new Cleanup(this, 'Cleanup', {
      config: props.config,
      auditTable: this.tables.audit,
      stateTable: this.tables.state,
      alertsTopic: this.topics.alerts,
      holdsTable: this.tables.holds,
      noticesTopic: this.topics.notices,
      requestsTable: this.tables.requests,
      approvalsTopic: this.topics.approvals,
    });
    this.audit = new Audit(this, 'Audit', {
      config: props.config,
      auditTable: this.tables.audit,
      stateTable: this.tables.state,
      alertsTopic: this.topics.alerts,
    });
    this.gate = new ScanGate(this, 'ScanGate', {
      config: props.config,
      auditTable: this.tables.audit,
      stateTable: this.tables.state,
      holdsTable: this.tables.holds,
      securityTopic: this.topics.security,
      alertsTopic: this.topics.alerts,
      noticesTopic: this.topics.notices,
      requestsTable: this.tables.requests,
      approvalsTopic: this.topics.approvals,
    });
    if (approvalsEnabled(props.config)) {
      this.approvals = new Approvals(this, 'Approvals', {
        config: props.config,
        requestsTable: this.tables.requests,
        auditTable: this.tables.audit,
        stateTable: this.tables.state,
        approvalsTopic: this.topics.approvals,
        noticesTopic: this.topics.notices,
      });
    }
    this.topics.subscribe(props.config.alerts.subscriptions);
    this.topics.subscribeNotices(props.config);

    // The CLI reads these names from the environment: `export AUDIT_TABLE_NAME=<AuditTableName>` and so on.
    const outputs: [string, string, string][] = [
      ['AuditTableName', ENV.auditTable, this.tables.audit.tableName],
      ['StateTableName', ENV.stateTable, this.tables.state.tableName],
      ['VerdictTableName', ENV.verdictTable, this.gate.verdictTable.tableName],
      ['AlertsTopicArn', ENV.alertsTopic, this.topics.alerts.topicArn],
      ['SecurityTopicArn', ENV.securityTopic, this.topics.security.topicArn],
      ['HoldsTableName', ENV.holdsTable, this.tables.holds.tableName],
      ['NoticesTopicArn', ENV.noticesTopic, this.topics.notices.topicArn],
      ['RequestsTableName', ENV.requestsTable, this.tables.requests.tableName],
      ['ApprovalsTopicArn', ENV.approvalsTopic, this.topics.approvals.topicArn],
      ...(this.approvals
        ? [['ApprovalsUrl', ENV.approvalsUrl, this.approvals.url.url] as [string, string, string]]
        : []),
    ];
    for (const [id, env, value] of outputs)
      new CfnOutput(this, id, { value, description: `export ${env}=<this value> for the ecr-steward CLI` });
  }
}
