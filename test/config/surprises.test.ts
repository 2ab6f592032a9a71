// Issue 18, "a config that cannot surprise": every bad config the issue lists fails or warns with one line
// naming the path, the problem and the fix.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { parse } from 'jsonc-parser';
import { describe, expect, it } from 'vitest';
import { FORBIDDEN_KEYS, keyProblems } from '../../functions/shared/config/keys.js';
import { ConfigError, parseConfig, validateConfig } from '../../functions/shared/config/load.js';
import { scheduleExpressionProblem } from '../../functions/shared/config/schedule.js';
import type { StewardConfigInput } from '../../functions/shared/config/schema.js';
import {
  configWarnings,
  globCanMatchARepository,
  globCovers,
} from '../../functions/shared/config/warnings.js';
import { globToRegExp } from '../../functions/shared/lifecycle/match.js';
import { prepareConfig } from '../../local/scenario.js';
import { keepNewest } from '../fixtures/images.js';

/** The issues of the ConfigError that `fn` throws. */
function issuesOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  throw new Error('expected a ConfigError, but the config was accepted');
}

type SelectionInput = StewardConfigInput['selections'][number];

const selection = (extra: Partial<SelectionInput> = {}): SelectionInput => ({
  repositories: ['web'],
  lifecyclePolicy: keepNewest(5),
  ...extra,
});

const config = (extra: Partial<StewardConfigInput> = {}, sel: Partial<SelectionInput> = {}) =>
  ({ selections: [selection(sel)], ...extra }) as StewardConfigInput;

const STEWARD_FIELDS = ['minAgeDays', 'pulledWithinDays', 'protectedTags', 'holds'];

describe('parseConfig', () => {
  it('refuses a "__proto__" key, so {"__proto__": {"mode": "enforce"}} no longer yields an enforcing config', () => {
    // Prepare
    const text =
      '{\n  "__proto__": { "mode": "enforce" },\n  "selections": [{ "repositories": ["web"], "lifecyclePolicy": "fromRepository" }]\n}';

    // Act
    const issues = issuesOf(() => parseConfig(text));

    // Assess
    expect(issues).toEqual([
      '(root): key "__proto__" (line 2) is not allowed — remove it (it can change what the whole object means)',
    ]);
  });

  it.each([
    ['constructor', 'selections[0]'],
    ['prototype', 'selections[0].steward'],
  ])('refuses a "%s" key, naming its path', (key, where) => {
    // Prepare
    const steward = where.endsWith('steward') ? `{ "${key}": {} }` : '{}';
    const outer = where.endsWith('steward') ? '' : `"${key}": {}, `;
    const text = `{"selections": [{ ${outer}"repositories": ["web"], "lifecyclePolicy": "fromRepository", "steward": ${steward} }]}`;

    // Act
    const issues = issuesOf(() => parseConfig(text));

    // Assess
    expect(issues).toEqual([
      `${where}: key "${key}" (line 1) is not allowed — remove it (it can change what the whole object means)`,
    ]);
  });

  it('refuses a duplicate key with its path and both lines, instead of keeping the last', () => {
    // Prepare
    const text = [
      '{',
      '  "selections": [',
      '    {',
      '      "repositories": ["web"],',
      '      "lifecyclePolicy": "fromRepository",',
      '      "steward": {',
      '        "minAgeDays": 30,',
      '        "protectedTags": ["prod-*"],',
      '        "minAgeDays": 0',
      '      }',
      '    }',
      '  ],',
      '  "mode": "dry-run",',
      '  "mode": "enforce"',
      '}',
    ].join('\n');

    // Act
    const issues = issuesOf(() => parseConfig(text));

    // Assess
    expect(issues).toEqual([
      'selections[0].steward: duplicate key "minAgeDays" (lines 7 and 9) — keep one',
      '(root): duplicate key "mode" (lines 13 and 14) — keep one',
    ]);
  });

  it('accepts the same key in different objects', () => {
    // Prepare
    const text = JSON.stringify({
      selections: [
        { name: 'a', repositories: ['a1'], lifecyclePolicy: 'fromRepository' },
        { name: 'b', repositories: ['b1'], lifecyclePolicy: 'fromRepository' },
      ],
    });

    // Act
    const parsed = parseConfig(text);

    // Assess
    expect(parsed.selections.map((s) => s.name)).toEqual(['a', 'b']);
  });

  it('refuses a config with a forbidden key at any depth, whatever else it holds', () => {
    // Prepare: a valid config, then a forbidden key added to one of its objects.
    const base = config({ mode: 'dry-run', alerts: { breaker: { enabled: true } } }, { steward: {} });
    const objects = (doc: Record<string, unknown>): Record<string, unknown>[] => {
      const out = [doc];
      for (const v of Object.values(doc)) {
        if (Array.isArray(v))
          for (const item of v) if (item && typeof item === 'object') out.push(...objects(item));
        if (v && typeof v === 'object' && !Array.isArray(v))
          out.push(...objects(v as Record<string, unknown>));
      }
      return out;
    };
    const count = objects(structuredClone(base) as Record<string, unknown>).length;

    fc.assert(
      fc.property(
        fc.nat({ max: count - 1 }),
        fc.constantFrom(...FORBIDDEN_KEYS),
        fc.jsonValue(),
        (at, key, value) => {
          const doc = structuredClone(base) as Record<string, unknown>;
          // defineProperty makes an own "__proto__" key, as JSON text does.
          Object.defineProperty(objects(doc)[at], key, { value, enumerable: true });
          const text = JSON.stringify(doc);

          // Act + Assess: both from text and from an already-parsed document.
          expect(issuesOf(() => parseConfig(text)).some((i) => i.includes(`key "${key}"`))).toBe(true);
          expect(
            issuesOf(() => validateConfig(JSON.parse(text))).some((i) => i.includes(`key "${key}"`)),
          ).toBe(true);
        },
      ),
    );
  });
});

describe('validateConfig', () => {
  it('refuses a document whose prototype was replaced (a parser that assigned "__proto__")', () => {
    // Prepare: jsonc-parser's parse assigns keys, so "__proto__" becomes the prototype, not an own key.
    const doc = parse(
      '{"__proto__": {"mode": "enforce"}, "selections": [{"repositories": ["web"], "lifecyclePolicy": "fromRepository"}]}',
    );
    expect((doc as { mode?: string }).mode).toBe('enforce');

    // Act
    const issues = issuesOf(() => validateConfig(doc));

    // Assess
    expect(issues).toEqual([
      '(root): not a plain JSON object (its prototype was replaced, e.g. by a "__proto__" key) — pass plain JSON',
    ]);
  });

  it.each([
    [{ bounds: { maxDeletesPerRun: '5' } }, 'bounds.maxDeletesPerRun: expected a number, got a string'],
    [
      { bounds: { maxDeletesPerRun: 1.5 } },
      'bounds.maxDeletesPerRun: expected an integer, got the number 1.5',
    ],
    [{ alerts: { breaker: { enabled: 'no' } } }, 'alerts.breaker.enabled: expected a boolean, got a string'],
    [{ alerts: { subscriptions: {} } }, 'alerts.subscriptions: expected an array, got an object'],
    [{ bounds: null }, 'bounds: expected an object, got null'],
    [{ reservedConcurrency: 'none' }, 'reservedConcurrency: expected false or an object, got a string'],
    [{ reservedConcurrency: { intake: '5' } }, 'reservedConcurrency.intake: expected a number, got a string'],
  ])('says what was expected and what it got for %j, not "required"', (extra, issue) => {
    expect(issuesOf(() => validateConfig(config(extra as Partial<StewardConfigInput>)))).toEqual([issue]);
  });

  it('keeps "required — add it" for a field that is missing', () => {
    expect(issuesOf(() => validateConfig({ selections: [{ repositories: ['web'] }] }))).toEqual([
      'selections[0].lifecyclePolicy: required — add it (an ECR lifecycle policy, or "fromRepository")',
    ]);
  });

  it.each([
    [
      'cron(99 99 * * ? *)',
      'sweep.schedule: minutes "99" is not in the minutes range 0-59 — use a schedule such as "cron(0 3 * * ? *)" or "rate(12 hours)"',
    ],
    [
      'cron(0 24 * * ? *)',
      'sweep.schedule: hours "24" is not in the hours range 0-23 — use a schedule such as "cron(0 3 * * ? *)" or "rate(12 hours)"',
    ],
    [
      'cron(0 3 32 * ? *)',
      'sweep.schedule: day-of-month "32" is not in the day-of-month range 1-31 — use a schedule such as "cron(0 3 * * ? *)" or "rate(12 hours)"',
    ],
    [
      'cron(0 3 ? JANUARY MON *)',
      'sweep.schedule: month "JANUARY" is not in the month range 1-12 or JAN-DEC — use a schedule such as "cron(0 3 * * ? *)" or "rate(12 hours)"',
    ],
    [
      'cron(0 3 ? * 8 *)',
      'sweep.schedule: day-of-week "8" is not in the day-of-week range 1-7 or SUN-SAT — use a schedule such as "cron(0 3 * * ? *)" or "rate(12 hours)"',
    ],
    [
      'cron(0 3 * * ? 1969)',
      'sweep.schedule: year "1969" is not in the year range 1970-2199 — use a schedule such as "cron(0 3 * * ? *)" or "rate(12 hours)"',
    ],
    [
      'cron(0/0 3 * * ? *)',
      'sweep.schedule: minutes "0/0": the increment after "/" must be a positive whole number — use a schedule such as "cron(0 3 * * ? *)" or "rate(12 hours)"',
    ],
    [
      'cron(0 3 ? * 2#1,4#3 *)',
      'sweep.schedule: "2#1,4#3": a day-of-week with "#" must stand alone, not in a list — use a schedule such as "cron(0 3 * * ? *)" or "rate(12 hours)"',
    ],
    [
      'cron(0 3 * * MON *)',
      'sweep.schedule: a cron expression needs "?" in exactly one of day-of-month and day-of-week — use a schedule such as "cron(0 3 * * ? *)" or "rate(12 hours)"',
    ],
    [
      'rate(1 days)',
      'sweep.schedule: a rate of 1 takes the singular unit: rate(1 day) — use a schedule such as "cron(0 3 * * ? *)" or "rate(12 hours)"',
    ],
    [
      'rate(5 hour)',
      'sweep.schedule: a rate above 1 takes the plural unit: rate(5 hours) — use a schedule such as "cron(0 3 * * ? *)" or "rate(12 hours)"',
    ],
  ])('refuses the schedule %s as EventBridge Scheduler would', (schedule, issue) => {
    expect(issuesOf(() => validateConfig(config({ sweep: { schedule } })))).toEqual([issue]);
  });

  it.each([
    'cron(0 3 * * ? *)',
    'cron(15 */6 ? * MON-FRI *)',
    'cron(0,30 8-18 ? * 2-6 2024-2199)',
    'cron(0 3 L * ? *)',
    'cron(0 3 15W * ? *)',
    'cron(0 3 LW * ? *)',
    'cron(0 3 ? * 6L *)',
    'cron(0 3 ? * 3#2 *)',
    'cron(0 3 ? JAN,JUL SUN *)',
    'cron(5/10 * * * ? *)',
    'rate(1 minute)',
    'rate(5 minutes)',
    'rate(1 hour)',
    'rate(7 days)',
  ])('accepts the schedule %s', (schedule) => {
    expect(validateConfig(config({ sweep: { schedule } })).sweep.schedule).toBe(schedule);
  });

  it('accepts every cron expression made of in-range values, and refuses it once one value is out of range', () => {
    const fields = [
      [0, 59],
      [0, 23],
      [1, 31],
      [1, 12],
      [1, 7],
      [1970, 2199],
    ] as const;
    fc.assert(
      fc.property(
        fc.tuple(...fields.map(([lo, hi]) => fc.integer({ min: lo, max: hi }))),
        fc.boolean(),
        fc.nat({ max: 5 }),
        fc.integer({ min: 1, max: 100 }),
        (values, domFirst, broken, by) => {
          const text = values.map(String);
          text[domFirst ? 4 : 2] = '?';
          expect(scheduleExpressionProblem(`cron(${text.join(' ')})`)).toBeUndefined();
          if (text[broken] === '?') return;
          text[broken] = String(fields[broken]![1] + by);
          expect(scheduleExpressionProblem(`cron(${text.join(' ')})`)).toMatch(/is not in the .* range/);
        },
      ),
    );
  });

  it('refuses the protected-tag glob "[prod", which no image tag can match', () => {
    expect(
      issuesOf(() => validateConfig(config({}, { steward: { protectedTags: ['latest', '[prod'] } }))),
    ).toEqual([
      'selections[0].steward.protectedTags[1]: "[prod" can match no image tag: "[" cannot occur in a tag (image tags are letters, digits, _ . - (not first: . -), at most 128 characters; in a glob only * is special) — start it with ^ for a regular expression',
    ]);
  });

  it('refuses a protected-tag glob that starts with a character no tag starts with', () => {
    expect(issuesOf(() => validateConfig(config({}, { steward: { protectedTags: ['-rc*'] } })))).toEqual([
      'selections[0].steward.protectedTags[0]: "-rc*" can match no image tag: image tags are letters, digits, _ . - (not first: . -), at most 128 characters — drop the leading character',
    ]);
  });

  it('refuses a protected-tag pattern that is not a valid regular expression after ^', () => {
    expect(issuesOf(() => validateConfig(config({}, { steward: { protectedTags: ['^[prod'] } })))).toEqual([
      'selections[0].steward.protectedTags[0]: not a valid regular expression: Invalid regular expression: /^[prod/: Unterminated character class — fix it, or drop the leading ^ for a glob',
    ]);
  });

  it('accepts protected-tag globs and regular expressions that can match tags', () => {
    const tags = ['latest', 'prod-*', '*_stable', 'v*.*', '^v\\d+\\.\\d+$', '^(release|hotfix)-'];
    expect(
      validateConfig(config({}, { steward: { protectedTags: tags } })).selections[0]?.steward?.protectedTags,
    ).toEqual(tags);
  });

  it.each([
    ['sha256:xyz'],
    [`sha256:${'A'.repeat(64)}`],
    [`sha256:${'a'.repeat(63)}`],
    [`sha512:${'a'.repeat(64)}`],
  ])('refuses a hold on the digest %s', (digest) => {
    expect(
      issuesOf(() =>
        validateConfig(config({}, { steward: { holds: [{ digest, reason: 'escrow', owner: 'legal' }] } })),
      ),
    ).toEqual([
      'selections[0].steward.holds[0].digest: not an image digest — write "sha256:" and the 64 lower-case hex digits',
    ]);
  });

  it('refuses a hold on a tag no image can carry', () => {
    expect(
      issuesOf(() =>
        validateConfig(
          config({}, { steward: { holds: [{ tag: 'v1 final', reason: 'escrow', owner: 'legal' }] } }),
        ),
      ),
    ).toEqual([
      'selections[0].steward.holds[0].tag: not an image tag (image tags are letters, digits, _ . - (not first: . -), at most 128 characters) — name the exact tag the hold keeps',
    ]);
  });

  it('accepts a hold on a well-formed digest', () => {
    const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
    const parsed = validateConfig(
      config({}, { steward: { holds: [{ digest, reason: 'escrow', owner: 'legal' }] } }),
    );
    expect(parsed.selections[0]?.steward?.holds?.[0]?.digest).toBe(digest);
  });

  it('refuses keepAtLeast for a rule priority the inline lifecycle policy does not have', () => {
    expect(
      issuesOf(() =>
        validateConfig(
          config(
            {},
            {
              steward: {
                keepAtLeast: [
                  { rulePriority: 1, count: 2 },
                  { rulePriority: 3, count: 2 },
                ],
              },
            },
          ),
        ),
      ),
    ).toEqual([
      "selections[0].steward.keepAtLeast[1].rulePriority: no rule of this selection's lifecyclePolicy has rulePriority 3 — use one of 1, or omit rulePriority for every rule",
    ]);
  });

  it('says nothing about keepAtLeast priorities when the policy comes from the repository', () => {
    const parsed = validateConfig(
      config(
        {},
        { lifecyclePolicy: 'fromRepository', steward: { keepAtLeast: [{ rulePriority: 9, count: 2 }] } },
      ),
    );
    expect(parsed.selections[0]?.steward?.keepAtLeast).toEqual([{ rulePriority: 9, count: 2 }]);
  });

  it('refuses an empty repositoryTags, which would match every repository', () => {
    expect(
      issuesOf(() => validateConfig(config({}, { repositories: undefined, repositoryTags: {} }))),
    ).toEqual([
      'selections[0].repositoryTags: an empty repositoryTags matches every repository — name at least one tag, or remove it',
    ]);
  });

  it('refuses an empty repositoryTags in a gate selection too', () => {
    expect(
      issuesOf(() => validateConfig(config({ gate: { selections: [{ repositoryTags: {}, policy: {} }] } }))),
    ).toEqual([
      'gate.selections[0].repositoryTags: an empty repositoryTags matches every repository — name at least one tag, or remove it',
    ]);
  });

  it.each([
    ['email', 'not-an-email', 'an e-mail address such as "ops@example.com"'],
    ['https', 'http://hooks.example.com/x', 'an HTTPS URL such as "https://hooks.example.com/ecr-steward"'],
    [
      'sqs',
      'arn:aws:sns:eu-west-1:123456789012:alerts',
      'an SQS queue ARN such as "arn:aws:sqs:eu-west-1:123456789012:alerts"',
    ],
    [
      'lambda',
      'arn:aws:lambda:eu-west-1:1234:function:on-alert',
      'a Lambda function ARN such as "arn:aws:lambda:eu-west-1:123456789012:function:on-alert"',
    ],
  ] as const)('refuses the %s subscription endpoint %s', (protocol, endpoint, expected) => {
    expect(
      issuesOf(() => validateConfig(config({ alerts: { subscriptions: [{ protocol, endpoint }] } }))),
    ).toEqual([
      `alerts.subscriptions[0].endpoint: ${JSON.stringify(endpoint)} is not a "${protocol}" endpoint — give ${expected}`,
    ]);
  });

  it('accepts an endpoint of each protocol', () => {
    const subscriptions = [
      { protocol: 'email', endpoint: 'ops@example.com' },
      { protocol: 'https', endpoint: 'https://hooks.example.com/ecr-steward?team=platform' },
      { protocol: 'sqs', endpoint: 'arn:aws:sqs:eu-west-1:123456789012:alerts.fifo' },
      {
        protocol: 'lambda',
        endpoint: 'arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:on-alert:live',
      },
    ] as const;
    expect(
      validateConfig(config({ alerts: { subscriptions: [...subscriptions] } })).alerts.subscriptions,
    ).toHaveLength(4);
  });
});

describe('configWarnings', () => {
  const keep1 = keepNewest(1);

  it('warns about a selection shadowed by an earlier wider one', () => {
    // Prepare
    const parsed = validateConfig({
      selections: [
        { name: 'services', repositories: ['services/*'], lifecyclePolicy: 'fromRepository' },
        { name: 'api', repositories: ['services/api', 'services/api-*'], lifecyclePolicy: keep1 },
      ],
    });

    // Act + Assess
    expect(configWarnings(parsed)).toEqual([
      'selections[1] ("api"): never applies: selections[0] ("services") comes first and takes every repository it could match — move it above selections[0] ("services"), narrow selections[0] ("services"), or remove it',
    ]);
  });

  it('warns about a selection shadowed by an earlier "*" (both need the managed tag)', () => {
    const parsed = validateConfig({
      selections: [
        { repositories: ['*'], lifecyclePolicy: 'fromRepository' },
        { repositories: ['*-prod'], lifecyclePolicy: keep1 },
      ],
    });
    expect(configWarnings(parsed)).toContain(
      'selections[1]: never applies: selections[0] comes first and takes every repository it could match — move it above selections[0], narrow selections[0], or remove it',
    );
  });

  it('does not call a selection shadowed when the earlier one needs tags it does not', () => {
    // "*" manages only repositories tagged steward=managed, so an untagged "web" still falls to the second.
    const parsed = validateConfig({
      selections: [
        { repositories: ['*'], lifecyclePolicy: 'fromRepository' },
        { repositories: ['web'], lifecyclePolicy: keep1 },
        { repositoryTags: { team: 'a' }, lifecyclePolicy: keep1 },
        { repositories: ['team/*'], repositoryTags: { team: 'b' }, lifecyclePolicy: keep1 },
      ],
    });
    expect(configWarnings(parsed).filter((w) => w.includes('never applies'))).toEqual([]);
  });

  it('warns about a repository glob that no ECR repository name can match', () => {
    const parsed = validateConfig({
      selections: [{ repositories: ['web', 'team//app', 'x-_y', 'a*'], lifecyclePolicy: 'fromRepository' }],
    });
    expect(configWarnings(parsed)).toEqual(
      ['team//app', 'x-_y'].map(
        (glob) =>
          `selections[0].repositories[${glob === 'team//app' ? 1 : 2}]: "${glob}" can match no ECR repository name (lower-case letters and digits joined by single . _ - or /, 2-256 characters) — fix the glob, or remove it`,
      ),
    );
  });

  it('warns that "*" manages, and may delete in, every repository tagged steward=managed', () => {
    const parsed = validateConfig({
      selections: [{ repositories: ['*'], lifecyclePolicy: 'fromRepository' }],
    });
    expect(configWarnings(parsed)).toEqual([
      'selections[0].repositories[0]: "*" has no literal prefix, so it could name every repository of the registry: this selection manages only repositories tagged steward=managed, and ECR Steward may delete in every repository that carries that tag — tag the repositories to manage steward=managed, or name them with a prefix such as "team/*"',
    ]);
  });

  it('warns about a config that can delete nearly everything: enforce, "*", keep 1, breaker off, no thresholds, bounds 100000', () => {
    // Prepare
    const parsed = validateConfig({
      mode: 'enforce',
      bounds: { maxDeletesPerRun: 100_000, maxDeletesPerRepository: 100_000 },
      selections: [{ name: 'all', repositories: ['*'], lifecyclePolicy: keep1 }],
      alerts: { breaker: { enabled: false }, thresholds: [] },
    });

    // Act
    const warnings = configWarnings(parsed);

    // Assess
    expect(warnings).toEqual([
      expect.stringMatching(/^selections\[0\]\.repositories\[0\]: "\*" has no literal prefix/),
      'selections[0] ("all"): one run can delete more than 50% of a repository with nothing to stop it (mode is enforce, alerts.breaker.enabled is false, its lifecycle policy can leave as few as 1 image, and a run may delete 100000 images of a repository) — enable alerts.breaker with a threshold such as {"scope": "repository", "window": "1h", "maxPercentOfImages": 50}, or lower bounds.maxDeletesPerRepository',
    ]);
  });

  it('warns with no thresholds even when the breaker is enabled, and names why', () => {
    const parsed = validateConfig(
      config({ mode: 'enforce', alerts: { thresholds: [] } }, { lifecyclePolicy: 'fromRepository' }),
    );
    expect(configWarnings(parsed)).toEqual([
      'selections[0]: one run can delete more than 50% of a repository with nothing to stop it (mode is enforce, alerts.thresholds is empty, its lifecycle policy is read from the repository, so it may keep none, and a run may delete 500 images of a repository) — enable alerts.breaker with a threshold such as {"scope": "repository", "window": "1h", "maxPercentOfImages": 50}, or lower bounds.maxDeletesPerRepository',
    ]);
  });

  it.each([
    ['in dry-run', { mode: 'dry-run', alerts: { breaker: { enabled: false } } }, {}],
    ['with the breaker on', { mode: 'enforce' }, {}],
    [
      'when the bound lets a run take no more than half',
      { mode: 'enforce', alerts: { breaker: { enabled: false } }, bounds: { maxDeletesPerRepository: 5 } },
      {},
    ],
    [
      'when keepAtLeast keeps more than the bound deletes',
      { mode: 'enforce', alerts: { breaker: { enabled: false } }, bounds: { maxDeletesPerRepository: 20 } },
      { steward: { keepAtLeast: [{ count: 20 }] } },
    ],
    [
      'when no rule expires',
      { mode: 'enforce', alerts: { breaker: { enabled: false } } },
      {
        lifecyclePolicy: {
          rules: [
            {
              ...keepNewest(1).rules[0]!,
              selection: {
                ...keepNewest(1).rules[0]!.selection,
                countType: 'sinceImagePushed',
                countUnit: 'days',
                countNumber: 90,
              },
              action: { type: 'transition', targetStorageClass: 'archive' },
            },
          ],
        },
      },
    ],
  ])('says nothing about the delete share %s', (_, extra, sel) => {
    const parsed = validateConfig(
      config(extra as Partial<StewardConfigInput>, sel as Partial<SelectionInput>),
    );
    expect(configWarnings(parsed)).toEqual([]);
  });

  it.each([
    ['examples/steward.config.jsonc'],
    ['examples/local/steward.local.jsonc'],
    ['test/e2e/steward.e2e.jsonc'],
  ])('finds %s valid and without warnings', (file) => {
    // Act: a config naming run-time signing keys is read as `npm start` reads it, with the keys' PEMs in place.
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const { configPath } = prepareConfig(root, file, mkdtempSync(path.join(tmpdir(), 'steward-config-')));
    const parsed = parseConfig(readFileSync(path.resolve(root, configPath), 'utf8'), file);

    // Assess
    expect(configWarnings(parsed)).toEqual([]);
  });
});

describe('globCovers', () => {
  const glob = fc
    .array(fc.constantFrom('a', 'b', '/', '-', '*'), { minLength: 1, maxLength: 6 })
    .map((parts) => parts.join(''));
  const name = fc.array(fc.constantFrom('a', 'b', '/', '-'), { maxLength: 8 }).map((p) => p.join(''));

  it('answers exactly whether every name one glob matches, the other matches too', () => {
    fc.assert(
      fc.property(glob, glob, fc.array(name, { maxLength: 30 }), (outer, inner, names) => {
        const covered = globCovers(outer, inner);
        if (covered) {
          for (const n of names)
            if (globToRegExp(inner).test(n)) expect(globToRegExp(outer).test(n)).toBe(true);
        } else {
          // A witness: inner with each * filled by a character outer's literals do not have.
          expect(globToRegExp(outer).test(inner.replaceAll('*', 'z'))).toBe(false);
        }
      }),
    );
  });
});

describe('globCanMatchARepository', () => {
  it.each([
    ['*', true],
    ['services/*', true],
    ['a__b', true],
    ['a---b', true],
    ['a', false],
    ['a_.b', false],
    ['/web', false],
    ['web/', false],
    ['*/', false],
    ['*.*', true],
  ])('says %s can match a repository name: %s', (g, expected) => {
    expect(globCanMatchARepository(g)).toBe(expected);
  });
});

describe('keyProblems', () => {
  it('finds nothing wrong in every example config', () => {
    for (const file of [
      'examples/steward.config.jsonc',
      'examples/local/steward.local.jsonc',
      'test/e2e/steward.e2e.jsonc',
    ]) {
      expect(keyProblems(readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8'))).toEqual([]);
    }
  });

  it('reports a duplicate inside an array element with its index', () => {
    expect(keyProblems('{"a": [{}, {"b": 1,\n "b": 2}]}')).toEqual([
      'a[1]: duplicate key "b" (lines 1 and 2) — keep one',
    ]);
  });

  it.each(STEWARD_FIELDS)('reports each repetition of the steward field %s', (field) => {
    const text = `{"s": {"${field}": 1, "${field}": 2, "${field}": 3}}`;
    expect(keyProblems(text)).toEqual([
      `s: duplicate key "${field}" (line 1) — keep one`,
      `s: duplicate key "${field}" (line 1) — keep one`,
    ]);
  });
});
