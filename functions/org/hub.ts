/**
 * Hub ingest (organization): consumes the queue a hub-bus rule (source `ecr-steward`) fills with whole events.
 * Audit records go to the org audit table (idempotent, the highest version wins) and are counted into the
 * organization's thresholds, which open the org breaker; alerts are republished on the hub topic of their role.
 * A malformed event is logged and sent to the dead-letter queue (ORG_INGEST_DLQ_URL) without failing the batch.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { PublishCommand } from '@aws-sdk/client-sns';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { isConfiguredSpoke } from '../shared/config/organization.js';
import type { StewardConfig } from '../shared/config/schema.js';
import { type OrgTopic, safeParseOrgEvent } from '../shared/org/events.js';
import { ORG_DETAIL_TYPES, ORG_SCOPE } from '../shared/org/keys.js';
import { OrgAuditStore } from '../shared/org/org-audit-store.js';
import { ClaimHeldError, OnceMarkers, OrgDeleteCounters } from '../shared/org/org-breaker.js';
import { mapLimit } from '../shared/runtime/concurrency.js';
import { bundledConfig } from '../shared/runtime/config.js';
import { ENV } from '../shared/runtime/constants.js';
import { requireEnv } from '../shared/runtime/env.js';
import { BreakerStore } from '../shared/state/breaker.js';
import { orgClients } from './clients.js';
import { type HubPorts, ingestAlert, ingestAuditRecord } from './hub-core.js';

const logger = new Logger({ serviceName: 'ecr-steward-org-hub' });
const metrics = new Metrics({ namespace: 'EcrSteward', serviceName: 'org-hub' });
/** Records of one batch processed at once: each write is conditional on its own item, so order never matters. */
const RECORD_CONCURRENCY = 8;

/** The hub topic of each role, from the environment. */
const TOPIC_ENV: Record<OrgTopic, string> = {
  alerts: ENV.alertsTopic,
  security: ENV.securityTopic,
  notices: ENV.noticesTopic,
  approvals: ENV.approvalsTopic,
};

/** The hub's ports from the environment; exported for the local cloud and the bench. */
export function hubPorts(env: NodeJS.ProcessEnv = process.env): HubPorts {
  const doc = orgClients.doc;
  const stateTable = requireEnv(ENV.orgStateTable, env);
  const audit = new OrgAuditStore(doc, requireEnv(ENV.orgAuditTable, env));
  const breaker = new BreakerStore(doc, stateTable);
  return {
    audit,
    counters: new OrgDeleteCounters(doc, stateTable),
    markers: new OnceMarkers(doc, stateTable),
    openBreaker: (reason, now, cooldownMinutes) => breaker.open(ORG_SCOPE, reason, now, cooldownMinutes),
    publish: async (topic, subject, message) => {
      await orgClients.sns.send(
        new PublishCommand({
          TopicArn: requireEnv(TOPIC_ENV[topic], env),
          Subject: subject,
          Message: message,
        }),
      );
    },
  };
}

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const config = bundledConfig();
  const ports = hubPorts();
  const failures: string[] = [];
  await mapLimit(event.Records, RECORD_CONCURRENCY, async (record) => {
    try {
      await processRecord(record, config, ports);
    } catch (e) {
      if (e instanceof ClaimHeldError)
        logger.info('duplicate in flight; retried later', { messageId: record.messageId });
      else
        logger.error('org event failed; it will be retried', {
          messageId: record.messageId,
          error: e as Error,
        });
      failures.push(record.messageId);
    }
  });
  metrics.publishStoredMetrics();
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}

async function processRecord(record: SQSRecord, config: StewardConfig, ports: HubPorts): Promise<void> {
  let json: unknown;
  try {
    json = JSON.parse(record.body);
  } catch (e) {
    return deadLetter(record, `body is not JSON: ${(e as Error).message}`);
  }
  const parsed = safeParseOrgEvent(json);
  if (!parsed.success)
    return deadLetter(
      record,
      `not an ECR Steward org event: ${parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ')}`,
    );
  const event = parsed.data;
  // EventBridge sets the envelope's account to the account that put the event: a spoke speaks only for itself.
  if (event.account !== event.detail.account)
    return deadLetter(
      record,
      `detail.account ${event.detail.account} is not the account that sent the event (${event.account})`,
    );
  // Only the config's spokes speak here: another member of the organization (which the bus policy admits) or a
  // spoke claiming a region where it has no stack is refused, so nobody else can write the org trail or open
  // the org breaker.
  if (!isConfiguredSpoke(config, event.detail))
    return deadLetter(
      record,
      `${event.detail.account} ${event.detail.region} is no spoke of this organization's config`,
    );
  const now = new Date();
  if (event['detail-type'] === ORG_DETAIL_TYPES.auditRecord) {
    const outcome = await ingestAuditRecord(config, event.detail, now, ports);
    if (outcome.written) metrics.addMetric('OrgRecordsWritten', MetricUnit.Count, 1);
    if (outcome.counted) metrics.addMetric('OrgDeletesCounted', MetricUnit.Count, 1);
    if (outcome.crossings.some((c) => c.breakerOpened)) {
      metrics.addMetric('OrgBreakerOpened', MetricUnit.Count, 1);
      logger.warn('org breaker opened', { crossings: outcome.crossings, account: event.detail.account });
    }
    return;
  }
  const topic = event.detail.topic;
  if (!process.env[TOPIC_ENV[topic]])
    return deadLetter(record, `the hub has no ${topic} topic (${TOPIC_ENV[topic]} is not set)`);
  const { published } = await ingestAlert(event.detail, now, ports);
  if (published) metrics.addMetric('OrgAlertsPublished', MetricUnit.Count, 1);
}

/** A malformed event goes to the dead-letter queue with its reason (when there is one); the batch goes on. */
async function deadLetter(record: SQSRecord, reason: string): Promise<void> {
  logger.error('malformed org event', { messageId: record.messageId, reason });
  metrics.addMetric('MalformedOrgEvents', MetricUnit.Count, 1);
  const queueUrl = process.env[ENV.orgIngestDlqUrl];
  if (!queueUrl) return;
  await orgClients.sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: record.body,
      MessageAttributes: { reason: { DataType: 'String', StringValue: reason.slice(0, 1000) } },
    }),
  );
}
