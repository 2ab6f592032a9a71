import { Annotations, Aws, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import {
  type AlarmSummary,
  alarmList,
  type DeadLetterKey,
  type FunctionKey,
  MAX_MESSAGE_AGE_MINUTES,
  type QueueKey,
  STEWARD_METRICS,
  watched,
} from './alarm-list.js';
import type { StewardParts } from './parts.js';
import { DeadLetterQueue } from './secure-queue.js';
import type { StewardFunction } from './steward-function.js';

export { type AlarmSummary, alarmList, STEWARD_METRICS };

/** Alarm windows: five minutes for counts, so one failure is seen within minutes but a graph stays readable. */
const PERIOD = Duration.minutes(5);
const MAX_MESSAGE_AGE = Duration.minutes(MAX_MESSAGE_AGE_MINUTES);

/** A stack's parts, with the weekly digest once the stack builds one (its function is watched too). */
export type MonitoredParts = StewardParts & {
  /** The weekly digest (`Digest`). @default none: no digest to watch */
  readonly digest?: { readonly function: StewardFunction; readonly deadLetterQueue: sqs.IQueue };
};

export interface MonitoringProps {
  /** The validated config: what it deploys is what is watched (`alarmList`). */
  readonly config: StewardConfig;
  /** The stack's parts, as `buildSteward` returns them. */
  readonly parts: MonitoredParts;
}

/** The custom metric `name` of `service`, summed over the alarm window. */
function stewardMetric(
  service: string,
  name: string,
  label?: string,
  extra: Readonly<Record<string, string>> = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: STEWARD_METRICS.namespace,
    metricName: name,
    dimensionsMap: { service, ...extra },
    statistic: 'Sum',
    period: PERIOD,
    // An alarm's metric goes without a label: with one, CloudFormation gets the metric-math form.
    ...(label !== undefined ? { label } : {}),
  });
}

/** The `DeadLetterQueue` construct that owns `queue` (its alarm is reused, never duplicated). */
function deadLetterOf(queue: IConstruct | undefined, key: string): DeadLetterQueue {
  const owner = queue?.node.scope;
  if (!(owner instanceof DeadLetterQueue))
    throw new Error(`Monitoring: ${key} is not a DeadLetterQueue of the stack's parts`);
  return owner;
}

/**
 * ECR Steward's own health and work on one CloudWatch dashboard, and the alarms that call someone (all to the
 * alerts topic): per function, invocations, errors, duration and throttles; per queue, depth and the oldest
 * message's age; the dead-letter queues; audit writes and failures; deletes, bytes reclaimed and gate
 * verdicts (the functions' EMF metrics). Built with `aws-cdk-lib/aws-cloudwatch` directly: the widgets and
 * alarms are exactly those `alarmList` names, and the dead-letter queues keep the alarms they already have.
 */
export class Monitoring extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  /** Every alarm of the stack that notifies the alerts topic, by `alarmList` name. */
  readonly alarms: ReadonlyMap<string, cloudwatch.Alarm>;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { config, parts } = props;
    const w = watched(config);
    const alerts = new cwActions.SnsAction(parts.topics.alerts);
    const alarms = new Map<string, cloudwatch.Alarm>();
    // Names carry the stack's (alarm names are per account and region): the alert e-mail says which stack.
    const alarmName = (name: string) => `${Aws.STACK_NAME}-${name}`;
    const summaries = new Map(alarmList(config).map((s) => [s.name, s]));
    const describe = (name: string) => {
      const s = summaries.get(name);
      return s ? `ECR Steward: ${s.what} — ${s.threshold}` : `ECR Steward: ${name}`;
    };
    const alarm = (name: string, metric: cloudwatch.IMetric, threshold: number) => {
      const a = new cloudwatch.Alarm(this, name, {
        alarmName: alarmName(name),
        alarmDescription: describe(name),
        metric,
        threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        // No invocations, no messages, no custom datapoint: nothing is wrong.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(alerts);
      alarms.set(name, a);
      return a;
    };

    const functions = this.functions(parts, w.functions);
    const queues = this.queues(parts, w.queues);
    const deadLetters = this.deadLetters(parts, w.deadLetters);

    // The dead-letter queues already alarm on their first message; they only get the common name scheme.
    for (const [key, dlq] of deadLetters) {
      (dlq.alarm.node.defaultChild as cloudwatch.CfnAlarm).alarmName = alarmName(key);
      alarms.set(key, dlq.alarm);
    }
    for (const [key, fn] of functions)
      alarm(`${key}-errors`, fn.function.metricErrors({ statistic: 'Sum', period: PERIOD }), 0);
    for (const [key, queue] of queues)
      alarm(
        `${key}-age`,
        queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: PERIOD }),
        MAX_MESSAGE_AGE.toSeconds(),
      );
    const audit = STEWARD_METRICS.audit;
    alarm('audit-write-failures', stewardMetric(audit.service, audit.writeFailures), 0);
    alarm('breaker-opened', stewardMetric(audit.service, audit.breakerOpened), 0);
    (parts.audit.backstopAlarm.node.defaultChild as cloudwatch.CfnAlarm).alarmName =
      alarmName('deletes-backstop');
    alarms.set('deletes-backstop', parts.audit.backstopAlarm);
    this.alarms = alarms;

    const listed = [...summaries.keys()].sort().join(', ');
    const built = [...alarms.keys()].sort().join(', ');
    if (listed !== built)
      Annotations.of(this).addWarningV2(
        '@ecr-steward/monitoring:alarm-list',
        `the alarms built (${built}) differ from alarmList(config) (${listed}): ecr-steward validate and the README would list the wrong alarms`,
      );

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      // Dashboards are global to the account: the region keeps a spoke's dashboards of two regions apart.
      dashboardName: `${Aws.STACK_NAME}-${Aws.REGION}`,
      defaultInterval: Duration.days(1),
      widgets: this.widgets(config, parts, { functions, queues, deadLetters, alarms: [...alarms.values()] }),
    });
  }

  /** The functions to watch, each from the part that builds it; the digest only when the stack has one. */
  private functions(parts: MonitoredParts, keys: readonly FunctionKey[]): Map<FunctionKey, StewardFunction> {
    const byKey: Record<FunctionKey, StewardFunction | undefined> = {
      'cleanup-worker': parts.cleanup.worker,
      'cleanup-intake': parts.cleanup.intake,
      'cleanup-sweep': parts.cleanup.sweep,
      audit: parts.audit.function,
      'scan-gate': parts.gate.function,
      approvals: parts.approvals?.function,
      'org-forwarder': parts.forwarder?.function,
      digest: parts.digest?.function,
    };
    return new Map(keys.flatMap((k) => (byKey[k] ? [[k, byKey[k]] as const] : [])));
  }

  private queues(parts: MonitoredParts, keys: readonly QueueKey[]): Map<QueueKey, sqs.IQueue> {
    const byKey: Record<QueueKey, sqs.IQueue | undefined> = {
      'cleanup-queue': parts.cleanup.queue,
      'audit-queue': parts.audit.queue,
      'org-forwarder-queue': parts.forwarder?.queue,
    };
    return new Map(keys.flatMap((k) => (byKey[k] ? [[k, byKey[k]] as const] : [])));
  }

  private deadLetters(
    parts: MonitoredParts,
    keys: readonly DeadLetterKey[],
  ): Map<DeadLetterKey, DeadLetterQueue> {
    // The cleanup's async and the gate's dead-letter queues are not properties of their parts: found by id.
    const byKey: Record<DeadLetterKey, () => DeadLetterQueue | undefined> = {
      'cleanup-dlq': () => deadLetterOf(parts.cleanup.deadLetterQueue, 'cleanup-dlq'),
      'cleanup-async-dlq': () =>
        deadLetterOf(
          parts.cleanup.node.tryFindChild('AsyncDeadLetter')?.node.tryFindChild('Queue'),
          'cleanup-async-dlq',
        ),
      'audit-dlq': () => deadLetterOf(parts.audit.deadLetterQueue, 'audit-dlq'),
      'scan-gate-dlq': () =>
        deadLetterOf(parts.gate.node.tryFindChild('DeadLetter')?.node.tryFindChild('Queue'), 'scan-gate-dlq'),
      'org-forwarder-dlq': () =>
        parts.forwarder && deadLetterOf(parts.forwarder.deadLetterQueue, 'org-forwarder-dlq'),
      'org-forwarder-stream-dlq': () =>
        parts.forwarder && deadLetterOf(parts.forwarder.streamFailureQueue, 'org-forwarder-stream-dlq'),
      'digest-dlq': () => parts.digest && deadLetterOf(parts.digest.deadLetterQueue, 'digest-dlq'),
    };
    return new Map(
      keys.flatMap((k) => {
        const dlq = byKey[k]();
        return dlq ? [[k, dlq] as const] : [];
      }),
    );
  }

  private widgets(
    config: StewardConfig,
    parts: MonitoredParts,
    w: {
      functions: ReadonlyMap<FunctionKey, StewardFunction>;
      queues: ReadonlyMap<QueueKey, sqs.IQueue>;
      deadLetters: ReadonlyMap<DeadLetterKey, DeadLetterQueue>;
      alarms: cloudwatch.IAlarm[];
    },
  ): cloudwatch.IWidget[][] {
    const graph = (
      title: string,
      left: cloudwatch.IMetric[],
      extra: Partial<cloudwatch.GraphWidgetProps> = {},
    ) => new cloudwatch.GraphWidget({ title, left, width: 12, height: 6, ...extra });
    const rows: cloudwatch.IWidget[][] = [
      [
        new cloudwatch.TextWidget({
          markdown: `# ECR Steward\nMode **${config.mode}**. Every alarm below notifies the alerts topic.`,
          width: 24,
          height: 2,
        }),
      ],
      [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: w.alarms, width: 24, height: 6 })],
    ];

    for (const [key, fn] of w.functions) {
      const f = fn.function;
      const sum = { statistic: 'Sum', period: PERIOD };
      rows.push([
        graph(`${key}: invocations, errors, throttles`, [
          f.metricInvocations({ ...sum, label: 'invocations' }),
          f.metricErrors({ ...sum, label: 'errors' }),
          f.metricThrottles({ ...sum, label: 'throttles' }),
        ]),
        graph(`${key}: duration`, [
          f.metricDuration({ statistic: 'p50', period: PERIOD, label: 'p50' }),
          f.metricDuration({ statistic: 'p95', period: PERIOD, label: 'p95' }),
          f.metricDuration({ statistic: 'Maximum', period: PERIOD, label: 'max' }),
        ]),
      ]);
    }

    const queueRow: cloudwatch.IWidget[] = [...w.queues].map(([key, queue]) =>
      graph(
        `${key}: depth and oldest message age`,
        [
          queue.metricApproximateNumberOfMessagesVisible({
            statistic: 'Maximum',
            period: PERIOD,
            label: 'waiting',
          }),
          queue.metricApproximateNumberOfMessagesNotVisible({
            statistic: 'Maximum',
            period: PERIOD,
            label: 'in flight',
          }),
        ],
        {
          right: [
            queue.metricApproximateAgeOfOldestMessage({
              statistic: 'Maximum',
              period: PERIOD,
              label: 'oldest (s)',
            }),
          ],
          rightAnnotations: [{ value: MAX_MESSAGE_AGE.toSeconds(), label: 'alarm' }],
        },
      ),
    );
    queueRow.push(
      graph(
        'dead-letter queues: messages',
        [...w.deadLetters].map(([key, dlq]) =>
          dlq.queue.metricApproximateNumberOfMessagesVisible({
            statistic: 'Maximum',
            period: PERIOD,
            label: key,
          }),
        ),
      ),
    );
    rows.push(queueRow);

    const audit = STEWARD_METRICS.audit;
    const cleanup = STEWARD_METRICS.cleanup;
    const gate = STEWARD_METRICS.scanGate;
    // The worker runs in the config's mode; in dry-run its "expired" images are planned, not deleted.
    const mode = { mode: config.mode };
    rows.push([
      graph('audit: writes and failures', [
        stewardMetric(audit.service, audit.deletesRecorded, 'deletions recorded'),
        stewardMetric(audit.service, audit.operationsRecorded, 'operations recorded'),
        stewardMetric(audit.service, audit.writeFailures, 'write failures'),
        stewardMetric(audit.service, audit.malformedEvents, 'malformed events'),
        new cloudwatch.Metric({
          namespace: 'AWS/DynamoDB',
          metricName: 'WriteThrottleEvents',
          dimensionsMap: { TableName: parts.tables.audit.tableName },
          statistic: 'Sum',
          period: PERIOD,
          label: 'audit table write throttles',
        }),
        stewardMetric(audit.service, audit.securityFindings, 'security findings'),
      ]),
      graph('breaker', [
        stewardMetric(audit.service, audit.breakerOpened, 'breaker opened'),
        stewardMetric(
          cleanup.service,
          cleanup.deletesBlockedByBreaker,
          'deletes blocked by the breaker',
          mode,
        ),
      ]),
    ]);
    rows.push([
      graph(
        `cleanup: deletes and bytes reclaimed (${config.mode})`,
        [
          stewardMetric(
            cleanup.service,
            cleanup.imagesExpired,
            config.mode === 'enforce' ? 'images deleted' : 'images planned',
            mode,
          ),
          stewardMetric(cleanup.service, cleanup.imagesTransitioned, 'images archived', mode),
          stewardMetric(cleanup.service, cleanup.deletesDeferred, 'deletes deferred', mode),
        ],
        { right: [stewardMetric(cleanup.service, cleanup.bytesReclaimed, 'bytes reclaimed', mode)] },
      ),
      graph('scan gate: verdicts', [
        ...gate.verdicts.map((v) => stewardMetric(gate.service, v, v.replace('Verdict', ''))),
        stewardMetric(gate.service, gate.quarantineExpiryRemoved, 'quarantine expired: removed'),
        stewardMetric(gate.service, gate.quarantineExpiryKept, 'quarantine expired: kept'),
      ]),
    ]);
    return rows;
  }
}
