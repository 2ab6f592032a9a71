/**
 * local/signing.ts: the runtime cosign signer the local cloud's scenario uses. Its artifacts have cosign's shape
 * (sigstore/cosign specs/SIGNATURE_SPEC.md; the 233-byte image config cosign's `.sig` manifests carry) and verify.
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cosignSignatureTag, SIGNATURE_TYPES } from '../../functions/shared/signatures/model.js';
import { cosignSign, generateCosignKey } from '../../local/signing.js';
import { randomDigest } from './support.js';

const IMAGE = randomDigest();
const digestOf = (b: Uint8Array | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe('generateCosignKey', () => {
  it('returns a P-256 key pair whose PEM is the public key, named by its SPKI fingerprint', () => {
    const key = generateCosignKey();
    const pub = createPublicKey(key.publicKeyPem);

    expect(key.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(pub.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(key.identity).toBe(
      `cosign key SHA256:${createHash('sha256')
        .update(pub.export({ type: 'spki', format: 'der' }))
        .digest('hex')}`,
    );
  });

  it('returns a new key each time', () => {
    expect(generateCosignKey().identity).not.toBe(generateCosignKey().identity);
  });
});

describe('cosignSign', () => {
  const key = generateCosignKey();

  it('returns a tag-stored signature manifest with its config and payload blobs', () => {
    const signed = cosignSign(IMAGE, key.privateKey, { dockerReference: 'app' });
    const manifest = JSON.parse(signed.manifest);
    const [layer] = manifest.layers;
    const payload = signed.blobs.get(layer.digest)!;
    const config = signed.blobs.get(manifest.config.digest)!;

    expect(signed.tag).toBe(cosignSignatureTag(IMAGE));
    expect(signed.artifactType).toBeUndefined();
    expect(signed.digest).toBe(digestOf(signed.manifest));
    expect(manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(manifest.config).toEqual({
      mediaType: 'application/vnd.oci.image.config.v1+json',
      size: 233,
      digest: digestOf(config),
    });
    expect(JSON.parse(Buffer.from(config).toString()).rootfs).toEqual({
      type: 'layers',
      diff_ids: [layer.digest],
    });
    expect(layer.mediaType).toBe(SIGNATURE_TYPES.cosignSimpleSigning);
    expect(layer.size).toBe(payload.byteLength);
    expect(layer.digest).toBe(digestOf(payload));
    expect(JSON.parse(Buffer.from(payload).toString()).critical).toEqual({
      identity: { 'docker-reference': 'app' },
      image: { 'docker-manifest-digest': IMAGE },
      type: 'cosign container image signature',
    });
    expect('subject' in manifest).toBe(false);
  });

  it('signs the payload bytes with ECDSA P-256 SHA-256, DER-encoded, in base64', () => {
    const signed = cosignSign(IMAGE, key.privateKey);
    const [layer] = JSON.parse(signed.manifest).layers;
    const signature = Buffer.from(layer.annotations[SIGNATURE_TYPES.cosignSignatureAnnotation], 'base64');

    expect(signature[0]).toBe(0x30);
    expect(verify('sha256', signed.blobs.get(layer.digest)!, key.publicKey, signature)).toBe(true);
  });

  it("returns a referrer with a subject and cosign's artifact type in referrer mode", () => {
    const signed = cosignSign(IMAGE, key.privateKey, { mode: 'referrer', subjectSize: 1234 });
    const manifest = JSON.parse(signed.manifest);

    expect(signed.tag).toBeUndefined();
    expect(signed.artifactType).toBe(SIGNATURE_TYPES.cosignArtifact);
    expect(manifest.config.mediaType).toBe(SIGNATURE_TYPES.cosignArtifact);
    expect(manifest.subject).toEqual({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: 1234,
      digest: IMAGE,
    });
  });
});
