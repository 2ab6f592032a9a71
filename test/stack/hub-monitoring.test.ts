/**
 * The organization hub's own dashboard and alarms (lib/constructs/hub-monitoring.ts), asserted on the
 * synthesized hub template: every alarm of `hubAlarmList()` exists under its name, watches the right metric and
 * notifies the hub's alerts topic; the dashboard graphs the ingest function, queue and the audit trail's
 * metrics; cdk-nag stays clean; `ecr-steward validate` lists the hub alarms for an organization config.
 */
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../functions/shared/config/load.js';
import { hubAlarmList } from '../../lib/constructs/alarm-list.js';
import { EcrStewardHubStack } from '../../lib/stacks/hub-stack.js';
import { removeTempFiles, runCli, tempFiles } from '../cli/run-cli.js';

const HUB = { account: '111111111111', region: 'eu-west-1' };
const config = validateConfig({
  mode: 'enforce',
  organization: {
    hub: HUB,
    organizationId: 'o-local0example',
    targets: [{ accounts: ['222222222222'], regions: ['eu-west-1'] }],
  },
  selections: [{ name: 'services', repositories: ['services/*'], lifecyclePolicy: 'fromRepository' }],
});

function build() {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new EcrStewardHubStack(app, 'EcrStewardHub', { config, env: HUB });
  return { app, stack, template: Template.fromStack(stack) };
}
const built = build();
const id = (c: unknown) => built.stack.getLogicalId(c as CfnElement);

type Json = Record<string, unknown>;
/** `{ alarm name suffix: properties }` of every alarm of the hub stack. */
function alarms(): Map<string, Json> {
  const out = new Map<string, Json>();
  for (const r of Object.values(built.template.findResources('AWS::CloudWatch::Alarm'))) {
    const p = r.Properties as Json;
    const name = p.AlarmName as { 'Fn::Join': [string, unknown[]] };
    const parts = name['Fn::Join'][1];
    out.set(String(parts[parts.length - 1]).replace(/^-/, ''), p);
  }
  return out;
}

describe('the hub dashboard and alarms', () => {
  it('deploys exactly the alarms hubAlarmList() names, each notifying the hub alerts topic', () => {
    const topic = id(built.stack.topics.alerts.node.defaultChild);
    const all = alarms();
    expect([...all.keys()].sort()).toEqual(
      hubAlarmList()
        .map((a) => a.name)
        .sort(),
    );
    for (const [name, p] of all) expect([name, p.AlarmActions]).toEqual([name, [{ Ref: topic }]]);
  });

  it('watches the ingest function, its queue, the org breaker metric and both organization tables', () => {
    const all = alarms();
    const fn = id(built.stack.hub.function.function.node.defaultChild);
    const queue = id(built.stack.hub.queue.node.defaultChild);
    expect(all.get('org-hub-errors')).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(all.get('org-ingest-queue-age')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }],
      Threshold: 900,
      Statistic: 'Maximum',
    });
    expect(all.get('org-breaker-opened')).toMatchObject({
      Namespace: 'EcrSteward',
      MetricName: 'OrgBreakerOpened',
      Dimensions: [{ Name: 'service', Value: 'org-hub' }],
      Threshold: 0,
    });
    const throttled = all.get('org-tables-throttled') as { Metrics: Json[] };
    const tables = throttled.Metrics.flatMap((m) => {
      const stat = m.MetricStat as
        | { Metric: { MetricName: string; Dimensions: { Value: unknown }[] } }
        | undefined;
      return stat ? [[stat.Metric.MetricName, stat.Metric.Dimensions[0]!.Value]] : [];
    });
    expect(tables).toEqual([
      ['WriteThrottleEvents', { Ref: id(built.stack.hub.auditTable.node.defaultChild) }],
      ['WriteThrottleEvents', { Ref: id(built.stack.hub.stateTable.node.defaultChild) }],
    ]);
    expect(throttled.Metrics.find((m) => m.Expression)).toMatchObject({ Expression: 'audit + state' });
  });

  it('draws one dashboard with the hub function, the ingest queue and the audit trail metrics', () => {
    const dashboards = Object.values(built.template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(dashboards[0]!.Properties);
    for (const title of [
      'org-hub: invocations, errors, throttles',
      'org-hub: duration',
      'org ingest queue: depth and oldest message age',
      'organization audit trail',
      'OrgRecordsWritten',
      'OrgDeletesCounted',
      'OrgAlertsPublished',
      'MalformedOrgEvents',
    ])
      expect(body).toContain(title);
  });

  it('finds no AwsSolutions violation with cdk-nag validateScope', () => {
    const violations = new AwsSolutionsChecks(built.app)
      .validateScope(built.stack)
      .violations.map((v) => v.ruleName);
    expect(violations).toEqual([]);
  });

  it('is a different stack from the spokes: the dashboard is named after the hub stack and region', () => {
    const dashboards = Object.values(built.template.findResources('AWS::CloudWatch::Dashboard'));
    expect(JSON.stringify((dashboards[0]!.Properties as Json).DashboardName)).toContain('AWS::StackName');
    expect(Stack.of(built.stack.monitoring).stackName).toBe('EcrStewardHub');
  });

  afterAll(removeTempFiles);

  it('is listed by ecr-steward validate after the stack alarms when the config has an organization', async () => {
    // Prepare
    const dir = await tempFiles({
      'org.json': {
        mode: 'enforce',
        organization: {
          hub: HUB,
          organizationId: 'o-local0example',
          targets: [{ accounts: ['222222222222'], regions: ['eu-west-1'] }],
        },
        selections: [{ name: 'services', repositories: ['services/*'], lifecyclePolicy: 'fromRepository' }],
      },
    });

    // Act
    const text = await runCli(['validate', '--config', `${dir}/org.json`]);
    const json = await runCli(['validate', '--config', `${dir}/org.json`, '--format', 'json']);

    // Assess
    expect(text.code).toBe(0);
    const hubPart = text.stdout.slice(text.stdout.indexOf('hub alarms:'));
    expect(hubPart.split('\n')).toEqual([
      "hub alarms: 5 — each notifies the hub's alerts topic",
      '  org-ingest-dlq: a message in the dead-letter queue of the organization ingest queue (malformed, forged or failing spoke events) — any message (1-minute maximum of messages visible > 0)',
      '  org-hub-errors: errors of the organization hub ingest function — Errors > 0 in 5 minutes',
      '  org-ingest-queue-age: a message waiting in the organization ingest queue — oldest message older than 15 minutes (ApproximateAgeOfOldestMessage > 900 s)',
      '  org-breaker-opened: the organization breaker opened (EcrSteward/OrgBreakerOpened) — > 0 in 5 minutes',
      '  org-tables-throttled: writes to the organization audit or state table throttled (AWS/DynamoDB WriteThrottleEvents) — > 0 in 5 minutes',
      '',
    ]);
    expect(JSON.parse(json.stdout).hubAlarms).toEqual(hubAlarmList());
  });
});
