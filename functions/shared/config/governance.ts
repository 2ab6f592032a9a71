import * as z from 'zod';
import { ENDPOINTS } from './alerts.js';
import {
  APPROVAL_DEFAULTS,
  approvalSchema,
  type EffectiveApproval,
  effectiveApproval,
  selectionApprovalSchema,
} from './approval.js';
import { scheduleExpression } from './sweep.js';

/** Where a selection's notices also go: a team's e-mail address or HTTPS endpoint. */
const noticeSubscriptionSchema = z
  .strictObject({
    protocol: z.enum(['email', 'https']),
    endpoint: z.string().min(1).describe('E-mail address or HTTPS URL.'),
  })
  .superRefine((s, ctx) => {
    const endpoint = ENDPOINTS[s.protocol];
    if (endpoint.test(s.endpoint)) return;
    ctx.addIssue({
      code: 'custom',
      path: ['endpoint'],
      message: `${JSON.stringify(s.endpoint)} is not a "${s.protocol}" endpoint — give ${endpoint.expected}`,
    });
  });

const noticeShape = {
  hours: z
    .number()
    .int()
    .min(0)
    .max(720)
    .describe(
      'Hours between the notice of a deletion and the deletion itself. 0: no notice, images are deleted when planned.',
    ),
  subscriptions: z
    .array(noticeSubscriptionSchema)
    .describe("Who else is told (besides the notices topic's own subscribers): the owning team."),
};

const softDeleteShape = {
  mode: z
    .enum(['archive', 'off'])
    .describe(
      "archive: a due deletion moves the image to ECR's archive storage class (restorable with `ecr-steward restore`) and a purge deletes it after purgeAfterDays. off: a due deletion deletes.",
    ),
  purgeAfterDays: z
    .number()
    .int()
    .min(1)
    .max(3650)
    .describe(
      'Days an archived image stays restorable before the purge deletes it. ECR charges archive storage for at least 90 days.',
    ),
  unarchivable: z
    .enum(['delete', 'keep'])
    .describe(
      'What a due deletion does with an image ECR refuses to archive: delete it (with that reason in the audit record) or keep it.',
    ),
};

export const GOVERNANCE_DEFAULTS = {
  notice: { hours: 0, subscriptions: [] as { protocol: 'email' | 'https'; endpoint: string }[] },
  softDelete: {
    mode: 'off' as 'archive' | 'off',
    purgeAfterDays: 30,
    unarchivable: 'keep' as 'delete' | 'keep',
  },
  dueSchedule: 'rate(15 minutes)',
};

/** The global governance block: every field has a default (today's behaviour: no notice, no soft delete). */
export const governanceSchema = z
  .strictObject({
    notice: z
      .strictObject({
        hours: noticeShape.hours.default(GOVERNANCE_DEFAULTS.notice.hours),
        subscriptions: noticeShape.subscriptions.default([]),
      })
      .default({ hours: 0, subscriptions: [] }),
    softDelete: z
      .strictObject({
        mode: softDeleteShape.mode.default('off'),
        purgeAfterDays: softDeleteShape.purgeAfterDays.default(30),
        unarchivable: softDeleteShape.unarchivable.default('keep'),
      })
      .default({ mode: 'off', purgeAfterDays: 30, unarchivable: 'keep' }),
    dueSchedule: scheduleExpression
      .default(GOVERNANCE_DEFAULTS.dueSchedule)
      .describe(
        'How often the due-deletion processor looks for notices that are due and archived images to purge.',
      ),
    approval: approvalSchema,
  })
  .default({
    notice: { hours: 0, subscriptions: [] },
    softDelete: { mode: 'off', purgeAfterDays: 30, unarchivable: 'keep' },
    dueSchedule: GOVERNANCE_DEFAULTS.dueSchedule,
    approval: { ...APPROVAL_DEFAULTS },
  })
  .describe(
    'Deletion governance: a notice period before every delete, approvals for large or sensitive ones, and soft delete through the archive class.',
  );

/** A selection's override of the global governance: any field it leaves out comes from the global block. */
export const selectionGovernanceSchema = z
  .strictObject({
    notice: z
      .strictObject({
        hours: noticeShape.hours.optional(),
        subscriptions: noticeShape.subscriptions.optional(),
      })
      .optional(),
    softDelete: z
      .strictObject({
        mode: softDeleteShape.mode.optional(),
        purgeAfterDays: softDeleteShape.purgeAfterDays.optional(),
        unarchivable: softDeleteShape.unarchivable.optional(),
      })
      .optional(),
    approval: selectionApprovalSchema.optional(),
  })
  .describe('Overrides the global governance block for the repositories of this selection.');

export type GovernanceConfig = z.output<typeof governanceSchema>;
export type SelectionGovernance = z.output<typeof selectionGovernanceSchema>;

/** The governance that applies to a selection's repositories: the selection's fields over the global ones. */
export interface EffectiveGovernance {
  readonly notice: {
    readonly hours: number;
    readonly subscriptions: readonly { protocol: 'email' | 'https'; endpoint: string }[];
  };
  readonly softDelete: {
    readonly mode: 'archive' | 'off';
    readonly purgeAfterDays: number;
    readonly unarchivable: 'delete' | 'keep';
  };
  readonly approval: EffectiveApproval;
}

export function effectiveGovernance(
  global: GovernanceConfig,
  selection: { readonly governance?: SelectionGovernance | undefined } | undefined,
): EffectiveGovernance {
  const own = selection?.governance;
  return {
    notice: {
      hours: own?.notice?.hours ?? global.notice.hours,
      subscriptions: own?.notice?.subscriptions ?? global.notice.subscriptions,
    },
    softDelete: {
      mode: own?.softDelete?.mode ?? global.softDelete.mode,
      purgeAfterDays: own?.softDelete?.purgeAfterDays ?? global.softDelete.purgeAfterDays,
      unarchivable: own?.softDelete?.unarchivable ?? global.softDelete.unarchivable,
    },
    approval: effectiveApproval(global.approval, own?.approval),
  };
}
