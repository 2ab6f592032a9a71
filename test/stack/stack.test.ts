/**
 * The stack's intent, asserted on the synthesized template (bundling skipped: the functions are not built
 * here; `app.test.ts` runs bin/app.ts the way `cdk synth` does).
 */
import { existsSync, readFileSync } from 'node:fs';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, validateConfig } from '../../functions/shared/config/load.js';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { needsDueProcessing } from '../../lib/constructs/cleanup.js';
import { EcrStewardStack } from '../../lib/stacks/ecr-steward-stack.js';
import { allowsAny, identityStatements, type Json, list, text, WRITE_ACTIONS } from './template-iam.js';

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

/** Every IAM statement of the template, with the logical id of its policy. */
const statements = identityStatements;

/** The logical id of the one resource of `type` whose properties match. */
function logicalId(template: Template, type: string, props: Json): string {
  const found = Object.keys(template.findResources(type, { Properties: props }));
  expect(found, `exactly one ${type} matching ${JSON.stringify(props)}`).toHaveLength(1);
  return found[0]!;
}

const roleId = (template: Template, description: string) =>
  logicalId(template, 'AWS::IAM::Role', { Description: Match.stringLikeRegexp(description) });

const REPO = 'arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository';

/** [Sid, role, resources, condition] of every statement that allows an ECR write, sorted by Sid. */
function writeGrants(template: Template) {
  const roles = Object.fromEntries(
    [
      ['worker', roleId(template, 'cleanup worker')],
      ['gate', roleId(template, 'scan gate')],
    ].map(([k, v]) => [v, k]),
  );
  return statements(template)
    .filter(({ statement }) => allowsAny(statement, WRITE_ACTIONS))
    .map(({ roles: r, statement }) => [
      statement.Sid,
      r.map((id) => roles[id] ?? id),
      list(statement.Resource).map(text),
      statement.Condition,
    ])
    .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
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

  it('grants the ECR writes of the cleanup worker and the scan gate on the managed repository ARNs only', () => {
    // Act
    const grants = writeGrants(template);

    // Assess
    const named = [`${REPO}/services/*`, `${REPO}/web`];
    expect(grants).toEqual([
      ['GateWritesByName', ['gate'], named, undefined],
      ['ManagedRepositoriesByName', ['worker'], named, undefined],
    ]);
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
  // byRun: the requests table has a byRepository index too.
  const auditTableId = () =>
    logicalId(template, 'AWS::DynamoDB::GlobalTable', {
      GlobalSecondaryIndexes: Match.arrayWith([Match.objectLike({ IndexName: 'byRun' })]),
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

  it('grants the ECR writes only on the managed names and on repositories carrying the selection tags, never on "*" unconditioned', () => {
    // Act
    const grants = writeGrants(template);

    // Assess
    const named = [`${REPO}/services/*`, `${REPO}/web`];
    const tagged = { StringEquals: { 'aws:ResourceTag/steward': 'managed' } };
    expect(grants).toEqual([
      ['GateWritesByName', ['gate'], named, undefined],
      ['GateWritesByTag0', ['gate'], [`${REPO}/*`], tagged],
      ['ManagedRepositoriesByName', ['worker'], named, undefined],
      ['ManagedRepositoriesByTag0', ['worker'], [`${REPO}/*`], tagged],
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

  it('lets the worker, the audit function and the gate read, query and put audit records (the sweep only query them), never delete or update them', () => {
    // Prepare
    const table = `<${auditTableId()}.Arn>`;
    const onAuditTable = statements(template).filter(({ statement }) =>
      list(statement.Resource).some((r) => text(r).startsWith(table)),
    );

    // Act
    const byRole = onAuditTable.map(({ roles, statement }) => [
      roles,
      list(statement.Action),
      list(statement.Resource).map(text),
    ]);

    // Assess
    const actions = ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'];
    const resources = [table, `${table}/index/*`];
    // With a notice period or archive, the sweep also finds what is due through the byDue index (Query only).
    const sweep = needsDueProcessing(exampleConfig())
      ? [[[roleId(template, 'cleanup sweep')], ['dynamodb:Query'], resources]]
      : [];
    expect(byRole.sort()).toEqual(
      [
        [[roleId(template, 'cleanup worker')], actions, resources],
        [[roleId(template, 'ECR Steward audit')], actions, resources],
        [[roleId(template, 'scan gate')], actions, resources],
        // The weekly digest reads the week's records through the byDay index, nothing else.
        [[roleId(template, 'weekly digest: sends')], ['dynamodb:Query'], [`${table}/index/byDay`]],
        ...sweep,
      ].sort(),
    );
    const destructive = statements(template).filter(({ statement }) =>
      allowsAny(statement, ['dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:UpdateItem']),
    );
    for (const { statement } of destructive)
      expect(list(statement.Resource).map(text).join(' ')).not.toContain(table);
    expect(destructive.length, 'the state and verdict tables keep read/write').toBeGreaterThan(0);
  });

  it('retains the log group of every function when the stack is deleted', () => {
    // Act
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup'));

    // Assess
    expect(
      groups.map((g) => [g.DeletionPolicy, g.UpdateReplacePolicy, g.Properties.RetentionInDays]),
    ).toEqual(Array(6).fill(['Retain', 'Retain', 30]));
  });

  it.each([
    ['ECR Replication Action', { 'action-type': ['REPLICATE'], result: ['SUCCESS'] }],
    ['ECR Pull Through Cache Action', { 'sync-status': ['SUCCESS'] }],
  ])(
    'routes successful %s events to the intake like pushes, unnarrowed when a selection is by tags',
    (detailType, detail) => {
      template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: Match.objectEquals({ source: ['aws.ecr'], 'detail-type': [detailType], detail }),
        Targets: [
          {
            Arn: { 'Fn::GetAtt': [fnId('intake'), 'Arn'] },
            Id: 'Target0',
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': [asyncDlq(), 'Arn'] } },
            RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
          },
        ],
      });
    },
  );

  it('lets CloudWatch alarms of this account and region, and only they, publish to the alerts topic and use its key', () => {
    // Prepare
    const alerts = logicalId(template, 'AWS::SNS::Topic', { DisplayName: 'ECR Steward alerts' });
    const security = logicalId(template, 'AWS::SNS::Topic', { DisplayName: 'ECR Steward security' });
    const policyOf = (topic: string) =>
      Object.values(template.findResources('AWS::SNS::TopicPolicy')).find((p) =>
        p.Properties.Topics.some((t: Json) => t.Ref === topic),
      )!.Properties.PolicyDocument.Statement as Json[];
    const key = Object.values(template.findResources('AWS::KMS::Key'))[0]!;
    const source = {
      StringEquals: { 'aws:SourceAccount': '<AWS::AccountId>' },
      ArnLike: { 'aws:SourceArn': 'arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:*' },
    };
    const rendered = (condition: Json) => ({
      StringEquals: { 'aws:SourceAccount': text(condition.StringEquals['aws:SourceAccount']) },
      ArnLike: { 'aws:SourceArn': text(condition.ArnLike['aws:SourceArn']) },
    });

    // Act
    const alertAllows = policyOf(alerts).filter((st) => st.Effect === 'Allow');
    const securityAllows = policyOf(security).filter((st) => st.Effect === 'Allow');
    const keyServices = (key.Properties.KeyPolicy.Statement as Json[]).filter((st) => st.Principal?.Service);

    // Assess
    expect(
      alertAllows.map((st) => [st.Principal, st.Action, text(st.Resource), rendered(st.Condition)]),
    ).toEqual([[{ Service: 'cloudwatch.amazonaws.com' }, 'sns:Publish', `<${alerts}>`, source]]);
    expect(securityAllows).toEqual([]);
    expect(keyServices.map((st) => [st.Principal, st.Action, st.Resource, rendered(st.Condition)])).toEqual([
      [{ Service: 'cloudwatch.amazonaws.com' }, ['kms:Decrypt', 'kms:GenerateDataKey*'], '*', source],
    ]);
    // Nothing else may publish to a topic: no EventBridge rule targets one.
    const ruleTargets = Object.values(template.findResources('AWS::Events::Rule')).flatMap((r) =>
      list(r.Properties.Targets as Json[]).map((t) => text(t.Arn)),
    );
    expect(ruleTargets.filter((arn) => arn === `<${alerts}>` || arn === `<${security}>`)).toEqual([]);
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

describe('EcrStewardStack (a wide glob: "repositories": ["*"])', () => {
  let app: App;
  let stack: EcrStewardStack;
  let template: Template;
  beforeAll(() => {
    ({ app, stack, template } = build(
      validateConfig({
        mode: 'enforce',
        selections: [{ name: 'everything', repositories: ['*'], lifecyclePolicy: 'fromRepository' }],
        gate: { onFail: { quarantine: { enabled: true, expireAfterDays: 14 }, remove: { enabled: true } } },
      }),
    ));
  });

  it('grants no ECR write, to any role, without the steward=managed tag condition', () => {
    // Act: every statement of every identity policy in the template
    const writes = statements(template).filter(({ statement }) => allowsAny(statement, WRITE_ACTIONS));

    // Assess
    const tagged = { StringEquals: { 'aws:ResourceTag/steward': 'managed' } };
    expect(writes.map(({ statement }) => [list(statement.Resource).map(text), statement.Condition])).toEqual([
      [[`${REPO}/*`], tagged],
      [[`${REPO}/*`], tagged],
    ]);
    expect(writes.flatMap(({ roles }) => roles).sort()).toEqual(
      [roleId(template, 'cleanup worker'), roleId(template, 'scan gate')].sort(),
    );
    expect(writeGrants(template).map(([sid, role]) => [sid, role])).toEqual([
      ['GateWritesByTag0', ['gate']],
      ['ManagedRepositoriesByTag0', ['worker']],
    ]);
  });

  it('states the real write scope in the acknowledgements of the worker and gate policies', () => {
    // Act
    const worker = acknowledgements(stack.cleanup.worker.node.findChild('RepositoryPolicy'));
    const gate = acknowledgements(stack.gate.function.node.findChild('GatePolicy'));

    // Assess
    expect(worker.map(([, reason]) => reason)).toContain(
      "BatchDeleteImage, UpdateImageStorageClass and image reads only on repositories tagged steward=managed (generated from the config's selections; tag sets are aws:ResourceTag conditions on repository/*); only DescribeRepositories and ListTagsForResource, which tell whether a repository is managed, are on every repository.",
    );
    expect(gate.map(([, reason]) => reason)).toContain(
      "The gate reads scan findings and image metadata (BatchGetImage, DescribeImageScanFindings, DescribeImages, DescribeRepositories, ListTagsForResource) of every repository it may be asked to judge. BatchDeleteImage, PutImage only on repositories tagged steward=managed (generated from the config's selections; tag sets are aws:ResourceTag conditions on repository/*). In-use reads of ECS and Lambda, before a removal, have no resource-level permissions.",
    );
  });

  it('routes every push, replication and pull-through cache sync to the intake: names cannot narrow "*"', () => {
    const intake = logicalId(template, 'AWS::Lambda::Function', { Handler: 'index.intake' });
    const patterns = Object.values(template.findResources('AWS::Events::Rule'))
      .filter((r) => r.Properties.Targets?.[0]?.Arn?.['Fn::GetAtt']?.[0] === intake)
      .map((r) => r.Properties.EventPattern);
    expect(patterns).toEqual([
      {
        source: ['aws.ecr'],
        'detail-type': ['ECR Image Action'],
        detail: { 'action-type': ['PUSH'], result: ['SUCCESS'] },
      },
      {
        source: ['aws.ecr'],
        'detail-type': ['ECR Replication Action'],
        detail: { 'action-type': ['REPLICATE'], result: ['SUCCESS'] },
      },
      {
        source: ['aws.ecr'],
        'detail-type': ['ECR Pull Through Cache Action'],
        detail: { 'sync-status': ['SUCCESS'] },
      },
    ]);
  });

  it('finds no AwsSolutions violation with cdk-nag validateScope', () => {
    const report = new AwsSolutionsChecks(app).validateScope(stack);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });
});

describe('EcrStewardStack reserved concurrency', () => {
  const reserved = (template: Template) =>
    Object.fromEntries(
      Object.values(template.findResources('AWS::Lambda::Function')).map((f) => [
        f.Properties.Handler,
        f.Properties.ReservedConcurrentExecutions,
      ]),
    );
  const scaling = (template: Template) =>
    Object.values(template.findResources('AWS::Lambda::EventSourceMapping'))
      .map((m) => m.Properties.ScalingConfig)
      .sort((a, b) => JSON.stringify(a ?? null).localeCompare(JSON.stringify(b ?? null)));
  const withReserved = (reservedConcurrency: unknown) =>
    build(
      validateConfig({
        selections: [{ repositories: ['services/*'], lifecyclePolicy: 'fromRepository' }],
        reservedConcurrency,
      }),
    ).template;

  it('reserves the default concurrency of each function when the config names none', () => {
    // Act
    const { template } = build(exampleConfig());

    // Assess: the cleanup's handlers are index.worker, index.sweep (one bundle) and index.intake (its own); audit and gate are index.handler
    const functions = Object.values(template.findResources('AWS::Lambda::Function')).map((f) => [
      f.Properties.Description,
      f.Properties.ReservedConcurrentExecutions,
    ]);
    expect(functions.sort()).toEqual(
      [
        [
          'ECR Steward audit: one record per image deletion and registry operation, delete-rate and security alerts, the breaker',
          5,
        ],
        // Once a week, from a schedule: nothing floods it, so it reserves nothing.
        ['ECR Steward weekly digest: sends each selection and the alerts topic the week', undefined],
        ['ECR Steward cleanup intake: queues pushes by repository', 5],
        ['ECR Steward cleanup sweep: queues every managed repository', 1],
        ['ECR Steward cleanup worker: applies lifecycle rules to one repository', 5],
        ['ECR Steward scan gate: verdicts on scanned images', 5],
      ].sort(),
    );
    expect(scaling(template)).toEqual([{ MaximumConcurrency: 5 }, { MaximumConcurrency: 5 }]);
  });

  it('reserves what the config says for each function, and caps the queue pollers at it', () => {
    // Act
    const template = withReserved({ intake: 7, worker: 3, sweep: 2, audit: 9, scanGate: 4 });

    // Assess
    expect(reserved(template)).toMatchObject({ 'index.intake': 7, 'index.worker': 3, 'index.sweep': 2 });
    const gate = logicalId(template, 'AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('scan gate'),
    });
    const audit = logicalId(template, 'AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('ECR Steward audit'),
    });
    const resources = template.toJSON().Resources;
    expect(resources[gate].Properties.ReservedConcurrentExecutions).toBe(4);
    expect(resources[audit].Properties.ReservedConcurrentExecutions).toBe(9);
    expect(scaling(template)).toEqual([{ MaximumConcurrency: 3 }, { MaximumConcurrency: 9 }]);
  });

  it('reserves none, and leaves the pollers unbounded, when the config says false', () => {
    // Act
    const template = withReserved(false);

    // Assess
    const values = Object.values(template.findResources('AWS::Lambda::Function')).map(
      (f) => f.Properties.ReservedConcurrentExecutions,
    );
    expect(values).toEqual(Array(6).fill(undefined));
    expect(scaling(template)).toEqual([undefined, undefined]);
  });

  it('leaves a poller unbounded when its function may run only once at a time (SQS needs at least 2)', () => {
    const template = withReserved({ worker: 1, audit: 2 });
    expect(scaling(template)).toEqual([{ MaximumConcurrency: 2 }, undefined]);
  });
});

/** `[rule id, reason]` of every acknowledgement recorded on `scope` and the constructs under it. */
function acknowledgements(scope: IConstruct): [string, string][] {
  return scope.node
    .findAll()
    .flatMap((c) => c.node.metadata)
    .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
    .flatMap((m) => Object.entries(m.data as Record<string, string>));
}

describe('EcrStewardStack cdk-nag acknowledgements', () => {
  it('gives every acknowledgement recorded on the constructs a specific reason', () => {
    // Prepare
    const { stack } = build(exampleConfig());

    // Act: read from the constructs' metadata, where Validations.acknowledge records them (not from a report)
    const found = acknowledgements(stack);

    // Assess: not vacuous (the stack acknowledges IAM5 wildcards, the DLQs' SQS3, ...)
    const acknowledged = found.filter(([id]) => id.startsWith('AwsSolutions::'));
    const ids = new Set(acknowledged.map(([id]) => id.replace(/^AwsSolutions::/, '')));
    expect(acknowledged.length).toBeGreaterThanOrEqual(20);
    expect(ids.size).toBeGreaterThanOrEqual(12);
    expect(ids).toContain('AwsSolutions-SQS3');
    expect(ids).toContain('AwsSolutions-IAM5[Resource::*]');
    for (const [id, reason] of found) {
      expect(id, 'an AwsSolutions rule or finding').toMatch(
        /^(AwsSolutions|Annotation)::AwsSolutions-[A-Z]+\d+(\[.+\])?$/,
      );
      expect(reason.length, `the reason for ${id}`).toBeGreaterThan(40);
      expect(reason, `the reason for ${id}`).not.toMatch(/^(ok|todo|n\/a|suppress(ed)?|ignore(d)?)\b/i);
    }
  });

  it('synthesizes with cdk-nag registered as bin/app.ts registers it without a violation', () => {
    // Prepare
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    new EcrStewardStack(app, 'Test', { config: exampleConfig() });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    // Act
    const assembly = app.synth();

    // Assess: the report lists what the plugins found (nothing here)
    const file = `${assembly.directory}/validation-report.json`;
    const reports: Json[] = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).pluginReports : [];
    expect(reports.flatMap((r) => r.violations)).toEqual([]);
  });
});
