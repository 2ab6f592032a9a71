/**
 * The write-ahead audit of our own deletes and what settles it: cleanupRepository (functions/cleanup/core.ts)
 * with an in-memory ECR and the real audit, snapshot and breaker stores on dynalite; crashes injected at the
 * cleanup's checkpoints; reconcileRepository and the audit function settling what a crash left PENDING; and
 * the breaker stopping a cleanup.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { processCandidates } from '../../functions/audit/core.js';
import { type CleanupRequest, cleanupRepository } from '../../functions/cleanup/core.js';
import type { RepositoryInfo } from '../../functions/shared/adapters/ecr.js';
import { reconcileRepository, SnapshotStore } from '../../functions/shared/audit/reconcile.js';
import type { AuditRecord } from '../../functions/shared/audit/records.js';
import { AuditStore } from '../../functions/shared/audit/store.js';
import type { Image } from '../../functions/shared/lifecycle/types.js';
import { BreakerStore, registryScope, repositoryScope } from '../../functions/shared/state/breaker.js';
import { type Dynamo, startDynamo, type Tables } from '../support/dynamo.js';
import {
  ACCOUNT,
  auditPorts,
  candidatesOf,
  imageActionEvent,
  REGION,
  REPO,
  testConfig,
  throttledBatchGets,
} from './helpers.js';
import { cleanupPorts, images, MemoryRegistry } from './registry.js';

let db: Dynamo;
let tables: Tables;
beforeAll(async () => {
  db = await startDynamo();
});
afterAll(async () => {
  await db.close();
});
beforeEach(async () => {
  tables = await db.createTables('write-ahead');
});

const config = testConfig();
const ref = { registryId: ACCOUNT, region: REGION, repository: REPO };

function request(runId: string, now = new Date()): CleanupRequest {
  return { repository: REPO, region: REGION, runId, now, trigger: 'push', budget: { remaining: 1000 } };
}

function stores() {
  return {
    audit: new AuditStore(db.doc, tables.audit),
    snapshots: new SnapshotStore(db.doc, tables.state),
    breaker: new BreakerStore(db.doc, tables.state),
  };
}

async function recordsOf(audit: AuditStore): Promise<AuditRecord[]> {
  return (await audit.byRepository(ref)).sort((a, b) => (a.digest < b.digest ? -1 : 1));
}

/** Five images: the policy keeps the newest two, so the three oldest expire. */
function registryWithFive(now: Date): { registry: MemoryRegistry; expiring: string[]; kept: string[] } {
  const list = images('orders', 5, now);
  return {
    registry: new MemoryRegistry().add(REPO, list),
    kept: list.slice(0, 2).map((i) => i.digest),
    expiring: list
      .slice(2)
      .map((i) => i.digest)
      .sort(),
  };
}

const crash = (at: 'after-write-ahead' | 'after-delete') => async (step: string) => {
  if (step === at) throw new Error(`killed ${at}`);
};

describe('cleanupRepository write-ahead audit', () => {
  it('writes PENDING records before the delete call and marks them DELETED by ecr-steward after it', async () => {
    // Prepare
    const now = new Date();
    const { registry, expiring } = registryWithFive(now);
    const { audit, breaker } = stores();
    const seen: Record<string, string[]> = {};
    const checkpoint = async (step: string) => {
      seen[step] = (await recordsOf(audit)).map((r) => `${r.status}:${registry.deleteCalls.length}`);
    };

    // Act
    const report = await cleanupRepository(
      config,
      request('run-1', now),
      cleanupPorts(registry, { audit, breaker, checkpoint }),
    );

    // Assess
    expect(report.outcome).toBe('done');
    expect(report.expired).toBe(3);
    expect(seen).toEqual({
      'after-write-ahead': ['PENDING:0', 'PENDING:0', 'PENDING:0'],
      'after-delete': ['PENDING:1', 'PENDING:1', 'PENDING:1'],
    });
    const records = await recordsOf(audit);
    expect(records.map((r) => r.digest)).toEqual(expiring);
    for (const r of records) {
      const decision = report.plan!.decisions.find((d) => d.imageDigest === r.digest)!;
      expect(r.status).toBe('DELETED');
      expect(r.evidence).toEqual(['steward-delete', 'steward-write-ahead']);
      expect(r.actor).toEqual({
        type: 'ecr-steward',
        runId: 'run-1',
        rulePriority: 1,
        reasons: decision.reasons,
      });
      expect(r.gsi2pk).toBe('RUN#run-1');
      expect(r.tags).toEqual([...decision.imageTags]);
      expect(r.version).toBe(2);
    }
  });

  it('leaves PENDING records that reconciliation settles as FAILED NotDeleted when the run died before the delete call', async () => {
    // Prepare
    const now = new Date();
    const { registry, expiring } = registryWithFive(now);
    const { audit, breaker, snapshots } = stores();
    await expect(
      cleanupRepository(
        config,
        request('run-1', now),
        cleanupPorts(registry, { audit, breaker, checkpoint: crash('after-write-ahead') }),
      ),
    ).rejects.toThrow('killed after-write-ahead');
    expect(registry.deleteCalls).toEqual([]);
    expect((await recordsOf(audit)).map((r) => r.status)).toEqual(['PENDING', 'PENDING', 'PENDING']);

    // Act
    const report = await reconcileRepository(ref, registry.images(REPO), new Date(), 'run-2', {
      snapshots,
      audit,
    });

    // Assess
    expect(report).toEqual({
      vanished: 0,
      recordedUnknown: 0,
      settledDeleted: 0,
      settledFailed: 3,
      settledArchived: 0,
    });
    const records = await recordsOf(audit);
    expect(records.map((r) => r.digest)).toEqual(expiring);
    for (const r of records) {
      expect(r.status).toBe('FAILED');
      expect(r.failure).toEqual({
        code: 'NotDeleted',
        reason: 'the run stopped after its write-ahead record and before the delete',
      });
      expect(r.evidence).toEqual(['settled', 'steward-write-ahead']);
      expect(r.eventIds).toEqual([`settle#run-2#${r.digest}`]);
      expect(r.actor.type).toBe('ecr-steward');
      expect(r.actor.runId).toBe('run-1');
    }
  });

  it('settles PENDING records as DELETED by ecr-steward when the run died after the delete call (no snapshot yet)', async () => {
    // Prepare
    const now = new Date();
    const { registry, expiring } = registryWithFive(now);
    const { audit, breaker, snapshots } = stores();
    await expect(
      cleanupRepository(
        config,
        request('run-1', now),
        cleanupPorts(registry, { audit, breaker, checkpoint: crash('after-delete') }),
      ),
    ).rejects.toThrow('killed after-delete');
    expect(registry.deleteCalls).toEqual([expiring]);

    // Act
    const report = await reconcileRepository(ref, registry.images(REPO), new Date(), 'run-2', {
      snapshots,
      audit,
    });

    // Assess
    expect(report).toEqual({
      vanished: 0,
      recordedUnknown: 0,
      settledDeleted: 3,
      settledFailed: 0,
      settledArchived: 0,
    });
    for (const r of await recordsOf(audit)) {
      expect(r.status).toBe('DELETED');
      expect(r.actor.type).toBe('ecr-steward');
      expect(r.evidence).toEqual(['settled', 'steward-write-ahead']);
      expect(r.failure).toBeUndefined();
    }
  });

  it('settles PENDING records as DELETED when the run died after the delete call and the previous snapshot lists them', async () => {
    // Prepare: the crashed run reconciled (and saved its snapshot) before deleting, as the worker does
    const now = new Date();
    const { registry, expiring } = registryWithFive(now);
    const { audit, breaker, snapshots } = stores();
    const reconcile = (runId: string) => async (repo: RepositoryInfo, list: readonly Image[]) =>
      reconcileRepository(
        { ...ref, registryId: repo.registryId, repository: repo.name },
        list,
        new Date(),
        runId,
        {
          snapshots,
          audit,
        },
      );
    await expect(
      cleanupRepository(
        config,
        request('run-1', now),
        cleanupPorts(registry, {
          audit,
          breaker,
          reconcile: reconcile('run-1'),
          checkpoint: crash('after-delete'),
        }),
      ),
    ).rejects.toThrow('killed after-delete');

    // Act
    const report = await reconcileRepository(ref, registry.images(REPO), new Date(), 'run-2', {
      snapshots,
      audit,
    });

    // Assess
    expect(report).toEqual({
      vanished: 3,
      recordedUnknown: 0,
      settledDeleted: 3,
      settledFailed: 0,
      settledArchived: 0,
    });
    const records = await recordsOf(audit);
    expect(records.map((r) => [r.digest, r.status, r.actor.type])).toEqual(
      expiring.map((d) => [d, 'DELETED', 'ecr-steward']),
    );
    expect(records.map((r) => r.eventIds)).toEqual(expiring.map((d) => [`reconcile#run-2#${d}`]));
  });

  it('settles a PENDING record as DELETED by ecr-steward when the audit DELETE event arrives after the crash', async () => {
    // Prepare
    const now = new Date();
    const { registry, expiring } = registryWithFive(now);
    const { audit, breaker } = stores();
    await expect(
      cleanupRepository(
        config,
        request('run-1', now),
        cleanupPorts(registry, { audit, breaker, checkpoint: crash('after-delete') }),
      ),
    ).rejects.toThrow('killed after-delete');
    const ports = auditPorts(db.doc, tables);
    const digest = expiring[0]!;

    // Act
    const outcome = await processCandidates(
      config,
      candidatesOf(
        imageActionEvent({ id: 'ev-after-crash', digest, repository: REPO, time: new Date().toISOString() }),
      ),
      new Date(),
      ports,
    );

    // Assess
    expect(outcome).toMatchObject({ recorded: 1, newlyDeleted: 1, tagOnly: 0 });
    expect(ports.existsCalls).toEqual([`${REPO}@${digest}`]);
    const record = await audit.get({ ...ref, digest });
    expect(record?.status).toBe('DELETED');
    expect(record?.actor).toMatchObject({ type: 'ecr-steward', runId: 'run-1', rulePriority: 1 });
    expect(record?.evidence).toEqual(['image-action-event', 'steward-write-ahead']);
    expect(record?.eventIds).toEqual(['ev-after-crash']);
  });
});

describe('cleanupRepository with the breaker', () => {
  it.each([
    ['repository', repositoryScope(REPO)],
    ['registry', registryScope],
  ])('deletes nothing and writes no PENDING record when the %s breaker is open', async (_name, scope) => {
    // Prepare
    const now = new Date();
    const { registry } = registryWithFive(now);
    const { audit, breaker } = stores();
    await breaker.open(scope, '6 deletions within 5m (limit 5)', new Date(now.getTime() - 60_000));

    // Act
    const report = await cleanupRepository(
      config,
      request('run-1', now),
      cleanupPorts(registry, { audit, breaker }),
    );

    // Assess
    expect(report.outcome).toBe('breaker-open');
    expect(report.message).toBe(
      `breaker open for ${scope} (6 deletions within 5m (limit 5)): nothing more is deleted; reset it with \`ecr-steward breaker reset --scope ${scope}\``,
    );
    expect(report.expired).toBe(0);
    expect(report.deferred).toBe(3);
    expect(registry.deleteCalls).toEqual([]);
    expect(registry.images(REPO)).toHaveLength(5);
    expect(await db.scan(tables.audit)).toEqual([]);
  });

  it('deletes nothing and writes no PENDING record when the breaker state cannot be read', async () => {
    // Prepare: DynamoDB leaves every breaker key unprocessed
    const now = new Date();
    const { registry } = registryWithFive(now);
    const { audit } = stores();
    const breaker = new BreakerStore(
      throttledBatchGets(db.client, Number.POSITIVE_INFINITY).doc,
      tables.state,
    );

    // Act
    const run = cleanupRepository(config, request('run-1', now), cleanupPorts(registry, { audit, breaker }));

    // Assess
    await expect(run).rejects.toThrow('breaker state unreadable');
    expect(registry.deleteCalls).toEqual([]);
    expect(await db.scan(tables.audit)).toEqual([]);
  });

  it('deletes again when the breaker cooldown has elapsed', async () => {
    // Prepare
    const now = new Date();
    const { registry } = registryWithFive(now);
    const { audit, breaker } = stores();
    await breaker.open(repositoryScope(REPO), 'earlier burst', new Date(now.getTime() - 31 * 60_000), 30);

    // Act
    const report = await cleanupRepository(
      config,
      request('run-1', now),
      cleanupPorts(registry, { audit, breaker }),
    );

    // Assess
    expect(report.outcome).toBe('done');
    expect(report.expired).toBe(3);
    expect(registry.deleteCalls).toHaveLength(1);
  });

  it('stops before the second batch when ECR events of the first batch, arriving after it was marked DELETED, trip the breaker', async () => {
    // Prepare: 152 images, 150 expire (two batches of at most 100); the audit allows 20 deletions per 5 minutes
    const strict = testConfig({
      bounds: { maxDeletesPerRun: 1000, maxDeletesPerRepository: 500 },
      alerts: { thresholds: [{ scope: 'repository', window: '5m', maxDeletes: 20 }] },
    });
    const now = new Date();
    const registry = new MemoryRegistry().add(REPO, images('orders', 152, now));
    const { audit, breaker } = stores();
    const auditFn = auditPorts(db.doc, tables);
    const inFlight: string[] = [];
    registry.afterDelete = (_repo, deleted) => inFlight.push(...deleted);
    // ECR's DELETE events reach the audit function after the cleanup marked the batch DELETED,
    // and before it reads the breaker for the next batch.
    const breakerPort = {
      firstOpen: async (scopes: Parameters<BreakerStore['firstOpen']>[0], at: Date) => {
        await Promise.all(
          inFlight.splice(0).map((digest) => {
            const e = imageActionEvent({
              id: `ev-${digest}`,
              digest,
              repository: REPO,
              time: new Date().toISOString(),
            });
            return processCandidates(strict, candidatesOf(e), new Date(), auditFn);
          }),
        );
        return breaker.firstOpen(scopes, at);
      },
    };

    // Act
    const report = await cleanupRepository(
      strict,
      request('run-1', now),
      cleanupPorts(registry, { audit, breaker: breakerPort }),
    );

    // Assess
    expect(report.outcome).toBe('breaker-open');
    expect(report.expired).toBe(100);
    expect(report.deferred).toBe(50);
    expect(registry.deleteCalls.map((c) => c.length)).toEqual([100]);
    expect(auditFn.published).toHaveLength(1);
    const records = await audit.byRepository(ref, undefined, 10_000);
    expect(records).toHaveLength(100);
    expect(new Set(records.map((r) => r.status))).toEqual(new Set(['DELETED']));
    expect(new Set(records.map((r) => r.actor.type))).toEqual(new Set(['ecr-steward']));
    expect(await breaker.get(repositoryScope(REPO))).toMatchObject({
      state: 'open',
      scope: repositoryScope(REPO),
    });
  });
});
