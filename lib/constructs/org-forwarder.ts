import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { ENV } from '../../functions/shared/runtime/constants.js';
import { DeadLetterQueue } from './secure-queue.js';
import { StewardFunction } from './steward-function.js';

/** The spoke topics whose messages are forwarded to the hub, by the name the hub republishes them under. */
export interface ForwardedTopics {
  readonly alerts: sns.ITopic;
  readonly security: sns.ITopic;
  readonly notices: sns.ITopic;
  readonly approvals: sns.ITopic;
}

/** The four topics of `topics`, in a fixed order (an `AlertTopics` has more properties than its topics). */
export const topicList = (topics: ForwardedTopics): sns.ITopic[] => [
  topics.alerts,
  topics.security,
  topics.notices,
  topics.approvals,
];

export interface OrgForwarderProps {
  readonly config: StewardConfig;
  /** The spoke's audit table; it must have a stream of new images (`AuditTables` with `stream: true`). */
  readonly auditTable: dynamodb.ITableV2;
  readonly topics: ForwardedTopics;
  /** The hub's event bus (`orgArns(config).busArn`): a plain ARN string, never a cross-stack reference. */
  readonly busArn: string;
}

/** The stream's settings: batches of 100, halved on error, retried 10 times, then the failure queue. */
export const FORWARDER_STREAM = { batchSize: 100, retryAttempts: 10 } as const;

/**
 * Organization spoke: forwards every audit record (the audit table's stream of new images) and every message of
 * the spoke's alerts, security, notices and approvals topics (through one SQS queue subscribed to the four) to
 * the hub bus as `ecr-steward` events (functions/org/forwarder.ts). Both event sources report failures per item;
 * what fails after the retries lands in an alarmed dead-letter queue. The function may put events on the hub
 * bus and nothing else in the hub.
 */
export class OrgForwarder extends Construct {
  readonly function: StewardFunction;
  /** Subscribed to the four topics, raw delivery off: the SNS envelope names the topic a message came from. */
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  /** Where stream batches go when their retries are spent. */
  readonly streamFailureQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: OrgForwarderProps) {
    super(scope, id);
    if (!props.auditTable.tableStreamArn)
      throw new Error(
        'OrgForwarder: the audit table has no stream; create AuditTables with { stream: true } in an organization spoke',
      );
    const dlq = new DeadLetterQueue(this, 'DeadLetter', {
      alarmTopic: props.topics.alerts,
      description: 'the organization forwarder queue',
    });
    this.deadLetterQueue = dlq.queue;
    const streamDlq = new DeadLetterQueue(this, 'StreamFailures', {
      alarmTopic: props.topics.alerts,
      description: 'the organization forwarder (audit stream)',
    });
    this.streamFailureQueue = streamDlq.queue;
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.minutes(6),
      retentionPeriod: Duration.days(14),
      deadLetterQueue: { queue: dlq.queue, maxReceiveCount: 5 },
    });
    for (const topic of topicList(props.topics))
      topic.addSubscription(new subscriptions.SqsSubscription(this.queue, { rawMessageDelivery: false }));

    this.function = new StewardFunction(this, 'Function', {
      entry: 'functions/org/forwarder.ts',
      handler: 'handler',
      description: 'ECR Steward organization forwarder: audit records and alerts to the hub bus',
      config: props.config,
      timeout: Duration.minutes(1),
      memorySize: 256,
      environment: {
        [ENV.orgBusArn]: props.busArn,
        [ENV.alertsTopic]: props.topics.alerts.topicArn,
        [ENV.securityTopic]: props.topics.security.topicArn,
        [ENV.noticesTopic]: props.topics.notices.topicArn,
        [ENV.approvalsTopic]: props.topics.approvals.topicArn,
      },
    });
    const fn = this.function.function;
    fn.addEventSourceMapping('AuditStream', {
      eventSourceArn: props.auditTable.tableStreamArn,
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: FORWARDER_STREAM.batchSize,
      bisectBatchOnError: true,
      retryAttempts: FORWARDER_STREAM.retryAttempts,
      reportBatchItemFailures: true,
      onFailure: new SqsDlq(streamDlq.queue),
    });
    props.auditTable.grantStreamRead(fn);
    fn.addEventSource(new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true }));
    // Exactly the hub bus: no other bus, no other action, nothing else of the hub.
    this.function.addPolicy('HubBusPolicy', [
      new iam.PolicyStatement({
        sid: 'PutEventsOnTheHubBus',
        actions: ['events:PutEvents'],
        resources: [props.busArn],
      }),
    ]);
  }
}
