/**
 * DynamoDB Streams for the local cloud, and their delivery to Lambda through an event source mapping.
 *
 * A {@link TableStream} is one shard of a table's stream: the dynamo proxy (local/dynamo-proxy.ts) appends a
 * record for every write that changed an item (INSERT / MODIFY / REMOVE, with the keys and the images the
 * stream's view type keeps; a write that changes nothing writes no record, as DynamoDB Streams does).
 *
 * A {@link StreamPoller} is the event source mapping: it reads the shard in order, `BatchSize` records at a
 * time, one batch in flight, and on a failed batch does what Lambda does for stream sources:
 * - `ReportBatchItemFailures`: the records before the lowest reported sequence number are checkpointed and
 *   the batch is retried from that record (a reported identifier not in the batch fails the whole batch);
 * - `BisectBatchOnFunctionError`: a failed batch of more than one record is split in two and the first half
 *   retried (a split is not a retry attempt);
 * - `MaximumRetryAttempts` (-1: until the record expires, i.e. for ever here): once spent, the batch's
 *   metadata goes to the `OnFailure` destination (an SQS queue) and the shard moves past it.
 * Records are never lost or reordered: a batch is only left behind once it succeeded or went to the
 * destination.
 */
import { randomUUID } from 'node:crypto';
import type { MappingDef } from './template.js';

/** A DynamoDB attribute map as the wire carries it (`{pk: {S: 'x'}}`). */
export type AttributeMap = Record<string, unknown>;

/** A stream record as Lambda receives it in `event.Records`. */
export interface StreamRecord {
  readonly eventID: string;
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly eventVersion: '1.1';
  readonly eventSource: 'aws:dynamodb';
  readonly awsRegion: string;
  readonly dynamodb: {
    readonly ApproximateCreationDateTime: number;
    readonly Keys: AttributeMap;
    readonly NewImage?: AttributeMap;
    readonly OldImage?: AttributeMap;
    readonly SequenceNumber: string;
    readonly SizeBytes: number;
    readonly StreamViewType: string;
  };
  readonly eventSourceARN: string;
}

/** Sequence numbers are decimal strings that grow with every record (21 digits, as DynamoDB's). */
const SEQUENCE_BASE = 10n ** 20n;

/** Deep equality of two attribute maps (JSON of sorted keys). */
function sameImage(a: AttributeMap | undefined, b: AttributeMap | undefined): boolean {
  const canon = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.keys(v as object)
            .sort()
            .map((k) => [k, canon((v as Record<string, unknown>)[k])]),
        )
      : Array.isArray(v)
        ? v.map(canon)
        : v;
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}

/** One shard of a table's stream. */
export class TableStream {
  readonly records: StreamRecord[] = [];
  private sequence = 0n;

  /**
   * @param arn the stream ARN (`<table ARN>/stream/<label>`), the records' `eventSourceARN`
   * @param keyNames the table's key attributes (partition key first)
   */
  constructor(
    readonly arn: string,
    readonly viewType: string,
    readonly keyNames: readonly string[],
    readonly region: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The key of an item (or a key map) of this table. */
  keyOf(item: AttributeMap): AttributeMap {
    return Object.fromEntries(this.keyNames.filter((k) => item[k] !== undefined).map((k) => [k, item[k]]));
  }

  /**
   * Records the change of one item from `before` to `after` (undefined: absent). Returns the record, or
   * undefined when nothing changed (no record, as DynamoDB Streams writes none).
   */
  append(before: AttributeMap | undefined, after: AttributeMap | undefined): StreamRecord | undefined {
    if (before === undefined && after === undefined) return undefined;
    if (before !== undefined && after !== undefined && sameImage(before, after)) return undefined;
    const eventName = before === undefined ? 'INSERT' : after === undefined ? 'REMOVE' : 'MODIFY';
    const keys = this.keyOf((after ?? before)!);
    const newImage = ['NEW_IMAGE', 'NEW_AND_OLD_IMAGES'].includes(this.viewType) ? after : undefined;
    const oldImage = ['OLD_IMAGE', 'NEW_AND_OLD_IMAGES'].includes(this.viewType) ? before : undefined;
    this.sequence++;
    const record: StreamRecord = {
      eventID: randomUUID().replace(/-/g, ''),
      eventName,
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: this.region,
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(this.now().getTime() / 1000),
        Keys: keys,
        ...(newImage ? { NewImage: newImage } : {}),
        ...(oldImage ? { OldImage: oldImage } : {}),
        SequenceNumber: String(SEQUENCE_BASE + this.sequence),
        SizeBytes: Buffer.byteLength(JSON.stringify({ keys, newImage, oldImage })),
        StreamViewType: this.viewType,
      },
      eventSourceARN: this.arn,
    };
    this.records.push(record);
    return record;
  }
}

/** What a poller needs from its cloud. */
export interface StreamPollerDeps {
  /** Invokes the mapping's function synchronously. */
  readonly invoke: (
    functionId: string,
    event: { Records: StreamRecord[] },
  ) => Promise<{ ok: boolean; result?: unknown; error?: { message: string } }>;
  /** Sends a message to a queue of the environment (the OnFailure destination). */
  readonly sendToQueue: (queueId: string, body: string) => void;
  /** The function's ARN (for the OnFailure record). */
  readonly functionArn: string;
  /** Wait between attempts, by attempt number. @default 50 ms × attempt, at most 1 s */
  readonly retryDelayMs?: (attempt: number) => number;
  /** One line per failed batch. */
  readonly log?: (line: string) => void;
}

/** One outcome of a delivered batch, for tests and figures. */
export interface StreamDelivery {
  readonly first: string;
  readonly last: string;
  readonly size: number;
  readonly outcome: 'ok' | 'partial' | 'error' | 'to-destination';
}

/** An event source mapping reading one table stream. */
export class StreamPoller {
  /** Index of the next record to deliver: everything before it is checkpointed. */
  position = 0;
  private attempts = 0;
  private window: number;
  private inFlight = false;
  private notBefore = 0;
  readonly deliveries: StreamDelivery[] = [];

  constructor(
    readonly mapping: MappingDef,
    readonly stream: TableStream,
    private readonly deps: StreamPollerDeps,
  ) {
    this.window = mapping.batchSize;
  }

  /** Whether every record has been delivered and nothing is in flight. */
  idle(): boolean {
    return !this.inFlight && this.position >= this.stream.records.length;
  }

  /** Delivers the next batch if none is in flight and the retry wait is over; resolves when it is settled. */
  async pump(): Promise<void> {
    if (this.inFlight || this.position >= this.stream.records.length || Date.now() < this.notBefore) return;
    const batch = this.stream.records.slice(this.position, this.position + this.window);
    this.inFlight = true;
    try {
      const result = await this.deps.invoke(this.mapping.functionId, { Records: batch });
      this.settle(batch, result);
    } finally {
      this.inFlight = false;
    }
  }

  private settle(
    batch: StreamRecord[],
    result: { ok: boolean; result?: unknown; error?: { message: string } },
  ) {
    const seq = (r: StreamRecord) => r.dynamodb.SequenceNumber;
    const note = (outcome: StreamDelivery['outcome'], records = batch) =>
      this.deliveries.push({
        first: seq(records[0]!),
        last: seq(records.at(-1)!),
        size: records.length,
        outcome,
      });
    if (result.ok) {
      const reported = this.mapping.reportBatchItemFailures
        ? ((result.result as { batchItemFailures?: { itemIdentifier?: unknown }[] } | null)
            ?.batchItemFailures ?? [])
        : [];
      if (reported.length === 0) {
        note('ok');
        this.position += batch.length;
        this.attempts = 0;
        this.window = this.mapping.batchSize;
        return;
      }
      const indexes = reported.map((f) => batch.findIndex((r) => seq(r) === f.itemIdentifier));
      // An identifier that names no record of the batch (empty, null, another batch's) fails it all.
      const first = indexes.some((i) => i < 0) ? 0 : Math.min(...indexes);
      note('partial');
      this.deps.log?.(`stream ${this.mapping.functionId}: batch failed from ${seq(batch[first]!)}`);
      this.position += first; // the records before the failed one are done
      this.failed(batch.slice(first));
      return;
    }
    note('error');
    this.deps.log?.(
      `stream ${this.mapping.functionId}: batch of ${batch.length} failed: ${result.error?.message}`,
    );
    if (this.mapping.bisectOnError && batch.length > 1) {
      this.window = Math.ceil(batch.length / 2);
      this.notBefore = Date.now() + this.delay(1);
      return;
    }
    this.failed(batch);
  }

  /** A retry of `remaining` (which starts at `position`), or, once the attempts are spent, the destination. */
  private failed(remaining: StreamRecord[]): void {
    this.attempts++;
    const max = this.mapping.maximumRetryAttempts ?? -1;
    if (max >= 0 && this.attempts > max) {
      if (this.mapping.onFailureQueue)
        this.deps.sendToQueue(this.mapping.onFailureQueue, JSON.stringify(this.failureRecord(remaining)));
      this.deliveries.push({
        first: remaining[0]!.dynamodb.SequenceNumber,
        last: remaining.at(-1)!.dynamodb.SequenceNumber,
        size: remaining.length,
        outcome: 'to-destination',
      });
      this.position += remaining.length;
      this.attempts = 0;
      this.window = this.mapping.batchSize;
      return;
    }
    this.window = Math.min(this.window, remaining.length);
    this.notBefore = Date.now() + this.delay(this.attempts);
  }

  private delay(attempt: number): number {
    return this.deps.retryDelayMs?.(attempt) ?? Math.min(1_000, 50 * attempt);
  }

  /** What Lambda sends an OnFailure destination for a stream batch it gave up on. */
  private failureRecord(records: StreamRecord[]) {
    const first = records[0]!;
    const last = records.at(-1)!;
    const at = (r: StreamRecord) => new Date(r.dynamodb.ApproximateCreationDateTime * 1000).toISOString();
    return {
      requestContext: {
        requestId: randomUUID(),
        functionArn: this.deps.functionArn,
        condition: 'RetryAttemptsExhausted',
        approximateInvokeCount: this.attempts,
      },
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      version: '1.0',
      timestamp: new Date().toISOString(),
      DDBStreamBatchInfo: {
        shardId: 'shardId-00000000000000000000-00000001',
        startSequenceNumber: first.dynamodb.SequenceNumber,
        endSequenceNumber: last.dynamodb.SequenceNumber,
        approximateArrivalOfFirstRecord: at(first),
        approximateArrivalOfLastRecord: at(last),
        batchSize: records.length,
        streamArn: this.stream.arn,
      },
    };
  }
}

/** A per-key lock: writes to one item are captured one at a time, so the images read around them are theirs. */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `fn` holding every key of `keys` (taken in sorted order, so two callers never deadlock). */
  async with<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const releases: (() => void)[] = [];
    for (const k of sorted) {
      const previous = this.tails.get(k) ?? Promise.resolve();
      let release!: () => void;
      const mine = new Promise<void>((resolve) => {
        release = resolve;
      });
      const tail = previous.then(() => mine);
      this.tails.set(k, tail);
      await previous;
      releases.push(() => {
        release();
        if (this.tails.get(k) === tail) this.tails.delete(k);
      });
    }
    try {
      return await fn();
    } finally {
      for (const r of releases) r();
    }
  }
}
