/**
 * The governance part of the stack (issue 11), synthesized without bundling: the notices topic and who may
 * publish to it, its subscriptions and their filter policies, the holds table and its read-only grants, the
 * due-deletion schedule, the audit table's open-record indexes, the outputs, and cdk-nag.
 */
import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../functions/shared/config/load.js';
import type { StewardConfigInput } from '../../functions/shared/config/schema.js';
import { noticeSubscriptions } from '../../lib/constructs/alerts.js';
import { needsDueProcessing } from '../../lib/constructs/cleanup.js';
import { EcrStewardStack } from '../../lib/stacks/ecr-steward-stack.js';
import { allowsAny, identityStatements, type Json, list, text } from './template-iam.js';

const SELECTION: { repositories: string[]; lifecyclePolicy: 'fromRepository' } = {
  repositories: ['services/*'],
  lifecyclePolicy: 'fromRepository',
};

function build(input: Partial<StewardConfigInput> = {}) {
  const config = validateConfig({
    mode: 'enforce',
    selections: [{ name: 'services', ...SELECTION }],
    ...input,
  });
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new EcrStewardStack(app, 'EcrSteward', { config });
  const template = Template.fromStack(stack);
  const id = (c: IConstruct) => stack.getLogicalId((c.node.defaultChild ?? c) as CfnElement);
  const resources = template.toJSON().Resources as Record<string, Json>;
  return { app, stack, template, id, resources, config };
}
type Built = ReturnType<typeof build>;

const NOTICE_24H = { governance: { notice: { hours: 24 } } } satisfies Partial<StewardConfigInput>;

/** `[role logical id, actions, rendered resources]` of every identity statement naming `resource`. */
function grantsOn({ template }: Built, resource: string): [string[], string[], string[]][] {
  return identityStatements(template)
    .filter(({ statement }) => list(statement.Resource).some((r) => text(r).startsWith(resource)))
    .map(({ roles, statement }) => [
      roles,
      list<string>(statement.Action),
      list(statement.Resource).map(text),
    ]);
}

const roles = ({ stack, id }: Built) => ({
  worker: id(stack.cleanup.worker.role),
  sweep: id(stack.cleanup.sweep.role),
  intake: id(stack.cleanup.intake.role),
  gate: id(stack.gate.function.role),
  audit: id(stack.audit.function.role),
});

function nagViolations({ app, stack }: Built): string[] {
  return new AwsSolutionsChecks(app)
    .validateScope(stack)
    .violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
}

describe('EcrStewardStack notices topic', () => {
  const built = build(NOTICE_24H);
  const { stack, id, resources } = built;
  const topic = id(stack.topics.notices);

  it('encrypts the notices topic with the alert topics key and denies publishing without TLS', () => {
    // Act
    const props = resources[topic]!.Properties;
    const policy = Object.values(resources).find(
      (r) => r.Type === 'AWS::SNS::TopicPolicy' && r.Properties.Topics.some((t: Json) => t.Ref === topic),
    );

    // Assess
    expect(props).toEqual({
      DisplayName: 'ECR Steward deletion notices',
      KmsMasterKeyId: { 'Fn::GetAtt': [id(stack.topics.key), 'Arn'] },
    });
    expect(policy?.Properties.PolicyDocument.Statement).toEqual([
      {
        Action: 'sns:Publish',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        Effect: 'Deny',
        Principal: '*',
        Resource: { Ref: topic },
        Sid: 'AllowPublishThroughSSLOnly',
      },
    ]);
  });

  it('lets the cleanup worker, the sweep (expired requests) and the scan gate (its removals under a notice period), and no other role, publish to the notices topic', () => {
    // Act
    const publishers = identityStatements(built.template)
      .filter(({ statement }) => allowsAny(statement, ['sns:Publish']))
      .filter(({ statement }) => list(statement.Resource).some((r) => text(r) === `<${topic}>`));

    // Assess
    expect(publishers.map(({ roles: r, statement }) => [r, statement.Action])).toEqual([
      [[roles(built).worker], 'sns:Publish'],
      [[roles(built).sweep], 'sns:Publish'],
      [[roles(built).gate], 'sns:Publish'],
      // The weekly digest: one per selection, filtered by the same selection attribute.
      [
        [built.id(built.stack.node.findChild('Digest').node.findChild('Function').node.findChild('Role'))],
        'sns:Publish',
      ],
    ]);
  });

  it('gives the worker the notices topic ARN and the holds table name, the sweep both (it tells of expired requests), the intake neither', () => {
    // Prepare
    const env = (c: IConstruct) => resources[id(c)]!.Properties.Environment.Variables;

    // Act
    const worker = env(stack.cleanup.worker.function);
    const sweep = env(stack.cleanup.sweep.function);
    const intake = env(stack.cleanup.intake.function);

    // Assess
    expect(worker).toMatchObject({
      NOTICES_TOPIC_ARN: { Ref: topic },
      HOLDS_TABLE_NAME: { Ref: id(stack.tables.holds) },
    });
    expect(sweep).toMatchObject({
      NOTICES_TOPIC_ARN: { Ref: topic },
      HOLDS_TABLE_NAME: { Ref: id(stack.tables.holds) },
    });
    expect(intake.HOLDS_TABLE_NAME).toBeUndefined();
    expect(intake.NOTICES_TOPIC_ARN).toBeUndefined();
  });

  it('outputs the holds table name and the notices topic ARN for the CLI', () => {
    // Act
    const outputs = built.template.toJSON().Outputs as Record<string, Json>;

    // Assess
    expect(outputs.HoldsTableName).toEqual({
      Description: 'export HOLDS_TABLE_NAME=<this value> for the ecr-steward CLI',
      Value: { Ref: id(stack.tables.holds) },
    });
    expect(outputs.NoticesTopicArn).toEqual({
      Description: 'export NOTICES_TOPIC_ARN=<this value> for the ecr-steward CLI',
      Value: { Ref: topic },
    });
  });
});

describe('EcrStewardStack holds table', () => {
  const built = build(NOTICE_24H);

  it('grants the worker, the sweep and the gate GetItem and Query on the holds table only, and no role a write', () => {
    // Prepare
    const holds = `<${built.id(built.stack.tables.holds)}.Arn>`;
    const r = roles(built);

    // Act
    const grants = grantsOn(built, holds);

    // Assess
    const read = ['dynamodb:GetItem', 'dynamodb:Query'];
    expect(grants.sort()).toEqual(
      [
        [[r.worker], read, [holds]],
        [[r.sweep], read, [holds]],
        [[r.gate], read, [holds]],
        // The weekly digest counts the week's holds and those about to expire (a Scan of both small tables).
        [
          [built.id(built.stack.node.findChild('Digest').node.findChild('Function').node.findChild('Role'))],
          ['dynamodb:Scan'],
          [holds, `<${built.id(built.stack.gate.verdictTable)}.Arn>`],
        ],
      ].sort(),
    );
    const writes = ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems'].map(
      (a) => `dynamodb:${a}`,
    );
    const writing = identityStatements(built.template).filter(
      ({ statement }) =>
        allowsAny(statement, writes) && list(statement.Resource).some((res) => text(res).startsWith(holds)),
    );
    expect(writing).toEqual([]);
  });
});

describe('EcrStewardStack due-deletion schedule', () => {
  const schedules = ({ resources }: Built) =>
    Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Scheduler::Schedule');
  const dueSchedules = (built: Built) =>
    schedules(built).filter(([, r]) => r.Properties.Target.Input === '{"kind":"due"}');

  it('starts the sweep with {"kind":"due"} on governance.dueSchedule, retried and dead-lettered, when a notice period is set', () => {
    // Prepare
    const built = build({ governance: { notice: { hours: 24 }, dueSchedule: 'rate(5 minutes)' } });
    const { stack, id } = built;
    const asyncDlq = stack.cleanup.node.findChild('AsyncDeadLetter').node.findChild('Queue');

    // Act
    const due = dueSchedules(built);

    // Assess
    expect(due).toHaveLength(1);
    const [, schedule] = due[0]!;
    const role = id(stack.cleanup.node.findChild('DueDeletionSchedulerRole'));
    expect(schedule.Properties).toEqual({
      Description: 'ECR Steward: process due deletion notices and purge expired archived images',
      FlexibleTimeWindow: { Mode: 'OFF' },
      ScheduleExpression: 'rate(5 minutes)',
      // CDK writes UTC as Etc/UTC when the helper leaves the time zone out (the sweep's is UTC here).
      ScheduleExpressionTimezone: 'Etc/UTC',
      State: 'ENABLED',
      Target: {
        Arn: { 'Fn::GetAtt': [id(stack.cleanup.sweep.function), 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [id(asyncDlq), 'Arn'] } },
        Input: '{"kind":"due"}',
        RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 3 },
        RoleArn: { 'Fn::GetAtt': [role, 'Arn'] },
      },
    });
    expect(stack.cleanup.dueSchedule).toBeDefined();
  });

  it('uses the default rate(15 minutes) when the config names no dueSchedule', () => {
    const [[, schedule]] = dueSchedules(build(NOTICE_24H)) as [[string, Json]];
    expect(schedule.Properties.ScheduleExpression).toBe('rate(15 minutes)');
  });

  it('lets the due-deletion scheduler role invoke the sweep and dead-letter to the async queue, nothing more', () => {
    // Prepare
    const built = build(NOTICE_24H);
    const role = built.id(built.stack.cleanup.node.findChild('DueDeletionSchedulerRole'));
    const sweep = built.id(built.stack.cleanup.sweep.function);
    const dlq = built.id(built.stack.cleanup.node.findChild('AsyncDeadLetter').node.findChild('Queue'));

    // Act
    const statements = identityStatements(built.template).filter(({ roles: r }) => r.includes(role));

    // Assess
    expect(statements.map(({ statement }) => [statement.Action, list(statement.Resource).map(text)])).toEqual(
      [
        ['lambda:InvokeFunction', [`<${sweep}.Arn>`, `<${sweep}.Arn>:*`]],
        ['sqs:SendMessage', [`<${dlq}.Arn>`]],
      ],
    );
  });

  it('lets the sweep query the audit table and its indexes, and nothing more, when due processing is on', () => {
    // Prepare
    const built = build(NOTICE_24H);
    const audit = `<${built.id(built.stack.tables.audit)}.Arn>`;

    // Act
    const sweep = grantsOn(built, audit).filter(([r]) => r.includes(roles(built).sweep));

    // Assess
    expect(sweep).toEqual([[[roles(built).sweep], ['dynamodb:Query'], [audit, `${audit}/index/*`]]]);
  });

  it.each([
    [
      'a selection archives',
      { selections: [{ name: 's', ...SELECTION, governance: { softDelete: { mode: 'archive' } } }] },
    ],
    [
      'a selection has a notice period',
      { selections: [{ ...SELECTION, governance: { notice: { hours: 1 } } }] },
    ],
    ['soft delete archives globally', { governance: { softDelete: { mode: 'archive' } } }],
  ] as [string, Partial<StewardConfigInput>][])('creates the schedule when %s', (_, input) => {
    const built = build(input);
    expect(needsDueProcessing(built.config)).toBe(true);
    expect(dueSchedules(built)).toHaveLength(1);
  });

  it('creates no schedule and gives the sweep no audit access when nothing waits (no notice, no archive)', () => {
    // Act
    const built = build({
      governance: { notice: { hours: 0 }, softDelete: { mode: 'off' } },
      selections: [{ ...SELECTION, governance: { softDelete: { mode: 'off', purgeAfterDays: 9 } } }],
    });

    // Assess
    expect(needsDueProcessing(built.config)).toBe(false);
    expect(dueSchedules(built)).toEqual([]);
    // The sweep's, and the weekly digest's.
    expect(schedules(built)).toHaveLength(2);
    expect(built.stack.cleanup.dueSchedule).toBeUndefined();
    const audit = `<${built.id(built.stack.tables.audit)}.Arn>`;
    expect(grantsOn(built, audit).filter(([r]) => r.includes(roles(built).sweep))).toEqual([]);
  });
});

describe('EcrStewardStack notice subscriptions', () => {
  const input: Partial<StewardConfigInput> = {
    governance: {
      notice: {
        hours: 24,
        subscriptions: [
          { protocol: 'email', endpoint: 'platform@example.com' },
          { protocol: 'https', endpoint: 'https://hooks.example.com/all' },
        ],
      },
    },
    selections: [
      {
        name: 'payments',
        repositories: ['payments/*'],
        lifecyclePolicy: 'fromRepository',
        governance: { notice: { subscriptions: [{ protocol: 'email', endpoint: 'pay@example.com' }] } },
      },
      {
        repositories: ['web/*'],
        lifecyclePolicy: 'fromRepository',
        governance: {
          notice: {
            subscriptions: [
              { protocol: 'email', endpoint: 'pay@example.com' },
              { protocol: 'https', endpoint: 'https://hooks.example.com/web' },
              { protocol: 'email', endpoint: 'platform@example.com' },
            ],
          },
        },
      },
    ],
  };

  it('subscribes each endpoint once: global ones to every notice, a selection’s to its notices by label', () => {
    // Prepare
    const built = build(input);
    const topic = built.id(built.stack.topics.notices);

    // Act
    const subscriptions = Object.values(built.resources)
      .filter((r) => r.Type === 'AWS::SNS::Subscription')
      .map((r) => r.Properties);

    // Assess
    expect(subscriptions).toEqual([
      { Protocol: 'email', Endpoint: 'platform@example.com', TopicArn: { Ref: topic } },
      { Protocol: 'https', Endpoint: 'https://hooks.example.com/all', TopicArn: { Ref: topic } },
      {
        Protocol: 'email',
        Endpoint: 'pay@example.com',
        TopicArn: { Ref: topic },
        FilterPolicy: { selection: ['payments', 'selections[1]'] },
      },
      {
        Protocol: 'https',
        Endpoint: 'https://hooks.example.com/web',
        TopicArn: { Ref: topic },
        FilterPolicy: { selection: ['selections[1]'] },
      },
    ]);
  });

  it('lists the same subscriptions from the config alone (noticeSubscriptions)', () => {
    expect(noticeSubscriptions(validateConfig(input))).toEqual([
      { protocol: 'email', endpoint: 'platform@example.com' },
      { protocol: 'https', endpoint: 'https://hooks.example.com/all' },
      { protocol: 'email', endpoint: 'pay@example.com', selections: ['payments', 'selections[1]'] },
      { protocol: 'https', endpoint: 'https://hooks.example.com/web', selections: ['selections[1]'] },
    ]);
  });

  it('subscribes nothing to the notices topic when the config names no endpoint', () => {
    const built = build(NOTICE_24H);
    expect(Object.values(built.resources).filter((r) => r.Type === 'AWS::SNS::Subscription')).toEqual([]);
  });

  it('finds no AwsSolutions violation with notices, subscriptions, archive and the due schedule', () => {
    const built = build({
      ...input,
      governance: { ...input.governance, softDelete: { mode: 'archive', purgeAfterDays: 30 } },
    });
    expect(nagViolations(built)).toEqual([]);
  });
});

describe('EcrStewardStack audit table indexes', () => {
  it('defines the sparse byDue and openByRepository indexes, every attribute projected', () => {
    // Prepare
    const built = build();

    // Act
    const indexes = built.resources[built.id(built.stack.tables.audit)]!.Properties
      .GlobalSecondaryIndexes as Json[];

    // Assess
    const key = (hash: string, range: string) => [
      { AttributeName: hash, KeyType: 'HASH' },
      { AttributeName: range, KeyType: 'RANGE' },
    ];
    expect(indexes.slice(3)).toEqual([
      { IndexName: 'byDue', KeySchema: key('gsi4pk', 'gsi4sk'), Projection: { ProjectionType: 'ALL' } },
      {
        IndexName: 'openByRepository',
        KeySchema: key('gsi5pk', 'gsi5sk'),
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
  });
});

describe('EcrStewardStack worker ECR permissions for soft delete', () => {
  it('lets the worker archive (UpdateImageStorageClass) and describe images on the managed repositories', () => {
    // Prepare
    const built = build({ governance: { softDelete: { mode: 'archive' } } });
    const worker = roles(built).worker;

    // Act
    const byName = identityStatements(built.template).find(
      ({ roles: r, statement }) => r.includes(worker) && statement.Sid === 'ManagedRepositoriesByName',
    );

    // Assess
    expect(list<string>(byName?.statement.Action)).toEqual(
      expect.arrayContaining(['ecr:UpdateImageStorageClass', 'ecr:DescribeImages', 'ecr:BatchDeleteImage']),
    );
    expect(list(byName?.statement.Resource).map(text)).toEqual([
      'arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/services/*',
    ]);
  });
});
