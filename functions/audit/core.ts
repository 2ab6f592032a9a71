/**
 * The audit of deletions: verify ambiguous signals, write exactly one record per deletion, count each
 * deletion once per scope and window, and when a threshold is crossed send one alert and open the breaker.
 */
import type { AuditRecord, DeleteSignal } from '../shared/audit/records.js';
import { PartialRecordError, type RecordResult } from '../shared/audit/store.js';
import {
  type RateWindow,
  type StewardConfig,
  type Threshold,
  WINDOW_MINUTES,
} from '../shared/config/schema.js';
import { mapLimit } from '../shared/runtime/concurrency.js';
import {
  type BreakerScope,
  type BreakerState,
  registryScope,
  repositoryScope,
} from '../shared/state/breaker.js';
import { type CountedDelete, type CounterKey, windowStart } from '../shared/state/counters.js';
import {
  type Attribution,
  MAX_WAITING,
  type PendingAlert,
  type PendingAlertKey,
  type PendingAlerts,
  pendingAlertKey,
} from './attribution.js';
import type { AuditEvent } from './schema.js';
import { type Candidate, principalOf } from './signals.js';

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
    /** Adds a batch's deletions in one ADD (RateCounters.addMany). @default `add` with the first sample */
    addMany?(key: CounterKey, samples: readonly CountedDelete[]): Promise<number>;
    claimAlert(key: CounterKey, threshold: string): Promise<boolean>;
    /** Gives back a claim whose alert could not be sent (RateCounters.releaseAlert). */
    releaseAlert?(key: CounterKey, threshold: string): Promise<void>;
    repositoryImageCount(repository: string): Promise<number | undefined>;
    /** Which deletions (audit record keys) were counted, and marking them so (RateCounters.counted, markCounted). */
    counted?(deletions: readonly string[]): Promise<Set<string>>;
    markCounted?(deletions: readonly string[], now: Date): Promise<void>;
  };
  readonly breaker: {
    open(scope: BreakerScope, reason: string, now: Date, cooldownMinutes?: number): Promise<boolean>;
    /** The breaker of a scope (BreakerStore.get): whether an earlier attempt of this crossing opened it. */
    get?(scope: BreakerScope): Promise<BreakerState | undefined>;
  };
  /** Told each time a crossing opens a breaker (the BreakerOpened metric, which an alarm watches). */
  readonly breakerOpened?: (() => void) | undefined;
  /** Whether the digest still exists in the repository (asked only for ambiguous signals). */
  readonly imageExists: (repository: string, digest: string) => Promise<boolean>;
  readonly notify: (subject: string, message: string) => Promise<void>;
  /**
   * Where delete-rate alerts wait for CloudTrail's attribution (functions/audit/attribution.ts) and how their
   * deadline is scheduled. Without it an alert is sent at once, naming whoever is known then.
   */
  readonly attribution?: AttributionPorts | undefined;
}

/** The pending alerts and the deadline's timer (a delayed message to the audit queue itself). */
export interface AttributionPorts {
  readonly pending: Pick<PendingAlerts, 'create' | 'get' | 'open' | 'attribute' | 'claim' | 'release'>;
  /** Asks for `deadlineReached` on this alert after `delaySeconds`. */
  readonly scheduleDeadline: (key: PendingAlertKey, delaySeconds: number) => Promise<void>;
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

/**
 * Processes candidate deletions in order. Throws (for a retry) only when AWS cannot be read or written.
 * `countLater` takes each newly deleted record instead of counting it here: the audit handler counts a whole
 * batch's deletions at once (`countDeletions`), with one ADD per scope and window.
 */
export async function processCandidates(
  config: StewardConfig,
  candidates: readonly Candidate[],
  now: Date,
  ports: AuditPorts,
  countLater?: (record: AuditRecord) => void,
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
    if (countLater) countLater(result.record);
    else crossings.push(...(await countDeletion(config, result.record, now, ports)));
  }
  return { recorded, newlyDeleted, tagOnly, crossings };
}

/** How many of a batch's images the audit function asks ECR about at once. */
export const VERIFY_CONCURRENCY = 10;
/** How many of a batch's counters (scope, window, window start) the audit function adds to at once. */
export const COUNT_CONCURRENCY = 10;

/**
 * `processCandidates` for the messages of a whole SQS batch at once (one group of candidates per message), with
 * the same records and counts as processing them one by one, on `known` (the batch's records, read at once):
 * each record is merged on what is known and the merges are written in one transaction per round of up to 100
 * (AuditStore.recordAll: a record that changed since comes back with the refused condition and is merged again).
 * A record named twice in the batch (the per-tag events of one image) goes in the next round, merged on the
 * first. A signal that adds nothing (a redelivery) is not written. Each newly deleted record goes to
 * `countLater` as soon as its round is written. Returns one outcome per group, in order (crossings empty:
 * the caller counts).
 */
export async function processCandidateBatch(
  groups: readonly (readonly Candidate[])[],
  ports: Pick<AuditPorts, 'imageExists'>,
  store: {
    recordAll(
      signals: readonly DeleteSignal[],
      known: readonly (AuditRecord | undefined)[],
    ): Promise<readonly RecordResult[]>;
  },
  known: Map<string, AuditRecord | undefined>,
  keyOf: (signal: DeleteSignal) => string,
  countLater: (record: AuditRecord, group: number) => void,
): Promise<AuditOutcome[]> {
  const outcomes = groups.map(() => ({
    recorded: 0,
    newlyDeleted: 0,
    tagOnly: 0,
    crossings: [] as Crossing[],
  }));
  // As processCandidates: a record already DELETED is trusted; otherwise ECR says whether the image stays. The
  // images to ask about are asked about at the same time (a burst of deletes is a batch of DELETE events, one
  // DescribeImages each), and an image named by several events of the batch once; nothing is written before
  // every answer is in, as one by one.
  const toVerify = new Map<string, DeleteSignal>();
  for (const candidates of groups)
    for (const { verify, signal } of candidates)
      if (verify && known.get(keyOf(signal))?.status !== 'DELETED') toVerify.set(keyOf(signal), signal);
  const checked = [...toVerify];
  const answers = await mapLimit(checked, VERIFY_CONCURRENCY, ([, s]) =>
    ports.imageExists(s.repository, s.digest),
  );
  const stays = new Set(checked.filter((_, i) => answers[i]).map(([key]) => key));
  let pending: { candidate: Candidate; group: number }[] = [];
  for (const [group, candidates] of groups.entries())
    for (const candidate of candidates) {
      const s = candidate.signal;
      if (candidate.verify && stays.has(keyOf(s))) {
        outcomes[group]!.tagOnly++;
        continue;
      }
      pending.push({ candidate, group });
    }
  while (pending.length > 0) {
    const round: typeof pending = [];
    const later: typeof pending = [];
    const taken = new Set<string>();
    for (const entry of pending) {
      const key = keyOf(entry.candidate.signal);
      if (taken.has(key)) later.push(entry);
      else {
        taken.add(key);
        round.push(entry);
      }
    }
    let results: readonly (RecordResult | undefined)[];
    let failure: unknown;
    try {
      results = await store.recordAll(
        round.map((e) => e.candidate.signal),
        round.map((e) => known.get(keyOf(e.candidate.signal))),
      );
    } catch (e) {
      if (!(e instanceof PartialRecordError)) throw e;
      // What the earlier transactions wrote is counted now: the caller's retry finds those records written.
      results = e.results;
      failure = e.cause;
    }
    for (const [i, result] of results.entries()) {
      if (!result) continue;
      const { candidate, group } = round[i]!;
      outcomes[group]!.recorded++;
      if (result.record) known.set(keyOf(candidate.signal), result.record);
      if (!result.newlyDeleted || !result.record) continue;
      outcomes[group]!.newlyDeleted++;
      countLater(result.record, group);
    }
    if (failure !== undefined) throw failure;
    pending = later;
  }
  return outcomes;
}

/**
 * Counts many deletions (the newly deleted records of a batch) with one ADD per scope, window and window start,
 * then checks each threshold as `countDeletion` does for one; a crossing is reported with the last deletion of
 * its window (its group is the message that made it).
 */
export async function countDeletions(
  config: StewardConfig,
  deletions: readonly { record: AuditRecord; group: number }[],
  now: Date,
  ports: AuditPorts,
): Promise<{ crossing: Crossing; group: number }[]> {
  if (deletions.length === 0) return [];
  const out: { crossing: Crossing; group: number }[] = [];
  const counted = new Map<
    string,
    { key: CounterKey; entries: { record: AuditRecord; group: number }[]; count?: number }
  >();
  const plan: { t: Threshold; scope: BreakerScope; id: string }[] = [];
  for (const t of config.alerts.thresholds) {
    if (t.scope === 'organization') continue;
    for (const d of deletions) {
      const at = new Date(Math.min(Date.parse(d.record.at) || now.getTime(), now.getTime()));
      const scope = t.scope === 'registry' ? registryScope : repositoryScope(d.record.repository);
      const key: CounterKey = { scope, window: t.window, start: windowStart(at, t.window) };
      const id = `${key.scope}#${key.window}#${key.start}`;
      const group = counted.get(id) ?? { key, entries: [] };
      // Each deletion counts once per scope and window, however many thresholds share them.
      if (!group.entries.includes(d)) group.entries.push(d);
      counted.set(id, group);
      if (!plan.some((p) => p.id === id && p.t === t)) plan.push({ t, scope, id });
    }
  }
  const sampleOf = (r: AuditRecord): CountedDelete => ({
    repository: r.repository,
    digest: r.digest,
    actor: r.actor.type === 'principal' ? (r.actor.principal ?? 'principal') : r.actor.type,
    rulePriority: r.actor.rulePriority ?? null,
  });
  // Each counter is its own item: a burst over many repositories (a sweep) adds its repositories' counters at the
  // same time, instead of one round trip after another; the thresholds are checked once all are in, in order.
  // A counter whose add failed is not checked, and the batch fails after the others are: what was added is
  // checked now, since a redelivery finds its records already DELETED and counts them no more.
  let addFailure: { error: unknown } | undefined;
  await mapLimit([...counted.values()], COUNT_CONCURRENCY, async (group) => {
    const samples = group.entries.map((e) => sampleOf(e.record));
    try {
      group.count = ports.counters.addMany
        ? await ports.counters.addMany(group.key, samples)
        : await ports.counters.add(group.key, samples.length, samples[0]!);
    } catch (e) {
      addFailure ??= { error: e };
    }
  });
  // Every threshold of an added counter is checked, even after another's check failed (its image count could not
  // be read, its alert could not be sent…); the batch then fails with the first error.
  let checkFailure: { error: unknown } | undefined;
  const images = new Map<string, number | undefined>();
  for (const { t, scope, id } of plan) {
    const group = counted.get(id)!;
    if (group.count === undefined) continue;
    const last = group.entries.at(-1)!;
    const repository = last.record.repository;
    try {
      const crossing = await crossThreshold(
        config,
        t,
        scope,
        group.key,
        group.count,
        repository,
        now,
        ports,
        {
          imageCount: async () => {
            if (!images.has(repository))
              images.set(repository, await ports.counters.repositoryImageCount(repository));
            return images.get(repository);
          },
        },
      );
      if (!crossing) continue;
      out.push({ crossing, group: last.group });
      await announced(config, crossing, group.key, last.record, now, ports);
    } catch (e) {
      checkFailure ??= { error: e };
    }
  }
  const failure = addFailure ?? checkFailure;
  if (failure) throw failure.error;
  return out;
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
    const crossing = await crossThreshold(config, t, scope, key, count, record.repository, now, ports, {
      imageCount: () => ports.counters.repositoryImageCount(record.repository),
    });
    if (!crossing) continue;
    crossings.push(crossing);
    await announced(config, crossing, key, record, now, ports);
  }
  return crossings;
}

/**
 * Whether `count` deletions in a window pass threshold `t` (its `maxDeletes`, and its `maxPercentOfImages` of
 * the repository's image count); if so, and this caller is the first past the limit (one alert per scope, window
 * and threshold: the first claims it), the breaker is opened as configured and the crossing returned.
 */
async function crossThreshold(
  config: StewardConfig,
  t: Threshold,
  scope: BreakerScope,
  key: CounterKey,
  count: number,
  repository: string,
  now: Date,
  ports: AuditPorts,
  images: { imageCount(): Promise<number | undefined> },
): Promise<Crossing | undefined> {
  const limits: number[] = [];
  if (t.maxDeletes !== undefined) limits.push(t.maxDeletes);
  if (t.maxPercentOfImages !== undefined) {
    const n = await images.imageCount();
    if (n !== undefined) limits.push(Math.floor((n * t.maxPercentOfImages) / 100));
  }
  if (limits.length === 0) return undefined;
  const limit = Math.min(...limits);
  if (count <= limit) return undefined;
  if (!(await ports.counters.claimAlert(key, thresholdId(t)))) return undefined;
  const reason = `${count} deletions in ${t.scope === 'registry' ? 'the registry' : repository} within the ${t.window} window starting ${key.start} (limit ${limit})`;
  try {
    let breakerOpened = config.alerts.breaker.enabled
      ? await ports.breaker.open(scope, reason, now, config.alerts.breaker.cooldownMinutes)
      : false;
    if (breakerOpened) ports.breakerOpened?.();
    else if (config.alerts.breaker.enabled && ports.breaker.get) {
      // Open already: by this crossing, when an earlier attempt opened it and then failed to alert (its claim
      // was given back); the alert then says it opened, with how to reset it.
      const open = await ports.breaker.get(scope);
      breakerOpened =
        open?.state === 'open' && (open.reason ?? '').includes(`${t.window} window starting ${key.start}`);
    }
    return { scope, window: t.window, count, limit, threshold: thresholdId(t), breakerOpened };
  } catch (e) {
    // The breaker could not be opened: the claim goes back, so the next check opens it and alerts.
    await ports.counters.releaseAlert?.(key, thresholdId(t));
    throw e;
  }
}

/**
 * Announces a crossing this caller claimed; if that fails, gives the claim back before failing, so the next check
 * of the window (the redelivery's, or the next deletion's) sends the alert instead of finding it claimed.
 */
async function announced(
  config: StewardConfig,
  crossing: Crossing,
  key: CounterKey,
  record: AuditRecord,
  now: Date,
  ports: AuditPorts,
): Promise<void> {
  try {
    await announce(config, crossing, key, record, now, ports);
  } catch (e) {
    await ports.counters.releaseAlert?.(key, crossing.threshold);
    throw e;
  }
}

const deletionKey = (r: Pick<AuditRecord, 'repository' | 'digest'>) => `${r.repository}@${r.digest}`;

/** The deletions of the crossing's window that no source has attributed yet. */
async function unattributed(c: Crossing, key: CounterKey, ref: RecordRef, ports: AuditPorts) {
  return (await windowRecords(c, key, ref, ports))
    .filter((r) => r.status === 'DELETED' && r.actor.type === 'unknown')
    .map(deletionKey)
    .sort();
}

/**
 * Sends a crossing's alert, or lets it wait for CloudTrail's attribution. The wait is held by the queue (a
 * delayed message at the deadline), not by the invocation: the CloudTrail records it waits for arrive through
 * the same queue, and an invocation that slept would hold back the very records it waits for. With a wait of
 * 0 the alert goes out at once and a follow-up names the principals when CloudTrail's records arrive.
 */
async function announce(
  config: StewardConfig,
  c: Crossing,
  key: CounterKey,
  record: AuditRecord,
  now: Date,
  ports: AuditPorts,
): Promise<void> {
  const waitSeconds = config.alerts.attributionWaitSeconds;
  const unknown = ports.attribution ? await unattributed(c, key, record, ports) : [];
  if (!ports.attribution || unknown.length === 0) {
    await ports.notify(...(await describeCrossing(config, c, key, record, ports)));
    return;
  }
  const pending = ports.attribution.pending;
  const alert = {
    ...pendingAlertKey({ scope: c.scope, window: c.window, start: key.start, threshold: c.threshold }),
    scope: c.scope,
    window: c.window,
    start: key.start,
    threshold: c.threshold,
    count: c.count,
    limit: c.limit,
    breakerOpened: c.breakerOpened,
    registryId: record.registryId,
    region: record.region,
    repository: record.repository,
    waiting: unknown.slice(0, MAX_WAITING),
    untracked: Math.max(0, unknown.length - MAX_WAITING),
    createdAt: now.toISOString(),
    deadline: new Date(now.getTime() + waitSeconds * 1000).toISOString(),
  };
  // claimAlert already made this caller the only one for the window; a redelivery finds the item and goes on.
  await pending.create(alert);
  if (waitSeconds === 0) {
    await send(config, (await pending.get(alert))!, now, ports);
    return;
  }
  await ports.attribution.scheduleDeadline(alert, waitSeconds);
  // CloudTrail's records may have landed between the tally above and the item's creation: take them off.
  const still = new Set(await unattributed(c, key, record, ports));
  const done = alert.waiting.filter((k) => !still.has(k));
  if (done.length > 0) {
    const after = await pending.attribute(alert, { deletions: done });
    if (after && !after.waiting) await send(config, after, now, ports);
  }
}

/**
 * Takes one CloudTrail record's attribution to the pending alerts of its scopes (the registry's and its
 * repository's); sends an alert whose deletions are now all attributed, or its follow-up.
 */
export async function attribute(
  config: StewardConfig,
  repository: string,
  a: Attribution,
  now: Date,
  ports: AuditPorts,
): Promise<number> {
  if (!ports.attribution || a.deletions.length === 0) return 0;
  const mine = new Set(a.deletions);
  let sent = 0;
  for (const scope of [registryScope, repositoryScope(repository)]) {
    for (const alert of await ports.attribution.pending.open(scope)) {
      if (![...(alert.waiting ?? [])].some((k) => mine.has(k))) continue;
      const after = await ports.attribution.pending.attribute(alert, a);
      if (after && !after.waiting && (await send(config, after, now, ports))) sent++;
    }
  }
  return sent;
}

/**
 * The deadline of a pending alert: sends it with whatever attribution has arrived. Returns the seconds still
 * to wait when the timer fired early (the caller schedules it again), else 0.
 */
export async function deadlineReached(
  config: StewardConfig,
  key: PendingAlertKey,
  now: Date,
  ports: AuditPorts,
): Promise<number> {
  const alert = await ports.attribution?.pending.get(key);
  if (!alert || alert.sentAt) return 0;
  const early = Date.parse(alert.deadline) - now.getTime();
  if (early > 0) return Math.ceil(early / 1000);
  await send(config, alert, now, ports);
  return 0;
}

/**
 * Sends what a pending alert still owes: the alert itself, or (once every deletion is attributed) the
 * follow-up. Each is claimed first, so it goes out once; a failed publish gives the claim back and throws.
 */
async function send(
  config: StewardConfig,
  alert: PendingAlert,
  now: Date,
  ports: AuditPorts,
): Promise<boolean> {
  const pending = ports.attribution!.pending;
  const c: Crossing = {
    scope: alert.scope as BreakerScope,
    window: alert.window,
    count: alert.count,
    limit: alert.limit,
    threshold: alert.threshold,
    breakerOpened: alert.breakerOpened,
  };
  const key: CounterKey = { scope: alert.scope, window: alert.window, start: alert.start };
  if (!alert.sentAt) {
    const [subject, message] = await describeCrossing(config, c, key, alert, ports, alert);
    if (!(await pending.claim(alert, 'sentAt', now.toISOString(), subject))) return false;
    await publishOrRelease(pending, alert, 'sentAt', () => ports.notify(subject, message));
    return true;
  }
  if (alert.waiting || alert.followUpSentAt) return false;
  const [subject, message] = await describeFollowUp(c, key, alert, ports);
  if (!(await pending.claim(alert, 'followUpSentAt', now.toISOString()))) return false;
  await publishOrRelease(pending, alert, 'followUpSentAt', () => ports.notify(subject, message));
  return true;
}

async function publishOrRelease(
  pending: AttributionPorts['pending'],
  key: PendingAlertKey,
  field: 'sentAt' | 'followUpSentAt',
  publish: () => Promise<void>,
): Promise<void> {
  try {
    await publish();
  } catch (e) {
    await pending.release(key, field);
    throw e;
  }
}

type RecordRef = Pick<AuditRecord, 'registryId' | 'region' | 'repository'>;

/** The deletion records of a crossing's window: the registry's, or the repository's. */
async function windowRecords(
  c: Crossing,
  key: CounterKey,
  ref: RecordRef,
  ports: AuditPorts,
): Promise<AuditRecord[]> {
  return c.scope === registryScope
    ? await ports.audit.recent(key.start, 2000)
    : await ports.audit.byRepository(ref, key.start, 2000);
}

const names = (set: ReadonlySet<string> | undefined) => [...(set ?? [])].sort().join(', ');

/** The follow-up: who made the deletions the alert could not name yet, from where and with what. */
async function describeFollowUp(
  c: Crossing,
  key: CounterKey,
  alert: PendingAlert,
  ports: AuditPorts,
): Promise<[string, string]> {
  const where = c.scope === registryScope ? 'the registry' : `repository ${alert.repository}`;
  const deleted = (await windowRecords(c, key, alert, ports)).filter((r) => r.status === 'DELETED');
  const actors = tally(deleted, (r) =>
    r.actor.type === 'principal' ? `principal ${r.actor.principal ?? '?'}` : r.actor.type,
  );
  const subject = `ECR Steward: who deleted in ${where} (follow-up)`.slice(0, 100);
  const lines = [
    `Follow-up to the alert "${alert.subject ?? ''}" sent at ${alert.sentAt}: CloudTrail has now attributed the deletions of the ${c.window} window that started ${key.start}.`,
    '',
    `Principals: ${names(alert.principals) || 'none named'}`,
    `Source IPs: ${names(alert.sourceIps) || 'unknown'}`,
    `User agents: ${names(alert.userAgents) || 'unknown'}`,
    `Top actors: ${actors.map(([k, n]) => `${k} (${n})`).join(', ') || 'unknown'}`,
    ...(alert.untracked > 0
      ? [`(${alert.untracked} more deletions were not tracked for attribution; see the audit table.)`]
      : []),
    '',
    `Query the audit table: npx ecr-steward audit ${c.scope === registryScope ? '' : `--repository ${alert.repository} `}--since ${WINDOW_MINUTES[c.window]}m`,
  ];
  return [subject, lines.join('\n')];
}

function tally(records: readonly AuditRecord[], f: (r: AuditRecord) => string | undefined) {
  const m = new Map<string, number>();
  for (const r of records) {
    const k = f(r);
    if (k) m.set(k, (m.get(k) ?? 0) + 1);
  }
  return [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 5);
}

/** The alert: what crossed, by how much, the top actors and rules, sample digests, and how to reset. */
async function describeCrossing(
  config: StewardConfig,
  c: Crossing,
  key: CounterKey,
  record: RecordRef,
  ports: AuditPorts,
  attribution?: PendingAlert,
): Promise<[string, string]> {
  const deleted = (await windowRecords(c, key, record, ports)).filter((r) => r.status === 'DELETED');
  const actors = tally(deleted, (r) =>
    r.actor.type === 'principal' ? `principal ${r.actor.principal ?? '?'}` : r.actor.type,
  );
  const rules = tally(deleted, (r) =>
    r.actor.rulePriority != null ? `${r.actor.type} rule ${r.actor.rulePriority}` : undefined,
  );
  const waiting = (attribution?.waiting?.size ?? 0) + (attribution?.untracked ?? 0);
  const where = c.scope === registryScope ? 'the registry' : `repository ${record.repository}`;
  const over = c.count - c.limit;
  const subject =
    `ECR Steward: ${c.count} image deletions in ${where} within ${c.window} (limit ${c.limit})`.slice(0, 100);
  const lines = [
    `Deletes in ${where} passed a threshold: ${c.count} in the ${c.window} window that started ${key.start}; the limit is ${c.limit} (${over} over, ${Math.round((c.count / Math.max(c.limit, 1)) * 100)}% of the limit).`,
    '',
    `Top actors: ${actors.map(([k, n]) => `${k} (${n})`).join(', ') || 'unknown'}`,
    `Top rules: ${rules.map(([k, n]) => `${k} (${n})`).join(', ') || 'none recorded'}`,
    ...(attribution?.sourceIps?.size ? [`Source IPs: ${names(attribution.sourceIps)}`] : []),
    ...(attribution?.userAgents?.size ? [`User agents: ${names(attribution.userAgents)}`] : []),
    ...(waiting > 0
      ? [
          `${waiting} deletion(s) not yet attributed by CloudTrail: a follow-up on this topic will name the principals when CloudTrail's records arrive.`,
        ]
      : []),
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

/**
 * Who a CloudTrail delete record names for its deletions (the principal, or ECR's lifecycle), with the caller's
 * source IP and user agent; undefined for ECR's own DELETE events, which name nobody.
 */
export function attributionOf(
  event: AuditEvent,
  candidates: readonly Candidate[],
): (Attribution & { repository: string }) | undefined {
  if (event['detail-type'] === 'ECR Image Action' || candidates.length === 0) return undefined;
  const d = (event as Exclude<AuditEvent, { 'detail-type': 'ECR Image Action' }>).detail;
  const lifecycle = d.eventName === 'PolicyExecutionEvent';
  return {
    repository: candidates[0]!.signal.repository,
    deletions: candidates.map((c) => `${c.signal.repository}@${c.signal.digest}`),
    principal: lifecycle ? 'ecr-lifecycle' : principalOf(d.userIdentity),
    sourceIp: lifecycle ? undefined : d.sourceIPAddress,
    userAgent: lifecycle ? undefined : d.userAgent,
  };
}
