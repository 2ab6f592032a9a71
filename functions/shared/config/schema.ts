import * as z from 'zod';
import { alertsSchema } from './alerts.js';
import { approvalProblems } from './approval.js';
import { auditSchema } from './audit.js';
import { gateConfigSchema } from './gate.js';
import { governanceSchema } from './governance.js';
import { inUseSchema } from './in-use.js';
import { boundsSchema, reservedConcurrencySchema } from './limits.js';
import { backupSchema, organizationProblems, organizationSchema } from './organization.js';
import { selectionSchema } from './selection.js';
import { sweepSchema } from './sweep.js';
import { digestSchema, reportSchema } from './visibility.js';

// One file per section; this file composes them and keeps the names every other module imports.
export {
  DEFAULT_THRESHOLDS,
  type RateWindow,
  type Threshold,
  thresholdSchema,
  WINDOW_MINUTES,
} from './alerts.js';
export { type GateConfig, gateConfigSchema } from './gate.js';
export {
  type EffectiveGovernance,
  effectiveGovernance,
  type GovernanceConfig,
} from './governance.js';
export { DEFAULT_RESERVED_CONCURRENCY } from './limits.js';
export {
  type BackupConfig,
  backupSchema,
  type OrganizationConfig,
  type OrgEnvironment,
  type OrgTarget,
  organizationSchema,
} from './organization.js';
export { type Selection, selectionSchema } from './selection.js';

/** The whole configuration (steward.config.json): every section, with its defaults. */
export const configSchema = z
  .strictObject({
    $schema: z.string().optional(),
    mode: z
      .enum(['dry-run', 'enforce'])
      .default('dry-run')
      .describe('dry-run plans, logs and reports but deletes nothing. enforce acts.'),
    bounds: boundsSchema,
    selections: z
      .array(selectionSchema)
      .min(1)
      .describe(
        'Which repositories are managed and how. The first selection that matches a repository applies.',
      ),
    inUse: inUseSchema,
    sweep: sweepSchema,
    gate: gateConfigSchema.default(gateConfigSchema.parse({})),
    reservedConcurrency: reservedConcurrencySchema,
    audit: auditSchema,
    governance: governanceSchema,
    alerts: alertsSchema,
    organization: organizationSchema.optional(),
    backup: backupSchema.optional(),
    digest: digestSchema,
    report: reportSchema,
  })
  .superRefine((config, ctx) => {
    for (const p of [
      ...approvalProblems(config.governance.approval, config.selections),
      ...organizationProblems(config),
    ])
      ctx.addIssue({ code: 'custom', path: p.path, message: p.message });
  })
  .describe('ECR Steward configuration (steward.config.json).');

export type StewardConfig = z.output<typeof configSchema>;
export type StewardConfigInput = z.input<typeof configSchema>;
