/**
 * The organization's audit path at volume, in-process (bench/org.ts): the spoke forwarder's real handler over
 * DynamoDB stream batches (PutEvents stubbed at the SDK, counted), and the hub ingest's real handler over SQS
 * batches of 10 whole events as the hub queue delivers them, against dynalite in a process of its own
 * (bench/dynalite-process.mjs) with the hub's tables. Records are spoke audit items as test/org/support.ts
 * spokeRecord builds them (every deletion PENDING v1 then DELETED v2), in several spokes, with a share of
 * duplicates and a little reordering as at-least-once delivery gives.
 */

import type { ChildProcess } from 'node:child_process';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBStreamEvent, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { orgClients, resetOrgClients } from '../functions/org/clients.js';
import { ORG_NAMES } from '../functions/shared/config/organization.js';
import type { StewardConfig, StewardConfigInput } from '../functions/shared/config/schema.js';
import type { SpokeAuditItem } from '../functions/shared/org/events.js';
import { ORG_DETAIL_TYPES, ORG_SOURCE } from '../functions/shared/org/keys.js';
import { DYNAMODB_CLIENT_DEFAULTS } from '../functions/shared/runtime/clients.js';
import { resetConfigCache } from '../functions/shared/runtime/config.js';
import { ENV } from '../functions/shared/runtime/constants.js';
import { FORWARDER_STREAM } from '../lib/constructs/org-forwarder.js';
import { createRng } from '../scripts/rng.js';
import { testConfig } from '../test/audit/helpers.js';
import { createOrgTables, digest, HUB, spokeRecord } from '../test/org/support.js';
import { reply, startDynaliteProcess } from './dynalite.js';

/** Spokes that forward: the two, and two more, so the hub's keys spread as an organization's would. */
export const INGEST_SPOKES = [
  { account: '222222222222', region: 'eu-west-1' },
  { account: '333333333333', region: 'us-east-1' },
  { account: '444444444444', region: 'eu-west-1' },
  { account: '555555555555', region: 'eu-central-1' },
] as const;
const REPOSITORIES = 25;
/** A cleanup run deletes in batches: its PENDING records, then their DELETED ones (write-ahead). */
const RUN_BATCH = 100;
/** Share of delivered records that are a second delivery of one already delivered. */
export const DUPLICATE_SHARE = 0.1;
/** A duplicate comes again within this many records of its first delivery. */
const DUPLICATE_SPREAD = 2_000;
/** The hub queue's batch size (lib/constructs/org-hub.ts) */
export const SQS_BATCH = 10;
/**
 * Hub invocations at once: Lambda starts with five pollers of an SQS queue. One process runs them all here,
 * so the figure is a floor of what the function scales to, and dynalite's one process is the ceiling.
 */
export const HUB_INVOCATIONS = 5;
/** The organization threshold of the config, far above the run so no crossing adds an alert's calls. */
const ORG_LIMIT = 10_000_000;

const BUS_ARN = `arn:aws:events:${HUB.region}:${HUB.account}:event-bus/${ORG_NAMES.bus}`;

/**
 * The config both handlers run with: the hub of the org tests, every spoke above as a target (the hub admits only
 * the config's spokes and dead-letters the rest), and one organization threshold that never trips.
 */
export const INGEST_CONFIG: StewardConfig = testConfig({
  organization: {
    hub: { ...HUB },
    targets: INGEST_SPOKES.map(({ account, region }) => ({ accounts: [account], regions: [region] })),
  },
  alerts: { thresholds: [{ scope: 'organization', window: '5m', maxDeletes: ORG_LIMIT }] },
} as Partial<StewardConfigInput>);

/** One record as the hub receives it: which spoke, and the item (a duplicate is the same object again). */
interface Delivery {
  readonly env: { readonly account: string; readonly region: string };
  readonly record: SpokeAuditItem;
}

/** The input: the spoke streams in order, and the hub's deliveries (duplicated, slightly reordered). */
export interface IngestInput {
  /** Per spoke, its audit table's stream records in order (each version once). */
  readonly streams: ReadonlyMap<string, readonly SpokeAuditItem[]>;
  /** What the hub queue delivers: `total` records, DUPLICATE_SHARE of them repeats. */
  readonly deliveries: readonly Delivery[];
  readonly deletions: number;
  readonly duplicates: number;
}

/**
 * `total` deliveries: deletions by steward runs across the spokes over the last hour (PENDING v1 then DELETED
 * v2, in run batches), `duplicateShare` of them second deliveries within the next few thousand, and neighbours
 * swapped now and then as a standard queue does. Deterministic. The streams hold each version once.
 */
export function buildIngestInput(total: number, now: number, duplicateShare = DUPLICATE_SHARE): IngestInput {
  const rng = createRng(13);
  const duplicates = Math.round(total * duplicateShare);
  const deletions = Math.floor((total - duplicates) / 2);
  const streams = new Map<string, SpokeAuditItem[]>();
  const unique: Delivery[] = [];
  for (let first = 0; first < deletions; first += RUN_BATCH) {
    const env = INGEST_SPOKES[(first / RUN_BATCH) % INGEST_SPOKES.length]!;
    const repository = `services/svc-${String((first / RUN_BATCH) % REPOSITORIES).padStart(2, '0')}`;
    const runId = `run-${first / RUN_BATCH}`;
    const batch = Array.from({ length: Math.min(RUN_BATCH, deletions - first) }, (_, k) => first + k);
    const stream = streams.get(`${env.account}/${env.region}`) ?? [];
    streams.set(`${env.account}/${env.region}`, stream);
    for (const status of ['PENDING', 'DELETED'] as const)
      for (const i of batch) {
        const record = itemOf(
          env,
          repository,
          runId,
          i,
          status,
          now - ((deletions - i) / deletions) * 3_600_000,
        );
        stream.push(record);
        unique.push({ env, record });
      }
  }
  const deliveries: Delivery[] = [...unique];
  // Each repeat goes in after its first delivery, never before (it is a redelivery).
  for (let d = 0; d < duplicates; d++) {
    const source = rng.int(0, unique.length - 1);
    const at = Math.min(deliveries.length, source + 1 + rng.int(0, DUPLICATE_SPREAD));
    deliveries.splice(at, 0, unique[source]!);
  }
  for (let i = 1; i < deliveries.length; i++)
    if (rng.chance(0.05)) [deliveries[i - 1], deliveries[i]] = [deliveries[i]!, deliveries[i - 1]!];
  return { streams, deliveries, deletions, duplicates };
}

/** A steward deletion's spoke item at one version, in an environment, shaped as the spoke's audit table holds it. */
function itemOf(
  env: { account: string; region: string },
  repository: string,
  runId: string,
  i: number,
  status: 'PENDING' | 'DELETED',
  atMs: number,
): SpokeAuditItem {
  const d = digest(i + 1);
  const at = new Date(atMs).toISOString();
  const repoKey = `REPO#${env.account}#${env.region}#${repository}`;
  return spokeRecord(d, status === 'PENDING' ? 1 : 2, status, {
    sk: repoKey,
    registryId: env.account,
    region: env.region,
    repository,
    gsi1pk: repoKey,
    gsi1sk: `${at}#${d}`,
    gsi3pk: `DAY#${at.slice(0, 10)}`,
    gsi3sk: `${at}#${repository}#${d}`,
    tags: [`build-${i}`],
    sizeBytes: 80_000_000 + (i % 1_000) * 37_000,
    pushedAt: new Date(atMs - 40 * 86_400_000).toISOString(),
    actor: {
      type: 'steward',
      runId,
      reasons: ['rule 1 (Keep the 50 newest builds): imageCountMoreThan 50, rank 51'],
    },
    at,
    recordedAt: at,
    updatedAt: at,
    evidence: status === 'DELETED' ? ['steward-batch-delete'] : [],
    eventIds: [],
    ...(status === 'PENDING' ? { intent: 'delete' } : {}),
    ttl: Math.floor(atMs / 1000) + 400 * 86_400,
  });
}

// ---------------------------------------------------------------- forwarder

type HubHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

let handlers: Promise<{ forwarder: ForwarderHandler; hub: HubHandler }> | undefined;

/**
 * The two handlers, imported on first use with Powertools silenced: their loggers and metrics read the level at
 * construction (module load), and 200,000 log lines or metric flushes would be what this measures instead.
 */
function loadHandlers(): Promise<{ forwarder: ForwarderHandler; hub: HubHandler }> {
  handlers ??= withEnv({ POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' }, async () => ({
    forwarder: ((await import('../functions/org/forwarder.js')) as unknown as { handler: ForwarderHandler })
      .handler,
    hub: (await import('../functions/org/hub.js')).handler,
  }));
  return handlers;
}

/** What the forwarder side measured. */
export interface ForwardResult {
  readonly records: number;
  readonly streamBatches: number;
  readonly putEventsCalls: number;
  readonly entries: number;
  readonly maxEntriesPerCall: number;
  readonly maxBytesPerCall: number;
  readonly failedBatches: number;
  readonly wallMs: number;
}

type ForwarderHandler = (
  event: DynamoDBStreamEvent,
  context: { invokedFunctionArn: string },
) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;

/** One DynamoDB stream batch of a spoke, as Lambda delivers it to the forwarder. */
export interface ForwardBatch {
  readonly env: { readonly account: string; readonly region: string };
  readonly event: DynamoDBStreamEvent;
}

/**
 * Every spoke's stream in batches of the stack's batch size, the images marshalled as DynamoDB Streams
 * delivers them (built before the clock starts).
 */
export function streamBatches(input: IngestInput): ForwardBatch[] {
  const batches: ForwardBatch[] = [];
  for (const [key, stream] of input.streams) {
    const [account, region] = key.split('/') as [string, string];
    for (let i = 0; i < stream.length; i += FORWARDER_STREAM.batchSize) {
      const slice = stream.slice(i, i + FORWARDER_STREAM.batchSize);
      batches.push({
        env: { account, region },
        event: {
          Records: slice.map((item, k) => ({
            eventID: `${i + k}`,
            eventName: item.version === 1 ? 'INSERT' : 'MODIFY',
            eventSource: 'aws:dynamodb',
            awsRegion: region,
            dynamodb: {
              SequenceNumber: String(1_000_000 + i + k),
              NewImage: marshall(item, {
                removeUndefinedValues: true,
                convertClassInstanceToMap: true,
              }) as never,
              StreamViewType: 'NEW_IMAGE',
            },
          })),
        },
      });
    }
  }
  return batches;
}

/**
 * The batches through the real forwarder handler, one after another. PutEvents is answered in place of the
 * SDK client's `send` (every entry accepted) and counted; nothing is kept per call, so the run's heap is the
 * forwarder's own.
 */
export async function forwardAll(batches: readonly ForwardBatch[]): Promise<ForwardResult> {
  let calls = 0;
  let entries = 0;
  let maxEntries = 0;
  let maxBytes = 0;
  const putEvents = (command: PutEventsCommand) => {
    const list = command.input.Entries ?? [];
    calls++;
    entries += list.length;
    maxEntries = Math.max(maxEntries, list.length);
    let bytes = 0;
    for (const e of list)
      bytes +=
        Buffer.byteLength(e.Source ?? '') +
        Buffer.byteLength(e.DetailType ?? '') +
        Buffer.byteLength(e.Detail ?? '');
    maxBytes = Math.max(maxBytes, bytes);
    return { FailedEntryCount: 0, Entries: list.map((_, k) => ({ EventId: `e-${calls}-${k}` })) };
  };
  const { forwarder: handler } = await loadHandlers();
  const original = EventBridgeClient.prototype.send;
  EventBridgeClient.prototype.send = (async (command: unknown) => {
    if (!(command instanceof PutEventsCommand))
      throw new Error(`org bench: the forwarder sent ${(command as object).constructor.name}, not PutEvents`);
    return putEvents(command);
  }) as typeof original;
  let failedBatches = 0;
  let records = 0;
  const start = process.hrtime.bigint();
  try {
    for (const { env, event } of batches) {
      records += event.Records.length;
      const out = await withEnv(
        { [ENV.registryId]: env.account, AWS_REGION: env.region, [ENV.orgBusArn]: BUS_ARN },
        () =>
          handler(event, {
            invokedFunctionArn: `arn:aws:lambda:${env.region}:${env.account}:function:fwd`,
          }),
      );
      if (out.batchItemFailures.length > 0) failedBatches++;
    }
  } finally {
    EventBridgeClient.prototype.send = original;
  }
  return {
    records,
    streamBatches: batches.length,
    putEventsCalls: calls,
    entries,
    maxEntriesPerCall: maxEntries,
    maxBytesPerCall: maxBytes,
    failedBatches,
    wallMs: Number(process.hrtime.bigint() - start) / 1e6,
  };
}

// ---------------------------------------------------------------- hub

/** dynalite in its own process, counting the requests it receives by operation. */
export interface HubDynamo {
  readonly process: ChildProcess;
  readonly client: DynamoDBClient;
  readonly endpoint: string;
}

/** Starts dynalite's process (bench/dynalite-process.mjs) and a client of it. */
export async function startHubDynamo(): Promise<HubDynamo> {
  const { child, url: endpoint } = await startDynaliteProcess();
  const client = new DynamoDBClient({
    ...DYNAMODB_CLIENT_DEFAULTS,
    region: HUB.region,
    endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  return { process: child, client, endpoint };
}

/** DynamoDB requests by operation since the last call, retries included (dynalite's process counts them). */
async function dynamoCounts(child: ChildProcess): Promise<Record<string, number>> {
  const answer = reply<{ counts: Record<string, number> }>(child, 'counts');
  child.send('counts');
  return (await answer).counts;
}

/** What the hub side measured. */
export interface HubResult {
  readonly records: number;
  readonly deletions: number;
  readonly duplicates: number;
  readonly invocations: number;
  /** Messages reported failed (a duplicate in flight, ClaimHeldError) and delivered again. */
  readonly redelivered: number;
  /** DynamoDB calls the hub's document client sent (SDK sends, no retries). */
  readonly sends: number;
  /** Requests dynalite received, by operation (retries included). */
  readonly requests: Record<string, number>;
  readonly wallMs: number;
  /** Items in the org audit table, and the org counters' total, read back after the run. */
  readonly stored: number;
  readonly counted: number;
  /** Messages the hub sent to its dead-letter queue (refused or malformed): none, or the counts fall short. */
  readonly deadLettered: number;
}

/**
 * Every delivery through the real hub handler, in SQS batches of 10 whole EventBridge events, HUB_INVOCATIONS
 * invocations at once; a message the handler reports failed comes back at the end of the queue, as after its
 * visibility timeout. Fresh hub tables; the handler's clients come from the environment, set for the run only.
 */
export async function ingestAll(dynamo: HubDynamo, input: IngestInput): Promise<HubResult> {
  const tables = await createOrgTables(dynamo.client, 'bench-org');
  const bodies = input.deliveries.map(({ env, record }, i) =>
    JSON.stringify({
      version: '0',
      id: `ev-${i}`,
      'detail-type': ORG_DETAIL_TYPES.auditRecord,
      source: ORG_SOURCE,
      account: env.account,
      time: new Date().toISOString(),
      region: HUB.region,
      resources: [],
      detail: { account: env.account, region: env.region, record },
    }),
  );
  const env = {
    AWS_REGION: HUB.region,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    [ENV.orgAuditTable]: tables.audit,
    [ENV.orgStateTable]: tables.state,
    [ENV.configJson]: JSON.stringify(INGEST_CONFIG),
    // Set so that a refused or malformed message is sent there (answered and counted below), not only logged.
    [ENV.orgIngestDlqUrl]: `https://sqs.${HUB.region}.amazonaws.com/${HUB.account}/bench-org-ingest-dlq`,
  };
  return withEnv(env, async () => {
    const { hub: handler } = await loadHandlers();
    resetOrgClients();
    resetConfigCache();
    try {
      let sends = 0;
      orgClients.doc.middlewareStack.add(
        (next) => (args) => {
          sends++;
          return next(args);
        },
        { step: 'initialize', name: 'benchCountSends' },
      );
      let deadLettered = 0;
      orgClients.sqs.middlewareStack.add(
        () => async () => {
          deadLettered++;
          return { output: { $metadata: {} }, response: {} };
        },
        { step: 'initialize', name: 'benchDeadLetterQueue' },
      );
      await dynamoCounts(dynamo.process);
      const queue = bodies.map((body, i) => ({ messageId: `m-${i}`, body }));
      let invocations = 0;
      let redelivered = 0;
      const start = process.hrtime.bigint();
      const poller = async () => {
        for (;;) {
          const batch = queue.splice(0, SQS_BATCH);
          if (batch.length === 0) return;
          invocations++;
          const out = await handler(sqsEvent(batch));
          const failed = new Set(out.batchItemFailures.map((f) => f.itemIdentifier));
          for (const m of batch)
            if (failed.has(m.messageId)) {
              redelivered++;
              queue.push(m);
            }
        }
      };
      await withoutLines(EMPTY_METRICS_WARNING, () =>
        Promise.all(Array.from({ length: HUB_INVOCATIONS }, poller)),
      );
      const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
      const requests = await dynamoCounts(dynamo.process);
      return {
        records: bodies.length,
        deletions: input.deletions,
        duplicates: input.duplicates,
        invocations,
        redelivered,
        sends,
        requests,
        wallMs,
        deadLettered,
        ...(await readBack(dynamo, tables)),
      };
    } finally {
      resetOrgClients();
      resetConfigCache();
    }
  });
}

/** The org audit table's item count and the sum of the org counters: the run's result, checked by the caller. */
async function readBack(
  dynamo: HubDynamo,
  tables: { audit: string; state: string },
): Promise<{ stored: number; counted: number }> {
  const { ScanCommand } = await import('@aws-sdk/client-dynamodb');
  let stored = 0;
  let counted = 0;
  for (const [table, onItem] of [
    [tables.audit, () => stored++],
    [
      tables.state,
      (item: Record<string, { S?: string; N?: string }>) => {
        if (item.pk?.S?.startsWith('COUNT#organization#')) counted += Number(item.count?.N ?? 0);
      },
    ],
  ] as const) {
    let ExclusiveStartKey: Record<string, never> | undefined;
    do {
      const page = await dynamo.client.send(new ScanCommand({ TableName: table, ExclusiveStartKey }));
      for (const item of page.Items ?? []) onItem(item as never);
      ExclusiveStartKey = page.LastEvaluatedKey as Record<string, never> | undefined;
    } while (ExclusiveStartKey);
  }
  return { stored, counted };
}

const sqsEvent = (batch: readonly { messageId: string; body: string }[]): SQSEvent => ({
  Records: batch.map(({ messageId, body }) => ({
    messageId,
    receiptHandle: messageId,
    body,
    attributes: {} as never,
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${HUB.region}:${HUB.account}:EcrStewardHub-Ingest`,
    awsRegion: HUB.region,
  })),
});

/**
 * Powertools Metrics warns on every invocation that added no metric (a batch of duplicates only), even with
 * metrics disabled: hundreds of lines among the figures.
 */
const EMPTY_METRICS_WARNING = 'No application metrics to publish';

/** Runs `work` with the lines of stdout and stderr that contain `text` dropped (Powertools writes whole lines). */
async function withoutLines<T>(text: string, work: () => Promise<T>): Promise<T> {
  const streams = [process.stdout, process.stderr];
  const writes = streams.map((s) => s.write);
  streams.forEach((stream, i) => {
    stream.write = ((chunk: unknown, ...rest: unknown[]) =>
      typeof chunk === 'string' && chunk.includes(text)
        ? true
        : (writes[i] as (...args: unknown[]) => boolean).call(stream, chunk, ...rest)) as typeof stream.write;
  });
  try {
    return await work();
  } finally {
    streams.forEach((stream, i) => {
      stream.write = writes[i]!;
    });
  }
}

/**
 * Runs `work` with variables set in process.env, restoring them after: the handlers read their tables, endpoint
 * and config from the environment, and nothing else in the benchmark process should see them.
 */
export async function withEnv<T>(vars: Record<string, string>, work: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await work();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
