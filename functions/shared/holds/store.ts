/**
 * Holds placed from the CLI (`ecr-steward hold add`), stored in their own DynamoDB table.
 *
 * Keys (pk/sk, both strings; no GSI):
 * - the hold: `pk = REPO#<registryId>#<region>#<repository>`, `sk = HOLD#<id>`. Every destructive run reads the
 *   holds of one repository with one Query on its partition (`forRepository`), strongly consistent, so a hold
 *   placed a second ago is seen.
 * - its locator: `pk = HOLDID#<id>`, `sk = HOLDID`, with a copy of the hold. `hold remove ID` is given an id
 *   alone; the locator turns it into the hold's key with one GetItem, without a GSI and without a Scan.
 *
 * DynamoDB transactions would write both items at once, but dynalite (tests and the local cloud) has no
 * TransactWriteItems, so the two are written in an order that makes a crash harmless: the locator first
 * (its conditional put also reserves the id), then the hold; on removal the hold first, then the locator.
 * A crash can leave a locator without a hold, which no run reads and the next `remove` of that id clears;
 * it can never leave a hold that `remove` cannot find.
 *
 * Every add and remove is also written to the audit table (`./audit.ts`) before the hold item changes, as a
 * write-ahead record: the audit may record an attempt that a crash cut short, it never misses a change.
 */

import { randomBytes } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Hold } from '../lifecycle/types.js';
import { recordHoldEvent } from './audit.js';
import type { HoldScope, NewHold, StoredHold } from './model.js';

/** The environment variable that names the holds table (functions, the CLI's default for `--holds-table`). */
export const HOLDS_TABLE_ENV = 'HOLDS_TABLE_NAME';

export type { HoldScope, NewHold, StoredHold } from './model.js';

/** The hold id grammar (`20260601T120000-k3x9qa`); the CLI checks `hold remove ID` against it. */
export const HOLD_ID = /^\d{8}T\d{6}-[0-9a-hjkmnp-tv-z]{6}$/;

/** How long an expired hold stays in the table (and in `hold list`, marked expired) before TTL removes it. */
export const EXPIRED_HOLD_RETENTION_DAYS = 30;

/** Crockford's base32 alphabet, lower case: no i, l, o, u, so an id read aloud or retyped stays unambiguous. */
const BASE32 = '0123456789abcdefghjkmnpqrstvwxyz';

/** A new hold id for `now`: its UTC second, then 30 random bits (a collision is caught by the conditional put). */
export function newHoldId(now: Date, random: (n: number) => Uint8Array = randomBytes): string {
  const stamp = now.toISOString().slice(0, 19).replace(/[-:]/g, '');
  const bytes = random(6);
  let suffix = '';
  for (let i = 0; i < 6; i++) suffix += BASE32[(bytes[i] ?? 0) & 31];
  return `${stamp}-${suffix}`;
}

/** The partition of a repository's holds. */
export const holdPartition = (s: HoldScope): string => `REPO#${s.registryId}#${s.region}#${s.repository}`;

const holdKey = (h: Pick<StoredHold, 'id'> & HoldScope) => ({ pk: holdPartition(h), sk: `HOLD#${h.id}` });
const locatorKey = (id: string) => ({ pk: `HOLDID#${id}`, sk: 'HOLDID' });

/** Converts a stored hold into the engine's Hold (lifecycle/types.ts): the placer is the owner. */
export function toHold(stored: StoredHold): Hold {
  return {
    ...(stored.digest !== undefined ? { digest: stored.digest } : {}),
    ...(stored.tag !== undefined ? { tag: stored.tag } : {}),
    reason: stored.reason,
    owner: stored.principal,
    ...(stored.expiresAt !== undefined ? { expiresAt: stored.expiresAt } : {}),
  };
}

/** The epoch-second TTL of a hold that expires: a retention after its expiry, so `hold list` can still show it. */
function ttlOf(expiresAt: string | undefined): number | undefined {
  if (expiresAt === undefined) return undefined;
  return Math.floor(Date.parse(expiresAt) / 1000) + EXPIRED_HOLD_RETENTION_DAYS * 86_400;
}

const isString = (v: unknown): v is string => typeof v === 'string' && v !== '';
const optionalString = (v: unknown): boolean => v === undefined || isString(v);

/**
 * Reads a stored item back as a StoredHold. A malformed item is an error, not a skipped row: a run that
 * cannot tell what a hold covers must not delete (its caller fails safe).
 */
export function parseStoredHold(item: Record<string, unknown>): StoredHold {
  const { id, registryId, region, repository, digest, tag, reason, principal, createdAt, expiresAt } = item;
  if (
    !isString(id) ||
    !isString(registryId) ||
    !isString(region) ||
    !isString(repository) ||
    !isString(reason) ||
    !isString(principal) ||
    !isString(createdAt) ||
    !optionalString(digest) ||
    !optionalString(tag) ||
    !optionalString(expiresAt) ||
    (digest !== undefined && tag !== undefined) ||
    (expiresAt !== undefined && Number.isNaN(Date.parse(expiresAt as string)))
  )
    throw new Error(`holds table: malformed hold item ${JSON.stringify(item.pk)} ${JSON.stringify(item.sk)}`);
  return {
    id,
    registryId,
    region,
    repository,
    ...(digest !== undefined ? { digest: digest as string } : {}),
    ...(tag !== undefined ? { tag: tag as string } : {}),
    reason,
    principal,
    createdAt,
    ...(expiresAt !== undefined ? { expiresAt: expiresAt as string } : {}),
  };
}

const isConditionFailure = (e: unknown) =>
  e instanceof ConditionalCheckFailedException || (e as Error).name === 'ConditionalCheckFailedException';

/** Orders holds by repository, then by id (creation time). */
const byRepositoryThenId = (a: StoredHold, b: StoredHold) =>
  a.registryId.localeCompare(b.registryId) ||
  a.region.localeCompare(b.region) ||
  a.repository.localeCompare(b.repository) ||
  a.id.localeCompare(b.id);

/**
 * The holds table. Reads never swallow an error: `forRepository` is on every destructive path, and a run
 * that cannot read the holds must delete nothing.
 */
export class HoldsStore {
  /**
   * @param auditTable where add and remove are recorded; without it the store can read but refuses to
   * change holds, so no hold is ever placed or lifted without a trace.
   */
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    private readonly auditTable?: string | undefined,
    private readonly random: (n: number) => Uint8Array = randomBytes,
  ) {}

  private requireAudit(): string {
    if (!this.auditTable)
      throw new Error('HoldsStore: no audit table given; holds are only changed with an audit record');
    return this.auditTable;
  }

  /**
   * Places a hold: reserves a fresh id (locator), records the `add` in the audit table, then writes the hold.
   * Throws if the hold names both a digest and a tag, has no reason, or its expiry is not after `now`.
   */
  async add(hold: NewHold, now: Date): Promise<StoredHold> {
    const auditTable = this.requireAudit();
    if (hold.digest !== undefined && hold.tag !== undefined)
      throw new Error('a hold names a digest or a tag, not both');
    if (hold.reason.trim() === '') throw new Error('a hold needs a reason');
    if (hold.expiresAt !== undefined && !(Date.parse(hold.expiresAt) > now.getTime()))
      throw new Error(`a hold's expiry must be after its creation (${hold.expiresAt})`);
    const createdAt = now.toISOString();
    for (let attempt = 0; attempt < 5; attempt++) {
      const stored: StoredHold = {
        id: newHoldId(now, this.random),
        registryId: hold.registryId,
        region: hold.region,
        repository: hold.repository,
        ...(hold.digest !== undefined ? { digest: hold.digest } : {}),
        ...(hold.tag !== undefined ? { tag: hold.tag } : {}),
        reason: hold.reason,
        principal: hold.principal,
        createdAt,
        ...(hold.expiresAt !== undefined ? { expiresAt: hold.expiresAt } : {}),
      };
      const ttl = ttlOf(stored.expiresAt);
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...locatorKey(stored.id), ...stored, ttl },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      } catch (e) {
        // Two holds in the same second drew the same 30 random bits: draw again.
        if (isConditionFailure(e)) continue;
        throw e;
      }
      await recordHoldEvent(this.doc, auditTable, {
        action: 'add',
        hold: stored,
        principal: stored.principal,
        at: createdAt,
      });
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...holdKey(stored), ...stored, ttl },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return stored;
    }
    throw new Error('could not draw an unused hold id in 5 attempts');
  }

  /** The hold with this id (through its locator), or undefined when there is none. */
  async get(id: string): Promise<StoredHold | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: locatorKey(id), ConsistentRead: true }),
    );
    return out.Item ? parseStoredHold(out.Item) : undefined;
  }

  /**
   * Lifts a hold: records the `remove` (by `principal`, at `now`, with an optional `note` saying why) in the
   * audit table, deletes the hold, then its locator. Returns the hold, or undefined (nothing written) when no
   * hold has this id.
   */
  async remove(id: string, principal: string, now: Date, note?: string): Promise<StoredHold | undefined> {
    const auditTable = this.requireAudit();
    const hold = await this.get(id);
    if (!hold) return undefined;
    await recordHoldEvent(this.doc, auditTable, {
      action: 'remove',
      hold,
      principal,
      at: now.toISOString(),
      ...(note !== undefined ? { note } : {}),
    });
    await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: holdKey(hold) }));
    await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: locatorKey(id) }));
    return hold;
  }

  /**
   * Every hold of one repository, expired ones included (the caller asks `holdInForce`), oldest first: one
   * strongly consistent Query, every page. Any error is thrown: the caller must then delete nothing.
   */
  async forRepository(scope: HoldScope): Promise<StoredHold[]> {
    const holds: StoredHold[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :hold)',
          ExpressionAttributeValues: { ':pk': holdPartition(scope), ':hold': 'HOLD#' },
          ConsistentRead: true,
          ExclusiveStartKey,
        }),
      );
      for (const item of page.Items ?? []) holds.push(parseStoredHold(item));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return holds;
  }

  /**
   * The holds of one repository, or of every repository (a Scan: for the CLI's `hold list`, never on a
   * destructive path), sorted by repository, then creation.
   */
  async list(scope?: HoldScope): Promise<StoredHold[]> {
    if (scope) return this.forRepository(scope);
    const holds: StoredHold[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new ScanCommand({
          TableName: this.tableName,
          // The locators repeat every hold; only the hold items are listed.
          FilterExpression: 'begins_with(pk, :repo) AND begins_with(sk, :hold)',
          ExpressionAttributeValues: { ':repo': 'REPO#', ':hold': 'HOLD#' },
          ExclusiveStartKey,
        }),
      );
      for (const item of page.Items ?? []) holds.push(parseStoredHold(item));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return holds.sort(byRepositoryThenId);
  }
}
