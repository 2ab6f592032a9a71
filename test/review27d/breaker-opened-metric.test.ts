/**
 * Review 27d, fixed: the breaker opened by a crossing whose alert could not be published the first time. The claim is given
 * back (core.ts announced), the batch fails, and the redelivery counts again, claims again and "opens" the breaker
 * again: BreakerStore.open answers false (it is open already), so the alert the operator finally gets says "The
 * breaker ... was already open" (no reset instructions), and neither invocation adds the BreakerOpened metric that
 * the `breaker-opened` alarm watches (handler.ts adds it only from the crossings of a countDeletions that returned).
 */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { PublishCommand } from '@aws-sdk/client-sns';
import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { handler } from '../../functions/audit/handler.js';
import { BreakerStore, repositoryScope } from '../../functions/shared/state/breaker.js';
import { auditHandlerHarness, handlerConfig, sentAgain, sqsMessage } from '../audit/handler-harness.js';
import { digestOf, imageActionEvent, REPO } from '../audit/helpers.js';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
});

const h = auditHandlerHarness('review27d-metric', () =>
  handlerConfig({
    thresholds: [{ scope: 'repository', window: '5m', maxDeletes: 1 }],
    breaker: { enabled: true },
  }),
);

function crossingBatch(label: string): SQSRecord[] {
  const time = new Date().toISOString();
  return ['a', 'b'].map((x) =>
    sqsMessage(
      `m-${label}-${x}`,
      imageActionEvent({ id: `ev-${label}-${x}`, digest: digestOf(`${label}-${x}`), time }),
    ),
  );
}

describe('review 27d: the breaker opened while its alert failed once', () => {
  it('reports the breaker opened (metric and alert) once the alert goes out', async () => {
    // Prepare: SNS refuses the first publish; every metric the handler adds is recorded
    h.sns.reset();
    h.sns.on(PublishCommand).rejectsOnce(new Error('SNS unavailable')).resolves({ MessageId: 'sns-2' });
    const added: string[] = [];
    const addMetric = Metrics.prototype.addMetric;
    vi.spyOn(Metrics.prototype, 'addMetric').mockImplementation(function (this: Metrics, name, unit, value) {
      added.push(name);
      return addMetric.call(this, name, unit, value);
    });
    const records = crossingBatch('metric');

    // Act: the batch, then SQS's redelivery of what it reported failed
    const first = await handler({ Records: records });
    const failed = new Set(first.batchItemFailures.map((f) => f.itemIdentifier));
    const again = await handler({ Records: sentAgain(records.filter((r) => failed.has(r.messageId))) });

    // Assess: the breaker is open, and the alert that went out says so (how to reset it); the metric was added
    expect(first.batchItemFailures.length).toBeGreaterThan(0);
    expect(again).toEqual({ batchItemFailures: [] });
    const state = await new BreakerStore(h.db.doc, h.tables.state).get(repositoryScope(REPO));
    expect(state?.state).toBe('open');
    const sent = h.sns.commandCalls(PublishCommand).at(-1)!.args[0].input.Message ?? '';
    expect({
      breakerOpenedMetric: added.includes('BreakerOpened'),
      alertSaysOpen: sent.includes('is OPEN'),
    }).toEqual({
      breakerOpenedMetric: true,
      alertSaysOpen: true,
    });
  });
});
