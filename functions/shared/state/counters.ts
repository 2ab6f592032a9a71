import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { type RateWindow, WINDOW_MINUTES } from '../config/schema.js';

/** The start of the clock-aligned window containing `at` (5m windows start at :00, :05, …). */
export function windowStart(at: Date, window: RateWindow): string {
  const ms = WINDOW_MINUTES[window] * 60_000;
  return new Date(Math.floor(at.getTime() / ms) * ms).toISOString();
}

export interface CounterKey {
  /** `registry` or `repository:<name>` */
  readonly scope: string;
  readonly window: RateWindow;
  readonly start: string;
}

const MAX_SAMPLES = 25;
/**
 * Windows known to hold their MAX_SAMPLES samples already (a window's count only grows), by table and key: their
 * deletions are added with the ADD alone. Module state, so it lasts as long as the execution environment (each
 * invocation builds its own ports); at most MAX_KNOWN_FULL windows. It only chooses between two ways to the same
 * count and samples, so a window it does not know costs one refused conditional update, once.
 */
const KNOWN_FULL = new Set<string>();
const MAX_KNOWN_FULL = 10_000;
const counterPk = (k: CounterKey) => `COUNT#${k.scope}#${k.window}`;
const countedPk = (deletion: string) => `COUNTED#${deletion}`;
/** How long a deletion's "counted" mark is kept: past any redelivery (SQS keeps a message 14 days at most). */
const COUNTED_TTL_SECONDS = 14 * 86_400;
/** Keys BatchGetItem takes at once, items BatchWriteItem takes at once, and how often leftovers are retried. */
const MAX_GET_KEYS = 100;
const MAX_PUT_ITEMS = 25;
const LEFTOVER_ATTEMPTS = 5;

/** One counted deletion, kept on the counter item for the alert (top actors, rules, sample digests). */
export interface CountedDelete {
  readonly repository: string;
  readonly digest: string;
  readonly actor: string;
  readonly rulePriority?: number | null | undefined;
}

/**
 * Delete-rate counters in the state table: one item per scope, window and window start, incremented with
 * an atomic ADD and expired by TTL. Each deletion is counted once (the caller counts only records that
 * have just become DELETED).
 */
export class RateCounters {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  /** Adds `n` deletions and returns the new count. Samples (up to 10 digests) and actor tallies ride along. */
  async add(key: CounterKey, n: number, sample: CountedDelete): Promise<number> {
    // The sample is kept when the count is still within the first MAX_SAMPLES after this ADD.
    return this.addWithSamples(key, n, n <= MAX_SAMPLES ? [sample] : [], MAX_SAMPLES - n, (count) =>
      count <= MAX_SAMPLES ? [sample] : [],
    );
  }

  /**
   * Adds `samples.length` deletions in one ADD (a batch of the audit function, a run's deletions) and returns
   * the new count; the samples that still fit among the window's first 25 are kept.
   */
  async addMany(key: CounterKey, samples: readonly CountedDelete[]): Promise<number> {
    const first = samples.slice(0, MAX_SAMPLES);
    return this.addWithSamples(key, samples.length, first, MAX_SAMPLES - first.length, (count) =>
      samples.slice(0, Math.max(0, MAX_SAMPLES - (count - samples.length))),
    );
  }

  /**
   * One UpdateItem that adds `n` and appends `samples`, on the condition that the window held at most
   * `atMostBefore` deletions (or none: no item yet), which is exactly when all of `samples` fit among its first
   * MAX_SAMPLES. Otherwise (a busy window: the condition fails, or the window is known to be full) the ADD alone,
   * then `fitting(count)` of the samples in a second update when there is room left, as two calls always did.
   * The same count and the same samples either way.
   */
  private async addWithSamples(
    key: CounterKey,
    n: number,
    samples: readonly CountedDelete[],
    atMostBefore: number,
    fitting: (count: number) => readonly CountedDelete[],
  ): Promise<number> {
    const id = `${this.tableName}#${counterPk(key)}#${key.start}`;
    if (samples.length > 0 && atMostBefore >= 0 && !KNOWN_FULL.has(id)) {
      try {
        const count = await this.bump(key, n, { samples, atMostBefore });
        this.noteFull(id, count);
        return count;
      } catch (e) {
        if ((e as Error).name !== 'ConditionalCheckFailedException') throw e;
      }
    }
    const count = await this.bump(key, n);
    this.noteFull(id, count);
    const room = fitting(count);
    // The samples only word the alert: the count is in, and the caller must check it even when they are not.
    if (room.length > 0) await this.appendSamples(key, room).catch(() => undefined);
    return count;
  }

  private noteFull(id: string, count: number): void {
    if (count < MAX_SAMPLES) return;
    if (KNOWN_FULL.size >= MAX_KNOWN_FULL) KNOWN_FULL.clear();
    KNOWN_FULL.add(id);
  }

  /**
   * The atomic ADD of `n` to the window's count (its TTL set once): the new count. With `append`, the samples
   * are appended in the same update, conditioned on the count before it.
   */
  private async bump(
    key: CounterKey,
    n: number,
    append?: { samples: readonly CountedDelete[]; atMostBefore: number },
  ): Promise<number> {
    const ttl = Math.floor(Date.parse(key.start) / 1000) + WINDOW_MINUTES[key.window] * 60 * 4;
    const out = await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: counterPk(key), sk: key.start },
        UpdateExpression: `ADD #count :n SET expiresAt = if_not_exists(expiresAt, :ttl), #scope = :scope, #window = :window${
          append ? ', samples = list_append(if_not_exists(samples, :empty), :samples)' : ''
        }`,
        ...(append ? { ConditionExpression: 'attribute_not_exists(#count) OR #count <= :atMostBefore' } : {}),
        ExpressionAttributeNames: { '#count': 'count', '#scope': 'scope', '#window': 'window' },
        ExpressionAttributeValues: {
          ':n': n,
          ':ttl': ttl,
          ':scope': key.scope,
          ':window': key.window,
          ...(append
            ? { ':empty': [], ':samples': append.samples, ':atMostBefore': append.atMostBefore }
            : {}),
        },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(out.Attributes?.count ?? n);
  }

  private async appendSamples(key: CounterKey, samples: readonly CountedDelete[]): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: counterPk(key), sk: key.start },
        UpdateExpression: 'SET samples = list_append(if_not_exists(samples, :empty), :samples)',
        ExpressionAttributeValues: { ':empty': [], ':samples': samples },
      }),
    );
  }

  async get(key: CounterKey): Promise<{ count: number; samples: CountedDelete[] } | undefined> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: counterPk(key), sk: key.start },
        ConsistentRead: true,
      }),
    );
    if (!out.Item) return undefined;
    return { count: Number(out.Item.count ?? 0), samples: (out.Item.samples ?? []) as CountedDelete[] };
  }

  /** Claims the right to send the one alert of a scope and window; true for exactly one caller. */
  async claimAlert(key: CounterKey, threshold: string): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: `ALERT#${key.scope}#${key.window}#${threshold}`,
            sk: key.start,
            expiresAt: Math.floor(Date.parse(key.start) / 1000) + WINDOW_MINUTES[key.window] * 60 * 4,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (e) {
      if ((e as Error).name === 'ConditionalCheckFailedException') return false;
      throw e;
    }
  }

  /**
   * Gives back a claim whose alert could not be sent (opening the breaker or publishing failed), so the next
   * check of the window (the redelivery's, or the next deletion's) claims it and sends it. Best effort: a claim
   * that cannot be given back stays taken.
   */
  async releaseAlert(key: CounterKey, threshold: string): Promise<void> {
    await this.doc
      .send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: `ALERT#${key.scope}#${key.window}#${threshold}`, sk: key.start },
        }),
      )
      .catch(() => undefined);
  }

  /**
   * Which of these deletions (audit record keys) were counted: a deletion is marked once its counters are added
   * and its thresholds checked (`markCounted`). One consistent BatchGetItem per 100; what DynamoDB leaves
   * unprocessed is asked again, and a read that cannot finish throws.
   */
  async counted(deletions: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    const unique = [...new Set(deletions)];
    for (let i = 0; i < unique.length; i += MAX_GET_KEYS) {
      let keys: Record<string, unknown>[] = unique
        .slice(i, i + MAX_GET_KEYS)
        .map((d) => ({ pk: countedPk(d), sk: 'COUNTED' }));
      for (let attempt = 0; keys.length > 0; attempt++) {
        if (attempt === LEFTOVER_ATTEMPTS)
          throw new Error(`counted marks: ${keys.length} key(s) left unread`);
        const out = await this.doc.send(
          new BatchGetCommand({
            RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } },
          }),
        );
        for (const item of out.Responses?.[this.tableName] ?? [])
          found.add(String(item.pk).slice('COUNTED#'.length));
        keys = out.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      }
    }
    return found;
  }

  /** Marks these deletions counted (see `counted`): BatchWriteItems of 25; throws if some could not be written. */
  async markCounted(deletions: readonly string[], now: Date): Promise<void> {
    const expiresAt = Math.floor(now.getTime() / 1000) + COUNTED_TTL_SECONDS;
    const unique = [...new Set(deletions)];
    for (let i = 0; i < unique.length; i += MAX_PUT_ITEMS) {
      let items = unique
        .slice(i, i + MAX_PUT_ITEMS)
        .map((d) => ({ PutRequest: { Item: { pk: countedPk(d), sk: 'COUNTED', expiresAt } } }));
      for (let attempt = 0; items.length > 0; attempt++) {
        if (attempt === LEFTOVER_ATTEMPTS) throw new Error(`counted marks: ${items.length} left unwritten`);
        const out = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: items } }));
        items = (out.UnprocessedItems?.[this.tableName] ?? []) as typeof items;
      }
    }
  }

  /** The last known image count of a repository (written by cleanup runs), for share-of-images thresholds. */
  async repositoryImageCount(repository: string): Promise<number | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: `REPOSTAT#${repository}`, sk: 'STAT' } }),
    );
    return out.Item ? Number(out.Item.images) : undefined;
  }

  async setRepositoryImageCount(repository: string, images: number, at: Date): Promise<void> {
    await this.doc.send(
      new PutCommand({ TableName: this.tableName, Item: repositoryImageCountItem(repository, images, at) }),
    );
  }
}

/**
 * The item that keeps a repository's image count (read by `repositoryImageCount`): the cleanup writes it with
 * its snapshot, in the same call (SnapshotStore.save's `alongside`).
 */
export function repositoryImageCountItem(
  repository: string,
  images: number,
  at: Date,
): Record<string, unknown> {
  return { pk: `REPOSTAT#${repository}`, sk: 'STAT', images, at: at.toISOString() };
}
