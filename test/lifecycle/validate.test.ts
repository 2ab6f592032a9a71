/**
 * ECR's validation rules (docs/ecr-lifecycle.md §3, rows 1–18, plus unknown properties and nulls): every invalid policy
 * gives exactly the errors listed, at the listed path, rule index and rulePriority, in words that name the field.
 */
import { describe, expect, it } from 'vitest';
import {
  formatPolicyError,
  POLICY_LIMITS,
  type PolicyError,
  validatePolicyDocument,
  validatePolicyText,
} from '../../functions/shared/lifecycle/index.js';
import { rule } from './helpers.js';

type Json = Record<string, unknown>;

/** rules[0]: an ordinary valid rule, so the rule under test sits at index 1 with a priority other than 1. */
const first = rule(1, {
  tagStatus: 'tagged',
  tagPrefixList: ['prod'],
  countType: 'imageCountMoreThan',
  countNumber: 5,
});
const countSel = (extra: Json = {}): Json => ({
  tagStatus: 'tagged',
  tagPatternList: ['feature-*'],
  countType: 'imageCountMoreThan',
  countNumber: 3,
  ...extra,
});
const ageSel = (extra: Json = {}): Json => ({
  tagStatus: 'untagged',
  countType: 'sinceImagePushed',
  countUnit: 'days',
  countNumber: 14,
  ...extra,
});
const archiveSel = (extra: Json = {}): Json => ({
  tagStatus: 'any',
  storageClass: 'archive',
  countType: 'sinceImageTransitioned',
  countUnit: 'days',
  countNumber: 365,
  ...extra,
});
const withSecond = (second: Json): Json => ({ rules: [first, second] });
const without = (o: Json, key: string): Json =>
  Object.fromEntries(Object.entries(o).filter(([k]) => k !== key));

interface Expected {
  readonly path: string;
  /** `[index, rulePriority]` of the rule, or `undefined` for errors outside any rule. */
  readonly rule?: readonly [number, number | undefined];
  /** Words the message must contain: at least the field it is about. */
  readonly says: readonly string[];
}

interface InvalidRow {
  readonly case: string;
  readonly doc: unknown;
  readonly errors: readonly Expected[];
}

const invalid: readonly InvalidRow[] = [
  // 1
  {
    case: '§3.1 tagged without tagPatternList or tagPrefixList',
    doc: withSecond(rule(10, without(countSel(), 'tagPatternList'))),
    errors: [
      {
        path: 'rules[1].selection.tagStatus',
        rule: [1, 10],
        says: ['tagged', 'tagPatternList', 'tagPrefixList'],
      },
    ],
  },
  // 2
  {
    case: '§3.2 tagPatternList and tagPrefixList in one rule',
    doc: withSecond(rule(10, countSel({ tagPrefixList: ['feature'] }))),
    errors: [
      { path: 'rules[1].selection', rule: [1, 10], says: ['tagPatternList', 'tagPrefixList', 'not both'] },
    ],
  },
  // 3
  {
    case: '§3.3 untagged with a tagPrefixList',
    doc: withSecond(rule(10, ageSel({ tagPrefixList: ['x'] }))),
    errors: [
      { path: 'rules[1].selection.tagPrefixList', rule: [1, 10], says: ['tagPrefixList', 'untagged'] },
    ],
  },
  {
    case: '§3.3 any with a tagPatternList',
    doc: withSecond(rule(10, ageSel({ tagStatus: 'any', tagPatternList: ['x*'] }))),
    errors: [{ path: 'rules[1].selection.tagPatternList', rule: [1, 10], says: ['tagPatternList', '"any"'] }],
  },
  // 4
  {
    case: '§3.4 two rules with the same rulePriority',
    doc: withSecond(rule(1, ageSel())),
    errors: [{ path: 'rules[1].rulePriority', rule: [1, 1], says: ['rulePriority 1', 'rules[0]', 'unique'] }],
  },
  // 5
  {
    case: '§3.5 an any rule that is not the last of its storage class',
    doc: { rules: [rule(1, ageSel({ tagStatus: 'any' })), rule(2, countSel())] },
    errors: [{ path: 'rules[0].rulePriority', rule: [0, 1], says: ['"any"', 'rulePriority', 'standard'] }],
  },
  {
    case: '§3.5 two any rules in one storage class',
    doc: { rules: [first, rule(5, ageSel({ tagStatus: 'any' })), rule(9, ageSel({ tagStatus: 'any' }))] },
    errors: [
      { path: 'rules[2].selection.tagStatus', rule: [2, 9], says: ['tagStatus', '"any"', 'rules[1]'] },
      { path: 'rules[1].rulePriority', rule: [1, 5], says: ['"any"', 'rulePriority', '9'] },
    ],
  },
  // 6
  {
    case: '§3.6 two untagged rules in one storage class',
    doc: { rules: [rule(3, ageSel()), rule(4, ageSel({ countNumber: 30 }))] },
    errors: [
      { path: 'rules[1].selection.tagStatus', rule: [1, 4], says: ['untagged', 'rules[0]', 'standard'] },
    ],
  },
  // 7
  {
    case: '§3.7 countNumber 0',
    doc: withSecond(rule(10, countSel({ countNumber: 0 }))),
    errors: [{ path: 'rules[1].selection.countNumber', rule: [1, 10], says: ['countNumber', '1 or more'] }],
  },
  {
    case: '§3.7 a negative countNumber',
    doc: withSecond(rule(10, countSel({ countNumber: -2 }))),
    errors: [{ path: 'rules[1].selection.countNumber', rule: [1, 10], says: ['countNumber', '1 or more'] }],
  },
  {
    case: '§3.7 a fractional countNumber',
    doc: withSecond(rule(10, countSel({ countNumber: 1.5 }))),
    errors: [
      { path: 'rules[1].selection.countNumber', rule: [1, 10], says: ['countNumber', 'integer', '1.5'] },
    ],
  },
  {
    case: '§3.7 a countNumber written as a string',
    doc: withSecond(rule(10, countSel({ countNumber: '3' }))),
    errors: [
      { path: 'rules[1].selection.countNumber', rule: [1, 10], says: ['countNumber', 'number', '"3"'] },
    ],
  },
  // 8
  {
    case: '§3.8 a since* count type without countUnit',
    doc: withSecond(rule(10, without(ageSel(), 'countUnit'))),
    errors: [
      {
        path: 'rules[1].selection.countUnit',
        rule: [1, 10],
        says: ['countUnit', '"days"', 'sinceImagePushed'],
      },
    ],
  },
  {
    case: '§3.8 countUnit with imageCountMoreThan',
    doc: withSecond(rule(10, countSel({ countUnit: 'days' }))),
    errors: [{ path: 'rules[1].selection.countUnit', rule: [1, 10], says: ['countUnit', 'since*'] }],
  },
  {
    case: '§3.8 a countUnit other than days',
    doc: withSecond(rule(10, ageSel({ countUnit: 'hours' }))),
    errors: [
      { path: 'rules[1].selection.countUnit', rule: [1, 10], says: ['countUnit', '"days"', '"hours"'] },
    ],
  },
  // 9
  {
    case: '§3.9 a pattern with more than four wildcards',
    doc: withSecond(rule(10, countSel({ tagPatternList: ['*test*1*2*3', 'test*1*2*3*4*5*6'] }))),
    errors: [
      {
        path: 'rules[1].selection.tagPatternList[1]',
        rule: [1, 10],
        says: ['tagPatternList', 'test*1*2*3*4*5*6', '6 wildcards', 'at most 4'],
      },
    ],
  },
  // 10
  {
    case: '§3.10 sinceImagePulled with expire',
    doc: withSecond(rule(10, ageSel({ countType: 'sinceImagePulled' }))),
    errors: [
      { path: 'rules[1].action.type', rule: [1, 10], says: ['sinceImagePulled', '"transition"', 'type'] },
    ],
  },
  {
    case: '§3.10 sinceImageTransitioned with transition',
    doc: withSecond(rule(10, archiveSel(), { type: 'transition', targetStorageClass: 'archive' })),
    errors: [
      { path: 'rules[1].action.type', rule: [1, 10], says: ['sinceImageTransitioned', '"expire"', 'type'] },
    ],
  },
  {
    case: '§3.10 sinceImageTransitioned without storageClass archive',
    doc: withSecond(rule(10, without(archiveSel(), 'storageClass'))),
    errors: [{ path: 'rules[1].selection.storageClass', rule: [1, 10], says: ['storageClass', '"archive"'] }],
  },
  // 11
  {
    case: '§3.11 storageClass archive with a standard-only count type',
    doc: withSecond(rule(10, ageSel({ storageClass: 'archive' }))),
    errors: [
      {
        path: 'rules[1].selection.storageClass',
        rule: [1, 10],
        says: ['storageClass', '"archive"', 'sinceImagePushed'],
      },
    ],
  },
  {
    case: '§3.11 a storageClass that does not exist',
    doc: withSecond(rule(10, ageSel({ storageClass: 'glacier' }))),
    errors: [
      {
        path: 'rules[1].selection.storageClass',
        rule: [1, 10],
        says: ['storageClass', '"standard"', '"glacier"'],
      },
    ],
  },
  // 12
  {
    case: '§3.12 transition without targetStorageClass',
    doc: withSecond(rule(10, ageSel(), { type: 'transition' })),
    errors: [
      {
        path: 'rules[1].action.targetStorageClass',
        rule: [1, 10],
        says: ['targetStorageClass', '"archive"'],
      },
    ],
  },
  {
    case: '§3.12 transition to a storage class other than archive',
    doc: withSecond(rule(10, ageSel(), { type: 'transition', targetStorageClass: 'standard' })),
    errors: [
      {
        path: 'rules[1].action.targetStorageClass',
        rule: [1, 10],
        says: ['targetStorageClass', '"archive"', '"standard"'],
      },
    ],
  },
  {
    case: '§3.12 expire with a targetStorageClass',
    doc: withSecond(rule(10, ageSel(), { type: 'expire', targetStorageClass: 'archive' })),
    errors: [
      {
        path: 'rules[1].action.targetStorageClass',
        rule: [1, 10],
        says: ['targetStorageClass', 'transition'],
      },
    ],
  },
  // 13
  {
    case: '§3.13 deleting from archive before 90 days',
    doc: withSecond(rule(10, archiveSel({ countNumber: 89 }))),
    errors: [{ path: 'rules[1].selection.countNumber', rule: [1, 10], says: ['countNumber', '90', '89'] }],
  },
  // 14
  {
    case: '§3.14 a tagStatus outside the enum (upper case)',
    doc: withSecond(rule(10, ageSel({ tagStatus: 'UNTAGGED' }))),
    errors: [
      {
        path: 'rules[1].selection.tagStatus',
        rule: [1, 10],
        says: ['tagStatus', '"UNTAGGED"', '"untagged"'],
      },
    ],
  },
  {
    case: '§3.14 a countType outside the enum',
    doc: withSecond(rule(10, ageSel({ countType: 'sinceLastPulled' }))),
    errors: [
      {
        path: 'rules[1].selection.countType',
        rule: [1, 10],
        says: ['countType', '"sinceLastPulled"', '"sinceImagePulled"'],
      },
    ],
  },
  {
    case: '§3.14 an action type outside the enum',
    doc: withSecond(rule(10, ageSel(), { type: 'delete' })),
    errors: [{ path: 'rules[1].action.type', rule: [1, 10], says: ['type', '"delete"', '"expire"'] }],
  },
  // 15
  {
    case: '§3.15 "countUnit": null',
    doc: withSecond(rule(10, ageSel({ countUnit: null }))),
    errors: [{ path: 'rules[1].selection.countUnit', rule: [1, 10], says: ['countUnit', 'null'] }],
  },
  {
    case: '§3.15 "targetStorageClass": null on an expire action',
    doc: withSecond(rule(10, ageSel(), { type: 'expire', targetStorageClass: null })),
    errors: [
      { path: 'rules[1].action.targetStorageClass', rule: [1, 10], says: ['targetStorageClass', 'null'] },
      {
        path: 'rules[1].action.targetStorageClass',
        rule: [1, 10],
        says: ['targetStorageClass', 'transition'],
      },
    ],
  },
  {
    case: '§3.15 "rulePriority": null',
    doc: withSecond({ ...rule(10, ageSel()), rulePriority: null }),
    errors: [{ path: 'rules[1].rulePriority', rule: [1, undefined], says: ['rulePriority', 'null'] }],
  },
  {
    case: '§3.15 "description": null',
    doc: withSecond({ ...rule(10, ageSel()), description: null }),
    errors: [{ path: 'rules[1].description', rule: [1, 10], says: ['description', 'null'] }],
  },
  // 16
  {
    case: '§3.16 no rules property',
    doc: { Rules: [first] },
    errors: [
      { path: 'rules', says: ['rules', 'required'] },
      { path: '(policy)', says: ['unknown property', '"Rules"'] },
    ],
  },
  {
    case: '§3.16 a rule without rulePriority',
    doc: withSecond(without(rule(10, ageSel()), 'rulePriority')),
    errors: [{ path: 'rules[1].rulePriority', rule: [1, undefined], says: ['rulePriority', 'required'] }],
  },
  {
    case: '§3.16 a rule without selection',
    doc: withSecond(without(rule(10, ageSel()), 'selection')),
    errors: [{ path: 'rules[1].selection', rule: [1, 10], says: ['selection', 'required'] }],
  },
  {
    case: '§3.16 a rule without action',
    doc: withSecond(without(rule(10, ageSel()), 'action')),
    errors: [{ path: 'rules[1].action', rule: [1, 10], says: ['action', 'required'] }],
  },
  {
    case: '§3.16 a selection without tagStatus',
    doc: withSecond(rule(10, without(ageSel(), 'tagStatus'))),
    errors: [{ path: 'rules[1].selection.tagStatus', rule: [1, 10], says: ['tagStatus'] }],
  },
  {
    case: '§3.16 a selection without countType',
    doc: withSecond(rule(10, without(countSel(), 'countType'))),
    errors: [{ path: 'rules[1].selection.countType', rule: [1, 10], says: ['countType'] }],
  },
  {
    case: '§3.16 a selection without countNumber',
    doc: withSecond(rule(10, without(ageSel(), 'countNumber'))),
    errors: [{ path: 'rules[1].selection.countNumber', rule: [1, 10], says: ['countNumber', 'required'] }],
  },
  {
    case: '§3.16 an action without type',
    doc: withSecond(rule(10, ageSel(), {})),
    errors: [{ path: 'rules[1].action.type', rule: [1, 10], says: ['type'] }],
  },
  {
    case: '§3.16 a rule that is not an object',
    doc: { rules: [first, 'expire everything'] },
    errors: [{ path: 'rules[1]', rule: [1, undefined], says: ['rules[1]', 'object', '"expire everything"'] }],
  },
  // 17
  {
    case: '§3.17 more than 50 rules',
    doc: {
      rules: Array.from({ length: 51 }, (_, i) => rule(i + 1, countSel({ tagPatternList: [`team-${i}-*`] }))),
    },
    errors: [{ path: 'rules', says: ['rules', '51', 'at most 50'] }],
  },
  {
    case: 'an empty rules array',
    doc: { rules: [] },
    errors: [{ path: 'rules', says: ['rules', 'at least one rule'] }],
  },
  // unknown properties
  {
    case: 'an unknown top-level property',
    doc: { rules: [first], version: 1 },
    errors: [{ path: '(policy)', says: ['unknown property', '"version"'] }],
  },
  {
    case: 'an unknown rule property',
    doc: withSecond({ ...rule(10, ageSel()), priority: 10 }),
    errors: [{ path: 'rules[1]', rule: [1, 10], says: ['unknown property', '"priority"'] }],
  },
  {
    case: 'a misspelt selection property',
    doc: withSecond(rule(10, { ...without(countSel(), 'tagPatternList'), tagPrefix: ['feature'] })),
    errors: [
      { path: 'rules[1].selection', rule: [1, 10], says: ['unknown property', '"tagPrefix"'] },
      { path: 'rules[1].selection.tagStatus', rule: [1, 10], says: ['tagPatternList', 'tagPrefixList'] },
    ],
  },
  {
    case: 'an unknown action property',
    doc: withSecond(rule(10, ageSel(), { type: 'expire', dryRun: true })),
    errors: [{ path: 'rules[1].action', rule: [1, 10], says: ['unknown property', '"dryRun"'] }],
  },
];

const simplify = (e: PolicyError) => ({
  path: e.path,
  rule: e.rule ? [e.rule.index, e.rule.priority] : undefined,
});

describe('validatePolicyDocument', () => {
  it.each(invalid)('rejects $case with exactly the expected errors', ({ doc, errors }) => {
    // Act
    const result = validatePolicyDocument(doc, { checkLength: false });

    // Assess
    expect(result.valid).toBe(false);
    expect(result.errors.map(simplify)).toEqual(errors.map((e) => ({ path: e.path, rule: e.rule })));
    result.errors.forEach((error, i) => {
      for (const word of errors[i]!.says) expect(error.message).toContain(word);
    });
  });

  it('lists every error of a policy at once when several rules are wrong', () => {
    // Prepare
    const doc = {
      rules: [first, rule(2, ageSel({ countNumber: 0 })), rule(3, countSel({ countUnit: 'days' }))],
    };

    // Act
    const result = validatePolicyDocument(doc, { checkLength: false });

    // Assess
    expect(result.errors.map(simplify)).toEqual([
      { path: 'rules[1].selection.countNumber', rule: [1, 2] },
      { path: 'rules[2].selection.countUnit', rule: [2, 3] },
    ]);
  });

  it('applies the length limits to the compact JSON when checkLength is left on', () => {
    // Prepare: 50 valid rules whose descriptions make the compact JSON longer than 30,720 characters.
    const doc = {
      rules: Array.from({ length: 50 }, (_, i) => ({
        ...rule(i + 1, countSel({ tagPatternList: [`team-${i}-*`] })),
        description: 'd'.repeat(600),
      })),
    };
    const length = JSON.stringify(doc).length;

    // Act
    const checked = validatePolicyDocument(doc);
    const unchecked = validatePolicyDocument(doc, { checkLength: false });

    // Assess
    expect(length).toBeGreaterThan(POLICY_LIMITS.maxTextLength);
    expect(checked.errors).toEqual([
      {
        path: '(policy)',
        rule: undefined,
        message: `the policy is ${length} characters as compact JSON; ECR accepts 100 to 30720`,
      },
    ]);
    expect(unchecked.valid).toBe(true);
  });

  it('reports a document shorter than 100 characters of compact JSON when checkLength is left on', () => {
    // Act
    const result = validatePolicyDocument({ rules: [] });

    // Assess
    expect(result.errors).toEqual([
      {
        path: '(policy)',
        rule: undefined,
        message: 'the policy is 12 characters as compact JSON; ECR accepts 100 to 30720',
      },
      { path: 'rules', rule: undefined, message: 'the policy has no rules; add at least one rule' },
    ]);
  });
});

describe('validatePolicyText', () => {
  /** A valid policy padded with trailing spaces to exactly `length` characters. */
  const padded = (length: number): string => {
    const text = JSON.stringify({
      rules: [
        rule(1, {
          tagStatus: 'untagged',
          countType: 'sinceImagePushed',
          countUnit: 'days',
          countNumber: 14,
        }),
      ],
    });
    return text + ' '.repeat(length - text.length);
  };

  it('accepts a valid policy of exactly 30720 characters', () => {
    // Prepare
    const text = padded(30_720);

    // Act
    const result = validatePolicyText(text);

    // Assess
    expect(text).toHaveLength(30_720);
    expect(result.valid).toBe(true);
  });

  it('rejects a valid policy of 30721 characters with one length error', () => {
    // Act
    const result = validatePolicyText(padded(30_721));

    // Assess
    expect(result.errors).toEqual([
      {
        path: '(text)',
        message:
          'the policy text is 30721 characters; ECR accepts 100 to 30720 (remove whitespace or merge rules)',
      },
    ]);
  });

  // No valid policy is shorter than 100 characters, so the lower limit is seen beside the rule errors.
  it.each([
    [99, [{ path: '(text)', message: 'the policy text is 99 characters; ECR accepts 100 to 30720' }]],
    [100, []],
  ])(
    'reports %i characters of text with length errors %j besides the rule errors',
    (length, lengthErrors) => {
      // Prepare
      const text = `{"rules":[]}${' '.repeat(length - 12)}`;

      // Act
      const result = validatePolicyText(text);

      // Assess
      expect(text).toHaveLength(length);
      expect(result.errors).toEqual([
        ...lengthErrors,
        { path: 'rules', rule: undefined, message: 'the policy has no rules; add at least one rule' },
      ]);
    },
  );

  it('rejects text that is not JSON and names the parse problem', () => {
    // Prepare
    const text = `{"rules": [${' '.repeat(100)}`;

    // Act
    const result = validatePolicyText(text);

    // Assess
    expect(result.valid).toBe(false);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]!.path).toBe('(text)');
    expect(result.errors[0]!.message).toMatch(/^not JSON: /);
  });

  it('reports the length error and the rule errors together when both are wrong', () => {
    // Act
    const result = validatePolicyText('{"rules":[]}');

    // Assess
    expect(result.errors).toEqual([
      { path: '(text)', message: 'the policy text is 12 characters; ECR accepts 100 to 30720' },
      { path: 'rules', rule: undefined, message: 'the policy has no rules; add at least one rule' },
    ]);
  });
});

describe('validatePolicyText (valid policies)', () => {
  const docExamples: readonly [string, Json][] = [
    [
      'Filtering on image age (untagged, 14 days)',
      { rules: [{ ...rule(1, ageSel()), description: 'Expire images older than 14 days' }] },
    ],
    [
      'Filtering on image age (tagPatternList prod*, current docs)',
      {
        rules: [
          {
            ...rule(1, ageSel({ tagStatus: 'tagged', tagPatternList: ['prod*'] })),
            description: 'Expire images older than 14 days',
          },
        ],
      },
    ],
    [
      'Filtering on image count (keep one untagged image)',
      {
        rules: [
          {
            ...rule(1, { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 }),
            description: 'Keep only one untagged image, expire all others',
          },
        ],
      },
    ],
    [
      'Filtering on all images Example B (tagged, untagged and any)',
      {
        rules: [
          rule(1, {
            tagStatus: 'tagged',
            tagPrefixList: ['alpha'],
            countType: 'imageCountMoreThan',
            countNumber: 1,
          }),
          rule(2, ageSel({ countNumber: 1 })),
          rule(3, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }),
        ],
      },
    ],
    [
      'patterns with exactly four wildcards, and prefix and pattern rules mixed in one policy',
      {
        rules: [
          rule(1, countSel({ tagPatternList: ['*test*1*2*3', 'test*1*2*3*'] })),
          rule(2, {
            tagStatus: 'tagged',
            tagPrefixList: ['prod'],
            countType: 'imageCountMoreThan',
            countNumber: 9999,
          }),
        ],
      },
    ],
    [
      'archive: archive images not pulled in 90 days, delete images archived more than 365 days',
      {
        rules: [
          {
            ...rule(
              1,
              { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 90 },
              { type: 'transition', targetStorageClass: 'archive' },
            ),
            description: 'Archive images not pulled in 90 days',
          },
          { ...rule(2, archiveSel()), description: 'Delete images archived for more than 365 days' },
        ],
      },
    ],
    [
      'archive: keep 2 tagged images in standard, archive the rest; keep 1 untagged; expire archived after 90 days',
      {
        rules: [
          rule(1, countSel({ tagPatternList: ['*'], countNumber: 2 }), {
            type: 'transition',
            targetStorageClass: 'archive',
          }),
          rule(2, { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 }),
          rule(3, archiveSel({ countNumber: 90 })),
        ],
      },
    ],
    [
      'archive: an any rule per storage class, and untagged rules in both classes',
      {
        rules: [
          rule(1, archiveSel({ tagStatus: 'untagged', countNumber: 90 })),
          rule(2, archiveSel({ countNumber: 400 })),
          rule(3, ageSel()),
          rule(
            4,
            { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 30 },
            { type: 'transition', targetStorageClass: 'archive' },
          ),
        ],
      },
    ],
    [
      'priorities that are not sequential, listed out of order',
      {
        rules: [
          rule(100, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 50 }),
          rule(7, ageSel()),
          rule(30, {
            tagStatus: 'tagged',
            tagPrefixList: ['v'],
            countType: 'imageCountMoreThan',
            countNumber: 10,
          }),
        ],
      },
    ],
  ];

  it.each(docExamples)('accepts %s', (_name, doc) => {
    // Prepare: the way a user pastes it, pretty-printed.
    const text = JSON.stringify(doc, null, 4);

    // Act
    const fromText = validatePolicyText(text);
    const fromDoc = validatePolicyDocument(doc);

    // Assess
    expect(fromText).toEqual({ valid: true, policy: doc, errors: [] });
    expect(fromDoc).toEqual({ valid: true, policy: doc, errors: [] });
  });

  it('accepts exactly 50 rules', () => {
    const doc = {
      rules: Array.from({ length: 50 }, (_, i) => rule(i + 1, countSel({ tagPatternList: [`team-${i}-*`] }))),
    };
    expect(validatePolicyText(JSON.stringify(doc)).valid).toBe(true);
  });
});

describe('formatPolicyError', () => {
  it.each<[string, PolicyError, string]>([
    [
      'a field inside a rule',
      {
        path: 'rules[1].selection.countUnit',
        rule: { index: 1, priority: 5 },
        message: 'countUnit is only allowed with the since* count types; remove it',
      },
      'rules[1] (rulePriority 5) selection.countUnit: countUnit is only allowed with the since* count types; remove it',
    ],
    [
      'a rule without a rulePriority',
      {
        path: 'rules[0].rulePriority',
        rule: { index: 0, priority: undefined },
        message: 'rulePriority is required',
      },
      'rules[0] (no rulePriority) rulePriority: rulePriority is required',
    ],
    [
      'the rule itself',
      { path: 'rules[3]', rule: { index: 3, priority: 8 }, message: 'unknown property "priority"' },
      'rules[3] (rulePriority 8): unknown property "priority"',
    ],
    [
      'an error outside any rule',
      { path: '(text)', message: 'the policy text is 12 characters; ECR accepts 100 to 30720' },
      '(text): the policy text is 12 characters; ECR accepts 100 to 30720',
    ],
  ])('formats %s as "<where>: <message>"', (_name, error, expected) => {
    expect(formatPolicyError(error)).toBe(expected);
  });

  it('formats real validation errors with the rule index, priority and field', () => {
    // Prepare
    const result = validatePolicyDocument(withSecond(rule(10, countSel({ countUnit: 'days' }))), {
      checkLength: false,
    });

    // Act
    const lines = result.errors.map(formatPolicyError);

    // Assess
    expect(lines).toEqual([
      'rules[1] (rulePriority 10) selection.countUnit: countUnit is only allowed with the since* count types; remove it',
    ]);
  });
});
