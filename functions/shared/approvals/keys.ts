/**
 * The requests table's keys (pk/sk strings, two GSIs):
 * - a request: `pk = REQUEST#<id>`, `sk = REQUEST`.
 * - `byState` (gsi1pk = state, gsi1sk = `<createdAt>#<id>`): `approvals list` and the expiry of pending ones.
 * - `byRepository` (gsi2pk = `REPO#<registryId>#<region>#<repository>`, gsi2sk = `<createdAt>#<id>`): a run
 *   reads the requests of its repository in one Query, strongly consistent on the base table is not possible
 *   for a GSI, so a run also re-reads each request it acts on by its key (GetItem, consistent).
 * Decided requests get a `ttl` (REQUEST_RETENTION_DAYS after the decision); their history stays in the audit
 * table for as long as the audit keeps records.
 */
export const REQUEST_INDEXES = { byState: 'byState', byRepository: 'byRepository' } as const;

export const REQUEST_RETENTION_DAYS = 400;
