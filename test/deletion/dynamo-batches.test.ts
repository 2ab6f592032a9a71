/**
 * The destructive path's DynamoDB traffic (functions/shared/deletion/safe-delete.ts over the real AuditStore
 * and BreakerStore, on dynalite behind the local proxy's TransactWriteItems): per batch of 100 images one
 * consistent breaker read, one write-ahead transaction, one delete call and one settle transaction, in that
 * order, and the same records as ever.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DeleteOutcome } from '../../functions/shared/adapters/ecr.js';
import type { AuditRecord } from '../../functions/shared/audit/records.js';
import { AuditStore } from '../../functions/shared/audit/store.js';
import { selectionFor, validateConfig } from '../../functions/shared/config/load.js';
import { type DeletionRequest, runDeletion } from '../../functions/shared/deletion/run.js';
import { BreakerStore } from '../../functions/shared/state/breaker.js';
import { ACCOUNT, REGION } from '../cleanup/fakes.js';
import { DAY_MS, digestOf, keepNewest, NOW } from '../fixtures/images.js';
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
  tables = await db.createTables('batches');
});

const REPOSITORY = 'team/app';
const config = validateConfig({
  mode: 'enforce',
  selections: [{ repositories: ['team/*'], lifecyclePolicy: keepNewest(1) }],
});

/** The document client of the stores, journaling each command it sends (by name) with the ECR calls. */
function journaled(journal: string[]) {
  const doc = db.doc;
  const send = doc.send.bind(doc);
  return new Proxy(doc, {
    get(target, prop, receiver) {
      if (prop === 'send')
        return (
          command: { constructor: { name: string }; input: Record<string, unknown> },
          ...rest: unknown[]
        ) => {
          const items = (command.input.TransactItems as unknown[] | undefined)?.length;
          journal.push(`${command.constructor.name.replace('Command', '')}${items ? `:${items}` : ''}`);
          return (send as (...a: unknown[]) => unknown)(command, ...rest);
        };
      return Reflect.get(target, prop, receiver);
    },
  });
}

function setup(onDelete?: (digests: readonly string[]) => DeleteOutcome) {
  const journal: string[] = [];
  const doc = journaled(journal);
  const audit = new AuditStore(doc, tables.audit);
  const breaker = new BreakerStore(doc, tables.state);
  const ports = {
    registry: {
      async deleteImages(_repository: string, digests: readonly string[]) {
        journal.push(`BatchDeleteImage:${digests.length}`);
        return onDelete?.(digests) ?? { deleted: [...digests], failures: [] };
      },
      async existingDigests() {
        return new Set<string>();
      },
    },
    audit: {
      record: (s: Parameters<AuditStore['record']>[0]) => audit.record(s),
      recordAll: (s: Parameters<AuditStore['recordAll']>[0], k?: Parameters<AuditStore['recordAll']>[1]) =>
        audit.recordAll(s, k),
    },
    breaker,
  };
  return { journal, ports, audit };
}

const request = (count: number): DeletionRequest => ({
  repository: { registryId: ACCOUNT, region: REGION, name: REPOSITORY },
  caller: 'lifecycle',
  mode: 'enforce',
  runId: 'run-1',
  now: NOW,
  selection: selectionFor(config, REPOSITORY),
  inUse: { digests: new Map(), tags: new Map() },
  allowance: count,
  candidates: Array.from({ length: count }, (_, i) => ({
    digest: digestOf(`batch-${i}`),
    tags: [],
    pushedAt: new Date(NOW.getTime() - 30 * DAY_MS).toISOString(),
    sizeBytes: 10,
    rulePriority: 1,
    reasons: ['beyond the newest 1'],
  })),
});

describe('the destructive path on DynamoDB', () => {
  it('costs one breaker read, one write-ahead transaction and one settle transaction per 100 images', async () => {
    // Prepare
    const { journal, ports } = setup();

    // Act
    const result = await runDeletion(request(250), ports);

    // Assess
    expect(result.deleted).toBe(250);
    expect(journal).toEqual([
      'BatchGet',
      'TransactWrite:100',
      'BatchDeleteImage:100',
      'TransactWrite:100',
      'BatchGet',
      'TransactWrite:100',
      'BatchDeleteImage:100',
      'TransactWrite:100',
      'BatchGet',
      'TransactWrite:50',
      'BatchDeleteImage:50',
      'TransactWrite:50',
    ]);
    const records = (await db.scan(tables.audit)) as unknown as AuditRecord[];
    expect(records).toHaveLength(250);
    for (const r of records)
      expect(r).toMatchObject({
        status: 'DELETED',
        version: 2,
        evidence: ['steward-delete', 'steward-write-ahead'],
        actor: { type: 'ecr-steward', runId: 'run-1', rulePriority: 1, reasons: ['beyond the newest 1'] },
      });
  });

  it("settles on the audit function's confirmation when ECR's event lands between the delete and the settle", async () => {
    // Prepare: the event of the first image is recorded while BatchDeleteImage answers
    let audit!: AuditStore;
    const first = digestOf('batch-0');
    const {
      journal,
      ports,
      audit: store,
    } = setup((digests) => {
      void audit
        .record({
          registryId: ACCOUNT,
          region: REGION,
          repository: REPOSITORY,
          digest: first,
          status: 'DELETED',
          evidence: 'image-action-event',
          at: NOW.toISOString(),
          eventId: 'ev-1',
        })
        .then(() => journal.push('event recorded'));
      return { deleted: [...digests], failures: [] };
    });
    audit = new AuditStore(db.doc, tables.audit);
    const recorded = new Promise<void>((resolve) => {
      const wait = () => (journal.includes('event recorded') ? resolve() : setTimeout(wait, 5));
      wait();
    });
    const settle = ports.audit.recordAll;
    ports.audit.recordAll = async (s, k) => {
      if (s[0]?.status === 'DELETED') await recorded;
      return settle(s, k);
    };

    // Act
    await runDeletion(request(3), ports);

    // Assess: the settle was refused for the confirmed record, merged with it, and sent again
    expect(journal.filter((j) => j.startsWith('TransactWrite'))).toEqual([
      'TransactWrite:3',
      'TransactWrite:3',
      'TransactWrite:3',
    ]);
    expect(
      await store.get({ registryId: ACCOUNT, region: REGION, repository: REPOSITORY, digest: first }),
    ).toMatchObject({
      status: 'DELETED',
      version: 3,
      evidence: ['image-action-event', 'steward-delete', 'steward-write-ahead'],
      eventIds: ['ev-1'],
      actor: { type: 'ecr-steward', runId: 'run-1' },
    });
  });
});
