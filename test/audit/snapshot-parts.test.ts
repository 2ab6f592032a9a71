/**
 * SnapshotStore's layout for small repositories (functions/shared/audit/reconcile.ts): up to 1,000 images (and
 * 250 KB) the snapshot is META itself, read in one call and written in one (on every save, as the parts' META
 * is). Larger snapshots keep 256 parts (reconcile.test.ts).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type SnapshotEntry, SnapshotStore } from '../../functions/shared/audit/reconcile.js';
import { type Dynamo, startDynamo, type Tables } from '../support/dynamo.js';
import { ACCOUNT, digestOf, REGION, REPO } from './helpers.js';

let db: Dynamo;
let tables: Tables;
beforeAll(async () => {
  db = await startDynamo();
});
afterAll(async () => {
  await db.close();
});
beforeEach(async () => {
  tables = await db.createTables('snapshot-parts');
});

const ref = { registryId: ACCOUNT, region: REGION, repository: REPO };
const entries = (n: number, tag = 'v'): SnapshotEntry[] =>
  Array.from({ length: n }, (_, i) => ({
    digest: digestOf(`snap-${i}`),
    tags: [`${tag}${i}`],
    pushedAt: 1_780_000_000_000 + i,
    sizeBytes: 1000 + i,
  })).sort((a, b) => (a.digest < b.digest ? -1 : 1));

/** A store whose document client journals the commands it sends, with the sort key of each put. */
function journaled(): { store: SnapshotStore; calls: string[] } {
  const calls: string[] = [];
  const doc = db.doc;
  const send = doc.send.bind(doc);
  const proxy = new Proxy(doc, {
    get(target, prop, receiver) {
      if (prop === 'send')
        return (command: { constructor: { name: string }; input: { Item?: { sk?: string } } }) => {
          calls.push(`${command.constructor.name}${command.input.Item ? ` ${command.input.Item.sk}` : ''}`);
          return (send as (c: unknown) => unknown)(command);
        };
      return Reflect.get(target, prop, receiver);
    },
  });
  return { store: new SnapshotStore(proxy, tables.state), calls };
}

describe('SnapshotStore, small repositories', () => {
  it('keeps 200 images in META, read in one call and written in one', async () => {
    // Prepare: a first run finds no snapshot, then saves one
    const { store, calls } = journaled();
    await store.load(ref);
    await store.save(ref, { at: '2026-06-01T00:00:00.000Z', entries: entries(200) });
    const first = calls.splice(0);

    // Act: the next run loads and saves the same images; the one after loads, then saves one image retagged
    const loaded = await store.load(ref);
    await store.save(ref, { at: '2026-06-02T00:00:00.000Z', entries: entries(200) });
    const unchanged = calls.splice(0);
    const next = new SnapshotStore(db.doc, tables.state);
    await next.load(ref);
    const changed = entries(200).map((e, i) => (i === 0 ? { ...e, tags: ['retagged'] } : e));
    await next.save(ref, { at: '2026-06-03T00:00:00.000Z', entries: changed });

    // Assess
    expect(first).toEqual(['BatchGetCommand', 'PutCommand META']);
    expect(loaded).toEqual({ at: '2026-06-01T00:00:00.000Z', entries: entries(200) });
    expect(unchanged).toEqual(['BatchGetCommand', 'PutCommand META']);
    expect((await new SnapshotStore(db.doc, tables.state).load(ref))?.entries).toEqual(changed);
  });

  it('loads a snapshot a previous run split into 256 parts and replaces it with one kept in META', async () => {
    // Prepare: 2,000 images are written in parts; the repository then shrinks to 300
    const { store } = journaled();
    await store.save(ref, { at: '2026-06-01T00:00:00.000Z', entries: entries(2_000) });

    // Act
    const fresh = new SnapshotStore(db.doc, tables.state);
    const before = await fresh.load(ref);
    await fresh.save(ref, { at: '2026-06-02T00:00:00.000Z', entries: entries(300) });
    const after = await new SnapshotStore(db.doc, tables.state).load(ref);

    // Assess
    expect(before?.entries).toHaveLength(2_000);
    expect(after?.entries).toEqual(entries(300));
    const meta = (await db.scan(tables.state)).find((i) => i.sk === 'META');
    expect(meta).toMatchObject({ parts: {}, count: 300 });
    expect(meta?.entries).toHaveLength(300);
  });
});
