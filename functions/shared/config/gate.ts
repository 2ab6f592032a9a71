import * as z from 'zod';
import { gatePolicySchema } from '../../scan-gate/policy.js';
import { repositoryGlob, repositoryTagsSchema } from './selection.js';

const gateSelectionSchema = z
  .strictObject({
    repositories: z.array(repositoryGlob).min(1).optional(),
    repositoryTags: repositoryTagsSchema.optional(),
    policy: gatePolicySchema,
  })
  .refine((s) => s.repositories !== undefined || s.repositoryTags !== undefined, {
    message: 'a gate selection needs "repositories" or "repositoryTags"',
  });

/** ECR's scanning filter: `^[a-z0-9*](?:[._\-/a-z0-9*]?[a-z0-9*]+)*$`, 1 to 255 characters. */
const scanFilter = z
  .string()
  .min(1)
  .max(255)
  .regex(
    /^[a-z0-9*](?:[._\-/a-z0-9*]?[a-z0-9*]+)*$/,
    'an ECR scanning filter: lower-case letters, digits, . _ - / and * (a wildcard), such as "prod/*" or "*"',
  );

const registryScanningSchema = z
  .strictObject({
    scanType: z
      .enum(['BASIC', 'ENHANCED'])
      .describe('BASIC: ECR scans. ENHANCED: Amazon Inspector scans (enable Inspector for ECR first).'),
    rules: z
      .array(
        z.strictObject({
          scanFrequency: z
            .enum(['SCAN_ON_PUSH', 'CONTINUOUS_SCAN'])
            .describe(
              'CONTINUOUS_SCAN needs ENHANCED. Repositories no rule matches are scanned manually only.',
            ),
          repositories: z
            .array(scanFilter)
            .min(1)
            .max(100)
            .describe('Repository name filters; * matches any run of characters.'),
        }),
      )
      .max(2)
      .describe('At most one rule per frequency (ECR allows two rules).'),
  })
  .refine((c) => c.scanType === 'ENHANCED' || c.rules.every((r) => r.scanFrequency === 'SCAN_ON_PUSH'), {
    message: 'BASIC scanning supports SCAN_ON_PUSH only; CONTINUOUS_SCAN needs "scanType": "ENHANCED"',
    path: ['rules'],
  })
  .refine((c) => new Set(c.rules.map((r) => r.scanFrequency)).size === c.rules.length, {
    message: 'one rule per scanFrequency: put all the filters of a frequency in one rule',
    path: ['rules'],
  })
  .describe(
    "The registry's scanning configuration, set by the stack. There is one per account and region: the stack then owns it (a change made by hand is overwritten at the next deploy). It is retained when the stack is deleted or this block is removed.",
  );

/** The scan gate: its policies, what a failing image gets, and the registry's scanning configuration. */
export const gateConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    policy: gatePolicySchema
      .default(gatePolicySchema.parse({}))
      .describe('The gate policy for repositories no selection names.'),
    selections: z
      .array(gateSelectionSchema)
      .default([])
      .describe('Per-repository policies; the first match wins.'),
    onFail: z
      .strictObject({
        notify: z.boolean().default(true),
        quarantine: z
          .strictObject({
            enabled: z.boolean().default(false),
            tagPrefix: z
              .string()
              .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,80}$/)
              .default('quarantined-')
              .describe('The quarantine tag is this prefix plus the first 12 hex characters of the digest.'),
            expireAfterDays: z
              .number()
              .int()
              .min(1)
              .max(3650)
              .optional()
              .describe(
                'Remove a quarantined image once it has failed the gate for this many days. Before removing, the gate judges the image again with the current findings and policy: a fixed or allowlisted image is released instead. Removal goes through the safe delete path (mode, breaker, in-use protection, write-ahead audit). Checked on the sweep schedule. Off by default.',
              ),
          })
          .refine((q) => q.enabled || q.expireAfterDays === undefined, {
            message: 'expireAfterDays needs the quarantine enabled ("enabled": true)',
            path: ['expireAfterDays'],
          })
          .default({ enabled: false, tagPrefix: 'quarantined-' }),
        remove: z
          .strictObject({
            enabled: z.boolean().default(false),
            allowInUse: z
              .boolean()
              .default(false)
              .describe(
                'Remove failing images even when they are in use (also for the quarantine expiry). Off by default: running images are never removed.',
              ),
          })
          .default({ enabled: false, allowInUse: false }),
      })
      .default({
        notify: true,
        quarantine: { enabled: false, tagPrefix: 'quarantined-' },
        remove: { enabled: false, allowInUse: false },
      }),
    notifyOnRecovery: z.boolean().default(true).describe('Notify when an image that failed passes again.'),
    cvssSource: z
      .enum(['scanner', 'nvd', 'max'])
      .default('scanner')
      .describe(
        "Which CVSS score blockCvssAtOrAbove compares: the scanner's own (Amazon Inspector's inspectorScore, or the score of the source ECR reports the severity from), NVD's, or the highest of any source and version. Default scanner.",
      ),
    registryScanning: registryScanningSchema.optional(),
  })
  .describe('The scan gate: verdicts on scanned images.');

export type GateConfig = z.output<typeof gateConfigSchema>;
