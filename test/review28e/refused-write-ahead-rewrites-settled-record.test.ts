/**
 * Review 28e — the write-ahead that b8c204f refuses (AuditRecordSettled) still writes onto the old DELETED
 * record, and re-attributes someone else's deletion to ECR Steward.
 *
 * What is wrong: safeDelete/safeArchive (functions/shared/deletion/safe-delete.ts:164-172, 294-306) first WRITE
 * the PENDING signal and only then look at the record it returns (settledBefore). On a DELETED record the merge
 * (functions/shared/audit/records.ts:268-283) keeps the status but adds the `steward-write-ahead` evidence and
 * fills the actor's gaps from the signal (this run's runId, rulePriority, reasons). For a digest deleted by
 * someone else (ECR's DELETE event: evidence `image-action-event`, no principal) and pushed again, actorType()
 * then answers `ecr-steward` (records.ts:216: "our write-ahead and no other actor named"): the audit table now
 * says ECR Steward, run-2, deleted an image it never touched — from a write-ahead the fix itself refused. The
 * record also joins run-2's byRun index and gains the new push's tags. Every later run repeats the write.
 *
 * What should hold: an image refused as AuditRecordSettled leaves its settled record as it was (who deleted it,
 * which run, evidence): the settled state should be read before the write-ahead (deletedOf for every caller, not
 * only under a notice period), or the write-ahead made conditional on the record not being DELETED.
 *
 * What holds now: every enforcing run asks `deletedOf` for its candidates before the guard (the worker answers
 * from the records page its reconciliation read, or one consistent read), and the guard keeps a settled digest
 * (`audit-settled`): no write-ahead is written on its record. The write-ahead's own refusal stays as the backstop
 * for a record settled between that read and the write-ahead (which may then add its evidence to the record).
 */
import { describe, expect, it } from 'vitest';
import { digestOf, image, NOW } from '../fixtures/images.js';
import { answerDeletedOf, governed, HOUR, REPO } from '../review27a/support.js';

describe('review 28e: a refused write-ahead on a record settled by another actor', () => {
  it('leaves the external deletion recorded as it was (not ECR Steward, not this run)', async () => {
    // Prepare: img-2 was deleted by someone else; ECR's DELETE event recorded it (actor unknown).
    const g = governed(undefined);
    const img2 = digestOf('img-2');
    answerDeletedOf(g.audit);
    await g.audit.record({
      registryId: '123456789012',
      region: 'us-west-2',
      repository: REPO,
      digest: img2,
      status: 'DELETED',
      evidence: 'image-action-event',
      at: new Date(NOW.getTime() - 10 * 24 * HOUR).toISOString(),
      tags: ['v2'],
      eventId: 'ecr-event-1',
    });
    const before = structuredClone(g.audit.state(img2));
    const journaled = g.h.journal.length;
    expect(before).toMatchObject({ status: 'DELETED', actor: { type: 'unknown' } });
    // …and the same digest is in the registry again (pushed again), with a new tag; the policy expires it.
    const repo = g.h.registry.repositories.get(REPO)!;
    g.h.registry.add(REPO, {
      ...repo,
      images: repo.images.map((i) =>
        i.digest === img2 ? image('img-2', { age: 4, tags: ['v2-again'] }) : i,
      ),
    });

    // Act
    const report = await g.run(NOW, 'run-2');

    // Assess: kept by the guard and reported (no write-ahead, so no AuditRecordSettled failure)…
    expect(report.failures).toEqual([]);
    expect(report.warnings).toContain(
      'the deletion guard kept images the plan would expire: audit-settled 1',
    );
    expect(
      g.h.journal.slice(journaled).filter((j) => j.endsWith(`:${img2}`) && j.startsWith('audit:')),
    ).toEqual([]);
    expect(g.h.registry.repositories.get(REPO)!.images.map((i) => i.digest)).toContain(img2);
    // …and the record of the other actor's deletion is untouched: not attributed to ECR Steward or to run-2.
    const after = g.audit.state(img2)!;
    expect(after).toEqual(before);
  });
});
