/**
 * A transaction item's condition, decided in the proxy with dynalite's own code (its request validation,
 * expression parser and condition evaluator), against the item's before-image that the transaction read
 * holding the item's lock. Used by local/dynamo-transactions.ts so that the writes of a transaction whose
 * conditions all hold can go to dynalite as BatchWriteItem (25 items a call, no condition left to check)
 * instead of one conditional PutItem or DeleteItem per item: a transaction of 100 puts was 100 calls to
 * dynalite, each paying for HTTP and dynalite's request validation, about four times what a batched write of
 * the same item costs.
 *
 * The answer is only ever what dynalite would have answered for the single conditional call: the same
 * validation (a request it would refuse is not decided here: `undecided`, and the proxy makes the call so
 * dynalite answers it with its own error), the same parse of the expression, the same evaluation against the
 * same item (nothing can change it meanwhile: the transaction holds its lock). dynalite's internals are
 * reached by path, so the version is pinned in package.json; a version without them fails here at load.
 */
import { createRequire } from 'node:module';
import type { AttributeMap } from './streams.js';

interface ActionValidation {
  readonly types: Record<string, unknown>;
  readonly custom: (data: Record<string, unknown>, store: unknown) => string | undefined;
}

const require = createRequire(import.meta.url);
const validations = require('dynalite/validations/index.js') as {
  checkTypes(data: Record<string, unknown>, types: Record<string, unknown>): Record<string, unknown>;
  checkValidations(
    data: Record<string, unknown>,
    types: Record<string, unknown>,
    custom: ActionValidation['custom'],
    store: unknown,
  ): void;
};
const db = require('dynalite/db/index.js') as {
  readonly MAX_SIZE: number;
  checkConditional(
    data: Record<string, unknown>,
    existing: AttributeMap | undefined,
  ): Error | null | undefined;
};
const ACTIONS: Record<'Put' | 'Delete', ActionValidation> = {
  Put: require('dynalite/validations/putItem.js') as ActionValidation,
  Delete: require('dynalite/validations/deleteItem.js') as ActionValidation,
};
/** What dynalite's validations read of its store: the item size limit, at dynalite's default (400 KB). */
const STORE = { options: { maxItemSize: db.MAX_SIZE } };

export type Decided = 'holds' | 'fails' | 'undecided';

/**
 * Whether the condition of a transaction's Put or Delete holds on the item as it is (`before`), decided as
 * dynalite decides it for the single call (`request`: the PutItem or DeleteItem input); `undecided` for a
 * request dynalite would refuse, which the caller then makes so that dynalite gives its own answer.
 */
export function decideCondition(
  op: 'Put' | 'Delete',
  request: Record<string, unknown>,
  before: AttributeMap | undefined,
): Decided {
  const action = ACTIONS[op];
  let data: Record<string, unknown>;
  try {
    // dynalite's checks rewrite the request they are given (they drop unknown fields): a copy is checked.
    data = validations.checkTypes(structuredClone(request), action.types);
    validations.checkValidations(data, action.types, action.custom, STORE);
  } catch {
    return 'undecided';
  }
  return db.checkConditional(data, before) ? 'fails' : 'holds';
}
