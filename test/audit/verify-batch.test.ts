/**
 * The audit function's burst path (functions/audit/core.ts, processCandidateBatch) asks ECR whether the images of
 * its DELETE events still exist at the same time, at most VERIFY_CONCURRENCY at once, and once per image however
 * many events of the batch name it; nothing is written before every answer is in, and the outcomes are those of
 * asking one by one.
 */
import { describe, expect, it } from 'vitest';
import { processCandidateBatch, VERIFY_CONCURRENCY } from '../../functions/audit/core.js';
import type { AuditRecord, DeleteSignal } from '../../functions/shared/audit/records.js';
import { recordKey } from '../../functions/shared/audit/store.js';
import { candidatesOf, digestOf, imageActionEvent, REPO } from './helpers.js';

/** A store that records what it is asked to write and answers as a fresh table would. */
function writingStore(log: string[]) {
  return {
    async recordAll(signals: readonly DeleteSignal[]) {
      log.push(`write ${signals.map((s) => s.digest.slice(7, 15)).join(',')}`);
      return signals.map((s) => ({
        record: { ...s, pk: `IMG#${s.digest}` } as unknown as AuditRecord,
        newlyDeleted: true,
      }));
    },
  };
}

describe('processCandidateBatch: verification reads', () => {
  it('asks about the images at the same time, at most VERIFY_CONCURRENCY at once, each once, and writes after every answer', async () => {
    // 25 images deleted (gone), one with two events (tag events of one image), and 3 whose tag only went.
    const gone = Array.from({ length: 25 }, (_, i) => digestOf(`gone-${i}`));
    const kept = Array.from({ length: 3 }, (_, i) => digestOf(`kept-${i}`));
    const events = [...gone, gone[0]!, ...kept].map((digest, i) =>
      candidatesOf(imageActionEvent({ id: `e-${i}`, digest, tag: `t${i}` })),
    );
    const log: string[] = [];
    let inFlight = 0;
    let most = 0;
    const asked: string[] = [];
    const outcomes = await processCandidateBatch(
      events,
      {
        imageExists: async (repository, digest) => {
          asked.push(`${repository}@${digest}`);
          inFlight++;
          most = Math.max(most, inFlight);
          await new Promise((resolve) => setTimeout(resolve, 5));
          inFlight--;
          log.push('answer');
          return kept.includes(digest);
        },
      },
      writingStore(log),
      new Map(),
      recordKey,
      () => {},
    );
    expect(most).toBe(VERIFY_CONCURRENCY);
    expect(asked.sort()).toEqual([...gone, ...kept].map((d) => `${REPO}@${d}`).sort());
    // Every answer before the first write.
    expect(log.indexOf('answer')).toBe(0);
    expect(log.lastIndexOf('answer')).toBe(gone.length + kept.length - 1);
    expect(log.slice(gone.length + kept.length)[0]).toMatch(/^write /);
    // The image named twice is written twice (two rounds), the kept ones never: the outcomes of one by one.
    expect(outcomes.map((o) => [o.recorded, o.tagOnly])).toEqual([
      ...gone.map(() => [1, 0]),
      [1, 0],
      ...kept.map(() => [0, 1]),
    ]);
  });

  it('does not ask about an image whose record is already DELETED (the worker settled it)', async () => {
    const settled = digestOf('settled');
    const other = digestOf('other');
    const events = [settled, other].map((digest, i) =>
      candidatesOf(imageActionEvent({ id: `e-${i}`, digest })),
    );
    const known = new Map<string, AuditRecord | undefined>();
    const signal = events[0]![0]!.signal;
    known.set(recordKey(signal), { ...signal, status: 'DELETED' } as unknown as AuditRecord);
    const asked: string[] = [];
    await processCandidateBatch(
      events,
      {
        imageExists: async (_repository, digest) => {
          asked.push(digest);
          return false;
        },
      },
      writingStore([]),
      known,
      recordKey,
      () => {},
    );
    expect(asked).toEqual([other]);
  });

  it('writes nothing when a verification read fails, and gives its error', async () => {
    const events = Array.from({ length: 4 }, (_, i) =>
      candidatesOf(imageActionEvent({ id: `e-${i}`, digest: digestOf(`d-${i}`) })),
    );
    const log: string[] = [];
    await expect(
      processCandidateBatch(
        events,
        {
          imageExists: async (_repository, digest) => {
            if (digest === digestOf('d-2')) throw new Error('ThrottlingException: rate exceeded');
            return false;
          },
        },
        writingStore(log),
        new Map(),
        recordKey,
        () => {},
      ),
    ).rejects.toThrow('ThrottlingException: rate exceeded');
    expect(log).toEqual([]);
  });
});
