/**
 * Review 27b, findings 2 and 3, fixed: a deletion is counted only by the write that first made its record DELETED
 * (RecordResult.newlyDeleted), and only in the invocation that made that write. When the count cannot be added
 * (the counter's UpdateItem throttled), or the record's write lands but its reply is lost, the messages are
 * reported failed and redelivered, and the redelivery finds the record DELETED with its event id: the deletion
 * is never counted, so a threshold crossing is never seen.
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

const h = auditHandlerHarness('review27b-count', () =>
  handlerConfig({
    thresholds: [{ scope: 'repository', window: '5m', maxDeletes: 1 }],
    breaker: { enabled: true },
  }),
);
const { sns } = h;
const message = sqsMessage;

const countIn = async (time: string) =>
  (
    await new RateCounters(h.db.doc, h.tables.state).get({
      scope: repositoryScope(REPO),
      window: '5m',
      start: windowStart(new Date(time), '5m'),
    })
  )?.count;

describe('review 27b: deletions counted only by the invocation that first wrote them', () => {
  it('counts the deletions and alerts on the redelivery when the counter add was throttled the first time', async () => {
    // Prepare: the first invocation's counter UpdateItems are refused (throttled past the SDK's retries)
    let throttle = true;
    interceptDynamo((command, send) => {
      if (
        throttle &&
        command.constructor.name === 'UpdateCommand' &&
        command.input.TableName === h.tables.state
      )
        return Promise.reject(awsError('ProvisionedThroughputExceededException', 'throttled'));
      return send();
    });
    const time = new Date().toISOString();
    const records = ['a', 'b'].map((x) =>
      message(`m-${x}`, imageActionEvent({ id: `ev-add-${x}`, digest: digestOf(`add-${x}`), time })),
    );

    // Act
    const first = await handler({ Records: records });
    throttle = false;
    const failed = new Set(first.batchItemFailures.map((f) => f.itemIdentifier));
    const again = await handler({ Records: sentAgain(records.filter((r) => failed.has(r.messageId))) });

    // Assess
    expect(first.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['m-a', 'm-b']);
    expect(again).toEqual({ batchItemFailures: [] });
    // Two deletions happened in the window: they must be counted (once), and the limit of 1 alerted.
    expect(await countIn(time)).toBe(2);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
  });

  it("counts a deletion whose record write landed but whose reply was lost, on the message's redelivery", async () => {
    // Prepare: the record's conditional PutItem is applied by DynamoDB, but the reply never arrives
    let lose = true;
    interceptDynamo(async (command, send) => {
      if (lose && command.constructor.name === 'PutCommand' && command.input.TableName === h.tables.audit) {
        lose = false;
        await send();
        throw awsError('TimeoutError', 'socket hang up');
      }
      return send();
    });
    const time = new Date().toISOString();
    const digest = digestOf('lost-reply');
    const records = [message('m-lost', imageActionEvent({ id: 'ev-lost', digest, time }))];

    // Act
    const first = await handler({ Records: records });
    const again = await handler({ Records: sentAgain(records) });

    // Assess
    expect(first).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-lost' }] });
    expect(again).toEqual({ batchItemFailures: [] });
    expect(
      await new AuditStore(h.db.doc, h.tables.audit).get({
        registryId: ACCOUNT,
        region: REGION,
        repository: REPO,
        digest,
      }),
    ).toMatchObject({ status: 'DELETED', eventIds: ['ev-lost'] });
    // One deletion: it must be counted once.
    expect(await countIn(time)).toBe(1);
  });
});

describe('deletions counted once, and marked so', () => {
  it('does not count a deletion again when its message comes again after it was counted', async () => {
    // Prepare: one deletion, recorded and counted; SQS sends its message again (a duplicate delivery, or the
    // message failed after its count for another reason), then another event about the same image comes
    const time = new Date().toISOString();
    const digest = digestOf('counted-once');
    const records = [message('m-1', imageActionEvent({ id: 'ev-1', digest, time, tag: 'v1' }))];
    const first = await handler({ Records: records });

    // Act
    const again = await handler({ Records: sentAgain(records) });
    const other = await handler({
      Records: [message('m-2', imageActionEvent({ id: 'ev-2', digest, time, tag: 'v2' }))],
    });

    // Assess: both events recorded on the one record, the deletion counted once
    expect([first, again, other]).toEqual(Array(3).fill({ batchItemFailures: [] }));
    expect(
      await new AuditStore(h.db.doc, h.tables.audit).get({
        registryId: ACCOUNT,
        region: REGION,
        repository: REPO,
        digest,
      }),
    ).toMatchObject({ status: 'DELETED', eventIds: ['ev-1', 'ev-2'] });
    expect(await countIn(time)).toBe(1);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });
});

/**
 * The SDK's own retry (DYNAMODB_CLIENT_DEFAULTS: standard mode, 10 attempts) resends a request whose reply was
 * lost (TimeoutError, a reset connection, a 500): the interceptor below applies the first request and answers
 * with the retry's reply, as the SDK would.
 */
describe('review 27b: a write applied, its reply lost, and retried by the SDK in the same invocation', () => {
  it('counts a deletion whose conditional PutItem was applied and retried by the SDK', async () => {
    let retried = false;
    interceptDynamo(async (command, send) => {
      if (
        !retried &&
        command.constructor.name === 'PutCommand' &&
        command.input.TableName === h.tables.audit
      ) {
        retried = true;
        await send(); // applied; the reply is lost
        // The SDK's retry: ConditionalCheckFailedException (ALL_OLD), with the attempts its retry middleware counts
        return send().catch((e: { $metadata?: { attempts?: number } }) => {
          e.$metadata = { ...e.$metadata, attempts: 2 };
          throw e;
        });
      }
      return send();
    });
    const time = new Date().toISOString();
    const response = await handler({
      Records: [
        message('m-retry', imageActionEvent({ id: 'ev-retry', digest: digestOf('sdk-retry'), time })),
      ],
    });

    expect(retried).toBe(true);
    expect(response).toEqual({ batchItemFailures: [] }); // reported done...
    expect(await countIn(time)).toBe(1); // ...so its deletion must have been counted
  });
});
