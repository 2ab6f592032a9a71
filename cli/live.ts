import { type CleanupReport, cleanupRepository } from '../functions/cleanup/core.js';
import { cleanupPorts } from '../functions/cleanup/run.js';
import type { CallCounter } from '../functions/shared/adapters/ecr.js';
import type { StewardConfig } from '../functions/shared/config/schema.js';
import { ENV } from '../functions/shared/runtime/constants.js';
import { StewardPorts } from '../functions/shared/runtime/ports.js';
import {
  auditTableName,
  dynamo,
  type LiveOptions,
  region,
  registryId,
  stateTableName,
  tableName,
} from './aws.js';

/**
 * The cleanup run from the CLI: the same core, adapters, engine and wiring as the worker (cleanupPorts). A
 * read-only run (the preview) records nothing; an enforcing run writes the same audit records, reconciles the
 * repository as the worker does (settling PENDING records a crash left, recording digests that vanished) and
 * respects the same breaker.
 */
export async function liveCleanup(
  config: StewardConfig,
  repository: string,
  opts: LiveOptions & {
    mode: 'dry-run' | 'enforce';
    readOnly: boolean;
    holdsTable?: string;
    onDeleteBatch?: (n: number) => void;
  },
): Promise<{ report: CleanupReport; calls: CallCounter }> {
  const ports = new StewardPorts(config, {
    // Table names are asked for only when a store is used: a read-only preview needs none.
    tables: {
      get audit() {
        return auditTableName(opts);
      },
      get state() {
        return stateTableName(opts);
      },
      // An enforcing run reads the holds placed from the CLI like the worker; without the table it refuses to
      // run rather than delete what a hold would keep.
      get holds() {
        return opts.readOnly ? undefined : tableName(opts.holdsTable, ENV.holdsTable, '--holds-table');
      },
      get noticesTopic() {
        return process.env[ENV.noticesTopic];
      },
      // Approvals: a run from a laptop honours requests and opens them like the worker (the stack outputs both).
      get requests() {
        return opts.readOnly ? undefined : process.env[ENV.requestsTable];
      },
      get approvalsTopic() {
        return process.env[ENV.approvalsTopic];
      },
    },
    clients: { doc: dynamo() },
  });
  // The account first: it settles the region (the profile's, when AWS_REGION is not set) that keys use.
  const accountId = await registryId(opts);
  const now = new Date();
  const runId = `cli-${now.toISOString().replace(/[-:.]/g, '').slice(0, 15)}`;
  const report = await cleanupRepository(
    config,
    {
      repository,
      region: region(),
      runId,
      now,
      trigger: 'cli',
      budget: { remaining: config.bounds.maxDeletesPerRun },
      mode: opts.mode,
    },
    cleanupPorts(ports, {
      accountId,
      region: region(),
      runId,
      now,
      readOnly: opts.readOnly,
      onDeleteBatch: opts.onDeleteBatch,
    }),
  );
  return { report, calls: ports.calls };
}
