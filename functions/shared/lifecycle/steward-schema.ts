import { z } from 'zod';

const isoDate = z.iso.datetime({ offset: true }).or(z.iso.date());

const tagSelector = z
  .string()
  .min(1)
  .superRefine((s, ctx) => {
    if (!s.startsWith('^')) return;
    try {
      new RegExp(s);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(e as Error).message}` });
    }
  });

/** Schema of the Steward policy (see `StewardPolicy`). Strict: a misspelt protection is an error, never ignored. */
export const stewardPolicySchema = z
  .strictObject({
    protectedTags: z
      .array(tagSelector)
      .optional()
      .describe('Tags that keep an image: whole-tag globs with *, or regular expressions starting with ^.'),
    keepSemver: z
      .strictObject({
        count: z.number().int().min(1),
        perMajor: z.boolean().optional(),
        includePrerelease: z.boolean().optional(),
      })
      .optional()
      .describe('Keep the images carrying the newest `count` semver releases, by semver precedence.'),
    keepAtLeast: z
      .array(
        z.strictObject({ rulePriority: z.number().int().min(1).optional(), count: z.number().int().min(1) }),
      )
      .optional()
      .describe('Keep at least `count` images of a rule selection even when the rule would act on them.'),
    minAgeDays: z.number().min(0).optional().describe('Never act on an image younger than this many days.'),
    pulledWithinDays: z
      .number()
      .min(0)
      .optional()
      .describe('Never act on an image pulled within this many days.'),
    holds: z
      .array(
        z
          .strictObject({
            digest: z.string().min(1).optional(),
            tag: z.string().min(1).optional(),
            reason: z.string().min(1),
            owner: z.string().min(1),
            expiresAt: isoDate.optional(),
          })
          .refine((h) => (h.digest === undefined) !== (h.tag === undefined), {
            message: 'a hold names exactly one of digest or tag',
          }),
      )
      .optional()
      .describe('Holds on single images, with a reason, an owner and an optional expiry.'),
    indexAsUnit: z
      .boolean()
      .optional()
      .describe(
        'Treat image indexes with their children, and subjects with their referrers, as one unit. Default true.',
      ),
  })
  .describe(
    'ECR Steward protections: applied after the ECR rules pick candidates; they never change what the ECR policy means.',
  );

export type StewardPolicyInput = z.input<typeof stewardPolicySchema>;
