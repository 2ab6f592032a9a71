import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
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
}

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

  /** Writes the history entry, then the new latest; an older event never replaces a newer verdict. */
  async put(record: Omit<VerdictRecord, 'pk' | 'sk'>): Promise<boolean> {
    const pk = verdictPk(record);
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...record, pk, sk: `AT#${record.at}#${record.eventId}` },
      }),
    );
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...record, pk, sk: 'LATEST' },
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
