/**
 * The audit record of one registry operation (a policy set, a lifecycle policy changed, tag mutability switched,
 * a repository created or deleted, a push, ...): who, from where, with what client, what changed, when. One
 * record per CloudTrail event (or ECR event for a push), written once with a conditional put, so EventBridge's
 * redeliveries change nothing.
 *
 * Keys (the audit table, beside the deletion records of records.ts):
 * - `pk = OP#<event id>`, `sk = OPERATION`: a record per event, never merged or rewritten.
 * - GSI `byRepository`: `gsi1pk = OPREPO#<registryId>#<region>#<repository>`, `gsi1sk = <time>#<event id>`
 *   (only operations on one repository; registry-wide ones such as PutRegistryPolicy have no repository).
 * - GSI `byRun`: `gsi2pk = OPBY#<principal>`, `gsi2sk = <time>#<event id>` (operations of one principal).
 * - GSI `byDay`: `gsi3pk = OPDAY#<yyyy-mm-dd>`, `gsi3sk = <time>#<event id>`.
 *
 * The index partitions have their own prefixes (`OPREPO#`, `OPBY#`, `OPDAY#`), never `REPO#`, `RUN#` or
 * `DAY#`: every query of the deletion records names its partition exactly, so no deletion query (the CLI's
 * `audit`, the alerts' tallies, reconciliation, restore, reports) can ever read an operation, and no new
 * index is needed.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { stripUndefined } from '../runtime/format.js';
import { AUDIT_INDEXES } from './store.js';

/** The CloudTrail management events of ECR that are recorded (docs/events.md §3.9). */
export const CLOUDTRAIL_OPERATIONS = [
  'SetRepositoryPolicy',
  'DeleteRepositoryPolicy',
  'PutLifecyclePolicy',
  'DeleteLifecyclePolicy',
  'PutImageTagMutability',
  'PutImageScanningConfiguration',
  'PutRegistryPolicy',
  'PutReplicationConfiguration',
  'CreateRepository',
  'DeleteRepository',
  'TagResource',
  'UntagResource',
] as const;

/** A recorded operation: one of the CloudTrail events, or `PutImage` for a push (`ECR Image Action` PUSH). */
export type OperationName = (typeof CLOUDTRAIL_OPERATIONS)[number] | 'PutImage';

/** The request parameters that matter, summarized (a policy's text is reduced to whom it grants what). */
export interface OperationParameters {
  /** Policies: every principal an Allow statement names (`*` for everyone), sorted. */
  readonly grantees?: readonly string[] | undefined;
  /** Policies: the actions of the Allow statements, sorted. */
  readonly actions?: readonly string[] | undefined;
  /** Policies: Allow statements whose principal is `*` but whose condition narrows it (e.g. aws:PrincipalOrgID). */
  readonly conditioned?: readonly string[] | undefined;
  /** PutImageTagMutability, CreateRepository. */
  readonly imageTagMutability?: string | undefined;
  /** PutImageScanningConfiguration, CreateRepository. */
  readonly scanOnPush?: boolean | undefined;
  /** PutLifecyclePolicy: the rules' priorities and actions (`1:expire`), in order. */
  readonly lifecycleRules?: readonly string[] | undefined;
  /** TagResource, CreateRepository: the tags set. */
  readonly tags?: Readonly<Record<string, string>> | undefined;
  /** UntagResource: the tag keys removed. */
  readonly tagKeys?: readonly string[] | undefined;
  /** PutReplicationConfiguration: destinations as `<registryId>/<region>`, sorted. */
  readonly destinations?: readonly string[] | undefined;
  /** DeleteRepository: whether images were deleted with it. */
  readonly force?: boolean | undefined;
  /** PutImage: the pushed manifest and tag. */
  readonly digest?: string | undefined;
  readonly tag?: string | undefined;
  /** The policy text could not be read as JSON (kept out of the record; the alert says so). */
  readonly unreadable?: string | undefined;
}

/** One operation, as the audit function extracts it from an event. */
export interface Operation {
  readonly eventId: string;
  readonly operation: OperationName;
  readonly registryId: string;
  readonly region: string;
  /** Absent for registry-wide operations (PutRegistryPolicy, PutReplicationConfiguration). */
  readonly repository?: string | undefined;
  /** The IAM principal (the role behind an assumed-role session); absent for pushes (ECR's event names none). */
  readonly principal?: string | undefined;
  /** The caller's own ARN as CloudTrail gives it (`userIdentity.arn`, e.g. the assumed-role session). */
  readonly callerArn?: string | undefined;
  readonly sourceIPAddress?: string | undefined;
  readonly userAgent?: string | undefined;
  /** Set when the call failed (AccessDenied, ...): recorded, since a refused attempt matters too. */
  readonly errorCode?: string | undefined;
  readonly parameters: OperationParameters;
  /** When the call was made, ISO-8601. */
  readonly at: string;
}

/** The audit-table item of an operation. */
export interface OperationRecord extends Operation {
  readonly pk: `OP#${string}`;
  readonly sk: typeof OPERATION_SK;
  readonly kind: 'operation';
  readonly gsi1pk?: string | undefined;
  readonly gsi1sk?: string | undefined;
  readonly gsi2pk?: string | undefined;
  readonly gsi2sk?: string | undefined;
  readonly gsi3pk: string;
  readonly gsi3sk: string;
  readonly recordedAt: string;
  readonly ttl?: number | undefined;
}

export const OPERATION_SK = 'OPERATION' as const;

export const operationRepoPartition = (r: { registryId: string; region: string; repository: string }) =>
  `OPREPO#${r.registryId}#${r.region}#${r.repository}`;
export const operationPrincipalPartition = (principal: string) => `OPBY#${principal}`;
export const operationDayPartition = (day: string) => `OPDAY#${day}`;

/** The item of an operation, with its keys and expiry (`ttlDays`: audit.operationRetentionDays). Pure. */
export function operationRecord(op: Operation, now: string, ttlDays: number | undefined): OperationRecord {
  const sk = `${op.at}#${op.eventId}`;
  return stripUndefined({
    ...op,
    parameters: stripUndefined({ ...op.parameters }),
    pk: `OP#${op.eventId}` as const,
    sk: OPERATION_SK,
    kind: 'operation' as const,
    gsi1pk: op.repository
      ? operationRepoPartition({ registryId: op.registryId, region: op.region, repository: op.repository })
      : undefined,
    gsi1sk: op.repository ? sk : undefined,
    gsi2pk: op.principal ? operationPrincipalPartition(op.principal) : undefined,
    gsi2sk: op.principal ? sk : undefined,
    gsi3pk: operationDayPartition(op.at.slice(0, 10)),
    gsi3sk: sk,
    recordedAt: now,
    ttl: ttlDays ? Math.floor(Date.parse(now) / 1000) + ttlDays * 86_400 : undefined,
  });
}

/** What `list` filters on; the most selective key available picks the index. */
export interface OperationQuery {
  readonly registryId: string;
  readonly region: string;
  readonly repository?: string | undefined;
  readonly principal?: string | undefined;
  /** ISO-8601: operations at or after this time. */
  readonly since: string;
  readonly limit?: number | undefined;
}

/** The operation records of the audit table: written once, listed by repository, principal or day. */
export class OperationStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    private readonly options: { ttlDays?: number | undefined; now?: () => Date } = {},
  ) {}

  private now(): string {
    return (this.options.now?.() ?? new Date()).toISOString();
  }

  /**
   * Records an operation once. Returns the record and whether this call wrote it: a redelivered event finds its
   * record (the condition fails) and changes nothing, so it raises no second alert either.
   */
  async record(op: Operation): Promise<{ record: OperationRecord; created: boolean }> {
    const record = operationRecord(op, this.now(), this.options.ttlDays);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: record,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { record, created: true };
    } catch (e) {
      if (
        e instanceof ConditionalCheckFailedException ||
        (e as Error).name === 'ConditionalCheckFailedException'
      )
        return { record: (await this.get(op.eventId)) ?? record, created: false };
      throw e;
    }
  }

  async get(eventId: string): Promise<OperationRecord | undefined> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: `OP#${eventId}`, sk: OPERATION_SK },
        ConsistentRead: true,
      }),
    );
    return out.Item as OperationRecord | undefined;
  }

  /**
   * Operations newest first. With a principal, its own partition (filtered by repository when both are given);
   * else with a repository, the repository's; else day by day from today back to `since`.
   */
  async list(q: OperationQuery): Promise<OperationRecord[]> {
    const limit = q.limit ?? 1000;
    const mine = (r: OperationRecord) => r.registryId === q.registryId && r.region === q.region;
    if (q.principal) {
      const records = await this.query(
        AUDIT_INDEXES.byRun,
        'gsi2',
        operationPrincipalPartition(q.principal),
        q.since,
        q.repository ? 100_000 : limit,
      );
      return records
        .filter(mine)
        .filter((r) => !q.repository || r.repository === q.repository)
        .slice(0, limit);
    }
    if (q.repository)
      return this.query(
        AUDIT_INDEXES.byRepository,
        'gsi1',
        operationRepoPartition({ registryId: q.registryId, region: q.region, repository: q.repository }),
        q.since,
        limit,
      );
    const out: OperationRecord[] = [];
    const start = Date.parse(q.since.slice(0, 10));
    for (let t = Date.parse(this.now().slice(0, 10)); t >= start && out.length < limit; t -= 86_400_000) {
      const day = new Date(t).toISOString().slice(0, 10);
      out.push(
        ...(
          await this.query(
            AUDIT_INDEXES.byDay,
            'gsi3',
            operationDayPartition(day),
            q.since,
            limit - out.length,
          )
        ).filter(mine),
      );
    }
    return out.slice(0, limit);
  }

  private async query(
    index: string,
    key: 'gsi1' | 'gsi2' | 'gsi3',
    partition: string,
    since: string,
    limit: number,
  ): Promise<OperationRecord[]> {
    const out: OperationRecord[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: index,
          KeyConditionExpression: `${key}pk = :pk AND ${key}sk >= :since`,
          ExpressionAttributeValues: { ':pk': partition, ':since': since },
          ScanIndexForward: false,
          ExclusiveStartKey,
        }),
      );
      out.push(...((page.Items ?? []) as OperationRecord[]));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey && out.length < limit);
    return out.slice(0, limit);
  }
}
