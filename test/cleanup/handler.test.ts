/**
 * The cleanup handlers with every AWS client mocked at the SDK boundary (aws-sdk-client-mock): the records are
 * built from AWS's published `ECR Image Action` samples, delivered as Lambda delivers SQS FIFO batches.
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
import {
  GetResourcesCommand,
  ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  type PutCommandInput,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { intake, sweep, worker } from '../../functions/cleanup/handler.js';
import type { StewardConfigInput } from '../../functions/shared/config/schema.js';
import { resetConfigCache } from '../../functions/shared/runtime/config.js';
import { awsError, type EventJson, loadEvent, pushEvent, sqsEvent, sqsRecord } from '../fixtures/events.js';
import { digestOf, keepNewest } from '../fixtures/images.js';

vi.hoisted(() => {
  // Read when the handler module loads: quiet logs, no EMF output, a region for the clients.
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  process.env.AWS_REGION = 'us-west-2';
});

const ACCOUNT = '123456789012';
const QUEUE_URL = `https://sqs.us-west-2.amazonaws.com/${ACCOUNT}/EcrSteward-CleanupQueue.fifo`;
const DLQ_URL = `https://sqs.us-west-2.amazonaws.com/${ACCOUNT}/EcrSteward-CleanupDeadLetter.fifo`;
const AUDIT_TABLE = 'EcrSteward-Audit';
const STATE_TABLE = 'EcrSteward-State';

const ecr = mockClient(ECRClient);
const ecs = mockClient(ECSClient);
const lambda = mockClient(LambdaClient);
const sqs = mockClient(SQSClient);
const tagging = mockClient(ResourceGroupsTaggingAPIClient);
const ddb = mockClient(DynamoDBDocumentClient);

function useConfig(overrides: Partial<StewardConfigInput> = {}): void {
  const config: StewardConfigInput = {
    mode: 'dry-run',
    selections: [
      {
        name: 'sample',
        repositories: ['my-repository-name', 'services/*'],
        lifecyclePolicy: keepNewest(1),
        steward: {},
      },
    ],
    ...overrides,
  };
  vi.stubEnv('STEWARD_CONFIG_JSON', JSON.stringify(config));
  resetConfigCache();
}

/**
 * A repository with three images: the newest is kept, the two others expire. `delayMs`: its listing answers that
 * late.
 */
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

/**
 * The audit records written (puts to the audit table; the state table also gets snapshots and counters): single
 * PutItems and each Put of a TransactWriteItems (write-ahead and settle go in transactions of up to 100), the
 * latter ordered by the transaction's call.
 */
const auditPuts = () =>
  [
    ...ddb.commandCalls(PutCommand).map((c) => ({ input: c.args[0].input, call: c })),
    ...ddb
      .commandCalls(TransactWriteCommand)
      .flatMap((c) =>
        (c.args[0].input.TransactItems ?? []).flatMap((t) => (t.Put ? [{ input: t.Put, call: c }] : [])),
      ),
  ]
    .filter((p) => p.input.TableName === AUDIT_TABLE)
    // The transaction's own call (its id orders it against other calls), seen with one Put as its input.
    .map(
      ({ input, call }) =>
        Object.assign(Object.create(call), { args: [{ input }] }) as {
          readonly args: readonly [{ readonly input: PutCommandInput }];
          calledBefore(other: never): boolean;
        },
    );
const puts = () => auditPuts().map((c) => c.args[0].input.Item as EventJson);

beforeEach(() => {
  vi.stubEnv('AUDIT_TABLE_NAME', AUDIT_TABLE);
  vi.stubEnv('STATE_TABLE_NAME', STATE_TABLE);
  vi.stubEnv('CLEANUP_QUEUE_URL', QUEUE_URL);
  vi.stubEnv('CLEANUP_DLQ_URL', DLQ_URL);
  useConfig();
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
  for (const mock of [ecr, ecs, lambda, sqs, tagging, ddb]) mock.reset();
  vi.unstubAllEnvs();
  resetConfigCache();
});

describe('worker', () => {
  it('evaluates a repository once when two pushes for it arrive in one batch', async () => {
    // Prepare
    repositoryWithImages('my-repository-name');
    const event = sqsEvent(
      sqsRecord(pushEvent('my-repository-name', 'event-1'), {
        messageId: 'msg-1',
        groupId: 'my-repository-name',
      }),
      sqsRecord(pushEvent('my-repository-name', 'event-2'), {
        messageId: 'msg-2',
        groupId: 'my-repository-name',
      }),
    );

    // Act
    const response = await worker(event);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ecr.commandCalls(DescribeRepositoriesCommand)).toHaveLength(1);
    expect(ecr.commandCalls(DescribeImagesCommand)).toHaveLength(1);
    expect(puts().map((item) => [item.status, item.digest])).toEqual(
      expect.arrayContaining([
        ['PLANNED', digestOf('my-repository-name:old')],
        ['PLANNED', digestOf('my-repository-name:older')],
      ]),
    );
    expect(puts()).toHaveLength(2);
    expect(auditPuts()[0]?.args[0].input).toMatchObject({
      TableName: AUDIT_TABLE,
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(0);
  });

  it('deletes in enforce mode after the PENDING records are written', async () => {
    // Prepare
    useConfig({ mode: 'enforce' });
    repositoryWithImages('my-repository-name');

    // Act
    const response = await worker(
      sqsEvent(
        sqsRecord(pushEvent('my-repository-name'), { messageId: 'msg-1', groupId: 'my-repository-name' }),
      ),
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const deleteCall = ecr.commandCalls(BatchDeleteImageCommand)[0]!;
    expect(deleteCall.args[0].input).toEqual({
      repositoryName: 'my-repository-name',
      imageIds: [digestOf('my-repository-name:old'), digestOf('my-repository-name:older')]
        .sort()
        .map((imageDigest) => ({ imageDigest })),
    });
    const pending = auditPuts().filter((c) => c.args[0].input.Item?.status === 'PENDING');
    expect(pending).toHaveLength(2);
    for (const call of pending) expect(call.calledBefore(deleteCall as never)).toBe(true);
    const deleted = auditPuts().filter((c) => c.args[0].input.Item?.status === 'DELETED');
    expect(deleted).toHaveLength(2);
    for (const call of deleted) expect(deleteCall.calledBefore(call as never)).toBe(true);
    const breakerReads = ddb
      .commandCalls(BatchGetCommand)
      .filter((c) => JSON.stringify(c.args[0].input).includes('BREAKER#'));
    expect(breakerReads).toHaveLength(1);
    expect(breakerReads[0]?.args[0].input).toEqual({
      RequestItems: {
        [STATE_TABLE]: {
          Keys: [
            { pk: 'BREAKER#registry', sk: 'BREAKER' },
            { pk: 'BREAKER#repository:my-repository-name', sk: 'BREAKER' },
          ],
          ConsistentRead: true,
        },
      },
    });
  });

  it('sends a malformed record to the dead-letter queue with its reason, deletes nothing and does not fail the batch', async () => {
    // Prepare
    useConfig({ mode: 'enforce' });
    const noRepository = pushEvent('my-repository-name');
    delete noRepository.detail['repository-name'];
    const event = sqsEvent(
      sqsRecord('{"version": "0", "id": ', { messageId: 'msg-bad-json', groupId: 'my-repository-name' }),
      sqsRecord(noRepository, { messageId: 'msg-bad-shape', groupId: 'my-repository-name' }),
    );

    // Act
    const response = await worker(event);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const sent = sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(sent).toHaveLength(2);
    expect(sent[0]).toMatchObject({
      QueueUrl: DLQ_URL,
      MessageBody: '{"version": "0", "id": ',
      MessageGroupId: 'my-repository-name',
      MessageDeduplicationId: 'msg-bad-json',
    });
    expect(sent[0]?.MessageAttributes?.reason).toEqual({
      DataType: 'String',
      StringValue: expect.stringMatching(/^body is not JSON: /),
    });
    expect(sent[1]).toMatchObject({ QueueUrl: DLQ_URL, MessageDeduplicationId: 'msg-bad-shape' });
    expect(sent[1]?.MessageAttributes?.reason?.StringValue).toBe(
      'not an ECR Image Action event nor a sweep message: detail.repository-name: Invalid input: expected string, received undefined',
    );
    expect(ecr.calls()).toHaveLength(0);
  });

  it('ignores a push whose result is FAILED and a DELETE action', async () => {
    // Prepare
    const failed = pushEvent('my-repository-name', 'event-failed');
    failed.detail.result = 'FAILED';
    const deleted = loadEvent('ecr-image-action-delete.json');
    deleted.detail['image-digest'] = digestOf('deleted');
    const event = sqsEvent(
      sqsRecord(failed, { messageId: 'msg-1', groupId: 'my-repository-name' }),
      sqsRecord(deleted, { messageId: 'msg-2', groupId: 'my-repository-name' }),
    );

    // Act
    const response = await worker(event);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ecr.calls()).toHaveLength(0);
    expect(sqs.calls()).toHaveLength(0);
    expect(ddb.calls()).toHaveLength(0);
  });

  it('reports every message of a failed group for retry and still processes the other groups', async () => {
    // Prepare
    useConfig({ mode: 'enforce' });
    repositoryWithImages('services/a');
    repositoryWithImages('services/b');
    ecr
      .on(DescribeImagesCommand, { repositoryName: 'services/a' })
      .rejects(awsError('ServerException', 'internal', 'server'));
    const event = sqsEvent(
      sqsRecord(pushEvent('services/a', 'e1'), { messageId: 'a-1', groupId: 'services/a' }),
      sqsRecord(pushEvent('services/a', 'e2'), { messageId: 'a-2', groupId: 'services/a' }),
      sqsRecord(pushEvent('services/b', 'e3'), { messageId: 'b-1', groupId: 'services/b' }),
    );

    // Act
    const response = await worker(event);

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'a-1' }, { itemIdentifier: 'a-2' }] });
    expect(ecr.commandCalls(BatchDeleteImageCommand).map((c) => c.args[0].input.repositoryName)).toEqual([
      'services/b',
    ]);
    expect(new Set(puts().map((i) => i.repository))).toEqual(new Set(['services/b']));
  });

  it("cleans a batch's repositories at the same time, and together they delete no more than the run's budget", async () => {
    // Prepare: three repositories with two images to expire each, a run budget of three deletes.
    useConfig({ mode: 'enforce', bounds: { maxDeletesPerRun: 3, maxDeletesPerRepository: 10 } });
    for (const name of ['services/a', 'services/b', 'services/c']) repositoryWithImages(name);
    const event = sqsEvent(
      sqsRecord(pushEvent('services/a', 'e1'), { messageId: 'a-1', groupId: 'services/a' }),
      sqsRecord(pushEvent('services/b', 'e2'), { messageId: 'b-1', groupId: 'services/b' }),
      sqsRecord(pushEvent('services/c', 'e3'), { messageId: 'c-1', groupId: 'services/c' }),
    );

    // Act
    const response = await worker(event);

    // Assess: every repository was read before the first delete (one after another, the first repository
    // would have deleted before the second was read), and three images went in all, in the order taken.
    expect(response).toEqual({ batchItemFailures: [] });
    const deletes = ecr.commandCalls(BatchDeleteImageCommand);
    const firstDelete = deletes[0]!;
    const described = ecr.commandCalls(DescribeRepositoriesCommand);
    expect(described.map((c) => c.args[0].input.repositoryNames)).toEqual([
      ['services/a'],
      ['services/b'],
      ['services/c'],
    ]);
    for (const call of described) expect(call.calledBefore(firstDelete as never)).toBe(true);
    expect(deletes.map((c) => [c.args[0].input.repositoryName, c.args[0].input.imageIds?.length])).toEqual([
      ['services/a', 2],
      ['services/b', 1],
    ]);
    const deleted = puts().filter((i) => i.status === 'DELETED');
    expect(deleted.map((i) => i.repository).sort()).toEqual(['services/a', 'services/a', 'services/b']);
  });

  it('never deletes more images in one invocation than maxDeletesPerRun when a deletion throws after its delete call', async () => {
    // Prepare: a budget of 3. services/a's settle write fails (after its 2 deletes went through): a deletion that
    // throws keeps its allowance spent, since it may have deleted. services/b takes the third delete; services/d's
    // listing answers late, after services/a has thrown.
    useConfig({ mode: 'enforce', bounds: { maxDeletesPerRun: 3, maxDeletesPerRepository: 10 } });
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

  it('skips a push to an unmanaged repository without an ECR call the worker is not allowed to make', async () => {
    // Prepare: a glob the push rule cannot express lets pushes to any repository through; IAM then denies
    // DescribeRepositories outside the managed ARNs.
    useConfig({
      mode: 'enforce',
      selections: [{ repositories: ['team/*/app'], lifecyclePolicy: keepNewest(1) }],
    });
    ecr
      .on(DescribeRepositoriesCommand)
      .rejects(awsError('AccessDeniedException', 'not authorized to perform: ecr:DescribeRepositories'));

    // Act
    const response = await worker(
      sqsEvent(sqsRecord(pushEvent('scratch/tool'), { messageId: 'msg-1', groupId: 'scratch/tool' })),
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ecr.calls()).toHaveLength(0);
  });

  it('reads the in-use sources once per invocation, for all its repositories', async () => {
    // Prepare
    repositoryWithImages('services/a');
    repositoryWithImages('services/b');
    const event = sqsEvent(
      sqsRecord(pushEvent('services/a', 'e1'), { messageId: 'a-1', groupId: 'services/a' }),
      sqsRecord(pushEvent('services/b', 'e2'), { messageId: 'b-1', groupId: 'services/b' }),
    );

    // Act
    await worker(event);

    // Assess
    expect(ecr.commandCalls(DescribeImagesCommand)).toHaveLength(2);
    expect(ecs.commandCalls(ListClustersCommand)).toHaveLength(1);
    expect(lambda.commandCalls(ListFunctionsCommand)).toHaveLength(1);
  });

  it('deletes and records nothing when ECS denies access, without failing the batch', async () => {
    // Prepare
    useConfig({ mode: 'enforce' });
    repositoryWithImages('my-repository-name');
    ecs
      .on(ListClustersCommand)
      .rejects(awsError('AccessDeniedException', 'not authorized to perform ecs:ListClusters'));

    // Act
    const response = await worker(
      sqsEvent(
        sqsRecord(pushEvent('my-repository-name'), { messageId: 'msg-1', groupId: 'my-repository-name' }),
      ),
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(0);
    expect(auditPuts()).toHaveLength(0);
  });

  it("records a sweep message's run id on its audit records", async () => {
    // Prepare
    repositoryWithImages('services/orders');
    const message = loadEvent('cleanup-sweep-message.json');

    // Act
    const response = await worker(
      sqsEvent(sqsRecord(message, { messageId: 'sweep-1', groupId: 'services/orders' })),
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(puts().map((i) => [i.gsi2pk, i.actor.runId])).toEqual([
      [`RUN#${message.runId}`, message.runId],
      [`RUN#${message.runId}`, message.runId],
    ]);
  });
});

describe('intake', () => {
  it('queues a push with message group = repository-name and deduplication id = event id', async () => {
    // Prepare
    const event = pushEvent('my-repository-name');

    // Act
    const result = await intake(event);

    // Assess
    expect(result).toEqual({ queued: true });
    const sent = sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(sent).toEqual([
      {
        QueueUrl: QUEUE_URL,
        MessageBody: expect.any(String),
        MessageGroupId: 'my-repository-name',
        MessageDeduplicationId: '13cde686-328b-6117-af20-0e5566167482',
      },
    ]);
    expect(JSON.parse(sent[0]!.MessageBody!)).toEqual(event);
  });

  it('throws a message naming the field when the event is malformed', async () => {
    // Prepare
    const event = pushEvent('my-repository-name');
    delete event.detail['repository-name'];

    // Act
    const result = intake(event);

    // Assess
    await expect(result).rejects.toThrow(/^malformed ECR arrival event: detail\.repository-name: /);
    expect(sqs.calls()).toHaveLength(0);
  });

  it("throws, for the dead-letter queue, when the digest is not a sha256 digest (as in AWS's own sample)", async () => {
    // Act
    const result = intake(loadEvent('ecr-image-action-push.json'));

    // Assess
    await expect(result).rejects.toThrow(
      'malformed ECR arrival event: detail.image-digest: not an image digest: expected "sha256:" and 64 lower-case hex digits',
    );
    expect(sqs.calls()).toHaveLength(0);
  });

  it.each([
    ['a replication into this registry', 'eventbridge/ecr-replication-action.json'],
    ['a pull-through cache sync', 'eventbridge/ecr-pull-through-cache-action.json'],
  ])('queues %s like a push, grouped by repository', async (_what, file) => {
    // Prepare
    const event = loadEvent(file);

    // Act
    const result = await intake(event);

    // Assess
    expect(result).toEqual({ queued: true });
    const sent = sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(sent.map((m) => [m.MessageGroupId, m.MessageDeduplicationId])).toEqual([
      [event.detail['repository-name'], event.id],
    ]);
  });

  it('gives a repository name longer than 128 characters a group id that fits SQS, stable and distinct', async () => {
    // Prepare
    const prefix = `services/${'a'.repeat(150)}`;
    const one = pushEvent(`${prefix}/one`, 'event-one');
    const two = pushEvent(`${prefix}/two`, 'event-two');

    // Act
    await intake(one);
    await intake(two);
    await intake(one);

    // Assess
    const groups = sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input.MessageGroupId!);
    expect(groups.map((g) => g.length)).toEqual([128, 128, 128]);
    expect(groups[0]).toBe(groups[2]);
    expect(groups[0]).not.toBe(groups[1]);
    expect(groups[0]!.startsWith(prefix.slice(0, 63))).toBe(true);
  });

  it('does not queue a DELETE action', async () => {
    // Prepare
    const deleted = loadEvent('ecr-image-action-delete.json');
    deleted.detail['image-digest'] = digestOf('deleted');

    // Act
    const result = await intake(deleted);

    // Assess
    expect(result).toEqual({ queued: false, reason: 'action-type DELETE is not a push' });
    expect(sqs.calls()).toHaveLength(0);
  });
});

describe('sweep handler', () => {
  it('lists every repository and enqueues the managed ones, re-sending failed entries', async () => {
    // Prepare
    const repo = (name: string) => ({
      repositoryName: name,
      repositoryArn: `arn:aws:ecr:us-west-2:${ACCOUNT}:repository/${name}`,
      registryId: ACCOUNT,
    });
    ecr
      .on(DescribeRepositoriesCommand, { nextToken: undefined })
      .resolves({ repositories: [repo('services/a'), repo('scratch/x')], nextToken: 'p2' })
      .on(DescribeRepositoriesCommand, { nextToken: 'p2' })
      .resolves({ repositories: [repo('services/b'), repo('my-repository-name')] });
    sqs
      .on(SendMessageBatchCommand)
      .resolvesOnce({ Successful: [], Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false }] })
      .resolves({ Successful: [], Failed: [] });

    // Act
    const report = await sweep();

    // Assess
    expect(report.runId).toMatch(/^sweep-\d{8}T\d{6}-[0-9a-f]{8}$/);
    expect(report).toMatchObject({ managed: 3, enqueued: 3 });
    const batches = sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);
    expect(batches.map((b) => [b.QueueUrl, b.Entries?.map((e) => e.MessageGroupId)])).toEqual([
      [QUEUE_URL, ['services/a', 'services/b', 'my-repository-name']],
      [QUEUE_URL, ['services/b']],
    ]);
    expect(batches[1]?.Entries?.[0]).toEqual(batches[0]?.Entries?.[1]);
    expect(batches[0]?.Entries?.[0]).toEqual({
      Id: '0',
      MessageBody: expect.stringContaining('"kind":"sweep","repository":"services/a"'),
      MessageGroupId: 'services/a',
      MessageDeduplicationId: `sweep#${report.runId}#services/a`,
    });
    expect(tagging.calls()).toHaveLength(0);
  });

  it('reads repository tags through the tagging API, every page, when a selection uses tags', async () => {
    // Prepare
    useConfig({
      selections: [{ repositoryTags: { steward: 'managed' }, lifecyclePolicy: 'fromRepository' }],
    });
    const arn = (name: string) => `arn:aws:ecr:us-west-2:${ACCOUNT}:repository/${name}`;
    ecr.on(DescribeRepositoriesCommand).resolves({
      repositories: ['a', 'b', 'c'].map((n) => ({
        repositoryName: `team/${n}`,
        repositoryArn: arn(`team/${n}`),
        registryId: ACCOUNT,
      })),
    });
    tagging
      .on(GetResourcesCommand, { PaginationToken: undefined })
      .resolves({
        ResourceTagMappingList: [
          { ResourceARN: arn('team/a'), Tags: [{ Key: 'steward', Value: 'managed' }] },
        ],
        PaginationToken: 'next',
      })
      .on(GetResourcesCommand, { PaginationToken: 'next' })
      .resolves({
        ResourceTagMappingList: [
          { ResourceARN: arn('team/c'), Tags: [{ Key: 'steward', Value: 'managed' }] },
        ],
        PaginationToken: '',
      });
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });

    // Act
    const report = await sweep();

    // Assess
    expect(report).toMatchObject({ managed: 2, enqueued: 2 });
    expect(tagging.commandCalls(GetResourcesCommand).map((c) => c.args[0].input)).toEqual([
      { ResourceTypeFilters: ['ecr:repository'], PaginationToken: undefined, ResourcesPerPage: 100 },
      { ResourceTypeFilters: ['ecr:repository'], PaginationToken: 'next', ResourcesPerPage: 100 },
    ]);
    expect(
      sqs.commandCalls(SendMessageBatchCommand)[0]?.args[0].input.Entries?.map((e) => e.MessageGroupId),
    ).toEqual(['team/a', 'team/c']);
  });
});
