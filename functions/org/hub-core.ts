/**
 * The hub's decisions for one forwarded event: an audit record is written to the org audit table (the highest
 * version wins; repeats and stale versions change nothing), a deletion is counted once in the organization's
 * windows, and a crossed organization threshold opens the org breaker and sends one alert naming the account,
 * region, repository and principal; an alert is republished once on the hub topic of its role.
 */
import type { RateWindow, StewardConfig, Threshold } from '../shared/config/schema.js';
import type { AlertDetail, AuditRecordDetail, OrgTopic, SpokeAuditItem } from '../shared/org/events.js';
import { alertMessageKey, type OrgEnvironmentRef, thresholdAlertKey } from '../shared/org/keys.js';
import type { OrgPutResult } from '../shared/org/org-audit-store.js';
import { type OrgWindow, windowId } from '../shared/org/org-breaker.js';
import { windowStart } from '../shared/state/counters.js';

/** What the hub core needs; the handler wires them to DynamoDB and SNS, tests to fakes or dynalite. */
export interface HubPorts {
  readonly audit: { put(env: OrgEnvironmentRef, record: SpokeAuditItem): Promise<OrgPutResult> };
  readonly counters: {
    countOnce(
      env: OrgEnvironmentRef,
      record: { pk: string; sk: string },
      windows: readonly OrgWindow[],
      now: Date,
    ): Promise<{ counted: boolean; counts: Map<string, number> }>;
  };
  /** Once-markers (org-breaker.ts OnceMarkers): claim, then do, then mark done. */
  readonly markers: {
    claim(key: { pk: string; sk: string }, now: Date, expiresAt: number): Promise<boolean>;
    done(key: { pk: string; sk: string }): Promise<void>;
  };
  /** Opens the org breaker; true when this call opened it. */
  readonly openBreaker: (reason: string, now: Date, cooldownMinutes?: number) => Promise<boolean>;
  /** Publishes on the hub topic of a role; throws when the hub has no such topic. */
  readonly publish: (topic: OrgTopic, subject: string, message: string) => Promise<void>;
}

/** An organization threshold crossed by a deletion. */
export interface OrgCrossing {
  readonly window: RateWindow;
  readonly start: string;
  readonly count: number;
  readonly limit: number;
  readonly breakerOpened: boolean;
}

export interface AuditOutcome {
  readonly written: boolean;
  /** This event was the one that counted its deletion. */
  readonly counted: boolean;
  readonly crossings: readonly OrgCrossing[];
}

/** How long an alert's marker is kept: longer than any queue keeps a message for redelivery. */
const ALERT_MARKER_DAYS = 15;

/** The organization-scope thresholds of the config (only maxDeletes applies across registries). */
export function orgThresholds(config: StewardConfig): (Threshold & { maxDeletes: number })[] {
  return config.alerts.thresholds.filter(
    (t): t is Threshold & { maxDeletes: number } =>
      (t.scope as string) === 'organization' && t.maxDeletes !== undefined,
  );
}

/** The id of an org threshold, in its alert marker. */
export const orgThresholdId = (t: Pick<Threshold, 'window' | 'maxDeletes'>): string =>
  `organization-${t.window}-${t.maxDeletes ?? ''}`;

/** Who deleted, as the alert names them: the principal, else the actor type. */
export function principalOf(record: SpokeAuditItem): string {
  return record.actor?.principal ?? record.actor?.type ?? 'unknown';
}

/** The time a deletion counts at: its own, never later than now (a record from the future counts now). */
function countedAt(record: SpokeAuditItem, now: Date): Date {
  const at = Date.parse(record.at ?? '');
  return new Date(Number.isNaN(at) ? now.getTime() : Math.min(at, now.getTime()));
}

/** Writes one forwarded audit record; counts and acts when it is a deletion. */
export async function ingestAuditRecord(
  config: StewardConfig,
  detail: AuditRecordDetail,
  now: Date,
  ports: HubPorts,
): Promise<AuditOutcome> {
  const env = { account: detail.account, region: detail.region };
  const record = detail.record;
  const put = await ports.audit.put(env, record);
  const thresholds = orgThresholds(config);
  // A DELETED record is final in a spoke, so its later versions need no counting: the write that first stored
  // DELETED did (or its redelivery, which finds the item written and comes here, will).
  const laterVersion = put.written && put.previous?.status === 'DELETED';
  if (record.status !== 'DELETED' || laterVersion || thresholds.length === 0)
    return { written: put.written, counted: false, crossings: [] };

  const at = countedAt(record, now);
  const windows = thresholds.map((t) => ({ window: t.window, start: windowStart(at, t.window) }));
  const { counted, counts } = await ports.counters.countOnce(env, record, windows, now);
  const crossings: OrgCrossing[] = [];
  for (const [i, t] of thresholds.entries()) {
    const w = windows[i]!;
    const count = counts.get(windowId(w)) ?? 0;
    if (count <= t.maxDeletes) continue;
    const marker = thresholdAlertKey(t.window, orgThresholdId(t), w.start);
    const expiresAt = Math.floor(Date.parse(w.start) / 1000) + 4 * 86_400;
    // One alert per threshold and window: the claim comes first, so a person's reset of the breaker is never
    // undone by a later deletion of the same window.
    if (!(await ports.markers.claim(marker, now, expiresAt))) continue;
    const reason = `${count} deletions across the organization within the ${t.window} window starting ${w.start} (limit ${t.maxDeletes}); crossed by ${record.repository ?? '?'} in ${env.account} ${env.region}, deleted by ${principalOf(record)}`;
    const breakerOpened = config.alerts.breaker.enabled
      ? await ports.openBreaker(reason, now, config.alerts.breaker.cooldownMinutes)
      : false;
    const crossing: OrgCrossing = {
      window: t.window,
      start: w.start,
      count,
      limit: t.maxDeletes,
      breakerOpened,
    };
    await ports.publish('alerts', ...describeOrgCrossing(config, crossing, env, record));
    await ports.markers.done(marker);
    crossings.push(crossing);
  }
  return { written: put.written, counted, crossings };
}

/** The alert of an org crossing: where it crossed, who deleted, the count, the breaker, what to do. */
export function describeOrgCrossing(
  config: StewardConfig,
  c: OrgCrossing,
  env: OrgEnvironmentRef,
  record: SpokeAuditItem,
): [subject: string, message: string] {
  const principal = principalOf(record);
  const subject =
    `ECR Steward: ${c.count} image deletions across the organization within ${c.window} (limit ${c.limit})`.slice(
      0,
      100,
    );
  const lines = [
    `Deletes across the organization passed a threshold: ${c.count} in the ${c.window} window that started ${c.start}; the limit is ${c.limit}.`,
    '',
    `The deletion that crossed it: account ${env.account}, region ${env.region}, repository ${record.repository ?? '?'}, image ${record.digest ?? '?'}, deleted by ${principal}.`,
    '',
    c.breakerOpened
      ? `The organization breaker is OPEN: every spoke stops deleting before its next delete batch until it is reset with\n  npx ecr-steward breaker reset --org${config.alerts.breaker.cooldownMinutes ? `\nor until it closes by itself after ${config.alerts.breaker.cooldownMinutes} minutes.` : ''}`
      : config.alerts.breaker.enabled
        ? 'The organization breaker was already open.'
        : 'The breaker is disabled in the config; the spokes keep deleting.',
    '',
    `Query the org audit table: npx ecr-steward audit --org --account ${env.account} --region ${env.region}`,
  ];
  return [subject, lines.join('\n')];
}

/** The hub subject of a spoke alert: the environment first, on one line, at most 100 characters (SNS). */
export function hubSubject(detail: Pick<AlertDetail, 'account' | 'region' | 'subject' | 'topic'>): string {
  const subject = detail.subject ?? `ECR Steward ${detail.topic}`;
  // SNS takes a subject of printable ASCII only, without line breaks.
  const printable = [...`[${detail.account} ${detail.region}] ${subject}`]
    .map((ch) => (ch.charCodeAt(0) >= 32 && ch.charCodeAt(0) < 127 ? ch : ' '))
    .join('');
  return printable.slice(0, 100);
}

/**
 * Republishes one spoke alert on the hub topic of its role, once per SNS message id: a marker is claimed first,
 * marked done after the publish. A failed publish leaves the claim to go stale and the retry publishes: at least
 * once (a crash between the publish and the mark repeats the alert; nothing is ever lost).
 */
export async function ingestAlert(
  detail: AlertDetail,
  now: Date,
  ports: HubPorts,
): Promise<{ published: boolean }> {
  const marker = alertMessageKey(detail, detail.messageId);
  const expiresAt = Math.floor(now.getTime() / 1000) + ALERT_MARKER_DAYS * 86_400;
  if (!(await ports.markers.claim(marker, now, expiresAt))) return { published: false };
  await ports.publish(detail.topic, hubSubject(detail), detail.message);
  await ports.markers.done(marker);
  return { published: true };
}
