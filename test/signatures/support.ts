/**
 * Test-only signers, built at test time (no key or certificate is ever committed):
 * - cosign: ECDSA P-256 key pairs and signature artifacts through local/signing.ts (cosign's format).
 * - Notation: a root CA, optional intermediates and a signing certificate made with @peculiar/x509 over
 *   WebCrypto (ECDSA P-256 / P-384), and envelopes built as notation-core-go builds them:
 *   COSE_Sign1_Tagged with cbor-x (`signature/cose/envelope.go`: protected `alg`/`crit`/`cty` and
 *   `io.cncf.notary.*` headers with tag-1 times, `x5chain` in the unprotected header, the signature over the
 *   `Sig_structure`), or flattened JWS with jose's FlattenedSign (`signature-envelope-jws.md`). With `awsSigner`
 *   the envelope carries AWS Signer's plugin attributes (aws/aws-signer-notation-plugin), signed under
 *   `notary.x509.signingAuthority` as Signer signs.
 */
import 'reflect-metadata';
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { Tag } from 'cbor-x';
import { FlattenedSign } from 'jose';
import { SIGNATURE_TYPES, type SignatureArtifact } from '../../functions/shared/signatures/model.js';
import {
  AWS_SIGNER,
  COSE_X5CHAIN,
  NOTARY_HEADERS,
  NOTATION_ALGORITHMS,
  notationCbor,
  type SigningScheme,
} from '../../functions/shared/signatures/notation.js';
import { type CosignSignOptions, cosignSign } from '../../local/signing.js';

export const digestOf = (bytes: Uint8Array | string): string =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export const randomDigest = (): string => `sha256:${randomBytes(32).toString('hex')}`;

export const DAY = 86_400_000;

// ---------------------------------------------------------------------------------------------------- cosign

/** A cosign signature artifact of `subject` signed with `privateKey`, as the ECR adapter would read it. */
export function cosignArtifact(
  subject: string,
  privateKey: import('node:crypto').KeyObject,
  options: CosignSignOptions = {},
): SignatureArtifact {
  const signed = cosignSign(subject, privateKey, options);
  return {
    source: options.mode === 'referrer' ? 'referrer' : 'cosign-tag',
    digest: signed.digest,
    artifactType: signed.artifactType,
    manifest: signed.manifest,
    blobs: signed.blobs,
  };
}

// biome-ignore lint/suspicious/noExplicitAny: tests rewrite manifests freely, into malformed shapes too.
type AnyManifest = Record<string, any>;

/** The artifact with its manifest JSON changed by `edit` (and its digest recomputed). */
export function editManifest(
  artifact: SignatureArtifact,
  edit: (manifest: AnyManifest) => void,
): SignatureArtifact {
  const manifest = JSON.parse(artifact.manifest) as AnyManifest;
  edit(manifest);
  const text = JSON.stringify(manifest);
  return { ...artifact, manifest: text, digest: digestOf(text) };
}

/** The artifact with one blob replaced (the manifest still naming the old digest). */
export function replaceBlob(
  artifact: SignatureArtifact,
  digest: string,
  bytes: Uint8Array,
): SignatureArtifact {
  return { ...artifact, blobs: new Map([...artifact.blobs, [digest, bytes]]) };
}

/** The artifact with a new blob that its manifest's first layer now names (digest and size). */
export function withLayerBlob(artifact: SignatureArtifact, bytes: Uint8Array): SignatureArtifact {
  const digest = digestOf(bytes);
  const edited = editManifest(artifact, (m) => {
    m.layers[0].digest = digest;
    m.layers[0].size = bytes.byteLength;
  });
  return { ...edited, blobs: new Map([...artifact.blobs, [digest, bytes]]) };
}

/** The first layer's blob. */
export function firstLayerBlob(artifact: SignatureArtifact): Uint8Array {
  const digest = (JSON.parse(artifact.manifest) as { layers: { digest: string }[] }).layers[0]!.digest;
  return artifact.blobs.get(digest)!;
}

// --------------------------------------------------------------------------------------------------- X.509

export type Curve = 'P-256' | 'P-384';

const HASH: Record<Curve, string> = { 'P-256': 'SHA-256', 'P-384': 'SHA-384' };

export interface Issued {
  readonly cert: x509.X509Certificate;
  readonly keys: webcrypto.CryptoKeyPair;
  readonly curve: Curve;
  readonly der: Uint8Array;
  readonly pem: string;
}

export interface CertificateOptions {
  readonly name: string;
  readonly curve?: Curve;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** Issued by this certificate; self-signed when omitted. */
  readonly issuer?: Issued;
  /** A CA certificate (critical basic constraints cA, keyCertSign + cRLSign) or a signing certificate. */
  readonly ca?: boolean;
  readonly pathLength?: number;
  /** Key usages instead of the defaults. */
  readonly keyUsages?: x509.KeyUsageFlags;
  /** Extended key usages (OIDs); the signing certificate gets id-kp-codeSigning by default. */
  readonly extendedKeyUsages?: readonly string[];
}

let serial = 1;

/** A certificate made with @peculiar/x509 over WebCrypto. */
export async function issueCertificate(o: CertificateOptions): Promise<Issued> {
  const curve = o.curve ?? 'P-256';
  const alg = { name: 'ECDSA', namedCurve: curve, hash: HASH[curve] };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const issuer = o.issuer;
  const ca = o.ca ?? false;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(ca, ca ? o.pathLength : undefined, true),
    new x509.KeyUsagesExtension(
      o.keyUsages ??
        (ca
          ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign
          : x509.KeyUsageFlags.digitalSignature),
      true,
    ),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (!ca)
    extensions.push(new x509.ExtendedKeyUsageExtension([...(o.extendedKeyUsages ?? ['1.3.6.1.5.5.7.3.3'])]));
  if (issuer) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey));
  const notBefore = o.notBefore ?? new Date(Date.UTC(2024, 0, 1));
  const notAfter = o.notAfter ?? new Date(Date.UTC(2034, 0, 1));
  const common = { serialNumber: (serial++).toString(16).padStart(2, '0'), notBefore, notAfter, extensions };
  const cert = issuer
    ? await x509.X509CertificateGenerator.create({
        ...common,
        subject: o.name,
        issuer: issuer.cert.subject,
        publicKey: keys.publicKey,
        signingKey: issuer.keys.privateKey,
        signingAlgorithm: { name: 'ECDSA', hash: HASH[issuer.curve] },
      })
    : await x509.X509CertificateGenerator.createSelfSigned({
        ...common,
        name: o.name,
        keys,
        signingAlgorithm: { name: 'ECDSA', hash: HASH[curve] },
      });
  return { cert, keys, curve, der: new Uint8Array(cert.rawData), pem: cert.toString('pem') };
}

export interface Chain {
  readonly root: Issued;
  readonly intermediates: readonly Issued[];
  readonly leaf: Issued;
  /** Leaf first, then the intermediates, then the root: the order of `x5chain` / `x5c`. */
  readonly chain: readonly Issued[];
}

export interface ChainOptions {
  readonly curve?: Curve;
  readonly rootName?: string;
  readonly intermediateNames?: readonly string[];
  readonly leafName?: string;
  readonly leaf?: Partial<CertificateOptions>;
}

/** A root, its intermediates and a signing certificate (defaults: one P-256 chain valid 2024–2034). */
export async function createChain(o: ChainOptions = {}): Promise<Chain> {
  const curve = o.curve ?? 'P-256';
  const root = await issueCertificate({
    name: o.rootName ?? 'CN=Test Root CA, O=Acme, ST=WA, C=US',
    curve,
    ca: true,
    notAfter: new Date(Date.UTC(2054, 0, 1)),
  });
  const intermediates: Issued[] = [];
  let issuer = root;
  for (const name of o.intermediateNames ?? []) {
    issuer = await issueCertificate({ name, curve, ca: true, issuer });
    intermediates.unshift(issuer);
  }
  const leaf = await issueCertificate({
    name: o.leafName ?? 'CN=release-signer, O=Acme, ST=WA, C=US',
    curve,
    issuer,
    ...o.leaf,
  });
  return { root, intermediates, leaf, chain: [leaf, ...intermediates, root] };
}

/** An AWS Signer-shaped chain: Signer's subjects, P-384, a signing certificate valid for 3 days from `signedAt`. */
export function createSignerChain(signedAt: Date): Promise<Chain> {
  return createChain({
    curve: 'P-384',
    rootName: 'CN=AWS Signer Code Signing Root CA G1, OU=Cryptography, O=AWS, ST=WA, C=US',
    intermediateNames: [
      'CN=AWS Signer Code Signing Int CA G1, OU=Cryptography, O=AWS, ST=WA, C=US',
      'CN=AWS Signer us-west-2 Code Signing CA G1, OU=Cryptography, O=AWS, ST=WA, C=US',
    ],
    leafName: 'CN=AWS Signer, OU=AWS Cryptography, O=AWS, L=Seattle, ST=WA, C=US',
    leaf: { notBefore: new Date(signedAt.getTime() - DAY), notAfter: new Date(signedAt.getTime() + 3 * DAY) },
  });
}

// ----------------------------------------------------------------------------------------------- Notation

export interface NotationOptions {
  readonly format?: 'cose' | 'jws';
  readonly scheme?: SigningScheme;
  /** The (authentic) signing time; whole seconds. @default 2025-06-01T00:00:00Z */
  readonly signingTime?: Date;
  readonly expiry?: Date;
  /** AWS Signer's plugin attributes (implies `notary.x509.signingAuthority`). */
  readonly awsSigner?: { readonly profileVersionArn: string; readonly jobArn?: string };
  /** The digest the payload names. @default the subject */
  readonly targetDigest?: string;
  /** Changes the protected headers before signing (COSE: the Map with integer and text labels; JWS: the object). */
  readonly editProtected?: (headers: Map<unknown, unknown> | Record<string, unknown>) => void;
  /** Changes the unprotected header before encoding (after signing: it is not signed). */
  readonly editUnprotected?: (headers: Map<unknown, unknown> | Record<string, unknown>) => void;
}

export const SIGNED_AT = new Date(Date.UTC(2025, 5, 1));

/** The notation payload for `digest` (a targetArtifact descriptor). */
export function notationPayload(digest: string): Uint8Array {
  return Buffer.from(
    JSON.stringify({
      targetArtifact: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 1234 },
    }),
  );
}

/** A Notation signature of `subject` by `chain`'s signing certificate, as an OCI 1.1 referrer artifact. */
export async function notationArtifact(
  subject: string,
  chain: Chain,
  o: NotationOptions = {},
): Promise<SignatureArtifact> {
  const envelope = await notationEnvelope(subject, chain, o);
  return notationReferrer(subject, envelope, o.format === 'jws' ? 'jws' : 'cose', chain);
}

/** The referrer manifest around an envelope blob (signature-specification.md, "Storage"). */
export function notationReferrer(
  subject: string,
  envelope: Uint8Array,
  format: 'cose' | 'jws',
  chain?: Chain,
): SignatureArtifact {
  const config = Buffer.from('{}');
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: SIGNATURE_TYPES.notationArtifact,
    config: {
      mediaType: 'application/vnd.oci.empty.v1+json',
      digest: digestOf(config),
      size: 2,
      data: 'e30=',
    },
    layers: [
      {
        mediaType: format === 'jws' ? SIGNATURE_TYPES.notationJws : SIGNATURE_TYPES.notationCose,
        digest: digestOf(envelope),
        size: envelope.byteLength,
      },
    ],
    subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: subject, size: 1234 },
    annotations: {
      'io.cncf.notary.x509chain.thumbprint#S256': JSON.stringify(
        (chain?.chain ?? []).map((c) => createHash('sha256').update(c.der).digest('hex').toUpperCase()),
      ),
    },
  });
  return {
    source: 'referrer',
    digest: digestOf(manifest),
    artifactType: SIGNATURE_TYPES.notationArtifact,
    manifest,
    blobs: new Map([[digestOf(envelope), envelope]]),
  };
}

/** The envelope bytes (COSE_Sign1_Tagged or flattened JWS JSON). */
export async function notationEnvelope(
  subject: string,
  chain: Chain,
  o: NotationOptions = {},
): Promise<Uint8Array> {
  const alg = chain.leaf.curve === 'P-384' ? 'ES384' : 'ES256';
  const scheme = o.scheme ?? (o.awsSigner ? 'notary.x509.signingAuthority' : 'notary.x509');
  const signingTime = o.signingTime ?? SIGNED_AT;
  const timeLabel =
    scheme === 'notary.x509.signingAuthority'
      ? NOTARY_HEADERS.authenticSigningTime
      : NOTARY_HEADERS.signingTime;
  const crit: string[] = [NOTARY_HEADERS.signingScheme];
  if (timeLabel === NOTARY_HEADERS.authenticSigningTime) crit.push(timeLabel);
  if (o.expiry) crit.push(NOTARY_HEADERS.expiry);
  const extended: [string, string][] = [];
  if (o.awsSigner) {
    extended.push(
      [NOTARY_HEADERS.verificationPlugin, AWS_SIGNER.plugin],
      [AWS_SIGNER.signingProfileVersion, o.awsSigner.profileVersionArn],
      [
        AWS_SIGNER.signingJob,
        o.awsSigner.jobArn ??
          'arn:aws:signer:us-west-2:111122223333:/signing-jobs/5808635f-05de-4207-a891-c95f827b50f4',
      ],
    );
    crit.push(...extended.map(([k]) => k));
  }
  const payload = notationPayload(o.targetDigest ?? subject);
  const signingKey = chain.leaf.keys.privateKey;
  if (o.format === 'jws') {
    const header: Record<string, unknown> = {
      alg,
      cty: SIGNATURE_TYPES.notationPayload,
      crit,
      [NOTARY_HEADERS.signingScheme]: scheme,
      [timeLabel]: rfc3339(signingTime),
      ...(o.expiry ? { [NOTARY_HEADERS.expiry]: rfc3339(o.expiry) } : {}),
      ...Object.fromEntries(extended),
    };
    o.editProtected?.(header);
    const unprotected: Record<string, unknown> = {
      x5c: chain.chain.map((c) => Buffer.from(c.der).toString('base64')),
      [NOTARY_HEADERS.signingAgent]: 'notation-go/1.3.0',
    };
    o.editUnprotected?.(unprotected);
    const critNames = Array.isArray(header.crit) ? (header.crit as string[]) : [];
    const jws = await new FlattenedSign(payload)
      .setProtectedHeader(header as never)
      .setUnprotectedHeader(unprotected)
      .sign(signingKey, { crit: Object.fromEntries(critNames.map((c) => [c, true])) });
    return Buffer.from(JSON.stringify(jws));
  }
  const protectedHeaders = new Map<unknown, unknown>([
    [1, NOTATION_ALGORITHMS[alg].cose],
    [2, crit],
    [3, SIGNATURE_TYPES.notationPayload],
    [NOTARY_HEADERS.signingScheme, scheme],
    [timeLabel, wholeSeconds(signingTime)],
    ...(o.expiry ? [[NOTARY_HEADERS.expiry, wholeSeconds(o.expiry)] as [string, Date]] : []),
    ...extended,
  ]);
  o.editProtected?.(protectedHeaders);
  const protectedBytes = notationCbor.encoder.encode(protectedHeaders);
  const toBeSigned = notationCbor.encoder.encode(['Signature1', protectedBytes, new Uint8Array(0), payload]);
  const signature = new Uint8Array(
    await webcrypto.subtle.sign({ name: 'ECDSA', hash: HASH[chain.leaf.curve] }, signingKey, toBeSigned),
  );
  const unprotected = new Map<unknown, unknown>([
    [COSE_X5CHAIN, chain.chain.map((c) => c.der)],
    [NOTARY_HEADERS.signingAgent, 'notation-go/1.3.0'],
  ]);
  o.editUnprotected?.(unprotected);
  return notationCbor.encoder.encode(new Tag([protectedBytes, unprotected, payload, signature], 18));
}

/** CBOR encodes a Date with whole seconds as tag 1 with an integer, as notation-core-go writes times. */
const wholeSeconds = (d: Date): Date => new Date(Math.floor(d.getTime() / 1000) * 1000);

const rfc3339 = (d: Date): string => wholeSeconds(d).toISOString().replace('.000Z', 'Z');

/** A signing profile version ARN and its profile ARN, as AWS Signer names them. */
export const PROFILE = 'arn:aws:signer:us-west-2:111122223333:/signing-profiles/release';
export const PROFILE_VERSION = `${PROFILE}/IrwHQeF7XW`;

/** The parts of an envelope a signature covers or carries, decoded (JWS: base64url-decoded). */
export interface EnvelopeParts {
  protectedBytes: Uint8Array;
  payload: Uint8Array;
  signature: Uint8Array;
  certificates: Uint8Array[];
}

/** Decodes an envelope, lets `edit` change its parts, and encodes it again in the same format. */
export function rewriteEnvelope(
  envelope: Uint8Array,
  format: 'cose' | 'jws',
  edit: (parts: EnvelopeParts) => void,
): Uint8Array {
  if (format === 'cose') {
    const tag = notationCbor.decoder.decode(envelope) as Tag;
    const [protectedBytes, unprotected, payload, signature] = tag.value as [
      Uint8Array,
      Map<unknown, unknown>,
      Uint8Array,
      Uint8Array,
    ];
    const parts: EnvelopeParts = {
      protectedBytes,
      payload,
      signature,
      certificates: [...(unprotected.get(COSE_X5CHAIN) as Uint8Array[])],
    };
    edit(parts);
    unprotected.set(COSE_X5CHAIN, parts.certificates);
    return notationCbor.encoder.encode(
      new Tag([parts.protectedBytes, unprotected, parts.payload, parts.signature], 18),
    );
  }
  const jws = JSON.parse(Buffer.from(envelope).toString()) as {
    protected: string;
    payload: string;
    signature: string;
    header: { x5c: string[] };
  };
  const parts: EnvelopeParts = {
    protectedBytes: Buffer.from(jws.protected, 'base64url'),
    payload: Buffer.from(jws.payload, 'base64url'),
    signature: Buffer.from(jws.signature, 'base64url'),
    certificates: jws.header.x5c.map((c) => Buffer.from(c, 'base64')),
  };
  edit(parts);
  return Buffer.from(
    JSON.stringify({
      payload: Buffer.from(parts.payload).toString('base64url'),
      protected: Buffer.from(parts.protectedBytes).toString('base64url'),
      header: { ...jws.header, x5c: parts.certificates.map((c) => Buffer.from(c).toString('base64')) },
      signature: Buffer.from(parts.signature).toString('base64url'),
    }),
  );
}

/** The envelope blob of a Notation artifact. */
export function envelopeOf(artifact: SignatureArtifact): Uint8Array {
  return firstLayerBlob(artifact);
}
