import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SingleBar } from 'cli-progress';
import { readRegistryReport } from '../../functions/shared/adapters/report-reader.js';
import { type ReportFormat, renderReport } from '../../functions/shared/report/index.js';
import { ENV } from '../../functions/shared/runtime/constants.js';
import { StewardPorts } from '../../functions/shared/runtime/ports.js';
import { dynamo, type LiveOptions, loadConfig, region, registryId, sinceToIso } from '../aws.js';
import { REPORT_MAX_CONCURRENCY as MAX_CONCURRENCY } from '../limits.js';
import { CliError, parseIsoTime } from '../util.js';

export interface ReportOptions extends LiveOptions {
  readonly all?: boolean;
  readonly format: ReportFormat;
  readonly out?: string;
  readonly since: string;
  readonly now?: string;
  readonly concurrency: string;
  readonly progress?: boolean;
}

/**
 * What `ecr-steward report` does. Its options and help are in cli/register/report.ts, which loads this module
 * only when the command runs.
 */
export async function reportCommand(opts: ReportOptions) {
  const now = opts.now === undefined ? new Date() : parseIsoTime(opts.now, '--now');
  const since = new Date(sinceToIso(opts.since, now));
  if (since.getTime() > now.getTime()) throw new CliError(`--since ${opts.since}: after --now`);
  const concurrency = Number(opts.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY)
    throw new CliError(`--concurrency ${opts.concurrency}: a whole number from 1 to ${MAX_CONCURRENCY}`);
  const config = loadConfig(opts.config);
  const auditTable = opts.auditTable ?? process.env[ENV.auditTable];
  const verdictTable = opts.verdictTable ?? process.env[ENV.verdictTable];
  const ports = new StewardPorts(config, {
    tables: { audit: auditTable, verdict: verdictTable },
    clients: { doc: dynamo() },
  });
  const account = await registryId(opts);
  const bar = progressBar(opts.progress === true);
  let report: Awaited<ReturnType<typeof readRegistryReport>>;
  try {
    report = await readRegistryReport(ports, {
      registryId: account,
      region: region(),
      now,
      since,
      all: opts.all === true,
      concurrency,
      verdicts: verdictTable ? true : `no verdict table: pass --verdict-table or set ${ENV.verdictTable}`,
      audit: auditTable ? true : `no audit table: pass --audit-table or set ${ENV.auditTable}`,
      onProgress: bar
        ? (done, total) => {
            if (done === 0) bar.start(total, 0);
            else bar.update(done);
          }
        : undefined,
    });
  } finally {
    bar?.stop();
  }
  const text = renderReport(report, opts.format);
  if (opts.out === undefined) {
    process.stdout.write(text);
    return;
  }
  try {
    await mkdir(dirname(opts.out), { recursive: true });
    await writeFile(opts.out, text);
  } catch (e) {
    throw new CliError(`--out ${opts.out}: cannot write the file: ${(e as Error).message}`);
  }
  process.stderr.write(
    `report written to ${opts.out} (${report.totals.repositories} repositories, ${report.totals.images} images, ${ports.calls.total} calls)\n`,
  );
}

/** The bar on stderr: when stderr is a terminal, or when asked (`--progress`, e.g. a CI log). */
function progressBar(forced: boolean): SingleBar | undefined {
  if (!forced && !process.stderr.isTTY) return undefined;
  return new SingleBar({
    format: 'reading [{bar}] {value}/{total} repositories',
    stream: process.stderr,
    hideCursor: true,
    noTTYOutput: forced,
    clearOnComplete: false,
  });
}
