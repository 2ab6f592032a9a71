import * as z from 'zod';
import { stewardPolicySchema } from '../lifecycle/steward-schema.js';
import { formatPolicyError, validatePolicyDocument } from '../lifecycle/validate.js';
import { selectionGovernanceSchema } from './governance.js';
import { regionNameSchema } from './regions.js';

/** An inline ECR lifecycle policy, validated with ECR's own rules. */
const lifecyclePolicySchema = z
  .unknown()
  // z.unknown() takes a missing key; say it is missing rather than quoting the policy validator.
  .refine((doc) => doc !== undefined, {
    message: 'required — add it (an ECR lifecycle policy, or "fromRepository")',
    abort: true,
  })
  .superRefine((doc, ctx) => {
    const result = validatePolicyDocument(doc);
    if (!result.valid) {
      for (const error of result.errors) ctx.addIssue({ code: 'custom', message: formatPolicyError(error) });
    }
  });

/** A repository-name glob: the characters of ECR repository names, and `*`. */
export const repositoryGlob = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[a-z0-9*][a-z0-9._\-/*]*$/, 'a repository name glob: lower-case letters, digits, . _ - / and *');

/** An AWS account id: exactly 12 digits, as a string (a JSON number would lose leading zeros). */
export const accountIdSchema = z
  .string()
  .regex(/^\d{12}$/, 'an AWS account id is 12 digits, as a string — e.g. "222222222222"');

/** Repository resource tags a selection requires. `{}` would require none, so it would match every repository. */
export const repositoryTagsSchema = z
  .record(z.string().min(1), z.string())
  .refine((tags) => Object.keys(tags).length > 0, {
    message: 'an empty repositoryTags matches every repository — name at least one tag, or remove it',
  });

/** The rule priorities of an inline policy, or undefined when they cannot be known (`fromRepository`). */
function rulePriorities(policy: unknown): Set<number> | undefined {
  if (typeof policy !== 'object' || policy === null) return undefined;
  const rules = (policy as { rules?: unknown }).rules;
  if (!Array.isArray(rules)) return undefined;
  return new Set(
    rules.map((r) => (r as { rulePriority?: unknown })?.rulePriority).filter((p) => typeof p === 'number'),
  );
}

/** One selection: which repositories, the ECR lifecycle policy that applies to them, and Steward's protections. */
export const selectionSchema = z
  .strictObject({
    name: z.string().min(1).optional().describe('A label for logs and reports.'),
    repositories: z
      .array(repositoryGlob)
      .min(1)
      .optional()
      .describe('Repository name globs (`*` matches any run of characters, `/` included).'),
    repositoryTags: repositoryTagsSchema
      .optional()
      .describe('Repository resource tags that must all be present with these values.'),
    lifecyclePolicy: z
      .union([z.literal('fromRepository'), lifecyclePolicySchema])
      .describe(
        'The ECR lifecycle policy JSON to enforce, or "fromRepository" to read the policy attached to the repository (ECR will then also act on it itself).',
      ),
    steward: stewardPolicySchema.optional(),
    governance: selectionGovernanceSchema.optional(),
    accounts: z
      .array(accountIdSchema)
      .min(1)
      .optional()
      .describe(
        'With "organization": this selection applies only in these spoke accounts (everywhere when omitted).',
      ),
    regions: z
      .array(regionNameSchema)
      .min(1)
      .optional()
      .describe(
        'With "organization": this selection applies only in these regions (everywhere when omitted).',
      ),
  })
  .refine((s) => s.repositories !== undefined || s.repositoryTags !== undefined, {
    message: 'a selection needs "repositories" (name globs) or "repositoryTags" (or both)',
  })
  .superRefine((s, ctx) => {
    // With "fromRepository" the priorities are only known at run time: nothing to check here.
    const priorities = rulePriorities(s.lifecyclePolicy);
    if (!priorities) return;
    const known = [...priorities].sort((a, b) => a - b).join(', ');
    (s.steward?.keepAtLeast ?? []).forEach((entry, i) => {
      if (entry.rulePriority === undefined || priorities.has(entry.rulePriority)) return;
      ctx.addIssue({
        code: 'custom',
        path: ['steward', 'keepAtLeast', i, 'rulePriority'],
        message: `no rule of this selection's lifecyclePolicy has rulePriority ${entry.rulePriority} — use one of ${known || '(none: the policy has no rules)'}, or omit rulePriority for every rule`,
      });
    });
  });

export type Selection = z.output<typeof selectionSchema>;
