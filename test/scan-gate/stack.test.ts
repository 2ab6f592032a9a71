/**
 * The scan gate part of the stack (lib/constructs/scan-gate.ts), synthesized without bundling: the three rules,
 * the function's environment and dead-letter queue, the verdict table, least-privilege ECR permissions that follow
 * the config, and cdk-nag's AwsSolutions checks.
 */
import { App, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../functions/shared/config/load.js';
import type { StewardConfigInput } from '../../functions/shared/config/schema.js';
import { SCAN_PATTERNS } from '../../lib/constructs/scan-gate.js';
import { EcrStewardStack } from '../../lib/stacks/ecr-steward-stack.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation template fragments are untyped JSON.
type Json = Record<string, any>;

function build(gate: StewardConfigInput['gate'] = {}) {
  const config = validateConfig({
    selections: [{ name: 'services', repositories: ['services/*'], lifecyclePolicy: 'fromRepository' }],
    gate,
  });
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new EcrStewardStack(app, 'EcrSteward', { config });
  const template = Template.fromStack(stack);
  const id = (c: IConstruct) => stack.getLogicalId((c.node.defaultChild ?? c) as CfnElement);
  return { app, stack, template, id, resources: template.toJSON().Resources as Record<string, Json> };
}

type Built = ReturnType<typeof build>;

/** Every action the gate function's role is allowed, from all of its policies. */
function gateActions({ resources, stack, id }: Built): string[] {
  const role = id(stack.gate.function.role);
  const actions: string[] = [];
  for (const resource of Object.values(resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    if (!resource.Properties.Roles.some((r: Json) => r.Ref === role)) continue;
    for (const statement of resource.Properties.PolicyDocument.Statement)
      actions.push(...[statement.Action].flat());
  }
  return actions;
}

/** The statements of the gate's own policy (GatePolicy), by Sid. */
function gateStatements({ resources, stack, id }: Built): Record<string, Json> {
  const policy = resources[id(stack.gate.function.node.findChild('GatePolicy'))];
  return Object.fromEntries(policy?.Properties.PolicyDocument.Statement.map((s: Json) => [s.Sid, s]) ?? []);
}

/** The CloudFormation ARN of a repository glob of the test stack. */
const repositoryArn = (glob: string) => ({
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':ecr:',
      { Ref: 'AWS::Region' },
      ':',
      { Ref: 'AWS::AccountId' },
      `:repository/${glob}`,
    ],
  ],
});

function nagViolations({ app, stack }: Built): string[] {
  const report = new AwsSolutionsChecks(app).validateScope(stack);
  return report.violations.map(
    (v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
  );
}

describe('ScanGate construct (default config)', () => {
  const built = build();
  const { template, stack, id, resources } = built;
  const fn = () => resources[id(stack.gate.function.function)]!;
  const dlqArn = () => ({
    'Fn::GetAtt': [
      id(stack.node.findChild('ScanGate').node.findChild('DeadLetter').node.findChild('Queue')),
      'Arn',
    ],
  });

  it.each([
    [
      'basicScan',
      {
        source: ['aws.ecr'],
        'detail-type': ['ECR Image Scan'],
        detail: { 'scan-status': ['COMPLETE', 'FAILED'] },
      },
    ],
    [
      'inspectorScan',
      {
        source: ['aws.inspector2'],
        'detail-type': ['Inspector2 Scan'],
        detail: { 'repository-name': [{ exists: true }] },
      },
    ],
    [
      'inspectorFinding',
      {
        source: ['aws.inspector2'],
        'detail-type': ['Inspector2 Finding'],
        detail: { resources: { type: ['AWS_ECR_CONTAINER_IMAGE'] } },
      },
    ],
  ] as const)('routes %s events with exactly this pattern to the gate function', (rule, pattern) => {
    // Act
    const resource = resources[id(stack.gate.rules[rule])]!;

    // Assess
    expect(resource.Properties.EventPattern).toEqual(pattern);
    expect(resource.Properties.State).toBe('ENABLED');
    expect(resource.Properties.Targets).toEqual([
      {
        Id: 'Target0',
        Arn: { 'Fn::GetAtt': [id(stack.gate.function.function), 'Arn'] },
        DeadLetterConfig: { Arn: dlqArn() },
        RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
      },
    ]);
    expect(Object.keys(SCAN_PATTERNS)).toEqual(['basicScan', 'inspectorScan', 'inspectorFinding']);
  });

  it('has no other rule targeting the gate function', () => {
    const targeting = Object.values(resources).filter(
      (r) =>
        r.Type === 'AWS::Events::Rule' &&
        r.Properties.Targets?.some(
          (t: Json) => t.Arn?.['Fn::GetAtt']?.[0] === id(stack.gate.function.function),
        ),
    );
    expect(targeting).toHaveLength(3);
  });

  it('gives the function the verdict, audit, state, holds and requests tables, the security, notices and approvals topics', () => {
    // Assess
    expect(fn().Properties.Environment.Variables).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      VERDICT_TABLE_NAME: { Ref: id(stack.gate.verdictTable) },
      AUDIT_TABLE_NAME: { Ref: id(stack.tables.audit) },
      STATE_TABLE_NAME: { Ref: id(stack.tables.state) },
      HOLDS_TABLE_NAME: { Ref: id(stack.tables.holds) },
      SECURITY_TOPIC_ARN: { Ref: id(stack.topics.security) },
      NOTICES_TOPIC_ARN: { Ref: id(stack.topics.notices) },
      REQUESTS_TABLE_NAME: { Ref: id(stack.tables.requests) },
      APPROVALS_TOPIC_ARN: { Ref: id(stack.topics.approvals) },
    });
    expect(fn().Properties).toMatchObject({ Timeout: 300, MemorySize: 1024, Handler: 'index.handler' });
  });

  it('lets the function read holds (GetItem, Query on the holds table) and never write one', () => {
    // Prepare
    const role = id(stack.gate.function.role);
    const holds = id(stack.tables.holds);

    // Act
    const onHolds = Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((x: Json) => x.Ref === role))
      .flatMap((r) => r.Properties.PolicyDocument.Statement as Json[])
      .filter((st) => JSON.stringify(st.Resource).includes(`"${holds}"`));

    // Assess
    expect(onHolds).toEqual([
      {
        Action: ['dynamodb:GetItem', 'dynamodb:Query'],
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [holds, 'Arn'] },
      },
    ]);
  });

  it('sends failed asynchronous invocations, after two retries, to the dead-letter queue, which is alarmed', () => {
    // Assess
    expect(fn().Properties.DeadLetterConfig).toEqual({ TargetArn: dlqArn() });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: id(stack.gate.function.function) },
      MaximumRetryAttempts: 2,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: 'ECR Steward: the scan gate has messages that failed processing',
      AlarmActions: [{ Ref: id(stack.topics.alerts) }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('lets EventBridge send to the dead-letter queue for the three rules only', () => {
    // Prepare
    const queue = stack.node.findChild('ScanGate').node.findChild('DeadLetter').node.findChild('Queue');
    const policy = Object.values(resources).find(
      (r) => r.Type === 'AWS::SQS::QueuePolicy' && r.Properties.Queues[0].Ref === id(queue),
    );

    // Act
    const sources = policy?.Properties.PolicyDocument.Statement.filter(
      (s: Json) => s.Effect === 'Allow' && s.Principal?.Service === 'events.amazonaws.com',
    ).map((s: Json) => s.Condition.ArnEquals['aws:SourceArn']['Fn::GetAtt'][0]);

    // Assess
    expect(sources?.sort()).toEqual(
      [stack.gate.rules.basicScan, stack.gate.rules.inspectorScan, stack.gate.rules.inspectorFinding]
        .map(id)
        .sort(),
    );
  });

  it('keeps verdicts in a table with point-in-time recovery and deletion protection, retained on delete', () => {
    // Act
    const table = resources[id(stack.gate.verdictTable)]!;

    // Assess
    expect(table.Type).toBe('AWS::DynamoDB::GlobalTable');
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    expect(table.Properties.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.Properties.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'byQuarantine',
        KeySchema: [
          { AttributeName: 'qpk', KeyType: 'HASH' },
          { AttributeName: 'qdue', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
    expect(table.Properties.Replicas).toEqual([
      expect.objectContaining({
        DeletionProtectionEnabled: true,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      }),
    ]);
  });

  it('reads scans and image metadata only: no PutImage, no BatchDeleteImage, no in-use reads', () => {
    // Act
    const actions = gateActions(built);
    const statements = gateStatements(built);

    // Assess
    expect(statements.ScannedImages?.Action).toEqual([
      'ecr:DescribeImageScanFindings',
      'ecr:DescribeImages',
      'ecr:DescribeRepositories',
      'ecr:ListTagsForResource',
    ]);
    expect(statements.ScannedImages?.Resource).toEqual({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':ecr:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':repository/*',
        ],
      ],
    });
    expect(statements.InUseSources).toBeUndefined();
    expect(Object.keys(statements)).toEqual(['ScannedImages']);
    for (const action of ['ecr:PutImage', 'ecr:BatchDeleteImage', 'ecr:BatchGetImage', 'ecs:ListTasks'])
      expect(actions).not.toContain(action);
    expect(actions).toContain('sns:Publish');
  });

  it('finds no AwsSolutions violation with cdk-nag validateScope', () => {
    expect(nagViolations(built)).toEqual([]);
  });

  it('has no quarantine expiry schedule', () => {
    expect(stack.gate.expirySchedule).toBeUndefined();
    expect(
      Object.values(resources).filter(
        (r) =>
          r.Type === 'AWS::Scheduler::Schedule' &&
          r.Properties.Target.Arn['Fn::GetAtt']?.[0] === id(stack.gate.function.function),
      ),
    ).toEqual([]);
  });
});

describe('ScanGate construct: registry scanning configuration', () => {
  it('sets none unless the config asks', () => {
    const { template, stack } = build();
    expect(stack.gate.registryScanning).toBeUndefined();
    template.resourceCountIs('AWS::ECR::RegistryScanningConfiguration', 0);
  });

  it("sets the registry's scan type and rules, and retains them when the stack goes", () => {
    // Act
    const { resources, stack, id, ...built } = build({
      registryScanning: {
        scanType: 'ENHANCED',
        rules: [
          { scanFrequency: 'CONTINUOUS_SCAN', repositories: ['prod/*', 'base-images'] },
          { scanFrequency: 'SCAN_ON_PUSH', repositories: ['*'] },
        ],
      },
    });
    const resource = resources[id(stack.gate.registryScanning!)]!;

    // Assess
    expect(resource).toEqual({
      Type: 'AWS::ECR::RegistryScanningConfiguration',
      Properties: {
        ScanType: 'ENHANCED',
        Rules: [
          {
            ScanFrequency: 'CONTINUOUS_SCAN',
            RepositoryFilters: [
              { Filter: 'prod/*', FilterType: 'WILDCARD' },
              { Filter: 'base-images', FilterType: 'WILDCARD' },
            ],
          },
          { ScanFrequency: 'SCAN_ON_PUSH', RepositoryFilters: [{ Filter: '*', FilterType: 'WILDCARD' }] },
        ],
      },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    expect(nagViolations({ resources, stack, id, ...built })).toEqual([]);
  });
});

describe('ScanGate construct: quarantine expiry', () => {
  const built = build({ onFail: { quarantine: { enabled: true, expireAfterDays: 14 } } });
  const { stack, id, resources } = built;

  it('starts the expiry on the sweep schedule with {"kind":"quarantine-expiry"}, dead-lettered after 3 retries', () => {
    // Act
    const schedule = resources[id(stack.gate.expirySchedule!)]!;

    // Assess
    expect(schedule.Type).toBe('AWS::Scheduler::Schedule');
    expect(schedule.Properties.ScheduleExpression).toBe('cron(0 3 * * ? *)');
    expect(schedule.Properties.ScheduleExpressionTimezone).toBe('Etc/UTC');
    expect(schedule.Properties.State).toBe('ENABLED');
    expect(schedule.Properties.Target).toEqual({
      Arn: { 'Fn::GetAtt': [id(stack.gate.function.function), 'Arn'] },
      RoleArn: { 'Fn::GetAtt': [id(stack.gate.node.findChild('SchedulerRole')), 'Arn'] },
      Input: '{"kind":"quarantine-expiry"}',
      DeadLetterConfig: {
        Arn: {
          'Fn::GetAtt': [id(stack.gate.node.findChild('DeadLetter').node.findChild('Queue')), 'Arn'],
        },
      },
      RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 3 },
    });
  });

  it('grants BatchDeleteImage and the in-use reads: an expired image in use is kept', () => {
    // Act
    const statements = gateStatements(built);

    // Assess
    expect(statements.GateWritesByName?.Action).toEqual(['ecr:BatchDeleteImage', 'ecr:PutImage']);
    expect(statements.InUseSources?.Action).toEqual(
      expect.arrayContaining(['ecs:ListTasks', 'ecs:DescribeServices', 'lambda:ListFunctions']),
    );
  });

  it('follows the sweep time zone', () => {
    // Act
    const config = validateConfig({
      selections: [{ repositories: ['services/*'], lifecyclePolicy: 'fromRepository' }],
      sweep: { schedule: 'cron(30 1 * * ? *)', timezone: 'Europe/Berlin' },
      gate: { onFail: { quarantine: { enabled: true, expireAfterDays: 3 } } },
    });
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const other = new EcrStewardStack(app, 'EcrSteward', { config });
    const schedule =
      Template.fromStack(other).toJSON().Resources[
        other.getLogicalId(other.gate.expirySchedule!.node.defaultChild as CfnElement)
      ];

    // Assess
    expect(schedule.Properties).toMatchObject({
      ScheduleExpression: 'cron(30 1 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
    });
  });

  it('finds no AwsSolutions violation', () => {
    expect(nagViolations(built)).toEqual([]);
  });
});

describe('ScanGate construct: permissions follow the config', () => {
  it('grants BatchGetImage everywhere, and PutImage and BatchDeleteImage (to lift a tag) on the managed repositories only, when quarantine is enabled', () => {
    // Act
    const built = build({ onFail: { quarantine: { enabled: true } } });
    const statements = gateStatements(built);

    // Assess
    expect(statements.ScannedImages?.Action).toEqual([
      'ecr:BatchGetImage',
      'ecr:DescribeImageScanFindings',
      'ecr:DescribeImages',
      'ecr:DescribeRepositories',
      'ecr:ListTagsForResource',
    ]);
    expect(statements.GateWritesByName).toEqual({
      Sid: 'GateWritesByName',
      Effect: 'Allow',
      Action: ['ecr:BatchDeleteImage', 'ecr:PutImage'],
      Resource: repositoryArn('services/*'),
    });
    expect(Object.keys(statements).sort()).toEqual(['GateWritesByName', 'ScannedImages']);
  });

  it('grants BatchDeleteImage but not PutImage, and the in-use reads, when removal is enabled', () => {
    // Act
    const built = build({ onFail: { remove: { enabled: true } } });
    const statements = gateStatements(built);

    // Assess: BatchGetImage reads the manifest of an image that claims to be a signature (never removed alone)
    expect(statements.ScannedImages?.Action).toEqual([
      'ecr:BatchGetImage',
      'ecr:DescribeImageScanFindings',
      'ecr:DescribeImages',
      'ecr:DescribeRepositories',
      'ecr:ListTagsForResource',
    ]);
    expect(statements.GateWritesByName).toEqual({
      Sid: 'GateWritesByName',
      Effect: 'Allow',
      Action: 'ecr:BatchDeleteImage',
      Resource: repositoryArn('services/*'),
    });
    expect(gateActions(built)).not.toContain('ecr:PutImage');
    expect(statements.InUseSources).toMatchObject({
      Effect: 'Allow',
      Resource: '*',
      Action: expect.arrayContaining(['ecs:ListTasks', 'ecs:DescribeTaskDefinition', 'lambda:GetFunction']),
    });
  });

  it('needs no in-use reads when removal may remove images in use', () => {
    // Act
    const built = build({ onFail: { remove: { enabled: true, allowInUse: true } } });

    // Assess
    expect(gateStatements(built).GateWritesByName?.Action).toBe('ecr:BatchDeleteImage');
    expect(gateStatements(built).InUseSources).toBeUndefined();
  });

  it('finds no AwsSolutions violation with quarantine and removal enabled', () => {
    expect(
      nagViolations(build({ onFail: { quarantine: { enabled: true }, remove: { enabled: true } } })),
    ).toEqual([]);
  });

  it('keeps the rules and the table whatever the onFail settings', () => {
    // Act
    const { template, resources, stack, id } = build({
      onFail: { notify: false, quarantine: { enabled: true } },
    });

    // Assess
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectEquals({
        source: ['aws.inspector2'],
        'detail-type': ['Inspector2 Scan'],
        detail: { 'repository-name': [{ exists: true }] },
      }),
    });
    expect(resources[id(stack.gate.verdictTable)]).toMatchObject({
      Type: 'AWS::DynamoDB::GlobalTable',
      DeletionPolicy: 'Retain',
    });
  });
});
