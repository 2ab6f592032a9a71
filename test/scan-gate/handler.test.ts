/**
 * The scan gate handler with every AWS client mocked at the SDK boundary (aws-sdk-client-mock), driven by AWS's
 * published scan events. A malformed event, or one the gate cannot place, throws: EventBridge invokes the function
 * asynchronously, so Lambda retries it and then sends it to the dead-letter queue.
 */
import {
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import { ECSClient, ListClustersCommand, ListTaskDefinitionFamiliesCommand } from '@aws-sdk/client-ecs';
import { LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../functions/scan-gate/handler.js';
import type { StewardConfigInput } from '../../functions/shared/config/schema.js';
import { resetConfigCache } from '../../functions/shared/runtime/config.js';
import { awsError, type EventJson, loadEvent } from '../fixtures/events.js';

vi.hoisted(() => {
  // Read when the handler module loads: quiet logs, no EMF output, a region for the clients.
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.AWS_REGION = 'us-east-1';
});

const ACCOUNT = '123456789012';
const VERDICT_TABLE = 'EcrSteward-Verdicts';
const TOPIC = `arn:aws:sns:us-east-1:${ACCOUNT}:EcrSteward-Security`;
const SCAN = 'eventbridge/ecr-image-scan-complete.json';
const SCAN_REPO = 'my-repository-name';
const SCAN_DIGEST = 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234';

const ecr = mockClient(ECRClient);
const sns = mockClient(SNSClient);
const ddb = mockClient(DynamoDBDocumentClient);
const ecs = mockClient(ECSClient);
const lambda = mockClient(LambdaClient);

function useConfig(
  gate: StewardConfigInput['gate'] = {},
  extra: Partial<Pick<StewardConfigInput, 'mode' | 'bounds' | 'selections'>> = {},
): void {
  const config: StewardConfigInput = {
    selections: [{ repositories: ['services/*'], lifecyclePolicy: 'fromRepository' }],
    ...extra,
    gate,
  };
  vi.stubEnv('STEWARD_CONFIG_JSON', JSON.stringify(config));
  resetConfigCache();
}

/** ECR as it answers for one image with these scan findings (a finished basic scan, with its own counts). */
function registry(
  repository: string,
  digest: string,
  findings: { name: string; severity: string }[],
  tags: string[] = ['v1'],
): void {
  const findingSeverityCounts: Record<string, number> = {};
  for (const f of findings) findingSeverityCounts[f.severity] = (findingSeverityCounts[f.severity] ?? 0) + 1;
  ecr.on(DescribeImagesCommand, { repositoryName: repository }).resolves({
    imageDetails: [{ imageDigest: digest, imageTags: tags, imagePushedAt: new Date('2026-01-01T00:00:00Z') }],
  });
  ecr.on(DescribeRepositoriesCommand, { repositoryNames: [repository] }).resolves({
    repositories: [
      {
        repositoryName: repository,
        repositoryArn: `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/${repository}`,
        registryId: ACCOUNT,
        imageTagMutability: 'MUTABLE',
      },
    ],
  });
  ecr.on(DescribeImageScanFindingsCommand, { repositoryName: repository }).resolves({
    imageScanStatus: { status: 'COMPLETE' },
    imageScanFindings: {
      imageScanCompletedAt: new Date('2026-01-01T00:05:00Z'),
      findingSeverityCounts,
      findings: findings as never,
    },
  });
}

const awsCalls = () =>
  ecr.calls().length + sns.calls().length + ddb.calls().length + ecs.calls().length + lambda.calls().length;

beforeEach(() => {
  vi.stubEnv('VERDICT_TABLE_NAME', VERDICT_TABLE);
  vi.stubEnv('AUDIT_TABLE_NAME', 'EcrSteward-Audit');
  vi.stubEnv('STATE_TABLE_NAME', 'EcrSteward-State');
  vi.stubEnv('SECURITY_TOPIC_ARN', TOPIC);
  useConfig();
  ddb.on(GetCommand).resolves({});
  ddb.on(PutCommand).resolves({});
  sns.on(PublishCommand).resolves({ MessageId: 'message-1' });
});

afterEach(() => {
  ecr.reset();
  sns.reset();
  ddb.reset();
  ecs.reset();
  lambda.reset();
  vi.unstubAllEnvs();
  resetConfigCache();
});

describe('scan gate handler: malformed events', () => {
  it('throws a clear error naming the missing field, before any AWS call', async () => {
    // Prepare
    const event = loadEvent(SCAN);
    delete event.detail['image-digest'];

    // Act / Assess
    await expect(handler(event)).rejects.toThrow(/^malformed scan event: detail\.image-digest: /);
    expect(awsCalls()).toBe(0);
  });

  it('throws for an event of another detail-type, naming the field and the accepted values', async () => {
    // Act / Assess
    await expect(handler(loadEvent('ecr-image-action-push.json'))).rejects.toThrow(
      /^malformed scan event: detail-type: .*ECR Image Scan/,
    );
  });

  it('throws for something that is not an event at all', async () => {
    await expect(handler('not an event')).rejects.toThrow(/^malformed scan event: \(root\): /);
    await expect(handler(null)).rejects.toThrow(/^malformed scan event/);
  });

  it('throws for an Inspector finding about something other than an ECR image', async () => {
    // Act / Assess
    await expect(handler(loadEvent('eventbridge/inspector2-finding-ec2-2024.json'))).rejects.toThrow(
      'Inspector2 Finding without an ECR container image resource',
    );
    expect(awsCalls()).toBe(0);
  });
});

describe('scan gate handler: judging', () => {
  it('judges the image of an ECR Image Scan event, notifies the security topic and records the verdict', async () => {
    // Prepare
    registry(SCAN_REPO, SCAN_DIGEST, [{ name: 'CVE-2024-3094', severity: 'CRITICAL' }]);

    // Act
    const outcome = await handler(loadEvent(SCAN));

    // Assess
    expect(outcome).toMatchObject({
      verdict: 'FAIL',
      image: { registryId: ACCOUNT, region: 'us-east-1', repository: SCAN_REPO, digest: SCAN_DIGEST },
      actions: ['notified'],
    });
    const [publish] = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(publish).toMatchObject({
      TopicArn: TOPIC,
      Subject: `ECR Steward: ${SCAN_REPO} image fails the scan gate`,
    });
    expect(publish?.Message).toContain('CVE-2024-3094');
    const puts = ddb.commandCalls(PutCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => [p.TableName, p.Item?.sk])).toEqual([
      [VERDICT_TABLE, `AT#${puts[0]?.Item?.at}#85fc3613-e913-7fc4-a80c-a3753e4aa9ae`],
      [VERDICT_TABLE, 'LATEST'],
    ]);
    expect(puts[1]?.Item).toMatchObject({
      pk: `IMG#${ACCOUNT}#us-east-1#${SCAN_REPO}#${SCAN_DIGEST}`,
      verdict: 'FAIL',
      trigger: 'ecr-scan',
      counts: { CRITICAL: 1 },
    });
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toMatchObject({
      TableName: VERDICT_TABLE,
      Key: { pk: `IMG#${ACCOUNT}#us-east-1#${SCAN_REPO}#${SCAN_DIGEST}`, sk: 'LATEST' },
      ConsistentRead: true,
    });
  });

  it('reads the repository by name when an Inspector2 Scan names it by ARN', async () => {
    // Prepare
    const event = loadEvent('eventbridge/inspector2-scan.json');
    const digest = event.detail['image-digest'] as string;
    registry('amazon/amazon-ecs-sample', digest, []);

    // Act
    const outcome = await handler(event);

    // Assess
    expect(outcome).toMatchObject({ verdict: 'PASS', actions: [] });
    expect(ecr.commandCalls(DescribeImageScanFindingsCommand)[0]?.args[0].input).toMatchObject({
      repositoryName: 'amazon/amazon-ecs-sample',
      imageId: { imageDigest: digest },
    });
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });

  it('judges the image an Inspector2 Finding is about', async () => {
    // Prepare
    const event = loadEvent('eventbridge/inspector2-finding-ecr-2024.json');
    registry('inspector2', event.detail.resources[0].details.awsEcrContainerImage.imageHash, [
      { name: 'CVE-2024-6119', severity: 'MEDIUM' },
    ]);

    // Act
    const outcome = await handler(event);

    // Assess
    expect(outcome).toMatchObject({
      verdict: 'PASS',
      image: { repository: 'inspector2', trigger: 'inspector-finding' },
    });
  });

  it('keeps the quarantine in the verdict record only, with no ECR write, in a repository no selection manages', async () => {
    // Prepare
    useConfig({ onFail: { notify: false, quarantine: { enabled: true } } });
    registry(SCAN_REPO, SCAN_DIGEST, [{ name: 'CVE-2024-3094', severity: 'CRITICAL' }]);

    // Act
    const outcome = await handler(loadEvent(SCAN));

    // Assess
    expect(outcome).toMatchObject({
      verdict: 'FAIL',
      actions: [
        `not tagged: ${SCAN_REPO} is not managed by any selection, so the quarantine is kept in the verdict record only`,
      ],
    });
    expect(ecr.commandCalls(PutImageCommand)).toEqual([]);
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toEqual([]);
  });

  it('quarantines a failing image when the config says so', async () => {
    // Prepare
    useConfig(
      { onFail: { notify: false, quarantine: { enabled: true } } },
      { selections: [{ repositories: [SCAN_REPO], lifecyclePolicy: 'fromRepository' }] },
    );
    registry(SCAN_REPO, SCAN_DIGEST, [{ name: 'CVE-2024-3094', severity: 'CRITICAL' }]);
    ecr.on(BatchGetImageCommand).resolves({
      images: [{ imageId: { imageDigest: SCAN_DIGEST }, imageManifest: '{"schemaVersion":2}' }],
    });
    ecr.on(PutImageCommand).resolves({});

    // Act
    const outcome = await handler(loadEvent(SCAN));

    // Assess
    expect(outcome).toMatchObject({
      verdict: 'FAIL',
      actions: ['quarantined with tag quarantined-7f5b2640fe6f'],
    });
    expect(ecr.commandCalls(PutImageCommand)[0]?.args[0].input).toMatchObject({
      repositoryName: SCAN_REPO,
      imageTag: 'quarantined-7f5b2640fe6f',
      imageDigest: SCAN_DIGEST,
    });
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });

  it.each([
    ['an EC2 instance', 'eventbridge/inspector2-scan-ec2-2023.json'],
    ['a Lambda function', 'eventbridge/inspector2-scan-lambda-2023.json'],
  ])(
    'ignores the Inspector2 Scan of %s (the rule lets every Inspector2 Scan through), rather than dead-lettering it',
    async (_what, file) => {
      // Act
      const outcome = await handler(loadEvent(file));

      // Assess
      expect(outcome).toEqual({ ignored: 'an Inspector2 Scan of a resource that is not an ECR image' });
      expect(awsCalls()).toBe(0);
    },
  );

  it('still throws for an ECR Inspector2 Scan that lacks its image digest', async () => {
    // Prepare
    const event = loadEvent('eventbridge/inspector2-scan-ecr-2023.json');
    delete event.detail['image-digest'];

    // Act / Assess
    await expect(handler(event)).rejects.toThrow(/^malformed scan event: detail\.image-digest: /);
  });

  it('ignores events when the gate is disabled in the config', async () => {
    // Prepare
    useConfig({ enabled: false });

    // Act / Assess
    expect(await handler(loadEvent(SCAN))).toEqual({ ignored: 'the scan gate is disabled in the config' });
    expect(awsCalls()).toBe(0);
  });
});

describe('scan gate handler: failures are rethrown so Lambda retries', () => {
  it('rethrows a DynamoDB failure', async () => {
    // Prepare
    registry(SCAN_REPO, SCAN_DIGEST, []);
    ddb.on(PutCommand).rejects(awsError('ProvisionedThroughputExceededException', 'throughput exceeded'));

    // Act / Assess
    await expect(handler(loadEvent(SCAN))).rejects.toThrow('throughput exceeded');
  });

  it('rethrows an ECR failure', async () => {
    // Prepare
    ecr.on(DescribeImagesCommand).rejects(awsError('ServerException', 'internal error', 'server'));

    // Act / Assess
    await expect(handler(loadEvent(SCAN))).rejects.toThrow('internal error');
  });

  it('names a missing environment variable', async () => {
    // Prepare
    vi.stubEnv('VERDICT_TABLE_NAME', '');

    // Act / Assess
    await expect(handler(loadEvent(SCAN))).rejects.toThrow(
      'environment variable VERDICT_TABLE_NAME is not set',
    );
  });

  it('says when there is no config', async () => {
    // Prepare
    vi.stubEnv('STEWARD_CONFIG_JSON', '');
    resetConfigCache();

    // Act / Assess
    await expect(handler(loadEvent(SCAN))).rejects.toThrow(/no config/);
  });

  it('does not swallow an event it parsed but could not judge: the verdict is not recorded', async () => {
    // Prepare
    registry(SCAN_REPO, SCAN_DIGEST, [{ name: 'CVE-2024-3094', severity: 'CRITICAL' }]);
    sns.on(PublishCommand).rejects(awsError('KMSThrottlingException', 'kms throttled'));
    const event: EventJson = loadEvent(SCAN);

    // Act / Assess: a retry sees no recorded FAIL, so it notifies again instead of going quiet.
    await expect(handler(event)).rejects.toThrow('kms throttled');
    expect(ddb.commandCalls(PutCommand)).toHaveLength(0);
  });
});

describe('scan gate handler: the scheduled quarantine expiry', () => {
  const NOW = new Date('2026-06-01T12:00:00.000Z');
  /** NOW minus expireAfterDays (7). */
  const CUTOFF = '2026-05-25T12:00:00.000Z';
  const REPO = 'services/orders';
  const DIGEST = `sha256:${'c'.repeat(64)}`;
  const TAG = 'quarantined-cccccccccccc';
  const PK = `IMG#${ACCOUNT}#us-east-1#${REPO}#${DIGEST}`;
  const EXPIRY = { kind: 'quarantine-expiry' } as const;
  const EXPIRING = { onFail: { quarantine: { enabled: true, expireAfterDays: 7 } } } as const;

  /** The LATEST verdict of an image quarantined 8 days before NOW, still failing on CVE-2024-3094. */
  const quarantinedRecord = (digest = DIGEST) => ({
    pk: `IMG#${ACCOUNT}#us-east-1#${REPO}#${digest}`,
    sk: 'LATEST',
    qpk: 'QUARANTINED',
    registryId: ACCOUNT,
    region: 'us-east-1',
    repository: REPO,
    digest,
    tags: ['v1', TAG],
    verdict: 'FAIL',
    summary: 'FAIL: 1 CRITICAL finding (at most 0 allowed)',
    reasons: ['1 CRITICAL finding (at most 0 allowed)'],
    counts: { CRITICAL: 1 },
    blocking: [{ id: 'CVE-2024-3094', severity: 'CRITICAL' }],
    policyHash: '0123456789abcdef',
    at: '2026-05-31T12:00:00.000Z',
    trigger: 'ecr-scan',
    eventId: 'event-1',
    actions: [],
    quarantineTag: TAG,
    quarantinedAt: '2026-05-24T12:00:00.000Z',
  });

  /** Every DynamoDB put and ECR delete, in order: `put:<table>:<status or sk>`, `delete:<digests>`. */
  let journal: string[];

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
    journal = [];
    const record = quarantinedRecord();
    ddb.on(QueryCommand, { IndexName: 'byQuarantine' }).resolves({ Items: [record] });
    ddb.on(GetCommand, { TableName: VERDICT_TABLE }).resolves({ Item: record });
    ddb.on(PutCommand).callsFake((input) => {
      journal.push(`put:${input.TableName}:${input.Item?.status ?? input.Item?.sk}`);
      return {};
    });
    // No open breaker, nothing in use.
    ddb.on(BatchGetCommand).resolves({ Responses: { 'EcrSteward-State': [] } });
    ecs.on(ListClustersCommand).resolves({ clusterArns: [] });
    ecs.on(ListTaskDefinitionFamiliesCommand).resolves({ families: [] });
    lambda.on(ListFunctionsCommand).resolves({ Functions: [] });
    ecr.on(BatchDeleteImageCommand).callsFake((input) => {
      const ids = input.imageIds as { imageDigest: string }[];
      journal.push(`delete:${ids.map((i) => i.imageDigest).join(',')}`);
      return { imageIds: ids, failures: [] };
    });
    registry(REPO, DIGEST, [{ name: 'CVE-2024-3094', severity: 'CRITICAL' }], ['v1', TAG]);
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('in enforce mode, removes an image quarantined longer than expireAfterDays that still fails', async () => {
    // Prepare
    useConfig(EXPIRING, { mode: 'enforce' });

    // Act
    const report = await handler(EXPIRY);

    // Assess: the index is read up to the cutoff, one more than the batch (to tell whether more wait).
    expect(ddb.commandCalls(QueryCommand).map((c) => c.args[0].input)).toEqual([
      {
        TableName: VERDICT_TABLE,
        IndexName: 'byQuarantine',
        KeyConditionExpression: '#pk = :pk AND #sk <= :cutoff',
        ExpressionAttributeNames: { '#pk': 'qpk', '#sk': 'qdue' },
        ExpressionAttributeValues: { ':pk': 'QUARANTINED', ':cutoff': CUTOFF },
        Limit: 101,
        ExclusiveStartKey: undefined,
      },
    ]);
    expect(ecr.commandCalls(BatchDeleteImageCommand).map((c) => c.args[0].input)).toEqual([
      { repositoryName: REPO, imageIds: [{ imageDigest: DIGEST }] },
    ]);
    // Write-ahead audit record, delete, settled audit record, then the verdict (history, LATEST).
    expect(journal).toEqual([
      'put:EcrSteward-Audit:PENDING',
      `delete:${DIGEST}`,
      'put:EcrSteward-Audit:DELETED',
      `put:${VERDICT_TABLE}:AT#${NOW.toISOString()}#${(report as { runId: string }).runId}`,
      `put:${VERDICT_TABLE}:LATEST`,
    ]);
    const latest = ddb
      .commandCalls(PutCommand)
      .map((c) => c.args[0].input)
      .find((p) => p.Item?.sk === 'LATEST');
    expect(latest?.Item).toMatchObject({
      pk: PK,
      verdict: 'FAIL',
      trigger: 'quarantine-expiry',
      quarantineTag: undefined,
      quarantinedAt: undefined,
    });
    expect(latest?.Item).not.toHaveProperty('qpk');
    expect(sns.commandCalls(PublishCommand).map((c) => c.args[0].input.Subject)).toEqual([
      `ECR Steward: ${REPO} image removed after its quarantine expired`,
    ]);
    expect(report).toEqual({
      runId: expect.stringMatching(/^expiry-20260601T120000-[0-9a-f]{8}$/),
      mode: 'enforce',
      due: 1,
      removed: 1,
      planned: 0,
      released: 0,
      gone: 0,
      kept: [],
      failures: [],
      more: false,
    });
  });

  it('in dry-run mode (the default), removes nothing and records the removal as PLANNED', async () => {
    // Prepare
    useConfig(EXPIRING);

    // Act
    const report = await handler(EXPIRY);

    // Assess
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(0);
    expect(journal).toEqual([
      'put:EcrSteward-Audit:PLANNED',
      `put:${VERDICT_TABLE}:AT#${NOW.toISOString()}#${(report as { runId: string }).runId}`,
      `put:${VERDICT_TABLE}:LATEST`,
    ]);
    // Still quarantined, from the same time: the next run judges it again.
    const latest = ddb
      .commandCalls(PutCommand)
      .map((c) => c.args[0].input)
      .find((p) => p.Item?.sk === 'LATEST');
    expect(latest?.Item).toMatchObject({ quarantineTag: TAG, quarantinedAt: '2026-05-24T12:00:00.000Z' });
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
    expect(report).toMatchObject({ mode: 'dry-run', due: 1, removed: 0, planned: 1, kept: [], failures: [] });
  });

  it('judges at most bounds.maxDeletesPerRun images a run and says when more wait', async () => {
    // Prepare: two due images, a run may judge one.
    useConfig(EXPIRING, { mode: 'enforce', bounds: { maxDeletesPerRun: 1 } });
    ddb
      .on(QueryCommand, { IndexName: 'byQuarantine' })
      .resolves({ Items: [quarantinedRecord(), quarantinedRecord(`sha256:${'d'.repeat(64)}`)] });

    // Act
    const report = await handler(EXPIRY);

    // Assess
    expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input.Limit).toBe(2);
    expect(ecr.commandCalls(BatchDeleteImageCommand).map((c) => c.args[0].input.imageIds)).toEqual([
      [{ imageDigest: DIGEST }],
    ]);
    expect(report).toMatchObject({ due: 1, removed: 1, more: true });
  });

  it('removes nothing when bounds.maxDeletesPerRepository is 0, and keeps the image for a later run', async () => {
    // Prepare
    useConfig(EXPIRING, { mode: 'enforce', bounds: { maxDeletesPerRepository: 0 } });

    // Act
    const report = await handler(EXPIRY);

    // Assess
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(0);
    expect(journal.filter((j) => j.startsWith('put:EcrSteward-Audit'))).toEqual([]);
    expect(report).toMatchObject({
      due: 1,
      removed: 0,
      kept: [
        {
          repository: REPO,
          digest: DIGEST,
          verdict: 'FAIL',
          reason: 'not removed: over the bounds of this run (0): waits for the next run',
        },
      ],
    });
  });

  it('takes an image that is no longer in ECR out of the index, unless a newer verdict was written', async () => {
    // Prepare
    useConfig(EXPIRING, { mode: 'enforce' });
    ecr.on(DescribeImagesCommand).rejects(awsError('ImageNotFoundException', 'image not found'));
    ddb.on(UpdateCommand).resolves({});

    // Act
    const report = await handler(EXPIRY);

    // Assess
    expect(ddb.commandCalls(UpdateCommand).map((c) => c.args[0].input)).toEqual([
      {
        TableName: VERDICT_TABLE,
        Key: { pk: PK, sk: 'LATEST' },
        UpdateExpression: 'REMOVE #qpk, #qdue, quarantinedAt',
        ConditionExpression: 'attribute_exists(pk) AND #at = :at',
        ExpressionAttributeNames: { '#qpk': 'qpk', '#qdue': 'qdue', '#at': 'at' },
        ExpressionAttributeValues: { ':at': '2026-05-31T12:00:00.000Z' },
      },
    ]);
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(0);
    expect(journal).toEqual([]);
    expect(report).toMatchObject({ due: 1, gone: 1, removed: 0, failures: [] });
  });

  it('sends no query when the quarantine has no expiry, and reports nothing due', async () => {
    // Prepare
    useConfig({ onFail: { quarantine: { enabled: true } } }, { mode: 'enforce' });

    // Act
    const report = await handler(EXPIRY);

    // Assess
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(0);
    expect(awsCalls()).toBe(0);
    expect(report).toMatchObject({ mode: 'enforce', due: 0, removed: 0, planned: 0, more: false });
  });

  it('throws after the run when an image could not be judged, so the run is retried', async () => {
    // Prepare
    useConfig(EXPIRING, { mode: 'enforce' });
    ecr.on(DescribeImageScanFindingsCommand).rejects(awsError('ServerException', 'internal error', 'server'));

    // Act / Assess
    await expect(handler(EXPIRY)).rejects.toThrow(
      `quarantine expiry could not judge 1 image(s): ${REPO}@${DIGEST}: internal error`,
    );
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(0);
    expect(journal).toEqual([]);
  });

  it('does not take a message with another property for an expiry: it is a malformed scan event', async () => {
    // Prepare
    useConfig(EXPIRING, { mode: 'enforce' });

    // Act / Assess
    await expect(handler({ kind: 'quarantine-expiry', x: 1 })).rejects.toThrow(/^malformed scan event: /);
    expect(awsCalls()).toBe(0);
  });
});
