import { Duration } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { ORG_AUDIT_INDEXES, ORG_BREAKER_KEY, ORG_SOURCE } from '../../functions/shared/org/keys.js';
import { ENV } from '../../functions/shared/runtime/constants.js';
import { acknowledge, nagArnRef, wildcardResource } from '../nag.js';
import { grantAuditRecords, PROTECTED_TABLE, stringKey } from './audit-tables.js';
import { type ForwardedTopics, topicList } from './org-forwarder.js';
import { DeadLetterQueue } from './secure-queue.js';
import { StewardFunction } from './steward-function.js';

/** Who in the organization may put events on the hub bus and read the org breaker. */
export type OrgPrincipals =
  /** Any principal of the AWS Organization (`aws:PrincipalOrgID`): spokes of new accounts are admitted too. */
  | { readonly organizationId: string }
  /** Only the listed spoke accounts (their roots: each account's IAM decides which of its roles). */
  | { readonly accounts: readonly string[] };

/** The principals and conditions of a resource-policy statement admitting `who`. */
function admit(who: OrgPrincipals): Pick<iam.PolicyStatementProps, 'principals' | 'conditions'> {
  if ('organizationId' in who)
    return {
      principals: [new iam.AnyPrincipal()],
      conditions: { StringEquals: { 'aws:PrincipalOrgID': who.organizationId } },
    };
  if (who.accounts.length === 0) throw new Error('OrgHub: no spoke account to admit');
  return { principals: who.accounts.map((a) => new iam.AccountPrincipal(a)) };
}

/** The condition that limits a DynamoDB read to the org breaker item (its partition key, `ORG_BREAKER_KEY`). */
export const ORG_BREAKER_CONDITION = {
  'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [ORG_BREAKER_KEY.pk] },
} as const;

/**
 * The org breaker's read, for a spoke function that deletes: `dynamodb:GetItem` on exactly the hub state table
 * (`orgArns(config).stateTableArn`, a plain ARN) and only on the org breaker item. Also sets
 * `ORG_STATE_TABLE_ARN`, which the function reads it through.
 */
export function grantOrgBreakerRead(fn: StewardFunction, stateTableArn: string): iam.Policy {
  fn.function.addEnvironment(ENV.orgStateTableArn, stateTableArn);
  return fn.addPolicy('OrgBreakerPolicy', [
    new iam.PolicyStatement({
      sid: 'ReadTheOrgBreaker',
      actions: ['dynamodb:GetItem'],
      resources: [stateTableArn],
      conditions: ORG_BREAKER_CONDITION,
    }),
  ]);
}

export interface OrgHubProps {
  readonly config: StewardConfig;
  /** The hub's topics: ingested alerts are republished to the topic of the same name. */
  readonly topics: ForwardedTopics;
  /** Who may put events on the bus and read the org breaker. */
  readonly principals: OrgPrincipals;
  /** Physical names, fixed so that spokes can build the ARNs without a cross-account reference (`ORG_NAMES`). */
  readonly names: { readonly bus: string; readonly auditTable: string; readonly stateTable: string };
  /**
   * The state table's ARN as spokes build it (`orgArns(config).stateTableArn`): its resource policy names it,
   * since a table's policy cannot refer to the table's own `Arn` attribute.
   */
  readonly stateTableArn: string;
}

/**
 * Organization hub: the bus spokes put their audit records and alerts on, a rule that queues every
 * `ecr-steward` event for the ingest function (functions/org/hub.ts), the org audit table (every spoke's records
 * keyed by account and region; the protections of the spoke audit table) and the org state table (org-scope
 * delete counters and the org breaker, which spokes may read and nothing else).
 */
export class OrgHub extends Construct {
  readonly bus: events.EventBus;
  readonly rule: events.Rule;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly auditTable: dynamodb.TableV2;
  readonly stateTable: dynamodb.TableV2;
  readonly function: StewardFunction;

  constructor(scope: Construct, id: string, props: OrgHubProps) {
    super(scope, id);
    const admitted = admit(props.principals);
    this.bus = new events.EventBus(this, 'Bus', {
      eventBusName: props.names.bus,
      description: 'ECR Steward organization hub: audit records and alerts of every spoke',
    });
    this.bus.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'SpokesPutEvents',
        actions: ['events:PutEvents'],
        resources: [this.bus.eventBusArn],
        ...admitted,
      }),
    );

    this.auditTable = new dynamodb.TableV2(this, 'Audit', {
      ...PROTECTED_TABLE,
      tableName: props.names.auditTable,
      partitionKey: stringKey('pk'),
      sortKey: stringKey('sk'),
      // A spoke record keeps its own `ttl` (dry-run plans, audit.retentionDays), so it expires here too.
      timeToLiveAttribute: 'ttl',
      globalSecondaryIndexes: [
        {
          indexName: ORG_AUDIT_INDEXES.byEnvironment,
          partitionKey: stringKey('gsi1pk'),
          sortKey: stringKey('gsi1sk'),
        },
        {
          indexName: ORG_AUDIT_INDEXES.byDay,
          partitionKey: stringKey('gsi3pk'),
          sortKey: stringKey('gsi3sk'),
        },
      ],
    });
    this.stateTable = new dynamodb.TableV2(this, 'State', {
      ...PROTECTED_TABLE,
      tableName: props.names.stateTable,
      partitionKey: stringKey('pk'),
      sortKey: stringKey('sk'),
      // The attribute of the spoke state table: the hub counts with the same counters (state/counters.ts).
      timeToLiveAttribute: 'expiresAt',
      // Spokes read the org breaker before each delete batch: GetItem of that one item, nothing else.
      resourcePolicy: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            sid: 'SpokesReadTheOrgBreaker',
            actions: ['dynamodb:GetItem'],
            resources: [props.stateTableArn],
            ...admitted,
            conditions: { ...admitted.conditions, ...ORG_BREAKER_CONDITION },
          }),
        ],
      }),
    });

    const dlq = new DeadLetterQueue(this, 'DeadLetter', {
      alarmTopic: props.topics.alerts,
      description: 'the organization ingest queue',
    });
    this.deadLetterQueue = dlq.queue;
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.minutes(6),
      retentionPeriod: Duration.days(14),
      deadLetterQueue: { queue: dlq.queue, maxReceiveCount: 5 },
    });
    this.rule = new events.Rule(this, 'Rule', {
      eventBus: this.bus,
      description: 'ECR Steward organization: every spoke event to the ingest queue',
      eventPattern: { source: [ORG_SOURCE] },
    });
    this.rule.addTarget(
      new targets.SqsQueue(this.queue, {
        deadLetterQueue: dlq.queue,
        retryAttempts: 185,
        maxEventAge: Duration.hours(24),
      }),
    );

    this.function = new StewardFunction(this, 'Function', {
      entry: 'functions/org/hub.ts',
      handler: 'handler',
      description: 'ECR Steward organization hub: org audit records, alerts and the org breaker',
      config: props.config,
      timeout: Duration.minutes(1),
      memorySize: 512,
      environment: {
        [ENV.orgAuditTable]: this.auditTable.tableName,
        [ENV.orgStateTable]: this.stateTable.tableName,
        [ENV.alertsTopic]: props.topics.alerts.topicArn,
        [ENV.securityTopic]: props.topics.security.topicArn,
        [ENV.noticesTopic]: props.topics.notices.topicArn,
        [ENV.approvalsTopic]: props.topics.approvals.topicArn,
        // Malformed or forged events go here with their reason, never back to the queue.
        [ENV.orgIngestDlqUrl]: dlq.queue.queueUrl,
      },
    });
    const fn = this.function.function;
    fn.addEventSource(new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true }));
    grantAuditRecords(this.auditTable, fn);
    acknowledge(
      this.function.role,
      wildcardResource(`${nagArnRef(this.auditTable)}/index/*`),
      "The org audit queries (by environment and by day) read the org audit table's own indexes.",
    );
    // Exactly what the hub's stores call: counters and once-markers (conditional puts and ADD updates, read
    // back consistently), the org breaker (BreakerStore). No Scan, no DeleteItem, no batch writes.
    this.stateTable.grant(
      fn,
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    );
    dlq.queue.grantSendMessages(fn);
    for (const topic of topicList(props.topics)) topic.grantPublish(fn);
    acknowledge(
      this.function.role,
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      'Republishing to the KMS-encrypted hub topics needs GenerateDataKey* on their key only (granted by grantPublish).',
    );
  }
}
