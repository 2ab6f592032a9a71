/**
 * Hub ingest (organization): writes forwarded audit records into the org audit table and republishes alerts.
 * Minimal placeholder so the stacks can bundle it; the full handler follows.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';

/** Entry point for the hub ingest queue. */
export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  void event;
  return { batchItemFailures: [] };
}
