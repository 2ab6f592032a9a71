/**
 * Audit function: consumes the audit queue, which EventBridge fills with every delete signal (ECR Image
 * Action DELETE, CloudTrail PolicyExecutionEvent and BatchDeleteImage) and every registry operation (CloudTrail
 * management events of ECR, ECR Image Action PUSH). Records one audit item per deletion and per operation,
 * counts delete rates, alerts (naming who, once CloudTrail says), opens the breaker, and tells the security
 * topic about sensitive operations.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { OperationStore } from '../shared/audit/operations.js';
import type { AuditRecord } from '../shared/audit/records.js';
import { type AuditStore, recordKey } from '../shared/audit/store.js';
import { CLIENT_DEFAULTS } from '../shared/runtime/clients.js';
import { mapLimit } from '../shared/runtime/concurrency.js';
import { bundledConfig } from '../shared/runtime/config.js';
import { ENV } from '../shared/runtime/constants.js';
import { requireEnv } from '../shared/runtime/env.js';
import { StewardPorts, tablesFromEnv } from '../shared/runtime/ports.js';
import { type PendingAlertKey, PendingAlerts } from './attribution.js';
import {
  type AuditOutcome,
  type AuditPorts,
  attribute,
  attributionOf,
  countDeletions,
  deadlineReached,
  processCandidateBatch,
  processCandidates,
} from './core.js';
import { describeFindings, findingsOf, operationOf, type Trust, trustOf } from './operations.js';
import { deletedBefore, landedUnseen, oncePerRecord, receiveCount, uncountedOf } from './recount.js';
import { AUDIT_ENV, type AuditEvent, attributionDeadlineMessage, safeParseAuditEvent } from './schema.js';
import { type Candidate, extractCandidates } from './signals.js';

const logger = new Logger({ serviceName: 'ecr-steward-audit' });
/** Records of one batch processed at once. */
const RECORD_CONCURRENCY = 8;
/**
 * Above this many delete messages in a batch (a burst), their records are written in transactions of up to 100;
 * a small batch writes one conditional put per message, where a transaction would save little.
 */
const BULK_MESSAGES = 10;
const metrics = new Metrics({ namespace: 'EcrSteward', serviceName: 'audit' });

let snsClient: SNSClient | undefined;
let sqsClient: SQSClient | undefined;
const sns = () => (snsClient ??= new SNSClient(CLIENT_DEFAULTS));
const sqs = () => (sqsClient ??= new SQSClient(CLIENT_DEFAULTS));

/** The audit function's ports beyond the deletion audit: operations, the security topic, who belongs. */
export interface OperationPorts {
  readonly operations: Pick<OperationStore, 'record'>;
  readonly notifySecurity: (subject: string, message: string) => Promise<void>;
  readonly trust: Trust;
}

/** Builds the ports from the environment; exported for the CLI and the local cloud. */
export function auditPorts(
  config = bundledConfig(),
): AuditPorts & OperationPorts & { readonly store: AuditStore } {
  const ports = new StewardPorts(config, { tables: tablesFromEnv() });
  const queueUrl = process.env[AUDIT_ENV.queueUrl];
  return {
    operations: new OperationStore(ports.documentClient, ports.table('audit'), {
      ttlDays: config.audit.operationRetentionDays,
    }),
    notifySecurity: async (subject, message) => {
      await sns().send(
        new PublishCommand({
          // The security topic; a stack that gives none (older wiring) sends to the alerts topic instead.
          TopicArn: process.env[ENV.securityTopic] || requireEnv(ENV.alertsTopic),
          Subject: subject,
          Message: message,
        }),
      );
    },
    trust: trustOf(config, process.env[ENV.registryId] ?? '', {
      roleArns: (process.env[AUDIT_ENV.ownRoleArns] ?? '').split(',').filter(Boolean),
      rolePrefix: process.env[AUDIT_ENV.ownRolePrefix],
    }),
    // Without the queue's URL the deadline cannot be scheduled: alerts then go out at once (no attribution wait).
    attribution: queueUrl
      ? {
          pending: new PendingAlerts(ports.documentClient, ports.table('state')),
          scheduleDeadline: (key, delaySeconds) => scheduleDeadline(queueUrl, key, delaySeconds),
        }
      : undefined,
    audit: ports.audit,
    store: ports.audit,
    counters: ports.counters,
    breaker: ports.breaker,
    // Where a breaker opens, even when the batch fails after: the alarm on it must not wait for the alert.
    breakerOpened: () => metrics.addMetric('BreakerOpened', MetricUnit.Count, 1),
    imageExists: async (repositoryName, imageDigest) => {
      try {
        return (await ports.registry.existingDigests(repositoryName, [imageDigest])).has(imageDigest);
      } catch (e) {
        if ((e as Error).name === 'RepositoryNotFoundException') return false;
        throw e;
      }
    },
    notify: async (subject, message) => {
      await sns().send(
        new PublishCommand({ TopicArn: requireEnv(ENV.alertsTopic), Subject: subject, Message: message }),
      );
    },
  };
}

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const config = bundledConfig();
  const ports = auditPorts(config);
  // A message fails once: it may fail its audit and then its count, and is reported (and counted) once.
  const failures = new Set<string>();
  const failed = (record: SQSRecord, e: unknown) => {
    logger.error('audit record failed; it will be retried', {
      messageId: record.messageId,
      error: e as Error,
    });
    if (failures.has(record.messageId)) return;
    failures.add(record.messageId);
    // The AuditWriteFailures alarm (lib/constructs/monitoring.ts) watches this: > 0 in 5 minutes.
    metrics.addMetric('AuditWriteFailures', MetricUnit.Count, 1);
  };
  // Records are independent: every audit write is a versioned merge, so signals about one deletion converge
  // in any order (as they do across concurrent invocations). A throttled record no longer holds up the rest.
  const deletes: DeleteMessage[] = [];
  const recountLater: SQSRecord[] = [];
  await mapLimit(event.Records, RECORD_CONCURRENCY, async (record) => {
    try {
      const signal = await processRecord(record, config, ports);
      if (signal) deletes.push(signal);
    } catch (e) {
      failed(record, e);
    }
  });
  if (deletes.length > 0) {
    // The delete signals of the whole batch: their records are read in one consistent BatchGetItem, and each
    // message's merge is written on what it found (a conditional put, no read of its own). A record that
    // changed since (another message about the same image) fails its condition, which returns the record
    // found, and the merge is made again on it.
    const known = await readBatch(deletes, ports.store).catch((e: unknown) => {
      logger.warn('audit records could not be read for the batch; each message reads its own', {
        error: e as Error,
      });
      return undefined;
    });
    // Without the batch's read, what an earlier attempt recorded but did not count cannot be told: a message sent
    // again is audited as usual, and then sent once more, for a batch that reads it to count what is owed.
    if (!known) for (const d of deletes) if (receiveCount(d.record) > 1) recountLater.push(d.record);
    const batchPorts = known ? { ...ports, audit: knownAudit(ports.store, known) } : ports;
    // The records as they were before this batch wrote anything (knownAudit keeps `known` up to date).
    const before = known ? new Map(known) : undefined;
    const newlyDeleted: { record: AuditRecord; group: number }[] = [];
    const countLater = (record: AuditRecord, group: number) => newlyDeleted.push({ record, group });
    // A burst: the batch's records are written in transactions of up to 100 (one call, not one per message).
    // Should a transaction fail, the messages are processed one by one below, each failing alone; what the
    // transactions already wrote is found there and not written (or counted) twice.
    let remaining = deletes.map((message, group) => ({ message, group }));
    let burstFailed = false;
    if (known && deletes.length > BULK_MESSAGES) {
      try {
        const outcomes = await processCandidateBatch(
          deletes.map((d) => d.candidates),
          ports,
          ports.store,
          known,
          recordKey,
          countLater,
        );
        await mapLimit(remaining, RECORD_CONCURRENCY, async ({ message, group }) => {
          try {
            await audited(message, outcomes[group]!, config, batchPorts);
          } catch (e) {
            failed(message.record, e);
          }
        });
        remaining = [];
      } catch (e) {
        burstFailed = true;
        logger.warn('the batch transaction failed; its messages are audited one by one', {
          error: e as Error,
        });
      }
    }
    await mapLimit(remaining, RECORD_CONCURRENCY, async ({ message, group }) => {
      try {
        await auditDeletion(message, config, batchPorts, (record) => countLater(record, group));
      } catch (e) {
        failed(message.record, e);
      }
    });
    // Deletions an earlier attempt of a message recorded and never counted (it failed after its write) are
    // counted with the batch's new ones.
    const now = new Date();
    if (before) {
      // A failed transaction may have been written all the same (its answer lost): what it wrote is found by the
      // messages audited one by one as already there, and counted here.
      const owed = [
        ...deletedBefore(deletes, before, newlyDeleted),
        ...(burstFailed && known ? landedUnseen(deletes, before, known, newlyDeleted) : []),
      ];
      const uncounted = await uncountedOf(owed, ports).catch((e: unknown) => {
        for (const group of new Set(owed.map((d) => d.group))) failed(deletes[group]!.record, e);
        return [];
      });
      if (uncounted.length > 0)
        logger.warn('deletions recorded earlier and never counted are counted now', {
          count: uncounted.length,
        });
      for (const d of uncounted) countLater(known?.get(recordKey(d.record)) ?? d.record, d.group);
    }
    // The batch's new deletions are counted together: one ADD per scope, window and window start. Once their
    // thresholds are checked they are marked counted; a mark that cannot be written costs at most a second count
    // (an alert too early), never a missed one.
    // One deletion counts once, however many of the batch's messages found it new (copies of one event merged
    // at the same moment each see their write as the one that landed).
    const toCount = oncePerRecord(newlyDeleted);
    try {
      await countDeletions(config, toCount, now, batchPorts);
      if (toCount.length > 0 && ports.counters.markCounted)
        await ports.counters
          .markCounted(
            toCount.map((d) => recordKey(d.record)),
            now,
          )
          .catch((e: unknown) =>
            logger.warn('deletions counted but not marked so; a redelivery may count them again', {
              error: e as Error,
            }),
          );
    } catch (e) {
      for (const group of new Set(newlyDeleted.map((d) => d.group))) failed(deletes[group]!.record, e);
    }
    for (const record of recountLater)
      failed(record, new Error('sent again: the batch could not read its records to count what was owed'));
  }
  metrics.publishStoredMetrics();
  return { batchItemFailures: [...failures].map((itemIdentifier) => ({ itemIdentifier })) };
}

/** A message carrying delete signals, parsed and extracted, waiting for the batch's read of its records. */
interface DeleteMessage {
  readonly record: SQSRecord;
  readonly event: AuditEvent;
  readonly candidates: readonly Candidate[];
}

/** The records every delete signal of the batch names, keyed by `recordKey`, read at once. */
async function readBatch(
  deletes: readonly DeleteMessage[],
  store: AuditStore,
): Promise<Map<string, AuditRecord | undefined>> {
  const signals = deletes.flatMap((d) => d.candidates.map((c) => c.signal));
  const found = await store.getAll(signals);
  // Every key asked is known: a record absent from the answer does not exist (yet).
  return new Map(signals.map((s) => [recordKey(s), found.get(recordKey(s))]));
}

/**
 * The audit store over what the batch read: `get` answers from it, and `record` merges on it with one
 * conditional put (AuditStore.recordAll of one signal), keeping it up to date for the batch's other messages.
 * A key the batch did not read is read as usual.
 */
function knownAudit(store: AuditStore, known: Map<string, AuditRecord | undefined>): AuditPorts['audit'] {
  return {
    get: async (signal) => {
      const key = recordKey(signal);
      return known.has(key) ? known.get(key) : store.get(signal);
    },
    record: async (signal) => {
      const key = recordKey(signal);
      if (!known.has(key)) return store.record(signal);
      const [result] = await store.recordAll([signal], [known.get(key)]);
      if (result?.record) known.set(key, result.record);
      return result!;
    },
    byRepository: (ref, since, limit) => store.byRepository(ref, since, limit),
    recent: (since, limit) => store.recent(since, limit),
  };
}

/** SQS takes a message delay of at most 15 minutes. */
const MAX_DELAY_SECONDS = 900;

async function scheduleDeadline(queueUrl: string, key: PendingAlertKey, delaySeconds: number): Promise<void> {
  await sqs().send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: JSON.stringify({ kind: 'attribution-deadline', pk: key.pk, sk: key.sk }),
      DelaySeconds: Math.min(MAX_DELAY_SECONDS, Math.max(0, Math.ceil(delaySeconds))),
    }),
  );
}

/** How long an early deadline message waits in the invocation before it is sent again (clock skew, or a queue without delays). */
const EARLY_DEADLINE_PAUSE_MS = 1000;

/**
 * Processes one message, except the delete signals it carries: those are returned, for the batch's read of
 * their records (`auditDeletion`).
 */
async function processRecord(
  record: SQSRecord,
  config: ReturnType<typeof bundledConfig>,
  ports: AuditPorts & OperationPorts,
): Promise<DeleteMessage | undefined> {
  let json: unknown;
  try {
    json = JSON.parse(record.body);
  } catch (e) {
    return deadLetter(record, `body is not JSON: ${(e as Error).message}`);
  }
  if (
    typeof json === 'object' &&
    json !== null &&
    (json as { kind?: unknown }).kind === 'attribution-deadline'
  ) {
    const deadline = attributionDeadlineMessage.safeParse(json);
    if (!deadline.success)
      return deadLetter(record, `malformed attribution deadline: ${deadline.error.message}`);
    const left = await deadlineReached(config, deadline.data, new Date(), ports);
    if (left > 0 && ports.attribution) {
      await new Promise((r) => setTimeout(r, Math.min(EARLY_DEADLINE_PAUSE_MS, left * 1000)));
      await ports.attribution.scheduleDeadline(deadline.data, left - EARLY_DEADLINE_PAUSE_MS / 1000);
    }
    return;
  }
  const parsed = safeParseAuditEvent(json);
  if (!parsed.success) {
    return deadLetter(
      record,
      `not a delete signal ECR Steward knows: ${parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ')}`,
    );
  }
  const operation = operationOf(parsed.data);
  if (operation) {
    const { created } = await ports.operations.record(operation);
    // A redelivered event finds its record: its alert, if any, was sent with the first delivery.
    const findings = created ? findingsOf(operation, config, ports.trust) : [];
    if (findings.length > 0) await ports.notifySecurity(...describeFindings(operation, findings));
    logger.info('registry operation audited', {
      eventId: operation.eventId,
      operation: operation.operation,
      repository: operation.repository,
      principal: operation.principal,
      created,
      findings: findings.map((f) => f.title),
    });
    if (created) metrics.addMetric('OperationsRecorded', MetricUnit.Count, 1);
    if (findings.length > 0) metrics.addMetric('SecurityFindings', MetricUnit.Count, findings.length);
    return;
  }
  const extraction = extractCandidates(parsed.data);
  if (extraction.kind === 'malformed') return deadLetter(record, extraction.reason);
  if (extraction.kind === 'ignored') {
    logger.info('signal ignored', { eventId: parsed.data.id, reason: extraction.reason });
    return;
  }
  for (const note of extraction.notes) logger.warn(note, { eventId: parsed.data.id });
  return { record, event: parsed.data, candidates: extraction.candidates };
}

/**
 * Records one message's delete signals (its new deletions go to `countLater`, counted with the batch's), then
 * takes its attribution to pending alerts.
 */
async function auditDeletion(
  message: DeleteMessage,
  config: ReturnType<typeof bundledConfig>,
  ports: AuditPorts,
  countLater: (record: AuditRecord) => void,
): Promise<void> {
  const outcome = await processCandidates(config, message.candidates, new Date(), ports, countLater);
  await audited(message, outcome, config, ports);
}

/** Logs a message's audit, and takes its attribution (a CloudTrail record's) to the pending alerts. */
async function audited(
  message: DeleteMessage,
  outcome: AuditOutcome,
  config: ReturnType<typeof bundledConfig>,
  ports: AuditPorts,
): Promise<void> {
  const { event, candidates } = message;
  logger.info('delete signal audited', {
    eventId: event.id,
    detailType: event['detail-type'],
    ...outcome,
  });
  metrics.addMetric('DeletesRecorded', MetricUnit.Count, outcome.newlyDeleted);
  const attribution = attributionOf(event, candidates);
  if (attribution) {
    const sent = await attribute(config, attribution.repository, attribution, new Date(), ports);
    if (sent > 0) logger.info('attributed alert sent', { eventId: event.id, sent });
  }
}

/** A malformed event goes to the dead-letter queue with its reason; the rest of the batch goes on. */
async function deadLetter(record: SQSRecord, reason: string): Promise<undefined> {
  logger.error('malformed event sent to the dead-letter queue', { messageId: record.messageId, reason });
  metrics.addMetric('MalformedEvents', MetricUnit.Count, 1);
  await sqs().send(
    new SendMessageCommand({
      QueueUrl: requireEnv(ENV.auditDlqUrl),
      MessageBody: record.body,
      MessageAttributes: { reason: { DataType: 'String', StringValue: reason.slice(0, 1000) } },
    }),
  );
  return undefined;
}
