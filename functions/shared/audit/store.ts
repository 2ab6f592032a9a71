import {
  type AttributeValue,
  type CancellationReason,
  ConditionalCheckFailedException,
  DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DYNAMODB_CLIENT_DEFAULTS } from '../runtime/clients.js';
import {
  type AuditRecord,
  becameDeleted,
  type DeleteSignal,
  DUE_PARTITION,
  type ImageRef,
  isOwnWrite,
  keysOf,
  mergeSignal,
  repoKey,
} from './records.js';

export const AUDIT_INDEXES = {
  byRepository: 'byRepository',
  byRun: 'byRun',
  byDay: 'byDay',
  /** Sparse: SCHEDULED records by dueAt, ARCHIVED records by purgeAt (gsi4pk = DUE, gsi4sk = <time>#…). */
  byDue: 'byDue',
  /** Sparse: the same open records (SCHEDULED, ARCHIVED) by repository (gsi5pk = OPEN#REPO#…, gsi5sk = <time>#<digest>). */
  openByRepository: 'openByRepository',
} as const;

/** The key of a deletion's record (not a dry-run plan's) as one string: the map key of `getAll`. */
export const recordKey = (ref: ImageRef): string => {
  const { pk, sk } = keysOf(ref, { dryRun: false });
  return `${pk}\n${sk}`;
};

/**
 * Whether the SDK sent the request more than once before this error (its retry middleware counts the attempts):
 * only then can a refused conditional put be the retry of one that landed. A refusal on the first attempt is
 * another writer's doing.
 */
const retried = (e: unknown) => ((e as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1) > 1;

/**
 * A retried put whose refusal found our event on the record, written over by another write since (not our own
 * write as it was): our put may have been the one that recorded the deletion, and nobody may count it. The
 * caller fails, and its message, sent again, counts what it is owed (the audit function's counted marks).
 */
function throwIfOvertaken(
  tried: { readonly before: AuditRecord | undefined; readonly next: AuditRecord },
  found: AuditRecord | undefined,
  signal: DeleteSignal,
): void {
  if (!found || isOwnWrite(found, tried.next) || !becameDeleted(tried.before, tried.next)) return;
  if (signal.eventId && found.eventIds.includes(signal.eventId))
    throw new Error(
      `audit record ${signal.repository}@${signal.digest}: a retried write may have landed under a later one; sent again to count it`,
    );
}

export function documentClient(
  client = new DynamoDBClient(DYNAMODB_CLIENT_DEFAULTS),
): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

export interface RecordResult {
  readonly record: AuditRecord | undefined;
  /** True exactly once per deletion: when this write first recorded ECR's event evidence of it (see becameDeleted). */
  readonly newlyDeleted: boolean;
}

/**
 * The condition of a record's put, built from the next status. A new record must not exist yet; a change must
 * find the version it merged; and a write whose next status is not DELETED must find a record that is not
 * DELETED, so that no write of ours (whatever a merge bug or a stale read would make of it) can turn a settled
 * deletion back into PENDING, FAILED or PLANNED. A DELETED record still gains evidence and event ids.
 */
export function putCondition(
  existing: Pick<AuditRecord, 'version'> | undefined,
  next: Pick<AuditRecord, 'status'>,
): {
  ConditionExpression: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
} {
  if (!existing) return { ConditionExpression: 'attribute_not_exists(pk)' };
  if (next.status === 'DELETED')
    return {
      ConditionExpression: '#v = :v',
      ExpressionAttributeNames: { '#v': 'version' },
      ExpressionAttributeValues: { ':v': existing.version },
    };
  return {
    ConditionExpression: '#v = :v AND #s <> :deleted',
    ExpressionAttributeNames: { '#v': 'version', '#s': 'status' },
    ExpressionAttributeValues: { ':v': existing.version, ':deleted': 'DELETED' },
  };
}

/** The most puts in one TransactWriteItems call (DynamoDB's limit, and BatchDeleteImage's batch). */
export const TRANSACTION_ITEMS = 100;

/**
 * `recordAll` failed part way: `results[i]` is set for every signal whose record is written (or needed no
 * write), undefined for the rest; `cause` is the failure.
 */
export class PartialRecordError extends Error {
  constructor(
    readonly results: readonly (RecordResult | undefined)[],
    override readonly cause: unknown,
  ) {
    super(`audit records written in part: ${(cause as Error | undefined)?.message ?? String(cause)}`);
    this.name = 'PartialRecordError';
  }
}

/**
 * DynamoDB refuses a PutItem on an item an ongoing transaction is writing with TransactionConflictException,
 * which the SDK does not retry: a write-ahead or settle that meets the audit function's burst transaction waits
 * and tries again.
 */
function isTransactionConflict(e: unknown): boolean {
  return (e as Error | undefined)?.name === 'TransactionConflictException';
}

/** 20 ms, doubling, at most 1.3 s: the wait before attempt `attempt + 1` of a contended write. */
function backoff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 20 * 2 ** Math.min(attempt, 6)));
}

/** Below DynamoDB's 4 MB per transaction, so a batch of write-ahead records with manifests is split in time. */
const TRANSACTION_BYTES = 3_500_000;

/** Cancellation reasons that say "try again" rather than "your condition failed". */
const TRANSIENT_REASONS = new Set([
  'TransactionConflict',
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
  'RequestLimitExceeded',
]);

/**
 * The audit table. Every write is a merge-conditional-put on the record's version, so concurrent and repeated
 * signals about one deletion converge on one record without losing any of them: `record` reads the record
 * first; `recordAll` writes up to 100 records in one transaction on what the caller knows of them, and reads
 * only the records whose condition failed (they come back with the cancellation).
 */
export class AuditStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    private readonly options: {
      ttlDays?: number | undefined;
      plannedTtlDays?: number | undefined;
      now?: () => Date;
    } = {},
  ) {}

  private now(): string {
    return (this.options.now?.() ?? new Date()).toISOString();
  }

  async get(
    ref:
      | DeleteSignal
      | (Pick<DeleteSignal, 'registryId' | 'region' | 'repository' | 'digest'> & {
          dryRun?: boolean;
          runId?: string;
        }),
  ): Promise<AuditRecord | undefined> {
    const dryRun = 'status' in ref ? ref.status === 'PLANNED' : (ref.dryRun ?? false);
    const runId = 'actor' in ref ? ref.actor?.runId : 'runId' in ref ? ref.runId : undefined;
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keysOf(ref, { dryRun, runId }),
        ConsistentRead: true,
      }),
    );
    return out.Item as AuditRecord | undefined;
  }

  /**
   * The records of many signals (deletions, not dry-run plans), strongly consistent, in BatchGetItem calls of up
   * to 100 keys (keys DynamoDB leaves unprocessed are asked again). Keyed by `recordKey`.
   */
  async getAll(refs: readonly ImageRef[]): Promise<Map<string, AuditRecord>> {
    const found = new Map<string, AuditRecord>();
    const keys = [...new Map(refs.map((r) => [recordKey(r), keysOf(r, { dryRun: false })])).values()];
    for (let i = 0; i < keys.length; i += 100) {
      let request: Record<string, unknown>[] = keys.slice(i, i + 100);
      for (let attempt = 0; request.length > 0; attempt++) {
        if (attempt === 8)
          throw new Error(`audit records unreadable: DynamoDB left ${request.length} key(s) unprocessed`);
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
        const out = await this.doc.send(
          new BatchGetCommand({
            RequestItems: { [this.tableName]: { Keys: request, ConsistentRead: true } },
          }),
        );
        for (const item of (out.Responses?.[this.tableName] ?? []) as AuditRecord[])
          found.set(recordKey(item), item);
        request = (out.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as typeof request;
      }
    }
    return found;
  }

  /** Records one signal; retries on a concurrent write until the merge lands. */
  async record(signal: DeleteSignal): Promise<RecordResult> {
    // The last put refused, with the record it merged on: the refusal may be the SDK's retry of a put that landed.
    let tried: { readonly before: AuditRecord | undefined; readonly next: AuditRecord } | undefined;
    for (let attempt = 0; attempt < 10; attempt++) {
      const existing = await this.get(signal);
      if (tried && isOwnWrite(existing, tried.next))
        return { record: existing, newlyDeleted: becameDeleted(tried.before, tried.next) };
      if (tried) throwIfOvertaken(tried, existing, signal);
      const next = mergeSignal(existing, signal, this.now(), {
        ttlDays: this.options.ttlDays,
        plannedTtlDays: this.options.plannedTtlDays,
      });
      if (!next) return { record: existing, newlyDeleted: false };
      try {
        await this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: next,
            ...putCondition(existing, next),
          }),
        );
        return { record: next, newlyDeleted: becameDeleted(existing, next) };
      } catch (e) {
        if (
          e instanceof ConditionalCheckFailedException ||
          (e as Error).name === 'ConditionalCheckFailedException'
        ) {
          if (retried(e)) tried = { before: existing, next };
          continue;
        }
        if (isTransactionConflict(e)) {
          await backoff(attempt);
          continue;
        }
        throw e;
      }
    }
    throw new Error(
      `audit record for ${signal.repository}@${signal.digest} kept changing; giving up after 10 attempts`,
    );
  }

  /**
   * Records many signals (one per record) in TransactWriteItems calls of up to 100 conditional puts: the merge
   * is made on `known[i]`, what the caller knows of signal i's record (undefined: believed absent, so a new
   * write-ahead costs no read), and each put is conditioned as `record`'s is. A put whose condition fails (a
   * redelivery, a confirmation that came first) cancels the transaction; DynamoDB returns the record it found
   * (ReturnValuesOnConditionCheckFailure ALL_OLD), the merge is made again on it, and the transaction is sent
   * again. Nothing is written unless the whole batch is, so a write-ahead batch is durable entirely or not at
   * all. Returns one result per signal, in order.
   */
  async recordAll(
    signals: readonly DeleteSignal[],
    known: readonly (AuditRecord | undefined)[] = [],
  ): Promise<RecordResult[]> {
    const results: RecordResult[] = new Array(signals.length);
    const current = signals.map((_, i) => known[i]);
    const keys = signals.map((s, i) => {
      const runId = s.actor?.runId ?? known[i]?.actor.runId;
      const { pk, sk } = keysOf(s, { dryRun: s.status === 'PLANNED', runId });
      return `${pk}\n${sk}`;
    });
    // A transaction takes one operation per item: two signals of one record are the caller's to sequence.
    if (new Set(keys).size !== keys.length)
      throw new Error('recordAll takes one signal per record; record the others in a later call');
    const now = this.now();
    const batches: number[][] = [];
    let batch: number[] = [];
    let bytes = 0;
    for (let i = 0; i < signals.length; i++) {
      // Sized on the record as known so far; a merge only adds evidence and event ids, far below the margin.
      // UTF-8 bytes, as DynamoDB counts them (a kept manifest may be far from ASCII).
      const size =
        Buffer.byteLength(JSON.stringify(signals[i])) + Buffer.byteLength(JSON.stringify(current[i] ?? {}));
      if (batch.length === TRANSACTION_ITEMS || (batch.length > 0 && bytes + size > TRANSACTION_BYTES)) {
        batches.push(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(i);
      bytes += size;
    }
    if (batch.length > 0) batches.push(batch);
    for (const [k, indexes] of batches.entries()) {
      try {
        await this.transact(indexes, signals, current, results, now);
      } catch (e) {
        // The transactions before this one are written: their results go with the error, so the caller counts
        // their new deletions (a retry would find them written and count nothing). The first failing alone
        // wrote nothing: its error goes as it is.
        if (k === 0) throw e;
        throw new PartialRecordError(results, e);
      }
    }
    return results;
  }

  private async transact(
    indexes: readonly number[],
    signals: readonly DeleteSignal[],
    current: (AuditRecord | undefined)[],
    results: RecordResult[],
    now: string,
  ): Promise<void> {
    const opts = { ttlDays: this.options.ttlDays, plannedTtlDays: this.options.plannedTtlDays };
    // A single put refused, with the record it merged on: the refusal may be the SDK's retry of a put that landed.
    // (A transaction's retry carries the same ClientRequestToken, so DynamoDB answers it as the call it repeats.)
    let tried:
      | { readonly i: number; readonly before: AuditRecord | undefined; readonly next: AuditRecord }
      | undefined;
    for (let attempt = 0; attempt < 10; attempt++) {
      const writes: { i: number; next: AuditRecord }[] = [];
      for (const i of indexes) {
        if (tried?.i === i) throwIfOvertaken(tried, current[i], signals[i]!);
        if (tried?.i === i && isOwnWrite(current[i], tried.next)) {
          results[i] = { record: current[i], newlyDeleted: becameDeleted(tried.before, tried.next) };
          continue;
        }
        const next = mergeSignal(current[i], signals[i]!, now, opts);
        if (next) writes.push({ i, next });
        else results[i] = { record: current[i], newlyDeleted: false };
      }
      if (writes.length === 0) return;
      if (writes.length === 1) {
        // One record: a conditional PutItem does what a transaction of one would, at the same cost.
        const { i, next } = writes[0]!;
        try {
          await this.doc.send(
            new PutCommand({
              TableName: this.tableName,
              Item: next,
              ...putCondition(current[i], next),
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          );
          results[i] = { record: next, newlyDeleted: becameDeleted(current[i], next) };
          return;
        } catch (e) {
          if (isTransactionConflict(e)) {
            // Another transaction is writing this record (DynamoDB refuses the put; the SDK does not retry it).
            await backoff(attempt);
            continue;
          }
          if ((e as Error).name !== 'ConditionalCheckFailedException') throw e;
          if (retried(e)) tried = { i, before: current[i], next };
          current[i] = await this.found(signals[i]!, (e as { Item?: Record<string, AttributeValue> }).Item);
          continue;
        }
      }
      try {
        await this.doc.send(
          new TransactWriteCommand({
            TransactItems: writes.map(({ i, next }) => ({
              Put: {
                TableName: this.tableName,
                Item: next,
                ...putCondition(current[i], next),
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            })),
          }),
        );
        for (const { i, next } of writes)
          results[i] = { record: next, newlyDeleted: becameDeleted(current[i], next) };
        return;
      } catch (e) {
        const reasons = (e as { CancellationReasons?: CancellationReason[] }).CancellationReasons;
        if ((e as Error).name !== 'TransactionCanceledException' || !reasons) throw e;
        let transient = false;
        for (const [k, reason] of reasons.entries()) {
          const write = writes[k];
          if (!write) continue;
          if (reason.Code === 'ConditionalCheckFailed')
            current[write.i] = await this.found(signals[write.i]!, reason.Item);
          else if (reason.Code && reason.Code !== 'None')
            if (TRANSIENT_REASONS.has(reason.Code)) transient = true;
            else throw e;
        }
        // Another writer holds one of the records, or the table throttled the transaction: back off and retry.
        if (transient) await backoff(attempt);
      }
    }
    const first = signals[indexes[0]!]!;
    throw new Error(
      `audit records of ${first.repository} (${indexes.length} starting with ${first.digest}) kept changing; giving up after 10 attempts`,
    );
  }

  /**
   * The record a failed condition found: the item DynamoDB returned with the failure (ALL_OLD), or, from a
   * DynamoDB that did not return it, a consistent read.
   */
  private async found(
    signal: DeleteSignal,
    item: Record<string, AttributeValue> | undefined,
  ): Promise<AuditRecord | undefined> {
    return item ? (unmarshall(item) as AuditRecord) : this.get(signal);
  }

  /** Deletion records of a repository, newest first, optionally since a time. */
  async byRepository(
    ref: { registryId: string; region: string; repository: string },
    since?: string,
    limit = 1000,
  ): Promise<AuditRecord[]> {
    return this.query(
      {
        IndexName: AUDIT_INDEXES.byRepository,
        KeyConditionExpression: since ? 'gsi1pk = :pk AND gsi1sk >= :since' : 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': repoKey(ref), ...(since ? { ':since': since } : {}) },
        ScanIndexForward: false,
      },
      limit,
    );
  }

  /** Write-ahead records of a repository still PENDING (for settlement), from the last 30 days. */
  async pending(ref: { registryId: string; region: string; repository: string }): Promise<AuditRecord[]> {
    const since = new Date(Date.parse(this.now()) - 30 * 86_400_000).toISOString();
    return this.query(
      {
        IndexName: AUDIT_INDEXES.byRepository,
        KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk >= :since',
        FilterExpression: '#s = :pending',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':pk': repoKey(ref), ':since': since, ':pending': 'PENDING' },
      },
      10_000,
    );
  }

  /**
   * The records of one repository, newest first, from one page of the `byRepository` index (up to 1 MB):
   * `complete` when that page holds every one. A repository with few records is then known whole in one call:
   * its PENDING records and its open ones (those carrying the openByRepository key); a larger one at least back
   * to the page's oldest record.
   */
  async repositoryPage(ref: {
    registryId: string;
    region: string;
    repository: string;
  }): Promise<{ readonly records: AuditRecord[]; readonly complete: boolean }> {
    const page = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: AUDIT_INDEXES.byRepository,
        KeyConditionExpression: 'gsi1pk = :pk',
        ExpressionAttributeValues: { ':pk': repoKey(ref) },
        ScanIndexForward: false,
      }),
    );
    return { records: (page.Items ?? []) as AuditRecord[], complete: page.LastEvaluatedKey === undefined };
  }

  /**
   * Records whose time has come, oldest first: SCHEDULED notices due at or before `until`, and ARCHIVED images
   * whose purge is due. The due-deletion processor reads it to know which repositories to run.
   */
  async due(until: string, limit = 10_000): Promise<AuditRecord[]> {
    return this.query(
      {
        IndexName: AUDIT_INDEXES.byDue,
        KeyConditionExpression: 'gsi4pk = :pk AND gsi4sk <= :until',
        ExpressionAttributeValues: { ':pk': DUE_PARTITION, ':until': `${until}#\uffff` },
      },
      limit,
    );
  }

  /**
   * The repositories with something due (a notice, a retry, a purge), reading only the index keys and the
   * repository of each record: the due-deletion processor needs nothing more.
   */
  async dueRepositories(
    until: string,
  ): Promise<{ registryId: string; region: string; repository: string; requestId?: string }[]> {
    // One entry per repository and request (a notice's request decides whether it is due work at all).
    const seen = new Map<
      string,
      { registryId: string; region: string; repository: string; requestId?: string }
    >();
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: AUDIT_INDEXES.byDue,
          KeyConditionExpression: 'gsi4pk = :pk AND gsi4sk <= :until',
          ExpressionAttributeValues: { ':pk': DUE_PARTITION, ':until': `${until}#\uffff` },
          ProjectionExpression: 'registryId, #r, repository, requestId',
          ExpressionAttributeNames: { '#r': 'region' },
          ExclusiveStartKey,
        }),
      );
      for (const item of (page.Items ?? []) as {
        registryId: string;
        region: string;
        repository: string;
        requestId?: string;
      }[])
        seen.set(`${item.registryId}#${item.region}#${item.repository}#${item.requestId ?? ''}`, item);
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return [...seen.values()];
  }

  /** The open records (SCHEDULED notices, ARCHIVED images) of one repository, soonest due first. */
  async open(ref: { registryId: string; region: string; repository: string }): Promise<AuditRecord[]> {
    return this.query(
      {
        IndexName: AUDIT_INDEXES.openByRepository,
        KeyConditionExpression: 'gsi5pk = :pk',
        ExpressionAttributeValues: { ':pk': `OPEN#${repoKey(ref)}` },
      },
      100_000,
    );
  }

  async byDigest(digest: string): Promise<AuditRecord[]> {
    return this.query(
      { KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `IMG#${digest}` } },
      1000,
    );
  }

  async byRun(runId: string): Promise<AuditRecord[]> {
    return this.query(
      {
        IndexName: AUDIT_INDEXES.byRun,
        KeyConditionExpression: 'gsi2pk = :pk',
        ExpressionAttributeValues: { ':pk': `RUN#${runId}` },
      },
      100_000,
    );
  }

  /** Records of one UTC day (`yyyy-mm-dd`), newest first. */
  async byDay(day: string, since?: string, limit = 1000): Promise<AuditRecord[]> {
    return this.query(
      {
        IndexName: AUDIT_INDEXES.byDay,
        KeyConditionExpression: since ? 'gsi3pk = :pk AND gsi3sk >= :since' : 'gsi3pk = :pk',
        ExpressionAttributeValues: { ':pk': `DAY#${day}`, ...(since ? { ':since': since } : {}) },
        ScanIndexForward: false,
      },
      limit,
    );
  }

  /** Recent records registry-wide since an ISO time (day by day, newest first). */
  async recent(since: string, limit = 1000): Promise<AuditRecord[]> {
    const out: AuditRecord[] = [];
    const start = Date.parse(since.slice(0, 10));
    for (let t = Date.parse(this.now().slice(0, 10)); t >= start && out.length < limit; t -= 86_400_000) {
      out.push(...(await this.byDay(new Date(t).toISOString().slice(0, 10), since, limit - out.length)));
    }
    return out;
  }

  private async query(
    input: Omit<ConstructorParameters<typeof QueryCommand>[0], 'TableName'>,
    limit: number,
  ): Promise<AuditRecord[]> {
    const out: AuditRecord[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({ ...input, TableName: this.tableName, ExclusiveStartKey }),
      );
      out.push(...((page.Items ?? []) as AuditRecord[]));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey && out.length < limit);
    return out.slice(0, limit);
  }
}
