import { createInterface } from 'node:readline/promises';
import { SingleBar } from 'cli-progress';
import { type LiveOptions, loadConfig } from '../aws.js';
import { liveCleanup } from '../live.js';
import { renderPlanTable } from '../plan-table.js';
import { CliError, EXIT, ExitWith } from '../util.js';

export interface RunOptions extends LiveOptions {
  readonly repository: string;
  readonly holdsTable?: string;
  readonly enforce?: boolean;
  readonly yes?: boolean;
}

/**
 * What `ecr-steward run` does. Its options and help are in cli/register/run.ts, which loads this module
 * only when the command runs.
 */
export async function runCommand(opts: RunOptions) {
  const config = loadConfig(opts.config);
  const mode = opts.enforce ? 'enforce' : config.mode;
  const preview = await liveCleanup(config, opts.repository, {
    ...opts,
    mode: 'dry-run',
    readOnly: true,
  });
  if (preview.report.outcome !== 'done' || !preview.report.plan) {
    throw new CliError(
      `${opts.repository}: ${preview.report.outcome}: ${preview.report.message ?? ''}`,
      EXIT.findings,
    );
  }
  const planned = preview.report.plan.summary.expire - preview.report.deferred;
  const archiving = preview.report.plan.summary.transition;
  process.stdout.write(
    renderPlanTable(preview.report.plan, { width: process.stdout.isTTY ? process.stdout.columns : 160 }),
  );
  if (mode === 'dry-run') {
    process.stdout.write(
      `dry-run: nothing deleted. Add --enforce to delete ${planned} image(s)${archiving > 0 ? ` and archive ${archiving}` : ''}.\n`,
    );
    return;
  }
  // A plan that only archives still runs: transition rules act through the same run as expirations.
  if (planned === 0 && archiving === 0) {
    process.stdout.write('nothing to delete or archive\n');
    return;
  }
  if (!opts.yes) {
    if (!process.stdin.isTTY)
      throw new CliError('refusing to delete without confirmation: run in a terminal or pass --yes');
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    const answer = await rl.question(
      `${planned > 0 ? `Delete ${planned} image(s)` : ''}${planned > 0 && archiving > 0 ? ' and a' : archiving > 0 ? 'A' : ''}${archiving > 0 ? `rchive ${archiving} image(s)` : ''} in ${opts.repository}? Type the repository name to confirm: `,
    );
    rl.close();
    if (answer.trim() !== opts.repository) {
      process.stdout.write('not confirmed: nothing deleted\n');
      throw new ExitWith(EXIT.findings);
    }
  }
  const bar = new SingleBar(
    { format: 'deleting [{bar}] {value}/{total} images', hideCursor: true, noTTYOutput: false },
    undefined,
  );
  if (process.stdout.isTTY) bar.start(planned, 0);
  let done = 0;
  const { report, calls } = await liveCleanup(config, opts.repository, {
    ...opts,
    mode: 'enforce',
    readOnly: false,
    onDeleteBatch: (n) => {
      done += n;
      if (process.stdout.isTTY) bar.update(done);
    },
  });
  if (process.stdout.isTTY) bar.stop();
  process.stdout.write(
    `${report.outcome}: expired ${report.expired}, archived ${report.transitioned}, deferred ${report.deferred}, failures ${report.failures.length}; ${calls.total} API calls${report.message ? `\n${report.message}` : ''}\n`,
  );
  if (report.outcome !== 'done' || report.failures.length > 0) throw new ExitWith(EXIT.findings);
}
