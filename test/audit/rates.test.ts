/**
 * Delete-rate thresholds (functions/audit/core.ts): counting each deletion once per scope and window, one
 * alert per window, the breaker, and its cooldown. Real audit, counter and breaker stores on dynalite; SNS is
 * captured in memory.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Crossing, processCandidates } from '../../functions/audit/core.js';
import type { StewardConfigInput } from '../../functions/shared/config/schema.js';
import {
  BreakerStore,
  isOpen,
  registryScope,
  repositoryScope,
} from '../../functions/shared/state/breaker.js';
import { windowStart } from '../../functions/shared/state/counters.js';
import { type Dynamo, startDynamo, type Tables } from '../support/dynamo.js';
import {
  auditPorts,
  batchDeleteEvent,
  CI_ROLE,
  candidatesOf,
  digestOf,
  imageActionEvent,
  lifecycleEvent,
  REPO,
  testConfig,
  throttledBatchGets,
} from './helpers.js';

let db: Dynamo;
let tables: Tables;
beforeAll(async () => {
  db = await startDynamo();
});
afterAll(async () => {
  await db.close();
});
beforeEach(async () => {
  tables = await db.createTables('rates');
});

/** The window 12:00–12:05 and the instant the events of that window are processed. */
const W1 = '2026-06-01T12:00:00.000Z';
const NOW1 = new Date('2026-06-01T12:04:30.000Z');
const W2 = '2026-06-01T12:05:00.000Z';
const NOW2 = new Date('2026-06-01T12:09:30.000Z');

const config = (alerts: StewardConfigInput['alerts']) => testConfig({ alerts });
const FIVE_PER_5M = { thresholds: [{ scope: 'repository' as const, window: '5m' as const, maxDeletes: 5 }] };

/** The k-th second of a window, ISO. */
const second = (window: string, k: number) => new Date(Date.parse(window) + k * 1000).toISOString();
const digest = (repository: string, k: number, window = W1) => digestOf(`${repository}-${window}-${k}`);

/** Deletion k of a repository: 1–4 by a person's BatchDeleteImage, 5–6 by ECR's lifecycle, then image actions. */
function deletionEvent(repository: string, k: number, window = W1): unknown {
  const d = digest(repository, k, window);
  const at = second(window, k);
  if (k <= 4)
    return batchDeleteEvent({
      eventID: `ct-${repository}-${window}-${k}`,
      repository,
      requested: [{ imageDigest: d }],
      deleted: [{ imageDigest: d, imageTag: `build-${k}` }],
      eventTime: at,
    });
  if (k <= 6)
    return lifecycleEvent({
      repository,
      eventID: `lc-${repository}-${window}-${k}`,
      eventTime: at,
      images: [{ digest: d, tags: [`build-${k}`] }],
    });
  return imageActionEvent({ id: `ev-${repository}-${window}-${k}`, digest: d, repository, time: at });
}

type Ports = ReturnType<typeof auditPorts>;

async function deliver(
  cfg: ReturnType<typeof config>,
  p: Ports,
  events: readonly unknown[],
  now: Date,
): Promise<Crossing[][]> {
  const out: Crossing[][] = [];
  for (const e of events) out.push([...(await processCandidates(cfg, candidatesOf(e), now, p)).crossings]);
  return out;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const count = async (p: Ports, scope: string, window: '5m' | '1h', start: string) =>
  (await p.counters.get({ scope, window, start }))?.count ?? 0;

describe('processCandidates delete-rate threshold (repository, 5 per 5m)', () => {
  it('sends no alert and opens no breaker when 5 images are deleted in the window', async () => {
    // Prepare
    const cfg = config(FIVE_PER_5M);
    const p = auditPorts(db.doc, tables, { now: () => NOW1 });

    // Act
    const crossings = await deliver(
      cfg,
      p,
      range(1, 5).map((k) => deletionEvent(REPO, k)),
      NOW1,
    );

    // Assess
    expect(crossings.flat()).toEqual([]);
    expect(p.published).toEqual([]);
    expect(await count(p, repositoryScope(REPO), '5m', W1)).toBe(5);
    expect(await p.breaker.get(repositoryScope(REPO))).toBeUndefined();
  });

  it('sends exactly one alert naming the count, limit, top actors, samples and reset command, and opens the breaker, when the 6th image is deleted', async () => {
    // Prepare
    const cfg = config(FIVE_PER_5M);
    const p = auditPorts(db.doc, tables, { now: () => NOW1 });
    await deliver(
      cfg,
      p,
      range(1, 5).map((k) => deletionEvent(REPO, k)),
      NOW1,
    );

    // Act
    const [sixth] = await deliver(cfg, p, [deletionEvent(REPO, 6)], NOW1);

    // Assess
    expect(sixth).toEqual([
      {
        scope: 'repository:services/orders',
        window: '5m',
        count: 6,
        limit: 5,
        threshold: 'repository-5m-5-',
        breakerOpened: true,
      },
    ]);
    const sample = (k: number, by: string) => `  ${REPO}@${digest(REPO, k)} [build-${k}] by ${by}`;
    expect(p.published).toEqual([
      {
        subject: 'ECR Steward: 6 image deletions in repository services/orders within 5m (limit 5)',
        message: [
          `Deletes in repository services/orders passed a threshold: 6 in the 5m window that started ${W1}; the limit is 5 (1 over, 120% of the limit).`,
          '',
          `Top actors: principal ${CI_ROLE} (4), ecr-lifecycle (2)`,
          'Top rules: ecr-lifecycle rule 1 (2)',
          'Sample digests:',
          sample(6, 'ecr-lifecycle'),
          sample(5, 'ecr-lifecycle'),
          sample(4, 'principal'),
          sample(3, 'principal'),
          sample(2, 'principal'),
          '',
          'The breaker for repository:services/orders is OPEN: ECR Steward deletes nothing in this scope until it is reset with',
          '  npx ecr-steward breaker reset --scope repository:services/orders',
          '',
          'Query the audit table: npx ecr-steward audit --repository services/orders --since 5m',
        ].join('\n'),
      },
    ]);
    expect(await p.breaker.get(repositoryScope(REPO))).toEqual({
      pk: 'BREAKER#repository:services/orders',
      sk: 'BREAKER',
      scope: 'repository:services/orders',
      state: 'open',
      openedAt: NOW1.toISOString(),
      reason: `6 deletions in services/orders within the 5m window starting ${W1} (limit 5)`,
    });
    expect(await p.breaker.firstOpen([registryScope, repositoryScope(REPO)], NOW1)).toMatchObject({
      scope: repositoryScope(REPO),
    });
    expect(
      await p.breaker.firstOpen([registryScope, repositoryScope('services/other')], NOW1),
    ).toBeUndefined();
  });

  it('sends no further alert when deletions 7 to 20 follow in the same window', async () => {
    // Prepare
    const cfg = config(FIVE_PER_5M);
    const p = auditPorts(db.doc, tables, { now: () => NOW1 });
    await deliver(
      cfg,
      p,
      range(1, 6).map((k) => deletionEvent(REPO, k)),
      NOW1,
    );
    const openedAt = (await p.breaker.get(repositoryScope(REPO)))?.openedAt;

    // Act
    const crossings = await deliver(
      cfg,
      p,
      range(7, 20).map((k) => deletionEvent(REPO, k)),
      NOW1,
    );

    // Assess
    expect(crossings.flat()).toEqual([]);
    expect(p.published).toHaveLength(1);
    expect(await count(p, repositoryScope(REPO), '5m', W1)).toBe(20);
    expect((await p.breaker.get(repositoryScope(REPO)))?.openedAt).toBe(openedAt);
  });

  it('restarts counting when a new 5m window begins', async () => {
    // Prepare
    const cfg = config(FIVE_PER_5M);
    const p = auditPorts(db.doc, tables, { now: () => NOW1 });
    await deliver(
      cfg,
      p,
      range(1, 8).map((k) => deletionEvent(REPO, k)),
      NOW1,
    );
    const later = auditPorts(db.doc, tables, { now: () => NOW2 });

    // Act
    const firstFive = await deliver(
      cfg,
      later,
      range(1, 5).map((k) => deletionEvent(REPO, k, W2)),
      NOW2,
    );
    const sixth = await deliver(cfg, later, [deletionEvent(REPO, 6, W2)], NOW2);

    // Assess
    expect(windowStart(NOW2, '5m')).toBe(W2);
    expect(firstFive.flat()).toEqual([]);
    expect(sixth.flat()).toEqual([
      {
        scope: repositoryScope(REPO),
        window: '5m',
        count: 6,
        limit: 5,
        threshold: 'repository-5m-5-',
        breakerOpened: false,
      },
    ]);
    expect(await count(p, repositoryScope(REPO), '5m', W1)).toBe(8);
    expect(await count(p, repositoryScope(REPO), '5m', W2)).toBe(6);
    expect(p.published).toHaveLength(1);
    expect(later.published).toHaveLength(1);
    expect(later.published[0]!.message).toContain(`6 in the 5m window that started ${W2}; the limit is 5`);
    expect(later.published[0]!.message).toContain(
      'The breaker for repository:services/orders was already open.',
    );
  });

  it('counts a redelivered event and the same deletion seen by another source once', async () => {
    // Prepare
    const cfg = config(FIVE_PER_5M);
    const p = auditPorts(db.doc, tables, { now: () => NOW1 });
    const d = digest(REPO, 1);
    const action = imageActionEvent({ id: 'ev-dup', digest: d, repository: REPO, time: second(W1, 1) });
    const trail = batchDeleteEvent({
      eventID: 'ct-dup',
      requested: [{ imageDigest: d }],
      deleted: [{ imageDigest: d }],
    });

    // Act
    await deliver(cfg, p, [action, action, trail, action, trail, trail], NOW1);

    // Assess
    expect(await count(p, repositoryScope(REPO), '5m', W1)).toBe(1);
    expect(p.published).toEqual([]);
  });

  it('counts nothing when the image of an image action still exists (only a tag was removed)', async () => {
    // Prepare
    const cfg = config(FIVE_PER_5M);
    const d = digest(REPO, 1);
    const p = auditPorts(db.doc, tables, { now: () => NOW1, present: new Set([d]) });

    // Act
    const outcome = await processCandidates(
      cfg,
      candidatesOf(imageActionEvent({ id: 'ev-tag', digest: d, repository: REPO, tag: 'v1' })),
      NOW1,
      p,
    );

    // Assess
    expect(outcome).toEqual({ recorded: 0, newlyDeleted: 0, tagOnly: 1, crossings: [] });
    expect(await p.store.byDigest(d)).toEqual([]);
    expect(await count(p, repositoryScope(REPO), '5m', W1)).toBe(0);
  });
});

describe('processCandidates delete-rate threshold (share of images)', () => {
  it('alerts when deletions pass maxPercentOfImages of the stored image count, using the lower of two limits', async () => {
    // Prepare: 40 images, 10% = 4; maxDeletes 10 is the higher limit
    const cfg = config({
      thresholds: [{ scope: 'repository', window: '1h', maxDeletes: 10, maxPercentOfImages: 10 }],
    });
    const p = auditPorts(db.doc, tables, { now: () => NOW1 });
    await p.counters.setRepositoryImageCount(REPO, 40, NOW1);

    // Act
    const crossings = await deliver(
      cfg,
      p,
      range(1, 6).map((k) => deletionEvent(REPO, k)),
      NOW1,
    );

    // Assess
    expect(crossings.map((c) => c.length)).toEqual([0, 0, 0, 0, 1, 0]);
    expect(crossings[4]).toEqual([
      {
        scope: repositoryScope(REPO),
        window: '1h',
        count: 5,
        limit: 4,
        threshold: 'repository-1h-10-10',
        breakerOpened: true,
      },
    ]);
    expect(p.published.map((m) => m.subject)).toEqual([
      'ECR Steward: 5 image deletions in repository services/orders within 1h (limit 4)',
    ]);
    expect(p.published[0]!.message).toContain('the limit is 4 (1 over, 125% of the limit)');
    expect(p.published[0]!.message).toContain(
      'npx ecr-steward audit --repository services/orders --since 60m',
    );
  });

  it('never alerts on a share-only threshold when no image count is stored', async () => {
    // Prepare
    const cfg = config({ thresholds: [{ scope: 'repository', window: '5m', maxPercentOfImages: 10 }] });
    const p = auditPorts(db.doc, tables, { now: () => NOW1 });

    // Act
    const crossings = await deliver(
      cfg,
      p,
      range(1, 8).map((k) => deletionEvent(REPO, k)),
      NOW1,
    );

    // Assess
    expect(crossings.flat()).toEqual([]);
    expect(p.published).toEqual([]);
    expect(await count(p, repositoryScope(REPO), '5m', W1)).toBe(8);
  });
});

describe('processCandidates delete-rate threshold (registry)', () => {
  it('counts deletions across repositories and opens the registry breaker when the registry passes its limit', async () => {
    // Prepare
    const cfg = config({ thresholds: [{ scope: 'registry', window: '5m', maxDeletes: 3 }] });
    const p = auditPorts(db.doc, tables, { now: () => NOW1 });
    const events = [
      deletionEvent('services/a', 1),
      deletionEvent('services/b', 2),
      deletionEvent('services/a', 5),
      deletionEvent('services/b', 7),
    ];

    // Act
    const crossings = await deliver(cfg, p, events, NOW1);

    // Assess
    expect(crossings.map((c) => c.length)).toEqual([0, 0, 0, 1]);
    expect(crossings[3]).toEqual([
      {
        scope: 'registry',
        window: '5m',
        count: 4,
        limit: 3,
        threshold: 'registry-5m-3-',
        breakerOpened: true,
      },
    ]);
    expect(await count(p, registryScope, '5m', W1)).toBe(4);
    expect(p.published).toHaveLength(1);
    expect(p.published[0]!.subject).toBe(
      'ECR Steward: 4 image deletions in the registry within 5m (limit 3)',
    );
    expect(p.published[0]!.message.split('\n')).toEqual([
      `Deletes in the registry passed a threshold: 4 in the 5m window that started ${W1}; the limit is 3 (1 over, 133% of the limit).`,
      '',
      `Top actors: principal ${CI_ROLE} (2), ecr-lifecycle (1), unknown (1)`,
      'Top rules: ecr-lifecycle rule 1 (1)',
      'Sample digests:',
      `  services/b@${digest('services/b', 7)} (untagged) by unknown`,
      `  services/a@${digest('services/a', 5)} [build-5] by ecr-lifecycle`,
      `  services/b@${digest('services/b', 2)} [build-2] by principal`,
      `  services/a@${digest('services/a', 1)} [build-1] by principal`,
      '',
      'The breaker for registry is OPEN: ECR Steward deletes nothing in this scope until it is reset with',
      '  npx ecr-steward breaker reset --scope registry',
      '',
      'Query the audit table: npx ecr-steward audit --since 5m',
    ]);
    expect(await p.breaker.firstOpen([registryScope, repositoryScope('services/c')], NOW1)).toMatchObject({
      scope: 'registry',
      state: 'open',
    });
  });
});

describe('breaker cooldown', () => {
  it('closes the breaker at the cooldown boundary and reopens it when a later window crosses again', async () => {
    // Prepare
    const cfg = config({ ...FIVE_PER_5M, breaker: { enabled: true, cooldownMinutes: 30 } });
    const p = auditPorts(db.doc, tables, { now: () => NOW1 });
    await deliver(
      cfg,
      p,
      range(1, 6).map((k) => deletionEvent(REPO, k)),
      NOW1,
    );
    const closesAt = new Date(NOW1.getTime() + 30 * 60_000);
    const W7 = '2026-06-01T12:35:00.000Z';
    const NOW7 = new Date('2026-06-01T12:36:00.000Z');
    const later = auditPorts(db.doc, tables, { now: () => NOW7 });

    // Act
    const state = await p.breaker.get(repositoryScope(REPO));
    const justBefore = new Date(closesAt.getTime() - 1);
    const scopes = [registryScope, repositoryScope(REPO)];
    const openBefore = await p.breaker.firstOpen(scopes, justBefore);
    const openAt = await p.breaker.firstOpen(scopes, closesAt);
    const reopened = await deliver(
      cfg,
      later,
      range(1, 6).map((k) => deletionEvent(REPO, k, W7)),
      NOW7,
    );

    // Assess
    expect(state?.closesAt).toBe(closesAt.toISOString());
    expect(isOpen(state, justBefore)).toBe(true);
    expect(isOpen(state, closesAt)).toBe(false);
    expect(openBefore?.scope).toBe(repositoryScope(REPO));
    expect(openAt).toBeUndefined();
    expect(p.published[0]!.message).toContain(
      '  npx ecr-steward breaker reset --scope repository:services/orders\nor until it closes by itself after 30 minutes.',
    );
    expect(reopened.flat().map((c) => c.breakerOpened)).toEqual([true]);
    expect(await later.breaker.get(repositoryScope(REPO))).toMatchObject({
      state: 'open',
      openedAt: NOW7.toISOString(),
      closesAt: new Date(NOW7.getTime() + 30 * 60_000).toISOString(),
    });
  });

  it('alerts without opening a breaker when the breaker is disabled in the config', async () => {
    // Prepare
    const cfg = config({ ...FIVE_PER_5M, breaker: { enabled: false } });
    const p = auditPorts(db.doc, tables, { now: () => NOW1 });

    // Act
    const crossings = await deliver(
      cfg,
      p,
      range(1, 6).map((k) => deletionEvent(REPO, k)),
      NOW1,
    );

    // Assess
    expect(crossings.flat().map((c) => c.breakerOpened)).toEqual([false]);
    expect(p.published).toHaveLength(1);
    expect(p.published[0]!.message).toContain(
      'The breaker is disabled in the config; ECR Steward keeps deleting.',
    );
    expect(await p.breaker.get(repositoryScope(REPO))).toBeUndefined();
  });
});

describe('BreakerStore', () => {
  it('opens a breaker once, and again only when a person closed it', async () => {
    // Prepare
    const p = auditPorts(db.doc, tables, { now: () => NOW1 });
    const scope = repositoryScope(REPO);

    // Act
    const first = await p.breaker.open(scope, 'burst', NOW1);
    const second = await p.breaker.open(scope, 'burst again', NOW1);
    const closed = await p.breaker.close(scope, 'arn:aws:iam::123456789012:user/jane', NOW2);
    const openWhileClosed = await p.breaker.firstOpen([scope], NOW2);
    const third = await p.breaker.open(scope, 'another burst', NOW2);

    // Assess
    expect([first, second, third]).toEqual([true, false, true]);
    expect(closed).toEqual({
      pk: `BREAKER#${scope}`,
      sk: 'BREAKER',
      scope,
      state: 'closed',
      closedBy: 'arn:aws:iam::123456789012:user/jane',
      closedAt: NOW2.toISOString(),
    });
    expect(openWhileClosed).toBeUndefined();
    expect(await p.breaker.get(scope)).toMatchObject({ state: 'open', reason: 'another burst' });
    expect(isOpen(undefined, NOW2)).toBe(false);
  });
});

describe('windowStart', () => {
  it.each([
    ['2026-06-01T12:04:59.999Z', '5m', '2026-06-01T12:00:00.000Z'],
    ['2026-06-01T12:05:00.000Z', '5m', '2026-06-01T12:05:00.000Z'],
    ['2026-06-01T12:29:00.000Z', '15m', '2026-06-01T12:15:00.000Z'],
    ['2026-06-01T12:59:59.000Z', '1h', '2026-06-01T12:00:00.000Z'],
    ['2026-06-01T17:00:00.000Z', '6h', '2026-06-01T12:00:00.000Z'],
    ['2026-06-01T23:59:59.999Z', '24h', '2026-06-01T00:00:00.000Z'],
  ] as const)('places %s in the %s window starting %s when counting', (at, window, start) => {
    // Prepare
    const instant = new Date(at);

    // Act
    const result = windowStart(instant, window);

    // Assess
    expect(result).toBe(start);
  });
});

describe('BreakerStore under BatchGetItem partial success', () => {
  it('finds the open breaker when BatchGetItem leaves its keys unprocessed at first', async () => {
    // Prepare
    await new BreakerStore(db.doc, tables.state).open(repositoryScope(REPO), 'burst', NOW1);
    const { doc, calls } = throttledBatchGets(db.client, 2);

    // Act
    const open = await new BreakerStore(doc, tables.state).firstOpen(
      [registryScope, repositoryScope(REPO)],
      NOW1,
    );

    // Assess
    expect(open).toMatchObject({ scope: repositoryScope(REPO), state: 'open', reason: 'burst' });
    expect(calls()).toBe(3);
  });

  it('throws instead of reporting the breaker closed when the keys stay unprocessed', async () => {
    // Prepare
    await new BreakerStore(db.doc, tables.state).open(repositoryScope(REPO), 'burst', NOW1);
    const { doc } = throttledBatchGets(db.client, Number.POSITIVE_INFINITY);

    // Act
    const read = new BreakerStore(doc, tables.state).firstOpen([registryScope, repositoryScope(REPO)], NOW1);

    // Assess
    await expect(read).rejects.toThrow('breaker state unreadable: DynamoDB left 2 key(s) unprocessed');
  });
});
