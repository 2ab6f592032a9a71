import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { type BatchGetCoalescer, batchGetsOf, type ItemKey } from './coalesce.js';

/**
 * A breaker scope: the whole registry, one repository, or (organization) every spoke of the organization —
 * that one lives in the hub's state table and spokes only read it.
 */
export type BreakerScope = 'registry' | `repository:${string}` | 'organization';

export const registryScope: BreakerScope = 'registry';
export const repositoryScope = (name: string): BreakerScope => `repository:${name}`;

export interface BreakerState {
  readonly pk: string;
  readonly sk: 'BREAKER';
  readonly scope: BreakerScope;
  readonly state: 'open' | 'closed';
  readonly openedAt?: string | undefined;
  readonly reason?: string | undefined;
  /** When set, the breaker counts as closed from this instant (config `breaker.cooldownMinutes`). */
  readonly closesAt?: string | undefined;
  readonly closedBy?: string | undefined;
  readonly closedAt?: string | undefined;
}

export const breakerKey = (scope: BreakerScope) => ({ pk: `BREAKER#${scope}`, sk: 'BREAKER' as const });

/** Whether a breaker is open at `now` (an elapsed cooldown closes it). */
export function isOpen(state: BreakerState | undefined, now: Date): boolean {
  if (state?.state !== 'open') return false;
  return !(state.closesAt && Date.parse(state.closesAt) <= now.getTime());
}

/**
 * A breaker kept elsewhere that also stops this registry's deletes: the organization's, in the hub (see
 * functions/shared/org/org-breaker.ts). `firstOpen` throws when it cannot be read.
 */
export interface OuterBreaker {
  firstOpen(now: Date): Promise<BreakerState | undefined>;
}

/**
 * What an outer breaker that cannot be read counts as: open. A spoke that cannot see the organization's
 * breaker cannot know it may delete, so it stops (fail safe) and says why.
 */
export function unreadableBreaker(scope: BreakerScope, error: unknown, now: Date): BreakerState {
  return {
    ...breakerKey(scope),
    scope,
    state: 'open',
    openedAt: now.toISOString(),
    reason: `the ${scope} breaker cannot be read (${(error as Error).message ?? String(error)}): nothing is deleted until it can (fail safe)`,
  };
}

/**
 * Breakers kept in the state table. The cleanup reads them before every delete batch; in an organization's
 * spoke the organization's breaker (`outer`) is read with them, and an unreadable one counts as open.
 */
export class BreakerStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    private readonly outer?: OuterBreaker | undefined,
  ) {
    this.reads = batchGetsOf(doc, tableName);
  }

  /**
   * The reads of the repositories one worker cleans at once go out together, with the snapshot loads of the same
   * table made at that moment (each caller's read is still made after it asked: see BatchGetCoalescer).
   */
  private readonly reads: BatchGetCoalescer;

  /** The first open breaker among the scopes (then the organization's, in a spoke), if any. */
  async firstOpen(scopes: readonly BreakerScope[], now: Date): Promise<BreakerState | undefined> {
    const items = await this.read(scopes);
    for (const scope of scopes) {
      const state = items.find((i) => i.scope === scope);
      if (isOpen(state, now)) return state;
    }
    if (!this.outer) return undefined;
    try {
      return await this.outer.firstOpen(now);
    } catch (e) {
      return unreadableBreaker('organization', e, now);
    }
  }

  async get(scope: BreakerScope): Promise<BreakerState | undefined> {
    return (await this.read([scope]))[0];
  }

  /**
   * Reads breaker items, retrying the keys DynamoDB leaves unprocessed (BatchGetItem's partial success under
   * throttling). A breaker that cannot be read throws: it must never be taken for closed.
   */
  private async read(scopes: readonly BreakerScope[]): Promise<BreakerState[]> {
    const items: BreakerState[] = [];
    let keys: ItemKey[] = scopes.map(breakerKey);
    for (let attempt = 0; keys.length > 0; attempt++) {
      if (attempt === 5)
        throw new Error(`breaker state unreadable: DynamoDB left ${keys.length} key(s) unprocessed`);
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
      const out = await this.reads.get(keys);
      items.push(...(out.items as unknown as BreakerState[]));
      keys = out.unprocessed;
    }
    return items;
  }

  /** Opens a breaker. Only the first opening writes, so one crossing is reported once. Returns true if it opened now. */
  async open(scope: BreakerScope, reason: string, now: Date, cooldownMinutes?: number): Promise<boolean> {
    const state: BreakerState = {
      ...breakerKey(scope),
      scope,
      state: 'open',
      openedAt: now.toISOString(),
      reason,
      closesAt: cooldownMinutes
        ? new Date(now.getTime() + cooldownMinutes * 60_000).toISOString()
        : undefined,
    };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: state,
          ConditionExpression:
            'attribute_not_exists(pk) OR #s = :closed OR (attribute_exists(closesAt) AND closesAt <= :now)',
          ExpressionAttributeNames: { '#s': 'state' },
          ExpressionAttributeValues: { ':closed': 'closed', ':now': now.toISOString() },
        }),
      );
      return true;
    } catch (e) {
      if ((e as Error).name === 'ConditionalCheckFailedException') return false;
      throw e;
    }
  }

  /** Closes a breaker (a person's decision, recorded by the caller in the audit table). */
  async close(scope: BreakerScope, by: string, now: Date): Promise<BreakerState> {
    const state: BreakerState = {
      ...breakerKey(scope),
      scope,
      state: 'closed',
      closedBy: by,
      closedAt: now.toISOString(),
    };
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: state }));
    return state;
  }
}
