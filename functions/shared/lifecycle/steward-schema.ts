import * as z from 'zod';

const isoDate = z.iso.datetime({ offset: true }).or(z.iso.date());

/**
 * An image tag as the OCI distribution spec defines it, which ECR enforces: a letter, digit or `_`, then up to
 * 127 letters, digits, `_`, `.` or `-`.
 */
export const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** An image manifest digest as ECR writes it: `sha256:` and 64 lower-case hex digits. */
export const IMAGE_DIGEST = /^sha256:[a-f0-9]{64}$/;

const TAG_RULE = 'image tags are letters, digits, _ . - (not first: . -), at most 128 characters';

/**
 * Why a whole-tag glob (`*` any run, everything else literal, as `globToRegExp` reads it) can match no image
 * tag, or undefined when some tag matches it. A protection that matches nothing protects nothing, silently.
 */
export function globTagProblem(glob: string): string | undefined {
  const literal = glob.replaceAll('*', '');
  const bad = [...new Set(literal.replace(/[A-Za-z0-9_.-]/g, ''))];
  if (bad.length > 0) {
    return `"${glob}" can match no image tag: ${bad.map((c) => JSON.stringify(c)).join(', ')} cannot occur in a tag (${TAG_RULE}; in a glob only * is special) — start it with ^ for a regular expression`;
  }
  if (/^[.-]/.test(glob)) return `"${glob}" can match no image tag: ${TAG_RULE} — drop the leading character`;
  if (literal.length > 128) return `"${glob}" can match no image tag: ${TAG_RULE} — shorten it`;
  return undefined;
}

const tagSelector = z
  .string()
  .min(1)
  .superRefine((s, ctx) => {
    if (!s.startsWith('^')) {
      const problem = globTagProblem(s);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
      return;
    }
    try {
      new RegExp(s);
    } catch (e) {
      ctx.addIssue({
        code: 'custom',
        message: `not a valid regular expression: ${(e as Error).message} — fix it, or drop the leading ^ for a glob`,
      });
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
            digest: z
              .string()
              .regex(IMAGE_DIGEST, 'not an image digest — write "sha256:" and the 64 lower-case hex digits')
              .optional(),
            tag: z
              .string()
              .regex(IMAGE_TAG, `not an image tag (${TAG_RULE}) — name the exact tag the hold keeps`)
              .optional(),
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
