import { z } from 'zod';
import { stewardPolicySchema } from '../lifecycle/steward-schema.js';
import { formatPolicyError, validatePolicyDocument } from '../lifecycle/validate.js';

/** An inline ECR lifecycle policy, validated with ECR's own rules. */
const lifecyclePolicySchema = z.unknown().superRefine((doc, ctx) => {
  const result = validatePolicyDocument(doc);
  if (!result.valid) {
    for (const error of result.errors) ctx.addIssue({ code: 'custom', message: formatPolicyError(error) });
  }
});

const repositoryGlob = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[a-z0-9*][a-z0-9._\-/*]*$/, 'a repository name glob: lower-case letters, digits, . _ - / and *');

export const selectionSchema = z
  .strictObject({
    name: z.string().min(1).optional().describe('A label for logs and reports.'),
    repositories: z
      .array(repositoryGlob)
      .min(1)
      .optional()
      .describe('Repository name globs (`*` matches any run of characters, `/` included).'),
    repositoryTags: z
      .record(z.string().min(1), z.string())
      .optional()
      .describe('Repository resource tags that must all be present with these values.'),
    lifecyclePolicy: z
      .union([z.literal('fromRepository'), lifecyclePolicySchema])
      .describe(
        'The ECR lifecycle policy JSON to enforce, or "fromRepository" to read the policy attached to the repository (ECR will then also act on it itself).',
      ),
    steward: stewardPolicySchema.optional(),
  })
  .refine((s) => s.repositories !== undefined || s.repositoryTags !== undefined, {
    message: 'a selection needs "repositories" (name globs) or "repositoryTags" (or both)',
  });

const ecsSourceSchema = z.strictObject({
  enabled: z.boolean().default(true),
  clusters: z
    .array(z.string().min(1))
    .optional()
    .describe('Cluster names or ARNs to inspect; all clusters of the account and region when omitted.'),
  taskDefinitionRevisions: z
    .number()
    .int()
    .min(0)
    .max(100)
    .default(3)
    .describe('Newest ACTIVE revisions of each task-definition family counted as in use (0 = none).'),
});

const lambdaSourceSchema = z.strictObject({ enabled: z.boolean().default(true) });

export const configSchema = z
  .strictObject({
    $schema: z.string().optional(),
    mode: z
      .enum(['dry-run', 'enforce'])
      .default('dry-run')
      .describe('dry-run plans, logs and reports but deletes nothing. enforce acts.'),
    bounds: z
      .strictObject({
        maxDeletesPerRun: z.number().int().min(0).max(100_000).default(1000),
        maxDeletesPerRepository: z.number().int().min(0).max(100_000).default(500),
      })
      .default({ maxDeletesPerRun: 1000, maxDeletesPerRepository: 500 })
      .describe('What one run may delete; the rest waits for the next run.'),
    selections: z
      .array(selectionSchema)
      .min(1)
      .describe(
        'Which repositories are managed and how. The first selection that matches a repository applies.',
      ),
    inUse: z
      .strictObject({
        ecs: ecsSourceSchema.default({ enabled: true, taskDefinitionRevisions: 3 }),
        lambda: lambdaSourceSchema.default({ enabled: true }),
        static: z
          .record(z.string(), z.array(z.string().min(1)))
          .optional()
          .describe('Extra references treated as in use: "repository@sha256:…" or "repository:tag" → where.'),
      })
      .default({ ecs: { enabled: true, taskDefinitionRevisions: 3 }, lambda: { enabled: true } }),
    sweep: z
      .strictObject({
        schedule: z
          .string()
          .regex(
            /^(cron|rate)\(.+\)$/,
            'an EventBridge Scheduler expression such as "cron(0 3 * * ? *)" or "rate(12 hours)"',
          )
          .default('cron(0 3 * * ? *)'),
        timezone: z.string().default('UTC'),
      })
      .default({ schedule: 'cron(0 3 * * ? *)', timezone: 'UTC' }),
  })
  .describe('ECR Steward configuration (steward.config.json).');

export type StewardConfig = z.output<typeof configSchema>;
export type StewardConfigInput = z.input<typeof configSchema>;
export type Selection = z.output<typeof selectionSchema>;
