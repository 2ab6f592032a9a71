/**
 * Delete-rate counters (functions/shared/state/counters.ts) on dynalite: the count is exact and a window keeps
 * its first 25 deletions as samples, whatever mix of `add` and `addMany` counted them; a window with room for a
 * batch's samples costs one UpdateItem (the ADD and the samples together), as does a window already full, and
 * only the batch that fills a window part-way pays more.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CountedDelete, type CounterKey, RateCounters } from '../../functions/shared/state/counters.js';
import { type Dynamo, journaled, startDynamo } from '../support/dynamo.js';

const MAX_SAMPLES = 25;

let db: Dynamo;
beforeAll(async () => {
  db = await startDynamo();
});
afterAll(async () => {
  await db.close();
});

let windows = 0;
const freshKey = (): CounterKey => ({
  scope: 'repository:team/app',
  window: '5m',
  start: new Date(Date.UTC(2026, 11, 6, 0, 5 * ++windows)).toISOString(),
});
const sample = (i: number): CountedDelete => ({
  repository: 'team/app',
  digest: `sha256:${String(i).padStart(64, '0')}`,
  actor: 'steward',
  rulePriority: 1,
});

/** A RateCounters whose DynamoDB calls are noted by command name (`!<error>` when refused). */
function journaledCounters(): { counters: RateCounters; calls: string[] } {
  const { doc, calls } = journaled(db.client);
  return { counters: new RateCounters(doc, db.tables.state), calls };
}

type Step = { kind: 'add'; n: number } | { kind: 'addMany'; k: number };

describe('RateCounters', () => {
  it('counts exactly and keeps the first 25 deletions of a window as samples, for any mix of add and addMany', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant('add' as const), n: fc.integer({ min: 1, max: 30 }) }),
            fc.record({ kind: fc.constant('addMany' as const), k: fc.integer({ min: 0, max: 40 }) }),
          ),
          { minLength: 1, maxLength: 8 },
        ),
        async (steps: Step[]) => {
          const key = freshKey();
          const counters = new RateCounters(db.doc, db.tables.state);
          // The model: the behaviour before the ADD and the samples went out together.
          let count = 0;
          const kept: CountedDelete[] = [];
          let next = 0;
          for (const step of steps) {
            if (step.kind === 'add') {
              const s = sample(next++);
              count += step.n;
              if (count <= MAX_SAMPLES) kept.push(s);
              expect(await counters.add(key, step.n, s)).toBe(count);
            } else {
              const batch = Array.from({ length: step.k }, () => sample(next++));
              count += step.k;
              const room = MAX_SAMPLES - (count - step.k);
              if (room > 0) kept.push(...batch.slice(0, room));
              expect(await counters.addMany(key, batch)).toBe(count);
            }
          }
          const stored = await counters.get(key);
          expect(stored?.count ?? 0).toBe(count);
          expect(stored?.samples ?? []).toEqual(kept);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('adds a batch with room for its samples in one UpdateItem, and a batch to a full window in one UpdateItem', async () => {
    const key = freshKey();
    const { counters, calls } = journaledCounters();
    const batch = (from: number, k: number) => Array.from({ length: k }, (_, i) => sample(from + i));
    expect(await counters.addMany(key, batch(0, 10))).toBe(10);
    expect(calls.splice(0)).toEqual(['UpdateCommand']);
    expect(await counters.add(key, 1, sample(10))).toBe(11);
    expect(calls.splice(0)).toEqual(['UpdateCommand']);
    // 20 more: 14 fit. The conditional update is refused, then the ADD and the 14 samples go separately.
    expect(await counters.addMany(key, batch(11, 20))).toBe(31);
    expect(calls.splice(0)).toEqual([
      'UpdateCommand!ConditionalCheckFailedException',
      'UpdateCommand',
      'UpdateCommand',
    ]);
    // The window is full, and known to be: the ADD alone.
    expect(await counters.addMany(key, batch(31, 5))).toBe(36);
    expect(await counters.add(key, 1, sample(36))).toBe(37);
    expect(calls.splice(0)).toEqual(['UpdateCommand', 'UpdateCommand']);
    expect((await counters.get(key))?.samples).toEqual(batch(0, 25));
  });

  it('knows a full window in every later invocation of the execution environment (each builds its own RateCounters)', async () => {
    const key = freshKey();
    // An earlier invocation filled the window.
    await new RateCounters(db.doc, db.tables.state).addMany(
      key,
      Array.from({ length: 30 }, (_, i) => sample(i)),
    );
    const perInvocation: string[][] = [];
    for (let invocation = 0; invocation < 3; invocation++) {
      const { counters, calls } = journaledCounters();
      await counters.addMany(
        key,
        Array.from({ length: 4 }, (_, i) => sample(100 + invocation * 4 + i)),
      );
      perInvocation.push(calls);
    }
    expect(perInvocation).toEqual([['UpdateCommand'], ['UpdateCommand'], ['UpdateCommand']]);
    expect((await new RateCounters(db.doc, db.tables.state).get(key))?.count).toBe(42);
  });

  it('keeps a sample landing on the 25th deletion and not one landing on the 26th, through add and addMany', async () => {
    const batch = (from: number, k: number) => Array.from({ length: k }, (_, i) => sample(from + i));
    const counters = new RateCounters(db.doc, db.tables.state);
    const onAdd = async (n: number) => {
      const key = freshKey();
      await counters.addMany(key, batch(0, 10));
      expect(await counters.add(key, n, sample(99))).toBe(10 + n);
      return (await counters.get(key))?.samples;
    };
    expect(await onAdd(15)).toEqual([...batch(0, 10), sample(99)]);
    expect(await onAdd(16)).toEqual(batch(0, 10));
    const onAddMany = async (k: number) => {
      const key = freshKey();
      await counters.addMany(key, batch(0, 10));
      expect(await counters.addMany(key, batch(10, k))).toBe(10 + k);
      return (await counters.get(key))?.samples;
    };
    expect(await onAddMany(15)).toEqual(batch(0, 25));
    expect(await onAddMany(16)).toEqual(batch(0, 25));
  });

  it('keeps the count exact and at most 25 samples when two execution environments count one window at once', async () => {
    const key = freshKey();
    const a = new RateCounters(db.doc, db.tables.state);
    const b = new RateCounters(db.doc, db.tables.state);
    const batches = Array.from({ length: 12 }, (_, j) =>
      Array.from({ length: 4 }, (_, i) => sample(j * 4 + i)),
    );
    await Promise.all(batches.map((batch, j) => (j % 2 === 0 ? a : b).addMany(key, batch)));
    const stored = await a.get(key);
    expect(stored?.count).toBe(48);
    expect(stored?.samples).toHaveLength(MAX_SAMPLES);
    expect(new Set(stored?.samples.map((s) => s.digest)).size).toBe(MAX_SAMPLES);
  });
});
