/**
 * Reconciliation: ECR's events are best effort, so every cleanup run compares the repository's images with
 * the snapshot the previous run left, and records each digest that vanished without an audit record
 * (actor unknown, evidence `reconciliation`). It also settles write-ahead records left PENDING by a run that
 * stopped between its audit write and its delete call.
 */
import { createHash } from 'node:crypto';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Image } from '../lifecycle/types.js';
import { mapLimit } from '../runtime/concurrency.js';
import { type BatchGetCoalescer, BatchWriteCoalescer, batchGetsOf, type ItemKey } from '../state/coalesce.js';
import type { AuditRecord, DeleteSignal } from './records.js';

/** What a snapshot keeps of an image: enough to write a useful record if it vanishes. */
export interface SnapshotEntry {
  readonly digest: string;
  readonly tags: readonly string[];
  readonly pushedAt: number;
  readonly sizeBytes: number;
}

export interface Snapshot {
  readonly at: string;
  readonly entries: readonly SnapshotEntry[];
}

export interface RepositoryRef {
  readonly registryId: string;
  readonly region: string;
  readonly repository: string;
}

export interface ReconcilePorts {
  readonly snapshots: {
    load(ref: RepositoryRef): Promise<Snapshot | undefined>;
    save(ref: RepositoryRef, snapshot: Snapshot): Promise<void>;
  };
  readonly audit: {
    get(ref: RepositoryRef & { digest: string }): Promise<AuditRecord | undefined>;
    /** Records a signal; the record written, when the store says (AuditStore.record's `record`), keeps `open` exact. */
    record(signal: DeleteSignal): Promise<unknown>;
    /** PENDING records of the last 30 days, by the repository's records (what older versions left). */
    pending(ref: RepositoryRef): Promise<AuditRecord[]>;
    /**
     * One page of the repository's records, newest first (AuditStore.repositoryPage). When given, the repository
     * is reconciled on it: when the page holds every record, its PENDING records and its open ones come from
     * this one read instead of two; when it reaches back past the last 30 days, its PENDING records do.
     * @default `pending`, then the caller reads the open records
     */
    repositoryPage?(
      ref: RepositoryRef,
    ): Promise<{ readonly records: readonly AuditRecord[]; readonly complete: boolean }>;
  };
  /**
   * Told the repository's open records (AuditStore.open) as they are after this reconciliation's writes, when
   * its page of the repository's records held them all; not called otherwise (the caller reads them).
   */
  readonly opened?: ((records: readonly AuditRecord[]) => void) | undefined;
}

export interface ReconcileReport {
  readonly vanished: number;
  readonly recordedUnknown: number;
  readonly settledDeleted: number;
  readonly settledFailed: number;
  /** PENDING archives a crash left, found archived in ECR and settled ARCHIVED. */
  readonly settledArchived: number;
}

/** Pure: the snapshot entries whose digest is no longer present. */
export function vanishedEntries(
  previous: readonly SnapshotEntry[],
  current: ReadonlySet<string>,
): SnapshotEntry[] {
  return previous.filter((e) => !current.has(e.digest));
}

export async function reconcileRepository(
  ref: RepositoryRef,
  images: readonly Image[],
  now: Date,
  runId: string,
  ports: ReconcilePorts,
  /** Soft delete: how long an archive settled here stays restorable. @default 30 */
  purgeAfterDays = 30,
): Promise<ReconcileReport> {
  const present = new Set(images.map((i) => i.digest));
  const archived = new Set(images.filter((i) => i.status === 'ARCHIVED').map((i) => i.digest));
  const previous = await ports.snapshots.load(ref);
  // The repository's records in one page, newest first. Whole, they give its PENDING records (of any age: the
  // older read looked 30 days back) and its open ones; reaching back past 30 days, its PENDING records of that
  // window as the older read found them. Otherwise that read is made. Every writer (older versions, the scan
  // gate, the CLI) gives every record the byRepository key, so nothing a crash left PENDING escapes the page.
  const since = new Date(now.getTime() - 30 * 86_400_000).toISOString();
  const page = ports.audit.repositoryPage ? await ports.audit.repositoryPage(ref) : undefined;
  const oldest = page?.records.at(-1)?.gsi1sk;
  const pending =
    page && (page.complete || (oldest !== undefined && oldest < since))
      ? page.records.filter((r) => r.status === 'PENDING')
      : await ports.audit.pending(ref);
  // The open records as the openByRepository index holds them (the records that carry its key), soonest first.
  const openBefore = page?.complete
    ? page.records
        .filter((r) => r.gsi5pk !== undefined)
        .sort((a, b) => (a.gsi5sk! < b.gsi5sk! ? -1 : a.gsi5sk! > b.gsi5sk! ? 1 : 0))
    : undefined;
  // What this reconciliation writes, by record key: the records read from the index are brought up to date
  // with them (a store that does not return what it wrote leaves the caller to read the open records again).
  const written = new Map<string, AuditRecord | undefined>();
  let writtenKnown = true;
  const record = async (signal: DeleteSignal) => {
    const result = (await ports.audit.record(signal)) as { record?: AuditRecord } | undefined;
    if (result && 'record' in result) written.set(signal.digest, result.record);
    else writtenKnown = false;
  };
  let recordedUnknown = 0;
  let settledDeleted = 0;
  let settledFailed = 0;
  let settledArchived = 0;
  const gone = previous ? vanishedEntries(previous.entries, present) : [];
  for (const entry of gone) {
    const existing = await ports.audit.get({ ...ref, digest: entry.digest });
    if (existing?.status === 'DELETED') continue;
    await record({
      ...ref,
      digest: entry.digest,
      status: 'DELETED',
      evidence: existing?.status === 'PENDING' ? 'settled' : 'reconciliation',
      // The deletion happened between the two snapshots; the later bound is what we can vouch for.
      at: now.toISOString(),
      tags: entry.tags,
      sizeBytes: entry.sizeBytes,
      pushedAt: new Date(entry.pushedAt).toISOString(),
      eventId: `reconcile#${runId}#${entry.digest}`,
    });
    if (existing?.status === 'PENDING') settledDeleted++;
    else recordedUnknown++;
  }
  // Write-ahead records of earlier runs still PENDING: ECR says whether the image went. One the loop above
  // has just settled (it vanished) is settled already.
  for (const pendingRecord of pending) {
    if (pendingRecord.actor.runId === runId) continue;
    if (written.has(pendingRecord.digest) && written.get(pendingRecord.digest)?.status !== 'PENDING')
      continue;
    const archiving = pendingRecord.intent === 'archive' || pendingRecord.intent === 'transition';
    if (archiving && archived.has(pendingRecord.digest)) {
      // A crash between UpdateImageStorageClass and the settle: ECR shows the archive, so it happened. A soft
      // delete's archive is purged after its window; a lifecycle transition's never is.
      await record({
        ...ref,
        digest: pendingRecord.digest,
        status: 'ARCHIVED',
        evidence: 'settled',
        at: now.toISOString(),
        archivedAt: now.toISOString(),
        ...(pendingRecord.intent === 'archive'
          ? { purgeAt: new Date(now.getTime() + purgeAfterDays * 86_400_000).toISOString() }
          : {}),
        eventId: `settle#${runId}#${pendingRecord.digest}`,
      });
      settledArchived++;
      continue;
    }
    const stillThere = present.has(pendingRecord.digest);
    await record({
      ...ref,
      digest: pendingRecord.digest,
      status: stillThere ? 'FAILED' : 'DELETED',
      evidence: 'settled',
      at: now.toISOString(),
      failure: stillThere
        ? { code: 'NotDeleted', reason: 'the run stopped after its write-ahead record and before the delete' }
        : undefined,
      eventId: `settle#${runId}#${pendingRecord.digest}`,
    });
    if (stillThere) settledFailed++;
    else settledDeleted++;
  }
  await ports.snapshots.save(ref, {
    at: now.toISOString(),
    entries: images.map((i) => ({
      digest: i.digest,
      tags: i.tags,
      pushedAt: i.pushedAt,
      sizeBytes: i.sizeBytes,
    })),
  });
  if (openBefore && writtenKnown && ports.opened)
    // The open records after the writes above: a record they changed is taken as written, and stays only if it
    // is still open (still carries the index's key).
    ports.opened(
      openBefore.flatMap((r) => {
        const after = written.has(r.digest) ? written.get(r.digest) : r;
        return after?.gsi5pk !== undefined ? [after] : [];
      }),
    );
  return { vanished: gone.length, recordedUnknown, settledDeleted, settledFailed, settledArchived };
}

/**
 * Snapshots in the state table. A small repository's snapshot (up to 1,000 images and 250 KB) is META itself:
 * one item, read in one call and written in one. A larger one is split into up to 256 parts by
 * the digest's first two hex characters, so a 100,000-image repository fits DynamoDB's item size and a run
 * rewrites only the parts that changed; META names them. Either layout loads, whichever the last run wrote.
 */
/** One image in a snapshot part: digest, tags, pushedAt, sizeBytes (positional, to keep parts small). */
type PartEntry = [string, readonly string[], number, number];

export class SnapshotStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {
    this.reads = batchGetsOf(doc, tableName);
    this.writes = new BatchWriteCoalescer(doc, tableName);
  }

  /**
   * The loads and saves of the repositories one worker cleans at once go out together, the loads with the breaker
   * reads of the same table (../state/coalesce.ts).
   */
  private readonly reads: BatchGetCoalescer;
  private readonly writes: BatchWriteCoalescer;

  /** The part hashes of the snapshots this store loaded or saved, by pk: a save after a load reads no META. */
  private readonly known = new Map<string, Record<string, string>>();

  private pk(ref: RepositoryRef): string {
    return `SNAP#${ref.registryId}#${ref.region}#${ref.repository}`;
  }

  async load(ref: RepositoryRef): Promise<Snapshot | undefined> {
    const meta = await this.batchGet([{ pk: this.pk(ref), sk: 'META' }]);
    const head = meta[0];
    if (!head) {
      // None yet: the save that follows needs no read to know it.
      this.known.set(this.pk(ref), {});
      return undefined;
    }
    const parts = (head.parts ?? {}) as Record<string, string>;
    this.known.set(this.pk(ref), parts);
    // A small repository's snapshot is META itself: one read.
    if (Array.isArray(head.entries))
      return {
        at: String(head.at),
        entries: (head.entries as PartEntry[]).map(([digest, tags, pushedAt, sizeBytes]) => ({
          digest,
          tags,
          pushedAt,
          sizeBytes,
        })),
      };
    const keys = Object.keys(parts).map((p) => ({ pk: this.pk(ref), sk: `PART#${p}` }));
    const entries: SnapshotEntry[] = [];
    for (let i = 0; i < keys.length; i += 100) {
      for (const item of await this.batchGet(keys.slice(i, i + 100))) {
        for (const [digest, tags, pushedAt, sizeBytes] of item.entries as [
          string,
          string[],
          number,
          number,
        ][]) {
          entries.push({ digest, tags, pushedAt, sizeBytes });
        }
      }
    }
    return { at: String(head.at), entries };
  }

  /**
   * Saves a snapshot. `alongside`: other items of the same table written in the same call as META (the
   * repository's image count, which the cleanup keeps beside its snapshot): one BatchWriteItem instead of a
   * PutItem each. They are unconditional puts like META, so writing them together changes nothing but the
   * number of calls.
   */
  async save(
    ref: RepositoryRef,
    snapshot: Snapshot,
    options: { readonly alongside?: readonly Record<string, unknown>[] } = {},
  ): Promise<void> {
    const alongside = options.alongside ?? [];
    const byPart = new Map<string, PartEntry[]>();
    const sorted = [...snapshot.entries].sort((a, b) => (a.digest < b.digest ? -1 : 1));
    const single =
      sorted.length <= SINGLE_PART_MAX_IMAGES && JSON.stringify(sorted).length <= SINGLE_PART_MAX_BYTES;
    const pk = this.pk(ref);
    if (single) {
      // A small repository: the entries go in META itself, one item. Like the parts' META, it is written on
      // every save, so its `at` is when the snapshot was taken, changed or not.
      const entries: PartEntry[] = sorted.map((e) => [e.digest, e.tags, e.pushedAt, e.sizeBytes]);
      await this.putItems([
        { pk, sk: 'META', at: snapshot.at, count: entries.length, parts: {}, entries },
        ...alongside,
      ]);
      this.known.set(pk, {});
      return;
    }
    for (const e of sorted) {
      const part = partOf(e.digest);
      let entries = byPart.get(part);
      if (!entries) {
        entries = [];
        byPart.set(part, entries);
      }
      entries.push([e.digest, e.tags, e.pushedAt, e.sizeBytes]);
    }
    const oldHashes =
      this.known.get(pk) ??
      (((await this.batchGet([{ pk, sk: 'META' }]))[0]?.parts ?? {}) as Record<string, string>);
    const hashes: Record<string, string> = {};
    const changed: [string, typeof byPart extends Map<string, infer V> ? V : never][] = [];
    for (const [part, entries] of byPart) {
      const hash = createHash('sha256').update(JSON.stringify(entries)).digest('hex').slice(0, 16);
      hashes[part] = hash;
      if (oldHashes[part] !== hash) changed.push([part, entries]);
    }
    // Parts are independent items (up to 256 on a first run): written 16 at a time. META, which names them,
    // is written only once all of them have landed.
    await mapLimit(changed, 16, ([part, entries]) =>
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: this.pk(ref), sk: `PART#${part}`, entries },
        }),
      ),
    );
    // Parts that became empty are dropped from META (stale part items are simply never read).
    this.known.set(pk, hashes);
    await this.putItems([
      {
        pk: this.pk(ref),
        sk: 'META',
        at: snapshot.at,
        count: snapshot.entries.length,
        parts: hashes,
      },
      ...alongside,
    ]);
  }

  /**
   * Unconditional puts: one PutItem for one item, else BatchWriteItem calls of up to 25 (shared with the saves
   * other repositories make at the same moment), the items DynamoDB leaves unprocessed (its partial success under
   * throttling) sent again until none is left.
   */
  private async putItems(items: readonly Record<string, unknown>[]): Promise<void> {
    if (items.length === 1) {
      await this.doc.send(new PutCommand({ TableName: this.tableName, Item: items[0] }));
      return;
    }
    for (let i = 0; i < items.length; i += 25) {
      let left: readonly Record<string, unknown>[] = items.slice(i, i + 25);
      for (let attempt = 0; left.length > 0; attempt++) {
        if (attempt === 8)
          throw new Error(`snapshot not saved: DynamoDB left ${left.length} item(s) unprocessed`);
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
        left = await this.writes.put(left);
      }
    }
  }

  /**
   * Consistent reads of up to 100 keys, until DynamoDB has processed every one. The loads of the repositories
   * one worker cleans at once go out together (BatchGetCoalescer).
   */
  private async batchGet(keys: { pk: string; sk: string }[]): Promise<Record<string, unknown>[]> {
    const out: Record<string, unknown>[] = [];
    let request: ItemKey[] = keys;
    while (request.length > 0) {
      const res = await this.reads.get(request);
      out.push(...res.items);
      request = res.unprocessed;
    }
    return out;
  }
}

/** A snapshot up to this many images and bytes is kept in META itself (DynamoDB's limit is 400 KB an item). */
const SINGLE_PART_MAX_IMAGES = 1000;
const SINGLE_PART_MAX_BYTES = 250_000;

function partOf(digest: string): string {
  const hex = digest.startsWith('sha256:')
    ? digest.slice(7)
    : createHash('sha256').update(digest).digest('hex');
  return hex.slice(0, 2).padEnd(2, '0');
}
