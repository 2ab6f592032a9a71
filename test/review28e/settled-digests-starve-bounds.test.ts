/**
 * Review 28e — digests refused as AuditRecordSettled still take the run's bounds, every run: enough of them
 * (ordered first) stop a repository's cleanup for good.
 *
 * What is wrong: without a notice period the guard is not told which candidates are settled (run.ts:330-337
 * reads `deletedOf` only when `governance.notice.hours > 0`), so a re-pushed digest whose record says DELETED
 * passes the guard, takes a slot of `allowance` (guard.ts:193-212, whole units in the caller's order, which is
 * by digest), and is refused only at the write-ahead (safe-delete.ts:171). The images after it are kept
 * `bounds` ("wait for the next run"). The order and the refusal are the same on every run, so with at least
 * `maxDeletesPerRepository` such digests first in order, nothing else in the repository is ever deleted, while
 * the report says the rest "exceed the bounds and wait for the next run".
 *
 * What should hold: an image that will not be deleted takes no slot of the bounds: the others go, in this run or
 * the next (read the settled records for every enforce run — deletedOf — so the guard keeps them `audit-settled`
 * before the bounds are shared out).
 *
 * What holds now: every enforcing run asks `deletedOf` before the guard, which keeps the settled digest
 * (`audit-settled`, a warning in each report) before the bounds are shared out: the others go, one per run.
 */
import { describe, expect, it } from 'vitest';
import { digestOf, NOW } from '../fixtures/images.js';
import { answerDeletedOf, governed, HOUR, REPO } from '../review27a/support.js';

describe('review 28e: settled digests and the bounds', () => {
  it('a settled digest first in order does not hold back the repository’s other deletions run after run', async () => {
    // Prepare: keep the newest 2 of 5, at most 1 deletion per repository and run. img-2..img-4 expire.
    const g = governed(undefined, 5, { bounds: { maxDeletesPerRun: 1000, maxDeletesPerRepository: 1 } });
    answerDeletedOf(g.audit);
    const expiring = ['img-2', 'img-3', 'img-4'].map(digestOf).sort();
    const settled = expiring[0]!; // first in deletion order (by digest)
    // Its record says DELETED (deleted once, pushed again since).
    await g.audit.record({
      registryId: '123456789012',
      region: 'us-west-2',
      repository: REPO,
      digest: settled,
      status: 'DELETED',
      evidence: 'steward-delete',
      at: new Date(NOW.getTime() - 30 * 24 * HOUR).toISOString(),
      actor: { type: 'ecr-steward', runId: 'run-0' },
    });

    // Act: three runs, a day apart.
    const reports = [];
    for (const day of [0, 1, 2])
      reports.push(await g.run(new Date(NOW.getTime() + day * 24 * HOUR), `run-${day + 1}`));

    // Assess: the settled one is kept by the guard each time, and says so…
    for (const r of reports) {
      expect(r.failures).toEqual([]);
      expect(r.warnings).toContain('the deletion guard kept images the plan would expire: audit-settled 1');
    }
    // …and the two others are deleted, one per run, not deferred forever.
    const left = g.h.registry.repositories.get(REPO)!.images.map((i) => i.digest);
    expect(reports.map((r) => r.expired)).toEqual([1, 1, 0]);
    expect(left.filter((d) => expiring.includes(d) && d !== settled)).toEqual([]);
  });
});
