/**
 * The dashboard and alarms (issue 14 §2), asserted on the synthesized template with bundling skipped: every
 * alarm `alarmList` names exists once, watches the metric it says and notifies the alerts topic only; the
 * dead-letter queues keep their one alarm each; the dashboard shows what the issue asks; cdk-nag finds
 * nothing; and `ecr-steward validate --config` prints the list.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, validateConfig } from '../../functions/shared/config/load.js';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import {
  alarmList,
  type MonitoredParts,
  Monitoring,
  STEWARD_METRICS,
} from '../../lib/constructs/monitoring.js';
import { DeadLetterQueue } from '../../lib/constructs/secure-queue.js';
import { StewardFunction } from '../../lib/constructs/steward-function.js';
import { EcrStewardStack } from '../../lib/stacks/ecr-steward-stack.js';
import { orgSpokeProps } from '../../lib/stacks/hub-stack.js';
import { removeTempFiles, runCli, tempFiles } from '../cli/run-cli.js';
import { type Json, text } from './template-iam.js';

afterAll(removeTempFiles);

const EXAMPLE_CONFIG = 'examples/steward.config.jsonc';
const exampleConfig = (): StewardConfig =>
  parseConfig(readFileSync(new URL(`../../${EXAMPLE_CONFIG}`, import.meta.url), 'utf8'));

const id = (c: IConstruct) => Stack.of(c).getLogicalId((c.node.defaultChild ?? c) as CfnElement);

/**
 * The stack with its monitoring: the stack's own when buildSteward already adds it, else added here as
 * buildSteward will. Until the stack builds the weekly digest, a stand-in function plays its part.
 */
function build(
  config: StewardConfig,
  stackProps: Partial<ConstructorParameters<typeof EcrStewardStack>[2]> = {},
) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new EcrStewardStack(app, 'Test', { config, ...stackProps });
  const existing = stack.node.tryFindChild('Monitoring');
  let digest = stack.node.tryFindChild('Digest') as MonitoredParts['digest'];
  let monitoring: Monitoring;
  if (existing instanceof Monitoring) monitoring = existing;
  else {
    if (config.digest.enabled && !digest)
      digest = {
        function: new StewardFunction(stack, 'DigestStandIn', {
          entry: 'functions/cleanup/handler.ts',
          handler: 'sweep',
          description: 'stand-in for the weekly digest',
          config,
        }),
        deadLetterQueue: new DeadLetterQueue(stack, 'DigestStandInDeadLetter', {
          alarmTopic: stack.topics.alerts,
          description: 'the weekly digest',
        }).queue,
      };
    const parts: MonitoredParts = {
      topics: stack.topics,
      tables: stack.tables,
      cleanup: stack.cleanup,
      audit: stack.audit,
      gate: stack.gate,
      ...(stack.approvals ? { approvals: stack.approvals } : {}),
      ...(stack.forwarder ? { forwarder: stack.forwarder } : {}),
      ...(digest ? { digest } : {}),
    };
    monitoring = new Monitoring(stack, 'Monitoring', { config, parts });
  }
  return { app, stack, monitoring, digest, template: Template.fromStack(stack) };
}

/** `<AWS::StackName>-name` → name. */
const alarmNames = (template: Template) =>
  Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((r) =>
    text(r.Properties.AlarmName).replace(/^<AWS::StackName>-/, ''),
  );

/** The alarm named `<stack>-name`. */
function alarmNamed(template: Template, name: string): Json {
  const found = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter(
    (r) => text(r.Properties.AlarmName) === `<AWS::StackName>-${name}`,
  );
  expect(found, `one alarm named ${name}`).toHaveLength(1);
  return found[0]!.Properties as Json;
}

/** The dashboard's widgets, with the body's intrinsics rendered as `<LogicalId>`. */
function dashboardWidgets(template: Template): Json[] {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  return (JSON.parse(text(dashboards[0]!.Properties.DashboardBody)) as { widgets: Json[] }).widgets;
}

const EXAMPLE_ALARMS = [
  'cleanup-dlq',
  'cleanup-async-dlq',
  'audit-dlq',
  'scan-gate-dlq',
  'digest-dlq',
  'cleanup-worker-errors',
  'cleanup-intake-errors',
  'cleanup-sweep-errors',
  'audit-errors',
  'scan-gate-errors',
  'digest-errors',
  'cleanup-queue-age',
  'audit-queue-age',
  'audit-write-failures',
  'breaker-opened',
  'deletes-backstop',
];

describe('alarmList', () => {
  it('lists the dead-letter, error, queue age, audit, breaker and backstop alarms when the config is the example', () => {
    // Act
    const alarms = alarmList(exampleConfig());

    // Assess
    expect(alarms.map((a) => a.name)).toEqual(EXAMPLE_ALARMS);
    expect(alarms.find((a) => a.name === 'cleanup-worker-errors')).toEqual({
      name: 'cleanup-worker-errors',
      what: 'errors of the cleanup worker',
      threshold: 'Errors > 0 in 5 minutes',
    });
    expect(alarms.find((a) => a.name === 'cleanup-queue-age')).toEqual({
      name: 'cleanup-queue-age',
      what: 'a message waiting in the cleanup queue (FIFO)',
      threshold: 'oldest message older than 15 minutes (ApproximateAgeOfOldestMessage > 900 s)',
    });
    expect(alarms.find((a) => a.name === 'cleanup-dlq')).toEqual({
      name: 'cleanup-dlq',
      what: 'a message in the dead-letter queue of the cleanup queue',
      threshold: 'any message (1-minute maximum of messages visible > 0)',
    });
    expect(alarms.find((a) => a.name === 'breaker-opened')).toEqual({
      name: 'breaker-opened',
      what: 'the delete-rate breaker opened (EcrSteward/BreakerOpened)',
      threshold: '> 0 in 5 minutes',
    });
  });

  it('adds the approvals and organization forwarder alarms and drops the digest when the config says so', () => {
    // Prepare
    const config = validateConfig({
      mode: 'enforce',
      selections: [{ name: 'web', repositories: ['web'], lifecyclePolicy: 'fromRepository' }],
      governance: { approval: { required: 'always', approvers: ['arn:aws:iam::123456789012:role/ops'] } },
      digest: { enabled: false },
      alerts: { backstopDeletesPer5Minutes: 40 },
    });

    // Act
    const alarms = alarmList(config);

    // Assess
    expect(alarms.map((a) => a.name)).toEqual([
      'cleanup-dlq',
      'cleanup-async-dlq',
      'audit-dlq',
      'scan-gate-dlq',
      'cleanup-worker-errors',
      'cleanup-intake-errors',
      'cleanup-sweep-errors',
      'audit-errors',
      'scan-gate-errors',
      'approvals-errors',
      'cleanup-queue-age',
      'audit-queue-age',
      'audit-write-failures',
      'breaker-opened',
      'deletes-backstop',
    ]);
    expect(alarms.at(-1)).toEqual({
      name: 'deletes-backstop',
      what: 'ECR image DELETE events counted by EventBridge itself, whatever ECR Steward code does',
      threshold: '> 40 in 5 minutes (alerts.backstopDeletesPer5Minutes)',
    });
  });
});

describe('Monitoring (the example config)', () => {
  let built: ReturnType<typeof build>;
  let template: Template;
  let alerts: string;
  beforeAll(() => {
    built = build(exampleConfig());
    template = built.template;
    alerts = id(built.stack.topics.alerts);
  });

  it('deploys exactly the alarms alarmList names, each once, when the stack is built', () => {
    // Act
    const names = alarmNames(template);

    // Assess
    expect(names.sort()).toEqual([...EXAMPLE_ALARMS].sort());
    expect([...built.monitoring.alarms.keys()].sort()).toEqual([...EXAMPLE_ALARMS].sort());
  });

  it('notifies the alerts topic, and nothing else, from every alarm of the stack', () => {
    // Act
    const actions = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((r) => [
      text(r.Properties.AlarmName),
      r.Properties.AlarmActions,
      r.Properties.OKActions,
      r.Properties.InsufficientDataActions,
    ]);

    // Assess
    expect(actions).toHaveLength(EXAMPLE_ALARMS.length);
    for (const [name, alarm, ok, insufficient] of actions) {
      expect(alarm, name).toEqual([{ Ref: alerts }]);
      expect(ok, name).toBeUndefined();
      expect(insufficient, name).toBeUndefined();
    }
  });

  it.each([
    ['cleanup-worker', () => built.stack.cleanup.worker],
    ['cleanup-intake', () => built.stack.cleanup.intake],
    ['cleanup-sweep', () => built.stack.cleanup.sweep],
    ['audit', () => built.stack.audit.function],
    ['scan-gate', () => built.stack.gate.function],
    ['digest', () => built.digest!.function],
  ])('alarms on any error of the %s function in 5 minutes', (name, fn) => {
    // Act
    const alarm = alarmNamed(template, `${name}-errors`);

    // Assess
    expect(alarm).toEqual({
      AlarmName: { 'Fn::Join': ['', [{ Ref: 'AWS::StackName' }, `-${name}-errors`]] },
      AlarmDescription: expect.any(String),
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: id(fn().function) } }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: alerts }],
    });
    expect(alarm.AlarmDescription).toBe(
      `ECR Steward: ${alarmList(exampleConfig()).find((a) => a.name === `${name}-errors`)!.what} — Errors > 0 in 5 minutes`,
    );
  });

  it.each([
    ['cleanup-queue', () => built.stack.cleanup.queue],
    ['audit-queue', () => built.stack.audit.queue],
  ])('alarms when the oldest message of the %s is older than 15 minutes', (name, queue) => {
    // Act
    const alarm = alarmNamed(template, `${name}-age`);

    // Assess
    expect(alarm).toEqual({
      AlarmName: { 'Fn::Join': ['', [{ Ref: 'AWS::StackName' }, `-${name}-age`]] },
      AlarmDescription: expect.any(String),
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id(queue()), 'QueueName'] } }],
      Statistic: 'Maximum',
      Period: 300,
      Threshold: 900,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: alerts }],
    });
  });

  it.each([
    ['audit-write-failures', 'AuditWriteFailures'],
    ['breaker-opened', 'BreakerOpened'],
  ])('alarms on the audit function metric when %s is counted', (name, metricName) => {
    // Act
    const alarm = alarmNamed(template, name);

    // Assess
    expect(alarm).toEqual({
      AlarmName: { 'Fn::Join': ['', [{ Ref: 'AWS::StackName' }, `-${name}`]] },
      AlarmDescription: expect.any(String),
      Namespace: 'EcrSteward',
      MetricName: metricName,
      Dimensions: [{ Name: 'service', Value: 'audit' }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: alerts }],
    });
  });

  it('names the dead-letter queues’ own alarms instead of adding a second alarm on any of them', () => {
    // Prepare
    const dlqs = {
      'cleanup-dlq': built.stack.cleanup.deadLetterQueue,
      'cleanup-async-dlq': built.stack.cleanup.node.findChild('AsyncDeadLetter').node.findChild('Queue'),
      'audit-dlq': built.stack.audit.deadLetterQueue,
      'scan-gate-dlq': built.stack.gate.node.findChild('DeadLetter').node.findChild('Queue'),
      'digest-dlq': built.digest!.deadLetterQueue,
    };

    // Act
    const depthAlarms = Object.values(
      template.findResources('AWS::CloudWatch::Alarm', {
        Properties: { MetricName: 'ApproximateNumberOfMessagesVisible' },
      }),
    ).map((r) => [text(r.Properties.AlarmName), text(r.Properties.Dimensions[0].Value)]);

    // Assess
    expect(depthAlarms.sort()).toEqual(
      Object.entries(dlqs)
        .map(([name, queue]) => [`<AWS::StackName>-${name}`, `<${id(queue)}.QueueName>`])
        .sort(),
    );
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: { 'Fn::Join': ['', [{ Ref: 'AWS::StackName' }, '-cleanup-dlq']] },
      AlarmDescription: 'ECR Steward: the cleanup queue has messages that failed processing',
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
    });
  });

  it('names the delete backstop alarm and keeps its EventBridge metric and config threshold', () => {
    // Act
    const alarm = alarmNamed(template, 'deletes-backstop');

    // Assess
    expect(alarm).toMatchObject({
      Namespace: 'AWS/Events',
      MetricName: 'MatchedEvents',
      Dimensions: [{ Name: 'RuleName', Value: { Ref: id(built.stack.audit.rules.imageDelete) } }],
      Threshold: exampleConfig().alerts.backstopDeletesPer5Minutes,
      AlarmActions: [{ Ref: alerts }],
    });
  });

  it('names the dashboard after the stack and region', () => {
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', {
      DashboardName: { 'Fn::Join': ['', [{ Ref: 'AWS::StackName' }, '-', { Ref: 'AWS::Region' }]] },
    });
  });

  it('lays out the alarms, every function, every queue, the dead-letter queues and the custom metrics on the dashboard', () => {
    // Act
    const titles = dashboardWidgets(template).map((w) => w.properties.title ?? w.type);

    // Assess
    expect(titles).toEqual([
      'text',
      'Alarms',
      ...['cleanup-worker', 'cleanup-intake', 'cleanup-sweep', 'audit', 'scan-gate', 'digest'].flatMap(
        (f) => [`${f}: invocations, errors, throttles`, `${f}: duration`],
      ),
      'cleanup-queue: depth and oldest message age',
      'audit-queue: depth and oldest message age',
      'dead-letter queues: messages',
      'audit: writes and failures',
      'breaker',
      'cleanup: deletes and bytes reclaimed (dry-run)',
      'scan gate: verdicts',
    ]);
  });

  it('graphs invocations, errors and throttles, and duration p50, p95 and max, for each function', () => {
    // Prepare
    const worker = `<${id(built.stack.cleanup.worker.function)}>`;
    const widgets = dashboardWidgets(template);
    const byTitle = (title: string) => widgets.find((w) => w.properties.title === title)!.properties;

    // Act
    const counts = byTitle('cleanup-worker: invocations, errors, throttles');
    const duration = byTitle('cleanup-worker: duration');

    // Assess
    expect(counts.metrics).toEqual([
      ['AWS/Lambda', 'Invocations', 'FunctionName', worker, { label: 'invocations', stat: 'Sum' }],
      ['AWS/Lambda', 'Errors', 'FunctionName', worker, { label: 'errors', stat: 'Sum' }],
      ['AWS/Lambda', 'Throttles', 'FunctionName', worker, { label: 'throttles', stat: 'Sum' }],
    ]);
    expect(duration.metrics).toEqual([
      ['AWS/Lambda', 'Duration', 'FunctionName', worker, { label: 'p50', stat: 'p50' }],
      ['AWS/Lambda', 'Duration', 'FunctionName', worker, { label: 'p95', stat: 'p95' }],
      ['AWS/Lambda', 'Duration', 'FunctionName', worker, { label: 'max', stat: 'Maximum' }],
    ]);
  });

  it('graphs the queue depth and its oldest message against the 15-minute line, and every dead-letter queue', () => {
    // Prepare
    const widgets = dashboardWidgets(template);
    const byTitle = (title: string) => widgets.find((w) => w.properties.title === title)!.properties;
    const queue = `<${id(built.stack.cleanup.queue)}.QueueName>`;

    // Act
    const depth = byTitle('cleanup-queue: depth and oldest message age');
    const dlqs = byTitle('dead-letter queues: messages');

    // Assess
    expect(depth.metrics).toEqual([
      [
        'AWS/SQS',
        'ApproximateNumberOfMessagesVisible',
        'QueueName',
        queue,
        { label: 'waiting', stat: 'Maximum' },
      ],
      [
        'AWS/SQS',
        'ApproximateNumberOfMessagesNotVisible',
        'QueueName',
        queue,
        { label: 'in flight', stat: 'Maximum' },
      ],
      [
        'AWS/SQS',
        'ApproximateAgeOfOldestMessage',
        'QueueName',
        queue,
        { label: 'oldest (s)', stat: 'Maximum', yAxis: 'right' },
      ],
    ]);
    expect(depth.annotations).toEqual({ horizontal: [{ value: 900, label: 'alarm', yAxis: 'right' }] });
    expect(dlqs.metrics.map((m: Json[]) => m.at(-1)!.label)).toEqual([
      'cleanup-dlq',
      'cleanup-async-dlq',
      'audit-dlq',
      'scan-gate-dlq',
      'digest-dlq',
    ]);
  });

  it('graphs the custom metrics the functions emit, with their service (and mode) dimensions', () => {
    // Prepare
    const widgets = dashboardWidgets(template);
    const byTitle = (title: string) => widgets.find((w) => w.properties.title === title)!.properties;
    const auditTable = `<${id(built.stack.tables.audit)}>`;

    // Act
    const audit = byTitle('audit: writes and failures').metrics;
    const cleanup = byTitle('cleanup: deletes and bytes reclaimed (dry-run)').metrics;
    const gate = byTitle('scan gate: verdicts').metrics;
    const breaker = byTitle('breaker').metrics;

    // Assess
    const sum = (label: string, extra: Json = {}) => ({ label, stat: 'Sum', ...extra });
    expect(audit).toEqual([
      ['EcrSteward', 'DeletesRecorded', 'service', 'audit', sum('deletions recorded')],
      ['EcrSteward', 'OperationsRecorded', 'service', 'audit', sum('operations recorded')],
      ['EcrSteward', 'AuditWriteFailures', 'service', 'audit', sum('write failures')],
      ['EcrSteward', 'MalformedEvents', 'service', 'audit', sum('malformed events')],
      ['AWS/DynamoDB', 'WriteThrottleEvents', 'TableName', auditTable, sum('audit table write throttles')],
      ['EcrSteward', 'SecurityFindings', 'service', 'audit', sum('security findings')],
    ]);
    // CDK renders dimensions sorted by name.
    const dryRun = ['mode', 'dry-run', 'service', 'cleanup'];
    expect(cleanup).toEqual([
      ['EcrSteward', 'ImagesExpired', ...dryRun, sum('images planned')],
      ['EcrSteward', 'ImagesTransitioned', ...dryRun, sum('images archived')],
      ['EcrSteward', 'DeletesDeferred', ...dryRun, sum('deletes deferred')],
      ['EcrSteward', 'BytesReclaimed', ...dryRun, sum('bytes reclaimed', { yAxis: 'right' })],
    ]);
    expect(gate).toEqual([
      ['EcrSteward', 'VerdictPASS', 'service', 'scan-gate', sum('PASS')],
      ['EcrSteward', 'VerdictFAIL', 'service', 'scan-gate', sum('FAIL')],
      ['EcrSteward', 'VerdictPENDING', 'service', 'scan-gate', sum('PENDING')],
      ['EcrSteward', 'QuarantineExpiryRemoved', 'service', 'scan-gate', sum('quarantine expired: removed')],
      ['EcrSteward', 'QuarantineExpiryKept', 'service', 'scan-gate', sum('quarantine expired: kept')],
    ]);
    expect(breaker).toEqual([
      ['EcrSteward', 'BreakerOpened', 'service', 'audit', sum('breaker opened')],
      ['EcrSteward', 'DeletesBlockedByBreaker', ...dryRun, sum('deletes blocked by the breaker')],
    ]);
    expect(STEWARD_METRICS.namespace).toBe('EcrSteward');
  });

  it('finds no AwsSolutions violation with cdk-nag validateScope on the stack with its monitoring', () => {
    // Act
    const report = new AwsSolutionsChecks(built.app).validateScope(built.stack);

    // Assess
    expect(
      report.violations.map(
        (v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
      ),
    ).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('warns of nothing when the alarms built are the ones alarmList names', () => {
    Annotations.fromStack(built.stack).hasNoWarning('*', Match.stringLikeRegexp('alarmList'));
  });
});

describe('Monitoring (other configs)', () => {
  it('warns at synth when the config deploys a digest that the parts do not carry', () => {
    // Prepare
    const config = exampleConfig();
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new EcrStewardStack(app, 'Test', { config });
    if (stack.node.tryFindChild('Monitoring')) return; // the stack wires its own monitoring, digest included
    const parts = {
      topics: stack.topics,
      tables: stack.tables,
      cleanup: stack.cleanup,
      audit: stack.audit,
      gate: stack.gate,
    };

    // Act
    new Monitoring(stack, 'Monitoring', { config, parts });

    // Assess
    Annotations.fromStack(stack).hasWarning(
      '/Test/Monitoring',
      Match.stringLikeRegexp('differ from alarmList\\(config\\)'),
    );
  });

  it('watches the approvals endpoint and, in a spoke, the organization forwarder with its queues', () => {
    // Prepare
    const spoke = { account: '222222222222', region: 'eu-west-1' };
    const config = validateConfig({
      mode: 'enforce',
      organization: {
        hub: { account: '111111111111', region: 'eu-west-1' },
        organizationId: 'o-local0example',
        targets: [{ accounts: [spoke.account], regions: [spoke.region] }],
      },
      selections: [{ name: 'web', repositories: ['web'], lifecyclePolicy: 'fromRepository' }],
      governance: { approval: { required: 'always', approvers: ['arn:aws:iam::222222222222:role/ops'] } },
      digest: { enabled: false },
    });

    // Act
    const { template, stack } = build(config, { org: orgSpokeProps(config), env: spoke });

    // Assess
    expect(alarmNames(template).sort()).toEqual(
      alarmList(config)
        .map((a) => a.name)
        .sort(),
    );
    expect(alarmList(config).map((a) => a.name)).toEqual(
      expect.arrayContaining([
        'approvals-errors',
        'org-forwarder-errors',
        'org-forwarder-queue-age',
        'org-forwarder-dlq',
        'org-forwarder-stream-dlq',
      ]),
    );
    expect(alarmNamed(template, 'org-forwarder-queue-age').Dimensions).toEqual([
      { Name: 'QueueName', Value: { 'Fn::GetAtt': [id(stack.forwarder!.queue), 'QueueName'] } },
    ]);
    expect(alarmNamed(template, 'approvals-errors').Dimensions).toEqual([
      { Name: 'FunctionName', Value: { Ref: id(stack.approvals!.function.function) } },
    ]);
  });
});

describe('ecr-steward validate --config (alarms)', () => {
  it('prints the alarms the config deploys after the summary, one per line', async () => {
    // Prepare
    const dir = await tempFiles({
      'c.json': {
        mode: 'enforce',
        selections: [{ name: 'web', repositories: ['web'], lifecyclePolicy: 'fromRepository' }],
        digest: { enabled: false },
        alerts: { backstopDeletesPer5Minutes: 40 },
      },
    });
    const path = join(dir, 'c.json');

    // Act
    const result = await runCli(['validate', '--config', path]);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        `${path}: valid ECR Steward config (1 selection, mode enforce)`,
        'alarms: 14 — each notifies the alerts topic',
        '  cleanup-dlq: a message in the dead-letter queue of the cleanup queue — any message (1-minute maximum of messages visible > 0)',
        '  cleanup-async-dlq: a message in the dead-letter queue of the cleanup intake and sweep (async invocations, rule and schedule targets) — any message (1-minute maximum of messages visible > 0)',
        '  audit-dlq: a message in the dead-letter queue of the audit queue (and its rule targets) — any message (1-minute maximum of messages visible > 0)',
        '  scan-gate-dlq: a message in the dead-letter queue of the scan gate (async invocations, rule and schedule targets) — any message (1-minute maximum of messages visible > 0)',
        '  cleanup-worker-errors: errors of the cleanup worker — Errors > 0 in 5 minutes',
        '  cleanup-intake-errors: errors of the cleanup intake — Errors > 0 in 5 minutes',
        '  cleanup-sweep-errors: errors of the cleanup sweep (and due-deletion processor) — Errors > 0 in 5 minutes',
        '  audit-errors: errors of the audit function — Errors > 0 in 5 minutes',
        '  scan-gate-errors: errors of the scan gate — Errors > 0 in 5 minutes',
        '  cleanup-queue-age: a message waiting in the cleanup queue (FIFO) — oldest message older than 15 minutes (ApproximateAgeOfOldestMessage > 900 s)',
        '  audit-queue-age: a message waiting in the audit queue — oldest message older than 15 minutes (ApproximateAgeOfOldestMessage > 900 s)',
        '  audit-write-failures: audit records the audit function failed to write (EcrSteward/AuditWriteFailures) — > 0 in 5 minutes',
        '  breaker-opened: the delete-rate breaker opened (EcrSteward/BreakerOpened) — > 0 in 5 minutes',
        '  deletes-backstop: ECR image DELETE events counted by EventBridge itself, whatever ECR Steward code does — > 40 in 5 minutes (alerts.backstopDeletesPer5Minutes)',
        '',
      ].join('\n'),
    );
    expect(result.stderr).toBe('');
  });

  it('adds the alarms to the JSON when --format json', async () => {
    // Act
    const result = await runCli(['validate', '--config', EXAMPLE_CONFIG, '--format', 'json']);

    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      valid: true,
      errors: [],
      warnings: [],
      alarms: alarmList(exampleConfig()),
    });
  });

  it('lists no alarms when the config is invalid', async () => {
    // Prepare
    const dir = await tempFiles({ 'c.json': { selections: 'none' } });

    // Act
    const result = await runCli(['validate', '--config', join(dir, 'c.json'), '--format', 'json']);

    // Assess
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ valid: false, alarms: [] });
  });
});
