/**
 * Review 27d, fixed: the burst path (more than BULK_MESSAGES delete messages, processCandidateBatch) when the batch
 * transaction is applied by DynamoDB but its reply is lost (the failure review 27b's "record write landed but whose
 * reply was lost" test models for the one-put path, here for the TransactWriteItems: the SDK's retries failed too,
 * or its retry quota was drained by the burst's throttling). The handler then audits the messages one by one on the
 * batch's read (`known`, not updated for the failed call): each put is refused, the record found already carries
 * the message's event (mergeSignal: nothing to add), so nothing is newly DELETED and every message is reported done.
 * Nobody counts the deletions, and no message comes back (ApproximateReceiveCount > 1) to recover them.
 */
import { PublishCommand } from '@aws-sdk/client-sns';
import { describe, expect, it, vi } from 'vitest';
import { handler } from '../../functions/audit/handler.js';
import { repositoryScope } from '../../functions/shared/state/breaker.js';
import { RateCounters, windowStart } from '../../functions/shared/state/counters.js';
import {
  auditHandlerHarness,
  handlerConfig,
  interceptDynamo,
  sentAgain,
  sqsMessage,
} from '../audit/handler-harness.js';
import { digestOf, imageActionEvent, REPO } from '../audit/helpers.js';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
});

const h = auditHandlerHarness('review27d-burst', () =>
  handlerConfig({
    thresholds: [{ scope: 'repository', window: '5m', maxDeletes: 5 }],
    breaker: { enabled: true },
  }),
);

const countIn = async (time: string) =>
  (
    await new RateCounters(h.db.doc, h.tables.state).get({
      scope: repositoryScope(REPO),
      window: '5m',
      start: windowStart(new Date(time), '5m'),
    })
  )?.count;

describe('review 27d: a burst whose transaction landed but whose call failed', () => {
  it('counts the burst (or reports it failed so a redelivery counts it)', async () => {
    // Prepare: 12 DELETE events (a burst: one transaction); the transaction is applied, its reply lost
    let lost = false;
    interceptDynamo(async (command, send) => {
      if (!lost && command.constructor.name === 'TransactWriteCommand') {
        lost = true;
        await send(); // applied by DynamoDB
        throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError', $metadata: {} });
      }
      return send();
    });
    const time = new Date().toISOString();
    const records = Array.from({ length: 12 }, (_, i) =>
      sqsMessage(`m-${i}`, imageActionEvent({ id: `ev-burst-${i}`, digest: digestOf(`burst-${i}`), time })),
    );

    // Act: deliver; SQS sends again what was reported failed (at most twice more)
    let response = await handler({ Records: records });
    for (let n = 2; n <= 3 && response.batchItemFailures.length > 0; n++) {
      const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
      response = await handler({
        Records: sentAgain(
          records.filter((r) => failed.has(r.messageId)),
          n,
        ),
      });
    }

    // Assess: twelve deletions in the window; the limit of 5 was crossed, so one alert
    expect(lost).toBe(true);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await countIn(time)).toBe(12);
    expect(h.sns.commandCalls(PublishCommand)).toHaveLength(1);
  });
});
