/**
 * `ecr-steward gate check IMAGE --require-signature`, run as a pipeline runs it (a child process) against the
 * local cloud's ECR emulator served by the local server, through the SDK's standard AWS_ENDPOINT_URL: images are
 * signed at test time like `cosign sign --key` (tag and referrer modes; keys generated here, never written but
 * for the public halves), and the command reads the signature artifacts and blobs from the registry and verifies
 * them. No deployment, no STS: the standalone check asks ECR only. The recorded-verdict case adds a real
 * DynamoDB API (dynalite).
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type VerdictRecord, VerdictStore } from '../../functions/scan-gate/verdicts.js';
import { cosignSignatureTag } from '../../functions/shared/signatures/model.js';
import { EcrEmulator, ociImageManifest } from '../../local/ecr-emulator.js';
import { type LocalServer, startLocalServer } from '../../local/server.js';
import { type CosignKeyPair, cosignSign, generateCosignKey } from '../../local/signing.js';
import { keepNewest } from '../fixtures/images.js';
import { createVerdictTable, DUMMY_CREDENTIALS, type Dynamo, startDynamo } from '../support/dynamo.js';
import { type CliResult, removeTempFiles, runCli, tempFiles } from './run-cli.js';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const REPO = 'signed/app';
const TABLE = 'verdicts-signature-cli';
const NO_TRUST = 'error: no trust policy: pass --public-key FILE or --config with gate signatures\n';

let emulator: EcrEmulator;
let server: LocalServer;
let db: Dynamo;
let dir: string;
let release: CosignKeyPair;
let stranger: CosignKeyPair;

/** The images under test, by what was done to them. */
const images = {} as Record<
  'tagSigned' | 'referrerSigned' | 'unsigned' | 'strangerSigned' | 'swapped' | 'other' | 'recorded',
  string
>;

/** Pushes an image tagged `tag` and returns its digest. */
const push = (tag: string) => emulator.putImage(REPO, { manifest: ociImageManifest(tag), tags: [tag] });

/** Signs `digest` with `key` as cosign does and pushes the signature with its blobs, under `tag` in tag mode. */
function sign(digest: string, key: CosignKeyPair, mode: 'tag' | 'referrer', tag?: string): void {
  const sig = cosignSign(digest, key.privateKey, { mode, dockerReference: REPO });
  emulator.putImage(REPO, {
    manifest: sig.manifest,
    blobs: sig.blobs,
    ...(mode === 'tag' ? { tags: [tag ?? sig.tag!] } : {}),
  });
}

/** A config whose gate policy for REPO has a signatures block (not required) trusting `keys`. */
const configWith = (signatures: Record<string, unknown> | undefined) => ({
  selections: [{ repositories: ['web'], lifecyclePolicy: keepNewest(5) }],
  gate: {
    policy: {},
    selections: [{ repositories: ['signed/*'], policy: signatures ? { signatures } : {} }],
  },
});

/** `cosign key SHA256:<hex>` computed here from the public key's DER SubjectPublicKeyInfo. */
const identityOf = (key: CosignKeyPair) =>
  `cosign key SHA256:${createHash('sha256')
    .update(key.publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')}`;

const env = (extra: Record<string, string | undefined> = {}) => ({
  AWS_ENDPOINT_URL: server.url,
  AWS_REGION: REGION,
  AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  ECR_STEWARD_CONFIG: undefined,
  ECR_STEWARD_REGISTRY_ID: undefined,
  VERDICT_TABLE_NAME: undefined,
  ...extra,
});

const check = (image: string, ...args: string[]): Promise<CliResult> =>
  runCli(['gate', 'check', image, '--require-signature', ...args], { cwd: dir, env: env() });

const at = (digest: string) => `${REPO}@${digest}`;

beforeAll(async () => {
  release = generateCosignKey();
  stranger = generateCosignKey();
  emulator = new EcrEmulator({ accountId: ACCOUNT, region: REGION });
  emulator.createRepository(REPO);
  images.tagSigned = push('tag-signed');
  sign(images.tagSigned, release, 'tag');
  images.referrerSigned = push('referrer-signed');
  sign(images.referrerSigned, release, 'referrer');
  images.unsigned = push('unsigned');
  images.strangerSigned = push('stranger-signed');
  sign(images.strangerSigned, stranger, 'tag');
  // A valid release signature of another image, pushed where this image's signature belongs.
  images.swapped = push('swapped');
  images.other = push('other');
  sign(images.other, release, 'tag', cosignSignatureTag(images.swapped));
  images.recorded = push('recorded');
  for (const digest of [images.tagSigned, images.strangerSigned, images.unsigned])
    emulator.setScanFindings(REPO, digest, { status: 'COMPLETE', findings: [] });
  server = await startLocalServer({ handlers: { ecr: emulator.handle } });
  db = await startDynamo();
  await createVerdictTable(db.client, TABLE);
  // The working directory holds no config: only what a test names is read.
  dir = await tempFiles({
    'release.pub': release.publicKeyPem,
    'stranger.pub': stranger.publicKeyPem,
    'not-a-key.pub': 'hello\n',
    'trusts-release.json': configWith({
      required: false,
      trust: [{ type: 'cosign', publicKeys: [release.publicKeyPem] }],
    }),
    'trusts-stranger.json': configWith({
      required: false,
      trust: [{ type: 'cosign', publicKeys: [stranger.publicKeyPem] }],
    }),
    'no-signatures.json': configWith(undefined),
    'exempt.json': {
      ...configWith(undefined),
      gate: {
        policy: {},
        selections: [{ repositories: ['signed/*'], policy: { exemptTags: ['stranger-*'] } }],
      },
    },
  });
}, 30_000);

afterAll(async () => {
  await server?.close();
  await db?.close();
  await removeTempFiles();
});

describe('ecr-steward gate check --require-signature', () => {
  it('exits 0 with SIGNED by the key for an image signed with the trusted key, in tag and referrer modes', async () => {
    // Act
    const tag = await check(at(images.tagSigned), '--public-key', 'release.pub');
    const referrer = await check(at(images.referrerSigned), '--public-key', 'release.pub');
    const byTag = await check(`${REPO}:referrer-signed`, '--public-key', 'release.pub');

    // Assess
    const signed = `SIGNED by ${identityOf(release)}\n`;
    expect(signed).toMatch(/^SIGNED by cosign key SHA256:[0-9a-f]{64}\n$/);
    expect(tag).toEqual({ code: 0, stdout: signed, stderr: '' });
    expect(referrer).toEqual({ code: 0, stdout: signed, stderr: '' });
    expect(byTag).toEqual({ code: 0, stdout: signed, stderr: '' });
  }, 30_000);

  it('exits 1 with UNSIGNED for an image with no signature', async () => {
    // Act
    const result = await check(at(images.unsigned), '--public-key', 'release.pub');

    // Assess
    expect(result).toEqual({ code: 1, stdout: 'UNSIGNED\n', stderr: '' });
  }, 30_000);

  it('exits 1 with INVALID SIGNATURE for an image signed with another key', async () => {
    // Act
    const result = await check(at(images.strangerSigned), '--public-key', 'release.pub');

    // Assess
    expect(result).toEqual({
      code: 1,
      stdout: 'INVALID SIGNATURE (signature does not verify under the trusted keys)\n',
      stderr: '',
    });
  }, 30_000);

  it("exits 1 naming the signed digest when another image's signature sits under this image's .sig tag", async () => {
    // Act
    const swapped = await check(at(images.swapped), '--public-key', 'release.pub');
    const other = await check(at(images.other), '--public-key', 'release.pub');

    // Assess
    expect(swapped).toEqual({
      code: 1,
      stdout: `INVALID SIGNATURE (signs ${images.other} not this image)\n`,
      stderr: '',
    });
    // The other image's own .sig tag is empty: its signature was put elsewhere.
    expect(other).toEqual({ code: 1, stdout: 'UNSIGNED\n', stderr: '' });
  }, 30_000);

  it('accepts a signature by any of several --public-key files', async () => {
    // Act
    const result = await check(
      at(images.strangerSigned),
      '--public-key',
      'release.pub',
      '--public-key',
      'stranger.pub',
    );

    // Assess
    expect(result).toEqual({ code: 0, stdout: `SIGNED by ${identityOf(stranger)}\n`, stderr: '' });
  }, 30_000);

  it('exits 2 with the message when there is no trust policy, before asking ECR anything', async () => {
    // Act
    const none = await check(at(images.tagSigned));
    const noBlock = await check(at(images.tagSigned), '--config', 'no-signatures.json');
    // Nothing listens here: a call to AWS would fail with another message.
    const offline = await runCli(['gate', 'check', at(images.tagSigned), '--require-signature'], {
      cwd: dir,
      env: env({ AWS_ENDPOINT_URL: 'http://127.0.0.1:9' }),
    });

    // Assess
    expect(none).toEqual({ code: 2, stdout: '', stderr: NO_TRUST });
    expect(noBlock).toEqual({ code: 2, stdout: '', stderr: NO_TRUST });
    expect(offline).toEqual({ code: 2, stdout: '', stderr: NO_TRUST });
  }, 30_000);

  it('exits 2 naming the file when a --public-key is not a cosign public key, or is used without the flag', async () => {
    // Act
    const notAKey = await check(at(images.tagSigned), '--public-key', 'not-a-key.pub');
    const missing = await check(at(images.tagSigned), '--public-key', 'missing.pub');
    const withoutFlag = await runCli(['gate', 'check', at(images.tagSigned), '--public-key', 'release.pub'], {
      cwd: dir,
      env: env(),
    });

    // Assess
    expect(notAKey).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'error: --public-key not-a-key.pub: not a PEM public key (expected "-----BEGIN PUBLIC KEY-----", as in cosign.pub)\n',
    });
    expect(missing).toEqual({
      code: 2,
      stdout: '',
      stderr: 'error: --public-key missing.pub: cannot read the file: no such file\n',
    });
    expect(withoutFlag).toEqual({
      code: 2,
      stdout: '',
      stderr: 'error: --public-key is a trusted signer for --require-signature: pass that too\n',
    });
  }, 30_000);

  it("takes the trust from --config's gate policy for the repository, even where it does not require signatures", async () => {
    // Act
    const trusted = await check(at(images.tagSigned), '--config', 'trusts-release.json');
    const untrusted = await check(at(images.tagSigned), '--config', 'trusts-stranger.json');
    const fromEnv = await runCli(['gate', 'check', at(images.referrerSigned), '--require-signature'], {
      cwd: dir,
      env: env({ ECR_STEWARD_CONFIG: join(dir, 'trusts-release.json') }),
    });

    // Assess
    expect(trusted).toEqual({ code: 0, stdout: `SIGNED by ${identityOf(release)}\n`, stderr: '' });
    expect(untrusted).toEqual({
      code: 1,
      stdout: 'INVALID SIGNATURE (signature does not verify under the trusted keys)\n',
      stderr: '',
    });
    expect(fromEnv).toEqual({ code: 0, stdout: `SIGNED by ${identityOf(release)}\n`, stderr: '' });
  }, 30_000);

  it('prints the signature part in --format json: status, identities for SIGNED, why for INVALID', async () => {
    // Act
    const signed = await check(at(images.tagSigned), '--public-key', 'release.pub', '--format', 'json');
    const unsigned = await check(at(images.unsigned), '--config', 'trusts-release.json', '--format', 'json');
    const invalid = await check(at(images.swapped), '--public-key', 'release.pub', '--format', 'json');

    // Assess
    expect(signed.code).toBe(0);
    expect(JSON.parse(signed.stdout)).toEqual({
      image: at(images.tagSigned),
      verdict: 'PASS',
      summary: `SIGNED by ${identityOf(release)}`,
      signature: { status: 'SIGNED', identities: [identityOf(release)] },
      trust: 'public-key',
      source: 'registry',
    });
    expect(unsigned.code).toBe(1);
    expect(JSON.parse(unsigned.stdout)).toEqual({
      image: at(images.unsigned),
      verdict: 'FAIL',
      summary: 'UNSIGNED',
      signature: { status: 'UNSIGNED' },
      trust: 'config',
      source: 'registry',
    });
    expect(invalid.code).toBe(1);
    expect(JSON.parse(invalid.stdout)).toEqual({
      image: at(images.swapped),
      verdict: 'FAIL',
      summary: `INVALID SIGNATURE (signs ${images.other} not this image)`,
      signature: { status: 'INVALID', why: `signs ${images.other} not this image` },
      trust: 'public-key',
      source: 'registry',
    });
  }, 30_000);

  it('exits 1 for no such image', async () => {
    // Act
    const result = await check(`${REPO}:no-such-tag`, '--public-key', 'release.pub');

    // Assess
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: ${REPO}:no-such-tag: no such image\n`,
    });
  }, 30_000);
});

describe('ecr-steward gate check --require-signature with a recorded verdict', () => {
  const record = (digest: string): Omit<VerdictRecord, 'pk' | 'sk'> => ({
    registryId: ACCOUNT,
    region: REGION,
    repository: REPO,
    digest,
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
  });

  const recorded = (image: string, ...args: string[]) =>
    runCli(
      [
        'gate',
        'check',
        image,
        '--require-signature',
        '--public-key',
        'release.pub',
        '--registry-id',
        ACCOUNT,
        '--verdict-table',
        TABLE,
        ...args,
      ],
      { cwd: dir, env: env({ AWS_ENDPOINT_URL_DYNAMODB: db.endpoint }) },
    );

  it('prints both lines and exits 1 when the recorded verdict passes but the signature does not', async () => {
    // Prepare
    const store = new VerdictStore(db.doc, TABLE);
    await store.put(record(images.recorded));
    await store.put(record(images.tagSigned));

    // Act
    const unsigned = await recorded(at(images.recorded));
    const signed = await recorded(at(images.tagSigned));
    const json = await recorded(at(images.recorded), '--format', 'json');

    // Assess
    expect(unsigned).toEqual({ code: 1, stdout: 'PASS: no findings\nUNSIGNED\n', stderr: '' });
    expect(signed).toEqual({
      code: 0,
      stdout: `PASS: no findings\nSIGNED by ${identityOf(release)}\n`,
      stderr: '',
    });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      image: at(images.recorded),
      verdict: 'PASS',
      summary: 'PASS: no findings',
      reasons: [],
      blocking: [],
      at: '2026-06-01T12:00:00.000Z',
      source: 'recorded',
      signature: { status: 'UNSIGNED' },
    });
  }, 30_000);

  it('verifies the signature alone when the image has no recorded verdict', async () => {
    // Act
    const result = await recorded(at(images.referrerSigned));

    // Assess
    expect(result).toEqual({ code: 0, stdout: `SIGNED by ${identityOf(release)}\n`, stderr: '' });
  }, 30_000);
});

describe('ecr-steward gate check --require-signature --live', () => {
  const live = (image: string, ...args: string[]) =>
    check(image, '--live', '--config', 'no-signatures.json', ...args);

  it('judges findings and signature together: PASS when clean and signed, FAIL at once for an invalid signature', async () => {
    // Act
    const signed = await live(at(images.tagSigned), '--public-key', 'release.pub');
    const invalid = await live(at(images.strangerSigned), '--public-key', 'release.pub', '--format', 'json');

    // Assess
    expect(signed).toEqual({
      code: 0,
      stdout: `PASS: 0 finding(s) within the policy; SIGNED by ${identityOf(release)}\n`,
      stderr: '',
    });
    expect(invalid.code).toBe(1);
    expect(JSON.parse(invalid.stdout)).toMatchObject({
      image: at(images.strangerSigned),
      verdict: 'FAIL',
      summary:
        'FAIL: INVALID SIGNATURE (signature does not verify under the trusted keys): the policy requires a trusted signature; findings: 0 finding(s) within the policy',
      signature: { status: 'INVALID', why: 'signature does not verify under the trusted keys' },
      source: 'live',
    });
  }, 30_000);

  it('is PENDING (exit 3) for an unsigned image within the grace window from its push', async () => {
    // Act
    const result = await live(at(images.unsigned), '--public-key', 'release.pub');

    // Assess
    expect(result).toEqual({
      code: 3,
      stdout:
        'PENDING: UNSIGNED: no signature yet, within the 60-minute grace window from the push; findings: 0 finding(s) within the policy\n',
      stderr: '',
    });
  }, 30_000);

  it('does not let an exempt tag exempt the image from the required signature', async () => {
    // Act
    const result = await check(
      at(images.strangerSigned),
      '--live',
      '--config',
      'exempt.json',
      '--public-key',
      'release.pub',
    );

    // Assess
    expect(result).toEqual({
      code: 1,
      stdout:
        'FAIL: INVALID SIGNATURE (signature does not verify under the trusted keys): the policy requires a trusted signature; findings: tag stranger-signed is exempt from the gate\n',
      stderr: '',
    });
  }, 30_000);
});
