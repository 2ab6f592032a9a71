/**
 * `ecr-steward gate check REPOSITORY@DIGEST`, run as a pipeline runs it (a child process), reading the recorded
 * verdict from a real DynamoDB API (dynalite) through the SDK's standard AWS_ENDPOINT_URL: the exit code a
 * pipeline branches on (0 PASS, 1 FAIL, 3 PENDING), the one-line reason, and the quarantine when there is one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type VerdictRecord, VerdictStore } from '../../functions/scan-gate/verdicts.js';
import { runCli } from '../cli/run-cli.js';
import { createVerdictTable, DUMMY_CREDENTIALS, type Dynamo, startDynamo } from '../support/dynamo.js';
import { ACCOUNT, DIGEST, REGION, REPO } from './helpers.js';

const TABLE = 'verdicts-cli';
let db: Dynamo;
let store: VerdictStore;

beforeAll(async () => {
  db = await startDynamo();
  await createVerdictTable(db.client, TABLE);
  store = new VerdictStore(db.doc, TABLE);
}, 30_000);

afterAll(async () => {
  await db?.close();
});

const digest = (c: string) => `sha256:${c.repeat(64)}`;

function record(
  d: string,
  extra: Partial<Omit<VerdictRecord, 'pk' | 'sk'>>,
): Omit<VerdictRecord, 'pk' | 'sk'> {
  return {
    registryId: ACCOUNT,
    region: REGION,
    repository: REPO,
    digest: d,
    tags: ['v1'],
    verdict: 'PASS',
    summary: 'PASS: no findings',
    reasons: [],
    counts: {},
    blocking: [],
    policyHash: '0123456789abcdef',
    at: '2026-06-01T12:00:00.000Z',
    trigger: 'ecr-scan',
    eventId: 'event-1',
    actions: [],
    ...extra,
  };
}

const check = (image: string, ...extra: string[]) =>
  runCli(['gate', 'check', image, '--registry-id', ACCOUNT, '--verdict-table', TABLE, ...extra], {
    env: {
      AWS_ENDPOINT_URL: db.endpoint,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  });

describe('ecr-steward gate check: the recorded verdict', () => {
  it('exits 1 for a quarantined FAIL and says since when, on one line', async () => {
    // Prepare
    const tag = `quarantined-${DIGEST.slice(7, 19)}`;
    await store.put(
      record(DIGEST, {
        verdict: 'FAIL',
        summary: 'FAIL: 1 CRITICAL finding (at most 0 allowed)',
        quarantineTag: tag,
        quarantinedAt: '2026-05-30T08:00:00.000Z',
      }),
    );

    // Act
    const text = await check(`${REPO}@${DIGEST}`);
    const json = await check(`${REPO}@${DIGEST}`, '--format', 'json');

    // Assess
    expect(text).toMatchObject({
      code: 1,
      stdout: 'FAIL: 1 CRITICAL finding (at most 0 allowed) [quarantined since 2026-05-30T08:00:00.000Z]\n',
    });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      image: `${REPO}@${DIGEST}`,
      verdict: 'FAIL',
      quarantinedAt: '2026-05-30T08:00:00.000Z',
      quarantineTag: tag,
      source: 'recorded',
    });
  }, 30_000);

  it('exits 0 for a PASS and 3 for a PENDING, with the summary alone', async () => {
    // Prepare
    await store.put(record(digest('a'), {}));
    await store.put(
      record(digest('b'), {
        verdict: 'PENDING',
        summary: 'PENDING: scan in_progress, within the 60-minute grace window',
      }),
    );

    // Act
    const pass = await check(`${REPO}@${digest('a')}`);
    const pending = await check(`${REPO}@${digest('b')}`, '--format', 'json');

    // Assess
    expect(pass).toMatchObject({ code: 0, stdout: 'PASS: no findings\n' });
    expect(pending.code).toBe(3);
    expect(JSON.parse(pending.stdout)).not.toHaveProperty('quarantinedAt');
  }, 30_000);
});
