/**
 * Findings from `DescribeImageScanFindings` (basic: `imageScanFindings.findings`; enhanced:
 * `imageScanFindings.enhancedFindings`), normalised to one shape the gate judges, and checked against the
 * scan's own `findingSeverityCounts` so that a missing or partial finding list is never judged as "nothing
 * found". Pure, except `readScanFindings`, which only calls the read and sleep functions it is given.
 */
import * as z from 'zod';
import { SEVERITIES, type Severity } from './policy.js';

export interface Finding {
  /** CVE id (or the scanner's name for the finding). */
  readonly id: string;
  readonly severity: Severity;
  readonly packageName?: string | undefined;
  readonly packageVersion?: string | undefined;
  /** Undefined when unknown; `NotAvailable` is normalised to `fixAvailable: false`. */
  readonly fixedInVersion?: string | undefined;
  readonly fixAvailable?: boolean | undefined;
  /**
   * The scanner's own CVSS score: Amazon Inspector's score for enhanced findings (else the score of the
   * source Inspector took the finding from), the CVSS3 (else CVSS2) score ECR attaches to a basic finding.
   */
  readonly cvss?: number | undefined;
  /** NVD's score (its newest CVSS version); the scanner's when the scan gives none from NVD. */
  readonly cvssNvd?: number | undefined;
  /** The highest score of any source and CVSS version the scan gives. */
  readonly cvssMax?: number | undefined;
  readonly epss?: number | undefined;
  readonly status?: string | undefined;
}

/** Which CVSS score `blockCvssAtOrAbove` compares (the config's `gate.cvssSource`). */
export type CvssSource = 'scanner' | 'nvd' | 'max';

/** Every `imageScanStatus.status` the ECR API documents, plus `MISSING` for "no scan" (ScanNotFoundException). */
export const SCAN_STATUSES = [
  'COMPLETE',
  'FAILED',
  'UNSUPPORTED_IMAGE',
  'IN_PROGRESS',
  'PENDING',
  'ACTIVE',
  'MISSING',
  'SCAN_ELIGIBILITY_EXPIRED',
  'FINDINGS_UNAVAILABLE',
  'LIMIT_EXCEEDED',
  'IMAGE_ARCHIVED',
] as const;

/** A documented status; any other string a scan reports is passed through as is and judged as incomplete data. */
export type ScanStatus = (typeof SCAN_STATUSES)[number];

// Kept as the scan says it (upper case): one the gate does not know makes the scan's data incomplete (never a
// quiet UNDEFINED that no threshold ranks), and is judged as UNDEFINED only once the data is complete.
const severity = z.string().transform((s) => s.toUpperCase());

const knownSeverity = (s: string | undefined): Severity =>
  s !== undefined && (SEVERITIES as readonly string[]).includes(s) ? (s as Severity) : 'UNDEFINED';

const timestamp = z.union([z.number(), z.string(), z.date()]);

const basicFinding = z.looseObject({
  name: z.string().min(1),
  severity: severity.optional(),
  uri: z.string().optional(),
  attributes: z.array(z.looseObject({ key: z.string(), value: z.string().optional() })).optional(),
});

const cvssScore = z.looseObject({
  score: z.number().optional(),
  scoreSource: z.string().optional(),
  version: z.string().optional(),
});

const enhancedFinding = z.looseObject({
  severity: severity.optional(),
  status: z.string().optional(),
  fixAvailable: z.string().optional(),
  /** DescribeImageScanFindings names Inspector's score `score` (with `scoreDetails.cvss`)… */
  score: z.number().optional(),
  scoreDetails: z.looseObject({ cvss: cvssScore.optional() }).optional(),
  /** …an `Inspector2 Finding` event names it `inspectorScore` (with `inspectorScoreDetails.adjustedCvss`). */
  inspectorScore: z.number().optional(),
  inspectorScoreDetails: z.looseObject({ adjustedCvss: cvssScore.optional() }).optional(),
  epss: z.looseObject({ score: z.number().optional() }).optional(),
  packageVulnerabilityDetails: z
    .looseObject({
      vulnerabilityId: z.string().optional(),
      /** The source Inspector took the finding from (e.g. `DEBIAN_CVE`, `NVD`). */
      source: z.string().optional(),
      cvss: z
        .array(
          z.looseObject({
            baseScore: z.number().optional(),
            source: z.string().optional(),
            version: z.string().optional(),
          }),
        )
        .optional(),
      vulnerablePackages: z
        .array(
          z.looseObject({
            name: z.string().optional(),
            version: z.string().optional(),
            fixedInVersion: z.string().optional(),
          }),
        )
        .optional(),
    })
    .optional(),
  title: z.string().optional(),
});

/** `aws ecr describe-image-scan-findings` output (one page or all pages merged). */
export const scanFindingsOutputSchema = z.looseObject({
  imageScanStatus: z
    .looseObject({ status: z.string().optional(), description: z.string().optional() })
    .optional(),
  imageScanFindings: z
    .looseObject({
      imageScanCompletedAt: timestamp.optional(),
      vulnerabilitySourceUpdatedAt: timestamp.optional(),
      findings: z.array(basicFinding).optional(),
      enhancedFindings: z.array(enhancedFinding).optional(),
      findingSeverityCounts: z.record(z.string(), z.number()).optional(),
    })
    .optional(),
  /** Set when this is one page of several: the findings after it were not read. */
  nextToken: z.string().nullish(),
  /** Added by EcrScanReader: how many pages were read, and whether the scan changed between them. */
  read: z
    .looseObject({ pages: z.number().int().min(0), changedDuringRead: z.boolean().optional() })
    .optional(),
});

export type ScanFindingsOutput = z.input<typeof scanFindingsOutputSchema>;
type ParsedOutput = z.output<typeof scanFindingsOutputSchema>;

/** Whether a finished scan's data is all there: what the gate may judge as the whole truth. */
export interface Completeness {
  readonly complete: boolean;
  /** Why it is not, one phrase each (`findingSeverityCounts says 3 HIGH, 1 listed`); empty when complete. */
  readonly problems: readonly string[];
  /** `imageScanCompletedAt` as epoch ms, when the scan gives a valid one. */
  readonly completedAt?: number | undefined;
}

export interface NormalisedScan {
  readonly status: ScanStatus;
  readonly findings: Finding[];
  readonly completeness: Completeness;
}

/** Statuses after which the findings are the scan's answer: only they are cross-checked. */
const FINISHED: readonly string[] = ['COMPLETE', 'ACTIVE'];

/** Epoch ms of an API timestamp: epoch seconds on the wire, ISO text from the CLI, a Date from the SDK. */
function epochMs(value: number | string | Date | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms =
    value instanceof Date ? value.getTime() : typeof value === 'number' ? value * 1000 : Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * The severity buckets findings are counted in. ECR's `findingSeverityCounts` uses the `FindingSeverity` enum
 * (no UNTRIAGED), while an Inspector finding can be UNTRIAGED, and a finding without a severity is read as
 * UNDEFINED: the severities no policy can rank share one bucket, so a renaming between them is no mismatch.
 */
const BUCKETS = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNDEFINED'] as const;
type Bucket = (typeof BUCKETS)[number];
const bucketOf = (s: string): Bucket => {
  const upper = s.toUpperCase();
  return (BUCKETS as readonly string[]).includes(upper) ? (upper as Bucket) : 'UNDEFINED';
};

function tally(severities: readonly string[]): Record<Bucket, number> {
  const out = Object.fromEntries(BUCKETS.map((b) => [b, 0])) as Record<Bucket, number>;
  for (const s of severities) out[bucketOf(s)]++;
  return out;
}

/**
 * Whether the scan output is the whole answer of a finished scan. Checked, for COMPLETE and ACTIVE scans: a
 * completion time is given; every page was read and the scan did not change between pages; the findings
 * listed (before they are fanned out per package) match `findingSeverityCounts` per severity, exactly — fewer
 * means findings are missing (an enhanced scan answered COMPLETE without `enhancedFindings`, an old client that
 * drops them), more means pages of two scans were mixed. A status the API does not document is never complete.
 * Other statuses are complete: the gate judges them by status, not by findings.
 */
export function completeness(output: ParsedOutput): Completeness {
  const status = output.imageScanStatus?.status ?? 'MISSING';
  if (!(SCAN_STATUSES as readonly string[]).includes(status))
    return { complete: false, problems: [`unknown scan status ${JSON.stringify(status)}`] };
  if (!FINISHED.includes(status)) return { complete: true, problems: [] };
  const scan = output.imageScanFindings;
  const problems: string[] = [];
  const completedAt = epochMs(scan?.imageScanCompletedAt);
  if (scan?.imageScanCompletedAt === undefined)
    problems.push(`status ${status} without imageScanCompletedAt`);
  else if (completedAt === undefined)
    problems.push(`imageScanCompletedAt ${JSON.stringify(scan.imageScanCompletedAt)} is not a time`);
  if (output.nextToken) problems.push('only one page was read (the output has a nextToken)');
  if (output.read?.changedDuringRead)
    problems.push(`the scan changed while its ${output.read.pages} pages were read`);

  const listed = [...(scan?.findings ?? []), ...(scan?.enhancedFindings ?? [])];
  const unknown = [
    ...new Set(
      listed.flatMap((f) =>
        f.severity !== undefined && knownSeverity(f.severity) !== f.severity ? [f.severity] : [],
      ),
    ),
  ];
  if (unknown.length > 0)
    problems.push(
      `findings with a severity the gate does not know: ${unknown.map((u) => JSON.stringify(u)).join(', ')}`,
    );
  const counts = scan?.findingSeverityCounts;
  if (counts === undefined) {
    // Zero severities are omitted from the counts, so a clean scan may have none; listed findings need them.
    if (listed.length > 0)
      problems.push(`${listed.length} finding(s) listed without findingSeverityCounts to check them against`);
  } else {
    const { total, ...perSeverity } = Object.entries(counts).reduce<Record<string, number>>(
      (acc, [key, n]) => {
        const k = key.toUpperCase() === 'TOTAL' ? 'total' : bucketOf(key);
        acc[k] = (acc[k] ?? 0) + n;
        return acc;
      },
      {},
    );
    const all = tally(listed.map((f) => f.severity ?? 'UNDEFINED'));
    // Some counts may leave out suppressed and closed findings: a list that matches either way is consistent.
    const active = tally(
      listed
        .filter((f) => [undefined, 'ACTIVE'].includes((f as { status?: unknown }).status as string))
        .map((f) => f.severity ?? 'UNDEFINED'),
    );
    const matches = (t: Record<Bucket, number>) =>
      BUCKETS.every((b) => (perSeverity[b] ?? 0) === t[b]) &&
      (total === undefined || total === BUCKETS.reduce((sum, b) => sum + t[b], 0));
    if (!matches(all) && !matches(active)) {
      const mismatches = BUCKETS.filter((b) => (perSeverity[b] ?? 0) !== all[b]).map(
        (b) => `findingSeverityCounts says ${perSeverity[b] ?? 0} ${b}, ${all[b]} listed`,
      );
      if (total !== undefined && total !== listed.length)
        mismatches.push(`findingSeverityCounts says ${total} in total, ${listed.length} listed`);
      problems.push(...mismatches);
    }
  }
  return { complete: problems.length === 0, problems, completedAt };
}

/** CVSS versions compared as numbers ("3.1" > "3.0" > "2.0"); an entry without a version ranks last. */
const versionOf = (v: string | undefined) => {
  const n = Number.parseFloat(v ?? '');
  return Number.isFinite(n) ? n : -1;
};

/** The score of the newest CVSS version among `entries`, the highest score among equal versions. */
function newest(entries: readonly { score: number; version?: string | undefined }[]): number | undefined {
  let best: { score: number; version: number } | undefined;
  for (const e of entries) {
    const version = versionOf(e.version);
    if (!best || version > best.version || (version === best.version && e.score > best.score))
      best = { score: e.score, version };
  }
  return best?.score;
}

const positive = (n: number | undefined) => (n !== undefined && Number.isFinite(n) && n > 0 ? n : undefined);

type EnhancedFinding = z.output<typeof enhancedFinding>;

/** The three scores of an enhanced finding (see `Finding`). */
function enhancedScores(f: EnhancedFinding): Pick<Finding, 'cvss' | 'cvssNvd' | 'cvssMax'> {
  const details = f.packageVulnerabilityDetails;
  const entries = (details?.cvss ?? []).flatMap((c) =>
    positive(c.baseScore) === undefined
      ? []
      : [{ score: c.baseScore as number, version: c.version, source: c.source?.toUpperCase() }],
  );
  // The SDK models `score` as a number that is 0 when Inspector gave none: 0 is "no score", not a score.
  const inspector =
    positive(f.score) ??
    positive(f.inspectorScore) ??
    positive(f.scoreDetails?.cvss?.score) ??
    positive(f.inspectorScoreDetails?.adjustedCvss?.score);
  const source = details?.source?.toUpperCase();
  const vendor = source ? newest(entries.filter((e) => e.source === source)) : undefined;
  const nvd = newest(entries.filter((e) => e.source === 'NVD'));
  const all = [...entries.map((e) => e.score), ...(inspector === undefined ? [] : [inspector])];
  const max = all.length > 0 ? Math.max(...all) : undefined;
  // Inspector gives no score only when no source does; the fallbacks keep a scored finding from going unscored.
  const scanner = inspector ?? vendor ?? nvd ?? max;
  return { cvss: scanner, cvssNvd: nvd ?? scanner, cvssMax: max };
}

/** Normalises a parsed output and checks its completeness; no I/O. */
export function normaliseFindings(output: ParsedOutput): NormalisedScan {
  const status = (output.imageScanStatus?.status ?? 'MISSING') as ScanStatus;
  const findings: Finding[] = [];
  for (const f of output.imageScanFindings?.findings ?? []) {
    const attr = (k: string) => f.attributes?.find((a) => a.key === k)?.value;
    const score = (k: string) => {
      const n = Number(attr(k) ?? Number.NaN);
      return Number.isFinite(n) ? n : undefined;
    };
    // Basic scanning attaches NVD's scores: CVSS2 (older scans) and CVSS3 (newer); the newest is its own.
    const v3 = score('CVSS3_SCORE');
    const v2 = score('CVSS2_SCORE');
    const scanner = v3 ?? v2;
    findings.push({
      id: f.name,
      severity: knownSeverity(f.severity),
      packageName: attr('package_name'),
      packageVersion: attr('package_version'),
      cvss: scanner,
      cvssNvd: scanner,
      cvssMax: v3 === undefined ? v2 : v2 === undefined ? v3 : Math.max(v2, v3),
    });
  }
  for (const f of output.imageScanFindings?.enhancedFindings ?? []) {
    const details = f.packageVulnerabilityDetails;
    const packages = details?.vulnerablePackages?.length ? details.vulnerablePackages : [{}];
    const scores = enhancedScores(f);
    for (const p of packages) {
      const fixed = 'fixedInVersion' in p ? (p.fixedInVersion as string | undefined) : undefined;
      // Per package: `NotAvailable` means this package has no fix even when the finding says PARTIAL (some do).
      const fixAvailable =
        fixed === 'NotAvailable'
          ? false
          : f.fixAvailable !== undefined
            ? f.fixAvailable.toUpperCase() !== 'NO'
            : fixed !== undefined
              ? true
              : undefined;
      findings.push({
        id: details?.vulnerabilityId ?? f.title ?? 'unknown',
        severity: knownSeverity(f.severity),
        packageName: 'name' in p ? (p.name as string | undefined) : undefined,
        packageVersion: 'version' in p ? (p.version as string | undefined) : undefined,
        fixedInVersion: fixed === 'NotAvailable' ? undefined : fixed,
        fixAvailable,
        ...scores,
        epss: f.epss?.score,
        status: f.status,
      });
    }
  }
  return { status, findings, completeness: completeness(output) };
}

/** How often, and how far apart, judgeImage reads a scan whose data is incomplete. */
export interface RereadOptions {
  /** Reads in all, the first included (at least 1). */
  readonly attempts: number;
  readonly delayMs: number;
  /** Injectable so tests do not wait; a timer by default. */
  readonly sleep?: ((ms: number) => Promise<void>) | undefined;
}

/**
 * The scan gate's re-reads: 3 reads 2 s apart. An enhanced scan can answer COMPLETE seconds before its findings
 * are listed (aws/aws-sdk#289); longer waits belong to the grace window, not to one function invocation.
 */
export const SCAN_REREAD: RereadOptions = { attempts: 3, delayMs: 2_000 };

const timer = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Reads a scan's findings, and reads them again (at most `attempts` reads in all, `delayMs` apart) while they
 * are incomplete. Returns the last read, normalised, complete or not: the gate decides what incomplete data
 * means. Errors of `read` and outputs that are not DescribeImageScanFindings output are thrown.
 */
export async function readScanFindings(
  read: () => Promise<ScanFindingsOutput>,
  options: RereadOptions = SCAN_REREAD,
): Promise<NormalisedScan & { readonly reads: number }> {
  const sleep = options.sleep ?? timer;
  const attempts = Math.max(1, Math.floor(options.attempts));
  let reads = 0;
  for (;;) {
    const scan = normaliseFindings(scanFindingsOutputSchema.parse(await read()));
    reads++;
    if (scan.completeness.complete || reads >= attempts) return { ...scan, reads };
    await sleep(options.delayMs);
  }
}
