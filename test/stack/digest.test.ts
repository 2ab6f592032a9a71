/**
 * The weekly digest in the stack (issue 14 §3), synthesized without bundling: the schedule (expression, time
 * zone, the scheduled time in its payload, retries and dead letters), the function (handler, timeout, memory,
 * environment, failure destination), its IAM exactly (no ECR write, each table as the digest uses it), the
 * scheduler's role, the dead-letter alarm, and cdk-nag.
 */
import { App, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../functions/shared/config/load.js';
import type { StewardConfigInput } from '../../functions/shared/config/schema.js';
import { ENV } from '../../functions/shared/runtime/constants.js';
import { Digest } from '../../lib/constructs/digest.js';
import { EcrStewardStack } from '../../lib/stacks/ecr-steward-stack.js';
import { keepNewest } from '../fixtures/images.js';
import { allowsAny, identityStatements, list, text, WRITE_ACTIONS } from './template-iam.js';

const SERVICES = { name: 'services', repositories: ['services/*'], lifecyclePolicy: keepNewest(1) };
const REPOSITORY = (name: string) =>
  `arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/${name}`;

/**
 * The stack with its digest: the stack's own when it builds one (once buildSteward adds it), else one added here
 * over the stack's parts, as buildSteward does.
 */
function build(input: Partial<StewardConfigInput> = {}) {
  const config = validateConfig({ mode: 'enforce', selections: [{ ...SERVICES }], ...input });
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new EcrStewardStack(app, 'EcrSteward', { config });
  const digest =
    (stack.node.tryFindChild('Digest') as Digest | undefined) ??
    new Digest(stack, 'Digest', { config, parts: stack });
  const template = Template.fromStack(stack);
  const id = (c: IConstruct) => stack.getLogicalId((c.node.defaultChild ?? c) as CfnElement);
  return { app, stack, digest, template, id };
}
type Built = ReturnType<typeof build>;

/** `{ actions: resources }` of every identity statement attached to `role`, intrinsics rendered. */
function grants(
  built: Built,
  role: IConstruct,
): { sid?: string; actions: string[]; resources: string[]; condition?: unknown }[] {
  const roleId = built.id(role);
  return identityStatements(built.template)
    .filter(({ roles }) => roles.includes(roleId))
    .map(({ statement }) => ({
      ...(statement.Sid ? { sid: statement.Sid } : {}),
      actions: list<string>(statement.Action),
      resources: list(statement.Resource).map(text),
      ...(statement.Condition ? { condition: statement.Condition } : {}),
    }));
}

function nagViolations({ app, stack }: Built): string[] {
  return new AwsSolutionsChecks(app)
    .validateScope(stack)
    .violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
}

describe('Digest', () => {
  it('schedules the digest on the config schedule in its time zone with the scheduled time in the payload', () => {
    // Prepare / Act
    const built = build({ digest: { schedule: 'cron(0 7 ? * FRI *)', timezone: 'Europe/Berlin' } });

    // Assess
    const schedules = built.template.findResources('AWS::Scheduler::Schedule', {
      Properties: { Description: 'ECR Steward: the weekly digest' },
    });
    expect(Object.keys(schedules)).toEqual([built.id(built.digest.schedule)]);
    expect(built.id(built.digest.schedule).startsWith('DigestDigestSchedule')).toBe(true);
    expect(Object.values(schedules)[0]?.Properties).toEqual({
      Description: 'ECR Steward: the weekly digest',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ScheduleExpression: 'cron(0 7 ? * FRI *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      State: 'ENABLED',
      Target: {
        Arn: { 'Fn::GetAtt': [built.id(built.digest.function.function), 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [built.id(built.digest.deadLetterQueue), 'Arn'] } },
        Input: '{"kind":"digest","scheduledTime":"<aws.scheduler.scheduled-time>"}',
        RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 3 },
        RoleArn: { 'Fn::GetAtt': [built.id(built.digest.schedulerRole), 'Arn'] },
      },
    });
  });

  it('schedules Monday 08:00 in UTC when the config gives neither schedule nor time zone', () => {
    // Prepare / Act
    const built = build();

    // Assess
    built.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Description: 'ECR Steward: the weekly digest',
      ScheduleExpression: 'cron(0 8 ? * MON *)',
      ScheduleExpressionTimezone: 'Etc/UTC',
    });
  });

  it('gives the function its handler, timeout, memory, environment and failure destination', () => {
    // Prepare / Act
    const built = build();
    const { id, stack } = built;

    // Assess
    built.template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'ECR Steward weekly digest: sends each selection and the alerts topic the week',
      Handler: 'index.handler',
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: 600,
      MemorySize: 1024,
      DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [id(built.digest.deadLetterQueue), 'Arn'] } },
      Environment: {
        Variables: {
          NODE_OPTIONS: '--enable-source-maps',
          POWERTOOLS_LOG_LEVEL: 'INFO',
          [ENV.auditTable]: { Ref: id(stack.tables.audit) },
          [ENV.stateTable]: { Ref: id(stack.tables.state) },
          [ENV.holdsTable]: { Ref: id(stack.tables.holds) },
          [ENV.verdictTable]: { Ref: id(stack.gate.verdictTable) },
          [ENV.noticesTopic]: { Ref: id(stack.topics.notices) },
          [ENV.alertsTopic]: { Ref: id(stack.topics.alerts) },
        },
      },
    });
    built.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: id(built.digest.function.function) },
      MaximumRetryAttempts: 2,
    });
  });

  it('grants the function exactly its reads, its markers and its two topics, and no ECR write', () => {
    // Prepare / Act
    const built = build();
    const { id, stack } = built;

    // Assess
    expect(grants(built, built.digest.function.role)).toEqual([
      { actions: ['sqs:SendMessage'], resources: [`<${id(built.digest.deadLetterQueue)}.Arn>`] },
      { actions: ['dynamodb:Query'], resources: [`<${id(stack.tables.audit)}.Arn>/index/byDay`] },
      {
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: [`<${id(stack.tables.state)}.Arn>`],
      },
      {
        actions: ['dynamodb:Scan'],
        resources: [`<${id(stack.tables.holds)}.Arn>`, `<${id(stack.gate.verdictTable)}.Arn>`],
      },
      { actions: ['sns:Publish'], resources: [`<${id(stack.topics.notices)}>`] },
      { actions: ['kms:Decrypt', 'kms:GenerateDataKey*'], resources: [`<${id(stack.topics.key)}.Arn>`] },
      { actions: ['sns:Publish'], resources: [`<${id(stack.topics.alerts)}>`] },
      {
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [`<${id(built.digest.function.logGroup)}.Arn>:*`],
      },
      { sid: 'ListRepositories', actions: ['ecr:DescribeRepositories'], resources: [REPOSITORY('*')] },
      {
        sid: 'ManagedRepositoryReadsByName',
        actions: [
          'ecr:BatchGetImage',
          'ecr:DescribeImages',
          'ecr:DescribeRepositories',
          'ecr:GetLifecyclePolicy',
          'ecr:ListTagsForResource',
        ],
        resources: [REPOSITORY('services/*')],
      },
      {
        sid: 'InUseSources',
        actions: [
          'ecs:ListClusters',
          'ecs:ListTasks',
          'ecs:DescribeTasks',
          'ecs:ListServices',
          'ecs:DescribeServices',
          'ecs:ListTaskDefinitionFamilies',
          'ecs:ListTaskDefinitions',
          'ecs:DescribeTaskDefinition',
          'lambda:ListFunctions',
          'lambda:ListVersionsByFunction',
          'lambda:GetFunction',
        ],
        resources: ['*'],
      },
    ]);
    const roleId = id(built.digest.function.role);
    const statements = identityStatements(built.template).filter(({ roles }) => roles.includes(roleId));
    expect(statements.filter(({ statement }) => allowsAny(statement, WRITE_ACTIONS))).toEqual([]);
  });

  it('reads the tags of every repository and conditions its image reads on them when a selection is chosen by tags', () => {
    // Prepare / Act
    const built = build({
      inUse: { ecs: { enabled: false }, lambda: { enabled: false } },
      selections: [{ name: 'tagged', repositoryTags: { team: 'web' }, lifecyclePolicy: keepNewest(1) }],
    });

    // Assess
    expect(grants(built, built.digest.function.role).filter((g) => g.sid !== undefined)).toEqual([
      {
        sid: 'ListRepositories',
        actions: ['ecr:DescribeRepositories', 'ecr:ListTagsForResource'],
        resources: [REPOSITORY('*')],
      },
      {
        sid: 'ManagedRepositoryReadsByTag0',
        actions: [
          'ecr:BatchGetImage',
          'ecr:DescribeImages',
          'ecr:DescribeRepositories',
          'ecr:GetLifecyclePolicy',
          'ecr:ListTagsForResource',
        ],
        resources: [REPOSITORY('*')],
        condition: { StringEquals: { 'aws:ResourceTag/team': 'web' } },
      },
    ]);
  });

  it('lets the scheduler invoke the digest function and dead-letter to its queue, nothing else', () => {
    // Prepare / Act
    const built = build();
    const fn = built.id(built.digest.function.function);

    // Assess
    expect(grants(built, built.digest.schedulerRole)).toEqual([
      { actions: ['lambda:InvokeFunction'], resources: [`<${fn}.Arn>`, `<${fn}.Arn>:*`] },
      { actions: ['sqs:SendMessage'], resources: [`<${built.id(built.digest.deadLetterQueue)}.Arn>`] },
    ]);
    built.template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({ Principal: { Service: 'scheduler.amazonaws.com' }, Action: 'sts:AssumeRole' }),
        ],
      },
      Description: 'ECR Steward: lets EventBridge Scheduler start the weekly digest',
    });
  });

  it('alarms on the alerts topic when a run reaches the dead-letter queue', () => {
    // Prepare / Act
    const built = build();

    // Assess
    built.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: 'ECR Steward: the weekly digest has messages that failed processing',
      Dimensions: [
        { Name: 'QueueName', Value: { 'Fn::GetAtt': [built.id(built.digest.deadLetterQueue), 'QueueName'] } },
      ],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [{ Ref: built.id(built.stack.topics.alerts) }],
    });
  });

  it('passes cdk-nag when the digest is in the stack', () => {
    // Prepare / Act
    const built = build();

    // Assess
    expect(nagViolations(built)).toEqual([]);
  });

  it('refuses to be built when the config turns the digest off', () => {
    // Prepare
    const config = validateConfig({ selections: [{ ...SERVICES }], digest: { enabled: false } });
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new EcrStewardStack(app, 'EcrSteward', { config });

    // Act / Assess
    expect(() => new Digest(stack, 'Digest', { config, parts: stack })).toThrow(
      'Digest: the config says digest.enabled: false; leave the Digest construct out (or set digest.enabled to true)',
    );
  });
});
