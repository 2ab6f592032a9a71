/**
 * Review 27b, finding 1, fixed: the once-per-window alert claim (RateCounters.claimAlert) is taken before the breaker
 * is opened and the alert published (functions/audit/core.ts crossThreshold / announce). When either of those
 * fails, the batch reports its messages as failures, but the claim stays, and the redelivery finds its records
 * DELETED (nothing counted, nothing checked). The crossing is never alerted and the breaker never opened.
 */
import { PublishCommand } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
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

const h = auditHandlerHarness('review27b-claim', () =>
  handlerConfig({
    thresholds: [{ scope: 'repository', window: '5m', maxDeletes: 1 }],
    breaker: { enabled: true },
  }),
);
const { sns } = h;
const message = sqsMessage;

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
    const breaker = await new BreakerStore(h.db.doc, h.tables.state).get(repositoryScope(REPO));
    expect(breaker).toMatchObject({ state: 'open' });
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
  });
});
