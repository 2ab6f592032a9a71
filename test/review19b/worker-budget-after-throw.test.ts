/**
 * Review 19b: the run budget (maxDeletesPerRun) across the repositories one worker invocation cleans at once.
 * withAllowance (functions/cleanup/core.ts) gave a deletion's whole allowance back when the deletion throws,
 * "as it recorded no spending" — but a deletion can throw after its delete call succeeded (its settle write
 * failed). A repository of the same batch that starts its deletion afterwards takes that allowance again, and
 * the invocation deleted more images than maxDeletesPerRun. A deletion that throws now keeps its allowance spent.
 */
import {
  BatchDeleteImageCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  type ImageDetail,
} from '@aws-sdk/client-ecr';
import { ECSClient, ListClustersCommand, ListTaskDefinitionFamiliesCommand } from '@aws-sdk/client-ecs';
import { LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { worker } from '../../functions/cleanup/handler.js';
import type { StewardConfigInput } from '../../functions/shared/config/schema.js';
import { resetConfigCache } from '../../functions/shared/runtime/config.js';
import { pushEvent, sqsEvent, sqsRecord } from '../fixtures/events.js';
import { digestOf, keepNewest } from '../fixtures/images.js';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.AWS_REGION = 'us-west-2';
});

const ACCOUNT = '123456789012';
const AUDIT_TABLE = 'EcrSteward-Audit';
const STATE_TABLE = 'EcrSteward-State';

const ecr = mockClient(ECRClient);
const ecs = mockClient(ECSClient);
const lambda = mockClient(LambdaClient);
const sqs = mockClient(SQSClient);
const ddb = mockClient(DynamoDBDocumentClient);

function useConfig(overrides: Partial<StewardConfigInput> = {}): void {
  const config: StewardConfigInput = {
    mode: 'enforce',
    selections: [
      { name: 'sample', repositories: ['services/*'], lifecyclePolicy: keepNewest(1), steward: {} },
    ],
    ...overrides,
  };
  vi.stubEnv('STEWARD_CONFIG_JSON', JSON.stringify(config));
  resetConfigCache();
}

/** Three images, the two older expire. `delayMs`: its listing answers that late. */
function repositoryWithImages(name: string, delayMs = 0): void {
  ecr.on(DescribeRepositoriesCommand, { repositoryNames: [name] }).resolves({
    repositories: [
      {
        repositoryName: name,
        repositoryArn: `arn:aws:ecr:us-west-2:${ACCOUNT}:repository/${name}`,
        registryId: ACCOUNT,
      },
    ],
  });
  const detail = (tag: string, daysAgo: number): ImageDetail => ({
    imageDigest: digestOf(`${name}:${tag}`),
    imageTags: [tag],
    imageSizeInBytes: 100,
    imagePushedAt: new Date(Date.now() - daysAgo * 86_400_000),
  });
  const answer = { imageDetails: [detail('new', 1), detail('old', 10), detail('older', 20)] };
  ecr.on(DescribeImagesCommand, { repositoryName: name }).callsFake(async () => {
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    return answer;
  });
}

beforeEach(() => {
  vi.stubEnv('AUDIT_TABLE_NAME', AUDIT_TABLE);
  vi.stubEnv('STATE_TABLE_NAME', STATE_TABLE);
  vi.stubEnv('CLEANUP_QUEUE_URL', `https://sqs.us-west-2.amazonaws.com/${ACCOUNT}/q.fifo`);
  vi.stubEnv('CLEANUP_DLQ_URL', `https://sqs.us-west-2.amazonaws.com/${ACCOUNT}/dlq.fifo`);
  ecs.on(ListClustersCommand).resolves({ clusterArns: [] });
  ecs.on(ListTaskDefinitionFamiliesCommand).resolves({ families: [] });
  lambda.on(ListFunctionsCommand).resolves({ Functions: [] });
  ddb.on(GetCommand).resolves({});
  ddb.on(PutCommand).resolves({});
  ddb.on(UpdateCommand).resolves({});
  ddb.on(BatchWriteCommand).resolves({});
  ddb.on(QueryCommand).resolves({ Items: [] });
  ddb.on(BatchGetCommand).resolves({ Responses: { [STATE_TABLE]: [] } });
  sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
  ecr.on(BatchDeleteImageCommand).callsFake((input: { imageIds: { imageDigest: string }[] }) => ({
    imageIds: input.imageIds,
    failures: [],
  }));
});

afterEach(() => {
  for (const mock of [ecr, ecs, lambda, sqs, ddb]) mock.reset();
  vi.unstubAllEnvs();
  resetConfigCache();
});

describe('worker run budget when a deletion throws after its delete call', () => {
  it('never deletes more images in one invocation than maxDeletesPerRun', async () => {
    // Prepare: a budget of 3. services/a's settle write fails (after its 2 deletes went through);
    // services/b takes the third delete; services/d's listing answers late, after services/a has thrown.
    useConfig({ bounds: { maxDeletesPerRun: 3, maxDeletesPerRepository: 10 } });
    repositoryWithImages('services/a');
    repositoryWithImages('services/b');
    repositoryWithImages('services/d', 300);
    ddb.on(TransactWriteCommand).callsFake((input: TransactWriteCommandInput) => {
      const settlesA = (input.TransactItems ?? []).some(
        (t) => t.Put?.Item?.repository === 'services/a' && t.Put?.Item?.status !== 'PENDING',
      );
      if (settlesA) throw Object.assign(new Error('settle failed'), { name: 'InternalServerError' });
      return {};
    });
    const event = sqsEvent(
      sqsRecord(pushEvent('services/a', 'e1'), { messageId: 'a-1', groupId: 'services/a' }),
      sqsRecord(pushEvent('services/b', 'e2'), { messageId: 'b-1', groupId: 'services/b' }),
      sqsRecord(pushEvent('services/d', 'e4'), { messageId: 'd-1', groupId: 'services/d' }),
    );

    // Act
    const response = await worker(event);

    // Assess: services/a is retried; the images deleted in this invocation stay within the budget of 3.
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'a-1' }] });
    // services/a's two deletes happened (only its settle failed); services/b took the third; nothing is left
    // for services/d.
    const deletedImages = ecr
      .commandCalls(BatchDeleteImageCommand)
      .flatMap((c) => (c.args[0].input.imageIds ?? []).map(() => c.args[0].input.repositoryName));
    expect(deletedImages.sort()).toEqual(['services/a', 'services/a', 'services/b']);
  });
});
