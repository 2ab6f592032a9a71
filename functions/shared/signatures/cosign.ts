/**
 * cosign signatures made with a key pair (`cosign sign --key`), verified offline from the registry's contents.
 *
 * The format, as cosign's own specification and code define it:
 * - Storage (sigstore/cosign `specs/SIGNATURE_SPEC.md`, "Storage"): an OCI image manifest, found by the tag
 *   `sha256-<hex>.sig` beside the image, or (`--registry-referrers-mode oci-1-1`) as an OCI 1.1 referrer whose
 *   artifact type is `application/vnd.dev.cosign.artifact.sig.v1+json`. Each signature is one layer of media type
 *   `application/vnd.dev.cosign.simplesigning.v1+json`; one manifest may hold several (cosign appends a layer per
 *   `cosign sign`), so one artifact can carry several signers.
 * - Signature (same spec, "Signature"): the layer annotation `dev.cosignproject.cosign/signature`, standard base64
 *   of the signature over the payload blob's exact bytes. The payload is referenced by digest, so its bytes are
 *   what the registry stores and what the layer digest names.
 * - Payload (same spec, "Simple Signing"): JSON whose `critical.image["docker-manifest-digest"]` names the signed
 *   image and whose `critical.type` is `cosign container image signature`; `critical.identity` is ignored.
 * - Scheme (same spec, "Signature Schemes" and "Hashing Algorithms"): ECDSA P-256 with SHA-256. sigstore's verifier
 *   (sigstore/sigstore `pkg/signature/ecdsa.go`, `ECDSAVerifier.VerifySignature`) checks the signature with
 *   `ecdsa.VerifyASN1`, and its signer writes `ecdsa.SignASN1`: the signature is ASN.1 DER, not raw r||s.
 *
 * Identity: `cosign key SHA256:<hex>`, the lowercase hex SHA-256 of the public key's DER SubjectPublicKeyInfo
 * (`openssl pkey -pubin -in cosign.pub -outform DER | sha256sum`). Keyless signatures (Fulcio certificate, Rekor
 * bundle) are not verified: their key is not pinned by the policy, so they verify under no trusted key.
 */
import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';
import { type ArtifactCheck, SIGNATURE_TYPES, type SignatureArtifact } from './model.js';

/** `critical.type` of a cosign container image signature payload. */
export const COSIGN_PAYLOAD_TYPE = 'cosign container image signature';

/** A trusted cosign public key, parsed once. */
export interface CosignKey {
  readonly key: KeyObject;
  /** `cosign key SHA256:<hex of the SPKI DER's SHA-256>`. */
  readonly identity: string;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The identity a cosign public key signs as: `cosign key SHA256:<hex>` over its DER SubjectPublicKeyInfo. */
export function cosignKeyIdentity(key: KeyObject): string {
  const spki = key.export({ type: 'spki', format: 'der' });
  return `cosign key SHA256:${createHash('sha256').update(spki).digest('hex')}`;
}

/**
 * Parses a PEM public key as cosign writes it (`cosign.pub`: `-----BEGIN PUBLIC KEY-----`, an ECDSA P-256
 * SubjectPublicKeyInfo). Throws with the reason when it is not one.
 */
export function loadCosignKey(pem: string): CosignKey {
  if (!/-----BEGIN PUBLIC KEY-----/.test(pem)) {
    throw new Error('not a PEM public key (expected "-----BEGIN PUBLIC KEY-----", as in cosign.pub)');
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (e) {
    throw new Error(`not a readable PEM public key (${(e as Error).message})`);
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== 'ec' || curve !== 'prime256v1') {
    const kind = key.asymmetricKeyType === 'ec' ? `EC ${curve}` : key.asymmetricKeyType;
    throw new Error(`a ${kind} key: cosign signatures are verified with ECDSA P-256 keys only`);
  }
  return { key, identity: cosignKeyIdentity(key) };
}

interface Layer {
  readonly mediaType?: unknown;
  readonly digest?: unknown;
  readonly size?: unknown;
  readonly annotations?: unknown;
}

const malformed = (digest: string, why: string): ArtifactCheck => ({
  digest,
  outcome: 'invalid',
  why: `malformed cosign signature: ${why}`,
});

/**
 * Verifies every cosign signature in one artifact: one check per simple-signing layer, in layer order. Never
 * throws: a manifest that cannot be read yields one `invalid` check.
 */
export function checkCosignArtifact(
  subjectDigest: string,
  artifact: SignatureArtifact,
  keys: readonly CosignKey[],
): ArtifactCheck[] {
  try {
    let manifest: unknown;
    try {
      manifest = JSON.parse(artifact.manifest);
    } catch {
      return [malformed(artifact.digest, 'the manifest is not JSON')];
    }
    const layers = (manifest as { layers?: unknown } | null)?.layers;
    if (!Array.isArray(layers)) return [malformed(artifact.digest, 'the manifest has no layers')];
    const signatures = layers.filter(
      (l): l is Layer =>
        typeof l === 'object' && l !== null && (l as Layer).mediaType === SIGNATURE_TYPES.cosignSimpleSigning,
    );
    if (signatures.length === 0) {
      return [malformed(artifact.digest, `no ${SIGNATURE_TYPES.cosignSimpleSigning} layer`)];
    }
    return signatures.map((layer) => checkLayer(subjectDigest, artifact, layer, keys));
  } catch (e) {
    return [malformed(artifact.digest, (e as Error).message)];
  }
}

function checkLayer(
  subjectDigest: string,
  artifact: SignatureArtifact,
  layer: Layer,
  keys: readonly CosignKey[],
): ArtifactCheck {
  const at = artifact.digest;
  const annotations = layer.annotations as Record<string, unknown> | undefined;
  const encoded =
    typeof annotations === 'object' && annotations
      ? annotations[SIGNATURE_TYPES.cosignSignatureAnnotation]
      : undefined;
  if (typeof encoded !== 'string') {
    return malformed(at, `the layer has no ${SIGNATURE_TYPES.cosignSignatureAnnotation} annotation`);
  }
  if (encoded.length === 0 || !BASE64.test(encoded))
    return malformed(at, 'the signature annotation is not base64');
  const signature = Buffer.from(encoded, 'base64');
  if (typeof layer.digest !== 'string' || !DIGEST.test(layer.digest)) {
    return malformed(at, 'the payload layer has no sha256 digest');
  }
  const blob = artifact.blobs.get(layer.digest);
  if (!blob) return { digest: at, outcome: 'invalid', why: `payload blob ${layer.digest} could not be read` };
  const actual = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
  if (actual !== layer.digest || (typeof layer.size === 'number' && layer.size !== blob.byteLength)) {
    return {
      digest: at,
      outcome: 'invalid',
      why: `payload blob does not match its digest ${layer.digest} (tampered)`,
    };
  }
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(blob).toString('utf8'));
  } catch {
    return malformed(at, 'the payload is not JSON');
  }
  const critical = (payload as { critical?: unknown } | null)?.critical as
    | { type?: unknown; image?: Record<string, unknown> | null }
    | undefined;
  if (typeof critical !== 'object' || critical === null)
    return malformed(at, 'the payload has no critical section');
  if (critical.type !== COSIGN_PAYLOAD_TYPE) {
    return malformed(at, `payload type ${JSON.stringify(critical.type)} is not "${COSIGN_PAYLOAD_TYPE}"`);
  }
  const signed =
    typeof critical.image === 'object' && critical.image
      ? critical.image['docker-manifest-digest']
      : undefined;
  if (typeof signed !== 'string')
    return malformed(at, 'the payload names no critical.image docker-manifest-digest');

  const signer = keys.find((k) => verifies(blob, signature, k.key));
  if (!signer) {
    // Without a key under which it verifies, a wrong key and a tampered signature look the same.
    return {
      digest: at,
      outcome: 'invalid',
      why:
        keys.length === 0
          ? 'signature does not verify under the trusted keys (the policy trusts no cosign key)'
          : 'signature does not verify under the trusted keys',
    };
  }
  if (signed !== subjectDigest)
    return { digest: at, outcome: 'invalid', why: `signs ${signed} not this image` };
  return { digest: at, outcome: 'trusted', identity: signer.identity };
}

function verifies(data: Uint8Array, signature: Uint8Array, key: KeyObject): boolean {
  try {
    return verify('sha256', data, { key, dsaEncoding: 'der' }, signature);
  } catch {
    return false;
  }
}
