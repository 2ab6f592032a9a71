/**
 * `gate check` with a recorded verdict given under another gate policy than the named config's (here: before
 * signatures were required): the verdict is stale, so the image is judged again and an unsigned one does not pass.
 * A regression test from an independent review, against the local ECR emulator and dynalite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type VerdictRecord, VerdictStore } from '../../functions/scan-gate/verdicts.js';
import { EcrEmulator, ociImageManifest } from '../../local/ecr-emulator.js';
import { type LocalServer, startLocalServer } from '../../local/server.js';
import { generateCosignKey } from '../../local/signing.js';
import { keepNewest } from '../fixtures/images.js';
import { createVerdictTable, DUMMY_CREDENTIALS, type Dynamo, startDynamo } from '../support/dynamo.js';
import { removeTempFiles, runCli, tempFiles } from './run-cli.js';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const REPO = 'team/app';
const TABLE = 'verdicts-review16';
let emulator: EcrEmulator;
let server: LocalServer;
let db: Dynamo;
let dir: string;
let unsigned: string;

const release = generateCosignKey();
const signatures = { required: true, trust: [{ type: 'cosign', publicKeys: [release.publicKeyPem] }] };

const env = (extra: Record<string, string | undefined> = {}) => ({
  AWS_ENDPOINT_URL: server.url,
  AWS_REGION: REGION,
  AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  ECR_STEWARD_CONFIG: undefined,
  ECR_STEWARD_REGISTRY_ID: ACCOUNT,
  VERDICT_TABLE_NAME: undefined,
  ...extra,
});

beforeAll(async () => {
  emulator = new EcrEmulator({ accountId: ACCOUNT, region: REGION });
  // The signature policy is chosen by the repository's tags (a gate selection with repositoryTags).
  emulator.createRepository(REPO, { tags: { tier: 'prod' } });
  unsigned = emulator.putImage(REPO, { manifest: ociImageManifest('unsigned'), tags: ['unsigned'] });
  emulator.setScanFindings(REPO, unsigned, { status: 'COMPLETE', findings: [] });
  server = await startLocalServer({ handlers: { ecr: emulator.handle } });
  db = await startDynamo();
  await createVerdictTable(db.client, TABLE);
  dir = await tempFiles({
    'by-tags.json': {
      selections: [{ repositories: ['web'], lifecyclePolicy: keepNewest(5) }],
      gate: { policy: {}, selections: [{ repositoryTags: { tier: 'prod' }, policy: { signatures } }] },
    },
    'by-name.json': {
      selections: [{ repositories: ['web'], lifecyclePolicy: keepNewest(5) }],
      gate: { policy: { signatures } },
    },
  });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await db?.close();
  await removeTempFiles();
});

describe('gate check and a verdict recorded under another policy', () => {
  it('gate check does not exit 0 on a PASS recorded before signatures were required', async () => {
    const old: Omit<VerdictRecord, 'pk' | 'sk'> = {
      registryId: ACCOUNT,
      region: REGION,
      repository: REPO,
      digest: unsigned,
      tags: ['unsigned'],
      verdict: 'PASS',
      summary: 'PASS: 0 finding(s) within the policy',
      reasons: [],
      counts: {},
      blocking: [],
      policyHash: '0123456789abcdef',
      at: '2026-01-01T00:00:00.000Z',
      trigger: 'ecr-scan',
      eventId: 'e',
      actions: [],
    };
    await new VerdictStore(db.doc, TABLE).put(old);
    const r = await runCli(
      ['gate', 'check', `${REPO}:unsigned`, '--config', 'by-name.json', '--verdict-table', TABLE],
      { cwd: dir, env: env({ AWS_ENDPOINT_URL_DYNAMODB: db.endpoint }) },
    );
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('the recorded verdict was given under another gate policy (0123456789abcdef');
    expect(r.stdout).toBe(
      'PENDING: the policy requires a trusted signature and the signatures were not read; findings: 0 finding(s) within the policy\n',
    );
  }, 60_000);
});
