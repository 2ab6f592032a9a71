/**
 * Review 27b, finding 1, fixed: the once-per-window alert claim (RateCounters.claimAlert) is taken before the breaker
 * is opened and the alert published (functions/audit/core.ts crossThreshold / announce). When either of those
 * fails, the batch reports its messages as failures, but the claim stays, and the redelivery finds its records
 * DELETED (nothing counted, nothing checked). The crossing is never alerted and the breaker never opened.
 */
import { DescribeImagesCommand, ECRClient, ImageNotFoundException } from '@aws-sdk/client-ecr';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../functions/audit/handler.js';
import { resetConfigCache } from '../../functions/shared/runtime/config.js';
import { BreakerStore, repositoryScope } from '../../functions/shared/state/breaker.js';
import { ACCOUNT, digestOf, imageActionEvent, REGION, REPO } from '../audit/helpers.js';
import { DUMMY_CREDENTIALS, type Dynamo, startDynamo, type Tables } from '../support/dynamo.js';

/** The messages as SQS sends them again after a failed attempt: their receive count goes up. */
const sentAgain = (records: readonly SQSRecord[], count = 2): SQSRecord[] =>
  records.map((r) => ({ ...r, attributes: { ...r.attributes, ApproximateReceiveCount: String(count) } }));

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
  tables = await db.createTables('review27b-claim');
  vi.stubEnv('AUDIT_TABLE_NAME', tables.audit);
  vi.stubEnv('STATE_TABLE_NAME', tables.state);
  vi.stubEnv(
    'STEWARD_CONFIG_JSON',
    JSON.stringify({
      mode: 'enforce',
      selections: [{ name: 'services', repositories: ['services/*'], lifecyclePolicy: 'fromRepository' }],
      alerts: {
        thresholds: [{ scope: 'repository', window: '5m', maxDeletes: 1 }],
        breaker: { enabled: true },
      },
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
  vi.useRealTimers();
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

/** Two DELETE events of the same repository, now: past the limit of 1. */
function crossingBatch(label: string): SQSRecord[] {
  const time = new Date().toISOString();
  return ['a', 'b'].map((x) =>
    message(
      `m-${label}-${x}`,
      imageActionEvent({ id: `ev-${label}-${x}`, digest: digestOf(`${label}-${x}`), time }),
    ),
  );
}

describe('review 27b: a crossing whose alert or breaker failed once', () => {
  it('publishes the alert on the redelivery when the first publish failed', async () => {
    // Prepare: SNS refuses the first publish
    sns.reset();
    sns.on(PublishCommand).rejectsOnce(new Error('SNS unavailable')).resolves({ MessageId: 'sns-2' });
    const records = crossingBatch('publish');

    // Act: the batch, then SQS's redelivery of the messages it reported failed
    const first = await handler({ Records: records });
    const failed = new Set(first.batchItemFailures.map((f) => f.itemIdentifier));
    const again = await handler({ Records: sentAgain(records.filter((r) => failed.has(r.messageId))) });

    // Assess
    expect(first.batchItemFailures.length).toBeGreaterThan(0); // the failure was reported for a retry
    expect(again).toEqual({ batchItemFailures: [] });
    // The alert must have gone out once, on the retry: 2 calls (the refused one and the retry).
    expect(sns.commandCalls(PublishCommand)).toHaveLength(2);
  });

  it('opens the breaker and alerts on the redelivery when opening the breaker failed once', async () => {
    // Prepare: the breaker's PutItem on the state table is refused once (throttled)
    const base = Object.getPrototypeOf(DynamoDBDocumentClient.prototype) as {
      send: (c: unknown) => Promise<unknown>;
    };
    const original = base.send;
    let refused = 0;
    vi.spyOn(DynamoDBDocumentClient.prototype, 'send').mockImplementation(function (
      this: unknown,
      command: { constructor: { name: string }; input: { Item?: { pk?: string } } },
    ) {
      if (
        command.constructor.name === 'PutCommand' &&
        String(command.input.Item?.pk ?? '').startsWith('BREAKER') &&
        refused++ === 0
      )
        return Promise.reject(
          Object.assign(new Error('Throughput exceeds the current capacity'), {
            name: 'ProvisionedThroughputExceededException',
            $metadata: {},
          }),
        );
      return original.call(this, command);
    } as never);
    const records = crossingBatch('breaker');

    // Act
    const first = await handler({ Records: records });
    const failed = new Set(first.batchItemFailures.map((f) => f.itemIdentifier));
    await handler({ Records: sentAgain(records.filter((r) => failed.has(r.messageId))) });

    // Assess
    expect(refused).toBeGreaterThan(0);
    expect(first.batchItemFailures.length).toBeGreaterThan(0);
    const breaker = await new BreakerStore(db.doc, tables.state).get(repositoryScope(REPO));
    expect(breaker).toMatchObject({ state: 'open' });
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
  });
});
