/**
 * The gate decision: `(gate policy, findings, now) → verdict` with reasons and the blocking findings. Pure.
 */
import { createHash } from 'node:crypto';
import { globToRegExp } from '../shared/lifecycle/match.js';
import type { SignatureStatus } from '../shared/signatures/model.js';
import {
  type Completeness,
  type CvssSource,
  type Finding,
  SCAN_STATUSES,
  type ScanStatus,
} from './findings.js';
import { type AllowlistEntry, type GatePolicy, SEVERITIES, type Severity } from './policy.js';
import { signaturePart, withSignature } from './signature-verdict.js';

export type VerdictValue = 'PASS' | 'FAIL' | 'PENDING';

export interface GateInput {
  readonly policy: GatePolicy;
  readonly repository: string;
  readonly imageTags: readonly string[];
  /** When the image was pushed (for the grace window), epoch ms. */
  readonly pushedAt?: number | undefined;
  readonly scanStatus: ScanStatus;
  readonly findings: readonly Finding[];
  /**
   * Whether the findings are the scan's whole answer (`normaliseFindings` / `readScanFindings` give it).
   * Required: incomplete data is PENDING, then FAIL after the grace window, never PASS.
   */
  readonly completeness: Completeness;
  /** Which CVSS score `blockCvssAtOrAbove` compares: the config's `gate.cvssSource` (default `scanner`). */
  readonly cvssSource?: CvssSource | undefined;
  /**
   * The image's signatures as verified against `policy.signatures` (functions/shared/signatures/verify.ts).
   * Read only when the policy requires signatures; absent then, the verdict cannot PASS (PENDING: not checked).
   */
  readonly signature?: SignatureStatus | undefined;
  readonly now: Date;
}

export interface Verdict {
  readonly verdict: VerdictValue;
  /** One line a pipeline can print. */
  readonly summary: string;
  readonly reasons: readonly string[];
  readonly counts: Readonly<Partial<Record<Severity, number>>>;
  /** Findings that count against the policy (after allowlist and ignore rules), most severe first. */
  readonly blocking: readonly Finding[];
  readonly allowlisted: readonly { readonly finding: Finding; readonly entry: AllowlistEntry }[];
  /** Allowlist entries that matched a finding but have expired: they no longer apply and deserve a reminder. */
  readonly expiredAllowlist: readonly AllowlistEntry[];
  readonly policyHash: string;
  /** The signature part, when the policy requires signatures: `SIGNED by …`, `UNSIGNED`, `INVALID SIGNATURE (…)`… */
  readonly signature?: string | undefined;
}

const RANK: Record<Severity, number> = {
  CRITICAL: 0,
  HIGH: 1,
  MEDIUM: 2,
  LOW: 3,
  INFORMATIONAL: 4,
  UNDEFINED: 5,
  UNTRIAGED: 6,
};

/** A hash of the policy's content: object keys are sorted, so the order a policy was written in does not matter. */
export function policyHash(policy: GatePolicy): string {
  return createHash('sha256').update(canonicalJson(policy)).digest('hex').slice(0, 16);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Whether an allowlist entry covers a finding in a repository. */
function covers(entry: AllowlistEntry, finding: Finding, repository: string): boolean {
  if (entry.cve.toUpperCase() !== finding.id.toUpperCase()) return false;
  if (entry.repositories && !entry.repositories.some((g) => globToRegExp(g).test(repository))) return false;
  if (entry.packages && (!finding.packageName || !entry.packages.includes(finding.packageName))) return false;
  return true;
}

export function evaluateGate(input: GateInput): Verdict {
  const findings = evaluateFindings(input);
  // Without a signature requirement the findings decide alone. An exempt tag exempts the findings, never the
  // signature: whoever pushes chooses the tags.
  if (input.policy.signatures?.required !== true) return findings;
  if (!input.signature)
    return withSignature(findings, {
      verdict: 'PENDING',
      text: 'SIGNATURES NOT CHECKED',
      reason: 'the policy requires a trusted signature and the signatures were not read',
    });
  return withSignature(
    findings,
    signaturePart(input.signature, {
      graceMinutes: input.policy.graceMinutes,
      pushedAt: input.pushedAt,
      now: input.now,
    }),
  );
}

/** The verdict on the scan and its findings alone. */
function evaluateFindings(input: GateInput): Verdict {
  const { policy, now } = input;
  const hash = policyHash(policy);
  const base = { counts: {}, blocking: [], allowlisted: [], expiredAllowlist: [], policyHash: hash };
  const exempt = input.imageTags.find((t) => policy.exemptTags.some((g) => globToRegExp(g).test(t)));
  if (exempt !== undefined) {
    return {
      ...base,
      verdict: 'PASS',
      summary: `PASS: tag ${exempt} is exempt from the gate`,
      reasons: [`tag ${exempt} is exempt`],
    };
  }

  const documented = (SCAN_STATUSES as readonly string[]).includes(input.scanStatus);
  if (documented && input.scanStatus !== 'COMPLETE' && input.scanStatus !== 'ACTIVE') {
    const young =
      input.pushedAt !== undefined && now.getTime() - input.pushedAt < policy.graceMinutes * 60_000;
    const waiting = ['IN_PROGRESS', 'PENDING', 'MISSING'].includes(input.scanStatus);
    if (waiting && young) {
      return {
        ...base,
        verdict: 'PENDING',
        summary: `PENDING: scan ${input.scanStatus.toLowerCase()}, within the ${policy.graceMinutes}-minute grace window`,
        reasons: [`scan status ${input.scanStatus}`],
      };
    }
    const verdict: VerdictValue =
      input.scanStatus === 'FAILED'
        ? policy.onScanStatus.failed
        : input.scanStatus === 'UNSUPPORTED_IMAGE'
          ? policy.onScanStatus.unsupported
          : waiting || input.scanStatus === 'FINDINGS_UNAVAILABLE'
            ? policy.onScanStatus.missing
            : 'PENDING';
    return {
      ...base,
      verdict,
      summary: `${verdict}: scan status ${input.scanStatus} (policy says ${verdict})`,
      reasons: [`scan status ${input.scanStatus}; the policy maps it to ${verdict}`],
    };
  }

  const judged = judgeFindings(input, hash);
  if (input.completeness.complete) return judged;
  // Incomplete data can only make a verdict stricter: findings that already fail fail now; the rest waits.
  const incomplete = `scan data incomplete: ${input.completeness.problems.join('; ')}`;
  if (judged.verdict === 'FAIL') return { ...judged, reasons: [...judged.reasons, incomplete] };
  return { ...judged, ...incompleteVerdict(input, incomplete) };
}

/**
 * PENDING within the grace window, FAIL after it. The window runs from the later of the image's push and the
 * scan's completion: a new image gets `graceMinutes` from its push, as for a scan not finished yet, and an
 * image re-scanned later (continuous scanning) gets them from that scan rather than failing at once on its
 * first incomplete answer. A completion time in the future is not believed (the window would never end).
 * With neither time (an offline file) there is no window to end: PENDING.
 */
function incompleteVerdict(
  input: GateInput,
  incomplete: string,
): Pick<Verdict, 'verdict' | 'summary' | 'reasons'> {
  const { policy, now, completeness } = input;
  const completedAt =
    completeness.completedAt !== undefined && completeness.completedAt <= now.getTime()
      ? completeness.completedAt
      : undefined;
  const from =
    input.pushedAt !== undefined && (completedAt === undefined || input.pushedAt >= completedAt)
      ? { at: input.pushedAt, what: "the image's push" }
      : completedAt !== undefined
        ? { at: completedAt, what: "the scan's completion" }
        : undefined;
  if (from === undefined)
    return {
      verdict: 'PENDING',
      summary: `PENDING: ${incomplete}`,
      reasons: [incomplete, 'no push or completion time to start the grace window from'],
    };
  const waited = now.getTime() - from.at;
  const window = `the ${policy.graceMinutes}-minute grace window from ${from.what} at ${new Date(from.at).toISOString()}`;
  if (waited < policy.graceMinutes * 60_000)
    return {
      verdict: 'PENDING',
      summary: `PENDING: ${incomplete}`,
      reasons: [incomplete, `within ${window}`],
    };
  const still = `scan data still incomplete after ${Math.floor(waited / 60_000)} minutes: ${completeness.problems.join('; ')}`;
  return { verdict: 'FAIL', summary: `FAIL: ${still}`, reasons: [still, `${window} has passed`] };
}

/** The score `blockCvssAtOrAbove` compares, from the source the config names. */
function cvssOf(f: Finding, source: CvssSource): number | undefined {
  if (source === 'nvd') return f.cvssNvd ?? f.cvss;
  if (source === 'max') return f.cvssMax ?? f.cvss;
  return f.cvss;
}

const CVSS_SOURCE_NOTE: Record<CvssSource, string> = {
  scanner: '',
  nvd: " (NVD's score)",
  max: ' (the highest score of any source)',
};

/** The verdict on the findings as listed, whether or not they are all of them. */
function judgeFindings(input: GateInput, hash: string): Verdict {
  const { policy, now } = input;
  const source = input.cvssSource ?? 'scanner';
  const counted: Finding[] = [];
  const allowlisted: { finding: Finding; entry: AllowlistEntry }[] = [];
  const expired = new Map<string, AllowlistEntry>();
  let ignoredUnfixed = 0;
  let closed = 0;
  for (const f of input.findings) {
    if (f.status !== undefined && f.status !== 'ACTIVE') {
      closed++;
      continue;
    }
    const entries = policy.allowlist.filter((e) => covers(e, f, input.repository));
    const live = entries.find((e) => Date.parse(e.expiresAt) > now.getTime());
    if (live) {
      allowlisted.push({ finding: f, entry: live });
      continue;
    }
    for (const e of entries) expired.set(`${e.cve}|${e.owner}|${e.expiresAt}`, e);
    if (policy.ignoreUnfixed && f.fixAvailable === false) {
      ignoredUnfixed++;
      continue;
    }
    counted.push(f);
  }

  const counts: Partial<Record<Severity, number>> = {};
  for (const f of counted) counts[f.severity] = (counts[f.severity] ?? 0) + 1;
  const reasons: string[] = [];
  const blockingSet = new Set<Finding>();
  for (const severity of SEVERITIES) {
    const max = policy.maxFindings[severity];
    const n = counts[severity] ?? 0;
    if (max !== undefined && n > max) {
      reasons.push(`${n} ${severity} finding${n === 1 ? '' : 's'} (at most ${max} allowed)`);
      for (const f of counted) if (f.severity === severity) blockingSet.add(f);
    }
  }
  if (policy.blockCvssAtOrAbove !== undefined) {
    const hits = counted.filter((f) => (cvssOf(f, source) ?? -1) >= policy.blockCvssAtOrAbove!);
    if (hits.length > 0)
      reasons.push(
        `${hits.length} finding(s) with CVSS ≥ ${policy.blockCvssAtOrAbove}${CVSS_SOURCE_NOTE[source]}`,
      );
    for (const f of hits) blockingSet.add(f);
  }
  if (policy.blockEpssAtOrAbove !== undefined) {
    const hits = counted.filter((f) => f.epss !== undefined && f.epss >= policy.blockEpssAtOrAbove!);
    if (hits.length > 0) reasons.push(`${hits.length} finding(s) with EPSS ≥ ${policy.blockEpssAtOrAbove}`);
    for (const f of hits) blockingSet.add(f);
  }
  const blocking = [...blockingSet].sort(
    (a, b) =>
      RANK[a.severity] - RANK[b.severity] ||
      (cvssOf(b, source) ?? 0) - (cvssOf(a, source) ?? 0) ||
      a.id.localeCompare(b.id),
  );
  const notes = [
    ...(allowlisted.length > 0 ? [`${allowlisted.length} finding(s) allowlisted`] : []),
    ...(ignoredUnfixed > 0 ? [`${ignoredUnfixed} finding(s) without a fix ignored`] : []),
    ...(closed > 0 ? [`${closed} closed or suppressed finding(s) not counted`] : []),
    ...[...expired.values()].map(
      (e) => `allowlist entry for ${e.cve} (owner ${e.owner}) expired ${e.expiresAt}`,
    ),
  ];
  const verdict: VerdictValue = reasons.length > 0 ? 'FAIL' : 'PASS';
  const summary =
    verdict === 'FAIL'
      ? `FAIL: ${reasons.join('; ')}${blocking[0] ? ` — worst: ${blocking[0].id} (${blocking[0].severity}${blocking[0].packageName ? ` in ${blocking[0].packageName}` : ''})` : ''}`
      : `PASS: ${counted.length} finding(s) within the policy`;
  return {
    verdict,
    summary,
    reasons: [...reasons, ...notes],
    counts,
    blocking,
    allowlisted,
    expiredAllowlist: [...expired.values()],
    policyHash: hash,
  };
}
