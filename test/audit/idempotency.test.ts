/**
 * One deletion, one record: redeliveries, every source in every order (fast-check permutations), split
 * CloudTrail records and concurrent writers, against a real DynamoDB (dynalite).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processCandidates } from '../../functions/audit/core.js';
import type { DeleteSignal, Evidence } from '../../functions/shared/audit/records.js';
import { repositoryScope } from '../../functions/shared/state/breaker.js';
import { windowStart } from '../../functions/shared/state/counters.js';
import { type Dynamo, startDynamo, type Tables } from '../support/dynamo.js';
import {
  ACCOUNT,
  auditPorts,
  batchDeleteEvent,
  CI_ROLE,
  candidatesOf,
  digestOf,
  imageActionEvent,
  lifecycleEvent,
  REGION,
  STEWARD_ROLE,
  testConfig,
} from './helpers.js';

const NOW = new Date('2026-06-01T12:01:00.000Z');
const config = testConfig({
  alerts: { thresholds: [{ scope: 'repository', window: '5m', maxDeletes: 1000 }] },
});

let db: Dynamo;
let tables: Tables;
beforeAll(async () => {
  db = await startDynamo();
  tables = db.tables;
});
afterAll(async () => {
  await db.close();
});

const ports = () => auditPorts(db.doc, tables, { now: () => NOW });
type Ports = ReturnType<typeof ports>;

/** One way a signal reaches the audit table: through the audit function (an event) or from our cleanup. */
interface Delivery {
  readonly name: string;
  deliver(p: Ports): Promise<number>;
}

/** An EventBridge event processed by the audit function; resolves to the deletions it newly counted. */
const event = (name: string, e: unknown): Delivery => ({
  name,
  deliver: async (p) => (await processCandidates(config, candidatesOf(e), NOW, p)).newlyDeleted,
});

/** A signal written by the cleanup (or reconciliation) itself, straight to the store. */
const direct = (name: string, s: DeleteSignal): Delivery => ({
  name,
  deliver: async (p) => {
    await p.store.record(s);
    return 0;
  },
});

let run = 0;
const unique = (prefix: string) => {
  run++;
  return { repository: `services/${prefix}-${run}`, digest: digestOf(`${prefix}-${run}`), n: run };
};

const ref = (repository: string, digest: string) => ({
  registryId: ACCOUNT,
  region: REGION,
  repository,
  digest,
});

async function countOf(p: Ports, repository: string): Promise<number> {
  const counter = await p.counters.get({
    scope: repositoryScope(repository),
    window: '5m',
    start: windowStart(NOW, '5m'),
  });
  return counter?.count ?? 0;
}

/** Indexes of `k` deliveries: each at least once and up to three times, in any order. */
function deliveryOrder(k: number): fc.Arbitrary<number[]> {
  return fc.array(fc.integer({ min: 1, max: 3 }), { minLength: k, maxLength: k }).chain((times) => {
    const multiset = times.flatMap((t, i) => Array.from({ length: t }, () => i));
    return fc.shuffledSubarray(multiset, { minLength: multiset.length, maxLength: multiset.length });
  });
}

interface Scenario {
  readonly repository: string;
  readonly digest: string;
  readonly n: number;
  readonly deliveries: readonly Delivery[];
}

interface Expected {
  readonly evidence: readonly Evidence[];
  readonly actor: Record<string, unknown>;
  readonly tags: readonly string[];
  readonly eventIds: readonly string[];
  readonly at: string;
}

/** Runs a scenario in every order fast-check tries, each run on a fresh repository and digest. */
async function convergesInEveryOrder(
  build: () => Scenario,
  expected: (s: Scenario) => Expected,
  numRuns = 25,
): Promise<void> {
  const k = build().deliveries.length;
  await fc.assert(
    fc.asyncProperty(deliveryOrder(k), async (order) => {
      const scenario = build();
      const p = ports();
      let counted = 0;
      for (const i of order) counted += await scenario.deliveries[i]!.deliver(p);

      const records = await p.store.byDigest(scenario.digest);
      const want = expected(scenario);
      expect(records).toHaveLength(1);
      const [record] = records;
      expect(record!.status).toBe('DELETED');
      expect(record!.evidence).toEqual(want.evidence);
      expect(record!.actor).toEqual(want.actor);
      expect(record!.tags).toEqual(want.tags);
      expect(record!.eventIds).toEqual(want.eventIds);
      expect(record!.at).toBe(want.at);
      // Every distinct signal adds something (evidence or an event id); redeliveries write nothing.
      expect(record!.version).toBe(k);
      expect(counted).toBe(1);
      expect(await countOf(p, scenario.repository)).toBe(1);
    }),
    { numRuns },
  );
}

describe('audit idempotency (redelivery)', () => {
  it('writes exactly one record and counts once when the same DELETE event is delivered 3 times', async () => {
    // Prepare
    const { repository, digest } = unique('redelivered');
    const e = imageActionEvent({ id: 'ev-redelivered', digest, repository, tag: 'v1' });
    const p = ports();

    // Act
    const outcomes = [];
    for (let k = 0; k < 3; k++) outcomes.push(await processCandidates(config, candidatesOf(e), NOW, p));

    // Assess
    expect(outcomes).toEqual([
      { recorded: 1, newlyDeleted: 1, tagOnly: 0, crossings: [] },
      { recorded: 1, newlyDeleted: 0, tagOnly: 0, crossings: [] },
      { recorded: 1, newlyDeleted: 0, tagOnly: 0, crossings: [] },
    ]);
    expect(await p.store.byDigest(digest)).toEqual([
      {
        pk: `IMG#${digest}`,
        sk: `REPO#${ACCOUNT}#${REGION}#${repository}`,
        registryId: ACCOUNT,
        region: REGION,
        repository,
        digest,
        gsi1pk: `REPO#${ACCOUNT}#${REGION}#${repository}`,
        gsi1sk: `2026-06-01T12:00:05.000Z#${digest}`,
        gsi3pk: 'DAY#2026-06-01',
        gsi3sk: `2026-06-01T12:00:05.000Z#${repository}#${digest}`,
        status: 'DELETED',
        dryRun: false,
        tags: ['v1'],
        actor: { type: 'unknown' },
        at: '2026-06-01T12:00:05.000Z',
        recordedAt: NOW.toISOString(),
        updatedAt: NOW.toISOString(),
        evidence: ['image-action-event'],
        eventIds: ['ev-redelivered'],
        version: 1,
      },
    ]);
    expect(await countOf(p, repository)).toBe(1);
  });

  it('writes one record per image and counts 12 when a 12-image PolicyExecutionEvent is split 9 + 3 and redelivered', async () => {
    // Prepare
    const { repository } = unique('split');
    const images = Array.from({ length: 12 }, (_, k) => ({
      digest: digestOf(`${repository}-${k}`),
      tags: [`build-${k}`],
    }));
    const first = lifecycleEvent({ repository, eventID: 'ct-split-1', images: images.slice(0, 9) });
    const second = lifecycleEvent({ repository, eventID: 'ct-split-2', images: images.slice(9) });
    const p = ports();

    // Act
    let counted = 0;
    for (const e of [first, second, second, first]) {
      counted += (await processCandidates(config, candidatesOf(e), NOW, p)).newlyDeleted;
    }

    // Assess
    const records = await p.store.byRepository({ registryId: ACCOUNT, region: REGION, repository });
    expect(records).toHaveLength(12);
    expect(records.map((r) => r.digest).sort()).toEqual(images.map((i) => i.digest).sort());
    for (const r of records) {
      expect(r.status).toBe('DELETED');
      expect(r.actor).toEqual({ type: 'ecr-lifecycle', rulePriority: 1 });
      expect(r.evidence).toEqual(['cloudtrail-lifecycle']);
      expect(r.version).toBe(1);
      expect(r.eventIds).toEqual([
        `${images.findIndex((i) => i.digest === r.digest) < 9 ? 'ct-split-1' : 'ct-split-2'}#${r.digest}`,
      ]);
    }
    expect(counted).toBe(12);
    expect(await countOf(p, repository)).toBe(12);
  });
});

describe('audit idempotency (every source, every order)', () => {
  it('converges on one DELETED record by ecr-steward when our write-ahead, our delete, the image action and CloudTrail arrive in any order', async () => {
    await convergesInEveryOrder(
      () => {
        const { repository, digest, n } = unique('steward');
        const actor = {
          type: 'ecr-steward' as const,
          runId: `run-${n}`,
          rulePriority: 1,
          reasons: ['rule 1: more than 2 images of any tag status'],
        };
        const ours = {
          ...ref(repository, digest),
          tags: ['latest', 'v1'],
          sizeBytes: 4096,
          pushedAt: '2026-05-01T00:00:00.000Z',
          actor,
        };
        return {
          repository,
          digest,
          n,
          deliveries: [
            direct('write-ahead', {
              ...ours,
              status: 'PENDING',
              evidence: 'steward-write-ahead',
              at: '2026-06-01T12:00:00.000Z',
            }),
            direct('steward-delete', {
              ...ours,
              status: 'DELETED',
              evidence: 'steward-delete',
              at: '2026-06-01T12:00:01.000Z',
            }),
            event('image-action', imageActionEvent({ id: `ev-${n}`, digest, repository, tag: 'v1' })),
            event(
              'batch-delete',
              batchDeleteEvent({
                eventID: `ct-${n}`,
                repository,
                role: STEWARD_ROLE,
                requested: [{ imageDigest: digest }],
                deleted: [
                  { imageDigest: digest, imageTag: 'v1' },
                  { imageDigest: digest, imageTag: 'latest' },
                ],
              }),
            ),
          ],
        };
      },
      (s) => ({
        evidence: ['cloudtrail-batch-delete', 'image-action-event', 'steward-delete', 'steward-write-ahead'],
        actor: {
          type: 'ecr-steward',
          runId: `run-${s.n}`,
          rulePriority: 1,
          reasons: ['rule 1: more than 2 images of any tag status'],
          principal: STEWARD_ROLE,
        },
        tags: ['latest', 'v1'],
        eventIds: [`ct-${s.n}#${s.digest}`, `ev-${s.n}`],
        at: '2026-06-01T12:00:01.000Z',
      }),
    );
  });

  it('converges on one DELETED record by ecr-lifecycle when the lifecycle record, the image action and reconciliation arrive in any order', async () => {
    await convergesInEveryOrder(
      () => {
        const { repository, digest, n } = unique('lifecycle');
        return {
          repository,
          digest,
          n,
          deliveries: [
            event(
              'lifecycle',
              lifecycleEvent({
                repository,
                eventID: `ct-${n}`,
                rules: [
                  { rulePriority: 1, action: 'expire' },
                  { rulePriority: 2, action: 'expire' },
                ],
                images: [
                  { digest, tags: ['v1'], rulePriority: 2, pushedAt: Date.parse('2026-05-01T00:00:00Z') },
                ],
              }),
            ),
            event('image-action', imageActionEvent({ id: `ev-${n}`, digest, repository, tag: 'v1' })),
            direct('reconciliation', {
              ...ref(repository, digest),
              status: 'DELETED',
              evidence: 'reconciliation',
              at: '2026-06-01T12:00:30.000Z',
              tags: ['v1'],
              sizeBytes: 4096,
              pushedAt: '2026-05-01T00:00:00.000Z',
              eventId: `reconcile#run-${n}#${digest}`,
            }),
          ],
        };
      },
      (s) => {
        const { n } = s;
        return {
          evidence: ['cloudtrail-lifecycle', 'image-action-event', 'reconciliation'],
          actor: { type: 'ecr-lifecycle', rulePriority: 2 },
          tags: ['v1'],
          eventIds: [`ct-${n}#${s.digest}`, `ev-${n}`, `reconcile#run-${n}#${s.digest}`],
          at: '2026-06-01T12:00:05.000Z',
        };
      },
    );
  });

  it('converges on one DELETED record by the principal when a manual BatchDeleteImage, per-tag image actions and reconciliation arrive in any order', async () => {
    await convergesInEveryOrder(
      () => {
        const { repository, digest, n } = unique('manual');
        return {
          repository,
          digest,
          n,
          deliveries: [
            event(
              'batch-delete',
              batchDeleteEvent({
                eventID: `ct-${n}`,
                repository,
                requested: [{ imageDigest: digest }],
                deleted: [
                  { imageDigest: digest, imageTag: 'v1' },
                  { imageDigest: digest, imageTag: 'latest' },
                ],
              }),
            ),
            event('image-action v1', imageActionEvent({ id: `ev-${n}-v1`, digest, repository, tag: 'v1' })),
            event(
              'image-action latest',
              imageActionEvent({ id: `ev-${n}-latest`, digest, repository, tag: 'latest' }),
            ),
            direct('reconciliation', {
              ...ref(repository, digest),
              status: 'DELETED',
              evidence: 'reconciliation',
              at: '2026-06-01T12:00:30.000Z',
              tags: ['latest', 'v1'],
              eventId: `reconcile#run-${n}#${digest}`,
            }),
          ],
        };
      },
      (s) => {
        const { n } = s;
        return {
          evidence: ['cloudtrail-batch-delete', 'image-action-event', 'reconciliation'],
          actor: { type: 'principal', principal: CI_ROLE },
          tags: ['latest', 'v1'],
          eventIds: [`ct-${n}#${s.digest}`, `ev-${n}-latest`, `ev-${n}-v1`, `reconcile#run-${n}#${s.digest}`],
          at: '2026-06-01T12:00:02.000Z',
        };
      },
    );
  });

  it('converges on one DELETED record by unknown when only the image action arrives, however often', async () => {
    await convergesInEveryOrder(
      () => {
        const { repository, digest, n } = unique('alone');
        return {
          repository,
          digest,
          n,
          deliveries: [event('image-action', imageActionEvent({ id: `ev-${n}`, digest, repository }))],
        };
      },
      (s) => ({
        evidence: ['image-action-event'],
        actor: { type: 'unknown' },
        tags: [],
        eventIds: [`ev-${s.n}`],
        at: '2026-06-01T12:00:05.000Z',
      }),
      10,
    );
  });
});

describe('audit idempotency (concurrent writers)', () => {
  it('writes one record with version 10 and all evidence when 10 per-tag DELETE events land at once', async () => {
    // Prepare
    const { repository, digest } = unique('concurrent');
    const tags = Array.from({ length: 10 }, (_, k) => `t${k}`);
    const events = tags.map((tag) => imageActionEvent({ id: `ev-${tag}`, digest, repository, tag }));
    const p = ports();

    // Act
    const outcomes = await Promise.all(events.map((e) => processCandidates(config, candidatesOf(e), NOW, p)));

    // Assess
    const records = await p.store.byDigest(digest);
    expect(records).toHaveLength(1);
    expect(records[0]!.version).toBe(10);
    expect(records[0]!.eventIds).toEqual(tags.map((t) => `ev-${t}`).sort());
    expect(records[0]!.tags).toEqual([...tags].sort());
    expect(records[0]!.status).toBe('DELETED');
    expect(outcomes.reduce((sum, o) => sum + o.newlyDeleted, 0)).toBe(1);
    expect(await countOf(p, repository)).toBe(1);
  });

  it('writes one record whose version counts only the effective writes when 5 distinct signals each arrive twice at once', async () => {
    // Prepare
    const { repository, digest, n } = unique('mixed');
    const ours = {
      ...ref(repository, digest),
      tags: ['v1'],
      actor: { type: 'ecr-steward' as const, runId: `run-${n}` },
    };
    const distinct: Delivery[] = [
      direct('write-ahead', {
        ...ours,
        status: 'PENDING',
        evidence: 'steward-write-ahead',
        at: '2026-06-01T12:00:00.000Z',
      }),
      direct('steward-delete', {
        ...ours,
        status: 'DELETED',
        evidence: 'steward-delete',
        at: '2026-06-01T12:00:01.000Z',
      }),
      event('image-action', imageActionEvent({ id: `ev-${n}`, digest, repository, tag: 'v1' })),
      event(
        'batch-delete',
        batchDeleteEvent({
          eventID: `ct-${n}`,
          repository,
          role: STEWARD_ROLE,
          requested: [{ imageDigest: digest }],
          deleted: [{ imageDigest: digest, imageTag: 'v1' }],
        }),
      ),
      event('image-action replayed', {
        ...imageActionEvent({ id: `ev-${n}-b`, digest, repository }),
        'replay-name': 'r',
      }),
    ];
    const p = ports();

    // Act
    const counted = await Promise.all([...distinct, ...distinct].map((d) => d.deliver(p)));

    // Assess
    const records = await p.store.byDigest(digest);
    expect(records).toHaveLength(1);
    expect(records[0]!.version).toBe(5);
    expect(records[0]!.evidence).toEqual([
      'cloudtrail-batch-delete',
      'image-action-event',
      'steward-delete',
      'steward-write-ahead',
    ]);
    expect(records[0]!.eventIds).toEqual([`ct-${n}#${digest}`, `ev-${n}`, `ev-${n}-b`]);
    expect(records[0]!.actor.type).toBe('ecr-steward');
    expect(counted.reduce((a, b) => a + b, 0)).toBe(1);
    expect(await countOf(p, repository)).toBe(1);
  });
});
