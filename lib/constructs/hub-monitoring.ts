import { Annotations, Aws, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { hubAlarmList, MAX_MESSAGE_AGE_MINUTES, STEWARD_METRICS } from './alarm-list.js';
import type { OrgHub } from './org-hub.js';
import { DeadLetterQueue } from './secure-queue.js';

const PERIOD = Duration.minutes(5);

export interface HubMonitoringProps {
  readonly hub: OrgHub;
  /** The hub's alerts topic: every alarm notifies it. */
  readonly alerts: sns.ITopic;
}

/** A metric of the hub function's EMF output (`service: org-hub`); unlabelled for alarms. */
function hubMetric(name: string, label?: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: STEWARD_METRICS.namespace,
    metricName: name,
    dimensionsMap: { service: STEWARD_METRICS.orgHub.service },
    statistic: 'Sum',
    period: PERIOD,
    ...(label !== undefined ? { label } : {}),
  });
}

/** `WriteThrottleEvents` of one table. */
function writeThrottles(table: dynamodb.ITableV2, label?: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/DynamoDB',
    metricName: 'WriteThrottleEvents',
    dimensionsMap: { TableName: table.tableName },
    statistic: 'Sum',
    period: PERIOD,
    ...(label !== undefined ? { label } : {}),
  });
}

/**
 * The organization hub's own dashboard and alarms (the spokes each have theirs, `Monitoring`): the ingest
 * function's invocations, errors, duration and throttles; the ingest queue's depth and oldest message; its
 * dead letters; the records written to the organization audit trail, deletions counted, alerts republished,
 * refused events and the organization breaker; the organization tables' throttles. Every alarm notifies the
 * hub's alerts topic; their names are `hubAlarmList()`'s, after the stack's name.
 */
export class HubMonitoring extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: ReadonlyMap<string, cloudwatch.Alarm>;

  constructor(scope: Construct, id: string, props: HubMonitoringProps) {
    super(scope, id);
    const { hub } = props;
    const action = new cwActions.SnsAction(props.alerts);
    const summaries = new Map(hubAlarmList().map((s) => [s.name, s]));
    const alarmName = (name: string) => `${Aws.STACK_NAME}-${name}`;
    const alarms = new Map<string, cloudwatch.Alarm>();
    const alarm = (name: string, metric: cloudwatch.IMetric, threshold: number) => {
      const s = summaries.get(name);
      const a = new cloudwatch.Alarm(this, name, {
        alarmName: alarmName(name),
        alarmDescription: s ? `ECR Steward hub: ${s.what} — ${s.threshold}` : `ECR Steward hub: ${name}`,
        metric,
        threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(action);
      alarms.set(name, a);
    };

    // The ingest queue's dead-letter queue already alarms on its first message (to the alerts topic).
    const dlq = hub.node.tryFindChild('DeadLetter');
    if (!(dlq instanceof DeadLetterQueue)) throw new Error('HubMonitoring: the hub has no DeadLetter queue');
    (dlq.alarm.node.defaultChild as cloudwatch.CfnAlarm).alarmName = alarmName('org-ingest-dlq');
    alarms.set('org-ingest-dlq', dlq.alarm);
    const fn = hub.function.function;
    alarm('org-hub-errors', fn.metricErrors({ statistic: 'Sum', period: PERIOD }), 0);
    alarm(
      'org-ingest-queue-age',
      hub.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: PERIOD }),
      MAX_MESSAGE_AGE_MINUTES * 60,
    );
    alarm('org-breaker-opened', hubMetric(STEWARD_METRICS.orgHub.breakerOpened), 0);
    alarm(
      'org-tables-throttled',
      new cloudwatch.MathExpression({
        expression: 'audit + state',
        usingMetrics: { audit: writeThrottles(hub.auditTable), state: writeThrottles(hub.stateTable) },
        period: PERIOD,
      }),
      0,
    );
    this.alarms = alarms;
    const built = [...alarms.keys()].sort().join(', ');
    const listed = [...summaries.keys()].sort().join(', ');
    if (built !== listed)
      Annotations.of(this).addWarningV2(
        '@ecr-steward/monitoring:hub-alarm-list',
        `the hub alarms built (${built}) differ from hubAlarmList() (${listed})`,
      );

    const graph = (title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []) =>
      new cloudwatch.GraphWidget({ title, left, right, width: 12, height: 6 });
    const sum = { statistic: 'Sum', period: PERIOD };
    const m = STEWARD_METRICS.orgHub;
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${Aws.STACK_NAME}-${Aws.REGION}`,
      defaultInterval: Duration.days(1),
      widgets: [
        [
          new cloudwatch.TextWidget({
            markdown:
              '# ECR Steward organization hub\nThe spokes forward their audit records and alerts here. Every alarm below notifies the hub alerts topic.',
            width: 24,
            height: 2,
          }),
        ],
        [
          new cloudwatch.AlarmStatusWidget({
            title: 'Alarms',
            alarms: [...alarms.values()],
            width: 24,
            height: 4,
          }),
        ],
        [
          graph('org-hub: invocations, errors, throttles', [
            fn.metricInvocations({ ...sum, label: 'invocations' }),
            fn.metricErrors({ ...sum, label: 'errors' }),
            fn.metricThrottles({ ...sum, label: 'throttles' }),
          ]),
          graph('org-hub: duration', [
            fn.metricDuration({ statistic: 'p50', period: PERIOD, label: 'p50' }),
            fn.metricDuration({ statistic: 'p95', period: PERIOD, label: 'p95' }),
            fn.metricDuration({ statistic: 'Maximum', period: PERIOD, label: 'max' }),
          ]),
        ],
        [
          graph(
            'org ingest queue: depth and oldest message age',
            [
              hub.queue.metricApproximateNumberOfMessagesVisible({
                statistic: 'Maximum',
                period: PERIOD,
                label: 'waiting',
              }),
              dlq.queue.metricApproximateNumberOfMessagesVisible({
                statistic: 'Maximum',
                period: PERIOD,
                label: 'dead letters',
              }),
            ],
            [
              hub.queue.metricApproximateAgeOfOldestMessage({
                statistic: 'Maximum',
                period: PERIOD,
                label: 'oldest message (s)',
              }),
            ],
          ),
          graph(
            'organization audit trail',
            [
              hubMetric(m.recordsWritten, 'records written'),
              hubMetric(m.deletesCounted, 'deletions counted'),
              hubMetric(m.alertsPublished, 'alerts republished'),
            ],
            [
              hubMetric(m.malformedEvents, 'events refused'),
              hubMetric(m.breakerOpened, 'org breaker opened'),
              writeThrottles(hub.auditTable, 'audit table write throttles'),
              writeThrottles(hub.stateTable, 'state table write throttles'),
            ],
          ),
        ],
      ],
    });
  }
}
