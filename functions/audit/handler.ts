/**
 * Audit function: consumes the audit queue, which EventBridge fills with every delete signal (ECR Image
 * Action DELETE, CloudTrail PolicyExecutionEvent and BatchDeleteImage). Records one audit item per deletion,
 * counts delete rates, alerts and opens the breaker.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { CLIENT_DEFAULTS } from '../shared/runtime/clients.js';
import { mapLimit } from '../shared/runtime/concurrency.js';
import { bundledConfig } from '../shared/runtime/config.js';
import { ENV } from '../shared/runtime/constants.js';
import { requireEnv } from '../shared/runtime/env.js';
import { StewardPorts, tablesFromEnv } from '../shared/runtime/ports.js';
import { type AuditPorts, processCandidates } from './core.js';
import { safeParseAuditEvent } from './schema.js';
import { extractCandidates } from './signals.js';

const logger = new Logger({ serviceName: 'ecr-steward-audit' });
/** Records of one batch processed at once. */
const RECORD_CONCURRENCY = 8;
const metrics = new Metrics({ namespace: 'EcrSteward', serviceName: 'audit' });

let snsClient: SNSClient | undefined;
let sqsClient: SQSClient | undefined;
const sns = () => (snsClient ??= new SNSClient(CLIENT_DEFAULTS));
const sqs = () => (sqsClient ??= new SQSClient(CLIENT_DEFAULTS));

/** Builds the ports from the environment; exported for the CLI and the local cloud. */
export function auditPorts(config = bundledConfig()): AuditPorts {
  const ports = new StewardPorts(config, { tables: tablesFromEnv() });
  return {
    audit: ports.audit,
    counters: ports.counters,
    breaker: ports.breaker,
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
  const failures: string[] = [];
  // Records are independent: every audit write is a versioned merge, so signals about one deletion converge
  // in any order (as they do across concurrent invocations). A throttled record no longer holds up the rest.
  await mapLimit(event.Records, RECORD_CONCURRENCY, async (record) => {
    try {
      await processRecord(record, config, ports);
    } catch (e) {
      logger.error('audit record failed; it will be retried', {
        messageId: record.messageId,
        error: e as Error,
      });
      failures.push(record.messageId);
    }
  });
  metrics.publishStoredMetrics();
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}

async function processRecord(
  record: SQSRecord,
  config: ReturnType<typeof bundledConfig>,
  ports: AuditPorts,
): Promise<void> {
  let json: unknown;
  try {
    json = JSON.parse(record.body);
  } catch (e) {
    return deadLetter(record, `body is not JSON: ${(e as Error).message}`);
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
  const extraction = extractCandidates(parsed.data);
  if (extraction.kind === 'malformed') return deadLetter(record, extraction.reason);
  if (extraction.kind === 'ignored') {
    logger.info('signal ignored', { eventId: parsed.data.id, reason: extraction.reason });
    return;
  }
  for (const note of extraction.notes) logger.warn(note, { eventId: parsed.data.id });
  const outcome = await processCandidates(config, extraction.candidates, new Date(), ports);
  logger.info('delete signal audited', {
    eventId: parsed.data.id,
    detailType: parsed.data['detail-type'],
    ...outcome,
  });
  metrics.addMetric('DeletesRecorded', MetricUnit.Count, outcome.newlyDeleted);
  if (outcome.crossings.some((c) => c.breakerOpened)) metrics.addMetric('BreakerOpened', MetricUnit.Count, 1);
}

/** A malformed event goes to the dead-letter queue with its reason; the rest of the batch goes on. */
async function deadLetter(record: SQSRecord, reason: string): Promise<void> {
  logger.error('malformed event sent to the dead-letter queue', { messageId: record.messageId, reason });
  metrics.addMetric('MalformedEvents', MetricUnit.Count, 1);
  await sqs().send(
    new SendMessageCommand({
      QueueUrl: requireEnv(ENV.auditDlqUrl),
      MessageBody: record.body,
      MessageAttributes: { reason: { DataType: 'String', StringValue: reason.slice(0, 1000) } },
    }),
  );
}
