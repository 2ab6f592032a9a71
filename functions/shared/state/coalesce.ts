/**
 * Consistent BatchGetItem reads of one table that callers make at about the same time, sent as one call. The
 * worker cleans the repositories of a batch concurrently through one set of stores: their breaker reads (and
 * their snapshot loads) come within a few milliseconds of one another, and each would otherwise be a call.
 *
 * A read is never shared with a caller that asked after it was sent: a request waits for the next call (sent
 * once the current turn's callers have asked, or as soon as the call in flight returns), so every caller's answer comes
 * from a strongly consistent read made after it asked — the breaker's "read before each delete batch" holds.
 * Each caller gets what a BatchGetItem of its own keys would have returned: its items and its unprocessed keys,
 * and it retries those as it did alone.
 */
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  BatchWriteCommand,
  type BatchWriteCommandOutput,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';

export type ItemKey = { readonly pk: string; readonly sk: string };

/** What one caller's share of a coalesced call holds. */
export interface BatchGetShare {
  readonly items: Record<string, unknown>[];
  readonly unprocessed: ItemKey[];
}

interface Waiting {
  readonly keys: readonly ItemKey[];
  readonly resolve: (share: BatchGetShare) => void;
  readonly reject: (error: unknown) => void;
}

/** BatchGetItem takes at most 100 keys. */
const MAX_KEYS = 100;

const keyOf = (k: { pk?: unknown; sk?: unknown }) => `${String(k.pk)}\n${String(k.sk)}`;

const shared = new WeakMap<DynamoDBDocumentClient, Map<string, BatchGetCoalescer>>();

/**
 * The coalescer of a client's reads of one table, shared by every store over that client and table: the
 * breaker reads and the snapshot loads of the state table made at the same moment go out in one call.
 */
export function batchGetsOf(doc: DynamoDBDocumentClient, tableName: string): BatchGetCoalescer {
  let byTable = shared.get(doc);
  if (!byTable) {
    byTable = new Map();
    shared.set(doc, byTable);
  }
  let reads = byTable.get(tableName);
  if (!reads) {
    reads = new BatchGetCoalescer(doc, tableName);
    byTable.set(tableName, reads);
  }
  return reads;
}

/**
 * What both coalescers share: callers' requests wait in a queue; one call is in flight at a time; the requests
 * of the same turn (a microtask, not a timer: the callers of the same turn join, and fake timers in a test
 * never stall it), or those that waited while a call was in flight, go out in the next call. `take` picks the
 * requests that fit one call (removing them from the queue), `send` makes the call and answers each of them.
 */
abstract class Coalescer<W> {
  protected queue: W[] = [];
  private scheduled = false;
  private inFlight = false;

  protected enqueue(request: W): void {
    this.queue.push(request);
    this.schedule();
  }

  protected abstract take(): W[];
  protected abstract send(taken: readonly W[]): Promise<void>;

  private schedule(): void {
    if (this.scheduled || this.inFlight || this.queue.length === 0) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    const taken = this.take();
    this.inFlight = true;
    try {
      await this.send(taken);
    } finally {
      this.inFlight = false;
      this.schedule();
    }
  }
}

export class BatchGetCoalescer extends Coalescer<Waiting> {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {
    super();
  }

  /** A strongly consistent read of `keys` (at most 100), sent with the reads other callers ask for meanwhile. */
  get(keys: readonly ItemKey[]): Promise<BatchGetShare> {
    if (keys.length > MAX_KEYS) throw new Error(`BatchGetCoalescer.get takes at most ${MAX_KEYS} keys`);
    return new Promise((resolve, reject) => this.enqueue({ keys, resolve, reject }));
  }

  /** The waiting requests that fit in one call: whole requests, up to 100 distinct keys. */
  protected take(): Waiting[] {
    const taken: Waiting[] = [];
    const keys = new Map<string, ItemKey>();
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      const added = next.keys.filter((k) => !keys.has(keyOf(k))).length;
      if (taken.length > 0 && keys.size + added > MAX_KEYS) break;
      this.queue.shift();
      taken.push(next);
      for (const k of next.keys) keys.set(keyOf(k), { pk: k.pk, sk: k.sk });
    }
    return taken;
  }

  protected async send(taken: readonly Waiting[]): Promise<void> {
    const keys = new Map(
      taken.flatMap((w) => w.keys.map((k) => [keyOf(k), { pk: k.pk, sk: k.sk }] as const)),
    );
    try {
      const out: BatchGetCommandOutput = await this.doc.send(
        new BatchGetCommand({
          RequestItems: { [this.tableName]: { Keys: [...keys.values()], ConsistentRead: true } },
        }),
      );
      const items = (out?.Responses?.[this.tableName] ?? []) as Record<string, unknown>[];
      const unprocessed = (out?.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as ItemKey[];
      if (taken.length === 1) taken[0]!.resolve({ items, unprocessed });
      else {
        // Several callers: each gets the items and unprocessed keys among its own keys.
        for (const w of taken) {
          const mine = new Set(w.keys.map(keyOf));
          w.resolve({
            items: items.filter((i) => mine.has(keyOf(i))),
            unprocessed: unprocessed.filter((k) => mine.has(keyOf(k))),
          });
        }
      }
    } catch (e) {
      for (const w of taken) w.reject(e);
    }
  }
}

interface WaitingWrite {
  readonly items: readonly Record<string, unknown>[];
  readonly resolve: (unprocessed: Record<string, unknown>[]) => void;
  readonly reject: (error: unknown) => void;
}

/** BatchWriteItem takes at most 25 requests. */
const MAX_WRITES = 25;

/**
 * Unconditional puts of one table that callers make at about the same time (the snapshots of the repositories
 * one worker cleans at once), sent as one BatchWriteItem of up to 25 items; each caller gets back the items of
 * its own that DynamoDB left unprocessed, and sends them again as it did alone. A put joins the next call, never
 * one already sent; an item written twice in one call is refused by DynamoDB, so a caller putting an item another
 * one puts waits for the next call.
 */
export class BatchWriteCoalescer extends Coalescer<WaitingWrite> {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {
    super();
  }

  /** Puts `items` (at most 25); resolves with those DynamoDB left unprocessed. */
  put(items: readonly Record<string, unknown>[]): Promise<Record<string, unknown>[]> {
    if (items.length > MAX_WRITES)
      throw new Error(`BatchWriteCoalescer.put takes at most ${MAX_WRITES} items`);
    return new Promise((resolve, reject) => this.enqueue({ items, resolve, reject }));
  }

  /**
   * The waiting puts that fit in one call: whole requests, up to 25 distinct items. A put of an item that an
   * earlier waiting put also writes never goes before it: the items of a put left waiting are blocked for the
   * puts queued after it, so the last put of an item is the one that lands.
   */
  protected take(): WaitingWrite[] {
    const taken: WaitingWrite[] = [];
    const keys = new Set<string>();
    const blocked = new Set<string>();
    for (let k = 0; k < this.queue.length; ) {
      const w = this.queue[k]!;
      const mine = w.items.map(keyOf);
      const fits =
        taken.length === 0 ||
        (keys.size + mine.length <= MAX_WRITES && !mine.some((key) => keys.has(key) || blocked.has(key)));
      if (!fits) {
        for (const key of mine) blocked.add(key);
        k++;
        continue;
      }
      this.queue.splice(k, 1);
      taken.push(w);
      for (const key of mine) keys.add(key);
    }
    return taken;
  }

  protected async send(taken: readonly WaitingWrite[]): Promise<void> {
    try {
      const out: BatchWriteCommandOutput = await this.doc.send(
        new BatchWriteCommand({
          RequestItems: {
            [this.tableName]: taken.flatMap((w) => w.items.map((Item) => ({ PutRequest: { Item } }))),
          },
        }),
      );
      const left = (out?.UnprocessedItems?.[this.tableName] ?? []).flatMap((r) =>
        r.PutRequest?.Item ? [r.PutRequest.Item] : [],
      );
      const unprocessed = new Set(left.map(keyOf));
      for (const w of taken) w.resolve(w.items.filter((i) => unprocessed.has(keyOf(i))));
    } catch (e) {
      for (const w of taken) w.reject(e);
    }
  }
}
