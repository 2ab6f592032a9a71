import * as z from 'zod';
import type { LifecyclePolicy } from './types.js';

/** ECR's limits (service quotas page and the API model; not adjustable). */
export const POLICY_LIMITS = {
  minTextLength: 100,
  maxTextLength: 30_720,
  maxRules: 50,
  maxWildcardsPerPattern: 4,
  minArchiveDays: 90,
} as const;

/** One validation error: where it is, and what to do about it. */
export interface PolicyError {
  /** JSON path, e.g. `rules[2].selection.countUnit`. */
  readonly path: string;
  /** The rule's index in the `rules` array and its `rulePriority`, when the error is inside a rule. */
  readonly rule?: { readonly index: number; readonly priority: number | undefined } | undefined;
  readonly message: string;
}

export type PolicyValidation =
  | { readonly valid: true; readonly policy: LifecyclePolicy; readonly errors: readonly [] }
  | { readonly valid: false; readonly errors: readonly PolicyError[] };

const TAG_STATUS = ['tagged', 'untagged', 'any'] as const;
const COUNT_TYPES = [
  'imageCountMoreThan',
  'sinceImagePushed',
  'sinceImagePulled',
  'sinceImageTransitioned',
] as const;
const ACTIONS = ['expire', 'transition'] as const;
const STORAGE = ['standard', 'archive'] as const;

const tagList = z.array(z.string().min(1)).min(1);

// Structure only: strict objects (unknown properties rejected, as ECR's schema validator does), no nulls.
const selectionSchema = z.strictObject({
  tagStatus: z.enum(TAG_STATUS),
  tagPatternList: tagList.optional(),
  tagPrefixList: tagList.optional(),
  storageClass: z.enum(STORAGE).optional(),
  countType: z.enum(COUNT_TYPES),
  countUnit: z.literal('days').optional(),
  countNumber: z.number().int().min(1),
});

const ruleSchema = z.strictObject({
  rulePriority: z.number().int().min(1),
  description: z.string().optional(),
  selection: selectionSchema,
  action: z.strictObject({
    type: z.enum(ACTIONS),
    targetStorageClass: z.literal('archive').optional(),
  }),
});

export const policyShapeSchema = z.strictObject({ rules: z.array(ruleSchema) });

/**
 * Validates lifecycle policy text exactly as `PutLifecyclePolicy` receives it (`lifecyclePolicyText`):
 * length limits first, then JSON, then ECR's schema and rules. Lists every error, not just the first.
 */
export function validatePolicyText(text: string): PolicyValidation {
  const errors: PolicyError[] = [];
  if (text.length < POLICY_LIMITS.minTextLength || text.length > POLICY_LIMITS.maxTextLength) {
    errors.push({
      path: '(text)',
      message: `the policy text is ${text.length} characters; ECR accepts ${POLICY_LIMITS.minTextLength} to ${POLICY_LIMITS.maxTextLength}${text.length > POLICY_LIMITS.maxTextLength ? ' (remove whitespace or merge rules)' : ''}`,
    });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return {
      valid: false,
      errors: [...errors, { path: '(text)', message: `not JSON: ${(e as Error).message}` }],
    };
  }
  const result = validatePolicyDocument(doc, { checkLength: false });
  if (result.valid && errors.length === 0) return result;
  return { valid: false, errors: [...errors, ...result.errors] };
}

/**
 * Validates a parsed policy document. With `checkLength` (the default) the length limits are applied to
 * the document's compact JSON, which is what ECR Steward submits when it writes a policy.
 */
export function validatePolicyDocument(doc: unknown, opts: { checkLength?: boolean } = {}): PolicyValidation {
  const errors: PolicyError[] = [];
  const rawRules = isObject(doc) && Array.isArray(doc.rules) ? doc.rules : [];
  const priorityOf = (index: number): number | undefined => {
    const r = rawRules[index];
    return isObject(r) && typeof r.rulePriority === 'number' ? r.rulePriority : undefined;
  };
  const at = (path: readonly PropertyKey[], message: string): PolicyError => {
    const index = path[0] === 'rules' && typeof path[1] === 'number' ? path[1] : undefined;
    return {
      path: formatPath(path),
      rule: index === undefined ? undefined : { index, priority: priorityOf(index) },
      message,
    };
  };

  if (opts.checkLength !== false && doc !== undefined) {
    const length = JSON.stringify(doc).length;
    if (length < POLICY_LIMITS.minTextLength || length > POLICY_LIMITS.maxTextLength) {
      errors.push(
        at(
          [],
          `the policy is ${length} characters as compact JSON; ECR accepts ${POLICY_LIMITS.minTextLength} to ${POLICY_LIMITS.maxTextLength}`,
        ),
      );
    }
  }

  // reportInput: zod 4 leaves `input` out of issues unless asked, and describeIssue() reports it.
  const parsed = policyShapeSchema.safeParse(doc, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) errors.push(at(issue.path, describeIssue(issue)));
  }

  // ECR's rules beyond the shape, checked on every rule that has the fields involved.
  if (Array.isArray(rawRules)) {
    if (isObject(doc) && Array.isArray(doc.rules) && rawRules.length === 0) {
      errors.push(at(['rules'], 'the policy has no rules; add at least one rule'));
    }
    if (rawRules.length > POLICY_LIMITS.maxRules) {
      errors.push(
        at(
          ['rules'],
          `the policy has ${rawRules.length} rules; ECR allows at most ${POLICY_LIMITS.maxRules}`,
        ),
      );
    }
    const byPriority = new Map<number, number[]>();
    const perClass = new Map<string, { any: number[]; untagged: number[]; priorities: number[] }>();
    rawRules.forEach((rule, index) => {
      if (!isObject(rule)) return;
      const sel = isObject(rule.selection) ? rule.selection : {};
      const action = isObject(rule.action) ? rule.action : {};
      const p = (...rest: string[]) => ['rules', index, ...rest];
      const priority = typeof rule.rulePriority === 'number' ? rule.rulePriority : undefined;
      if (priority !== undefined) byPriority.set(priority, [...(byPriority.get(priority) ?? []), index]);

      const hasPatterns = sel.tagPatternList !== undefined;
      const hasPrefixes = sel.tagPrefixList !== undefined;
      if (hasPatterns && hasPrefixes) {
        errors.push(at(p('selection'), 'use tagPatternList or tagPrefixList, not both, in one rule'));
      }
      if (sel.tagStatus === 'tagged' && !hasPatterns && !hasPrefixes) {
        errors.push(
          at(
            p('selection', 'tagStatus'),
            'tagStatus "tagged" needs a tagPatternList or a tagPrefixList naming the tags it selects',
          ),
        );
      }
      if ((sel.tagStatus === 'untagged' || sel.tagStatus === 'any') && (hasPatterns || hasPrefixes)) {
        errors.push(
          at(
            p('selection', hasPatterns ? 'tagPatternList' : 'tagPrefixList'),
            `${hasPatterns ? 'tagPatternList' : 'tagPrefixList'} is only allowed with tagStatus "tagged"; remove it or set tagStatus to "tagged" (it is "${String(sel.tagStatus)}")`,
          ),
        );
      }
      if (Array.isArray(sel.tagPatternList)) {
        sel.tagPatternList.forEach((pattern, i) => {
          if (typeof pattern !== 'string') return;
          const stars = pattern.split('*').length - 1;
          if (stars > POLICY_LIMITS.maxWildcardsPerPattern) {
            errors.push(
              at(
                p('selection', 'tagPatternList', String(i)),
                `tagPatternList entry "${pattern}" has ${stars} wildcards; ECR allows at most ${POLICY_LIMITS.maxWildcardsPerPattern} "*" per pattern`,
              ),
            );
          }
        });
      }

      const countType = sel.countType;
      const since = typeof countType === 'string' && countType.startsWith('since');
      if (since && sel.countUnit === undefined) {
        errors.push(
          at(p('selection', 'countUnit'), `countUnit "days" is required when countType is ${countType}`),
        );
      }
      if (countType === 'imageCountMoreThan' && sel.countUnit !== undefined) {
        errors.push(
          at(p('selection', 'countUnit'), 'countUnit is only allowed with the since* count types; remove it'),
        );
      }

      const storageClass = sel.storageClass ?? 'standard';
      if (countType === 'sinceImageTransitioned') {
        if (sel.storageClass !== 'archive') {
          errors.push(
            at(
              p('selection', 'storageClass'),
              'countType sinceImageTransitioned selects archived images: set storageClass to "archive"',
            ),
          );
        }
        if (action.type !== undefined && action.type !== 'expire') {
          errors.push(
            at(
              p('action', 'type'),
              'countType sinceImageTransitioned can only be used with action type "expire"',
            ),
          );
        }
        if (typeof sel.countNumber === 'number' && sel.countNumber < POLICY_LIMITS.minArchiveDays) {
          errors.push(
            at(
              p('selection', 'countNumber'),
              `archived images have a minimum storage duration of ${POLICY_LIMITS.minArchiveDays} days; set countNumber to ${POLICY_LIMITS.minArchiveDays} or more (it is ${sel.countNumber})`,
            ),
          );
        }
      } else if (sel.storageClass === 'archive') {
        errors.push(
          at(
            p('selection', 'storageClass'),
            `storageClass "archive" is only supported with countType sinceImageTransitioned; ${String(countType)} selects standard images only`,
          ),
        );
      }
      if (countType === 'sinceImagePulled' && action.type !== undefined && action.type !== 'transition') {
        errors.push(
          at(
            p('action', 'type'),
            'countType sinceImagePulled can only be used with action type "transition" (archive), not "expire"',
          ),
        );
      }
      if (action.type === 'transition' && action.targetStorageClass === undefined) {
        errors.push(
          at(p('action', 'targetStorageClass'), 'action "transition" needs targetStorageClass "archive"'),
        );
      }
      if (action.type === 'expire' && action.targetStorageClass !== undefined) {
        errors.push(
          at(
            p('action', 'targetStorageClass'),
            'targetStorageClass is only allowed with action "transition"; remove it',
          ),
        );
      }

      const cls = perClass.get(String(storageClass)) ?? { any: [], untagged: [], priorities: [] };
      if (sel.tagStatus === 'any') cls.any.push(index);
      if (sel.tagStatus === 'untagged') cls.untagged.push(index);
      if (priority !== undefined) cls.priorities.push(priority);
      perClass.set(String(storageClass), cls);
    });

    for (const [priority, indexes] of byPriority) {
      if (indexes.length > 1) {
        for (const index of indexes.slice(1)) {
          errors.push(
            at(
              ['rules', index, 'rulePriority'],
              `rulePriority ${priority} is also used by rules[${indexes[0]}]; each rule needs a unique rulePriority`,
            ),
          );
        }
      }
    }
    for (const [storageClass, cls] of perClass) {
      for (const index of cls.untagged.slice(1)) {
        errors.push(
          at(
            ['rules', index, 'selection', 'tagStatus'],
            `only one rule per storage class may select untagged images (tagStatus "untagged"); rules[${cls.untagged[0]}] already does for "${storageClass}"`,
          ),
        );
      }
      for (const index of cls.any.slice(1)) {
        errors.push(
          at(
            ['rules', index, 'selection', 'tagStatus'],
            `only one tagStatus "any" rule per storage class; rules[${cls.any[0]}] already is for "${storageClass}"`,
          ),
        );
      }
      const anyIndex = cls.any[0];
      const anyPriority = anyIndex === undefined ? undefined : priorityOf(anyIndex);
      if (
        anyIndex !== undefined &&
        anyPriority !== undefined &&
        cls.priorities.some((q) => q > anyPriority)
      ) {
        errors.push(
          at(
            ['rules', anyIndex, 'rulePriority'],
            `the tagStatus "any" rule must be evaluated last in storage class "${storageClass}": give it the highest rulePriority (a rule of that class has ${Math.max(...cls.priorities)})`,
          ),
        );
      }
    }
  }

  if (errors.length > 0 || !parsed.success) return { valid: false, errors: dedupe(errors) };
  return { valid: true, policy: parsed.data as LifecyclePolicy, errors: [] };
}

/** Formats one error for people: `rules[1] (rulePriority 5) selection.countUnit: …`. */
export function formatPolicyError(error: PolicyError): string {
  if (error.rule) {
    const where = error.path.replace(/^rules\[\d+\]\.?/, '');
    const prio =
      error.rule.priority === undefined ? 'no rulePriority' : `rulePriority ${error.rule.priority}`;
    return `rules[${error.rule.index}] (${prio})${where ? ` ${where}` : ''}: ${error.message}`;
  }
  return `${error.path}: ${error.message}`;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const last = issue.path[issue.path.length - 1];
  // A list entry is named by its list: `tagPatternList[0]`, not `0`.
  const field =
    typeof last === 'number'
      ? `${String(issue.path[issue.path.length - 2] ?? 'policy')}[${last}]`
      : String(last ?? 'policy');
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return `${field} is required`;
      if (issue.input === null) return `${field} must not be null; remove the property or give it a value`;
      return `${field} must be ${issue.expected === 'int' ? 'an integer' : `${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`} (it is ${describeValue(issue.input)})`;
    case 'unrecognized_keys':
      return `unknown propert${issue.keys.length > 1 ? 'ies' : 'y'} ${issue.keys.map((k) => `"${k}"`).join(', ')}; ECR rejects properties it does not define (check the spelling)`;
    case 'invalid_value':
      return `${field} must be ${issue.values.map((v) => JSON.stringify(v)).join(' or ')} (it is ${describeValue(issue.input)})`;
    case 'too_small':
      if (issue.origin === 'array') return `${field} must list at least ${String(issue.minimum)} entry`;
      if (issue.origin === 'string') return `${field} must not be empty`;
      return `${field} must be ${String(issue.minimum)} or more (0 and negative numbers are not accepted)`;
    default:
      return issue.message;
  }
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'object') return 'an object';
  return String(v);
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number' || /^\d+$/.test(String(part))) out += `[${String(part)}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(policy)';
}

function dedupe(errors: PolicyError[]): PolicyError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const k = `${e.path}|${e.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
