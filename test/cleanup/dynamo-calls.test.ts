/**
 * The DynamoDB calls of a cleanup run as the worker wires it (functions/cleanup/run.ts over the real stores on
 * dynalite; ECR in memory, nothing in use): what each call is for, and which ones the repositories a worker
 * cleans at once share. A safety read or write is never shared with a caller that asked after it was sent
 * (test/state/coalesce.test.ts); each repository writes its own transactions.
 */
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CleanupRequest, cleanupRepository } from '../../functions/cleanup/core.js';
import { cleanupPorts } from '../../functions/cleanup/run.js';
import { AuditStore, type documentClient } from '../../functions/shared/audit/store.js';
import { StewardPorts } from '../../functions/shared/runtime/ports.js';
import { ACCOUNT, REGION, testConfig } from '../audit/helpers.js';
import { images, MemoryRegistry } from '../audit/registry.js';
import { createHoldsTable, type Dynamo, journaled, startDynamo, type Tables } from '../support/dynamo.js';

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
  tables = await db.createTables('dynamo-calls');
  holds = `${tables.state}-holds`;
  await createHoldsTable(db.client, holds);
});

const config = testConfig();
const NOW = new Date('2026-06-10T12:00:00.000Z');

/**
 * A document client that notes each call: command, table kind, index, and the number of keys or items. In
 * `lockstep`, the answers of calls made together are held until the last of them is answered, then given at
 * once: each call takes the same time, as in the cloud, so repositories cleaned at once stay abreast.
 */
function journaledCalls(lockstep = false): { doc: ReturnType<typeof documentClient>; calls: string[] } {
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
  const kind = (table: string | undefined) =>
    table === tables.audit ? 'audit' : table === tables.state ? 'state' : table === holds ? 'holds' : '?';
  return journaled(db.client, {
    label: (command) => {
      const input = command.input as {
        TableName?: string;
        IndexName?: string;
        RequestItems?: Record<string, unknown[] | { Keys: unknown[] }>;
        TransactItems?: { Put?: { TableName?: string } }[];
      };
      const name = command.constructor.name.replace(/Command$/, '');
      if (command instanceof TransactWriteCommand)
        return `${name} ${kind(input.TransactItems?.[0]?.Put?.TableName)} ×${input.TransactItems?.length}`;
      if (input.RequestItems) {
        const [table, request] = Object.entries(input.RequestItems)[0]!;
        const n = Array.isArray(request) ? request.length : request.Keys.length;
        return `${name} ${kind(table)} ×${n}`;
      }
      return `${name} ${kind(input.TableName)}${input.IndexName ? ` ${input.IndexName}` : ''}`;
    },
    ...(lockstep ? { around: abreast } : {}),
  });
}

/** Repositories of five images each: the policy keeps the newest two, so three expire. */
function registryOf(names: readonly string[]): MemoryRegistry {
  const registry = new MemoryRegistry();
  for (const name of names) registry.add(name, images(name.replace('/', '-'), 5, NOW));
  return registry;
}

/** Cleans `names` at the same time through one set of ports, as the worker cleans a batch's repositories. */
async function clean(
  names: readonly string[],
  doc: ReturnType<typeof documentClient>,
  registry: MemoryRegistry,
  cfg = config,
) {
  const ports = new StewardPorts(cfg, {
    tables: { audit: tables.audit, state: tables.state, holds },
    clients: { doc },
  });
  const budget = { remaining: 1000 };
  return Promise.all(
    names.map((repository) => {
      const request: CleanupRequest = {
        repository,
        region: REGION,
        runId: 'run-1',
        now: NOW,
        trigger: 'sweep',
        budget,
      };
      const wired = cleanupPorts(ports, { accountId: ACCOUNT, region: REGION, runId: 'run-1', now: NOW });
      return cleanupRepository(cfg, request, {
        ...wired,
        registry,
        inUse: async () => [],
        notify: async () => {},
      });
    }),
  );
}

describe('the DynamoDB calls of a cleanup run', () => {
  it('cleans a repository seen for the first time, three images to expire, in seven calls', async () => {
    // Prepare
    const { doc, calls } = journaledCalls();
    const registry = registryOf(['services/orders']);

    // Act
    const [report] = await clean(['services/orders'], doc, registry);

    // Assess
    expect(report).toMatchObject({ outcome: 'done', expired: 3 });
    expect(calls).toEqual([
      // The repository's holds: one consistent Query of its partition (fail safe: unreadable, nothing deleted).
      'Query holds',
      // Reconciliation: the previous snapshot; then the repository's records in one page (PENDING to settle,
      // open records); then the snapshot with the image count.
      'BatchGet state ×1',
      'Query audit byRepository',
      'BatchWrite state ×2',
      // The breaker, read consistently before the delete batch; the write-ahead; (BatchDeleteImage); the settle.
      'BatchGet state ×2',
      'TransactWrite audit ×3',
      'TransactWrite audit ×3',
    ]);
  });

  it('keeps an image whose record already says DELETED, known from the records page of its reconciliation (no other read)', async () => {
    // Prepare: a notice period; one of the three images to expire was deleted once (its record says so) and pushed again.
    const governed = testConfig({ governance: { notice: { hours: 24 } } });
    const registry = registryOf(['services/orders']);
    const [again, ...others] = registry
      .images('services/orders')
      .slice(2)
      .map((i) => i.digest);
    await new AuditStore(db.doc, tables.audit).record({
      registryId: ACCOUNT,
      region: REGION,
      repository: 'services/orders',
      digest: again!,
      status: 'DELETED',
      at: '2026-06-01T00:00:00.000Z',
      evidence: 'cloudtrail-batch-delete',
      tags: [],
      actor: { principal: 'arn:aws:iam::123456789012:user/alice' },
    });
    const { doc, calls } = journaledCalls();

    // Act
    const [report] = await clean(['services/orders'], doc, registry, governed);

    // Assess: two notices given; the third image kept, and said why
    expect(report).toMatchObject({ outcome: 'done', expired: 0, scheduled: 2 });
    expect(report!.warnings).toContain(
      'the deletion guard kept images the plan would expire: audit-settled 1',
    );
    expect(calls.filter((c) => c.includes('audit'))).toEqual([
      'Query audit byRepository',
      // The two SCHEDULED notices, one transaction.
      'TransactWrite audit ×2',
    ]);
    expect(others).toHaveLength(2);
  });

  it('runs again on the same repository with the same reads, and looks up the records of the images that vanished', async () => {
    // Prepare: a first run, then two more images to expire
    const registry = registryOf(['services/orders']);
    await clean(['services/orders'], db.doc, registry);
    registry.add('services/orders', [...registry.images('services/orders'), ...images('later', 2, NOW)]);
    const { doc, calls } = journaledCalls();

    // Act
    const [report] = await clean(['services/orders'], doc, registry);

    // Assess: the three images the first run deleted vanished from its snapshot: their records are read
    expect(report).toMatchObject({ outcome: 'done', expired: 2 });
    expect(calls).toEqual([
      'Query holds',
      'BatchGet state ×1',
      'Query audit byRepository',
      'Get audit',
      'Get audit',
      'Get audit',
      'BatchWrite state ×2',
      'BatchGet state ×2',
      'TransactWrite audit ×2',
      'TransactWrite audit ×2',
    ]);
  });

  it('shares the snapshot loads and saves and the breaker reads of repositories cleaned at once, not the transactions', async () => {
    // Prepare
    const { doc, calls } = journaledCalls(true);
    const names = ['services/a', 'services/b', 'services/c'];
    const registry = registryOf(names);

    // Act
    const reports = await clean(names, doc, registry);

    // Assess: the Queries stay one per repository (a Query reads one partition); each repository writes its
    // write-ahead and its settle in transactions of its own
    expect(reports.map((r) => [r.outcome, r.expired])).toEqual(names.map(() => ['done', 3]));
    expect(calls).toEqual([
      'Query holds',
      'Query holds',
      'Query holds',
      'BatchGet state ×3',
      'Query audit byRepository',
      'Query audit byRepository',
      'Query audit byRepository',
      'BatchWrite state ×6',
      'BatchGet state ×4',
      'TransactWrite audit ×3',
      'TransactWrite audit ×3',
      'TransactWrite audit ×3',
      'TransactWrite audit ×3',
      'TransactWrite audit ×3',
      'TransactWrite audit ×3',
    ]);
    for (const name of names) expect(registry.images(name)).toHaveLength(2);
  });
});
