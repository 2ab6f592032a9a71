/**
 * Review #19: the audit handler's burst path (76aad55). A round of more than 100 signals is written by
 * AuditStore.recordAll in several transactions; when a later transaction fails, the handler falls back to
 * message-by-message puts. The records the earlier, committed transaction wrote are then found by the fallback
 * (their event ids are already there) and are neither written nor counted again, but they were never counted
 * by the burst path either (recordAll threw before returning their results). The delete-rate counters, and so
 * the alerts and the breaker, miss those deletions.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import { handler } from '../../functions/audit/handler.js';
import { AuditStore } from '../../functions/shared/audit/store.js';
import { auditHandlerHarness, sqsMessage } from '../audit/handler-harness.js';
import { ACCOUNT, digestOf, lifecycleEvent, REGION, REPO } from '../audit/helpers.js';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
});

const h = auditHandlerHarness('review19-burst');
const message = sqsMessage;

describe('review19: audit burst, a later transaction of a round fails', () => {
  it('counts every deletion the burst recorded, including those of the committed first transaction', async () => {
    // Prepare: 11 lifecycle events (a burst) of 10 images each: 110 signals in one round, two transactions
    // (100 + 10). The second transaction is refused (a server error); the first commits.
    const store = new AuditStore(h.db.doc, h.tables.audit);
    const ref = { registryId: ACCOUNT, region: REGION, repository: REPO };
    const events = Array.from({ length: 11 }, (_, m) =>
      lifecycleEvent({
        eventID: `lc-${m}`,
        images: Array.from({ length: 10 }, (_, i) => ({ digest: digestOf(`lc-${m}-${i}`) })),
      }),
    );
    const base = Object.getPrototypeOf(DynamoDBDocumentClient.prototype) as {
      send: (c: unknown) => Promise<unknown>;
    };
    const original = base.send;
    let transactions = 0;
    vi.spyOn(DynamoDBDocumentClient.prototype, 'send').mockImplementation(function (
      this: unknown,
      command: { constructor: { name: string } },
    ) {
      if (command.constructor.name === 'TransactWriteCommand' && ++transactions === 2)
        return Promise.reject(
          Object.assign(new Error('transaction refused'), {
            name: 'InternalServerError',
            $fault: 'server',
            $metadata: {},
          }),
        );
      return original.call(this, command);
    } as never);

    // Act
    const response = await handler({ Records: events.map((e, i) => message(`m-${i}`, e)) });

    // Assess: every image is recorded DELETED…
    expect(response).toEqual({ batchItemFailures: [] });
    for (let m = 0; m < 11; m++)
      for (let i = 0; i < 10; i++)
        expect((await store.get({ ...ref, digest: digestOf(`lc-${m}-${i}`) }))?.status).toBe('DELETED');
    // …and every one of the 110 deletions is counted, once, in the registry's counters of each window.
    const counters = (await h.db.scan(h.tables.state)).filter((item) =>
      String(item.pk).startsWith('COUNT#registry#'),
    );
    expect(counters.length).toBeGreaterThan(0);
    for (const counter of counters) expect(counter.count).toBe(110);
  });
});
