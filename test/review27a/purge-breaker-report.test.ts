/**
 * Review 27a, finding 6, fixed: the cleanup core (functions/cleanup/core.ts) turns an open breaker into the
 * `breaker-open` outcome, and counts what it kept as deferred, only for the lifecycle deletion (core.ts:527-544).
 * When the breaker stops the requested removals (core.ts:577 only breaks) or the purge (core.ts:592-623), the
 * report says `done`, the images the breaker kept are not in `deferred` (defer() counts bounds and notAttempted
 * only), and the worker's DeletesBlockedByBreaker metric is not emitted. Nothing is deleted wrongly: reporting.
 */
import { describe, expect, it } from 'vitest';
import { DAY_MS, NOW } from '../fixtures/images.js';
import { governed } from './support.js';

describe('review 27a: a breaker that stops the purge', () => {
  it('reports breaker-open and counts the purges it held back as deferred', async () => {
    // Prepare: three images archived at NOW; their restore window ends 30 days later
    const g = governed({ softDelete: { mode: 'archive', purgeAfterDays: 30 } });
    const archived = await g.run(NOW);
    expect(archived).toMatchObject({ archived: 3 });
    // The breaker is open from the next read on
    g.h.breaker.openFrom = g.h.breaker.reads + 1;

    // Act
    const report = await g.run(new Date(NOW.getTime() + 30 * DAY_MS + 1000));

    // Assess: nothing purged (the breaker is open)
    expect(g.h.registry.deleteCalls).toEqual([]);
    expect(report.purged).toBe(0);
    expect.soft(report.outcome).toBe('breaker-open');
    expect.soft(report.deferred).toBe(3);
  });
});
