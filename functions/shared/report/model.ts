/**
 * The registry report's model (issue 14 §1): what each repository holds, costs and could reclaim, and what
 * was reclaimed. Pure: the reader (functions/shared/adapters/report-reader.ts) turns each repository into a
 * `RepositorySummary` as soon as it is read — so 100,000 image records never sit in memory at once — and
 * `buildReport` adds them up with the prices, the gate verdicts and the audit table's deletions.
 */
import type { Actor } from '../audit/records.js';
import { isIndex } from '../lifecycle/graph.js';
import type { Image } from '../lifecycle/types.js';
import { monthlyCost, type ResolvedPrice } from './prices.js';

const DAY_MS = 86_400_000;

/** The pull-age buckets, in the order the report shows them. */
export const PULL_AGE_BUCKETS = ['0-7', '8-30', '31-90', '90+', 'never'] as const;
export type PullAgeBucket = (typeof PULL_AGE_BUCKETS)[number];
export type PullAges = Readonly<Record<PullAgeBucket, number>>;

/** How a bucket reads to people. */
export const PULL_AGE_LABELS: Readonly<Record<PullAgeBucket, string>> = {
  '0-7': '0–7 days',
  '8-30': '8–30 days',
  '31-90': '31–90 days',
  '90+': '> 90 days',
  never: 'never',
};

export type VerdictValue = 'PASS' | 'FAIL' | 'PENDING';

/** The latest gate verdict of each listed image, counted; `unscanned` have no verdict at all. */
export interface VerdictCounts {
  readonly PASS: number;
  readonly FAIL: number;
  readonly PENDING: number;
  readonly unscanned: number;
}

/** One image among the largest. */
export interface LargeImage {
  readonly repository: string;
  readonly digest: string;
  readonly tags: readonly string[];
  readonly bytes: number;
  readonly storage: 'standard' | 'archive';
  readonly pushedAt: string;
  readonly lastPulledAt?: string | undefined;
}

/** What the current lifecycle plan would do to a repository, or why there is no plan. */
export type PlanFacts =
  | { readonly expire: readonly string[]; readonly transition: readonly string[] }
  | { readonly unavailable: string };

/** What the reader knows of one repository. */
export interface RepositoryFacts {
  readonly name: string;
  /** The managing selection's label; undefined when no selection of the config manages the repository. */
  readonly selection?: string | undefined;
  /** Every image, archived ones included (DescribeImages with `imageStatus: ANY`). */
  readonly images: readonly Image[];
  readonly plan: PlanFacts;
  /** The latest verdict of each digest (verdict table); undefined when the table was not read. */
  readonly verdicts?: ReadonlyMap<string, VerdictValue> | undefined;
}

/** One repository, summed up. */
export interface RepositorySummary {
  readonly name: string;
  readonly managed: boolean;
  readonly selection?: string | undefined;
  readonly images: number;
  readonly archivedImages: number;
  readonly standardBytes: number;
  readonly archiveBytes: number;
  /** Bytes the current plan expires; null when there is no plan (`planNote` says why). */
  readonly reclaimableBytes: number | null;
  readonly reclaimableImages: number | null;
  /** Bytes the current plan moves to the archive class. */
  readonly archivableBytes: number | null;
  readonly planNote?: string | undefined;
  readonly neverPulled: number;
  readonly pullAge: PullAges;
  readonly untagged: number;
  readonly verdicts?: VerdictCounts | undefined;
  /** The repository's largest images, largest first (at most `largest` of summarizeRepository). */
  readonly largest: readonly LargeImage[];
}

/**
 * The bytes an image occupies for the report. An image index's `imageSizeInBytes` is its children's (ECR
 * reports the largest child's), and the children are listed and counted themselves: counting the index too
 * would count the same layers twice. Sizes are ECR's `imageSizeInBytes` (compressed layers; a layer shared by
 * two images counts for both), so totals are an upper bound of the storage ECR bills.
 */
export function storedBytes(image: Image): number {
  return isIndex(image) ? 0 : image.sizeBytes;
}

/** The bucket of an image's last pull at `now` (whole 24-hour days since the pull). */
export function pullAgeBucket(lastPulledAt: number | undefined, now: Date): PullAgeBucket {
  if (lastPulledAt === undefined) return 'never';
  const days = Math.floor((now.getTime() - lastPulledAt) / DAY_MS);
  if (days <= 7) return '0-7';
  if (days <= 30) return '8-30';
  if (days <= 90) return '31-90';
  return '90+';
}

const emptyPullAges = (): Record<PullAgeBucket, number> => ({
  '0-7': 0,
  '8-30': 0,
  '31-90': 0,
  '90+': 0,
  never: 0,
});

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const isArchived = (image: Image) => image.status !== 'ACTIVE';

/** Largest first; equal sizes by repository then digest, so the order never depends on listing order. */
function byBytes(a: LargeImage, b: LargeImage): number {
  return (
    b.bytes - a.bytes ||
    a.repository.localeCompare(b.repository) ||
    (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0)
  );
}

/** Sums up one repository's images, plan and verdicts at `now`. */
export function summarizeRepository(facts: RepositoryFacts, now: Date, largest = 10): RepositorySummary {
  let standardBytes = 0;
  let archiveBytes = 0;
  let archivedImages = 0;
  let untagged = 0;
  const pullAge = emptyPullAges();
  const sizes = new Map<string, number>();
  const top: LargeImage[] = [];
  for (const image of facts.images) {
    const bytes = storedBytes(image);
    sizes.set(image.digest, bytes);
    // ACTIVATING (a restore under way) is still billed as archive until the restore completes.
    if (isArchived(image)) {
      archiveBytes += bytes;
      archivedImages++;
    } else standardBytes += bytes;
    if (image.tags.length === 0) untagged++;
    pullAge[pullAgeBucket(image.lastPulledAt, now)]++;
    if (largest > 0 && bytes > 0)
      top.push({
        repository: facts.name,
        digest: image.digest,
        tags: image.tags,
        bytes,
        storage: isArchived(image) ? 'archive' : 'standard',
        pushedAt: new Date(image.pushedAt).toISOString(),
        lastPulledAt: iso(image.lastPulledAt),
      });
  }
  top.sort(byBytes);
  const planned = 'expire' in facts.plan ? facts.plan : undefined;
  const sum = (digests: readonly string[]) => digests.reduce((n, d) => n + (sizes.get(d) ?? 0), 0);
  let verdicts: VerdictCounts | undefined;
  if (facts.verdicts) {
    const counts = { PASS: 0, FAIL: 0, PENDING: 0, unscanned: 0 };
    for (const image of facts.images) counts[facts.verdicts.get(image.digest) ?? 'unscanned']++;
    verdicts = counts;
  }
  return {
    name: facts.name,
    managed: facts.selection !== undefined,
    ...(facts.selection !== undefined ? { selection: facts.selection } : {}),
    images: facts.images.length,
    archivedImages,
    standardBytes,
    archiveBytes,
    reclaimableBytes: planned ? sum(planned.expire) : null,
    reclaimableImages: planned ? planned.expire.length : null,
    archivableBytes: planned ? sum(planned.transition) : null,
    ...('unavailable' in facts.plan ? { planNote: facts.plan.unavailable } : {}),
    neverPulled: pullAge.never,
    pullAge,
    untagged,
    ...(verdicts ? { verdicts } : {}),
    largest: top.slice(0, largest),
  };
}

/** One deletion from the audit table, reduced to what the report counts. */
export interface DeletionFact {
  readonly repository: string;
  readonly digest: string;
  /** When it was deleted, ISO-8601. */
  readonly at: string;
  readonly bytes: number;
  /** Who deleted it, as `principalOf` names it. */
  readonly principal: string;
}

/** Who a deletion is credited to: the IAM principal, ECR Steward, ECR's lifecycle policy, or unknown. */
export function principalOf(actor: Pick<Actor, 'type' | 'principal'>): string {
  switch (actor.type) {
    case 'principal':
      return actor.principal ?? 'unknown principal';
    case 'ecr-steward':
      return 'ECR Steward';
    case 'ecr-lifecycle':
      return 'ECR lifecycle policy';
    default:
      return 'unknown';
  }
}

/** Deletions and bytes of one group (a principal, a day, a repository). */
export interface DeletionTotals {
  readonly deletes: number;
  readonly bytes: number;
}

/** What the audit table says was reclaimed over the period. */
export interface AuditSummary {
  readonly since: string;
  readonly deletes: number;
  readonly bytes: number;
  /** Most bytes first. */
  readonly byPrincipal: readonly (DeletionTotals & { readonly principal: string })[];
  /** Every UTC day from `since`'s to `now`'s, empty days included, oldest first. */
  readonly byDay: readonly (DeletionTotals & { readonly day: string })[];
  readonly byRepository: Readonly<Record<string, DeletionTotals>>;
}

/** Adds up the deletions made from `since` to `now` (later or earlier ones are left out). */
export function summarizeDeletions(deletions: readonly DeletionFact[], since: Date, now: Date): AuditSummary {
  const from = since.toISOString();
  const to = now.toISOString();
  const days = new Map<string, { deletes: number; bytes: number }>();
  for (let t = Date.parse(from.slice(0, 10)); t <= Date.parse(to.slice(0, 10)); t += DAY_MS)
    days.set(new Date(t).toISOString().slice(0, 10), { deletes: 0, bytes: 0 });
  const principals = new Map<string, { deletes: number; bytes: number }>();
  const repositories: Record<string, { deletes: number; bytes: number }> = {};
  let deletes = 0;
  let bytes = 0;
  const add = (m: { deletes: number; bytes: number }, n: number) => {
    m.deletes++;
    m.bytes += n;
  };
  for (const d of deletions) {
    if (d.at < from || d.at > to) continue;
    deletes++;
    bytes += d.bytes;
    const day = days.get(d.at.slice(0, 10));
    if (day) add(day, d.bytes);
    const p = principals.get(d.principal) ?? { deletes: 0, bytes: 0 };
    principals.set(d.principal, p);
    add(p, d.bytes);
    // An own-property table: a repository named like an Object.prototype member must not reach the prototype.
    if (!Object.hasOwn(repositories, d.repository)) repositories[d.repository] = { deletes: 0, bytes: 0 };
    add(repositories[d.repository]!, d.bytes);
  }
  return {
    since: from,
    deletes,
    bytes,
    byPrincipal: [...principals]
      .map(([principal, t]) => ({ principal, ...t }))
      .sort((a, b) => b.bytes - a.bytes || b.deletes - a.deletes || a.principal.localeCompare(b.principal)),
    byDay: [...days].map(([day, t]) => ({ day, ...t })),
    byRepository: repositories,
  };
}

/** A source the report could not read, and why (said instead of a zero that would look like a fact). */
export interface Unavailable {
  readonly available: false;
  readonly reason: string;
}

/** One row of the repositories table. */
export interface RepositoryRow extends Omit<RepositorySummary, 'largest'> {
  /** USD a month at the region's prices; null when the region has no price. */
  readonly monthlyCost: number | null;
  /** Deletions recorded in the audit table over the period; null when the table was not read. */
  readonly reclaimed: DeletionTotals | null;
}

export interface ReportTotals {
  readonly repositories: number;
  readonly managedRepositories: number;
  readonly images: number;
  readonly archivedImages: number;
  readonly standardBytes: number;
  readonly archiveBytes: number;
  /** Over the repositories that have a plan (`repositoriesWithoutPlan` have none). */
  readonly reclaimableBytes: number;
  readonly reclaimableImages: number;
  readonly archivableBytes: number;
  readonly repositoriesWithoutPlan: number;
  readonly monthlyCost: number | null;
  /** What the reclaimable bytes cost a month now (at the standard price): the saving the plan offers. */
  readonly reclaimableMonthlyCost: number | null;
  readonly neverPulled: number;
  readonly pullAge: PullAges;
  readonly untagged: number;
  /** untagged / images, 0 for an empty registry. */
  readonly untaggedShare: number;
  readonly verdicts?: VerdictCounts | undefined;
}

/** The whole report, as `--format json` prints it and every renderer reads it. */
export interface Report {
  readonly generatedAt: string;
  readonly registryId: string;
  readonly region: string;
  /** `selected`: the repositories the config manages; `all`: every repository of the registry. */
  readonly scope: 'selected' | 'all';
  readonly price: ResolvedPrice | Unavailable;
  readonly totals: ReportTotals;
  /** Most bytes first. */
  readonly repositories: readonly RepositoryRow[];
  readonly largest: readonly LargeImage[];
  readonly verdicts: { readonly available: true } | Unavailable;
  readonly audit: (AuditSummary & { readonly available: true }) | Unavailable;
  readonly warnings: readonly string[];
}

export interface ReportInput {
  readonly generatedAt: Date;
  readonly registryId: string;
  readonly region: string;
  readonly scope: 'selected' | 'all';
  readonly price: ResolvedPrice | undefined;
  readonly repositories: readonly RepositorySummary[];
  /** Undefined when the verdict table was read; else why not. */
  readonly verdictsUnavailable?: string | undefined;
  readonly audit: AuditSummary | { readonly unavailable: string };
  readonly warnings?: readonly string[] | undefined;
  /** How many of the largest images to list. @default 10 */
  readonly largest?: number | undefined;
}

/** Adds the repositories up, prices them and joins the audit's deletions. */
export function buildReport(input: ReportInput): Report {
  const price = input.price;
  const audit = 'unavailable' in input.audit ? undefined : input.audit;
  const verdictsRead = input.verdictsUnavailable === undefined;
  const rows: RepositoryRow[] = input.repositories
    .map(({ largest: _largest, verdicts, ...summary }) => ({
      ...summary,
      // Counts from a table that was not read in full would read as facts: none at all, then.
      ...(verdictsRead && verdicts ? { verdicts } : {}),
      monthlyCost: price
        ? monthlyCost({ standard: summary.standardBytes, archive: summary.archiveBytes }, price)
        : null,
      reclaimed: audit
        ? ((Object.hasOwn(audit.byRepository, summary.name)
            ? audit.byRepository[summary.name]
            : undefined) ?? {
            deletes: 0,
            bytes: 0,
          })
        : null,
    }))
    .sort(
      (a, b) =>
        b.standardBytes + b.archiveBytes - (a.standardBytes + a.archiveBytes) || a.name.localeCompare(b.name),
    );
  const pullAge = emptyPullAges();
  const verdicts = { PASS: 0, FAIL: 0, PENDING: 0, unscanned: 0 };
  let t = {
    images: 0,
    archivedImages: 0,
    standardBytes: 0,
    archiveBytes: 0,
    reclaimableBytes: 0,
    reclaimableImages: 0,
    archivableBytes: 0,
    repositoriesWithoutPlan: 0,
    neverPulled: 0,
    untagged: 0,
  };
  for (const r of rows) {
    t = {
      images: t.images + r.images,
      archivedImages: t.archivedImages + r.archivedImages,
      standardBytes: t.standardBytes + r.standardBytes,
      archiveBytes: t.archiveBytes + r.archiveBytes,
      reclaimableBytes: t.reclaimableBytes + (r.reclaimableBytes ?? 0),
      reclaimableImages: t.reclaimableImages + (r.reclaimableImages ?? 0),
      archivableBytes: t.archivableBytes + (r.archivableBytes ?? 0),
      repositoriesWithoutPlan: t.repositoriesWithoutPlan + (r.reclaimableBytes === null ? 1 : 0),
      neverPulled: t.neverPulled + r.neverPulled,
      untagged: t.untagged + r.untagged,
    };
    for (const b of PULL_AGE_BUCKETS) pullAge[b] += r.pullAge[b];
    if (r.verdicts)
      for (const k of ['PASS', 'FAIL', 'PENDING', 'unscanned'] as const) verdicts[k] += r.verdicts[k];
  }
  const largest = input.repositories
    .flatMap((r) => r.largest)
    .sort(byBytes)
    .slice(0, input.largest ?? 10);
  return {
    generatedAt: input.generatedAt.toISOString(),
    registryId: input.registryId,
    region: input.region,
    scope: input.scope,
    price: price ?? {
      available: false,
      reason: `no built-in ECR price for ${input.region}: set report.prices["${input.region}"] in the config`,
    },
    totals: {
      repositories: rows.length,
      managedRepositories: rows.filter((r) => r.managed).length,
      ...t,
      monthlyCost: price ? monthlyCost({ standard: t.standardBytes, archive: t.archiveBytes }, price) : null,
      reclaimableMonthlyCost: price ? monthlyCost({ standard: t.reclaimableBytes, archive: 0 }, price) : null,
      pullAge,
      untaggedShare: t.images === 0 ? 0 : t.untagged / t.images,
      ...(verdictsRead ? { verdicts } : {}),
    },
    repositories: rows,
    largest,
    verdicts: verdictsRead
      ? { available: true }
      : { available: false, reason: input.verdictsUnavailable ?? '' },
    audit: audit
      ? { available: true, ...audit }
      : { available: false, reason: (input.audit as { unavailable: string }).unavailable },
    warnings: [...(input.warnings ?? [])],
  };
}
