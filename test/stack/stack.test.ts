/**
 * The stack's intent, asserted on the synthesized template (bundling skipped: the functions are not built
 * here; `app.test.ts` runs bin/app.ts the way `cdk synth` does).
 */
import { existsSync, readFileSync } from 'node:fs';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../functions/shared/config/load.js';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { EcrStewardStack } from '../../lib/stacks/ecr-steward-stack.js';

const exampleConfig = (): StewardConfig =>
  parseConfig(readFileSync(new URL('../../examples/steward.config.jsonc', import.meta.url), 'utf8'));

/** The example config without its tag-based selection: every managed repository is known by name. */
const namesOnlyConfig = (): StewardConfig => {
  const config = exampleConfig();
  return { ...config, selections: config.selections.filter((s) => s.repositoryTags === undefined) };
};

function build(config: StewardConfig) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new EcrStewardStack(app, 'Test', { config });
  return { app, stack, template: Template.fromStack(stack) };
}

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation template fragments are untyped JSON.
type Json = Record<string, any>;

/** A CloudFormation string value with intrinsics rendered as cdk-nag does: `{"Ref": "X"}` → `<X>`, Fn::Join flattened. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Json;
  if (v?.Ref) return `<${v.Ref}>`;
  if (v?.['Fn::GetAtt']) return `<${v['Fn::GetAtt'].join('.')}>`;
  if (v?.['Fn::Join']) return (v['Fn::Join'][1] as unknown[]).map(text).join(v['Fn::Join'][0]);
  return JSON.stringify(value);
}

const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** Every IAM statement of the template, with the logical id of its policy. */
function statements(template: Template): { policy: string; roles: string[]; statement: Json }[] {
  const out: { policy: string; roles: string[]; statement: Json }[] = [];
  for (const [policy, resource] of Object.entries(template.findResources('AWS::IAM::Policy'))) {
    const roles = (resource.Properties.Roles ?? []).map((r: Json) => r.Ref as string);
    for (const statement of resource.Properties.PolicyDocument.Statement)
      out.push({ policy, roles, statement });
  }
  return out;
}

/** The logical id of the one resource of `type` whose properties match. */
function logicalId(template: Template, type: string, props: Json): string {
  const found = Object.keys(template.findResources(type, { Properties: props }));
  expect(found, `exactly one ${type} matching ${JSON.stringify(props)}`).toHaveLength(1);
  return found[0]!;
}

describe('EcrStewardStack (names-only config)', () => {
  let template: Template;
  beforeAll(() => {
    template = build(namesOnlyConfig()).template;
  });

  it('narrows the push rule to successful pushes to the managed repository names', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectEquals({
        source: ['aws.ecr'],
        'detail-type': ['ECR Image Action'],
        detail: {
          'action-type': ['PUSH'],
          result: ['SUCCESS'],
          'repository-name': ['web', { prefix: 'services/' }],
        },
      }),
    });
  });

  it('grants BatchDeleteImage on the managed repository ARNs only', () => {
    // Act
    const deletes = statements(template).filter(({ statement }) =>
      list(statement.Action).some((a: string) => a === 'ecr:BatchDeleteImage' || a === 'ecr:*' || a === '*'),
    );

    // Assess
    // The scan gate's quarantine (on in the example config) untags, and its expiry removes, in any scanned
    // repository: that statement belongs to the gate's role and is asserted below.
    const gate = deletes.filter(({ statement }) => statement.Sid === 'ScannedImages');
    expect(gate.map(({ statement }) => list(statement.Resource).map(text))).toEqual([
      ['arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/*'],
    ]);
    expect(gate[0]?.roles).toEqual([
      logicalId(template, 'AWS::IAM::Role', { Description: Match.stringLikeRegexp('scan gate') }),
    ]);
    deletes.splice(deletes.indexOf(gate[0]!), 1);
    expect(deletes).toHaveLength(1);
    expect(deletes[0]?.statement.Effect).toBe('Allow');
    expect(deletes[0]?.statement.Condition).toBeUndefined();
    expect(list(deletes[0]!.statement.Resource).map(text)).toEqual([
      'arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/services/*',
      'arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/web',
    ]);
    const worker = logicalId(template, 'AWS::IAM::Role', {
      Description: Match.stringLikeRegexp('cleanup worker'),
    });
    expect(deletes[0]?.roles).toEqual([worker]);
  });
});

describe('EcrStewardStack (example config)', () => {
  let app: App;
  let stack: EcrStewardStack;
  let template: Template;
  beforeAll(() => {
    ({ app, stack, template } = build(exampleConfig()));
  });

  const queueId = () =>
    logicalId(template, 'AWS::SQS::Queue', {
      FifoQueue: true,
      RedrivePolicy: Match.anyValue(),
      VisibilityTimeout: 1800,
    });
  const dlqId = () => template.findResources('AWS::SQS::Queue', { Properties: { FifoQueue: true } });
  const fnId = (handler: string) =>
    logicalId(template, 'AWS::Lambda::Function', { Handler: `index.${handler}` });
  const auditTableId = () =>
    logicalId(template, 'AWS::DynamoDB::GlobalTable', {
      GlobalSecondaryIndexes: Match.arrayWith([Match.objectLike({ IndexName: 'byRepository' })]),
    });
  const stateTableId = () =>
    logicalId(template, 'AWS::DynamoDB::GlobalTable', {
      TimeToLiveSpecification: Match.objectLike({ AttributeName: 'expiresAt' }),
    });
  const cleanupDlq = () => {
    const redrive = template.findResources('AWS::SQS::Queue', {
      Properties: { FifoQueue: true, VisibilityTimeout: 1800 },
    });
    return (
      Object.values(redrive)[0]!.Properties.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'] as string[]
    )[0]!;
  };
  const asyncDlq = () =>
    (
      template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.intake' } })[
        fnId('intake')
      ]!.Properties.DeadLetterConfig.TargetArn['Fn::GetAtt'] as string[]
    )[0]!;

  it('leaves the push rule unnarrowed when a selection picks repositories by tag', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectEquals({
        source: ['aws.ecr'],
        'detail-type': ['ECR Image Action'],
        detail: { 'action-type': ['PUSH'], result: ['SUCCESS'] },
      }),
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [fnId('intake'), 'Arn'] },
          Id: 'Target0',
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [asyncDlq(), 'Arn'] } },
          RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
        },
      ],
    });
  });

  it('queues cleanups on a FIFO queue without content-based deduplication, with a FIFO dead-letter queue after 5 receives', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true,
      ContentBasedDeduplication: false,
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 1800,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [cleanupDlq(), 'Arn'] }, maxReceiveCount: 5 },
    });
    expect(template.toJSON().Resources[cleanupDlq()].Properties).toEqual({
      FifoQueue: true,
      MessageRetentionPeriod: 1209600,
      SqsManagedSseEnabled: true,
    });
    expect(Object.keys(dlqId())).toHaveLength(2);
  });

  it('starts the sweep on the configured schedule, with retries and a dead-letter queue', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 3 * * ? *)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Target: {
        Arn: { 'Fn::GetAtt': [fnId('sweep'), 'Arn'] },
        Input: '{"kind":"sweep"}',
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [asyncDlq(), 'Arn'] } },
        RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 3 },
        RoleArn: Match.anyValue(),
      },
    });
  });

  it.each([
    ['worker', 1024, 300],
    ['intake', 256, 30],
    ['sweep', 512, 300],
  ])(
    'runs the %s handler on Node.js 24, arm64, with %i MB, %i s and the cleanup environment',
    (handler, memory, timeout) => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Handler: `index.${handler}`,
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        MemorySize: memory,
        Timeout: timeout,
        LoggingConfig: { LogFormat: 'JSON', LogGroup: Match.anyValue() },
        Environment: {
          Variables: {
            NODE_OPTIONS: '--enable-source-maps',
            POWERTOOLS_LOG_LEVEL: 'INFO',
            CLEANUP_QUEUE_URL: { Ref: queueId() },
            CLEANUP_DLQ_URL: { Ref: cleanupDlq() },
            AUDIT_TABLE_NAME: { Ref: auditTableId() },
            STATE_TABLE_NAME: { Ref: stateTableId() },
            STEWARD_CONFIG_JSON: Match.absent(),
          },
        },
      });
    },
  );

  it.each(['intake', 'sweep'])(
    'sends failed asynchronous %s invocations to a dead-letter queue after 2 retries',
    (handler) => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Handler: `index.${handler}`,
        DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [asyncDlq(), 'Arn'] } },
      });
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: fnId(handler) },
        MaximumRetryAttempts: 2,
        Qualifier: '$LATEST',
      });
    },
  );

  it('feeds the worker from the queue, 10 at a time, reporting batch item failures', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: fnId('worker') },
      EventSourceArn: { 'Fn::GetAtt': [queueId(), 'Arn'] },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('alarms to the alerts topic on the first message in each cleanup dead-letter queue', () => {
    const alerts = logicalId(template, 'AWS::SNS::Topic', { DisplayName: 'ECR Steward alerts' });
    for (const queue of [cleanupDlq(), asyncDlq()]) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }],
        Statistic: 'Maximum',
        Period: 60,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: alerts }],
      });
    }
  });

  it('lets the worker send malformed messages to its dead-letter queue', () => {
    const worker = logicalId(template, 'AWS::IAM::Role', {
      Description: Match.stringLikeRegexp('cleanup worker'),
    });
    const sends = statements(template).filter(
      ({ roles, statement }) => roles.includes(worker) && list(statement.Action).includes('sqs:SendMessage'),
    );
    expect(sends.map(({ statement }) => text(list(statement.Resource)[0]))).toContain(
      `<${cleanupDlq()}.Arn>`,
    );
  });

  it('grants the cleanup BatchDeleteImage only on the managed names and on tag-selected repositories, never on "*"', () => {
    // Act (the scan gate's own statement, for its quarantine, is asserted in the names-only tests)
    const deletes = statements(template).filter(
      ({ statement }) =>
        statement.Sid !== 'ScannedImages' &&
        list(statement.Action).some(
          (a: string) => a === 'ecr:BatchDeleteImage' || a === 'ecr:*' || a === '*',
        ),
    );

    // Assess
    expect(
      deletes.map(({ statement }) => [
        statement.Sid,
        list(statement.Resource).map(text),
        statement.Condition,
      ]),
    ).toEqual([
      [
        'ManagedRepositoriesByName',
        [
          'arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/services/*',
          'arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/web',
        ],
        undefined,
      ],
      [
        'ManagedRepositoriesByTag0',
        ['arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/*'],
        { StringEquals: { 'aws:ResourceTag/steward': 'managed' } },
      ],
    ]);
  });

  it('keeps the audit table: on demand, point-in-time recovery, deletion protection, encrypted, retained', () => {
    template.hasResource('AWS::DynamoDB::GlobalTable', {
      Properties: Match.objectLike({
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: Match.arrayWith([Match.objectLike({ IndexName: 'byRepository' })]),
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
        Replicas: [
          Match.objectLike({
            DeletionProtectionEnabled: true,
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          }),
        ],
      }),
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });

  it('encrypts every topic with a rotating KMS key and denies publishing without TLS', () => {
    // Prepare
    const topics = template.findResources('AWS::SNS::Topic');
    const policies = Object.values(template.findResources('AWS::SNS::TopicPolicy'));

    // Assess
    expect(Object.keys(topics).length).toBeGreaterThanOrEqual(2);
    for (const [id, topic] of Object.entries(topics)) {
      const keyId = (topic.Properties.KmsMasterKeyId?.['Fn::GetAtt'] as string[] | undefined)?.[0];
      expect(keyId, `${id} is KMS-encrypted`).toBeDefined();
      expect(template.toJSON().Resources[keyId!].Properties.EnableKeyRotation).toBe(true);
      const policy = policies.find((p) => p.Properties.Topics.some((t: Json) => t.Ref === id));
      expect(policy?.Properties.PolicyDocument.Statement, `${id} is TLS-only`).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Principal: '*',
          Action: 'sns:Publish',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    }
  });

  it('finds no AwsSolutions violation with cdk-nag validateScope', () => {
    // Act
    const report = new AwsSolutionsChecks(app).validateScope(stack);

    // Assess
    expect(
      report.violations.map(
        (v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
      ),
    ).toEqual([]);
    expect(report.success).toBe(true);
  });
});

describe('EcrStewardStack synthesis with cdk-nag registered as bin/app.ts does', () => {
  it('synthesizes with an AwsSolutions report that has no violation and a reason for every acknowledgement', () => {
    // Prepare
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    new EcrStewardStack(app, 'Test', { config: exampleConfig() });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    // Act
    const assembly = app.synth();

    // Assess: the report lists what the plugins found, and is left out when there is nothing to say.
    const file = `${assembly.directory}/validation-report.json`;
    const reports: Json[] = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).pluginReports : [];
    expect(reports.filter((r) => r.conclusion !== 'success').map((r) => r.pluginName)).toEqual([]);
    expect(reports.flatMap((r) => r.violations)).toEqual([]);
    for (const suppressed of reports.flatMap((r) => r.suppressedViolations ?? []))
      expect(suppressed.reason.length).toBeGreaterThan(20);
  });
});
