/**
 * The signature gate on the wire (issue #16): the app synthesized from a config written at test time, whose
 * default gate policy requires a cosign signature by a key generated for this run (`signatures.required`, a
 * 30-minute grace window, failures notified), its bundled functions on the local cloud. Images are pushed as CI
 * would, scans completed by the ECR emulator, and signatures pushed as cosign pushes them through ECR's API:
 * the blobs with BatchCheckLayerAvailability / InitiateLayerUpload / UploadLayerPart / CompleteLayerUpload, the
 * manifest with PutImage, either as an OCI 1.1 referrer (`--registry-referrers-mode oci-1-1`, which ECR announces
 * with `ECR Referrer Action` PUSH) or under cosign's tag `sha256-<hex>.sig` (an `ECR Image Action` PUSH); see
 * docs/events.md §3.8 and sigstore/cosign `specs/SIGNATURE_SPEC.md` ("Storage": the `.sig` tag scheme). The API
 * shapes (partFirstByte / partLastByte / layerPartBlob) are the ECR API's UploadLayerPart request, as the
 * @aws-sdk/client-ecr model has it.
 *
 * Every test reads the end state from the outside: the LATEST verdict records in the verdict table, the messages
 * the security topic received, the images as DescribeImages and ListImageReferrers show them, and the deletion
 * audit records. The expected verdict texts follow functions/scan-gate/signature-verdict.ts (the worse of the
 * findings' part and the signature part, the deciding part first) and the cosign verifier's reasons
 * (functions/shared/signatures/cosign.ts); the expected deletions come from the pure lifecycle engine planning
 * the same images (unit mode: referrers and `.sig` images follow their subject).
 *
 * The config, and so the assembly, carries this run's public key only; the private keys live in memory. The
 * config is written under `.local/` (git-ignored), because the harness synthesizes configs from paths inside the
 * repository.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  BatchCheckLayerAvailabilityCommand,
  BatchGetImageCommand,
  CompleteLayerUploadCommand,
  DescribeImagesCommand,
  type ImageDetail,
  InitiateLayerUploadCommand,
  ListImageReferrersCommand,
  PutImageCommand,
  UploadLayerPartCommand,
} from '@aws-sdk/client-ecr';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { VerdictStore } from '../../functions/scan-gate/verdicts.js';
import { parseConfig } from '../../functions/shared/config/load.js';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { cosignSignatureTag } from '../../functions/shared/signatures/model.js';
import type { EcrEvent } from '../../local/ecr-emulator.js';
import {
  type CosignKeyPair,
  type CosignSignature,
  cosignSign,
  generateCosignKey,
} from '../../local/signing.js';
import {
  auditByDigest,
  deadLetters,
  type E2E,
  expectedPlan,
  expiring,
  figures,
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  push,
  startE2E,
} from './harness.js';
import { ensureCdkOut, ROOT } from './synth.js';

const MINUTE = 60_000;
const GRACE_MINUTES = 30;

/** The trusted signer (its public key is in the config) and one the policy has never heard of. */
const trusted: CosignKeyPair = generateCosignKey();
const stranger: CosignKeyPair = generateCosignKey();

/** Where the generated config goes, relative to the root (the harness resolves config paths from there). */
const CONFIG = '.local/e2e-signatures/steward.signatures.json';

/**
 * The config: signatures required by the default gate policy (every repository), cosign with this run's key,
 * failures notified (no quarantine, no removal); one cleanup selection, `signed/*`, that keeps the newest `v*`
 * release, with Steward protections on so that referrers and `.sig` images follow their subject.
 */
const configObject = {
  mode: 'enforce',
  bounds: { maxDeletesPerRun: 10000, maxDeletesPerRepository: 10000 },
  selections: [
    {
      name: 'signed',
      repositories: ['signed/*'],
      lifecyclePolicy: {
        rules: [
          {
            rulePriority: 1,
            description: 'Keep the newest release',
            selection: {
              tagStatus: 'tagged',
              tagPatternList: ['v*'],
              countType: 'imageCountMoreThan',
              countNumber: 1,
            },
            action: { type: 'expire' },
          },
        ],
      },
      steward: { indexAsUnit: true },
    },
  ],
  inUse: { ecs: { enabled: true, taskDefinitionRevisions: 1 }, lambda: { enabled: true } },
  gate: {
    policy: {
      graceMinutes: GRACE_MINUTES,
      signatures: {
        required: true,
        trust: [{ type: 'cosign', publicKeys: [trusted.publicKeyPem] }],
        minSignatures: 1,
      },
    },
    onFail: { notify: true },
  },
  alerts: {
    thresholds: [
      { scope: 'repository', window: '5m', maxDeletes: 10000 },
      { scope: 'registry', window: '1h', maxDeletes: 100000 },
    ],
    breaker: { enabled: true },
  },
};

const configText = `${JSON.stringify(configObject, null, 2)}\n`;
/** The config as the bundles carry it (validated as `cdk synth` validates it). */
const signedConfig: StewardConfig = parseConfig(configText, CONFIG);

let e2e: E2E | undefined;

// The config is written and the assembly synthesized once, before the tests: its seconds are no test's time.
// A new key each run changes the config, so every run synthesizes its own assembly.
beforeAll(async () => {
  mkdirSync(path.dirname(path.join(ROOT, CONFIG)), { recursive: true });
  writeFileSync(path.join(ROOT, CONFIG), configText);
  await ensureCdkOut(CONFIG);
}, 240_000);

afterEach(async () => {
  await e2e?.close();
  e2e = undefined;
});

async function start(name: string): Promise<E2E> {
  e2e = await startE2E(name, { config: CONFIG });
  return e2e;
}

const refOf = (repository: string, digest: string) => ({
  registryId: LOCAL_ACCOUNT,
  region: LOCAL_REGION,
  repository,
  digest,
});

/** The LATEST verdict of an image, as the verdict table holds it. */
const latest = (t: E2E, repository: string, digest: string) =>
  new VerdictStore(t.doc, t.tables.verdicts).latest(refOf(repository, digest));

/** The messages the security topic received. */
const security = (t: E2E) => t.cloud.sns.messages.filter((m) => m.topicArn === t.topics.security);

/** A repository and one image pushed to it now (CI's push), tagged `tag`. Returns its digest. */
function pushImage(t: E2E, repository: string, tag: string): string {
  if (!t.cloud.ecr.repositoryNames().includes(repository)) t.cloud.ecr.createRepository(repository);
  return push(t, repository, [tag]);
}

/** ECR finishes a basic scan without findings: `ECR Image Scan` COMPLETE reaches the gate. */
async function scanClean(t: E2E, repository: string, digest: string): Promise<void> {
  t.cloud.ecr.setScanFindings(repository, digest, { status: 'COMPLETE', scanType: 'BASIC', findings: [] });
  await t.cloud.settle(60_000);
}

/** Signs an image as cosign does, with the subject descriptor read from the registry (BatchGetImage). */
async function sign(
  t: E2E,
  repository: string,
  digest: string,
  key: CosignKeyPair,
  mode: 'tag' | 'referrer',
): Promise<CosignSignature> {
  const got = await t.ecr.send(
    new BatchGetImageCommand({ repositoryName: repository, imageIds: [{ imageDigest: digest }] }),
  );
  const subject = got.images?.[0];
  if (!subject?.imageManifest) throw new Error(`no manifest for ${repository}@${digest}`);
  return cosignSign(digest, key.privateKey, {
    mode,
    dockerReference: `${LOCAL_ACCOUNT}.dkr.ecr.${LOCAL_REGION}.amazonaws.com/${repository}`,
    subjectMediaType: subject.imageManifestMediaType,
    subjectSize: Buffer.byteLength(subject.imageManifest),
  });
}

/**
 * Pushes a signature through ECR's API as a client does: every blob the repository lacks is uploaded in one part
 * (they are far below the 5 MiB part minimum, which only parts before the last must reach), then the manifest is
 * put, under `tag` when given (cosign's `.sig` scheme) or untagged (a referrer). Returns the manifest's digest as
 * ECR computed it.
 */
async function pushSignature(
  t: E2E,
  repository: string,
  signature: CosignSignature,
  tag?: string,
): Promise<string> {
  const digests = [...signature.blobs.keys()];
  const availability = await t.ecr.send(
    new BatchCheckLayerAvailabilityCommand({ repositoryName: repository, layerDigests: digests }),
  );
  expect(availability.failures ?? []).toEqual([]);
  for (const layer of availability.layers ?? []) {
    if (layer.layerAvailability === 'AVAILABLE') continue;
    const bytes = signature.blobs.get(layer.layerDigest!)!;
    const { uploadId } = await t.ecr.send(new InitiateLayerUploadCommand({ repositoryName: repository }));
    await t.ecr.send(
      new UploadLayerPartCommand({
        repositoryName: repository,
        uploadId,
        partFirstByte: 0,
        partLastByte: bytes.byteLength - 1,
        layerPartBlob: bytes,
      }),
    );
    await t.ecr.send(
      new CompleteLayerUploadCommand({
        repositoryName: repository,
        uploadId,
        layerDigests: [layer.layerDigest!],
      }),
    );
  }
  const put = await t.ecr.send(
    new PutImageCommand({
      repositoryName: repository,
      imageManifest: signature.manifest,
      imageManifestMediaType: signature.mediaType,
      ...(tag !== undefined ? { imageTag: tag } : {}),
    }),
  );
  return put.image?.imageId?.imageDigest ?? '';
}

/** The images of a repository as DescribeImages lists them (any storage class): digest → tags, sorted. */
async function described(t: E2E, repository: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  let nextToken: string | undefined;
  do {
    const page = await t.ecr.send(
      new DescribeImagesCommand({
        repositoryName: repository,
        filter: { imageStatus: 'ANY' },
        maxResults: 1000,
        nextToken,
      }),
    );
    for (const d of page.imageDetails ?? ([] as ImageDetail[]))
      out[d.imageDigest ?? '?'] = [...(d.imageTags ?? [])].sort();
    nextToken = page.nextToken;
  } while (nextToken);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** The referrers of an image, as ListImageReferrers lists them (any status). */
async function referrersOf(t: E2E, repository: string, digest: string): Promise<string[]> {
  const out = await t.ecr.send(
    new ListImageReferrersCommand({
      repositoryName: repository,
      subjectId: { imageDigest: digest },
      filter: { artifactStatus: 'ANY' },
      maxResults: 50,
    }),
  );
  return (out.referrers ?? []).map((r) => r.digest ?? '?').sort();
}

/** The event ECR sent when `digest` was pushed with `detailType` (the last one, if several). */
function pushEvent(t: E2E, detailType: EcrEvent['detail-type'], digest: string): EcrEvent {
  const event = t.busEvents.findLast(
    (e) =>
      e['detail-type'] === detailType &&
      e.detail['action-type'] === 'PUSH' &&
      e.detail['image-digest'] === digest,
  );
  if (!event) throw new Error(`no ${detailType} PUSH for ${digest}`);
  return event;
}

/** The verdict texts the gate gives an image whose scan found nothing (the findings' part PASSes). */
const CLEAN = 'findings: 0 finding(s) within the policy';
const PENDING_UNSIGNED = `PENDING: UNSIGNED: no signature yet, within the ${GRACE_MINUTES}-minute grace window from the push; ${CLEAN}`;
const failing = (part: string) => `FAIL: ${part}: the policy requires a trusted signature; ${CLEAN}`;

describe('the signature gate on the local cloud', () => {
  it.each([
    ['referrer', 'ECR Referrer Action'],
    ['tag', 'ECR Image Action'],
  ] as const)(
    'turns a clean, unsigned PENDING image into PASS when its trusted cosign signature arrives (%s mode, %s)',
    async (mode, detailType) => {
      // Prepare: a clean scan, no signature yet.
      const started = Date.now();
      const t = await start(`signatures-flip-${mode}`);
      const repository = `gate/flip-${mode}`;
      const digest = pushImage(t, repository, 'v1');
      await scanClean(t, repository, digest);
      const pending = await latest(t, repository, digest);
      expect(pending).toMatchObject({
        verdict: 'PENDING',
        summary: PENDING_UNSIGNED,
        signature: 'UNSIGNED',
        trigger: 'ecr-scan',
        tags: ['v1'],
      });

      // Act: cosign pushes the signature.
      const signature = await sign(t, repository, digest, trusted, mode);
      const tag = mode === 'tag' ? cosignSignatureTag(digest) : undefined;
      const signatureDigest = await pushSignature(t, repository, signature, tag);
      await t.cloud.settle(60_000);

      // Assess: the arrival event re-judged the subject, which now passes, signed by the trusted key.
      expect(signatureDigest).toBe(signature.digest);
      const arrival = pushEvent(t, detailType, signatureDigest);
      expect(arrival.detail['image-tag']).toBe(tag);
      const passed = await latest(t, repository, digest);
      expect(passed).toMatchObject({
        verdict: 'PASS',
        summary: `PASS: 0 finding(s) within the policy; SIGNED by ${trusted.identity}`,
        reasons: [`SIGNED by ${trusted.identity}`],
        signature: `SIGNED by ${trusted.identity}`,
        trigger: 'signature',
        eventId: arrival.id,
        tags: ['v1'],
      });
      expect(trusted.identity).toMatch(/^cosign key SHA256:[0-9a-f]{64}$/);
      // The signature itself is never judged as an image, and nothing failed on the way.
      expect(await latest(t, repository, signatureDigest)).toBeUndefined();
      expect(security(t)).toEqual([]);
      expect(await referrersOf(t, repository, digest)).toEqual(mode === 'referrer' ? [signatureDigest] : []);
      expect(deadLetters(t)).toEqual({ cleanupDlq: 0, cleanupAsyncDlq: 0, auditDlq: 0, scanGateDlq: 0 });
      figures(`signature-flip-${mode}`, {
        pending: pending?.verdict,
        verdict: passed?.verdict,
        ms: Date.now() - started,
      });
    },
    60_000,
  );

  it('fails an image signed by an untrusted key with INVALID SIGNATURE and notifies once', async () => {
    // Prepare: a clean scan, PENDING for want of a signature.
    const t = await start('signatures-untrusted');
    const repository = 'gate/untrusted';
    const digest = pushImage(t, repository, 'v1');
    await scanClean(t, repository, digest);
    expect((await latest(t, repository, digest))?.verdict).toBe('PENDING');

    // Act: a signature by a key the policy does not trust arrives; then ECR scans the image again.
    const signatureDigest = await pushSignature(
      t,
      repository,
      await sign(t, repository, digest, stranger, 'referrer'),
    );
    await t.cloud.settle(60_000);
    const afterSignature = await latest(t, repository, digest);
    await scanClean(t, repository, digest);

    // Assess: FAIL at the signature's arrival, FAIL again on the rescan, one security message naming the image.
    const part = 'INVALID SIGNATURE (signature does not verify under the trusted keys)';
    expect(afterSignature).toMatchObject({
      verdict: 'FAIL',
      summary: failing(part),
      reasons: [`${part}: the policy requires a trusted signature`],
      signature: part,
      trigger: 'signature',
      eventId: pushEvent(t, 'ECR Referrer Action', signatureDigest).id,
      actions: ['notified'],
    });
    expect(await latest(t, repository, digest)).toMatchObject({
      verdict: 'FAIL',
      summary: failing(part),
      signature: part,
      trigger: 'ecr-scan',
      actions: [],
    });
    const messages = security(t);
    expect(messages).toHaveLength(1);
    expect(messages[0]?.subject).toBe(`ECR Steward: ${repository} image fails the scan gate`);
    expect(messages[0]?.message.split('\n').slice(0, 2)).toEqual([
      `${repository}@${digest} [v1]`,
      failing(part),
    ]);
    expect(messages[0]?.message).toContain(`- ${part}: the policy requires a trusted signature`);
    expect(deadLetters(t)).toEqual({ cleanupDlq: 0, cleanupAsyncDlq: 0, auditDlq: 0, scanGateDlq: 0 });
  }, 60_000);

  it('fails an unsigned image judged after the grace window with UNSIGNED', async () => {
    // Prepare: PENDING within the window.
    const t = await start('signatures-grace');
    const repository = 'gate/late';
    const digest = pushImage(t, repository, 'v1');
    await scanClean(t, repository, digest);
    expect(await latest(t, repository, digest)).toMatchObject({
      verdict: 'PENDING',
      summary: PENDING_UNSIGNED,
    });
    expect(security(t)).toEqual([]);

    // Act: 31 minutes pass with no signature; a rescan's event reaches the gate.
    t.cloud.advanceClock((GRACE_MINUTES + 1) * MINUTE);
    await scanClean(t, repository, digest);

    // Assess: the test's own seconds cannot add a minute, so the gate counts 31 whole minutes.
    const reason = `UNSIGNED: no signature ${GRACE_MINUTES + 1} minutes after the push (grace window ${GRACE_MINUTES} minutes)`;
    expect(await latest(t, repository, digest)).toMatchObject({
      verdict: 'FAIL',
      summary: `FAIL: ${reason}; ${CLEAN}`,
      reasons: [reason],
      signature: 'UNSIGNED',
      trigger: 'ecr-scan',
      actions: ['notified'],
    });
    const messages = security(t);
    expect(messages).toHaveLength(1);
    expect(messages[0]?.message.split('\n').slice(0, 2)).toEqual([
      `${repository}@${digest} [v1]`,
      `FAIL: ${reason}; ${CLEAN}`,
    ]);
  }, 60_000);

  it("fails image B when image A's signature is pushed as B's .sig, and leaves A as it was", async () => {
    // Prepare: A signed (referrer) and passing; B scanned clean and waiting for its signature.
    const t = await start('signatures-mismatch');
    const repository = 'gate/mismatch';
    const a = pushImage(t, repository, 'a');
    const b = pushImage(t, repository, 'b');
    await scanClean(t, repository, a);
    await pushSignature(t, repository, await sign(t, repository, a, trusted, 'referrer'));
    await t.cloud.settle(60_000);
    await scanClean(t, repository, b);
    const aBefore = await latest(t, repository, a);
    expect(aBefore).toMatchObject({ verdict: 'PASS', signature: `SIGNED by ${trusted.identity}` });
    expect(await latest(t, repository, b)).toMatchObject({ verdict: 'PENDING', signature: 'UNSIGNED' });

    // Act: A's valid signature (trusted key, payload naming A) is pushed under B's cosign tag.
    const copied = await sign(t, repository, a, trusted, 'tag');
    const copiedDigest = await pushSignature(t, repository, copied, cosignSignatureTag(b));
    await t.cloud.settle(60_000);

    // Assess: B fails with the digest mismatch; A's verdict is the same record as before.
    const part = `INVALID SIGNATURE (signs ${a} not this image)`;
    expect(await latest(t, repository, b)).toMatchObject({
      verdict: 'FAIL',
      summary: failing(part),
      reasons: [`${part}: the policy requires a trusted signature`],
      signature: part,
      trigger: 'signature',
      eventId: pushEvent(t, 'ECR Image Action', copiedDigest).id,
      actions: ['notified'],
    });
    expect(await latest(t, repository, a)).toEqual(aBefore);
    const messages = security(t);
    expect(messages.map((m) => m.message.split('\n')[0])).toEqual([`${repository}@${b} [b]`]);
    expect(messages.some((m) => m.message.includes(`${repository}@${a}`))).toBe(false);
  }, 60_000);

  it('deletes a release together with its referrer and .sig signatures when the lifecycle expires it, and audits all three', async () => {
    // Prepare: v1 signed both ways, as cosign does with and without --registry-referrers-mode.
    const started = Date.now();
    const t = await start('signatures-cleanup');
    const repository = 'signed/app';
    const v1 = pushImage(t, repository, 'v1');
    const referrer = await pushSignature(t, repository, await sign(t, repository, v1, trusted, 'referrer'));
    const tagged = await pushSignature(
      t,
      repository,
      await sign(t, repository, v1, trusted, 'tag'),
      cosignSignatureTag(v1),
    );
    await t.cloud.settle(60_000);
    expect(Object.keys(await described(t, repository))).toEqual([v1, referrer, tagged].sort());
    expect(await referrersOf(t, repository, v1)).toEqual([referrer]);
    t.cloud.advanceClock(MINUTE);

    // Act: v2 is pushed; keep-1-of-v* expires v1 in the push's cleanup run.
    const v2 = pushImage(t, repository, 'v2');
    const plan = await expectedPlan(t, repository, t.cloud.now(), [], signedConfig);
    await t.cloud.settle(60_000);

    // Assess: the engine expires v1 and both signatures; ECR holds v2 alone; each has its DELETED record.
    expect(expiring(plan)).toEqual([v1, referrer, tagged].sort());
    expect(await described(t, repository)).toEqual({ [v2]: ['v2'] });
    expect(await referrersOf(t, repository, v1)).toEqual([]);
    const audit = await auditByDigest(t);
    for (const digest of [v1, referrer, tagged]) {
      const records = (audit.get(digest) ?? []).filter((r) => r.repository === repository);
      const decision = plan.decisions.find((d) => d.imageDigest === digest);
      expect(records, digest).toHaveLength(1);
      expect(records[0], digest).toMatchObject({
        status: 'DELETED',
        dryRun: false,
        actor: { type: 'ecr-steward', reasons: decision?.reasons },
      });
    }
    expect(audit.get(v2)).toBeUndefined();
    expect(deadLetters(t)).toEqual({ cleanupDlq: 0, cleanupAsyncDlq: 0, auditDlq: 0, scanGateDlq: 0 });
    figures('signature-cleanup', { deleted: 3, ms: Date.now() - started });
  }, 60_000);
});
