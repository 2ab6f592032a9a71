import { createInterface } from 'node:readline/promises';
import { SingleBar } from 'cli-progress';
import type { CleanupReport } from '../../functions/cleanup/core.js';
import { mapLimit } from '../../functions/shared/runtime/concurrency.js';
import { type LiveOptions, loadConfig } from '../aws.js';
import { RUN_MAX_CONCURRENCY } from '../limits.js';
import { LiveSession } from '../live.js';
import { renderPlanTable } from '../plan-table.js';
import { CliError, EXIT, ExitWith } from '../util.js';

export interface RunOptions extends LiveOptions {
  /** Repeatable: every name given. */
  readonly repository?: readonly string[] | undefined;
  readonly all?: boolean;
  readonly concurrency: string;
  readonly holdsTable?: string;
  readonly enforce?: boolean;
  readonly yes?: boolean;
}

/** What a repository's preview plans to remove (deletions the bounds leave for later not counted). */
const deletions = (r: CleanupReport) => (r.plan ? r.plan.summary.expire - r.deferred : 0);
const archives = (r: CleanupReport) => r.plan?.summary.transition ?? 0;

/**
 * The run's bound (`bounds.maxDeletesPerRun`) shared out in repository order over what each preview plans (each
 * already within `maxDeletesPerRepository`): a repository's run may remove at most its share, so repositories
 * cleaned at once never remove more than the run may. Pure.
 */
export function shareBudget(needs: readonly number[], maxDeletesPerRun: number): number[] {
  let left = maxDeletesPerRun;
  return needs.map((need) => {
    const share = Math.min(need, left);
    left -= share;
    return share;
  });
}

/**
 * What `ecr-steward run` does. Its options and help are in cli/register/run.ts, which loads this module
 * only when the command runs.
 *
 * One process for every repository: the in-use snapshot is taken once, before the previews, and shared by
 * every repository's preview and run while it is recent; each run lists its repository again and plans on it as
 * it is (see LiveSession).
 */
export async function runCommand(opts: RunOptions) {
  const names = [...new Set(opts.repository ?? [])];
  if (opts.all && names.length > 0) throw new CliError('run takes --repository or --all, not both');
  if (!opts.all && names.length === 0)
    throw new CliError('run needs --repository <name> (repeatable) or --all');
  const concurrency = Number(opts.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > RUN_MAX_CONCURRENCY)
    throw new CliError(`--concurrency ${opts.concurrency}: a whole number from 1 to ${RUN_MAX_CONCURRENCY}`);
  // A run that deletes does so by a config someone named: never by the example a checkout happens to hold.
  const named = opts.config !== undefined || Boolean(process.env.ECR_STEWARD_CONFIG);
  const unnamed = () =>
    new CliError(
      'run deletes only by a config you name: pass --config FILE (the config your stack was deployed with) or set ECR_STEWARD_CONFIG; without one, run previews by the example config (examples/steward.config.jsonc) and deletes nothing',
    );
  if (opts.enforce && !named) throw unnamed();
  const config = loadConfig(opts.config);
  const mode = opts.enforce ? 'enforce' : config.mode;
  if (mode === 'enforce' && !named) throw unnamed();
  const session = await LiveSession.open(config, opts);
  session.snapshotInUse();
  const repositories = opts.all ? await session.managedRepositories(concurrency) : names;
  if (repositories.length === 0) {
    process.stdout.write('no repository of the registry is managed by the config: nothing to do\n');
    return;
  }
  const single = repositories.length === 1 && !opts.all;
  const { maxDeletesPerRun } = config.bounds;

  // Each preview within the repository's bound; the run's bound is shared out over the previews below.
  const previews = await mapLimit(repositories, concurrency, async (repository) => {
    const budget = { remaining: maxDeletesPerRun };
    return (await session.cleanup(repository, { mode: 'dry-run', readOnly: true, budget })).report;
  });
  const width = process.stdout.isTTY ? process.stdout.columns : 160;
  const ready: CleanupReport[] = [];
  const notReady: CleanupReport[] = [];
  for (const preview of previews) {
    if (preview.outcome !== 'done' || !preview.plan) {
      // One repository: its failure is the command's (as it always was).
      if (single)
        throw new CliError(
          `${preview.repository}: ${preview.outcome}: ${preview.message ?? ''}`,
          EXIT.findings,
        );
      notReady.push(preview);
      continue;
    }
    ready.push(preview);
    process.stdout.write(renderPlanTable(preview.plan, { width }));
  }
  for (const r of notReady) process.stdout.write(`${r.repository}: ${r.outcome}: ${r.message ?? ''}\n`);
  const shares = new Map(
    shareBudget(
      ready.map((r) => deletions(r) + archives(r)),
      maxDeletesPerRun,
    ).map((share, i) => [ready[i]!, share] as const),
  );
  for (const r of ready)
    if (shares.get(r)! < deletions(r) + archives(r))
      process.stdout.write(
        `${r.repository}: ${deletions(r) + archives(r) - shares.get(r)!} planned removal(s) exceed bounds.maxDeletesPerRun (${maxDeletesPerRun}) and wait for the next run\n`,
      );
  const planned = ready.reduce((n, r) => n + Math.min(deletions(r), shares.get(r)!), 0);
  const archiving = ready.reduce((n, r) => n + shares.get(r)! - Math.min(deletions(r), shares.get(r)!), 0);
  const where = single ? '' : ` in ${ready.length} repositor${ready.length === 1 ? 'y' : 'ies'}`;
  const failedAny = () => {
    if (notReady.length > 0) throw new ExitWith(EXIT.findings);
  };

  if (mode === 'dry-run') {
    process.stdout.write(
      `dry-run: nothing deleted. Add --enforce to delete ${planned} image(s)${archiving > 0 ? ` and archive ${archiving}` : ''}${where}.\n`,
    );
    return failedAny();
  }
  // A plan that only archives still runs: transition rules act through the same run as expirations.
  const acting = ready.filter((r) => shares.get(r)! > 0);
  if (acting.length === 0) {
    process.stdout.write('nothing to delete or archive\n');
    return failedAny();
  }
  if (!opts.yes) {
    if (!process.stdin.isTTY)
      throw new CliError('refusing to delete without confirmation: run in a terminal or pass --yes');
    const what = `${planned > 0 ? `Delete ${planned} image(s)` : ''}${planned > 0 && archiving > 0 ? ' and a' : archiving > 0 ? 'A' : ''}${archiving > 0 ? `rchive ${archiving} image(s)` : ''}`;
    // One repository: its name, as always. Several: the number of images, so the size of what goes is read.
    const expected = single ? repositories[0]! : String(planned + archiving);
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    const answer = await rl.question(
      single
        ? `${what} in ${expected}? Type the repository name to confirm: `
        : `${what} in ${acting.length} repositories? Type ${expected} (the number of images) to confirm: `,
    );
    rl.close();
    if (answer.trim() !== expected) {
      process.stdout.write('not confirmed: nothing deleted\n');
      throw new ExitWith(EXIT.findings);
    }
    // The prompt may have stayed open for minutes: what runs now is read again, once for the whole run.
    session.refreshInUse();
  }

  const bar = new SingleBar(
    { format: 'deleting [{bar}] {value}/{total} images', hideCursor: true, noTTYOutput: false },
    undefined,
  );
  if (process.stdout.isTTY) bar.start(planned, 0);
  let done = 0;
  // Each run removes at most what its preview showed (its share): past the reuse window the run plans afresh,
  // and what it finds beyond the confirmed plan waits for the next run.
  const reports = await mapLimit(acting, concurrency, async (preview) => {
    const { report } = await session.cleanup(preview.repository, {
      mode: 'enforce',
      readOnly: false,
      budget: { remaining: shares.get(preview)! },
      onDeleteBatch: (n) => {
        done += n;
        if (process.stdout.isTTY) bar.update(done);
      },
    });
    return report;
  });
  if (process.stdout.isTTY) bar.stop();
  const line = (r: CleanupReport) =>
    `${r.outcome}: expired ${r.expired}, archived ${r.transitioned}, deferred ${r.deferred}, failures ${r.failures.length}`;
  const details = (r: CleanupReport) =>
    `${r.message ? `\n${r.message}` : ''}${r.warnings.map((w) => `\nwarning: ${w}`).join('')}`;
  if (single) {
    const report = reports[0]!;
    process.stdout.write(`${line(report)}; ${session.calls.total} API calls${details(report)}\n`);
  } else {
    for (const r of reports) process.stdout.write(`${r.repository}: ${line(r)}${details(r)}\n`);
    for (const r of ready)
      if (deletions(r) + archives(r) === 0)
        process.stdout.write(`${r.repository}: nothing to delete or archive\n`);
    const sum = (f: (r: CleanupReport) => number) => reports.reduce((n, r) => n + f(r), 0);
    const failed = reports.filter((r) => r.outcome !== 'done').length + notReady.length;
    process.stdout.write(
      `total: ${repositories.length} repositories (${failed} not done): expired ${sum((r) => r.expired)}, archived ${sum((r) => r.transitioned)}, deferred ${sum((r) => r.deferred)}, failures ${sum((r) => r.failures.length)}; ${session.calls.total} API calls\n`,
    );
  }
  if (notReady.length > 0 || reports.some((r) => r.outcome !== 'done' || r.failures.length > 0))
    throw new ExitWith(EXIT.findings);
}
