/**
 * Which stacks a config deploys where: the single stack of today, or an organization's hub and its spokes
 * (one stack per account and region, or one StackSet). Pure: `bin/app.ts` builds from it and
 * `ecr-steward deploy-plan` prints it.
 */
import Table from 'cli-table3';
import {
  configForEnvironment,
  hubEnvironment,
  NoSelectionError,
  type OrgEnvironment,
  type OrgTarget,
  spokeEnvironments,
  stackNames,
} from './organization.js';
import { partitionOf } from './regions.js';
import type { StewardConfig } from './schema.js';

/** One stack to deploy. A single stack's account and region are those of the deploying credentials. */
export interface PlannedStack {
  readonly name: string;
  readonly role: 'hub' | 'spoke' | 'single';
  readonly account: string;
  readonly region: string;
}

/** The spokes as one service-managed StackSet (`deployment: "stackset"`), created by the hub stack. */
export interface PlannedStackSet {
  readonly name: string;
  /** Every organizational unit of the targets. */
  readonly organizationalUnits: readonly string[];
  /** Every account of the targets (and the hub's, when it is a spoke too). */
  readonly accounts: readonly string[];
  /** Every region of the targets. */
  readonly regions: readonly string[];
  /** The stack instances target by target: each target's OUs or accounts in its own regions. */
  readonly targets: readonly {
    readonly organizationalUnits?: readonly string[];
    readonly accounts?: readonly string[];
    readonly regions: readonly string[];
  }[];
  /** organization.stackSetAssetBucketPrefix: the buckets `<prefix>-<region>` that carry the spokes' code. */
  readonly assetBucketPrefix?: string;
}

export interface DeployPlan {
  readonly mode: 'single' | 'stacks' | 'stackset';
  readonly stacks: readonly PlannedStack[];
  readonly stackSet?: PlannedStackSet;
  /** What the plan leaves out or needs, one line each (an environment without a selection, OU targets, …). */
  readonly notes: readonly string[];
}

/** What a single stack's account and region are shown as: `cdk deploy` takes them from the credentials. */
export const CURRENT = { account: 'CDK_DEFAULT_ACCOUNT', region: 'CDK_DEFAULT_REGION' } as const;

const unique = <T>(xs: readonly T[]): T[] => [...new Set(xs)];

/**
 * The stacks of a config. Without `organization`: the one `EcrSteward` stack in the deploying credentials'
 * account and region. With `deployment: "stacks"`: the hub stack, then one spoke stack per account and region
 * of the account targets — an environment where every selection is narrowed away gets none (noted), and
 * organizational-unit targets, which only a StackSet can reach, are noted. With `deployment: "stackset"`: the
 * hub stack and a StackSet over every target (service-managed, auto-deployment on), no per-account stacks.
 */
export function deployPlan(config: StewardConfig): DeployPlan {
  const org = config.organization;
  const hub = hubEnvironment(config);
  if (!org || !hub)
    return { mode: 'single', stacks: [{ name: stackNames.single, role: 'single', ...CURRENT }], notes: [] };
  const hubStack: PlannedStack = { name: stackNames.hub, role: 'hub', ...hub };
  const notes: string[] = [];
  if (org.deployment === 'stackset') {
    const targets: { organizationalUnits?: string[]; accounts?: string[]; regions: string[] }[] =
      org.targets.map((t: OrgTarget) =>
        t.organizationalUnits
          ? { organizationalUnits: [...t.organizationalUnits], regions: [...t.regions] }
          : { accounts: [...(t.accounts ?? [])], regions: [...t.regions] },
      );
    const hubListed = org.targets.some(
      (t) => t.accounts?.includes(hub.account) && t.regions.includes(hub.region),
    );
    if (org.includeHubAsSpoke && !hubListed) targets.push({ accounts: [hub.account], regions: [hub.region] });
    const narrowed = config.selections.some((s) => s.accounts || s.regions);
    if (narrowed)
      notes.push(
        'every stack instance runs the same template: the selections narrowed by "accounts"/"regions" are applied by each spoke for its own account and region',
      );
    return {
      mode: 'stackset',
      stacks: [hubStack],
      stackSet: {
        name: stackNames.stackSet,
        organizationalUnits: unique(targets.flatMap((t) => t.organizationalUnits ?? [])),
        accounts: unique(targets.flatMap((t) => t.accounts ?? [])),
        regions: unique(targets.flatMap((t) => t.regions)),
        targets,
        ...(org.stackSetAssetBucketPrefix ? { assetBucketPrefix: org.stackSetAssetBucketPrefix } : {}),
      },
      notes,
    };
  }
  const spokes: PlannedStack[] = [];
  for (const env of spokeEnvironments(config)) {
    if (!hasSelection(config, env)) {
      notes.push(
        `${stackNames.spoke(env)} is not deployed: no selection applies to account ${env.account} in ${env.region} (every one is narrowed elsewhere by "accounts"/"regions")`,
      );
      continue;
    }
    spokes.push({ name: stackNames.spoke(env), role: 'spoke', ...env });
  }
  org.targets.forEach((t, i) => {
    if (t.organizationalUnits)
      notes.push(
        `organization.targets[${i}] (${t.organizationalUnits.join(', ')}) is not deployed: organizational units need "deployment": "stackset"`,
      );
  });
  return { mode: 'stacks', stacks: [hubStack, ...spokes], notes };
}

function hasSelection(config: StewardConfig, env: OrgEnvironment): boolean {
  try {
    configForEnvironment(config, env);
    return true;
  } catch (e) {
    if (e instanceof NoSelectionError) return false;
    throw e;
  }
}

/** Options of `formatDeployPlan`. */
export interface FormatOptions {
  /** The config path the printed `cdk deploy` commands pass as `-c config=…`. @default "steward.config.json" */
  readonly configPath?: string;
}

const table = (head: string[], rows: string[][]): string => {
  // No colours: the plan is often piped into files and CI logs, where escape codes are noise.
  const t = new Table({ head, style: { head: [], border: [], compact: true } });
  for (const row of rows) t.push(row);
  return t.toString();
};

/**
 * The plan for people: a table of the stacks (and of the StackSet's instances), the notes, and the commands
 * to run in order — bootstrap with trust to the hub account, deploy the hub, then the spokes.
 */
export function formatDeployPlan(plan: DeployPlan, opts: FormatOptions = {}): string {
  const config = opts.configPath ?? 'steward.config.json';
  const deploy = (stack: string) => `npx cdk deploy ${stack} -c config=${config}`;
  const out: string[] = [];
  const n = plan.stacks.length;
  out.push(`ECR Steward deploy plan (${plan.mode}): ${n} stack${n === 1 ? '' : 's'}`, '');
  const where = (s: PlannedStack) =>
    s.role === 'single'
      ? ['(your credentials’ account)', '(your credentials’ region)']
      : [s.account, s.region];
  out.push(
    table(
      ['stack', 'role', 'account', 'region'],
      plan.stacks.map((s) => [s.name, s.role, ...where(s)]),
    ),
  );
  if (plan.stackSet) {
    const set = plan.stackSet;
    out.push(
      '',
      `StackSet ${set.name} (service-managed, auto-deployment on: accounts that join these OUs get a spoke; created by ${stackNames.hub}):`,
      table(
        ['deployment targets', 'regions'],
        set.targets.map((t) => [
          [...(t.organizationalUnits ?? []), ...(t.accounts ?? [])].join(', '),
          t.regions.join(', '),
        ]),
      ),
    );
  }
  if (plan.notes.length > 0) out.push('', 'Notes:', ...plan.notes.map((note) => `  - ${note}`));
  out.push('', 'Deploy:');
  const hub = plan.stacks.find((s) => s.role === 'hub');
  if (!hub) {
    out.push(`  npx cdk bootstrap`, `  ${deploy(plan.stacks[0]?.name ?? stackNames.single)}`);
    return `${out.join('\n')}\n`;
  }
  const spokes = plan.stacks.filter((s) => s.role === 'spoke');
  const policy = `arn:${partitionOf(hub.region)}:iam::aws:policy/AdministratorAccess`;
  out.push(
    `  # with the hub account's (${hub.account}) credentials`,
    `  npx cdk bootstrap aws://${hub.account}/${hub.region}`,
  );
  if (spokes.length > 0) {
    out.push(
      `  # once per spoke, with that account's credentials: let the hub account deploy there (or a narrower policy of yours)`,
    );
    for (const s of spokes)
      if (!(s.account === hub.account && s.region === hub.region))
        out.push(
          `  npx cdk bootstrap aws://${s.account}/${s.region} --trust ${hub.account} --cloudformation-execution-policies ${policy}`,
        );
  }
  if (plan.stackSet)
    out.push(
      `  # the hub account must be the organization's management account or a delegated administrator of StackSets,`,
      `  # with trusted access on: aws cloudformation activate-organizations-access`,
    );
  if (plan.stackSet) {
    // bin/app.ts refuses a StackSet without it: the spokes' Lambda code travels through these buckets.
    const prefix = plan.stackSet.assetBucketPrefix;
    out.push(
      `  # the spokes' Lambda code goes through existing S3 buckets named ${prefix ?? 'PREFIX'}-<region>, one per region (${plan.stackSet.regions.join(', ')}), readable by the organization`,
      prefix ? `  ${deploy(hub.name)}` : `  ${deploy(hub.name)} -c assetBucketPrefix=PREFIX`,
    );
  } else out.push(`  ${deploy(hub.name)}`);
  if (spokes.length > 0) {
    out.push(
      `  # then the spokes (the hub's bus and breaker exist first), with the hub account's credentials`,
    );
    for (const s of spokes) out.push(`  ${deploy(s.name)}`);
  }
  return `${out.join('\n')}\n`;
}
