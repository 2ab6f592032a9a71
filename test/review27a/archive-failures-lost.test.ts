/**
 * Review 27a, finding 2, fixed: runDeletion (functions/shared/deletion/run.ts:571-577) builds its result as
 * `{ ...result, ...deleted, ... }`: the SafeDeleteResult's `failures` replaces the archive's. With soft delete and
 * `unarchivable: delete`, a run in which ECR refuses to archive one image (deleted instead) and fails to archive
 * another (access denied) reports the delete's failures only: the archive failure is missing from the cleanup
 * report (its FAILED audit record is written; the report, the logs and the metrics lose it).
 */
import { describe, expect, it } from 'vitest';
import { ARCHIVE_REFUSED } from '../../functions/shared/deletion/safe-delete.js';
import { digestOf, NOW } from '../fixtures/images.js';
import { governed } from './support.js';

describe('review 27a: archive failures in a run that also deletes refused images', () => {
  it('reports the archive failure next to the deletion of an image ECR would not archive', async () => {
    // Prepare: img-2 is refused (deleted instead), img-3 fails (access denied), img-4 is archived
    const g = governed({ softDelete: { mode: 'archive', unarchivable: 'delete' } });
    g.h.registry.onArchive = () => ({
      deleted: [digestOf('img-4')],
      failures: [
        { digest: digestOf('img-2'), code: ARCHIVE_REFUSED, reason: 'child of an index' },
        { digest: digestOf('img-3'), code: 'AccessDeniedException', reason: 'not authorized' },
      ],
    });

    // Act
    const report = await g.run(NOW);

    // Assess
    expect(g.h.registry.deleteCalls).toEqual([[digestOf('img-2')]]);
    expect(g.audit.state(digestOf('img-3'))?.status).toBe('FAILED');
    expect(report.failures).toEqual([
      { digest: digestOf('img-3'), code: 'AccessDeniedException', reason: 'not authorized' },
    ]);
  });
});
