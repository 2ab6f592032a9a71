/**
 * Review 28f — an image a lifecycle `transition` archived, then expired by the policy's archive-class rule
 * (AWS's own "Combining archive and expire rules" example) under a notice period: noticed on every run, never
 * deleted.
 *
 * What is wrong: the transition leaves an ARCHIVED record without purgeAt (since a86aebf an open record, due
 * NEVER_DUE). When the `storageClass: archive` + `sinceImageTransitioned` rule later expires the image, the
 * guard gives it a notice (`schedule`), runDeletion announces it (SNS) and writes SCHEDULED — but
 * `nextStatus` kept ARCHIVED on a SCHEDULED signal (functions/shared/audit/records.ts, SCHEDULED case), so no
 * dueAt is ever stored; `noticed` (functions/shared/deletion/run.ts, SCHEDULED/PENDING/FAILED with dueAt) never
 * finds it, and every following run gives a fresh notice. The image is never deleted and the owners get a notice
 * per run, forever.
 *
 * What should hold: one notice, then the deletion once it is due (the record of an archive no purge follows must
 * be able to carry a notice, or the run must find the notice it gave).
 *
 * What holds now: a notice starts from an ARCHIVED record without purgeAt (mergeSignal), as from any other state a
 * deletion may follow; the record keeps its archivedAt.
 */
import { describe, expect, it } from 'vitest';
import { cleanupRepository, type NoticeRequest } from '../../functions/cleanup/core.js';
import { config, harness, request } from '../cleanup/fakes.js';
import { digestOf, image, NOW } from '../fixtures/images.js';
import { MemoryAudit, REPO } from '../review27a/support.js';

const DAY = 86_400_000;
const policy = {
  rules: [
    {
      rulePriority: 1,
      description: 'Archive what nobody pulled for 90 days',
      selection: { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 90 },
      action: { type: 'transition', targetStorageClass: 'archive' },
    },
    {
      rulePriority: 2,
      description: 'Delete what has been archived for more than 90 days',
      selection: {
        tagStatus: 'any',
        storageClass: 'archive',
        countType: 'sinceImageTransitioned',
        countUnit: 'days',
        countNumber: 90,
      },
      action: { type: 'expire' },
    },
  ],
};

describe('review 28f: an archive of a lifecycle transition, expired later under a notice period', () => {
  it('is noticed once and then deleted, not noticed on every run', async () => {
    // Prepare: a notice period of 24 hours; an image transitioned by ECR Steward 120 days ago (its records as the
    // transition wrote them: write-ahead intent transition, ARCHIVED without purgeAt), now due for expiry.
    const h = harness();
    const d = digestOf('old');
    const archivedAt = NOW.getTime() - 120 * DAY;
    h.registry.add(REPO, {
      images: [
        image('new', { age: 1, tags: ['v2'] }),
        { ...image('old', { age: 300, tags: ['v1'] }), status: 'ARCHIVED', lastArchivedAt: archivedAt },
      ],
    });
    const audit = new MemoryAudit(h.journal);
    const base = {
      registryId: '123456789012',
      region: 'us-west-2',
      repository: REPO,
      digest: d,
      tags: ['v1'],
      sizeBytes: 1000,
      actor: { type: 'ecr-steward' as const, runId: 'run-0', rulePriority: 1, reasons: ['rule 1'] },
    };
    const at = new Date(archivedAt).toISOString();
    await audit.record({
      ...base,
      status: 'PENDING',
      evidence: 'steward-write-ahead',
      intent: 'transition',
      at,
    });
    await audit.record({ ...base, status: 'ARCHIVED', evidence: 'steward-archive', archivedAt: at, at });
    expect(audit.state(d)).toMatchObject({ status: 'ARCHIVED', purgeAt: undefined });
    const notices: NoticeRequest[] = [];
    const cfg = config({
      governance: { notice: { hours: 24 } },
      selections: [{ name: 'team', repositories: ['team/*'], lifecyclePolicy: policy, steward: {} }],
    } as never);

    // Act: four daily runs.
    const reports = [];
    for (const day of [0, 1, 2, 3]) {
      const now = new Date(NOW.getTime() + day * DAY);
      reports.push(
        await cleanupRepository(cfg, request({ now, runId: `run-${day + 1}` }), {
          ...h.ports(),
          audit,
          holds: async () => [],
          notify: async (n: NoticeRequest) => {
            notices.push(n);
          },
        } as never),
      );
    }

    // Assess: the plan expires it until it is gone (so the rule is what we meant)…
    expect(reports.map((r) => (r as { planned?: { expire: number } }).planned?.expire)).toEqual([1, 1, 0, 0]);
    // …one notice, and the image deleted once the notice is due (the third run), its record telling the story.
    expect(notices.map((n) => n.images.map((i) => i.digest))).toEqual([[d]]);
    expect(reports.map((r) => r.expired)).toEqual([0, 1, 0, 0]);
    expect(h.registry.repositories.get(REPO)!.images.map((i) => i.digest)).not.toContain(d);
    expect(audit.state(d)).toMatchObject({ status: 'DELETED', archivedAt: at });
  });
});
