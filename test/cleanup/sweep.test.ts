import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sweepMessageSchema } from '../../functions/cleanup/schema.js';
import { dedupId, type SweepPorts, sweep } from '../../functions/cleanup/sweep.js';
import type { RepositoryInfo } from '../../functions/shared/adapters/ecr.js';
import { validateConfig } from '../../functions/shared/config/load.js';
import { keepNewest, NOW } from '../fixtures/images.js';

const ACCOUNT = '123456789012';
const RUN = 'sweep-20260601T120000-1a2b3c4d';
const repo = (name: string): RepositoryInfo => ({
  name,
  arn: `arn:aws:ecr:us-west-2:${ACCOUNT}:repository/${name}`,
  registryId: ACCOUNT,
});

/** SQS's alphabet for MessageDeduplicationId: alphanumerics and punctuation, at most 128 characters. */
const SQS_DEDUP_ID = /^[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]{1,128}$/;

type Entry = Parameters<SweepPorts['sendBatch']>[0][number];

/** Ports over a fixed list of repositories; `fail` says which entries of which call fail. */
function ports(
  repositories: RepositoryInfo[],
  opts: { tags?: Map<string, Record<string, string>>; fail?: (call: number, entry: Entry) => boolean } = {},
) {
  const calls: Entry[][] = [];
  let tagReads = 0;
  const p: SweepPorts = {
    listRepositories: async () => repositories,
    repositoryTags: async () => {
      tagReads++;
      return opts.tags ?? new Map();
    },
    sendBatch: async (entries) => {
      calls.push(entries.map((e) => ({ ...e })));
      const n = calls.length;
      return entries.filter((e) => opts.fail?.(n, e)).map((e) => e.id);
    },
  };
  return { p, calls, tagReads: () => tagReads };
}

const byName = (globs: string[]) =>
  validateConfig({ selections: [{ repositories: globs, lifecyclePolicy: keepNewest(5) }] });

describe('sweep', () => {
  it('enqueues the managed half of 10,000 repositories in 500 SendMessageBatch calls of 10', async () => {
    // Prepare
    const repositories = Array.from({ length: 10_000 }, (_, i) =>
      repo(i % 2 === 0 ? `services/svc-${i}` : `scratch/s-${i}`),
    );
    const { p, calls, tagReads } = ports(repositories);

    // Act
    const report = await sweep(byName(['services/*']), RUN, NOW, p);

    // Assess
    expect(report).toEqual({
      runId: RUN,
      repositories: 10_000,
      managed: 5_000,
      enqueued: 5_000,
      sendCalls: 500,
    });
    expect(calls).toHaveLength(500);
    expect(calls.every((c) => c.length === 10)).toBe(true);
    const entries = calls.flat();
    expect(new Set(entries.map((e) => e.groupId)).size).toBe(5_000);
    expect(entries.every((e) => e.groupId.startsWith('services/'))).toBe(true);
    expect(tagReads()).toBe(0);
  });

  it('enqueues 10,000 managed repositories in 1,000 calls, one message per repository, grouped by repository', async () => {
    // Prepare
    const repositories = Array.from({ length: 10_000 }, (_, i) => repo(`team-${i % 37}/app-${i}`));
    const { p, calls } = ports(repositories);

    // Act
    const report = await sweep(byName(['team-*']), RUN, NOW, p);

    // Assess
    expect(report.sendCalls).toBe(1_000);
    expect(calls.map((c) => c.length)).toEqual(Array(1_000).fill(10));
    const entries = calls.flat();
    expect(entries.map((e) => e.groupId).sort()).toEqual(repositories.map((r) => r.name).sort());
    for (const entry of entries) {
      expect(JSON.parse(entry.body)).toEqual({
        kind: 'sweep',
        repository: entry.groupId,
        runId: RUN,
        at: NOW.toISOString(),
      });
      expect(sweepMessageSchema.safeParse(JSON.parse(entry.body)).success).toBe(true);
      expect(entry.deduplicationId).toMatch(SQS_DEDUP_ID);
    }
    expect(calls.every((c) => new Set(c.map((e) => e.id)).size === c.length)).toBe(true);
  });

  it('re-sends only the failed entries of a batch, with the same ids and deduplication ids', async () => {
    // Prepare
    const repositories = Array.from({ length: 25 }, (_, i) =>
      repo(`services/s${String(i).padStart(2, '0')}`),
    );
    const { p, calls } = ports(repositories, {
      fail: (call, e) => call === 1 && (e.id === '3' || e.id === '7'),
    });

    // Act
    const report = await sweep(byName(['services/*']), RUN, NOW, p);

    // Assess
    expect(report).toMatchObject({ managed: 25, enqueued: 25, sendCalls: 4 });
    const first = calls[0]!;
    const retry = calls.find((c) => c.length === 2)!;
    expect(retry).toEqual([first[3], first[7]]);
    const delivered = calls.flat().filter((e, i, all) => all.findIndex((x) => x.groupId === e.groupId) === i);
    expect(delivered).toHaveLength(25);
  });

  it('fails the sweep, naming what is left, when entries keep failing for 5 attempts', async () => {
    // Prepare
    const { p, calls } = ports([repo('services/a'), repo('services/b')], {
      fail: (_call, e) => e.id === '1',
    });

    // Act
    const result = sweep(byName(['services/*']), RUN, NOW, p);

    // Assess
    await expect(result).rejects.toThrow(`sweep ${RUN}: 1 messages could not be enqueued after 5 attempts`);
    expect(calls.map((c) => c.length)).toEqual([2, 1, 1, 1, 1]);
  });

  it('reads repository tags once and enqueues the tag-selected repositories', async () => {
    // Prepare
    const repositories = [repo('a/one'), repo('a/two'), repo('b/three')];
    const tags = new Map<string, Record<string, string>>([
      [repositories[0]!.arn, { steward: 'managed' }],
      [repositories[2]!.arn, { steward: 'managed', team: 'x' }],
    ]);
    const config = validateConfig({
      selections: [{ repositoryTags: { steward: 'managed' }, lifecyclePolicy: 'fromRepository' }],
    });
    const { p, calls, tagReads } = ports(repositories, { tags });

    // Act
    const report = await sweep(config, RUN, NOW, p);

    // Assess
    expect(tagReads()).toBe(1);
    expect(report).toMatchObject({ repositories: 3, managed: 2, sendCalls: 1 });
    expect(calls[0]?.map((e) => e.groupId)).toEqual(['a/one', 'b/three']);
  });

  it('sends nothing when no repository is managed', async () => {
    // Prepare
    const { p, calls } = ports([repo('scratch/a')]);

    // Act
    const report = await sweep(byName(['services/*']), RUN, NOW, p);

    // Assess
    expect(report).toEqual({ runId: RUN, repositories: 1, managed: 0, enqueued: 0, sendCalls: 0 });
    expect(calls).toEqual([]);
  });
});

describe('dedupId', () => {
  it('keeps a short id of the SQS alphabet unchanged', () => {
    expect(dedupId('13cde686-328b-6117-af20-0e5566167482')).toBe('13cde686-328b-6117-af20-0e5566167482');
    expect(dedupId(`sweep#${RUN}#services/orders`)).toBe(`sweep#${RUN}#services/orders`);
  });

  it('hashes a long id down to exactly 128 characters', () => {
    // Prepare
    const raw = `sweep#${RUN}#${'a/'.repeat(128)}`;

    // Act
    const id = dedupId(raw);

    // Assess
    expect(id).toHaveLength(128);
    expect(id.startsWith(raw.slice(0, 63))).toBe(true);
  });

  it('returns at most 128 characters of the SQS alphabet, deterministically, for any input', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 600, unit: 'grapheme' }), (raw) => {
        const id = dedupId(raw);
        expect(id).toMatch(SQS_DEDUP_ID);
        expect(dedupId(raw)).toBe(id);
      }),
    );
  });

  it('keeps long ids apart when they differ only after the kept prefix', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 80 }),
        fc.string({ minLength: 1, maxLength: 80 }),
        (a, b) => {
          fc.pre(a !== b);
          const prefix = `sweep#${RUN}#${'x'.repeat(130)}`;
          expect(dedupId(prefix + a)).not.toBe(dedupId(prefix + b));
        },
      ),
    );
  });
});
