import type { ChildProcess } from 'node:child_process';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { SNSClient } from '@aws-sdk/client-sns';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type CleanupReport, cleanupRepository } from '../functions/cleanup/core.js';
import { cleanupPorts } from '../functions/cleanup/run.js';
import { ECR_LIMITS } from '../functions/shared/adapters/ecr.js';
import { type DeleteSignal, mergeSignal } from '../functions/shared/audit/records.js';
import { documentClient } from '../functions/shared/audit/store.js';
import { validateConfig } from '../functions/shared/config/load.js';
import { CLIENT_DEFAULTS, DYNAMODB_CLIENT_DEFAULTS } from '../functions/shared/runtime/clients.js';
import { StewardPorts } from '../functions/shared/runtime/ports.js';
import { type DynamoProxy, startDynamoProxy } from '../local/dynamo-proxy.js';
import { EcrEmulator, ociImageManifest } from '../local/ecr-emulator.js';
import { FaultInjector } from '../local/faults.js';
import { type LocalServer, startLocalServer } from '../local/server.js';
import { createHoldsTable, createStewardTables } from '../test/support/dynamo.js';
import { startDynaliteProcess } from './dynalite.js';
import { defineBenchmark, type Figure } from './harness.js';

/**
 * Deletion governance at scale: 10,000 images of one repository expire at once under a 24-hour notice.
 * - notice: the run that plans them records 10,000 SCHEDULED notices and publishes one SNS notice;
 * - window: a push an hour later re-plans the repository and must leave every notice standing;
 * - due: 25 hours later the due-deletion processor finds the repository (the byDue index, as the sweep
 *   handler's `{kind:"due"}` does) and its cleanup archives the 10,000 (softDelete archive) or, in a second
 *   repository with its own empty tables, deletes them (softDelete off).
 * The purge of archived images is left out: it deletes through the same write-ahead path as the softDelete-off
 * due run (safeDelete: PENDING, BatchDeleteImage, DELETED), so it costs what that run costs per image, and
 * timing it too would add about a minute to `npm run bench`.
 * The real cleanupRepository runs over the real wiring (cleanupPorts over StewardPorts: EcrRegistry,
 * AuditStore, breaker, snapshots, counters, holds). ECR is the emulator over HTTP; DynamoDB is dynalite in a
 * process of its own (bench/dynalite-process.mjs), with the stack's tables and indexes, behind the local proxy
 * (local/dynamo-proxy.ts: it runs TransactWriteItems, which dynalite lacks). Every request is counted where it
 * arrives (the local server's log, the DynamoDB proxy), retries included. SNS is a stand-in that keeps what
 * was published.
 */

const KEEP = 100;
const DUE = 10_000;
const IMAGES = DUE + KEEP;
const NOTICE_HOURS = 24;
const PURGE_AFTER_DAYS = 30;
const HOUR_MS = 3_600_000;
const REGION = 'us-east-1';
const ARCHIVE_REPO = 'bench/governance-archive';
const DELETE_REPO = 'bench/governance-delete';

const rule = {
  rulePriority: 1,
  description: `Keep the last ${KEEP} builds`,
  selection: {
    tagStatus: 'tagged',
    tagPatternList: ['build-*'],
    countType: 'imageCountMoreThan',
    countNumber: KEEP,
  },
  action: { type: 'expire' },
};

const CONFIG = validateConfig(
  {
    mode: 'enforce',
    bounds: { maxDeletesPerRun: 100_000, maxDeletesPerRepository: 100_000 },
    governance: {
      notice: { hours: NOTICE_HOURS },
      softDelete: { mode: 'archive', purgeAfterDays: PURGE_AFTER_DAYS },
    },
    selections: [
      { name: 'archive', repositories: [ARCHIVE_REPO], lifecyclePolicy: { rules: [rule] } },
      {
        name: 'delete',
        repositories: [DELETE_REPO],
        lifecyclePolicy: { rules: [rule] },
        governance: { softDelete: { mode: 'off' } },
      },
    ],
    // No ECS or Lambda to ask: the in-use read is not what this measures (api-calls and local-latency count it).
    inUse: { ecs: { enabled: false }, lambda: { enabled: false } },
    // The breaker is read as in the stack; thresholds far above the run so it never opens.
    alerts: {
      thresholds: [
        { scope: 'repository', window: '5m', maxDeletes: 1_000_000 },
        { scope: 'registry', window: '1h', maxDeletes: 1_000_000 },
      ],
    },
  },
  'bench/governance.ts',
);

type PhaseName = 'notice' | 'window' | 'lookup' | 'archive' | 'delete';

interface Phase {
  readonly wallMs: number;
  /** Requests that reached the ECR emulator, by operation. */
  readonly ecr: Record<string, number>;
  /** Requests that reached dynalite, by operation. */
  readonly dynamo: Record<string, number>;
  readonly publishes: number;
  readonly report?: CleanupReport | undefined;
}

interface State {
  readonly ecr: EcrEmulator;
  readonly server: LocalServer;
  /** dynalite's process. */
  readonly dynalite: ChildProcess;
  /**
   * The local DynamoDB proxy in front of it (it runs TransactWriteItems, which dynalite lacks); its injector,
   * with no fault set, counts the requests the bench's clients make (see dynamoCounts).
   */
  readonly proxy: {
    readonly dynamo: DynamoProxy;
    readonly counter: FaultInjector;
    last: Record<string, number>;
  };
  /** One factory per repository, each over its own empty tables, so neither run reads the other's records. */
  readonly ports: { readonly archive: StewardPorts; readonly delete: StewardPorts };
  readonly clients: { ecr: ECRClient; ecs: ECSClient; lambda: LambdaClient; ddb: DynamoDBClient };
  /** ECR requests that reached the local server, by operation. */
  readonly wire: Map<string, number>;
  readonly published: { Subject?: string; Message?: string }[];
  readonly doc: DynamoDBDocumentClient;
  /** The emulator's clock, moved with each run's `now`. */
  readonly clock: { now: Date };
}

interface Result {
  readonly phases: Readonly<Record<PhaseName, Phase>>;
  /** The last notice published (the archive repository's), to show it was real. */
  readonly subject: string;
  /** Records the due lookup read to find the one repository. */
  readonly dueRecords: number;
  readonly left: { archive: number; archived: number; delete: number };
}

const count = (m: Map<string, number>, key: string) => m.set(key, (m.get(key) ?? 0) + 1);
const sorted = (m: Map<string, number>) => Object.fromEntries([...m].sort(([a], [b]) => a.localeCompare(b)));
const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

/** `build-0` … `build-10099`, one an hour, all in the past: the oldest 10,000 are over the rule's count. */
function populate(ecr: EcrEmulator, name: string, now: number): void {
  ecr.createRepository(name);
  for (let i = 0; i < IMAGES; i++)
    ecr.putImage(name, {
      manifest: ociImageManifest(`${name}/build-${i}`),
      tags: [`build-${i}`],
      pushedAt: new Date(now - (IMAGES - i) * HOUR_MS),
    });
}

/** DynamoDB requests by operation since the last call (the proxy counts them as they arrive). */
async function dynamoCounts(proxy: State['proxy']): Promise<Record<string, number>> {
  const total = Object.fromEntries(
    Object.entries(proxy.counter.snapshot())
      .filter(([op]) => op.startsWith('dynamodb:'))
      .map(([op, c]) => [op.slice('dynamodb:'.length), c.requests]),
  );
  const since = Object.fromEntries(
    Object.entries(total)
      .map(([op, n]) => [op, n - (proxy.last[op] ?? 0)] as const)
      .filter(([, n]) => n > 0),
  );
  proxy.last = total;
  return since;
}

/** Runs `work` with the clock at `now`, counting what reached ECR, DynamoDB and SNS meanwhile. */
async function phase(
  state: State,
  now: Date,
  work: () => Promise<CleanupReport | undefined>,
): Promise<Phase> {
  state.clock.now = now;
  state.wire.clear();
  await dynamoCounts(state.proxy);
  const publishedBefore = state.published.length;
  const start = process.hrtime.bigint();
  const report = await work();
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  return {
    wallMs,
    ecr: sorted(state.wire),
    dynamo: Object.fromEntries(
      Object.entries(await dynamoCounts(state.proxy)).sort(([a], [b]) => a.localeCompare(b)),
    ),
    publishes: state.published.length - publishedBefore,
    report,
  };
}

/** One cleanup of a repository as the worker runs it (the same wiring), at `now`. */
function cleanup(state: State, repository: string, now: Date, runId: string): Promise<CleanupReport> {
  const ports = repository === ARCHIVE_REPO ? state.ports.archive : state.ports.delete;
  return cleanupRepository(
    CONFIG,
    {
      repository,
      region: REGION,
      runId,
      now,
      trigger: runId.startsWith('push') ? 'push' : 'sweep',
      budget: { remaining: CONFIG.bounds.maxDeletesPerRun },
    },
    cleanupPorts(ports, { accountId: state.ecr.accountId, region: REGION, runId, now }),
  );
}

/** What the sweep handler's `{kind:"due"}` does first: the byDue index, then each repository it names. */
async function dueRepositories(state: State, now: Date): Promise<{ names: string[]; records: number }> {
  const ports = state.ports.archive;
  const records = await ports.audit.due(now.toISOString());
  const names = [...new Set(records.filter((r) => r.region === REGION).map((r) => r.repository))].sort();
  const out: string[] = [];
  for (const name of names) if (await ports.registry.describeRepository(name)) out.push(name);
  return { names: out, records: records.length };
}

function expect(what: string, ok: boolean, report?: CleanupReport): void {
  if (ok) return;
  const r = report
    ? `; report: outcome ${report.outcome}, scheduled ${report.scheduled}, cancelled ${report.cancelled}, archived ${report.archived}, expired ${report.expired}, purged ${report.purged}, failures ${JSON.stringify(report.failures.slice(0, 3))}, warnings ${JSON.stringify(report.warnings)}, ${report.message ?? ''}`
    : '';
  throw new Error(`governance: ${what}${r}`);
}

/** The archive repository through notice, window and due. */
async function archiveLifecycle(state: State, t0: number) {
  const notice = await phase(state, new Date(t0), () =>
    cleanup(state, ARCHIVE_REPO, new Date(t0), 'notice-a'),
  );
  const n = notice.report!;
  expect(
    `the notice run schedules ${DUE} and deletes nothing`,
    n.outcome === 'done' && n.scheduled === DUE && n.expired === 0 && n.archived === 0,
    n,
  );
  expect(`one SNS notice for ${DUE} images`, notice.publishes === 1);
  const subject = state.published.at(-1)?.Subject ?? '';

  const windowAt = new Date(t0 + HOUR_MS);
  const window = await phase(state, windowAt, () => cleanup(state, ARCHIVE_REPO, windowAt, 'push-a'));
  const w = window.report!;
  expect(
    'a run inside the notice window gives no second notice and removes nothing',
    w.outcome === 'done' && w.scheduled === 0 && w.cancelled === 0 && w.archived === 0 && w.expired === 0,
    w,
  );
  expect('no SNS notice inside the window', window.publishes === 0);

  const dueAt = new Date(t0 + (NOTICE_HOURS + 1) * HOUR_MS);
  let found = { names: [] as string[], records: 0 };
  const lookup = await phase(state, dueAt, async () => {
    found = await dueRepositories(state, dueAt);
    return undefined;
  });
  expect(
    `the due lookup finds ${ARCHIVE_REPO} only (found ${found.names.join(', ')})`,
    found.names.join() === ARCHIVE_REPO,
  );
  const archive = await phase(state, dueAt, () => cleanup(state, ARCHIVE_REPO, dueAt, 'due-a'));
  const a = archive.report!;
  expect(`the due run archives ${DUE}`, a.outcome === 'done' && a.archived === DUE && a.expired === 0, a);
  const archived = state.ecr.images(ARCHIVE_REPO).filter((i) => i.status === 'ARCHIVED').length;
  expect(`${DUE} archived images in ECR (found ${archived})`, archived === DUE);
  return { notice, window, lookup, archive, subject, archived, dueRecords: found.records };
}

/** The softDelete-off repository: notice, then the due run deletes. */
async function deleteLifecycle(state: State, t0: number) {
  // The notice run is measured above. Here its SCHEDULED records, built by the real core and merged by the
  // store's own mergeSignal, are written 25 to a BatchWriteItem call (400 calls instead of 20,000): this
  // saves about a fifth of the benchmark's time, and a record that came out wrong would make the due run
  // below schedule instead of delete, which fails the benchmark.
  const ports = state.ports.delete;
  const wiring = cleanupPorts(ports, {
    accountId: state.ecr.accountId,
    region: REGION,
    runId: 'notice-d',
    now: new Date(t0),
  });
  const signals: DeleteSignal[] = [];
  const n = await cleanupRepository(
    CONFIG,
    {
      repository: DELETE_REPO,
      region: REGION,
      runId: 'notice-d',
      now: new Date(t0),
      trigger: 'sweep',
      budget: { remaining: CONFIG.bounds.maxDeletesPerRun },
    },
    {
      ...wiring,
      audit: {
        ...wiring.audit,
        record: async (signal) => {
          signals.push(signal);
        },
      },
    },
  );
  expect(
    `the notice run schedules ${DUE} (softDelete off)`,
    n.scheduled === DUE && n.expired === 0 && signals.every((s) => s.status === 'SCHEDULED'),
    n,
  );
  const at = new Date().toISOString();
  const retention = {
    ttlDays: CONFIG.audit.retentionDays,
    plannedTtlDays: CONFIG.audit.plannedRetentionDays,
  };
  const records = signals.map((signal) => mergeSignal(undefined, signal, at, retention)!);
  for (let i = 0; i < records.length; i += 25) {
    let items: Record<string, unknown>[] = records.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
    while (items.length > 0) {
      const out = await state.doc.send(
        new BatchWriteCommand({ RequestItems: { [ports.audit.tableName]: items as never } }),
      );
      items = (out.UnprocessedItems?.[ports.audit.tableName] ?? []) as Record<string, unknown>[];
    }
  }

  const dueAt = new Date(t0 + (NOTICE_HOURS + 1) * HOUR_MS);
  const del = await phase(state, dueAt, () => cleanup(state, DELETE_REPO, dueAt, 'due-d'));
  const d = del.report!;
  expect(`the due run deletes ${DUE}`, d.outcome === 'done' && d.expired === DUE && d.archived === 0, d);
  return del;
}

export default defineBenchmark<State>({
  name: 'governance',
  description: `${DUE.toLocaleString('en-US')} due images in one repository (of ${IMAGES.toLocaleString('en-US')}): ${NOTICE_HOURS} h notice, then archive (softDelete archive) or delete (off); cleanupRepository over the real wiring, ECR emulator + dynalite`,
  runs: 1,
  warmups: 0,
  async setup() {
    const clock = { now: new Date() };
    const ecr = new EcrEmulator({ region: REGION, now: () => clock.now });
    const t = Date.now();
    populate(ecr, ARCHIVE_REPO, t);
    populate(ecr, DELETE_REPO, t);
    const wire = new Map<string, number>();
    const server = await startLocalServer({
      handlers: { ecr: ecr.handle },
      // One line per request: `ecr:DescribeImages 200 3ms`.
      log: (line) => {
        const op = line.split(' ', 1)[0]!;
        if (op.startsWith('ecr:')) count(wire, op.slice(4));
      },
    });
    const { child: db, url: dynaliteUrl } = await startDynaliteProcess();
    const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
    const local = { ...CLIENT_DEFAULTS, region: REGION, endpoint: server.url, credentials };
    const counter = new FaultInjector();
    const dynamo = await startDynamoProxy({ target: dynaliteUrl, faults: counter });
    const ddb = new DynamoDBClient({
      ...DYNAMODB_CLIENT_DEFAULTS,
      region: REGION,
      endpoint: dynamo.url,
      credentials,
    });
    const clients = {
      ecr: new ECRClient(local),
      ecs: new ECSClient(local),
      lambda: new LambdaClient(local),
      ddb,
    };
    const published: { Subject?: string; Message?: string }[] = [];
    // SNS is not what is counted: a stand-in that keeps each Publish (one per repository and run).
    const sns = {
      send: async (command: { input: { Subject?: string; Message?: string } }) => {
        published.push(command.input);
        return { MessageId: String(published.length) };
      },
    } as unknown as SNSClient;
    const doc = documentClient(ddb);
    const factory = async (prefix: string): Promise<StewardPorts> => {
      const tables = { audit: `${prefix}-audit`, state: `${prefix}-state`, holds: `${prefix}-holds` };
      await createStewardTables(ddb, tables);
      await createHoldsTable(ddb, tables.holds);
      return new StewardPorts(CONFIG, {
        tables: { ...tables, noticesTopic: `arn:aws:sns:${REGION}:${ecr.accountId}:bench-notices` },
        clients: { ecr: clients.ecr, ecs: clients.ecs, lambda: clients.lambda, doc, sns },
      });
    };
    const ports = { archive: await factory('bench-archive'), delete: await factory('bench-delete') };
    const proxy = { dynamo, counter, last: {} };
    return { ecr, server, dynalite: db, proxy, ports, clients, wire, published, clock, doc };
  },
  async run(state): Promise<Result> {
    const t0 = Date.now();
    const a = await archiveLifecycle(state, t0);
    const del = await deleteLifecycle(state, t0);
    return {
      phases: {
        notice: a.notice,
        window: a.window,
        lookup: a.lookup,
        archive: a.archive,
        delete: del,
      },
      subject: a.subject,
      dueRecords: a.dueRecords,
      left: {
        archive: state.ecr.imageCount(ARCHIVE_REPO),
        archived: a.archived,
        delete: state.ecr.imageCount(DELETE_REPO),
      },
    };
  },
  describe(result) {
    const { phases, subject, left } = result as Result;
    return (
      `notice "${subject}" (${phases.notice.publishes} published); archived ${phases.archive.report?.archived}, ` +
      `${left.archived} archived of ${left.archive} left; deleted ${phases.delete.report?.expired} (${left.delete} left)`
    );
  },
  figures(result): Figure[] {
    const { phases, dueRecords } = result as Result;
    const list = (o: Record<string, number>) =>
      Object.entries(o)
        .map(([op, n]) => `${op} ${n}`)
        .join(', ') || 'none';
    const perImage = (o: Record<string, number>) => Number((sum(o) / DUE).toPrecision(3));
    const pages = Math.ceil(IMAGES / ECR_LIMITS.describePage);
    const rows: [PhaseName, string, string][] = [
      ['notice', 'notice run', `${DUE} SCHEDULED records, ${phases.notice.publishes} SNS notice`],
      ['window', 'window run', 'a push 1 h later: every notice stands, nothing written per image'],
      [
        'lookup',
        'due lookup',
        `the due processor reads ${dueRecords.toLocaleString('en-US')} records of the byDue index to find 1 repository`,
      ],
      [
        'archive',
        'due: archive',
        `${DUE} archived; UpdateImageStorageClass takes one image, and EcrRegistry.archiveImages makes the calls one at a time`,
      ],
      ['delete', 'due: delete', `${DUE} deleted (softDelete off)`],
    ];
    return rows
      .flatMap(([name, label, what]) => {
        const p = phases[name];
        return [
          { label: `${label} wall`, value: Math.round(p.wallMs), unit: 'ms', detail: what },
          {
            label: `${label} ECR/image`,
            value: perImage(p.ecr),
            detail: `${sum(p.ecr).toLocaleString('en-US')} calls: ${list(p.ecr)}`,
          },
          {
            label: `${label} DynamoDB/image`,
            value: perImage(p.dynamo),
            detail: `${sum(p.dynamo).toLocaleString('en-US')} calls: ${list(p.dynamo)}`,
          },
        ];
      })
      .concat({
        label: 'listing floor',
        value: pages,
        detail: `DescribeImages pages for ${IMAGES.toLocaleString('en-US')} images: every run lists the repository once`,
      });
  },
  async teardown(state) {
    state.clients.ecr.destroy();
    state.clients.ecs.destroy();
    state.clients.lambda.destroy();
    state.clients.ddb.destroy();
    await state.server.close();
    await state.proxy.dynamo.close();
    state.dynalite.disconnect();
  },
});
