/**
 * Findings from `DescribeImageScanFindings` (basic: `imageScanFindings.findings`; enhanced:
 * `imageScanFindings.enhancedFindings`), normalised to one shape the gate judges. Pure.
 */
import { z } from 'zod';
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
  readonly cvss?: number | undefined;
  readonly epss?: number | undefined;
  readonly status?: string | undefined;
}

export type ScanStatus =
  | 'COMPLETE'
  | 'FAILED'
  | 'UNSUPPORTED_IMAGE'
  | 'IN_PROGRESS'
  | 'PENDING'
  | 'ACTIVE'
  | 'MISSING'
  | 'SCAN_ELIGIBILITY_EXPIRED'
  | 'FINDINGS_UNAVAILABLE'
  | 'LIMIT_EXCEEDED'
  | 'IMAGE_ARCHIVED';

const severity = z
  .string()
  .transform((s) => s.toUpperCase())
  .pipe(z.enum(SEVERITIES).catch('UNDEFINED'));

const basicFinding = z.looseObject({
  name: z.string().min(1),
  severity: severity.optional(),
  uri: z.string().optional(),
  attributes: z.array(z.looseObject({ key: z.string(), value: z.string().optional() })).optional(),
});

const enhancedFinding = z.looseObject({
  severity: severity.optional(),
  status: z.string().optional(),
  fixAvailable: z.string().optional(),
  score: z.number().optional(),
  epss: z.looseObject({ score: z.number().optional() }).optional(),
  packageVulnerabilityDetails: z
    .looseObject({
      vulnerabilityId: z.string().optional(),
      cvss: z.array(z.looseObject({ baseScore: z.number().optional() })).optional(),
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
      imageScanCompletedAt: z.union([z.number(), z.string(), z.date()]).optional(),
      findings: z.array(basicFinding).optional(),
      enhancedFindings: z.array(enhancedFinding).optional(),
      findingSeverityCounts: z.record(z.string(), z.number()).optional(),
    })
    .optional(),
});

export type ScanFindingsOutput = z.input<typeof scanFindingsOutputSchema>;

export function normaliseFindings(output: z.output<typeof scanFindingsOutputSchema>): {
  status: ScanStatus;
  findings: Finding[];
} {
  const status = (output.imageScanStatus?.status ?? 'MISSING') as ScanStatus;
  const findings: Finding[] = [];
  for (const f of output.imageScanFindings?.findings ?? []) {
    const attr = (k: string) => f.attributes?.find((a) => a.key === k)?.value;
    const score = Number(attr('CVSS3_SCORE') ?? attr('CVSS2_SCORE'));
    findings.push({
      id: f.name,
      severity: f.severity ?? 'UNDEFINED',
      packageName: attr('package_name'),
      packageVersion: attr('package_version'),
      cvss: Number.isFinite(score) ? score : undefined,
    });
  }
  for (const f of output.imageScanFindings?.enhancedFindings ?? []) {
    const details = f.packageVulnerabilityDetails;
    const packages = details?.vulnerablePackages?.length ? details.vulnerablePackages : [{}];
    const cvss = Math.max(...(details?.cvss ?? []).map((c) => c.baseScore ?? 0), f.score ?? 0);
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
        severity: f.severity ?? 'UNDEFINED',
        packageName: 'name' in p ? (p.name as string | undefined) : undefined,
        packageVersion: 'version' in p ? (p.version as string | undefined) : undefined,
        fixedInVersion: fixed === 'NotAvailable' ? undefined : fixed,
        fixAvailable,
        cvss: cvss > 0 ? cvss : undefined,
        epss: f.epss?.score,
        status: f.status,
      });
    }
  }
  return { status, findings };
}
