import { Duration, TimeZone } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DIGEST_KIND } from '../../functions/digest/schema.js';
import { AUDIT_INDEXES } from '../../functions/shared/audit/store.js';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { ENV } from '../../functions/shared/runtime/constants.js';
import { acknowledge, nagArnRef, nagRepositoryArn, wildcardResource } from '../nag.js';
import { inUseReadActions } from './cleanup.js';
import { managedScope } from './managed-scope.js';
import type { StewardParts } from './parts.js';
import { DeadLetterQueue } from './secure-queue.js';
import { StewardFunction } from './steward-function.js';

/** The ECR reads of the digest's plans: the cleanup worker's image reads, and no write. */
export const DIGEST_ECR_READ_ACTIONS = [
  'ecr:BatchGetImage',
  'ecr:DescribeImages',
  'ecr:DescribeRepositories',
  'ecr:GetLifecyclePolicy',
  'ecr:ListTagsForResource',
] as const;

/** The state-table actions of the digest's once-markers (a conditional put, a read, the update to done). */
export const DIGEST_MARKER_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'] as const;

export interface DigestProps {
  /** The validated config: `digest` (schedule, time zone), the selections and the in-use sources. */
  readonly config: StewardConfig;
  /** The parts of the stack the digest reads (tables) and writes to (the state table's markers, the topics). */
  readonly parts: Pick<StewardParts, 'topics' | 'tables' | 'gate'>;
  /**
   * The function's timeout: it plans every managed repository (four at a time).
   * @default Duration.minutes(10)
   */
  readonly timeout?: Duration;
  /** @default 1024 */
  readonly memorySize?: number;
}

/**
 * The weekly digest (issue 14 §3): an EventBridge Scheduler schedule on `digest.schedule` in `digest.timezone`
 * invokes the digest function with the run's scheduled time, and the function sends each selection's digest on
 * the notices topic (its filtered subscriptions match the `selection` attribute) and the registry's on the alerts
 * topic. Least privilege: the byDay index of the audit table (Query), the holds and verdict tables (Scan), the
 * state table's markers, ECR image reads on the managed repositories (no write of any kind), the in-use reads,
 * and Publish on the two topics. Failed deliveries and failed runs go to a dead-letter queue with an alarm.
 */
export class Digest extends Construct {
  readonly function: StewardFunction;
  /** Where a run goes when the scheduler cannot deliver it or the function fails it after Lambda's retries. */
  readonly deadLetterQueue: sqs.Queue;
  readonly schedule: scheduler.Schedule;
  readonly schedulerRole: iam.Role;

  constructor(scope: Construct, id: string, props: DigestProps) {
    super(scope, id);
    const { config } = props;
    const { topics, tables, gate } = props.parts;
    if (!config.digest.enabled)
      throw new Error(
        'Digest: the config says digest.enabled: false; leave the Digest construct out (or set digest.enabled to true)',
      );

    const dlq = new DeadLetterQueue(this, 'DeadLetter', {
      alarmTopic: topics.alerts,
      description: 'the weekly digest',
    });
    this.deadLetterQueue = dlq.queue;
    this.function = new StewardFunction(this, 'Function', {
      entry: 'functions/digest/handler.ts',
      handler: 'handler',
      description: 'ECR Steward weekly digest: sends each selection and the alerts topic the week',
      config,
      timeout: props.timeout ?? Duration.minutes(10),
      memorySize: props.memorySize ?? 1024,
      environment: {
        [ENV.auditTable]: tables.audit.tableName,
        [ENV.stateTable]: tables.state.tableName,
        [ENV.holdsTable]: tables.holds.tableName,
        [ENV.verdictTable]: gate.verdictTable.tableName,
        [ENV.noticesTopic]: topics.notices.topicArn,
        [ENV.alertsTopic]: topics.alerts.topicArn,
      },
      onFailureQueue: dlq.queue,
    });
    const fn = this.function.function;

    // Each table exactly as the digest reads or writes it; no index wildcard, so no acknowledgement.
    iam.Grant.addToPrincipal({
      grantee: fn,
      actions: ['dynamodb:Query'],
      resourceArns: [`${tables.audit.tableArn}/index/${AUDIT_INDEXES.byDay}`],
    });
    tables.state.grant(fn, ...DIGEST_MARKER_ACTIONS);
    // The holds of every repository (HoldsStore.list) and the week's FAIL verdicts: tables without an index by
    // time, read once a week.
    iam.Grant.addToPrincipal({
      grantee: fn,
      actions: ['dynamodb:Scan'],
      resourceArns: [tables.holds.tableArn, gate.verdictTable.tableArn],
    });
    topics.notices.grantPublish(fn);
    topics.alerts.grantPublish(fn);
    acknowledge(
      this.function.role,
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      'Publishing to the KMS-encrypted notices and alerts topics needs GenerateDataKey* on their key only (granted by grantPublish).',
    );
    this.grantEcrReads(config);
    const inUse = inUseReadActions(config);
    if (inUse.length > 0)
      this.function.addPolicy(
        'InUsePolicy',
        [new iam.PolicyStatement({ sid: 'InUseSources', actions: inUse, resources: ['*'] })],
        {
          resources: ['*'],
          reason:
            "The digest's plans keep running images as the cleanup does, reading every ECS task and service and every Lambda function of the account; these actions are read-only and most have no resource-level permissions.",
        },
      );

    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
      description: 'ECR Steward: lets EventBridge Scheduler start the weekly digest',
    });
    acknowledge(
      this.schedulerRole,
      wildcardResource(`${nagArnRef(fn)}:*`),
      'The scheduler target grants invoke on the digest function and its versions; nothing else.',
    );
    const { schedule, timezone } = config.digest;
    this.schedule = new scheduler.Schedule(this, 'DigestSchedule', {
      description: 'ECR Steward: the weekly digest',
      // UTC is left to CDK's default (Etc/UTC), as the sweep's schedule does.
      schedule: scheduler.ScheduleExpression.expression(
        schedule,
        timezone === 'UTC' ? undefined : TimeZone.of(timezone),
      ),
      target: new schedulerTargets.LambdaInvoke(fn, {
        role: this.schedulerRole,
        // The scheduled time names the week, the same for every retry of one run: the digest's markers key on it.
        input: scheduler.ScheduleTargetInput.fromObject({
          kind: DIGEST_KIND,
          scheduledTime: scheduler.ContextAttribute.scheduledTime,
        }),
        deadLetterQueue: dlq.queue,
        retryAttempts: 3,
        maxEventAge: Duration.hours(1),
      }),
    });
  }

  /**
   * ECR reads: listing every repository (names only) to find the managed ones, and the plans' image reads on the
   * managed repositories only (`managedScope`). No write action at all: the digest never changes an image.
   */
  private grantEcrReads(config: StewardConfig): void {
    const scope = managedScope(this, config);
    const statements = [
      new iam.PolicyStatement({
        sid: 'ListRepositories',
        actions: ['ecr:DescribeRepositories', ...(scope.byTags ? ['ecr:ListTagsForResource'] : [])],
        resources: [StewardFunction.repositoryArn(this, '*')],
      }),
      ...scope.statements('ManagedRepositoryReads', DIGEST_ECR_READ_ACTIONS),
    ];
    this.function.addPolicy('RepositoryPolicy', statements, {
      resources: [...new Set([nagRepositoryArn(this, '*'), ...scope.nagWildcards])],
      reason: `The digest lists every repository of the registry (DescribeRepositories${scope.byTags ? ' and ListTagsForResource, which tell whether a repository is managed' : ''}) and reads the images and lifecycle policies of ${scope.description} only, to plan them read-only; it has no ECR write action.`,
    });
  }
}
