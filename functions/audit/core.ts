/**
 * The audit of deletions: verify ambiguous signals, write exactly one record per deletion, count each
 * deletion once per scope and window, and when a threshold is crossed send one alert and open the breaker.
 */
import type { AuditRecord, DeleteSignal } from '../shared/audit/records.js';
import type { RecordResult } from '../shared/audit/store.js';
import {
  type RateWindow,
  type StewardConfig,
  type Threshold,
  WINDOW_MINUTES,
} from '../shared/config/schema.js';
import { type BreakerScope, registryScope, repositoryScope } from '../shared/state/breaker.js';
import { type CountedDelete, type CounterKey, windowStart } from '../shared/state/counters.js';
import type { Candidate } from './signals.js';

export interface AuditPorts {
  readonly audit: {
    record(signal: DeleteSignal): Promise<RecordResult>;
    get(ref: DeleteSignal): Promise<AuditRecord | undefined>;
    byRepository(
      ref: { registryId: string; region: string; repository: string },
      since?: string,
      limit?: number,
    ): Promise<AuditRecord[]>;
    recent(since: string, limit?: number): Promise<AuditRecord[]>;
  };
  readonly counters: {
    add(key: CounterKey, n: number, sample: CountedDelete): Promise<number>;
    claimAlert(key: CounterKey, threshold: string): Promise<boolean>;
    repositoryImageCount(repository: string): Promise<number | undefined>;
  };
  readonly breaker: {
    open(scope: BreakerScope, reason: string, now: Date, cooldownMinutes?: number): Promise<boolean>;
  };
  /** Whether the digest still exists in the repository (asked only for ambiguous signals). */
  readonly imageExists: (repository: string, digest: string) => Promise<boolean>;
  readonly notify: (subject: string, message: string) => Promise<void>;
}

export interface Crossing {
  readonly scope: BreakerScope;
  readonly window: RateWindow;
  readonly count: number;
  readonly limit: number;
  readonly threshold: string;
  readonly breakerOpened: boolean;
}

export interface AuditOutcome {
  readonly recorded: number;
  readonly newlyDeleted: number;
  readonly tagOnly: number;
  readonly crossings: readonly Crossing[];
}

export const thresholdId = (t: Threshold): string =>
  `${t.scope}-${t.window}-${t.maxDeletes ?? ''}-${t.maxPercentOfImages ?? ''}`;

/** Processes candidate deletions in order. Throws (for a retry) only when AWS cannot be read or written. */
export async function processCandidates(
  config: StewardConfig,
  candidates: readonly Candidate[],
  now: Date,
  ports: AuditPorts,
): Promise<AuditOutcome> {
  let recorded = 0;
  let newlyDeleted = 0;
  let tagOnly = 0;
  const crossings: Crossing[] = [];
  for (const candidate of candidates) {
    const s = candidate.signal;
    // A deletion already recorded (our own confirmed deletes, usually) needs no second look at ECR. A PENDING
    // write-ahead is not enough: a person may have removed one tag while the image stays.
    const known = candidate.verify ? await ports.audit.get(s) : undefined;
    const trusted = known?.status === 'DELETED';
    if (candidate.verify && !trusted && (await ports.imageExists(s.repository, s.digest))) {
      tagOnly++; // a tag was removed, the image stays: not a deletion
      continue;
    }
    const result = await ports.audit.record(s);
    recorded++;
    if (!result.newlyDeleted || !result.record) continue;
    newlyDeleted++;
    crossings.push(...(await countDeletion(config, result.record, now, ports)));
  }
  return { recorded, newlyDeleted, tagOnly, crossings };
}

/** Counts one deletion in every configured scope and window; reports and acts on crossings. */
export async function countDeletion(
  config: StewardConfig,
  record: AuditRecord,
  now: Date,
  ports: AuditPorts,
): Promise<Crossing[]> {
  const at = new Date(Math.min(Date.parse(record.at) || now.getTime(), now.getTime()));
  const sample: CountedDelete = {
    repository: record.repository,
    digest: record.digest,
    actor: record.actor.type === 'principal' ? (record.actor.principal ?? 'principal') : record.actor.type,
    rulePriority: record.actor.rulePriority ?? null,
  };
  const scopes: Record<Exclude<Threshold['scope'], 'organization'>, BreakerScope> = {
    registry: registryScope,
    repository: repositoryScope(record.repository),
  };
  const counts = new Map<string, { key: CounterKey; count: number }>();
  const crossings: Crossing[] = [];
  for (const t of config.alerts.thresholds) {
    // The hub counts organization-scope thresholds over every spoke; a spoke's own count would see only its share.
    if (t.scope === 'organization') continue;
    const scope = scopes[t.scope];
    const key: CounterKey = { scope, window: t.window, start: windowStart(at, t.window) };
    const id = `${key.scope}#${key.window}`;
    if (!counts.has(id)) counts.set(id, { key, count: await ports.counters.add(key, 1, sample) });
    const { count } = counts.get(id)!;
    const limits: number[] = [];
    if (t.maxDeletes !== undefined) limits.push(t.maxDeletes);
    if (t.maxPercentOfImages !== undefined) {
      const images = await ports.counters.repositoryImageCount(record.repository);
      if (images !== undefined) limits.push(Math.floor((images * t.maxPercentOfImages) / 100));
    }
    if (limits.length === 0) continue;
    const limit = Math.min(...limits);
    if (count <= limit) continue;
    // One alert per scope, window and threshold: the first caller past the limit claims it.
    if (!(await ports.counters.claimAlert(key, thresholdId(t)))) continue;
    const reason = `${count} deletions in ${t.scope === 'registry' ? 'the registry' : record.repository} within the ${t.window} window starting ${key.start} (limit ${limit})`;
    const breakerOpened = config.alerts.breaker.enabled
      ? await ports.breaker.open(scope, reason, now, config.alerts.breaker.cooldownMinutes)
      : false;
    const crossing: Crossing = {
      scope,
      window: t.window,
      count,
      limit,
      threshold: thresholdId(t),
      breakerOpened,
    };
    crossings.push(crossing);
    await ports.notify(...(await describeCrossing(config, crossing, key, record, ports)));
  }
  return crossings;
}

/** The alert: what crossed, by how much, the top actors and rules, sample digests, and how to reset. */
async function describeCrossing(
  config: StewardConfig,
  c: Crossing,
  key: CounterKey,
  record: AuditRecord,
  ports: AuditPorts,
): Promise<[string, string]> {
  const records =
    c.scope === registryScope
      ? await ports.audit.recent(key.start, 2000)
      : await ports.audit.byRepository(record, key.start, 2000);
  const deleted = records.filter((r) => r.status === 'DELETED');
  const tally = (f: (r: AuditRecord) => string | undefined) => {
    const m = new Map<string, number>();
    for (const r of deleted) {
      const k = f(r);
      if (k) m.set(k, (m.get(k) ?? 0) + 1);
    }
    return [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 5);
  };
  const actors = tally((r) =>
    r.actor.type === 'principal' ? `principal ${r.actor.principal ?? '?'}` : r.actor.type,
  );
  const rules = tally((r) =>
    r.actor.rulePriority != null ? `${r.actor.type} rule ${r.actor.rulePriority}` : undefined,
  );
  const where = c.scope === registryScope ? 'the registry' : `repository ${record.repository}`;
  const over = c.count - c.limit;
  const subject =
    `ECR Steward: ${c.count} image deletions in ${where} within ${c.window} (limit ${c.limit})`.slice(0, 100);
  const lines = [
    `Deletes in ${where} passed a threshold: ${c.count} in the ${c.window} window that started ${key.start}; the limit is ${c.limit} (${over} over, ${Math.round((c.count / Math.max(c.limit, 1)) * 100)}% of the limit).`,
    '',
    `Top actors: ${actors.map(([k, n]) => `${k} (${n})`).join(', ') || 'unknown'}`,
    `Top rules: ${rules.map(([k, n]) => `${k} (${n})`).join(', ') || 'none recorded'}`,
    'Sample digests:',
    ...deleted
      .slice(0, 5)
      .map(
        (r) =>
          `  ${r.repository}@${r.digest} ${r.tags.length > 0 ? `[${r.tags.join(', ')}]` : '(untagged)'} by ${r.actor.type}`,
      ),
    '',
    c.breakerOpened
      ? `The breaker for ${c.scope} is OPEN: ECR Steward deletes nothing in this scope until it is reset with\n  npx ecr-steward breaker reset --scope ${c.scope}${config.alerts.breaker.cooldownMinutes ? `\nor until it closes by itself after ${config.alerts.breaker.cooldownMinutes} minutes.` : ''}`
      : config.alerts.breaker.enabled
        ? `The breaker for ${c.scope} was already open.`
        : 'The breaker is disabled in the config; ECR Steward keeps deleting.',
    '',
    `Query the audit table: npx ecr-steward audit ${c.scope === registryScope ? '' : `--repository ${record.repository} `}--since ${WINDOW_MINUTES[c.window]}m`,
  ];
  return [subject, lines.join('\n')];
}
