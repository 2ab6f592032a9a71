/**
 * Deletion requests in their own DynamoDB table (keys: ./keys.ts). A request is created once (conditional
 * put) and answered once (conditional update from PENDING_APPROVAL): two approvers answering at the same
 * instant cannot both win, and an answered request never changes again.
 */

import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { stripUndefined } from '../runtime/format.js';
import { REQUEST_INDEXES, REQUEST_RETENTION_DAYS } from './keys.js';
import { type DeletionRequestRecord, REQUEST_STATES, type RequestState } from './model.js';

export interface RequestScope {
  readonly registryId: string;
  readonly region: string;
  readonly repository: string;
}

const repoKey = (s: RequestScope) => `REPO#${s.registryId}#${s.region}#${s.repository}`;

type StoredRequest = DeletionRequestRecord & {
  pk: string;
  sk: 'REQUEST';
  gsi1pk: RequestState;
  gsi1sk: string;
  gsi2pk?: string;
  gsi2sk?: string;
  ttl?: number;
};

function toItem(r: DeletionRequestRecord): StoredRequest {
  const decidedAt = r.decision ? Date.parse(r.decision.at) : undefined;
  return {
    ...stripUndefined(r),
    pk: `REQUEST#${r.id}`,
    sk: 'REQUEST',
    gsi1pk: r.state,
    gsi1sk: `${r.createdAt}#${r.id}`,
    ...(r.repository
      ? { gsi2pk: repoKey({ ...r, repository: r.repository }), gsi2sk: `${r.createdAt}#${r.id}` }
      : {}),
    ...(decidedAt ? { ttl: Math.floor(decidedAt / 1000) + REQUEST_RETENTION_DAYS * 86_400 } : {}),
  };
}

function fromItem(item: Record<string, unknown>): DeletionRequestRecord {
  const { pk: _pk, sk: _sk, gsi1pk: _a, gsi1sk: _b, gsi2pk: _c, gsi2sk: _d, ttl: _t, ...rest } = item;
  return rest as unknown as DeletionRequestRecord;
}

const isConditionFailure = (e: unknown) =>
  e instanceof ConditionalCheckFailedException || (e as Error).name === 'ConditionalCheckFailedException';

export class RequestsStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  /** Stores a new request; false when one with its id exists already (nothing is overwritten). */
  async create(request: DeletionRequestRecord): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: toItem(request),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  /** One request, strongly consistent (the runs act on what this returns). */
  async get(id: string): Promise<DeletionRequestRecord | undefined> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: `REQUEST#${id}`, sk: 'REQUEST' },
        ConsistentRead: true,
      }),
    );
    return out.Item ? fromItem(out.Item) : undefined;
  }

  /**
   * Records the answer `next` (APPROVED, REJECTED or EXPIRED) of a request that is still PENDING_APPROVAL.
   * False when it is not pending any more (someone answered first): the caller re-reads and reports that.
   */
  async answer(next: DeletionRequestRecord): Promise<boolean> {
    const item = toItem(next);
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: item.pk, sk: item.sk },
          UpdateExpression: `SET #state = :state, #decision = :decision, gsi1pk = :state${item.ttl ? ', #ttl = :ttl' : ''}`,
          ConditionExpression: 'attribute_exists(pk) AND #state = :pending',
          ExpressionAttributeNames: {
            '#state': 'state',
            '#decision': 'decision',
            ...(item.ttl ? { '#ttl': 'ttl' } : {}),
          },
          ExpressionAttributeValues: {
            ':state': next.state,
            ':decision': stripUndefined({ ...next.decision }),
            ':pending': 'PENDING_APPROVAL',
            ...(item.ttl ? { ':ttl': item.ttl } : {}),
          },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  /** Notes that the approvals message went out (a request not yet announced is announced again). */
  async markAnnounced(id: string, at: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: `REQUEST#${id}`, sk: 'REQUEST' },
        UpdateExpression: 'SET announcedAt = if_not_exists(announcedAt, :at)',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':at': at },
      }),
    );
  }

  /** Requests in `state` (all states when omitted), oldest first, optionally of one repository. */
  async list(
    options: { state?: RequestState | undefined; repository?: RequestScope | undefined; limit?: number } = {},
  ): Promise<DeletionRequestRecord[]> {
    const limit = options.limit ?? 1000;
    if (options.repository) {
      const all = await this.query(
        REQUEST_INDEXES.byRepository,
        'gsi2pk',
        repoKey(options.repository),
        limit,
      );
      return options.state ? all.filter((r) => r.state === options.state) : all;
    }
    const states = options.state ? [options.state] : REQUEST_STATES;
    const out: DeletionRequestRecord[] = [];
    for (const state of states)
      out.push(...(await this.query(REQUEST_INDEXES.byState, 'gsi1pk', state, limit)));
    return out
      .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0))
      .slice(0, limit);
  }

  /** The requests of a repository created at or after `since`, answered or not (an index read: eventually consistent). */
  async forRepository(scope: RequestScope, since: string): Promise<DeletionRequestRecord[]> {
    return this.query(REQUEST_INDEXES.byRepository, 'gsi2pk', repoKey(scope), 1000, since);
  }

  private async query(
    index: string,
    key: 'gsi1pk' | 'gsi2pk',
    value: string,
    limit: number,
    since?: string,
  ): Promise<DeletionRequestRecord[]> {
    const sortKey = key === 'gsi1pk' ? 'gsi1sk' : 'gsi2sk';
    const out: DeletionRequestRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: index,
          KeyConditionExpression: since ? '#k = :v AND #s >= :since' : '#k = :v',
          ExpressionAttributeNames: { '#k': key, ...(since ? { '#s': sortKey } : {}) },
          ExpressionAttributeValues: { ':v': value, ...(since ? { ':since': since } : {}) },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) out.push(fromItem(item));
      start = page.LastEvaluatedKey;
    } while (start && out.length < limit);
    return out.slice(0, limit);
  }
}
