/**
 * The images the repositories one worker invocation cleans at once hold in memory are bounded: each repository
 * is admitted by its listed images (WeightedGate) before it is planned, and released when its cleanup ends,
 * however it ends.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cleanupRepository } from '../../functions/cleanup/core.js';
import { WeightedGate } from '../../functions/shared/runtime/concurrency.js';
import { image, NOW } from '../fixtures/images.js';
import { config, harness, request } from './fakes.js';

const numbered = (n: number) => Array.from({ length: n }, (_, i) => image(`img-${i + 1}`, { age: i + 1 }));

describe('WeightedGate', () => {
  it('admits work while its weights fit, then first come first served, and a weight over the capacity alone', async () => {
    // Prepare
    const gate = new WeightedGate(10);
    const order: string[] = [];
    const admit = async (name: string, weight: number) => {
      const release = await gate.acquire(weight);
      order.push(name);
      return release;
    };

    // Act
    const a = await admit('a', 6);
    const b = await admit('b', 4);
    const c = admit('c', 3); // waits: 10 in flight
    const d = admit('d', 1); // waits behind c, though it would fit once a goes
    const e = admit('e', 50); // counts as 10: alone
    await Promise.resolve();
    const waitingBefore = [...order];
    a();
    a(); // a second release changes nothing
    const releaseC = await c;
    const releaseD = await d;
    const inFlightWithCAndD = gate.admitted;
    b();
    releaseC();
    releaseD();
    const releaseE = await e;

    // Assess
    expect(waitingBefore).toEqual(['a', 'b']);
    expect(inFlightWithCAndD).toBe(8);
    expect(order).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(gate.admitted).toBe(10);
    releaseE();
    expect(gate.admitted).toBe(0);
  });

  it('never admits more than its capacity, and admits every request once all are released (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.record({ weight: fc.integer({ min: 0, max: 30 }), hold: fc.nat(3) }), { maxLength: 25 }),
        async (capacity, works) => {
          const gate = new WeightedGate(capacity);
          let peak = 0;
          await Promise.all(
            works.map(async ({ weight, hold }) => {
              const release = await gate.acquire(weight);
              peak = Math.max(peak, gate.admitted);
              for (let i = 0; i < hold; i++) await Promise.resolve();
              release();
            }),
          );
          expect(peak).toBeLessThanOrEqual(capacity);
          expect(gate.admitted).toBe(0);
        },
      ),
    );
  });

  it('refuses a capacity below one', () => {
    expect(() => new WeightedGate(0)).toThrow('WeightedGate: capacity must be at least 1, got 0');
  });
});

describe('cleanupRepository admission', () => {
  it('is admitted by its listed images before it plans, and released when it ends', async () => {
    // Prepare
    const h = harness();
    h.registry.add('team/app', { images: numbered(3) });
    const asked: number[] = [];
    let released = 0;
    const ports = {
      ...h.ports(),
      admit: async (images: number) => {
        asked.push(images);
        h.journal.push(`admit:${images}`);
        return () => {
          released++;
        };
      },
    };

    // Act
    const report = await cleanupRepository(config(), request(), ports);

    // Assess
    expect(report.outcome).toBe('done');
    expect(asked).toEqual([3]);
    expect(released).toBe(1);
    const at = (entry: string) => h.journal.indexOf(entry);
    expect(at('admit:3')).toBeGreaterThan(at('registry:listImages:team/app'));
    expect(at('admit:3')).toBeLessThan(at('breaker:firstOpen'));
  });

  it('is released when its cleanup throws', async () => {
    // Prepare: the breaker cannot be read (the cleanup throws: its group is retried)
    const h = harness();
    h.registry.add('team/app', { images: numbered(3) });
    h.breaker.firstOpen = async () => {
      throw new Error('breaker state unreadable');
    };
    let released = 0;
    const ports = {
      ...h.ports(),
      admit: async () => () => {
        released++;
      },
    };

    // Act
    const outcome = await cleanupRepository(config(), request(), ports).then(
      () => 'returned',
      (e: Error) => e.message,
    );

    // Assess
    expect(outcome).toBe('breaker state unreadable');
    expect(released).toBe(1);
  });

  it('is not asked for when the cleanup stops before listing', async () => {
    // Prepare: a repository no selection manages
    const h = harness();
    let asked = 0;
    const ports = {
      ...h.ports(),
      admit: async () => {
        asked++;
        return () => undefined;
      },
    };

    // Act
    const report = await cleanupRepository(config(), request({ repository: 'other/app' }), ports);

    // Assess
    expect(report.outcome).toBe('not-managed');
    expect(asked).toBe(0);
  });
});

describe('the repository bound across a run', () => {
  /**
   * Five active images, the newest kept (four expire), and two archived images whose purge is due; the repository
   * may lose three images in a run.
   */
  function repositoryWithDuePurges() {
    const h = harness();
    const archived = [
      image('old-a', { age: 90, status: 'ARCHIVED' }),
      image('old-b', { age: 91, status: 'ARCHIVED' }),
    ];
    h.registry.add('team/app', { images: [...numbered(5), ...archived] });
    const due = new Date(NOW.getTime() - 86_400_000).toISOString();
    const ports = {
      ...h.ports(),
      audit: Object.assign(h.audit, {
        open: async () =>
          archived.map((i) => ({
            digest: i.digest,
            status: 'ARCHIVED' as const,
            tags: [],
            archivedAt: '2026-01-01T00:00:00.000Z',
            purgeAt: due,
            actor: { rulePriority: 1 },
          })),
      }),
    };
    const run = () =>
      cleanupRepository(
        config({ bounds: { maxDeletesPerRun: 1000, maxDeletesPerRepository: 3 } }),
        request(),
        ports,
      );
    return { h, archived, run };
  }

  it("bounds a repository's lifecycle deletion and purge together by maxDeletesPerRepository", async () => {
    // Prepare
    const { h, archived, run } = repositoryWithDuePurges();

    // Act
    const report = await run();

    // Assess: three images in all, the lifecycle's first; the fourth and the purge wait for the next run, and the
    // report says so.
    expect(h.registry.deleteCalls.flat()).toHaveLength(3);
    expect(h.registry.deleteCalls.flat()).not.toContain(archived[0]!.digest);
    expect(h.registry.deleteCalls.flat()).not.toContain(archived[1]!.digest);
    expect(report).toMatchObject({ expired: 3, purged: 0, deferred: 3 });
    expect(report.warnings).toEqual(
      expect.arrayContaining([
        '1 planned deletions exceed the bounds and wait for the next run',
        '2 due purges exceed the bounds and wait for the next run',
      ]),
    );
  });

  it('gives back to the repository bound what the lifecycle deletion did not delete, for the purge to use', async () => {
    // Prepare: as above, but ECR refuses the lifecycle's deletes (its whole allowance unspent) and takes the purge's.
    const { h, archived, run } = repositoryWithDuePurges();
    const archivedIds = new Set(archived.map((i) => i.digest));
    h.registry.onDelete = (digests) => ({
      deleted: digests.filter((d) => archivedIds.has(d)),
      failures: digests
        .filter((d) => !archivedIds.has(d))
        .map((digest) => ({ digest, code: 'InvalidParameterException', reason: 'refused' })),
    });

    // Act
    const report = await run();

    // Assess: the lifecycle tried three and deleted none; the purge still had its two.
    expect(report).toMatchObject({ expired: 0, purged: 2 });
  });
});
