/**
 * The audit trail of holds: every `hold add` and `hold remove`, with who, when and why, in the audit table.
 *
 * Its own item kind, keyed so it can never collide with a deletion record (`pk = IMG#…`) or a breaker reset
 * (`pk = BREAKER#…`): `pk = HOLD#<id>`, `sk = EVENT#<at>#<add|remove>`. It carries none of the GSI
 * attributes, so the deletion indexes (byRepository, byRun, byDay, byDue, openByRepository) never list it.
 */

import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { StoredHold } from './model.js';

/** One change of a hold. */
export interface HoldEvent {
  readonly action: 'add' | 'remove';
  readonly hold: StoredHold;
  /** Who made the change: the caller's ARN (STS GetCallerIdentity). For a remove, not necessarily the placer. */
  readonly principal: string;
  /** ISO-8601. */
  readonly at: string;
  /** Why a hold was removed, when the remover said so. */
  readonly note?: string | undefined;
}

/** The audit-table item of a hold event. */
export interface HoldEventItem {
  readonly pk: `HOLD#${string}`;
  readonly sk: `EVENT#${string}`;
  readonly kind: 'hold';
  readonly action: 'add' | 'remove';
  readonly id: string;
  readonly registryId: string;
  readonly region: string;
  readonly repository: string;
  readonly digest?: string | undefined;
  readonly tag?: string | undefined;
  /** The hold's reason. */
  readonly reason: string;
  /** Who placed the hold. */
  readonly heldBy: string;
  readonly createdAt: string;
  readonly expiresAt?: string | undefined;
  /** Who made this change. */
  readonly principal: string;
  readonly at: string;
  readonly note?: string | undefined;
}

/** The item recording `event`. Pure. */
export function holdEventItem(event: HoldEvent): HoldEventItem {
  const h = event.hold;
  return {
    pk: `HOLD#${h.id}`,
    sk: `EVENT#${event.at}#${event.action}`,
    kind: 'hold',
    action: event.action,
    id: h.id,
    registryId: h.registryId,
    region: h.region,
    repository: h.repository,
    digest: h.digest,
    tag: h.tag,
    reason: h.reason,
    heldBy: h.principal,
    createdAt: h.createdAt,
    expiresAt: h.expiresAt,
    principal: event.principal,
    at: event.at,
    note: event.note,
  };
}

/**
 * Writes one hold event to the audit table with a conditional put: an event is written once and never
 * overwritten. The same event written again (a retry after a lost reply) finds its own item and is not an
 * error; a different event under the same key is.
 */
export async function recordHoldEvent(
  doc: DynamoDBDocumentClient,
  auditTable: string,
  event: HoldEvent,
): Promise<HoldEventItem> {
  const item = holdEventItem(event);
  try {
    await doc.send(
      new PutCommand({ TableName: auditTable, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
    );
  } catch (e) {
    if (
      !(e instanceof ConditionalCheckFailedException) &&
      (e as Error).name !== 'ConditionalCheckFailedException'
    )
      throw e;
    const [existing] = await holdEvents(doc, auditTable, event.hold.id, item.sk);
    if (existing?.principal !== item.principal || existing.action !== item.action)
      throw new Error(`audit table: a different hold event is already recorded as ${item.pk} ${item.sk}`);
  }
  return item;
}

/** The recorded events of one hold, oldest first (optionally only the one with sort key `sk`). */
export async function holdEvents(
  doc: DynamoDBDocumentClient,
  auditTable: string,
  id: string,
  sk?: string,
): Promise<HoldEventItem[]> {
  const out: HoldEventItem[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new QueryCommand({
        TableName: auditTable,
        KeyConditionExpression: sk ? 'pk = :pk AND sk = :sk' : 'pk = :pk AND begins_with(sk, :event)',
        ExpressionAttributeValues: sk
          ? { ':pk': `HOLD#${id}`, ':sk': sk }
          : { ':pk': `HOLD#${id}`, ':event': 'EVENT#' },
        ConsistentRead: true,
        ExclusiveStartKey,
      }),
    );
    out.push(...((page.Items ?? []) as HoldEventItem[]));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return out;
}
