/**
 * The org audit table in the hub: every spoke audit item, keyed by account and region (keys.ts). Writes are
 * idempotent under at-least-once delivery in any order: an item is replaced only by a higher version of itself,
 * so a duplicate or a stale version is a no-op, never an error.
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { SpokeAuditItem } from './events.js';
import {
  dayPartition,
  environmentPartition,
  ORG_AUDIT_INDEXES,
  type OrgEnvironmentRef,
  orgAuditKey,
} from './keys.js';

/** The spoke indexes' attributes: the hub has its own (byEnvironment, byDay), so the spoke's are not carried. */
const SPOKE_INDEX_ATTRIBUTES = [
  'gsi1pk',
  'gsi1sk',
  'gsi2pk',
  'gsi2sk',
  'gsi3pk',
  'gsi3sk',
  'gsi4pk',
  'gsi4sk',
  'gsi5pk',
  'gsi5sk',
] as const;

/** A spoke audit item as the org audit table holds it. */
export type OrgAuditItem = SpokeAuditItem & {
  readonly account: string;
  readonly region: string;
  /** The spoke's own key, so a reader can find the item in the spoke's table. */
  readonly spokePk: string;
  readonly gsi1pk?: string;
  readonly gsi1sk?: string;
  readonly gsi3pk?: string;
  readonly gsi3sk?: string;
};

/** The outcome of one write. */
export interface OrgPutResult {
  /** False when the table already held this version or a higher one (a duplicate or a stale version). */
  readonly written: boolean;
  /** The item this write replaced (only when written). */
  readonly previous?: OrgAuditItem | undefined;
}

/** The org item of a spoke item: the hub keys and indexes replace the spoke's. Pure. */
export function orgAuditItem(env: OrgEnvironmentRef, record: SpokeAuditItem): OrgAuditItem {
  const rest: Record<string, unknown> = { ...record };
  for (const attribute of SPOKE_INDEX_ATTRIBUTES) delete rest[attribute];
  const indexed =
    typeof record.at === 'string' &&
    typeof record.repository === 'string' &&
    typeof record.digest === 'string';
  return {
    ...(rest as SpokeAuditItem),
    ...orgAuditKey(env, record),
    spokePk: record.pk,
    account: env.account,
    region: env.region,
    ...(indexed
      ? {
          gsi1pk: environmentPartition(env),
          gsi1sk: `${record.at}#${record.repository}#${record.digest}`,
          gsi3pk: dayPartition(record.at!.slice(0, 10)),
          gsi3sk: `${record.at}#${env.account}#${env.region}#${record.repository}#${record.digest}`,
        }
      : {}),
  };
}

/** Reads and writes the org audit table. */
export class OrgAuditStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  /**
   * Writes a spoke item unless the table holds the same or a higher version. An item without a version (written
   * once in the spoke: request, hold and breaker events) counts as version 0, so only its first arrival writes.
   * The replaced item comes back, so the caller knows whether this write is the first DELETED one.
   */
  async put(env: OrgEnvironmentRef, record: SpokeAuditItem): Promise<OrgPutResult> {
    const item = orgAuditItem(env, record);
    try {
      const out = await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk) OR #v < :v',
          ExpressionAttributeNames: { '#v': 'version' },
          ExpressionAttributeValues: { ':v': record.version ?? 0 },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return { written: true, previous: out.Attributes as OrgAuditItem | undefined };
    } catch (e) {
      if ((e as Error).name === 'ConditionalCheckFailedException') return { written: false };
      throw e;
    }
  }

  /** One item by its spoke key. */
  async get(env: OrgEnvironmentRef, key: { pk: string; sk: string }): Promise<OrgAuditItem | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: orgAuditKey(env, key), ConsistentRead: true }),
    );
    return out.Item as OrgAuditItem | undefined;
  }

  /** Records of one account and region, newest first, optionally since a time. */
  async byEnvironment(env: OrgEnvironmentRef, since?: string, limit = 1000): Promise<OrgAuditItem[]> {
    return this.query(
      {
        IndexName: ORG_AUDIT_INDEXES.byEnvironment,
        KeyConditionExpression: since ? 'gsi1pk = :pk AND gsi1sk >= :since' : 'gsi1pk = :pk',
        ExpressionAttributeValues: {
          ':pk': environmentPartition(env),
          ...(since ? { ':since': since } : {}),
        },
        ScanIndexForward: false,
      },
      limit,
    );
  }

  /** Records of one UTC day (`yyyy-mm-dd`) across the organization, newest first, optionally since a time. */
  async byDay(day: string, since?: string, limit = 1000): Promise<OrgAuditItem[]> {
    return this.query(
      {
        IndexName: ORG_AUDIT_INDEXES.byDay,
        KeyConditionExpression: since ? 'gsi3pk = :pk AND gsi3sk >= :since' : 'gsi3pk = :pk',
        ExpressionAttributeValues: { ':pk': dayPartition(day), ...(since ? { ':since': since } : {}) },
        ScanIndexForward: false,
      },
      limit,
    );
  }

  /** Records across the organization since a time (at most 31 days back), newest first. */
  async recent(since: string, now: Date, limit = 1000): Promise<OrgAuditItem[]> {
    const items: OrgAuditItem[] = [];
    const first = Math.max(Date.parse(since.slice(0, 10)), now.getTime() - 31 * 86_400_000);
    for (let day = now.getTime(); items.length < limit; day -= 86_400_000) {
      const date = new Date(day).toISOString().slice(0, 10);
      if (Date.parse(date) < first) break;
      items.push(...(await this.byDay(date, since, limit - items.length)));
    }
    return items;
  }

  private async query(
    input: Omit<ConstructorParameters<typeof QueryCommand>[0], 'TableName'>,
    limit: number,
  ): Promise<OrgAuditItem[]> {
    const items: OrgAuditItem[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({ ...input, TableName: this.tableName, ExclusiveStartKey }),
      );
      items.push(...((page.Items ?? []) as OrgAuditItem[]));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey && items.length < limit);
    return items.slice(0, limit);
  }
}
