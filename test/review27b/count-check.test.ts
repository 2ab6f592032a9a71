/**
 * Review 27b, findings 4 and 5, fixed (countDeletions, functions/audit/core.ts; RateCounters, functions/shared/state/
 * counters.ts): a batch's deletions are added to their counters before any threshold is checked, and a
 * redelivery never adds them again. So every counter that was added must be checked in this invocation:
 * - a threshold check that throws (the repository's image count unreadable) ends the loop, and the thresholds
 *   after it (another counter, already added) are never checked;
 * - an add whose ADD landed but whose sample append (a second UpdateItem) failed throws, and the caller takes
 *   the counter as not added: its count, past the limit, is never checked.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { countDeletions } from '../../functions/audit/core.js';
import type { AuditRecord } from '../../functions/shared/audit/records.js';
import { documentClient } from '../../functions/shared/audit/store.js';
import { registryScope, repositoryScope } from '../../functions/shared/state/breaker.js';
import { RateCounters } from '../../functions/shared/state/counters.js';
import { auditPorts, digestOf, REPO, testConfig } from '../audit/helpers.js';
import { type Dynamo, startDynamo, type Tables } from '../support/dynamo.js';

let db: Dynamo;
let tables: Tables;
beforeAll(async () => {
  db = await startDynamo();
});
afterAll(async () => {
  await db.close();
});
beforeEach(async () => {
  tables = await db.createTables('review27b-check');
});

const NOW = new Date('2026-06-01T12:03:00.000Z');
const START = '2026-06-01T12:00:00.000Z';

async function deleted(n: number, label: string): Promise<AuditRecord[]> {
  const ports = auditPorts(db.doc, tables);
  const out: AuditRecord[] = [];
  for (let i = 0; i < n; i++) {
    const { record } = await ports.store.record({
      registryId: '123456789012',
      region: 'us-west-2',
      repository: REPO,
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

describe('review 27b: countDeletions checks every counter it added', () => {
  it('checks the registry threshold when the check of a repository threshold before it throws', async () => {
    // Prepare: a share-of-images threshold whose image count cannot be read, then a registry limit of 2
    const config = testConfig({
      alerts: {
        thresholds: [
          { scope: 'repository', window: '5m', maxPercentOfImages: 10 },
          { scope: 'registry', window: '5m', maxDeletes: 2 },
        ],
        breaker: { enabled: true },
      },
    });
    const ports = auditPorts(db.doc, tables, { now: () => NOW });
    const real = ports.counters;
    const counters = Object.assign(Object.create(real) as RateCounters, {
      repositoryImageCount: async () => {
        throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
      },
    });
    const records = await deleted(3, 'check');

    // Act (the handler fails the batch on the error; its redelivery adds nothing and checks nothing)
    await countDeletions(
      config,
      records.map((record, group) => ({ record, group })),
      NOW,
      { ...ports, counters },
    ).catch(() => undefined);

    // Assess: the registry counter was added (3 > 2)...
    expect((await real.get({ scope: registryScope, window: '5m', start: START }))?.count).toBe(3);
    // ...so its crossing must have been checked: breaker open and the alert sent.
    expect(await ports.breaker.get(registryScope)).toMatchObject({ state: 'open' });
    expect(ports.published.map((p) => p.subject)).toEqual([
      'ECR Steward: 3 image deletions in the registry within 5m (limit 2)',
    ]);
  });

  it('checks a counter whose ADD landed though appending its samples failed', async () => {
    // Prepare: the window holds 23 deletions already; a batch of 3 takes it to 26, past a limit of 24. The
    // batch's samples do not all fit, so the ADD and the 2 samples that fit go in two updates; the second fails.
    const config = testConfig({
      alerts: {
        thresholds: [{ scope: 'repository', window: '5m', maxDeletes: 24 }],
        breaker: { enabled: true },
      },
    });
    const key = { scope: repositoryScope(REPO), window: '5m' as const, start: START };
    const real = new RateCounters(db.doc, tables.state);
    await real.addMany(
      key,
      Array.from({ length: 23 }, (_, i) => ({
        repository: REPO,
        digest: digestOf(`old-${i}`),
        actor: 'unknown',
      })),
    );
    const doc = documentClient(db.client);
    const send = doc.send.bind(doc) as (command: unknown) => Promise<unknown>;
    doc.send = (async (command: { constructor: { name: string }; input: { UpdateExpression?: string } }) => {
      if (
        command.constructor.name === 'UpdateCommand' &&
        command.input.UpdateExpression?.startsWith('SET samples')
      )
        throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
      return send(command);
    }) as typeof doc.send;
    const ports = auditPorts(db.doc, tables, { now: () => NOW });
    const counters = new RateCounters(doc, tables.state);
    const records = await deleted(3, 'append');

    // Act
    await countDeletions(
      config,
      records.map((record, group) => ({ record, group })),
      NOW,
      { ...ports, counters },
    ).catch(() => undefined);

    // Assess: the ADD landed (26 > 24)...
    expect((await real.get(key))?.count).toBe(26);
    // ...so the crossing must have been checked and alerted; a redelivery will not add these deletions again.
    expect(await ports.breaker.get(key.scope)).toMatchObject({ state: 'open' });
    expect(ports.published).toHaveLength(1);
  });
});
