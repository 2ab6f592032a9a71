/**
 * The weekly digest against a real DynamoDB API (dynalite): a week of audit records written by the audit store,
 * holds placed through the holds store, verdicts through the verdict store; the digest's own adapters read them
 * and keep its once-markers in the state table. The registry listing, the plans and SNS are in memory. Asserts
 * the exact messages, who receives them, and that a retry of the same run never sends a message twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRecordsSince, digestMarkers, gateFailuresBetween } from '../../functions/digest/adapters.js';
import { type DigestPorts, markerKey, runDigest } from '../../functions/digest/core.js';
import type { ReclaimResult } from '../../functions/digest/reclaimable.js';
import { VerdictStore } from '../../functions/scan-gate/verdicts.js';
import type { RepositoryInfo } from '../../functions/shared/adapters/ecr.js';
import type { DeleteSignal } from '../../functions/shared/audit/records.js';
import { AuditStore } from '../../functions/shared/audit/store.js';
import { validateConfig } from '../../functions/shared/config/load.js';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import type { Notice } from '../../functions/shared/governance/notice.js';
import { HoldsStore, type StoredHold } from '../../functions/shared/holds/store.js';
import { ClaimHeldError } from '../../functions/shared/org/org-breaker.js';
import { digestOf, keepNewest } from '../fixtures/images.js';
import { createHoldsTable, createVerdictTable, type Dynamo, startDynamo } from '../support/dynamo.js';

const ACCOUNT = '123456789012';
const REGION = 'eu-central-1';
const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
/** Monday 2026-12-07 08:00 in Berlin: the scheduled time; the week began Monday 2026-11-30 08:00 (07:00Z). */
const END = new Date('2026-12-07T07:00:00.000Z');
const NOW = new Date('2026-12-07T07:00:05.000Z');
const ALICE = 'arn:aws:iam::123456789012:user/alice';
const BOB = 'arn:aws:iam::123456789012:user/bob';

const CONFIG: StewardConfig = validateConfig({
  mode: 'enforce',
  digest: { timezone: 'Europe/Berlin' },
  selections: [
    {
      name: 'services',
      repositories: ['services/*'],
      lifecyclePolicy: keepNewest(1),
      steward: {
        holds: [{ tag: 'v9', reason: 'customer escrow', owner: 'platform', expiresAt: '2026-12-10' }],
      },
    },
    { name: 'web', repositories: ['web'], lifecyclePolicy: keepNewest(1) },
  ],
});

const repository = (name: string): RepositoryInfo => ({
  name,
  arn: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${name}`,
  registryId: ACCOUNT,
});
const REPOSITORIES = ['services/api', 'services/worker', 'web', 'legacy/tool'].map(repository);

let db: Dynamo;
let counter = 0;

beforeAll(async () => {
  db = await startDynamo();
}, 30_000);

afterAll(async () => {
  await db?.close();
});

interface World {
  readonly tables: { audit: string; state: string; holds: string; verdict: string };
  readonly published: { topic: 'notices' | 'alerts'; message: Notice }[];
  readonly planned: { repository: string; holds: string[] }[];
  /** Replaces a repository's plan result. */
  readonly plans: Map<string, ReclaimResult | Error>;
  failPublish?: (topic: 'notices' | 'alerts', message: Notice) => boolean;
  ports(): DigestPorts;
}

/** Fresh tables, filled with the week's records, holds and verdicts. */
async function world(): Promise<World> {
  counter++;
  const base = await db.createTables(`digest${counter}`);
  const tables = { ...base, holds: `digest-holds-${counter}`, verdict: `digest-verdicts-${counter}` };
  await createHoldsTable(db.client, tables.holds);
  await createVerdictTable(db.client, tables.verdict);
  await fill(tables);
  const w: World = {
    tables,
    published: [],
    planned: [],
    plans: new Map<string, ReclaimResult | Error>([
      ['services/api', { bytes: 3 * GIB, images: 30 }],
      ['services/worker', { unplanned: 'no-policy: services/worker has no lifecycle policy' }],
      ['web', { bytes: 512 * MIB, images: 4 }],
    ]),
    ports() {
      return {
        listRepositories: async () => REPOSITORIES,
        repositoryTags: async () => ({}),
        auditRecords: (since, onPage) => auditRecordsSince(db.doc, tables.audit, since, NOW, onPage),
        holds: () => new HoldsStore(db.doc, tables.holds).list(),
        gateFailures: (since, until) => gateFailuresBetween(db.doc, tables.verdict, since, until),
        reclaimable: async (repo, holds: readonly StoredHold[]) => {
          w.planned.push({ repository: repo.name, holds: holds.map((h) => h.reason) });
          const result = w.plans.get(repo.name);
          if (result instanceof Error) throw result;
          return result ?? { bytes: 0, images: 0 };
        },
        markers: digestMarkers(db.doc, tables.state),
        publish: async (topic, message) => {
          if (w.failPublish?.(topic, message)) throw new Error('SNS is unavailable');
          w.published.push({ topic, message });
        },
      };
    },
  };
  return w;
}

const ref = (repository: string, name: string) => ({
  registryId: ACCOUNT,
  region: REGION,
  repository,
  digest: digestOf(name),
});

/**
 * The week: deletions by ECR Steward, ECR's lifecycle, a person and an unattributed one (in a repository no
 * selection manages), one before and one at the very end of the week, an archive, a restore, a dry-run plan;
 * holds placed in and before the week; FAIL verdicts in and before the week and a PASS.
 */
async function fill(tables: World['tables']): Promise<void> {
  const audit = new AuditStore(db.doc, tables.audit, { now: () => NOW });
  const signals: DeleteSignal[] = [
    {
      ...ref('services/api', 'd1'),
      status: 'DELETED',
      evidence: 'steward-delete',
      at: '2026-12-01T10:00:00.000Z',
      sizeBytes: GIB,
      actor: { type: 'ecr-steward', runId: 'run-1' },
    },
    {
      ...ref('services/api', 'd2'),
      status: 'DELETED',
      evidence: 'cloudtrail-lifecycle',
      at: '2026-12-02T03:00:00.000Z',
      sizeBytes: 512 * MIB,
    },
    {
      ...ref('web', 'd3'),
      status: 'DELETED',
      evidence: 'cloudtrail-batch-delete',
      at: '2026-12-04T12:00:00.000Z',
      sizeBytes: 256 * MIB,
      actor: { principal: BOB },
    },
    {
      ...ref('legacy/tool', 'd4'),
      status: 'DELETED',
      evidence: 'image-action-event',
      at: '2026-12-05T00:00:00.000Z',
      sizeBytes: 100 * MIB,
    },
    // One second before the week and exactly at its end: neither counts.
    {
      ...ref('services/api', 'd5'),
      status: 'DELETED',
      evidence: 'steward-delete',
      at: '2026-11-30T06:59:59.000Z',
      sizeBytes: GIB,
      actor: { type: 'ecr-steward', runId: 'run-0' },
    },
    {
      ...ref('services/api', 'd6'),
      status: 'DELETED',
      evidence: 'steward-delete',
      at: '2026-12-07T07:00:00.000Z',
      sizeBytes: GIB,
      actor: { type: 'ecr-steward', runId: 'run-2' },
    },
    {
      ...ref('services/worker', 'd7'),
      status: 'ARCHIVED',
      evidence: 'steward-archive',
      at: '2026-12-03T08:00:00.000Z',
      archivedAt: '2026-12-03T08:00:00.000Z',
      purgeAt: '2027-03-03T08:00:00.000Z',
      sizeBytes: 2 * GIB,
      actor: { type: 'ecr-steward', runId: 'run-1' },
    },
    // Archived before the week, restored in it: a restore, not an archive, of this week.
    {
      ...ref('services/worker', 'd8'),
      status: 'ARCHIVED',
      evidence: 'steward-archive',
      at: '2026-11-20T08:00:00.000Z',
      archivedAt: '2026-11-20T08:00:00.000Z',
      purgeAt: '2027-02-18T08:00:00.000Z',
      sizeBytes: GIB,
      actor: { type: 'ecr-steward', runId: 'run-0' },
    },
    {
      ...ref('services/worker', 'd8'),
      status: 'RESTORED',
      evidence: 'steward-restore',
      at: '2026-12-04T09:00:00.000Z',
      restoredAt: '2026-12-04T09:00:00.000Z',
      actor: { principal: ALICE },
    },
    {
      ...ref('services/api', 'd9'),
      status: 'PLANNED',
      evidence: 'steward-write-ahead',
      at: '2026-12-02T12:00:00.000Z',
      sizeBytes: GIB,
      actor: { type: 'ecr-steward', runId: 'run-dry' },
    },
  ];
  for (const signal of signals) await audit.record(signal);

  const holds = new HoldsStore(db.doc, tables.holds, tables.audit);
  await holds.add(
    {
      registryId: ACCOUNT,
      region: REGION,
      repository: 'services/api',
      tag: 'v1.3.0',
      reason: 'escrow',
      principal: ALICE,
      expiresAt: '2026-12-09T09:00:00.000Z',
    },
    new Date('2026-12-01T10:00:00.000Z'),
  );
  await holds.add(
    {
      registryId: ACCOUNT,
      region: REGION,
      repository: 'web',
      reason: 'migration',
      principal: BOB,
      expiresAt: '2026-12-20T00:00:00.000Z',
    },
    new Date('2026-11-01T00:00:00.000Z'),
  );
  await holds.add(
    {
      registryId: ACCOUNT,
      region: REGION,
      repository: 'services/worker',
      digest: digestOf('d7'),
      reason: 'incident 42',
      principal: BOB,
    },
    new Date('2026-12-02T00:00:00.000Z'),
  );

  const verdicts = new VerdictStore(db.doc, tables.verdict);
  const verdict = (repository: string, name: string, v: 'PASS' | 'FAIL', at: string, summary: string) =>
    verdicts.put({
      ...ref(repository, name),
      tags: ['v2.0.0'],
      verdict: v,
      summary,
      reasons: [],
      counts: {},
      blocking: [],
      policyHash: 'policy-1',
      at,
      trigger: 'ecr-scan',
      eventId: `event-${name}-${at}`,
      actions: [],
    });
  await verdict('services/api', 'g1', 'FAIL', '2026-12-03T10:00:00.000Z', 'FAIL: 1 high finding (max 0)');
  await verdict('services/api', 'g1', 'FAIL', '2026-12-04T10:00:00.000Z', 'FAIL: 1 critical finding (max 0)');
  await verdict('web', 'g2', 'PASS', '2026-12-03T10:00:00.000Z', 'PASS: no blocking findings');
  await verdict('web', 'g3', 'FAIL', '2026-11-29T10:00:00.000Z', 'FAIL: 2 critical findings (max 0)');
}

const REQUEST = { registryId: ACCOUNT, region: REGION, end: END, now: NOW };

const SERVICES_DIGEST = [
  'ECR Steward weekly digest for selection services (services/*)',
  'Week:      2026-11-30 08:00 to 2026-12-07 08:00 (Europe/Berlin)',
  'Registry:  123456789012 (eu-central-1)',
  '',
  'This week',
  "  Deleted:        2 images, 1.50 GiB reclaimed (by ECR Steward 1, ECR's lifecycle policy 1, others 0)",
  '  Archived:       1 image (2.00 GiB)',
  '  Restored:       1 image',
  '  Holds placed:   2',
  '  Gate failures:  1 image',
  '',
  'Most to reclaim (the lifecycle plan as of 2026-12-07 08:00, read-only)',
  '  In all: 3.00 GiB in 30 images of 2 repositories',
  '  1. services/api  3.00 GiB in 30 images',
  '  Not planned (1):',
  '  - services/worker: no-policy: services/worker has no lifecycle policy',
  '',
  'Holds expiring in the next 7 days (2)',
  `  - services/api, tag v1.3.0, until 2026-12-09 10:00: escrow (by ${ALICE}; hold HOLD_ID)`,
  '  - selection services (services/*), tag v9, until 2026-12-10 01:00: customer escrow (by platform; in the config)',
  '  To keep a hold, place a new one before it expires: npx ecr-steward hold add REPOSITORY [--tag T | --digest D] --reason "<why>"',
  '',
  'Gate failures (1)',
  `  - services/api@${digestOf('g1')} (v2.0.0): FAIL: 1 critical finding (max 0)`,
  '  Check one: npx ecr-steward gate check REPOSITORY@DIGEST',
  '',
  'The records behind these figures: npx ecr-steward audit --since 2026-11-30T07:00:00.000Z',
  '',
].join('\n');

const WEB_DIGEST = [
  'ECR Steward weekly digest for selection web (web)',
  'Week:      2026-11-30 08:00 to 2026-12-07 08:00 (Europe/Berlin)',
  'Registry:  123456789012 (eu-central-1)',
  '',
  'This week',
  "  Deleted:        1 image, 256 MiB reclaimed (by ECR Steward 0, ECR's lifecycle policy 0, others 1)",
  '  Archived:       0 images (0 B)',
  '  Restored:       0 images',
  '  Holds placed:   0',
  '  Gate failures:  0 images',
  '',
  'Most to reclaim (the lifecycle plan as of 2026-12-07 08:00, read-only)',
  '  In all: 512 MiB in 4 images of 1 repository',
  '  1. web  512 MiB in 4 images',
  '',
  'Holds expiring in the next 7 days (0)',
  '  None.',
  '',
  'The records behind these figures: npx ecr-steward audit --since 2026-11-30T07:00:00.000Z',
  '',
].join('\n');

const REGISTRY_DIGEST = [
  'ECR Steward weekly digest for every repository of the registry',
  'Week:      2026-11-30 08:00 to 2026-12-07 08:00 (Europe/Berlin)',
  'Registry:  123456789012 (eu-central-1)',
  '',
  'This week',
  "  Deleted:        4 images, 1.85 GiB reclaimed (by ECR Steward 1, ECR's lifecycle policy 1, others 2)",
  '  Archived:       1 image (2.00 GiB)',
  '  Restored:       1 image',
  '  Holds placed:   2',
  '  Gate failures:  1 image',
  '',
  'By selection',
  '  services  deleted 2 (1.50 GiB), archived 1, restored 1, holds placed 2, gate failures 1',
  '  web       deleted 1 (256 MiB), archived 0, restored 0, holds placed 0, gate failures 0',
  '',
  'Most to reclaim (the lifecycle plan as of 2026-12-07 08:00, read-only)',
  '  In all: 3.50 GiB in 34 images of 3 repositories',
  '  1. services/api  3.00 GiB in 30 images',
  '  2. web           512 MiB in 4 images',
  '  Not planned (1):',
  '  - services/worker: no-policy: services/worker has no lifecycle policy',
  '',
  'Holds expiring in the next 7 days (2)',
  `  - services/api, tag v1.3.0, until 2026-12-09 10:00: escrow (by ${ALICE}; hold HOLD_ID)`,
  '  - selection services (services/*), tag v9, until 2026-12-10 01:00: customer escrow (by platform; in the config)',
  '  To keep a hold, place a new one before it expires: npx ecr-steward hold add REPOSITORY [--tag T | --digest D] --reason "<why>"',
  '',
  'Gate failures (1)',
  `  - services/api@${digestOf('g1')} (v2.0.0): FAIL: 1 critical finding (max 0)`,
  '  Check one: npx ecr-steward gate check REPOSITORY@DIGEST',
  '',
  'The records behind these figures: npx ecr-steward audit --since 2026-11-30T07:00:00.000Z',
  '',
].join('\n');

/** The id of the services/api hold (random, drawn by the store). */
async function holdId(w: World): Promise<string> {
  const holds = await new HoldsStore(db.doc, w.tables.holds).list();
  return holds.find((h) => h.repository === 'services/api')!.id;
}

describe('runDigest', () => {
  it('sends each selection its digest on the notices topic and the registry digest on the alerts topic when run', async () => {
    // Prepare
    const w = await world();
    const id = await holdId(w);

    // Act
    const report = await runDigest(CONFIG, REQUEST, w.ports());

    // Assess
    expect(w.published.map((p) => [p.topic, p.message.subject, p.message.attributes])).toEqual([
      [
        'notices',
        'ECR Steward weekly digest (services): 2 images deleted, 1.50 GiB reclaimed (week of 2026-11-30)',
        {
          kind: { DataType: 'String', StringValue: 'digest' },
          selection: { DataType: 'String', StringValue: 'services' },
        },
      ],
      [
        'notices',
        'ECR Steward weekly digest (web): 1 image deleted, 256 MiB reclaimed (week of 2026-11-30)',
        {
          kind: { DataType: 'String', StringValue: 'digest' },
          selection: { DataType: 'String', StringValue: 'web' },
        },
      ],
      [
        'alerts',
        'ECR Steward weekly digest: 4 images deleted, 1.85 GiB reclaimed (week of 2026-11-30)',
        { kind: { DataType: 'String', StringValue: 'digest' } },
      ],
    ]);
    expect(w.published[0]!.message.message).toBe(SERVICES_DIGEST.replace('HOLD_ID', id));
    expect(w.published[1]!.message.message).toBe(WEB_DIGEST);
    expect(w.published[2]!.message.message).toBe(REGISTRY_DIGEST.replace('HOLD_ID', id));
    expect(report).toEqual({
      window: {
        start: new Date('2026-11-30T07:00:00.000Z'),
        end: END,
        timeZone: 'Europe/Berlin',
        weekOf: '2026-11-30',
      },
      alreadySent: false,
      repositories: 4,
      managed: 3,
      unplanned: 1,
      messages: [
        { topic: 'notices', selection: 'services', subject: w.published[0]!.message.subject, sentNow: true },
        { topic: 'notices', selection: 'web', subject: w.published[1]!.message.subject, sentNow: true },
        { topic: 'alerts', subject: w.published[2]!.message.subject, sentNow: true },
      ],
    });
  });

  it('plans only the managed repositories, each with its holds of the table, when it computes what to reclaim', async () => {
    // Prepare
    const w = await world();

    // Act
    await runDigest(CONFIG, REQUEST, w.ports());

    // Assess
    expect([...w.planned].sort((a, b) => a.repository.localeCompare(b.repository))).toEqual([
      { repository: 'services/api', holds: ['escrow'] },
      { repository: 'services/worker', holds: ['incident 42'] },
      { repository: 'web', holds: ['migration'] },
    ]);
  });

  it('sends nothing and reads nothing when the same run is retried after it sent everything', async () => {
    // Prepare
    const w = await world();
    await runDigest(CONFIG, REQUEST, w.ports());
    w.published.length = 0;
    w.planned.length = 0;

    // Act
    const report = await runDigest(CONFIG, { ...REQUEST, now: new Date(NOW.getTime() + 60_000) }, w.ports());

    // Assess
    expect(report.alreadySent).toBe(true);
    expect(report.messages).toEqual([]);
    expect(w.published).toEqual([]);
    expect(w.planned).toEqual([]);
  });

  it('sends only the messages a failed attempt had not sent when the run is retried', async () => {
    // Prepare: SNS fails on the web digest, after the services digest went out.
    const w = await world();
    w.failPublish = (_topic, message) => message.attributes.selection?.StringValue === 'web';
    await expect(runDigest(CONFIG, REQUEST, w.ports())).rejects.toThrow('SNS is unavailable');
    expect(w.published.map((p) => p.message.attributes.selection?.StringValue)).toEqual(['services']);
    // The failed claim is left as it was; a retry comes after its lease (Lambda retries after a minute or more).
    w.failPublish = undefined;
    const retryAt = new Date(NOW.getTime() + 120_000);

    // Act
    const report = await runDigest(CONFIG, { ...REQUEST, now: retryAt }, w.ports());

    // Assess
    expect(w.published.map((p) => [p.topic, p.message.attributes.selection?.StringValue])).toEqual([
      ['notices', 'services'],
      ['notices', 'web'],
      ['alerts', undefined],
    ]);
    expect(report.messages.map((m) => [m.selection, m.sentNow])).toEqual([
      ['services', false],
      ['web', true],
      [undefined, true],
    ]);
  });

  it('refuses to send while another attempt of the same run holds a message when they overlap', async () => {
    // Prepare: an attempt claimed the web digest a moment ago and is still at work.
    const w = await world();
    const markers = digestMarkers(db.doc, w.tables.state);
    await markers.claim(markerKey(END, 'SELECTION#1#web'), NOW, 0);

    // Act / Assess
    await expect(runDigest(CONFIG, REQUEST, w.ports())).rejects.toBeInstanceOf(ClaimHeldError);
    expect(w.published.map((p) => p.message.attributes.selection?.StringValue)).toEqual(['services']);
  });

  it('keeps a marker per message and one for the run, expiring 35 days after the week, when it has sent them', async () => {
    // Prepare
    const w = await world();

    // Act
    await runDigest(CONFIG, REQUEST, w.ports());

    // Assess
    const items = (await db.scan(w.tables.state)).map(({ pk, sk, state, expiresAt }) => ({
      pk,
      sk,
      state,
      expiresAt,
    }));
    const expiresAt = END.getTime() / 1000 + 35 * 86_400;
    const pk = 'DIGEST#2026-12-07T07:00:00.000Z';
    expect(items.sort((a, b) => String(a.sk).localeCompare(String(b.sk)))).toEqual([
      { pk, sk: 'ALL', state: 'done', expiresAt },
      { pk, sk: 'RUN', state: 'done', expiresAt },
      { pk, sk: 'SELECTION#0#services', state: 'done', expiresAt },
      { pk, sk: 'SELECTION#1#web', state: 'done', expiresAt },
    ]);
  });

  it('names a repository whose plan failed and still sends the digest when a plan throws', async () => {
    // Prepare
    const w = await world();
    w.plans.set('web', new Error('ThrottlingException: Rate exceeded'));

    // Act
    await runDigest(CONFIG, REQUEST, w.ports());

    // Assess
    const web = w.published.find((p) => p.message.attributes.selection?.StringValue === 'web')!;
    expect(web.message.message).toContain(
      [
        '  In all: 0 B in 0 images of 1 repository',
        '  Nothing: every plan keeps every image.',
        '  Not planned (1):',
        '  - web: the plan failed: ThrottlingException: Rate exceeded',
      ].join('\n'),
    );
  });

  it('attributes a repository to the selection its tags choose when a selection manages repositories by tag', async () => {
    // Prepare: `web` is now managed by a tag-based selection; services/* by name as before.
    const w = await world();
    const config = validateConfig({
      mode: 'enforce',
      digest: { timezone: 'Europe/Berlin' },
      selections: [
        { name: 'services', repositories: ['services/*'], lifecyclePolicy: keepNewest(1) },
        { name: 'tagged', repositoryTags: { team: 'web' }, lifecyclePolicy: keepNewest(1) },
      ],
    });
    const ports = w.ports();
    const tagged: DigestPorts = {
      ...ports,
      repositoryTags: async (arn): Promise<Record<string, string>> =>
        arn.endsWith(':repository/web') ? { team: 'web' } : {},
    };

    // Act
    await runDigest(config, REQUEST, tagged);

    // Assess
    expect(w.published.map((p) => p.message.subject)).toEqual([
      'ECR Steward weekly digest (services): 2 images deleted, 1.50 GiB reclaimed (week of 2026-11-30)',
      'ECR Steward weekly digest (tagged): 1 image deleted, 256 MiB reclaimed (week of 2026-11-30)',
      'ECR Steward weekly digest: 4 images deleted, 1.85 GiB reclaimed (week of 2026-11-30)',
    ]);
    expect(w.published[1]!.message.message.split('\n')[0]).toBe(
      'ECR Steward weekly digest for selection tagged (tagged team=web)',
    );
  });
});

describe('gateFailuresBetween', () => {
  it('returns each failed image once with its latest FAIL of the week when it failed twice', async () => {
    // Prepare
    const w = await world();

    // Act
    const failures = await gateFailuresBetween(
      db.doc,
      w.tables.verdict,
      '2026-11-30T07:00:00.000Z',
      '2026-12-07T07:00:00.000Z',
    );

    // Assess
    expect(failures).toEqual([
      {
        repository: 'services/api',
        digest: digestOf('g1'),
        tags: ['v2.0.0'],
        summary: 'FAIL: 1 critical finding (max 0)',
        at: '2026-12-04T10:00:00.000Z',
      },
    ]);
  });
});

describe('auditRecordsSince', () => {
  it('returns the records whose state began since the start, dry runs marked, when read day by day', async () => {
    // Prepare
    const w = await world();
    const seen: string[] = [];

    // Act
    await auditRecordsSince(db.doc, w.tables.audit, '2026-11-30T07:00:00.000Z', NOW, (page) => {
      for (const r of page) seen.push(`${r.repository} ${r.status} ${r.at} ${r.dryRun} ${r.actorType}`);
    });

    // Assess
    expect(seen.sort()).toEqual([
      'legacy/tool DELETED 2026-12-05T00:00:00.000Z false unknown',
      'services/api DELETED 2026-12-01T10:00:00.000Z false ecr-steward',
      'services/api DELETED 2026-12-02T03:00:00.000Z false ecr-lifecycle',
      'services/api DELETED 2026-12-07T07:00:00.000Z false ecr-steward',
      'services/api PLANNED 2026-12-02T12:00:00.000Z true ecr-steward',
      'services/worker ARCHIVED 2026-12-03T08:00:00.000Z false ecr-steward',
      'services/worker RESTORED 2026-12-04T09:00:00.000Z false principal',
      'web DELETED 2026-12-04T12:00:00.000Z false principal',
    ]);
  });
});
