/**
 * Spoke forwarder (organization): puts every audit record (from the audit table's stream) and every alert
 * (from a queue subscribed to the spoke's alerts, security, notices and approvals topics) on the hub bus as
 * `ECR Steward Audit Record` / `ECR Steward Alert` events (docs/org-events.md). At least once: a record is
 * reported failed until PutEvents accepted it; the hub's writes are idempotent.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent, SQSEvent } from 'aws-lambda';
import type { OrgEntry } from '../shared/org/events.js';
import { ENV } from '../shared/runtime/constants.js';
import { functionRegion, requireEnv } from '../shared/runtime/env.js';
import { eventsClientFor } from './clients.js';
import {
  alertFromMessage,
  type BusEntry,
  busEntry,
  type PutEvents,
  type SendOptions,
  type SpokeTopics,
  sendAll,
  streamEntries,
} from './forward-core.js';

const logger = new Logger({ serviceName: 'ecr-steward-org-forwarder' });
const metrics = new Metrics({ namespace: 'EcrSteward', serviceName: 'org-forwarder' });

/** Partial batch response, for the stream and the queue alike. */
export interface BatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** Overrides for tests (backoff without waiting). */
export const forwarderOptions: { send: SendOptions } = { send: {} };

/** PutEvents on the client of the bus's region. */
const putEventsOn =
  (busArn: string): PutEvents =>
  (entries) =>
    eventsClientFor(busArn).send(new PutEventsCommand({ Entries: entries.map((e) => ({ ...e })) }));

/** Entry point for both the audit-table stream and the alerts queue. */
export async function handler(
  event: DynamoDBStreamEvent | SQSEvent,
  context?: Pick<Context, 'invokedFunctionArn'>,
): Promise<BatchResponse> {
  const env = {
    account: process.env[ENV.registryId] || context?.invokedFunctionArn.split(':')[4] || '',
    region: functionRegion(),
  };
  if (!/^\d{12}$/.test(env.account))
    throw new Error(`${ENV.registryId} is not set and the function's account is unknown`);
  const busArn = requireEnv(ENV.orgBusArn);
  const records = event.Records as (DynamoDBRecord | SQSEvent['Records'][number])[];
  const response =
    records[0]?.eventSource === 'aws:sqs'
      ? await forwardAlerts(event as SQSEvent, env, busArn)
      : await forwardStream(event as DynamoDBStreamEvent, env, busArn);
  metrics.publishStoredMetrics();
  return response;
}

/** Sizes the entries; an entry that cannot fit one call is a failure of its record. */
function prepare(
  entries: readonly OrgEntry[],
  busArn: string,
): { ready: BusEntry[]; positions: number[]; unfit: number[] } {
  const ready: BusEntry[] = [];
  const positions: number[] = [];
  const unfit: number[] = [];
  entries.forEach((entry, i) => {
    const made = busEntry(entry, busArn);
    if (made) {
      ready.push(made);
      positions.push(i);
    } else unfit.push(i);
  });
  return { ready, positions, unfit };
}

async function forwardStream(
  event: DynamoDBStreamEvent,
  env: { account: string; region: string },
  busArn: string,
): Promise<BatchResponse> {
  const { entries, skipped } = streamEntries(
    event.Records.map((r) => ({
      sequenceNumber: r.dynamodb?.SequenceNumber ?? '',
      eventName: r.eventName,
      image: r.dynamodb?.NewImage
        ? unmarshall(r.dynamodb.NewImage as Record<string, AttributeValue>)
        : undefined,
    })),
    env,
  );
  for (const sequenceNumber of skipped)
    logger.error('stream record without a new image (is the stream NEW_IMAGE?); not forwarded', {
      sequenceNumber,
    });
  const { ready, positions, unfit } = prepare(
    entries.map((e) => e.entry),
    busArn,
  );
  const { failed, failures } = await sendAll(ready, putEventsOn(busArn), {
    ...forwarderOptions.send,
    stopAtFirstFailure: true,
  });
  const failedPositions = [...[...failed].map((i) => positions[i]!), ...unfit];
  for (const f of failures) logger.error('audit record not accepted by the hub bus', { ...f });
  for (const i of unfit)
    logger.error('audit record too large for an event', { sequenceNumber: entries[i]?.sequenceNumber });
  metrics.addMetric('RecordsForwarded', MetricUnit.Count, ready.length - failed.size);
  if (failedPositions.length === 0) return { batchItemFailures: [] };
  // The stream resumes from the first failed record: everything after it comes again (the hub ignores repeats).
  const first = Math.min(...failedPositions);
  metrics.addMetric('ForwardFailures', MetricUnit.Count, entries.length - first);
  return { batchItemFailures: [{ itemIdentifier: entries[first]!.sequenceNumber }] };
}

async function forwardAlerts(
  event: SQSEvent,
  env: { account: string; region: string },
  busArn: string,
): Promise<BatchResponse> {
  const topics: SpokeTopics = {
    alerts: process.env[ENV.alertsTopic],
    security: process.env[ENV.securityTopic],
    notices: process.env[ENV.noticesTopic],
    approvals: process.env[ENV.approvalsTopic],
  };
  const entries: { messageId: string; entry: OrgEntry }[] = [];
  const failedIds: string[] = [];
  for (const record of event.Records) {
    const parsed = alertFromMessage(record.body, topics, env);
    if ('malformed' in parsed) {
      // Reported failed, never dropped: the queue's redrive policy moves it to its dead-letter queue.
      logger.error('alert message not forwardable', {
        messageId: record.messageId,
        reason: parsed.malformed,
      });
      failedIds.push(record.messageId);
      continue;
    }
    entries.push({ messageId: record.messageId, entry: parsed.entry });
  }
  const { ready, positions, unfit } = prepare(
    entries.map((e) => e.entry),
    busArn,
  );
  const { failed, failures } = await sendAll(ready, putEventsOn(busArn), forwarderOptions.send);
  for (const f of failures) logger.error('alert not accepted by the hub bus', { ...f });
  for (const i of [...[...failed].map((k) => positions[k]!), ...unfit]) failedIds.push(entries[i]!.messageId);
  metrics.addMetric('AlertsForwarded', MetricUnit.Count, ready.length - failed.size);
  return { batchItemFailures: failedIds.map((itemIdentifier) => ({ itemIdentifier })) };
}
