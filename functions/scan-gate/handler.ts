/**
 * Scan gate function: EventBridge invokes it (asynchronously) for `ECR Image Scan`, `Inspector2 Scan` and
 * `Inspector2 Finding`. It judges the image and records the verdict. EventBridge Scheduler invokes it with
 * `{"kind":"quarantine-expiry"}` (when the config gives quarantines an expiry) to remove the images whose
 * quarantine has expired. Failures are rethrown so Lambda retries and, after that, the event lands in the
 * dead-letter queue.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  readSignatureArtifacts,
  subjectOfCosignTag,
  subjectOfReferrer,
} from '../shared/adapters/signatures.js';
import { needsRepositoryTags, selectionFor } from '../shared/config/load.js';
import { effectiveGovernance } from '../shared/config/schema.js';
import { noticeMessage, selectionLabel } from '../shared/governance/notice.js';
import { toHold } from '../shared/holds/store.js';
import { CLIENT_DEFAULTS } from '../shared/runtime/clients.js';
import { bundledConfig } from '../shared/runtime/config.js';
import { ENV, EVENTS } from '../shared/runtime/constants.js';
import { requireEnv } from '../shared/runtime/env.js';
import { StewardPorts, sharedClients, tablesFromEnv } from '../shared/runtime/ports.js';
import {
  type ExpiryPorts,
  type ExpiryReport,
  expireQuarantined,
  type GateOutcome,
  judgeImage,
} from './core.js';
import {
  quarantineExpiryMessageSchema,
  type SignatureArrival,
  scanGateEventSchema,
  scannedImageOf,
  signatureArrivalSchema,
} from './schema.js';

const logger = new Logger({ serviceName: 'ecr-steward-scan-gate' });
const metrics = new Metrics({ namespace: 'EcrSteward', serviceName: 'scan-gate' });

let snsClient: SNSClient | undefined;
const sns = () => (snsClient ??= new SNSClient(CLIENT_DEFAULTS));

/**
 * How many quarantined images one expiry run judges (each costs a few ECR and DynamoDB calls); more wait for
 * the next scheduled run, oldest quarantine first.
 */
export const EXPIRY_BATCH = 100;

/**
 * Builds the gate's ports from the environment, for one invocation (in-use references are read at most once
 * per invocation); exported for the CLI and the local cloud.
 */
export function gatePorts(config = bundledConfig()): ExpiryPorts {
  const ports = new StewardPorts(config, { tables: tablesFromEnv() });
  const { scans, registry, verdicts, audit, breaker } = ports;
  // Tags choose the gate policy, and the cleanup selection that decides whether the gate may write at all.
  const needsTags = needsRepositoryTags(config) || config.gate.selections.some((s) => s.repositoryTags);
  return {
    scans: {
      scanFindings: (r, d) => scans.scanFindings(r, d) as never,
      image: (r, d) => scans.image(r, d),
      // The registry's read of manifests (the write-ahead's), for one image.
      manifest: async (r, d) => (await registry.manifests(r, [d])).get(d)?.body,
      addTag: (r, d, t) => scans.addTag(r, d, t),
      removeTag: (r, t) => scans.removeTag(r, t),
    },
    repository: async (name) => {
      const info = await registry.describeRepository(name);
      if (!info) return undefined;
      return {
        tagMutability: info.tagMutability,
        tags: needsTags ? await registry.repositoryTags(info.arn) : undefined,
      };
    },
    verdicts,
    quarantine: verdicts,
    notify: async (subject, message) => {
      await sns().send(
        new PublishCommand({ TopicArn: requireEnv(ENV.securityTopic), Subject: subject, Message: message }),
      );
    },
    inUse: (ref) => ports.inUse(ref.registryId, ref.region),
    deletes: { registry, audit, breaker, approvals: ports.approvals },
    selection: (repository, repositoryTags) => selectionFor(config, repository, repositoryTags),
    holds: ports.holds ? async (ref) => (await ports.holds!.forRepository(ref)).map(toHold) : undefined,
    governance: (selection) => effectiveGovernance(config.governance, selection),
    openRecord: async (ref) => {
      const record = await audit.get(ref);
      // Open: a notice (also one whose deletion failed, which keeps its due time) or an archive.
      return record && (record.dueAt !== undefined || record.status === 'ARCHIVED') ? record : undefined;
    },
    notifyScheduled: async ({ image, dueAt, why, runId, governance }) => {
      const selection = selectionFor(config, image.repository);
      await ports.publishNotice(
        noticeMessage({
          registryId: image.registryId,
          region: image.region,
          repository: image.repository,
          ...(selection
            ? { selection: selectionLabel(selection, config.selections.indexOf(selection)) }
            : {}),
          dueAt,
          runId,
          images: [{ digest: image.digest, tags: image.tags, sizeBytes: 0, reason: why }],
          softDelete: governance.softDelete.mode,
          purgeAfterDays: governance.softDelete.purgeAfterDays,
        }),
      );
    },
    signatures: (repository, digest) =>
      readSignatureArtifacts(ports.ecrClient, repository, digest, {
        calls: ports.calls,
        onWarning: (message) => logger.warn('signature read', { repository, digest, detail: message }),
      }),
    deletedAt: async (ref) => {
      const record = await audit.get(ref);
      return record?.status === 'DELETED' ? record.at : undefined;
    },
  };
}

export async function handler(event: unknown): Promise<GateOutcome | ExpiryReport | { ignored: string }> {
  const config = bundledConfig();
  if (quarantineExpiryMessageSchema.safeParse(event).success) return expiry(config);
  const arrival = signatureArrivalSchema.safeParse(event);
  if (arrival.success) return signatureArrived(config, arrival.data);
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
  const outcome = await judgeImage(config.gate, image, parsed.data.id, new Date(), gatePorts(config), {
    mode: config.mode,
    allowance: config.bounds.maxDeletesPerRepository,
  });
  logger.info('scan gate verdict', { ...outcome });
  metrics.addMetric(`Verdict${outcome.verdict}`, MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
  return outcome;
}

/**
 * A signature arrived: its subject is judged again (a PENDING "no signature yet" becomes PASS, or FAIL for a bad
 * one). The subject of a referrer is read from DescribeImages; a cosign tag names it.
 */
async function signatureArrived(
  config: ReturnType<typeof bundledConfig>,
  event: SignatureArrival,
): Promise<GateOutcome | { ignored: string }> {
  if (!config.gate.enabled) return { ignored: 'the scan gate is disabled in the config' };
  const d = event.detail;
  // A referrer's DELETE names no subject any more (it is gone): only a cosign tag's DELETE can be traced.
  if (d['action-type'] === 'DELETE' && event['detail-type'] === EVENTS.referrerAction)
    return { ignored: 'a deleted referrer: its subject can no longer be read' };
  const subject =
    event['detail-type'] === EVENTS.referrerAction
      ? await subjectOfReferrer(sharedClients().ecr, d['repository-name'], d['image-digest'], {
          registryId: event.account,
        })
      : subjectOfCosignTag(d['image-tag'] ?? '');
  if (!subject) return { ignored: 'not a signature of an image in this repository (no subject, or gone)' };
  const outcome = await judgeImage(
    config.gate,
    {
      registryId: event.account,
      region: event.region,
      repository: d['repository-name'],
      digest: subject,
      tags: [],
      trigger: 'signature',
    },
    event.id,
    new Date(),
    gatePorts(config),
    { mode: config.mode, allowance: config.bounds.maxDeletesPerRepository },
  );
  logger.info('scan gate verdict', { ...outcome });
  metrics.addMetric(`Verdict${outcome.verdict}`, MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
  return outcome;
}

/** The scheduled quarantine expiry; throws after the run when an image could not be judged, so it is retried. */
async function expiry(config: ReturnType<typeof bundledConfig>): Promise<ExpiryReport> {
  const now = new Date();
  const runId = `expiry-${now.toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomUUID().slice(0, 8)}`;
  const report = await expireQuarantined(
    config.gate,
    {
      runId,
      mode: config.mode,
      limit: Math.min(EXPIRY_BATCH, config.bounds.maxDeletesPerRun),
      bounds: config.bounds,
    },
    now,
    gatePorts(config),
  );
  logger.info('quarantine expiry', { ...report });
  metrics.addMetric('QuarantineExpiryRemoved', MetricUnit.Count, report.removed);
  metrics.addMetric('QuarantineExpiryKept', MetricUnit.Count, report.kept.length);
  metrics.publishStoredMetrics();
  if (report.failures.length > 0)
    throw new Error(
      `quarantine expiry could not judge ${report.failures.length} image(s): ${report.failures
        .slice(0, 3)
        .map((f) => `${f.repository}@${f.digest}: ${f.error}`)
        .join('; ')}`,
    );
  return report;
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
