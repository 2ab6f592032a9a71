/**
 * Judges one scanned image: read its findings, decide the verdict, record it, and on FAIL notify, quarantine or
 * remove as the config says. A removal goes through the one deletion path (functions/shared/deletion: its
 * guard, notices and soft delete), like every other delete. On a PASS after a FAIL the quarantine is lifted and
 * security staff are told.
 */

import { type ImageReference, InUseUnavailableError, inUseFor } from '../shared/adapters/in-use.js';
import type { ApprovalPorts } from '../shared/approvals/lifecycle.js';
import type { EffectiveGovernance, GateConfig, Selection } from '../shared/config/schema.js';
import type { DeletionCaller } from '../shared/deletion/guard.js';
import { type OpenRecord, runDeletion } from '../shared/deletion/run.js';
import type { SafeDeletePorts } from '../shared/deletion/safe-delete.js';
import { globToRegExp } from '../shared/lifecycle/match.js';
import type { Hold, InUse } from '../shared/lifecycle/types.js';
import { stripUndefined } from '../shared/runtime/format.js';
import type { SignatureArtifact } from '../shared/signatures/model.js';
import { signatureStatus } from '../shared/signatures/verify.js';
import { type Finding, readScanFindings, SCAN_REREAD, type ScanFindingsOutput } from './findings.js';
import { evaluateGate, type Verdict } from './gate.js';
import type { GatePolicy } from './policy.js';
import type { ScannedImage } from './schema.js';
import type { VerdictRecord } from './verdicts.js';

export interface GatePorts {
  readonly scans: {
    scanFindings(repository: string, digest: string): Promise<ScanFindingsOutput>;
    image(
      repository: string,
      digest: string,
    ): Promise<
      { tags: string[]; pushedAt?: number | undefined; subjectDigest?: string | undefined } | undefined
    >;
    /** The image's manifest as pushed, or undefined when there is none. */
    manifest(repository: string, digest: string): Promise<string | undefined>;
    addTag(repository: string, digest: string, tag: string): Promise<void>;
    removeTag(repository: string, tag: string): Promise<void>;
  };
  readonly repository: (
    name: string,
  ) => Promise<{ tagMutability?: string | undefined; tags?: Record<string, string> } | undefined>;
  readonly verdicts: {
    latest(ref: ScannedImage): Promise<VerdictRecord | undefined>;
    put(record: Omit<VerdictRecord, 'pk' | 'sk'>): Promise<boolean>;
  };
  readonly notify: (subject: string, message: string) => Promise<void>;
  /** Image references in use in the image's account and region (InUseUnavailableError when unreadable). */
  readonly inUse: (image: { registryId: string; region: string }) => Promise<readonly ImageReference[]>;
  readonly deletes: SafeDeletePorts & { readonly approvals?: ApprovalPorts | undefined };
  /**
   * When the audit table last recorded this digest DELETED from this repository, if ever. A digest deleted
   * after its quarantine began and pushed again is a new image: its quarantine starts afresh.
   */
  readonly deletedAt: (ref: ScannedImage) => Promise<string | undefined>;
  /**
   * The cleanup selection that manages the repository (`selectionFor`), or undefined when none does. The gate
   * removes and tags only in managed repositories, through the same deletion guard as the cleanup: its holds,
   * protected tags and minimum age keep an image from the gate too.
   */
  readonly selection: (
    repository: string,
    repositoryTags?: Readonly<Record<string, string>>,
  ) => Selection | undefined;
  /** Holds placed from the CLI on the repository; throws when unreadable (then nothing is removed). */
  readonly holds?:
    | ((ref: { registryId: string; region: string; repository: string }) => Promise<readonly Hold[]>)
    | undefined;
  /** The notice period and soft delete for a selection's repositories. @default none */
  readonly governance?: ((selection: Selection) => EffectiveGovernance) | undefined;
  /** The image's open audit record (a notice given, an archive), if any. */
  readonly openRecord?:
    | ((ref: {
        registryId: string;
        region: string;
        repository: string;
        digest: string;
      }) => Promise<OpenRecord | undefined>)
    | undefined;
  /**
   * The image's signature artifacts (OCI 1.1 referrers and cosign's `.sig` tag, with their blobs), read only
   * when the gate policy requires signatures. @default none read: a policy requiring signatures cannot PASS
   */
  readonly signatures?:
    | ((repository: string, digest: string) => Promise<readonly SignatureArtifact[]>)
    | undefined;
  /** Sends the notice of a removal the gate scheduled. */
  readonly notifyScheduled?:
    | ((notice: {
        image: ScannedImage;
        dueAt: string;
        why: string;
        runId: string;
        governance: EffectiveGovernance;
      }) => Promise<void>)
    | undefined;
}

/** The quarantine index of the verdict table, for the quarantine expiry. */
export interface ExpiryPorts extends GatePorts {
  readonly quarantine: {
    /** LATEST verdicts of quarantined images due at or before `cutoff`, longest due first, at most `limit`. */
    dueForExpiry(cutoff: string, limit: number): Promise<VerdictRecord[]>;
    /** Takes a gone image out of the quarantine unless a verdict newer than `at` was written. */
    release(ref: VerdictRecord, at: string): Promise<void>;
    /** Moves a kept image's turn in the index to `until` unless a verdict newer than `at` was written. */
    defer(ref: VerdictRecord, at: string, until: string): Promise<void>;
  };
}

export interface JudgeOptions {
  /** `dry-run` removes nothing: a removal is recorded as PLANNED in the audit table and reported. */
  readonly mode: 'dry-run' | 'enforce';
  /** The run a removal's audit record names (the expiry run); one is made up per removal otherwise. */
  readonly runId?: string | undefined;
  /** How many images this judgement may remove (the config's bounds). @default 1 */
  readonly allowance?: number | undefined;
}

export interface GateOutcome {
  readonly image: ScannedImage;
  readonly verdict: Verdict['verdict'] | 'IMAGE_GONE';
  readonly summary: string;
  readonly actions: readonly string[];
  /** Set when the image was to be removed (removal on, or its quarantine expired): what became of it and why. */
  readonly removal?: Removal | undefined;
}

export interface Removal {
  /** `scheduled`: a notice was given; the removal happens at its due time, when the image is judged again. */
  readonly outcome: 'removed' | 'planned' | 'kept' | 'scheduled';
  /** The action as recorded (e.g. `not removed: in use by …`). */
  readonly action: string;
}

/** The gate policy for a repository: the first matching selection, else the default. */
export function gatePolicyFor(
  gate: GateConfig,
  repository: string,
  tags?: Record<string, string>,
): GatePolicy {
  const match = gate.selections.find((s) => {
    if (s.repositories && !s.repositories.some((g) => globToRegExp(g).test(repository))) return false;
    if (s.repositoryTags) {
      if (!tags) return false;
      for (const [k, v] of Object.entries(s.repositoryTags)) if (tags[k] !== v) return false;
    }
    return true;
  });
  return match?.policy ?? gate.policy;
}

/** How many blocking findings (the most severe) a verdict record keeps. */
const RECORDED_BLOCKING = 50;

/**
 * Whether an image claims to be a signature, an attestation or an SBOM: a referrer (OCI 1.1 subject) or an image
 * under cosign's tag scheme (`sha256-<hex>.sig|.att|.sbom`). A claim only: whoever pushes chooses the tags and
 * the subject, so the gate believes it only of a manifest with nothing to run (`isArtifactManifest`).
 */
export function isSignatureArtifact(meta: {
  tags: readonly string[];
  subjectDigest?: string | undefined;
}): boolean {
  return (
    meta.subjectDigest !== undefined ||
    meta.tags.some((t) => /^sha256-[a-f0-9]{64}\.(?:sig|att|sbom)$/.test(t))
  );
}

/** A layer that is a container filesystem (OCI or Docker, any compression, foreign or not): something to run. */
const FILESYSTEM_LAYER =
  /^application\/vnd\.(?:oci\.image\.layer\.(?:nondistributable\.)?v1\.tar|docker\.image\.rootfs\.(?:foreign\.)?diff\.tar)/;

/**
 * True for a manifest that cannot be run: an image manifest whose layers are all something other than a
 * filesystem (cosign's simple-signing payload, a Notation envelope, an in-toto attestation, an SBOM document).
 * An image index, a schema-1 manifest, a manifest with a filesystem layer, and one that is unreadable are not
 * artifacts: the gate judges them as images.
 */
export function isArtifactManifest(body: string | undefined): boolean {
  if (body === undefined) return false;
  let manifest: unknown;
  try {
    manifest = JSON.parse(body);
  } catch {
    return false;
  }
  if (typeof manifest !== 'object' || manifest === null) return false;
  const { layers, manifests } = manifest as { layers?: unknown; manifests?: unknown };
  if (manifests !== undefined || !Array.isArray(layers)) return false;
  return layers.every(
    (l) =>
      typeof l === 'object' &&
      l !== null &&
      typeof (l as { mediaType?: unknown }).mediaType === 'string' &&
      !FILESYSTEM_LAYER.test((l as { mediaType: string }).mediaType),
  );
}

export const quarantineTag = (prefix: string, digest: string) =>
  `${prefix}${digest.replace(/^sha256:/, '').slice(0, 12)}`;

export function consoleLink(image: ScannedImage): string {
  return `https://${image.region}.console.aws.amazon.com/ecr/repositories/private/${image.registryId}/${image.repository}/_/image/${image.digest}/details?region=${image.region}`;
}

const DAY_MS = 86_400_000;

/** When a quarantine that began at `quarantinedAt` expires, if the config gives it an expiry. */
export function quarantineExpiresAt(gate: GateConfig, quarantinedAt: string | undefined): Date | undefined {
  const days = gate.onFail.quarantine.expireAfterDays;
  if (!gate.onFail.quarantine.enabled || days === undefined || quarantinedAt === undefined) return undefined;
  return new Date(Date.parse(quarantinedAt) + days * DAY_MS);
}

export async function judgeImage(
  gate: GateConfig,
  image: ScannedImage,
  eventId: string,
  now: Date,
  ports: GatePorts,
  options: JudgeOptions,
): Promise<GateOutcome> {
  const meta = await ports.scans.image(image.repository, image.digest);
  if (!meta) return { image, verdict: 'IMAGE_GONE', summary: 'the image no longer exists', actions: [] };
  const repo = await ports.repository(image.repository);
  const policy = gatePolicyFor(gate, image.repository, repo?.tags);
  const selection = ports.selection(image.repository, repo?.tags);
  const { status, findings, completeness } = await readScanFindings(
    () => ports.scans.scanFindings(image.repository, image.digest),
    SCAN_REREAD,
  );
  // Signatures are verified, not counted: every artifact is checked against the policy's trusted signers. A
  // signature or attestation is not itself signed: it is judged on its findings only (it goes with its subject).
  // An image that says it is one (by a tag or a subject, which whoever pushes chooses) is taken for an artifact
  // only when its manifest has nothing to run: an unsigned image with a `sha256-….sig` tag is judged as an image.
  // The manifest is read only where the answer matters: a required signature, or a removal.
  const claimsArtifact = isSignatureArtifact(meta);
  let checkedArtifact: Promise<boolean> | undefined;
  const isArtifact = () =>
    (checkedArtifact ??= claimsArtifact
      ? ports.scans.manifest(image.repository, image.digest).then(isArtifactManifest)
      : Promise.resolve(false));
  const artifact = policy.signatures?.required ? await isArtifact() : claimsArtifact;
  const signature =
    policy.signatures?.required && ports.signatures && !artifact
      ? signatureStatus(
          image.digest,
          await ports.signatures(image.repository, image.digest),
          policy.signatures,
          now,
        )
      : undefined;
  const verdict = evaluateGate({
    policy: artifact && policy.signatures ? { ...policy, signatures: undefined } : policy,
    repository: image.repository,
    imageTags: meta.tags,
    pushedAt: meta.pushedAt,
    scanStatus: status,
    findings,
    completeness,
    cvssSource: gate.cvssSource,
    signature,
    now,
  });
  const previous = await ports.verdicts.latest(image);
  const actions: string[] = [];
  const tag = quarantineTag(gate.onFail.quarantine.tagPrefix, image.digest);
  let quarantined: string | undefined = previous?.quarantineTag;
  // Records written before `quarantinedAt` existed date the quarantine from their own time (later, so safe).
  const wasQuarantinedAt =
    previous?.quarantinedAt ?? (previous?.quarantineTag !== undefined ? previous.at : undefined);
  const wasFailing = previous?.verdict === 'FAIL' || wasQuarantinedAt !== undefined;
  let quarantinedAt: string | undefined = verdict.verdict === 'PASS' ? undefined : wasQuarantinedAt;
  const subject = { ...image, tags: meta.tags };
  let removal: Removal | undefined;

  if (verdict.verdict === 'FAIL') {
    // The record keeps the most severe RECORDED_BLOCKING only: compare within that window, or an image with more
    // blocking findings than that would be notified again on every identical evaluation.
    const newBlocking = verdict.blocking
      .slice(0, RECORDED_BLOCKING)
      .filter(
        (f) => !(previous?.blocking ?? []).some((p) => p.id === f.id && p.packageName === f.packageName),
      );
    if (gate.onFail.notify && (previous?.verdict !== 'FAIL' || newBlocking.length > 0)) {
      await ports.notify(
        ...failMessage(subject, verdict, newBlocking.length > 0 && previous?.verdict === 'FAIL'),
      );
      actions.push('notified');
    }
    if (gate.onFail.quarantine.enabled) {
      quarantinedAt ??= now.toISOString();
      if (!selection) {
        // ECR Steward writes only to the repositories it manages (its IAM says the same).
        actions.push(
          `not tagged: ${image.repository} is not managed by any selection, so the quarantine is kept in the verdict record only`,
        );
      } else if (repo?.tagMutability?.startsWith('IMMUTABLE')) {
        actions.push(
          `not tagged: ${image.repository} has immutable tags, so the quarantine is kept in the verdict record only`,
        );
      } else if (!meta.tags.includes(tag)) {
        await ports.scans.addTag(image.repository, image.digest, tag);
        quarantined = tag;
        actions.push(`quarantined with tag ${tag}`);
      } else {
        quarantined = tag;
      }
    }
    const expiresAt = quarantineExpiresAt(gate, quarantinedAt);
    let expired = expiresAt !== undefined && now.getTime() >= expiresAt.getTime();
    if (expired && !gate.onFail.remove.enabled) {
      const deletedAt = await ports.deletedAt(image);
      if (deletedAt !== undefined && quarantinedAt !== undefined && deletedAt > quarantinedAt) {
        // The digest was deleted while quarantined and pushed again: not the image the quarantine began on.
        removal = {
          outcome: 'kept',
          action: `quarantine restarted: the digest was deleted at ${deletedAt} and pushed again`,
        };
        actions.push(removal.action);
        quarantinedAt = now.toISOString();
        expired = false;
      }
    }
    // A FAIL that rests on missing scan data alone blocks and quarantines, but never deletes: the scanner's
    // silence is no evidence against the image.
    const onIncompleteDataOnly = !completeness.complete && verdict.blocking.length === 0;
    if ((gate.onFail.remove.enabled || expired) && (await isArtifact())) {
      // A signature goes with its image: the lifecycle removes it with its subject, the gate never alone.
      removal = {
        outcome: 'kept',
        action: 'not removed: a signature or attestation goes with its image, never on its own',
      };
      actions.push(removal.action);
    } else if ((gate.onFail.remove.enabled || expired) && onIncompleteDataOnly) {
      removal = {
        outcome: 'kept',
        action: 'not removed: the FAIL rests on incomplete scan data alone, which never removes an image',
      };
      actions.push(removal.action);
    } else if (gate.onFail.remove.enabled || expired) {
      const why = gate.onFail.remove.enabled
        ? `scan gate FAIL: ${verdict.summary}`
        : `quarantined since ${quarantinedAt} and still failing after ${gate.onFail.quarantine.expireAfterDays} days: ${verdict.summary}`;
      const result = await remove(gate, subject, why, ports, options, {
        selection,
        now,
        caller: gate.onFail.remove.enabled ? 'gate-removal' : 'quarantine-expiry',
      });
      removal =
        result.outcome === 'removed' && !gate.onFail.remove.enabled
          ? { outcome: 'removed', action: `removed: ${why}` }
          : result;
      actions.push(removal.action);
      if (removal.outcome === 'removed') {
        quarantined = undefined;
        quarantinedAt = undefined;
        if (!gate.onFail.remove.enabled && gate.onFail.notify) {
          await ports.notify(...expiryMessage(subject, verdict, why));
          actions.push('notified removal');
        }
      }
    }
  } else if (verdict.verdict === 'PASS' && wasFailing) {
    // Also after FAIL ─► PENDING ─► PASS: the quarantine set at the FAIL is lifted all the same.
    if (quarantined && meta.tags.includes(quarantined) && selection) {
      actions.push(await liftQuarantine(image, quarantined, ports));
      quarantined = undefined;
    }
    if (gate.notifyOnRecovery) {
      await ports.notify(
        `ECR Steward: ${image.repository} image now passes the scan gate`.slice(0, 100),
        `${image.repository}@${image.digest} now passes: ${verdict.summary}\n${verdict.reasons.join('\n')}\n${consoleLink(image)}`,
      );
      actions.push('notified recovery');
    }
  }
  const expiredNew = verdict.expiredAllowlist.filter(
    (e) =>
      !(previous?.reasons ?? []).some((r) =>
        r.includes(`allowlist entry for ${e.cve} (owner ${e.owner}) expired`),
      ),
  );
  if (expiredNew.length > 0) {
    await ports.notify(
      `ECR Steward: ${expiredNew.length} CVE allowlist entr${expiredNew.length === 1 ? 'y has' : 'ies have'} expired`,
      expiredNew
        .map(
          (e) =>
            `${e.cve} (owner ${e.owner}, reason: ${e.reason}) expired ${e.expiresAt}; it no longer applies to ${image.repository}@${image.digest}. Renew or remove it in the gate policy.`,
        )
        .join('\n'),
    );
    actions.push('allowlist expiry reminder sent');
  }

  await ports.verdicts.put({
    registryId: image.registryId,
    region: image.region,
    repository: image.repository,
    digest: image.digest,
    tags: meta.tags,
    verdict: verdict.verdict,
    summary: verdict.summary,
    reasons: verdict.reasons,
    counts: verdict.counts as Record<string, number>,
    blocking: verdict.blocking.slice(0, RECORDED_BLOCKING).map(stripUndefined),
    policyHash: verdict.policyHash,
    at: now.toISOString(),
    trigger: image.trigger,
    eventId,
    actions,
    quarantineTag: quarantined,
    quarantinedAt,
    signature: verdict.signature,
  });
  return { image, verdict: verdict.verdict, summary: verdict.summary, actions, removal };
}

/**
 * Removes the quarantine tag of a passing image, unless that would delete it. The tag is removed with
 * BatchDeleteImage by tag, and removing an image's last tag deletes the image; the tags read before the findings
 * may be seconds old by now (a push can move a tag away meanwhile), so they are read again right before the
 * removal. What remains is the moment between this read and the call, which ECR offers no way to close.
 */
async function liftQuarantine(image: ScannedImage, tag: string, ports: GatePorts): Promise<string> {
  const current = await ports.scans.image(image.repository, image.digest);
  if (!current) return 'quarantine lifted in the record; the image is gone';
  if (!current.tags.includes(tag))
    return `quarantine lifted in the record; tag ${tag} is no longer on the image`;
  if (!current.tags.some((t) => t !== tag))
    // The tag stays and the record says the image passes.
    return `quarantine lifted in the record; tag ${tag} kept because it is the image's only tag`;
  await ports.scans.removeTag(image.repository, tag);
  return `quarantine lifted: tag ${tag} removed`;
}

/**
 * Removal of a failing image through the one deletion path: the guard keeps it when no selection manages the
 * repository, when it is on hold, in use (unless the config allows that), protected by tag or younger than the
 * minimum age, when the breaker is open or the bounds are spent; dry-run records PLANNED; enforce deletes with
 * a write-ahead audit record.
 */
async function remove(
  gate: GateConfig,
  image: ScannedImage,
  why: string,
  ports: GatePorts,
  { mode, runId = `gate-${image.digest.slice(7, 19)}-${Date.now()}`, allowance = 1 }: JudgeOptions,
  context: {
    selection: Selection | undefined;
    now: Date;
    caller: DeletionCaller;
  },
): Promise<Removal> {
  const kept = (action: string): Removal => ({ outcome: 'kept', action });
  const ref = { registryId: image.registryId, region: image.region, repository: image.repository };
  // The guard judges the tags the image has now: those read before the findings (seconds ago) lack the
  // quarantine tag just added, and a push may have moved a protected or held tag onto the image meanwhile.
  const current = await ports.scans.image(image.repository, image.digest);
  if (!current) return { outcome: 'removed', action: 'removed (it was already gone)' };
  let holds: readonly Hold[] = [];
  try {
    holds = (await ports.holds?.(ref)) ?? [];
  } catch (e) {
    return kept(`not removed: the holds table could not be read (${(e as Error).message}) (fail safe)`);
  }
  const governance = context.selection ? ports.governance?.(context.selection) : undefined;
  const governed =
    governance !== undefined &&
    (governance.notice.hours > 0 ||
      governance.softDelete.mode === 'archive' ||
      governance.approval.required !== 'never');
  // A removal in a repository whose deletions need an approval waits for one, like the cleanup's. The gate
  // judges one image at a time, so a size threshold (overImages, overBytes) is never crossed by one removal:
  // under any threshold every gate removal asks.
  const configured = governed ? governance.approval.required : 'never';
  const required = typeof configured === 'object' ? ('always' as const) : configured;
  const approval =
    required !== 'never' && context.selection
      ? {
          required,
          expiresAfterHours: governance!.approval.expiresAfterHours,
          selection: context.selection.name ?? context.selection.repositories?.join(','),
          repositoryTags: undefined,
          reason: `the scan gate removes ${image.repository}@${image.digest}: ${why}`,
          approvers: governance!.approval.approvers,
        }
      : undefined;
  const record = governed ? await ports.openRecord?.({ ...ref, digest: image.digest }) : undefined;
  let inUse: InUse | 'unavailable' | undefined;
  if (!gate.onFail.remove.allowInUse && context.selection) {
    try {
      inUse = inUseFor(await ports.inUse(image), {
        registryId: image.registryId,
        region: image.region,
        name: image.repository,
      });
    } catch (e) {
      if (!(e instanceof InUseUnavailableError)) throw e;
      inUse = 'unavailable';
    }
  }
  const result = await runDeletion(
    {
      repository: { registryId: image.registryId, region: image.region, name: image.repository },
      caller: context.caller,
      mode,
      runId,
      now: context.now,
      selection: context.selection,
      inUse,
      allowance,
      holds,
      governance: governed ? governance : undefined,
      approval,
      open: record ? [record] : [],
      // The notice goes out before the record that says it was given.
      announce: async (scheduled) => {
        for (const { dueAt } of scheduled)
          await ports.notifyScheduled?.({ image, dueAt, why, runId, governance: governance! });
      },
      candidates: [
        {
          digest: image.digest,
          tags: current.tags,
          pushedAt: current.pushedAt === undefined ? undefined : new Date(current.pushedAt).toISOString(),
          sizeBytes: 0,
          rulePriority: null,
          reasons: [why],
        },
      ],
    },
    ports.deletes,
  );
  const decision = result.decisions[0];
  if (result.cancelled.length > 0)
    return kept(`not removed: ${result.cancelled[0]?.reason}; notice cancelled`);
  if (!decision || decision.action === 'keep')
    return kept(`not removed: ${decision?.reason ?? 'no decision'}`);
  if (decision.action === 'schedule') {
    return { outcome: 'scheduled', action: `removal scheduled: ${decision.reason}` };
  }
  if (result.archived > 0)
    return { outcome: 'removed', action: 'archived (soft delete; restorable with ecr-steward restore)' };
  if (decision.action === 'plan')
    return { outcome: 'planned', action: 'would be removed (dry-run): recorded as PLANNED' };
  if (result.breaker) return kept(`not removed: breaker open for ${result.breaker.scope}`);
  if (result.failures.length > 0)
    return kept(`removal failed: ${result.failures[0]?.code} ${result.failures[0]?.reason}`);
  if (result.alreadyGone > 0) return { outcome: 'removed', action: 'removed (it was already gone)' };
  return { outcome: 'removed', action: 'removed' };
}

export interface ExpiryReport {
  readonly runId: string;
  readonly mode: JudgeOptions['mode'];
  /** Quarantined images whose expiry had come, judged in this run. */
  readonly due: number;
  readonly removed: number;
  /** Dry-run: images that would have been removed (PLANNED audit records). */
  readonly planned: number;
  /** Images that pass now (fixed, allowlisted, policy relaxed): quarantine lifted, not removed. */
  readonly released: number;
  /** Images no longer in ECR: taken out of the quarantine index. */
  readonly gone: number;
  /** Still failing (or pending) but not removed, with the reason (in use, breaker open, …). */
  readonly kept: readonly { repository: string; digest: string; verdict: string; reason: string }[];
  readonly failures: readonly { repository: string; digest: string; error: string }[];
  /** More images were due than this run may judge; they wait for the next run. */
  readonly more: boolean;
}

/** One quarantine expiry run: its id, mode, how many images it judges, and what it may delete. */
export interface ExpiryRun {
  readonly runId: string;
  readonly mode: JudgeOptions['mode'];
  /** How many due images this run judges (the run's bound on deletes caps it). */
  readonly limit: number;
  /**
   * The config's bounds: at most `maxDeletesPerRepository` removals (or, in dry-run, planned removals) per
   * repository in this run; the images over it are kept with the guard's `bounds` reason and deferred.
   */
  readonly bounds: { readonly maxDeletesPerRepository: number };
}

/**
 * The quarantine expiry: every quarantined image whose expiry has come is judged again with its current
 * findings and the current policy. Still failing: removed (see `remove`), within the bounds per repository.
 * Passing now: released. Gone: taken out of the index. At most `limit` images per run, oldest quarantine first.
 */
export async function expireQuarantined(
  gate: GateConfig,
  run: ExpiryRun,
  now: Date,
  ports: ExpiryPorts,
): Promise<ExpiryReport> {
  const days = gate.onFail.quarantine.expireAfterDays;
  const report = {
    runId: run.runId,
    mode: run.mode,
    due: 0,
    removed: 0,
    planned: 0,
    released: 0,
    gone: 0,
    kept: [] as { repository: string; digest: string; verdict: string; reason: string }[],
    failures: [] as { repository: string; digest: string; error: string }[],
    more: false,
  };
  if (!gate.enabled || !gate.onFail.quarantine.enabled || days === undefined || run.limit <= 0) return report;
  const cutoff = now.getTime() - days * DAY_MS;
  const due = await ports.quarantine.dueForExpiry(new Date(cutoff).toISOString(), run.limit + 1);
  report.more = due.length > run.limit;
  // Removals so far in this run, per repository: each judgement gets what is left of the repository's bound,
  // or 100 due images of one repository would all go in one run.
  const removedIn = new Map<string, number>();
  for (const [i, record] of due.slice(0, run.limit).entries()) {
    report.due++;
    const image: ScannedImage = {
      registryId: record.registryId,
      region: record.region,
      repository: record.repository,
      digest: record.digest,
      tags: record.tags,
      trigger: 'quarantine-expiry',
    };
    const repositoryKey = `${image.registryId}/${image.region}/${image.repository}`;
    const removedSoFar = removedIn.get(repositoryKey) ?? 0;
    try {
      const outcome = await judgeImage(gate, image, run.runId, now, ports, {
        mode: run.mode,
        runId: run.runId,
        allowance: Math.max(0, run.bounds.maxDeletesPerRepository - removedSoFar),
      });
      // A dry run's planned removal counts as well: its plan shows what an enforcing run would do.
      if (outcome.removal?.outcome === 'removed' || outcome.removal?.outcome === 'planned')
        removedIn.set(repositoryKey, removedSoFar + 1);
      if (outcome.verdict === 'IMAGE_GONE') {
        await ports.quarantine.release(record, record.at);
        report.gone++;
      } else if (outcome.verdict === 'PASS') {
        report.released++;
      } else if (outcome.removal?.outcome === 'removed') {
        report.removed++;
      } else {
        if (outcome.removal?.outcome === 'planned') report.planned++;
        else
          report.kept.push({
            repository: image.repository,
            digest: image.digest,
            verdict: outcome.verdict,
            reason: outcome.removal?.action ?? `verdict ${outcome.verdict}: ${outcome.summary}`,
          });
        // Still quarantined: its next turn comes after the images this run did not reach (kept in this order).
        await ports.quarantine.defer(record, now.toISOString(), new Date(cutoff + i + 1).toISOString());
      }
    } catch (e) {
      report.failures.push({
        repository: image.repository,
        digest: image.digest,
        error: (e as Error).message,
      });
    }
  }
  return report;
}

function expiryMessage(image: ScannedImage, verdict: Verdict, why: string): [string, string] {
  return [
    `ECR Steward: ${image.repository} image removed after its quarantine expired`.slice(0, 100),
    [
      `${image.repository}@${image.digest}${image.tags.length > 0 ? ` [${image.tags.join(', ')}]` : ''} was removed.`,
      why,
      '',
      ...verdict.reasons.map((r) => `- ${r}`),
      '',
      `Audit: npx ecr-steward audit --repository ${image.repository}`,
    ].join('\n'),
  ];
}

function failMessage(image: ScannedImage, verdict: Verdict, newFindings: boolean): [string, string] {
  const subject =
    `ECR Steward: ${image.repository} image ${newFindings ? 'has new blocking findings' : 'fails the scan gate'}`.slice(
      0,
      100,
    );
  const top = verdict.blocking.slice(0, 10).map((f: Finding) => {
    const pkg = f.packageName ? ` in ${f.packageName}${f.packageVersion ? ` ${f.packageVersion}` : ''}` : '';
    const fix = f.fixedInVersion
      ? `, fixed in ${f.fixedInVersion}`
      : f.fixAvailable === false
        ? ', no fix available'
        : '';
    return `  ${f.severity.padEnd(8)} ${f.id}${pkg}${fix}${f.cvss !== undefined ? ` (CVSS ${f.cvss})` : ''}`;
  });
  const body = [
    `${image.repository}@${image.digest}${image.tags.length > 0 ? ` [${image.tags.join(', ')}]` : ''}`,
    verdict.summary,
    '',
    'Top blocking findings:',
    ...top,
    ...(verdict.blocking.length > 10 ? [`  … and ${verdict.blocking.length - 10} more`] : []),
    '',
    ...verdict.reasons.map((r) => `- ${r}`),
    '',
    `Console: ${consoleLink(image)}`,
    `Pipelines: npx ecr-steward gate check ${image.repository}@${image.digest}`,
  ];
  return [subject, body.join('\n')];
}
