/**
 * The audit handler's batch read (functions/audit/handler.ts): the records every delete signal of an SQS batch
 * names are read in one consistent BatchGetItem, and each message's merge is one conditional PutItem on what
 * was read (no GetItem), with the same records as before. DynamoDB is dynalite behind the local proxy; ECR,
 * SNS and SQS are mocked at the SDK boundary.
 */
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import { handler } from '../../functions/audit/handler.js';
import { AuditStore } from '../../functions/shared/audit/store.js';
import { auditHandlerHarness, sqsMessage } from './handler-harness.js';
import { ACCOUNT, digestOf, imageActionEvent, REGION, REPO } from './helpers.js';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
});

const h = auditHandlerHarness('handler-batch');
const message = sqsMessage;

/** The DynamoDB commands the handler sends, by name. */
function journal(): string[] {
  const calls: string[] = [];
  const base = Object.getPrototypeOf(DynamoDBDocumentClient.prototype) as {
    send: (c: unknown) => Promise<unknown>;
  };
  const original = base.send;
  vi.spyOn(DynamoDBDocumentClient.prototype, 'send').mockImplementation(function (
    this: unknown,
    command: { constructor: { name: string } },
  ) {
    calls.push(command.constructor.name);
    return original.call(this, command);
  } as never);
  return calls;
}

describe('audit handler, batch read', () => {
  it("reads a batch's records in one BatchGetItem, confirms each with one conditional put and counts the batch at once", async () => {
    // Prepare: three deletions our cleanup settled and one external deletion; then one event delivered again
    const store = new AuditStore(h.db.doc, h.tables.audit);
    const ours = ['b-1', 'b-2', 'b-3'].map(digestOf);
    const ref = { registryId: ACCOUNT, region: REGION, repository: REPO };
    for (const digest of ours) {
      const base = {
        ...ref,
        digest,
        at: '2026-06-01T12:00:00.000Z',
        actor: { type: 'ecr-steward' as const, runId: 'run-1', rulePriority: 1 },
      };
      await store.record({ ...base, status: 'PENDING', evidence: 'steward-write-ahead' });
      await store.record({ ...base, status: 'DELETED', evidence: 'steward-delete' });
    }
    const external = digestOf('b-ext');
    const events = [...ours, external].map((digest, i) => imageActionEvent({ id: `ev-${i}`, digest }));
    const calls = journal();

    // Act
    const response = await handler({ Records: events.map((e, i) => message(`m-${i}`, e)) });
    const first = calls.splice(0);
    const again = await handler({ Records: [message('m-again', events[0])] });

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(again).toEqual({ batchItemFailures: [] });
    // One read for the batch, one conditional put per new fact, the default thresholds' four counters (registry and
    // repository, two windows) each added to once with their samples in the same update, the repository's image
    // count read once, then the batch's deletions marked counted in one BatchWriteItem.
    expect(first).toEqual([
      'BatchGetCommand',
      ...Array(4).fill('PutCommand'),
      ...Array(4).fill('UpdateCommand'),
      'GetCommand',
      'BatchWriteCommand',
    ]);
    // The redelivery adds nothing: read, and nothing written.
    expect(calls).toEqual(['BatchGetCommand']);
    for (const [i, digest] of ours.entries())
      expect(await store.get({ ...ref, digest })).toMatchObject({
        status: 'DELETED',
        version: 3,
        evidence: ['image-action-event', 'steward-delete', 'steward-write-ahead'],
        eventIds: [`ev-${i}`],
        actor: { type: 'ecr-steward', runId: 'run-1' },
      });
    expect(await store.get({ ...ref, digest: external })).toMatchObject({
      status: 'DELETED',
      version: 1,
      evidence: ['image-action-event'],
      eventIds: ['ev-3'],
      actor: { type: 'unknown' },
    });
  });

  it('writes a burst in one transaction, a record named twice in a second round, with the records of one by one', async () => {
    // Prepare: 11 external deletions, one of them reported per tag (two events for one image)
    const store = new AuditStore(h.db.doc, h.tables.audit);
    const ref = { registryId: ACCOUNT, region: REGION, repository: REPO };
    const digests = Array.from({ length: 11 }, (_, i) => digestOf(`burst-${i}`));
    const events = [
      ...digests.map((digest, i) => imageActionEvent({ id: `ev-${i}`, digest, tag: `t${i}` })),
      imageActionEvent({ id: 'ev-again', digest: digests[0]!, tag: 'latest' }),
    ];
    const calls = journal();

    // Act
    const response = await handler({ Records: events.map((e, i) => message(`m-${i}`, e)) });

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(calls.filter((c) => c !== 'UpdateCommand' && c !== 'GetCommand')).toEqual([
      'BatchGetCommand',
      'TransactWriteCommand',
      'PutCommand',
      // The 11 deletions marked counted.
      'BatchWriteCommand',
    ]);
    expect(await store.get({ ...ref, digest: digests[0]! })).toMatchObject({
      status: 'DELETED',
      version: 2,
      tags: ['latest', 't0'],
      eventIds: ['ev-0', 'ev-again'],
    });
    for (const [i, digest] of digests.entries())
      if (i > 0)
        expect(await store.get({ ...ref, digest })).toMatchObject({
          status: 'DELETED',
          version: 1,
          eventIds: [`ev-${i}`],
        });
  });

  it('audits a burst message by message when its transaction fails, each message failing alone', async () => {
    // Prepare: every transaction is refused; the put of one record too
    const store = new AuditStore(h.db.doc, h.tables.audit);
    const ref = { registryId: ACCOUNT, region: REGION, repository: REPO };
    const digests = Array.from({ length: 12 }, (_, i) => digestOf(`fallback-${i}`));
    const base = Object.getPrototypeOf(DynamoDBDocumentClient.prototype) as {
      send: (c: unknown) => Promise<unknown>;
    };
    const original = base.send;
    const refused = (message: string) =>
      Promise.reject(
        Object.assign(new Error(message), { name: 'InternalServerError', $fault: 'server', $metadata: {} }),
      );
    vi.spyOn(DynamoDBDocumentClient.prototype, 'send').mockImplementation(function (
      this: unknown,
      command: { constructor: { name: string }; input: { Item?: { digest?: string } } },
    ) {
      if (command.constructor.name === 'TransactWriteCommand') return refused('transaction refused');
      if (command.constructor.name === 'PutCommand' && command.input.Item?.digest === digests[5])
        return refused('put refused');
      return original.call(this, command);
    } as never);

    // Act
    const response = await handler({
      Records: digests.map((digest, i) => message(`m-${i}`, imageActionEvent({ id: `ev-${i}`, digest }))),
    });

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-5' }] });
    for (const [i, digest] of digests.entries())
      expect((await store.get({ ...ref, digest }))?.status).toBe(i === 5 ? undefined : 'DELETED');
  });
});
