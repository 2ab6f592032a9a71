/**
 * countDeletions (functions/audit/core.ts): a batch's new deletions counted with one ADD per scope, window and
 * window start, and a threshold crossed by the batch alerted once and opening the breaker once, as counting
 * them one by one would (test/audit/rates.test.ts).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countDeletions } from '../../functions/audit/core.js';
import type { AuditRecord } from '../../functions/shared/audit/records.js';
import { repositoryScope } from '../../functions/shared/state/breaker.js';
import type { RateCounters } from '../../functions/shared/state/counters.js';
import { type Dynamo, startDynamo, type Tables } from '../support/dynamo.js';
import { auditPorts, digestOf, REPO, testConfig } from './helpers.js';

let db: Dynamo;
let tables: Tables;
beforeAll(async () => {
  db = await startDynamo();
});
afterAll(async () => {
  await db.close();
});
beforeEach(async () => {
  tables = await db.createTables('count-batch');
});

const NOW = new Date('2026-06-01T12:03:00.000Z');
const config = testConfig({
  alerts: { thresholds: [{ scope: 'repository', window: '5m', maxDeletes: 2 }], breaker: { enabled: true } },
});

/** One DELETED record in each of `repositories`, in order (a repository named twice gets two). */
async function deletedIn(repositories: readonly string[], label = 'count'): Promise<AuditRecord[]> {
  const ports = auditPorts(db.doc, tables);
  const out: AuditRecord[] = [];
  for (const [i, repository] of repositories.entries()) {
    const { record } = await ports.store.record({
      registryId: '123456789012',
      region: 'us-west-2',
      repository,
      digest: digestOf(`${label}-${i}`),
      status: 'DELETED',
      evidence: 'image-action-event',
      at: '2026-06-01T12:01:00.000Z',
      eventId: `${label}-ev-${i}`,
    });
    out.push(record!);
  }
  return out;
}

const deleted = (n: number) => deletedIn(Array.from({ length: n }, () => REPO));

/** `real` with its addMany replaced by `addMany` (which may call the real one). */
function withAddMany(real: RateCounters, addMany: RateCounters['addMany']): RateCounters {
  return Object.assign(Object.create(real) as RateCounters, { addMany });
}

describe('countDeletions', () => {
  it('adds a batch of deletions once per window and alerts and opens the breaker once when the batch crosses', async () => {
    // Prepare
    const ports = auditPorts(db.doc, tables, { now: () => NOW });
    const records = await deleted(3);
    const key = { scope: repositoryScope(REPO), window: '5m' as const, start: '2026-06-01T12:00:00.000Z' };

    // Act
    const crossings = await countDeletions(
      config,
      records.map((record, group) => ({ record, group })),
      NOW,
      ports,
    );
    const again = await countDeletions(config, [{ record: records[0]!, group: 0 }], NOW, ports);

    // Assess
    expect(crossings).toEqual([
      {
        crossing: {
          scope: key.scope,
          window: '5m',
          count: 3,
          limit: 2,
          threshold: 'repository-5m-2-',
          breakerOpened: true,
        },
        group: 2,
      },
    ]);
    expect(again).toEqual([]);
    expect(await ports.counters.get(key)).toEqual({
      count: 4,
      samples: [...records, records[0]!].map((r) => ({
        repository: REPO,
        digest: r.digest,
        actor: 'unknown',
        rulePriority: null,
      })),
    });
    expect(ports.published.map((p) => p.subject)).toEqual([
      `ECR Steward: 3 image deletions in repository ${REPO} within 5m (limit 2)`,
    ]);
    expect(await ports.breaker.get(key.scope)).toMatchObject({ state: 'open' });
  });
});

describe('countDeletions over many repositories', () => {
  it("adds a burst's counters ten at a time, each once, and checks the thresholds once all are in", async () => {
    // Prepare: one deletion in each of 24 repositories, three in a 25th (past its limit of 2).
    const ports = auditPorts(db.doc, tables, { now: () => NOW });
    const repositories = Array.from({ length: 25 }, (_, i) => `team/app-${String(i).padStart(2, '0')}`);
    const records = await deletedIn([...repositories, repositories[24]!, repositories[24]!], 'burst');
    const real = ports.counters;
    let inFlight = 0;
    let most = 0;
    const added: string[] = [];
    const counters = withAddMany(real, async (key, samples) => {
      inFlight++;
      most = Math.max(most, inFlight);
      added.push(`${key.scope} ${samples.length}`);
      try {
        await new Promise((r) => setTimeout(r, 5));
        return await real.addMany(key, samples);
      } finally {
        inFlight--;
      }
    });

    // Act
    const crossings = await countDeletions(
      config,
      records.map((record, group) => ({ record, group })),
      NOW,
      { ...ports, counters },
    );

    // Assess
    expect(most).toBe(10); // COUNT_CONCURRENCY
    expect(added).toEqual(repositories.map((r, i) => `${repositoryScope(r)} ${i === 24 ? 3 : 1}`));
    expect(crossings).toEqual([
      {
        crossing: {
          scope: repositoryScope(repositories[24]!),
          window: '5m',
          count: 3,
          limit: 2,
          threshold: 'repository-5m-2-',
          breakerOpened: true,
        },
        group: 26,
      },
    ]);
    const start = '2026-06-01T12:00:00.000Z';
    const counts = await Promise.all(
      repositories.map(
        async (r) => (await real.get({ scope: repositoryScope(r), window: '5m', start }))?.count,
      ),
    );
    expect(counts).toEqual(repositories.map((_, i) => (i === 24 ? 3 : 1)));
  });

  it('checks the thresholds of the counters it added when another add fails, then fails the batch', async () => {
    const ports = auditPorts(db.doc, tables, { now: () => NOW });
    const failing = 'team/flaky'; // first in the batch: the old loop failed before adding anything
    const crossing = 'team/crossing'; // three deletions, limit 2
    const records = await deletedIn([failing, crossing, crossing, crossing], 'fail');
    const real = ports.counters;
    const counters = withAddMany(real, async (key, samples) => {
      if (key.scope === repositoryScope(failing)) throw new Error('ProvisionedThroughputExceededException');
      return real.addMany(key, samples);
    });

    await expect(
      countDeletions(
        config,
        records.map((record, group) => ({ record, group })),
        NOW,
        { ...ports, counters },
      ),
    ).rejects.toThrow('ProvisionedThroughputExceededException');

    // The crossing repository's deletions were counted (3 > 2) and checked: a redelivery finds these records
    // DELETED and counts them no more.
    expect(
      (await real.get({ scope: repositoryScope(crossing), window: '5m', start: '2026-06-01T12:00:00.000Z' }))
        ?.count,
    ).toBe(3);
    expect(await ports.breaker.get(repositoryScope(crossing))).toMatchObject({ state: 'open' });
  });
});
