/**
 * `ecr-steward restore`, run as a person runs it (a child process), against the local cloud's ECR emulator
 * (wire protocol), a real DynamoDB API (dynalite) holding an audit table with every index of the store
 * (byDue and openByRepository included), and an STS stand-in that answers GetCallerIdentity: the exact output,
 * the exit code, what ECR holds afterwards and the RESTORED record.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DeleteSignal } from '../../functions/shared/audit/records.js';
import { AuditStore } from '../../functions/shared/audit/store.js';
import { EcrEmulator, ociImageManifest } from '../../local/ecr-emulator.js';
import { type LocalServer, type ServiceHandler, startLocalServer } from '../../local/server.js';
import { createStewardTables, DUMMY_CREDENTIALS, type Dynamo, startDynamo } from '../support/dynamo.js';
import { runCli } from './run-cli.js';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const REPO = 'services/orders';
const CALLER = 'arn:aws:sts::123456789012:assumed-role/developer/alice';
const ARCHIVED_AT = '2026-05-01T00:00:00.000Z';
const PURGE_AT = '2026-05-31T00:00:00.000Z';

let db: Dynamo;
let sts: Server;
let stsUrl: string;
let server: LocalServer;
const handlers: { ecr?: ServiceHandler } = {};
let emulator: EcrEmulator;
let table: string;
let store: AuditStore;
let tableCount = 0;

/** The audit table as the stack defines it (pk/sk and the five indexes of AuditStore), with its state table. */
async function createAuditTable(name: string): Promise<void> {
  await createStewardTables(db.client, { audit: name, state: `${name}-state` });
}

beforeAll(async () => {
  db = await startDynamo();
  // STS GetCallerIdentity (awsQuery, XML): the one call the restore makes to learn who is restoring.
  sts = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>${CALLER}</Arn><UserId>AROAEXAMPLE:alice</UserId><Account>${ACCOUNT}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
      );
    });
  });
  await new Promise<void>((resolve) => sts.listen(0, '127.0.0.1', resolve));
  stsUrl = `http://127.0.0.1:${(sts.address() as AddressInfo).port}`;
  server = await startLocalServer({ handlers });
}, 30_000);

afterAll(async () => {
  await server?.close();
  await new Promise((resolve) => sts?.close(resolve));
  await db?.close();
});

beforeEach(async () => {
  tableCount++;
  table = `restore-audit-${tableCount}`;
  await createAuditTable(table);
  store = new AuditStore(db.doc, table);
  useEmulator(new EcrEmulator());
});

afterEach(() => {
  handlers.ecr = undefined;
});

function useEmulator(next: EcrEmulator): void {
  emulator = next;
  emulator.createRepository(REPO);
  handlers.ecr = emulator.handle;
}

const restore = (...args: string[]) =>
  runCli(['restore', ...args, '--registry-id', ACCOUNT, '--audit-table', table], {
    env: {
      AWS_ENDPOINT_URL: server.url,
      AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
      AWS_ENDPOINT_URL_STS: stsUrl,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ECR_STEWARD_REGISTRY_ID: undefined,
    },
  });

const ref = (digest: string) => ({ registryId: ACCOUNT, region: REGION, repository: REPO, digest });

/** The signals the due-deletion processor writes for an archive: the write-ahead, then ARCHIVED. */
async function recordArchived(digest: string, tags: string[]): Promise<void> {
  const actor = {
    type: 'ecr-steward' as const,
    runId: 'run-7',
    rulePriority: 1,
    reasons: ['expired by rule 1'],
  };
  const base: Omit<DeleteSignal, 'evidence' | 'status'> = {
    ...ref(digest),
    at: ARCHIVED_AT,
    tags,
    sizeBytes: 1_000,
    actor,
  };
  await store.record({ ...base, evidence: 'steward-write-ahead', status: 'PENDING', intent: 'archive' });
  await store.record({
    ...base,
    evidence: 'steward-archive',
    status: 'ARCHIVED',
    archivedAt: ARCHIVED_AT,
    purgeAt: PURGE_AT,
  });
}

describe('ecr-steward restore', () => {
  it('restores an archived image, re-applies its free tags, names the taken one and records RESTORED with the caller', async () => {
    // Prepare
    const digest = emulator.putImage(REPO, { manifest: ociImageManifest('old'), tags: ['v1', 'latest'] });
    emulator.setStorageClass(REPO, digest, 'ARCHIVE');
    // While it was archived, a push moved `latest` to a newer image; `stable` left with an untag.
    const newer = emulator.putImage(REPO, { manifest: ociImageManifest('new'), tags: ['latest'] });
    await recordArchived(digest, ['latest', 'stable', 'v1']);

    // Act
    const result = await restore(`${REPO}@${digest}`);

    // Assess
    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        `restoring ${REPO}@${digest} (archived ${ARCHIVED_AT}, purge was due ${PURGE_AT})`,
        `restored ${REPO}@${digest}: ACTIVE`,
        'tags re-applied: stable',
        'tags still on the image: v1',
        `tag latest not restored: it is now on ${newer} (ACTIVE), and a tag names one image; move it with docker tag/push if you mean to`,
        `recorded RESTORED in ${table} (by ${CALLER})`,
        '',
      ].join('\n'),
    });
    expect(emulator.image(REPO, digest)).toMatchObject({ status: 'ACTIVE', tags: ['v1', 'stable'] });
    expect(emulator.image(REPO, newer)?.tags).toEqual(['latest']);
    const record = await store.get(ref(digest));
    expect(record).toMatchObject({
      status: 'RESTORED',
      archivedAt: ARCHIVED_AT,
      note: `tags not restored: latest now on ${newer}`,
      evidence: ['steward-archive', 'steward-restore', 'steward-write-ahead'],
      // A restore is a person's act: the record names them, not the archiving run.
      actor: { type: 'principal', principal: CALLER },
    });
    expect(Date.parse(record?.restoredAt ?? '')).toBeGreaterThan(Date.parse(ARCHIVED_AT));
    // No longer open: neither the purge nor `trash list` sees it.
    expect(record?.gsi4pk).toBeUndefined();
    expect(record?.gsi5pk).toBeUndefined();
    expect(await store.open({ registryId: ACCOUNT, region: REGION, repository: REPO })).toEqual([]);
  }, 30_000);

  it('starts a slow restore by tag, then re-applies the tags with --wait once ECR has finished', async () => {
    // Prepare
    useEmulator(new EcrEmulator({ restoreDelayMs: 2_000 }));
    const digest = emulator.putImage(REPO, { manifest: ociImageManifest('slow'), tags: ['v2'] });
    emulator.setStorageClass(REPO, digest, 'ARCHIVE');
    await recordArchived(digest, ['release-2', 'v2']);

    // Act
    const started = await restore(`${REPO}:release-2`);
    const afterStart = await store.get(ref(digest));
    const waited = await restore(`${REPO}:release-2`, '--wait', '--poll-every', '0.5');
    const afterWait = await store.get(ref(digest));

    // Assess
    expect(started).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        `restoring ${REPO}@${digest} (archived ${ARCHIVED_AT}, purge was due ${PURGE_AT})`,
        `ECR is restoring ${REPO}@${digest} (ACTIVATING; typically up to 20 minutes)`,
        'tags still on the image: v2',
        `tags to re-apply once ECR finishes: release-2; run \`ecr-steward restore ${REPO}@${digest} --wait\``,
        `recorded RESTORED in ${table} (by ${CALLER})`,
        '',
      ].join('\n'),
    });
    expect(afterStart).toMatchObject({
      status: 'RESTORED',
      note: 'tags not restored: release-2 pending until ECR finishes the restore',
    });
    expect(waited.code).toBe(0);
    expect(waited.stderr).toMatch(
      new RegExp(`^(waiting for ECR: ${REPO}@${digest.slice(0, 19)}… is ACTIVATING \\(\\d+s\\)\\n)+$`),
    );
    expect(waited.stdout).toBe(
      [
        `restored ${REPO}@${digest}: ACTIVE`,
        'tags re-applied: release-2',
        'tags still on the image: v2',
        `recorded RESTORED in ${table} (by ${CALLER})`,
        '',
      ].join('\n'),
    );
    expect(emulator.image(REPO, digest)).toMatchObject({ status: 'ACTIVE', tags: ['v2', 'release-2'] });
    expect(afterWait).toMatchObject({ status: 'RESTORED', note: 'every recorded tag is back on the image' });
    // The second run completes the first restore; it does not move its time.
    expect(afterWait?.restoredAt).toBe(afterStart?.restoredAt);
  }, 30_000);

  it('explains that a purged image is gone, with who deleted it, when and why, and exits 1', async () => {
    // Prepare
    const digest = `sha256:${'d'.repeat(64)}`;
    await recordArchived(digest, ['v0']);
    await store.record({
      ...ref(digest),
      evidence: 'steward-delete',
      status: 'DELETED',
      at: PURGE_AT,
      actor: { type: 'ecr-steward', runId: 'run-9' },
    });

    // Act
    const result = await restore(`${REPO}@${digest}`);

    // Assess
    expect(result).toEqual({
      code: 1,
      stderr: '',
      stdout: [
        `${REPO}@${digest} was purged: ECR deleted it for good and it cannot be restored.`,
        `  deleted at:  ${PURGE_AT}`,
        '  by:          ecr-steward (run run-9)',
        '  why:         expired by rule 1',
        '  tags:        v0',
        // The purged record keeps when it was archived.
        `  archived at: ${ARCHIVED_AT}`,
        '  evidence:    steward-archive, steward-delete, steward-write-ahead',
        '',
      ].join('\n'),
    });
  }, 30_000);

  it('refuses with one line and exit 2, writing nothing, when the image is neither archived nor purged', async () => {
    // Prepare
    const scheduled = emulator.putImage(REPO, { manifest: ociImageManifest('kept'), tags: ['v3'] });
    await store.record({
      ...ref(scheduled),
      evidence: 'steward-notice',
      status: 'SCHEDULED',
      at: ARCHIVED_AT,
      dueAt: PURGE_AT,
      tags: ['v3'],
    });
    const before = await store.get(ref(scheduled));
    const unknown = `sha256:${'e'.repeat(64)}`;

    // Act
    const notArchived = await restore(`${REPO}@${scheduled}`);
    const noRecord = await restore(`${REPO}@${unknown}`);
    const noTag = await restore(`${REPO}:nope`);
    const noRepository = await restore(`services/missing@${unknown}`);
    const malformed = await restore(`${REPO}@sha256:abc`);

    // Assess
    expect(notArchived).toEqual({
      code: 2,
      stdout: '',
      stderr: `error: ${REPO}@${scheduled} is not archived (audit state SCHEDULED); nothing to restore\n`,
    });
    expect(noRecord).toEqual({
      code: 2,
      stdout: '',
      stderr: `error: ${REPO}@${unknown}: ECR Steward has neither archived nor deleted this image; nothing to restore\n`,
    });
    expect(noTag).toEqual({
      code: 2,
      stdout: '',
      stderr: `error: ${REPO}:nope: no image of ${REPO} that ECR Steward archived or deleted carried tag nope; nothing to restore\n`,
    });
    expect(noRepository).toEqual({
      code: 2,
      stdout: '',
      stderr: `error: repository "services/missing" does not exist in registry ${ACCOUNT} (${REGION})\n`,
    });
    expect(malformed).toEqual({
      code: 2,
      stdout: '',
      stderr: `error: "${REPO}@sha256:abc": not an image digest: expected sha256: followed by 64 hex digits\n`,
    });
    expect(await store.get(ref(scheduled))).toEqual(before);
    expect(await store.get(ref(unknown))).toBeUndefined();
    expect(emulator.image(REPO, scheduled)?.status).toBe('ACTIVE');
  }, 60_000);
});
