import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import {
  type CleanupPorts,
  type CleanupReport,
  cleanupRepository,
  type RegistryPort,
} from '../functions/cleanup/core.js';
import { CallCounter, EcrRegistry } from '../functions/shared/adapters/ecr.js';
import { collectInUse, inUseSourcesFor, staticReferences } from '../functions/shared/adapters/in-use.js';
import type { DeleteSignal } from '../functions/shared/audit/records.js';
import { AuditStore } from '../functions/shared/audit/store.js';
import type { StewardConfig } from '../functions/shared/config/schema.js';
import { CLIENT_DEFAULTS } from '../functions/shared/runtime/clients.js';
import { BreakerStore } from '../functions/shared/state/breaker.js';
import { auditTableName, dynamo, type LiveOptions, region, registryId, stateTableName } from './aws.js';

/**
 * The cleanup run from the CLI: the same core, adapters and engine as the function. A read-only run (plan)
 * records nothing; an enforcing run writes the same audit records and respects the same breaker.
 */
export async function liveCleanup(
  config: StewardConfig,
  repository: string,
  opts: LiveOptions & { mode: 'dry-run' | 'enforce'; readOnly: boolean; onDeleteBatch?: (n: number) => void },
): Promise<{ report: CleanupReport; calls: CallCounter }> {
  const calls = new CallCounter();
  const ecr = new EcrRegistry(new ECRClient(CLIENT_DEFAULTS), calls);
  const account = await registryId(opts);
  const sources = inUseSourcesFor(
    config.inUse,
    { ecs: () => new ECSClient(CLIENT_DEFAULTS), lambda: () => new LambdaClient(CLIENT_DEFAULTS) },
    calls,
  );
  const registry: RegistryPort = {
    describeRepository: (n) => ecr.describeRepository(n),
    repositoryTags: (a) => ecr.repositoryTags(a),
    listImages: (r) => ecr.listImages(r),
    indexChildren: (r, d) => ecr.indexChildren(r, d),
    lifecyclePolicyText: (r) => ecr.lifecyclePolicyText(r),
    deleteImages: async (r, d) => {
      const out = await ecr.deleteImages(r, d);
      opts.onDeleteBatch?.(d.length);
      return out;
    },
    archiveImages: (r, d) => ecr.archiveImages(r, d),
  };
  const ports: CleanupPorts = opts.readOnly
    ? {
        registry,
        // A read-only plan writes nothing: PLANNED records are the function's, not a person's preview.
        audit: { record: async (_s: DeleteSignal) => undefined },
        breaker: { firstOpen: async () => undefined },
        inUse: async () => [
          ...(await collectInUse(sources)),
          ...staticReferences(config.inUse.static, account, region()),
        ],
      }
    : {
        registry,
        audit: new AuditStore(dynamo(), auditTableName(opts), {
          ttlDays: config.audit.retentionDays,
          plannedTtlDays: config.audit.plannedRetentionDays,
        }),
        breaker: new BreakerStore(dynamo(), stateTableName(opts)),
        inUse: async () => [
          ...(await collectInUse(sources)),
          ...staticReferences(config.inUse.static, account, region()),
        ],
      };
  const now = new Date();
  const report = await cleanupRepository(
    config,
    {
      repository,
      region: region(),
      runId: `cli-${now.toISOString().replace(/[-:.]/g, '').slice(0, 15)}`,
      now,
      trigger: 'cli',
      budget: { remaining: config.bounds.maxDeletesPerRun },
      mode: opts.mode,
    },
    ports,
  );
  return { report, calls };
}
