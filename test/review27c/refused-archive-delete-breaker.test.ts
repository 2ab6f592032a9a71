/**
 * Review 27c, finding 4, fixed: soft delete with `unarchivable: delete`. Review 27a's finding 3 was fixed for a breaker that stops the
 * archives (run.ts:561-579): the refused images' PENDING write-ahead records (intent archive) are settled FAILED
 * (BreakerOpen). When the archives all go out and the breaker opens before the delete-instead (safeDelete's read
 * of its first batch: the archive ran, so `breakerCheckedAt` is undefined), safeDelete returns before any write:
 * the refused image's write-ahead stays PENDING (intent archive).
 */
import { describe, expect, it } from 'vitest';
import { NOW } from '../fixtures/images.js';
import { governed, refuseFirstArchive } from '../review27a/support.js';

describe('review 27c: an image ECR refused to archive, when the breaker stops its delete instead', () => {
  it('leaves no write-ahead record PENDING', async () => {
    // Prepare: five images, three expire (one archive batch); ECR refuses the first; the breaker is closed at the
    // run's read and open at the next (the read before the delete-instead batch)
    const g = governed({ softDelete: { mode: 'archive', unarchivable: 'delete' } }, 5);
    const refused = refuseFirstArchive(g);
    g.h.breaker.openFrom = 2;

    // Act
    const report = await g.run(NOW);

    // Assess: two archived, the refused one not deleted (breaker), and not left PENDING either
    expect(report).toMatchObject({ outcome: 'breaker-open', archived: 2, deferred: 1 });
    expect(g.h.registry.deleteCalls).toEqual([]);
    expect(g.audit.state(refused()!)?.status).not.toBe('PENDING');
  });
});
