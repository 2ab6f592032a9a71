/**
 * The ECR emulator's referrers and blobs, through the real @aws-sdk/client-ecr ECRClient and Node's fetch against
 * the local server: ListImageReferrers (fields, filters, pages), DescribeImages' subjectManifestDigest, layer
 * uploads and downloads, and the `ECR Referrer Action` events (docs/events.md §3.8).
 */
import {
  BatchCheckLayerAvailabilityCommand,
  BatchDeleteImageCommand,
  CompleteLayerUploadCommand,
  DescribeImagesCommand,
  ECRClient,
  GetDownloadUrlForLayerCommand,
  InitiateLayerUploadCommand,
  ListImageReferrersCommand,
  PutImageCommand,
  UploadLayerPartCommand,
} from '@aws-sdk/client-ecr';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SIGNATURE_TYPES } from '../../functions/shared/signatures/model.js';
import {
  blobDigest,
  EcrEmulator,
  type EcrEvent,
  manifestDigest,
  OCI_MANIFEST,
  ociImageManifest,
} from '../../local/ecr-emulator.js';
import { matchesPattern } from '../../local/eventbridge.js';
import { FaultInjector } from '../../local/faults.js';
import { type LocalServer, startLocalServer } from '../../local/server.js';

const REPO = 'services/orders';
const ACCOUNT = '123456789012';
const NOW = new Date('2026-06-01T12:00:00.000Z');
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const SBOM_TYPE = 'application/spdx+json';
/** The OCI empty descriptor's blob (`{}`), the config of an artifact manifest. */
const EMPTY = { mediaType: 'application/vnd.oci.empty.v1+json', digest: blobDigest('{}'), size: 2 };

let emulator: EcrEmulator;
let faults: FaultInjector;
let server: LocalServer;
let events: EcrEvent[];

beforeEach(async () => {
  emulator = new EcrEmulator({ now: () => NOW });
  faults = new FaultInjector({ seed: 7 });
  events = [];
  emulator.onEvent((e) => events.push(e));
  server = await startLocalServer({ handlers: { ecr: emulator.handle }, faults });
  emulator.createRepository(REPO);
});

afterEach(async () => {
  await server.close();
});

const ecr = () => new ECRClient({ endpoint: server.url, region: 'us-east-1', credentials, maxAttempts: 1 });

const errorOf = async (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: Error) => e,
  );

/**
 * An OCI 1.1 artifact manifest (as Notation and `oras attach` push them): empty config, one layer per blob,
 * a subject. Returns the manifest text and the blobs it names.
 */
function artifact(
  subject: string,
  artifactType: string,
  layers: readonly { mediaType: string; bytes: Uint8Array | string }[],
  annotations?: Record<string, string>,
) {
  const blobs = new Map<string, Uint8Array>([[EMPTY.digest, new TextEncoder().encode('{}')]]);
  const descriptors = layers.map((l) => {
    const bytes = typeof l.bytes === 'string' ? new TextEncoder().encode(l.bytes) : l.bytes;
    const digest = blobDigest(bytes);
    blobs.set(digest, bytes);
    return { mediaType: l.mediaType, digest, size: bytes.length };
  });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType,
    config: EMPTY,
    layers: descriptors,
    subject: { mediaType: OCI_MANIFEST, digest: subject, size: 1_000 },
    ...(annotations ? { annotations } : {}),
  });
  return { manifest, blobs, digest: manifestDigest(manifest), layers: descriptors };
}

/** A Notation-style signature of `subject` whose envelope is `envelope`. */
const notationSignature = (subject: string, envelope: string) =>
  artifact(
    subject,
    SIGNATURE_TYPES.notationArtifact,
    [{ mediaType: SIGNATURE_TYPES.notationJws, bytes: envelope }],
    {
      'org.opencontainers.image.created': '2026-06-01T12:00:00Z',
    },
  );

/** Pushes the subject image (tag v1) and returns its digest. */
const pushSubject = (seed = 'app') =>
  emulator.putImage(REPO, { manifest: ociImageManifest(seed), tags: ['v1'] });

describe('ListImageReferrers', () => {
  it('returns each referrer of the subject with digest, mediaType, artifactType, size, annotations and status', async () => {
    // Prepare
    const subject = pushSubject();
    const other = emulator.putImage(REPO, { manifest: ociImageManifest('other'), tags: ['v2'] });
    const sig = notationSignature(subject, '{"payload":"e30","protected":"e30","signature":"AA"}');
    const sbom = artifact(subject, SBOM_TYPE, [
      { mediaType: SBOM_TYPE, bytes: '{"spdxVersion":"SPDX-2.3"}' },
    ]);
    emulator.putImage(REPO, { manifest: sig.manifest, blobs: sig.blobs });
    emulator.putImage(REPO, { manifest: sbom.manifest, blobs: sbom.blobs });
    const elsewhere = notationSignature(other, '{"signature":"BB"}');
    emulator.putImage(REPO, { manifest: elsewhere.manifest, blobs: elsewhere.blobs });

    // Act
    const listed = await ecr().send(
      new ListImageReferrersCommand({ repositoryName: REPO, subjectId: { imageDigest: subject } }),
    );
    const none = await ecr().send(
      new ListImageReferrersCommand({ repositoryName: REPO, subjectId: { imageDigest: sig.digest } }),
    );

    // Assess
    const expected = [
      {
        digest: sig.digest,
        mediaType: OCI_MANIFEST,
        artifactType: SIGNATURE_TYPES.notationArtifact,
        size: Buffer.byteLength(sig.manifest),
        annotations: { 'org.opencontainers.image.created': '2026-06-01T12:00:00Z' },
        artifactStatus: 'ACTIVE',
      },
      {
        digest: sbom.digest,
        mediaType: OCI_MANIFEST,
        artifactType: SBOM_TYPE,
        size: Buffer.byteLength(sbom.manifest),
        artifactStatus: 'ACTIVE',
      },
    ].sort((a, b) => a.digest.localeCompare(b.digest));
    expect(listed.referrers).toEqual(expected);
    expect(listed.nextToken).toBeUndefined();
    expect(none.referrers).toEqual([]);
  });

  it('gives the referrer subjectManifestDigest and artifactMediaType in DescribeImages, and the subject neither', async () => {
    // Prepare
    const subject = pushSubject();
    const sig = notationSignature(subject, '{"signature":"AA"}');
    emulator.putImage(REPO, { manifest: sig.manifest, blobs: sig.blobs });

    // Act
    const out = await ecr().send(
      new DescribeImagesCommand({
        repositoryName: REPO,
        imageIds: [{ imageDigest: sig.digest }, { imageDigest: subject }],
      }),
    );

    // Assess
    const [referrer, image] = out.imageDetails ?? [];
    expect(referrer).toMatchObject({
      imageDigest: sig.digest,
      subjectManifestDigest: subject,
      artifactMediaType: SIGNATURE_TYPES.notationArtifact,
      imageManifestMediaType: OCI_MANIFEST,
    });
    expect(referrer?.imageTags).toBeUndefined();
    expect(image?.imageDigest).toBe(subject);
    expect(image?.subjectManifestDigest).toBeUndefined();
  });

  it('filters by artifact type and by status (ACTIVE by default, ARCHIVED, ANY)', async () => {
    // Prepare
    const subject = pushSubject();
    const sig = notationSignature(subject, '{"signature":"AA"}');
    const sbom = artifact(subject, SBOM_TYPE, [{ mediaType: SBOM_TYPE, bytes: '{}' }]);
    emulator.putImage(REPO, { manifest: sig.manifest, blobs: sig.blobs });
    emulator.putImage(REPO, { manifest: sbom.manifest, blobs: sbom.blobs });
    emulator.setStorageClass(REPO, sbom.digest, 'ARCHIVE');
    const list = async (filter?: {
      artifactTypes?: string[];
      artifactStatus?: 'ACTIVE' | 'ARCHIVED' | 'ANY';
    }) =>
      (
        await ecr().send(
          new ListImageReferrersCommand({
            repositoryName: REPO,
            subjectId: { imageDigest: subject },
            filter,
          }),
        )
      ).referrers?.map((r) => [r.digest, r.artifactStatus]);

    // Act
    const byDefault = await list();
    const signatures = await list({
      artifactTypes: [SIGNATURE_TYPES.notationArtifact],
      artifactStatus: 'ANY',
    });
    const sboms = await list({ artifactTypes: [SBOM_TYPE, 'text/plain'], artifactStatus: 'ANY' });
    const archived = await list({ artifactStatus: 'ARCHIVED' });
    const any = await list({ artifactStatus: 'ANY' });

    // Assess
    expect(byDefault).toEqual([[sig.digest, 'ACTIVE']]);
    expect(signatures).toEqual([[sig.digest, 'ACTIVE']]);
    expect(sboms).toEqual([[sbom.digest, 'ARCHIVED']]);
    expect(archived).toEqual([[sbom.digest, 'ARCHIVED']]);
    expect(any).toEqual(
      [
        [sig.digest, 'ACTIVE'],
        [sbom.digest, 'ARCHIVED'],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
  });

  it('pages 20 by default and up to 50 with maxResults; its token stays valid when a listed referrer is deleted', async () => {
    // Prepare
    const subject = pushSubject();
    const digests = Array.from({ length: 45 }, (_, i) => {
      const sig = notationSignature(subject, `{"signature":"${i}"}`);
      return emulator.putImage(REPO, { manifest: sig.manifest, blobs: sig.blobs });
    }).sort();
    const client = ecr();
    const list = (extra: { maxResults?: number; nextToken?: string } = {}) =>
      client.send(
        new ListImageReferrersCommand({
          repositoryName: REPO,
          subjectId: { imageDigest: subject },
          ...extra,
        }),
      );

    // Act
    const first = await list();
    await client.send(
      new BatchDeleteImageCommand({ repositoryName: REPO, imageIds: [{ imageDigest: digests[25] }] }),
    );
    const second = await list({ nextToken: first.nextToken });
    const third = await list({ nextToken: second.nextToken });
    const whole = await list({ maxResults: 50 });

    // Assess
    expect(first.referrers?.map((r) => r.digest)).toEqual(digests.slice(0, 20));
    expect(second.referrers?.map((r) => r.digest)).toEqual([
      ...digests.slice(20, 25),
      ...digests.slice(26, 41),
    ]);
    expect(third.referrers?.map((r) => r.digest)).toEqual(digests.slice(41));
    expect(third.nextToken).toBeUndefined();
    expect(whole.referrers).toHaveLength(44);
    expect(whole.nextToken).toBeUndefined();
  });

  it.each([
    [
      'maxResults 51',
      { maxResults: 51 },
      "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value less than or equal to 50'",
    ],
    [
      'maxResults 0',
      { maxResults: 0 },
      "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value greater than or equal to 1'",
    ],
    [
      'six artifact types',
      { filter: { artifactTypes: ['a', 'b', 'c', 'd', 'e', 'f'] } },
      "Invalid parameter at 'filter.artifactTypes' failed to satisfy constraint: 'Member must have length less than or equal to 5'",
    ],
    [
      'a token it did not issue',
      { nextToken: 'not-a-token' },
      "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'",
    ],
  ])('refuses %s with InvalidParameterException', async (_name, extra, message) => {
    // Prepare
    const subject = pushSubject();

    // Act
    const error = await errorOf(
      ecr().send(
        new ListImageReferrersCommand({
          repositoryName: REPO,
          subjectId: { imageDigest: subject },
          ...extra,
        }),
      ),
    );

    // Assess
    expect(error.name).toBe('InvalidParameterException');
    expect(error.message).toBe(message);
  });

  it('answers RepositoryNotFoundException for a repository that does not exist', async () => {
    // Act
    const error = await errorOf(
      ecr().send(
        new ListImageReferrersCommand({
          repositoryName: 'nope/none',
          subjectId: { imageDigest: blobDigest('x') },
        }),
      ),
    );

    // Assess
    expect(error.name).toBe('RepositoryNotFoundException');
    expect(error.message).toBe(
      `The repository with name 'nope/none' does not exist in the registry with id '${ACCOUNT}'`,
    );
  });
});

describe('layer blobs', () => {
  it('serves the exact bytes of a pushed blob at the URL GetDownloadUrlForLayer gives', async () => {
    // Prepare
    const subject = pushSubject();
    const binary = new Uint8Array([0xff, 0x00, 0xfe, 0x0a, 0x80, 0x7f]);
    const cose = artifact(subject, SIGNATURE_TYPES.notationArtifact, [
      { mediaType: SIGNATURE_TYPES.notationCose, bytes: binary },
    ]);
    emulator.putImage(REPO, { manifest: cose.manifest, blobs: cose.blobs });
    const layer = cose.layers[0]!.digest;

    // Act
    const out = await ecr().send(
      new GetDownloadUrlForLayerCommand({ repositoryName: REPO, layerDigest: layer }),
    );
    const res = await fetch(out.downloadUrl ?? '');
    const bytes = new Uint8Array(await res.arrayBuffer());

    // Assess
    expect(out.layerDigest).toBe(layer);
    expect(out.downloadUrl).toBe(
      `${server.url}/local-ecr/${ACCOUNT}/${REPO}/blobs/${encodeURIComponent(layer)}`,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(bytes).toEqual(binary);
    expect(blobDigest(bytes)).toBe(layer);
  });

  it('answers 404 for a blob a push left out, and keeps an S3-shaped URL for layers of generated manifests', async () => {
    // Prepare
    const subject = pushSubject();
    const sig = notationSignature(subject, '{"signature":"AA"}');
    const envelope = sig.layers[0]!.digest;
    const lost = new Map([...sig.blobs].filter(([digest]) => digest !== envelope));
    emulator.putImage(REPO, { manifest: sig.manifest, blobs: lost });
    const generatedLayer = manifestDigest('layer:app');

    // Act
    const out = await ecr().send(
      new GetDownloadUrlForLayerCommand({ repositoryName: REPO, layerDigest: envelope }),
    );
    const res = await fetch(out.downloadUrl ?? '');
    const generated = await ecr().send(
      new GetDownloadUrlForLayerCommand({ repositoryName: REPO, layerDigest: generatedLayer }),
    );

    // Assess
    expect(out.downloadUrl).toBe(
      `${server.url}/local-ecr/${ACCOUNT}/${REPO}/blobs/${encodeURIComponent(envelope)}`,
    );
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ __type: 'NoSuchKey', message: 'The specified key does not exist.' });
    expect(generated.downloadUrl).toBe(
      `https://prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com/local/${REPO}/${generatedLayer}`,
    );
  });

  it('counts downloads as ecr:DownloadLayer, so faults can be injected into them', async () => {
    // Prepare
    const subject = pushSubject();
    const sig = notationSignature(subject, '{"signature":"AA"}');
    emulator.putImage(REPO, { manifest: sig.manifest, blobs: sig.blobs });
    const out = await ecr().send(
      new GetDownloadUrlForLayerCommand({ repositoryName: REPO, layerDigest: sig.layers[0]!.digest }),
    );
    faults.set('ecr:DownloadLayer', { serverErrorRate: 1 });

    // Act
    const res = await fetch(out.downloadUrl ?? '');

    // Assess
    expect(res.status).toBe(500);
    expect(faults.stats('ecr:DownloadLayer')).toMatchObject({ requests: 1, serverErrors: 1 });
  });

  it('uploads a blob in parts (InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload) and reports it available', async () => {
    // Prepare
    const client = ecr();
    const part1 = new Uint8Array(5 * 1024 * 1024).fill(7);
    const part2 = new TextEncoder().encode('tail');
    const whole = new Uint8Array([...part1, ...part2]);
    const digest = blobDigest(whole);

    // Act
    const { uploadId, partSize } = await client.send(
      new InitiateLayerUploadCommand({ repositoryName: REPO }),
    );
    const first = await client.send(
      new UploadLayerPartCommand({
        repositoryName: REPO,
        uploadId,
        partFirstByte: 0,
        partLastByte: part1.length - 1,
        layerPartBlob: part1,
      }),
    );
    const gap = await errorOf(
      client.send(
        new UploadLayerPartCommand({
          repositoryName: REPO,
          uploadId,
          partFirstByte: part1.length + 1,
          partLastByte: part1.length + part2.length,
          layerPartBlob: part2,
        }),
      ),
    );
    await client.send(
      new UploadLayerPartCommand({
        repositoryName: REPO,
        uploadId,
        partFirstByte: part1.length,
        partLastByte: whole.length - 1,
        layerPartBlob: part2,
      }),
    );
    const done = await client.send(
      new CompleteLayerUploadCommand({ repositoryName: REPO, uploadId, layerDigests: [digest] }),
    );
    const check = await client.send(
      new BatchCheckLayerAvailabilityCommand({
        repositoryName: REPO,
        layerDigests: [digest, blobDigest('nothing')],
      }),
    );
    const again = await client.send(new InitiateLayerUploadCommand({ repositoryName: REPO }));
    await client.send(
      new UploadLayerPartCommand({
        repositoryName: REPO,
        uploadId: again.uploadId,
        partFirstByte: 0,
        partLastByte: part2.length - 1,
        layerPartBlob: part2,
      }),
    );
    const wrong = await errorOf(
      client.send(
        new CompleteLayerUploadCommand({
          repositoryName: REPO,
          uploadId: again.uploadId,
          layerDigests: [digest],
        }),
      ),
    );

    // Assess
    expect(partSize).toBe(5 * 1024 * 1024);
    expect(first.lastByteReceived).toBe(part1.length - 1);
    expect(gap.name).toBe('InvalidLayerPartException');
    expect(done).toMatchObject({ registryId: ACCOUNT, repositoryName: REPO, uploadId, layerDigest: digest });
    expect(check.layers).toEqual([
      { layerDigest: digest, layerAvailability: 'AVAILABLE', layerSize: whole.length },
      { layerDigest: blobDigest('nothing'), layerAvailability: 'UNAVAILABLE' },
    ]);
    expect(check.failures).toEqual([]);
    expect(wrong.name).toBe('InvalidLayerException');
  });

  it('serves an uploaded blob once a pushed manifest names it', async () => {
    // Prepare
    const client = ecr();
    const subject = pushSubject();
    const envelope = new TextEncoder().encode('{"signature":"uploaded"}');
    for (const bytes of [envelope, new TextEncoder().encode('{}')]) {
      const { uploadId } = await client.send(new InitiateLayerUploadCommand({ repositoryName: REPO }));
      await client.send(
        new UploadLayerPartCommand({
          repositoryName: REPO,
          uploadId,
          partFirstByte: 0,
          partLastByte: bytes.length - 1,
          layerPartBlob: bytes,
        }),
      );
      await client.send(
        new CompleteLayerUploadCommand({ repositoryName: REPO, uploadId, layerDigests: [blobDigest(bytes)] }),
      );
    }
    const sig = notationSignature(subject, '{"signature":"uploaded"}');

    // Act
    await client.send(new PutImageCommand({ repositoryName: REPO, imageManifest: sig.manifest }));
    const out = await client.send(
      new GetDownloadUrlForLayerCommand({ repositoryName: REPO, layerDigest: blobDigest(envelope) }),
    );
    const res = await fetch(out.downloadUrl ?? '');

    // Assess
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{"signature":"uploaded"}');
  });
});

describe('ECR Referrer Action', () => {
  it('is sent for a pushed referrer with the Image Action PUSH fields and the media types; the subject gets an Image Action', async () => {
    // Prepare
    const subject = pushSubject();
    const sig = notationSignature(subject, '{"signature":"AA"}');

    // Act
    await ecr().send(new PutImageCommand({ repositoryName: REPO, imageManifest: sig.manifest }));

    // Assess
    expect(events.map((e) => [e['detail-type'], e.detail['image-digest']])).toEqual([
      ['ECR Image Action', subject],
      ['ECR Referrer Action', sig.digest],
    ]);
    expect(events[1]).toEqual({
      version: '0',
      id: expect.any(String),
      'detail-type': 'ECR Referrer Action',
      source: 'aws.ecr',
      account: ACCOUNT,
      time: '2026-06-01T12:00:00Z',
      region: 'us-east-1',
      resources: [],
      detail: {
        result: 'SUCCESS',
        'repository-name': REPO,
        'image-digest': sig.digest,
        'action-type': 'PUSH',
        'manifest-media-type': OCI_MANIFEST,
        'artifact-media-type': SIGNATURE_TYPES.notationArtifact,
      },
    });
  });

  it('carries image-tag when the referrer is pushed with a tag, and is not sent for a cosign .sig tag (no subject)', async () => {
    // Prepare
    const subject = pushSubject();
    const sbom = artifact(subject, SBOM_TYPE, [{ mediaType: SBOM_TYPE, bytes: '{}' }]);
    const cosignTag = `${subject.replace(':', '-')}.sig`;

    // Act
    emulator.putImage(REPO, { manifest: sbom.manifest, blobs: sbom.blobs, tags: ['sbom'] });
    emulator.putImage(REPO, { manifest: ociImageManifest('cosign-sig'), tags: [cosignTag] });

    // Assess
    expect(events.slice(1).map((e) => [e['detail-type'], e.detail['image-tag']])).toEqual([
      ['ECR Referrer Action', 'sbom'],
      ['ECR Image Action', cosignTag],
    ]);
  });

  it('is sent for the archive and the restore of a referrer, as the documented referrer restore sample', async () => {
    // Prepare
    const subject = pushSubject();
    const sbom = artifact(subject, SBOM_TYPE, [{ mediaType: SBOM_TYPE, bytes: '{}' }]);
    emulator.putImage(REPO, { manifest: sbom.manifest, blobs: sbom.blobs });
    events.length = 0;

    // Act
    emulator.setStorageClass(REPO, sbom.digest, 'ARCHIVE');
    emulator.setStorageClass(REPO, sbom.digest, 'STANDARD');

    // Assess
    expect(events.map((e) => [e['detail-type'], e.detail])).toEqual([
      [
        'ECR Referrer Action',
        {
          'action-type': 'UPDATE_STORAGE_CLASS',
          'target-storage-class': 'ARCHIVE',
          'image-digest': sbom.digest,
          'repository-name': REPO,
          result: 'SUCCESS',
          'manifest-media-type': OCI_MANIFEST,
          'artifact-media-type': SBOM_TYPE,
        },
      ],
      [
        'ECR Referrer Action',
        {
          'action-type': 'UPDATE_STORAGE_CLASS',
          'target-storage-class': 'STANDARD',
          'image-digest': sbom.digest,
          'repository-name': REPO,
          result: 'SUCCESS',
          'manifest-media-type': OCI_MANIFEST,
          'artifact-media-type': SBOM_TYPE,
          'last-activated-at': NOW.toISOString(),
        },
      ],
    ]);
  });

  it('matches an EventBridge rule for referrer pushes, and a PUSH rule for images does not take it', async () => {
    // Prepare
    const subject = pushSubject();
    const sig = notationSignature(subject, '{"signature":"AA"}');
    emulator.putImage(REPO, { manifest: sig.manifest, blobs: sig.blobs });
    const referrerRule = {
      source: ['aws.ecr'],
      'detail-type': ['ECR Referrer Action'],
      detail: { 'action-type': ['PUSH'], result: ['SUCCESS'] },
    };
    const pushRule = {
      source: ['aws.ecr'],
      'detail-type': ['ECR Image Action'],
      detail: { 'action-type': ['PUSH'], result: ['SUCCESS'] },
    };

    // Act
    const matched = events.map((e) => [matchesPattern(referrerRule, e), matchesPattern(pushRule, e)]);

    // Assess
    expect(matched).toEqual([
      [false, true],
      [true, false],
    ]);
  });
});
