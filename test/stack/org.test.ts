/**
 * Organization scale, asserted on the synthesized templates: the hub stack (bus and its policy, ingest, org
 * tables and the org breaker's resource policy), the spoke additions (audit stream, forwarder, the org breaker
 * read), backup replication, the spokes' StackSet, and bin/app.ts building them from the config. Bundling is
 * skipped except where a StackSet needs the functions' code.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployPlan } from '../../functions/shared/config/deploy-plan.js';
import { validateConfig } from '../../functions/shared/config/load.js';
import { configForEnvironment, type OrgEnvironment } from '../../functions/shared/config/organization.js';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { Replication } from '../../lib/constructs/replication.js';
import { EcrStewardStack } from '../../lib/stacks/ecr-steward-stack.js';
import { EcrStewardHubStack, orgSpokeProps } from '../../lib/stacks/hub-stack.js';
import { identityStatements, type Json, list, text } from './template-iam.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const HUB = { account: '111111111111', region: 'eu-west-1' };
const SPOKE_A = { account: '222222222222', region: 'eu-west-1' };
const SPOKE_B = { account: '333333333333', region: 'us-east-1' };
const BUS_ARN = 'arn:aws:events:eu-west-1:111111111111:event-bus/ecr-steward-org';
const STATE_ARN = 'arn:aws:dynamodb:eu-west-1:111111111111:table/ecr-steward-org-state';

/** A hub and two spokes (one account and region each), backup of services/* to us-east-1. */
function orgDocument(organization: Json = {}): Json {
  return {
    mode: 'enforce',
    organization: {
      hub: HUB,
      organizationId: 'o-local0example',
      targets: [
        { accounts: [SPOKE_A.account], regions: [SPOKE_A.region] },
        { accounts: [SPOKE_B.account], regions: [SPOKE_B.region] },
      ],
      ...organization,
    },
    backup: { repositories: ['services/*', 'base/*'], regions: ['us-east-1'] },
    selections: [{ name: 'services', repositories: ['services/*'], lifecyclePolicy: 'fromRepository' }],
  };
}

const orgConfig = (organization: Json = {}): StewardConfig => validateConfig(orgDocument(organization));

function buildHub(config: StewardConfig) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new EcrStewardHubStack(app, 'EcrStewardHub', { config, env: HUB });
  return { app, stack, template: Template.fromStack(stack) };
}

function buildSpoke(config: StewardConfig, env: OrgEnvironment) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new EcrStewardStack(app, `EcrSteward-${env.account}-${env.region}`, {
    config: configForEnvironment(config, env),
    org: orgSpokeProps(config),
    env,
  });
  return { app, stack, template: Template.fromStack(stack) };
}

const id = (c: IConstruct) => Stack.of(c).getLogicalId((c.node.defaultChild ?? c) as CfnElement);

function nagViolations(app: App, stack: Stack): string[] {
  return new AwsSolutionsChecks(app)
    .validateScope(stack)
    .violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
}

/** `[Sid, actions, resources, condition]` of every identity statement of the role with logical id `role`. */
function roleStatements(template: Template, role: string) {
  return identityStatements(template)
    .filter(({ roles }) => roles.includes(role))
    .map(({ statement }) => [
      statement.Sid,
      list<string>(statement.Action),
      list(statement.Resource).map(text),
      statement.Condition,
    ]);
}

const only = (found: Record<string, Json>): Json => {
  const values = Object.values(found);
  expect(values).toHaveLength(1);
  return values[0]!;
};

describe('EcrStewardHubStack', () => {
  let built: ReturnType<typeof buildHub>;
  beforeAll(() => {
    built = buildHub(orgConfig());
  });

  it('admits every principal of the organization to PutEvents on the bus when organizationId is set', () => {
    // Act
    const policy = only(built.template.findResources('AWS::Events::EventBusPolicy'));

    // Assess
    expect(policy.Properties.Statement).toEqual({
      Sid: 'cdk-SpokesPutEvents',
      Effect: 'Allow',
      Action: 'events:PutEvents',
      Principal: { AWS: '*' },
      Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-local0example' } },
      Resource: { 'Fn::GetAtt': [id(built.stack.hub.bus), 'Arn'] },
    });
    built.template.hasResourceProperties('AWS::Events::EventBus', { Name: 'ecr-steward-org' });
  });

  it('admits exactly the spoke account roots to PutEvents and the org breaker when no organizationId is set', () => {
    // Prepare
    const document = orgDocument();
    delete document.organization.organizationId;

    // Act
    const { template } = buildHub(validateConfig(document));

    // Assess
    const roots = [
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::222222222222:root']] },
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::333333333333:root']] },
    ];
    const policy = only(template.findResources('AWS::Events::EventBusPolicy'));
    expect(policy.Properties.Statement.Principal).toEqual({ AWS: roots });
    expect(policy.Properties.Statement.Condition).toBeUndefined();
    const state = only(
      template.findResources('AWS::DynamoDB::GlobalTable', {
        Properties: { TableName: 'ecr-steward-org-state' },
      }),
    );
    expect(state.Properties.Replicas[0].ResourcePolicy.PolicyDocument.Statement).toEqual([
      {
        Sid: 'SpokesReadTheOrgBreaker',
        Effect: 'Allow',
        Action: 'dynamodb:GetItem',
        Principal: { AWS: roots },
        Resource: STATE_ARN,
        Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['BREAKER#organization'] } },
      },
    ]);
  });

  it('lets the organization GetItem only the org breaker item of the state table, nothing else', () => {
    // Act
    const state = only(
      built.template.findResources('AWS::DynamoDB::GlobalTable', {
        Properties: { TableName: 'ecr-steward-org-state' },
      }),
    );

    // Assess
    expect(state.Properties.Replicas).toEqual([
      {
        Region: 'eu-west-1',
        DeletionProtectionEnabled: true,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        ResourcePolicy: {
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'SpokesReadTheOrgBreaker',
                Effect: 'Allow',
                Action: 'dynamodb:GetItem',
                Principal: { AWS: '*' },
                Resource: STATE_ARN,
                Condition: {
                  StringEquals: { 'aws:PrincipalOrgID': 'o-local0example' },
                  'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['BREAKER#organization'] },
                },
              },
            ],
          },
        },
      },
    ]);
    expect(state.DeletionPolicy).toBe('Retain');
  });

  it('gives the org audit table the protections of the audit table and its byEnvironment and byDay indexes', () => {
    // Act
    const audit = only(
      built.template.findResources('AWS::DynamoDB::GlobalTable', {
        Properties: { TableName: 'ecr-steward-org-audit' },
      }),
    );

    // Assess
    expect(audit.DeletionPolicy).toBe('Retain');
    expect(audit.UpdateReplacePolicy).toBe('Retain');
    expect(audit.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    });
    expect(audit.Properties.Replicas[0]).toMatchObject({
      DeletionProtectionEnabled: true,
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    expect(audit.Properties.Replicas[0].ResourcePolicy).toBeUndefined();
    expect(
      audit.Properties.GlobalSecondaryIndexes.map((i: Json) => [
        i.IndexName,
        i.KeySchema.map((k: Json) => k.AttributeName),
      ]),
    ).toEqual([
      ['byEnvironment', ['gsi1pk', 'gsi1sk']],
      ['byDay', ['gsi3pk', 'gsi3sk']],
    ]);
  });

  it('queues every ecr-steward event of the bus, with a dead-letter queue and retries on the target', () => {
    // Act
    const rule = only(built.template.findResources('AWS::Events::Rule'));

    // Assess
    const queue = id(built.stack.hub.queue);
    const dlq = id(built.stack.hub.deadLetterQueue);
    expect(rule.Properties).toMatchObject({
      EventBusName: { Ref: id(built.stack.hub.bus) },
      EventPattern: { source: ['ecr-steward'] },
      Targets: [
        {
          Arn: { 'Fn::GetAtt': [queue, 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlq, 'Arn'] } },
          RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
        },
      ],
    });
    built.template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] }, maxReceiveCount: 5 },
    });
    built.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queue, 'Arn'] },
      FunctionName: { Ref: id(built.stack.hub.function.function) },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('lets the hub function read and put org audit records, count in the state table and publish, nothing more', () => {
    // Act
    const statements = roleStatements(built.template, id(built.stack.hub.function.role));

    // Assess
    const audit = id(built.stack.hub.auditTable);
    const state = id(built.stack.hub.stateTable);
    const tableStatements = statements.filter(([, actions]) =>
      (actions as string[]).some((a) => a.startsWith('dynamodb:')),
    );
    expect(tableStatements).toEqual([
      [
        undefined,
        ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
        [`<${audit}.Arn>`, `<${audit}.Arn>/index/*`],
        undefined,
      ],
      [
        undefined,
        ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        [`<${state}.Arn>`],
        undefined,
      ],
    ]);
    const publish = statements.filter(([, actions]) => (actions as string[]).includes('sns:Publish'));
    expect(publish.flatMap(([, , resources]) => resources as string[]).sort()).toEqual(
      [
        built.stack.topics.alerts,
        built.stack.topics.security,
        built.stack.topics.notices,
        built.stack.topics.approvals,
      ]
        .map((t) => `<${id(t)}>`)
        .sort(),
    );
    built.template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Environment: {
        Variables: Match.objectLike({
          ORG_AUDIT_TABLE_NAME: { Ref: audit },
          ORG_STATE_TABLE_NAME: { Ref: state },
          ALERTS_TOPIC_ARN: { Ref: id(built.stack.topics.alerts) },
        }),
      },
    });
  });

  it('outputs the org table names, the bus ARN and the topic ARNs', () => {
    // Act
    const outputs = Object.keys(built.template.toJSON().Outputs).sort();

    // Assess
    expect(outputs).toEqual([
      'AlertsTopicArn',
      'ApprovalsTopicArn',
      'NoticesTopicArn',
      'OrgAuditTableName',
      'OrgBusArn',
      'OrgStateTableName',
      'SecurityTopicArn',
    ]);
  });

  it('finds no AwsSolutions violation with cdk-nag validateScope', () => {
    expect(nagViolations(built.app, built.stack)).toEqual([]);
  });
});

describe('EcrStewardStack (organization spoke)', () => {
  let a: ReturnType<typeof buildSpoke>;
  let b: ReturnType<typeof buildSpoke>;
  beforeAll(() => {
    a = buildSpoke(orgConfig(), SPOKE_A);
    b = buildSpoke(orgConfig(), SPOKE_B);
  });

  it('streams new images of the audit table to the forwarder in batches of 100, bisected, retried, with a failure queue', () => {
    // Prepare
    const forwarder = a.stack.forwarder;
    if (!forwarder) throw new Error('the spoke has no forwarder');

    // Act
    const audit = a.template.findResources('AWS::DynamoDB::GlobalTable', {
      Properties: { StreamSpecification: Match.anyValue() },
    });

    // Assess
    expect(Object.keys(audit)).toEqual([id(a.stack.tables.audit)]);
    expect(only(audit).Properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_IMAGE' });
    a.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [id(a.stack.tables.audit), 'StreamArn'] },
      FunctionName: { Ref: id(forwarder.function.function) },
      BatchSize: 100,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      StartingPosition: 'TRIM_HORIZON',
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [id(forwarder.streamFailureQueue), 'Arn'] } },
      },
    });
  });

  it('subscribes the forwarder queue to the alerts, security, notices and approvals topics, raw delivery off', () => {
    // Prepare
    const forwarder = a.stack.forwarder!;

    // Act
    const subscriptions = Object.values(
      a.template.findResources('AWS::SNS::Subscription', {
        Properties: { Endpoint: { 'Fn::GetAtt': [id(forwarder.queue), 'Arn'] } },
      }),
    ).map((s) => [s.Properties.TopicArn.Ref, s.Properties.Protocol, s.Properties.RawMessageDelivery]);

    // Assess
    const topics = a.stack.topics;
    expect(subscriptions).toEqual(
      [topics.alerts, topics.security, topics.notices, topics.approvals].map((t) => [id(t), 'sqs', false]),
    );
    a.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [id(forwarder.queue), 'Arn'] },
      FunctionName: { Ref: id(forwarder.function.function) },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('lets the forwarder put events on exactly the hub bus, read its stream and queue, and nothing else', () => {
    // Prepare
    const forwarder = a.stack.forwarder!;

    // Act
    const statements = roleStatements(a.template, id(forwarder.function.role));

    // Assess
    const stream = `<${id(a.stack.tables.audit)}.StreamArn>`;
    const queue = `<${id(forwarder.queue)}.Arn>`;
    const failures = `<${id(forwarder.streamFailureQueue)}.Arn>`;
    const logs = `<${id(forwarder.function.logGroup)}.Arn>:*`;
    expect(statements).toEqual([
      [undefined, ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'], [failures], undefined],
      [undefined, ['dynamodb:ListStreams'], [stream], undefined],
      [
        undefined,
        ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
        [stream],
        undefined,
      ],
      [
        undefined,
        [
          'sqs:ReceiveMessage',
          'sqs:ChangeMessageVisibility',
          'sqs:GetQueueUrl',
          'sqs:DeleteMessage',
          'sqs:GetQueueAttributes',
        ],
        [queue],
        undefined,
      ],
      [undefined, ['logs:CreateLogStream', 'logs:PutLogEvents'], [logs], undefined],
      ['PutEventsOnTheHubBus', ['events:PutEvents'], [BUS_ARN], undefined],
    ]);
    a.template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: Match.absent(),
      Description: Match.stringLikeRegexp('organization forwarder'),
      Environment: { Variables: Match.objectLike({ ORG_BUS_ARN: BUS_ARN }) },
    });
  });

  it('lets the cleanup worker and the scan gate GetItem only the org breaker item of the hub state table', () => {
    // Act
    const grants = identityStatements(a.template)
      .filter(({ statement }) => list(statement.Resource).some((r) => text(r).includes(':111111111111:')))
      .map(({ roles, statement }) => [roles, statement]);

    // Assess: nothing else of the hub account, and only these roles
    expect(grants).toEqual([
      [
        [id(a.stack.cleanup.worker.role)],
        {
          Sid: 'ReadTheOrgBreaker',
          Effect: 'Allow',
          Action: 'dynamodb:GetItem',
          Resource: STATE_ARN,
          Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['BREAKER#organization'] } },
        },
      ],
      [
        [id(a.stack.gate.function.role)],
        {
          Sid: 'ReadTheOrgBreaker',
          Effect: 'Allow',
          Action: 'dynamodb:GetItem',
          Resource: STATE_ARN,
          Condition: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['BREAKER#organization'] } },
        },
      ],
      [[id(a.stack.forwarder!.function.role)], expect.objectContaining({ Resource: BUS_ARN })],
    ]);
    for (const fn of [a.stack.cleanup.worker, a.stack.gate.function])
      a.template.hasResourceProperties('AWS::Lambda::Function', {
        Role: { 'Fn::GetAtt': [id(fn.role), 'Arn'] },
        Environment: { Variables: Match.objectLike({ ORG_STATE_TABLE_ARN: STATE_ARN }) },
      });
  });

  it('replicates the backup prefixes to us-east-1 from the eu-west-1 spoke, and nothing from the us-east-1 spoke', () => {
    // Act
    const fromA = a.template.findResources('AWS::ECR::ReplicationConfiguration');
    const fromB = b.template.findResources('AWS::ECR::ReplicationConfiguration');

    // Assess
    expect(only(fromA).Properties).toEqual({
      ReplicationConfiguration: {
        Rules: [
          {
            Destinations: [{ Region: 'us-east-1', RegistryId: '222222222222' }],
            RepositoryFilters: [
              { Filter: 'base/', FilterType: 'PREFIX_MATCH' },
              { Filter: 'services/', FilterType: 'PREFIX_MATCH' },
            ],
          },
        ],
      },
    });
    expect(fromB).toEqual({});
  });

  it.each([
    ['eu-west-1', () => a],
    ['us-east-1', () => b],
  ])('finds no AwsSolutions violation with cdk-nag validateScope in the %s spoke', (_, get) => {
    const { app, stack } = get();
    expect(nagViolations(app, stack)).toEqual([]);
  });
});

describe('EcrStewardStack (organization spoke): reader role, subscriptions, account', () => {
  it('creates the read-only plan role once per account, assumable from the hub account only', () => {
    // Prepare: one account with spokes in two regions, and another account.
    const config = orgConfig({
      targets: [
        { accounts: [SPOKE_A.account], regions: ['eu-west-1', 'us-east-1'] },
        { accounts: [SPOKE_B.account], regions: [SPOKE_B.region] },
      ],
    });

    // Act
    const roles = [SPOKE_A, { account: SPOKE_A.account, region: 'us-east-1' }, SPOKE_B].map((env) =>
      buildSpoke(config, env).template.findResources('AWS::IAM::Role', {
        Properties: { RoleName: 'EcrStewardReadOnly' },
      }),
    );

    // Assess: eu-west-1 comes first for 222222222222; us-east-1 is 333333333333's only region.
    expect(roles.map((r) => Object.keys(r).length)).toEqual([1, 0, 1]);
    const role = only(roles[0]!) as { Properties: { AssumeRolePolicyDocument: Json } };
    expect(role.Properties.AssumeRolePolicyDocument).toEqual({
      Statement: [
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: {
            AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::111111111111:root']] },
          },
        },
      ],
      Version: '2012-10-17',
    });
    const built = buildSpoke(config, SPOKE_A);
    const reader = built.stack.node.findChild('OrgReader') as IConstruct;
    const statements = roleStatements(built.template, id((reader as unknown as { role: IConstruct }).role));
    expect(
      statements
        .flatMap(([, actions]) => actions as string[])
        .every((a) => /^(ecr|ecs|lambda|tag):(Describe|List|Get|BatchGet)/.test(a)),
    ).toBe(true);
    expect(nagViolations(built.app, built.stack)).toEqual([]);
  });

  it('leaves alerts.subscriptions to the hub (no duplicate delivery) and gives every function its account', () => {
    // Prepare
    const config = validateConfig({
      ...(orgDocument() as object),
      alerts: { subscriptions: [{ protocol: 'email', endpoint: 'ops@example.com' }] },
    });

    // Act
    const spoke = buildSpoke(config, SPOKE_A);
    const hub = buildHub(config);

    // Assess
    expect(
      Object.keys(
        spoke.template.findResources('AWS::SNS::Subscription', { Properties: { Protocol: 'email' } }),
      ),
    ).toEqual([]);
    expect(
      Object.keys(hub.template.findResources('AWS::SNS::Subscription', { Properties: { Protocol: 'email' } }))
        .length,
    ).toBe(2);
    const variables = Object.values(spoke.template.findResources('AWS::Lambda::Function')).map(
      (f) =>
        (f as { Properties: { Environment?: { Variables?: Record<string, Json> } } }).Properties.Environment
          ?.Variables?.ECR_STEWARD_REGISTRY_ID,
    );
    expect(variables.length).toBeGreaterThan(3);
    expect(new Set(variables.map((v) => JSON.stringify(v)))).toEqual(
      new Set([JSON.stringify({ Ref: 'AWS::AccountId' })]),
    );
  });
});

describe('EcrStewardStack (single account)', () => {
  it('has no audit stream, forwarder, org grant or ORG_* variable when the stack has no org', () => {
    // Prepare
    const { organization: _, ...document } = orgDocument();
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });

    // Act
    const stack = new EcrStewardStack(app, 'EcrSteward', { config: validateConfig(document) });
    const template = Template.fromStack(stack);

    // Assess
    expect(stack.forwarder).toBeUndefined();
    expect(JSON.stringify(template.toJSON())).not.toMatch(/ORG_|StreamSpecification|events:PutEvents/);
    expect(
      template.findResources('AWS::DynamoDB::GlobalTable', {
        Properties: { StreamSpecification: Match.anyValue() },
      }),
    ).toEqual({});
  });
});

describe('Replication', () => {
  it('keeps each destination only where it is not the registry itself when the account and region are unknown at synthesis', () => {
    // Prepare: no env, as in a StackSet template; a copy in eu-west-1 and us-east-1 of the same account
    const { organization: _, ...document } = orgDocument();
    const config = validateConfig({
      ...document,
      backup: { repositories: ['services/*'], regions: ['eu-west-1', 'us-east-1'] },
    });
    const stack = new Stack(new App(), 'Anywhere');

    // Act
    const replication = Replication.forStack(stack, 'Replication', config);
    const template = Template.fromStack(stack).toJSON();

    // Assess
    const resource = template.Resources[id(replication!.configuration)];
    const conditions = Object.keys(template.Conditions).sort();
    expect(conditions).toHaveLength(3);
    const [any, notEu, notUs] = [
      conditions.find((c) => c.includes('AnyDestination'))!,
      conditions.find((c) => c.includes('NotSelf0x0'))!,
      conditions.find((c) => c.includes('NotSelf0x1'))!,
    ];
    expect(resource.Condition).toBe(any);
    expect(template.Conditions[any]).toEqual({ 'Fn::Or': [{ Condition: notEu }, { Condition: notUs }] });
    expect(template.Conditions[notEu]).toEqual({
      'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'eu-west-1'] }],
    });
    expect(resource.Properties.ReplicationConfiguration.Rules).toEqual([
      {
        Destinations: [
          {
            'Fn::If': [
              notEu,
              { Region: 'eu-west-1', RegistryId: { Ref: 'AWS::AccountId' } },
              { Ref: 'AWS::NoValue' },
            ],
          },
          {
            'Fn::If': [
              notUs,
              { Region: 'us-east-1', RegistryId: { Ref: 'AWS::AccountId' } },
              { Ref: 'AWS::NoValue' },
            ],
          },
        ],
        RepositoryFilters: [{ Filter: 'services/', FilterType: 'PREFIX_MATCH' }],
      },
    ]);
  });

  it('creates no replication configuration when the config has no backup', () => {
    // Prepare
    const { backup: _, ...document } = orgDocument();
    const stack = new Stack(new App(), 'Spoke', { env: SPOKE_A });

    // Act
    const replication = Replication.forStack(stack, 'Replication', validateConfig(document));

    // Assess
    expect(replication).toBeUndefined();
  });
});

describe('EcrStewardHubStack (spokes as a StackSet)', () => {
  let dir: string;
  let app: App;
  let hub: EcrStewardHubStack;
  beforeAll(() => {
    // Prepare: the StackSet's asset copy needs the functions' real code, so this one bundles (esbuild)
    dir = mkdtempSync(join(tmpdir(), 'ecr-steward-stackset-'));
    const config = orgConfig({
      deployment: 'stackset',
      targets: [{ organizationalUnits: ['ou-ab12-cd34ef56'], regions: ['eu-west-1', 'us-east-1'] }],
    });
    app = new App({ outdir: dir });
    hub = new EcrStewardHubStack(app, 'EcrStewardHub', {
      config,
      env: HUB,
      spokeStackSet: { plan: deployPlan(config).stackSet!, assetBucketPrefix: 'acme-steward-assets' },
    });
    app.synth();
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('deploys the spoke template to the organizational units, service-managed with auto-deployment', () => {
    // Act
    const stackSet = only(Template.fromStack(hub).findResources('AWS::CloudFormation::StackSet'));

    // Assess
    expect(stackSet.Properties).toMatchObject({
      StackSetName: 'EcrStewardSpokes',
      PermissionModel: 'SERVICE_MANAGED',
      AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: true },
      Capabilities: ['CAPABILITY_IAM'],
      StackInstancesGroup: [
        {
          DeploymentTargets: { AccountFilterType: 'NONE', OrganizationalUnitIds: ['ou-ab12-cd34ef56'] },
          Regions: ['eu-west-1', 'us-east-1'],
        },
      ],
    });
  });

  it('gives the spoke template the forwarder, the org breaker read and code from the <prefix>-<region> buckets', () => {
    // Act
    const template = Template.fromJSON(
      JSON.parse(readFileSync(join(dir, hub.spokes!.template.templateFile), 'utf8')),
    );

    // Assess
    const fn = hub.spokes!.template.parts.forwarder!.function;
    template.hasResourceProperties('AWS::Lambda::Function', {
      Role: { 'Fn::GetAtt': [id(fn.role), 'Arn'] },
      Code: { S3Bucket: { 'Fn::Join': ['-', ['acme-steward-assets', { Ref: 'AWS::Region' }]] } },
      Environment: { Variables: Match.objectLike({ ORG_BUS_ARN: BUS_ARN }) },
    });
    // The plan role is created by the instance of the first target region only (a role name is per account).
    const reader = only(
      template.findResources('AWS::IAM::Role', { Properties: { RoleName: 'EcrStewardReadOnly' } }),
    );
    const conditions = template.toJSON().Conditions as Record<string, Json>;
    expect(conditions[(reader as { Condition: string }).Condition]).toEqual({
      'Fn::Equals': [{ Ref: 'AWS::Region' }, 'eu-west-1'],
    });
    expect(roleStatements(template, id(hub.spokes!.template.parts.cleanup.worker.role))).toContainEqual([
      'ReadTheOrgBreaker',
      ['dynamodb:GetItem'],
      [STATE_ARN],
      { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['BREAKER#organization'] } },
    ]);
  });

  it('finds no AwsSolutions violation in the hub (the asset copy acknowledged) nor in the spoke template', () => {
    expect(nagViolations(app, hub)).toEqual([]);
    expect(nagViolations(app, hub.spokes!.template)).toEqual([]);
  });
});

describe('bin/app.ts (organization)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ecr-steward-org-app-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const runApp = (document: Json, context: Json = {}) => {
    const config = join(dir, 'steward.config.json');
    writeFileSync(config, JSON.stringify(document));
    const out = spawnSync('npx', ['tsx', 'bin/app.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        CDK_OUTDIR: dir,
        CDK_CONTEXT_JSON: JSON.stringify({ 'aws:cdk:bundling-stacks': [], config, ...context }),
      },
      encoding: 'utf8',
      timeout: 170_000,
    });
    return { status: out.status, stderr: out.stderr };
  };

  it('synthesizes the hub stack and one spoke stack per account and region with a clean AwsSolutions report', () => {
    // Act
    const result = runApp(orgDocument());

    // Assess
    expect(result.stderr).not.toContain('Error');
    expect(result.status).toBe(0);
    const stacks = [
      'EcrStewardHub',
      'EcrSteward-222222222222-eu-west-1',
      'EcrSteward-333333333333-us-east-1',
    ];
    for (const stack of stacks) expect(existsSync(join(dir, `${stack}.template.json`)), stack).toBe(true);
    expect(existsSync(join(dir, 'EcrSteward.template.json'))).toBe(false);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(stacks.map((s) => manifest.artifacts[s].environment)).toEqual([
      'aws://111111111111/eu-west-1',
      'aws://222222222222/eu-west-1',
      'aws://333333333333/us-east-1',
    ]);
    const file = join(dir, 'validation-report.json');
    const reports: Json[] = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).pluginReports : [];
    expect(reports.flatMap((r) => r.violations)).toEqual([]);
  }, 180_000);

  it('exits with 1 and names the config key and the context key when a StackSet deployment has no asset bucket prefix', () => {
    // Act
    const result = runApp(
      orgDocument({
        deployment: 'stackset',
        targets: [{ organizationalUnits: ['ou-ab12-cd34ef56'], regions: ['eu-west-1'] }],
      }),
    );

    // Assess
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      'set organization.stackSetAssetBucketPrefix (or pass -c assetBucketPrefix=PREFIX)',
    );
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }, 180_000);
});
