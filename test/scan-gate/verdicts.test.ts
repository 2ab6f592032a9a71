/**
 * VerdictStore against a real DynamoDB API (dynalite, test/support/dynamo.ts): the latest verdict per image and
 * the full history, and events processed out of order (EventBridge does not order them) never let an older
 * verdict replace a newer LATEST. The sparse quarantine index holds the LATEST verdicts of quarantined images
 * only, and is read oldest quarantine first by the quarantine expiry.
 */
import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  VERDICT_INDEXES,
  type VerdictRecord,
  VerdictStore,
  verdictPk,
} from '../../functions/scan-gate/verdicts.js';
import { createVerdictTable, type Dynamo, startDynamo } from '../support/dynamo.js';
import { ACCOUNT, DIGEST, REGION, REPO } from './helpers.js';

let db: Dynamo;
let tables = 0;

beforeAll(async () => {
  db = await startDynamo();
});

afterAll(async () => {
  await db?.close();
});

/** A fresh, empty verdict table as lib/constructs/scan-gate.ts defines it. */
async function verdictStore(): Promise<VerdictStore> {
  const TableName = `verdicts-${++tables}`;
  await createVerdictTable(db.client, TableName);
  return new VerdictStore(db.doc, TableName);
}

/**
 * The same table through a document client that cuts every quarantine-index page at `pageSize` items, as
 * DynamoDB does at 1 MB, and records the `Limit` each query asked for (before the cut).
 */
function pagedStore(store: VerdictStore, pageSize: number): { store: VerdictStore; limits: number[] } {
  const limits: number[] = [];
  const doc = {
    send(command: unknown) {
      if (command instanceof QueryCommand && command.input.IndexName === VERDICT_INDEXES.quarantined.name) {
        limits.push(command.input.Limit ?? Number.POSITIVE_INFINITY);
        command.input.Limit = Math.min(command.input.Limit ?? pageSize, pageSize);
      }
      return db.doc.send(command as QueryCommand);
    },
  } as unknown as DynamoDBDocumentClient;
  return { store: new VerdictStore(doc, store.tableName), limits };
}

/** The raw item (every attribute, as DynamoDB has it) under a key of the verdict table. */
async function rawItem(
  store: VerdictStore,
  pk: string,
  sk: string,
): Promise<Record<string, unknown> | undefined> {
  const out = await db.doc.send(
    new GetCommand({ TableName: store.tableName, Key: { pk, sk }, ConsistentRead: true }),
  );
  return out.Item;
}

const KEY = { registryId: ACCOUNT, region: REGION, repository: REPO, digest: DIGEST };

/** The key of the image numbered `n` (distinct digests in one repository). */
const keyOf = (n: number) => ({ ...KEY, digest: `sha256:${n.toString(16).padStart(64, '0')}` });

function record(
  at: string,
  extra: Partial<Omit<VerdictRecord, 'pk' | 'sk'>> = {},
): Omit<VerdictRecord, 'pk' | 'sk'> {
  return {
    ...KEY,
    tags: ['v1'],
    verdict: 'FAIL',
    summary: 'FAIL: 1 CRITICAL finding (at most 0 allowed)',
    reasons: ['1 CRITICAL finding (at most 0 allowed)'],
    counts: { CRITICAL: 1 },
    blocking: [{ id: 'CVE-2024-3094', severity: 'CRITICAL', packageName: 'xz-utils', cvss: 10 }],
    policyHash: '0123456789abcdef',
    at,
    trigger: 'ecr-scan',
    eventId: `event-${at}`,
    actions: ['notified'],
    quarantineTag: 'quarantined-0123456789ab',
    ...extra,
  };
}

describe('VerdictStore', () => {
  it('has no verdict for an image never judged', async () => {
    // Prepare
    const store = await verdictStore();

    // Act / Assess
    expect(await store.latest(KEY)).toBeUndefined();
    expect(await store.history(KEY)).toEqual([]);
  });

  it('stores the latest verdict and a history entry, with every field', async () => {
    // Prepare
    const store = await verdictStore();
    const first = record('2026-06-01T12:00:00.000Z');

    // Act
    const written = await store.put(first);

    // Assess
    expect(written).toBe(true);
    expect(await store.latest(KEY)).toEqual({ ...first, pk: verdictPk(KEY), sk: 'LATEST' });
    expect(await store.history(KEY)).toEqual([
      { ...first, pk: verdictPk(KEY), sk: `AT#2026-06-01T12:00:00.000Z#event-2026-06-01T12:00:00.000Z` },
    ]);
    expect(verdictPk(KEY)).toBe(`IMG#${ACCOUNT}#${REGION}#${REPO}#${DIGEST}`);
  });

  it('replaces the latest with a newer verdict and keeps both in the history, oldest first', async () => {
    // Prepare
    const store = await verdictStore();
    await store.put(record('2026-06-01T12:00:00.000Z'));

    // Act
    const written = await store.put(
      record('2026-06-01T13:00:00.000Z', { verdict: 'PASS', summary: 'PASS', quarantineTag: undefined }),
    );

    // Assess
    expect(written).toBe(true);
    const latest = await store.latest(KEY);
    expect(latest?.verdict).toBe('PASS');
    expect(latest).not.toHaveProperty('quarantineTag');
    expect((await store.history(KEY)).map((r) => [r.at, r.verdict])).toEqual([
      ['2026-06-01T12:00:00.000Z', 'FAIL'],
      ['2026-06-01T13:00:00.000Z', 'PASS'],
    ]);
  });

  it('never lets an older event replace a newer LATEST, but keeps it in the history', async () => {
    // Prepare: the newer event is processed first.
    const store = await verdictStore();
    await store.put(record('2026-06-01T13:00:00.000Z', { verdict: 'PASS', summary: 'PASS' }));

    // Act
    const written = await store.put(record('2026-06-01T12:59:59.999Z', { verdict: 'FAIL' }));

    // Assess
    expect(written).toBe(false);
    expect((await store.latest(KEY))?.verdict).toBe('PASS');
    expect((await store.latest(KEY))?.at).toBe('2026-06-01T13:00:00.000Z');
    expect((await store.history(KEY)).map((r) => r.at)).toEqual([
      '2026-06-01T12:59:59.999Z',
      '2026-06-01T13:00:00.000Z',
    ]);
  });

  it('keeps the verdicts of different images apart', async () => {
    // Prepare
    const store = await verdictStore();
    const other = { ...KEY, digest: `sha256:${'b'.repeat(64)}` };
    await store.put(record('2026-06-01T12:00:00.000Z'));

    // Act
    await store.put({ ...record('2026-06-01T11:00:00.000Z', { verdict: 'PASS' }), ...other });

    // Assess
    expect((await store.latest(KEY))?.verdict).toBe('FAIL');
    expect((await store.latest(other))?.verdict).toBe('PASS');
    expect(await store.history(KEY)).toHaveLength(1);
    expect(await store.history(other)).toHaveLength(1);
  });

  it('keeps a redelivered event idempotent: the same verdict written twice is one history entry', async () => {
    // Prepare
    const store = await verdictStore();
    const same = record('2026-06-01T12:00:00.000Z');

    // Act
    await store.put(same);
    const again = await store.put(same);

    // Assess
    expect(again).toBe(true);
    expect(await store.history(KEY)).toHaveLength(1);
  });
});

describe('VerdictStore: the quarantine index', () => {
  const CUTOFF = '2026-06-01T12:00:00.000Z';
  /** An ISO time `ms` milliseconds from the cutoff. */
  const fromCutoff = (ms: number) => new Date(Date.parse(CUTOFF) + ms).toISOString();
  const DAY = 86_400_000;

  /** A FAIL of image `n`, quarantined since `quarantinedAt`, recorded a day later. */
  const quarantined = (n: number, quarantinedAt: string): Omit<VerdictRecord, 'pk' | 'sk'> => {
    const at = new Date(Date.parse(quarantinedAt) + DAY).toISOString();
    return { ...record(at, { quarantinedAt }), ...keyOf(n) };
  };

  it('indexes the LATEST item of a quarantined image only: never its history item, never an unquarantined image', async () => {
    // Prepare
    const store = await verdictStore();
    const failing = record('2026-06-01T12:00:00.000Z', { quarantinedAt: '2026-05-30T08:00:00.000Z' });
    const other = keyOf(2);
    const notQuarantined = { ...record('2026-06-01T12:00:00.000Z', { quarantineTag: undefined }), ...other };

    // Act
    await store.put(failing);
    await store.put(notQuarantined);

    // Assess
    const latest = await rawItem(store, verdictPk(KEY), 'LATEST');
    expect(latest).toEqual({
      ...failing,
      pk: verdictPk(KEY),
      sk: 'LATEST',
      qpk: 'QUARANTINED',
      qdue: failing.quarantinedAt,
    });
    const historyItem = await rawItem(
      store,
      verdictPk(KEY),
      'AT#2026-06-01T12:00:00.000Z#event-2026-06-01T12:00:00.000Z',
    );
    expect(historyItem).toEqual({
      ...failing,
      pk: verdictPk(KEY),
      sk: 'AT#2026-06-01T12:00:00.000Z#event-2026-06-01T12:00:00.000Z',
    });
    expect(historyItem).not.toHaveProperty('qpk');
    expect(historyItem).not.toHaveProperty('qdue');
    const otherLatest = await rawItem(store, verdictPk(other), 'LATEST');
    expect(otherLatest).toBeDefined();
    expect(otherLatest).not.toHaveProperty('qpk');
    expect(otherLatest).not.toHaveProperty('quarantinedAt');
    expect((await store.dueForExpiry('9999-12-31T23:59:59.999Z', 10)).map((r) => [r.digest, r.sk])).toEqual([
      [DIGEST, 'LATEST'],
    ]);
  });

  it('returns the images quarantined at or before the cutoff (equal included, 1 ms later not), oldest first', async () => {
    // Prepare: written in no particular order.
    const store = await verdictStore();
    await store.put(quarantined(1, CUTOFF));
    await store.put(quarantined(2, fromCutoff(1)));
    await store.put(quarantined(3, fromCutoff(-3 * DAY)));
    await store.put(quarantined(4, fromCutoff(-1)));
    await store.put(quarantined(5, fromCutoff(10 * DAY)));
    await store.put({
      ...record(fromCutoff(-5 * DAY), { verdict: 'PASS', quarantineTag: undefined }),
      ...keyOf(6),
    });

    // Act
    const due = await store.dueForExpiry(CUTOFF, 10);

    // Assess
    expect(due.map((r) => [r.digest, r.quarantinedAt])).toEqual([
      [keyOf(3).digest, fromCutoff(-3 * DAY)],
      [keyOf(4).digest, fromCutoff(-1)],
      [keyOf(1).digest, CUTOFF],
    ]);
    expect(due[0]).toEqual({
      ...quarantined(3, fromCutoff(-3 * DAY)),
      pk: verdictPk(keyOf(3)),
      sk: 'LATEST',
      qpk: 'QUARANTINED',
      qdue: fromCutoff(-3 * DAY),
    });
  });

  it('returns nothing when no image is quarantined', async () => {
    // Prepare
    const store = await verdictStore();
    await store.put(record('2026-05-01T00:00:00.000Z', { verdict: 'PASS', quarantineTag: undefined }));

    // Act / Assess
    expect(await store.dueForExpiry(CUTOFF, 10)).toEqual([]);
  });

  it('honours the limit: of 7 due images, limit 5 returns exactly the 5 oldest', async () => {
    // Prepare: image n quarantined n days before the cutoff, written newest first.
    const store = await verdictStore();
    for (let n = 1; n <= 7; n++) await store.put(quarantined(n, fromCutoff(-n * DAY)));

    // Act
    const due = await store.dueForExpiry(CUTOFF, 5);

    // Assess
    expect(due.map((r) => r.digest)).toEqual([7, 6, 5, 4, 3].map((n) => keyOf(n).digest));
  });

  it('pages through the index until the limit when DynamoDB cuts pages short, asking only for what is missing', async () => {
    // Prepare: pages of 2 items.
    const base = await verdictStore();
    for (let n = 1; n <= 7; n++) await base.put(quarantined(n, fromCutoff(-n * DAY)));
    const { store, limits } = pagedStore(base, 2);

    // Act
    const due = await store.dueForExpiry(CUTOFF, 5);

    // Assess
    expect(due.map((r) => r.digest)).toEqual([7, 6, 5, 4, 3].map((n) => keyOf(n).digest));
    expect(limits).toEqual([5, 3, 1]);
  });

  it('pages through the whole index when the limit is larger than what is due', async () => {
    // Prepare: pages of 2 items, 7 due images, 1 not yet due.
    const base = await verdictStore();
    for (let n = 1; n <= 7; n++) await base.put(quarantined(n, fromCutoff(-n * DAY)));
    await base.put(quarantined(8, fromCutoff(1)));
    const { store, limits } = pagedStore(base, 2);

    // Act
    const due = await store.dueForExpiry(CUTOFF, 100);

    // Assess
    expect(due.map((r) => r.digest)).toEqual([7, 6, 5, 4, 3, 2, 1].map((n) => keyOf(n).digest));
    expect(limits).toEqual([100, 98, 96, 94]);
  });

  it('takes an image out of the index when a later verdict passes', async () => {
    // Prepare
    const store = await verdictStore();
    await store.put(record('2026-05-20T12:00:00.000Z', { quarantinedAt: '2026-05-20T12:00:00.000Z' }));

    // Act
    const written = await store.put(
      record('2026-05-21T12:00:00.000Z', { verdict: 'PASS', summary: 'PASS', quarantineTag: undefined }),
    );

    // Assess
    expect(written).toBe(true);
    expect(await store.dueForExpiry(CUTOFF, 10)).toEqual([]);
    const latest = await rawItem(store, verdictPk(KEY), 'LATEST');
    expect(latest).toMatchObject({ verdict: 'PASS', at: '2026-05-21T12:00:00.000Z' });
    expect(latest).not.toHaveProperty('qpk');
    expect(latest).not.toHaveProperty('quarantinedAt');
  });

  it('keeps an image in the index, at its first quarantine, while later verdicts still fail', async () => {
    // Prepare
    const store = await verdictStore();
    await store.put(record('2026-05-20T12:00:00.000Z', { quarantinedAt: '2026-05-20T12:00:00.000Z' }));

    // Act
    await store.put(record('2026-05-28T12:00:00.000Z', { quarantinedAt: '2026-05-20T12:00:00.000Z' }));

    // Assess
    expect((await store.dueForExpiry(CUTOFF, 10)).map((r) => [r.at, r.quarantinedAt])).toEqual([
      ['2026-05-28T12:00:00.000Z', '2026-05-20T12:00:00.000Z'],
    ]);
  });

  it('does not put an image back in the index for an older quarantined event processed after a newer PASS', async () => {
    // Prepare
    const store = await verdictStore();
    await store.put(
      record('2026-05-21T12:00:00.000Z', { verdict: 'PASS', summary: 'PASS', quarantineTag: undefined }),
    );

    // Act
    const written = await store.put(
      record('2026-05-20T12:00:00.000Z', { quarantinedAt: '2026-05-20T12:00:00.000Z' }),
    );

    // Assess
    expect(written).toBe(false);
    expect(await store.dueForExpiry(CUTOFF, 10)).toEqual([]);
  });

  it('releases an image from the index when the LATEST verdict is the one it was read with', async () => {
    // Prepare
    const store = await verdictStore();
    const failing = record('2026-05-20T12:00:00.000Z', { quarantinedAt: '2026-05-20T12:00:00.000Z' });
    await store.put(failing);
    await store.put({
      ...record('2026-05-20T12:00:00.000Z', { quarantinedAt: '2026-05-19T12:00:00.000Z' }),
      ...keyOf(2),
    });

    // Act
    await store.release({ ...KEY, pk: verdictPk(KEY), sk: 'LATEST' } as VerdictRecord, failing.at);

    // Assess: only that image left the quarantine; its verdict is otherwise kept.
    expect((await store.dueForExpiry(CUTOFF, 10)).map((r) => r.digest)).toEqual([keyOf(2).digest]);
    const { quarantinedAt: _gone, ...kept } = failing;
    expect(await rawItem(store, verdictPk(KEY), 'LATEST')).toEqual({
      ...kept,
      pk: verdictPk(KEY),
      sk: 'LATEST',
    });
  });

  it('does not release an image when a newer verdict was written since (and does not throw)', async () => {
    // Prepare: read at 12:00, then a newer FAIL keeps the image quarantined.
    const store = await verdictStore();
    await store.put(record('2026-05-20T12:00:00.000Z', { quarantinedAt: '2026-05-20T12:00:00.000Z' }));
    await store.put(record('2026-05-20T13:00:00.000Z', { quarantinedAt: '2026-05-20T12:00:00.000Z' }));

    // Act
    await expect(store.release(KEY as VerdictRecord, '2026-05-20T12:00:00.000Z')).resolves.toBeUndefined();

    // Assess
    expect((await store.dueForExpiry(CUTOFF, 10)).map((r) => [r.digest, r.at])).toEqual([
      [DIGEST, '2026-05-20T13:00:00.000Z'],
    ]);
    expect(await rawItem(store, verdictPk(KEY), 'LATEST')).toMatchObject({ qpk: 'QUARANTINED' });
  });

  it('does nothing (no throw, no item created) when the image has no LATEST verdict', async () => {
    // Prepare
    const store = await verdictStore();

    // Act
    await expect(store.release(KEY as VerdictRecord, '2026-05-20T12:00:00.000Z')).resolves.toBeUndefined();

    // Assess
    expect(await db.scan(store.tableName)).toEqual([]);
  });

  it('defers a kept image: it moves behind the others in the index, its quarantinedAt unchanged', async () => {
    // Prepare
    const store = await verdictStore();
    const first = quarantined(1, fromCutoff(-2 * DAY));
    await store.put(first);
    await store.put(quarantined(2, fromCutoff(-DAY)));

    // Act
    await store.defer(keyOf(1) as VerdictRecord, first.at, fromCutoff(1));

    // Assess
    expect((await store.dueForExpiry(CUTOFF, 10)).map((r) => r.digest)).toEqual([keyOf(2).digest]);
    expect((await store.dueForExpiry(fromCutoff(1), 10)).map((r) => r.digest)).toEqual([
      keyOf(2).digest,
      keyOf(1).digest,
    ]);
    expect(await rawItem(store, verdictPk(keyOf(1)), 'LATEST')).toMatchObject({
      qdue: fromCutoff(1),
      quarantinedAt: fromCutoff(-2 * DAY),
    });
  });

  it('does not defer when a newer verdict was written since, nor an image out of the quarantine', async () => {
    // Prepare
    const store = await verdictStore();
    const stale = quarantined(1, fromCutoff(-2 * DAY));
    await store.put(stale);
    const newer = { ...stale, at: fromCutoff(-DAY / 2), eventId: 'newer' };
    await store.put(newer);
    const passed = {
      ...record(fromCutoff(-DAY), { verdict: 'PASS' as const, quarantineTag: undefined }),
      ...keyOf(2),
    };
    await store.put(passed);

    // Act
    await store.defer(keyOf(1) as VerdictRecord, stale.at, fromCutoff(1));
    await store.defer(keyOf(2) as VerdictRecord, passed.at, fromCutoff(1));

    // Assess
    expect((await store.dueForExpiry(CUTOFF, 10)).map((r) => r.digest)).toEqual([keyOf(1).digest]);
    expect(await rawItem(store, verdictPk(keyOf(2)), 'LATEST')).not.toHaveProperty('qdue');
  });

  it('asks DynamoDB nothing for a limit of 0', async () => {
    // Prepare
    const { store, limits } = pagedStore(await verdictStore(), 10);

    // Act
    const due = await store.dueForExpiry(CUTOFF, 0);

    // Assess
    expect(due).toEqual([]);
    expect(limits).toEqual([]);
  });
});
