import { Duration, TimeZone } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { acknowledge, nagArnRef, wildcardResource } from '../nag.js';

export interface SweepScheduleProps {
  readonly config: StewardConfig;
  /** What the role and the schedule say they are for. */
  readonly purpose: string;
  readonly description: string;
  readonly fn: lambda.IFunction;
  /** The payload the function receives (`{"kind": …}`). */
  readonly input: Record<string, string>;
  readonly deadLetterQueue: sqs.IQueue;
  /**
   * The schedule expression, read in the sweep's time zone (which matters for `cron(…)` only).
   * @default the config's `sweep.schedule`
   */
  readonly expression?: string;
  /** The id of the scheduler role in `scope`; a second schedule in one scope needs its own. @default 'SchedulerRole' */
  readonly roleId?: string;
}

/**
 * An EventBridge Scheduler schedule on the config's sweep schedule (or `expression`) and time zone that invokes
 * one function with a fixed payload, through a role that may invoke that function only; failed deliveries are
 * retried, then dead-lettered. The role (`roleId`) and `id` children are created in `scope`.
 */
export function sweepSchedule(scope: Construct, id: string, props: SweepScheduleProps): scheduler.Schedule {
  const role = new iam.Role(scope, props.roleId ?? 'SchedulerRole', {
    assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
    description: `ECR Steward: lets EventBridge Scheduler start ${props.purpose}`,
  });
  acknowledge(
    role,
    wildcardResource(`${nagArnRef(props.fn)}:*`),
    `The scheduler target grants invoke on the function that runs ${props.purpose}, and its versions; nothing else.`,
  );
  const { timezone } = props.config.sweep;
  const schedule = props.expression ?? props.config.sweep.schedule;
  return new scheduler.Schedule(scope, id, {
    description: props.description,
    // UTC (the default) is left out, so the template stays as it was.
    schedule: scheduler.ScheduleExpression.expression(
      schedule,
      timezone === 'UTC' ? undefined : TimeZone.of(timezone),
    ),
    target: new schedulerTargets.LambdaInvoke(props.fn, {
      role,
      input: scheduler.ScheduleTargetInput.fromObject(props.input),
      deadLetterQueue: props.deadLetterQueue,
      retryAttempts: 3,
      maxEventAge: Duration.hours(1),
    }),
  });
}
