/**
 * The forwarder handler (functions/org/forwarder.ts) as Lambda runs it on the audit table's stream and on the
 * alerts queue, with EventBridge mocked at the SDK boundary: the exact PutEvents calls and the partial batch
 * failures reported.
 */
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBStreamEvent, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { forwarderOptions, handler } from '../../functions/org/forwarder.js';
import { digest, SPOKE_A, spokeRecord } from './support.js';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
});

const BUS = 'arn:aws:events:eu-west-1:111111111111:event-bus/ecr-steward-org';
const TOPICS = {
  alerts: `arn:aws:sns:eu-west-1:${SPOKE_A.account}:EcrSteward-Alerts`,
  notices: `arn:aws:sns:eu-west-1:${SPOKE_A.account}:EcrSteward-Notices`,
};
const CONTEXT = { invokedFunctionArn: `arn:aws:lambda:eu-west-1:${SPOKE_A.account}:function:forwarder` };
const events = mockClient(EventBridgeClient);

beforeEach(() => {
  vi.stubEnv('ORG_BUS_ARN', BUS);
  vi.stubEnv('AWS_REGION', SPOKE_A.region);
  vi.stubEnv('ALERTS_TOPIC_ARN', TOPICS.alerts);
  vi.stubEnv('NOTICES_TOPIC_ARN', TOPICS.notices);
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDTEST');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test-secret');
  forwarderOptions.send = { sleep: async () => {} };
});
afterEach(() => {
  vi.unstubAllEnvs();
  events.reset();
});
afterAll(() => events.restore());

/** Accepts every entry except those whose record digest is in `failing` (failed every time). */
function bus(failing: Set<string> = new Set()): void {
  events.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => {
    const results = input.Entries.map((e) => {
      const detail = JSON.parse(e.Detail!);
      return failing.has(detail.record?.digest ?? detail.messageId)
        ? { ErrorCode: 'InternalFailure', ErrorMessage: 'try again' }
        : { EventId: 'ok' };
    });
    return { FailedEntryCount: results.filter((r) => r.ErrorCode).length, Entries: results };
  });
}

function streamEvent(
  records: { seq: string; name: 'INSERT' | 'MODIFY' | 'REMOVE'; image?: object }[],
): DynamoDBStreamEvent {
  return {
    Records: records.map((r) => ({
      eventSource: 'aws:dynamodb',
      eventName: r.name,
      awsRegion: SPOKE_A.region,
      dynamodb: {
        SequenceNumber: r.seq,
        ...(r.image ? { NewImage: marshall(r.image, { removeUndefinedValues: true }) as never } : {}),
      },
    })),
  };
}

function sqsEvent(bodies: { id: string; body: string }[]): SQSEvent {
  return {
    Records: bodies.map(({ id, body }) => ({
      messageId: id,
      receiptHandle: `rh-${id}`,
      body,
      attributes: {} as never,
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:eu-west-1:${SPOKE_A.account}:EcrSteward-OrgAlerts`,
      awsRegion: SPOKE_A.region,
    })),
  };
}

const sentDigests = () =>
  events
    .commandCalls(PutEventsCommand)
    .map((c) => c.args[0].input.Entries!.map((e) => JSON.parse(e.Detail!).record.digest as string));

describe('forwarder handler', () => {
  it('puts every new image but removals on the hub bus as audit records, 10 entries a call', async () => {
    // Prepare: 12 inserts and a removal
    bus();
    const records = Array.from({ length: 12 }, (_, i) => spokeRecord(digest(i), 1, 'PENDING'));
    const event = streamEvent([
      ...records.map((image, i) => ({ seq: `${100 + i}`, name: 'INSERT' as const, image })),
      { seq: '200', name: 'REMOVE' },
    ]);

    // Act
    const response = await handler(event, CONTEXT);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(sentDigests()).toEqual([
      records.slice(0, 10).map((r) => r.digest),
      records.slice(10).map((r) => r.digest),
    ]);
    const first = events.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!;
    expect(first).toEqual({
      Source: 'ecr-steward',
      DetailType: 'ECR Steward Audit Record',
      EventBusName: BUS,
      Detail: JSON.stringify({ account: SPOKE_A.account, region: SPOKE_A.region, record: records[0] }),
    });
  });

  it('reports the first failed stream record and nothing after it when an entry keeps failing', async () => {
    // Prepare: 25 records in three calls; the 14th (second call) always fails
    bus(new Set([digest(13)]));
    const records = Array.from({ length: 25 }, (_, i) => spokeRecord(digest(i), 1, 'DELETED'));
    const event = streamEvent(
      records.map((image, i) => ({ seq: `${1000 + i}`, name: 'MODIFY' as const, image })),
    );

    // Act
    const response = await handler(event, CONTEXT);

    // Assess: five attempts of the failing entry, and the third call never made (the stream retries from 1013)
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: '1013' }] });
    const calls = sentDigests();
    expect(calls.map((c) => c.length)).toEqual([10, 10, 1, 1, 1, 1]);
    expect(calls.slice(2).flat()).toEqual(Array(4).fill(digest(13)));
  });

  it('uses ECR_STEWARD_REGISTRY_ID as the account when it is set', async () => {
    // Prepare
    bus();
    vi.stubEnv('ECR_STEWARD_REGISTRY_ID', '444444444444');
    const event = streamEvent([{ seq: '1', name: 'INSERT', image: spokeRecord(digest(1), 1, 'PENDING') }]);

    // Act
    await handler(event, CONTEXT);

    // Assess
    const detail = JSON.parse(events.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!.Detail!);
    expect(detail.account).toBe('444444444444');
  });

  it('forwards SNS notifications as alerts and reports the failed and malformed message ids', async () => {
    // Prepare
    bus(new Set(['sns-2']));
    const notification = (id: string, topic: string, subject?: string) =>
      JSON.stringify({
        Type: 'Notification',
        MessageId: id,
        TopicArn: topic,
        Subject: subject,
        Message: `message ${id}`,
      });
    const event = sqsEvent([
      { id: 'q-1', body: notification('sns-1', TOPICS.alerts, 'ECR Steward: 201 deletions') },
      { id: 'q-2', body: notification('sns-2', TOPICS.notices) },
      { id: 'q-3', body: 'not json' },
    ]);

    // Act
    const response = await handler(event, CONTEXT);

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'q-3' }, { itemIdentifier: 'q-2' }] });
    const first = events.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries!;
    expect(first.map((e) => JSON.parse(e.Detail!))).toEqual([
      {
        account: SPOKE_A.account,
        region: SPOKE_A.region,
        topic: 'alerts',
        subject: 'ECR Steward: 201 deletions',
        message: 'message sns-1',
        messageId: 'sns-1',
      },
      {
        account: SPOKE_A.account,
        region: SPOKE_A.region,
        topic: 'notices',
        message: 'message sns-2',
        messageId: 'sns-2',
      },
    ]);
    expect(first.every((e) => e.DetailType === 'ECR Steward Alert' && e.EventBusName === BUS)).toBe(true);
  });
});
