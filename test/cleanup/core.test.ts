import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cleanupRepository, deletionOrder } from '../../functions/cleanup/core.js';
import { InUseUnavailableError } from '../../functions/shared/adapters/in-use.js';
import type { Decision } from '../../functions/shared/lifecycle/types.js';
import { digestOf, type ImageSpec, image, keepNewest, NOW, OCI_INDEX } from '../fixtures/images.js';
import { ACCOUNT, config, type Harness, harness, REGION, request } from './fakes.js';

/** `n` images img-0 … img-(n-1), img-0 the newest: "keep the newest 1" expires all but img-0. */
const numbered = (n: number) => Array.from({ length: n }, (_, i) => image(`img-${i}`, { age: i + 1 }));
const sortedDigests = (names: readonly string[]) => names.map(digestOf).sort();

/** Run-length encoding of the journal with digests dropped: [['audit:PENDING', 100], …]. */
const shape = (journal: readonly string[]) => {
  const out: [string, number][] = [];
  for (const entry of journal) {
    const kind = entry.replace(/:sha256:[a-f0-9]{64}$/, '');
    const last = out.at(-1);
    if (last && last[0] === kind) last[1]++;
    else out.push([kind, 1]);
  }
  return out;
};

/** A repository with one kept image, an expired index with two children, and two expired single images. */
function withIndex(h: Harness): void {
  const specs: Record<string, ImageSpec> = {
    newest: { tags: ['n'], age: 1 },
    index: { tags: ['i'], age: 5, manifestMediaType: OCI_INDEX },
    'child-amd64': { age: 5 },
    'child-arm64': { age: 5 },
    single1: { tags: ['s1'], age: 6 },
    single2: { tags: ['s2'], age: 7 },
  };
  h.registry.add('team/app', {
    images: Object.entries(specs).map(([name, spec]) => image(name, spec)),
    children: new Map([[digestOf('index'), [digestOf('child-amd64'), digestOf('child-arm64')]]]),
  });
}

describe('cleanupRepository in dry-run', () => {
  it('writes a PLANNED audit record for every planned deletion and deletes nothing when mode is dry-run', async () => {
    // Prepare
    const h = harness();
    h.registry.add('team/app', { images: numbered(3) });

    // Act
    const report = await cleanupRepository(config({ mode: 'dry-run' }), request(), h.ports());

    // Assess
    expect(report).toMatchObject({
      outcome: 'done',
      mode: 'dry-run',
      selection: 'team',
      images: 3,
      planned: { expire: 2, transition: 0, keep: 1 },
      expired: 0,
      deferred: 0,
      bytesReclaimed: 0,
      message: 'dry-run: would expire 2, archive 0',
    });
    expect(h.audit.signals.map((s) => s.status)).toEqual(['PLANNED', 'PLANNED']);
    expect(h.audit.signals.find((s) => s.digest === digestOf('img-2'))).toEqual({
      registryId: ACCOUNT,
      region: REGION,
      repository: 'team/app',
      digest: digestOf('img-2'),
      evidence: 'steward-write-ahead',
      status: 'PLANNED',
      at: NOW.toISOString(),
      tags: [],
      sizeBytes: 1000,
      pushedAt: new Date(NOW.getTime() - 3 * 86_400_000).toISOString(),
      lastPulledAt: undefined,
      actor: {
        type: 'ecr-steward',
        runId: 'run-test-1',
        rulePriority: 1,
        reasons: ['rule 1 (all images) keeps the 1 newest of 3 matching images; this is number 3'],
      },
    });
    expect(h.registry.deleteCalls).toEqual([]);
    expect(h.breaker.reads).toBe(0);
    expect(h.journal.some((e) => e.startsWith('checkpoint'))).toBe(false);
  });

  it('deletes nothing when the request overrides an enforcing config with dry-run', async () => {
    // Prepare
    const h = harness();
    h.registry.add('team/app', { images: numbered(3) });

    // Act
    const report = await cleanupRepository(
      config({ mode: 'enforce' }),
      request({ mode: 'dry-run' }),
      h.ports(),
    );

    // Assess
    expect(report.mode).toBe('dry-run');
    expect(h.registry.deleteCalls).toEqual([]);
    expect(h.audit.byStatus('PLANNED')).toHaveLength(2);
  });

  it.each(['dry-run', 'enforce'] as const)(
    'plans exactly what enforce deletes when repositories share the run budget (mode %s)',
    async (mode) => {
      // Prepare
      const h = harness();
      h.registry.add('team/a', { images: numbered(5) }).add('team/b', { images: numbered(5) });
      const cfg = config({ mode, bounds: { maxDeletesPerRun: 5, maxDeletesPerRepository: 500 } });
      const budget = { remaining: cfg.bounds.maxDeletesPerRun };

      // Act
      const a = await cleanupRepository(cfg, request({ repository: 'team/a', budget }), h.ports());
      const b = await cleanupRepository(cfg, request({ repository: 'team/b', budget }), h.ports());

      // Assess
      const acted = h.audit.signals.filter((s) => s.status === (mode === 'dry-run' ? 'PLANNED' : 'DELETED'));
      expect(acted.filter((s) => s.repository === 'team/a')).toHaveLength(4);
      expect(acted.filter((s) => s.repository === 'team/b')).toHaveLength(1);
      expect([a.deferred, b.deferred]).toEqual([0, 3]);
      expect(budget.remaining).toBe(0);
    },
  );
});

describe('cleanupRepository in enforce', () => {
  it('writes PENDING records before the delete call and DELETED records after it', async () => {
    // Prepare
    const h = harness();
    h.registry.add('team/app', { images: numbered(3) });
    const [first, second] = sortedDigests(['img-1', 'img-2']);

    // Act
    const report = await cleanupRepository(config(), request(), h.ports());

    // Assess
    expect(h.journal).toEqual([
      'registry:describeRepository:team/app',
      'registry:listImages:team/app',
      'inUse',
      'breaker:firstOpen',
      `audit:PENDING:${first}`,
      `audit:PENDING:${second}`,
      'checkpoint:after-write-ahead',
      'registry:deleteImages:2',
      'checkpoint:after-delete',
      `audit:DELETED:${first}`,
      `audit:DELETED:${second}`,
    ]);
    expect(h.registry.deleteCalls).toEqual([[first, second]]);
    expect(h.audit.signals.map((s) => [s.status, s.evidence])).toEqual([
      ['PENDING', 'steward-write-ahead'],
      ['PENDING', 'steward-write-ahead'],
      ['DELETED', 'steward-delete'],
      ['DELETED', 'steward-delete'],
    ]);
    expect(report).toMatchObject({
      outcome: 'done',
      mode: 'enforce',
      expired: 2,
      bytesReclaimed: 2000,
      failures: [],
    });
    expect(h.breaker.scopesRead).toEqual([['registry', 'repository:team/app']]);
  });

  it("writes each batch's 100 PENDING records and reads the breaker before that batch's delete call", async () => {
    // Prepare
    const h = harness();
    h.registry.add('team/app', { images: numbered(151) });

    // Act
    const report = await cleanupRepository(config(), request(), h.ports());

    // Assess
    expect(shape(h.journal.slice(3))).toEqual([
      ['breaker:firstOpen', 1],
      ['audit:PENDING', 100],
      ['checkpoint:after-write-ahead', 1],
      ['registry:deleteImages:100', 1],
      ['checkpoint:after-delete', 1],
      ['audit:DELETED', 100],
      ['breaker:firstOpen', 1],
      ['audit:PENDING', 50],
      ['checkpoint:after-write-ahead', 1],
      ['registry:deleteImages:50', 1],
      ['checkpoint:after-delete', 1],
      ['audit:DELETED', 50],
    ]);
    for (const digest of h.registry.deleteCalls.flat()) {
      const pending = h.journal.indexOf(`audit:PENDING:${digest}`);
      const deleted = h.journal.indexOf(`audit:DELETED:${digest}`);
      const call = h.journal.findIndex((e, i) => i > pending && e.startsWith('registry:deleteImages'));
      expect(pending).toBeLessThan(call);
      expect(call).toBeLessThan(deleted);
    }
    expect(report.expired).toBe(150);
  });

  it('records ImageNotFound as already gone, FAILED NotReported when ECR reports neither and the image stays, and gives the budget back', async () => {
    // Prepare
    const h = harness();
    h.registry.add('team/app', { images: numbered(4) });
    const gone = digestOf('img-1');
    const silent = digestOf('img-2');
    h.registry.onDelete = (digests) => ({
      deleted: digests.filter((d) => d !== gone && d !== silent),
      failures: [{ digest: gone, code: 'ImageNotFound', reason: 'Requested image not found' }],
    });
    const budget = { remaining: 10 };

    // Act
    const report = await cleanupRepository(config(), request({ budget }), h.ports());

    // Assess
    expect(report.expired).toBe(1);
    const notReported = 'ECR reported neither a deletion nor a failure, and the image still exists';
    expect(report.failures).toEqual([{ digest: silent, code: 'NotReported', reason: notReported }]);
    expect(h.registry.existCalls).toEqual([[silent]]);
    const failed = h.audit.signals.filter((s) => s.status === 'FAILED');
    expect(failed.map((s) => [s.digest, s.evidence, s.failure])).toEqual([
      [silent, 'steward-failure', { code: 'NotReported', reason: notReported }],
    ]);
    const settled = h.audit.signals.filter((s) => s.status === 'DELETED');
    expect(settled.map((s) => [s.digest, s.evidence]).sort()).toEqual(
      [
        [digestOf('img-3'), 'steward-delete'],
        [gone, 'steward-already-gone'],
      ].sort(),
    );
    expect(budget.remaining).toBe(9);
  });

  it('records DELETED with the verification as evidence when ECR reports neither and the image is gone', async () => {
    // Prepare
    const h = harness();
    h.registry.add('team/app', { images: numbered(4) });
    const expiring = [digestOf('img-1'), digestOf('img-2'), digestOf('img-3')];
    // A third-party ECR answers an untagged delete with empty imageIds and failures, yet deletes.
    h.registry.onDelete = (digests) => {
      const repo = h.registry.repositories.get('team/app')!;
      h.registry.repositories.set('team/app', {
        ...repo,
        images: repo.images.filter((i) => !digests.includes(i.digest)),
      });
      return { deleted: [], failures: [] };
    };

    // Act
    const report = await cleanupRepository(config(), request(), h.ports());

    // Assess
    expect(report.failures).toEqual([]);
    expect(report.expired).toBe(3);
    expect(h.registry.existCalls.map((c) => [...c].sort())).toEqual([[...expiring].sort()]);
    expect(
      h.audit.signals
        .filter((s) => s.status === 'DELETED')
        .map((s) => [s.digest, s.evidence])
        .sort(),
    ).toEqual(expiring.map((d) => [d, 'steward-verify']).sort());
  });

  it('archives the images a transition rule selects', async () => {
    // Prepare
    const h = harness();
    h.registry.add('team/app', { images: [image('fresh', { age: 1 }), image('stale', { age: 200 })] });
    const cfg = config({
      selections: [
        {
          repositories: ['team/*'],
          lifecyclePolicy: {
            rules: [
              {
                rulePriority: 1,
                description: 'Archive what nobody pulled for 90 days',
                selection: {
                  tagStatus: 'any',
                  countType: 'sinceImagePulled',
                  countUnit: 'days',
                  countNumber: 90,
                },
                action: { type: 'transition', targetStorageClass: 'archive' },
              },
            ],
          },
        },
      ],
    });

    // Act
    const report = await cleanupRepository(cfg, request(), h.ports());

    // Assess
    expect(report).toMatchObject({ outcome: 'done', expired: 0, transitioned: 1 });
    expect(h.journal).toContain('registry:archiveImages:1');
    expect(h.registry.deleteCalls).toEqual([]);
  });
});

describe('cleanupRepository bounds', () => {
  it('defers the deletions beyond maxDeletesPerRepository to a later run', async () => {
    // Prepare
    const h = harness();
    h.registry.add('team/app', { images: numbered(6) });
    const cfg = config({ bounds: { maxDeletesPerRun: 1000, maxDeletesPerRepository: 3 } });

    // Act
    const report = await cleanupRepository(cfg, request(), h.ports());

    // Assess
    expect(h.registry.deleteCalls).toEqual([
      sortedDigests(['img-1', 'img-2', 'img-3', 'img-4', 'img-5']).slice(0, 3),
    ]);
    expect(report).toMatchObject({ outcome: 'done', expired: 3, deferred: 2 });
    expect(report.warnings).toContain('2 planned deletions exceed the bounds and wait for the next run');
  });

  it('stops at the run budget and uses it up', async () => {
    // Prepare
    const h = harness();
    h.registry.add('team/app', { images: numbered(6) });
    const budget = { remaining: 2 };

    // Act
    const report = await cleanupRepository(config(), request({ budget }), h.ports());

    // Assess
    expect(h.registry.deleteCalls.flat()).toHaveLength(2);
    expect(report).toMatchObject({ expired: 2, deferred: 3 });
    expect(budget.remaining).toBe(0);
  });

  it('leaves an image index and its children for later together when the unit does not fit', async () => {
    // Prepare
    const h = harness();
    withIndex(h);
    const cfg = config({ bounds: { maxDeletesPerRun: 1000, maxDeletesPerRepository: 2 } });

    // Act
    const report = await cleanupRepository(cfg, request(), h.ports());

    // Assess
    expect(report.planned.expire).toBe(5);
    expect(h.registry.deleteCalls).toEqual([sortedDigests(['single1', 'single2'])]);
    expect(report).toMatchObject({ expired: 2, deferred: 3 });
  });

  it('deletes an image index before its children', async () => {
    // Prepare
    const h = harness();
    withIndex(h);

    // Act
    const report = await cleanupRepository(config(), request(), h.ports());

    // Assess
    expect(h.registry.deleteCalls).toEqual([
      [...sortedDigests(['index', 'single1', 'single2']), ...sortedDigests(['child-amd64', 'child-arm64'])],
    ]);
    expect(report.expired).toBe(5);
  });

  it('deletes an index in an earlier BatchDeleteImage call than its children when they span batches', async () => {
    // Prepare
    const h = harness();
    const singles = Array.from({ length: 99 }, (_, i) => image(`old-${i}`, { tags: [`t${i}`], age: 10 + i }));
    h.registry.add('team/app', {
      images: [
        image('newest', { tags: ['n'], age: 1 }),
        image('index', { tags: ['i'], age: 5, manifestMediaType: OCI_INDEX }),
        image('child-amd64', { age: 5 }),
        image('child-arm64', { age: 5 }),
        ...singles,
      ],
      children: new Map([[digestOf('index'), [digestOf('child-amd64'), digestOf('child-arm64')]]]),
    });

    // Act
    await cleanupRepository(config(), request(), h.ports());

    // Assess
    expect(h.registry.deleteCalls.map((c) => c.length)).toEqual([100, 2]);
    expect(h.registry.deleteCalls[0]).toContain(digestOf('index'));
    expect(h.registry.deleteCalls[1]).toEqual(sortedDigests(['child-amd64', 'child-arm64']));
  });

  it('deletes an index before its children when indexAsUnit is false, so no child fails as still referenced', async () => {
    // Prepare: 100 old images whose digests sort before the index's, so the index lands in the second call.
    const h = harness();
    const index = digestOf('idx');
    const singles = Array.from({ length: 140 }, (_, i) => image(`old-${i}`, { tags: [`t${i}`], age: 10 + i }))
      .filter((i) => i.digest < index)
      .slice(0, 100);
    h.registry.add('team/app', {
      images: [
        image('newest', { tags: ['n'], age: 1 }),
        image('idx', { tags: ['i'], age: 5, manifestMediaType: OCI_INDEX }),
        image('child-amd64', { age: 5 }),
        image('child-arm64', { age: 5 }),
        ...singles,
      ],
      children: new Map([[index, [digestOf('child-amd64'), digestOf('child-arm64')]]]),
    });
    const cfg = config({
      selections: [
        { repositories: ['team/*'], lifecyclePolicy: keepNewest(1), steward: { indexAsUnit: false } },
      ],
    });

    // Act
    const report = await cleanupRepository(cfg, request(), h.ports());

    // Assess
    const order = h.registry.deleteCalls.flat();
    expect(order.indexOf(index)).toBeLessThan(order.indexOf(digestOf('child-amd64')));
    expect(order.indexOf(index)).toBeLessThan(order.indexOf(digestOf('child-arm64')));
    expect(report).toMatchObject({ expired: 103, failures: [] });
  });

  it('records FAILED with ImageReferencedByManifestList when ECR refuses the deletes', async () => {
    // Prepare: ECR refuses every delete of the call.
    const h = harness();
    h.registry.add('team/app', {
      images: [
        image('newest', { tags: ['n'], age: 1 }),
        image('idx', { tags: ['i'], age: 5, manifestMediaType: OCI_INDEX }),
        image('child-amd64', { age: 5 }),
      ],
      children: new Map([[digestOf('idx'), [digestOf('child-amd64')]]]),
    });
    h.registry.onDelete = (digests) => ({
      deleted: [],
      failures: digests.map((digest) => ({
        digest,
        code: 'ImageReferencedByManifestList',
        reason: 'Requested image is referenced by an image index',
      })),
    });

    // Act
    const report = await cleanupRepository(config(), request(), h.ports());

    // Assess
    expect(report.failures.map((f) => f.code)).toEqual([
      'ImageReferencedByManifestList',
      'ImageReferencedByManifestList',
    ]);
    expect(h.audit.byStatus('FAILED')).toHaveLength(2);
  });
});

describe('cleanupRepository fail-safes', () => {
  it('reports breaker-open and writes and deletes nothing when the breaker is open', async () => {
    // Prepare
    const h = harness();
    h.registry.add('team/app', { images: numbered(3) });
    h.breaker.openFrom = 1;

    // Act
    const report = await cleanupRepository(config(), request(), h.ports());

    // Assess
    expect(report).toMatchObject({
      outcome: 'breaker-open',
      message:
        'breaker open for registry (250 deletes in 10 minutes): nothing more is deleted; reset it with `ecr-steward breaker reset --scope registry`',
      expired: 0,
      deferred: 2,
    });
    expect(h.audit.signals).toEqual([]);
    expect(h.registry.deleteCalls).toEqual([]);
  });

  it('stops before the next batch when the breaker opens mid-run', async () => {
    // Prepare
    const h = harness();
    h.registry.add('team/app', { images: numbered(151) });
    h.breaker.openFrom = 2;

    // Act
    const report = await cleanupRepository(config(), request(), h.ports());

    // Assess
    expect(report).toMatchObject({ outcome: 'breaker-open', expired: 100, deferred: 50 });
    expect(h.registry.deleteCalls.map((c) => c.length)).toEqual([100]);
    expect(h.audit.byStatus('PENDING')).toHaveLength(100);
  });

  it('reports in-use-unavailable and writes and deletes nothing when an in-use source cannot be read', async () => {
    // Prepare
    const h = harness();
    h.registry.add('team/app', { images: numbered(3) });
    h.inUseError = new InUseUnavailableError(
      'ecs',
      new Error('User is not authorized to perform: ecs:ListClusters'),
    );

    // Act
    const report = await cleanupRepository(config(), request(), h.ports());

    // Assess
    expect(report).toMatchObject({
      outcome: 'in-use-unavailable',
      message:
        'in-use source ecs could not be read: User is not authorized to perform: ecs:ListClusters; nothing is deleted in this run (fail safe)',
      images: 3,
      expired: 0,
    });
    expect(h.audit.signals).toEqual([]);
    expect(h.registry.deleteCalls).toEqual([]);
    expect(h.breaker.reads).toBe(0);
  });

  it('rethrows an unexpected in-use error instead of reporting it as a repository condition', async () => {
    // Prepare
    const h = harness();
    h.registry.add('team/app', { images: numbered(3) });
    h.inUseError = new Error('bug');

    // Act
    const result = cleanupRepository(config(), request(), h.ports());

    // Assess
    await expect(result).rejects.toThrow('bug');
    expect(h.registry.deleteCalls).toEqual([]);
  });

  it('keeps an image whose digest is in use in this registry and region, and only that one', async () => {
    // Prepare
    const h = harness();
    h.registry.add('team/app', { images: numbered(4) });
    h.inUseRefs = [
      {
        registryId: ACCOUNT,
        region: REGION,
        repository: 'team/app',
        digest: digestOf('img-2'),
        where: 'ecs:task/prod/abc',
      },
      {
        registryId: ACCOUNT,
        region: 'eu-west-1',
        repository: 'team/app',
        digest: digestOf('img-3'),
        where: 'elsewhere',
      },
    ];

    // Act
    const report = await cleanupRepository(config(), request(), h.ports());

    // Assess
    expect(h.registry.deleteCalls).toEqual([sortedDigests(['img-1', 'img-3'])]);
    expect(report.protectedByReason).toEqual({ 'in-use': 1 });
    const kept = report.plan?.decisions.find((d) => d.imageDigest === digestOf('img-2'));
    expect(kept?.reasons.at(-1)).toBe('in use by ecs:task/prod/abc');
  });

  it('leaves PENDING records and deletes nothing when the run dies right after the write-ahead', async () => {
    // Prepare
    const h = harness();
    h.registry.add('team/app', { images: numbered(3) });
    h.checkpoint = (step) => {
      if (step === 'after-write-ahead') throw new Error('killed by the local cloud');
    };

    // Act
    const result = cleanupRepository(config(), request(), h.ports());

    // Assess
    await expect(result).rejects.toThrow('killed by the local cloud');
    expect(h.audit.signals.map((s) => s.status)).toEqual(['PENDING', 'PENDING']);
    expect(h.registry.deleteCalls).toEqual([]);
    expect(h.registry.repositories.get('team/app')?.images).toHaveLength(3);
  });

  it('deletes nothing when a write-ahead record cannot be written', async () => {
    // Prepare
    const h = harness();
    h.registry.add('team/app', { images: numbered(3) });
    h.audit.failWhen = (s) => s.status === 'PENDING' && s.digest === digestOf('img-2');

    // Act
    const result = cleanupRepository(config(), request(), h.ports());

    // Assess
    await expect(result).rejects.toThrow(`audit write failed for ${digestOf('img-2')}`);
    expect(h.registry.deleteCalls).toEqual([]);
  });
});

describe('cleanupRepository selection and policy', () => {
  const fromRepository = () =>
    config({
      selections: [{ name: 'attached', repositories: ['team/*'], lifecyclePolicy: 'fromRepository' }],
    });

  it('reports repository-not-found when the repository is gone', async () => {
    // Act
    const h = harness();
    const report = await cleanupRepository(config(), request({ repository: 'team/gone' }), h.ports());

    // Assess
    expect(report).toMatchObject({
      outcome: 'repository-not-found',
      message: 'repository team/gone does not exist (deleted since the event?)',
    });
    expect(h.journal).toEqual(['registry:describeRepository:team/gone']);
  });

  it('reports not-managed without calling ECR when no selection matches the name and none uses tags', async () => {
    // Prepare
    const h = harness();
    h.registry.add('other/app', { images: numbered(3) });

    // Act
    const report = await cleanupRepository(config(), request({ repository: 'other/app' }), h.ports());

    // Assess
    expect(report).toMatchObject({
      outcome: 'not-managed',
      message: 'repository other/app matches no selection of the config',
    });
    // No ECR call at all: the worker may read only managed repositories (IAM), and no selection uses tags.
    expect(h.journal).toEqual([]);
  });

  it('reads repository tags when a selection names repositories by tag', async () => {
    // Prepare
    const h = harness();
    h.registry.add('any/app', { images: numbered(2), tags: { steward: 'managed' } });
    h.registry.add('any/other', { images: numbered(2), tags: { steward: 'no' } });
    const cfg = config({
      selections: [
        { name: 'tagged', repositoryTags: { steward: 'managed' }, lifecyclePolicy: keepNewest(1) },
      ],
    });

    // Act
    const managed = await cleanupRepository(cfg, request({ repository: 'any/app' }), h.ports());
    const unmanaged = await cleanupRepository(cfg, request({ repository: 'any/other' }), h.ports());

    // Assess
    expect(managed).toMatchObject({ outcome: 'done', selection: 'tagged', expired: 1 });
    expect(unmanaged.outcome).toBe('not-managed');
    expect(h.journal).toContain(
      `registry:repositoryTags:arn:aws:ecr:${REGION}:${ACCOUNT}:repository/any/app`,
    );
  });

  it('reports no-policy when the selection reads the policy from a repository that has none', async () => {
    // Prepare
    const h = harness();
    h.registry.add('team/app', { images: numbered(3) });

    // Act
    const report = await cleanupRepository(fromRepository(), request(), h.ports());

    // Assess
    expect(report).toMatchObject({
      outcome: 'no-policy',
      selection: 'attached',
      message: 'repository team/app has no lifecycle policy attached (selection says "fromRepository")',
    });
    expect(h.journal).not.toContain('registry:listImages:team/app');
  });

  it('reports invalid-policy with the rule at fault when the attached policy breaks ECR rules', async () => {
    // Prepare
    const h = harness();
    const policy = keepNewest(1);
    (policy.rules[0]!.selection as Record<string, unknown>).countUnit = 'days';
    h.registry.add('team/app', { images: numbered(3), policyText: JSON.stringify(policy) });

    // Act
    const report = await cleanupRepository(fromRepository(), request(), h.ports());

    // Assess
    expect(report.outcome).toBe('invalid-policy');
    expect(report.message).toMatch(
      /^the lifecycle policy attached to team\/app is invalid: rules\[0\] \(rulePriority 1\) selection\.countUnit: /,
    );
    expect(h.registry.deleteCalls).toEqual([]);
  });

  it('applies the attached policy and warns that ECR applies it too', async () => {
    // Prepare
    const h = harness();
    h.registry.add('team/app', { images: numbered(3), policyText: JSON.stringify(keepNewest(2)) });

    // Act
    const report = await cleanupRepository(fromRepository(), request(), h.ports());

    // Assess
    expect(report).toMatchObject({ outcome: 'done', expired: 1 });
    expect(report.warnings).toContain(
      'the policy is read from the repository: ECR applies it too, within 24 hours',
    );
  });

  it('warns and keeps untagged images when an index manifest cannot be read', async () => {
    // Prepare
    const h = harness();
    h.registry.add('team/app', {
      images: [
        image('newest', { tags: ['n'], age: 1 }),
        image('index', { tags: ['i'], age: 5, manifestMediaType: OCI_INDEX }),
        image('untagged', { age: 6 }),
      ],
      children: new Map(),
    });

    // Act
    const report = await cleanupRepository(config(), request(), h.ports());

    // Assess
    expect(report.warnings).toContain('could not read the manifests of 1 image index(es)');
    expect(h.registry.deleteCalls.flat()).not.toContain(digestOf('untagged'));
    expect(report.protectedByReason).toEqual({ 'graph-unknown': 1 });
  });
});

// ---------------------------------------------------------------- ordering and bounds helpers

const decision = (name: string, follows?: string): Decision => ({
  imageDigest: name,
  imageTags: [],
  action: 'expire',
  rulePriority: 1,
  reasons: [],
  protectedBy: [],
  sizeBytes: 1,
  pushedAt: NOW.toISOString(),
  ...(follows ? { follows } : {}),
});

/** Random forests of decisions: each decision may follow one earlier decision (or a digest outside the list). */
const forest = fc
  .array(fc.tuple(fc.nat(), fc.boolean(), fc.boolean()), { maxLength: 40 })
  .map((specs) =>
    specs.map(([parent, hasParent, outside], i) =>
      decision(
        `d${String(i).padStart(2, '0')}`,
        hasParent && i > 0 ? (outside ? 'gone' : `d${String(parent % i).padStart(2, '0')}`) : undefined,
      ),
    ),
  );

describe('deletionOrder', () => {
  it('puts indexes before children and subjects before referrers, then orders by digest', () => {
    // Prepare
    const decisions = [
      decision('c', 'b'),
      decision('b', 'a'),
      decision('z'),
      decision('a'),
      decision('y', 'z'),
    ];

    // Act
    const ordered = deletionOrder(decisions).map((d) => d.imageDigest);

    // Assess
    expect(ordered).toEqual(['a', 'z', 'b', 'y', 'c']);
  });

  it('orders every decision after the one it follows, for any forest', () => {
    fc.assert(
      fc.property(forest, (decisions) => {
        const ordered = deletionOrder(decisions).map((d) => d.imageDigest);
        expect([...ordered].sort()).toEqual(decisions.map((d) => d.imageDigest).sort());
        for (const d of decisions) {
          if (d.follows && ordered.includes(d.follows))
            expect(ordered.indexOf(d.follows)).toBeLessThan(ordered.indexOf(d.imageDigest));
        }
      }),
    );
  });
});
