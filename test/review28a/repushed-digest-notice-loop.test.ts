/**
 * Review 28a — a digest deleted once and pushed again can never be governed (or audited) again.
 *
 * What is wrong: the audit table keeps ONE record per digest and repository, and `nextStatus`
 * (functions/shared/audit/records.ts:229) makes DELETED final: "a deletion seen by anyone is final". When the
 * same digest is pushed again (a rollback pushed from a laptop cache, a reproducible build) and planned again,
 * the new notice's SCHEDULED signal merges into the old DELETED record and stays DELETED: the record never
 * enters the open / byDue indexes, so `runDeletion` never finds the notice (run.ts:296-301), every run gives a
 * fresh notice (an SNS message per push / sweep, forever) and the image is never deleted.
 *
 * What holds now: before the guard, an enforcing run asks which of its candidates have a record that already
 * says DELETED (from the records page its reconciliation read, or AuditStore.getAll); the guard keeps those
 * (`audit-settled`): no notice, no deletion, a warning in every run's report. Deleting such a digest a second
 * time with a record of its own needs one record per deletion, not per digest (README, "What it will never do").
 */
import { describe, expect, it } from 'vitest';
import { digestOf, image, NOW } from '../fixtures/images.js';
import { answerDeletedOf, governed, HOUR, REPO } from '../review27a/support.js';

describe('review 28a: a digest pushed again after its deletion', () => {
  it('is kept and reported, not noticed on every run', async () => {
    // Prepare: five images, keep the newest two; the first notice and its deletion go as designed.
    const g = governed({ notice: { hours: 24 } });
    const asked = answerDeletedOf(g.audit);
    await g.run(NOW);
    await g.run(new Date(NOW.getTime() + 24 * HOUR));
    const img2 = digestOf('img-2');
    expect(g.audit.state(img2)?.status).toBe('DELETED');
    const deletedAt = g.audit.state(img2)!.at;

    // The same digest is pushed again (pushed 2 days after NOW), then two newer images: it is planned again.
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
    const noticesBefore = g.notices.length;
    asked.length = 0;

    // Act: a run, a push an hour later, a run a day later.
    const t0 = NOW.getTime() + 5 * 24 * HOUR;
    const runs = [
      await g.run(new Date(t0), 'run-renotice'),
      await g.run(new Date(t0 + HOUR), 'run-push'),
      await g.run(new Date(t0 + 25 * HOUR), 'run-due'),
    ];

    // Assess: never noticed again, never deleted again; every run asked about it and says why it keeps it.
    const noticesOfImg2 = g.notices
      .slice(noticesBefore)
      .filter((n) => n.images.some((i) => i.digest === img2)).length;
    expect(noticesOfImg2).toBe(0);
    expect(g.h.registry.deleteCalls.flat().filter((d) => d === img2)).toHaveLength(1);
    expect(asked.every((digests) => digests.includes(img2))).toBe(true);
    expect(asked).toHaveLength(3);
    for (const report of runs)
      expect(report.warnings).toContain(
        'the deletion guard kept images the plan would expire: audit-settled 1',
      );
    expect(g.audit.state(img2)).toMatchObject({ status: 'DELETED', at: deletedAt });
  });
});
