/**
 * Review 28e — a lifecycle `transition` whose run stops between UpdateImageStorageClass and the settle is later
 * DELETED by the purge.
 *
 * What is wrong: since 3a8b7a9 a transition archives through runDeletion (`archiveOnly`): write-ahead PENDING
 * with `intent: 'archive'` (now `'transition'`, which reconciliation settles without a purge time), then ARCHIVED with NO purgeAt ("stays archived, as ECR's own transition does; never
 * deleted instead", README). But a crash (Lambda timeout, throttled settle) after the archive call leaves the
 * PENDING record, and reconciliation (functions/shared/audit/reconcile.ts:145-157) settles every PENDING archive
 * it finds archived in ECR as ARCHIVED with `purgeAt = now + softDelete.purgeAfterDays` (default 30) — it cannot
 * tell a transition from a soft delete (the PENDING record carries nothing that says so). The record then
 * carries the open/due index keys, and the cleanup's purge (functions/cleanup/core.ts:596-634) deletes the image
 * for good once that time has passed — even in a config with no soft delete at all.
 *
 * What should hold: a transition's archive is never purged: reconciliation of a crashed transition settles it
 * ARCHIVED without purgeAt (the write-ahead must say it is a transition, e.g. carry a marker reconcile reads).
 */
import { describe, expect, it } from 'vitest';
import { cleanupRepository } from '../../functions/cleanup/core.js';
import { reconcileRepository } from '../../functions/shared/audit/reconcile.js';
import { config, harness, REGION, request } from '../cleanup/fakes.js';
import { digestOf, image, NOW } from '../fixtures/images.js';
import { MemoryAudit } from '../review27a/support.js';

const DAY = 86_400_000;
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

describe('review 28e: a transition interrupted after its archive call', () => {
  it('is never purged: reconciliation settles it ARCHIVED without a purge time, and no later run deletes it', async () => {
    // Prepare: no governance at all (no soft delete); one stale image the transition rule archives.
    const h = harness();
    h.registry.add('team/app', { images: [image('stale-1', { age: 200, tags: ['v1'] })] });
    const audit = new MemoryAudit();
    const snapshots = new Map<string, unknown>();
    const cfg = config({
      selections: [{ repositories: ['team/*'], lifecyclePolicy: transitionPolicy, steward: {} }],
    } as never);
    const digest = digestOf('stale-1');
    const clock = { now: NOW, runId: 'run-1' };
    const ports = (crash: boolean) => ({
      ...h.ports(),
      audit: Object.assign(audit, {
        get: async (ref: { digest: string }) => audit.state(ref.digest),
        pending: async () => [...audit.items.values()].filter((r) => r.status === 'PENDING'),
      }),
      holds: async () => [],
      checkpoint: async (step: string) => {
        if (crash && step === 'after-delete') throw new Error('Task timed out');
      },
      reconcile: async (
        repo: { registryId: string; name: string },
        images: readonly import('../../functions/shared/lifecycle/types.js').Image[],
        { purgeAfterDays }: { purgeAfterDays: number },
      ) => {
        await reconcileRepository(
          { registryId: repo.registryId, region: REGION, repository: repo.name },
          images,
          clock.now,
          clock.runId,
          {
            snapshots: {
              load: async () => snapshots.get('s') as never,
              save: async (_r, s) => {
                snapshots.set('s', s);
              },
            },
            audit: {
              get: async (ref) => audit.state(ref.digest),
              record: (s) => audit.record(s),
              pending: async () => [...audit.items.values()].filter((r) => r.status === 'PENDING'),
            },
          },
          purgeAfterDays,
        );
      },
    });

    // Act 1: the run archives the image and stops before its settle.
    await expect(cleanupRepository(cfg, request({ runId: 'run-1' }), ports(true) as never)).rejects.toThrow(
      'Task timed out',
    );
    expect(audit.state(digest)).toMatchObject({ status: 'PENDING', intent: 'transition' });

    // Act 2: the next run (a day later) reconciles the crashed transition.
    Object.assign(clock, { now: new Date(NOW.getTime() + DAY), runId: 'run-2' });
    await cleanupRepository(
      cfg,
      request({ runId: 'run-2', now: new Date(NOW.getTime() + DAY) }),
      ports(false) as never,
    );

    // Assess: archived, and no purge is due for it (a transition stays archived).
    expect(audit.state(digest)?.status).toBe('ARCHIVED');
    expect.soft(audit.state(digest)?.purgeAt).toBeUndefined();

    // Act 3: 40 days later, an ordinary run.
    Object.assign(clock, { now: new Date(NOW.getTime() + 40 * DAY), runId: 'run-3' });
    await cleanupRepository(
      cfg,
      request({ runId: 'run-3', now: new Date(NOW.getTime() + 40 * DAY) }),
      ports(false) as never,
    );

    // Assess: the transitioned image is still in the registry (never deleted).
    expect(h.registry.repositories.get('team/app')!.images.map((i) => i.digest)).toContain(digest);
  });
});
