/**
 * Notation (Notary Project) signatures, including those AWS Signer makes for ECR (`notation sign --plugin
 * com.amazonaws.signer.notation.plugin`, and ECR managed signing), verified offline from the registry's contents
 * against certificates the policy pins.
 *
 * Sources, all in notaryproject/specifications `specs/` unless named otherwise:
 * - `signature-specification.md`: the signature manifest (one layer: the envelope, `application/cose` or
 *   `application/jose+json`), the payload (`targetArtifact` descriptor), the signed attributes and which are
 *   critical, the algorithms (Algorithm Selection: the signing key decides `alg`), the certificate requirements
 *   (basic constraints, key usage, extended key usage, key length, no SHA-1, a chain that ends in a root), and
 *   "Guidelines for implementations": a signature naming a verification plugin must be verified with that
 *   plugin's logic or fail.
 * - `signature-envelope-cose.md`: COSE_Sign1_Tagged (tag 18); protected header labels 1 `alg` (-7/-35/-36 ES*,
 *   -37/-38/-39 PS*), 2 `crit`, 3 content type, and `io.cncf.notary.*` names; times as CBOR tag 1 epoch seconds
 *   (notation-core-go `signature/cose/envelope.go` encodes and decodes them with the tag required); `x5chain`
 *   (label 33) in the unprotected header, leaf first; the signature over the CBOR `Sig_structure`
 *   `["Signature1", protected, h'', payload]` (RFC 9052 §4.4). ECDSA signatures are raw r||s (RFC 9053 §2.1).
 * - `signature-envelope-jws.md`: flattened JWS JSON serialization; `alg` PS256…ES512, `cty`, `crit` and the same
 *   `io.cncf.notary.*` names with RFC 3339 times; `x5c` (standard base64 DER, leaf first) in the unprotected
 *   `header`; the signature over `BASE64URL(protected).BASE64URL(payload)` (RFC 7515; ES* raw r||s, RFC 7518).
 * - `signing-scheme.md` and `trust-store-trust-policy.md` ("Signature Verification" steps): `notary.x509` checks
 *   the chain's validity at verification time (no timestamp countersignature is read here);
 *   `notary.x509.signingAuthority` checks it at the signed `authenticSigningTime`; the expiry fails a signature
 *   once now ≥ expiry; authenticity holds when a certificate of the chain equals a trusted one
 *   (notation-core-go `signature/signer.go`, `VerifyAuthenticity`).
 * - AWS Signer (aws/aws-signer-notation-plugin `internal/signer/signer.go` and `internal/verifier/verifier.go`):
 *   the plugin produces JWS envelopes only (platform `Notation-OCI-SHA384-ECDSA`, so ES384), with the signing
 *   scheme `notary.x509.signingAuthority` and the critical extended attributes
 *   `io.cncf.notary.verificationPlugin` = `com.amazonaws.signer.notation.plugin`,
 *   `com.amazonaws.signer.signingProfileVersion` (the profile version ARN: the signer's identity) and
 *   `com.amazonaws.signer.signingJob`. A trusted profile ARN (`…/signing-profiles/NAME`) matches every version of
 *   the profile, a version ARN (`…/signing-profiles/NAME/VERSION`) only that version, case-insensitively. The
 *   plugin's revocation check calls Signer's GetRevocationStatus: it cannot be done offline and is not done here.
 *
 * Certificates are parsed with @peculiar/x509; signatures (the envelope's and each certificate's) are checked
 * with Node's crypto, synchronously. CBOR is read and written with cbor-x, JWS headers with jose.
 */
import 'reflect-metadata';
import {
  constants,
  createHash,
  type KeyObject,
  X509Certificate as NodeCertificate,
  verify as verifySignature,
} from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { Decoder, Encoder, Tag } from 'cbor-x';
import { base64url, decodeProtectedHeader } from 'jose';
import { type ArtifactCheck, SIGNATURE_TYPES, type SignatureArtifact, type TrustEntry } from './model.js';
import { parseSubjectPattern, type SubjectPattern } from './pinned.js';

// The one subject parser: the config's validation (pinned.ts, without this module's libraries) and the verdict.
export { parseSubjectPattern, type SubjectPattern };

/** Header names of the Notary Project signature (signature-specification.md, signature-envelope-*.md). */
export const NOTARY_HEADERS = {
  signingScheme: 'io.cncf.notary.signingScheme',
  signingTime: 'io.cncf.notary.signingTime',
  authenticSigningTime: 'io.cncf.notary.authenticSigningTime',
  expiry: 'io.cncf.notary.expiry',
  verificationPlugin: 'io.cncf.notary.verificationPlugin',
  verificationPluginMinVersion: 'io.cncf.notary.verificationPluginMinVersion',
  signingAgent: 'io.cncf.notary.signingAgent',
  timestampSignature: 'io.cncf.notary.timestampSignature',
} as const;

/** AWS Signer's plugin name and its extended signed attributes (aws/aws-signer-notation-plugin). */
export const AWS_SIGNER = {
  plugin: 'com.amazonaws.signer.notation.plugin',
  signingProfileVersion: 'com.amazonaws.signer.signingProfileVersion',
  signingJob: 'com.amazonaws.signer.signingJob',
} as const;

export const SIGNING_SCHEMES = ['notary.x509', 'notary.x509.signingAuthority'] as const;
export type SigningScheme = (typeof SIGNING_SCHEMES)[number];

/** The algorithms Notation allows, their COSE labels, and the signing key each one requires. */
export const NOTATION_ALGORITHMS = {
  PS256: { cose: -37, hash: 'sha256', bytes: 32, key: 'RSA 2048' },
  PS384: { cose: -38, hash: 'sha384', bytes: 48, key: 'RSA 3072' },
  PS512: { cose: -39, hash: 'sha512', bytes: 64, key: 'RSA 4096' },
  ES256: { cose: -7, hash: 'sha256', bytes: 32, key: 'EC P-256' },
  ES384: { cose: -35, hash: 'sha384', bytes: 48, key: 'EC P-384' },
  ES512: { cose: -36, hash: 'sha512', bytes: 64, key: 'EC P-521' },
} as const;
export type NotationAlgorithm = keyof typeof NOTATION_ALGORITHMS;

/** The COSE header label of `x5chain` (IANA COSE header parameters; RFC 9360). */
export const COSE_X5CHAIN = 33;

/** CBOR as Notation writes it: maps as Maps (integer and text labels), byte strings untagged, no records. */
export const notationCbor = {
  encoder: new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false }),
  decoder: new Decoder({ useRecords: false, mapsAsObjects: false }),
};

/** One pinned certificate of a trust entry. */
export interface PinnedCertificate {
  readonly der: Buffer;
  readonly subject: string;
}

/** A `notation` trust entry, parsed once: what `checkNotationArtifact` takes. */
export interface NotationTrust {
  readonly certificates: readonly PinnedCertificate[];
  readonly signingProfiles?: readonly string[] | undefined;
  readonly subjects?: readonly SubjectPattern[] | undefined;
}

/**
 * Parses a PEM text that holds one or more `CERTIFICATE` blocks (a bundle is allowed). Throws with the reason
 * when there is none or one cannot be read.
 */
export function parseCertificateBundle(pem: string): PinnedCertificate[] {
  if (!/-----BEGIN CERTIFICATE-----/.test(pem)) {
    throw new Error('not a PEM certificate (expected "-----BEGIN CERTIFICATE-----")');
  }
  let blocks: ArrayBuffer[];
  try {
    blocks = x509.PemConverter.decode(pem);
  } catch (e) {
    throw new Error(`not readable PEM (${(e as Error).message})`);
  }
  return blocks.map((block, i) => {
    try {
      const cert = new x509.X509Certificate(block);
      new NodeCertificate(Buffer.from(block));
      return { der: Buffer.from(block), subject: cert.subject };
    } catch (e) {
      throw new Error(`PEM block ${i + 1} is not an X.509 certificate (${(e as Error).message})`);
    }
  });
}

/** Parses a `notation` trust entry's PEMs and subjects. Throws with the field and reason. */
export function prepareNotationTrust(entry: Extract<TrustEntry, { type: 'notation' }>): NotationTrust {
  const certificates = (entry.certificates ?? []).flatMap((pem, i) => {
    try {
      return parseCertificateBundle(pem);
    } catch (e) {
      throw new Error(`certificates[${i}]: ${(e as Error).message}`);
    }
  });
  const subjects = entry.subjects?.map((s, i) => {
    try {
      return parseSubjectPattern(s);
    } catch (e) {
      throw new Error(`subjects[${i}]: ${(e as Error).message}`);
    }
  });
  return { certificates, signingProfiles: entry.signingProfiles, subjects };
}

/** Whether an AWS Signer signing profile version ARN is trusted by a profile ARN or a profile version ARN. */
export function signingProfileMatches(trusted: string, profileVersionArn: string): boolean {
  const segments = trusted.split(':').slice(5).join(':').split('/');
  if (segments.length === 3) {
    const cut = profileVersionArn.lastIndexOf('/');
    return cut !== -1 && profileVersionArn.slice(0, cut).toLowerCase() === trusted.toLowerCase();
  }
  return segments.length === 4 && profileVersionArn.toLowerCase() === trusted.toLowerCase();
}

/** The envelope, format-neutral: what both parsers return. */
interface Envelope {
  readonly format: 'COSE' | 'JWS';
  readonly alg: unknown;
  readonly crit: unknown;
  readonly cty: unknown;
  /** Text-labelled protected headers. Times are Dates (COSE tag 1) or RFC 3339 strings (JWS). */
  readonly headers: ReadonlyMap<string, unknown>;
  readonly certificates: readonly Uint8Array[];
  readonly payload: Uint8Array;
  readonly signedBytes: Uint8Array;
  readonly signature: Uint8Array;
}

class Malformed extends Error {}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i;
/** Critical headers this verifier understands (AWS Signer's only with its plugin, checked below). */
const KNOWN_CRITICAL = new Set<string>([
  NOTARY_HEADERS.signingScheme,
  NOTARY_HEADERS.authenticSigningTime,
  NOTARY_HEADERS.expiry,
  NOTARY_HEADERS.verificationPlugin,
  NOTARY_HEADERS.verificationPluginMinVersion,
  AWS_SIGNER.signingProfileVersion,
  AWS_SIGNER.signingJob,
]);
/** Extended key usages a signing certificate must not have (signature-specification.md, Leaf Certificates). */
const FORBIDDEN_EKU = new Map<string, string>([
  ['2.5.29.37.0', 'anyExtendedKeyUsage'],
  ['1.3.6.1.5.5.7.3.1', 'serverAuth'],
  ['1.3.6.1.5.5.7.3.2', 'clientAuth'],
  ['1.3.6.1.5.5.7.3.4', 'emailProtection'],
  ['1.3.6.1.5.5.7.3.8', 'timeStamping'],
  ['1.3.6.1.5.5.7.3.9', 'OCSPSigning'],
]);
const LEAF_FORBIDDEN_USAGES: readonly [x509.KeyUsageFlags, string][] = [
  [x509.KeyUsageFlags.keyEncipherment, 'keyEncipherment'],
  [x509.KeyUsageFlags.dataEncipherment, 'dataEncipherment'],
  [x509.KeyUsageFlags.keyAgreement, 'keyAgreement'],
  [x509.KeyUsageFlags.keyCertSign, 'keyCertSign'],
  [x509.KeyUsageFlags.cRLSign, 'cRLSign'],
  [x509.KeyUsageFlags.encipherOnly, 'encipherOnly'],
  [x509.KeyUsageFlags.decipherOnly, 'decipherOnly'],
];

const invalid = (digest: string, why: string): ArtifactCheck => ({ digest, outcome: 'invalid', why });

/**
 * Verifies one Notation signature artifact for `subjectDigest` at `now` against the policy's notation entries.
 * Never throws: every input yields an ArtifactCheck.
 */
export function checkNotationArtifact(
  subjectDigest: string,
  artifact: SignatureArtifact,
  trust: readonly NotationTrust[],
  now: Date,
): ArtifactCheck {
  try {
    return check(subjectDigest, artifact, trust, now);
  } catch (e) {
    return invalid(artifact.digest, `malformed Notation signature: ${(e as Error).message}`);
  }
}

function check(
  subjectDigest: string,
  artifact: SignatureArtifact,
  trust: readonly NotationTrust[],
  now: Date,
): ArtifactCheck {
  const at = artifact.digest;
  const malformed = (why: string) => invalid(at, `malformed Notation signature: ${why}`);
  let manifest: { layers?: unknown };
  try {
    manifest = JSON.parse(artifact.manifest);
  } catch {
    return malformed('the manifest is not JSON');
  }
  const layers = manifest?.layers;
  if (!Array.isArray(layers) || layers.length !== 1) {
    return malformed(`expected one envelope layer, found ${Array.isArray(layers) ? layers.length : 'none'}`);
  }
  const layer = layers[0] as { mediaType?: unknown; digest?: unknown; size?: unknown } | null;
  const mediaType = layer?.mediaType;
  if (mediaType !== SIGNATURE_TYPES.notationCose && mediaType !== SIGNATURE_TYPES.notationJws) {
    return malformed(`unsupported envelope media type ${JSON.stringify(mediaType)}`);
  }
  if (typeof layer?.digest !== 'string' || !DIGEST.test(layer.digest)) {
    return malformed('the envelope layer has no sha256 digest');
  }
  const blob = artifact.blobs.get(layer.digest);
  if (!blob) return invalid(at, `envelope blob ${layer.digest} could not be read`);
  const actual = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
  if (actual !== layer.digest || (typeof layer.size === 'number' && layer.size !== blob.byteLength)) {
    return invalid(at, `envelope blob does not match its digest ${layer.digest} (tampered)`);
  }

  let envelope: Envelope;
  try {
    envelope = mediaType === SIGNATURE_TYPES.notationCose ? parseCose(blob) : parseJws(blob);
  } catch (e) {
    return malformed(
      `${mediaType === SIGNATURE_TYPES.notationCose ? 'COSE' : 'JWS'}: ${(e as Error).message}`,
    );
  }
  const headers = readSignedAttributes(envelope);
  if (typeof headers === 'string') return malformed(headers);
  if ('unsupported' in headers) return invalid(at, headers.unsupported);

  // Certificates: parsed with @peculiar/x509 (extensions, names, validity) and Node (signature checks).
  if (envelope.certificates.length === 0) return malformed('no certificate chain (x5chain / x5c)');
  const chain: ChainCertificate[] = [];
  for (const [i, der] of envelope.certificates.entries()) {
    try {
      const node = new NodeCertificate(der);
      // DER is one encoding: bytes after the certificate, which the parsers ignore, make it another (Node's `raw`
      // is the certificate's own DER, re-encoded).
      if (node.raw.byteLength !== der.byteLength) throw new Error('bytes after the certificate');
      chain.push({ der: Buffer.from(der), cert: new x509.X509Certificate(der), node });
    } catch {
      return malformed(`certificate ${i + 1} of the chain is not a DER X.509 certificate`);
    }
  }
  const leaf = chain[0]!;
  const keyAlg = algorithmOfKey(leaf.node.publicKey);
  if (!keyAlg) return invalid(at, `unsupported signing key (${describeKey(leaf.node.publicKey)})`);
  if (envelope.alg !== keyAlg) {
    return invalid(
      at,
      `alg ${String(envelope.alg)} does not match the signing key (${describeKey(leaf.node.publicKey)} signs ${keyAlg})`,
    );
  }
  if (!verifyEnvelope(keyAlg, leaf.node.publicKey, envelope.signedBytes, envelope.signature)) {
    return invalid(
      at,
      'signature does not verify under its signing certificate (tampered envelope or payload)',
    );
  }

  // Only what the signature covers is read from here on.
  let target: { digest?: unknown; mediaType?: unknown; size?: unknown } | undefined;
  try {
    target = JSON.parse(Buffer.from(envelope.payload).toString('utf8'))?.targetArtifact;
  } catch {
    return malformed('the payload is not JSON');
  }
  if (typeof target !== 'object' || target === null || typeof target.digest !== 'string') {
    return malformed('the payload has no targetArtifact digest');
  }
  if (typeof target.mediaType !== 'string' || typeof target.size !== 'number') {
    return malformed('the payload targetArtifact lacks mediaType or size');
  }
  if (target.digest !== subjectDigest) return invalid(at, `signs ${target.digest} not this image`);
  if (headers.expiry && now.getTime() >= headers.expiry.getTime()) {
    return invalid(at, `signature expired at ${iso(headers.expiry)} (its signer's expiry)`);
  }

  const chainProblem = checkChain(chain);
  if (chainProblem) return invalid(at, chainProblem);
  const checkedAt = headers.scheme === 'notary.x509.signingAuthority' ? headers.authenticSigningTime! : now;
  if (checkedAt.getTime() > now.getTime()) {
    return invalid(at, `authentic signing time ${iso(checkedAt)} is in the future`);
  }
  for (const c of chain) {
    if (checkedAt.getTime() < c.cert.notBefore.getTime()) {
      return invalid(
        at,
        `certificate "${c.cert.subject}" is not yet valid at ${iso(checkedAt)} (valid from ${iso(c.cert.notBefore)})`,
      );
    }
    if (checkedAt.getTime() > c.cert.notAfter.getTime()) {
      return invalid(
        at,
        `certificate "${c.cert.subject}" expired at ${iso(c.cert.notAfter)} (checked at ${iso(checkedAt)})`,
      );
    }
  }

  const profile = headers.signingProfileVersion;
  const identity = profile ?? `x509.subject: ${leaf.cert.subject}`;
  const reached = trust.filter((t) => chain.some((c) => t.certificates.some((p) => p.der.equals(c.der))));
  if (reached.length === 0) {
    const root = chain[chain.length - 1]!.cert.subject;
    return {
      digest: at,
      outcome: 'untrusted',
      identity,
      why: `certificate chain does not reach a trusted root (root "${root}")`,
    };
  }
  const reasons = reached.map((t) => mismatch(t, profile, leaf.cert));
  if (reasons.includes(undefined)) return { digest: at, outcome: 'trusted', identity };
  return { digest: at, outcome: 'untrusted', identity, why: reasons[0]! };
}

interface ChainCertificate {
  readonly der: Buffer;
  readonly cert: x509.X509Certificate;
  readonly node: NodeCertificate;
}

interface SignedAttributes {
  readonly scheme: SigningScheme;
  readonly signingTime?: Date | undefined;
  readonly authenticSigningTime?: Date | undefined;
  readonly expiry?: Date | undefined;
  readonly signingProfileVersion?: string | undefined;
}

/** A signature this verifier will not accept though it may be well formed (not "malformed"). */
interface Unsupported {
  readonly unsupported: string;
}

const unsupported = (why: string): Unsupported => ({ unsupported: why });

/**
 * The signed attributes, checked as the specifications require: a string says why they are malformed,
 * `Unsupported` why they are refused.
 */
function readSignedAttributes(envelope: Envelope): SignedAttributes | Unsupported | string {
  const h = envelope.headers;
  if (typeof envelope.alg !== 'string' || !Object.hasOwn(NOTATION_ALGORITHMS, envelope.alg)) {
    return `unsupported alg ${JSON.stringify(envelope.alg)}`;
  }
  if (envelope.cty !== SIGNATURE_TYPES.notationPayload) {
    return `content type ${JSON.stringify(envelope.cty)} is not ${SIGNATURE_TYPES.notationPayload}`;
  }
  const crit = envelope.crit;
  if (!Array.isArray(crit) || crit.length === 0) return 'no crit header';
  for (const name of crit) {
    if (typeof name !== 'string' || !KNOWN_CRITICAL.has(name)) {
      return `unsupported critical header ${JSON.stringify(name)}`;
    }
    if (!h.has(name)) return `critical header ${name} is missing`;
  }
  const critical = new Set(crit as string[]);
  if (!critical.has(NOTARY_HEADERS.signingScheme))
    return `${NOTARY_HEADERS.signingScheme} is not marked critical`;
  for (const name of [
    NOTARY_HEADERS.authenticSigningTime,
    NOTARY_HEADERS.expiry,
    NOTARY_HEADERS.verificationPlugin,
  ]) {
    if (h.has(name) && !critical.has(name)) return `${name} is not marked critical`;
  }
  const scheme = h.get(NOTARY_HEADERS.signingScheme);
  if (!SIGNING_SCHEMES.includes(scheme as SigningScheme)) {
    return `unsupported signing scheme ${JSON.stringify(scheme)}`;
  }
  const time = (name: string): Date | undefined | string => {
    if (!h.has(name)) return undefined;
    const v = h.get(name);
    const date =
      envelope.format === 'COSE'
        ? v instanceof Date
          ? v
          : undefined
        : typeof v === 'string' && RFC3339.test(v)
          ? new Date(v)
          : undefined;
    return date && !Number.isNaN(date.getTime())
      ? date
      : `${name} is not a ${envelope.format === 'COSE' ? 'tagged epoch time' : 'RFC 3339 time'}`;
  };
  const signingTime = time(NOTARY_HEADERS.signingTime);
  const authenticSigningTime = time(NOTARY_HEADERS.authenticSigningTime);
  const expiry = time(NOTARY_HEADERS.expiry);
  for (const t of [signingTime, authenticSigningTime, expiry]) if (typeof t === 'string') return t;
  if (scheme === 'notary.x509' && !signingTime)
    return `${NOTARY_HEADERS.signingTime} is required by notary.x509`;
  if (scheme === 'notary.x509.signingAuthority' && !authenticSigningTime) {
    return `${NOTARY_HEADERS.authenticSigningTime} is required by notary.x509.signingAuthority`;
  }

  let signingProfileVersion: string | undefined;
  const plugin = h.get(NOTARY_HEADERS.verificationPlugin);
  if (plugin !== undefined) {
    // A signature that names a plugin must be verified with that plugin's logic: we know AWS Signer's only.
    if (plugin !== AWS_SIGNER.plugin) {
      return unsupported(
        `it requires verification plugin ${JSON.stringify(plugin)}, whose checks ECR Steward cannot perform`,
      );
    }
    if (scheme !== 'notary.x509.signingAuthority')
      return `AWS Signer signatures use notary.x509.signingAuthority`;
    const arn = h.get(AWS_SIGNER.signingProfileVersion);
    if (
      typeof arn !== 'string' ||
      !/^arn:aws[a-z-]*:signer:[^:]*:\d{12}:\/signing-profiles\/[^/]+\/[^/]+$/.test(arn)
    ) {
      return `unable to read attribute ${AWS_SIGNER.signingProfileVersion}`;
    }
    signingProfileVersion = arn;
  } else if (critical.has(AWS_SIGNER.signingProfileVersion) || critical.has(AWS_SIGNER.signingJob)) {
    return `AWS Signer attributes without ${NOTARY_HEADERS.verificationPlugin}`;
  } else if (scheme === 'notary.x509.signingAuthority') {
    // Notation trusts a signing authority (which vouches for its own signing time) only from a trust store of
    // its own kind; a policy's certificates are CA roots, so the one signing authority accepted is AWS Signer.
    return unsupported('notary.x509.signingAuthority signatures are accepted from AWS Signer only');
  }
  return {
    scheme: scheme as SigningScheme,
    signingTime: signingTime as Date | undefined,
    authenticSigningTime: authenticSigningTime as Date | undefined,
    expiry: expiry as Date | undefined,
    signingProfileVersion,
  };
}

/** COSE_Sign1_Tagged, as signature-envelope-cose.md and RFC 9052 define it. Throws Malformed with the reason. */
function parseCose(blob: Uint8Array): Envelope {
  let top: unknown;
  try {
    top = notationCbor.decoder.decode(blob);
  } catch (e) {
    throw new Malformed(`not CBOR (${(e as Error).message})`);
  }
  if (!(top instanceof Tag) || top.tag !== 18)
    throw new Malformed('not a COSE_Sign1_Tagged message (tag 18)');
  const parts = top.value as unknown;
  if (!Array.isArray(parts) || parts.length !== 4) throw new Malformed('COSE_Sign1 is not a 4-element array');
  const [protectedBytes, unprotected, payload, signature] = parts as unknown[];
  if (!(protectedBytes instanceof Uint8Array) || protectedBytes.byteLength === 0) {
    throw new Malformed('no protected header');
  }
  if (!(unprotected instanceof Map)) throw new Malformed('the unprotected header is not a map');
  if (payload === null || payload === undefined) throw new Malformed('detached payloads are not supported');
  if (!(payload instanceof Uint8Array)) throw new Malformed('the payload is not a byte string');
  if (!(signature instanceof Uint8Array)) throw new Malformed('the signature is not a byte string');
  let prot: unknown;
  try {
    prot = notationCbor.decoder.decode(protectedBytes);
  } catch (e) {
    throw new Malformed(`the protected header is not CBOR (${(e as Error).message})`);
  }
  if (!(prot instanceof Map)) throw new Malformed('the protected header is not a map');
  const headers = new Map<string, unknown>();
  for (const [k, v] of prot) if (typeof k === 'string') headers.set(k, v);
  for (const [k, _v] of unprotected) {
    if (typeof k === 'string' && headers.has(k))
      throw new Malformed(`header ${k} is both protected and unprotected`);
  }
  const x5chain = prot.get(COSE_X5CHAIN) ?? unprotected.get(COSE_X5CHAIN);
  const certificates = x5chain instanceof Uint8Array ? [x5chain] : x5chain;
  if (!Array.isArray(certificates) || certificates.some((c) => !(c instanceof Uint8Array))) {
    throw new Malformed('x5chain (label 33) is missing or not a list of byte strings');
  }
  const algLabel = prot.get(1);
  const alg = Object.entries(NOTATION_ALGORITHMS).find(([, a]) => a.cose === algLabel)?.[0] ?? algLabel;
  const signedBytes = notationCbor.encoder.encode(['Signature1', protectedBytes, new Uint8Array(0), payload]);
  return {
    format: 'COSE',
    alg,
    crit: prot.get(2),
    cty: prot.get(3),
    headers,
    certificates,
    payload,
    signedBytes,
    signature,
  };
}

/** Flattened JWS JSON serialization, as signature-envelope-jws.md defines it. Throws Malformed with the reason. */
function parseJws(blob: Uint8Array): Envelope {
  let jws: Record<string, unknown>;
  try {
    jws = JSON.parse(Buffer.from(blob).toString('utf8'));
  } catch {
    throw new Malformed('not JSON');
  }
  if (typeof jws !== 'object' || jws === null || Array.isArray(jws)) throw new Malformed('not a JSON object');
  for (const key of Object.keys(jws)) {
    if (!['payload', 'protected', 'header', 'signature'].includes(key)) {
      throw new Malformed(
        `unexpected member ${JSON.stringify(key)} (only the flattened serialization is allowed)`,
      );
    }
  }
  if (
    typeof jws.payload !== 'string' ||
    typeof jws.protected !== 'string' ||
    typeof jws.signature !== 'string'
  ) {
    throw new Malformed('payload, protected and signature must be strings');
  }
  let header: Record<string, unknown>;
  let payload: Uint8Array;
  let signature: Uint8Array;
  try {
    header = decodeProtectedHeader(jws) as Record<string, unknown>;
    payload = base64url.decode(jws.payload);
    signature = base64url.decode(jws.signature);
  } catch (e) {
    throw new Malformed(`not base64url JSON (${(e as Error).message})`);
  }
  if ('b64' in header) throw new Malformed('the b64 header is not supported');
  const unprotected = jws.header;
  if (typeof unprotected !== 'object' || unprotected === null || Array.isArray(unprotected)) {
    throw new Malformed('no unprotected header (x5c)');
  }
  const x5c = (unprotected as Record<string, unknown>).x5c;
  if (!Array.isArray(x5c) || x5c.some((c) => typeof c !== 'string' || !BASE64.test(c))) {
    throw new Malformed('x5c is missing or not a list of base64 certificates');
  }
  for (const key of Object.keys(unprotected)) {
    if (key in header) throw new Malformed(`header ${key} is both protected and unprotected`);
  }
  return {
    format: 'JWS',
    alg: header.alg,
    crit: header.crit,
    cty: header.cty,
    headers: new Map(Object.entries(header)),
    certificates: (x5c as string[]).map((c) => Buffer.from(c, 'base64')),
    payload,
    signedBytes: Buffer.from(`${jws.protected}.${jws.payload}`, 'ascii'),
    signature,
  };
}

/** The algorithm the signing key decides (signature-specification.md, Algorithm Selection). */
function algorithmOfKey(key: KeyObject): NotationAlgorithm | undefined {
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec') {
    return ({ prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' } as const)[
      d?.namedCurve as 'prime256v1' | 'secp384r1' | 'secp521r1'
    ];
  }
  if (key.asymmetricKeyType === 'rsa') {
    return ({ 2048: 'PS256', 3072: 'PS384', 4096: 'PS512' } as const)[d?.modulusLength as 2048 | 3072 | 4096];
  }
  return undefined;
}

function describeKey(key: KeyObject): string {
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec') return `EC ${d?.namedCurve}`;
  if (key.asymmetricKeyType === 'rsa') return `RSA ${d?.modulusLength}`;
  return String(key.asymmetricKeyType);
}

function verifyEnvelope(
  alg: NotationAlgorithm,
  key: KeyObject,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  const a = NOTATION_ALGORITHMS[alg];
  try {
    return alg.startsWith('ES')
      ? verifySignature(a.hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature)
      : verifySignature(
          a.hash,
          data,
          { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: a.bytes },
          signature,
        );
  } catch {
    return false;
  }
}

/**
 * The chain's structure and the certificate requirements of signature-specification.md: each certificate issued
 * and signed by the next, the last a self-signed root; CA certificates with critical basic constraints (cA, path
 * length) and keyCertSign; the signing certificate a code signing certificate; keys long enough; no SHA-1.
 */
function checkChain(chain: readonly ChainCertificate[]): string | undefined {
  for (const [i, c] of chain.entries()) {
    const issuer = chain[i + 1] ?? c;
    // Issued by: the issuer name byte for byte, and the signature under the issuer's key. (OpenSSL's checkIssued
    // would also demand keyCertSign of a self-signed signing certificate, which Notation allows as a 1-long chain.)
    const named = Buffer.from(c.cert.issuerName.toArrayBuffer()).equals(
      Buffer.from(issuer.cert.subjectName.toArrayBuffer()),
    );
    if (!named || !c.node.verify(issuer.node.publicKey)) {
      return i === chain.length - 1
        ? `certificate chain does not end in a root certificate ("${c.cert.subject}" is not self-signed)`
        : `certificate chain is broken: "${c.cert.subject}" is not signed by "${issuer.cert.subject}"`;
    }
    const hash = (c.cert.signatureAlgorithm as { hash?: { name?: string } }).hash?.name;
    if (hash === 'SHA-1') return `certificate "${c.cert.subject}" is signed with SHA-1`;
    const d = c.node.publicKey.asymmetricKeyDetails;
    if (c.node.publicKey.asymmetricKeyType === 'rsa' && (d?.modulusLength ?? 0) < 2048) {
      return `certificate "${c.cert.subject}" has an RSA key shorter than 2048 bits`;
    }
    // A self-signed certificate ends a chain: one before its end (`[leaf, root, root]`) is refused, as
    // notation-core-go does.
    if (
      i < chain.length - 1 &&
      Buffer.from(c.cert.issuerName.toArrayBuffer()).equals(
        Buffer.from(c.cert.subjectName.toArrayBuffer()),
      ) &&
      c.node.verify(c.node.publicKey)
    )
      return `certificate chain is malformed: the self-signed "${c.cert.subject}" is not its last certificate`;
    const problem = i === 0 ? leafProblem(c.cert) : caProblem(c.cert, i - 1);
    if (problem) return `certificate "${c.cert.subject}" ${problem}`;
  }
  return undefined;
}

function leafProblem(cert: x509.X509Certificate): string | undefined {
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (bc?.ca) return 'is a CA certificate, not a signing certificate';
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  if (!ku?.critical) return 'has no critical key usage extension';
  if (!(ku.usages & x509.KeyUsageFlags.digitalSignature)) return 'lacks the digitalSignature key usage';
  const forbidden = LEAF_FORBIDDEN_USAGES.find(([flag]) => ku.usages & flag);
  if (forbidden) return `has the ${forbidden[1]} key usage, not allowed in a signing certificate`;
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  const bad = eku?.usages.map((u) => FORBIDDEN_EKU.get(String(u))).find((n) => n !== undefined);
  if (bad) return `has the ${bad} extended key usage, not allowed in a signing certificate`;
  return undefined;
}

function caProblem(cert: x509.X509Certificate, below: number): string | undefined {
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.critical || !bc.ca) return 'is not a CA certificate (critical basic constraints with cA)';
  if (bc.pathLength !== undefined && bc.pathLength !== null && below > bc.pathLength) {
    return `allows a path length of ${bc.pathLength}, but ${below} CA certificates follow it`;
  }
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  if (!ku?.critical || !(ku.usages & x509.KeyUsageFlags.keyCertSign)) {
    return 'lacks a critical key usage with keyCertSign';
  }
  return undefined;
}

function mismatch(
  trust: NotationTrust,
  profile: string | undefined,
  leaf: x509.X509Certificate,
): string | undefined {
  // AWS Signer's roots are shared by every AWS account: like Signer's plugin, which refuses a wildcard identity,
  // trust its signatures only for named profiles.
  if (profile && !trust.signingProfiles) {
    return 'AWS Signer signatures are trusted only for the signing profiles an entry names (signingProfiles)';
  }
  if (trust.signingProfiles) {
    if (!profile) return 'not signed by an AWS Signer signing profile';
    if (!trust.signingProfiles.some((p) => signingProfileMatches(p, profile))) {
      return `signing profile ${profile} is not trusted`;
    }
  }
  if (trust.subjects && !trust.subjects.some((s) => subjectMatches(s, leaf))) {
    return `signer subject "${leaf.subject}" is not trusted`;
  }
  return undefined;
}

function subjectMatches(pattern: SubjectPattern, cert: x509.X509Certificate): boolean {
  if (pattern.any) return true;
  const subject = rdnPairs(cert.subjectName.toJSON());
  return pattern.rdns.every(([type, value]) =>
    subject.some(([t, v]) => t.toLowerCase() === type.toLowerCase() && glob(value).test(v)),
  );
}

function rdnPairs(json: x509.JsonName): [string, string][] {
  return json.flatMap((rdn) =>
    Object.entries(rdn).flatMap(([type, values]) => values.map((v) => [type, v] as [string, string])),
  );
}

function glob(value: string): RegExp {
  return new RegExp(
    `^${value
      .split('*')
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    's',
  );
}

const iso = (d: Date): string => d.toISOString().replace('.000Z', 'Z');
