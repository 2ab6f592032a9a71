/**
 * `governance.approval`: which deletions wait for an operator's signed approval, who may approve, who may
 * ask, and how long a request waits. Global, with a per-selection override of every field but `breakerReset`.
 */
import * as z from 'zod';
import { rolePathWildcardProblem } from '../approvals/principals.js';

const BYTE_UNITS: Readonly<Record<string, number>> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
};

/** `"50 GiB"`, `"1.5TB"`, `"700 MB"` or a number of bytes; SI units are powers of 1000, IEC of 1024. */
export function parseBytes(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$/.exec(value);
  if (!m) return undefined;
  return Math.floor(Number(m[1]) * BYTE_UNITS[m[2]!]!);
}

export const byteSizeSchema = z.union([z.number().int().min(0), z.string()]).transform((v, ctx) => {
  const bytes = parseBytes(v);
  if (bytes === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `${JSON.stringify(v)} is not a size — give bytes as a number or a string like "50 GiB" (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)`,
    });
    return z.NEVER;
  }
  return bytes;
});

/**
 * An IAM principal ARN with `*` wildcards in its name: a user, a role (which also matches its assumed-role
 * sessions), or an assumed-role session. The account is always given: an approver "in any AWS account" would
 * open the endpoint to the world, and the stack's resource policy names accounts.
 */
export const PRINCIPAL_PATTERN =
  /^arn:aws(?:-[a-z]+)*:(?:iam::\d{12}:(?:user|role)\/[^*\s]*\S+|sts::\d{12}:assumed-role\/\S+)$/;

const principalPatterns = z
  .array(
    z
      .string()
      .regex(
        PRINCIPAL_PATTERN,
        'not an IAM principal ARN with its 12-digit account — give a user or role ARN (wildcards * allowed in the name), e.g. arn:aws:iam::123456789012:role/ops-*',
      )
      .superRefine((pattern, ctx) => {
        const problem = rolePathWildcardProblem(pattern);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
  )
  .describe(
    'IAM principal ARNs, `*` wildcards allowed. A role ARN also matches the sessions of that role (arn:aws:sts::…:assumed-role/<role>/<session>).',
  );

const requiredSchema = z
  .union([
    z.enum(['never', 'always']),
    z
      .strictObject({
        overImages: z
          .number()
          .int()
          .min(0)
          .optional()
          .describe('Ask when a run would delete more than this many images of one repository.'),
        overBytes: byteSizeSchema
          .optional()
          .describe('Ask when a run would delete more than this many bytes of one repository ("50 GiB").'),
        repositoryTags: z
          .record(z.string(), z.string())
          .optional()
          .describe('Ask for every deletion in repositories carrying all of these tags ({"env": "prod"}).'),
      })
      .refine((o) => Object.values(o).some((v) => v !== undefined), {
        message: 'give at least one of overImages, overBytes, repositoryTags (or "always" / "never")',
      }),
  ])
  .describe(
    'When deletions wait for an approval: never, always, or when a run over one repository crosses a size or the repository carries tags.',
  );

export type ApprovalRequired = z.output<typeof requiredSchema>;

const expiresSchema = z
  .number()
  .int()
  .min(1)
  .max(720)
  .describe('Hours a request waits for an answer; unanswered, it becomes EXPIRED and its images are kept.');

export const APPROVAL_DEFAULTS = {
  required: 'never' as ApprovalRequired,
  approvers: [] as string[],
  requesters: [] as string[],
  expiresAfterHours: 72,
  breakerReset: false,
};

export const approvalSchema = z
  .strictObject({
    required: requiredSchema.default('never'),
    approvers: principalPatterns
      .default([])
      .describe('Who may approve or reject a request (never the one who asked for it).'),
    requesters: principalPatterns
      .default([])
      .describe(
        'Who may ask for a deletion outside the policy (`ecr-steward delete request`), besides the approvers.',
      ),
    expiresAfterHours: expiresSchema.default(72),
    breakerReset: z
      .boolean()
      .default(false)
      .describe(
        '`ecr-steward breaker reset` becomes a request that an approver (not the one who asked) must approve.',
      ),
  })
  .default({ ...APPROVAL_DEFAULTS })
  .describe('Approvals: large or sensitive deletions wait for an operator’s signed approval.');

export const selectionApprovalSchema = z
  .strictObject({
    required: requiredSchema.optional(),
    approvers: principalPatterns.optional(),
    requesters: principalPatterns.optional(),
    expiresAfterHours: expiresSchema.optional(),
  })
  .describe('Overrides the global approval settings for this selection’s repositories.');

export type ApprovalConfig = z.output<typeof approvalSchema>;
export type SelectionApproval = z.output<typeof selectionApprovalSchema>;

export interface EffectiveApproval {
  readonly required: ApprovalRequired;
  readonly approvers: readonly string[];
  readonly requesters: readonly string[];
  readonly expiresAfterHours: number;
}

export function effectiveApproval(
  global: ApprovalConfig,
  own: SelectionApproval | undefined,
): EffectiveApproval {
  return {
    required: own?.required ?? global.required,
    approvers: own?.approvers ?? global.approvers,
    requesters: own?.requesters ?? global.requesters,
    expiresAfterHours: own?.expiresAfterHours ?? global.expiresAfterHours,
  };
}

/** Approval settings that cannot work: asking with nobody to answer. */
export function approvalProblems(
  global: ApprovalConfig,
  selections: readonly { readonly governance?: { readonly approval?: SelectionApproval } | undefined }[],
): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  const needs = (a: EffectiveApproval) => a.required !== 'never' && a.approvers.length === 0;
  const fix =
    'add at least one IAM principal ARN that may approve (e.g. arn:aws:iam::123456789012:role/ops-*)';
  if (needs(effectiveApproval(global, undefined)))
    out.push({
      path: ['governance', 'approval', 'approvers'],
      message: `approval.required is ${JSON.stringify(global.required)} but nobody may approve — ${fix}`,
    });
  if (global.breakerReset && global.approvers.length === 0)
    out.push({
      path: ['governance', 'approval', 'approvers'],
      message: `approval.breakerReset is true but nobody may approve a reset — ${fix}`,
    });
  selections.forEach((s, i) => {
    const own = s.governance?.approval;
    if (!own) return;
    const eff = effectiveApproval(global, own);
    if (needs(eff) && !needs(effectiveApproval(global, undefined)))
      out.push({
        path: ['selections', i, 'governance', 'approval', 'approvers'],
        message: `approval.required is ${JSON.stringify(eff.required)} for this selection but nobody may approve — ${fix}`,
      });
  });
  return out;
}
