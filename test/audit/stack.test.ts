/**
 * The audit part of the stack (lib/constructs/audit.ts, audit-tables.ts, alerts.ts in
 * lib/stacks/ecr-steward-stack.ts), synthesized without bundling, and cdk-nag's AwsSolutions checks.
 */
import { App, type CfnElement, type IResource, type Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../functions/shared/config/load.js';
import { EcrStewardStack } from '../../lib/stacks/ecr-steward-stack.js';

const QUEUE_ENDPOINT = 'arn:aws:sqs:us-west-2:123456789012:platform-alerts';
const LAMBDA_ENDPOINT = 'arn:aws:lambda:us-west-2:123456789012:function:pager';

const config = validateConfig({
  mode: 'enforce',
  selections: [{ name: 'services', repositories: ['services/*'], lifecyclePolicy: 'fromRepository' }],
  alerts: {
    backstopDeletesPer5Minutes: 250,
    subscriptions: [
      { protocol: 'email', endpoint: 'platform@example.com', topics: ['alerts'] },
      { protocol: 'https', endpoint: 'https://hooks.example.com/ecr-steward' },
      { protocol: 'sqs', endpoint: QUEUE_ENDPOINT, topics: ['security'] },
      { protocol: 'lambda', endpoint: LAMBDA_ENDPOINT, topics: ['alerts'] },
    ],
  },
});

type Resources = Record<
  string,
  // biome-ignore lint/suspicious/noExplicitAny: CloudFormation resources are untyped JSON.
  { Type: string; Properties: any; DeletionPolicy?: string; UpdateReplacePolicy?: string }
>;

let app: App;
let stack: EcrStewardStack;
let resources: Resources;
const id = (construct: IConstruct | IResource) =>
  stack.getLogicalId((construct.node.defaultChild ?? construct) as CfnElement);
const arnOf = (construct: IConstruct) => ({ 'Fn::GetAtt': [id(construct), 'Arn'] });
const ref = (construct: IConstruct) => ({ Ref: id(construct) });

beforeAll(() => {
  app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  stack = new EcrStewardStack(app, 'EcrSteward', { config });
  resources = Template.fromStack(stack).toJSON().Resources as Resources;
});

describe('Audit construct (rules)', () => {
  it.each([
    [
      'imageDelete',
      'ENABLED',
      { source: ['aws.ecr'], 'detail-type': ['ECR Image Action'], detail: { 'action-type': ['DELETE'] } },
    ],
    [
      'lifecycleExpiry',
      'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS',
      {
        source: ['aws.ecr'],
        'detail-type': ['AWS Service Event via CloudTrail'],
        detail: { eventSource: ['ecr.amazonaws.com'], eventName: ['PolicyExecutionEvent'] },
      },
    ],
    [
      'batchDeleteCall',
      'ENABLED',
      {
        source: ['aws.ecr'],
        'detail-type': ['AWS API Call via CloudTrail'],
        detail: { eventSource: ['ecr.amazonaws.com'], eventName: ['BatchDeleteImage'] },
      },
    ],
  ] as const)(
    'matches exactly the %s pattern with state %s and targets the audit queue with its DLQ',
    (name, state, pattern) => {
      // Prepare
      const rule = resources[id(stack.audit.rules[name])]!;

      // Act
      const { EventPattern, State, Targets } = rule.Properties;

      // Assess
      expect(rule.Type).toBe('AWS::Events::Rule');
      expect(EventPattern).toEqual(pattern);
      expect(State).toBe(state);
      expect(Targets).toEqual([
        {
          Arn: arnOf(stack.audit.queue),
          Id: 'Target0',
          DeadLetterConfig: { Arn: arnOf(stack.audit.deadLetterQueue) },
          RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 },
        },
      ]);
    },
  );

  it('lets each rule, and only it, send to the audit queue and its dead-letter queue when over TLS', () => {
    // Prepare
    const policies = Object.values(resources).filter((r) => r.Type === 'AWS::SQS::QueuePolicy');
    const policyOf = (queue: IConstruct) =>
      policies.find((p) => JSON.stringify(p.Properties.Queues) === JSON.stringify([ref(queue)]))!.Properties
        .PolicyDocument.Statement;

    // Act
    const queueStatements = policyOf(stack.audit.queue);
    const dlqStatements = policyOf(stack.audit.deadLetterQueue);

    // Assess
    const rules = Object.values(stack.audit.rules).map((r) => arnOf(r));
    for (const statements of [queueStatements, dlqStatements]) {
      expect(statements[0]).toMatchObject({
        Effect: 'Deny',
        Action: 'sqs:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      });
      const allows = statements.filter((s: { Effect: string }) => s.Effect === 'Allow');
      expect(allows.map((s: { Principal: unknown }) => s.Principal)).toEqual(
        rules.map(() => ({ Service: 'events.amazonaws.com' })),
      );
      expect(
        allows.map(
          (s: { Condition: { ArnEquals: Record<string, unknown> } }) =>
            s.Condition.ArnEquals['aws:SourceArn'],
        ),
      ).toEqual(rules);
    }
  });

  it('feeds the function from the queue in batches of 10 with partial batch failures, and redrives when received 5 times', () => {
    // Prepare
    const queue = resources[id(stack.audit.queue)]!;
    const mappings = Object.values(resources).filter(
      (r) =>
        r.Type === 'AWS::Lambda::EventSourceMapping' &&
        JSON.stringify(r.Properties.EventSourceArn) === JSON.stringify(arnOf(stack.audit.queue)),
    );

    // Act
    const fn = resources[id(stack.audit.function.function)]!;

    // Assess
    expect(queue.Properties).toEqual({
      MessageRetentionPeriod: 1_209_600,
      RedrivePolicy: { deadLetterTargetArn: arnOf(stack.audit.deadLetterQueue), maxReceiveCount: 5 },
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 360,
    });
    expect(mappings.map((m) => m.Properties)).toEqual([
      {
        BatchSize: 100,
        MaximumBatchingWindowInSeconds: 2,
        EventSourceArn: arnOf(stack.audit.queue),
        FunctionName: ref(stack.audit.function.function),
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: 5 },
      },
    ]);
    expect(fn.Properties.ReservedConcurrentExecutions).toBe(5);
    expect(fn.Properties.Environment.Variables).toMatchObject({
      AUDIT_TABLE_NAME: ref(stack.tables.audit),
      STATE_TABLE_NAME: ref(stack.tables.state),
      ALERTS_TOPIC_ARN: ref(stack.topics.alerts),
      AUDIT_DLQ_URL: ref(stack.audit.deadLetterQueue),
    });
  });

  it('grants the audit function only ecr:DescribeImages when it verifies an ambiguous signal, never a delete', () => {
    // Prepare
    const role = ref(stack.audit.function.role);
    const policies = Object.values(resources).filter(
      (r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles) === JSON.stringify([role]),
    );

    // Act
    const ecrActions = policies
      .flatMap((p) => p.Properties.PolicyDocument.Statement)
      .flatMap((s: { Action: string | string[] }) => [s.Action].flat())
      .filter((a: string) => a.startsWith('ecr:'));

    // Assess
    expect(ecrActions).toEqual(['ecr:DescribeImages']);
  });

  it('alarms on AWS/Events MatchedEvents of the DELETE rule above the configured backstop, to the alerts topic', () => {
    // Prepare
    const alarm = resources[id(stack.audit.backstopAlarm)]!;

    // Act
    const props = alarm.Properties;

    // Assess
    expect(props).toMatchObject({
      Namespace: 'AWS/Events',
      MetricName: 'MatchedEvents',
      Dimensions: [{ Name: 'RuleName', Value: ref(stack.audit.rules.imageDelete) }],
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 250,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [ref(stack.topics.alerts)],
    });
  });
});

describe('AuditTables construct', () => {
  it('makes the audit table on-demand, PITR, deletion-protected, retained, encrypted, with TTL ttl and 5 GSIs (two sparse ones for open records) when synthesized', () => {
    // Prepare
    const table = resources[id(stack.tables.audit)]!;
    const key = (hash: string, range: string) => [
      { AttributeName: hash, KeyType: 'HASH' },
      { AttributeName: range, KeyType: 'RANGE' },
    ];

    // Act
    const props = table.Properties;

    // Assess
    expect(table.Type).toBe('AWS::DynamoDB::GlobalTable');
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    expect(props.BillingMode).toBe('PAY_PER_REQUEST');
    expect(props.KeySchema).toEqual(key('pk', 'sk'));
    expect(props.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
    expect(props.TimeToLiveSpecification).toEqual({ AttributeName: 'ttl', Enabled: true });
    expect(props.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'byRepository',
        KeySchema: key('gsi1pk', 'gsi1sk'),
        Projection: { ProjectionType: 'ALL' },
      },
      { IndexName: 'byRun', KeySchema: key('gsi2pk', 'gsi2sk'), Projection: { ProjectionType: 'ALL' } },
      { IndexName: 'byDay', KeySchema: key('gsi3pk', 'gsi3sk'), Projection: { ProjectionType: 'ALL' } },
      { IndexName: 'byDue', KeySchema: key('gsi4pk', 'gsi4sk'), Projection: { ProjectionType: 'ALL' } },
      {
        IndexName: 'openByRepository',
        KeySchema: key('gsi5pk', 'gsi5sk'),
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
    expect(props.AttributeDefinitions.map((a: { AttributeName: string }) => a.AttributeName).sort()).toEqual(
      [
        'pk',
        'sk',
        'gsi1pk',
        'gsi1sk',
        'gsi2pk',
        'gsi2sk',
        'gsi3pk',
        'gsi3sk',
        'gsi4pk',
        'gsi4sk',
        'gsi5pk',
        'gsi5sk',
      ].sort(),
    );
    expect(props.Replicas).toEqual([
      expect.objectContaining({
        DeletionProtectionEnabled: true,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      }),
    ]);
  });

  it('makes the holds table pk/sk, on-demand, PITR, deletion-protected, retained and encrypted, with no index or TTL', () => {
    // Prepare
    const table = resources[id(stack.tables.holds)]!;

    // Act
    const props = table.Properties;

    // Assess
    expect(table.Type).toBe('AWS::DynamoDB::GlobalTable');
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    expect(props.BillingMode).toBe('PAY_PER_REQUEST');
    expect(props.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(props.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
    expect(props.GlobalSecondaryIndexes).toBeUndefined();
    expect(props.TimeToLiveSpecification).toBeUndefined();
    expect(props.Replicas).toEqual([
      expect.objectContaining({
        DeletionProtectionEnabled: true,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      }),
    ]);
  });

  it('makes the state table PITR, deletion-protected, retained and encrypted with TTL expiresAt when synthesized', () => {
    // Prepare
    const table = resources[id(stack.tables.state)]!;

    // Act
    const props = table.Properties;

    // Assess
    expect(table.DeletionPolicy).toBe('Retain');
    expect(props.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
    expect(props.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(props.Replicas[0]).toMatchObject({
      DeletionProtectionEnabled: true,
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });
});

describe('AlertTopics construct', () => {
  const alarmsOfThisAccount = (topic: IConstruct) => ({
    Action: 'sns:Publish',
    Condition: {
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnLike: {
        'aws:SourceArn': {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':cloudwatch:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              ':alarm:*',
            ],
          ],
        },
      },
    },
    Effect: 'Allow',
    Principal: { Service: 'cloudwatch.amazonaws.com' },
    Resource: ref(topic),
    Sid: 'CloudWatchAlarmsOfThisAccount',
  });

  it.each([
    ['alerts', true],
    ['security', false],
  ] as const)(
    'encrypts the %s topic with the rotating key, denies publishing without TLS, and lets alarms of this account publish: %s',
    (name, alarms) => {
      // Prepare
      const topic = stack.topics[name];
      const policy = Object.values(resources).find(
        (r) =>
          r.Type === 'AWS::SNS::TopicPolicy' &&
          JSON.stringify(r.Properties.Topics) === JSON.stringify([ref(topic)]),
      );

      // Act
      const props = resources[id(topic)]!.Properties;

      // Assess
      expect(props.KmsMasterKeyId).toEqual(arnOf(stack.topics.key));
      expect(resources[id(stack.topics.key)]!.Properties.EnableKeyRotation).toBe(true);
      expect(policy?.Properties.PolicyDocument.Statement).toEqual([
        {
          Action: 'sns:Publish',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          Effect: 'Deny',
          Principal: '*',
          Resource: ref(topic),
          Sid: 'AllowPublishThroughSSLOnly',
        },
        ...(alarms ? [alarmsOfThisAccount(topic)] : []),
      ]);
    },
  );

  it('subscribes exactly the configured endpoints when the config names them, each to its topics', () => {
    // Prepare
    const alerts = ref(stack.topics.alerts);
    const security = ref(stack.topics.security);

    // Act
    const subscriptions = Object.values(resources)
      .filter((r) => r.Type === 'AWS::SNS::Subscription')
      .map((r) => r.Properties)
      .sort((a, b) =>
        `${a.Protocol}${JSON.stringify(a.TopicArn)}`.localeCompare(
          `${b.Protocol}${JSON.stringify(b.TopicArn)}`,
        ),
      );

    // Assess
    expect(subscriptions).toEqual([
      { Protocol: 'email', Endpoint: 'platform@example.com', TopicArn: alerts },
      { Protocol: 'https', Endpoint: 'https://hooks.example.com/ecr-steward', TopicArn: alerts },
      { Protocol: 'https', Endpoint: 'https://hooks.example.com/ecr-steward', TopicArn: security },
      { Protocol: 'lambda', Endpoint: LAMBDA_ENDPOINT, TopicArn: alerts },
      { Protocol: 'sqs', Endpoint: QUEUE_ENDPOINT, TopicArn: security },
    ]);
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('passes when registered as a validation plugin and the app is synthesized (the bin/app.ts path)', () => {
    // Prepare
    const synthApp = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    new EcrStewardStack(synthApp, 'EcrSteward', { config });
    Validations.of(synthApp).addPlugins(new AwsSolutionsChecks(synthApp));

    // Act
    const synth = () => synthApp.synth();

    // Assess
    expect(synth).not.toThrow();
  });

  it('finds nothing in the stack when validated with validateScope', () => {
    // Prepare
    const checks = new AwsSolutionsChecks(app);

    // Act
    const report = checks.validateScope(stack as Stack);

    // Assess
    expect(
      report.violations.map(
        (v) => `${v.ruleName} @ ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
      ),
    ).toEqual([]);
    expect(report.success).toBe(true);
  });
});
