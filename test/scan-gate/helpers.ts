/**
 * Shared pieces of the scan gate tests: finding and policy builders, the committed DescribeImageScanFindings
 * samples, and in-memory ports for judgeImage. Every port call is appended to one journal, so a test can assert
 * the order of calls across ports (the write-ahead PENDING record before the delete call, and so on).
 */
import { readFileSync } from 'node:fs';
import type { ExpiryPorts } from '../../functions/scan-gate/core.js';
import type { Completeness, Finding, ScanFindingsOutput } from '../../functions/scan-gate/findings.js';
import {
  type GatePolicy,
  type GatePolicyInput,
  gatePolicySchema,
  type Severity,
} from '../../functions/scan-gate/policy.js';
import type { ScannedImage } from '../../functions/scan-gate/schema.js';
import { type VerdictRecord, verdictPk } from '../../functions/scan-gate/verdicts.js';
import type { DeleteOutcome } from '../../functions/shared/adapters/ecr.js';
import type { ImageReference } from '../../functions/shared/adapters/in-use.js';
import type { DeleteSignal } from '../../functions/shared/audit/records.js';
import { type GateConfig, gateConfigSchema } from '../../functions/shared/config/schema.js';
import type { Hold } from '../../functions/shared/lifecycle/types.js';
import type { BreakerScope } from '../../functions/shared/state/breaker.js';
import { digestOf } from '../fixtures/images.js';

export const ACCOUNT = '123456789012';
export const REGION = 'us-west-2';
export const REPO = 'services/orders';
export const DIGEST = digestOf('services/orders:v1');
/** The instant every gate test judges at. */
export const NOW = new Date('2026-06-01T12:00:00.000Z');

export const policy = (input: GatePolicyInput = {}): GatePolicy => gatePolicySchema.parse(input);
export const gateConfig = (input: Record<string, unknown> = {}): GateConfig => gateConfigSchema.parse(input);

/** One normalised finding (ACTIVE unless `extra.status` says otherwise). */
export function finding(id: string, severity: Severity, extra: Partial<Finding> = {}): Finding {
  return { id, severity, ...extra };
}

/** `n` distinct findings of one severity. */
export const findings = (n: number, severity: Severity, prefix = `CVE-2026-${severity}`): Finding[] =>
  Array.from({ length: n }, (_, i) => finding(`${prefix}-${i}`, severity));

/** The committed `describe-image-scan-findings` outputs (test/fixtures/findings, see its README). */
export type FindingsFixture =
  | 'basic'
  | 'enhanced'
  | 'enhanced-complete-empty-aws-sdk-289'
  | 'enhanced-active-old-client-aws-cli-6759'
  | 'enhanced-complete-counts-without-findings'
  | 'basic-counts-without-findings'
  | 'basic-missing-completion-time'
  | 'basic-unknown-status'
  | 'enhanced-inspector-vs-nvd';

/** A committed `describe-image-scan-findings` output, as parsed JSON (a fresh copy every call). */
export function loadFindings(file: FindingsFixture): ScanFindingsOutput {
  return JSON.parse(
    readFileSync(
      new URL(`../fixtures/findings/describe-image-scan-findings-${file}.json`, import.meta.url),
      'utf8',
    ),
  ) as ScanFindingsOutput;
}

/** The committed pages of one paged answer (`basic-pages-short`): DescribeImageScanFindings responses. */
export function loadFindingsPages(file: 'basic-pages-short'): Record<string, unknown>[] {
  return JSON.parse(
    readFileSync(
      new URL(`../fixtures/findings/describe-image-scan-findings-${file}.json`, import.meta.url),
      'utf8',
    ),
  ) as Record<string, unknown>[];
}

export const FINDINGS_FILE = {
  basic: new URL('../fixtures/findings/describe-image-scan-findings-basic.json', import.meta.url).pathname,
  enhanced: new URL('../fixtures/findings/describe-image-scan-findings-enhanced.json', import.meta.url)
    .pathname,
} as const;

export interface BasicFindingSpec {
  readonly name: string;
  readonly severity: Severity;
  readonly packageName?: string;
}

/** When the scans the harness returns completed: an hour before NOW, epoch seconds as on the wire. */
export const SCAN_COMPLETED_AT = (NOW.getTime() - 3_600_000) / 1000;

/**
 * A basic-scan DescribeImageScanFindings output with these findings, as ECR answers: a COMPLETE scan carries
 * its completion time and its severity counts (zero severities left out), a scan not finished carries neither.
 */
export function basicScan(specs: readonly BasicFindingSpec[], status = 'COMPLETE'): ScanFindingsOutput {
  const findingSeverityCounts: Record<string, number> = {};
  for (const s of specs) findingSeverityCounts[s.severity] = (findingSeverityCounts[s.severity] ?? 0) + 1;
  return {
    imageScanStatus: { status },
    imageScanFindings: {
      ...(status === 'COMPLETE' ? { imageScanCompletedAt: SCAN_COMPLETED_AT, findingSeverityCounts } : {}),
      findings: specs.map((s) => ({
        name: s.name,
        severity: s.severity,
        attributes: s.packageName ? [{ key: 'package_name', value: s.packageName }] : [],
      })),
    },
  };
}

/** What `completeness` says of a scan whose data is all there. */
export const COMPLETE: Completeness = { complete: true, problems: [] };

export const image = (extra: Partial<ScannedImage> = {}): ScannedImage => ({
  registryId: ACCOUNT,
  region: REGION,
  repository: REPO,
  digest: DIGEST,
  tags: ['v1'],
  trigger: 'ecr-scan',
  ...extra,
});

export interface GateHarness {
  readonly journal: string[];
  /** The image as ECR has it; undefined once it is gone. */
  /** The image in the fake ECR: its tags, push time and manifest (none: BatchGetImage finds no manifest). */
  image: { tags: string[]; pushedAt?: number; manifest?: string } | undefined;
  scan: ScanFindingsOutput;
  repository: { tagMutability?: string; tags?: Record<string, string> } | undefined;
  readonly notifications: { subject: string; message: string }[];
  /** Every verdict put, in order (the history). */
  readonly history: Omit<VerdictRecord, 'pk' | 'sk'>[];
  /** The LATEST verdict per image key, replaced only by a verdict at least as recent. */
  readonly latest: Map<string, Omit<VerdictRecord, 'pk' | 'sk'>>;
  readonly audit: DeleteSignal[];
  readonly deleteCalls: string[][];
  /** Images deleted by removing their last tag (BatchDeleteImage by tag), outside the deletion path. */
  readonly untagDeletes: string[];
  inUseRefs: ImageReference[];
  inUseError?: Error;
  breaker?: { scope: string; reason?: string };
  onDelete?: (digests: readonly string[]) => DeleteOutcome;
  /**
   * The quarantine index's sort key (`qdue`) where it is not the record's `quarantinedAt`: set by `defer`,
   * `null` once `release` took the image out; a later put resets it.
   */
  readonly qdue: Map<string, string | null>;
  /** What the audit table says: when this digest was last DELETED from the repository. */
  deletedAt?: string;
  /** The holds of the cleanup selection managing the repository. */
  holds: Hold[];
  /** The other protections of that selection (protected tags, minimum age). */
  steward: { protectedTags?: string[]; minAgeDays?: number };
  /** Whether a cleanup selection manages the repository at all. @default true */
  managed: boolean;
  /** Holds placed from the CLI (the holds table). */
  cliHolds: Hold[];
  /** Set: the holds table cannot be read. */
  cliHoldsError?: Error;
  readonly ports: ExpiryPorts;
  /** The verdict recorded last (the latest put). */
  lastRecord(): Omit<VerdictRecord, 'pk' | 'sk'>;
}

export function gateHarness(scan: ScanFindingsOutput = basicScan([])): GateHarness {
  const journal: string[] = [];
  const h: GateHarness = {
    journal,
    image: { tags: ['v1'], pushedAt: NOW.getTime() - 86_400_000 },
    scan,
    repository: { tagMutability: 'MUTABLE' },
    notifications: [],
    history: [],
    latest: new Map(),
    audit: [],
    deleteCalls: [],
    untagDeletes: [],
    inUseRefs: [],
    qdue: new Map(),
    holds: [],
    steward: {},
    managed: true,
    cliHolds: [],
    lastRecord() {
      const last = h.history.at(-1);
      if (!last) throw new Error('no verdict was recorded');
      return last;
    },
    ports: {
      scans: {
        async scanFindings(repository, digest) {
          journal.push(`scans:scanFindings:${repository}@${digest}`);
          return structuredClone(h.scan);
        },
        async image(repository, digest) {
          journal.push(`scans:image:${repository}@${digest}`);
          return h.image ? { tags: [...h.image.tags], pushedAt: h.image.pushedAt } : undefined;
        },
        async manifest(repository, digest) {
          journal.push(`scans:manifest:${repository}@${digest}`);
          return h.image?.manifest;
        },
        async addTag(_repository, _digest, tag) {
          journal.push(`scans:addTag:${tag}`);
          if (!h.image) throw new Error('fake ECR: no such image');
          h.image.tags.push(tag);
        },
        async removeTag(_repository, tag) {
          journal.push(`scans:removeTag:${tag}`);
          if (!h.image) throw new Error('fake ECR: no such image');
          h.image.tags = h.image.tags.filter((t) => t !== tag);
          // As ECR does: BatchDeleteImage by an image's last tag deletes the image.
          if (h.image.tags.length === 0) {
            journal.push('scans:removeTag:image deleted with its last tag');
            h.untagDeletes.push(DIGEST);
            h.image = undefined;
          }
        },
      },
      repository: async (name) => {
        journal.push(`repository:${name}`);
        return h.repository;
      },
      verdicts: {
        async latest(ref) {
          journal.push('verdicts:latest');
          const found = h.latest.get(verdictPk(ref));
          return found
            ? (structuredClone({ ...found, pk: verdictPk(ref), sk: 'LATEST' }) as VerdictRecord)
            : undefined;
        },
        async put(record) {
          journal.push(`verdicts:put:${record.verdict}`);
          const copy = structuredClone(record);
          h.history.push(copy);
          const key = verdictPk(record);
          const current = h.latest.get(key);
          if (current && current.at > record.at) return false;
          h.latest.set(key, copy);
          h.qdue.delete(key);
          return true;
        },
      },
      quarantine: {
        // The sparse index: LATEST records with `quarantinedAt`, by `qdue`.
        async dueForExpiry(cutoff, limit) {
          journal.push(`quarantine:due:${cutoff}:${limit}`);
          const due = (key: string, r: Omit<VerdictRecord, 'pk' | 'sk'>) =>
            h.qdue.has(key) ? h.qdue.get(key) : r.quarantinedAt;
          return [...h.latest.entries()]
            .filter(([key, r]) => {
              const d = due(key, r);
              return d !== undefined && d !== null && d <= cutoff;
            })
            .sort(([ka, a], [kb, b]) => (due(ka, a)! < due(kb, b)! ? -1 : 1))
            .slice(0, limit)
            .map(([key, r]) => structuredClone({ ...r, pk: key, sk: 'LATEST' }) as VerdictRecord);
        },
        async release(ref, at) {
          journal.push(`quarantine:release:${ref.digest}`);
          const key = verdictPk(ref);
          const current = h.latest.get(key);
          if (current?.at === at) {
            h.latest.set(key, { ...current, quarantinedAt: undefined });
            h.qdue.set(key, null);
          }
        },
        async defer(ref, at, until) {
          journal.push(`quarantine:defer:${ref.digest}:${until}`);
          const key = verdictPk(ref);
          if (h.latest.get(key)?.at === at && h.latest.get(key)?.quarantinedAt !== undefined)
            h.qdue.set(key, until);
        },
      },
      notify: async (subject, message) => {
        journal.push(`notify:${subject}`);
        h.notifications.push({ subject, message });
      },
      selection: (repository) => {
        journal.push(`selection:${repository}`);
        return h.managed
          ? {
              repositories: [repository],
              lifecyclePolicy: 'fromRepository',
              steward: { holds: h.holds, ...h.steward },
            }
          : undefined;
      },
      holds: async (ref) => {
        journal.push(`holds:${ref.repository}`);
        if (h.cliHoldsError) throw h.cliHoldsError;
        return h.cliHolds;
      },
      deletedAt: async (ref) => {
        journal.push(`deletedAt:${ref.digest}`);
        return h.deletedAt;
      },
      inUse: async () => {
        journal.push('inUse');
        if (h.inUseError) throw h.inUseError;
        return h.inUseRefs;
      },
      deletes: {
        registry: {
          async deleteImages(_repository: string, digests: readonly string[]) {
            journal.push(`registry:deleteImages:${digests.join(',')}`);
            h.deleteCalls.push([...digests]);
            const outcome = h.onDelete?.(digests) ?? { deleted: [...digests], failures: [] };
            if (outcome.deleted.includes(DIGEST)) h.image = undefined;
            return outcome;
          },
          async existingDigests(_repository: string, digests: readonly string[]) {
            journal.push(`registry:existingDigests:${digests.join(',')}`);
            return new Set(digests.filter((d) => d === DIGEST && h.image !== undefined));
          },
        },
        audit: {
          async record(signal: DeleteSignal) {
            journal.push(`audit:${signal.status}:${signal.digest}`);
            h.audit.push(signal);
            return undefined;
          },
        },
        breaker: {
          async firstOpen(scopes: readonly BreakerScope[]) {
            journal.push(`breaker:firstOpen:${scopes.join(',')}`);
            return h.breaker;
          },
        },
      },
    },
  };
  return h;
}
