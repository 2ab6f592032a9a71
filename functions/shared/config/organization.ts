/**
 * `organization` and `backup`: one config governs a hub and its spokes (account × region), and ECR's registry
 * replication keeps key images in other regions or accounts. Pure: the schemas, the checks that need the
 * whole config, and the helpers the stacks, the CLI and the functions use to tell where they run.
 */
import * as z from 'zod';
import { isKnownRegion, partitionOf, regionNameSchema } from './regions.js';
import type { Selection, StewardConfig } from './schema.js';
import { accountIdSchema, repositoryGlob } from './selection.js';

/** One place ECR Steward runs: an account and a region. */
export type OrgEnvironment = { readonly account: string; readonly region: string };

const OU_ID = /^ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}$/;
const ORG_ID = /^o-[a-z0-9]{10,32}$/;
/** IAM's role-name characters and length. */
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;

/** Where spokes go: accounts or organizational units (one of the two), in these regions. */
export const orgTargetSchema = z
  .strictObject({
    accounts: z.array(accountIdSchema).min(1).optional().describe('Spoke accounts (12-digit ids).'),
    organizationalUnits: z
      .array(
        z
          .string()
          .regex(
            OU_ID,
            'an organizational unit id looks like "ou-ab12-cd34ef56" (ou-, 4-32 and 8-32 of a-z 0-9)',
          ),
      )
      .min(1)
      .optional()
      .describe('Organizational units whose accounts are spokes (deployment "stackset" only).'),
    regions: z.array(regionNameSchema).min(1).describe('The regions of these accounts that get a spoke.'),
  })
  .refine((t) => (t.accounts === undefined) !== (t.organizationalUnits === undefined), {
    message:
      'a target names exactly one of "accounts" and "organizationalUnits" — split it into two targets to use both',
  });

/** The whole organization: the hub, the spokes, and how they are deployed. */
export const organizationSchema = z
  .strictObject({
    hub: z
      .strictObject({ account: accountIdSchema, region: regionNameSchema })
      .describe(
        'The central account and region: the organization bus, the org audit table, the org topics and breaker.',
      ),
    organizationId: z
      .string()
      .regex(ORG_ID, 'an organization id looks like "o-a1b2c3d4e5" (o- and 10-32 of a-z 0-9)')
      .optional()
      .describe(
        'The AWS Organizations id: the hub admits its principals (aws:PrincipalOrgID). Required with organizational units.',
      ),
    targets: z.array(orgTargetSchema).min(1).describe('Where spoke stacks go.'),
    includeHubAsSpoke: z
      .boolean()
      .default(false)
      .describe('Also run a spoke in the hub account and region. Refused as a spoke target otherwise.'),
    roleName: z
      .string()
      .regex(ROLE_NAME, 'an IAM role name: 1-64 of letters, digits and + = , . @ _ -')
      .default('EcrStewardReadOnly')
      .describe('The role `ecr-steward plan --account A --region R` assumes in a spoke.'),
    deployment: z
      .enum(['stacks', 'stackset'])
      .default('stacks')
      .describe(
        'stacks: one CloudFormation stack per spoke account and region (`cdk deploy`). stackset: a service-managed StackSet with auto-deployment to new accounts of the organizational units.',
      ),
    stackSetAssetBucketPrefix: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,40}$/, 'an S3 bucket name prefix: lower-case letters, digits, . and -')
      .optional()
      .describe(
        'deployment "stackset": the spokes\' Lambda code is copied to buckets named <prefix>-<region> in the hub account, one per target region, readable by the organization (`-c assetBucketPrefix=` overrides it).',
      ),
  })
  .describe('One hub and its spokes: one config for every account and region.');

/** Registry replication limits of ECR (PutReplicationConfiguration): destinations per rule, prefix length. */
const ECR_MAX_DESTINATIONS = 25;
const ECR_MIN_FILTER_LENGTH = 2;

/** The literal prefix of a glob, before its first `*`: what an ECR PREFIX_MATCH filter can express. */
export function literalPrefix(glob: string): string {
  const star = glob.indexOf('*');
  return star < 0 ? glob : glob.slice(0, star);
}

/** Key images copied to other regions or accounts by ECR's registry replication. */
export const backupSchema = z
  .strictObject({
    repositories: z
      .array(
        repositoryGlob.refine((g) => literalPrefix(g).length >= ECR_MIN_FILTER_LENGTH, {
          message: `ECR replicates by repository-name prefix of at least ${ECR_MIN_FILTER_LENGTH} characters — begin the glob with one, e.g. "services/*"`,
        }),
      )
      .min(1)
      .max(100)
      .describe(
        'Repository name globs to replicate. ECR filters by prefix: the part before the first `*` decides.',
      ),
    regions: z
      .array(regionNameSchema)
      .min(1)
      .optional()
      .describe('Regions that get a copy (the account itself when "accounts" is omitted).'),
    accounts: z
      .array(accountIdSchema)
      .min(1)
      .optional()
      .describe(
        "Accounts that get a copy; their registry policy must allow this account's replication (ecr:ReplicateImage, ecr:CreateRepository).",
      ),
  })
  .refine((b) => b.regions !== undefined || b.accounts !== undefined, {
    message: 'a backup needs "regions" or "accounts" (or both): where the copies go',
  })
  .refine((b) => (b.regions?.length ?? 1) * (b.accounts?.length ?? 1) <= ECR_MAX_DESTINATIONS, {
    message: `ECR replicates to at most ${ECR_MAX_DESTINATIONS} destinations (regions × accounts) — name fewer`,
  })
  .describe(
    "ECR registry replication of key images. Deletes are not replicated, and images pushed before the rule are not copied. A replica region's own config decides what is cleaned there.",
  );

export type OrganizationConfig = z.output<typeof organizationSchema>;
export type OrgTarget = z.output<typeof orgTargetSchema>;
export type BackupConfig = z.output<typeof backupSchema>;

const envKey = (e: OrgEnvironment) => `${e.account}/${e.region}`;
const sameEnv = (a: OrgEnvironment, b: OrgEnvironment) => a.account === b.account && a.region === b.region;

type Problem = { path: (string | number)[]; message: string };

/** The parts of a parsed config the cross-section checks read. */
interface OrgChecked {
  readonly organization?: OrganizationConfig | undefined;
  readonly backup?: BackupConfig | undefined;
  readonly selections: readonly Pick<Selection, 'accounts' | 'regions'>[];
  readonly alerts: { readonly thresholds: readonly { readonly scope: string }[] };
}

function targetProblems(org: OrganizationConfig): Problem[] {
  const out: Problem[] = [];
  const seen = new Map<string, string>();
  const hubPartition = partitionOf(org.hub.region);
  const at = (i: number, ...rest: (string | number)[]) => ['organization', 'targets', i, ...rest];
  org.targets.forEach((t, i) => {
    t.regions.forEach((r, k) => {
      if (partitionOf(r) !== hubPartition)
        out.push({
          path: at(i, 'regions', k),
          message: `"${r}" is in the ${partitionOf(r)} partition but the hub (${org.hub.region}) is in ${hubPartition} — events cannot cross partitions; give this partition its own hub and config`,
        });
    });
    if (t.organizationalUnits && org.deployment === 'stacks')
      out.push({
        path: at(i, 'organizationalUnits'),
        message:
          'organizational units are deployed by a StackSet only — set organization.deployment to "stackset", or list the accounts',
      });
    (t.organizationalUnits ?? []).forEach((ou, j) => {
      for (const r of t.regions) {
        const key = `${ou}/${r}`;
        const first = seen.get(key);
        if (first)
          out.push({
            path: at(i, 'organizationalUnits', j),
            message: `${ou} in ${r} is already a target (${first}) — remove the duplicate`,
          });
        else seen.set(key, `organization.targets[${i}]`);
      }
    });
    (t.accounts ?? []).forEach((account, j) => {
      for (const region of t.regions) {
        const env = { account, region };
        if (sameEnv(env, org.hub) && !org.includeHubAsSpoke) {
          out.push({
            path: at(i, 'accounts', j),
            message: `${account} in ${region} is the hub — set organization.includeHubAsSpoke to true to run a spoke there too, or remove it`,
          });
          continue;
        }
        const first = seen.get(envKey(env));
        if (first)
          out.push({
            path: at(i, 'accounts', j),
            message: `${account} in ${region} is already a spoke (${first}) — remove the duplicate`,
          });
        else seen.set(envKey(env), `organization.targets[${i}]`);
      }
    });
  });
  const usesOus = org.targets.some((t) => t.organizationalUnits);
  if (usesOus && org.organizationId === undefined)
    out.push({
      path: ['organization', 'organizationId'],
      message:
        'required when a target names organizational units: the hub admits their accounts by aws:PrincipalOrgID — add it (o-…, see `aws organizations describe-organization`)',
    });
  return out;
}

function selectionProblems(config: OrgChecked): Problem[] {
  const org = config.organization;
  const out: Problem[] = [];
  const accounts = new Set(org ? spokeEnvironments({ organization: org }).map((e) => e.account) : []);
  const regions = new Set(org ? spokeRegions(org) : []);
  // The accounts of organizational units are only known when the StackSet deploys: any account may be one.
  const anyAccount = org?.targets.some((t) => t.organizationalUnits) ?? false;
  config.selections.forEach((s, i) => {
    for (const field of ['accounts', 'regions'] as const) {
      if (s[field] === undefined) continue;
      if (!org) {
        out.push({
          path: ['selections', i, field],
          message: `narrows the selection to some spokes, which needs "organization" — add it, or remove "${field}"`,
        });
        continue;
      }
      s[field].forEach((value, j) => {
        // A malformed value already has its own message from the schema.
        if (field === 'accounts' ? !/^\d{12}$/.test(value) : !isKnownRegion(value)) return;
        const known = field === 'accounts' ? anyAccount || accounts.has(value) : regions.has(value);
        if (known) return;
        const list = field === 'accounts' ? [...accounts] : [...regions];
        out.push({
          path: ['selections', i, field, j],
          message: `${value} is not a spoke ${field === 'accounts' ? 'account' : 'region'} of organization.targets (${list.join(', ') || 'none'}) — add it to a target, or remove it here`,
        });
      });
    }
  });
  return out;
}

/**
 * What the schema of one section cannot see: an organization whose targets cannot deploy (organizational
 * units without StackSets or without the organization id, the hub repeated as a spoke, a spoke listed twice,
 * a region of another partition), selections narrowed to places that are not spokes, organization-scope
 * thresholds without an organization, and backup regions of another partition than the hub.
 */
export function organizationProblems(config: OrgChecked): Problem[] {
  const out: Problem[] = [];
  const org = config.organization;
  if (org) out.push(...targetProblems(org));
  out.push(...selectionProblems(config));
  config.alerts.thresholds.forEach((t, i) => {
    if (t.scope === 'organization' && !org)
      out.push({
        path: ['alerts', 'thresholds', i, 'scope'],
        message:
          '"organization" counts deletes across every spoke in the hub, which needs "organization" — add it, or use "registry"',
      });
  });
  if (org && config.backup)
    (config.backup.regions ?? []).forEach((r, k) => {
      if (partitionOf(r) !== partitionOf(org.hub.region))
        out.push({
          path: ['backup', 'regions', k],
          message: `"${r}" is in the ${partitionOf(r)} partition — ECR replication stays within ${partitionOf(org.hub.region)}`,
        });
    });
  return out;
}

/** Every region some target names, in order of first mention (and the hub's when it is a spoke too). */
function spokeRegions(org: OrganizationConfig): string[] {
  const regions = org.targets.flatMap((t) => t.regions);
  if (org.includeHubAsSpoke) regions.push(org.hub.region);
  return [...new Set(regions)];
}

/**
 * The spoke environments of the account targets, in config order, each once: target by target, account by
 * account, region by region. The hub account and region comes first when `includeHubAsSpoke` is true and no
 * target lists it. Organizational-unit targets are not here: their accounts are only known to the StackSet
 * (see `deployPlan`). Empty without `organization`.
 */
export function spokeEnvironments(config: {
  readonly organization?: OrganizationConfig | undefined;
}): OrgEnvironment[] {
  const org = config.organization;
  if (!org) return [];
  const out = new Map<string, OrgEnvironment>();
  for (const t of org.targets)
    for (const account of t.accounts ?? [])
      for (const region of t.regions) {
        const env = { account, region };
        if (sameEnv(env, org.hub) && !org.includeHubAsSpoke) continue;
        if (!out.has(envKey(env))) out.set(envKey(env), env);
      }
  const hub = { account: org.hub.account, region: org.hub.region };
  if (org.includeHubAsSpoke && !out.has(envKey(hub))) return [hub, ...out.values()];
  return [...out.values()];
}

/** The hub's account and region, or undefined without `organization`. */
export function hubEnvironment(config: {
  readonly organization?: OrganizationConfig | undefined;
}): OrgEnvironment | undefined {
  const hub = config.organization?.hub;
  return hub ? { account: hub.account, region: hub.region } : undefined;
}

/** Whether a selection applies in an environment: one without accounts/regions applies everywhere. */
export function selectionAppliesIn(
  selection: Pick<Selection, 'accounts' | 'regions'>,
  env: OrgEnvironment,
): boolean {
  return (
    (selection.accounts === undefined || selection.accounts.includes(env.account)) &&
    (selection.regions === undefined || selection.regions.includes(env.region))
  );
}

/**
 * An organization's config as one account and region run it: only the selections that apply there, in their
 * order (none: it manages nothing there). What every runner in one environment uses — a StackSet's functions at
 * start, the CLI's live session — so a selection limited by `accounts`/`regions` acts nowhere else. A config
 * without `organization` applies as it is.
 */
export function selectionsIn(config: StewardConfig, env: OrgEnvironment): StewardConfig {
  if (!config.organization) return config;
  return { ...config, selections: config.selections.filter((s) => selectionAppliesIn(s, env)) };
}

/**
 * Thrown by `configForEnvironment` when every selection is narrowed away from an environment: a config
 * needs at least one selection, and a spoke that manages nothing is better not deployed than deployed
 * silently idle. `deployPlan` skips such an environment with a note instead.
 */
export class NoSelectionError extends Error {
  constructor(readonly env: OrgEnvironment) {
    super(
      `no selection applies to account ${env.account} in ${env.region}: every selection is narrowed elsewhere by "accounts"/"regions" — add a selection for it, or remove it from organization.targets`,
    );
    this.name = 'NoSelectionError';
  }
}

/**
 * The config one environment runs: the same config with only the selections that apply there (in their
 * order, so the first match still wins) and without organization-scope thresholds (the hub counts those
 * across every spoke; a spoke counts its repository and registry scopes as before). Every other section is
 * kept. Throws `NoSelectionError` when no selection applies there.
 */
export function configForEnvironment(config: StewardConfig, env: OrgEnvironment): StewardConfig {
  const selections = config.selections.filter((s) => selectionAppliesIn(s, env));
  if (selections.length === 0) throw new NoSelectionError(env);
  return {
    ...config,
    selections,
    alerts: {
      ...config.alerts,
      thresholds: config.alerts.thresholds.filter((t) => t.scope !== 'organization'),
    },
  };
}

/**
 * One rule of ECR's registry replication configuration, in the shape both the ECR API
 * (PutReplicationConfiguration) and CDK's `CfnReplicationConfiguration.ReplicationRuleProperty` take.
 */
export interface ReplicationRule {
  readonly destinations: readonly { readonly region: string; readonly registryId: string }[];
  readonly repositoryFilters: readonly { readonly filter: string; readonly filterType: 'PREFIX_MATCH' }[];
}

/**
 * The replication rules of `backup` for the registry of one environment: every backup region × every backup
 * account (the environment's own account when none are named), minus the environment itself (ECR refuses a
 * rule to itself), filtered by the globs' literal prefixes. Undefined without `backup`, or when the only
 * destination is the environment itself.
 */
export function replicationRules(
  config: { readonly backup?: BackupConfig | undefined },
  env: OrgEnvironment,
): ReplicationRule[] | undefined {
  const backup = config.backup;
  if (!backup) return undefined;
  const regions = backup.regions ?? [env.region];
  const accounts = backup.accounts ?? [env.account];
  const destinations = accounts
    .flatMap((registryId) => regions.map((region) => ({ region, registryId })))
    .filter((d) => !(d.registryId === env.account && d.region === env.region));
  if (destinations.length === 0) return undefined;
  // A prefix that another one starts with adds nothing: "services/" already covers "services/api".
  const prefixes = [...new Set(backup.repositories.map(literalPrefix))].sort();
  const kept = prefixes.filter((p) => !prefixes.some((q) => q !== p && p.startsWith(q)));
  return [
    {
      destinations,
      repositoryFilters: kept.map((filter) => ({ filter, filterType: 'PREFIX_MATCH' as const })),
    },
  ];
}

/**
 * The physical names of the hub's bus and tables: fixed, so every spoke can build their ARNs from the hub's
 * account and region alone, without a cross-stack reference (which CloudFormation cannot make across accounts).
 */
export const ORG_NAMES = {
  bus: 'ecr-steward-org',
  auditTable: 'ecr-steward-org-audit',
  stateTable: 'ecr-steward-org-state',
} as const;

/** The ARNs of the hub's bus and tables. Throws without `organization`: only an organization has a hub. */
export function orgArns(config: { readonly organization?: OrganizationConfig | undefined }): {
  readonly busArn: string;
  readonly auditTableArn: string;
  readonly stateTableArn: string;
} {
  const hub = config.organization?.hub;
  if (!hub) throw new Error('orgArns: the config has no "organization", so there is no hub');
  const { account, region } = hub;
  const partition = partitionOf(region);
  return {
    busArn: `arn:${partition}:events:${region}:${account}:event-bus/${ORG_NAMES.bus}`,
    auditTableArn: `arn:${partition}:dynamodb:${region}:${account}:table/${ORG_NAMES.auditTable}`,
    stateTableArn: `arn:${partition}:dynamodb:${region}:${account}:table/${ORG_NAMES.stateTable}`,
  };
}

/** Stack names: the hub, one spoke per account and region, and the single stack of a config without organization. */
export const stackNames = {
  hub: 'EcrStewardHub',
  single: 'EcrSteward',
  spoke: (env: OrgEnvironment) => `EcrSteward-${env.account}-${env.region}`,
  /** The StackSet of the spokes with `deployment: "stackset"`. */
  stackSet: 'EcrStewardSpokes',
} as const;

/**
 * Whether an account and region may speak as a spoke of this config (the hub's check of every event): an
 * environment of the account targets, or any account in a region of an organizational-unit target (its
 * accounts are known only to AWS Organizations; the bus policy admits only the organization's principals).
 */
export function isConfiguredSpoke(
  config: { readonly organization?: OrganizationConfig | undefined },
  env: OrgEnvironment,
): boolean {
  const organization = config.organization;
  if (!organization) return false;
  if (spokeEnvironments(config).some((e) => e.account === env.account && e.region === env.region))
    return true;
  return organization.targets.some(
    (t) => t.organizationalUnits !== undefined && t.regions.includes(env.region),
  );
}
