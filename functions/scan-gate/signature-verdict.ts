/**
 * The signature part of a gate verdict, and how it combines with the findings' part. Pure.
 *
 * With `signatures.required`, an image passes only when it is SIGNED by enough trusted identities. An image
 * with no signature yet is PENDING within the policy's grace window from its push (signing usually follows the
 * push by seconds or minutes: `ECR Referrer Action` re-judges it when the signature arrives), FAIL after it.
 * An invalid or untrusted signature fails at once: no grace makes a bad signature good. The verdict is the
 * worse of the two parts (FAIL over PENDING over PASS); both parts' reasons are kept.
 */
import { describeSignature, type SignatureStatus } from '../shared/signatures/model.js';

/** A verdict's value (the gate's `VerdictValue`, spelled here so that this part needs nothing of gate.ts). */
type VerdictValue = 'PASS' | 'PENDING' | 'FAIL';

/** What of a findings verdict the signature part reads and rewrites. */
interface Judged {
  readonly verdict: VerdictValue;
  readonly summary: string;
  readonly reasons: readonly string[];
}

const WORSE: Record<VerdictValue, number> = { PASS: 0, PENDING: 1, FAIL: 2 };

export interface SignaturePart {
  readonly verdict: VerdictValue;
  /** `SIGNED by …`, `UNSIGNED`, `INVALID SIGNATURE (…)`, `UNTRUSTED SIGNER (…)`. */
  readonly text: string;
  readonly reason: string;
}

/** The signature part's verdict: what a required signature policy makes of `status` for an image pushed at `pushedAt`. */
export function signaturePart(
  status: SignatureStatus,
  options: { readonly graceMinutes: number; readonly pushedAt?: number | undefined; readonly now: Date },
): SignaturePart {
  const text = describeSignature(status);
  if (status.status === 'SIGNED') return { verdict: 'PASS', text, reason: text };
  if (status.status !== 'UNSIGNED')
    return { verdict: 'FAIL', text, reason: `${text}: the policy requires a trusted signature` };
  const waited = options.pushedAt === undefined ? undefined : options.now.getTime() - options.pushedAt;
  if (waited !== undefined && waited < options.graceMinutes * 60_000)
    return {
      verdict: 'PENDING',
      text,
      reason: `UNSIGNED: no signature yet, within the ${options.graceMinutes}-minute grace window from the push`,
    };
  return {
    verdict: 'FAIL',
    text,
    reason:
      waited === undefined
        ? 'UNSIGNED: the policy requires a trusted signature'
        : `UNSIGNED: no signature ${Math.floor(waited / 60_000)} minutes after the push (grace window ${options.graceMinutes} minutes)`,
  };
}

/** The findings' verdict with the signature part: the worse of the two, with both reasons. */
export function withSignature<V extends Judged>(findings: V, part: SignaturePart): V & { signature: string } {
  const verdict = WORSE[part.verdict] > WORSE[findings.verdict] ? part.verdict : findings.verdict;
  const findingsText = findings.summary.replace(/^(PASS|FAIL|PENDING): /, '');
  // The part that decided comes first in the one-line summary a pipeline prints.
  const summary =
    part.verdict === verdict && part.verdict !== findings.verdict
      ? `${verdict}: ${part.reason}; findings: ${findingsText}`
      : `${verdict}: ${findingsText}; ${part.text}`;
  return {
    ...findings,
    verdict,
    summary,
    reasons: part.verdict === 'PASS' ? [...findings.reasons, part.text] : [part.reason, ...findings.reasons],
    signature: part.text,
  };
}
