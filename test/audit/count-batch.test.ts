/**
 * countDeletions (functions/audit/core.ts): a batch's new deletions counted with one ADD per scope, window and
 * window start, and a threshold crossed by the batch alerted once and opening the breaker once, as counting
 * them one by one would (test/audit/rates.test.ts).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countDeletions } from '../../functions/audit/core.js';
import type { AuditRecord } from '../../functions/shared/audit/records.js';
import { repositoryScope } from '../../functions/shared/state/breaker.js';
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

async function deleted(n: number): Promise<AuditRecord[]> {
  const ports = auditPorts(db.doc, tables);
  const out: AuditRecord[] = [];
  for (let i = 0; i < n; i++) {
    const { record } = await ports.store.record({
      registryId: '123456789012',
      region: 'us-west-2',
      repository: REPO,
      digest: digestOf(`count-${i}`),
      status: 'DELETED',
      evidence: 'image-action-event',
      at: '2026-06-01T12:01:00.000Z',
      eventId: `ev-${i}`,
    });
    out.push(record!);
  }
  return out;
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
