/**
 * What every end-to-end test needs: a local cloud started from the synthesized test assembly (see synth.ts),
 * real SDK clients pointed at it, and readers of the tables, queues and function logs for the assertions.
 * Nothing here decides anything the functions decide: the tests compare the system's end state with what
 * the pure lifecycle engine plans for the same images.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { EcsInUseSource, type ImageReference, inUseFor } from '../../functions/shared/adapters/in-use.js';
import type { AuditRecord } from '../../functions/shared/audit/records.js';
import { documentClient } from '../../functions/shared/audit/store.js';
import { parseConfig, selectionFor } from '../../functions/shared/config/load.js';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { planRepository } from '../../functions/shared/lifecycle/plan.js';
import type { Image, LifecyclePolicy, Plan } from '../../functions/shared/lifecycle/types.js';
import { LocalCloud } from '../../local/cloud.js';
import type { EcrEvent, EcrImageView } from '../../local/ecr-emulator.js';
import { ociImageManifest } from '../../local/ecr-emulator.js';
import type { FaultInjector } from '../../local/faults.js';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../../local/template.js';
import { E2E_CONFIG, ensureCdkOut, ROOT } from './synth.js';

export { LOCAL_ACCOUNT, LOCAL_REGION };
export const DAY = 86_400_000;
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/** The validated test config: the same one the bundles carry. */
export const config: StewardConfig = parseConfig(
  readFileSync(path.join(ROOT, E2E_CONFIG), 'utf8'),
  E2E_CONFIG,
);

export interface E2E {
  readonly cloud: LocalCloud;
  /** Real ECR client (the project's SDK) against the local cloud. */
  readonly ecr: ECRClient;
  readonly doc: DynamoDBDocumentClient;
  readonly tables: { audit: string; state: string; verdicts: string };
  readonly topics: { alerts: string; security: string; notices: string };
  readonly queues: { cleanup: string; cleanupDlq: string; cleanupAsyncDlq: string; auditDlq: string };
  readonly workerId: string;
  /** Every event the ECR emulator emitted (whether or not the bus was on). */
  readonly ecrEvents: EcrEvent[];
  /** The events ECR sent to the bus (emitted while `cloud.eventsOn`). */
  readonly busEvents: EcrEvent[];
  close(): Promise<void>;
}

export interface StartOptions {
  readonly faults?: FaultInjector;
  readonly dynamoFaults?: boolean;
  readonly visibilityMs?: number;
  /** Another config (path from the root) for this test's stack; @default the shared test config (E2E_CONFIG). */
  readonly config?: string;
}

/** Starts a local cloud for one test from the shared assembly (synthesizing it first if needed). */
export async function startE2E(name: string, opts: StartOptions = {}): Promise<E2E> {
  const { cdkOut } = await ensureCdkOut(opts.config);
  const logDir = path.join(ROOT, '.local', 'test-logs', `${name}-${process.pid}-${Date.now()}`);
  mkdirSync(logDir, { recursive: true });
  const cloud = await LocalCloud.start({
    cdkOut,
    logDir,
    ...(opts.faults ? { faults: opts.faults } : {}),
    ...(opts.dynamoFaults ? { dynamoFaults: true } : {}),
    ...(opts.visibilityMs !== undefined ? { visibilityMs: opts.visibilityMs } : {}),
  });
  const env = cloud.cliEnv();
  const ecr = new ECRClient({
    region: LOCAL_REGION,
    endpoint: cloud.endpoint,
    credentials,
    maxAttempts: 10,
  });
  const ddb = new DynamoDBClient({
    region: LOCAL_REGION,
    endpoint: cloud.dynamoEndpoint,
    credentials,
    maxAttempts: 10,
  });
  const doc = documentClient(ddb);
  const queueId = (prefix: string) => {
    const id = [...cloud.queues.keys()].find((k) => k.startsWith(prefix));
    if (!id) throw new Error(`no queue ${prefix}* in the template`);
    return id;
  };
  const ecrEvents: EcrEvent[] = [];
  const busEvents: EcrEvent[] = [];
  cloud.ecr.onEvent((e) => {
    ecrEvents.push(e);
    if (cloud.eventsOn) busEvents.push(e);
  });
  return {
    cloud,
    ecr,
    doc,
    tables: {
      audit: env.AUDIT_TABLE_NAME ?? '',
      state: env.STATE_TABLE_NAME ?? '',
      verdicts: env.VERDICT_TABLE_NAME ?? '',
    },
    topics: {
      alerts: env.ALERTS_TOPIC_ARN ?? '',
      security: env.SECURITY_TOPIC_ARN ?? '',
      notices: env.NOTICES_TOPIC_ARN ?? '',
    },
    queues: {
      cleanup: queueId('CleanupQueue'),
      cleanupDlq: queueId('CleanupDeadLetter'),
      cleanupAsyncDlq: queueId('CleanupAsyncDeadLetter'),
      auditDlq: queueId('AuditDeadLetter'),
    },
    workerId: cloud.functionId('worker'),
    ecrEvents,
    busEvents,
    close: async () => {
      ecr.destroy();
      ddb.destroy();
      await cloud.close();
    },
  };
}

/** Every item of a table (all pages). */
export async function scanTable(
  doc: DynamoDBDocumentClient,
  table: string,
): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await doc.send(
      new ScanCommand({ TableName: table, ExclusiveStartKey, ConsistentRead: true }),
    );
    out.push(...((page.Items ?? []) as Record<string, unknown>[]));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return out;
}

/** Every audit record of the table, grouped by digest (dry-run PLAN records included, so none hides). */
export async function auditByDigest(e2e: E2E): Promise<Map<string, AuditRecord[]>> {
  const byDigest = new Map<string, AuditRecord[]>();
  for (const item of await scanTable(e2e.doc, e2e.tables.audit)) {
    // Registry operations (OPERATION records: pushes, policy changes) are not deletions.
    if ((item as { kind?: unknown }).kind === 'operation') continue;
    const r = item as unknown as AuditRecord;
    byDigest.set(r.digest, [...(byDigest.get(r.digest) ?? []), r]);
  }
  return byDigest;
}

/**
 * Waits until `check` holds (function logs travel on their own pipe, so a line can arrive a moment after the
 * invocation's result): returns its last value, or throws after `timeoutMs`.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | false | undefined,
  timeoutMs = 5_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The worker's `cleanup run` log lines (one per repository and run), oldest first. */
export function workerReports(e2e: E2E, repository?: string): Record<string, unknown>[] {
  return e2e.cloud.functions.logRecords
    .filter((l) => l.functionId === e2e.workerId && l.record.message === 'cleanup run')
    .map((l) => l.record)
    .filter((r) => repository === undefined || r.repository === repository);
}

/** Messages in a queue (by logical id), with their attributes. */
export function queueMessages(e2e: E2E, queueId: string) {
  return [...(e2e.cloud.queues.get(queueId)?.messages ?? [])];
}

/** The image as DescribeImages shows it to the worker (see EcrRegistry's fromDetail). */
export function toLifecycleImage(v: EcrImageView): Image {
  return {
    digest: v.digest,
    tags: [...v.tags],
    pushedAt: v.pushedAt.getTime(),
    sizeBytes: v.sizeBytes,
    status: v.status,
    lastPulledAt: v.lastPulledAt?.getTime(),
    lastArchivedAt: v.lastArchivedAt?.getTime(),
    lastActivatedAt: v.lastActivatedAt?.getTime(),
    manifestMediaType: v.mediaType,
    artifactMediaType: v.artifactMediaType,
    subjectDigest: v.subjectDigest,
  };
}

/**
 * In-use references as the worker collects them: the project's own ECS source, read from the local cloud's
 * ECS (running tasks and the newest task-definition revisions the config counts).
 */
export async function inUseRefs(e2e: E2E): Promise<ImageReference[]> {
  const ecs = new ECSClient({
    region: LOCAL_REGION,
    endpoint: e2e.cloud.endpoint,
    credentials,
    maxAttempts: 10,
  });
  try {
    return await new EcsInUseSource(
      { taskDefinitionRevisions: config.inUse.ecs.taskDefinitionRevisions },
      ecs,
    ).collect();
  } finally {
    ecs.destroy();
  }
}

/**
 * What the worker will plan for a repository right now: the pure lifecycle engine on the emulator's images,
 * with the selection's policy and Steward protections from the config (the shared test config unless
 * another is given) and the in-use references (read from the local ECS now, unless given).
 */
export async function expectedPlan(
  e2e: E2E,
  repository: string,
  now: Date,
  refs?: readonly ImageReference[],
  stewardConfig: StewardConfig = config,
): Promise<Plan> {
  const selection = selectionFor(stewardConfig, repository, {});
  if (!selection) throw new Error(`${repository} is not managed by the test config`);
  if (selection.lifecyclePolicy === 'fromRepository') throw new Error('the e2e config uses inline policies');
  // Read before any await: the images as they are at the call, whatever the flow does next.
  const images = e2e.cloud.ecr.images(repository).map(toLifecycleImage);
  return planRepository({
    repository,
    policy: selection.lifecyclePolicy as LifecyclePolicy,
    images,
    now,
    indexChildren: new Map(),
    steward: selection.steward ?? {},
    inUse: inUseFor(refs ?? (await inUseRefs(e2e)), {
      registryId: LOCAL_ACCOUNT,
      region: LOCAL_REGION,
      name: repository,
    }),
  });
}

export const expiring = (plan: Plan): string[] =>
  plan.decisions
    .filter((d) => d.action === 'expire')
    .map((d) => d.imageDigest)
    .sort();

/** An image URI as ECS shows a digest-pinned task image. */
export const imageUri = (repository: string, digest: string) =>
  `${LOCAL_ACCOUNT}.dkr.ecr.${LOCAL_REGION}.amazonaws.com/${repository}@${digest}`;

/**
 * Seeds images that existed before ECR Steward was installed (no events reach the bus). `ageDays` is how
 * old the first image is; later images are a minute younger each. Returns the digests in seed order.
 */
export function seed(
  e2e: E2E,
  repository: string,
  images: readonly { readonly tags: readonly string[]; readonly ageMs?: number }[],
  opts: { readonly seedPrefix?: string; readonly baseAgeMs?: number } = {},
): string[] {
  const cloud = e2e.cloud;
  if (!cloud.ecr.repositoryNames().includes(repository)) cloud.ecr.createRepository(repository);
  const was = cloud.eventsOn;
  cloud.eventsOn = false;
  try {
    const now = Date.now();
    const base = opts.baseAgeMs ?? 10 * DAY;
    return images.map((img, i) =>
      cloud.ecr.putImage(repository, {
        manifest: ociImageManifest(`${repository}/${opts.seedPrefix ?? 'seed'}/${i}`, {
          sizeBytes: 10_000 + i,
        }),
        tags: [...img.tags],
        pushedAt: new Date(now - (img.ageMs ?? base - i * 60_000)),
      }),
    );
  } finally {
    cloud.eventsOn = was;
  }
}

/** Pushes an image now, as CI would: ECR's PUSH event reaches the bus. Returns its digest. */
export function push(e2e: E2E, repository: string, tags: readonly string[], seedText?: string): string {
  return e2e.cloud.ecr.putImage(repository, {
    manifest: ociImageManifest(seedText ?? `${repository}/pushed/${tags.join(',')}/${Date.now()}`, {
      sizeBytes: 20_000,
    }),
    tags: [...tags],
  });
}

/** Digests present in a repository. */
export const present = (e2e: E2E, repository: string) =>
  new Set(e2e.cloud.ecr.images(repository).map((i) => i.digest));

/** Dead-letter queues' depths, by name. */
export function deadLetters(e2e: E2E): Record<string, number> {
  const q = e2e.queues;
  const depth = (id: string) => e2e.cloud.queues.get(id)?.depth ?? 0;
  return {
    cleanupDlq: depth(q.cleanupDlq),
    cleanupAsyncDlq: depth(q.cleanupAsyncDlq),
    auditDlq: depth(q.auditDlq),
    scanGateDlq: e2e.cloud.queueDepth('ScanGateDeadLetter'),
  };
}

/**
 * Waits, when needed, until a clock-aligned window of `minutes` has at least `marginMs` left, so that a
 * burst of deletes meant to cross a threshold is counted in one window rather than split between two.
 */
export async function awayFromWindowEdge(minutes: number, marginMs: number): Promise<number> {
  const size = minutes * 60_000;
  const left = size - (Date.now() % size);
  if (left >= marginMs) return 0;
  await new Promise((r) => setTimeout(r, left + 250));
  return left + 250;
}

/** One line of figures for a test's output. */
export function figures(test: string, values: Record<string, unknown>): void {
  console.log(
    `[e2e] ${test}: ${Object.entries(values)
      .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      .join(' ')}`,
  );
}
