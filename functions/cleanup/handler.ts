/**
 * Cleanup function handlers. `worker` consumes the FIFO cleanup queue (push events and sweep messages);
 * `sweep` is started by EventBridge Scheduler and fans out one message per managed repository.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  GetResourcesCommand,
  ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { CallCounter, RepositoryInfo } from '../shared/adapters/ecr.js';
import { requestView, stateAt } from '../shared/approvals/decide.js';
import { expireRequests } from '../shared/approvals/lifecycle.js';
import { CLIENT_DEFAULTS } from '../shared/runtime/clients.js';
import { mapLimit, WeightedGate } from '../shared/runtime/concurrency.js';
import { bundledConfig } from '../shared/runtime/config.js';
import { ENV } from '../shared/runtime/constants.js';
import { functionRegion, requireEnv } from '../shared/runtime/env.js';
import { StewardPorts, tablesFromEnv } from '../shared/runtime/ports.js';
import { type CleanupReport, cleanupRepository } from './core.js';
import { cleanupPorts, MAX_IMAGES_AT_ONCE, WORKER_CONCURRENCY } from './run.js';
import { type cleanupMessageSchema, isSweep, repositoryOf, safeParseCleanupMessage } from './schema.js';
import { sweep as runSweep } from './sweep.js';

const logger = new Logger({ serviceName: 'ecr-steward-cleanup' });
const metrics = new Metrics({ namespace: 'EcrSteward', serviceName: 'cleanup' });

// Clients are built once per container (StewardPorts shares them); each run counts its own API calls.
let sqsClient: SQSClient | undefined;
let taggingClient: ResourceGroupsTaggingAPIClient | undefined;
const sqs = () => (sqsClient ??= new SQSClient(CLIENT_DEFAULTS));
const tagging = () => (taggingClient ??= new ResourceGroupsTaggingAPIClient(CLIENT_DEFAULTS));

const region = functionRegion;
const newRunId = (now: Date) =>
  `run-${now.toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomUUID().slice(0, 8)}`;

/** Worker: consumes the FIFO queue. One evaluation per repository per batch (a burst of pushes coalesces). */
export async function worker(event: SQSEvent): Promise<SQSBatchResponse> {
  const config = bundledConfig();
  const now = new Date();
  const ports = new StewardPorts(config, { tables: tablesFromEnv() });
  const { calls } = ports;
  const accountId = (record: SQSRecord) => record.eventSourceARN.split(':')[4] ?? '';
  const budget = { remaining: config.bounds.maxDeletesPerRun };
  const gate = new WeightedGate(MAX_IMAGES_AT_ONCE);
  const failures: string[] = [];
  const groups = new Map<string, SQSRecord[]>();
  for (const record of event.Records) {
    const group = record.attributes.MessageGroupId ?? record.messageId;
    groups.set(group, [...(groups.get(group) ?? []), record]);
  }

  // Message groups are repositories: each group's messages run in order, the groups at the same time (the
  // run's budget is shared through allowances taken before each deletion, see cleanupRepository).
  await mapLimit([...groups], WORKER_CONCURRENCY, async ([group, records]) => {
    const repositories = new Map<string, { runId?: string; trigger: 'push' | 'sweep' }>();
    try {
      for (const record of records) {
        const parsed = parseBody(record.body);
        if (!parsed.success) {
          await deadLetter(record, parsed.reason);
          continue;
        }
        const target = repositoryOf(parsed.message);
        if ('ignore' in target) {
          logger.info('message ignored', { messageId: record.messageId, reason: target.ignore });
          continue;
        }
        const prior = repositories.get(target.repository);
        // A redelivered sweep or due message is a new attempt: its own run id, so reconciliation settles the
        // write-ahead records the crashed attempt left (it skips only the current run's own).
        const attempt = Number(record.attributes.ApproximateReceiveCount ?? '1');
        const sweepRun = isSweep(parsed.message)
          ? attempt > 1
            ? `${parsed.message.runId}-r${attempt}`
            : parsed.message.runId
          : undefined;
        repositories.set(target.repository, {
          runId: prior?.runId ?? sweepRun,
          trigger: sweepRun ? 'sweep' : (prior?.trigger ?? 'push'),
        });
      }
      for (const [repository, info] of repositories) {
        const runId = info.runId ?? newRunId(now);
        const report = await cleanupRepository(
          config,
          { repository, region: region(), runId, now, trigger: info.trigger, budget },
          // In-use references are read at most once per invocation (the factory keeps them): fresh, never stale.
          cleanupPorts(ports, {
            accountId: accountId(records[0]!),
            region: region(),
            runId,
            now,
            onReconciled: (repo, result) =>
              logger.warn('reconciliation recorded deletions', { repository: repo, ...result }),
            admit: (images) => gate.acquire(images),
          }),
        );
        logReport(report, calls);
      }
    } catch (e) {
      // FIFO: a failed group is retried from its first message; the messages after it wait with it.
      logger.error('cleanup failed; the group will be retried', { group, error: e as Error });
      failures.push(...records.map((r) => r.messageId));
    }
  });
  metrics.publishStoredMetrics();
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}

function parseBody(
  body: string,
):
  | { success: true; message: ReturnType<typeof cleanupMessageSchema.parse> }
  | { success: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (e) {
    return { success: false, reason: `body is not JSON: ${(e as Error).message}` };
  }
  const parsed = safeParseCleanupMessage(json);
  if (!parsed.success) {
    return {
      success: false,
      reason: `not an ECR Image Action event nor a sweep message: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    };
  }
  return { success: true, message: parsed.data };
}

/** A malformed message goes straight to the dead-letter queue with its reason; it can never lead to a delete. */
async function deadLetter(record: SQSRecord, reason: string): Promise<void> {
  logger.error('malformed message sent to the dead-letter queue', { messageId: record.messageId, reason });
  metrics.addMetric('MalformedMessages', MetricUnit.Count, 1);
  await sqs().send(
    new SendMessageCommand({
      QueueUrl: requireEnv(ENV.cleanupDlqUrl),
      MessageBody: record.body,
      MessageGroupId: record.attributes.MessageGroupId ?? 'malformed',
      MessageDeduplicationId: record.messageId,
      MessageAttributes: { reason: { DataType: 'String', StringValue: reason.slice(0, 1000) } },
    }),
  );
}

function logReport(report: CleanupReport, calls: CallCounter): void {
  // `message` would replace the log line's own message in Powertools' output, so it is logged as `detail`.
  const { plan: _plan, message: detail, ...summary } = report;
  logger.info('cleanup run', { ...summary, detail, apiCalls: calls.toJSON(), apiCallsTotal: calls.total });
  metrics.addDimension('mode', report.mode);
  metrics.addMetric('ImagesExpired', MetricUnit.Count, report.expired);
  metrics.addMetric('ImagesTransitioned', MetricUnit.Count, report.transitioned);
  metrics.addMetric('DeletesDeferred', MetricUnit.Count, report.deferred);
  metrics.addMetric('BytesReclaimed', MetricUnit.Bytes, report.bytesReclaimed);
  if (report.outcome === 'breaker-open')
    metrics.addMetric('DeletesBlockedByBreaker', MetricUnit.Count, report.planned.expire);
  if (report.outcome === 'in-use-unavailable') metrics.addMetric('InUseUnavailable', MetricUnit.Count, 1);
}

/** Sweep: started by the scheduler; enqueues one message per managed repository. */
export async function sweep(event?: unknown): Promise<{ runId: string; managed: number; enqueued: number }> {
  const config = bundledConfig();
  const now = new Date();
  // `{"kind":"due"}`: the due-deletion processor. Only repositories with a notice that is due or an archived
  // image whose purge is due are run, through the same queue, so it never races a push cleanup.
  const due = (event as { kind?: unknown } | undefined)?.kind === 'due';
  const runId = `${due ? 'due' : 'sweep'}-${newRunId(now).slice(4)}`;
  const queueUrl = requireEnv(ENV.cleanupQueueUrl);
  const ports = new StewardPorts(config, { tables: tablesFromEnv() });
  const { registry } = ports;
  const report = await runSweep(config, runId, now, {
    listRepositories: due ? () => dueRepositories(ports, now) : () => registry.listRepositories(),
    repositoryTags: async () => {
      const out = new Map<string, Record<string, string>>();
      let token: string | undefined;
      do {
        const page = await tagging().send(
          new GetResourcesCommand({
            ResourceTypeFilters: ['ecr:repository'],
            PaginationToken: token,
            ResourcesPerPage: 100,
          }),
        );
        for (const r of page.ResourceTagMappingList ?? [])
          if (r.ResourceARN)
            out.set(
              r.ResourceARN,
              Object.fromEntries((r.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
            );
        token = page.PaginationToken || undefined;
      } while (token);
      return out;
    },
    sendBatch: async (entries) => {
      const out = await sqs().send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: entries.map((e) => ({
            Id: e.id,
            MessageBody: e.body,
            MessageGroupId: e.groupId,
            MessageDeduplicationId: e.deduplicationId,
          })),
        }),
      );
      return (out.Failed ?? []).map((f) => f.Id ?? '');
    },
  });
  logger.info('sweep enqueued', { ...report });
  // The due-deletion processor also ends the requests nobody answered in time (their images stay).
  if (due && ports.approvals) {
    const expired = await expireRequests(now, ports.approvals);
    if (expired.length > 0)
      logger.info('requests expired', { requests: expired.map((r) => r.id), count: expired.length });
  }
  return report;
}

/**
 * The repositories of this registry and region with a due notice or purge (the audit table's byDue index). A
 * notice that only waits for an answer to its request (pending, not expired) is not due work: its repository is
 * run again once the request is answered or expires, not every 15 minutes meanwhile.
 */
async function dueRepositories(ports: StewardPorts, now: Date): Promise<RepositoryInfo[]> {
  const due = (await ports.audit.dueRepositories(now.toISOString())).filter((r) => r.region === region());
  const waiting = new Map<string, boolean>();
  const requests = ports.requests;
  for (const id of new Set(due.map((r) => r.requestId).filter((x): x is string => x !== undefined))) {
    const request = await requests?.get(id);
    waiting.set(
      id,
      request !== undefined && stateAt(requestView(request), now.getTime()) === 'PENDING_APPROVAL',
    );
  }
  const names = [
    ...new Set(due.filter((r) => !(r.requestId && waiting.get(r.requestId))).map((r) => r.repository)),
  ].sort();
  const out: RepositoryInfo[] = [];
  for (const name of names) {
    const info = await ports.registry.describeRepository(name);
    if (info) out.push(info);
  }
  return out;
}

/** The intake runs from its own bundle (functions/cleanup/intake.ts); exported here as before. */
export { intake } from './intake.js';
