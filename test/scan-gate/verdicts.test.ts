/**
 * VerdictStore against a real DynamoDB API (dynalite, test/support/dynamo.ts): the latest verdict per image and
 * the full history, and events processed out of order (EventBridge does not order them) never let an older
 * verdict replace a newer LATEST.
 */
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type VerdictRecord, VerdictStore, verdictPk } from '../../functions/scan-gate/verdicts.js';
import { type Dynamo, startDynamo } from '../support/dynamo.js';
import { ACCOUNT, DIGEST, REGION, REPO } from './helpers.js';

let db: Dynamo;
let tables = 0;

beforeAll(async () => {
  db = await startDynamo();
});

afterAll(async () => {
  await db?.close();
});

/** A fresh, empty verdict table (pk/sk, as lib/constructs/scan-gate.ts defines it). */
async function verdictStore(): Promise<VerdictStore> {
  const TableName = `verdicts-${++tables}`;
  await db.client.send(
    new CreateTableCommand({
      TableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    }),
  );
  return new VerdictStore(db.doc, TableName);
}

const KEY = { registryId: ACCOUNT, region: REGION, repository: REPO, digest: DIGEST };

function record(
  at: string,
  extra: Partial<Omit<VerdictRecord, 'pk' | 'sk'>> = {},
): Omit<VerdictRecord, 'pk' | 'sk'> {
  return {
    ...KEY,
    tags: ['v1'],
    verdict: 'FAIL',
    summary: 'FAIL: 1 CRITICAL finding (at most 0 allowed)',
    reasons: ['1 CRITICAL finding (at most 0 allowed)'],
    counts: { CRITICAL: 1 },
    blocking: [{ id: 'CVE-2024-3094', severity: 'CRITICAL', packageName: 'xz-utils', cvss: 10 }],
    policyHash: '0123456789abcdef',
    at,
    trigger: 'ecr-scan',
    eventId: `event-${at}`,
    actions: ['notified'],
    quarantineTag: 'quarantined-0123456789ab',
    ...extra,
  };
}

describe('VerdictStore', () => {
  it('has no verdict for an image never judged', async () => {
    // Prepare
    const store = await verdictStore();

    // Act / Assess
    expect(await store.latest(KEY)).toBeUndefined();
    expect(await store.history(KEY)).toEqual([]);
  });

  it('stores the latest verdict and a history entry, with every field', async () => {
    // Prepare
    const store = await verdictStore();
    const first = record('2026-06-01T12:00:00.000Z');

    // Act
    const written = await store.put(first);

    // Assess
    expect(written).toBe(true);
    expect(await store.latest(KEY)).toEqual({ ...first, pk: verdictPk(KEY), sk: 'LATEST' });
    expect(await store.history(KEY)).toEqual([
      { ...first, pk: verdictPk(KEY), sk: `AT#2026-06-01T12:00:00.000Z#event-2026-06-01T12:00:00.000Z` },
    ]);
    expect(verdictPk(KEY)).toBe(`IMG#${ACCOUNT}#${REGION}#${REPO}#${DIGEST}`);
  });

  it('replaces the latest with a newer verdict and keeps both in the history, oldest first', async () => {
    // Prepare
    const store = await verdictStore();
    await store.put(record('2026-06-01T12:00:00.000Z'));

    // Act
    const written = await store.put(
      record('2026-06-01T13:00:00.000Z', { verdict: 'PASS', summary: 'PASS', quarantineTag: undefined }),
    );

    // Assess
    expect(written).toBe(true);
    const latest = await store.latest(KEY);
    expect(latest?.verdict).toBe('PASS');
    expect(latest).not.toHaveProperty('quarantineTag');
    expect((await store.history(KEY)).map((r) => [r.at, r.verdict])).toEqual([
      ['2026-06-01T12:00:00.000Z', 'FAIL'],
      ['2026-06-01T13:00:00.000Z', 'PASS'],
    ]);
  });

  it('never lets an older event replace a newer LATEST, but keeps it in the history', async () => {
    // Prepare: the newer event is processed first.
    const store = await verdictStore();
    await store.put(record('2026-06-01T13:00:00.000Z', { verdict: 'PASS', summary: 'PASS' }));

    // Act
    const written = await store.put(record('2026-06-01T12:59:59.999Z', { verdict: 'FAIL' }));

    // Assess
    expect(written).toBe(false);
    expect((await store.latest(KEY))?.verdict).toBe('PASS');
    expect((await store.latest(KEY))?.at).toBe('2026-06-01T13:00:00.000Z');
    expect((await store.history(KEY)).map((r) => r.at)).toEqual([
      '2026-06-01T12:59:59.999Z',
      '2026-06-01T13:00:00.000Z',
    ]);
  });

  it('keeps the verdicts of different images apart', async () => {
    // Prepare
    const store = await verdictStore();
    const other = { ...KEY, digest: `sha256:${'b'.repeat(64)}` };
    await store.put(record('2026-06-01T12:00:00.000Z'));

    // Act
    await store.put({ ...record('2026-06-01T11:00:00.000Z', { verdict: 'PASS' }), ...other });

    // Assess
    expect((await store.latest(KEY))?.verdict).toBe('FAIL');
    expect((await store.latest(other))?.verdict).toBe('PASS');
    expect(await store.history(KEY)).toHaveLength(1);
    expect(await store.history(other)).toHaveLength(1);
  });

  it('keeps a redelivered event idempotent: the same verdict written twice is one history entry', async () => {
    // Prepare
    const store = await verdictStore();
    const same = record('2026-06-01T12:00:00.000Z');

    // Act
    await store.put(same);
    const again = await store.put(same);

    // Assess
    expect(again).toBe(true);
    expect(await store.history(KEY)).toHaveLength(1);
  });
});
