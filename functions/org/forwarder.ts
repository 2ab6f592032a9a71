/**
 * Spoke forwarder (organization): forwards the spoke's audit records and alerts to the hub bus.
 * Minimal placeholder so the stacks can bundle it; the full handler follows.
 */
import type { DynamoDBStreamEvent, SQSEvent } from 'aws-lambda';

/** Entry point for both the audit-table stream and the alerts queue. */
export async function handler(
  event: DynamoDBStreamEvent | SQSEvent,
): Promise<{ batchItemFailures: { itemIdentifier: string }[] }> {
  void event;
  return { batchItemFailures: [] };
}
