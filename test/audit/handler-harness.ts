/**
 * The audit handler (functions/audit/handler.ts) on dynalite, with ECR, SNS and SQS mocked at the SDK boundary:
 * what the handler's batch and redelivery tests share. Call `auditHandlerHarness` at a test file's top level (it
 * registers the file's hooks); each test gets tables of its own. A file still silences Powertools in its own
 * `vi.hoisted`, which must run before the handler is imported.
 */
import { DescribeImagesCommand, ECRClient, ImageNotFoundException } from '@aws-sdk/client-ecr';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, vi } from 'vitest';
import { resetConfigCache } from '../../functions/shared/runtime/config.js';
import { DUMMY_CREDENTIALS, type Dynamo, startDynamo, type Tables } from '../support/dynamo.js';
import { ACCOUNT, REGION } from './helpers.js';

/** The config of these tests: the `services/*` repositories managed, and `alerts` when given. */
export const handlerConfig = (alerts?: Record<string, unknown>): Record<string, unknown> => ({
  mode: 'enforce',
  selections: [{ name: 'services', repositories: ['services/*'], lifecyclePolicy: 'fromRepository' }],
  ...(alerts ? { alerts } : {}),
});

const mocks = () => ({ ecr: mockClient(ECRClient), sns: mockClient(SNSClient), sqs: mockClient(SQSClient) });
type Mocks = ReturnType<typeof mocks>;

export interface AuditHandlerHarness {
  /** dynalite, started once for the file. */
  readonly db: Dynamo;
  /** The current test's tables. */
  readonly tables: Tables;
  readonly ecr: Mocks['ecr'];
  readonly sns: Mocks['sns'];
  readonly sqs: Mocks['sqs'];
  /** Gives the handler this config (STEWARD_CONFIG_JSON) from now on. */
  useConfig(config: Record<string, unknown>): void;
}

/**
 * Starts dynalite for the file and points the handler's clients at it; before each test: fresh tables (named
 * after `prefix`), the config, every DescribeImages answered "not found" (the image is gone), SNS and SQS
 * accepting every message. After each: mocks and spies restored.
 */
export function auditHandlerHarness(
  prefix: string,
  config: () => Record<string, unknown> = () => handlerConfig(),
): AuditHandlerHarness {
  const { ecr, sns, sqs } = mocks();
  let db: Dynamo | undefined;
  let tables: Tables | undefined;
  const useConfig = (c: Record<string, unknown>) => {
    vi.stubEnv('STEWARD_CONFIG_JSON', JSON.stringify(c));
    resetConfigCache();
  };
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
    await db?.close();
  });
  beforeEach(async () => {
    tables = await db!.createTables(prefix);
    vi.stubEnv('AUDIT_TABLE_NAME', tables.audit);
    vi.stubEnv('STATE_TABLE_NAME', tables.state);
    useConfig(config());
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
  return {
    get db() {
      return db!;
    },
    get tables() {
      return tables!;
    },
    ecr,
    sns,
    sqs,
    useConfig,
  };
}

/**
 * An SQS message of the audit queue carrying `body` (JSON-encoded; a string is the body as it is, so a test can
 * send a malformed one), delivered for the first time.
 */
export const sqsMessage = (messageId: string, body: unknown): SQSRecord => ({
  messageId,
  receiptHandle: `receipt-${messageId}`,
  body: typeof body === 'string' ? body : JSON.stringify(body),
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

/** The messages as SQS sends them again after a failed attempt: their receive count goes up. */
export const sentAgain = (records: readonly SQSRecord[], count = 2): SQSRecord[] =>
  records.map((r) => ({ ...r, attributes: { ...r.attributes, ApproximateReceiveCount: String(count) } }));

export type DynamoCommand = { constructor: { name: string }; input: Record<string, unknown> };

/** Routes the handler's DynamoDB commands through `route` (which may call `send` to reach dynalite). */
export function interceptDynamo(
  route: (command: DynamoCommand, send: () => Promise<unknown>) => Promise<unknown>,
): void {
  const base = Object.getPrototypeOf(DynamoDBDocumentClient.prototype) as {
    send: (c: unknown) => Promise<unknown>;
  };
  const original = base.send;
  vi.spyOn(DynamoDBDocumentClient.prototype, 'send').mockImplementation(function (
    this: unknown,
    command: DynamoCommand,
  ) {
    return route(command, () => original.call(this, command));
  } as never);
}

/** An AWS service error as the SDK throws it. */
export const awsError = (name: string, text: string) =>
  Object.assign(new Error(text), { name, $metadata: {} });
