/**
 * Signs images the way `cosign sign --key` does, with a key generated at run time (Node crypto only), so the
 * local cloud's scenario and the end-to-end tests can push real, verifiable signatures. Nothing here is secret:
 * the keys live only as long as the process.
 *
 * The artifact follows sigstore/cosign `specs/SIGNATURE_SPEC.md`: a simple-signing payload blob, an ECDSA P-256
 * SHA-256 signature in ASN.1 DER (sigstore's `ECDSASigner` uses `ecdsa.SignASN1`), base64 in the layer annotation
 * `dev.cosignproject.cosign/signature`, and an OCI image manifest whose config is the image config
 * go-containerregistry writes for one appended layer. See docs/signatures.md.
 */
import { createHash, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { COSIGN_PAYLOAD_TYPE, cosignKeyIdentity } from '../functions/shared/signatures/cosign.js';
import { cosignSignatureTag, SIGNATURE_TYPES } from '../functions/shared/signatures/model.js';

export interface CosignKeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The public key as `cosign.pub` holds it (SPKI PEM): what a policy's `publicKeys` lists. */
  readonly publicKeyPem: string;
  /** `cosign key SHA256:<hex>`: how a verdict names this signer. */
  readonly identity: string;
}

/** A fresh ECDSA P-256 key pair, as `cosign generate-key-pair` makes (unencrypted here, and never written). */
export function generateCosignKey(): CosignKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateKey,
    publicKey,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    identity: cosignKeyIdentity(publicKey),
  };
}

export interface CosignSignOptions {
  /**
   * `tag` (cosign's default): an image manifest to push under the tag `sha256-<hex>.sig`. `referrer`
   * (`--registry-referrers-mode oci-1-1`): a manifest with a `subject`, found through the referrers API.
   * @default 'tag'
   */
  readonly mode?: 'tag' | 'referrer';
  /** `critical.identity.docker-reference` (cosign writes the repository; verifiers ignore it). @default '' */
  readonly dockerReference?: string;
  /** The subject's manifest media type, for the referrer's `subject` descriptor. @default OCI image manifest */
  readonly subjectMediaType?: string;
  /** The subject's manifest size, for the referrer's `subject` descriptor. @default 0 */
  readonly subjectSize?: number;
}

export interface CosignSignature {
  /** The signature manifest JSON, as it is pushed. */
  readonly manifest: string;
  /** The manifest's digest (`sha256:<hex>` of `manifest`'s UTF-8 bytes). */
  readonly digest: string;
  readonly mediaType: 'application/vnd.oci.image.manifest.v1+json';
  /** The referrer's artifact type (its config media type); undefined for a tag-stored signature. */
  readonly artifactType?: string | undefined;
  /** The tag cosign pushes it under (`sha256-<hex>.sig`), in tag mode. */
  readonly tag?: string | undefined;
  /** The config blob and the payload blob, by digest. */
  readonly blobs: ReadonlyMap<string, Uint8Array>;
}

const digestOf = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** The simple-signing payload cosign signs for `subjectDigest` (Go's field order, as cosign marshals it). */
export function cosignPayload(subjectDigest: string, dockerReference = ''): Uint8Array {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': dockerReference },
        image: { 'docker-manifest-digest': subjectDigest },
        type: COSIGN_PAYLOAD_TYPE,
      },
      optional: null,
    }),
  );
}

/**
 * Signs `subjectDigest` with an ECDSA P-256 private key and returns the signature artifact to push: the manifest
 * and its blobs (config and payload).
 */
export function cosignSign(
  subjectDigest: string,
  privateKey: KeyObject,
  options: CosignSignOptions = {},
): CosignSignature {
  const payload = cosignPayload(subjectDigest, options.dockerReference);
  const payloadDigest = digestOf(payload);
  const signature = sign('sha256', payload, { key: privateKey, dsaEncoding: 'der' }).toString('base64');
  const config = Buffer.from(
    JSON.stringify({
      architecture: '',
      created: '0001-01-01T00:00:00Z',
      history: [{ created: '0001-01-01T00:00:00Z' }],
      os: '',
      rootfs: { type: 'layers', diff_ids: [payloadDigest] },
      config: {},
    }),
  );
  const referrer = options.mode === 'referrer';
  const manifestObject = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: referrer ? SIGNATURE_TYPES.cosignArtifact : 'application/vnd.oci.image.config.v1+json',
      size: config.byteLength,
      digest: digestOf(config),
    },
    layers: [
      {
        mediaType: SIGNATURE_TYPES.cosignSimpleSigning,
        size: payload.byteLength,
        digest: payloadDigest,
        annotations: { [SIGNATURE_TYPES.cosignSignatureAnnotation]: signature },
      },
    ],
    ...(referrer
      ? {
          subject: {
            mediaType: options.subjectMediaType ?? 'application/vnd.oci.image.manifest.v1+json',
            size: options.subjectSize ?? 0,
            digest: subjectDigest,
          },
        }
      : {}),
  };
  const manifest = JSON.stringify(manifestObject);
  return {
    manifest,
    digest: digestOf(Buffer.from(manifest)),
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: referrer ? SIGNATURE_TYPES.cosignArtifact : undefined,
    tag: referrer ? undefined : cosignSignatureTag(subjectDigest),
    blobs: new Map([
      [digestOf(config), new Uint8Array(config)],
      [payloadDigest, new Uint8Array(payload)],
    ]),
  };
}
