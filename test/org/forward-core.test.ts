/**
 * The forwarder's pure decisions: entry sizes and calls (≤ 10 entries, ≤ 256 KB), retries of only the failed
 * entries, the failures reported, SNS notifications to alerts, stream records to audit records.
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  alertFromMessage,
  type BusEntry,
  busEntry,
  callsOf,
  entrySize,
  MAX_BYTES_PER_CALL,
  type PutEventsOutput,
  sendAll,
  streamEntries,
} from '../../functions/org/forward-core.js';
import { alertEntry, auditRecordEntry } from '../../functions/shared/org/events.js';
import { digest, SPOKE_A, spokeRecord } from './support.js';

const BUS = 'arn:aws:events:eu-west-1:111111111111:event-bus/ecr-steward-org';
const entry = (n: number, detailBytes = 10): BusEntry => ({
  Source: 'ecr-steward',
  DetailType: 'ECR Steward Audit Record',
  Detail: JSON.stringify({ n, pad: 'x'.repeat(detailBytes) }),
  EventBusName: BUS,
});
const noWait = { sleep: async () => {}, backoffMs: (attempt: number) => attempt * 100 };

describe('callsOf', () => {
  it('splits 23 small entries into calls of 10, 10 and 3 in order', () => {
    // Prepare
    const entries = Array.from({ length: 23 }, (_, i) => entry(i));

    // Act
    const calls = callsOf(entries);

    // Assess
    expect(calls.map((c) => c.length)).toEqual([10, 10, 3]);
    expect(calls.flat()).toEqual(entries.map((_, i) => i));
  });

  it('starts a new call when the next entry would pass 256 KB', () => {
    // Prepare: three entries of about 100 KB each
    const entries = [0, 1, 2].map((i) => entry(i, 100 * 1024));

    // Act
    const calls = callsOf(entries);

    // Assess
    expect(calls).toEqual([[0, 1], [2]]);
  });

  it('keeps every call within 10 entries and 256 KB and every entry in order, for any sizes', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 200 * 1024 }), { maxLength: 60 }), (sizes) => {
        const entries = sizes.map((s, i) => entry(i, s));
        const calls = callsOf(entries);
        expect(calls.flat()).toEqual(entries.map((_, i) => i));
        for (const call of calls) {
          expect(call.length).toBeLessThanOrEqual(10);
          const bytes = call.reduce((sum, i) => sum + entrySize(entries[i]!), 0);
          expect(bytes <= MAX_BYTES_PER_CALL || call.length === 1).toBe(true);
        }
      }),
    );
  });
});

describe('busEntry', () => {
  it('returns the entry as is when it fits', () => {
    // Prepare
    const record = spokeRecord(digest(1), 2, 'DELETED');

    // Act
    const made = busEntry(auditRecordEntry(SPOKE_A, record), BUS);

    // Assess
    expect(made).toEqual({
      Source: 'ecr-steward',
      DetailType: 'ECR Steward Audit Record',
      Detail: JSON.stringify({ account: SPOKE_A.account, region: SPOKE_A.region, record }),
      EventBusName: BUS,
    });
  });

  it('drops a kept manifest body but keeps its media type and size when the record is too large', () => {
    // Prepare
    const manifest = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      bytes: 300_000,
      body: 'm'.repeat(300_000),
    };
    const record = spokeRecord(digest(2), 1, 'PENDING', { manifest });

    // Act
    const made = busEntry(auditRecordEntry(SPOKE_A, record), BUS);

    // Assess
    expect(JSON.parse(made!.Detail).record.manifest).toEqual({
      mediaType: manifest.mediaType,
      bytes: 300_000,
    });
    expect(entrySize(made!)).toBeLessThanOrEqual(MAX_BYTES_PER_CALL);
  });

  it('cuts an alert message too large for one event and says so', () => {
    // Prepare
    const alert = alertEntry(SPOKE_A, { topic: 'alerts', message: 'é'.repeat(200_000), messageId: 'm-1' });

    // Act
    const made = busEntry(alert, BUS);

    // Assess
    const detail = JSON.parse(made!.Detail);
    expect(entrySize(made!)).toBeLessThanOrEqual(MAX_BYTES_PER_CALL);
    expect(
      detail.message.endsWith('(cut by the ECR Steward forwarder: the event size limit is 256 KB)'),
    ).toBe(true);
    expect(detail.messageId).toBe('m-1');
  });

  it('returns undefined for a record too large with no manifest body to drop', () => {
    // Prepare
    const record = spokeRecord(digest(3), 1, 'DELETED', { note: 'n'.repeat(300_000) });

    // Act
    const made = busEntry(auditRecordEntry(SPOKE_A, record), BUS);

    // Assess
    expect(made).toBeUndefined();
  });
});

describe('sendAll', () => {
  it('retries only the entries PutEvents reports failed, with backoff, until accepted', async () => {
    // Prepare
    const entries = Array.from({ length: 12 }, (_, i) => entry(i));
    const calls: number[][] = [];
    const put = vi.fn(async (batch: readonly BusEntry[]): Promise<PutEventsOutput> => {
      const ns = batch.map((e) => JSON.parse(e.Detail).n as number);
      calls.push(ns);
      // The first call fails entries 3 and 7 once; everything else is accepted.
      if (calls.length === 1)
        return {
          FailedEntryCount: 2,
          Entries: ns.map((n) =>
            n === 3 || n === 7
              ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' }
              : { EventId: `e${n}` },
          ),
        };
      return { FailedEntryCount: 0, Entries: ns.map((n) => ({ EventId: `e${n}` })) };
    });
    const sleep = vi.fn(async () => {});

    // Act
    const result = await sendAll(entries, put, { ...noWait, sleep });

    // Assess
    expect(calls).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      [3, 7],
      [10, 11],
    ]);
    expect(sleep.mock.calls).toEqual([[100]]);
    expect(result).toEqual({ failed: new Set(), failures: [] });
  });

  it('reports an entry failed after the last attempt with its error code', async () => {
    // Prepare
    const entries = [entry(0), entry(1)];
    const put = vi.fn(
      async (batch: readonly BusEntry[]): Promise<PutEventsOutput> => ({
        FailedEntryCount: 1,
        Entries: batch.map((e) =>
          JSON.parse(e.Detail).n === 1
            ? { ErrorCode: 'InternalFailure', ErrorMessage: 'oops' }
            : { EventId: 'ok' },
        ),
      }),
    );

    // Act
    const result = await sendAll(entries, put, { ...noWait, maxAttempts: 3 });

    // Assess
    expect(put).toHaveBeenCalledTimes(3);
    expect(result).toEqual({
      failed: new Set([1]),
      failures: [{ index: 1, code: 'InternalFailure', message: 'oops' }],
    });
  });

  it('does not retry an entry the hub bus refuses for good (AccessDeniedException), and retries the others', async () => {
    // Prepare: entry 0 is refused by the bus policy; entry 1 is throttled once.
    const entries = [entry(0), entry(1)];
    const calls: number[][] = [];
    const put = vi.fn(async (batch: readonly BusEntry[]): Promise<PutEventsOutput> => {
      const ns = batch.map((e) => JSON.parse(e.Detail).n as number);
      calls.push(ns);
      return {
        FailedEntryCount: ns.filter((n) => n === 0 || calls.length === 1).length,
        Entries: ns.map((n) =>
          n === 0
            ? {
                ErrorCode: 'AccessDeniedException',
                ErrorMessage: 'not authorized to perform: events:PutEvents',
              }
            : calls.length === 1
              ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' }
              : { EventId: 'ok' },
        ),
      };
    });

    // Act
    const result = await sendAll(entries, put, { ...noWait, maxAttempts: 5 });

    // Assess
    expect(calls).toEqual([[0, 1], [1]]);
    expect(result).toEqual({
      failed: new Set([0]),
      failures: [
        { index: 0, code: 'AccessDeniedException', message: 'not authorized to perform: events:PutEvents' },
      ],
    });
  });

  it('fails the whole call when PutEvents throws, and stops at the first failed call when asked', async () => {
    // Prepare: 25 entries are three calls; the second throws
    const entries = Array.from({ length: 25 }, (_, i) => entry(i));
    let call = 0;
    const put = vi.fn(async (batch: readonly BusEntry[]): Promise<PutEventsOutput> => {
      call++;
      if (call === 2) throw Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
      return { FailedEntryCount: 0, Entries: batch.map(() => ({ EventId: 'ok' })) };
    });

    // Act
    const result = await sendAll(entries, put, { ...noWait, stopAtFirstFailure: true });

    // Assess
    expect(put).toHaveBeenCalledTimes(2);
    expect([...result.failed].sort((a, b) => a - b)).toEqual(Array.from({ length: 15 }, (_, i) => i + 10));
    expect(result.failures[0]).toEqual({ index: 10, code: 'AccessDeniedException', message: 'denied' });
  });
});

describe('alertFromMessage', () => {
  const topics = {
    alerts: 'arn:aws:sns:eu-west-1:222222222222:EcrSteward-Alerts',
    security: 'arn:aws:sns:eu-west-1:222222222222:EcrSteward-Security',
  };

  it('returns an alert entry with the topic role, subject, message and SNS message id', () => {
    // Prepare
    const body = JSON.stringify({
      Type: 'Notification',
      MessageId: 'b3f1-1',
      TopicArn: topics.security,
      Subject: 'Scan gate: FAIL',
      Message: 'services/api@sha256:… failed the gate',
      Timestamp: '2026-06-01T12:00:00.000Z',
    });

    // Act
    const parsed = alertFromMessage(body, topics, SPOKE_A);

    // Assess
    expect(parsed).toEqual({
      entry: {
        detailType: 'ECR Steward Alert',
        detail: {
          account: SPOKE_A.account,
          region: SPOKE_A.region,
          topic: 'security',
          subject: 'Scan gate: FAIL',
          message: 'services/api@sha256:… failed the gate',
          messageId: 'b3f1-1',
        },
      },
    });
  });

  it.each([
    ['not json', 'body is not JSON'],
    [JSON.stringify({ Message: 'raw' }), 'not an SNS notification'],
    [
      JSON.stringify({
        Type: 'Notification',
        MessageId: 'x',
        TopicArn: 'arn:aws:sns:eu-west-1:222222222222:Other',
        Message: 'm',
      }),
      "is none of the spoke's alerts, security, notices, approvals",
    ],
  ])('returns why when the body is %s', (body, why) => {
    // Act
    const parsed = alertFromMessage(body, topics, SPOKE_A);

    // Assess
    expect('malformed' in parsed && parsed.malformed).toContain(why);
  });
});

describe('streamEntries', () => {
  it('forwards inserts and modifications in order and skips removals (TTL expiry is not a deletion)', () => {
    // Prepare
    const a = spokeRecord(digest(1), 1, 'PENDING');
    const b = spokeRecord(digest(1), 2, 'DELETED');

    // Act
    const out = streamEntries(
      [
        { sequenceNumber: '100', eventName: 'INSERT', image: a },
        { sequenceNumber: '101', eventName: 'REMOVE', image: undefined },
        { sequenceNumber: '102', eventName: 'MODIFY', image: b },
        { sequenceNumber: '103', eventName: 'MODIFY', image: undefined },
      ],
      SPOKE_A,
    );

    // Assess
    expect(out).toEqual({
      entries: [
        { sequenceNumber: '100', entry: auditRecordEntry(SPOKE_A, a) },
        { sequenceNumber: '102', entry: auditRecordEntry(SPOKE_A, b) },
      ],
      skipped: ['103'],
    });
  });
});
