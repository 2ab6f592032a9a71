import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configJsonSchema } from '../../functions/shared/config/json-schema.js';
import {
  ConfigError,
  needsRepositoryTags,
  parseConfig,
  repositoryNameFilters,
  selectionFor,
  validateConfig,
} from '../../functions/shared/config/load.js';
import type { StewardConfigInput } from '../../functions/shared/config/schema.js';
import { keepNewest } from '../fixtures/images.js';

const EXAMPLE = 'examples/steward.config.jsonc';
const exampleText = () => readFileSync(new URL(`../../${EXAMPLE}`, import.meta.url), 'utf8');

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

const minimal = (extra: Record<string, unknown> = {}, selection: Record<string, unknown> = {}) =>
  JSON.stringify({
    selections: [{ repositories: ['web'], lifecyclePolicy: keepNewest(5), ...selection }],
    ...extra,
  });

describe('parseConfig', () => {
  it('parses the example config, comments and all, with its defaults applied', () => {
    // Act
    const config = parseConfig(exampleText(), EXAMPLE);

    // Assess
    expect(config.mode).toBe('dry-run');
    expect(config.bounds).toEqual({ maxDeletesPerRun: 1000, maxDeletesPerRepository: 500 });
    expect(config.selections.map((s) => s.name)).toEqual(['services', 'teams by tag']);
    expect(config.selections[0]?.repositories).toEqual(['services/*', 'web']);
    expect(config.selections[0]?.lifecyclePolicy).toMatchObject({
      rules: [{ rulePriority: 1 }, { rulePriority: 2 }, { rulePriority: 3 }],
    });
    expect(config.selections[1]).toMatchObject({
      repositoryTags: { steward: 'managed' },
      lifecyclePolicy: 'fromRepository',
    });
    expect(config.inUse.ecs).toEqual({ enabled: true, taskDefinitionRevisions: 3 });
    expect(config.inUse.lambda).toEqual({ enabled: true });
    expect(config.sweep).toEqual({ schedule: 'cron(0 3 * * ? *)', timezone: 'UTC' });
  });

  it('fills every default for a minimal config', () => {
    // Act
    const config = parseConfig(minimal());

    // Assess
    expect(config.mode).toBe('dry-run');
    expect(config.bounds).toEqual({ maxDeletesPerRun: 1000, maxDeletesPerRepository: 500 });
    expect(config.inUse.ecs).toEqual({ enabled: true, taskDefinitionRevisions: 3 });
    expect(config.sweep).toEqual({ schedule: 'cron(0 3 * * ? *)', timezone: 'UTC' });
  });

  it('names the source and every issue in the error message', () => {
    // Act
    const run = () => parseConfig(minimal({ mode: 'enforcing', sweeps: {} }), 'steward.config.json');

    // Assess
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(
      [
        'invalid ECR Steward config (steward.config.json):',
        '  - mode: must be one of "dry-run", "enforce"',
        '  - (root): unknown field sweeps — check the spelling against schema/steward.config.schema.json',
      ].join('\n'),
    );
  });

  it('rejects an unknown field inside a selection, naming where it is', () => {
    expect(issuesOf(() => parseConfig(minimal({}, { stewrd: {} })))).toEqual([
      'selections[0]: unknown field stewrd — check the spelling against schema/steward.config.schema.json',
    ]);
  });

  it('rejects a mode that is neither dry-run nor enforce', () => {
    expect(issuesOf(() => parseConfig(minimal({ mode: 'enforcing' })))).toEqual([
      'mode: must be one of "dry-run", "enforce"',
    ]);
  });

  it.each([
    ['every day'],
    ['cron(0 3 * * *)'],
    ['cron(0 3 * * * *)'],
    ['rate(twelve hours)'],
    ['rate(12 fortnights)'],
  ])('rejects the sweep schedule %s, which EventBridge Scheduler would refuse at deploy time', (schedule) => {
    // Act
    const issues = issuesOf(() => parseConfig(minimal({ sweep: { schedule } })));

    // Assess
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^sweep\.schedule: /);
    expect(issues[0]).toContain('"cron(0 3 * * ? *)" or "rate(12 hours)"');
  });

  it.each([
    ['cron(0 3 * * ? *)'],
    ['cron(15 */6 ? * MON-FRI *)'],
    ['rate(12 hours)'],
    ['rate(1 day)'],
    ['rate(30 minutes)'],
  ])('accepts the sweep schedule %s', (schedule) => {
    expect(parseConfig(minimal({ sweep: { schedule } })).sweep.schedule).toBe(schedule);
  });

  it('accepts a registry scanning configuration', () => {
    // Act
    const config = parseConfig(
      minimal({
        gate: {
          registryScanning: {
            scanType: 'ENHANCED',
            rules: [
              { scanFrequency: 'CONTINUOUS_SCAN', repositories: ['prod/*'] },
              { scanFrequency: 'SCAN_ON_PUSH', repositories: ['*'] },
            ],
          },
        },
      }),
    );

    // Assess
    expect(config.gate.registryScanning?.rules.map((r) => r.scanFrequency)).toEqual([
      'CONTINUOUS_SCAN',
      'SCAN_ON_PUSH',
    ]);
    expect(parseConfig(minimal()).gate.registryScanning).toBeUndefined();
  });

  it.each([
    [
      'continuous scanning with BASIC',
      { scanType: 'BASIC', rules: [{ scanFrequency: 'CONTINUOUS_SCAN', repositories: ['*'] }] },
      'gate.registryScanning.rules: BASIC scanning supports SCAN_ON_PUSH only; CONTINUOUS_SCAN needs "scanType": "ENHANCED"',
    ],
    [
      'two rules of one frequency',
      {
        scanType: 'BASIC',
        rules: [
          { scanFrequency: 'SCAN_ON_PUSH', repositories: ['a'] },
          { scanFrequency: 'SCAN_ON_PUSH', repositories: ['b'] },
        ],
      },
      'gate.registryScanning.rules: one rule per scanFrequency: put all the filters of a frequency in one rule',
    ],
    [
      'an upper-case filter',
      { scanType: 'BASIC', rules: [{ scanFrequency: 'SCAN_ON_PUSH', repositories: ['Prod/*'] }] },
      'gate.registryScanning.rules[0].repositories[0]: an ECR scanning filter: lower-case letters, digits, . _ - / and * (a wildcard), such as "prod/*" or "*"',
    ],
    [
      'MANUAL, which CloudFormation does not take',
      { scanType: 'BASIC', rules: [{ scanFrequency: 'MANUAL', repositories: ['*'] }] },
      'gate.registryScanning.rules[0].scanFrequency: must be one of "SCAN_ON_PUSH", "CONTINUOUS_SCAN"',
    ],
  ])('rejects a registry scanning configuration with %s', (_, registryScanning, issue) => {
    expect(issuesOf(() => parseConfig(minimal({ gate: { registryScanning } })))).toEqual([issue]);
  });

  it('rejects a quarantine expiry without the quarantine', () => {
    expect(
      issuesOf(() => parseConfig(minimal({ gate: { onFail: { quarantine: { expireAfterDays: 30 } } } }))),
    ).toEqual([
      'gate.onFail.quarantine.expireAfterDays: expireAfterDays needs the quarantine enabled ("enabled": true)',
    ]);
  });

  it('rejects a sweep time zone that is not an IANA time zone', () => {
    expect(issuesOf(() => parseConfig(minimal({ sweep: { timezone: 'Mars/Olympus_Mons' } })))).toEqual([
      'sweep.timezone: not an IANA time zone such as "UTC" or "Europe/Berlin"',
    ]);
  });

  it('rejects an invalid inline lifecycle policy with messages naming each rule at fault', () => {
    // Prepare
    const policy = keepNewest(5);
    (policy.rules[0]!.selection as Record<string, unknown>).countUnit = 'days';
    policy.rules.push({
      rulePriority: 1,
      description: 'duplicate priority',
      selection: { tagStatus: 'tagged', countType: 'imageCountMoreThan', countNumber: 3 },
      action: { type: 'expire' },
    });

    // Act
    const issues = issuesOf(() => parseConfig(minimal({}, { lifecyclePolicy: policy })));

    // Assess
    expect(issues).toEqual([
      'selections[0].lifecyclePolicy: rules[0] (rulePriority 1) selection.countUnit: countUnit is only allowed with the since* count types; remove it',
      'selections[0].lifecyclePolicy: rules[1] (rulePriority 1) selection.tagStatus: tagStatus "tagged" needs a tagPatternList or a tagPrefixList naming the tags it selects',
      'selections[0].lifecyclePolicy: rules[1] (rulePriority 1) rulePriority: rulePriority 1 is also used by rules[0]; each rule needs a unique rulePriority',
    ]);
  });

  it('reports a JSONC syntax error with its line and column', () => {
    // Prepare
    const text = [
      '// a comment is fine',
      '{',
      '  "mode": "dry-run",',
      '  "selections": [{ "repositories": ["web"] "lifecyclePolicy": "fromRepository" }]',
      '}',
    ].join('\n');

    // Act
    const issues = issuesOf(() => parseConfig(text));

    // Assess
    expect(issues).toEqual(['line 4, column 44: CommaExpected']);
  });

  it('accepts comments and trailing commas', () => {
    // Prepare
    const text = `{
      // dry-run first
      "selections": [{ "repositories": ["web"], "lifecyclePolicy": "fromRepository", },],
    }`;

    // Act
    const config = parseConfig(text);

    // Assess
    expect(config.selections[0]?.lifecyclePolicy).toBe('fromRepository');
  });

  it.each([
    [{ selections: [] }, 'selections: Too small: expected array to have >=1 items'],
    [{}, 'selections: required — add it'],
    [
      { selections: [{ lifecyclePolicy: 'fromRepository' }] },
      'selections[0]: a selection needs "repositories" (name globs) or "repositoryTags" (or both)',
    ],
    [
      { selections: [{ repositories: ['Web App'], lifecyclePolicy: 'fromRepository' }] },
      'selections[0].repositories[0]: a repository name glob: lower-case letters, digits, . _ - / and *',
    ],
    [
      {
        selections: [{ repositories: ['web'], lifecyclePolicy: 'fromRepository' }],
        bounds: { maxDeletesPerRun: -1 },
      },
      'bounds.maxDeletesPerRun: Too small: expected number to be >=0',
    ],
  ])('rejects %j with "%s"', (doc, issue) => {
    expect(issuesOf(() => validateConfig(doc))).toContain(issue);
  });
});

describe('selectionFor', () => {
  const config = validateConfig({
    selections: [
      { name: 'web', repositories: ['web'], lifecyclePolicy: 'fromRepository' },
      { name: 'services', repositories: ['services/*'], lifecyclePolicy: 'fromRepository' },
      {
        name: 'services again',
        repositories: ['services/orders', 'legacy/*'],
        lifecyclePolicy: 'fromRepository',
      },
      {
        name: 'tagged team',
        repositories: ['team/*'],
        repositoryTags: { steward: 'managed', team: 'x' },
        lifecyclePolicy: 'fromRepository',
      },
      { name: 'tagged', repositoryTags: { steward: 'managed' }, lifecyclePolicy: 'fromRepository' },
    ],
  } satisfies StewardConfigInput);

  it.each([
    ['web', undefined, 'web'],
    ['web-admin', undefined, undefined],
    ['services/orders', undefined, 'services'],
    ['services/a/b', undefined, 'services'],
    ['legacy/x', undefined, 'services again'],
    ['team/app', { steward: 'managed', team: 'x' }, 'tagged team'],
    ['team/app', { steward: 'managed', team: 'y' }, 'tagged'],
    ['other', { steward: 'managed' }, 'tagged'],
    ['other', { steward: 'Managed' }, undefined],
    ['other', undefined, undefined],
  ])('picks the first selection matching %s with tags %j: %s', (name, tags, expected) => {
    expect(selectionFor(config, name, tags)?.name).toBe(expected);
  });

  it('says when repository tags must be read', () => {
    expect(needsRepositoryTags(config)).toBe(true);
    expect(needsRepositoryTags(validateConfig(JSON.parse(minimal())))).toBe(false);
  });
});

describe('repositoryNameFilters', () => {
  const byNames = (...globs: string[][]) =>
    validateConfig({
      selections: globs.map((repositories) => ({ repositories, lifecyclePolicy: 'fromRepository' })),
    });

  it('turns names and trailing-star globs into exact names and prefixes, sorted and deduplicated', () => {
    expect(repositoryNameFilters(byNames(['services/*', 'web'], ['web', 'api/*', 'batch']))).toEqual({
      exact: ['batch', 'web'],
      prefixes: ['api/', 'services/'],
    });
  });

  it.each([
    ['a glob with an inner star', byNames(['web', 'team/*/app'])],
    ['a bare star', byNames(['*'])],
    ['a leading star', byNames(['*-service'])],
  ])('gives up (no narrowing) for %s', (_name, config) => {
    expect(repositoryNameFilters(config)).toBeUndefined();
  });

  it('gives up when a selection picks repositories by tag', () => {
    expect(repositoryNameFilters(parseConfig(exampleText()))).toBeUndefined();
  });
});

describe('configJsonSchema', () => {
  it('equals the committed schema/steward.config.schema.json (run `npm run schema` when this fails)', () => {
    // Prepare
    const committed = JSON.parse(
      readFileSync(new URL('../../schema/steward.config.schema.json', import.meta.url), 'utf8'),
    );

    // Act
    const generated = configJsonSchema();

    // Assess
    expect(committed).toEqual(generated);
  });

  it('is the schema the example config points its editor at', () => {
    expect(parseConfig(exampleText()).$schema).toBe('../schema/steward.config.schema.json');
    expect(configJsonSchema()).toMatchObject({ title: 'ECR Steward configuration', type: 'object' });
  });
});
