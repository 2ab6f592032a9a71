/**
 * The audit record of one image deletion, and how signals about it merge. Pure: the DynamoDB store only
 * reads, merges and writes conditionally, so every source (our write-ahead, ECR events, CloudTrail,
 * reconciliation) lands on the same single record whatever order and however often they arrive.
 *
 * Keys (single table):
 * - `pk = IMG#<digest>`, `sk = REPO#<registryId>#<region>#<repository>`: one record per deletion of a digest in
 *   a repository; query by digest = Query on pk.
 * - GSI `byRepository`: `gsi1pk = REPO#<registryId>#<region>#<repository>`, `gsi1sk = <time>#<digest>`.
 * - GSI `byRun`: `gsi2pk = RUN#<runId>`, `gsi2sk = <digest>` (our cleanup runs, dry-run plans included).
 * - GSI `byDay`: `gsi3pk = DAY#<yyyy-mm-dd>`, `gsi3sk = <time>#<repository>#<digest>` (recent deletes registry-wide).
 * Dry-run plans use `sk = PLAN#<runId>#<registryId>#<region>#<repository>` so they never collide with a deletion.
 */
import { stripUndefined } from '../runtime/format.js';

/**
 * The states of a deletion, the same names from the core through the audit table to the CLI:
 * - `PLANNED`: a dry run would delete it (its own item, `sk = PLAN#…`, expires).
 * - `SCHEDULED`: a notice was sent; it may be deleted (or archived) at `dueAt`, not before.
 * - `CANCELLED`: a notice ended without a deletion (held, no longer planned, in use): `note` says why.
 * - `PENDING`: the write-ahead record, durable before the destructive call (`intent` says which).
 * - `ARCHIVED`: moved to ECR's archive storage class (soft delete); purged at `purgeAt`.
 * - `RESTORED`: brought back from the archive by a person (`ecr-steward restore`).
 * - `DELETED`: gone, final. `FAILED`: the call failed; the next run decides again.
 */
export type AuditStatus =
  | 'PLANNED'
  | 'SCHEDULED'
  | 'CANCELLED'
  | 'PENDING'
  | 'ARCHIVED'
  | 'RESTORED'
  | 'DELETED'
  | 'FAILED';

/**
 * What a write-ahead announces: a delete, a soft delete's archive (purged after its window), or a lifecycle
 * transition's archive (never purged).
 */
export type DeletionIntent = 'delete' | 'archive' | 'transition';

/** Where a piece of evidence came from. */
export type Evidence =
  | 'steward-write-ahead'
  | 'steward-delete'
  /**
   * Our BatchDeleteImage reported the image neither deleted nor failed, and DescribeImages by digest right
   * after no longer finds it: our call deleted it (ECR's reply, or an emulator's, just did not say so).
   */
  | 'steward-verify'
  /** Our BatchDeleteImage answered `ImageNotFound`: the image was gone before our call reached it. */
  | 'steward-already-gone'
  | 'steward-failure'
  /** A notice of a scheduled deletion was recorded (and sent). */
  | 'steward-notice'
  /** A notice ended without a deletion. */
  | 'steward-cancel'
  /** Our UpdateImageStorageClass to ARCHIVE succeeded. */
  | 'steward-archive'
  /** A restore from the archive (UpdateImageStorageClass to STANDARD) by a person. */
  | 'steward-restore'
  | 'image-action-event'
  | 'cloudtrail-batch-delete'
  | 'cloudtrail-lifecycle'
  | 'reconciliation'
  | 'settled';

export type ActorType = 'ecr-steward' | 'ecr-lifecycle' | 'principal' | 'unknown';

export interface Actor {
  readonly type: ActorType;
  /** IAM principal ARN from CloudTrail, when known. */
  readonly principal?: string | undefined;
  readonly runId?: string | undefined;
  readonly rulePriority?: number | null | undefined;
  readonly reasons?: readonly string[] | undefined;
}

export interface ImageRef {
  readonly registryId: string;
  readonly region: string;
  readonly repository: string;
  readonly digest: string;
}

export interface AuditRecord extends ImageRef {
  readonly pk: string;
  readonly sk: string;
  readonly gsi1pk: string;
  readonly gsi1sk: string;
  readonly gsi2pk?: string | undefined;
  readonly gsi2sk?: string | undefined;
  readonly gsi3pk: string;
  readonly gsi3sk: string;
  readonly status: AuditStatus;
  readonly dryRun: boolean;
  readonly tags: readonly string[];
  readonly sizeBytes?: number | undefined;
  readonly pushedAt?: string | undefined;
  readonly lastPulledAt?: string | undefined;
  readonly actor: Actor;
  /** When the image was deleted (or is planned to be), ISO-8601. */
  readonly at: string;
  readonly recordedAt: string;
  readonly updatedAt: string;
  readonly evidence: readonly Evidence[];
  readonly eventIds: readonly string[];
  readonly failure?: { readonly code: string; readonly reason: string } | undefined;
  /** SCHEDULED: the earliest time the image may be deleted or archived (a later notice never moves it later). */
  readonly dueAt?: string | undefined;
  /** PENDING: what the destructive call was (a crash leaves reconciliation to settle it by what it finds). */
  readonly intent?: DeletionIntent | undefined;
  /** ARCHIVED: when it was archived, and when the purge may delete it. */
  readonly archivedAt?: string | undefined;
  readonly purgeAt?: string | undefined;
  /** RESTORED: when, and the tags that could not be given back (taken by another image meanwhile). */
  readonly restoredAt?: string | undefined;
  /** CANCELLED (and others): a human-readable note on the last transition. */
  readonly note?: string | undefined;
  /**
   * The deletion request the notice belongs to (approvals): set with the notice, kept through the deletion,
   * archive or cancellation that ends it; a new notice after a cancellation starts without one.
   */
  readonly requestId?: string | undefined;
  /**
   * A delete that cannot be undone (soft delete off, under governance): the manifest as ECR stored it, kept by
   * the write-ahead record (the body only up to MANIFEST_KEPT_BYTES; a larger one keeps its media type and size).
   */
  readonly manifest?: KeptManifest | undefined;
  /** Sparse index `byDue`: present while SCHEDULED (at dueAt) or ARCHIVED (at purgeAt). */
  readonly gsi4pk?: string | undefined;
  readonly gsi4sk?: string | undefined;
  /** Sparse index `openByRepository`: the same records, by repository (`OPEN#REPO#…`), for one run's reads. */
  readonly gsi5pk?: string | undefined;
  readonly gsi5sk?: string | undefined;
  /** Optimistic-concurrency version: every write is conditional on the version it read. */
  readonly version: number;
  readonly ttl?: number | undefined;
}

/** One signal about a deletion, from any source. */
export interface DeleteSignal extends ImageRef {
  readonly evidence: Evidence;
  readonly at: string;
  readonly status: AuditStatus;
  readonly tags?: readonly string[] | undefined;
  readonly sizeBytes?: number | undefined;
  readonly pushedAt?: string | undefined;
  readonly lastPulledAt?: string | undefined;
  readonly actor?: Partial<Actor> | undefined;
  readonly eventId?: string | undefined;
  readonly failure?: { readonly code: string; readonly reason: string } | undefined;
  readonly dueAt?: string | undefined;
  readonly intent?: DeletionIntent | undefined;
  readonly archivedAt?: string | undefined;
  readonly purgeAt?: string | undefined;
  readonly restoredAt?: string | undefined;
  readonly note?: string | undefined;
  readonly manifest?: KeptManifest | undefined;
  readonly requestId?: string | undefined;
}

/** A manifest kept in an audit record. */
export interface KeptManifest {
  readonly mediaType: string;
  readonly bytes: number;
  /** Absent when the manifest was larger than MANIFEST_KEPT_BYTES (DynamoDB items are at most 400 KB). */
  readonly body?: string | undefined;
}

/** Manifests up to this size are kept whole in the write-ahead record. */
export const MANIFEST_KEPT_BYTES = 64 * 1024;

export const repoKey = (r: Omit<ImageRef, 'digest'>): string =>
  `REPO#${r.registryId}#${r.region}#${r.repository}`;

export function keysOf(
  ref: ImageRef,
  opts: { dryRun: boolean; runId?: string | undefined },
): { pk: string; sk: string } {
  return {
    pk: `IMG#${ref.digest}`,
    sk: opts.dryRun
      ? `PLAN#${opts.runId ?? 'unknown'}#${ref.registryId}#${ref.region}#${ref.repository}`
      : repoKey(ref),
  };
}

/** Evidence of our own intent (a notice, a write-ahead, an archive): the record is ours until ECR says otherwise. */
const OUR_INTENT: readonly Evidence[] = [
  'steward-write-ahead',
  'steward-notice',
  'steward-archive',
  'steward-cancel',
];

/**
 * Who deleted the image, from the evidence: our write-ahead alone only says we meant to; the deletion is
 * ours when our own delete call reported it (or left it unreported and the image was gone at once), ECR's
 * lifecycle when CloudTrail's PolicyExecutionEvent names it, else the principal CloudTrail names, else ours
 * when we had a write-ahead for it, else unknown.
 *
 * `steward-already-gone` (ImageNotFound on our delete) deliberately claims nothing: the image may have gone
 * to another principal, to ECR's lifecycle, or to our own earlier attempt whose reply was lost (the SDK
 * retries a timed-out call, and the retry finds nothing). So the record keeps our actor only while no other
 * source names one, through the write-ahead rule below, and its evidence says the delete found it gone.
 */
function actorType(
  status: AuditStatus,
  evidence: readonly Evidence[],
  principal: string | undefined,
): ActorType {
  if (status !== 'DELETED')
    return status === 'PLANNED' || evidence.some((e) => OUR_INTENT.includes(e)) ? 'ecr-steward' : 'unknown';
  if (evidence.includes('steward-delete') || evidence.includes('steward-verify')) return 'ecr-steward';
  if (evidence.includes('cloudtrail-lifecycle')) return 'ecr-lifecycle';
  if (principal) return 'principal';
  // Our write-ahead and no other actor named: we were about to delete it and it went (a crash lost our reply).
  if (evidence.includes('steward-write-ahead')) return 'ecr-steward';
  return 'unknown';
}

/** The partition of the sparse `byDue` index. */
export const DUE_PARTITION = 'DUE';

/** The due time of what is never due (an archive no purge follows): after every time a run asks about. */
export const NEVER_DUE = '9999-12-31T23:59:59.999Z';

/**
 * Status order: a deletion seen by anyone is final; a failure only replaces a pending write-ahead; a notice
 * starts from any state but a deletion in progress or done, or an archive that a purge follows (and a second
 * notice changes nothing); a notice ends only as a notice; an archive settles a write-ahead or a notice; a
 * restore undoes only an archive.
 */
export function nextStatus(
  record: Pick<AuditRecord, 'status' | 'purgeAt'>,
  signal: Pick<DeleteSignal, 'status'>,
): AuditStatus {
  const current = record.status;
  if (current === 'DELETED' || signal.status === 'DELETED') return 'DELETED';
  switch (signal.status) {
    case 'FAILED':
      return current === 'PENDING' || current === 'FAILED' ? 'FAILED' : current;
    case 'PENDING':
      return ['FAILED', 'SCHEDULED', 'CANCELLED', 'ARCHIVED', 'RESTORED'].includes(current)
        ? 'PENDING'
        : current;
    case 'SCHEDULED':
      // A lifecycle transition's archive (no purge follows it) is where the policy's expire rules on archived
      // images act: their notice starts from it.
      return ['CANCELLED', 'RESTORED', 'FAILED'].includes(current) ||
        (current === 'ARCHIVED' && record.purgeAt === undefined)
        ? 'SCHEDULED'
        : current;
    case 'CANCELLED':
      // A notice ends, or a write-ahead whose call was refused (an image ECR would not archive) is given up.
      return current === 'SCHEDULED' || current === 'PENDING' || current === 'FAILED' ? 'CANCELLED' : current;
    case 'ARCHIVED':
      return current === 'PENDING' || current === 'SCHEDULED' || current === 'FAILED' ? 'ARCHIVED' : current;
    case 'RESTORED':
      return current === 'ARCHIVED' || current === 'PENDING' ? 'RESTORED' : current;
    default:
      return current;
  }
}

/**
 * Merges a signal into the record (or creates it). Returns undefined when the signal adds nothing, so
 * redeliveries cost a read and no write.
 */
export function mergeSignal(
  existing: AuditRecord | undefined,
  signal: DeleteSignal,
  now: string,
  opts: { ttlDays?: number | undefined; plannedTtlDays?: number | undefined } = {},
): AuditRecord | undefined {
  const dryRun = signal.status === 'PLANNED';
  const runId = signal.actor?.runId ?? existing?.actor.runId;
  const { pk, sk } = keysOf(signal, { dryRun, runId });
  if (existing && signal.eventId && existing.eventIds.includes(signal.eventId)) return undefined;

  const status = existing ? nextStatus(existing, signal) : signal.status;
  const evidence = [...new Set([...(existing?.evidence ?? []), signal.evidence])].sort() as Evidence[];
  // A settled deletion keeps who, which run and why: a later signal (a redelivered write-ahead, a late event)
  // may fill a gap in the actor (our run id when ECR's event won the race) but never overwrite it.
  const settled = existing?.status === 'DELETED';
  const merged = settled
    ? { ...stripUndefined({ ...signal.actor }), ...stripUndefined({ ...existing.actor }) }
    : { ...existing?.actor, ...stripUndefined({ ...signal.actor }) };
  // A restore is a person's act: the record names them, not the run that archived the image.
  const restoredBy =
    status === 'RESTORED' && signal.status === 'RESTORED' ? signal.actor?.principal : undefined;
  const actor: Actor = restoredBy
    ? { type: 'principal', principal: restoredBy }
    : {
        ...merged,
        principal: existing?.actor.principal ?? signal.actor?.principal,
        type: actorType(status, evidence, merged.principal ?? existing?.actor.principal),
      };
  const eventIds = signal.eventId
    ? [...new Set([...(existing?.eventIds ?? []), signal.eventId])].sort()
    : [...(existing?.eventIds ?? [])];
  // The deletion time is the earliest time a source reports the image deleted; before that, the planned time.
  let at: string;
  if (!existing) at = signal.at;
  else if (existing.status === 'DELETED' && signal.status === 'DELETED') {
    // biome-ignore lint/complexity/useMathMinMax: ISO-8601 strings, whose lexical order is their time order
    at = existing.at < signal.at ? existing.at : signal.at;
  } else if (existing.status !== 'DELETED' && status === 'DELETED') at = signal.at;
  // A new state (a notice after a cancellation, an archive, a restore) is dated when it began.
  else if (status !== existing.status && status !== 'FAILED' && status !== 'PENDING') at = signal.at;
  else at = existing.at;
  // Every tag any source saw on the image (per-tag DELETE events each name one), sorted so order never matters.
  const tags = [...new Set([...(existing?.tags ?? []), ...(signal.tags ?? [])])].sort();

  // The notice's due time: the first notice's, never a later one; a new notice after a cancellation or a
  // restore starts afresh.
  // A notice's due time stays with the record while its deletion is in progress or failed (the image stays
  // noticed: a retry never gives a second notice or a later due time); it ends with the deletion, an archive, a
  // restore or a cancellation.
  const carriesNotice = status === 'PENDING' || status === 'FAILED';
  // The earlier of the two: a notice after a failed attempt never moves the due time later.
  const earliest = (a: string | undefined, b: string | undefined) =>
    a === undefined ? b : b === undefined ? a : a < b ? a : b;
  const dueAt =
    status === 'SCHEDULED'
      ? existing?.status === 'SCHEDULED' || existing?.status === 'PENDING' || existing?.status === 'FAILED'
        ? earliest(existing.dueAt, signal.dueAt)
        : signal.dueAt
      : carriesNotice
        ? existing?.dueAt
        : undefined;
  const archivedAt =
    status === 'ARCHIVED'
      ? existing?.status === 'ARCHIVED'
        ? existing.archivedAt
        : (signal.archivedAt ?? signal.at)
      : // When it was archived stays through a restore and a purge: the record tells the whole story.
        existing?.archivedAt;
  // A purge in progress or failed keeps its time, so the processor retries it.
  const purgeAt =
    status === 'ARCHIVED'
      ? existing?.status === 'ARCHIVED'
        ? existing.purgeAt
        : signal.purgeAt
      : carriesNotice
        ? existing?.purgeAt
        : undefined;
  // Open (indexed): a notice, a noticed deletion in progress or failed (the processor retries it), an archive.
  // An archive that is never purged (a lifecycle transition's) stays open, due never: `trash list` and the
  // cleanup's look at its repository's open records still see it, and the due-deletion processor never does.
  const due =
    status === 'SCHEDULED' || carriesNotice
      ? (dueAt ?? purgeAt)
      : status === 'ARCHIVED'
        ? (purgeAt ?? NEVER_DUE)
        : undefined;
  // A notice's request: given with the notice, kept by what ends it (for the audit of the request); a new
  // notice after a cancellation, a restore or a deletion starts without one.
  const freshNotice =
    status === 'SCHEDULED' && !(existing && ['SCHEDULED', 'PENDING', 'FAILED'].includes(existing.status));
  const requestId = signal.requestId ?? (freshNotice ? undefined : existing?.requestId);
  const next: AuditRecord = {
    pk,
    sk,
    registryId: signal.registryId,
    region: signal.region,
    repository: signal.repository,
    digest: signal.digest,
    gsi1pk: repoKey(signal),
    gsi1sk: `${at}#${signal.digest}`,
    ...(actor.runId ? { gsi2pk: `RUN#${actor.runId}`, gsi2sk: signal.digest } : {}),
    gsi3pk: `DAY#${at.slice(0, 10)}`,
    gsi3sk: `${at}#${signal.repository}#${signal.digest}`,
    status,
    dryRun,
    tags: [...tags],
    sizeBytes: existing?.sizeBytes ?? signal.sizeBytes,
    pushedAt: existing?.pushedAt ?? signal.pushedAt,
    lastPulledAt: existing?.lastPulledAt ?? signal.lastPulledAt,
    actor,
    at,
    recordedAt: existing?.recordedAt ?? now,
    updatedAt: now,
    evidence,
    eventIds,
    failure: status === 'FAILED' ? (signal.failure ?? existing?.failure) : undefined,
    dueAt,
    intent: status === 'PENDING' ? (signal.intent ?? existing?.intent) : undefined,
    archivedAt,
    purgeAt,
    restoredAt: status === 'RESTORED' ? (signal.restoredAt ?? existing?.restoredAt ?? signal.at) : undefined,
    note: signal.note ?? (status === existing?.status ? existing?.note : undefined),
    manifest: existing?.manifest ?? signal.manifest,
    requestId,
    ...(due !== undefined && !dryRun
      ? {
          // The due-deletion processor runs the lifecycle cleanup: it acts on the lifecycle's notices and on
          // every purge and every request's notice. A scan-gate notice (no rule) is acted on when the gate
          // judges the image again.
          ...(status === 'ARCHIVED' ||
          purgeAt !== undefined ||
          actor.rulePriority !== null ||
          requestId !== undefined
            ? {
                gsi4pk: DUE_PARTITION,
                gsi4sk: `${due}#${signal.registryId}#${signal.region}#${signal.repository}#${signal.digest}`,
              }
            : {}),
          gsi5pk: `OPEN#${repoKey(signal)}`,
          gsi5sk: `${due}#${signal.digest}`,
        }
      : {}),
    version: (existing?.version ?? 0) + 1,
    // Dry-run plans expire after plannedTtlDays; deletions only when ttlDays (audit.retentionDays) is set.
    // An archive no purge follows (a transition's) stays while the image does: its retention starts when it ends.
    ttl:
      status === 'ARCHIVED' && purgeAt === undefined
        ? undefined
        : (existing?.ttl ?? ttlFor(dryRun ? (opts.plannedTtlDays ?? opts.ttlDays) : opts.ttlDays, now)),
  };
  if (existing && sameContent(existing, next)) return undefined;
  return next;
}

function ttlFor(days: number | undefined, now: string): number | undefined {
  return days ? Math.floor(Date.parse(now) / 1000) + days * 86_400 : undefined;
}

/**
 * Whether `found` is the very record a caller tried to write: its put landed though its answer was lost (the
 * SDK's retry of it was then refused), so the write is the caller's, newly DELETED included. The same version and
 * content written at the same millisecond: a duplicate of the same event merged by another caller is the same
 * content too, and only its time tells it apart (callers in one batch are told apart by the record's key).
 */
export function isOwnWrite(found: AuditRecord | undefined, attempted: AuditRecord): boolean {
  return (
    found !== undefined &&
    found.version === attempted.version &&
    found.updatedAt === attempted.updatedAt &&
    sameContent(found, attempted)
  );
}

function sameContent(a: AuditRecord, b: AuditRecord): boolean {
  const strip = ({ version: _v, updatedAt: _u, ...rest }: AuditRecord) => rest;
  return canonical(strip(a)) === canonical(strip(b));
}

/** JSON with object keys sorted: DynamoDB does not return an item's attributes in the order they were written. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : v,
  );
}

/** Evidence from ECR's own events: what the audit function consumes. */
const EVENT_EVIDENCE: readonly Evidence[] = [
  'image-action-event',
  'cloudtrail-batch-delete',
  'cloudtrail-lifecycle',
];

/**
 * Whether a write counts as a new deletion (for delete-rate counters): exactly once per record, when the
 * record is first DELETED with evidence from ECR's events. Our cleanup usually marks its own deletions
 * DELETED before ECR's event reaches the audit function; counting only the move to DELETED would leave
 * them out of the rates (and the breaker) whenever the event loses that race.
 */
export function becameDeleted(before: AuditRecord | undefined, after: AuditRecord): boolean {
  return countableDeletion(after) && !(before !== undefined && countableDeletion(before));
}

/** A record the delete-rate counters count: DELETED, with evidence from ECR's events (see becameDeleted). */
export function countableDeletion(r: AuditRecord): boolean {
  return r.status === 'DELETED' && r.evidence.some((e) => EVENT_EVIDENCE.includes(e));
}
