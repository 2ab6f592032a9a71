/**
 * Re-verification before a delete (`reverify`): a plan made on an older listing (the CLI's confirmed preview)
 * deletes only the images ECR still shows as the plan saw them, each batch described again by digest right
 * before its write-ahead records; a changed image gets no record and no delete call.
 */
import { describe, expect, it } from 'vitest';
import type { DeleteSignal } from '../../functions/shared/audit/records.js';
import { selectionFor, validateConfig } from '../../functions/shared/config/load.js';
import { type DeletionCandidate, runDeletion } from '../../functions/shared/deletion/run.js';
import { changedSince, type SafeDeletePorts } from '../../functions/shared/deletion/safe-delete.js';
import type { Image } from '../../functions/shared/lifecycle/types.js';
import { ACCOUNT, REGION } from '../cleanup/fakes.js';
import { DAY_MS, digestOf, keepNewest, NOW } from '../fixtures/images.js';

const PUSHED = NOW.getTime() - 10 * DAY_MS;

const config = validateConfig({
  mode: 'enforce',
  selections: [{ repositories: ['team/*'], lifecyclePolicy: keepNewest(1) }],
});

const candidate = (name: string, tags: string[] = []): DeletionCandidate => ({
  digest: digestOf(name),
  tags,
  pushedAt: new Date(PUSHED).toISOString(),
  sizeBytes: 10,
  rulePriority: 1,
  reasons: ['rule 1'],
});

const current = (name: string, over: Partial<Image> = {}): Image => ({
  digest: digestOf(name),
  tags: [],
  pushedAt: PUSHED,
  sizeBytes: 10,
  status: 'ACTIVE',
  ...over,
});

/** Ports over a registry that shows `now` when asked by digest; every call in one journal. */
function fakePorts(now: readonly Image[]) {
  const journal: string[] = [];
  const signals: DeleteSignal[] = [];
  const shown = new Map(now.map((i) => [i.digest, i]));
  const ports: SafeDeletePorts = {
    registry: {
      async imagesByDigest(_repository, digests) {
        journal.push(`describe:${digests.length}`);
        return new Map(digests.flatMap((d) => (shown.has(d) ? [[d, shown.get(d)!] as const] : [])));
      },
      async deleteImages(_repository, digests) {
        journal.push(`delete:${digests.length}`);
        return { deleted: [...digests], failures: [] };
      },
      async existingDigests() {
        return new Set<string>();
      },
    },
    audit: {
      async record(signal) {
        journal.push(`audit:${signal.status}`);
        signals.push(signal);
      },
    },
    breaker: {
      async firstOpen() {
        journal.push('breaker');
        return undefined;
      },
    },
  };
  return { ports, journal, signals };
}

const request = (candidates: DeletionCandidate[], reverify: boolean) => ({
  repository: { registryId: ACCOUNT, region: REGION, name: 'team/app' },
  caller: 'lifecycle' as const,
  mode: 'enforce' as const,
  runId: 'run-1',
  now: NOW,
  selection: selectionFor(config, 'team/app'),
  inUse: { digests: new Map(), tags: new Map() },
  allowance: 1000,
  candidates,
  reverify,
});

describe('changedSince', () => {
  it.each([
    ['unchanged (tag order aside)', { tags: ['b', 'a'] }, { tags: ['a', 'b'] }, undefined],
    ['re-tagged', { tags: ['a'] }, { tags: ['a', 'prod'] }, 'tags changed since the plan (a → a,prod)'],
    ['untagged since', { tags: ['a'] }, { tags: [] }, 'tags changed since the plan (a → untagged)'],
    ['pushed again', { tags: [] }, { pushedAt: PUSHED + 1000 }, 'pushed again since the plan'],
    ['pulled since', { tags: [] }, { lastPulledAt: NOW.getTime() }, 'pulled since the plan'],
  ])('says %s', (_name, seen, now, expected) => {
    expect(changedSince({ pushedAt: new Date(PUSHED).toISOString(), ...seen }, current('x', now))).toBe(
      expected,
    );
  });

  it('says an image that is gone is gone', () => {
    expect(changedSince({ tags: [] }, undefined)).toBe('no longer in the repository');
  });
});

describe('runDeletion with reverify', () => {
  it('describes each batch by digest before its write-ahead and deletes only the unchanged images', async () => {
    // Prepare: 150 candidates (two batches); one re-tagged, one pulled, one gone since the listing
    const names = Array.from({ length: 150 }, (_, i) => `img-${i}`);
    const shown = names
      .filter((n) => n !== 'img-120')
      .map((n) =>
        n === 'img-3'
          ? current(n, { tags: ['prod'] })
          : n === 'img-130'
            ? current(n, { lastPulledAt: NOW.getTime() })
            : current(n),
      );
    const f = fakePorts(shown);

    // Act
    const result = await runDeletion(
      request(
        names.map((n) => candidate(n)),
        true,
      ),
      f.ports,
    );

    // Assess
    expect(f.journal.filter((j) => !j.startsWith('audit'))).toEqual([
      'breaker',
      'describe:100',
      'delete:99',
      'breaker',
      'describe:50',
      'delete:48',
    ]);
    expect(result.deleted).toBe(147);
    expect(result.changed).toEqual([
      { digest: digestOf('img-3'), reason: 'tags changed since the plan (untagged → prod)' },
      { digest: digestOf('img-120'), reason: 'no longer in the repository' },
      { digest: digestOf('img-130'), reason: 'pulled since the plan' },
    ]);
    const touched = new Set(f.signals.map((s) => s.digest));
    for (const n of ['img-3', 'img-120', 'img-130']) expect(touched.has(digestOf(n))).toBe(false);
    expect(f.signals.filter((s) => s.status === 'PENDING')).toHaveLength(147);
  });

  it('makes no extra call without reverify', async () => {
    const f = fakePorts([current('a', { tags: ['prod'] })]);

    const result = await runDeletion(request([candidate('a')], false), f.ports);

    expect(f.journal).toEqual(['breaker', 'audit:PENDING', 'delete:1', 'audit:DELETED']);
    expect(result.deleted).toBe(1);
  });

  it('refuses to delete on an unverifiable plan when the registry cannot describe by digest', async () => {
    const f = fakePorts([]);
    const { imagesByDigest: _, ...registry } = f.ports.registry;

    await expect(runDeletion(request([candidate('a')], true), { ...f.ports, registry })).rejects.toThrow(
      're-verification before a delete needs a registry that describes images by digest',
    );
    expect(f.journal).toEqual(['breaker']);
  });
});
