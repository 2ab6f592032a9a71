/**
 * The holds table and the audit trail of holds, against a real DynamoDB API (dynalite): what an add and a
 * remove write, what a destructive run reads, and that a read failure is thrown, never read as "no holds".
 */
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdEventItem, holdEvents, recordHoldEvent } from '../../functions/shared/holds/audit.js';
import {
  HOLD_ID,
  HoldsStore,
  newHoldId,
  parseStoredHold,
  type StoredHold,
  toHold,
} from '../../functions/shared/holds/store.js';
import { createHoldsTable, type Dynamo, startDynamo, type Tables } from '../support/dynamo.js';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const REPO = 'services/orders';
const SCOPE = { registryId: ACCOUNT, region: REGION, repository: REPO };
const ALICE = 'arn:aws:iam::123456789012:user/alice';
const BOB = 'arn:aws:iam::123456789012:user/bob';
const NOW = new Date('2026-06-01T12:00:00.000Z');
const DIGEST = `sha256:${'a'.repeat(64)}`;

let db: Dynamo;
let counter = 0;

beforeAll(async () => {
  db = await startDynamo();
}, 30_000);

afterAll(async () => {
  await db?.close();
});

/** A fresh holds table and audit table for one test. */
async function fresh(): Promise<{ store: HoldsStore; holds: string; tables: Tables }> {
  counter++;
  const holds = `holds-${counter}`;
  await createHoldsTable(db.client, holds);
  const tables = await db.createTables(`holds${counter}`);
  return { store: new HoldsStore(db.doc, holds, tables.audit), holds, tables };
}

/** A deterministic "random" source: each call returns the next byte pattern. */
function sequence(...patterns: number[]): (n: number) => Uint8Array {
  let i = 0;
  return (n) => new Uint8Array(n).fill(patterns[Math.min(i++, patterns.length - 1)] ?? 0);
}

describe('newHoldId', () => {
  it('builds a sortable id from the UTC second and six base32 characters when given random bytes', () => {
    // Prepare
    const random = () => Uint8Array.from([0, 1, 10, 31, 32, 255]);

    // Act
    const id = newHoldId(NOW, random);

    // Assess
    expect(id).toBe('20260601T120000-01az0z');
    expect(HOLD_ID.test(id)).toBe(true);
  });
});

describe('toHold', () => {
  it('converts a stored hold into the engine hold with the principal as owner when it has a tag and an expiry', () => {
    // Prepare
    const stored: StoredHold = {
      id: '20260601T120000-abcdef',
      ...SCOPE,
      tag: 'v1',
      reason: 'rollback target',
      principal: ALICE,
      createdAt: NOW.toISOString(),
      expiresAt: '2026-06-08T12:00:00.000Z',
    };

    // Act
    const hold = toHold(stored);

    // Assess
    expect(hold).toEqual({
      tag: 'v1',
      reason: 'rollback target',
      owner: ALICE,
      expiresAt: '2026-06-08T12:00:00.000Z',
    });
  });

  it('leaves digest and tag out when the hold covers the whole repository', () => {
    // Prepare
    const stored: StoredHold = {
      id: '20260601T120000-abcdef',
      ...SCOPE,
      reason: 'incident 42',
      principal: ALICE,
      createdAt: NOW.toISOString(),
    };

    // Act
    const hold = toHold(stored);

    // Assess
    expect(hold).toEqual({ reason: 'incident 42', owner: ALICE });
  });
});

describe('parseStoredHold', () => {
  it('throws when an item names both a digest and a tag', () => {
    // Prepare
    const item = {
      pk: 'REPO#x',
      sk: 'HOLD#1',
      id: '1',
      ...SCOPE,
      digest: DIGEST,
      tag: 'v1',
      reason: 'r',
      principal: ALICE,
      createdAt: NOW.toISOString(),
    };

    // Act
    const parse = () => parseStoredHold(item);

    // Assess
    expect(parse).toThrow('holds table: malformed hold item "REPO#x" "HOLD#1"');
  });
});

describe('HoldsStore', () => {
  it('writes the hold, its locator and an add event in the audit table when a hold is added', async () => {
    // Prepare
    const { store, holds, tables } = await fresh();

    // Act
    const added = await store.add(
      {
        ...SCOPE,
        digest: DIGEST,
        reason: 'audit 2026-Q2',
        principal: ALICE,
        expiresAt: '2026-06-08T12:00:00.000Z',
      },
      NOW,
    );

    // Assess
    expect(added).toEqual({
      id: expect.stringMatching(/^20260601T120000-[0-9a-z]{6}$/),
      ...SCOPE,
      digest: DIGEST,
      reason: 'audit 2026-Q2',
      principal: ALICE,
      createdAt: '2026-06-01T12:00:00.000Z',
      expiresAt: '2026-06-08T12:00:00.000Z',
    });
    const ttl = Date.parse('2026-06-08T12:00:00.000Z') / 1000 + 30 * 86_400;
    const items = await db.scan(holds);
    expect(items).toHaveLength(2);
    expect(items).toEqual(
      expect.arrayContaining([
        { pk: `REPO#${ACCOUNT}#${REGION}#${REPO}`, sk: `HOLD#${added.id}`, ...added, ttl },
        { pk: `HOLDID#${added.id}`, sk: 'HOLDID', ...added, ttl },
      ]),
    );
    expect(await db.scan(tables.audit)).toEqual([
      {
        pk: `HOLD#${added.id}`,
        sk: `EVENT#2026-06-01T12:00:00.000Z#add`,
        kind: 'hold',
        action: 'add',
        id: added.id,
        ...SCOPE,
        digest: DIGEST,
        reason: 'audit 2026-Q2',
        heldBy: ALICE,
        createdAt: '2026-06-01T12:00:00.000Z',
        expiresAt: '2026-06-08T12:00:00.000Z',
        principal: ALICE,
        at: '2026-06-01T12:00:00.000Z',
      },
    ]);
  });

  it('draws another id when the first one is taken', async () => {
    // Prepare
    const { holds, tables } = await fresh();
    const store = new HoldsStore(db.doc, holds, tables.audit, sequence(1, 1, 2));
    const first = await store.add({ ...SCOPE, reason: 'one', principal: ALICE }, NOW);

    // Act
    const second = await store.add({ ...SCOPE, reason: 'two', principal: ALICE }, NOW);

    // Assess
    expect(first.id).toBe('20260601T120000-111111');
    expect(second.id).toBe('20260601T120000-222222');
    expect((await store.forRepository(SCOPE)).map((h) => h.reason)).toEqual(['one', 'two']);
  });

  it('refuses to change holds when it has no audit table', async () => {
    // Prepare
    const { holds } = await fresh();
    const store = new HoldsStore(db.doc, holds);

    // Act
    const add = store.add({ ...SCOPE, reason: 'x', principal: ALICE }, NOW);

    // Assess
    await expect(add).rejects.toThrow('holds are only changed with an audit record');
    expect(await db.scan(holds)).toEqual([]);
  });

  it('refuses a hold that names both a digest and a tag, or ends before it starts', async () => {
    // Prepare
    const { store, holds } = await fresh();

    // Act
    const both = store.add({ ...SCOPE, digest: DIGEST, tag: 'v1', reason: 'x', principal: ALICE }, NOW);
    const past = store.add({ ...SCOPE, reason: 'x', principal: ALICE, expiresAt: NOW.toISOString() }, NOW);

    // Assess
    await expect(both).rejects.toThrow('a hold names a digest or a tag, not both');
    await expect(past).rejects.toThrow("a hold's expiry must be after its creation");
    expect(await db.scan(holds)).toEqual([]);
  });

  it('deletes the hold and its locator and records who removed it when a hold is removed', async () => {
    // Prepare
    const { store, holds, tables } = await fresh();
    const added = await store.add({ ...SCOPE, tag: 'v1', reason: 'rollback target', principal: ALICE }, NOW);
    const later = new Date('2026-06-02T09:30:00.000Z');

    // Act
    const removed = await store.remove(added.id, BOB, later, 'rolled forward');

    // Assess
    expect(removed).toEqual(added);
    expect(await db.scan(holds)).toEqual([]);
    expect(await store.forRepository(SCOPE)).toEqual([]);
    const events = await holdEvents(db.doc, tables.audit, added.id);
    expect(events.map((e) => [e.action, e.principal, e.heldBy, e.at, e.note])).toEqual([
      ['add', ALICE, ALICE, '2026-06-01T12:00:00.000Z', undefined],
      ['remove', BOB, ALICE, '2026-06-02T09:30:00.000Z', 'rolled forward'],
    ]);
  });

  it('returns undefined and writes nothing when no hold has the id', async () => {
    // Prepare
    const { store, tables } = await fresh();

    // Act
    const removed = await store.remove('20260601T120000-zzzzzz', BOB, NOW);

    // Assess
    expect(removed).toBeUndefined();
    expect(await db.scan(tables.audit)).toEqual([]);
  });

  it('clears a locator left without its hold when the id is removed', async () => {
    // Prepare: as a crash after the locator and the add event leaves it, before the hold item is written.
    const { store, holds } = await fresh();
    const added = await store.add({ ...SCOPE, reason: 'half written', principal: ALICE }, NOW);
    await db.doc.send(
      new DeleteCommand({
        TableName: holds,
        Key: { pk: `REPO#${ACCOUNT}#${REGION}#${REPO}`, sk: `HOLD#${added.id}` },
      }),
    );

    // Act
    const removed = await store.remove(added.id, BOB, new Date('2026-06-01T12:02:00.000Z'));

    // Assess
    expect(removed?.id).toBe(added.id);
    expect(await db.scan(holds)).toEqual([]);
  });

  it('reads every hold of one repository, expired ones included, and no other repository', async () => {
    // Prepare
    const { store } = await fresh();
    const a = await store.add({ ...SCOPE, reason: 'whole', principal: ALICE }, NOW);
    const b = await store.add(
      { ...SCOPE, digest: DIGEST, reason: 'short', principal: ALICE, expiresAt: '2026-06-01T13:00:00.000Z' },
      new Date('2026-06-01T12:00:01.000Z'),
    );
    await store.add({ ...SCOPE, repository: 'services/other', reason: 'elsewhere', principal: ALICE }, NOW);

    // Act
    const read = await store.forRepository(SCOPE);

    // Assess
    expect(read).toEqual([a, b]);
  });

  it('reads past the first page when a repository has many holds', async () => {
    // Prepare: items large enough that one Query page (1 MB) cannot hold them all.
    const { store, holds } = await fresh();
    const reason = 'r'.repeat(50_000);
    for (let i = 0; i < 25; i++) {
      const id = `20260601T1200${String(i).padStart(2, '0')}-aaaaaa`;
      await db.doc.send(
        new PutCommand({
          TableName: holds,
          Item: {
            pk: `REPO#${ACCOUNT}#${REGION}#${REPO}`,
            sk: `HOLD#${id}`,
            id,
            ...SCOPE,
            reason,
            principal: ALICE,
            createdAt: NOW.toISOString(),
          },
        }),
      );
    }

    // Act
    const read = await store.forRepository(SCOPE);

    // Assess
    expect(read).toHaveLength(25);
  });

  it('throws when the holds table cannot be read', async () => {
    // Prepare
    const store = new HoldsStore(db.doc, 'no-such-holds-table');

    // Act
    const read = store.forRepository(SCOPE);

    // Assess
    await expect(read).rejects.toThrow(/non-existent table|not found/i);
  });

  it('throws when a stored hold is malformed', async () => {
    // Prepare
    const { store, holds } = await fresh();
    await db.doc.send(
      new PutCommand({
        TableName: holds,
        Item: { pk: `REPO#${ACCOUNT}#${REGION}#${REPO}`, sk: 'HOLD#x', id: 'x', ...SCOPE, principal: ALICE },
      }),
    );

    // Act
    const read = store.forRepository(SCOPE);

    // Assess
    await expect(read).rejects.toThrow('holds table: malformed hold item');
  });

  it('lists the holds of every repository by repository and creation, without the locators', async () => {
    // Prepare
    const { store } = await fresh();
    const z = await store.add({ ...SCOPE, repository: 'zeta', reason: 'z', principal: ALICE }, NOW);
    const a2 = await store.add(
      { ...SCOPE, reason: 'a2', principal: ALICE },
      new Date('2026-06-01T12:00:05.000Z'),
    );
    const a1 = await store.add({ ...SCOPE, reason: 'a1', principal: ALICE }, NOW);

    // Act
    const all = await store.list();

    // Assess
    expect(all).toEqual([a1, a2, z]);
  });
});

describe('recordHoldEvent', () => {
  it('accepts the same event written twice and refuses a different one under the same key', async () => {
    // Prepare
    const { tables } = await fresh();
    const hold: StoredHold = {
      id: '20260601T120000-abcdef',
      ...SCOPE,
      reason: 'r',
      principal: ALICE,
      createdAt: NOW.toISOString(),
    };
    const event = { action: 'remove' as const, hold, principal: BOB, at: NOW.toISOString() };
    await recordHoldEvent(db.doc, tables.audit, event);

    // Act
    const again = await recordHoldEvent(db.doc, tables.audit, event);
    const other = recordHoldEvent(db.doc, tables.audit, { ...event, principal: ALICE });

    // Assess
    expect(again).toEqual(holdEventItem(event));
    await expect(other).rejects.toThrow('a different hold event is already recorded');
    expect(await db.scan(tables.audit)).toHaveLength(1);
  });
});
