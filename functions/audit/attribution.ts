/**
 * Pending delete-rate alerts waiting for CloudTrail's attribution (who deleted), in the state table.
 *
 * ECR's `ECR Image Action` DELETE events arrive within seconds and name nobody; CloudTrail's `BatchDeleteImage`
 * (or a lifecycle `PolicyExecutionEvent`) names the principal minutes later. When a threshold is crossed while
 * deletions of the window are still unattributed, the alert's text waits here: the item lists those deletions
 * (`waiting`, as `<repository>@<digest>`), and every CloudTrail record that names one of them removes it and
 * adds its principal, source IP and user agent. The alert is sent when the list is empty or at the deadline
 * (`attributionWaitSeconds` after the crossing), whichever comes first; if it went out before the list was
 * empty, a follow-up naming the principals is sent when it empties. `sentAt` and `followUpSentAt` are claimed
 * with conditional writes, so each message is sent once whatever the redeliveries and concurrent invocations.
 *
 * Keys: `pk = ATTRIBUTION#<scope>`, `sk = <window>#<window start>#<threshold id>`; expired by `expiresAt`.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { RateWindow } from '../shared/config/schema.js';

/** At most this many unattributed deletions are tracked per alert (an item stays far below 400 KB). */
export const MAX_WAITING = 1000;
/** A pending alert is kept this long after its deadline, for late CloudTrail records to complete it. */
const KEEP_AFTER_DEADLINE_SECONDS = 24 * 3600;

export interface PendingAlertKey {
  readonly pk: string;
  readonly sk: string;
}

/** One delete-rate alert and its attribution so far. */
export interface PendingAlert extends PendingAlertKey {
  readonly scope: string;
  readonly window: RateWindow;
  readonly start: string;
  readonly threshold: string;
  readonly count: number;
  readonly limit: number;
  readonly breakerOpened: boolean;
  /** The deletion that crossed the threshold: its registry, region and repository (for the tallies). */
  readonly registryId: string;
  readonly region: string;
  readonly repository: string;
  /** Deletions not yet attributed, `<repository>@<digest>`; absent once every one is. */
  readonly waiting?: ReadonlySet<string> | undefined;
  /** Unattributed deletions beyond MAX_WAITING (not tracked). */
  readonly untracked: number;
  readonly principals?: ReadonlySet<string> | undefined;
  readonly sourceIps?: ReadonlySet<string> | undefined;
  readonly userAgents?: ReadonlySet<string> | undefined;
  readonly createdAt: string;
  /** When the alert goes out even if attribution is incomplete. */
  readonly deadline: string;
  readonly sentAt?: string | undefined;
  /** The subject the alert went out with (the follow-up refers to it). */
  readonly subject?: string | undefined;
  readonly followUpSentAt?: string | undefined;
  readonly expiresAt: number;
}

/** The key of the pending alert of a scope, window and threshold. */
export const pendingAlertKey = (k: {
  scope: string;
  window: string;
  start: string;
  threshold: string;
}): PendingAlertKey => ({ pk: `ATTRIBUTION#${k.scope}`, sk: `${k.window}#${k.start}#${k.threshold}` });

/** What one CloudTrail record says about who deleted. */
export interface Attribution {
  /** `<repository>@<digest>` of each deletion the record attributes. */
  readonly deletions: readonly string[];
  readonly principal?: string | undefined;
  readonly sourceIp?: string | undefined;
  readonly userAgent?: string | undefined;
}

const isConditionFailure = (e: unknown) =>
  e instanceof ConditionalCheckFailedException || (e as Error).name === 'ConditionalCheckFailedException';

/** Sets come back from DynamoDB as `Set`; a test double may give arrays. */
function asSet(v: unknown): ReadonlySet<string> | undefined {
  if (v instanceof Set) return v as Set<string>;
  if (Array.isArray(v)) return new Set(v as string[]);
  return undefined;
}

function fromItem(item: Record<string, unknown> | undefined): PendingAlert | undefined {
  if (!item) return undefined;
  return {
    ...(item as unknown as PendingAlert),
    waiting: asSet(item.waiting),
    principals: asSet(item.principals),
    sourceIps: asSet(item.sourceIps),
    userAgents: asSet(item.userAgents),
  };
}

/** The pending alerts of the state table. */
export class PendingAlerts {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  /** Writes a new pending alert; false when one exists already for its key (a redelivered crossing). */
  async create(
    alert: Omit<PendingAlert, 'expiresAt' | 'waiting'> & { waiting: readonly string[] },
  ): Promise<boolean> {
    const { waiting, ...rest } = alert;
    const item = {
      ...rest,
      ...(waiting.length > 0 ? { waiting: new Set(waiting) } : {}),
      expiresAt: Math.floor(Date.parse(alert.deadline) / 1000) + KEEP_AFTER_DEADLINE_SECONDS,
    };
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  async get(key: PendingAlertKey): Promise<PendingAlert | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: key.pk, sk: key.sk }, ConsistentRead: true }),
    );
    return fromItem(out.Item);
  }

  /** The pending alerts of a scope still waiting for someone: deletions to attribute, or a message to send. */
  async open(scope: string): Promise<PendingAlert[]> {
    const out: PendingAlert[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          FilterExpression: 'attribute_not_exists(followUpSentAt)',
          ExpressionAttributeValues: { ':pk': `ATTRIBUTION#${scope}` },
          ConsistentRead: true,
          ExclusiveStartKey,
        }),
      );
      for (const item of page.Items ?? []) out.push(fromItem(item)!);
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return out;
  }

  /**
   * Removes attributed deletions from `waiting` and adds who deleted them; returns the item as it is now.
   * Idempotent: a redelivered record removes nothing more and adds the same names again.
   */
  async attribute(key: PendingAlertKey, a: Attribution): Promise<PendingAlert | undefined> {
    const names: Record<string, string> = { '#w': 'waiting' };
    const values: Record<string, unknown> = { ':d': new Set(a.deletions) };
    const adds: string[] = [];
    const add = (attr: string, value: string | undefined) => {
      if (!value) return;
      names[`#${attr}`] = attr;
      values[`:${attr}`] = new Set([value]);
      adds.push(`#${attr} :${attr}`);
    };
    add('principals', a.principal);
    add('sourceIps', a.sourceIp);
    add('userAgents', a.userAgent);
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: key.pk, sk: key.sk },
          UpdateExpression: `DELETE #w :d${adds.length > 0 ? ` ADD ${adds.join(', ')}` : ''}`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return fromItem(out.Attributes);
    } catch (e) {
      if (isConditionFailure(e)) return undefined;
      throw e;
    }
  }

  /** Claims the sending of the alert (`sentAt`) or of the follow-up; true for exactly one caller. */
  async claim(
    key: PendingAlertKey,
    field: 'sentAt' | 'followUpSentAt',
    now: string,
    subject?: string,
  ): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: key.pk, sk: key.sk },
          UpdateExpression: `SET #f = :now${subject ? ', #subject = :subject' : ''}`,
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#f)',
          ExpressionAttributeNames: { '#f': field, ...(subject ? { '#subject': 'subject' } : {}) },
          ExpressionAttributeValues: { ':now': now, ...(subject ? { ':subject': subject } : {}) },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  /** Gives a claim back after the message could not be published, so a retry sends it. */
  async release(key: PendingAlertKey, field: 'sentAt' | 'followUpSentAt'): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: key.pk, sk: key.sk },
        UpdateExpression: 'REMOVE #f',
        ExpressionAttributeNames: { '#f': field },
      }),
    );
  }
}
