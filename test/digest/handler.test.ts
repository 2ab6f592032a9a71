/**
 * The digest handler with every AWS client mocked at the SDK boundary (aws-sdk-client-mock): the event the
 * schedule sends, the ports built from the environment, plans made read-only (no write to ECR or the audit
 * table), the two topics published to, and a malformed event refused.
 */
import {
  BatchDeleteImageCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  type ImageDetail,
  UpdateImageStorageClassCommand,
} from '@aws-sdk/client-ecr';
import { ECSClient, ListClustersCommand, ListTaskDefinitionFamiliesCommand } from '@aws-sdk/client-ecs';
import { LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../functions/digest/handler.js';
import { parseDigestEvent, weekEnd } from '../../functions/digest/schema.js';
import type { StewardConfigInput } from '../../functions/shared/config/schema.js';
import { resetConfigCache } from '../../functions/shared/runtime/config.js';
import { digestOf, keepNewest } from '../fixtures/images.js';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.AWS_REGION = 'us-west-2';
});

const ACCOUNT = '123456789012';
const TABLES = { audit: 'Audit', state: 'State', holds: 'Holds', verdict: 'Verdicts' };
const NOTICES = `arn:aws:sns:us-west-2:${ACCOUNT}:Notices`;
const ALERTS = `arn:aws:sns:us-west-2:${ACCOUNT}:Alerts`;
const CONTEXT = { invokedFunctionArn: `arn:aws:lambda:us-west-2:${ACCOUNT}:function:EcrSteward-Digest` };
const NOW = new Date('2026-12-07T08:00:03.000Z');

const ecr = mockClient(ECRClient);
const ecs = mockClient(ECSClient);
const lambda = mockClient(LambdaClient);
const sns = mockClient(SNSClient);
const ddb = mockClient(DynamoDBDocumentClient);

const config: StewardConfigInput = {
  mode: 'enforce',
  selections: [{ name: 'services', repositories: ['services/*'], lifecyclePolicy: keepNewest(1) }],
};

beforeEach(() => {
  vi.useFakeTimers({ now: NOW, toFake: ['Date'] });
  vi.stubEnv('STEWARD_CONFIG_JSON', JSON.stringify(config));
  vi.stubEnv('AUDIT_TABLE_NAME', TABLES.audit);
  vi.stubEnv('STATE_TABLE_NAME', TABLES.state);
  vi.stubEnv('HOLDS_TABLE_NAME', TABLES.holds);
  vi.stubEnv('VERDICT_TABLE_NAME', TABLES.verdict);
  vi.stubEnv('NOTICES_TOPIC_ARN', NOTICES);
  vi.stubEnv('ALERTS_TOPIC_ARN', ALERTS);
  resetConfigCache();
  const repo = (name: string) => ({
    repositoryName: name,
    repositoryArn: `arn:aws:ecr:us-west-2:${ACCOUNT}:repository/${name}`,
    registryId: ACCOUNT,
  });
  ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repo('services/api'), repo('tools/ci')] });
  const detail = (tag: string, daysAgo: number): ImageDetail => ({
    imageDigest: digestOf(`services/api:${tag}`),
    imageTags: [tag],
    imageSizeInBytes: 1024,
    imagePushedAt: new Date(NOW.getTime() - daysAgo * 86_400_000),
  });
  ecr
    .on(DescribeImagesCommand, { repositoryName: 'services/api' })
    .resolves({ imageDetails: [detail('new', 1), detail('old', 10), detail('older', 20)] });
  ecs.on(ListClustersCommand).resolves({ clusterArns: [] });
  ecs.on(ListTaskDefinitionFamiliesCommand).resolves({ families: [] });
  lambda.on(ListFunctionsCommand).resolves({ Functions: [] });
  ddb.on(GetCommand).resolves({});
  ddb.on(PutCommand).resolves({});
  ddb.on(UpdateCommand).resolves({});
  ddb.on(QueryCommand).resolves({ Items: [] });
  ddb.on(ScanCommand).resolves({ Items: [] });
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
});

afterEach(() => {
  for (const mock of [ecr, ecs, lambda, sns, ddb]) mock.reset();
  vi.unstubAllEnvs();
  vi.useRealTimers();
  resetConfigCache();
});

describe('handler', () => {
  it('publishes the selection digest on the notices topic and the registry digest on the alerts topic when scheduled', async () => {
    // Act
    const report = await handler({ kind: 'digest', scheduledTime: '2026-12-07T08:00:00Z' }, CONTEXT);

    // Assess
    const published = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(
      published.map((p) => [p.TopicArn, p.Subject, p.MessageAttributes?.selection?.StringValue]),
    ).toEqual([
      [
        NOTICES,
        'ECR Steward weekly digest (services): 0 images deleted, 0 B reclaimed (week of 2026-11-30)',
        'services',
      ],
      [ALERTS, 'ECR Steward weekly digest: 0 images deleted, 0 B reclaimed (week of 2026-11-30)', undefined],
    ]);
    expect(published[0]?.Message).toContain(
      [
        'Most to reclaim (the lifecycle plan as of 2026-12-07 08:00, read-only)',
        '  In all: 2.00 KiB in 2 images of 1 repository',
        '  1. services/api  2.00 KiB in 2 images',
      ].join('\n'),
    );
    expect(published[0]?.Message).toContain(`Registry:  ${ACCOUNT} (us-west-2)`);
    expect(report.window.end).toEqual(new Date('2026-12-07T08:00:00.000Z'));
    expect(report.managed).toBe(1);
  });

  it('plans read-only when it computes what to reclaim: no delete, no archive, no audit record', async () => {
    // Act
    await handler({ kind: 'digest', scheduledTime: '2026-12-07T08:00:00Z' }, CONTEXT);

    // Assess
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toEqual([]);
    expect(ecr.commandCalls(UpdateImageStorageClassCommand)).toEqual([]);
    const writes = [...ddb.commandCalls(PutCommand), ...ddb.commandCalls(UpdateCommand)].map(
      (c) => c.args[0].input.TableName,
    );
    expect(new Set(writes)).toEqual(new Set([TABLES.state]));
    const reads = ddb
      .commandCalls(QueryCommand)
      .map((c) => [c.args[0].input.TableName, c.args[0].input.IndexName]);
    expect(new Set(reads.map(String))).toEqual(new Set([`${TABLES.audit},byDay`]));
    expect(
      ddb
        .commandCalls(ScanCommand)
        .map((c) => c.args[0].input.TableName)
        .sort(),
    ).toEqual([TABLES.holds, TABLES.verdict]);
  });

  it('keys the week on the minute of now when the local cloud delivers the scheduled-time placeholder', async () => {
    // Act
    const report = await handler(
      { kind: 'digest', scheduledTime: '<aws.scheduler.scheduled-time>' },
      CONTEXT,
    );

    // Assess
    expect(report.window.end).toEqual(new Date('2026-12-07T08:00:00.000Z'));
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input.Key).toEqual({
      pk: 'DIGEST#2026-12-07T08:00:00.000Z',
      sk: 'RUN',
    });
  });

  it('throws naming the problem when the event is not a digest event', async () => {
    // Act / Assess
    await expect(handler({ kind: 'sweep' }, CONTEXT)).rejects.toThrow(
      'malformed digest event: kind: Invalid input: expected "digest"',
    );
    expect(sns.commandCalls(PublishCommand)).toEqual([]);
  });
});

describe('parseDigestEvent', () => {
  it.each([
    ['no scheduled time', { kind: 'digest' }],
    ['an ISO time', { kind: 'digest', scheduledTime: '2026-12-07T08:00:00Z' }],
    ['the placeholder', { kind: 'digest', scheduledTime: '<aws.scheduler.scheduled-time>' }],
  ])('accepts an event with %s', (_, event) => {
    // Act / Assess
    expect(parseDigestEvent(event)).toEqual(event);
  });

  it('refuses a scheduled time that is not a time', () => {
    // Act / Assess
    expect(() => parseDigestEvent({ kind: 'digest', scheduledTime: 'monday' })).toThrow(
      'malformed digest event: scheduledTime: an ISO-8601 time (EventBridge Scheduler fills <aws.scheduler.scheduled-time>)',
    );
  });
});

describe('weekEnd', () => {
  it('returns the scheduled time when the event gives one, else now to the minute', () => {
    // Act / Assess
    expect(weekEnd({ kind: 'digest', scheduledTime: '2026-12-07T08:00:00Z' }, NOW)).toEqual(
      new Date('2026-12-07T08:00:00.000Z'),
    );
    expect(weekEnd({ kind: 'digest' }, NOW)).toEqual(new Date('2026-12-07T08:00:00.000Z'));
  });
});
