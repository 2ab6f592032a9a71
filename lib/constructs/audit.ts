import { Aws, type CfnResource, Duration, Stack } from 'aws-cdk-lib';
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
import { AUDIT_ENV } from '../../functions/audit/schema.js';
import { CLOUDTRAIL_OPERATIONS } from '../../functions/shared/audit/operations.js';
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
  /**
   * Where security alerts about registry operations go (a policy opened to everyone, a managed repository
   * deleted, ...).
   * @default the alerts topic
   */
  readonly securityTopic?: sns.ITopic;
  /**
   * The roles of the stack's other functions (the cleanup worker, ...): their lifecycle-policy changes raise no
   * alert. Roles whose name starts with the stack's name are recognised without being listed.
   * @default none beyond the stack-name prefix and the audit function's own role
   */
  readonly ownRoles?: readonly iam.IRole[];
}

/** The delete signals and the registry operations the audit function consumes. */
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
  /** Pushes, recorded as `PutImage` operations (docs/events.md §3.9). */
  imagePush: {
    source: [EVENTS.ecrSource],
    detailType: [EVENTS.imageAction],
    detail: { 'action-type': ['PUSH'], result: ['SUCCESS'] },
  },
  /** Registry operations: CloudTrail management events of ECR (write calls: the rule's default state hears them). */
  operationCall: {
    source: [EVENTS.ecrSource],
    detailType: [EVENTS.cloudTrailApiCall],
    detail: { eventSource: ['ecr.amazonaws.com'], eventName: [...CLOUDTRAIL_OPERATIONS] },
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
      description:
        'ECR Steward audit: one record per image deletion and registry operation, delete-rate and security alerts, the breaker',
      config: props.config,
      timeout: Duration.minutes(1),
      memorySize: 512,
      reservedConcurrency: StewardFunction.reservedConcurrency(props.config, 'audit'),
      environment: {
        [ENV.auditTable]: props.auditTable.tableName,
        [ENV.stateTable]: props.stateTable.tableName,
        [ENV.alertsTopic]: props.alertsTopic.topicArn,
        [ENV.auditDlqUrl]: dlq.queue.queueUrl,
        // A policy granting this account is no finding; the account comes from the stack, not from STS.
        [ENV.registryId]: Aws.ACCOUNT_ID,
        ...(props.securityTopic ? { [ENV.securityTopic]: props.securityTopic.topicArn } : {}),
        // Pending alerts' deadlines are delayed messages to this queue (functions/audit/attribution.ts).
        [AUDIT_ENV.queueUrl]: this.queue.queueUrl,
        // CloudFormation names unnamed roles `<stack name>-<logical id>-<suffix>`.
        [AUDIT_ENV.ownRolePrefix]: `${Stack.of(this).stackName}-`,
        ...(props.ownRoles?.length
          ? { [AUDIT_ENV.ownRoleArns]: props.ownRoles.map((r) => r.roleArn).join(',') }
          : {}),
      },
    });
    this.function.function.addEventSource(
      new SqsEventSource(this.queue, {
        // A burst (a cleanup's 100-image batches, a person's mass delete) arrives as a few large batches: the
        // handler reads a batch's records in one BatchGetItem of up to 100 keys and counts its deletions with one
        // ADD per window, so 100 at a time, gathered for up to 2 s, cut its DynamoDB calls by the batch.
        batchSize: 100,
        maxBatchingWindow: Duration.seconds(2),
        reportBatchItemFailures: true,
        maxConcurrency: StewardFunction.sqsMaxConcurrency(
          StewardFunction.reservedConcurrency(props.config, 'audit'),
        ),
      }),
    );
    grantAuditRecords(props.auditTable, this.function.function);
    props.stateTable.grantReadWriteData(this.function.function);
    props.alertsTopic.grantPublish(this.function.function);
    props.securityTopic?.grantPublish(this.function.function);
    dlq.queue.grantSendMessages(this.function.function);
    this.queue.grantSendMessages(this.function.function);
    acknowledge(
      this.function.role,
      wildcardResource(`${nagArnRef(props.auditTable)}/index/*`),
      "Alerts tally recent deletions through the audit table's own indexes.",
    );
    acknowledge(
      this.function.role,
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      "Publishing to the KMS-encrypted alerts and security topics needs GenerateDataKey* on those topics' keys only (granted by grantPublish).",
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
      imagePush: rule(
        'PushRule',
        'ECR Steward audit: pushes (ECR Image Action PUSH)',
        AUDIT_PATTERNS.imagePush,
      ),
      operationCall: rule(
        'OperationRule',
        'ECR Steward audit: registry operations (CloudTrail management events of ECR)',
        AUDIT_PATTERNS.operationCall,
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
