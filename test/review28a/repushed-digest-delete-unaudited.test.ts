/**
 * Review 28a — a digest deleted, pushed again and planned for deletion again.
 *
 * What was wrong: one audit record per digest and repository, and DELETED is final (records.ts nextStatus; a
 * settled record keeps its actor and earliest `at`). When a digest ECR Steward deleted was pushed again and
 * planned again, the second write-ahead PENDING merged into the old DELETED record (nothing written), and the
 * delete call was made anyway: a deletion with no audit record of its own, its record still naming run 1.
 *
 * What holds now: nothing is deleted (or archived) that its record does not announce first. An image whose
 * write-ahead finds its record already DELETED is kept and reported as a failure (AuditRecordSettled), every
 * run, so that a person can delete it (that deletion is audited from ECR's event). Deleting it a second time
 * with a record of its own would need one record per deletion rather than per digest: a change of the audit
 * table's model, left for later (README, "What it will never do").
 */
import { describe, expect, it } from 'vitest';
import { ALREADY_RECORDED_DELETED } from '../../functions/shared/deletion/safe-delete.js';
import { digestOf, image, NOW } from '../fixtures/images.js';
import { governed, HOUR, REPO } from '../review27a/support.js';

describe('review 28a: a digest deleted, pushed again and planned again', () => {
  it('is not deleted a second time without a record of its own: kept, and reported', async () => {
    // Prepare: no governance: run 1 deletes img-2..img-4.
    const g = governed(undefined);
    await g.run(NOW, 'run-1');
    const img2 = digestOf('img-2');
    expect(g.audit.state(img2)).toMatchObject({ status: 'DELETED', actor: { runId: 'run-1' } });
    const before = structuredClone(g.audit.state(img2));

    // The same digest is pushed again, then two newer images: the policy expires it again.
    const repo = g.h.registry.repositories.get(REPO)!;
    g.h.registry.add(REPO, {
      ...repo,
      images: [
        ...repo.images,
        image('img-2', { age: -2, tags: ['v2'] }),
        image('img-5', { age: -3, tags: ['v5'] }),
        image('img-6', { age: -4, tags: ['v6'] }),
      ],
    });

    // Act
    const report = await g.run(new Date(NOW.getTime() + 5 * 24 * HOUR), 'run-2');

    // Assess: one delete call for img-2 in all (run 1's); it is still in the registry, reported, its record as it was.
    expect(g.h.registry.deleteCalls.flat().filter((d) => d === img2)).toHaveLength(1);
    expect(g.h.registry.repositories.get(REPO)!.images.map((i) => i.digest)).toContain(img2);
    expect(report.failures).toEqual([
      expect.objectContaining({ digest: img2, code: ALREADY_RECORDED_DELETED }),
    ]);
    expect(g.audit.state(img2)).toEqual(before);
  });
});
