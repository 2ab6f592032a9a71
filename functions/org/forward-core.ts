/**
 * The spoke forwarder's decisions: which stream records and queue messages become hub events, how entries are
 * sized and batched for PutEvents (at most 10 entries and 256 KB a call), which failed entries are retried, and
 * which records are reported failed. Pure but for the PutEvents port it is given.
 */
import {
  type AlertDetail,
  type AuditRecordDetail,
  alertEntry,
  auditRecordEntry,
  type OrgEntry,
  type OrgTopic,
} from '../shared/org/events.js';
import { ORG_SOURCE } from '../shared/org/keys.js';

/** PutEvents takes at most this many entries a call. */
export const MAX_ENTRIES_PER_CALL = 10;
/** PutEvents takes at most this many bytes a call (the sum of its entries' sizes). */
export const MAX_BYTES_PER_CALL = 256 * 1024;
/** Attempts for the entries PutEvents reports failed (FailedEntryCount), the first call included. */
export const MAX_ATTEMPTS = 5;

/** One PutEvents entry (the SDK's PutEventsRequestEntry, the fields we set). */
export interface BusEntry {
  readonly Source: string;
  readonly DetailType: string;
  readonly Detail: string;
  readonly EventBusName: string;
}

/** What PutEvents answers: one result per entry, in order; a failed one has an ErrorCode. */
export interface PutEventsOutput {
  readonly FailedEntryCount?: number | undefined;
  readonly Entries?: readonly { EventId?: string; ErrorCode?: string; ErrorMessage?: string }[] | undefined;
}

export type PutEvents = (entries: readonly BusEntry[]) => Promise<PutEventsOutput>;

/** An entry's size as EventBridge counts it: the UTF-8 bytes of Source, DetailType and Detail (no Time, no Resources). */
export function entrySize(entry: BusEntry): number {
  return (
    Buffer.byteLength(entry.Source) + Buffer.byteLength(entry.DetailType) + Buffer.byteLength(entry.Detail)
  );
}

/** JSON with sets as arrays (a DynamoDB set unmarshals to a Set, which JSON would write as `{}`). */
const json = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) => (v instanceof Set ? [...v] : v));

/**
 * The PutEvents entry of a hub event, made to fit one call: an audit record too large loses its kept manifest's
 * body (its media type and size stay, as for any manifest over MANIFEST_KEPT_BYTES); an alert too large has its
 * message cut, saying so. Undefined when even that does not fit (the caller reports the record failed).
 */
export function busEntry(entry: OrgEntry, busArn: string): BusEntry | undefined {
  const make = (detail: OrgEntry['detail']): BusEntry => ({
    Source: ORG_SOURCE,
    DetailType: entry.detailType,
    Detail: json(detail),
    EventBusName: busArn,
  });
  const first = make(entry.detail);
  const over = entrySize(first) - MAX_BYTES_PER_CALL;
  if (over <= 0) return first;
  if ('record' in entry.detail) {
    const detail = entry.detail as AuditRecordDetail;
    const manifest = detail.record.manifest as Record<string, unknown> | undefined;
    if (!manifest || typeof manifest !== 'object' || !('body' in manifest)) return undefined;
    const { body: _body, ...rest } = manifest;
    const smaller = make({ ...detail, record: { ...detail.record, manifest: rest } });
    return entrySize(smaller) <= MAX_BYTES_PER_CALL ? smaller : undefined;
  }
  const detail = entry.detail as AlertDetail;
  const note = '\n… (cut by the ECR Steward forwarder: the event size limit is 256 KB)';
  // Bytes over the limit bound the characters to cut (a character is at least one byte); a margin for JSON escapes.
  let message = detail.message;
  for (let cut = over + Buffer.byteLength(note) + 64; cut < message.length * 4; cut *= 2) {
    const candidate = make({
      ...detail,
      message: `${message.slice(0, Math.max(0, message.length - cut))}${note}`,
    });
    if (entrySize(candidate) <= MAX_BYTES_PER_CALL) return candidate;
  }
  message = note;
  const last = make({ ...detail, message });
  return entrySize(last) <= MAX_BYTES_PER_CALL ? last : undefined;
}

/** Groups entries, in order, into calls of at most 10 entries and 256 KB. */
export function callsOf(entries: readonly BusEntry[]): number[][] {
  const calls: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  entries.forEach((entry, i) => {
    const size = entrySize(entry);
    if (
      current.length === MAX_ENTRIES_PER_CALL ||
      (current.length > 0 && bytes + size > MAX_BYTES_PER_CALL)
    ) {
      calls.push(current);
      current = [];
      bytes = 0;
    }
    current.push(i);
    bytes += size;
  });
  if (current.length > 0) calls.push(current);
  return calls;
}

/** Why entries finally failed, for the log. */
export interface SendFailure {
  readonly index: number;
  readonly code: string;
  readonly message: string;
}

export interface SendOptions {
  /** Stop after the first call with an entry that finally failed (a stream retries from there anyway). */
  readonly stopAtFirstFailure?: boolean | undefined;
  readonly maxAttempts?: number | undefined;
  /** Delay before retry `attempt` (1, 2, …) of the failed entries. */
  readonly backoffMs?: ((attempt: number) => number) | undefined;
  readonly sleep?: ((ms: number) => Promise<void>) | undefined;
}

/** Exponential backoff from 100 ms, at most 3.2 s. */
export const defaultBackoff = (attempt: number): number => Math.min(100 * 2 ** (attempt - 1), 3200);

/**
 * Entry errors that no retry within the invocation can cure (PutEventsResultEntry's non-retryable codes: the
 * hub bus's policy refuses this account, the entry is malformed): they fail at once, so the batch's failure
 * reaches the event source mapping's retries and its failure destination instead of a 5-attempt backoff here.
 */
export const PERMANENT_ENTRY_ERRORS: ReadonlySet<string> = new Set([
  'AccessDeniedException',
  'InvalidAccountIdException',
  'InvalidArgument',
  'MalformedDetail',
  'NotAuthorizedForDetailTypeException',
  'NotAuthorizedForSourceException',
  'RedactionFailure',
]);

/**
 * Sends entries in calls of ≤ 10 entries and ≤ 256 KB, retrying only the entries PutEvents reports failed, with
 * backoff. A call that throws (the SDK has already retried it) fails its remaining entries. Returns the
 * indices that finally failed, and those never sent when stopping at the first failure.
 */
export async function sendAll(
  entries: readonly BusEntry[],
  putEvents: PutEvents,
  options: SendOptions = {},
): Promise<{ failed: Set<number>; failures: SendFailure[] }> {
  const maxAttempts = options.maxAttempts ?? MAX_ATTEMPTS;
  const backoff = options.backoffMs ?? defaultBackoff;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const failed = new Set<number>();
  const failures: SendFailure[] = [];
  const calls = callsOf(entries);
  for (const [c, call] of calls.entries()) {
    let pending = call;
    let lastErrors = new Map<number, { code: string; message: string }>();
    for (let attempt = 1; pending.length > 0 && attempt <= maxAttempts; attempt++) {
      if (attempt > 1) await sleep(backoff(attempt - 1));
      let out: PutEventsOutput;
      try {
        out = await putEvents(pending.map((i) => entries[i]!));
      } catch (e) {
        lastErrors = new Map(
          pending.map((i) => [i, { code: (e as Error).name, message: (e as Error).message }]),
        );
        break;
      }
      if (!out.FailedEntryCount) {
        pending = [];
        break;
      }
      const results = out.Entries ?? [];
      // Without per-entry results every entry of the call is retried (a duplicate is harmless at the hub).
      const still = pending.filter((_, k) => results.length !== pending.length || results[k]?.ErrorCode);
      lastErrors = new Map(
        still.map((i) => {
          const r = results[pending.indexOf(i)];
          return [i, { code: r?.ErrorCode ?? 'Unknown', message: r?.ErrorMessage ?? '' }];
        }),
      );
      // A permanent error is final for this invocation: only the others are tried again.
      pending = still.filter((i) => !PERMANENT_ENTRY_ERRORS.has(lastErrors.get(i)?.code ?? ''));
      for (const i of still)
        if (!pending.includes(i)) {
          failed.add(i);
          failures.push({ index: i, ...(lastErrors.get(i) as { code: string; message: string }) });
        }
    }
    for (const i of pending) {
      failed.add(i);
      failures.push({ index: i, ...(lastErrors.get(i) ?? { code: 'Unknown', message: '' }) });
    }
    if (pending.length > 0 && options.stopAtFirstFailure) {
      for (const later of calls.slice(c + 1).flat()) failed.add(later);
      break;
    }
  }
  return { failed, failures };
}

/** A DynamoDB stream record, the fields the forwarder reads (its NewImage already unmarshalled). */
export interface StreamItem {
  readonly sequenceNumber: string;
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE' | undefined;
  readonly image: Record<string, unknown> | undefined;
}

/** An SNS notification delivered to the alerts queue (raw delivery off). */
export interface SnsNotification {
  readonly Type: string;
  readonly MessageId: string;
  readonly TopicArn: string;
  readonly Subject?: string | null | undefined;
  readonly Message: string;
}

/** The spoke's topics by role (ALERTS_TOPIC_ARN, SECURITY_TOPIC_ARN, NOTICES_TOPIC_ARN, APPROVALS_TOPIC_ARN). */
export type SpokeTopics = Partial<Record<OrgTopic, string>>;

/** The role of a topic ARN among the spoke's topics, or undefined for a topic the forwarder does not know. */
export function topicRole(topics: SpokeTopics, topicArn: string): OrgTopic | undefined {
  return (Object.entries(topics) as [OrgTopic, string | undefined][]).find(
    ([, arn]) => arn === topicArn,
  )?.[0];
}

/** Parses an alert queue message body: an SNS notification from one of the spoke's topics, or why not. */
export function alertFromMessage(
  body: string,
  topics: SpokeTopics,
  env: { account: string; region: string },
): { entry: OrgEntry } | { malformed: string } {
  let n: Partial<SnsNotification>;
  try {
    n = JSON.parse(body) as Partial<SnsNotification>;
  } catch (e) {
    return { malformed: `body is not JSON: ${(e as Error).message}` };
  }
  if (n === null || typeof n !== 'object' || n.Type !== 'Notification')
    return { malformed: 'not an SNS notification (Type is not "Notification"; is raw delivery on?)' };
  if (typeof n.MessageId !== 'string' || typeof n.Message !== 'string' || typeof n.TopicArn !== 'string')
    return { malformed: 'an SNS notification needs MessageId, TopicArn and Message' };
  const topic = topicRole(topics, n.TopicArn);
  if (!topic)
    return { malformed: `topic ${n.TopicArn} is none of the spoke's alerts, security, notices, approvals` };
  return {
    entry: alertEntry(env, {
      topic,
      subject: typeof n.Subject === 'string' ? n.Subject : undefined,
      message: n.Message,
      messageId: n.MessageId,
    }),
  };
}

/**
 * The stream's entries, in order: every new image but removals (a TTL expiry is not a deletion; a spoke audit
 * item is never deleted otherwise). `skipped` names records with no image to forward (a stream not set to
 * NEW_IMAGE), logged by the handler.
 */
export function streamEntries(
  records: readonly StreamItem[],
  env: { account: string; region: string },
): { entries: { sequenceNumber: string; entry: OrgEntry }[]; skipped: string[] } {
  const entries: { sequenceNumber: string; entry: OrgEntry }[] = [];
  const skipped: string[] = [];
  for (const r of records) {
    if (r.eventName === 'REMOVE') continue;
    if (!r.image) {
      skipped.push(r.sequenceNumber);
      continue;
    }
    entries.push({ sequenceNumber: r.sequenceNumber, entry: auditRecordEntry(env, r.image) });
  }
  return { entries, skipped };
}
