/**
 * Intake: EventBridge invokes it with an arrival: an `ECR Image Action` push, an `ECR Replication Action` in the
 * destination registry, or an `ECR Pull Through Cache Action` sync. It queues it with message group =
 * repository (which a rule target cannot do) and deduplication id = event id, so redeliveries collapse.
 *
 * Its own entry (lib/constructs/cleanup.ts), so its bundle holds the arrival schemas and an SQS client and
 * nothing of the cleanup core: the intake's cold start is on the path of the first push after a quiet spell.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { CLIENT_DEFAULTS } from '../shared/runtime/clients.js';
import { ENV } from '../shared/runtime/constants.js';
import { requireEnv } from '../shared/runtime/env.js';
import { dedupId, messageGroupId } from './queue-ids.js';
import { cleanupTriggerEventSchema, repositoryOf } from './schema.js';

const logger = new Logger({ serviceName: 'ecr-steward-cleanup' });

let sqsClient: SQSClient | undefined;
const sqs = () => (sqsClient ??= new SQSClient(CLIENT_DEFAULTS));

export async function intake(event: unknown): Promise<{ queued: boolean; reason?: string }> {
  const parsed = cleanupTriggerEventSchema.safeParse(event);
  if (!parsed.success) {
    // Thrown, not swallowed: after Lambda's retries the event lands in the dead-letter queue with this reason.
    throw new Error(
      `malformed ECR arrival event: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  }
  const target = repositoryOf(parsed.data);
  if ('ignore' in target) {
    logger.info('arrival ignored', { eventId: parsed.data.id, reason: target.ignore });
    return { queued: false, reason: target.ignore };
  }
  await sqs().send(
    new SendMessageCommand({
      QueueUrl: requireEnv(ENV.cleanupQueueUrl),
      MessageBody: JSON.stringify(parsed.data),
      MessageGroupId: messageGroupId(target.repository),
      MessageDeduplicationId: dedupId(parsed.data.id),
    }),
  );
  return { queued: true };
}
