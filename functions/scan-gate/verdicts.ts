import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Finding } from './findings.js';
import type { VerdictValue } from './gate.js';

export interface VerdictRecord {
  readonly pk: string;
  readonly sk: string;
  readonly registryId: string;
  readonly region: string;
  readonly repository: string;
  readonly digest: string;
  readonly tags: readonly string[];
  readonly verdict: VerdictValue;
  readonly summary: string;
  readonly reasons: readonly string[];
  readonly counts: Readonly<Record<string, number>>;
  /** The blocking findings (at most 50, most severe first). */
  readonly blocking: readonly Finding[];
  readonly policyHash: string;
  readonly at: string;
  readonly trigger: string;
  readonly eventId: string;
  readonly actions: readonly string[];
  readonly quarantineTag?: string | undefined;
  /** The signature part (`SIGNED by …`, `UNSIGNED`, `INVALID SIGNATURE (…)`, `UNTRUSTED SIGNER (…)`), when checked. */
  readonly signature?: string | undefined;
  /**
   * When the image was first quarantined (its first FAIL with the quarantine on); kept while it stays
   * quarantined, cleared when it passes or is removed. The quarantine expiry counts from here.
   */
  readonly quarantinedAt?: string | undefined;
}

/**
 * The sparse index of quarantined images: only LATEST records of quarantined images carry `qpk`, so the
 * quarantine expiry reads the due ones without scanning the table. `qdue` is when the expiry looks at the
 * image: its `quarantinedAt`, or later once an expiry run has judged it and kept it (in use, breaker open…),
 * so images kept run after run cannot crowd the others out of a bounded run.
 */
export const VERDICT_INDEXES = {
  quarantined: { name: 'byQuarantine', partitionKey: 'qpk', sortKey: 'qdue' },
} as const;
const QUARANTINED = 'QUARANTINED';

export const verdictPk = (r: { registryId: string; region: string; repository: string; digest: string }) =>
  `IMG#${r.registryId}#${r.region}#${r.repository}#${r.digest}`;

/** Verdicts: the latest per image (`sk = LATEST`) and the full history (`sk = AT#<time>#<event>`). */
export class VerdictStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async latest(ref: {
    registryId: string;
    region: string;
    repository: string;
    digest: string;
  }): Promise<VerdictRecord | undefined> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: verdictPk(ref), sk: 'LATEST' },
        ConsistentRead: true,
      }),
    );
    return out.Item as VerdictRecord | undefined;
  }

  async history(ref: {
    registryId: string;
    region: string;
    repository: string;
    digest: string;
  }): Promise<VerdictRecord[]> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :at)',
        ExpressionAttributeValues: { ':pk': verdictPk(ref), ':at': 'AT#' },
      }),
    );
    return (out.Items ?? []) as VerdictRecord[];
  }

  /**
   * LATEST records of quarantined images due at or before `cutoff` (ISO time), the longest due first, at most
   * `limit`. Reads the sparse quarantine index, so the cost follows the number of quarantined images only.
   */
  async dueForExpiry(cutoff: string, limit: number): Promise<VerdictRecord[]> {
    const { name, partitionKey, sortKey } = VERDICT_INDEXES.quarantined;
    const out: VerdictRecord[] = [];
    if (limit <= 0) return out;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: name,
          KeyConditionExpression: '#pk = :pk AND #sk <= :cutoff',
          ExpressionAttributeNames: { '#pk': partitionKey, '#sk': sortKey },
          ExpressionAttributeValues: { ':pk': QUARANTINED, ':cutoff': cutoff },
          Limit: limit - out.length,
          ExclusiveStartKey: start,
        }),
      );
      out.push(...((page.Items ?? []) as VerdictRecord[]));
      start = page.LastEvaluatedKey;
    } while (start && out.length < limit);
    return out;
  }

  /**
   * Takes an image out of the quarantine (the image is gone), unless a newer verdict was written since `at`:
   * that verdict decides.
   */
  async release(
    ref: { registryId: string; region: string; repository: string; digest: string },
    at: string,
  ): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: verdictPk(ref), sk: 'LATEST' },
          UpdateExpression: 'REMOVE #qpk, #qdue, quarantinedAt',
          ConditionExpression: 'attribute_exists(pk) AND #at = :at',
          ExpressionAttributeNames: {
            '#qpk': VERDICT_INDEXES.quarantined.partitionKey,
            '#qdue': VERDICT_INDEXES.quarantined.sortKey,
            '#at': 'at',
          },
          ExpressionAttributeValues: { ':at': at },
        }),
      );
    } catch (e) {
      if ((e as Error).name !== 'ConditionalCheckFailedException') throw e;
    }
  }

  /**
   * Moves a quarantined image's place in the index to `until` (an expiry run judged it and kept it), unless a
   * newer verdict was written since `at`.
   */
  async defer(
    ref: { registryId: string; region: string; repository: string; digest: string },
    at: string,
    until: string,
  ): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: verdictPk(ref), sk: 'LATEST' },
          UpdateExpression: 'SET #qdue = :until',
          ConditionExpression: 'attribute_exists(#qpk) AND #at = :at',
          ExpressionAttributeNames: {
            '#qpk': VERDICT_INDEXES.quarantined.partitionKey,
            '#qdue': VERDICT_INDEXES.quarantined.sortKey,
            '#at': 'at',
          },
          ExpressionAttributeValues: { ':at': at, ':until': until },
        }),
      );
    } catch (e) {
      if ((e as Error).name !== 'ConditionalCheckFailedException') throw e;
    }
  }

  /** Writes the history entry, then the new latest; an older event never replaces a newer verdict. */
  async put(record: Omit<VerdictRecord, 'pk' | 'sk'>): Promise<boolean> {
    const pk = verdictPk(record);
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...record, pk, sk: `AT#${record.at}#${record.eventId}` },
      }),
    );
    // Only the LATEST record of a quarantined image is in the quarantine index.
    const { partitionKey, sortKey } = VERDICT_INDEXES.quarantined;
    const indexed = record.quarantinedAt
      ? { [partitionKey]: QUARANTINED, [sortKey]: record.quarantinedAt }
      : {};
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...record, ...indexed, pk, sk: 'LATEST' },
          ConditionExpression: 'attribute_not_exists(pk) OR #at <= :at',
          ExpressionAttributeNames: { '#at': 'at' },
          ExpressionAttributeValues: { ':at': record.at },
        }),
      );
      return true;
    } catch (e) {
      if ((e as Error).name === 'ConditionalCheckFailedException') return false;
      throw e;
    }
  }
}
