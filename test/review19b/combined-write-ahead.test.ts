/**
 * Review 19b (e05a032, a37fc4c): three repositories cleaned at once share their write-ahead transaction
 * (TransactionCombiner). When another writer changes one repository's record between the run's read and its
 * write-ahead, that record's condition cancels the shared transaction: nothing of it lands, each repository then
 * writes alone, and still every image reaches BatchDeleteImage only with its PENDING record durable, and every
 * deleted image ends DELETED with the other writer's record merged, not overwritten. Real stores on dynalite.
 */
import { PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CleanupRequest, cleanupRepository } from '../../functions/cleanup/core.js';
import { cleanupPorts } from '../../functions/cleanup/run.js';
import { mergeSignal } from '../../functions/shared/audit/records.js';
import { AuditStore, documentClient } from '../../functions/shared/audit/store.js';
import { StewardPorts } from '../../functions/shared/runtime/ports.js';
import { ACCOUNT, REGION, testConfig } from '../audit/helpers.js';
import { images, MemoryRegistry } from '../audit/registry.js';
import { createHoldsTable, type Dynamo, startDynamo, type Tables } from '../support/dynamo.js';

let db: Dynamo;
let tables: Tables;
let holds: string;
beforeAll(async () => {
  db = await startDynamo();
});
afterAll(async () => {
  await db.close();
});
beforeEach(async () => {
  tables = await db.createTables('review19b-combined');
  holds = `${tables.state}-holds`;
  await createHoldsTable(db.client, holds);
});

const config = testConfig();
const NOW = new Date('2026-06-10T12:00:00.000Z');
const NAMES = ['services/a', 'services/b', 'services/c'] as const;

describe('shared write-ahead transactions of repositories cleaned at once', () => {
  it('a record changed by another writer cancels the shared transaction, and no image is deleted without its durable write-ahead', async () => {
    // Prepare: five images each, three expire. Just before the first transaction, another writer (an older run's
    // failure, say) creates the record of one of services/b's expiring images.
    const registry = new MemoryRegistry();
    for (const name of NAMES) registry.add(name, images(name.replace('/', '-'), 5, NOW));
    const expiring = (name: string) =>
      registry
        .images(name)
        .sort((x, y) => y.pushedAt - x.pushedAt)
        .slice(2)
        .map((i) => i.digest);
    const raced = expiring('services/b')[0]!;
    const other = mergeSignal(
      undefined,
      {
        registryId: ACCOUNT,
        region: REGION,
        repository: 'services/b',
        digest: raced,
        status: 'FAILED',
        evidence: 'steward-failure',
        at: '2026-06-09T12:00:00.000Z',
        actor: { type: 'ecr-steward', runId: 'run-0', rulePriority: 1 },
        failure: { code: 'KmsError', reason: 'earlier failure' },
      },
      '2026-06-09T12:00:00.000Z',
    )!;
    const doc = documentClient(db.client);
    const send = doc.send.bind(doc) as (command: unknown) => Promise<unknown>;
    const transactions: number[] = [];
    let raceDone = false;
    // Lockstep (as test/cleanup/dynamo-calls.test.ts): the answers of calls made together are given together, so
    // the three repositories stay abreast and their write-aheads meet in one transaction.
    let outstanding = 0;
    let held: (() => void)[] = [];
    const abreast = async <T>(call: Promise<T>): Promise<T> => {
      outstanding++;
      const out = await call.finally(() => outstanding--);
      await new Promise<void>((resolve) => {
        held.push(resolve);
        if (outstanding > 0) return;
        const answered = held;
        held = [];
        for (const give of answered) give();
      });
      return out;
    };
    doc.send = (async (command: unknown) => {
      if (command instanceof TransactWriteCommand) {
        if (!raceDone) {
          raceDone = true;
          await send(new PutCommand({ TableName: tables.audit, Item: other }));
        }
        transactions.push(command.input.TransactItems?.length ?? 0);
      }
      return abreast(send(command));
    }) as typeof doc.send;
    // At each delete call, the records of its digests as DynamoDB holds them.
    const reader = new AuditStore(db.doc, tables.audit);
    const atDelete: [string, string | undefined][] = [];
    const deleteImages = registry.deleteImages.bind(registry);
    registry.deleteImages = async (repository, digests) => {
      for (const digest of digests) {
        const r = await reader.get({ registryId: ACCOUNT, region: REGION, repository, digest });
        atDelete.push([digest, r?.status]);
      }
      return deleteImages(repository, digests);
    };
    const ports = new StewardPorts(config, {
      tables: { audit: tables.audit, state: tables.state, holds },
      clients: { doc },
    });
    const budget = { remaining: 1000 };

    // Act: the three at once, as the worker cleans a batch
    const reports = await Promise.all(
      NAMES.map((repository) => {
        const request: CleanupRequest = {
          repository,
          region: REGION,
          runId: 'run-1',
          now: NOW,
          trigger: 'sweep',
          budget,
        };
        const wired = cleanupPorts(ports, { accountId: ACCOUNT, region: REGION, runId: 'run-1', now: NOW });
        return cleanupRepository(config, request, { ...wired, registry, inUse: async () => [] });
      }),
    );

    // Assess: the shared write-ahead of 9 records was refused; the deletes all followed PENDING records
    expect(transactions[0]).toBe(9);
    // Then: each repository's 3 write-aheads alone, services/b's again after its re-read, and the 9 settles.
    expect(transactions.slice(1).reduce((a, b) => a + b, 0)).toBe(3 + 3 + 3 + 3 + 9);
    expect(reports.map((r) => r.expired)).toEqual([3, 3, 3]);
    expect(atDelete).toHaveLength(9);
    expect(atDelete.every(([, status]) => status === 'PENDING')).toBe(true);
    expect(budget.remaining).toBe(991);
    for (const name of NAMES)
      for (const digest of expiring(name)) {
        const r = await reader.get({ registryId: ACCOUNT, region: REGION, repository: name, digest });
        expect(r?.status).toBe('DELETED');
      }
    // The other writer's record was merged into, not overwritten: its evidence and event stay.
    const merged = await reader.get({
      registryId: ACCOUNT,
      region: REGION,
      repository: 'services/b',
      digest: raced,
    });
    expect(merged?.evidence).toEqual(['steward-delete', 'steward-failure', 'steward-write-ahead']);
    expect(merged?.version).toBe(3);
  });
});
