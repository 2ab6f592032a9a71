import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeleteSignal } from '../../functions/shared/audit/records.js';
import { AuditStore } from '../../functions/shared/audit/store.js';
import { createStewardTables, DUMMY_CREDENTIALS, type Dynamo, startDynamo } from '../support/dynamo.js';
import { runCli } from './run-cli.js';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const TABLE = 'trash-audit';
const digest = (c: string) => `sha256:${c.repeat(64)}`;

let db: Dynamo;
let store: AuditStore;

beforeAll(async () => {
  db = await startDynamo();
  // The audit table as the stack defines it (pk/sk and the five indexes of AuditStore).
  await createStewardTables(db.client, { audit: TABLE, state: `${TABLE}-state` });
  store = new AuditStore(db.doc, TABLE);
  const archive = async (
    repository: string,
    d: string,
    tags: string[],
    archivedAt: string,
    purgeAt: string,
  ) => {
    const base: Omit<DeleteSignal, 'evidence' | 'status'> = {
      registryId: ACCOUNT,
      region: REGION,
      repository,
      digest: d,
      at: archivedAt,
      tags,
      sizeBytes: 52_428_800,
      actor: {
        type: 'ecr-steward',
        runId: 'run-1',
        reasons: [`expired by rule 1: ${tags[0] ?? 'untagged'}`],
      },
    };
    await store.record({ ...base, evidence: 'steward-write-ahead', status: 'PENDING', intent: 'archive' });
    await store.record({ ...base, evidence: 'steward-archive', status: 'ARCHIVED', archivedAt, purgeAt });
  };
  await archive(
    'services/orders',
    digest('a'),
    ['v1', 'old'],
    '2026-05-02T00:00:00.000Z',
    '2026-06-01T00:00:00.000Z',
  );
  await archive(
    'services/billing',
    digest('b'),
    ['v7'],
    '2026-05-01T00:00:00.000Z',
    '2026-05-31T00:00:00.000Z',
  );
  // A notice (SCHEDULED) is open too, but it is not in the trash.
  await store.record({
    registryId: ACCOUNT,
    region: REGION,
    repository: 'services/orders',
    digest: digest('c'),
    evidence: 'steward-notice',
    status: 'SCHEDULED',
    at: '2026-05-03T00:00:00.000Z',
    dueAt: '2026-05-04T00:00:00.000Z',
    tags: ['v2'],
  });
}, 30_000);

afterAll(async () => {
  await db?.close();
});

const trash = (...args: string[]) =>
  runCli(['trash', 'list', ...args, '--registry-id', ACCOUNT, '--audit-table', TABLE], {
    env: {
      AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  });

describe('ecr-steward trash list', () => {
  it('lists every archived image, soonest purge first, without the notices', async () => {
    // Act
    const result = await trash();

    // Assess
    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'purgeAt                   archivedAt                repository        digest                tags    size      reason',
        '2026-05-31T00:00:00.000Z  2026-05-01T00:00:00.000Z  services/billing  sha256:bbbbbbbbbbbb…  v7      50.0 MiB  expired by rule 1: v7',
        '2026-06-01T00:00:00.000Z  2026-05-02T00:00:00.000Z  services/orders   sha256:aaaaaaaaaaaa…  old v1  50.0 MiB  expired by rule 1: v1',
        '2 archived image(s)',
        '',
      ].join('\n'),
    });
  }, 30_000);

  it('lists one repository as JSON with digest, tags, size, archivedAt, purgeAt and reason', async () => {
    // Act
    const result = await trash('services/orders', '--json');

    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([
      {
        registryId: ACCOUNT,
        region: REGION,
        repository: 'services/orders',
        digest: digest('a'),
        tags: ['old', 'v1'],
        sizeBytes: 52_428_800,
        archivedAt: '2026-05-02T00:00:00.000Z',
        purgeAt: '2026-06-01T00:00:00.000Z',
        reason: 'expired by rule 1: v1',
      },
    ]);
  }, 30_000);

  it("lists a lifecycle transition's archive (never purged) after those with a purge time", async () => {
    // Prepare: a table of its own with one soft-delete archive and one transition archive (intent transition)
    const table = 'trash-audit-transitions';
    await createStewardTables(db.client, { audit: table, state: `${table}-state` });
    const own = new AuditStore(db.doc, table);
    for (const [d, intent, purgeAt] of [
      [digest('d'), 'transition', undefined],
      [digest('e'), 'archive', '2026-06-01T00:00:00.000Z'],
    ] as const) {
      const base: Omit<DeleteSignal, 'evidence' | 'status'> = {
        registryId: ACCOUNT,
        region: REGION,
        repository: 'services/orders',
        digest: d,
        at: '2026-05-02T00:00:00.000Z',
        tags: ['v1'],
        sizeBytes: 1024,
        actor: { type: 'ecr-steward', runId: 'run-1', reasons: ['rule 1: not pulled for 90 days'] },
      };
      await own.record({ ...base, evidence: 'steward-write-ahead', status: 'PENDING', intent });
      await own.record({
        ...base,
        evidence: 'steward-archive',
        status: 'ARCHIVED',
        archivedAt: '2026-05-02T00:00:00.000Z',
        purgeAt,
      });
    }

    // Act: every repository (the byDue index), and one repository (its open records)
    const all = await runCli(['trash', 'list', '--registry-id', ACCOUNT, '--audit-table', table], {
      env: {
        AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
        AWS_REGION: REGION,
        AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
    });
    const one = await own.open({ registryId: ACCOUNT, region: REGION, repository: 'services/orders' });

    // Assess
    expect(all.stdout.split('\n').slice(1, 3)).toEqual([
      '2026-06-01T00:00:00.000Z  2026-05-02T00:00:00.000Z  services/orders  sha256:eeeeeeeeeeee…  v1    1.00 KiB  rule 1: not pulled for 90 days',
      'never (transition)        2026-05-02T00:00:00.000Z  services/orders  sha256:dddddddddddd…  v1    1.00 KiB  rule 1: not pulled for 90 days',
    ]);
    expect(one.map((r) => [r.digest, r.status, r.purgeAt])).toEqual([
      [digest('e'), 'ARCHIVED', '2026-06-01T00:00:00.000Z'],
      [digest('d'), 'ARCHIVED', undefined],
    ]);
  }, 30_000);

  it('says so when a repository has nothing archived, and exits 2 for a malformed repository name', async () => {
    // Act
    const empty = await trash('services/empty');
    const malformed = await trash('Services');

    // Assess
    expect(empty).toEqual({ code: 0, stderr: '', stdout: 'no archived images in services/empty\n' });
    expect(malformed).toEqual({
      code: 2,
      stdout: '',
      stderr: 'error: repository "Services": a repository name is lower case\n',
    });
  }, 30_000);
});
