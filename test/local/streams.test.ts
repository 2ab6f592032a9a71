import { describe, expect, it } from 'vitest';
import { StreamPoller, type StreamRecord, TableStream } from '../../local/streams.js';
import type { MappingDef } from '../../local/template.js';

const ARN = 'arn:aws:dynamodb:eu-west-1:222222222222:table/Audit/stream/2024-01-01T00:00:00.000';
const AT = new Date('2026-06-01T12:00:00Z');
const item = (sk: string, extra: Record<string, unknown> = {}) => ({
  pk: { S: 'P' },
  sk: { S: sk },
  ...extra,
});

function stream(viewType = 'NEW_IMAGE'): TableStream {
  return new TableStream(ARN, viewType, ['pk', 'sk'], 'eu-west-1', () => AT);
}

function mapping(overrides: Partial<MappingDef> = {}): MappingDef {
  return {
    queue: 'Audit',
    functionId: 'Forwarder',
    batchSize: 10,
    reportBatchItemFailures: true,
    source: 'stream',
    bisectOnError: false,
    maximumRetryAttempts: 1,
    onFailureQueue: 'Failures',
    ...overrides,
  };
}

/** Pumps until the poller is idle (each pump awaits its batch). */
async function drain(poller: StreamPoller): Promise<void> {
  for (let i = 0; i < 50 && !poller.idle(); i++) await poller.pump();
}

describe('TableStream', () => {
  it('records INSERT, MODIFY and REMOVE with the images its view type keeps', () => {
    // Prepare
    const s = stream('NEW_AND_OLD_IMAGES');

    // Act
    s.append(undefined, item('a', { v: { N: '1' } }));
    s.append(item('a', { v: { N: '1' } }), item('a', { v: { N: '2' } }));
    s.append(item('a', { v: { N: '2' } }), undefined);

    // Assess
    expect(s.records.map((r) => [r.eventName, r.dynamodb.OldImage?.v, r.dynamodb.NewImage?.v])).toEqual([
      ['INSERT', undefined, { N: '1' }],
      ['MODIFY', { N: '1' }, { N: '2' }],
      ['REMOVE', { N: '2' }, undefined],
    ]);
    expect(s.records[0]).toMatchObject({
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'eu-west-1',
      eventSourceARN: ARN,
      dynamodb: {
        ApproximateCreationDateTime: AT.getTime() / 1000,
        Keys: { pk: { S: 'P' }, sk: { S: 'a' } },
        SequenceNumber: '100000000000000000001',
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    });
    expect(s.records.map((r) => r.dynamodb.SequenceNumber)).toEqual([
      '100000000000000000001',
      '100000000000000000002',
      '100000000000000000003',
    ]);
  });

  it('writes no record when a write changes nothing or deletes an absent item', () => {
    // Prepare
    const s = stream();

    // Act
    const same = s.append(item('a', { v: { S: 'x' } }), { v: { S: 'x' }, sk: { S: 'a' }, pk: { S: 'P' } });
    const absent = s.append(undefined, undefined);

    // Assess
    expect([same, absent, s.records.length]).toEqual([undefined, undefined, 0]);
  });

  it('keeps only the keys for KEYS_ONLY', () => {
    // Prepare
    const s = stream('KEYS_ONLY');

    // Act
    const r = s.append(undefined, item('a', { v: { S: 'x' } }))!;

    // Assess
    expect(r.dynamodb).not.toHaveProperty('NewImage');
    expect(r.dynamodb.Keys).toEqual({ pk: { S: 'P' }, sk: { S: 'a' } });
  });
});

describe('StreamPoller', () => {
  it('sends the batch to the OnFailure queue once the retry attempts are spent, and moves past it', async () => {
    // Prepare
    const s = stream();
    for (const sk of ['a', 'b', 'c']) s.append(undefined, item(sk));
    const sent: { queue: string; body: string }[] = [];
    const batches: string[][] = [];
    const poller = new StreamPoller(mapping({ maximumRetryAttempts: 1 }), s, {
      invoke: async (_id, event) => {
        batches.push(event.Records.map((r: StreamRecord) => String((r.dynamodb.Keys.sk as { S: string }).S)));
        return { ok: false, error: { message: 'boom' } };
      },
      sendToQueue: (queue, body) => sent.push({ queue, body }),
      functionArn: 'arn:aws:lambda:eu-west-1:222222222222:function:Forwarder',
      retryDelayMs: () => 0,
    });

    // Act
    await drain(poller);

    // Assess
    expect(batches).toEqual([
      ['a', 'b', 'c'],
      ['a', 'b', 'c'],
    ]);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.queue).toBe('Failures');
    expect(JSON.parse(sent[0]!.body)).toMatchObject({
      requestContext: {
        functionArn: 'arn:aws:lambda:eu-west-1:222222222222:function:Forwarder',
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: 2,
      },
      version: '1.0',
      DDBStreamBatchInfo: {
        startSequenceNumber: '100000000000000000001',
        endSequenceNumber: '100000000000000000003',
        batchSize: 3,
        streamArn: ARN,
      },
    });
    expect(poller.position).toBe(3);
  });

  it('fails the whole batch when a reported item identifier names no record of it', async () => {
    // Prepare
    const s = stream();
    for (const sk of ['a', 'b']) s.append(undefined, item(sk));
    let calls = 0;
    const poller = new StreamPoller(mapping({ maximumRetryAttempts: 5 }), s, {
      invoke: async () => {
        calls++;
        return calls === 1
          ? { ok: true, result: { batchItemFailures: [{ itemIdentifier: '' }] } }
          : { ok: true, result: { batchItemFailures: [] } };
      },
      sendToQueue: () => undefined,
      functionArn: 'fn',
      retryDelayMs: () => 0,
    });

    // Act
    await drain(poller);

    // Assess
    expect(poller.deliveries.map((d) => [d.first, d.size, d.outcome])).toEqual([
      ['100000000000000000001', 2, 'partial'],
      ['100000000000000000001', 2, 'ok'],
    ]);
  });

  it('delivers in order, BatchSize records at a time, when every batch succeeds', async () => {
    // Prepare
    const s = stream();
    for (const sk of ['a', 'b', 'c', 'd', 'e']) s.append(undefined, item(sk));
    const sizes: number[] = [];
    const poller = new StreamPoller(mapping({ batchSize: 2 }), s, {
      invoke: async (_id, event) => {
        sizes.push(event.Records.length);
        return { ok: true, result: null };
      },
      sendToQueue: () => undefined,
      functionArn: 'fn',
    });

    // Act
    await drain(poller);

    // Assess
    expect(sizes).toEqual([2, 2, 1]);
    expect(poller.idle()).toBe(true);
  });
});
