/**
 * The audit handler's batch read (functions/audit/handler.ts): the records every delete signal of an SQS batch
 * names are read in one consistent BatchGetItem, and each message's merge is one conditional PutItem on what
 * was read (no GetItem), with the same records as before. DynamoDB is dynalite behind the local proxy; ECR,
 * SNS and SQS are mocked at the SDK boundary.
 */
import { DescribeImagesCommand, ECRClient, ImageNotFoundException } from '@aws-sdk/client-ecr';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../functions/audit/handler.js';
import { AuditStore } from '../../functions/shared/audit/store.js';
import { resetConfigCache } from '../../functions/shared/runtime/config.js';
import { DUMMY_CREDENTIALS, type Dynamo, startDynamo, type Tables } from '../support/dynamo.js';
import { ACCOUNT, digestOf, imageActionEvent, REGION, REPO } from './helpers.js';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
});

const ecr = mockClient(ECRClient);
const sns = mockClient(SNSClient);
const sqs = mockClient(SQSClient);

let db: Dynamo;
let tables: Tables;
beforeAll(async () => {
  db = await startDynamo();
  vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', db.endpoint);
  vi.stubEnv('AWS_REGION', REGION);
  vi.stubEnv('AWS_ACCESS_KEY_ID', DUMMY_CREDENTIALS.accessKeyId);
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', DUMMY_CREDENTIALS.secretAccessKey);
  vi.stubEnv('ALERTS_TOPIC_ARN', `arn:aws:sns:${REGION}:${ACCOUNT}:EcrSteward-Alerts`);
  vi.stubEnv('AUDIT_DLQ_URL', `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/EcrSteward-AuditDeadLetter`);
});
afterAll(async () => {
  vi.unstubAllEnvs();
  ecr.restore();
  sns.restore();
  sqs.restore();
  await db.close();
});
beforeEach(async () => {
  tables = await db.createTables('handler-batch');
  vi.stubEnv('AUDIT_TABLE_NAME', tables.audit);
  vi.stubEnv('STATE_TABLE_NAME', tables.state);
  vi.stubEnv(
    'STEWARD_CONFIG_JSON',
    JSON.stringify({
      mode: 'enforce',
      selections: [{ name: 'services', repositories: ['services/*'], lifecyclePolicy: 'fromRepository' }],
    }),
  );
  resetConfigCache();
  ecr
    .on(DescribeImagesCommand)
    .rejects(new ImageNotFoundException({ message: 'Requested image not found', $metadata: {} }));
  sns.on(PublishCommand).resolves({ MessageId: 'sns-1' });
  sqs.on(SendMessageCommand).resolves({ MessageId: 'sqs-1' });
});
afterEach(() => {
  vi.restoreAllMocks();
  ecr.reset();
  sns.reset();
  sqs.reset();
  resetConfigCache();
});

const message = (messageId: string, body: unknown): SQSRecord => ({
  messageId,
  receiptHandle: `receipt-${messageId}`,
  body: JSON.stringify(body),
  attributes: {
    ApproximateReceiveCount: '1',
    SentTimestamp: '1780000000000',
    SenderId: 'AIDAEVENTBRIDGE',
    ApproximateFirstReceiveTimestamp: '1780000000001',
  },
  messageAttributes: {},
  md5OfBody: '00000000000000000000000000000000',
  eventSource: 'aws:sqs',
  eventSourceARN: `arn:aws:sqs:${REGION}:${ACCOUNT}:EcrSteward-AuditQueue`,
  awsRegion: REGION,
});

/** The DynamoDB commands the handler sends, by name. */
function journal(): string[] {
  const calls: string[] = [];
  const base = Object.getPrototypeOf(DynamoDBDocumentClient.prototype) as {
    send: (c: unknown) => Promise<unknown>;
  };
  const original = base.send;
  vi.spyOn(DynamoDBDocumentClient.prototype, 'send').mockImplementation(function (
    this: unknown,
    command: { constructor: { name: string } },
  ) {
    calls.push(command.constructor.name);
    return original.call(this, command);
  } as never);
  return calls;
}

describe('audit handler, batch read', () => {
  it("reads a batch's records in one BatchGetItem, confirms each with one conditional put and counts the batch at once", async () => {
    // Prepare: three deletions our cleanup settled and one external deletion; then one event delivered again
    const store = new AuditStore(db.doc, tables.audit);
    const ours = ['b-1', 'b-2', 'b-3'].map(digestOf);
    const ref = { registryId: ACCOUNT, region: REGION, repository: REPO };
    for (const digest of ours) {
      const base = {
        ...ref,
        digest,
        at: '2026-06-01T12:00:00.000Z',
        actor: { type: 'ecr-steward' as const, runId: 'run-1', rulePriority: 1 },
      };
      await store.record({ ...base, status: 'PENDING', evidence: 'steward-write-ahead' });
      await store.record({ ...base, status: 'DELETED', evidence: 'steward-delete' });
    }
    const external = digestOf('b-ext');
    const events = [...ours, external].map((digest, i) => imageActionEvent({ id: `ev-${i}`, digest }));
    const calls = journal();

    // Act
    const response = await handler({ Records: events.map((e, i) => message(`m-${i}`, e)) });
    const first = calls.splice(0);
    const again = await handler({ Records: [message('m-again', events[0])] });

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(again).toEqual({ batchItemFailures: [] });
    // One read for the batch, one conditional put per new fact, the default thresholds' four counters (registry and
    // repository, two windows) each added to once with their samples in the same update, the repository's image
    // count read once, then the batch's deletions marked counted in one BatchWriteItem.
    expect(first).toEqual([
      'BatchGetCommand',
      ...Array(4).fill('PutCommand'),
      ...Array(4).fill('UpdateCommand'),
      'GetCommand',
      'BatchWriteCommand',
    ]);
    // The redelivery adds nothing: read, and nothing written.
    expect(calls).toEqual(['BatchGetCommand']);
    for (const [i, digest] of ours.entries())
      expect(await store.get({ ...ref, digest })).toMatchObject({
        status: 'DELETED',
        version: 3,
        evidence: ['image-action-event', 'steward-delete', 'steward-write-ahead'],
        eventIds: [`ev-${i}`],
        actor: { type: 'ecr-steward', runId: 'run-1' },
      });
    expect(await store.get({ ...ref, digest: external })).toMatchObject({
      status: 'DELETED',
      version: 1,
      evidence: ['image-action-event'],
      eventIds: ['ev-3'],
      actor: { type: 'unknown' },
    });
  });

  it('writes a burst in one transaction, a record named twice in a second round, with the records of one by one', async () => {
    // Prepare: 11 external deletions, one of them reported per tag (two events for one image)
    const store = new AuditStore(db.doc, tables.audit);
    const ref = { registryId: ACCOUNT, region: REGION, repository: REPO };
    const digests = Array.from({ length: 11 }, (_, i) => digestOf(`burst-${i}`));
    const events = [
      ...digests.map((digest, i) => imageActionEvent({ id: `ev-${i}`, digest, tag: `t${i}` })),
      imageActionEvent({ id: 'ev-again', digest: digests[0]!, tag: 'latest' }),
    ];
    const calls = journal();

    // Act
    const response = await handler({ Records: events.map((e, i) => message(`m-${i}`, e)) });

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(calls.filter((c) => c !== 'UpdateCommand' && c !== 'GetCommand')).toEqual([
      'BatchGetCommand',
      'TransactWriteCommand',
      'PutCommand',
      // The 11 deletions marked counted.
      'BatchWriteCommand',
    ]);
    expect(await store.get({ ...ref, digest: digests[0]! })).toMatchObject({
      status: 'DELETED',
      version: 2,
      tags: ['latest', 't0'],
      eventIds: ['ev-0', 'ev-again'],
    });
    for (const [i, digest] of digests.entries())
      if (i > 0)
        expect(await store.get({ ...ref, digest })).toMatchObject({
          status: 'DELETED',
          version: 1,
          eventIds: [`ev-${i}`],
        });
  });

  it('audits a burst message by message when its transaction fails, each message failing alone', async () => {
    // Prepare: every transaction is refused; the put of one record too
    const store = new AuditStore(db.doc, tables.audit);
    const ref = { registryId: ACCOUNT, region: REGION, repository: REPO };
    const digests = Array.from({ length: 12 }, (_, i) => digestOf(`fallback-${i}`));
    const base = Object.getPrototypeOf(DynamoDBDocumentClient.prototype) as {
      send: (c: unknown) => Promise<unknown>;
    };
    const original = base.send;
    const refused = (message: string) =>
      Promise.reject(
        Object.assign(new Error(message), { name: 'InternalServerError', $fault: 'server', $metadata: {} }),
      );
    vi.spyOn(DynamoDBDocumentClient.prototype, 'send').mockImplementation(function (
      this: unknown,
      command: { constructor: { name: string }; input: { Item?: { digest?: string } } },
    ) {
      if (command.constructor.name === 'TransactWriteCommand') return refused('transaction refused');
      if (command.constructor.name === 'PutCommand' && command.input.Item?.digest === digests[5])
        return refused('put refused');
      return original.call(this, command);
    } as never);

    // Act
    const response = await handler({
      Records: digests.map((digest, i) => message(`m-${i}`, imageActionEvent({ id: `ev-${i}`, digest }))),
    });

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-5' }] });
    for (const [i, digest] of digests.entries())
      expect((await store.get({ ...ref, digest }))?.status).toBe(i === 5 ? undefined : 'DELETED');
  });
});
