import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { effectiveGovernance } from '../../functions/shared/config/governance.js';
import { needsRepositoryTags, repositoryNameFilters } from '../../functions/shared/config/load.js';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { ENV, EVENTS } from '../../functions/shared/runtime/constants.js';
import { acknowledge, nagArnRef, nagRepositoryArn, wildcardResource } from '../nag.js';
import { approvalsEnabled } from './approvals.js';
import { grantAuditRecords, grantHoldReads, grantRequestRecords } from './audit-tables.js';
import { actionNames, ECR_WRITE_ACTIONS, managedScope } from './managed-scope.js';
import { DeadLetterQueue } from './secure-queue.js';
import { StewardFunction } from './steward-function.js';
import { sweepSchedule } from './sweep-schedule.js';

export interface CleanupProps {
  readonly config: StewardConfig;
  readonly auditTable: dynamodb.ITableV2;
  readonly stateTable: dynamodb.ITableV2;
  readonly alertsTopic: sns.ITopic;
  /** Holds placed from the CLI: the worker and the sweep read them, never write them. */
  readonly holdsTable: dynamodb.ITableV2;
  /** Deletion notices: the worker publishes one per repository and run; the sweep, expired requests. */
  readonly noticesTopic: sns.ITopic;
  /**
   * Deletion requests: the worker creates one when a run needs an approval and reads the decisions; the sweep
   * (the due-deletion processor) expires unanswered ones. Neither deletes or scans a request.
   */
  readonly requestsTable: dynamodb.ITableV2;
  /** Approval requests: the worker announces each new request. */
  readonly approvalsTopic: sns.ITopic;
  /** Visibility timeout of the cleanup queue = 6 × the worker timeout. @default Duration.minutes(5) */
  readonly workerTimeout?: Duration;
}

/**
 * Whether the config makes any deletion wait for its due time: a notice period (`notice.hours` > 0), soft
 * delete (`softDelete.mode` archive, whose purge comes later), globally or in some selection, or approvals
 * (`approvalsEnabled`: an approved request is deleted, and an unanswered one expired, by the due-deletion
 * processor). Only then does the stack start the due-deletion processor.
 */
export function needsDueProcessing(config: StewardConfig): boolean {
  const waits = (g: { notice: { hours: number }; softDelete: { mode: string } }) =>
    g.notice.hours > 0 || g.softDelete.mode === 'archive';
  return (
    waits(config.governance) ||
    config.selections.some((selection) => waits(effectiveGovernance(config.governance, selection))) ||
    approvalsEnabled(config)
  );
}

/** The `repository-name` filter of the arrival rules, or undefined when selections cannot be told apart by name. */
function repositoryNameFilter(config: StewardConfig): events.EventPattern['detail'] {
  const names = repositoryNameFilters(config);
  return names
    ? { 'repository-name': [...names.exact, ...names.prefixes.map((prefix) => ({ prefix }))] }
    : {};
}

/** The EventBridge pattern for successful pushes, narrowed to managed repositories where names allow it. */
export function pushEventPattern(config: StewardConfig): events.EventPattern {
  return {
    source: [EVENTS.ecrSource],
    detailType: [EVENTS.imageAction],
    detail: { 'action-type': ['PUSH'], result: ['SUCCESS'], ...repositoryNameFilter(config) },
  };
}

/**
 * The patterns of every way an image arrives in the registry, each narrowed like pushes: a push; a completed
 * replication (`ECR Replication Action` is emitted in the destination registry, which is the one this stack
 * watches); a pull-through cache sync (whose outcome is `sync-status`, not `result`).
 */
export function arrivalEventPatterns(
  config: StewardConfig,
): Record<'push' | 'replication' | 'pullThroughCache', events.EventPattern> {
  return {
    push: pushEventPattern(config),
    replication: {
      source: [EVENTS.ecrSource],
      detailType: [EVENTS.replicationAction],
      detail: { 'action-type': ['REPLICATE'], result: ['SUCCESS'], ...repositoryNameFilter(config) },
    },
    pullThroughCache: {
      source: [EVENTS.ecrSource],
      detailType: [EVENTS.pullThroughCacheAction],
      detail: { 'sync-status': ['SUCCESS'], ...repositoryNameFilter(config) },
    },
  };
}

/**
 * Cleanup: arrivals (pushes, replications, pull-through cache syncs) and a scheduled sweep feed one FIFO queue
 * (message group = repository), and a worker applies each repository's lifecycle rules with the Steward
 * protections.
 *
 * EventBridge rules cannot set a per-event FIFO message group, so arrivals go through `intake` (the same
 * bundle), which enqueues with group = repository and deduplication id = event id.
 */
export class Cleanup extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly worker: StewardFunction;
  readonly intake: StewardFunction;
  readonly sweep: StewardFunction;
  readonly pushRule: events.Rule;
  /** Replicated and pull-through-cached images reach the intake like pushes. */
  readonly replicationRule: events.Rule;
  readonly pullThroughCacheRule: events.Rule;
  readonly schedule: scheduler.Schedule;
  /** Starts the due-deletion processor (`{"kind":"due"}` to the sweep); only when `needsDueProcessing`. */
  readonly dueSchedule?: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: CleanupProps) {
    super(scope, id);
    const workerTimeout = props.workerTimeout ?? Duration.minutes(5);
    const dlq = new DeadLetterQueue(this, 'DeadLetter', {
      fifo: true,
      alarmTopic: props.alertsTopic,
      description: 'the cleanup queue',
    });
    const asyncDlq = new DeadLetterQueue(this, 'AsyncDeadLetter', {
      alarmTopic: props.alertsTopic,
      description: 'cleanup intake and sweep',
    });
    this.deadLetterQueue = dlq.queue;
    this.queue = new sqs.Queue(this, 'Queue', {
      fifo: true,
      contentBasedDeduplication: false,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(workerTimeout.toSeconds() * 6),
      deadLetterQueue: { queue: dlq.queue, maxReceiveCount: 5 },
    });

    const environment = {
      [ENV.cleanupQueueUrl]: this.queue.queueUrl,
      [ENV.cleanupDlqUrl]: dlq.queue.queueUrl,
      [ENV.auditTable]: props.auditTable.tableName,
      [ENV.stateTable]: props.stateTable.tableName,
    };
    const fn = (
      id: string,
      handler: 'worker' | 'intake' | 'sweep',
      description: string,
      timeout: Duration,
      memorySize: number,
      onFailure?: sqs.IQueue,
      extra: Record<string, string> = {},
    ) =>
      new StewardFunction(this, id, {
        // The intake only queues arrivals: its own entry bundles none of the cleanup core, for a quicker cold
        // start on the first push after a quiet spell.
        entry: handler === 'intake' ? 'functions/cleanup/intake.ts' : 'functions/cleanup/handler.ts',
        handler,
        description,
        config: props.config,
        timeout,
        memorySize,
        environment: { ...environment, ...extra },
        reservedConcurrency: StewardFunction.reservedConcurrency(props.config, handler),
        ...(onFailure ? { onFailureQueue: onFailure } : {}),
      });
    this.worker = fn(
      'Worker',
      'worker',
      'ECR Steward cleanup worker: applies lifecycle rules to one repository',
      workerTimeout,
      1024,
      undefined,
      {
        [ENV.holdsTable]: props.holdsTable.tableName,
        [ENV.noticesTopic]: props.noticesTopic.topicArn,
        [ENV.requestsTable]: props.requestsTable.tableName,
        [ENV.approvalsTopic]: props.approvalsTopic.topicArn,
      },
    );
    this.intake = fn(
      'Intake',
      'intake',
      'ECR Steward cleanup intake: queues pushes by repository',
      Duration.seconds(30),
      256,
      asyncDlq.queue,
    );
    this.sweep = fn(
      'Sweep',
      'sweep',
      'ECR Steward cleanup sweep: queues every managed repository',
      Duration.minutes(5),
      512,
      asyncDlq.queue,
      {
        [ENV.holdsTable]: props.holdsTable.tableName,
        [ENV.requestsTable]: props.requestsTable.tableName,
        [ENV.noticesTopic]: props.noticesTopic.topicArn,
      },
    );

    this.worker.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: StewardFunction.sqsMaxConcurrency(
          StewardFunction.reservedConcurrency(props.config, 'worker'),
        ),
      }),
    );
    this.queue.grantSendMessages(this.intake.function);
    this.queue.grantSendMessages(this.sweep.function);
    dlq.queue.grantSendMessages(this.worker.function);
    grantAuditRecords(props.auditTable, this.worker.function);
    acknowledge(
      this.worker.role,
      wildcardResource(`${nagArnRef(props.auditTable)}/index/*`),
      "The audit queries (by repository, run and day) read the audit table's own indexes.",
    );
    props.stateTable.grantReadWriteData(this.worker.function);
    grantHoldReads(props.holdsTable, this.worker.function);
    grantHoldReads(props.holdsTable, this.sweep.function);
    props.noticesTopic.grantPublish(this.worker.function);
    // The requests table and the approvals topic exist whatever the config says, so these grants do too: a
    // request made while approvals were on is still honoured (or expired) after they are switched off.
    grantRequestRecords(props.requestsTable, this.worker.function);
    grantRequestRecords(props.requestsTable, this.sweep.function);
    props.approvalsTopic.grantPublish(this.worker.function);
    props.noticesTopic.grantPublish(this.sweep.function);
    acknowledge(
      this.worker.role,
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      'Publishing to the KMS-encrypted notices and approvals topics needs GenerateDataKey* on their key only (granted by grantPublish).',
    );
    acknowledge(
      this.sweep.role,
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      'The due-deletion processor tells the KMS-encrypted notices topic of expired requests; publishing needs GenerateDataKey* on its key only (granted by grantPublish).',
    );

    const patterns = arrivalEventPatterns(props.config);
    const intakeTarget = new targets.LambdaFunction(this.intake.function, {
      deadLetterQueue: asyncDlq.queue,
      retryAttempts: 185,
      maxEventAge: Duration.hours(24),
    });
    const arrivalRule = (id: string, description: string, pattern: events.EventPattern) => {
      const rule = new events.Rule(this, id, { description, eventPattern: pattern });
      rule.addTarget(intakeTarget);
      return rule;
    };
    this.pushRule = arrivalRule(
      'PushRule',
      'ECR Steward: successful pushes to managed repositories',
      patterns.push,
    );
    this.replicationRule = arrivalRule(
      'ReplicationRule',
      'ECR Steward: images replicated into managed repositories',
      patterns.replication,
    );
    this.pullThroughCacheRule = arrivalRule(
      'PullThroughCacheRule',
      'ECR Steward: images synced into managed repositories by a pull-through cache',
      patterns.pullThroughCache,
    );

    this.schedule = sweepSchedule(this, 'SweepSchedule', {
      config: props.config,
      purpose: 'the sweep',
      description: 'ECR Steward: sweep every managed repository',
      fn: this.sweep.function,
      input: { kind: 'sweep' },
      deadLetterQueue: asyncDlq.queue,
    });

    if (needsDueProcessing(props.config)) {
      // The sweep finds the due notices and the archived images to purge in the audit table's byDue index and
      // queues their repositories on the FIFO queue, so a due deletion never races a push cleanup of the same
      // repository. Query only: the worker, not the sweep, writes the records.
      props.auditTable.grant(this.sweep.function, 'dynamodb:Query');
      acknowledge(
        this.sweep.role,
        wildcardResource(`${nagArnRef(props.auditTable)}/index/*`),
        "The due-deletion processor reads due notices and archived images through the audit table's sparse byDue index (Query only).",
      );
      this.dueSchedule = sweepSchedule(this, 'DueDeletionSchedule', {
        config: props.config,
        purpose: 'the due-deletion processor',
        description: 'ECR Steward: process due deletion notices and purge expired archived images',
        fn: this.sweep.function,
        input: { kind: 'due' },
        deadLetterQueue: asyncDlq.queue,
        expression: props.config.governance.dueSchedule,
        roleId: 'DueDeletionSchedulerRole',
      });
    }

    this.grantEcr(props.config);
    this.grantInUseReads(props.config);
  }

  /**
   * ECR permissions. Image reads and writes are scoped to the managed repositories (`managedScope`): their name
   * globs, or any repository while it carries the tags a selection requires.
   */
  private grantEcr(config: StewardConfig): void {
    const scope = managedScope(this, config);
    const repoActions = [
      'ecr:DescribeImages',
      'ecr:BatchGetImage',
      'ecr:BatchDeleteImage',
      'ecr:UpdateImageStorageClass',
      'ecr:GetLifecyclePolicy',
      'ecr:ListTagsForResource',
      'ecr:DescribeRepositories',
      // Backup: the plan says which deletions leave a replica in another region (config `backup`).
      ...(config.backup ? ['ecr:DescribeImageReplicationStatus'] : []),
    ];
    const statements = scope.statements('ManagedRepositories', repoActions);
    if (scope.byTags) {
      // A repository's tags are how the worker learns that it is managed, so they are readable on every repository.
      statements.push(
        new iam.PolicyStatement({
          sid: 'ReadRepositoryTags',
          actions: ['ecr:DescribeRepositories', 'ecr:ListTagsForResource'],
          resources: [StewardFunction.repositoryArn(this, '*')],
        }),
      );
    }
    const writes = repoActions.filter((a) => (ECR_WRITE_ACTIONS as readonly string[]).includes(a));
    this.worker.addPolicy('RepositoryPolicy', statements, {
      resources: scope.nagWildcards,
      reason: `${actionNames(writes)} and image reads only on ${scope.description} (generated from the config's selections; tag sets are aws:ResourceTag conditions on repository/*)${scope.byTags ? '; only DescribeRepositories and ListTagsForResource, which tell whether a repository is managed, are on every repository' : ''}.`,
    });
    const listing = [
      new iam.PolicyStatement({
        sid: 'ListRepositories',
        actions: ['ecr:DescribeRepositories'],
        resources: [StewardFunction.repositoryArn(this, '*')],
      }),
    ];
    if (needsRepositoryTags(config)) {
      listing.push(
        new iam.PolicyStatement({
          sid: 'FindTaggedRepositories',
          actions: ['tag:GetResources'],
          resources: ['*'],
        }),
      );
    }
    this.sweep.addPolicy('ListPolicy', listing, {
      resources: [nagRepositoryArn(this, '*'), ...(needsRepositoryTags(config) ? ['*'] : [])],
      reason:
        'The sweep lists every repository of the registry (metadata only: no image data, no writes) to find the managed ones; tag:GetResources has no resource-level permissions.',
    });
  }

  /** In-use sources: ECS and Lambda reads. Their List and Describe actions have no resource-level scope. */
  private grantInUseReads(config: StewardConfig): void {
    const actions = inUseReadActions(config);
    if (actions.length === 0) return;
    this.worker.addPolicy(
      'InUsePolicy',
      [new iam.PolicyStatement({ sid: 'InUseSources', actions, resources: ['*'] })],
      {
        resources: ['*'],
        reason:
          'Finding running images reads every ECS cluster, service, task and task definition and every Lambda function of the account; these actions are read-only and most have no resource-level permissions.',
      },
    );
  }
}

/** The ECS and Lambda reads of the in-use sources the config enables (adapters/in-use.ts). */
export function inUseReadActions(config: StewardConfig): string[] {
  return [
    ...(config.inUse.ecs.enabled
      ? [
          'ecs:ListClusters',
          'ecs:ListTasks',
          'ecs:DescribeTasks',
          'ecs:ListServices',
          'ecs:DescribeServices',
          'ecs:ListTaskDefinitionFamilies',
          'ecs:ListTaskDefinitions',
          'ecs:DescribeTaskDefinition',
        ]
      : []),
    ...(config.inUse.lambda.enabled
      ? ['lambda:ListFunctions', 'lambda:ListVersionsByFunction', 'lambda:GetFunction']
      : []),
  ];
}
