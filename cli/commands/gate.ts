import { ECRClient } from '@aws-sdk/client-ecr';
import { gatePolicyFor } from '../../functions/scan-gate/core.js';
import {
  type CvssSource,
  normaliseFindings,
  readScanFindings,
  type ScanFindingsOutput,
  scanFindingsOutputSchema,
} from '../../functions/scan-gate/findings.js';
import { evaluateGate, policyHash, type Verdict } from '../../functions/scan-gate/gate.js';
import { type GatePolicy, gatePolicySchema } from '../../functions/scan-gate/policy.js';
import { signaturePart, withSignature } from '../../functions/scan-gate/signature-verdict.js';
import { type VerdictRecord, VerdictStore } from '../../functions/scan-gate/verdicts.js';
import { EcrScanReader } from '../../functions/shared/adapters/ecr.js';
import { readSignatureArtifacts } from '../../functions/shared/adapters/signatures.js';
import { CLIENT_DEFAULTS } from '../../functions/shared/runtime/clients.js';
import { ENV } from '../../functions/shared/runtime/constants.js';
import { loadCosignKey } from '../../functions/shared/signatures/cosign.js';
import {
  describeSignature,
  type SignaturePolicy,
  type SignatureStatus,
} from '../../functions/shared/signatures/model.js';
import { signatureStatus } from '../../functions/shared/signatures/verify.js';
import {
  dynamo,
  type LiveOptions,
  loadConfig,
  region,
  registryId,
  resolveRegion,
  verdictTableName,
} from '../aws.js';
import { type ImageRef, parseImageRef } from '../refs.js';
import {
  CliError,
  EXIT,
  ExitWith,
  oneLine,
  parseIsoTime,
  parseWithSchema,
  readJsonFile,
  readTextFile,
} from '../util.js';

/** Exit codes of the gate: what a pipeline branches on. */
export const GATE_EXIT = { PASS: 0, FAIL: 1, PENDING: 3 } as const;

export interface CheckOptions extends LiveOptions {
  readonly format: 'text' | 'json';
  readonly live?: boolean;
  readonly requireSignature?: boolean;
  /** `--public-key FILE`, repeatable; undefined when not given. */
  readonly publicKey?: readonly string[];
}

export interface EvaluateOptions {
  readonly policy: string;
  readonly findings: string;
  readonly repository: string;
  readonly tags?: string;
  readonly now?: string;
  readonly cvssSource: CvssSource;
  readonly format: 'text' | 'json';
}

function print(
  format: 'text' | 'json',
  out: Record<string, unknown> & { verdict: string; summary: string },
): never {
  process.stdout.write(format === 'json' ? `${JSON.stringify(out, null, 2)}\n` : `${out.summary}\n`);
  throw new ExitWith(GATE_EXIT[out.verdict as keyof typeof GATE_EXIT] ?? EXIT.internal);
}

/**
 * What `ecr-steward gate check` does. Its options and help are in cli/register/gate.ts, which loads this module
 * only when the command runs.
 */
export async function gateCheckCommand(image: string, opts: CheckOptions) {
  const ref = parseImageRef(image);
  if (opts.requireSignature) return checkSignature(image, ref, opts);
  if (opts.publicKey)
    throw new CliError('--public-key is a trusted signer for --require-signature: pass that too');
  const scans = new EcrScanReader(new ECRClient(CLIENT_DEFAULTS));
  const digest = ref.digest ?? (await scans.digestOfTag(ref.repository, ref.tag));
  if (!digest) throw new CliError(`${image}: no such image`, EXIT.findings);
  const key = {
    registryId: await registryId(opts),
    region: region(),
    repository: ref.repository,
    digest,
  };
  const named = opts.config ?? process.env.ECR_STEWARD_CONFIG;
  if (!opts.live) {
    const recorded = await new VerdictStore(dynamo(), verdictTableName(opts)).latest(key);
    // A verdict recorded under another policy than the named config's (signatures required since, a
    // stricter threshold) is stale: the image is judged again now instead.
    const current = named ? policyHash(gatePolicyFor(loadConfig(named).gate, ref.repository)) : undefined;
    if (recorded && current !== undefined && recorded.policyHash !== current)
      process.stderr.write(
        `the recorded verdict was given under another gate policy (${recorded.policyHash}, now ${current}): judging again\n`,
      );
    else if (recorded) print(opts.format, recordedJson(ref.repository, digest, recorded));
  }
  const config = loadConfig(opts.config);
  const meta = await scans.image(ref.repository, digest);
  if (!meta) throw new CliError(`${image}: no such image`, EXIT.findings);
  // Read as the function reads: every page, again while incomplete, so the verdict is the one it would record.
  const scan = await readScanFindings(
    // The adapter's page is the API's shape; readScanFindings parses it with the schema.
    async () => (await scans.scanFindings(ref.repository, digest)) as ScanFindingsOutput,
  );
  const verdict = evaluateGate({
    policy: gatePolicyFor(config.gate, ref.repository),
    repository: ref.repository,
    imageTags: meta.tags,
    pushedAt: meta.pushedAt,
    scanStatus: scan.status,
    findings: scan.findings,
    completeness: scan.completeness,
    cvssSource: config.gate.cvssSource,
    now: new Date(),
  });
  print(opts.format, { image: `${ref.repository}@${digest}`, ...verdictJson(verdict), source: 'live' });
}

/**
 * What `ecr-steward gate evaluate` does. Its options and help are in cli/register/gate.ts, which loads this module
 * only when the command runs.
 */
export async function gateEvaluateCommand(opts: EvaluateOptions) {
  const now = opts.now === undefined ? new Date() : parseIsoTime(opts.now, '--now');
  const policy = parseWithSchema(
    gatePolicySchema,
    await readJsonFile(opts.policy, '--policy'),
    opts.policy,
    '--policy',
    'a gate policy',
  );
  const output = parseWithSchema(
    scanFindingsOutputSchema,
    await readJsonFile(opts.findings, '--findings'),
    opts.findings,
    '--findings',
    'describe-image-scan-findings output',
  );
  const scan = normaliseFindings(output);
  // An offline file has no push time: a scan that is not complete is judged without the grace window.
  const verdict = evaluateGate({
    policy,
    repository: opts.repository,
    imageTags: opts.tags ? opts.tags.split(',') : [],
    scanStatus: scan.status,
    findings: scan.findings,
    completeness: scan.completeness,
    cvssSource: opts.cvssSource,
    now,
  });
  print(opts.format, verdictJson(verdict));
}

/** The recorded verdict as `gate check` prints it: still one line, the quarantine (if any) said at its end. */
function recordedJson(repository: string, digest: string, recorded: VerdictRecord) {
  return {
    image: `${repository}@${digest}`,
    verdict: recorded.verdict,
    summary: recorded.quarantinedAt
      ? `${recorded.summary} [quarantined since ${recorded.quarantinedAt}]`
      : recorded.summary,
    reasons: recorded.reasons,
    blocking: recorded.blocking,
    at: recorded.at,
    ...(recorded.quarantinedAt
      ? { quarantinedAt: recorded.quarantinedAt, quarantineTag: recorded.quarantineTag }
      : {}),
    source: 'recorded',
  };
}

/** What `gate check --require-signature` says when it has no trusted signer to verify against (exit 2). */
export const NO_TRUST_POLICY = 'no trust policy: pass --public-key FILE or --config with gate signatures';

/** A gate policy's `signatures` block, parsed (the shared contract's SignaturePolicy). */
export type GateSignatures = NonNullable<GatePolicy['signatures']>;

/** Where the trusted signers of `--require-signature` came from. */
export type TrustSource = 'public-key' | 'config';

/**
 * The trust policy `gate check --require-signature` verifies against, always `required`:
 * - `--public-key FILE` (repeatable): one cosign trust entry with those keys, one signature needed (as
 *   `cosign verify --key cosign.pub IMAGE` accepts a signature by its one key; sigstore/cosign
 *   `doc/cosign_verify.md`). The config's trust is then not used.
 * - else the `signatures` block of `configPolicy`, the gate policy that applies to the repository in the named
 *   config (`gatePolicyFor`): its trust and minSignatures, even where that policy does not require signatures;
 * - else a `CliError` (exit 2) with {@link NO_TRUST_POLICY}.
 * A key file that is not a cosign public key (ECDSA P-256 PEM) is refused with exit 2, naming the file.
 */
export async function signatureTrust(
  publicKeyFiles: readonly string[],
  configPolicy: GatePolicy | undefined,
): Promise<{ readonly policy: GateSignatures; readonly source: TrustSource }> {
  if (publicKeyFiles.length > 0) {
    const publicKeys: string[] = [];
    for (const file of publicKeyFiles) {
      const pem = await readTextFile(file, '--public-key');
      try {
        loadCosignKey(pem);
      } catch (e) {
        throw new CliError(`--public-key ${file}: ${oneLine((e as Error).message)}`);
      }
      publicKeys.push(pem);
    }
    return {
      policy: { required: true, trust: [{ type: 'cosign', publicKeys }], minSignatures: 1 },
      source: 'public-key',
    };
  }
  const block = configPolicy?.signatures;
  if (!block || block.trust.length === 0) throw new CliError(NO_TRUST_POLICY);
  return { policy: { ...block, required: true }, source: 'config' };
}

/**
 * Verifies an image's signatures directly from the registry: reads its signature artifacts (OCI 1.1 referrers
 * and cosign's `.sig` tag) with `ecr` (the caller's credentials) and checks them against `policy`. Nothing is
 * read from or written to a deployment.
 */
export async function verifyImageSignature(
  ecr: ECRClient,
  repository: string,
  digest: string,
  policy: SignaturePolicy,
  now: Date,
): Promise<SignatureStatus> {
  const artifacts = await readSignatureArtifacts(ecr, repository, digest, {
    onWarning: (message) => process.stderr.write(`warning: ${oneLine(message)}\n`),
  });
  return signatureStatus(digest, artifacts, policy, now);
}

/** The signature part as `--format json` prints it: `{status, identities?, why?}`. */
export function signatureJson(s: SignatureStatus): {
  status: SignatureStatus['status'];
  identities?: readonly string[];
  why?: string;
} {
  switch (s.status) {
    case 'SIGNED':
      return { status: s.status, identities: s.identities };
    case 'UNSIGNED':
      return { status: s.status };
    case 'INVALID':
      return { status: s.status, why: s.why };
    case 'UNTRUSTED':
      return { status: s.status, identities: s.identities, why: s.why };
  }
}

/** The worse of two exit codes of the gate: FAIL over PENDING over PASS. */
function worseExit(a: number, b: number): number {
  const rank = (code: number) => (code === GATE_EXIT.FAIL ? 2 : code === GATE_EXIT.PENDING ? 1 : 0);
  return rank(a) >= rank(b) ? a : b;
}

/**
 * `gate check IMAGE --require-signature`: the signature is always verified now, from the registry.
 * - `--live`: findings and signature judged together by the gate (`evaluateGate` with the policy's signatures
 *   required and the trust chosen by {@link signatureTrust}); an exempt tag exempts from findings, not from the
 *   signature. Exit as the verdict (0 PASS, 1 FAIL, 3 PENDING: unsigned within the grace window).
 * - otherwise, with a recorded verdict (a verdict table is named): both lines, the recorded verdict's and the
 *   signature's; exit the worse of the two, a signature that is not SIGNED counting as FAIL.
 * - otherwise (no deployment needed): the signature line alone; exit 0 when SIGNED, else 1.
 */
async function checkSignature(image: string, ref: ImageRef, opts: CheckOptions): Promise<never> {
  const explicitConfig = opts.config ?? process.env.ECR_STEWARD_CONFIG;
  // The trust is settled before anything is asked of AWS: a usage error costs no call.
  const config = opts.live || explicitConfig !== undefined ? loadConfig(opts.config) : undefined;
  const policy = config ? gatePolicyFor(config.gate, ref.repository) : undefined;
  const trust = await signatureTrust(opts.publicKey ?? [], explicitConfig !== undefined ? policy : undefined);
  await resolveRegion();
  const ecr = new ECRClient(CLIENT_DEFAULTS);
  const scans = new EcrScanReader(ecr);
  const digest = ref.digest ?? (await scans.digestOfTag(ref.repository, ref.tag));
  const meta = digest ? await scans.image(ref.repository, digest) : undefined;
  if (!digest || !meta) throw new CliError(`${image}: no such image`, EXIT.findings);
  const now = new Date();
  const status = await verifyImageSignature(ecr, ref.repository, digest, trust.policy, now);
  const signature = signatureJson(status);
  const signed = status.status === 'SIGNED';
  const subject = `${ref.repository}@${digest}`;

  if (opts.live && config && policy) {
    const scan = await readScanFindings(
      async () => (await scans.scanFindings(ref.repository, digest)) as ScanFindingsOutput,
    );
    const gatePolicy: GatePolicy = { ...policy, signatures: trust.policy };
    const judged = evaluateGate({
      policy: gatePolicy,
      repository: ref.repository,
      imageTags: meta.tags,
      pushedAt: meta.pushedAt,
      scanStatus: scan.status,
      findings: scan.findings,
      completeness: scan.completeness,
      cvssSource: config.gate.cvssSource,
      signature: status,
      now,
    });
    // The gate skips the signature part for an exempt tag; a required signature is not exempted here.
    const verdict =
      judged.signature === undefined
        ? withSignature(
            judged,
            signaturePart(status, { graceMinutes: policy.graceMinutes, pushedAt: meta.pushedAt, now }),
          )
        : judged;
    print(opts.format, { image: subject, ...verdictJson(verdict), signature, source: 'live' });
  }

  const signatureExit = signed ? GATE_EXIT.PASS : GATE_EXIT.FAIL;
  const table = opts.verdictTable ?? process.env[ENV.verdictTable];
  const recorded = table
    ? await new VerdictStore(dynamo(), verdictTableName(opts)).latest({
        registryId: await registryId(opts),
        region: region(),
        repository: ref.repository,
        digest,
      })
    : undefined;
  if (recorded) {
    const out = { ...recordedJson(ref.repository, digest, recorded), signature };
    const exit = worseExit(
      GATE_EXIT[recorded.verdict as keyof typeof GATE_EXIT] ?? EXIT.internal,
      signatureExit,
    );
    process.stdout.write(
      opts.format === 'json'
        ? `${JSON.stringify(out, null, 2)}\n`
        : `${out.summary}\n${describeSignature(status)}\n`,
    );
    throw new ExitWith(exit);
  }
  const out = {
    image: subject,
    verdict: signed ? 'PASS' : 'FAIL',
    summary: describeSignature(status),
    signature,
    trust: trust.source,
    source: 'registry',
  };
  process.stdout.write(opts.format === 'json' ? `${JSON.stringify(out, null, 2)}\n` : `${out.summary}\n`);
  throw new ExitWith(signatureExit);
}

function verdictJson(v: Verdict) {
  return {
    verdict: v.verdict,
    summary: v.summary,
    reasons: v.reasons,
    counts: v.counts,
    blocking: v.blocking,
    allowlisted: v.allowlisted.map((a) => ({
      id: a.finding.id,
      package: a.finding.packageName,
      owner: a.entry.owner,
      expiresAt: a.entry.expiresAt,
    })),
    expiredAllowlist: v.expiredAllowlist,
    policyHash: v.policyHash,
  };
}
