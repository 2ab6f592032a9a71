/**
 * The audit trail of requests: their creation, every answer given or refused (with the caller's principal,
 * source IP and user agent), and their expiry, in the audit table.
 *
 * Its own item kind, keyed so it never collides with a deletion record (`pk = IMG#…`), a hold event
 * (`HOLD#…`) or a breaker reset (`BREAKER#…`): `pk = REQUEST#<id>`, `sk = EVENT#<at>#<action>#<nonce>`. It
 * carries none of the GSI attributes, so the deletion indexes never list it. Written with a conditional put:
 * never overwritten.
 */
import { randomBytes } from 'node:crypto';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { DeletionRequestRecord, RefusalCode, RequestState } from './model.js';
import { requesterName } from './model.js';

export type RequestEventAction = 'create' | 'approve' | 'reject' | 'expire' | 'list' | 'breaker-reset';

export interface RequestEvent {
  readonly requestId: string;
  readonly action: RequestEventAction;
  /** `allowed` for a change made (or an idempotent repeat), `refused` with its code otherwise. */
  readonly outcome: 'allowed' | 'refused';
  readonly code?: RefusalCode | undefined;
  /** Who called (a principal ARN), or `ecr-steward` for what a run or the expiry did. */
  readonly principal: string;
  readonly sourceIp?: string | undefined;
  readonly userAgent?: string | undefined;
  readonly at: string;
  /** The request's state after the event (absent for an unknown request). */
  readonly state?: RequestState | undefined;
  readonly repository?: string | undefined;
  readonly scope?: string | undefined;
  readonly imageCount?: number | undefined;
  readonly bytes?: number | undefined;
  readonly requester?: string | undefined;
  /** The comment or reason given, or the refusal's message. */
  readonly note?: string | undefined;
  /** An answer repeated the way it was given changes nothing. */
  readonly changed?: boolean | undefined;
}

export interface RequestEventItem extends RequestEvent {
  readonly pk: `REQUEST#${string}`;
  readonly sk: `EVENT#${string}`;
  readonly kind: 'request';
}

/** The event of an action on `request` (or on an unknown id, when `request` is undefined). */
export function requestEvent(
  request: DeletionRequestRecord | undefined,
  event: Omit<RequestEvent, 'state' | 'repository' | 'scope' | 'imageCount' | 'bytes' | 'requester'>,
): RequestEvent {
  return {
    ...event,
    ...(request
      ? {
          state: request.state,
          repository: request.repository,
          scope: request.scope,
          imageCount: request.imageCount,
          bytes: request.bytes,
          requester: requesterName(request.requester),
        }
      : {}),
  };
}

export async function recordRequestEvent(
  doc: DynamoDBDocumentClient,
  auditTable: string,
  event: RequestEvent,
): Promise<RequestEventItem> {
  const item: RequestEventItem = {
    ...(Object.fromEntries(Object.entries(event).filter(([, v]) => v !== undefined)) as RequestEvent),
    pk: `REQUEST#${event.requestId}`,
    sk: `EVENT#${event.at}#${event.action}#${randomBytes(4).toString('hex')}`,
    kind: 'request',
  };
  await doc.send(
    new PutCommand({ TableName: auditTable, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
  );
  return item;
}

/** The recorded events of one request, oldest first. */
export async function requestEvents(
  doc: DynamoDBDocumentClient,
  auditTable: string,
  requestId: string,
): Promise<RequestEventItem[]> {
  const out: RequestEventItem[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new QueryCommand({
        TableName: auditTable,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :event)',
        ExpressionAttributeValues: { ':pk': `REQUEST#${requestId}`, ':event': 'EVENT#' },
        ConsistentRead: true,
        ExclusiveStartKey,
      }),
    );
    out.push(...((page.Items ?? []) as RequestEventItem[]));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return out;
}
