import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { type Plan, planRepository } from '../../functions/shared/lifecycle/index.js';
import {
  loadImagesFile,
  loadInUseFile,
  loadManifestsFile,
  loadPolicyFile,
  loadStewardFile,
} from '../inputs.js';
import { CliError, EXIT, parseIsoTime, writeJson } from '../util.js';

export interface PlanOptions {
  readonly policy?: string;
  readonly images?: string;
  readonly config?: string;
  readonly manifests?: string;
  readonly steward?: string;
  readonly inUse?: string;
  readonly repository?: string;
  readonly now?: string;
  readonly format: 'table' | 'json';
  readonly account?: string;
  readonly role?: string;
}

/** Width of the table when stdout is not a terminal (files, CI logs): wide enough for most reasons on one line. */
const PIPE_WIDTH = 160;

/**
 * What `ecr-steward plan` does. Its options and help are in cli/register/plan.ts, which loads this module
 * only when the command runs.
 */
export async function planCommand(opts: PlanOptions) {
  // Parse --now first: it is the cheapest input to get wrong and needs no file.
  const now = opts.now === undefined ? new Date() : parseIsoTime(opts.now, '--now');
  if (opts.role !== undefined && opts.account === undefined)
    throw new CliError('--role goes with --account (the spoke account whose role to assume)');
  if (opts.images === undefined && opts.repository !== undefined) {
    // Live: read the repository with your credentials (or AWS_ENDPOINT_URL), exactly as the function would.
    // Its modules (the SDK clients, the cleanup worker, the config) are loaded only here: an offline plan
    // needs none of them, and loading them was a fifth of a small plan's time.
    const [{ loadConfig }, { liveCleanup }] = await Promise.all([import('../aws.js'), import('../live.js')]);
    const config =
      opts.account === undefined
        ? loadConfig(opts.config)
        : await inSpoke(loadConfig(opts.config), opts.account, opts.role);
    const { report } = await liveCleanup(config, opts.repository, {
      mode: 'dry-run',
      readOnly: true,
    });
    if (!report.plan)
      throw new CliError(`${opts.repository}: ${report.outcome}: ${report.message ?? ''}`, EXIT.findings);
    await print(report.plan, opts.format);
    return;
  }
  if (opts.policy === undefined || opts.images === undefined) {
    throw new CliError('plan needs --policy and --images (offline), or --repository (live, with --config)');
  }
  // One file at a time, in option order: with several bad files the error reported is always the same one.
  const policy = await loadPolicyFile(opts.policy);
  const loaded = await loadImagesFile(opts.images);
  const indexChildren = opts.manifests === undefined ? undefined : await loadManifestsFile(opts.manifests);
  const steward = opts.steward === undefined ? undefined : await loadStewardFile(opts.steward);
  const inUse = opts.inUse === undefined ? undefined : await loadInUseFile(opts.inUse);
  const repository = opts.repository ?? loaded.repository;
  const plan = planRepository({
    repository,
    policy,
    images: loaded.images,
    now,
    indexChildren,
    steward,
    inUse,
  });
  // Worded as the worker's warning for the same listing, so a file and a live read say the same thing.
  const merged = loaded.merged.length
    ? [
        `DescribeImages listed ${loaded.merged.length} digest(s) of ${repository} more than once; merged: ${loaded.merged.slice(0, 5).join(', ')}`,
      ]
    : [];
  await print({ ...plan, warnings: [...plan.warnings, ...merged] }, opts.format);
}

/**
 * Acts in a spoke for a live plan: assumes the role there (unless the caller is in that account already) and
 * narrows the config to the selections that apply in that account and region, as its spoke stack does.
 */
async function inSpoke(config: StewardConfig, accountValue: string, role: string | undefined) {
  const [{ resolveRegion }, { accountOption, actInAccount }, { configForEnvironment, NoSelectionError }] =
    await Promise.all([
      import('../aws.js'),
      import('../org.js'),
      import('../../functions/shared/config/organization.js'),
    ]);
  const account = accountOption(accountValue, '--account');
  const region = await resolveRegion();
  await actInAccount(account, role ?? config.organization?.roleName ?? 'EcrStewardReadOnly', region);
  if (!config.organization) return config;
  try {
    return configForEnvironment(config, { account, region });
  } catch (e) {
    if (e instanceof NoSelectionError) throw new CliError(e.message);
    throw e;
  }
}

/**
 * Writes the plan: JSON streamed a slice of decisions at a time (a 100,000-image plan is 43 MB of it), or the
 * table, whose renderer (and cli-table3) is loaded only when a table is asked for.
 */
async function print(plan: Plan, format: 'table' | 'json'): Promise<void> {
  if (format === 'json') {
    await writeJson(plan, process.stdout);
  } else {
    const { renderPlanTable } = await import('../plan-table.js');
    const width = process.stdout.isTTY ? Math.max(100, process.stdout.columns) : PIPE_WIDTH;
    process.stdout.write(renderPlanTable(plan, { width }));
  }
}
