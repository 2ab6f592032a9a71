/**
 * Registry operations (functions/audit/operations.ts, functions/shared/audit/operations.ts): CloudTrail
 * management events of ECR and pushes become one OPERATION record each (written once, listed by repository,
 * principal and day, never seen by the deletion queries), and the sensitive ones raise a security finding.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  describeFindings,
  findingsOf,
  operationOf,
  policySummary,
  trustOf,
} from '../../functions/audit/operations.js';
import { type Operation, OperationStore } from '../../functions/shared/audit/operations.js';
import { AuditStore } from '../../functions/shared/audit/store.js';
import { type Dynamo, startDynamo, type Tables } from '../support/dynamo.js';
import {
  ACCOUNT,
  CI_ROLE,
  cloudTrailEnvelope,
  digestOf,
  imageActionEvent,
  parseEvent,
  REGION,
  REPO,
  testConfig,
} from './helpers.js';

const OUTSIDER = '999988887777';
const STEWARD_PREFIX = 'EcrSteward-';

/** A CloudTrail record of an ECR call made by a session of the CI role, as EventBridge delivers it. */
function call(eventName: string, requestParameters: Record<string, unknown>, eventID = `ev-${eventName}`) {
  return cloudTrailEnvelope({
    eventVersion: '1.08',
    userIdentity: {
      type: 'AssumedRole',
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/ci-cleanup/session-1`,
      accountId: ACCOUNT,
      sessionContext: { sessionIssuer: { type: 'Role', arn: CI_ROLE, accountId: ACCOUNT } },
    },
    eventTime: '2026-06-01T12:00:02Z',
    eventSource: 'ecr.amazonaws.com',
    eventName,
    awsRegion: REGION,
    sourceIPAddress: '198.51.100.7',
    userAgent: 'aws-cli/2.17.0',
    requestParameters,
    responseElements: null,
    eventID,
    readOnly: false,
    eventType: 'AwsApiCall',
    recipientAccountId: ACCOUNT,
  });
}

const policy = (statements: unknown[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const opOf = (event: unknown) => operationOf(parseEvent(event))!;
const config = testConfig();
const trust = trustOf(config, ACCOUNT, { rolePrefix: STEWARD_PREFIX });

describe('operationOf', () => {
  it('records who, from where, with what and the policy grantees when a repository policy is set', () => {
    // Prepare
    const event = call('SetRepositoryPolicy', {
      repositoryName: REPO,
      policyText: policy([
        {
          Sid: 'pull',
          Effect: 'Allow',
          Principal: '*',
          Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        },
        { Effect: 'Deny', Principal: { AWS: `arn:aws:iam::${OUTSIDER}:root` }, Action: 'ecr:*' },
      ]),
    });

    // Act
    const op = opOf(event);

    // Assess
    expect(op).toEqual({
      eventId: 'ev-SetRepositoryPolicy',
      operation: 'SetRepositoryPolicy',
      registryId: ACCOUNT,
      region: REGION,
      repository: REPO,
      principal: CI_ROLE,
      callerArn: `arn:aws:sts::${ACCOUNT}:assumed-role/ci-cleanup/session-1`,
      sourceIPAddress: '198.51.100.7',
      userAgent: 'aws-cli/2.17.0',
      errorCode: undefined,
      parameters: { grantees: ['*'], actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'] },
      at: '2026-06-01T12:00:02.000Z',
    });
  });

  it.each([
    [
      'PutImageTagMutability',
      { repositoryName: REPO, imageTagMutability: 'MUTABLE' },
      { imageTagMutability: 'MUTABLE' },
    ],
    [
      'PutImageScanningConfiguration',
      { repositoryName: REPO, imageScanningConfiguration: { scanOnPush: false } },
      { scanOnPush: false },
    ],
    [
      'PutLifecyclePolicy',
      {
        repositoryName: REPO,
        lifecyclePolicyText: JSON.stringify({
          rules: [{ rulePriority: 1, selection: { tagStatus: 'any' }, action: { type: 'expire' } }],
        }),
      },
      { lifecycleRules: ['1:expire'] },
    ],
    [
      'TagResource',
      {
        resourceArn: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${REPO}`,
        tags: [{ Key: 'team', Value: 'a' }],
      },
      { tags: { team: 'a' } },
    ],
    [
      'UntagResource',
      { resourceArn: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${REPO}`, tagKeys: ['team'] },
      { tagKeys: ['team'] },
    ],
    ['DeleteRepository', { repositoryName: REPO, force: true }, { force: true }],
  ] as const)('summarizes the parameters that matter when %s is called', (name, request, parameters) => {
    // Prepare
    const event = call(name, request);

    // Act
    const op = opOf(event);

    // Assess
    expect(op.repository).toBe(REPO);
    expect(op.parameters).toEqual(parameters);
  });

  it('gives registry-wide operations no repository and lists replication destinations', () => {
    // Prepare
    const event = call('PutReplicationConfiguration', {
      replicationConfiguration: {
        rules: [
          {
            destinations: [
              { region: 'us-east-1', registryId: OUTSIDER },
              { region: 'eu-west-1', registryId: ACCOUNT },
            ],
          },
        ],
      },
    });

    // Act
    const op = opOf(event);

    // Assess
    expect(op.repository).toBeUndefined();
    expect(op.parameters).toEqual({ destinations: [`${ACCOUNT}/eu-west-1`, `${OUTSIDER}/us-east-1`] });
  });

  it('records a push as PutImage, and nothing for a delete signal or a delete call', () => {
    // Prepare
    const digest = digestOf('pushed');

    // Act
    const push = opOf(imageActionEvent({ id: 'push-1', digest, tag: 'v1', actionType: 'PUSH' }));
    const del = operationOf(parseEvent(imageActionEvent({ id: 'del-1', digest })));
    const batch = operationOf(parseEvent(call('BatchDeleteImage', { repositoryName: REPO })));

    // Assess
    expect(push).toMatchObject({
      operation: 'PutImage',
      repository: REPO,
      parameters: { digest, tag: 'v1' },
    });
    expect(del).toBeUndefined();
    expect(batch).toBeUndefined();
  });
});

describe('policySummary', () => {
  it('sets a * principal narrowed by aws:PrincipalOrgID apart from an open grant', () => {
    // Prepare
    const text = policy([
      {
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 'ecr:BatchGetImage',
        Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } },
      },
      { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'ecr:BatchGetImage' },
    ]);

    // Act
    const summary = policySummary(text);

    // Assess
    expect(summary).toEqual({
      grantees: ['service:lambda.amazonaws.com'],
      actions: ['ecr:BatchGetImage'],
      conditioned: ['* when aws:PrincipalOrgID=o-a1b2c3d4e5'],
    });
  });
});

describe('findingsOf', () => {
  it.each([
    [
      'a repository policy grants everyone',
      call('SetRepositoryPolicy', {
        repositoryName: REPO,
        policyText: policy([{ Effect: 'Allow', Principal: '*', Action: 'ecr:*' }]),
      }),
      [`repository ${REPO} policy grants access to everyone (*)`],
    ],
    [
      'the registry policy grants an outside account',
      call('PutRegistryPolicy', {
        policyText: policy([
          {
            Effect: 'Allow',
            Principal: { AWS: `arn:aws:iam::${OUTSIDER}:root` },
            Action: 'ecr:ReplicateImage',
          },
        ]),
      }),
      ['the registry policy grants access to an account outside the organization'],
    ],
    [
      'tag immutability is turned off on a managed repository',
      call('PutImageTagMutability', { repositoryName: REPO, imageTagMutability: 'MUTABLE' }),
      [`tag immutability turned off on repository ${REPO}`],
    ],
    [
      'a managed repository is deleted',
      call('DeleteRepository', { repositoryName: REPO, force: true }),
      [`managed repository ${REPO} deleted`],
    ],
    [
      'a lifecycle policy is deleted on a managed repository by a person',
      call('DeleteLifecyclePolicy', { repositoryName: REPO }),
      [`lifecycle policy deleted on managed repository ${REPO}`],
    ],
  ])('raises one finding when %s', (_what, event, titles) => {
    // Prepare
    const op = opOf(event);

    // Act
    const findings = findingsOf(op, config, trust);

    // Assess
    expect(findings.map((f) => f.title)).toEqual(titles);
  });

  it.each([
    [
      'a policy grants only this account',
      call('SetRepositoryPolicy', {
        repositoryName: REPO,
        policyText: policy([
          { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'ecr:*' },
        ]),
      }),
    ],
    ['an unmanaged repository is deleted', call('DeleteRepository', { repositoryName: 'scratch/tmp' })],
    [
      'tag immutability is turned on',
      call('PutImageTagMutability', { repositoryName: REPO, imageTagMutability: 'IMMUTABLE' }),
    ],
    [
      'a tag is added',
      call('TagResource', { resourceArn: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${REPO}`, tags: [] }),
    ],
  ])('raises nothing when %s', (_what, event) => {
    // Prepare
    const op = opOf(event);

    // Act
    const findings = findingsOf(op, config, trust);

    // Assess
    expect(findings).toEqual([]);
  });

  it('raises nothing when the stack itself changes a lifecycle policy, or when the call failed', () => {
    // Prepare
    const own: Operation = {
      ...opOf(call('PutLifecyclePolicy', { repositoryName: REPO })),
      principal: `arn:aws:iam::${ACCOUNT}:role/${STEWARD_PREFIX}CleanupWorkerRole-1A2B`,
    };
    const refused: Operation = {
      ...opOf(call('DeleteRepository', { repositoryName: REPO })),
      errorCode: 'AccessDenied',
    };

    // Act
    const findings = [...findingsOf(own, config, trust), ...findingsOf(refused, config, trust)];

    // Assess
    expect(findings).toEqual([]);
  });

  it('names the principal, source IP, user agent, repository and what changed in the alert', () => {
    // Prepare
    const op = opOf(
      call('SetRepositoryPolicy', {
        repositoryName: REPO,
        policyText: policy([{ Effect: 'Allow', Principal: '*', Action: 'ecr:BatchGetImage' }]),
      }),
    );

    // Act
    const [subject, message] = describeFindings(op, findingsOf(op, config, trust));

    // Assess
    expect(subject).toBe(`ECR Steward security: repository ${REPO} policy grants access to everyone (*)`);
    expect(message.split('\n').slice(2, 9)).toEqual([
      'Operation:  SetRepositoryPolicy',
      `Repository: ${REPO}`,
      `Registry:   ${ACCOUNT} ${REGION}`,
      `Principal:  ${CI_ROLE} (session arn:aws:sts::${ACCOUNT}:assumed-role/ci-cleanup/session-1)`,
      'Source IP:  198.51.100.7',
      'User agent: aws-cli/2.17.0',
      'When:       2026-06-01T12:00:02.000Z',
    ]);
  });
});

describe('OperationStore', () => {
  let db: Dynamo;
  let tables: Tables;
  beforeAll(async () => {
    db = await startDynamo();
  });
  afterAll(async () => {
    await db.close();
  });
  beforeEach(async () => {
    tables = await db.createTables('ops');
  });
  const NOW = new Date('2026-06-01T13:00:00.000Z');

  it('writes one record per event with its retention, and changes nothing when the event is redelivered', async () => {
    // Prepare
    const store = new OperationStore(db.doc, tables.audit, { ttlDays: 400, now: () => NOW });
    const op = opOf(call('DeleteRepository', { repositoryName: REPO }));

    // Act
    const first = await store.record(op);
    const again = await store.record({ ...op, userAgent: 'changed' });

    // Assess
    expect(first.created).toBe(true);
    expect(again).toEqual({ record: first.record, created: false });
    expect(await db.scan(tables.audit)).toEqual([first.record]);
    expect(first.record).toMatchObject({
      pk: 'OP#ev-DeleteRepository',
      sk: 'OPERATION',
      kind: 'operation',
      ttl: Math.floor(NOW.getTime() / 1000) + 400 * 86_400,
    });
  });

  it('lists operations by repository, by principal and by day, and the deletion queries never see them', async () => {
    // Prepare
    const store = new OperationStore(db.doc, tables.audit, { now: () => NOW });
    const other = 'services/billing';
    await store.record(
      opOf(call('PutImageTagMutability', { repositoryName: REPO, imageTagMutability: 'MUTABLE' }, 'a')),
    );
    await store.record(opOf(call('DeleteLifecyclePolicy', { repositoryName: other }, 'b')));
    await store.record({
      ...opOf(call('PutRegistryPolicy', { policyText: '{}' }, 'c')),
      principal: 'arn:aws:iam::123456789012:user/bob',
    });
    const deletions = new AuditStore(db.doc, tables.audit, { now: () => NOW });
    const since = '2026-06-01T00:00:00.000Z';

    // Act
    const byRepository = await store.list({ registryId: ACCOUNT, region: REGION, repository: REPO, since });
    const byPrincipal = await store.list({ registryId: ACCOUNT, region: REGION, principal: CI_ROLE, since });
    const byBoth = await store.list({
      registryId: ACCOUNT,
      region: REGION,
      principal: CI_ROLE,
      repository: other,
      since,
    });
    const all = await store.list({ registryId: ACCOUNT, region: REGION, since });

    // Assess
    expect(byRepository.map((r) => r.eventId)).toEqual(['a']);
    expect(byPrincipal.map((r) => r.eventId).sort()).toEqual(['a', 'b']);
    expect(byBoth.map((r) => r.eventId)).toEqual(['b']);
    expect(all.map((r) => r.eventId).sort()).toEqual(['a', 'b', 'c']);
    expect(await deletions.recent(since)).toEqual([]);
    expect(
      await deletions.byRepository({ registryId: ACCOUNT, region: REGION, repository: REPO }, since),
    ).toEqual([]);
  });
});
