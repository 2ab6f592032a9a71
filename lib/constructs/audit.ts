import { type CfnResource, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { ENV, EVENTS } from '../../functions/shared/runtime/constants.js';
import { acknowledge, nagArnRef, nagRepositoryArn, wildcardResource } from '../nag.js';
import { grantAuditRecords } from './audit-tables.js';
import { DeadLetterQueue } from './secure-queue.js';
import { StewardFunction } from './steward-function.js';

export interface AuditProps {
  readonly config: StewardConfig;
  readonly auditTable: dynamodb.ITableV2;
  readonly stateTable: dynamodb.ITableV2;
  readonly alertsTopic: sns.ITopic;
}

/** The three delete signals the audit function consumes. */
export const AUDIT_PATTERNS = {
  imageDelete: {
    source: [EVENTS.ecrSource],
    detailType: [EVENTS.imageAction],
    detail: { 'action-type': ['DELETE'] },
  },
  lifecycleExpiry: {
    source: [EVENTS.ecrSource],
    detailType: [EVENTS.cloudTrailServiceEvent],
    detail: { eventSource: ['ecr.amazonaws.com'], eventName: ['PolicyExecutionEvent'] },
  },
  batchDeleteCall: {
    source: [EVENTS.ecrSource],
    detailType: [EVENTS.cloudTrailApiCall],
    detail: { eventSource: ['ecr.amazonaws.com'], eventName: ['BatchDeleteImage'] },
  },
} satisfies Record<string, events.EventPattern>;

/**
 * Audit: every delete signal goes to one queue and the audit function records one item per deletion,
 * counts delete rates, alerts and opens the breaker. A CloudWatch alarm on EventBridge's own count of
 * DELETE events is a backstop that works even if our code does not.
 */
export class Audit extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly function: StewardFunction;
  readonly rules: Record<keyof typeof AUDIT_PATTERNS, events.Rule>;
  readonly backstopAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: AuditProps) {
    super(scope, id);
    const dlq = new DeadLetterQueue(this, 'DeadLetter', {
      alarmTopic: props.alertsTopic,
      description: 'the audit queue',
    });
    this.deadLetterQueue = dlq.queue;
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.minutes(6),
      retentionPeriod: Duration.days(14),
      deadLetterQueue: { queue: dlq.queue, maxReceiveCount: 5 },
    });
    this.function = new StewardFunction(this, 'Function', {
      entry: 'functions/audit/handler.ts',
      handler: 'handler',
      description: 'ECR Steward audit: one record per image deletion, delete-rate alerts and the breaker',
      config: props.config,
      timeout: Duration.minutes(1),
      memorySize: 512,
      reservedConcurrency: StewardFunction.reservedConcurrency(props.config, 'audit'),
      environment: {
        [ENV.auditTable]: props.auditTable.tableName,
        [ENV.stateTable]: props.stateTable.tableName,
        [ENV.alertsTopic]: props.alertsTopic.topicArn,
        [ENV.auditDlqUrl]: dlq.queue.queueUrl,
      },
    });
    this.function.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: StewardFunction.sqsMaxConcurrency(
          StewardFunction.reservedConcurrency(props.config, 'audit'),
        ),
      }),
    );
    grantAuditRecords(props.auditTable, this.function.function);
    props.stateTable.grantReadWriteData(this.function.function);
    props.alertsTopic.grantPublish(this.function.function);
    dlq.queue.grantSendMessages(this.function.function);
    acknowledge(
      this.function.role,
      wildcardResource(`${nagArnRef(props.auditTable)}/index/*`),
      "Alerts tally recent deletions through the audit table's own indexes.",
    );
    acknowledge(
      this.function.role,
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      "Publishing to the KMS-encrypted alerts topic needs GenerateDataKey* on that topic's key only (granted by grantPublish).",
    );
    // Ambiguous signals (a delete by tag) are checked against ECR: read-only, on any repository.
    this.function.addPolicy(
      'VerifyPolicy',
      [
        new iam.PolicyStatement({
          actions: ['ecr:DescribeImages'],
          resources: [StewardFunction.repositoryArn(this, '*')],
        }),
      ],
      {
        resources: [nagRepositoryArn(this, '*')],
        reason:
          'Deletions are audited in every repository of the registry; DescribeImages (metadata only) tells a removed tag from a removed image.',
      },
    );

    const target = new targets.SqsQueue(this.queue, {
      deadLetterQueue: dlq.queue,
      retryAttempts: 185,
      maxEventAge: Duration.hours(24),
    });
    const rule = (
      id: string,
      description: string,
      pattern: events.EventPattern,
      allManagementEvents = false,
    ) => {
      const r = new events.Rule(this, id, { description, eventPattern: pattern });
      r.addTarget(target);
      if (allManagementEvents) {
        // PolicyExecutionEvent is a read-only CloudTrail record: only this rule state receives it.
        (r.node.defaultChild as CfnResource).addPropertyOverride(
          'State',
          'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS',
        );
      }
      return r;
    };
    this.rules = {
      imageDelete: rule(
        'ImageDeleteRule',
        'ECR Steward audit: ECR Image Action DELETE',
        AUDIT_PATTERNS.imageDelete,
      ),
      lifecycleExpiry: rule(
        'LifecycleRule',
        'ECR Steward audit: ECR lifecycle expirations (CloudTrail PolicyExecutionEvent)',
        AUDIT_PATTERNS.lifecycleExpiry,
        true,
      ),
      batchDeleteCall: rule(
        'BatchDeleteRule',
        'ECR Steward audit: BatchDeleteImage calls (CloudTrail)',
        AUDIT_PATTERNS.batchDeleteCall,
      ),
    };

    this.backstopAlarm = new cloudwatch.Alarm(this, 'BackstopAlarm', {
      alarmDescription:
        'ECR Steward backstop: EventBridge matched more ECR image DELETE events than expected in 5 minutes (counted by EventBridge itself, independent of ECR Steward code).',
      metric: new cloudwatch.Metric({
        namespace: 'AWS/Events',
        metricName: 'MatchedEvents',
        dimensionsMap: { RuleName: this.rules.imageDelete.ruleName },
        statistic: 'Sum',
        period: Duration.minutes(5),
      }),
      threshold: props.config.alerts.backstopDeletesPer5Minutes,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.backstopAlarm.addAlarmAction(new cwActions.SnsAction(props.alertsTopic));
  }
}
