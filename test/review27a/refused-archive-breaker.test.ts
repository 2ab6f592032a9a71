/**
 * Review 27a, finding 3, fixed: soft delete with `unarchivable: delete`. An image ECR refuses to archive gets no settle
 * from safeArchive (its PENDING write-ahead, intent archive, stays: safe-delete.ts:284-287); runDeletion then
 * deletes it or ends it CANCELLED (run.ts:526-540). When the breaker stops a later archive batch, runDeletion
 * returns at run.ts:541 after queueing the refused images for deletion: they are neither deleted nor settled nor
 * counted (not in `notAttempted`, so not in the report's `deferred`), and their write-ahead records stay PENDING
 * until a later run's reconciliation settles them FAILED ("the run stopped after its write-ahead record").
 */
import { describe, expect, it } from 'vitest';
import { NOW } from '../fixtures/images.js';
import { governed, refuseFirstArchive } from './support.js';

describe('review 27a: an image ECR refused to archive, when the breaker stops the next archive batch', () => {
  it('leaves no write-ahead record PENDING and counts the refused image as deferred', async () => {
    // Prepare: 104 images, 102 expire: two archive batches (100 + 2). ECR refuses the first image of the first
    // batch; the breaker opens before the second batch.
    const g = governed({ softDelete: { mode: 'archive', unarchivable: 'delete' } }, 104);
    const refused = refuseFirstArchive(g);
    g.h.breaker.openFrom = 2;

    // Act
    const report = await g.run(NOW);

    // Assess: 99 archived, 2 never attempted (breaker); the refused one neither deleted nor archived
    expect(report).toMatchObject({ outcome: 'breaker-open', archived: 99 });
    expect(g.h.registry.deleteCalls).toEqual([]);
    expect.soft(g.audit.state(refused()!)?.status).not.toBe('PENDING');
    expect.soft(report.deferred).toBe(3);
  });
});
