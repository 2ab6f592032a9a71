import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cleanupRepository } from '../../functions/cleanup/core.js';
import type { DeleteOutcome } from '../../functions/shared/adapters/ecr.js';
import type { ImageReference } from '../../functions/shared/adapters/in-use.js';
import type { DeleteSignal } from '../../functions/shared/audit/records.js';
import { selectionFor, validateConfig } from '../../functions/shared/config/load.js';
import { DELETION_CALLERS } from '../../functions/shared/deletion/guard.js';
import { holdOn } from '../../functions/shared/deletion/holds.js';
import { type DeletionRequest, runDeletion } from '../../functions/shared/deletion/run.js';
import type { SafeDeletePorts } from '../../functions/shared/deletion/safe-delete.js';
import { compileTagSelectorTest } from '../../functions/shared/lifecycle/match.js';
import { ACCOUNT, harness, REGION, request } from '../cleanup/fakes.js';
import { DAY_MS, digestOf, image, keepNewest, NOW } from '../fixtures/images.js';

/** Ports that remember every call, in one journal. */
function fakePorts(opts: { breakerOpen?: boolean; onDelete?: (d: readonly string[]) => DeleteOutcome } = {}) {
  const journal: string[] = [];
  const signals: DeleteSignal[] = [];
  const deleteCalls: string[][] = [];
  const ports: SafeDeletePorts = {
    registry: {
      async deleteImages(_repository, digests) {
        journal.push(`delete:${digests.length}`);
        deleteCalls.push([...digests]);
        return opts.onDelete?.(digests) ?? { deleted: [...digests], failures: [] };
      },
      async existingDigests(_repository, digests) {
        journal.push(`exists:${digests.length}`);
        return new Set<string>();
      },
    },
    audit: {
      async record(signal) {
        journal.push(`audit:${signal.status}`);
        signals.push(signal);
        return undefined;
      },
    },
    breaker: {
      async firstOpen() {
        journal.push('breaker');
        return opts.breakerOpen ? { scope: 'registry', reason: 'burst' } : undefined;
      },
    },
  };
  return { ports, journal, signals, deleteCalls };
}

const managedConfig = validateConfig({
  mode: 'enforce',
  selections: [{ repositories: ['team/*'], lifecyclePolicy: keepNewest(1), steward: { minAgeDays: 1 } }],
});

const deletion = (over: Partial<DeletionRequest> = {}): DeletionRequest => ({
  repository: { registryId: ACCOUNT, region: REGION, name: 'team/app' },
  caller: 'gate-removal',
  mode: 'enforce',
  runId: 'run-1',
  now: NOW,
  selection: selectionFor(managedConfig, 'team/app'),
  inUse: { digests: new Map(), tags: new Map() },
  allowance: 10,
  candidates: [
    {
      digest: digestOf('a'),
      tags: ['v1'],
      pushedAt: new Date(NOW.getTime() - 3 * DAY_MS).toISOString(),
      sizeBytes: 42,
      rulePriority: null,
      reasons: ['scan gate FAIL: 1 CRITICAL'],
    },
  ],
  ...over,
});

describe('runDeletion', () => {
  it("reads the breaker once, writes the PENDING record, deletes, then records DELETED with the caller's reasons", async () => {
    // Prepare
    const f = fakePorts();

    // Act
    const result = await runDeletion(deletion(), f.ports);

    // Assess
    expect(f.journal).toEqual(['breaker', 'audit:PENDING', 'delete:1', 'audit:DELETED']);
    expect(result).toMatchObject({ deleted: 1, planned: 0, bytesReclaimed: 42, failures: [], kept: {} });
    expect(f.signals.map((s) => [s.status, s.evidence, s.actor])).toEqual([
      [
        'PENDING',
        'steward-write-ahead',
        { type: 'ecr-steward', runId: 'run-1', rulePriority: null, reasons: ['scan gate FAIL: 1 CRITICAL'] },
      ],
      [
        'DELETED',
        'steward-delete',
        { type: 'ecr-steward', runId: 'run-1', rulePriority: null, reasons: ['scan gate FAIL: 1 CRITICAL'] },
      ],
    ]);
  });

  it('records PLANNED at the run time and calls neither the breaker nor ECR in dry-run mode', async () => {
    // Prepare
    const f = fakePorts();

    // Act
    const result = await runDeletion(deletion({ mode: 'dry-run' }), f.ports);

    // Assess
    expect(f.journal).toEqual(['audit:PLANNED']);
    expect(f.signals[0]).toMatchObject({ status: 'PLANNED', at: NOW.toISOString(), sizeBytes: 42 });
    expect(result.planned).toBe(1);
  });

  it('deletes nothing and records nothing in a repository no selection manages', async () => {
    // Prepare
    const f = fakePorts();

    // Act
    const result = await runDeletion(deletion({ selection: undefined }), f.ports);

    // Assess
    expect(f.journal).toEqual([]);
    expect(result.kept).toEqual({ 'not-managed': 1 });
  });

  it('deletes nothing when the breaker is open, and reports the breaker', async () => {
    // Prepare
    const f = fakePorts({ breakerOpen: true });

    // Act
    const result = await runDeletion(deletion(), f.ports);

    // Assess
    expect(f.journal).toEqual(['breaker']);
    expect(result.breaker).toEqual({ scope: 'registry', reason: 'burst' });
    expect(result.kept).toEqual({ 'breaker-open': 1 });
  });

  it("keeps an image younger than the selection's minimum age, whoever asks", async () => {
    // Prepare
    const f = fakePorts();
    const young = {
      ...deletion().candidates[0]!,
      pushedAt: new Date(NOW.getTime() - 3_600_000).toISOString(),
    };

    // Act
    const results = await Promise.all(
      DELETION_CALLERS.map((caller) => runDeletion(deletion({ caller, candidates: [young] }), f.ports)),
    );

    // Assess
    expect(f.deleteCalls).toEqual([]);
    expect(results.map((r) => r.kept)).toEqual(DELETION_CALLERS.map(() => ({ 'min-age': 1 })));
  });
});

describe('every destructive caller', () => {
  const TAGS = ['latest', 'v1', 'v2', 'prod-1', 'dev', 'x'];
  const tag = fc.constantFrom(...TAGS);

  /**
   * The invariant, through the real callers: for random configs, images and callers, no image outside
   * a managed selection, held, in use, protected or younger than the minimum age ever reaches BatchDeleteImage.
   */
  it('never passes an unmanaged, held, in-use, protected or too young image to BatchDeleteImage', async () => {
    const scenario = fc.record({
      repository: fc.constantFrom('team/app', 'other/app', 'team/api'),
      glob: fc.constantFrom('team/*', 'team/app', 'nothing/*'),
      images: fc.uniqueArray(
        fc.record({
          n: fc.nat({ max: 40 }),
          tags: fc.uniqueArray(tag, { maxLength: 2 }),
          age: fc.integer({ min: 0, max: 60 }),
        }),
        { selector: (i) => i.n, minLength: 1, maxLength: 15 },
      ),
      heldTags: fc.uniqueArray(tag, { maxLength: 2 }),
      heldDigests: fc.uniqueArray(fc.nat({ max: 40 }), { maxLength: 2 }),
      inUseDigests: fc.uniqueArray(fc.nat({ max: 40 }), { maxLength: 3 }),
      inUseTags: fc.uniqueArray(tag, { maxLength: 2 }),
      protectedTags: fc.uniqueArray(fc.constantFrom('latest', 'prod-*', '^v\\d$'), { maxLength: 2 }),
      minAgeDays: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
      keep: fc.integer({ min: 1, max: 3 }),
      caller: fc.constantFrom(...DELETION_CALLERS),
    });
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const config = validateConfig({
          mode: 'enforce',
          selections: [
            {
              repositories: [s.glob],
              lifecyclePolicy: keepNewest(s.keep),
              steward: {
                holds: [
                  ...s.heldTags.map((t) => ({ tag: t, owner: 'o', reason: 'r' })),
                  ...s.heldDigests.map((n) => ({ digest: digestOf(`i${n}`), owner: 'o', reason: 'r' })),
                ],
                protectedTags: s.protectedTags,
                ...(s.minAgeDays === undefined ? {} : { minAgeDays: s.minAgeDays }),
              },
            },
          ],
        });
        const images = s.images.map((i) => image(`i${i.n}`, { age: i.age, tags: i.tags }));
        const inUseRefs: ImageReference[] = [
          ...s.inUseDigests.map((n) => ({
            registryId: ACCOUNT,
            region: REGION,
            repository: s.repository,
            digest: digestOf(`i${n}`),
            where: 'ecs',
          })),
          ...s.inUseTags.map((t) => ({
            registryId: ACCOUNT,
            region: REGION,
            repository: s.repository,
            tag: t,
            where: 'lambda',
          })),
        ];
        const selection = selectionFor(config, s.repository);
        const deleted: string[] = [];
        if (s.caller === 'lifecycle') {
          // The cleanup core, as the worker and the CLI run it.
          const h = harness();
          h.registry.add(s.repository, { images });
          h.inUseRefs = inUseRefs;
          await cleanupRepository(config, request({ repository: s.repository }), h.ports());
          deleted.push(...h.registry.deleteCalls.flat());
        } else {
          // The gate's removals, the expiry, due deletions and manual requests: every image asked for at once.
          const f = fakePorts();
          await runDeletion(
            {
              repository: { registryId: ACCOUNT, region: REGION, name: s.repository },
              caller: s.caller,
              mode: 'enforce',
              runId: 'run-p',
              now: NOW,
              selection,
              inUse: {
                digests: new Map(s.inUseDigests.map((n) => [digestOf(`i${n}`), ['ecs']])),
                tags: new Map(s.inUseTags.map((t) => [t, ['lambda']])),
              },
              allowance: 1000,
              candidates: images.map((i) => ({
                digest: i.digest,
                tags: i.tags,
                pushedAt: new Date(i.pushedAt).toISOString(),
                sizeBytes: i.sizeBytes,
                rulePriority: null,
                reasons: ['asked'],
              })),
            },
            f.ports,
          );
          deleted.push(...f.deleteCalls.flat());
        }
        const tests = s.protectedTags.map(compileTagSelectorTest);
        for (const digest of deleted) {
          const img = images.find((i) => i.digest === digest)!;
          expect(selection).toBeDefined();
          expect(holdOn(selection?.steward?.holds ?? [], img, NOW.getTime())).toBeUndefined();
          expect(
            inUseRefs.some((r) => r.digest === digest || (r.tag !== undefined && img.tags.includes(r.tag))),
          ).toBe(false);
          expect(img.tags.some((t) => tests.some((test) => test(t)))).toBe(false);
          if (s.minAgeDays !== undefined)
            expect(NOW.getTime() - img.pushedAt).toBeGreaterThanOrEqual(s.minAgeDays * DAY_MS);
        }
      }),
      { numRuns: 300 },
    );
  });
});
