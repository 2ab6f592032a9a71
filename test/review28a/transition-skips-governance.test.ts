/**
 * Review 28a — a lifecycle `transition` rule archives through no guard: no notice, no audit record, no bound.
 *
 * What is wrong: functions/cleanup/core.ts:652-664 sends the plan's `transition` decisions straight to
 * `registry.archiveImages` after one breaker read. They never pass `runDeletion` / the guard, so
 *  (1) with `governance.notice.hours` > 0 the images are archived at once, with no SCHEDULED record and no notice
 *      — README "What it will never do": "Delete (or archive) an image before its notice is due when a notice
 *      period is configured";
 *  (2) there is no write-ahead (PENDING) or ARCHIVED record, so `trash list` / `restore` do not know them;
 *  (3) the run's budget does not limit them: `ecr-steward run` shares `maxDeletesPerRun` over deletions AND
 *      archives (cli/commands/run.ts:90-103), prints "N planned removal(s) exceed bounds.maxDeletesPerRun … wait
 *      for the next run", asks to confirm "Archive <share> image(s)", then runs the core with that share as the
 *      budget — and the core archives every transition anyway.
 *
 * What holds now: a transition goes through runDeletion (`archiveOnly`): the guard (holds, in use, protections,
 * breaker, bounds), a write-ahead PENDING and an ARCHIVED record (no purge time: a transition stays archived, as
 * ECR's own does), within the run's budget. A transition deletes nothing, so it takes no notice and no approval
 * (README, "Governance"): the README's "(or archive)" is the soft delete's archive, which replaces a deletion.
 */
import { describe, expect, it } from 'vitest';
import { cleanupRepository } from '../../functions/cleanup/core.js';
import type { Hold } from '../../functions/shared/lifecycle/types.js';
import { config, harness, request } from '../cleanup/fakes.js';
import { digestOf, image } from '../fixtures/images.js';
import { MemoryAudit } from '../review27a/support.js';

const transitionPolicy = {
  rules: [
    {
      rulePriority: 1,
      description: 'Archive what nobody pulled for 90 days',
      selection: { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 90 },
      action: { type: 'transition', targetStorageClass: 'archive' },
    },
  ],
};

function setup(governance: Record<string, unknown> | undefined, budget: number) {
  const h = harness();
  h.registry.add('team/app', {
    images: [1, 2, 3, 4, 5].map((i) => image(`stale-${i}`, { age: 200 + i, tags: [`v${i}`] })),
  });
  const audit = new MemoryAudit();
  const notices: unknown[] = [];
  const cfg = config({
    ...(governance ? { governance } : {}),
    selections: [{ repositories: ['team/*'], lifecyclePolicy: transitionPolicy, steward: {} }],
  } as never);
  const run = (holds: Hold[] = []) =>
    cleanupRepository(cfg, request({ budget: { remaining: budget } }), {
      ...h.ports(),
      audit,
      holds: async () => holds,
      notify: async (n) => {
        notices.push(n);
      },
    });
  return { h, audit, notices, run };
}

describe('review 28a: transition rules and governance', () => {
  it('archives through the guard with a record of each archive, no purge due, and no notice (nothing is deleted)', async () => {
    // Prepare: a notice period is configured; a transition is no deletion, so it is not noticed.
    const g = setup({ notice: { hours: 24 } }, 1000);

    // Act
    const report = await g.run();

    // Assess: all five archived in one call, each recorded PENDING (write-ahead) then ARCHIVED with no purge time.
    expect(report.transitioned).toBe(5);
    expect(g.h.journal.filter((j) => j.startsWith('registry:archiveImages'))).toHaveLength(1);
    expect(g.notices).toEqual([]);
    for (const i of [1, 2, 3, 4, 5]) {
      const digest = digestOf(`stale-${i}`);
      expect(g.audit.signals.filter((x) => x.digest === digest).map((x) => x.status)).toEqual([
        'PENDING',
        'ARCHIVED',
      ]);
      expect(g.audit.state(digest)?.status).toBe('ARCHIVED');
      expect(g.audit.state(digest)?.purgeAt).toBeUndefined();
    }
  });

  it('archives no more than the budget the run was given (the CLI confirmed its share), and says the rest wait', async () => {
    // Prepare: the CLI gives this repository a share of 2 of maxDeletesPerRun.
    const g = setup(undefined, 2);

    // Act
    const report = await g.run();

    // Assess
    expect(report.transitioned).toBe(2);
    expect(report.deferred).toBe(3);
  });

  it('keeps an image held from the CLI: a transition passes the same guard as a deletion', async () => {
    // Prepare
    const g = setup(undefined, 1000);
    const held = digestOf('stale-3');

    // Act
    const report = await g.run([{ digest: held, reason: 'legal', owner: 'alice' }]);

    // Assess
    expect(report.transitioned).toBe(4);
    expect(g.h.registry.repositories.get('team/app')!.images.find((i) => i.digest === held)?.status).not.toBe(
      'ARCHIVED',
    );
    expect(g.audit.state(held)).toBeUndefined();
  });
});
