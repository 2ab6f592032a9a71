/**
 * Signatures of images: what the registry holds (the artifacts read from ECR), what a trust policy accepts, and
 * the verdict's signature part. The names here are shared by the verifiers (`cosign.ts`, `notation.ts`), the
 * policy evaluation (`verify.ts`), the ECR adapter that reads the artifacts, the scan gate and the CLI.
 */

/** Media and artifact types of the signature formats ECR Steward verifies. */
export const SIGNATURE_TYPES = {
  /** Notation (and ECR managed signing, AWS Signer): an OCI 1.1 referrer with this artifactType. */
  notationArtifact: 'application/vnd.cncf.notary.signature',
  notationCose: 'application/cose',
  notationJws: 'application/jose+json',
  /** The payload a Notation envelope signs: `{"targetArtifact": {"mediaType", "digest", "size"}}`. */
  notationPayload: 'application/vnd.cncf.notary.payload.v1+json',
  /** cosign, stored as an OCI 1.1 referrer (`--registry-referrers-mode oci-1-1`). */
  cosignArtifact: 'application/vnd.dev.cosign.artifact.sig.v1+json',
  /** cosign's signed payload layer (the "simple signing" JSON). */
  cosignSimpleSigning: 'application/vnd.dev.cosign.simplesigning.v1+json',
  /** The layer annotation carrying cosign's base64 signature over the payload blob. */
  cosignSignatureAnnotation: 'dev.cosignproject.cosign/signature',
} as const;

/** cosign's tag scheme for the signature of `sha256:<hex>`: `sha256-<hex>.sig` in the same repository. */
export const cosignSignatureTag = (digest: string): string => `${digest.replace(':', '-')}.sig`;

/**
 * One signature artifact of an image, as read from the registry: its manifest (the text ECR stores) and the
 * layer blobs a verifier needs (the cosign payload, the Notation envelope). Read by the ECR adapter; the
 * verifiers never call AWS.
 */
export interface SignatureArtifact {
  /** How it was found: an OCI 1.1 referrer of the subject (ListImageReferrers), or cosign's `.sig` tag. */
  readonly source: 'referrer' | 'cosign-tag';
  /** The artifact manifest's digest. */
  readonly digest: string;
  readonly artifactType?: string | undefined;
  /** The manifest JSON as stored. */
  readonly manifest: string;
  /** Its layer blobs, by digest (what could be read; a missing blob makes the signature invalid, not absent). */
  readonly blobs: ReadonlyMap<string, Uint8Array>;
}

/** A trusted signer, as the gate policy names it. */
export type TrustEntry =
  | {
      readonly type: 'notation';
      /** AWS Signer signing profile ARNs whose signatures are trusted. */
      readonly signingProfiles?: readonly string[] | undefined;
      /** Root (and intermediate) certificates the signing certificate must chain to, PEM. */
      readonly certificates?: readonly string[] | undefined;
      /** X.509 subjects (RFC 4514 text, `*` allowed) of trusted signing certificates. */
      readonly subjects?: readonly string[] | undefined;
    }
  | { readonly type: 'cosign'; readonly publicKeys: readonly string[] };

export interface SignaturePolicy {
  readonly required: boolean;
  readonly trust: readonly TrustEntry[];
  /** How many distinct trusted signatures an image needs. */
  readonly minSignatures: number;
}

/** What verifying one artifact found. */
export type ArtifactCheck =
  /** A valid signature of this image by a trusted identity. */
  | { readonly digest: string; readonly outcome: 'trusted'; readonly identity: string }
  /** A valid signature of this image, by a signer the policy does not trust. */
  | {
      readonly digest: string;
      readonly outcome: 'untrusted';
      readonly identity: string;
      readonly why: string;
    }
  /** Not a valid signature of this image: the reason (digest mismatch, bad signature, expired certificate…). */
  | { readonly digest: string; readonly outcome: 'invalid'; readonly why: string }
  /** Not a signature format this verifier knows (an SBOM, an attestation): ignored. */
  | { readonly digest: string; readonly outcome: 'not-a-signature' };

/**
 * The verdict's signature part:
 * - `SIGNED`: at least `minSignatures` trusted signatures (`identities` names them).
 * - `UNSIGNED`: no signature artifact at all.
 * - `INVALID`: signature artifacts exist, none valid for this image (`why` says why).
 * - `UNTRUSTED`: valid signatures, none (or too few) by a trusted identity.
 */
export type SignatureStatus =
  | { readonly status: 'SIGNED'; readonly identities: readonly string[] }
  | { readonly status: 'UNSIGNED' }
  | { readonly status: 'INVALID'; readonly why: string }
  | { readonly status: 'UNTRUSTED'; readonly identities: readonly string[]; readonly why: string };

/** How the signature part reads in a verdict: `SIGNED by …`, `UNSIGNED`, `INVALID SIGNATURE (…)`, `UNTRUSTED SIGNER`. */
export function describeSignature(s: SignatureStatus): string {
  switch (s.status) {
    case 'SIGNED':
      return `SIGNED by ${s.identities.join(', ')}`;
    case 'UNSIGNED':
      return 'UNSIGNED';
    case 'INVALID':
      return `INVALID SIGNATURE (${s.why})`;
    case 'UNTRUSTED':
      return `UNTRUSTED SIGNER (${s.why})`;
  }
}
