/**
 * Review 27d, fixed: a put applied whose reply was lost, retried by the SDK and refused (the case review 27b's
 * isOwnWrite handles), when another event about the same image (the next per-tag DELETE event, in a concurrent
 * invocation) merged on top of it between the landing and the retry. The record found is no longer exactly what we
 * wrote (version + 1), so it is not known as our write; the merge on it adds nothing (our event is there), so
 * newlyDeleted is false. The other writer found the record already countable, so it did not count either. The
 * message is reported done: the deletion is never counted and nothing comes back to recover it.
 */
import { describe, expect, it, vi } from 'vitest';
import { handler } from '../../functions/audit/handler.js';
import { AuditStore, documentClient } from '../../functions/shared/audit/store.js';
import { repositoryScope } from '../../functions/shared/state/breaker.js';
import { RateCounters, windowStart } from '../../functions/shared/state/counters.js';
import {
  auditHandlerHarness,
  handlerConfig,
  interceptDynamo,
  sentAgain,
  sqsMessage,
} from '../audit/handler-harness.js';
import { ACCOUNT, digestOf, imageActionEvent, REGION, REPO } from '../audit/helpers.js';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
});

const h = auditHandlerHarness('review27d-overtaken', () =>
  handlerConfig({
    thresholds: [{ scope: 'repository', window: '5m', maxDeletes: 5 }],
    breaker: { enabled: true },
  }),
);

describe('review 27d: a retried put overtaken by another writer', () => {
  it('counts the deletion (or reports the message failed so its redelivery counts it)', async () => {
    const time = new Date().toISOString();
    const digest = digestOf('overtaken');
    let done = false;
    interceptDynamo(async (command, send) => {
      if (!done && command.constructor.name === 'PutCommand' && command.input.TableName === h.tables.audit) {
        done = true;
        await send(); // applied; the reply is lost
        // Meanwhile another invocation merges the next per-tag DELETE event of the image (its own client)
        const other = new AuditStore(documentClient(), h.tables.audit);
        const merged = await other.record({
          registryId: ACCOUNT,
          region: REGION,
          repository: REPO,
          digest,
          evidence: 'image-action-event',
          status: 'DELETED',
          at: time,
          tags: ['v2'],
          eventId: 'ev-tag-v2',
        });
        expect(merged.newlyDeleted).toBe(false); // it found the deletion already recorded (ours)
        // The SDK's retry of our put is refused
        return send().catch((e: { $metadata?: { attempts?: number } }) => {
          e.$metadata = { ...e.$metadata, attempts: 2 };
          throw e;
        });
      }
      return send();
    });
    const records = [sqsMessage('m-v1', imageActionEvent({ id: 'ev-tag-v1', digest, time, tag: 'v1' }))];

    // Act: deliver; SQS sends it again if it was reported failed
    let response = await handler({ Records: records });
    if (response.batchItemFailures.length > 0) response = await handler({ Records: sentAgain(records) });

    // Assess: one deletion, counted once
    expect(done).toBe(true);
    expect(response).toEqual({ batchItemFailures: [] });
    const counter = await new RateCounters(h.db.doc, h.tables.state).get({
      scope: repositoryScope(REPO),
      window: '5m',
      start: windowStart(new Date(time), '5m'),
    });
    expect(counter?.count).toBe(1);
  });
});
