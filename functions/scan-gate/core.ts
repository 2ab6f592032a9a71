/**
 * Judges one scanned image: read its findings, decide the verdict, record it, and on FAIL notify,
 * quarantine or remove (through the cleanup's safe delete path) as the config says. On a PASS after a
 * FAIL the quarantine is lifted and security staff are told.
 */

import { type SafeDeletePorts, safeDelete } from '../cleanup/safe-delete.js';
import { type ImageReference, InUseUnavailableError, inUseFor } from '../shared/adapters/in-use.js';
import type { GateConfig } from '../shared/config/schema.js';
import { globToRegExp } from '../shared/lifecycle/match.js';
import {
  type Finding,
  normaliseFindings,
  type ScanFindingsOutput,
  scanFindingsOutputSchema,
} from './findings.js';
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
    ): Promise<{ tags: string[]; pushedAt?: number | undefined } | undefined>;
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
  readonly inUse: () => Promise<readonly ImageReference[]>;
  readonly deletes: SafeDeletePorts;
}

export interface GateOutcome {
  readonly image: ScannedImage;
  readonly verdict: Verdict['verdict'] | 'IMAGE_GONE';
  readonly summary: string;
  readonly actions: readonly string[];
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

export const quarantineTag = (prefix: string, digest: string) =>
  `${prefix}${digest.replace(/^sha256:/, '').slice(0, 12)}`;

export function consoleLink(image: ScannedImage): string {
  return `https://${image.region}.console.aws.amazon.com/ecr/repositories/private/${image.registryId}/${image.repository}/_/image/${image.digest}/details?region=${image.region}`;
}

export async function judgeImage(
  gate: GateConfig,
  image: ScannedImage,
  eventId: string,
  now: Date,
  ports: GatePorts,
): Promise<GateOutcome> {
  const meta = await ports.scans.image(image.repository, image.digest);
  if (!meta) return { image, verdict: 'IMAGE_GONE', summary: 'the image no longer exists', actions: [] };
  const repo = await ports.repository(image.repository);
  const policy = gatePolicyFor(gate, image.repository, repo?.tags);
  const { status, findings } = normaliseFindings(
    scanFindingsOutputSchema.parse(await ports.scans.scanFindings(image.repository, image.digest)),
  );
  const verdict = evaluateGate({
    policy,
    repository: image.repository,
    imageTags: meta.tags,
    pushedAt: meta.pushedAt,
    scanStatus: status,
    findings,
    now,
  });
  const previous = await ports.verdicts.latest(image);
  const actions: string[] = [];
  const tag = quarantineTag(gate.onFail.quarantine.tagPrefix, image.digest);
  let quarantined: string | undefined = previous?.quarantineTag;
  const subject = { ...image, tags: meta.tags };

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
      if (repo?.tagMutability?.startsWith('IMMUTABLE')) {
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
    if (gate.onFail.remove.enabled) actions.push(await remove(gate, subject, verdict, ports));
  } else if (verdict.verdict === 'PASS' && previous?.verdict === 'FAIL') {
    if (quarantined && meta.tags.includes(quarantined)) {
      if (meta.tags.some((t) => t !== quarantined)) {
        await ports.scans.removeTag(image.repository, quarantined);
        actions.push(`quarantine lifted: tag ${quarantined} removed`);
      } else {
        // Removing an image's last tag deletes the image; the tag stays and the record says the image passes.
        actions.push(
          `quarantine lifted in the record; tag ${quarantined} kept because it is the image's only tag`,
        );
      }
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
  });
  return { image, verdict: verdict.verdict, summary: verdict.summary, actions };
}

/** Removal of a failing image: never when it is in use (unless the config says so), always through the safe delete path. */
async function remove(
  gate: GateConfig,
  image: ScannedImage,
  verdict: Verdict,
  ports: GatePorts,
): Promise<string> {
  if (!gate.onFail.remove.allowInUse) {
    let refs: readonly ImageReference[];
    try {
      refs = await ports.inUse();
    } catch (e) {
      if (e instanceof InUseUnavailableError) return `not removed: ${e.message} (fail safe)`;
      throw e;
    }
    const use = inUseFor(refs, {
      registryId: image.registryId,
      region: image.region,
      name: image.repository,
    });
    const where =
      use.digests?.get(image.digest) ??
      [...(use.tags ?? [])].filter(([t]) => image.tags.includes(t)).flatMap(([, w]) => w);
    if (where.length > 0) return `not removed: in use by ${where.join(', ')}`;
  }
  const runId = `gate-${image.digest.slice(7, 19)}-${Date.now()}`;
  const result = await safeDelete(
    image.repository,
    [
      {
        digest: image.digest,
        sizeBytes: 0,
        signal: (status, extra) => ({
          registryId: image.registryId,
          region: image.region,
          repository: image.repository,
          digest: image.digest,
          status,
          evidence: extra?.evidence ?? 'steward-write-ahead',
          at: new Date().toISOString(),
          tags: image.tags,
          actor: {
            type: 'ecr-steward',
            runId,
            rulePriority: null,
            reasons: [`scan gate FAIL: ${verdict.summary}`],
          },
          ...extra,
        }),
      },
    ],
    ports.deletes,
  );
  if (result.breaker) return `not removed: breaker open for ${result.breaker.scope}`;
  if (result.failures.length > 0)
    return `removal failed: ${result.failures[0]?.code} ${result.failures[0]?.reason}`;
  return 'removed';
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

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
