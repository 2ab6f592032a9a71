/**
 * The scan gate handler with every AWS client mocked at the SDK boundary (aws-sdk-client-mock), driven by AWS's
 * published scan events. A malformed event, or one the gate cannot place, throws: EventBridge invokes the function
 * asynchronously, so Lambda retries it and then sends it to the dead-letter queue.
 */
import {
  BatchGetImageCommand,
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  PutImageCommand,
} from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
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

function useConfig(gate: StewardConfigInput['gate'] = {}): void {
  const config: StewardConfigInput = {
    selections: [{ repositories: ['services/*'], lifecyclePolicy: 'fromRepository' }],
    gate,
  };
  vi.stubEnv('STEWARD_CONFIG_JSON', JSON.stringify(config));
  resetConfigCache();
}

/** ECR as it answers for one image with these scan findings. */
function registry(repository: string, digest: string, findings: { name: string; severity: string }[]): void {
  ecr.on(DescribeImagesCommand, { repositoryName: repository }).resolves({
    imageDetails: [
      { imageDigest: digest, imageTags: ['v1'], imagePushedAt: new Date('2026-01-01T00:00:00Z') },
    ],
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
    imageScanFindings: { findings: findings as never },
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

  it('quarantines a failing image when the config says so', async () => {
    // Prepare
    useConfig({ onFail: { notify: false, quarantine: { enabled: true } } });
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
