/**
 * What the audit function's counting owes after a failure (functions/audit/handler.ts counts a batch's new
 * deletions with countDeletions, then marks them counted: RateCounters.markCounted). A deletion's count can be lost
 * after its record was written: the counter throttled, the alert not sent, a reply lost. The batch then fails and
 * SQS sends its messages again; these find what was recorded and never counted, and the marks (RateCounters.counted)
 * tell them from what was.
 */
import type { SQSRecord } from 'aws-lambda';
import { type AuditRecord, countableDeletion, type DeleteSignal } from '../shared/audit/records.js';
import { recordKey } from '../shared/audit/store.js';
import type { AuditPorts } from './core.js';

/** A message of the batch and the delete signals it carries, in the batch's order (its index is its group). */
interface Delivered {
  readonly record: SQSRecord;
  readonly candidates: readonly { readonly signal: DeleteSignal }[];
}

/** How many times SQS has delivered the message: above 1, an earlier attempt failed (or its answer was lost). */
export const receiveCount = (record: SQSRecord) =>
  Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1;

/** The first of each record's deletions: one deletion counts once, however many messages name it. */
export function oncePerRecord<T extends { readonly record: AuditRecord }>(deletions: readonly T[]): T[] {
  const seen = new Set<string>();
  return deletions.filter((d) => {
    const key = recordKey(d.record);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * The deletions that messages sent again had recorded before the batch (DELETED with ECR's event evidence, this
 * message's event among its events) and that are not among the batch's new deletions: the earlier attempt counted
 * each, unless it failed after its write. Other events about a deletion (a CloudTrail record after the Image
 * Action event) never recount it: their deletion was counted by the event that first recorded it.
 */
export function deletedBefore(
  deletes: readonly Delivered[],
  before: ReadonlyMap<string, AuditRecord | undefined>,
  newlyDeleted: readonly { record: AuditRecord }[],
): { record: AuditRecord; group: number }[] {
  const fresh = new Set(newlyDeleted.map((d) => recordKey(d.record)));
  const out = new Map<string, { record: AuditRecord; group: number }>();
  for (const [group, message] of deletes.entries()) {
    if (receiveCount(message.record) < 2) continue;
    for (const { signal } of message.candidates) {
      const key = recordKey(signal);
      const record = before.get(key);
      if (!record || fresh.has(key) || out.has(key) || !countableDeletion(record)) continue;
      if (!signal.eventId || !record.eventIds.includes(signal.eventId)) continue;
      out.set(key, { record, group });
    }
  }
  return [...out.values()];
}

/**
 * After a burst's transaction failed: the deletions its messages now find recorded with their own event, that
 * were not before the batch and that no write of the batch reported new. The transaction landed though its
 * answer was lost (the messages audited one by one then found their event already there).
 */
export function landedUnseen(
  deletes: readonly Delivered[],
  before: ReadonlyMap<string, AuditRecord | undefined>,
  known: ReadonlyMap<string, AuditRecord | undefined>,
  newlyDeleted: readonly { record: AuditRecord }[],
): { record: AuditRecord; group: number }[] {
  const fresh = new Set(newlyDeleted.map((d) => recordKey(d.record)));
  const out = new Map<string, { record: AuditRecord; group: number }>();
  for (const [group, message] of deletes.entries())
    for (const { signal } of message.candidates) {
      const key = recordKey(signal);
      const was = before.get(key);
      const now = known.get(key);
      if (!now || fresh.has(key) || out.has(key) || !countableDeletion(now)) continue;
      if (was && countableDeletion(was)) continue;
      if (!signal.eventId || !now.eventIds.includes(signal.eventId)) continue;
      out.set(key, { record: now, group });
    }
  return [...out.values()];
}

/** Of the deletions owed a count, those with no mark that they were counted (RateCounters.counted). */
export async function uncountedOf(
  owed: readonly { record: AuditRecord; group: number }[],
  ports: Pick<AuditPorts, 'counters'>,
): Promise<{ record: AuditRecord; group: number }[]> {
  const candidates = oncePerRecord(owed);
  if (candidates.length === 0 || !ports.counters.counted) return [];
  const marked = await ports.counters.counted(candidates.map((d) => recordKey(d.record)));
  return candidates.filter((d) => !marked.has(recordKey(d.record)));
}
