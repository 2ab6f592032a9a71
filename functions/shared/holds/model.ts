/** The shape of a hold placed from the CLI, shared by the store and the audit of its changes. */

/** One repository of one registry in one region: what a hold is placed on. */
export interface HoldScope {
  readonly registryId: string;
  readonly region: string;
  readonly repository: string;
}

/**
 * A hold as stored. With neither `digest` nor `tag` it covers the whole repository; with `tag` it follows
 * the tag (it keeps whichever digest carries the tag when a run evaluates it).
 */
export interface StoredHold extends HoldScope {
  /** `<yyyymmddThhmmss>-<6 base32>`: sortable by creation time, unique, and carrying nothing secret. */
  readonly id: string;
  readonly digest?: string | undefined;
  readonly tag?: string | undefined;
  readonly reason: string;
  /** Who placed it: the caller's ARN from STS GetCallerIdentity. */
  readonly principal: string;
  /** ISO-8601. */
  readonly createdAt: string;
  /** ISO-8601; the hold stops applying at this instant. Absent: until removed. */
  readonly expiresAt?: string | undefined;
}

/** What `add` is given: a hold without the id and creation time the store assigns. */
export type NewHold = Omit<StoredHold, 'id' | 'createdAt'>;
