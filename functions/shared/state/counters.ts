import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
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
const counterPk = (k: CounterKey) => `COUNT#${k.scope}#${k.window}`;

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
    const count = await this.bump(key, n);
    // Only the first deletions of a window are kept as samples, so the item stays small.
    if (count <= MAX_SAMPLES) await this.appendSamples(key, [sample]);
    return count;
  }

  /**
   * Adds `samples.length` deletions in one ADD (a batch of the audit function, a run's deletions) and returns
   * the new count; the samples that still fit among the window's first 25 ride along in a second update.
   */
  async addMany(key: CounterKey, samples: readonly CountedDelete[]): Promise<number> {
    const count = await this.bump(key, samples.length);
    const room = MAX_SAMPLES - (count - samples.length);
    if (room > 0) await this.appendSamples(key, samples.slice(0, room));
    return count;
  }

  /** The atomic ADD of `n` to the window's count (its TTL set once): the new count. */
  private async bump(key: CounterKey, n: number): Promise<number> {
    const ttl = Math.floor(Date.parse(key.start) / 1000) + WINDOW_MINUTES[key.window] * 60 * 4;
    const out = await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: counterPk(key), sk: key.start },
        UpdateExpression:
          'ADD #count :n SET expiresAt = if_not_exists(expiresAt, :ttl), #scope = :scope, #window = :window',
        ExpressionAttributeNames: { '#count': 'count', '#scope': 'scope', '#window': 'window' },
        ExpressionAttributeValues: { ':n': n, ':ttl': ttl, ':scope': key.scope, ':window': key.window },
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
