/**
 * The signature policy evaluated over all of an image's signature artifacts: dispatch by format, distinct trusted
 * identities for minSignatures, the four statuses with concise reasons, and properties over random byte flips
 * (never trusted, never a throw).
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  describeSignature,
  SIGNATURE_TYPES,
  type SignatureArtifact,
  type SignaturePolicy,
} from '../../functions/shared/signatures/model.js';
import { NOTARY_HEADERS } from '../../functions/shared/signatures/notation.js';
import {
  checkArtifact,
  checkArtifactSignatures,
  signatureFormat,
  signatureStatus,
} from '../../functions/shared/signatures/verify.js';
import { generateCosignKey } from '../../local/signing.js';
import {
  type Chain,
  cosignArtifact,
  createChain,
  createSignerChain,
  editManifest,
  envelopeOf,
  firstLayerBlob,
  notationArtifact,
  notationReferrer,
  PROFILE,
  PROFILE_VERSION,
  randomDigest,
  replaceBlob,
  rewriteEnvelope,
  SIGNED_AT,
  withLayerBlob,
} from './support.js';

const IMAGE = randomDigest();
const NOW = new Date(Date.UTC(2025, 6, 1));
const alice = generateCosignKey();
const bob = generateCosignKey();
const mallory = generateCosignKey();

let acme: Chain;
let stranger: Chain;
let signer: Chain;

beforeAll(async () => {
  acme = await createChain();
  stranger = await createChain({ rootName: 'CN=Stranger Root, O=Stranger, ST=CA, C=US' });
  signer = await createSignerChain(SIGNED_AT);
});

const cosignPolicy = (keys: string[], minSignatures = 1): SignaturePolicy => ({
  required: true,
  minSignatures,
  trust: [{ type: 'cosign', publicKeys: keys }],
});

const notationPolicy = (): SignaturePolicy => ({
  required: true,
  minSignatures: 1,
  trust: [
    { type: 'notation', certificates: [acme.root.pem] },
    { type: 'notation', certificates: [signer.root.pem], signingProfiles: [PROFILE] },
  ],
});

const sbom = (): SignatureArtifact => ({
  source: 'referrer',
  digest: randomDigest(),
  artifactType: 'application/spdx+json',
  manifest: '{"schemaVersion":2}',
  blobs: new Map(),
});

describe('signatureFormat', () => {
  it('reads the format from the source, the artifact type, or the manifest', () => {
    const tagged = cosignArtifact(IMAGE, alice.privateKey);
    const referrer = cosignArtifact(IMAGE, alice.privateKey, { mode: 'referrer' });
    const notationByManifest = {
      ...sbom(),
      artifactType: undefined,
      manifest: JSON.stringify({ artifactType: SIGNATURE_TYPES.notationArtifact }),
    };
    const cosignByConfig = { ...referrer, artifactType: undefined };

    expect(signatureFormat(tagged)).toBe('cosign');
    expect(signatureFormat(referrer)).toBe('cosign');
    expect(signatureFormat(cosignByConfig)).toBe('cosign');
    expect(signatureFormat(notationByManifest)).toBe('notation');
    expect(signatureFormat(sbom())).toBeUndefined();
    expect(signatureFormat({ ...sbom(), artifactType: undefined, manifest: 'not json' })).toBeUndefined();
  });
});

describe('checkArtifact', () => {
  it('returns not-a-signature for an SBOM', () => {
    const artifact = sbom();

    expect(checkArtifact(IMAGE, artifact, cosignPolicy([alice.publicKeyPem]), NOW)).toEqual({
      digest: artifact.digest,
      outcome: 'not-a-signature',
    });
  });

  it('dispatches cosign and Notation artifacts to their verifiers', async () => {
    const cosign = cosignArtifact(IMAGE, alice.privateKey, { mode: 'referrer' });
    const notation = await notationArtifact(IMAGE, acme, { format: 'jws' });
    const policy: SignaturePolicy = {
      ...notationPolicy(),
      trust: [...notationPolicy().trust, ...cosignPolicy([alice.publicKeyPem]).trust],
    };

    expect(checkArtifact(IMAGE, cosign, policy, NOW)).toEqual({
      digest: cosign.digest,
      outcome: 'trusted',
      identity: alice.identity,
    });
    expect(checkArtifact(IMAGE, notation, policy, NOW)).toEqual({
      digest: notation.digest,
      outcome: 'trusted',
      identity: 'x509.subject: CN=release-signer, O=Acme, ST=WA, C=US',
    });
  });

  it('returns the trusted signature of a .sig manifest whose first layer is by another key', () => {
    const first = cosignArtifact(IMAGE, mallory.privateKey);
    const second = cosignArtifact(IMAGE, alice.privateKey);
    const merged = editManifest(first, (m) => m.layers.push(JSON.parse(second.manifest).layers[0]));
    const artifact = { ...merged, blobs: new Map([...first.blobs, ...second.blobs]) };

    expect(checkArtifact(IMAGE, artifact, cosignPolicy([alice.publicKeyPem]), NOW)).toEqual({
      digest: artifact.digest,
      outcome: 'trusted',
      identity: alice.identity,
    });
  });

  it("reports an unreadable policy key as the artifact's reason instead of throwing", () => {
    const artifact = cosignArtifact(IMAGE, alice.privateKey);

    expect(checkArtifact(IMAGE, artifact, cosignPolicy(['not a key']), NOW)).toEqual({
      digest: artifact.digest,
      outcome: 'invalid',
      why: 'unreadable signature: not a PEM public key (expected "-----BEGIN PUBLIC KEY-----", as in cosign.pub)',
    });
  });
});

describe('signatureStatus', () => {
  it('is UNSIGNED without signature artifacts', () => {
    expect(signatureStatus(IMAGE, [], cosignPolicy([alice.publicKeyPem]), NOW)).toEqual({
      status: 'UNSIGNED',
    });
    expect(signatureStatus(IMAGE, [sbom(), sbom()], cosignPolicy([alice.publicKeyPem]), NOW)).toEqual({
      status: 'UNSIGNED',
    });
  });

  it('is SIGNED by the trusted identity', () => {
    const status = signatureStatus(
      IMAGE,
      [sbom(), cosignArtifact(IMAGE, alice.privateKey)],
      cosignPolicy([alice.publicKeyPem]),
      NOW,
    );

    expect(status).toEqual({ status: 'SIGNED', identities: [alice.identity] });
    expect(describeSignature(status)).toBe(`SIGNED by ${alice.identity}`);
  });

  it('is SIGNED when one of several signatures is trusted', () => {
    const artifacts = [
      cosignArtifact(IMAGE, mallory.privateKey),
      cosignArtifact(IMAGE, alice.privateKey, { mode: 'referrer' }),
    ];

    expect(signatureStatus(IMAGE, artifacts, cosignPolicy([alice.publicKeyPem]), NOW)).toEqual({
      status: 'SIGNED',
      identities: [alice.identity],
    });
  });

  it('is INVALID for a signature by an untrusted cosign key, which cannot be told from a tampered one', () => {
    const status = signatureStatus(
      IMAGE,
      [cosignArtifact(IMAGE, mallory.privateKey)],
      cosignPolicy([alice.publicKeyPem]),
      NOW,
    );

    expect(status).toEqual({ status: 'INVALID', why: 'signature does not verify under the trusted keys' });
    expect(describeSignature(status)).toBe(
      'INVALID SIGNATURE (signature does not verify under the trusted keys)',
    );
  });

  it('never passes a signature of another image', async () => {
    const other = randomDigest();
    const cosign = cosignArtifact(other, alice.privateKey);
    const notation = await notationArtifact(other, acme);
    const policy: SignaturePolicy = {
      ...notationPolicy(),
      trust: [...notationPolicy().trust, ...cosignPolicy([alice.publicKeyPem]).trust],
    };

    expect(signatureStatus(IMAGE, [cosign, notation], policy, NOW)).toEqual({
      status: 'INVALID',
      why: `signs ${other} not this image`,
    });
  });

  it('lists the first two distinct reasons and counts the rest', () => {
    const a = cosignArtifact(IMAGE, mallory.privateKey);
    const b = cosignArtifact(randomDigest(), alice.privateKey);
    const c = { ...cosignArtifact(IMAGE, alice.privateKey), manifest: '{' };
    const d = cosignArtifact(IMAGE, bob.privateKey);

    expect(signatureStatus(IMAGE, [a, d, b, c], cosignPolicy([alice.publicKeyPem]), NOW)).toEqual({
      status: 'INVALID',
      why: `signature does not verify under the trusted keys; signs ${JSON.parse(Buffer.from(firstLayerBlob(b)).toString()).critical.image['docker-manifest-digest']} not this image; and 1 more`,
    });
  });

  it('is UNTRUSTED with the signer when a valid Notation signature chains to no trusted root', async () => {
    const status = signatureStatus(IMAGE, [await notationArtifact(IMAGE, stranger)], notationPolicy(), NOW);

    expect(status).toEqual({
      status: 'UNTRUSTED',
      identities: ['x509.subject: CN=release-signer, O=Acme, ST=WA, C=US'],
      why: 'x509.subject: CN=release-signer, O=Acme, ST=WA, C=US: certificate chain does not reach a trusted root (root "CN=Stranger Root, O=Stranger, ST=CA, C=US")',
    });
    expect(describeSignature(status)).toBe(
      `UNTRUSTED SIGNER (${status.status === 'UNTRUSTED' ? status.why : ''})`,
    );
  });

  it('is UNTRUSTED when AWS Signer signed with a profile the policy does not trust', async () => {
    const artifact = await notationArtifact(IMAGE, signer, {
      format: 'jws',
      awsSigner: {
        profileVersionArn: 'arn:aws:signer:us-west-2:111122223333:/signing-profiles/nightly/AbCdEf1234',
      },
    });

    expect(signatureStatus(IMAGE, [artifact], notationPolicy(), NOW)).toEqual({
      status: 'UNTRUSTED',
      identities: ['arn:aws:signer:us-west-2:111122223333:/signing-profiles/nightly/AbCdEf1234'],
      why: 'arn:aws:signer:us-west-2:111122223333:/signing-profiles/nightly/AbCdEf1234: signing profile arn:aws:signer:us-west-2:111122223333:/signing-profiles/nightly/AbCdEf1234 is not trusted',
    });
  });

  it('is SIGNED by the profile version when AWS Signer signed with a trusted profile', async () => {
    const artifact = await notationArtifact(IMAGE, signer, {
      format: 'jws',
      awsSigner: { profileVersionArn: PROFILE_VERSION },
    });

    expect(signatureStatus(IMAGE, [artifact], notationPolicy(), NOW)).toEqual({
      status: 'SIGNED',
      identities: [PROFILE_VERSION],
    });
  });

  describe('minSignatures', () => {
    it('counts one identity once: two signatures by one key are one signer', () => {
      const artifacts = [
        cosignArtifact(IMAGE, alice.privateKey),
        cosignArtifact(IMAGE, alice.privateKey, { mode: 'referrer' }),
      ];

      expect(
        signatureStatus(IMAGE, artifacts, cosignPolicy([alice.publicKeyPem, bob.publicKeyPem], 2), NOW),
      ).toEqual({
        status: 'UNTRUSTED',
        identities: [alice.identity],
        why: `1 trusted signer (${alice.identity}), 2 required`,
      });
    });

    it('is UNTRUSTED with one trusted signer and an invalid signature', () => {
      const artifacts = [cosignArtifact(IMAGE, alice.privateKey), cosignArtifact(IMAGE, mallory.privateKey)];

      expect(
        signatureStatus(IMAGE, artifacts, cosignPolicy([alice.publicKeyPem, bob.publicKeyPem], 2), NOW),
      ).toEqual({
        status: 'UNTRUSTED',
        identities: [alice.identity],
        why: `1 trusted signer (${alice.identity}), 2 required`,
      });
    });

    it('is INVALID when no signature is valid, however many are required', () => {
      const artifacts = [cosignArtifact(IMAGE, mallory.privateKey)];

      expect(
        signatureStatus(IMAGE, artifacts, cosignPolicy([alice.publicKeyPem, bob.publicKeyPem], 2), NOW),
      ).toEqual({
        status: 'INVALID',
        why: 'signature does not verify under the trusted keys',
      });
    });

    it('is SIGNED by two different trusted keys, in separate artifacts', () => {
      const artifacts = [
        cosignArtifact(IMAGE, alice.privateKey),
        cosignArtifact(IMAGE, bob.privateKey, { mode: 'referrer' }),
      ];

      expect(
        signatureStatus(IMAGE, artifacts, cosignPolicy([alice.publicKeyPem, bob.publicKeyPem], 2), NOW),
      ).toEqual({
        status: 'SIGNED',
        identities: [alice.identity, bob.identity],
      });
    });

    it('is SIGNED by two different trusted keys in one .sig manifest', () => {
      const first = cosignArtifact(IMAGE, alice.privateKey);
      const second = cosignArtifact(IMAGE, bob.privateKey);
      const merged = editManifest(first, (m) => m.layers.push(JSON.parse(second.manifest).layers[0]));
      const artifact = { ...merged, blobs: new Map([...first.blobs, ...second.blobs]) };

      expect(
        signatureStatus(IMAGE, [artifact], cosignPolicy([alice.publicKeyPem, bob.publicKeyPem], 2), NOW),
      ).toEqual({
        status: 'SIGNED',
        identities: [alice.identity, bob.identity],
      });
    });

    it('counts two versions of one AWS Signer profile as one signer', async () => {
      const v2 = `${PROFILE}/ZZZZZZZZZZ`;
      const artifacts = [
        await notationArtifact(IMAGE, signer, {
          format: 'jws',
          awsSigner: { profileVersionArn: PROFILE_VERSION },
        }),
        await notationArtifact(IMAGE, signer, { format: 'jws', awsSigner: { profileVersionArn: v2 } }),
      ];

      expect(signatureStatus(IMAGE, artifacts, { ...notationPolicy(), minSignatures: 2 }, NOW)).toEqual({
        status: 'UNTRUSTED',
        identities: [PROFILE_VERSION, v2],
        why: `1 trusted signer (${PROFILE_VERSION}, ${v2}), 2 required`,
      });
      expect(signatureStatus(IMAGE, artifacts, notationPolicy(), NOW)).toEqual({
        status: 'SIGNED',
        identities: [PROFILE_VERSION, v2],
      });
    });

    it('counts a cosign key and a Notation signer as two identities', async () => {
      const policy: SignaturePolicy = {
        required: true,
        minSignatures: 2,
        trust: [...notationPolicy().trust, ...cosignPolicy([alice.publicKeyPem]).trust],
      };
      const artifacts = [cosignArtifact(IMAGE, alice.privateKey), await notationArtifact(IMAGE, acme)];

      expect(signatureStatus(IMAGE, artifacts, policy, NOW)).toEqual({
        status: 'SIGNED',
        identities: [alice.identity, 'x509.subject: CN=release-signer, O=Acme, ST=WA, C=US'],
      });
    });
  });
});

describe('properties: random byte flips never yield trusted and never throw', () => {
  const flip = (bytes: Uint8Array, at: number, mask: number): Buffer => {
    const copy = Buffer.from(bytes);
    const i = at % copy.length;
    copy[i] = copy[i]! ^ mask;
    return copy;
  };
  const position = fc.nat();
  const mask = fc.integer({ min: 1, max: 255 });
  const outcomes = ['trusted', 'untrusted', 'invalid', 'not-a-signature'];

  it('a flipped cosign payload or signature is never trusted', () => {
    const artifact = cosignArtifact(IMAGE, alice.privateKey);
    const policy = cosignPolicy([alice.publicKeyPem]);
    const payload = firstLayerBlob(artifact);
    const signature = Buffer.from(
      JSON.parse(artifact.manifest).layers[0].annotations[SIGNATURE_TYPES.cosignSignatureAnnotation],
      'base64',
    );
    fc.assert(
      fc.property(
        position,
        mask,
        fc.constantFrom('payload', 'payload+digest', 'signature'),
        (at, m, where) => {
          const mutated =
            where === 'payload'
              ? replaceBlob(artifact, JSON.parse(artifact.manifest).layers[0].digest, flip(payload, at, m))
              : where === 'payload+digest'
                ? withLayerBlob(artifact, flip(payload, at, m))
                : editManifest(artifact, (man) => {
                    man.layers[0].annotations[SIGNATURE_TYPES.cosignSignatureAnnotation] = flip(
                      signature,
                      at,
                      m,
                    ).toString('base64');
                  });
          const check = checkArtifact(IMAGE, mutated, policy, NOW);
          expect(outcomes).toContain(check.outcome);
          expect(check.outcome).not.toBe('trusted');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a flipped cosign manifest is trusted only when its signature and payload digest decode unchanged', () => {
    const artifact = cosignArtifact(IMAGE, alice.privateKey);
    const policy = cosignPolicy([alice.publicKeyPem]);
    const original = JSON.parse(artifact.manifest).layers[0];
    fc.assert(
      fc.property(position, fc.integer({ min: 1, max: 127 }), (at, m) => {
        const text = Buffer.from(flip(Buffer.from(artifact.manifest), at, m)).toString('latin1');
        const check = checkArtifact(IMAGE, { ...artifact, manifest: text }, policy, NOW);
        expect(outcomes).toContain(check.outcome);
        if (check.outcome === 'trusted') {
          const layer = JSON.parse(text).layers.find(
            (l: { mediaType: string }) => l.mediaType === SIGNATURE_TYPES.cosignSimpleSigning,
          );
          const annotation = SIGNATURE_TYPES.cosignSignatureAnnotation;
          expect(Buffer.from(layer.annotations[annotation], 'base64')).toEqual(
            Buffer.from(original.annotations[annotation], 'base64'),
          );
          expect(layer.digest).toBe(original.digest);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a flipped COSE envelope (its layer digest updated) is never trusted', async () => {
    // Without a signing agent, every byte of the envelope is signed, a certificate, or CBOR structure.
    const signed = await notationArtifact(IMAGE, acme, {
      expiry: new Date(Date.UTC(2030, 0, 1)),
      editUnprotected: (h) => (h as Map<unknown, unknown>).delete(NOTARY_HEADERS.signingAgent),
    });
    const envelope = envelopeOf(signed);
    const policy = notationPolicy();
    expect(checkArtifact(IMAGE, signed, policy, NOW).outcome).toBe('trusted');
    fc.assert(
      fc.property(position, mask, (at, m) => {
        const check = checkArtifact(
          IMAGE,
          notationReferrer(IMAGE, flip(envelope, at, m), 'cose', acme),
          policy,
          NOW,
        );
        expect(outcomes).toContain(check.outcome);
        expect(check.outcome).not.toBe('trusted');
      }),
      { numRuns: 500 },
    );
  });

  it.each(['cose', 'jws'] as const)(
    'a flip in what a %s envelope signs or carries is never trusted',
    async (format) => {
      const signed = await notationArtifact(IMAGE, signer, {
        format,
        awsSigner: { profileVersionArn: PROFILE_VERSION },
      });
      const envelope = envelopeOf(signed);
      const policy = notationPolicy();
      expect(checkArtifact(IMAGE, signed, policy, NOW).outcome).toBe('trusted');
      const part = fc.constantFrom('protectedBytes', 'payload', 'signature', 'certificate');
      fc.assert(
        fc.property(part, fc.nat(3), position, mask, (where, cert, at, m) => {
          const mutated = rewriteEnvelope(envelope, format, (p) => {
            if (where === 'certificate') p.certificates[cert] = flip(p.certificates[cert]!, at, m);
            else p[where] = flip(p[where], at, m);
          });
          const check = checkArtifact(IMAGE, notationReferrer(IMAGE, mutated, format, signer), policy, NOW);
          expect(outcomes).toContain(check.outcome);
          expect(check.outcome).not.toBe('trusted');
        }),
        { numRuns: 400 },
      );
    },
  );

  it('a flipped JWS envelope is trusted only when what it signs and carries decodes unchanged', async () => {
    const signed = await notationArtifact(IMAGE, acme, { format: 'jws' });
    const envelope = envelopeOf(signed);
    const policy = notationPolicy();
    const decoded = (bytes: Uint8Array) => {
      const jws = JSON.parse(Buffer.from(bytes).toString('latin1'));
      return [jws.protected, jws.payload, jws.signature]
        .map((s: string) => Buffer.from(s, 'base64url').toString('hex'))
        .concat(jws.header.x5c.map((c: string) => Buffer.from(c, 'base64').toString('hex')));
    };
    fc.assert(
      fc.property(position, fc.integer({ min: 1, max: 127 }), (at, m) => {
        const mutated = flip(envelope, at, m);
        const check = checkArtifact(IMAGE, notationReferrer(IMAGE, mutated, 'jws', acme), policy, NOW);
        expect(outcomes).toContain(check.outcome);
        if (check.outcome === 'trusted') expect(decoded(mutated)).toEqual(decoded(envelope));
      }),
      { numRuns: 500 },
    );
  });

  it('a JWS envelope whose certificate carries bytes after its DER is invalid, not trusted', async () => {
    // Prepare: the leaf certificate of the (unsigned) x5c header with one byte after its DER, as a flipped base64
    // padding character gives it: a certificate parser reads the certificate and ignores the byte
    const signed = await notationArtifact(IMAGE, acme, { format: 'jws' });
    const jws = JSON.parse(Buffer.from(envelopeOf(signed)).toString('latin1'));
    const der = Buffer.from(jws.header.x5c[0], 'base64');
    jws.header.x5c[0] = Buffer.concat([der, Buffer.from([0x0f])]).toString('base64');
    const mutated = Buffer.from(JSON.stringify(jws), 'latin1');

    // Act
    const check = checkArtifact(IMAGE, notationReferrer(IMAGE, mutated, 'jws', acme), notationPolicy(), NOW);

    // Assess
    expect(check).toMatchObject({
      outcome: 'invalid',
      why: expect.stringContaining('certificate 1 of the chain is not a DER X.509 certificate'),
    });
  });

  it.each(['cose', 'jws'] as const)('arbitrary bytes as a %s envelope are invalid', (format) => {
    const policy = notationPolicy();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const check = checkArtifact(IMAGE, notationReferrer(IMAGE, bytes, format), policy, NOW);
        expect(check.outcome).toBe('invalid');
      }),
      { numRuns: 300 },
    );
  });

  it('arbitrary manifests never throw and are never trusted', () => {
    const policy: SignaturePolicy = {
      ...notationPolicy(),
      trust: [...notationPolicy().trust, ...cosignPolicy([alice.publicKeyPem]).trust],
    };
    const artifact = fc.record({
      source: fc.constantFrom('referrer' as const, 'cosign-tag' as const),
      digest: fc.constant(randomDigest()),
      artifactType: fc.constantFrom(
        undefined,
        SIGNATURE_TYPES.cosignArtifact,
        SIGNATURE_TYPES.notationArtifact,
      ),
      manifest: fc.oneof(fc.string(), fc.json()),
      blobs: fc.constant(new Map<string, Uint8Array>()),
    });
    fc.assert(
      fc.property(artifact, (a) => {
        const checks = checkArtifactSignatures(IMAGE, a, policy, NOW);
        for (const c of checks) expect(['invalid', 'not-a-signature']).toContain(c.outcome);
        expect(['UNSIGNED', 'INVALID']).toContain(signatureStatus(IMAGE, [a], policy, NOW).status);
      }),
      { numRuns: 300 },
    );
  });
});
