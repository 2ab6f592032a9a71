/**
 * The signature policy, evaluated: which artifacts are signatures, which of those are valid signatures of the
 * image, by whom, and whether enough of them are by trusted identities. Pure: no AWS, no clock but `now`.
 */
import { type CosignKey, checkCosignArtifact, loadCosignKey } from './cosign.js';
import {
  type ArtifactCheck,
  SIGNATURE_TYPES,
  type SignatureArtifact,
  type SignaturePolicy,
  type SignatureStatus,
  type TrustEntry,
} from './model.js';
import { checkNotationArtifact, type NotationTrust, prepareNotationTrust } from './notation.js';

/** The signature formats ECR Steward verifies. */
export type SignatureFormat = 'cosign' | 'notation';

/**
 * Which verifier an artifact is for: cosign's `.sig` tag, or the artifact type (as the referrers API reports it,
 * else the manifest's `artifactType`, else its config media type, which OCI 1.1 makes the artifact type).
 * Undefined for anything else (an SBOM, an attestation): not a signature.
 */
export function signatureFormat(artifact: SignatureArtifact): SignatureFormat | undefined {
  if (artifact.source === 'cosign-tag') return 'cosign';
  let type = artifact.artifactType;
  if (type === undefined) {
    try {
      const m = JSON.parse(artifact.manifest) as { artifactType?: unknown; config?: { mediaType?: unknown } };
      const t = m?.artifactType ?? m?.config?.mediaType;
      type = typeof t === 'string' ? t : undefined;
    } catch {
      type = undefined;
    }
  }
  if (type === SIGNATURE_TYPES.cosignArtifact) return 'cosign';
  if (type === SIGNATURE_TYPES.notationArtifact) return 'notation';
  return undefined;
}

/**
 * Every signature one artifact carries, checked: one check for a Notation signature, one per layer of a cosign
 * signature manifest (cosign appends a layer per signer), `[not-a-signature]` for other artifacts. Never throws.
 */
export function checkArtifactSignatures(
  subjectDigest: string,
  artifact: SignatureArtifact,
  policy: SignaturePolicy,
  now: Date,
): ArtifactCheck[] {
  try {
    const trust = preparedTrust(policy);
    switch (signatureFormat(artifact)) {
      case 'cosign':
        return checkCosignArtifact(subjectDigest, artifact, trust.cosign);
      case 'notation':
        return [checkNotationArtifact(subjectDigest, artifact, trust.notation, now)];
      default:
        return [{ digest: artifact.digest, outcome: 'not-a-signature' }];
    }
  } catch (e) {
    return [
      { digest: artifact.digest, outcome: 'invalid', why: `unreadable signature: ${(e as Error).message}` },
    ];
  }
}

/**
 * One artifact's verdict: its trusted signature if it has one, else its first valid-but-untrusted one, else its
 * first reason to be invalid (see `checkArtifactSignatures` for all of a multi-signature cosign manifest).
 */
export function checkArtifact(
  subjectDigest: string,
  artifact: SignatureArtifact,
  policy: SignaturePolicy,
  now: Date,
): ArtifactCheck {
  const checks = checkArtifactSignatures(subjectDigest, artifact, policy, now);
  return (
    checks.find((c) => c.outcome === 'trusted') ??
    checks.find((c) => c.outcome === 'untrusted') ??
    checks.find((c) => c.outcome === 'invalid') ??
    checks[0]!
  );
}

/**
 * The verdict's signature part for an image from all its signature artifacts (referrers and cosign's `.sig`):
 * - SIGNED when at least `minSignatures` distinct trusted signers signed it (the versions of one AWS Signer
 *   profile are one signer);
 * - UNSIGNED when no artifact is a signature;
 * - UNTRUSTED when there are valid signatures but too few by trusted identities (`identities` lists every valid
 *   signer, trusted ones first);
 * - INVALID when every signature is invalid for this image.
 */
export function signatureStatus(
  subjectDigest: string,
  artifacts: readonly SignatureArtifact[],
  policy: SignaturePolicy,
  now: Date,
): SignatureStatus {
  const checks = artifacts
    .flatMap((a) => checkArtifactSignatures(subjectDigest, a, policy, now))
    .filter((c) => c.outcome !== 'not-a-signature');
  if (checks.length === 0) return { status: 'UNSIGNED' };
  const trusted = distinct(checks.flatMap((c) => (c.outcome === 'trusted' ? [c.identity] : [])));
  const signers = new Set(trusted.map(signerOf)).size;
  if (signers >= Math.max(1, policy.minSignatures)) return { status: 'SIGNED', identities: trusted };
  const untrusted = checks.flatMap((c) => (c.outcome === 'untrusted' ? [c] : []));
  if (trusted.length > 0 || untrusted.length > 0) {
    const identities = distinct([...trusted, ...untrusted.map((c) => c.identity)]);
    const reasons = [
      ...(trusted.length > 0
        ? [
            `${signers} trusted ${plural(signers, 'signer')} (${trusted.join(', ')}), ${policy.minSignatures} required`,
          ]
        : []),
      ...untrusted.map((c) => `${c.identity}: ${c.why}`),
    ];
    return { status: 'UNTRUSTED', identities, why: summarize(reasons) };
  }
  const reasons = checks.flatMap((c) => (c.outcome === 'invalid' ? [c.why] : []));
  return { status: 'INVALID', why: summarize(reasons) };
}

interface PreparedTrust {
  readonly cosign: readonly CosignKey[];
  readonly notation: readonly NotationTrust[];
}

const prepared = new WeakMap<readonly TrustEntry[], PreparedTrust>();

/** The policy's keys and certificates, parsed once per trust list (validation already refused bad PEMs). */
function preparedTrust(policy: SignaturePolicy): PreparedTrust {
  const cached = prepared.get(policy.trust);
  if (cached) return cached;
  const cosign: CosignKey[] = [];
  const notation: NotationTrust[] = [];
  for (const entry of policy.trust) {
    if (entry.type === 'cosign') cosign.push(...entry.publicKeys.map(loadCosignKey));
    else notation.push(prepareNotationTrust(entry));
  }
  const result = { cosign, notation };
  prepared.set(policy.trust, result);
  return result;
}

/**
 * Who signed, for minSignatures: an AWS Signer profile version ARN counts as its profile (versions of one profile
 * are one signer, as a rotated key is); any other identity as itself.
 */
function signerOf(identity: string): string {
  const m = /^(arn:aws[a-z-]*:signer:[^:]*:\d{12}:\/signing-profiles\/[^/]+)\/[^/]+$/.exec(identity);
  return m ? m[1]!.toLowerCase() : identity;
}

function distinct(values: readonly string[]): string[] {
  return [...new Set(values)];
}

function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}

/** The first two distinct reasons, and how many more there are. */
function summarize(reasons: readonly string[]): string {
  const unique = distinct(reasons);
  const shown = unique.slice(0, 2).join('; ');
  return unique.length > 2 ? `${shown}; and ${unique.length - 2} more` : shown;
}
