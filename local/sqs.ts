/**
 * SQS for the local cloud: standard and FIFO queues with ECR Steward's semantics that matter — FIFO message
 * groups (one batch of a group in flight at a time, order kept, a failed message holds its group back),
 * five-minute deduplication by MessageDeduplicationId, receive counts and redrive to the dead-letter queue,
 * and event-source delivery to a function with per-item batch failures.
 */
import { createHash, randomUUID } from 'node:crypto';

export interface QueueMessage {
  readonly messageId: string;
  readonly body: string;
  readonly groupId?: string | undefined;
  readonly deduplicationId?: string | undefined;
  readonly attributes: Record<string, { DataType: string; StringValue?: string }>;
  receiveCount: number;
  sentAt: number;
  visibleAt: number;
}

export interface QueueDefinition {
  readonly logicalId: string;
  readonly fifo: boolean;
  readonly contentBasedDeduplication: boolean;
  /** Dead-letter queue logical id and maxReceiveCount, from the template's RedrivePolicy. */
  readonly redrive?: { readonly target: string; readonly maxReceiveCount: number } | undefined;
  /** Local visibility timeout (scaled down from the template's so retries happen in seconds). */
  readonly visibilityMs: number;
}

const DEDUP_WINDOW_MS = 5 * 60_000;

/**
 * Whether an event source mapping with a batching window (`MaximumBatchingWindowInSeconds`) waits for more
 * messages before invoking its function, as Lambda's poller does: until the batch is full or its
 * longest-waiting message has waited the window. FIFO queues take no window. The local cloud also stops waiting
 * when nothing else runs or is about to (`othersBusy` false): nothing could add to the batch, so it is the batch
 * Lambda would deliver at the window's end, delivered sooner.
 */
export function waitsForBatch(
  mapping: { readonly batchSize: number; readonly batchingWindowMs?: number | undefined },
  queue: Pick<LocalQueue, 'def' | 'ready'>,
  now: number,
  othersBusy: () => boolean,
): boolean {
  if (!mapping.batchingWindowMs || queue.def.fifo) return false;
  const { count, since } = queue.ready(now);
  if (count === 0 || count >= mapping.batchSize || now - since >= mapping.batchingWindowMs) return false;
  return othersBusy();
}

export class LocalQueue {
  readonly messages: QueueMessage[] = [];
  private readonly dedup = new Map<string, number>();
  /** Groups with a batch in flight (FIFO). */
  readonly inFlightGroups = new Set<string>();
  readonly inFlight = new Set<string>();
  sent = 0;
  deduplicated = 0;

  constructor(readonly def: QueueDefinition) {}

  /** Sends a message; returns its id, or the id of the message it duplicates. */
  send(
    body: string,
    opts: { groupId?: string; deduplicationId?: string; attributes?: QueueMessage['attributes'] } = {},
  ): { messageId: string; duplicate: boolean } {
    if (this.def.fifo && !opts.groupId)
      throw Object.assign(new Error('The request must contain the parameter MessageGroupId.'), {
        code: 'MissingParameter',
      });
    const now = Date.now();
    let dedupId = opts.deduplicationId;
    if (this.def.fifo && !dedupId) {
      if (!this.def.contentBasedDeduplication) {
        throw Object.assign(
          new Error(
            'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
          ),
          { code: 'InvalidParameterValue' },
        );
      }
      dedupId = createHash('sha256').update(body).digest('hex');
    }
    if (this.def.fifo && dedupId) {
      for (const [k, t] of this.dedup) if (now - t > DEDUP_WINDOW_MS) this.dedup.delete(k);
      if (this.dedup.has(dedupId)) {
        this.deduplicated++;
        return { messageId: `dup-${dedupId}`, duplicate: true };
      }
      this.dedup.set(dedupId, now);
    }
    const message: QueueMessage = {
      messageId: randomUUID(),
      body,
      groupId: opts.groupId,
      deduplicationId: dedupId,
      attributes: opts.attributes ?? {},
      receiveCount: 0,
      sentAt: now,
      visibleAt: now,
    };
    this.messages.push(message);
    this.sent++;
    return { messageId: message.messageId, duplicate: false };
  }

  /**
   * Takes the next batch for delivery. FIFO: messages of groups without a batch in flight, in order, and a
   * group's later messages only behind its earlier ones.
   */
  receive(max: number): QueueMessage[] {
    const batch = this.pick(max, Date.now());
    for (const m of batch) {
      m.receiveCount++;
      this.inFlight.add(m.messageId);
    }
    if (this.def.fifo) for (const m of batch) if (m.groupId) this.inFlightGroups.add(m.groupId);
    return batch;
  }

  /** Whether a receive now would take a message (FIFO group order included), without taking it. */
  deliverable(now = Date.now()): boolean {
    return this.pick(1, now).length > 0;
  }

  /** The messages a receive at `now` takes, in order, without taking them. */
  private pick(max: number, now: number): QueueMessage[] {
    const batch: QueueMessage[] = [];
    const blockedGroups = new Set<string>();
    for (const m of this.messages) {
      if (batch.length >= max) break;
      if (this.inFlight.has(m.messageId)) {
        if (m.groupId) blockedGroups.add(m.groupId);
        continue;
      }
      if (this.def.fifo && m.groupId) {
        if (this.inFlightGroups.has(m.groupId) || blockedGroups.has(m.groupId)) continue;
        if (m.visibleAt > now) {
          blockedGroups.add(m.groupId); // an invisible head of group holds the group back
          continue;
        }
      } else if (m.visibleAt > now) continue;
      batch.push(m);
    }
    return batch;
  }

  /** Settles a delivered batch: successes are deleted, failures become visible again after the visibility timeout. */
  settle(batch: readonly QueueMessage[], failedIds: ReadonlySet<string>): QueueMessage[] {
    const expired: QueueMessage[] = [];
    for (const m of batch) {
      this.inFlight.delete(m.messageId);
      if (m.groupId) this.inFlightGroups.delete(m.groupId);
      if (!failedIds.has(m.messageId)) {
        this.remove(m.messageId);
        continue;
      }
      if (this.def.redrive && m.receiveCount >= this.def.redrive.maxReceiveCount) {
        this.remove(m.messageId);
        expired.push(m);
      } else {
        m.visibleAt = Date.now() + this.def.visibilityMs;
      }
    }
    return expired;
  }

  /**
   * The messages a receive could take now (visible, not in flight: for a FIFO queue, group order aside) and
   * since when the longest-waiting of them has been receivable.
   */
  ready(now = Date.now()): { count: number; since: number } {
    let count = 0;
    let since = now;
    for (const m of this.messages) {
      if (this.inFlight.has(m.messageId) || m.visibleAt > now) continue;
      count++;
      since = Math.min(since, Math.max(m.sentAt, m.visibleAt));
    }
    return { count, since };
  }

  private remove(id: string): void {
    const i = this.messages.findIndex((m) => m.messageId === id);
    if (i >= 0) this.messages.splice(i, 1);
  }

  get depth(): number {
    return this.messages.length;
  }
}
