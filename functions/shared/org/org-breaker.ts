/**
 * The org breaker and what feeds it.
 *
 * Spokes: `OrgBreakerReader` reads the one breaker item of the hub state table, across accounts (the table's
 * ARN as TableName; the table policy allows GetItem on that key only). A breaker that cannot be read throws,
 * so a caller can only fail safe (count it as open).
 *
 * Hub: `OrgDeleteCounters` counts each spoke deletion once in the organization-scope windows and claims the one
 * alert of a crossing; the breaker itself is opened with state/breaker.ts `BreakerStore` under `ORG_SCOPE`.
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type RateWindow, WINDOW_MINUTES } from '../config/alerts.js';
import { type BreakerState, isOpen } from '../state/breaker.js';
import { countedKey, ORG_BREAKER_KEY, type OrgEnvironmentRef, orgCounterKey } from './keys.js';

/** Reads the org breaker from a spoke. */
export class OrgBreakerReader {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    /** The hub state table's ARN (or, in the hub itself, its name). */
    readonly tableArn: string,
  ) {}

  /** The org breaker's state, or undefined when it has never been written. Throws when it cannot be read. */
  async get(): Promise<BreakerState | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableArn, Key: { ...ORG_BREAKER_KEY }, ConsistentRead: true }),
    );
    return out.Item as BreakerState | undefined;
  }

  /**
   * The org breaker when it is open at `now`, else undefined. Throws when unreadable: callers must treat that
   * as open, since a spoke that cannot see the organization's breaker cannot know it may delete.
   */
  async firstOpen(now: Date): Promise<BreakerState | undefined> {
    const state = await this.get();
    return isOpen(state, now) ? state : undefined;
  }
}

/** How long a claim (a counting, an alert being sent) holds off a concurrent duplicate. */
export const CLAIM_LEASE_MS = 60_000;
/** How long a counted-deletion marker is kept: longer than any queue keeps a message for redelivery. */
const COUNTED_MARKER_DAYS = 30;

/** A claim that a concurrent duplicate holds; the message is retried later, when the claim is settled or stale. */
export class ClaimHeldError extends Error {
  constructor(what: string) {
    super(`${what} is being handled by another invocation; retrying later`);
    this.name = 'ClaimHeldError';
  }
}

/**
 * Lease-based once-markers in the hub state table. A marker is `claimed` (with the time), then `done`. A claim
 * succeeds on a new marker or a stale unfinished one; a `done` marker means the work was done; a fresh
 * unfinished one means a duplicate is at work right now (ClaimHeldError, so its message comes back later).
 * A crash between the work and `done` lets a later retry do the work again: at least once, never lost.
 */
export class OnceMarkers {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  /** True when this caller must do the work now; false when it is done already. */
  async claim(key: { pk: string; sk: string }, now: Date, expiresAt: number): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...key, state: 'claimed', claimedAt: now.getTime(), expiresAt },
          ConditionExpression: 'attribute_not_exists(pk) OR (#s = :claimed AND claimedAt < :stale)',
          ExpressionAttributeNames: { '#s': 'state' },
          ExpressionAttributeValues: { ':claimed': 'claimed', ':stale': now.getTime() - CLAIM_LEASE_MS },
        }),
      );
      return true;
    } catch (e) {
      if ((e as Error).name !== 'ConditionalCheckFailedException') throw e;
    }
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    if (out.Item?.state === 'done') return false;
    throw new ClaimHeldError(key.pk);
  }

  /** Marks the work done, so no retry repeats it. */
  async done(key: { pk: string; sk: string }): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key,
        UpdateExpression: 'SET #s = :done',
        ExpressionAttributeNames: { '#s': 'state' },
        ExpressionAttributeValues: { ':done': 'done' },
      }),
    );
  }
}

/** One counting window of an org threshold. */
export interface OrgWindow {
  readonly window: RateWindow;
  /** ISO start of the clock-aligned window (state/counters.ts windowStart). */
  readonly start: string;
}

/**
 * Org delete-rate counters: one item per window and start, as RateCounters keeps them (so `RateCounters.get`
 * with scope `organization` reads them), each spoke deletion counted once through a COUNTED# marker.
 */
export class OrgDeleteCounters {
  private readonly markers: OnceMarkers;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {
    this.markers = new OnceMarkers(doc, tableName);
  }

  /**
   * Counts one spoke deletion in each window, once: a redelivery finds the marker done and counts nothing.
   * Returns every window's count after this call either way, so a crossing missed by a crashed attempt is still
   * seen by its retry.
   */
  async countOnce(
    env: OrgEnvironmentRef,
    record: { pk: string; sk: string },
    windows: readonly OrgWindow[],
    now: Date,
  ): Promise<{ counted: boolean; counts: Map<string, number> }> {
    const marker = countedKey(env, record);
    const counts = new Map<string, number>();
    const counted = await this.markers.claim(
      marker,
      now,
      Math.floor(now.getTime() / 1000) + COUNTED_MARKER_DAYS * 86_400,
    );
    for (const w of windows) {
      const id = windowId(w);
      if (counts.has(id)) continue;
      counts.set(id, counted ? await this.add(w) : await this.get(w));
    }
    if (counted) await this.markers.done(marker);
    return { counted, counts };
  }

  /** The count of a window (0 when nothing was counted in it). */
  async get(w: OrgWindow): Promise<number> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: orgCounterKey(w.window, w.start),
        ConsistentRead: true,
      }),
    );
    return Number(out.Item?.count ?? 0);
  }

  private async add(w: OrgWindow): Promise<number> {
    const ttl = Math.floor(Date.parse(w.start) / 1000) + WINDOW_MINUTES[w.window] * 60 * 4;
    const out = await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: orgCounterKey(w.window, w.start),
        UpdateExpression:
          'ADD #count :one SET expiresAt = if_not_exists(expiresAt, :ttl), #scope = :scope, #window = :window',
        ExpressionAttributeNames: { '#count': 'count', '#scope': 'scope', '#window': 'window' },
        ExpressionAttributeValues: { ':one': 1, ':ttl': ttl, ':scope': 'organization', ':window': w.window },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(out.Attributes?.count ?? 1);
  }
}

/** The map key of a window in `countOnce`'s counts. */
export const windowId = (w: OrgWindow): string => `${w.window}#${w.start}`;
