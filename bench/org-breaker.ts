/**
 * The organization breaker on the local organization (bench/org.ts): a hub and two spokes synthesized from
 * test/e2e/steward.org.jsonc, each its own LocalCloud behind the front door. A person deletes a burst of images by
 * hand in one spoke; the hub counts the forwarded deletions and opens the org breaker; then both spokes get a
 * push that leaves one image too many, and each spoke's worker must refuse the delete (`cleanup run` with
 * outcome `breaker-open`). Measured from the breaker's own `openedAt` (the hub's write) to each refusal.
 */
import { mkdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchDeleteImageCommand, ECRClient } from '@aws-sdk/client-ecr';
import { documentClient } from '../functions/shared/audit/store.js';
import { ORG_NAMES } from '../functions/shared/config/organization.js';
import { OrgBreakerReader } from '../functions/shared/org/org-breaker.js';
import type { LocalCloud } from '../local/cloud.js';
import { ociImageManifest } from '../local/ecr-emulator.js';
import { LocalOrg, type OrgEnvironmentSpec, orgEnvironmentsOf } from '../local/org.js';
import { cloudTrailBatchDelete } from '../local/scenario.js';
import { synthesize } from '../local/synth.js';

/** The config of the organization e2e tests: organization threshold 30 deletes in 5 minutes, breaker on. */
export const BREAKER_CONFIG = 'test/e2e/steward.org.jsonc';
/**
 * Twice the threshold and one: even if the deletions' times straddle a 5-minute window's edge, one of the two
 * windows holds more than 30 of them, so the breaker opens without waiting for a window to begin.
 */
const BURST = 61;
/** The config keeps the 2 newest apps/* images: seeded 2, pushed 1, so each spoke has one to delete. */
const KEEP = 2;
const REPOSITORY = 'apps/after-trip';
const BURST_REPOSITORY = 'apps/burst';
const DAY_MS = 86_400_000;
/** The issue's requirement: every spoke stops deleting within one minute of the trip. */
export const STOP_WITHIN_MS = 60_000;

/** What setup builds: the running organization and a hub client. */
export interface BreakerState {
  readonly org: LocalOrg;
  readonly hub: OrgEnvironmentSpec;
  readonly spokes: readonly OrgEnvironmentSpec[];
  readonly hubClient: DynamoDBClient;
  readonly synthMs: number;
}

/** One spoke's refusal. */
export interface SpokeRefusal {
  readonly env: string;
  /** From the breaker's openedAt to the worker's `cleanup run` record with outcome breaker-open. */
  readonly refusedMs: number;
  /** From the push to that record. */
  readonly pushToRefusedMs: number;
  readonly deferred: number;
  readonly imagesLeft: number;
}

/** What the run measured. */
export interface BreakerResult {
  readonly synthMs: number;
  /** From alice's BatchDeleteImage to the breaker's openedAt. */
  readonly burstToOpenMs: number;
  /** From openedAt to this process seeing the breaker open (the wait before the pushes). */
  readonly seenMs: number;
  readonly reason: string;
  readonly refusals: readonly SpokeRefusal[];
  /** Images deleted in the spokes' pushed repositories after the trip (must be none). */
  readonly deletedAfterTrip: number;
}

/** Synthesizes the organization config into .local/bench-org.out and boots the hub and spokes. */
export async function startBreakerOrg(root: string): Promise<BreakerState> {
  const started = Date.now();
  const cdkOut = synthesize(root, BREAKER_CONFIG, path.join(root, '.local', 'bench-org.out'));
  const synthMs = Date.now() - started;
  const { hub, spokes } = orgEnvironmentsOf(cdkOut);
  // The functions' logs of this run only, to read when a figure looks wrong.
  const logDir = path.join(root, '.local', 'bench-org-logs');
  rmSync(logDir, { recursive: true, force: true });
  mkdirSync(logDir, { recursive: true });
  const org = await LocalOrg.start({ cdkOut, hub, spokes, logDir });
  const hubClient = new DynamoDBClient({ ...org.clientConfig(hub.account, hub.region), maxAttempts: 10 });
  return { org, hub, spokes, hubClient, synthMs };
}

/** Closes the organization and the hub client. */
export async function stopBreakerOrg(state: BreakerState): Promise<void> {
  state.hubClient.destroy();
  await state.org.close();
}

/** Images in a repository before the run (no events: nothing reacts to them); returns their digests. */
function seed(cloud: LocalCloud, repository: string, n: number, prefix: string): string[] {
  if (!cloud.ecr.repositoryNames().includes(repository)) cloud.ecr.createRepository(repository);
  const was = cloud.eventsOn;
  cloud.eventsOn = false;
  try {
    return Array.from({ length: n }, (_, i) =>
      cloud.ecr.putImage(repository, {
        manifest: ociImageManifest(`${repository}/${prefix}/${i}/${Date.now()}`, { sizeBytes: 10_000 + i }),
        tags: [`${prefix}-${i}`],
        pushedAt: new Date(Date.now() - 10 * DAY_MS + i * 60_000),
      }),
    );
  } finally {
    cloud.eventsOn = was;
  }
}

/** A push now: ECR's PUSH event reaches the spoke's bus. */
function push(cloud: LocalCloud, repository: string, tag: string): void {
  cloud.ecr.putImage(repository, {
    manifest: ociImageManifest(`${repository}/pushed/${tag}/${Date.now()}`, { sizeBytes: 20_000 }),
    tags: [tag],
  });
}

/** The first `cleanup run` record of the spoke's worker for `repository` logged at or after `since`. */
function cleanupRun(
  cloud: LocalCloud,
  repository: string,
  since: number,
): { at: number; record: Record<string, unknown> } | undefined {
  const worker = cloud.functionId('worker');
  return cloud.functions.logRecords.find(
    (l) =>
      l.at >= since &&
      l.functionId === worker &&
      l.record.message === 'cleanup run' &&
      l.record.repository === repository,
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 10 ms until it returns a value; throws naming `what` after `timeoutMs`. */
async function until<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`org breaker: timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * The measured sequence. The spokes' workers are warmed first by an ordinary cleanup (a push that deletes one
 * image), so the figure is the breaker's path, not a process start; the issue's minute leaves room for a cold start.
 */
export async function tripAndRefuse(state: BreakerState): Promise<BreakerResult> {
  const { org } = state;
  const spokes = state.spokes.map((s) => ({ spec: s, cloud: org.cloud(s.account, s.region) }));
  const [first] = spokes;
  if (!first || spokes.length < 2)
    throw new Error(`org breaker: the assembly has ${spokes.length} spoke(s), not 2`);

  // Warm: each worker cleans one repository normally (and shows the spokes delete before the trip).
  for (const { cloud } of spokes) {
    seed(cloud, 'apps/warm', KEEP, 'warm');
    push(cloud, 'apps/warm', 'warm-new');
  }
  await org.settle();
  for (const { spec, cloud } of spokes) {
    const run = cleanupRun(cloud, 'apps/warm', 0);
    if (run?.record.outcome !== 'done' || cloud.ecr.imageCount('apps/warm') !== KEEP)
      throw new Error(
        `org breaker: the warm-up cleanup in ${spec.account}/${spec.region} did not delete (run ${JSON.stringify(run?.record.outcome)}, ${cloud.ecr.imageCount('apps/warm')} images left)`,
      );
  }
  for (const { cloud } of spokes) seed(cloud, REPOSITORY, KEEP, 'kept');

  // alice deletes BURST images by hand in the first spoke; CloudTrail's record of her call comes first, so every
  // deletion is attributed when the hub counts it (as in test/e2e/org.test.ts).
  const victims = seed(first.cloud, BURST_REPOSITORY, BURST, 'burst');
  const alice = `arn:aws:iam::${first.spec.account}:user/alice`;
  const ecr = new ECRClient({ ...org.clientConfig(first.spec.account, first.spec.region), maxAttempts: 5 });
  const imageIds = victims.map((imageDigest) => ({ imageDigest }));
  const reader = new OrgBreakerReader(documentClient(state.hubClient), ORG_NAMES.stateTable);
  try {
    first.cloud.publish(cloudTrailBatchDelete(BURST_REPOSITORY, victims, imageIds, alice, first.spec));
    const burstAt = Date.now();
    await ecr.send(new BatchDeleteImageCommand({ repositoryName: BURST_REPOSITORY, imageIds }));
    const opened = await until(
      'the organization breaker to open',
      () => reader.firstOpen(new Date()),
      120_000,
    );
    const seenAt = Date.now();
    const openedAt = Date.parse(opened.openedAt ?? '');
    if (Number.isNaN(openedAt))
      throw new Error(`org breaker: the open breaker has no openedAt (${JSON.stringify(opened)})`);

    // Both spokes get a push that leaves one image too many, at once.
    const pushedAt = Date.now();
    for (const { cloud } of spokes) push(cloud, REPOSITORY, 'after-trip');
    const refusals = await Promise.all(
      spokes.map(async ({ spec, cloud }) => {
        const run = await until(
          `${spec.account}/${spec.region}'s worker to run on ${REPOSITORY}`,
          () => cleanupRun(cloud, REPOSITORY, pushedAt),
          STOP_WITHIN_MS * 2,
        );
        if (run.record.outcome !== 'breaker-open')
          throw new Error(
            `org breaker: ${spec.account}/${spec.region}'s worker ran ${REPOSITORY} with outcome ${String(run.record.outcome)}, not breaker-open (expired ${String(run.record.expired)})`,
          );
        return { spec, cloud, run };
      }),
    );
    await org.settle();
    let deletedAfterTrip = 0;
    const out: SpokeRefusal[] = refusals.map(({ spec, cloud, run }) => {
      const imagesLeft = cloud.ecr.imageCount(REPOSITORY);
      deletedAfterTrip += KEEP + 1 - imagesLeft;
      return {
        env: `${spec.account} ${spec.region}`,
        refusedMs: run.at - openedAt,
        pushToRefusedMs: run.at - pushedAt,
        deferred: Number(run.record.deferred ?? 0),
        imagesLeft,
      };
    });
    return {
      synthMs: state.synthMs,
      burstToOpenMs: openedAt - burstAt,
      seenMs: seenAt - openedAt,
      reason: opened.reason ?? '',
      refusals: out,
      deletedAfterTrip,
    };
  } finally {
    ecr.destroy();
  }
}
