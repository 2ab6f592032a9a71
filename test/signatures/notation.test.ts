/**
 * Notation signatures (COSE and JWS envelopes) verified against pinned certificates, as the Notary Project
 * specifications and AWS Signer's plugin define it: each failure has its own reason and outcome, nothing throws.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SignatureArtifact } from '../../functions/shared/signatures/model.js';
import {
  AWS_SIGNER,
  checkNotationArtifact,
  NOTARY_HEADERS,
  type NotationTrust,
  notationCbor,
  parseCertificateBundle,
  parseSubjectPattern,
  prepareNotationTrust,
  signingProfileMatches,
} from '../../functions/shared/signatures/notation.js';
import {
  type Chain,
  createChain,
  createSignerChain,
  DAY,
  digestOf,
  editManifest,
  envelopeOf,
  issueCertificate,
  notationArtifact,
  notationEnvelope,
  notationPayload,
  notationReferrer,
  PROFILE,
  PROFILE_VERSION,
  randomDigest,
  replaceBlob,
  rewriteEnvelope,
  SIGNED_AT,
} from './support.js';

const IMAGE = randomDigest();
const NOW = new Date(Date.UTC(2025, 6, 1));
const SUBJECT = 'CN=release-signer, O=Acme, ST=WA, C=US';
const IDENTITY = `x509.subject: ${SUBJECT}`;

let acme: Chain;
let stranger: Chain;
let layered: Chain;
let signer: Chain;

beforeAll(async () => {
  acme = await createChain();
  stranger = await createChain({ rootName: 'CN=Stranger Root, O=Stranger, ST=CA, C=US' });
  layered = await createChain({ intermediateNames: ['CN=Acme Issuing CA, O=Acme, ST=WA, C=US'] });
  signer = await createSignerChain(SIGNED_AT);
});

const trust = (
  c: Chain,
  more: Partial<{ signingProfiles: string[]; subjects: string[] }> = {},
): NotationTrust[] => [prepareNotationTrust({ type: 'notation', certificates: [c.root.pem], ...more })];

const check = (artifact: SignatureArtifact, t: NotationTrust[] = trust(acme), now = NOW) =>
  checkNotationArtifact(IMAGE, artifact, t, now);

const invalid = (artifact: SignatureArtifact, why: string) => ({
  digest: artifact.digest,
  outcome: 'invalid',
  why,
});

describe.each(['cose', 'jws'] as const)('checkNotationArtifact (%s)', (format) => {
  it('returns trusted with the signing certificate subject', async () => {
    const artifact = await notationArtifact(IMAGE, acme, { format });

    expect(check(artifact)).toEqual({ digest: artifact.digest, outcome: 'trusted', identity: IDENTITY });
  });

  it('follows a chain through an intermediate CA, trusting its root or the intermediate itself', async () => {
    const artifact = await notationArtifact(IMAGE, layered, { format });
    const intermediate = prepareNotationTrust({
      type: 'notation',
      certificates: [layered.intermediates[0]!.pem],
    });

    expect(check(artifact, trust(layered))).toEqual({
      digest: artifact.digest,
      outcome: 'trusted',
      identity: IDENTITY,
    });
    expect(check(artifact, [intermediate])).toEqual({
      digest: artifact.digest,
      outcome: 'trusted',
      identity: IDENTITY,
    });
  });

  it('refuses a signature of another image', async () => {
    const other = randomDigest();
    const artifact = await notationArtifact(IMAGE, acme, { format, targetDigest: other });

    expect(check(artifact)).toEqual(invalid(artifact, `signs ${other} not this image`));
  });

  it('says the signature does not verify when the payload was tampered with', async () => {
    const signed = await notationArtifact(IMAGE, acme, { format });
    const envelope = rewriteEnvelope(envelopeOf(signed), format, (p) => {
      p.payload = Buffer.from(Buffer.from(p.payload).toString().replace('1234', '1235'));
    });
    const artifact = notationReferrer(IMAGE, envelope, format, acme);

    expect(check(artifact)).toEqual(
      invalid(
        artifact,
        'signature does not verify under its signing certificate (tampered envelope or payload)',
      ),
    );
  });

  it('says the envelope was tampered with when its blob does not hash to the layer digest', async () => {
    const artifact = await notationArtifact(IMAGE, acme, { format });
    const digest = digestOf(envelopeOf(artifact));
    const flipped = Buffer.from(envelopeOf(artifact));
    flipped[10] = flipped[10]! ^ 1;

    expect(check(replaceBlob(artifact, digest, flipped))).toEqual(
      invalid(artifact, `envelope blob does not match its digest ${digest} (tampered)`),
    );
  });

  it('refuses a signature whose signing certificate has expired (notary.x509: checked now)', async () => {
    const short = await createChain({ leaf: { notAfter: new Date(Date.UTC(2025, 5, 15)) } });
    const artifact = await notationArtifact(IMAGE, short, { format });

    expect(check(artifact, trust(short))).toEqual(
      invalid(
        artifact,
        `certificate "${SUBJECT}" expired at 2025-06-15T00:00:00Z (checked at 2025-07-01T00:00:00Z)`,
      ),
    );
  });

  it('refuses a signature whose signing certificate is not yet valid', async () => {
    const future = await createChain({ leaf: { notBefore: new Date(Date.UTC(2025, 11, 1)) } });
    const artifact = await notationArtifact(IMAGE, future, { format });

    expect(check(artifact, trust(future))).toEqual(
      invalid(
        artifact,
        `certificate "${SUBJECT}" is not yet valid at 2025-07-01T00:00:00Z (valid from 2025-12-01T00:00:00Z)`,
      ),
    );
  });

  it('refuses a signature past the expiry its signer set', async () => {
    const artifact = await notationArtifact(IMAGE, acme, { format, expiry: new Date(Date.UTC(2025, 5, 20)) });

    expect(check(artifact)).toEqual(
      invalid(artifact, "signature expired at 2025-06-20T00:00:00Z (its signer's expiry)"),
    );
    expect(check(artifact, trust(acme), new Date(Date.UTC(2025, 5, 10)))).toEqual({
      digest: artifact.digest,
      outcome: 'trusted',
      identity: IDENTITY,
    });
  });

  it('returns untrusted, naming the root, when the chain does not reach a trusted certificate', async () => {
    const artifact = await notationArtifact(IMAGE, stranger, { format });

    expect(check(artifact)).toEqual({
      digest: artifact.digest,
      outcome: 'untrusted',
      identity: IDENTITY,
      why: 'certificate chain does not reach a trusted root (root "CN=Stranger Root, O=Stranger, ST=CA, C=US")',
    });
  });

  it('returns untrusted when the signing certificate subject is not a trusted one', async () => {
    const artifact = await notationArtifact(IMAGE, acme, { format });

    expect(check(artifact, trust(acme, { subjects: ['C=US, ST=WA, O=Acme, CN=nightly-*'] }))).toEqual({
      digest: artifact.digest,
      outcome: 'untrusted',
      identity: IDENTITY,
      why: `signer subject "${SUBJECT}" is not trusted`,
    });
  });

  it.each([['*'], ['x509.subject: C=US, ST=WA, O=Acme'], ['CN=release-*, O=Acme']])(
    'trusts a signing certificate whose subject matches %s',
    async (subject) => {
      const artifact = await notationArtifact(IMAGE, acme, { format });

      expect(check(artifact, trust(acme, { subjects: ['O=Other', subject] }))).toEqual({
        digest: artifact.digest,
        outcome: 'trusted',
        identity: IDENTITY,
      });
    },
  );

  describe('AWS Signer signatures', () => {
    const aws = { profileVersionArn: PROFILE_VERSION };

    it.each([
      ['its profile', PROFILE],
      ['its profile version', PROFILE_VERSION],
      [
        'its profile, spelled in another case',
        PROFILE.toUpperCase().replace('ARN:AWS:SIGNER', 'arn:aws:signer'),
      ],
    ])('trusts a signature by %s, named by the profile version ARN', async (_name, profile) => {
      const artifact = await notationArtifact(IMAGE, signer, { format, awsSigner: aws });

      expect(check(artifact, trust(signer, { signingProfiles: [profile] }))).toEqual({
        digest: artifact.digest,
        outcome: 'trusted',
        identity: PROFILE_VERSION,
      });
    });

    it('checks certificates at the authentic signing time: a signature outlives its 3-day certificate', async () => {
      const artifact = await notationArtifact(IMAGE, signer, { format, awsSigner: aws });
      const yearLater = new Date(SIGNED_AT.getTime() + 365 * DAY);

      expect(check(artifact, trust(signer, { signingProfiles: [PROFILE] }), yearLater)).toEqual({
        digest: artifact.digest,
        outcome: 'trusted',
        identity: PROFILE_VERSION,
      });
    });

    it('refuses a signature made after its certificate expired', async () => {
      const late = new Date(SIGNED_AT.getTime() + 5 * DAY);
      const artifact = await notationArtifact(IMAGE, signer, { format, awsSigner: aws, signingTime: late });

      expect(check(artifact, trust(signer), new Date(late.getTime() + DAY))).toEqual(
        invalid(
          artifact,
          'certificate "CN=AWS Signer, OU=AWS Cryptography, O=AWS, L=Seattle, ST=WA, C=US" expired at 2025-06-04T00:00:00Z (checked at 2025-06-06T00:00:00Z)',
        ),
      );
    });

    it('refuses an authentic signing time in the future', async () => {
      const artifact = await notationArtifact(IMAGE, signer, { format, awsSigner: aws });

      expect(check(artifact, trust(signer), new Date(SIGNED_AT.getTime() - DAY))).toEqual(
        invalid(artifact, 'authentic signing time 2025-06-01T00:00:00Z is in the future'),
      );
    });

    it.each([
      ['another profile', 'arn:aws:signer:us-west-2:111122223333:/signing-profiles/nightly'],
      ['another version of the profile', `${PROFILE}/AAAAAAAAAA`],
      ['the profile in another account', 'arn:aws:signer:us-west-2:444455556666:/signing-profiles/release'],
    ])('returns untrusted when the policy trusts only %s', async (_name, profile) => {
      const artifact = await notationArtifact(IMAGE, signer, { format, awsSigner: aws });

      expect(check(artifact, trust(signer, { signingProfiles: [profile] }))).toEqual({
        digest: artifact.digest,
        outcome: 'untrusted',
        identity: PROFILE_VERSION,
        why: `signing profile ${PROFILE_VERSION} is not trusted`,
      });
    });

    it("returns untrusted when a profile is required but the signature is not AWS Signer's", async () => {
      const artifact = await notationArtifact(IMAGE, acme, { format });

      expect(check(artifact, trust(acme, { signingProfiles: [PROFILE] }))).toEqual({
        digest: artifact.digest,
        outcome: 'untrusted',
        identity: IDENTITY,
        why: 'not signed by an AWS Signer signing profile',
      });
    });

    it('trusts when any one of several entries reached by the chain accepts it', async () => {
      const artifact = await notationArtifact(IMAGE, signer, { format, awsSigner: aws });
      const entries = [
        ...trust(signer, {
          signingProfiles: ['arn:aws:signer:us-west-2:111122223333:/signing-profiles/nightly'],
        }),
        ...trust(signer, { signingProfiles: [PROFILE] }),
      ];

      expect(check(artifact, entries)).toEqual({
        digest: artifact.digest,
        outcome: 'trusted',
        identity: PROFILE_VERSION,
      });
    });

    it('returns untrusted when the entry reached names no signing profile: Signer roots are shared', async () => {
      const artifact = await notationArtifact(IMAGE, signer, { format, awsSigner: aws });

      expect(check(artifact, trust(signer))).toEqual({
        digest: artifact.digest,
        outcome: 'untrusted',
        identity: PROFILE_VERSION,
        why: 'AWS Signer signatures are trusted only for the signing profiles an entry names (signingProfiles)',
      });
    });

    it('refuses the signing-authority scheme from anyone but AWS Signer', async () => {
      const artifact = await notationArtifact(IMAGE, acme, {
        format,
        scheme: 'notary.x509.signingAuthority',
      });

      expect(check(artifact)).toEqual(
        invalid(artifact, 'notary.x509.signingAuthority signatures are accepted from AWS Signer only'),
      );
    });

    it('refuses a signature that names another verification plugin', async () => {
      const artifact = await notationArtifact(IMAGE, acme, {
        format,
        scheme: 'notary.x509.signingAuthority',
        editProtected: (h) => {
          set(h, NOTARY_HEADERS.verificationPlugin, 'com.example.plugin');
          set(h, 'crit', [...(get(h, 'crit') as string[]), NOTARY_HEADERS.verificationPlugin], 2);
        },
      });

      expect(check(artifact)).toEqual(
        invalid(
          artifact,
          'it requires verification plugin "com.example.plugin", whose checks ECR Steward cannot perform',
        ),
      );
    });
  });

  describe('malformed envelopes', () => {
    it('refuses an unknown critical header', async () => {
      const artifact = await notationArtifact(IMAGE, acme, {
        format,
        editProtected: (h) => {
          set(h, 'com.example.policy', 'strict');
          set(h, 'crit', [...(get(h, 'crit') as string[]), 'com.example.policy'], 2);
        },
      });

      expect(check(artifact)).toEqual(
        invalid(artifact, 'malformed Notation signature: unsupported critical header "com.example.policy"'),
      );
    });

    it('refuses a crit list without the signing scheme', async () => {
      const artifact = await notationArtifact(IMAGE, acme, {
        format,
        expiry: new Date(Date.UTC(2030, 0, 1)),
        editProtected: (h) => set(h, 'crit', [NOTARY_HEADERS.expiry], 2),
      });

      expect(check(artifact)).toEqual(
        invalid(
          artifact,
          'malformed Notation signature: io.cncf.notary.signingScheme is not marked critical',
        ),
      );
    });

    it('refuses an expiry that is not marked critical', async () => {
      const artifact = await notationArtifact(IMAGE, acme, {
        format,
        expiry: new Date(Date.UTC(2030, 0, 1)),
        editProtected: (h) => set(h, 'crit', [NOTARY_HEADERS.signingScheme], 2),
      });

      expect(check(artifact)).toEqual(
        invalid(artifact, 'malformed Notation signature: io.cncf.notary.expiry is not marked critical'),
      );
    });

    it('refuses an unknown signing scheme', async () => {
      const artifact = await notationArtifact(IMAGE, acme, {
        format,
        editProtected: (h) => set(h, NOTARY_HEADERS.signingScheme, 'notary.tuf'),
      });

      expect(check(artifact)).toEqual(
        invalid(artifact, 'malformed Notation signature: unsupported signing scheme "notary.tuf"'),
      );
    });

    it('refuses another content type', async () => {
      const artifact = await notationArtifact(IMAGE, acme, {
        format,
        editProtected: (h) => set(h, 'cty', 'application/json', 3),
      });

      expect(check(artifact)).toEqual(
        invalid(
          artifact,
          'malformed Notation signature: content type "application/json" is not application/vnd.cncf.notary.payload.v1+json',
        ),
      );
    });

    it('refuses a signature without its certificate chain', async () => {
      const artifact = await notationArtifact(IMAGE, acme, {
        format,
        editUnprotected: (h) => (h instanceof Map ? h.delete(33) : delete h.x5c),
      });

      expect(check(artifact)).toEqual(
        invalid(
          artifact,
          format === 'cose'
            ? 'malformed Notation signature: COSE: x5chain (label 33) is missing or not a list of byte strings'
            : 'malformed Notation signature: JWS: x5c is missing or not a list of base64 certificates',
        ),
      );
    });

    it('refuses a chain that is out of order', async () => {
      const signed = await notationArtifact(IMAGE, layered, { format });
      const envelope = rewriteEnvelope(envelopeOf(signed), format, (p) => {
        p.certificates = [p.certificates[0]!, p.certificates[2]!, p.certificates[1]!];
      });
      const artifact = notationReferrer(IMAGE, envelope, format);

      expect(check(artifact, trust(layered))).toEqual(
        invalid(
          artifact,
          'certificate chain is broken: "CN=release-signer, O=Acme, ST=WA, C=US" is not signed by "CN=Test Root CA, O=Acme, ST=WA, C=US"',
        ),
      );
    });

    it('refuses a chain that does not end in a root', async () => {
      const signed = await notationArtifact(IMAGE, layered, { format });
      const envelope = rewriteEnvelope(envelopeOf(signed), format, (p) => {
        p.certificates = p.certificates.slice(0, 2);
      });
      const artifact = notationReferrer(IMAGE, envelope, format);

      expect(check(artifact, trust(layered))).toEqual(
        invalid(
          artifact,
          'certificate chain does not end in a root certificate ("CN=Acme Issuing CA, O=Acme, ST=WA, C=US" is not self-signed)',
        ),
      );
    });

    it('refuses a certificate that is not DER', async () => {
      const signed = await notationArtifact(IMAGE, acme, { format });
      const envelope = rewriteEnvelope(envelopeOf(signed), format, (p) => {
        p.certificates = [p.certificates[0]!, Buffer.from('not a certificate')];
      });
      const artifact = notationReferrer(IMAGE, envelope, format);

      expect(check(artifact)).toEqual(
        invalid(
          artifact,
          'malformed Notation signature: certificate 2 of the chain is not a DER X.509 certificate',
        ),
      );
    });
  });
});

describe('checkNotationArtifact (COSE specifics)', () => {
  it.each([
    [
      'garbage bytes',
      Buffer.from('garbage bytes here!!'),
      'COSE: not CBOR (Data read, but end of buffer not reached)',
    ],
    ['an empty blob', Buffer.alloc(0), 'COSE: not CBOR (Unexpected end of CBOR data)'],
    [
      'CBOR that is not COSE',
      notationCbor.encoder.encode({ hello: 'world' }),
      'COSE: not a COSE_Sign1_Tagged message (tag 18)',
    ],
  ])('refuses %s', (_name, bytes, why) => {
    const artifact = notationReferrer(IMAGE, bytes, 'cose');

    expect(check(artifact)).toEqual(invalid(artifact, `malformed Notation signature: ${why}`));
  });

  it('refuses an alg that does not match the signing key', async () => {
    const artifact = await notationArtifact(IMAGE, acme, { editProtected: (h) => set(h, 'alg', -35, 1) });

    expect(check(artifact)).toEqual(
      invalid(artifact, 'alg ES384 does not match the signing key (EC prime256v1 signs ES256)'),
    );
  });

  it('refuses a symmetric alg', async () => {
    const artifact = await notationArtifact(IMAGE, acme, { editProtected: (h) => set(h, 'alg', 5, 1) });

    expect(check(artifact)).toEqual(invalid(artifact, 'malformed Notation signature: unsupported alg 5'));
  });

  it('refuses a signing time that is not a tagged epoch time', async () => {
    const artifact = await notationArtifact(IMAGE, acme, {
      editProtected: (h) => set(h, NOTARY_HEADERS.signingTime, 1748736000),
    });

    expect(check(artifact)).toEqual(
      invalid(
        artifact,
        'malformed Notation signature: io.cncf.notary.signingTime is not a tagged epoch time',
      ),
    );
  });

  it('refuses a critical header that is absent', async () => {
    const artifact = await notationArtifact(IMAGE, acme, {
      editProtected: (h) => set(h, 'crit', [NOTARY_HEADERS.signingScheme, NOTARY_HEADERS.expiry], 2),
    });

    expect(check(artifact)).toEqual(
      invalid(artifact, 'malformed Notation signature: critical header io.cncf.notary.expiry is missing'),
    );
  });

  it('reads a single certificate given as one byte string', async () => {
    const selfSigned = await issueCertificate({ name: 'CN=solo, O=Acme, ST=WA, C=US' });
    const solo: Chain = { root: selfSigned, intermediates: [], leaf: selfSigned, chain: [selfSigned] };
    const artifact = await notationArtifact(IMAGE, solo, {
      editUnprotected: (h) => (h as Map<unknown, unknown>).set(33, selfSigned.der),
    });

    expect(check(artifact, trust(solo))).toEqual({
      digest: artifact.digest,
      outcome: 'trusted',
      identity: 'x509.subject: CN=solo, O=Acme, ST=WA, C=US',
    });
  });
});

describe('checkNotationArtifact (JWS specifics)', () => {
  it.each([
    ['text that is not JSON', '{"payload":', 'JWS: not JSON'],
    [
      'the general serialization',
      JSON.stringify({ payload: 'e30', signatures: [] }),
      'JWS: unexpected member "signatures" (only the flattened serialization is allowed)',
    ],
    [
      'a missing signature',
      JSON.stringify({ payload: 'e30', protected: 'e30' }),
      'JWS: payload, protected and signature must be strings',
    ],
  ])('refuses %s', (_name, text, why) => {
    const artifact = notationReferrer(IMAGE, Buffer.from(text), 'jws');

    expect(check(artifact)).toEqual(invalid(artifact, `malformed Notation signature: ${why}`));
  });

  it('refuses an RFC 3339 time with a wrong shape', async () => {
    const artifact = await notationArtifact(IMAGE, acme, {
      format: 'jws',
      editProtected: (h) => set(h, NOTARY_HEADERS.signingTime, 'yesterday'),
    });

    expect(check(artifact)).toEqual(
      invalid(artifact, 'malformed Notation signature: io.cncf.notary.signingTime is not a RFC 3339 time'),
    );
  });

  it('refuses alg none', async () => {
    const signed = await notationArtifact(IMAGE, acme, { format: 'jws' });
    const envelope = rewriteEnvelope(envelopeOf(signed), 'jws', (p) => {
      const header = JSON.parse(Buffer.from(p.protectedBytes).toString());
      p.protectedBytes = Buffer.from(JSON.stringify({ ...header, alg: 'none' }));
      p.signature = new Uint8Array(0);
    });
    const artifact = notationReferrer(IMAGE, envelope, 'jws');

    expect(check(artifact)).toEqual(
      invalid(artifact, 'malformed Notation signature: unsupported alg "none"'),
    );
  });
});

describe('checkNotationArtifact (manifests and certificates)', () => {
  it('refuses a manifest with two envelope layers', async () => {
    const signed = await notationArtifact(IMAGE, acme);
    const artifact = editManifest(signed, (m) => m.layers.push(m.layers[0]));

    expect(check(artifact)).toEqual(
      invalid(artifact, 'malformed Notation signature: expected one envelope layer, found 2'),
    );
  });

  it('refuses an unknown envelope media type', async () => {
    const signed = await notationArtifact(IMAGE, acme);
    const artifact = editManifest(signed, (m) => {
      m.layers[0].mediaType = 'application/pkcs7-signature';
    });

    expect(check(artifact)).toEqual(
      invalid(
        artifact,
        'malformed Notation signature: unsupported envelope media type "application/pkcs7-signature"',
      ),
    );
  });

  it('says when the envelope blob could not be read', async () => {
    const signed = await notationArtifact(IMAGE, acme);
    const digest = digestOf(envelopeOf(signed));

    expect(check({ ...signed, blobs: new Map() })).toEqual(
      invalid(signed, `envelope blob ${digest} could not be read`),
    );
  });

  it.each([
    [
      'a CA certificate',
      { ca: true },
      'certificate "CN=release-signer, O=Acme, ST=WA, C=US" is a CA certificate, not a signing certificate',
    ],
    [
      'no digitalSignature usage',
      { keyUsages: x509.KeyUsageFlags.nonRepudiation },
      'certificate "CN=release-signer, O=Acme, ST=WA, C=US" lacks the digitalSignature key usage',
    ],
    [
      'keyEncipherment',
      { keyUsages: x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment },
      'certificate "CN=release-signer, O=Acme, ST=WA, C=US" has the keyEncipherment key usage, not allowed in a signing certificate',
    ],
    [
      'the serverAuth extended usage',
      { extendedKeyUsages: ['1.3.6.1.5.5.7.3.1'] },
      'certificate "CN=release-signer, O=Acme, ST=WA, C=US" has the serverAuth extended key usage, not allowed in a signing certificate',
    ],
  ])('refuses a signing certificate with %s', async (_name, leaf, why) => {
    const chain = await createChain({ leaf });
    const artifact = await notationArtifact(IMAGE, chain);

    expect(check(artifact, trust(chain))).toEqual(invalid(artifact, why));
  });

  it('refuses an intermediate that is not a CA', async () => {
    const root = await issueCertificate({ name: 'CN=Root, O=Acme, ST=WA, C=US', ca: true });
    const notCa = await issueCertificate({ name: 'CN=Not a CA, O=Acme, ST=WA, C=US', issuer: root });
    const leaf = await issueCertificate({ name: SUBJECT, issuer: notCa });
    const chain: Chain = { root, intermediates: [notCa], leaf, chain: [leaf, notCa, root] };
    const artifact = await notationArtifact(IMAGE, chain);

    expect(check(artifact, trust(chain))).toEqual(
      invalid(
        artifact,
        'certificate "CN=Not a CA, O=Acme, ST=WA, C=US" is not a CA certificate (critical basic constraints with cA)',
      ),
    );
  });

  it("refuses a chain longer than a CA's path length allows", async () => {
    const root = await issueCertificate({ name: 'CN=Root, O=Acme, ST=WA, C=US', ca: true, pathLength: 0 });
    const sub = await issueCertificate({ name: 'CN=Sub CA, O=Acme, ST=WA, C=US', ca: true, issuer: root });
    const leaf = await issueCertificate({ name: SUBJECT, issuer: sub });
    const chain: Chain = { root, intermediates: [sub], leaf, chain: [leaf, sub, root] };
    const artifact = await notationArtifact(IMAGE, chain);

    expect(check(artifact, trust(chain))).toEqual(
      invalid(
        artifact,
        'certificate "CN=Root, O=Acme, ST=WA, C=US" allows a path length of 0, but 1 CA certificates follow it',
      ),
    );
  });

  it('builds the payload notation signs', () => {
    expect(JSON.parse(Buffer.from(notationPayload(IMAGE)).toString())).toEqual({
      targetArtifact: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: IMAGE, size: 1234 },
    });
  });

  it('encodes times as CBOR tag 1 epoch seconds, as notation-core-go does', async () => {
    const envelope = await notationEnvelope(IMAGE, acme);
    const tag = notationCbor.decoder.decode(envelope) as { tag: number; value: Uint8Array[] };
    const protectedBytes = Buffer.from(tag.value[0]!);

    expect(tag.tag).toBe(18);
    // 'io.cncf.notary.signingTime' (0x78 0x1a + 26 bytes) then c1 1a <2025-06-01T00:00:00Z as uint32>
    const label = Buffer.concat([Buffer.from([0x78, 0x1a]), Buffer.from(NOTARY_HEADERS.signingTime)]);
    const at = protectedBytes.indexOf(label) + label.length;
    expect(protectedBytes.subarray(at, at + 6).toString('hex')).toBe(
      `c11a${(SIGNED_AT.getTime() / 1000).toString(16)}`,
    );
  });
});

describe('parseCertificateBundle', () => {
  it('reads every certificate of a bundle', () => {
    expect(
      parseCertificateBundle(`${layered.root.pem}\n${layered.intermediates[0]!.pem}`).map((c) => c.subject),
    ).toEqual(['CN=Test Root CA, O=Acme, ST=WA, C=US', 'CN=Acme Issuing CA, O=Acme, ST=WA, C=US']);
  });

  it.each([
    ['text', 'hello', 'not a PEM certificate (expected "-----BEGIN CERTIFICATE-----")'],
    [
      'a PEM block that is not a certificate',
      '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
      /^PEM block 1 is not an X\.509 certificate \(/,
    ],
  ])('throws for %s', (_name, pem, message) => {
    expect(() => parseCertificateBundle(pem)).toThrow(message);
  });
});

describe('parseSubjectPattern', () => {
  it.each([
    ['not a dn', 'not a distinguished name (no attribute)'],
    ['CN=', 'attribute CN has no value'],
  ])('throws for %s', (text, message) => {
    expect(() => parseSubjectPattern(text)).toThrow(message);
  });
});

describe('signingProfileMatches', () => {
  it.each([
    [PROFILE, PROFILE_VERSION, true],
    [PROFILE_VERSION, PROFILE_VERSION, true],
    [`${PROFILE}/Other`, PROFILE_VERSION, false],
    [`${PROFILE}x`, PROFILE_VERSION, false],
    ['arn:aws:signer:us-west-2:111122223333:/signing-profiles', PROFILE_VERSION, false],
  ])('matches trusted %s against %s: %s', (trusted, actual, expected) => {
    expect(signingProfileMatches(trusted, actual)).toBe(expected);
  });
});

/** Sets a protected header in a COSE Map (by text label, or integer label when given) or a JWS object. */
function set(
  h: Map<unknown, unknown> | Record<string, unknown>,
  name: string,
  value: unknown,
  label?: number,
): void {
  if (h instanceof Map) h.set(label ?? name, value);
  else h[name] = value;
}

function get(h: Map<unknown, unknown> | Record<string, unknown>, name: string): unknown {
  return h instanceof Map ? h.get(name === 'crit' ? 2 : name) : h[name];
}

it('names AWS Signer attributes as the plugin does', () => {
  expect(AWS_SIGNER).toEqual({
    plugin: 'com.amazonaws.signer.notation.plugin',
    signingProfileVersion: 'com.amazonaws.signer.signingProfileVersion',
    signingJob: 'com.amazonaws.signer.signingJob',
  });
});
