import * as z from 'zod';
import { signaturePolicySchema } from '../shared/signatures/policy.js';

export const SEVERITIES = [
  'CRITICAL',
  'HIGH',
  'MEDIUM',
  'LOW',
  'INFORMATIONAL',
  'UNDEFINED',
  'UNTRIAGED',
] as const;
export type Severity = (typeof SEVERITIES)[number];

const isoDate = z.iso.datetime({ offset: true }).or(z.iso.date());

export const allowlistEntrySchema = z.strictObject({
  cve: z.string().min(1).describe('Vulnerability id, e.g. CVE-2024-3094 (case-insensitive).'),
  repositories: z
    .array(z.string().min(1))
    .min(1)
    .optional()
    .describe('Repository name globs it applies to; all when omitted.'),
  packages: z
    .array(z.string().min(1))
    .min(1)
    .optional()
    .describe('Package names it applies to; all when omitted.'),
  reason: z.string().min(1),
  owner: z.string().min(1),
  expiresAt: isoDate.describe('The entry stops applying at this instant (a date means its start, UTC).'),
});

/** A gate policy: what makes a scanned image fail. */
export const gatePolicySchema = z.strictObject({
  maxFindings: z
    .partialRecord(z.enum(SEVERITIES), z.number().int().min(0))
    .default({ CRITICAL: 0, HIGH: 0 })
    .describe('Most findings allowed per severity; a severity not listed is not limited.'),
  blockCvssAtOrAbove: z
    .number()
    .min(0)
    .max(10)
    .optional()
    .describe('Any finding with a CVSS base score at or above this fails the image.'),
  blockEpssAtOrAbove: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe('Any finding with an EPSS score at or above this fails the image.'),
  ignoreUnfixed: z.boolean().default(false).describe('Ignore findings with no fix available.'),
  allowlist: z.array(allowlistEntrySchema).default([]),
  exemptTags: z
    .array(z.string().min(1))
    .default([])
    .describe('Images carrying a tag matching one of these globs always pass.'),
  onScanStatus: z
    .strictObject({
      failed: z.enum(['PASS', 'FAIL', 'PENDING']).default('FAIL'),
      unsupported: z.enum(['PASS', 'FAIL', 'PENDING']).default('PASS'),
      missing: z.enum(['PASS', 'FAIL', 'PENDING']).default('PENDING'),
    })
    .default({ failed: 'FAIL', unsupported: 'PASS', missing: 'PENDING' })
    .describe(
      'Verdict when the scan failed, the image type is unsupported, or there is no scan (after the grace window).',
    ),
  graceMinutes: z
    .number()
    .int()
    .min(0)
    .default(60)
    .describe(
      'An image younger than this with no finished scan, or (signatures.required) with no signature yet, is PENDING, whatever onScanStatus.missing says.',
    ),
  signatures: signaturePolicySchema
    .optional()
    .describe(
      'Signatures an image must carry, verified against trusted keys and certificates (Notation / AWS Signer, cosign). Absent: signatures are not checked.',
    ),
});

export type GatePolicy = z.output<typeof gatePolicySchema>;
export type GatePolicyInput = z.input<typeof gatePolicySchema>;
export type AllowlistEntry = z.output<typeof allowlistEntrySchema>;
