/**
 * readSignatureArtifacts against the local cloud's ECR emulator, through the real ECRClient and Node's fetch:
 * OCI 1.1 referrers and cosign's `.sig` tag, their manifests, the signature blobs (and only those), and what
 * happens when a blob or the referrers API is missing, too large, or failing.
 */
import { ECRClient } from '@aws-sdk/client-ecr';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CallCounter } from '../../functions/shared/adapters/ecr.js';
import {
  readSignatureArtifacts,
  subjectOfCosignTag,
  subjectOfReferrer,
} from '../../functions/shared/adapters/signatures.js';
import { cosignSignatureTag, SIGNATURE_TYPES } from '../../functions/shared/signatures/model.js';
import {
  blobDigest,
  EcrEmulator,
  manifestDigest,
  OCI_MANIFEST,
  ociImageManifest,
} from '../../local/ecr-emulator.js';
import { FaultInjector } from '../../local/faults.js';
import { type LocalServer, ServiceError, startLocalServer } from '../../local/server.js';

const REPO = 'services/orders';
const NOW = new Date('2026-06-01T12:00:00.000Z');
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const SBOM_TYPE = 'application/spdx+json';
const EMPTY = { mediaType: 'application/vnd.oci.empty.v1+json', digest: blobDigest('{}'), size: 2 };
const encode = (text: string) => new TextEncoder().encode(text);

let emulator: EcrEmulator;
let faults: FaultInjector;
let server: LocalServer;
let warnings: string[];

beforeEach(async () => {
  emulator = new EcrEmulator({ now: () => NOW });
  faults = new FaultInjector({ seed: 11 });
  warnings = [];
  server = await startLocalServer({ handlers: { ecr: emulator.handle }, faults });
  emulator.createRepository(REPO);
});

afterEach(async () => {
  await server.close();
});

const ecr = () => new ECRClient({ endpoint: server.url, region: 'us-east-1', credentials, maxAttempts: 1 });
const read = (
  subject: string,
  calls = new CallCounter(),
  extra: Parameters<typeof readSignatureArtifacts>[3] = {},
) => readSignatureArtifacts(ecr(), REPO, subject, { calls, onWarning: (m) => warnings.push(m), ...extra });

interface Layer {
  readonly mediaType: string;
  readonly bytes: Uint8Array;
  /** The size the manifest declares; default the real one. */
  readonly declaredSize?: number;
  readonly annotations?: Record<string, string>;
}

/** An image manifest with an empty config and `layers`, optionally with a subject; and its blobs. */
function manifestOf(layers: readonly Layer[], opts: { subject?: string; artifactType?: string } = {}) {
  const blobs = new Map<string, Uint8Array>([[EMPTY.digest, encode('{}')]]);
  const descriptors = layers.map((l) => {
    const digest = blobDigest(l.bytes);
    blobs.set(digest, l.bytes);
    return {
      mediaType: l.mediaType,
      digest,
      size: l.declaredSize ?? l.bytes.length,
      ...(l.annotations ? { annotations: l.annotations } : {}),
    };
  });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    ...(opts.artifactType ? { artifactType: opts.artifactType } : {}),
    config: EMPTY,
    layers: descriptors,
    ...(opts.subject ? { subject: { mediaType: OCI_MANIFEST, digest: opts.subject, size: 1_000 } } : {}),
  });
  return { manifest, blobs, digest: manifestDigest(manifest), layers: descriptors };
}

/** cosign's simple-signing payload for `subject` (the signed bytes; not signed here: this adapter verifies nothing). */
const simpleSigning = (subject: string) =>
  encode(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': `123456789012.dkr.ecr.us-east-1.amazonaws.com/${REPO}` },
        image: { 'docker-manifest-digest': subject },
        type: 'cosign container image signature',
      },
      optional: null,
    }),
  );

const pushSubject = (seed = 'app') =>
  emulator.putImage(REPO, { manifest: ociImageManifest(seed), tags: ['v1'] });

/** A Notation signature referrer (JWS envelope) of `subject`, pushed with its blobs. */
function pushNotation(subject: string, envelope = '{"payload":"e30","signature":"AA"}', keep = true) {
  const m = manifestOf([{ mediaType: SIGNATURE_TYPES.notationJws, bytes: encode(envelope) }], {
    subject,
    artifactType: SIGNATURE_TYPES.notationArtifact,
  });
  const blobs = keep ? m.blobs : new Map([...m.blobs].filter(([d]) => d !== m.layers[0]!.digest));
  emulator.putImage(REPO, { manifest: m.manifest, blobs });
  return m;
}

/** A cosign signature under the `sha256-<hex>.sig` tag, pushed with its blobs. */
function pushCosignTag(subject: string) {
  const m = manifestOf([
    {
      mediaType: SIGNATURE_TYPES.cosignSimpleSigning,
      bytes: simpleSigning(subject),
      annotations: { [SIGNATURE_TYPES.cosignSignatureAnnotation]: 'MEUCIQ==' },
    },
  ]);
  emulator.putImage(REPO, { manifest: m.manifest, blobs: m.blobs, tags: [cosignSignatureTag(subject)] });
  return m;
}

describe('readSignatureArtifacts', () => {
  it('returns the referrers and the cosign-tag signature with their manifests and signature blobs only', async () => {
    // Prepare
    const subject = pushSubject();
    const notation = pushNotation(subject);
    const sbom = manifestOf([{ mediaType: SBOM_TYPE, bytes: encode('{"spdxVersion":"SPDX-2.3"}') }], {
      subject,
      artifactType: SBOM_TYPE,
    });
    emulator.putImage(REPO, { manifest: sbom.manifest, blobs: sbom.blobs });
    const cosign = pushCosignTag(subject);
    const calls = new CallCounter();

    // Act
    const artifacts = await read(subject, calls);

    // Assess
    const referrers = [
      {
        source: 'referrer',
        digest: notation.digest,
        artifactType: SIGNATURE_TYPES.notationArtifact,
        manifest: notation.manifest,
        blobs: new Map([[notation.layers[0]!.digest, encode('{"payload":"e30","signature":"AA"}')]]),
      },
      {
        source: 'referrer',
        digest: sbom.digest,
        artifactType: SBOM_TYPE,
        manifest: sbom.manifest,
        blobs: new Map(),
      },
    ].sort((a, b) => a.digest.localeCompare(b.digest));
    expect(artifacts).toEqual([
      ...referrers,
      {
        source: 'cosign-tag',
        digest: cosign.digest,
        artifactType: EMPTY.mediaType,
        manifest: cosign.manifest,
        blobs: new Map([[cosign.layers[0]!.digest, simpleSigning(subject)]]),
      },
    ]);
    expect(calls.toJSON()).toEqual({
      BatchGetImage: 1,
      GetDownloadUrlForLayer: 2,
      LayerDownload: 2,
      ListImageReferrers: 1,
    });
    expect(warnings).toEqual([]);
  });

  it('returns nothing for an image with no signature artifact', async () => {
    // Prepare
    const subject = pushSubject();
    const other = pushSubject('other');
    pushNotation(other);
    const calls = new CallCounter();

    // Act
    const artifacts = await read(subject, calls);

    // Assess
    expect(artifacts).toEqual([]);
    expect(calls.toJSON()).toEqual({ BatchGetImage: 1, ListImageReferrers: 1 });
    expect(warnings).toEqual([]);
  });

  it('keeps an artifact whose blob is missing, without that blob, and says why', async () => {
    // Prepare
    const subject = pushSubject();
    const lost = pushNotation(subject, '{"signature":"lost"}', false);

    // Act
    const artifacts = await read(subject);

    // Assess
    expect(artifacts).toEqual([
      {
        source: 'referrer',
        digest: lost.digest,
        artifactType: SIGNATURE_TYPES.notationArtifact,
        manifest: lost.manifest,
        blobs: new Map(),
      },
    ]);
    expect(warnings).toEqual([
      `signature blob ${REPO}@${lost.layers[0]!.digest} could not be read: HTTP 404`,
    ]);
  });

  it('reads every page of referrers (50 a call) and batches their manifests 100 a call', async () => {
    // Prepare
    const subject = pushSubject();
    const digests = Array.from(
      { length: 120 },
      (_, i) => pushNotation(subject, `{"signature":"${i}"}`).digest,
    );
    const calls = new CallCounter();

    // Act
    const artifacts = await read(subject, calls);

    // Assess
    expect(artifacts.map((a) => a.digest)).toEqual([...digests].sort());
    expect(artifacts.every((a) => a.blobs.size === 1)).toBe(true);
    expect(calls.toJSON()).toEqual({
      BatchGetImage: 2,
      GetDownloadUrlForLayer: 120,
      LayerDownload: 120,
      ListImageReferrers: 3,
    });
  });

  it('leaves out a referrer that is archived', async () => {
    // Prepare
    const subject = pushSubject();
    const archived = pushNotation(subject, '{"signature":"old"}');
    const active = pushNotation(subject, '{"signature":"new"}');
    emulator.setStorageClass(REPO, archived.digest, 'ARCHIVE');

    // Act
    const artifacts = await read(subject);

    // Assess
    expect(artifacts.map((a) => a.digest)).toEqual([active.digest]);
  });

  it('reads only the cosign tag when the endpoint does not know ListImageReferrers', async () => {
    // Prepare
    const old = await startLocalServer({
      handlers: {
        ecr: async (op, input, raw) => {
          if (op === 'ListImageReferrers')
            throw new ServiceError('UnknownOperationException', 'Unknown operation ListImageReferrers');
          return emulator.handle(op, input, raw);
        },
      },
    });
    const subject = pushSubject();
    pushNotation(subject);
    const cosign = pushCosignTag(subject);

    // Act
    const artifacts = await readSignatureArtifacts(
      new ECRClient({ endpoint: old.url, region: 'us-east-1', credentials, maxAttempts: 1 }),
      REPO,
      subject,
      { onWarning: (m) => warnings.push(m) },
    ).finally(() => old.close());

    // Assess
    expect(artifacts.map((a) => [a.source, a.digest, a.blobs.size])).toEqual([
      ['cosign-tag', cosign.digest, 1],
    ]);
    expect(warnings).toEqual([
      `ListImageReferrers is not available for ${REPO} (UnknownOperationException: Unknown operation ListImageReferrers); only the cosign tag ${cosignSignatureTag(subject)} is read`,
    ]);
  });

  it('does not read a blob over the size limit, whether the manifest declares it or the download shows it', async () => {
    // Prepare
    const subject = pushSubject();
    const declared = manifestOf(
      [{ mediaType: SIGNATURE_TYPES.notationCose, bytes: new Uint8Array(11).fill(1) }],
      {
        subject,
        artifactType: SIGNATURE_TYPES.notationArtifact,
      },
    );
    const understated = manifestOf(
      [{ mediaType: SIGNATURE_TYPES.notationCose, bytes: new Uint8Array(11).fill(2), declaredSize: 5 }],
      { subject, artifactType: SIGNATURE_TYPES.notationArtifact },
    );
    emulator.putImage(REPO, { manifest: declared.manifest, blobs: declared.blobs });
    emulator.putImage(REPO, { manifest: understated.manifest, blobs: understated.blobs });

    // Act
    const artifacts = await read(subject, new CallCounter(), { maxBlobBytes: 10 });

    // Assess
    expect(artifacts.map((a) => a.blobs.size)).toEqual([0, 0]);
    expect(warnings.sort()).toEqual(
      [
        `signature blob ${declared.layers[0]!.digest} declares 11 bytes, over the 10-byte limit; not read`,
        `signature blob ${REPO}@${understated.layers[0]!.digest} could not be read: 11 bytes, over the 10-byte limit`,
      ].sort(),
    );
  });

  it('throws when downloads keep failing with 5xx, rather than calling a signature invalid', async () => {
    // Prepare
    const subject = pushSubject();
    const notation = pushNotation(subject);
    faults.set('ecr:DownloadLayer', { serverErrorRate: 1 });

    // Act
    const error = await read(subject).then(
      () => undefined,
      (e: Error) => e,
    );

    // Assess
    expect(error?.message).toBe(
      `downloading signature blob ${REPO}@${notation.layers[0]!.digest} failed 3 times: HTTP 500`,
    );
    expect(faults.stats('ecr:DownloadLayer').requests).toBe(3);
  });

  it('throws when BatchGetImage reports a KMS error for an artifact', async () => {
    // Prepare
    const subject = pushSubject();
    pushNotation(subject);
    faults.set('ecr:BatchGetImage', { partialFailureRate: 1, partialFailureCode: 'KmsError' });

    // Act
    const error = await read(subject).then(
      () => undefined,
      (e: Error) => e,
    );

    // Assess
    expect(error?.message).toMatch(
      new RegExp(`^BatchGetImage could not read ${REPO}@sha256:[a-f0-9]{64}: KmsError`),
    );
  });
});

describe('subjectOfReferrer', () => {
  it('gives the subject of a referrer, and nothing for an image without one or an image that is gone', async () => {
    // Prepare
    const subject = pushSubject();
    const notation = pushNotation(subject);

    // Act
    const found = await subjectOfReferrer(ecr(), REPO, notation.digest);
    const plain = await subjectOfReferrer(ecr(), REPO, subject);
    const gone = await subjectOfReferrer(ecr(), REPO, blobDigest('gone'));

    // Assess
    expect([found, plain, gone]).toEqual([subject, undefined, undefined]);
  });
});

describe('subjectOfCosignTag', () => {
  const hex = 'ab'.repeat(32);
  it.each([
    [`sha256-${hex}.sig`, `sha256:${hex}`],
    [`sha256-${hex}.att`, undefined],
    [`sha256-${hex}.sbom`, undefined],
    [`sha256-${hex.slice(2)}.sig`, undefined],
    ['latest', undefined],
  ])('reads %s as %s', (tag, subject) => {
    expect(subjectOfCosignTag(tag)).toBe(subject);
  });
});
