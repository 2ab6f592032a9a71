import * as z from 'zod';

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

/** Where running images are found: ECS, Lambda, and references listed by hand. */
export const inUseSchema = z
  .strictObject({
    ecs: ecsSourceSchema.default({ enabled: true, taskDefinitionRevisions: 3 }),
    lambda: lambdaSourceSchema.default({ enabled: true }),
    static: z
      .record(z.string(), z.array(z.string().min(1)))
      .optional()
      .describe('Extra references treated as in use: "repository@sha256:…" or "repository:tag" → where.'),
  })
  .default({ ecs: { enabled: true, taskDefinitionRevisions: 3 }, lambda: { enabled: true } });
