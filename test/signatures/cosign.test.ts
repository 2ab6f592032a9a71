/**
 * cosign signatures (sigstore/cosign specs/SIGNATURE_SPEC.md) verified against pinned P-256 public keys: every
 * way a signature can fail has its own reason, and nothing throws.
 */
import { createHash, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  COSIGN_PAYLOAD_TYPE,
  checkCosignArtifact,
  loadCosignKey,
} from '../../functions/shared/signatures/cosign.js';
import { SIGNATURE_TYPES } from '../../functions/shared/signatures/model.js';
import { cosignPayload, generateCosignKey } from '../../local/signing.js';
import {
  cosignArtifact,
  digestOf,
  editManifest,
  firstLayerBlob,
  randomDigest,
  replaceBlob,
  withLayerBlob,
} from './support.js';

const IMAGE = randomDigest();
const alice = generateCosignKey();
const bob = generateCosignKey();
const trustAlice = [loadCosignKey(alice.publicKeyPem)];

/** The fingerprint computed from the PEM text itself (base64 body → DER → SHA-256), not from a KeyObject. */
function fingerprintOfPem(pem: string): string {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return `cosign key SHA256:${createHash('sha256').update(der).digest('hex')}`;
}

const check = (artifact: Parameters<typeof checkCosignArtifact>[1], keys = trustAlice) =>
  checkCosignArtifact(IMAGE, artifact, keys);

describe('checkCosignArtifact', () => {
  it.each(['tag', 'referrer'] as const)(
    'returns trusted with the key fingerprint for a %s-stored signature',
    (mode) => {
      const artifact = cosignArtifact(IMAGE, alice.privateKey, { mode });

      expect(check(artifact)).toEqual([
        { digest: artifact.digest, outcome: 'trusted', identity: fingerprintOfPem(alice.publicKeyPem) },
      ]);
      expect(alice.identity).toBe(fingerprintOfPem(alice.publicKeyPem));
    },
  );

  it('finds the trusted key among several', () => {
    const artifact = cosignArtifact(IMAGE, bob.privateKey);

    expect(check(artifact, [...trustAlice, loadCosignKey(bob.publicKeyPem)])).toEqual([
      { digest: artifact.digest, outcome: 'trusted', identity: bob.identity },
    ]);
  });

  it('returns one check per signature layer when signers share one .sig manifest', () => {
    const first = cosignArtifact(IMAGE, alice.privateKey);
    const second = cosignArtifact(IMAGE, bob.privateKey);
    const secondLayer = JSON.parse(second.manifest).layers[0];
    const both = editManifest(first, (m) => m.layers.push(secondLayer));
    const merged = { ...both, blobs: new Map([...first.blobs, ...second.blobs]) };

    expect(check(merged, [...trustAlice, loadCosignKey(bob.publicKeyPem)])).toEqual([
      { digest: merged.digest, outcome: 'trusted', identity: alice.identity },
      { digest: merged.digest, outcome: 'trusted', identity: bob.identity },
    ]);
  });

  it('refuses a signature of another image, even by a trusted key', () => {
    const other = randomDigest();
    const artifact = cosignArtifact(other, alice.privateKey);

    expect(check(artifact)).toEqual([
      { digest: artifact.digest, outcome: 'invalid', why: `signs ${other} not this image` },
    ]);
  });

  it('says the payload was tampered with when the blob does not hash to the layer digest', () => {
    const artifact = cosignArtifact(IMAGE, alice.privateKey);
    const blob = firstLayerBlob(artifact);
    const tampered = Buffer.from(blob).toString().replace(IMAGE, randomDigest());
    const payloadDigest = digestOf(blob);

    expect(check(replaceBlob(artifact, payloadDigest, Buffer.from(tampered)))).toEqual([
      {
        digest: artifact.digest,
        outcome: 'invalid',
        why: `payload blob does not match its digest ${payloadDigest} (tampered)`,
      },
    ]);
  });

  it('refuses a tampered payload whose manifest was rewritten to match it', () => {
    const artifact = cosignArtifact(IMAGE, alice.privateKey);
    const tampered = Buffer.from(Buffer.from(firstLayerBlob(artifact)).toString().replace('""', '"evil"'));
    const rewritten = withLayerBlob(artifact, tampered);

    expect(check(rewritten)).toEqual([
      {
        digest: rewritten.digest,
        outcome: 'invalid',
        why: 'signature does not verify under the trusted keys',
      },
    ]);
  });

  it('refuses a signature by a key the policy does not trust', () => {
    const artifact = cosignArtifact(IMAGE, bob.privateKey);

    expect(check(artifact)).toEqual([
      {
        digest: artifact.digest,
        outcome: 'invalid',
        why: 'signature does not verify under the trusted keys',
      },
    ]);
  });

  it('says so when the policy trusts no cosign key', () => {
    const artifact = cosignArtifact(IMAGE, alice.privateKey);

    expect(check(artifact, [])).toEqual([
      {
        digest: artifact.digest,
        outcome: 'invalid',
        why: 'signature does not verify under the trusted keys (the policy trusts no cosign key)',
      },
    ]);
  });

  it('refuses a raw r||s signature: cosign writes ASN.1 DER', () => {
    const artifact = cosignArtifact(IMAGE, alice.privateKey);
    const raw = sign('sha256', firstLayerBlob(artifact), {
      key: alice.privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    const edited = editManifest(artifact, (m) => {
      m.layers[0].annotations[SIGNATURE_TYPES.cosignSignatureAnnotation] = raw.toString('base64');
    });

    expect(check(edited)[0]).toEqual({
      digest: edited.digest,
      outcome: 'invalid',
      why: 'signature does not verify under the trusted keys',
    });
  });

  it('says when the payload blob could not be read', () => {
    const artifact = cosignArtifact(IMAGE, alice.privateKey);
    const payloadDigest = digestOf(firstLayerBlob(artifact));

    expect(check({ ...artifact, blobs: new Map() })).toEqual([
      { digest: artifact.digest, outcome: 'invalid', why: `payload blob ${payloadDigest} could not be read` },
    ]);
  });

  describe('malformed signatures', () => {
    const artifact = cosignArtifact(IMAGE, alice.privateKey);
    const withPayload = (payload: unknown) =>
      withLayerBlob(artifact, Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)));

    it.each([
      ['a manifest that is not JSON', { ...artifact, manifest: '{"layers": [' }, 'the manifest is not JSON'],
      [
        'a manifest without layers',
        editManifest(artifact, (m) => delete m.layers),
        'the manifest has no layers',
      ],
      [
        'empty layers',
        editManifest(artifact, (m) => {
          m.layers = [];
        }),
        `no ${SIGNATURE_TYPES.cosignSimpleSigning} layer`,
      ],
      [
        'a layer without the signature annotation',
        editManifest(artifact, (m) => delete m.layers[0].annotations),
        'the layer has no dev.cosignproject.cosign/signature annotation',
      ],
      [
        'a signature that is not base64',
        editManifest(artifact, (m) => {
          m.layers[0].annotations[SIGNATURE_TYPES.cosignSignatureAnnotation] = 'not base64!';
        }),
        'the signature annotation is not base64',
      ],
      [
        'an empty signature',
        editManifest(artifact, (m) => {
          m.layers[0].annotations[SIGNATURE_TYPES.cosignSignatureAnnotation] = '';
        }),
        'the signature annotation is not base64',
      ],
      [
        'a layer digest that is not sha256',
        editManifest(artifact, (m) => {
          m.layers[0].digest = 'md5:abc';
        }),
        'the payload layer has no sha256 digest',
      ],
      ['a payload that is not JSON', withPayload('{"critical":'), 'the payload is not JSON'],
      [
        'a payload without a critical section',
        withPayload({ optional: {} }),
        'the payload has no critical section',
      ],
      [
        'a payload of another type',
        withPayload({
          critical: { type: 'atomic container signature', image: { 'docker-manifest-digest': IMAGE } },
        }),
        `payload type "atomic container signature" is not "${COSIGN_PAYLOAD_TYPE}"`,
      ],
      [
        'a payload that names no image',
        withPayload({ critical: { type: COSIGN_PAYLOAD_TYPE, image: {} } }),
        'the payload names no critical.image docker-manifest-digest',
      ],
    ])('refuses %s', (_name, input, why) => {
      expect(check(input)).toEqual([
        { digest: input.digest, outcome: 'invalid', why: `malformed cosign signature: ${why}` },
      ]);
    });
  });

  it('ignores other layers beside the signature layers', () => {
    const artifact = editManifest(cosignArtifact(IMAGE, alice.privateKey), (m) =>
      m.layers.unshift({
        mediaType: 'application/vnd.oci.image.layer.v1.tar',
        digest: randomDigest(),
        size: 1,
      }),
    );

    expect(check(artifact)).toEqual([
      { digest: artifact.digest, outcome: 'trusted', identity: alice.identity },
    ]);
  });

  it('signs the payload cosign writes', () => {
    expect(Buffer.from(cosignPayload(IMAGE, 'registry.example/app')).toString()).toBe(
      `{"critical":{"identity":{"docker-reference":"registry.example/app"},"image":{"docker-manifest-digest":"${IMAGE}"},"type":"cosign container image signature"},"optional":null}`,
    );
  });
});

describe('loadCosignKey', () => {
  it('returns the key and its identity', () => {
    expect(loadCosignKey(alice.publicKeyPem).identity).toBe(fingerprintOfPem(alice.publicKeyPem));
  });

  it.each([
    [
      'text that is not PEM',
      'hello',
      'not a PEM public key (expected "-----BEGIN PUBLIC KEY-----", as in cosign.pub)',
    ],
    [
      'a damaged PEM',
      '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n',
      /^not a readable PEM public key \(/,
    ],
  ])('throws for %s', (_name, pem, message) => {
    expect(() => loadCosignKey(pem)).toThrow(message);
  });

  it('throws for a key that is not ECDSA P-256', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });

    expect(() => loadCosignKey(p384.toString())).toThrow(
      'a EC secp384r1 key: cosign signatures are verified with ECDSA P-256 keys only',
    );
    expect(() => loadCosignKey(rsa.toString())).toThrow(
      'a rsa key: cosign signatures are verified with ECDSA P-256 keys only',
    );
  });
});
