/**
 * The approvals part of the stack (issue 12), synthesized without bundling: the endpoint (a function URL
 * with AuthType AWS_IAM and a resource policy naming the config's approvers and requesters), the requests
 * table and who may touch it, the approvals topic, the cleanup's new environment and grants, the outputs,
 * and cdk-nag.
 */
import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../functions/shared/config/load.js';
import type { StewardConfigInput } from '../../functions/shared/config/schema.js';
import {
  approvalPatterns,
  approvalsEnabled,
  urlPrincipal,
  urlPrincipals,
} from '../../lib/constructs/approvals.js';
import { needsDueProcessing } from '../../lib/constructs/cleanup.js';
import { EcrStewardStack } from '../../lib/stacks/ecr-steward-stack.js';
import { allowsAny, identityStatements, type Json, list, text } from './template-iam.js';

const OPS = 'arn:aws:iam::111111111111:role/ops-approver';
const OTHER_OPS = 'arn:aws:iam::222222222222:role/ops-*';
const USER = 'arn:aws:iam::111111111111:user/alice';

const SELECTION: { name: string; repositories: string[]; lifecyclePolicy: 'fromRepository' } = {
  name: 'services',
  repositories: ['services/*'],
  lifecyclePolicy: 'fromRepository',
};

const APPROVALS_ON = {
  governance: { approval: { required: 'always', approvers: [OPS, OTHER_OPS, USER] } },
} satisfies Partial<StewardConfigInput>;

function build(input: Partial<StewardConfigInput> = {}) {
  const config = validateConfig({ mode: 'enforce', selections: [{ ...SELECTION }], ...input });
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new EcrStewardStack(app, 'EcrSteward', { config });
  const template = Template.fromStack(stack);
  const id = (c: IConstruct) => stack.getLogicalId((c.node.defaultChild ?? c) as CfnElement);
  const resources = template.toJSON().Resources as Record<string, Json>;
  const outputs = template.toJSON().Outputs as Record<string, Json>;
  return { app, stack, template, id, resources, outputs, config };
}
type Built = ReturnType<typeof build>;

const ofType = ({ resources }: Built, type: string) =>
  Object.entries(resources).filter(([, r]) => r.Type === type);

/** The approvals function's logical ids: its function and its role. */
function approvalsIds(built: Built) {
  const approvals = built.stack.approvals;
  if (!approvals) throw new Error('the stack has no approvals endpoint');
  return { fn: built.id(approvals.function.function), role: built.id(approvals.function.role) };
}

/** `[actions, rendered resources]` of the identity statements of `role` on resources starting with `prefix`. */
function grantsOn(built: Built, role: string, prefix: string): [string[], string[]][] {
  return identityStatements(built.template)
    .filter(({ roles }) => roles.includes(role))
    .filter(({ statement }) => list(statement.Resource).some((r) => text(r).startsWith(prefix)))
    .map(({ statement }) => [list<string>(statement.Action), list(statement.Resource).map(text)]);
}

function nagViolations({ app, stack }: Built): string[] {
  return new AwsSolutionsChecks(app)
    .validateScope(stack)
    .violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
}

describe('approvalsEnabled', () => {
  it.each([
    ['nothing asks for an approval', {}, false],
    ['the global approval is required always', APPROVALS_ON, true],
    [
      'only a selection asks, over a number of images',
      {
        selections: [
          {
            ...SELECTION,
            governance: { approval: { required: { overImages: 50 }, approvers: [OPS] } },
          },
        ],
      },
      true,
    ],
    [
      'only a breaker reset needs an approver',
      { governance: { approval: { breakerReset: true, approvers: [OPS] } } },
      true,
    ],
    [
      'approvers are named but nothing is required',
      { governance: { approval: { required: 'never', approvers: [OPS] } } },
      false,
    ],
  ] as [string, Partial<StewardConfigInput>, boolean][])('returns %s → %s', (_, input, expected) => {
    const config = validateConfig({ selections: [{ ...SELECTION }], ...input });
    expect(approvalsEnabled(config)).toBe(expected);
  });
});

describe('urlPrincipal', () => {
  it.each([
    ['an exact role ARN', OPS, { type: 'arn', arn: OPS }],
    ['an exact user ARN', USER, { type: 'arn', arn: USER }],
    [
      'a role with a path',
      'arn:aws:iam::111111111111:role/team/ops',
      { type: 'arn', arn: 'arn:aws:iam::111111111111:role/team/ops' },
    ],
    ['a wildcard role name', OTHER_OPS, { type: 'account', account: '222222222222' }],
    [
      'a wildcard user name',
      'arn:aws:iam::333333333333:user/*',
      { type: 'account', account: '333333333333' },
    ],
    [
      'any session of one role',
      'arn:aws:sts::111111111111:assumed-role/ops/*',
      { type: 'arn', arn: 'arn:aws:iam::111111111111:role/ops' },
    ],
    [
      'one session of one role',
      'arn:aws:sts::111111111111:assumed-role/ops/bob',
      { type: 'arn', arn: 'arn:aws:iam::111111111111:role/ops' },
    ],
    [
      'sessions of wildcard roles',
      'arn:aws:sts::444444444444:assumed-role/ops-*/bob',
      { type: 'account', account: '444444444444' },
    ],
    [
      'a role of another partition',
      'arn:aws-cn:sts::111111111111:assumed-role/ops/*',
      { type: 'arn', arn: 'arn:aws-cn:iam::111111111111:role/ops' },
    ],
  ])('grants %s as %o', (_, pattern, expected) => {
    expect(urlPrincipal(pattern)).toEqual(expected);
  });

  it('throws, naming the field, for a pattern that is no IAM principal ARN', () => {
    expect(() => urlPrincipal('arn:aws:s3:::bucket')).toThrow(
      '"arn:aws:s3:::bucket" is not an IAM user, role or assumed-role ARN with its account — fix governance.approval approvers/requesters',
    );
  });
});

describe('urlPrincipals', () => {
  it('names each principal once, accounts first, and drops the ARNs of an account granted as a whole', () => {
    // Act
    const principals = urlPrincipals([
      OPS,
      USER,
      'arn:aws:sts::111111111111:assumed-role/ops-approver/*',
      OTHER_OPS,
      'arn:aws:iam::222222222222:user/carol',
      'arn:aws:iam::222222222222:role/ops-*',
      OPS,
    ]);

    // Assess
    expect(principals).toEqual([
      { type: 'account', account: '222222222222' },
      { type: 'arn', arn: OPS },
      { type: 'arn', arn: USER },
    ]);
  });
});

describe('approvalPatterns', () => {
  it('collects the global and every selection’s approvers and requesters, each once', () => {
    // Prepare
    const config = validateConfig({
      governance: { approval: { required: 'always', approvers: [OPS], requesters: [USER] } },
      selections: [
        { ...SELECTION, governance: { approval: { approvers: [OTHER_OPS, OPS] } } },
        {
          name: 'web',
          repositories: ['web'],
          lifecyclePolicy: 'fromRepository',
          governance: { approval: { requesters: ['arn:aws:iam::111111111111:user/dev-*'] } },
        },
      ],
    });

    // Act
    const patterns = approvalPatterns(config);

    // Assess
    expect(patterns).toEqual([OPS, USER, OTHER_OPS, 'arn:aws:iam::111111111111:user/dev-*']);
  });
});

describe('EcrStewardStack approvals endpoint', () => {
  const built = build(APPROVALS_ON);

  it('puts a function URL with AuthType AWS_IAM on the approvals function', () => {
    // Act
    const urls = ofType(built, 'AWS::Lambda::Url');

    // Assess
    expect(urls.map(([, r]) => r.Properties)).toEqual([
      { AuthType: 'AWS_IAM', TargetFunctionArn: { 'Fn::GetAtt': [approvalsIds(built).fn, 'Arn'] } },
    ]);
  });

  it('lets the exact role ARN, the wildcard role’s account and the user, and nobody else, invoke it through the URL', () => {
    // Prepare
    const { fn } = approvalsIds(built);

    // Act
    const permissions = ofType(built, 'AWS::Lambda::Permission')
      .map(([, r]) => r.Properties)
      .filter((p) => JSON.stringify(p.FunctionName).includes(fn));

    // Assess: InvokeFunctionUrl (AWS_IAM only), and InvokeFunction only when invoked through the URL
    const url = (principal: string) => ({
      Action: 'lambda:InvokeFunctionUrl',
      FunctionName: { 'Fn::GetAtt': [fn, 'Arn'] },
      FunctionUrlAuthType: 'AWS_IAM',
      Principal: principal,
    });
    const viaUrl = (principal: string) => ({
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [fn, 'Arn'] },
      InvokedViaFunctionUrl: true,
      Principal: principal,
    });
    const order = (a: Json, b: Json) => JSON.stringify(a).localeCompare(JSON.stringify(b));
    expect(permissions.sort(order)).toEqual(
      ['222222222222', OPS, USER].flatMap((p) => [url(p), viaUrl(p)]).sort(order),
    );
    expect(built.stack.approvals?.principals).toEqual([
      { type: 'account', account: '222222222222' },
      { type: 'arn', arn: OPS },
      { type: 'arn', arn: USER },
    ]);
  });

  it('gives no other function a function URL permission', () => {
    // Act
    const urlPermissions = ofType(built, 'AWS::Lambda::Permission').filter(
      ([, r]) => r.Properties.FunctionUrlAuthType || r.Properties.InvokedViaFunctionUrl,
    );

    // Assess
    expect(urlPermissions).toHaveLength(6);
    for (const [, r] of urlPermissions)
      expect(r.Properties.FunctionName).toEqual({ 'Fn::GetAtt': [approvalsIds(built).fn, 'Arn'] });
  });

  it('runs functions/approvals handler with the requests, approvals, audit, state and notices names', () => {
    // Act
    const fn = built.resources[approvalsIds(built).fn]!.Properties;

    // Assess
    expect(fn.Handler).toBe('index.handler');
    expect(fn.Runtime).toBe('nodejs24.x');
    expect(fn.Timeout).toBe(30);
    expect(fn.ReservedConcurrentExecutions).toBe(2);
    expect(fn.Environment.Variables).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      REQUESTS_TABLE_NAME: { Ref: built.id(built.stack.tables.requests) },
      APPROVALS_TOPIC_ARN: { Ref: built.id(built.stack.topics.approvals) },
      AUDIT_TABLE_NAME: { Ref: built.id(built.stack.tables.audit) },
      STATE_TABLE_NAME: { Ref: built.id(built.stack.tables.state) },
      NOTICES_TOPIC_ARN: { Ref: built.id(built.stack.topics.notices) },
    });
  });

  it('never lets the approvals function delete or scan a table, or delete or write an image', () => {
    // Act
    const statements = identityStatements(built.template).filter(({ roles }) =>
      roles.includes(approvalsIds(built).role),
    );

    // Assess
    const forbidden = [
      'dynamodb:DeleteItem',
      'dynamodb:Scan',
      'dynamodb:BatchWriteItem',
      'ecr:BatchDeleteImage',
      'ecr:PutImage',
      'ecr:UpdateImageStorageClass',
    ];
    expect(statements.length).toBeGreaterThan(0);
    expect(statements.filter(({ statement }) => allowsAny(statement, forbidden))).toEqual([]);
  });

  it('grants the approvals function GetItem, PutItem, Query and UpdateItem on the requests table and its two indexes', () => {
    // Prepare
    const table = `<${built.id(built.stack.tables.requests)}.Arn>`;

    // Act
    const grants = grantsOn(built, approvalsIds(built).role, table);

    // Assess
    expect(grants).toEqual([
      [
        ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
        [table, `${table}/index/byState`, `${table}/index/byRepository`],
      ],
    ]);
  });

  it('grants the approvals function the audit record actions, and on the state table only the breaker read and write of a reset', () => {
    // Prepare
    const audit = `<${built.id(built.stack.tables.audit)}.Arn>`;
    const state = `<${built.id(built.stack.tables.state)}.Arn>`;
    const role = approvalsIds(built).role;

    // Act
    const onAudit = grantsOn(built, role, audit);
    const onState = grantsOn(built, role, state);

    // Assess
    expect(onAudit).toEqual([
      [
        ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
        [audit, `${audit}/index/*`],
      ],
    ]);
    expect(onState).toEqual([[['dynamodb:BatchGetItem', 'dynamodb:PutItem'], [state]]]);
  });

  it('reads images (DescribeImages, BatchGetImage) only on the managed repositories, and finds any repository by name', () => {
    // Act
    const ecr = identityStatements(built.template)
      .filter(({ roles }) => roles.includes(approvalsIds(built).role))
      .filter(({ statement }) => list<string>(statement.Action).some((a) => a.startsWith('ecr:')));

    // Assess
    expect(
      ecr.map(({ statement }) => [statement.Sid, statement.Action, list(statement.Resource).map(text)]),
    ).toEqual([
      [
        'RequestedImagesByName',
        ['ecr:BatchGetImage', 'ecr:DescribeImages'],
        ['arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/services/*'],
      ],
      [
        'FindRepository',
        'ecr:DescribeRepositories',
        ['arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/*'],
      ],
    ]);
  });

  it('lets the cleanup worker, the scan gate and the approvals function, and no other role, publish to the approvals topic', () => {
    // Prepare
    const topic = `<${built.id(built.stack.topics.approvals)}>`;

    // Act
    const publishers = identityStatements(built.template)
      .filter(({ statement }) => allowsAny(statement, ['sns:Publish']))
      .filter(({ statement }) => list(statement.Resource).some((r) => text(r) === topic));

    // Assess
    expect(publishers.map(({ roles, statement }) => [roles, statement.Action])).toEqual([
      [[built.id(built.stack.cleanup.worker.role)], 'sns:Publish'],
      [[built.id(built.stack.gate.function.role)], 'sns:Publish'],
      [[approvalsIds(built).role], 'sns:Publish'],
    ]);
  });

  it('outputs the approvals URL, the approvals topic ARN and the requests table name for the CLI', () => {
    // Act
    const { ApprovalsUrl, ApprovalsTopicArn, RequestsTableName } = built.outputs;

    // Assess
    const url = built.id(built.stack.approvals!.url);
    expect(ApprovalsUrl).toEqual({
      Description: 'export APPROVALS_URL=<this value> for the ecr-steward CLI',
      Value: { 'Fn::GetAtt': [url, 'FunctionUrl'] },
    });
    expect(ApprovalsTopicArn).toEqual({
      Description: 'export APPROVALS_TOPIC_ARN=<this value> for the ecr-steward CLI',
      Value: { Ref: built.id(built.stack.topics.approvals) },
    });
    expect(RequestsTableName).toEqual({
      Description: 'export REQUESTS_TABLE_NAME=<this value> for the ecr-steward CLI',
      Value: { Ref: built.id(built.stack.tables.requests) },
    });
  });

  it('starts the due-deletion processor, which deletes approved and expires unanswered requests, without a notice period', () => {
    // Act
    const due = ofType(built, 'AWS::Scheduler::Schedule').filter(
      ([, r]) => r.Properties.Target.Input === '{"kind":"due"}',
    );

    // Assess
    expect(built.config.governance.notice.hours).toBe(0);
    expect(needsDueProcessing(built.config)).toBe(true);
    expect(due).toHaveLength(1);
  });

  it('finds no AwsSolutions violation with cdk-nag validateScope', () => {
    expect(nagViolations(built)).toEqual([]);
  });
});

describe('EcrStewardStack approvals topic', () => {
  const built = build(APPROVALS_ON);
  const topic = built.id(built.stack.topics.approvals);

  it('encrypts the approvals topic with the alert topics key and denies publishing without TLS', () => {
    // Act
    const props = built.resources[topic]!.Properties;
    const policy = ofType(built, 'AWS::SNS::TopicPolicy').find(([, r]) =>
      r.Properties.Topics.some((t: Json) => t.Ref === topic),
    );

    // Assess
    expect(props).toEqual({
      DisplayName: 'ECR Steward approval requests',
      KmsMasterKeyId: { 'Fn::GetAtt': [built.id(built.stack.topics.key), 'Arn'] },
    });
    expect(policy?.[1].Properties.PolicyDocument.Statement).toEqual([
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
});

describe('EcrStewardStack requests table', () => {
  const built = build(APPROVALS_ON);
  const table = built.id(built.stack.tables.requests);

  it('keeps requests: on demand, byState and byRepository indexes, ttl, point-in-time recovery, deletion protection, encrypted, retained', () => {
    // Act
    const resource = built.resources[table]!;

    // Assess
    const key = (hash: string, range: string) => [
      { AttributeName: hash, KeyType: 'HASH' },
      { AttributeName: range, KeyType: 'RANGE' },
    ];
    expect(resource.DeletionPolicy).toBe('Retain');
    expect(resource.UpdateReplacePolicy).toBe('Retain');
    expect(resource.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: key('pk', 'sk'),
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      GlobalSecondaryIndexes: [
        { IndexName: 'byState', KeySchema: key('gsi1pk', 'gsi1sk'), Projection: { ProjectionType: 'ALL' } },
        {
          IndexName: 'byRepository',
          KeySchema: key('gsi2pk', 'gsi2sk'),
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    });
    expect(resource.Properties.Replicas).toEqual([
      expect.objectContaining({
        DeletionProtectionEnabled: true,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      }),
    ]);
  });

  it('grants the worker, the sweep, the scan gate and the approvals function the request actions, and no role a delete or a scan', () => {
    // Prepare
    const arn = `<${table}.Arn>`;
    const resources = [arn, `${arn}/index/byState`, `${arn}/index/byRepository`];
    const actions = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'];

    // Act
    const grants = identityStatements(built.template)
      .filter(({ statement }) => list(statement.Resource).some((r) => text(r).startsWith(arn)))
      .map(({ roles, statement }) => [
        roles,
        list<string>(statement.Action),
        list(statement.Resource).map(text),
      ]);

    // Assess
    expect(grants.sort()).toEqual(
      [
        [[built.id(built.stack.cleanup.worker.role)], actions, resources],
        [[built.id(built.stack.cleanup.sweep.role)], actions, resources],
        [[built.id(built.stack.gate.function.role)], actions, resources],
        [[approvalsIds(built).role], actions, resources],
      ].sort(),
    );
    const destructive = identityStatements(built.template).filter(
      ({ statement }) =>
        allowsAny(statement, ['dynamodb:DeleteItem', 'dynamodb:Scan', 'dynamodb:BatchWriteItem']) &&
        list(statement.Resource).some((r) => text(r).startsWith(arn)),
    );
    expect(destructive).toEqual([]);
  });
});

describe('EcrStewardStack cleanup with approvals', () => {
  const built = build(APPROVALS_ON);
  const env = (c: IConstruct) => built.resources[built.id(c)]!.Properties.Environment.Variables;

  it('gives the worker the requests table name and the approvals topic ARN', () => {
    expect(env(built.stack.cleanup.worker.function)).toMatchObject({
      REQUESTS_TABLE_NAME: { Ref: built.id(built.stack.tables.requests) },
      APPROVALS_TOPIC_ARN: { Ref: built.id(built.stack.topics.approvals) },
    });
  });

  it('gives the sweep the requests table name and the notices topic ARN, not the approvals topic', () => {
    // Act
    const sweep = env(built.stack.cleanup.sweep.function);

    // Assess
    expect(sweep).toMatchObject({
      REQUESTS_TABLE_NAME: { Ref: built.id(built.stack.tables.requests) },
      NOTICES_TOPIC_ARN: { Ref: built.id(built.stack.topics.notices) },
    });
    expect(sweep.APPROVALS_TOPIC_ARN).toBeUndefined();
  });

  it('lets the sweep publish to the notices topic (expired requests)', () => {
    // Prepare
    const sweep = built.id(built.stack.cleanup.sweep.role);
    const notices = `<${built.id(built.stack.topics.notices)}>`;

    // Act
    const publishes = identityStatements(built.template).filter(
      ({ roles, statement }) =>
        roles.includes(sweep) &&
        allowsAny(statement, ['sns:Publish']) &&
        list(statement.Resource).some((r) => text(r) === notices),
    );

    // Assess
    expect(publishes).toHaveLength(1);
  });
});

describe('EcrStewardStack without approvals', () => {
  const built = build();

  it('builds no function URL, no approvals function and no ApprovalsUrl output', () => {
    expect(approvalsEnabled(built.config)).toBe(false);
    expect(built.stack.approvals).toBeUndefined();
    expect(ofType(built, 'AWS::Lambda::Url')).toEqual([]);
    expect(
      ofType(built, 'AWS::Lambda::Permission').filter(
        ([, r]) => r.Properties.FunctionUrlAuthType || r.Properties.InvokedViaFunctionUrl,
      ),
    ).toEqual([]);
    expect(
      ofType(built, 'AWS::Lambda::Function').map(([, r]) => r.Properties.Description as string),
    ).not.toContainEqual(expect.stringContaining('approvals'));
    expect(built.outputs.ApprovalsUrl).toBeUndefined();
  });

  it('still creates the requests table and the approvals topic, with the worker’s grants and environment', () => {
    // Act
    const worker =
      built.resources[built.id(built.stack.cleanup.worker.function)]!.Properties.Environment.Variables;

    // Assess
    expect(built.resources[built.id(built.stack.tables.requests)]?.Type).toBe('AWS::DynamoDB::GlobalTable');
    expect(built.resources[built.id(built.stack.topics.approvals)]?.Type).toBe('AWS::SNS::Topic');
    expect(worker.REQUESTS_TABLE_NAME).toEqual({ Ref: built.id(built.stack.tables.requests) });
    expect(Object.keys(built.outputs)).toEqual(
      expect.arrayContaining(['ApprovalsTopicArn', 'RequestsTableName']),
    );
  });
});

describe('EcrStewardStack approvals on repositories selected by tags', () => {
  const built = build({
    ...APPROVALS_ON,
    selections: [{ name: 'tagged', repositoryTags: { team: 'pay' }, lifecyclePolicy: 'fromRepository' }],
  });

  it('reads images only on repositories carrying the selection tags, and repository names and tags everywhere', () => {
    // Act
    const ecr = identityStatements(built.template)
      .filter(({ roles }) => roles.includes(approvalsIds(built).role))
      .filter(({ statement }) => list<string>(statement.Action).some((a) => a.startsWith('ecr:')));

    // Assess
    const any = 'arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/*';
    expect(
      ecr.map(({ statement }) => [
        statement.Sid,
        statement.Action,
        list(statement.Resource).map(text),
        statement.Condition,
      ]),
    ).toEqual([
      [
        'RequestedImagesByTag0',
        ['ecr:BatchGetImage', 'ecr:DescribeImages'],
        [any],
        { StringEquals: { 'aws:ResourceTag/team': 'pay' } },
      ],
      ['FindRepository', ['ecr:DescribeRepositories', 'ecr:ListTagsForResource'], [any], undefined],
    ]);
  });

  it('finds no AwsSolutions violation with cdk-nag validateScope', () => {
    expect(nagViolations(built)).toEqual([]);
  });
});

describe('EcrStewardStack approvals asked for by repository tags', () => {
  it('reads repository tags everywhere when an approval rule goes by tags, though the selections go by name', () => {
    // Prepare
    const built = build({
      governance: { approval: { required: { repositoryTags: { env: 'prod' } }, approvers: [OPS] } },
    });

    // Act
    const find = identityStatements(built.template).find(
      ({ roles, statement }) =>
        roles.includes(approvalsIds(built).role) && statement.Sid === 'FindRepository',
    );

    // Assess
    expect(find?.statement.Action).toEqual(['ecr:DescribeRepositories', 'ecr:ListTagsForResource']);
  });

  it('grants the role of a selection’s assumed-role approver pattern, and its global requester', () => {
    // Prepare
    const built = build({
      governance: { approval: { requesters: [USER] } },
      selections: [
        {
          ...SELECTION,
          governance: {
            approval: {
              required: { overImages: 10 },
              approvers: ['arn:aws:sts::111111111111:assumed-role/release-managers/*'],
            },
          },
        },
      ],
    });

    // Act
    const principals = ofType(built, 'AWS::Lambda::Permission')
      .filter(([, r]) => r.Properties.Action === 'lambda:InvokeFunctionUrl')
      .map(([, r]) => r.Properties.Principal);

    // Assess
    expect(principals).toEqual([USER, 'arn:aws:iam::111111111111:role/release-managers']);
  });
});

describe('approvals topic subscriptions', () => {
  it('subscribes an endpoint that names the approvals topic to it, and only to it', () => {
    // Prepare
    const built = build({
      ...APPROVALS_ON,
      alerts: {
        subscriptions: [{ protocol: 'email', endpoint: 'ops@example.com', topics: ['approvals'] }],
      },
    });

    // Act
    const subscriptions = ofType(built, 'AWS::SNS::Subscription').map(([, r]) => r.Properties as Json);

    // Assess
    expect(subscriptions).toHaveLength(1);
    expect(subscriptions[0]).toMatchObject({ Protocol: 'email', Endpoint: 'ops@example.com' });
    expect(subscriptions[0]!.TopicArn).toEqual({ Ref: built.id(built.stack.topics.approvals) });
  });
});
