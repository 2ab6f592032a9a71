import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { type AuditPorts, countDeletion } from '../../functions/audit/core.js';
import type { AuditRecord } from '../../functions/shared/audit/records.js';
import { ConfigError, parseConfig, validateConfig } from '../../functions/shared/config/load.js';
import {
  configForEnvironment,
  hubEnvironment,
  NoSelectionError,
  ORG_NAMES,
  orgArns,
  replicationRules,
  spokeEnvironments,
  stackNames,
} from '../../functions/shared/config/organization.js';
import { KNOWN_REGIONS, nearestRegion, partitionOf } from '../../functions/shared/config/regions.js';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { configWarnings } from '../../functions/shared/config/warnings.js';
import { keepNewest } from '../fixtures/images.js';

const EXAMPLE = 'examples/org/steward.org.jsonc';
const exampleText = () => readFileSync(new URL(`../../${EXAMPLE}`, import.meta.url), 'utf8');

const HUB = { account: '111111111111', region: 'eu-west-1' };
const A = '222222222222';
const B = '333333333333';
const OU = 'ou-ab12-cd34ef56';

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

const selection = (extra: Record<string, unknown> = {}) => ({
  repositories: ['web'],
  lifecyclePolicy: keepNewest(5),
  ...extra,
});

/** A config with a hub and two spokes (A in eu-west-1 and us-east-1, B in us-east-1), laid over by `extra`. */
function orgDoc(extra: Record<string, unknown> = {}, organization: Record<string, unknown> = {}) {
  return {
    selections: [selection()],
    organization: {
      hub: HUB,
      targets: [
        { accounts: [A], regions: ['eu-west-1', 'us-east-1'] },
        { accounts: [B], regions: ['us-east-1'] },
      ],
      ...organization,
    },
    ...extra,
  };
}

describe('organization config', () => {
  it('parses the example organization config with its defaults applied', () => {
    // Act
    const config = parseConfig(exampleText(), EXAMPLE);

    // Assess
    expect(config.organization).toEqual({
      hub: HUB,
      organizationId: 'o-local0example',
      targets: [
        { accounts: [A], regions: ['eu-west-1'] },
        { accounts: [B], regions: ['us-east-1'] },
      ],
      includeHubAsSpoke: false,
      roleName: 'EcrStewardReadOnly',
      deployment: 'stacks',
    });
    expect(config.backup).toEqual({
      repositories: ['services/*'],
      regions: ['us-east-1'],
      accounts: ['333333333333'],
    });
    expect(config.selections.map((s) => [s.name, s.accounts])).toEqual([
      ['services', [A]],
      ['platform builds', ['333333333333']],
      ['team sandboxes', [A]],
    ]);
    expect(config.alerts.thresholds.map((t) => t.scope)).toEqual(['repository', 'registry', 'organization']);
    expect(configWarnings(config)).toEqual([]);
  });

  it('leaves a config without organization or backup exactly as before', () => {
    // Act
    const config = validateConfig({ selections: [selection()] });

    // Assess
    expect(config.organization).toBeUndefined();
    expect(config.backup).toBeUndefined();
    expect(config.selections[0]).toEqual(selection());
  });

  it.each([
    [
      'a short account id',
      orgDoc({}, { hub: { account: '1111', region: 'eu-west-1' } }),
      'organization.hub.account: an AWS account id is 12 digits, as a string — e.g. "222222222222"',
    ],
    [
      'an account id given as a number',
      orgDoc({}, { targets: [{ accounts: [222222222222], regions: ['eu-west-1'] }] }),
      'organization.targets[0].accounts[0]: expected a string, got the number 222222222222',
    ],
    [
      'a misspelt region',
      orgDoc({}, { targets: [{ accounts: [A], regions: ['eu-west-l'] }] }),
      'organization.targets[0].regions[0]: "eu-west-l" is not an AWS region — did you mean "eu-west-1"? (a region opened after 2026-12-06 is added in functions/shared/config/regions.ts)',
    ],
    [
      'a region nothing is near',
      orgDoc({}, { hub: { account: HUB.account, region: 'moon-base-alpha' } }),
      'organization.hub.region: "moon-base-alpha" is not an AWS region — give a region name such as "eu-west-1" (a region opened after 2026-12-06 is added in functions/shared/config/regions.ts)',
    ],
    [
      'a malformed organizational unit id',
      orgDoc(
        {},
        {
          deployment: 'stackset',
          organizationId: 'o-local0example',
          targets: [{ organizationalUnits: ['ou-x'], regions: ['eu-west-1'] }],
        },
      ),
      'organization.targets[0].organizationalUnits[0]: an organizational unit id looks like "ou-ab12-cd34ef56" (ou-, 4-32 and 8-32 of a-z 0-9)',
    ],
    [
      'a malformed organization id',
      orgDoc({}, { organizationId: 'org-1' }),
      'organization.organizationId: an organization id looks like "o-a1b2c3d4e5" (o- and 10-32 of a-z 0-9)',
    ],
    [
      'a target with both accounts and organizational units',
      orgDoc(
        {},
        {
          deployment: 'stackset',
          organizationId: 'o-local0example',
          targets: [{ accounts: [A], organizationalUnits: [OU], regions: ['eu-west-1'] }],
        },
      ),
      'organization.targets[0]: a target names exactly one of "accounts" and "organizationalUnits" — split it into two targets to use both',
    ],
    [
      'organizational units without the organization id',
      orgDoc(
        {},
        { deployment: 'stackset', targets: [{ organizationalUnits: [OU], regions: ['eu-west-1'] }] },
      ),
      'organization.organizationId: required when a target names organizational units: the hub admits their accounts by aws:PrincipalOrgID — add it (o-…, see `aws organizations describe-organization`)',
    ],
    [
      'organizational units deployed as stacks',
      orgDoc(
        {},
        {
          organizationId: 'o-local0example',
          targets: [{ organizationalUnits: [OU], regions: ['eu-west-1'] }],
        },
      ),
      'organization.targets[0].organizationalUnits: organizational units are deployed by a StackSet only — set organization.deployment to "stackset", or list the accounts',
    ],
    [
      'the hub repeated as a spoke',
      orgDoc({}, { targets: [{ accounts: [A, HUB.account], regions: ['eu-west-1'] }] }),
      'organization.targets[0].accounts[1]: 111111111111 in eu-west-1 is the hub — set organization.includeHubAsSpoke to true to run a spoke there too, or remove it',
    ],
    [
      'a spoke environment listed twice',
      orgDoc(
        {},
        {
          targets: [
            { accounts: [A], regions: ['eu-west-1', 'us-east-1'] },
            { accounts: [B, A], regions: ['us-east-1'] },
          ],
        },
      ),
      'organization.targets[1].accounts[1]: 222222222222 in us-east-1 is already a spoke (organization.targets[0]) — remove the duplicate',
    ],
    [
      'a target region in another partition than the hub',
      orgDoc({}, { targets: [{ accounts: [A], regions: ['cn-north-1'] }] }),
      'organization.targets[0].regions[0]: "cn-north-1" is in the aws-cn partition but the hub (eu-west-1) is in aws — events cannot cross partitions; give this partition its own hub and config',
    ],
    [
      'a selection narrowed to an account that is not a spoke',
      orgDoc({ selections: [selection({ accounts: ['444444444444'] })] }),
      'selections[0].accounts[0]: 444444444444 is not a spoke account of organization.targets (222222222222, 333333333333) — add it to a target, or remove it here',
    ],
    [
      'a selection narrowed to a region without spokes',
      orgDoc({ selections: [selection({ regions: ['eu-central-1'] })] }),
      'selections[0].regions[0]: eu-central-1 is not a spoke region of organization.targets (eu-west-1, us-east-1) — add it to a target, or remove it here',
    ],
    [
      'a selection narrowed without an organization',
      { selections: [selection({ regions: ['eu-west-1'] })] },
      'selections[0].regions: narrows the selection to some spokes, which needs "organization" — add it, or remove "regions"',
    ],
    [
      'an organization-scope threshold without an organization',
      {
        selections: [selection()],
        alerts: { thresholds: [{ scope: 'organization', window: '5m', maxDeletes: 20 }] },
      },
      'alerts.thresholds[0].scope: "organization" counts deletes across every spoke in the hub, which needs "organization" — add it, or use "registry"',
    ],
    [
      'an organization-scope threshold by share of a repository',
      orgDoc({ alerts: { thresholds: [{ scope: 'organization', window: '5m', maxPercentOfImages: 50 }] } }),
      'alerts.thresholds[0]: maxPercentOfImages applies to the repository scope only',
    ],
    [
      'a backup without regions or accounts',
      orgDoc({ backup: { repositories: ['services/*'] } }),
      'backup: a backup needs "regions" or "accounts" (or both): where the copies go',
    ],
    [
      'a backup to an unknown region',
      orgDoc({ backup: { repositories: ['services/*'], regions: ['us-east-9'] } }),
      'backup.regions[0]: "us-east-9" is not an AWS region — did you mean "us-east-1"? (a region opened after 2026-12-06 is added in functions/shared/config/regions.ts)',
    ],
    [
      'a backup glob without a prefix ECR can filter on',
      orgDoc({ backup: { repositories: ['*-prod'], regions: ['us-east-1'] } }),
      'backup.repositories[0]: ECR replicates by repository-name prefix of at least 2 characters — begin the glob with one, e.g. "services/*"',
    ],
    [
      'a backup to more destinations than ECR replicates to',
      {
        selections: [selection()],
        backup: {
          repositories: ['services/*'],
          regions: ['eu-west-1', 'eu-west-2', 'eu-west-3', 'us-east-1', 'us-east-2', 'us-west-2'],
          accounts: [A, B, HUB.account, '444444444444', '555555555555'],
        },
      },
      'backup: ECR replicates to at most 25 destinations (regions × accounts) — name fewer',
    ],
    [
      'a backup region in another partition than the hub',
      orgDoc({ backup: { repositories: ['services/*'], regions: ['us-gov-west-1'] } }),
      'backup.regions[0]: "us-gov-west-1" is in the aws-us-gov partition — ECR replication stays within aws',
    ],
  ])('refuses %s with a message naming the path', (_what, doc, message) => {
    // Act
    const issues = issuesOf(() => validateConfig(doc));

    // Assess
    expect(issues).toEqual([message]);
  });

  it('accepts the hub as a spoke when includeHubAsSpoke is true', () => {
    // Prepare
    const doc = orgDoc(
      {},
      { includeHubAsSpoke: true, targets: [{ accounts: [A, HUB.account], regions: ['eu-west-1'] }] },
    );

    // Act
    const config = validateConfig(doc);

    // Assess
    expect(spokeEnvironments(config)).toEqual([
      { account: A, region: 'eu-west-1' },
      { account: HUB.account, region: 'eu-west-1' },
    ]);
  });

  it('accepts any account in a selection when a target names organizational units', () => {
    // Prepare
    const doc = orgDoc(
      { selections: [selection({ accounts: ['444444444444'] })] },
      {
        deployment: 'stackset',
        organizationId: 'o-local0example',
        targets: [{ organizationalUnits: [OU], regions: ['eu-west-1'] }],
      },
    );

    // Act
    const config = validateConfig(doc);

    // Assess
    expect(config.selections[0]?.accounts).toEqual(['444444444444']);
    expect(spokeEnvironments(config)).toEqual([]);
  });
});

describe('regions', () => {
  it('knows the regions of every public partition', () => {
    // Assess
    expect(KNOWN_REGIONS).toContain('eu-west-1');
    expect(KNOWN_REGIONS).toContain('mx-central-1');
    expect(partitionOf('cn-northwest-1')).toBe('aws-cn');
    expect(partitionOf('us-gov-east-1')).toBe('aws-us-gov');
    expect(partitionOf('eusc-de-east-1')).toBe('aws-eusc');
    expect(partitionOf('ap-southeast-7')).toBe('aws');
  });

  it.each([
    ['eu-west-l', 'eu-west-1'],
    ['EU-WEST-1', 'eu-west-1'],
    ['us-est-1', 'us-east-1'],
    ['ap-southeast-9', 'ap-southeast-1'],
    ['mars-1', undefined],
  ])('suggests %s → %s', (typo, nearest) => {
    // Act
    const near = nearestRegion(typo);

    // Assess
    expect(near).toBe(nearest);
  });
});

describe('spokeEnvironments', () => {
  it('lists every account × region of the account targets once, in config order', () => {
    // Prepare
    const config = validateConfig(orgDoc());

    // Act
    const envs = spokeEnvironments(config);

    // Assess
    expect(envs).toEqual([
      { account: A, region: 'eu-west-1' },
      { account: A, region: 'us-east-1' },
      { account: B, region: 'us-east-1' },
    ]);
  });

  it('puts the hub first when includeHubAsSpoke is true and no target lists it', () => {
    // Prepare
    const config = validateConfig(orgDoc({}, { includeHubAsSpoke: true }));

    // Act
    const envs = spokeEnvironments(config);

    // Assess
    expect(envs[0]).toEqual(HUB);
    expect(envs).toHaveLength(4);
  });

  it('returns nothing without an organization', () => {
    // Act
    const envs = spokeEnvironments(validateConfig({ selections: [selection()] }));

    // Assess
    expect(envs).toEqual([]);
  });
});

describe('hubEnvironment', () => {
  it('returns the hub account and region, or undefined without an organization', () => {
    // Act
    const hub = hubEnvironment(validateConfig(orgDoc()));
    const none = hubEnvironment(validateConfig({ selections: [selection()] }));

    // Assess
    expect(hub).toEqual(HUB);
    expect(none).toBeUndefined();
  });
});

describe('configForEnvironment', () => {
  const config = () =>
    validateConfig(
      orgDoc({
        mode: 'enforce',
        selections: [
          selection({ name: 'only A', accounts: [A] }),
          selection({ name: 'only us-east-1', regions: ['us-east-1'] }),
          selection({ name: 'A in us-east-1', accounts: [A], regions: ['us-east-1'] }),
          selection({ name: 'everywhere', repositories: ['*'] }),
        ],
        alerts: {
          thresholds: [
            { scope: 'repository', window: '5m', maxDeletes: 200 },
            { scope: 'organization', window: '5m', maxDeletes: 20 },
            { scope: 'registry', window: '1h', maxDeletes: 2000 },
          ],
        },
        backup: { repositories: ['services/*'], regions: ['us-east-1'] },
      }),
    );

  it.each([
    [{ account: A, region: 'eu-west-1' }, ['only A', 'everywhere']],
    [{ account: A, region: 'us-east-1' }, ['only A', 'only us-east-1', 'A in us-east-1', 'everywhere']],
    [{ account: B, region: 'us-east-1' }, ['only us-east-1', 'everywhere']],
  ])('keeps, in order, the selections that apply in %o', (env, names) => {
    // Act
    const narrowed = configForEnvironment(config(), env);

    // Assess
    expect(narrowed.selections.map((s) => s.name)).toEqual(names);
  });

  it('drops organization-scope thresholds and keeps every other section when narrowing', () => {
    // Prepare
    const full = config();

    // Act
    const narrowed = configForEnvironment(full, { account: B, region: 'us-east-1' });

    // Assess
    expect(narrowed.alerts.thresholds).toEqual([
      { scope: 'repository', window: '5m', maxDeletes: 200 },
      { scope: 'registry', window: '1h', maxDeletes: 2000 },
    ]);
    const { selections: _s, alerts: _a, ...rest } = narrowed;
    const { selections: _fs, alerts: _fa, ...fullRest } = full;
    expect(rest).toEqual(fullRest);
    expect(narrowed.alerts.breaker).toEqual(full.alerts.breaker);
    expect(full.alerts.thresholds).toHaveLength(3);
  });

  it('returns a config that validates again (the bundled config of a spoke)', () => {
    // Prepare
    const narrowed = configForEnvironment(config(), { account: A, region: 'eu-west-1' });

    // Act
    const again = validateConfig(JSON.parse(JSON.stringify(narrowed)), 'bundled config');

    // Assess
    expect(again).toEqual(narrowed);
  });

  it('throws NoSelectionError naming the environment when every selection is narrowed away', () => {
    // Prepare
    const only = validateConfig(orgDoc({ selections: [selection({ accounts: [A] })] }));

    // Act
    const run = () => configForEnvironment(only, { account: B, region: 'us-east-1' });

    // Assess
    expect(run).toThrow(NoSelectionError);
    expect(run).toThrow(
      'no selection applies to account 333333333333 in us-east-1: every selection is narrowed elsewhere by "accounts"/"regions" — add a selection for it, or remove it from organization.targets',
    );
  });

  it('warns about the spoke that no selection applies to', () => {
    // Prepare
    const only = validateConfig(orgDoc({ selections: [selection({ accounts: [A] })] }));

    // Act
    const warnings = configWarnings(only);

    // Assess
    expect(warnings).toEqual([
      'organization.targets: no selection applies to account 333333333333 in us-east-1 (every one is narrowed elsewhere by "accounts"/"regions"), so EcrSteward-333333333333-us-east-1 is not deployed — add a selection for it, or remove it from the targets',
    ]);
  });
});

describe('replicationRules', () => {
  const EU_A = { account: A, region: 'eu-west-1' };

  it('replicates to every backup region of the same account, filtered by the globs’ prefixes', () => {
    // Prepare
    const config = validateConfig(
      orgDoc({
        backup: {
          repositories: ['services/*', 'web', 'services/api/*'],
          regions: ['us-east-1', 'eu-west-2'],
        },
      }),
    );

    // Act
    const rules = replicationRules(config, EU_A);

    // Assess
    expect(rules).toEqual([
      {
        destinations: [
          { region: 'us-east-1', registryId: A },
          { region: 'eu-west-2', registryId: A },
        ],
        repositoryFilters: [
          { filter: 'services/', filterType: 'PREFIX_MATCH' },
          { filter: 'web', filterType: 'PREFIX_MATCH' },
        ],
      },
    ]);
  });

  it('replicates to every backup region × account except the environment itself', () => {
    // Prepare
    const config = validateConfig(
      orgDoc({
        backup: { repositories: ['services/*'], regions: ['eu-west-1', 'us-east-1'], accounts: [A, B] },
      }),
    );

    // Act
    const rules = replicationRules(config, EU_A);

    // Assess
    expect(rules?.[0]?.destinations).toEqual([
      { region: 'us-east-1', registryId: A },
      { region: 'eu-west-1', registryId: B },
      { region: 'us-east-1', registryId: B },
    ]);
  });

  it('returns undefined without backup, and when the only destination is the environment itself', () => {
    // Prepare
    const none = validateConfig(orgDoc());
    const self = validateConfig(orgDoc({ backup: { repositories: ['services/*'], regions: ['eu-west-1'] } }));

    // Act
    const withoutBackup = replicationRules(none, EU_A);
    const onlySelf = replicationRules(self, EU_A);

    // Assess
    expect(withoutBackup).toBeUndefined();
    expect(onlySelf).toBeUndefined();
  });

  it('works without an organization (one account, another region)', () => {
    // Prepare
    const config = validateConfig({
      selections: [selection()],
      backup: { repositories: ['services/*'], regions: ['us-west-2'] },
    });

    // Act
    const rules = replicationRules(config, { account: '999999999999', region: 'eu-central-1' });

    // Assess
    expect(rules?.[0]?.destinations).toEqual([{ region: 'us-west-2', registryId: '999999999999' }]);
  });

  it('warns when ECR’s prefix filter replicates more than a glob names', () => {
    // Prepare
    const config = validateConfig(
      orgDoc({ backup: { repositories: ['services/*', 'team/*-prod'], regions: ['us-east-1'] } }),
    );

    // Act
    const warnings = configWarnings(config);

    // Assess
    expect(warnings).toEqual([
      'backup.repositories[1]: ECR replication filters by name prefix, so every repository whose name starts with "team/" is replicated, not only those matching "team/*-prod" — write it as "team/*" to say so, or choose a longer prefix',
    ]);
  });
});

describe('orgArns', () => {
  it('builds the hub bus and table ARNs from the hub account, region and partition', () => {
    // Prepare
    const config = validateConfig(orgDoc());
    const china = validateConfig(
      orgDoc(
        {},
        {
          hub: { account: HUB.account, region: 'cn-north-1' },
          targets: [{ accounts: [A], regions: ['cn-northwest-1'] }],
        },
      ),
    );

    // Act
    const arns = orgArns(config);
    const cn = orgArns(china);

    // Assess
    expect(arns).toEqual({
      busArn: 'arn:aws:events:eu-west-1:111111111111:event-bus/ecr-steward-org',
      auditTableArn: 'arn:aws:dynamodb:eu-west-1:111111111111:table/ecr-steward-org-audit',
      stateTableArn: 'arn:aws:dynamodb:eu-west-1:111111111111:table/ecr-steward-org-state',
    });
    expect(cn.busArn).toBe(`arn:aws-cn:events:cn-north-1:111111111111:event-bus/${ORG_NAMES.bus}`);
  });

  it('throws without an organization', () => {
    // Act
    const run = () => orgArns(validateConfig({ selections: [selection()] }));

    // Assess
    expect(run).toThrow('orgArns: the config has no "organization", so there is no hub');
  });
});

describe('stackNames', () => {
  it('names the hub, a spoke and the single stack', () => {
    // Assess
    expect(stackNames.hub).toBe('EcrStewardHub');
    expect(stackNames.single).toBe('EcrSteward');
    expect(stackNames.spoke({ account: A, region: 'us-east-1' })).toBe('EcrSteward-222222222222-us-east-1');
  });
});

describe('countDeletion', () => {
  it('counts nothing in a spoke for an organization-scope threshold', async () => {
    // Prepare
    const config: StewardConfig = validateConfig(
      orgDoc({ alerts: { thresholds: [{ scope: 'organization', window: '5m', maxDeletes: 1 }] } }),
    );
    const add = vi.fn(async () => 100);
    const open = vi.fn(async () => true);
    const ports = {
      counters: { add, claimAlert: vi.fn(), repositoryImageCount: vi.fn() },
      breaker: { open },
    };
    const record = {
      repository: 'web',
      digest: `sha256:${'a'.repeat(64)}`,
      at: '2026-06-01T12:00:00.000Z',
      actor: { type: 'principal', principal: 'arn:aws:iam::222222222222:role/ci' },
    } as unknown as AuditRecord;

    // Act
    const crossings = await countDeletion(
      config,
      record,
      new Date('2026-06-01T12:01:00.000Z'),
      ports as unknown as AuditPorts,
    );

    // Assess
    expect(crossings).toEqual([]);
    expect(add).not.toHaveBeenCalled();
    expect(open).not.toHaveBeenCalled();
  });
});
