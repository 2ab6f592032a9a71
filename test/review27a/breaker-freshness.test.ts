/**
 * Review 27a, finding 1, fixed: the first delete (or archive) batch of a governed deletion goes out on the breaker read
 * runDeletion made before its governance I/O. runDeletion reads the breaker once (functions/shared/deletion/
 * run.ts:297), then awaits the approvals reads, the notice (SNS), the SCHEDULED and CANCELLED writes and the
 * manifests (ECR BatchGetImage, one call per 100 images), and then calls safeDelete/safeArchive with
 * `breakerCheckedAt: now` (run.ts:515, :569), which skips the read before the first batch (safe-delete.ts:113,
 * :239). A breaker opened meanwhile (the audit function's alert, or a person) does not stop the first batch of up
 * to 100 deletions: the contract (safe-delete.ts header, breaker.ts, coalesce.ts) is a breaker read before each
 * delete batch, made after what came before it.
 */
import { describe, expect, it } from 'vitest';
import { image, NOW } from '../fixtures/images.js';
import { expiringOf, governed, HOUR } from './support.js';

describe('review 27a: the breaker read that covers the first delete batch', () => {
  it('deletes nothing when the breaker opens while the manifests of a governed delete are read', async () => {
    // Prepare: three images noticed at NOW, due an hour later
    const g = governed({ notice: { hours: 1 } });
    await g.run(NOW);
    expect(g.h.registry.deleteCalls).toEqual([]);
    // The breaker opens (an alert raised by another repository's deletions) while the manifests are read
    const manifests = g.h.registry.manifests.bind(g.h.registry);
    g.h.registry.manifests = async (repository, digests) => {
      const out = await manifests(repository, digests);
      g.h.breaker.openFrom = g.h.breaker.reads + 1;
      return out;
    };

    // Act
    const report = await g.run(new Date(NOW.getTime() + HOUR));

    // Assess: the journal of the due run shows one breaker read, made before the manifests were read; no delete
    // call may go out once the breaker is open
    const due = g.h.journal.slice(g.h.journal.lastIndexOf('registry:describeRepository:team/app'));
    expect(due.filter((e) => e === 'breaker:firstOpen' || e.startsWith('registry:manifests'))).toEqual([
      'breaker:firstOpen',
      'registry:manifests:3',
      'breaker:firstOpen',
    ]);
    expect(g.h.registry.deleteCalls).toEqual([]);
    expect(report.outcome).toBe('breaker-open');
  });

  it('deletes nothing when the breaker opens while the notice of the same run is being sent', async () => {
    // Prepare: three images noticed at NOW and due an hour later; a fourth image expires at the second run (a
    // new push), so that run sends a notice before it deletes the due ones
    const g = governed({ notice: { hours: 1 } });
    await g.run(NOW);
    const repo = g.h.registry.repositories.get('team/app')!;
    g.h.registry.add('team/app', {
      ...repo,
      images: [image('fresh', { age: 0.5, tags: ['v-new'] }), ...repo.images],
    });
    g.hooks.onNotify = () => {
      g.h.breaker.openFrom = g.h.breaker.reads + 1;
    };

    // Act
    const report = await g.run(new Date(NOW.getTime() + HOUR));

    // Assess
    expect(g.notices).toHaveLength(2);
    expect(g.h.registry.deleteCalls).toEqual([]);
    expect(report.outcome).toBe('breaker-open');
    for (const d of expiringOf(5)) expect(g.audit.state(d)?.status).not.toBe('DELETED');
  });
});
