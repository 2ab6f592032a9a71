/**
 * Review 27c, findings 1 and 2, fixed: the audit function's counting after review 27b's fixes (functions/audit/
 * handler.ts, functions/shared/audit/store.ts isOwnWrite, functions/shared/state/counters.ts marks). Copies of one
 * event counted twice (a refused put taken for our own lost write); a count lost when the redelivery's batch read
 * failed. (Finding 3, a counter added again when a batch fails after some of its adds, is kept: it errs early.)
 */
import { PublishCommand } from '@aws-sdk/client-sns';
import { describe, expect, it, vi } from 'vitest';
import { handler } from '../../functions/audit/handler.js';
import { AuditStore } from '../../functions/shared/audit/store.js';
import { repositoryScope } from '../../functions/shared/state/breaker.js';
import { RateCounters, windowStart } from '../../functions/shared/state/counters.js';
import {
  auditHandlerHarness,
  awsError,
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

const h = auditHandlerHarness('review27c-count', () =>
  handlerConfig({
    thresholds: [{ scope: 'repository', window: '5m', maxDeletes: 1 }],
    breaker: { enabled: true },
  }),
);
const { sns } = h;
const message = sqsMessage;
const _useThresholds = (thresholds: unknown[]) =>
  h.useConfig(handlerConfig({ thresholds, breaker: { enabled: true } }));

const countIn = async (time: string, scope = repositoryScope(REPO)) =>
  (
    await new RateCounters(h.db.doc, h.tables.state).get({
      scope,
      window: '5m',
      start: windowStart(new Date(time), '5m'),
    })
  )?.count;

/** Our cleanup deleted the image and settled its record DELETED (steward-delete) before ECR's event came. */
const settledByCleanup = (digest: string, time: string) =>
  new AuditStore(h.db.doc, h.tables.audit).record({
    registryId: ACCOUNT,
    region: REGION,
    repository: REPO,
    digest,
    evidence: 'steward-delete',
    status: 'DELETED',
    at: time,
    tags: ['v1'],
    actor: { type: 'ecr-steward', runId: 'run-1', rulePriority: 1, reasons: ['expired'] },
  });

describe('review 27c: one event delivered twice (EventBridge / SQS at-least-once)', () => {
  it('counts a deletion once when a duplicate of its event is in the same batch', async () => {
    // Prepare: our cleanup settled the record DELETED; ECR's event about it is delivered twice (two messages,
    // one body), in one small batch (the one-put-per-message path, processed concurrently)
    const time = new Date().toISOString();
    const digest = digestOf('duplicate-same-batch');
    await settledByCleanup(digest, time);
    const body = imageActionEvent({ id: 'ev-dup', digest, time, tag: 'v1' });

    // Act
    const response = await handler({ Records: [message('m-1', body), message('m-1-dup', body)] });

    // Assess: one deletion; the limit is 1, so no alert and no breaker
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await countIn(time)).toBe(1);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });

  it('counts a deletion once when a duplicate of its event is handled by a concurrent invocation', async () => {
    // Prepare: as above, but the two copies go to two invocations running at once; both read the record before
    // either writes (held by a barrier on the audit PutItems, so the interleaving is certain)
    const time = new Date().toISOString();
    const digest = digestOf('duplicate-concurrent');
    await settledByCleanup(digest, time);
    const waiting: (() => void)[] = [];
    interceptDynamo(async (command, send) => {
      if (command.constructor.name === 'PutCommand' && command.input.TableName === h.tables.audit) {
        if (waiting.length < 1) await new Promise<void>((resolve) => waiting.push(resolve));
        else {
          const first = waiting.shift()!;
          first();
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      return send();
    });
    const body = imageActionEvent({ id: 'ev-dup-2', digest, time, tag: 'v1' });

    // Act
    const [a, b] = await Promise.all([
      handler({ Records: [message('m-a', body)] }),
      handler({ Records: [message('m-b', body)] }),
    ]);

    // Assess
    expect(a).toEqual({ batchItemFailures: [] });
    expect(b).toEqual({ batchItemFailures: [] });
    expect(await countIn(time)).toBe(1);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });
});

describe('review 27c: a count lost to a failure, and the redelivery', () => {
  it("counts the deletion when the redelivery's batch read of the audit records fails", async () => {
    // Prepare: the first attempt's counter UpdateItem is throttled (the message fails, as in review 27b); on
    // the redelivery the batch's BatchGetItem of the audit table is throttled (each message then reads its own)
    let throttleCounter = true;
    let throttleBatchRead = false;
    interceptDynamo((command, send) => {
      if (
        throttleCounter &&
        command.constructor.name === 'UpdateCommand' &&
        command.input.TableName === h.tables.state
      )
        return Promise.reject(awsError('ProvisionedThroughputExceededException', 'throttled'));
      if (
        throttleBatchRead &&
        command.constructor.name === 'BatchGetCommand' &&
        h.tables.audit in ((command.input.RequestItems ?? {}) as Record<string, unknown>)
      )
        return Promise.reject(awsError('ProvisionedThroughputExceededException', 'throttled'));
      return send();
    });
    const time = new Date().toISOString();
    const records = [message('m-x', imageActionEvent({ id: 'ev-x', digest: digestOf('read-fails'), time }))];

    // Act: deliver until the message is done (at most three times)
    const first = await handler({ Records: records });
    throttleCounter = false;
    throttleBatchRead = true;
    let again = await handler({ Records: sentAgain(records) });
    throttleBatchRead = false;
    if (again.batchItemFailures.length > 0) {
      again = await handler({ Records: sentAgain(records, 3) });
    }

    // Assess: the first attempt failed; once the message is done, its deletion is counted
    expect(first.batchItemFailures).toHaveLength(1);
    expect(again).toEqual({ batchItemFailures: [] });
    expect(await countIn(time)).toBe(1);
  });
});
