/**
 * TransactWriteItems for the local DynamoDB proxy (local/dynamo-proxy.ts): dynalite v4 has no transactions, so
 * the proxy runs them itself over dynalite's single-item operations, with DynamoDB's contract:
 *
 * - validation as DynamoDB answers it (ValidationException): 1 to 100 items, exactly one operation per item,
 *   never two operations on one item;
 * - all or nothing: every item's key is locked (the proxy's KeyedLock, keys taken in sorted order, so two
 *   transactions never deadlock and a single-item write through the proxy waits for the transaction), the
 *   items' before-images are read (one consistent BatchGetItem), then each Put/Update/Delete runs against dynalite
 *   with its own condition. If any condition fails, every write already made is put back to its before-image
 *   and the answer is `TransactionCanceledException` with one CancellationReason per item, in order
 *   (`ConditionalCheckFailed` with the item when `ReturnValuesOnConditionCheckFailure` is `ALL_OLD`, else
 *   `None`), as DynamoDB's awsJson1.0 sends it and the SDK parses it;
 * - a ConditionCheck is evaluated by a write that changes nothing: the item as it is, put back under the
 *   condition (or, when there is no item, a conditional DeleteItem of the absent key), so dynalite evaluates
 *   the expression with its own rules and the item is left as it was;
 * - `ClientRequestToken`: a repeat of a successful transaction within 10 minutes answers success without
 *   applying it again; the same token with other parameters is an IdempotentParameterMismatchException.
 *
 * Every condition is evaluated against the state before the transaction (the items are distinct and locked),
 * so the items run concurrently and the reasons say which conditions failed, not only the first one.
 */
import { createHash } from 'node:crypto';
import { mapLimit } from '../functions/shared/runtime/concurrency.js';
import { decideCondition } from './dynalite-conditions.js';
import type { AttributeMap } from './streams.js';

/** The answer of one call to dynalite (status and parsed body). */
export interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export interface TransactionDeps {
  /** One call to dynalite (not through the proxy's locks). */
  call(operation: string, input: Record<string, unknown>): Promise<Answer>;
  /** The key of an item of a table (throws a ResourceNotFound answer when the table does not exist). */
  keyOf(table: string, item: AttributeMap): Promise<AttributeMap>;
  /** The lock key of an item: the same string the proxy's single-item writes lock. */
  lockKey(table: string, key: AttributeMap): string;
  /** Runs `fn` holding these keys. */
  withLocks<T>(keys: readonly string[], fn: () => Promise<T>): Promise<T>;
  /** Told each item a successful transaction changed (the proxy records it in the table's stream). */
  changed(table: string, before: AttributeMap | undefined, after: AttributeMap | undefined): void;
  /** Whether a table's changes are recorded (its after-images are then read). */
  streamed(table: string): boolean;
  now(): number;
}

/** An error answer (awsJson1.0) the proxy sends as it is. */
export class DynamoError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const MAX_ITEMS = 100;
/** DynamoDB's limit on a transaction's items, together. */
const MAX_BYTES = 4 * 1024 * 1024;
const TOKEN_WINDOW_MS = 10 * 60_000;
/** A transaction's writes sent to dynalite at once (its items are distinct and locked: order is free). */
const WRITES_AT_ONCE = 32;
/** BatchGetItem rounds for a transaction's before-images before giving up (dynalite leaves none unread). */
const MAX_READ_ROUNDS = 5;
const OPERATIONS = ['ConditionCheck', 'Put', 'Delete', 'Update'] as const;
type Operation = (typeof OPERATIONS)[number];

interface Planned {
  readonly op: Operation;
  readonly table: string;
  readonly key: AttributeMap;
  readonly lockKey: string;
  readonly spec: Record<string, unknown>;
}

/** Successful transactions by ClientRequestToken: the request's hash and when it ran. */
export type TokenLog = Map<string, { readonly hash: string; readonly at: number }>;

/** Runs one TransactWriteItems request; answers `{}` or throws a DynamoError. */
export async function transactWriteItems(
  input: unknown,
  deps: TransactionDeps,
  tokens: TokenLog,
): Promise<Record<string, unknown>> {
  const request = (input ?? {}) as Record<string, unknown>;
  const items = request.TransactItems;
  if (!Array.isArray(items) || items.length === 0)
    throw validation(
      "1 validation error detected: Value null at 'transactItems' failed to satisfy constraint: Member must not be null",
    );
  if (items.length > MAX_ITEMS)
    throw validation(
      `1 validation error detected: Value '[${items.length} items]' at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ITEMS}`,
    );
  // DynamoDB: "The aggregate size of the items in the transaction cannot exceed 4 MB". Measured here on the
  // request's items as JSON (UTF-8), slightly above DynamoDB's own measure of attribute names and values.
  const size = Buffer.byteLength(JSON.stringify(items));
  if (size > MAX_BYTES)
    throw validation(
      `Transaction request size exceeds the limit of 4 MB (the items of this request take ${size} bytes)`,
    );
  const token = typeof request.ClientRequestToken === 'string' ? request.ClientRequestToken : undefined;
  const { ClientRequestToken: _token, ...rest } = request;
  const hash = createHash('sha256').update(JSON.stringify(rest)).digest('hex');
  if (token) {
    for (const [t, seen] of tokens) if (deps.now() - seen.at > TOKEN_WINDOW_MS) tokens.delete(t);
    const seen = tokens.get(token);
    if (seen && seen.hash !== hash)
      throw new DynamoError(
        400,
        'IdempotentParameterMismatchException',
        'The request uses the same client token as a previous, but non-identical request.',
      );
    // The same request again (the SDK's retry of a call whose answer was lost): it already happened.
    if (seen) return {};
  }

  const planned: Planned[] = [];
  for (const raw of items as Record<string, unknown>[]) {
    const ops = OPERATIONS.filter((op) => raw?.[op] !== undefined);
    if (ops.length !== 1)
      throw validation('TransactItems can only contain one of Check, Put, Update or Delete');
    const op = ops[0]!;
    const spec = raw[op] as Record<string, unknown>;
    const table = spec.TableName;
    if (typeof table !== 'string')
      throw validation(
        "1 validation error detected: Value null at 'transactItems.member.tableName' failed to satisfy constraint: Member must not be null",
      );
    const source = (op === 'Put' ? spec.Item : spec.Key) as AttributeMap | undefined;
    if (!source || typeof source !== 'object')
      throw validation(`1 validation error detected: ${op === 'Put' ? 'Item' : 'Key'} must not be null`);
    const key = await deps.keyOf(table, source);
    planned.push({ op, table, key, lockKey: deps.lockKey(table, key), spec });
  }
  if (new Set(planned.map((p) => p.lockKey)).size !== planned.length)
    throw validation('Transaction request cannot include multiple operations on one item');

  await deps.withLocks(
    planned.map((p) => p.lockKey),
    async () => {
      const before = await readItems(deps, planned);
      const streamed = planned.map((p) => p.op !== 'ConditionCheck' && deps.streamed(p.table));
      const results = await write(deps, planned, before, streamed);
      const failed = results.some((r) => r.status !== 200);
      if (failed) {
        // Undo what landed, then answer for the whole transaction.
        await mapLimit(
          planned.map((_, i) => i),
          WRITES_AT_ONCE,
          async (i) => {
            const p = planned[i]!;
            if (results[i]!.status === 200 && results[i] !== NOT_WRITTEN && p.op !== 'ConditionCheck')
              await restore(deps, p, before[i]);
          },
        );
        const other = results.find((r) => r.status !== 200 && !isConditionFailure(r));
        if (other) {
          const type =
            String(other.body.__type ?? '')
              .split('#')
              .pop() ?? 'InternalServerError';
          throw new DynamoError(
            other.status,
            type,
            String(other.body.message ?? other.body.Message ?? 'error'),
          );
        }
        const reasons = planned.map((p, i) => {
          if (!isConditionFailure(results[i]!)) return { Code: 'None' };
          const old = before[i];
          return {
            Code: 'ConditionalCheckFailed',
            Message: 'The conditional request failed',
            ...(p.spec.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' && old ? { Item: old } : {}),
          };
        });
        throw new DynamoError(
          400,
          'TransactionCanceledException',
          `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
          { CancellationReasons: reasons },
        );
      }
      // The after-images, from the writes' own answers (see `afterImage`): no item is read again.
      planned.forEach((p, i) => {
        if (streamed[i]) deps.changed(p.table, before[i], afterImage(p, results[i]!));
      });
    },
  );
  if (token) tokens.set(token, { hash, at: deps.now() });
  return {};
}

/** The answer dynalite gives a single write whose condition fails. */
const CONDITION_FAILED: Answer = {
  status: 400,
  body: {
    __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
    message: 'The conditional request failed',
  },
};
const WRITTEN: Answer = { status: 200, body: {} };
/** BatchWriteItem's limit on a call's items. */
const BATCH_WRITE_ITEMS = 25;

/**
 * Makes the transaction's writes, holding its items' locks: one answer per item, as the single conditional
 * call would have answered. A Put or Delete whose condition dynalite's own code decides against the item's
 * before-image (local/dynalite-conditions.ts) is written without its condition in BatchWriteItem calls of
 * 25; a condition that fails there is that item's answer, and the transaction's other writes are then not
 * made at all (it is cancelled: only the other items' conditions are still evaluated, for the reasons). Every
 * other item (Update, ConditionCheck, a request dynalite would refuse) is its own call to dynalite, which
 * evaluates its condition, and so is each item of a batch dynalite refused (it validates a batch whole before
 * writing any of it), so that item gets dynalite's own answer.
 */
async function write(
  deps: TransactionDeps,
  planned: readonly Planned[],
  before: readonly (AttributeMap | undefined)[],
  streamed: readonly boolean[],
): Promise<Answer[]> {
  const results: Answer[] = new Array(planned.length);
  const batched: number[] = [];
  const single: number[] = [];
  planned.forEach((p, i) => {
    const decided =
      p.op === 'Put' || p.op === 'Delete' ? decideCondition(p.op, singleCall(p), before[i]) : 'undecided';
    if (decided === 'fails') results[i] = CONDITION_FAILED;
    else (decided === 'holds' ? batched : single).push(i);
  });
  const cancelled = results.some((r) => r !== undefined);
  const singles = await mapLimit(single, WRITES_AT_ONCE, (i) =>
    apply(deps, planned[i]!, before[i], streamed[i]!),
  );
  single.forEach((i, k) => {
    results[i] = singles[k]!;
  });
  if (cancelled) {
    // Nothing of a cancelled transaction is written: its decided items stand as they were.
    for (const i of batched) results[i] = NOT_WRITTEN;
    return results;
  }
  const chunks: number[][] = [];
  for (let k = 0; k < batched.length; k += BATCH_WRITE_ITEMS)
    chunks.push(batched.slice(k, k + BATCH_WRITE_ITEMS));
  await mapLimit(chunks, WRITES_AT_ONCE, async (chunk) => {
    const answer = await batchWrite(
      deps,
      chunk.map((i) => planned[i]!),
    );
    if (answer.status === 200) {
      for (const i of chunk) results[i] = WRITTEN;
      return;
    }
    const again = await mapLimit(chunk, WRITES_AT_ONCE, (i) =>
      apply(deps, planned[i]!, before[i], streamed[i]!),
    );
    chunk.forEach((i, k) => {
      results[i] = again[k]!;
    });
  });
  return results;
}

/**
 * An item of a cancelled transaction that was never written: no write to undo, no reason of its own (its
 * condition held). Answered as a success that `isConditionFailure` does not count, and marked so the
 * rollback leaves it alone.
 */
const NOT_WRITTEN: Answer = { status: 200, body: { notWritten: true } };

/** The single PutItem or DeleteItem a transaction's Put or Delete stands for. */
function singleCall(p: Planned): Record<string, unknown> {
  return p.op === 'Put'
    ? { TableName: p.table, Item: p.spec.Item, ...expression(p.spec) }
    : { TableName: p.table, Key: p.spec.Key, ...expression(p.spec) };
}

/** One BatchWriteItem of items whose conditions hold, retried for what dynalite leaves unprocessed. */
async function batchWrite(deps: TransactionDeps, items: readonly Planned[]): Promise<Answer> {
  let request: Record<string, unknown[]> = {};
  for (const p of items) {
    const table = request[p.table] ?? [];
    request[p.table] = table;
    table.push(
      p.op === 'Put' ? { PutRequest: { Item: p.spec.Item } } : { DeleteRequest: { Key: p.spec.Key } },
    );
  }
  for (let round = 0; Object.keys(request).length > 0; round++) {
    if (round >= MAX_READ_ROUNDS) return { status: 500, body: { message: 'unprocessed items remained' } };
    const answer = await deps.call('BatchWriteItem', { RequestItems: request });
    if (answer.status !== 200) return answer;
    request = (answer.body.UnprocessedItems ?? {}) as typeof request;
  }
  return WRITTEN;
}

function validation(message: string): DynamoError {
  return new DynamoError(400, 'ValidationException', message);
}

function isConditionFailure(a: Answer): boolean {
  return a.status === 400 && String(a.body.__type ?? '').endsWith('#ConditionalCheckFailedException');
}

/** An answer that is not a success, as the error the transaction answers with. */
function failure(answer: Answer, what: string): DynamoError {
  return new DynamoError(
    answer.status,
    String(answer.body.__type ?? 'InternalServerError')
      .split('#')
      .pop()!,
    String(answer.body.message ?? answer.body.Message ?? `${what} answered ${answer.status}`),
  );
}

/**
 * The before-images of the planned items, in their order: one consistent BatchGetItem of all their keys
 * (a transaction's 100 items are BatchGetItem's 100 keys), read again for any keys it leaves unprocessed.
 * One call instead of one GetItem per item: the items are locked, so they are read as of one moment either
 * way. Returned items are matched to the planned ones by lock key (BatchGetItem answers in no given order).
 */
async function readItems(
  deps: TransactionDeps,
  planned: readonly Planned[],
): Promise<(AttributeMap | undefined)[]> {
  const found = new Map<string, AttributeMap>();
  let request: Record<string, { Keys: AttributeMap[]; ConsistentRead: true }> = {};
  for (const p of planned) {
    request[p.table] ??= { Keys: [], ConsistentRead: true };
    request[p.table]!.Keys.push(p.key);
  }
  for (let round = 0; Object.keys(request).length > 0; round++) {
    if (round >= MAX_READ_ROUNDS)
      throw new DynamoError(500, 'InternalServerError', 'transaction: the items could not all be read');
    const answer = await deps.call('BatchGetItem', { RequestItems: request });
    if (answer.status !== 200) throw failure(answer, 'BatchGetItem');
    const responses = (answer.body.Responses ?? {}) as Record<string, AttributeMap[]>;
    for (const [table, items] of Object.entries(responses))
      for (const item of items) found.set(deps.lockKey(table, await deps.keyOf(table, item)), item);
    request = (answer.body.UnprocessedKeys ?? {}) as typeof request;
  }
  return planned.map((p) => found.get(p.lockKey));
}

/**
 * An item's image after a successful write, from the write itself: a Put stores exactly its item, a Delete
 * leaves none, and an Update is asked for its new image (`ReturnValues: ALL_NEW`, see `apply`).
 */
function afterImage(p: Planned, answer: Answer): AttributeMap | undefined {
  switch (p.op) {
    case 'Put':
      return p.spec.Item as AttributeMap;
    case 'Update':
      return answer.body.Attributes as AttributeMap | undefined;
    default:
      return undefined;
  }
}

/** The parameters a single-item call shares with its transaction item. */
function expression(spec: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ['ConditionExpression', 'ExpressionAttributeNames', 'ExpressionAttributeValues'])
    if (spec[k] !== undefined) out[k] = spec[k];
  return out;
}

function apply(
  deps: TransactionDeps,
  p: Planned,
  before: AttributeMap | undefined,
  streamed: boolean,
): Promise<Answer> {
  const { spec, table } = p;
  switch (p.op) {
    case 'Put':
      return deps.call('PutItem', { TableName: table, Item: spec.Item, ...expression(spec) });
    case 'Update':
      return deps.call('UpdateItem', {
        TableName: table,
        Key: spec.Key,
        UpdateExpression: spec.UpdateExpression,
        ...expression(spec),
        ...(streamed ? { ReturnValues: 'ALL_NEW' } : {}),
      });
    case 'Delete':
      return deps.call('DeleteItem', { TableName: table, Key: spec.Key, ...expression(spec) });
    case 'ConditionCheck':
      // A write that changes nothing, so that dynalite evaluates the condition with its own rules.
      return before
        ? deps.call('PutItem', { TableName: table, Item: before, ...expression(spec) })
        : deps.call('DeleteItem', { TableName: table, Key: spec.Key, ...expression(spec) });
  }
}

async function restore(deps: TransactionDeps, p: Planned, before: AttributeMap | undefined): Promise<void> {
  const answer = before
    ? await deps.call('PutItem', { TableName: p.table, Item: before })
    : await deps.call('DeleteItem', { TableName: p.table, Key: p.key });
  if (answer.status !== 200)
    throw new Error(
      `transaction rollback of ${p.table} failed (${answer.status}): ${JSON.stringify(answer.body)}`,
    );
}
