/**
 * Keys of the organization's hub tables, one definition for the hub ingest, the spokes' breaker reader and the
 * CLI (`audit --org`, `breaker status --org`).
 *
 * Org audit table (hub):
 * - `pk = ORG#<account>#<region>#<spoke pk>`, `sk = <spoke sk>`: one item per spoke audit item, whatever its kind.
 * - GSI `byEnvironment`: `gsi1pk = ENV#<account>#<region>`, `gsi1sk = <at>#<repository>#<digest>`.
 * - GSI `byDay`: `gsi3pk = DAY#<yyyy-mm-dd>`, `gsi3sk = <at>#<account>#<region>#<repository>#<digest>`.
 *   Both only on items that name a repository, a digest and a time (deletion records and dry-run plans).
 *
 * Org state table (hub), TTL attribute `expiresAt`:
 * - the org breaker, `BREAKER#organization` / `BREAKER` (the BreakerState shape of state/breaker.ts);
 * - org delete-rate counters, `COUNT#organization#<window>` / `<window start>` (the RateCounters shape);
 * - markers: `COUNTED#…` (a deletion counted once), `ALERT#<messageId>` (an alert republished once),
 *   `ALERT#organization#<window>#<threshold>` / `<window start>` (a threshold alert sent once).
 */
import type { BreakerScope } from '../state/breaker.js';

/** The `source` of every event a spoke puts on the hub bus. */
export const ORG_SOURCE = 'ecr-steward';

/** The detail types on the hub bus (docs/org-events.md). */
export const ORG_DETAIL_TYPES = {
  auditRecord: 'ECR Steward Audit Record',
  alert: 'ECR Steward Alert',
} as const;

/** The org audit table's indexes (the hub stack must name them so). */
export const ORG_AUDIT_INDEXES = {
  byEnvironment: 'byEnvironment',
  byDay: 'byDay',
} as const;

/**
 * The breaker scope of the whole organization. BreakerScope (state/breaker.ts) names only a registry's scopes;
 * the org breaker is the same item shape under its own key, so the cast is the one place the type is widened.
 */
export const ORG_SCOPE = 'organization' as unknown as BreakerScope;

/** The org breaker's key in the hub state table: spokes read exactly this item (the table policy's LeadingKeys). */
export const ORG_BREAKER_KEY = { pk: 'BREAKER#organization', sk: 'BREAKER' } as const;

/** An environment (spoke): one account and region. */
export interface OrgEnvironmentRef {
  readonly account: string;
  readonly region: string;
}

/** The key of a spoke item in the org audit table. */
export const orgAuditKey = (env: OrgEnvironmentRef, record: { pk: string; sk: string }) => ({
  pk: `ORG#${env.account}#${env.region}#${record.pk}`,
  sk: record.sk,
});

/** The partition of one environment in the `byEnvironment` index. */
export const environmentPartition = (env: OrgEnvironmentRef): string => `ENV#${env.account}#${env.region}`;

/** The partition of one UTC day (`yyyy-mm-dd`) in the `byDay` index. */
export const dayPartition = (day: string): string => `DAY#${day}`;

/** The marker of a deletion counted in the org counters (one per spoke record). */
export const countedKey = (env: OrgEnvironmentRef, record: { pk: string; sk: string }) => ({
  pk: `COUNTED#${env.account}#${env.region}#${record.pk}`,
  sk: record.sk,
});

/** The marker of an alert republished from a spoke, by the SNS message id. */
export const alertMessageKey = (env: OrgEnvironmentRef, messageId: string) => ({
  // Scoped by the sender: another account's message with the same id can never suppress this one.
  pk: `ALERT#${env.account}#${env.region}#${messageId}`,
  sk: 'MESSAGE',
});

/** The marker of the one alert of an org threshold in one window. */
export const thresholdAlertKey = (window: string, threshold: string, start: string) => ({
  pk: `ALERT#organization#${window}#${threshold}`,
  sk: start,
});

/** The org counter of a window (the same item shape as RateCounters' so `RateCounters.get` reads it). */
export const orgCounterKey = (window: string, start: string) => ({
  pk: `COUNT#organization#${window}`,
  sk: start,
});
