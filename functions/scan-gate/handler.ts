/**
 * Scan gate function: EventBridge invokes it (asynchronously) for `ECR Image Scan`, `Inspector2 Scan` and
 * `Inspector2 Finding`. It judges the image and records the verdict. Failures are rethrown so Lambda retries
 * and, after that, the event lands in the dead-letter queue.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { CallCounter, EcrRegistry, EcrScanReader } from '../shared/adapters/ecr.js';
import { collectInUse, inUseSourcesFor } from '../shared/adapters/in-use.js';
import { AuditStore, documentClient } from '../shared/audit/store.js';
import { CLIENT_DEFAULTS } from '../shared/runtime/clients.js';
import { bundledConfig } from '../shared/runtime/config.js';
import { ENV, EVENTS } from '../shared/runtime/constants.js';
import { requireEnv } from '../shared/runtime/env.js';
import { BreakerStore } from '../shared/state/breaker.js';
import { type GateOutcome, type GatePorts, judgeImage } from './core.js';
import { scanGateEventSchema, scannedImageOf } from './schema.js';
import { VerdictStore } from './verdicts.js';

const logger = new Logger({ serviceName: 'ecr-steward-scan-gate' });
const metrics = new Metrics({ namespace: 'EcrSteward', serviceName: 'scan-gate' });

let clients:
  | {
      ecr: ECRClient;
      ecs: ECSClient;
      lambda: LambdaClient;
      sns: SNSClient;
      doc: ReturnType<typeof documentClient>;
    }
  | undefined;
function sdk() {
  clients ??= {
    ecr: new ECRClient(CLIENT_DEFAULTS),
    ecs: new ECSClient(CLIENT_DEFAULTS),
    lambda: new LambdaClient(CLIENT_DEFAULTS),
    sns: new SNSClient(CLIENT_DEFAULTS),
    doc: documentClient(),
  };
  return clients;
}

/** Builds the gate's ports from the environment; exported for the CLI and the local cloud. */
export function gatePorts(config = bundledConfig()): GatePorts {
  const { ecr, ecs, lambda, sns, doc } = sdk();
  const calls = new CallCounter();
  const scans = new EcrScanReader(ecr, calls);
  const registry = new EcrRegistry(ecr, calls);
  const sources = inUseSourcesFor(config.inUse, { ecs: () => ecs, lambda: () => lambda }, calls);
  return {
    scans: {
      scanFindings: (r, d) => scans.scanFindings(r, d) as never,
      image: (r, d) => scans.image(r, d),
      addTag: (r, d, t) => scans.addTag(r, d, t),
      removeTag: (r, t) => scans.removeTag(r, t),
    },
    repository: async (name) => {
      const info = await registry.describeRepository(name);
      if (!info) return undefined;
      const needsTags = config.gate.selections.some((s) => s.repositoryTags !== undefined);
      return {
        tagMutability: info.tagMutability,
        tags: needsTags ? await registry.repositoryTags(info.arn) : undefined,
      };
    },
    verdicts: new VerdictStore(doc, requireEnv(ENV.verdictTable)),
    notify: async (subject, message) => {
      await sns.send(
        new PublishCommand({ TopicArn: requireEnv(ENV.securityTopic), Subject: subject, Message: message }),
      );
    },
    inUse: () => collectInUse(sources),
    deletes: {
      registry,
      audit: new AuditStore(doc, requireEnv(ENV.auditTable), { ttlDays: config.audit.retentionDays }),
      breaker: new BreakerStore(doc, requireEnv(ENV.stateTable)),
    },
  };
}

export async function handler(event: unknown): Promise<GateOutcome | { ignored: string }> {
  const config = bundledConfig();
  const parsed = scanGateEventSchema.safeParse(event);
  if (!parsed.success) {
    // Not malformed, just not ours: retrying it would only dead-letter it and raise the queue's alarm.
    if (isNonEcrInspectorScan(event))
      return { ignored: 'an Inspector2 Scan of a resource that is not an ECR image' };
    throw new Error(
      `malformed scan event: ${parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ')}`,
    );
  }
  if (!config.gate.enabled) return { ignored: 'the scan gate is disabled in the config' };
  const image = scannedImageOf(parsed.data);
  if ('error' in image) throw new Error(image.error);
  const outcome = await judgeImage(config.gate, image, parsed.data.id, new Date(), gatePorts(config));
  logger.info('scan gate verdict', { ...outcome });
  metrics.addMetric(`Verdict${outcome.verdict}`, MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
  return outcome;
}

/**
 * Inspector also sends `Inspector2 Scan` for EC2 instances and Lambda functions (its published samples), and the
 * Inspector2 Scan rule matches them all: such an event names no repository and no image.
 */
function isNonEcrInspectorScan(event: unknown): boolean {
  const e = event as { source?: unknown; 'detail-type'?: unknown; detail?: unknown } | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    e.source === EVENTS.inspectorSource &&
    e['detail-type'] === EVENTS.inspectorScan &&
    typeof e.detail === 'object' &&
    e.detail !== null &&
    !('repository-name' in e.detail) &&
    !('image-digest' in e.detail)
  );
}
