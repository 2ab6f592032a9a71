/**
 * `ecr-steward run` over many repositories in one process, against a real DynamoDB API (dynalite), the local
 * cloud's ECR emulator and its ECS and Lambda services, every request counted at the server: exact deletions per
 * repository, the in-use sources read once per run (and again past the reuse window), each run planned on the
 * repository as it is when it runs (an image deleted since the preview keeps a count rule exact), and an
 * unreadable in-use source refusing every delete. The CLI itself runs as a person runs it (a child process); the
 * window and the changes between preview and run are driven through the same LiveSession in this process.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { runCommand, shareBudget } from '../../cli/commands/run.js';
import { AuditStore } from '../../functions/shared/audit/store.js';
import { validateConfig } from '../../functions/shared/config/load.js';
import { EcrEmulator, ociImageManifest } from '../../local/ecr-emulator.js';
import { type LocalServer, ServiceError, type ServiceHandler, startLocalServer } from '../../local/server.js';
import { EcsService, LambdaService } from '../../local/services.js';
import { createHoldsTable, DUMMY_CREDENTIALS, type Dynamo, startDynamo } from '../support/dynamo.js';
import { removeTempFiles, runCli, tempFiles } from './run-cli.js';

/** The confirmation prompt, answered by the test: what was asked, and what to answer. */
const prompt = vi.hoisted(() => ({
  asked: [] as string[],
  answer: '',
  /** What happens in the world while the prompt is open. */
  meanwhile: undefined as (() => void) | undefined,
}));
vi.mock('node:readline/promises', () => ({
  createInterface: () => ({
    question: async (text: string) => {
      prompt.asked.push(text);
      prompt.meanwhile?.();
      prompt.meanwhile = undefined;
      return prompt.answer;
    },
    close: () => undefined,
  }),
}));

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const HOUR_MS = 3_600_000;
const MANAGED = ['app/a', 'app/b', 'app/c'];

const CONFIG = {
  mode: 'dry-run',
  selections: [
    {
      repositories: ['app/*'],
      lifecyclePolicy: {
        rules: [
          {
            rulePriority: 1,
            description: 'keep the newest 2',
            selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 2 },
            action: { type: 'expire' },
          },
        ],
      },
    },
  ],
  inUse: { ecs: { enabled: true, taskDefinitionRevisions: 0 }, lambda: { enabled: true } },
};

interface Request {
  readonly service: string;
  readonly op: string;
  readonly input: Record<string, unknown>;
}

let db: Dynamo;
let server: LocalServer;
let cwd: string;
let env: Record<string, string | undefined>;
let emulator: EcrEmulator;
let ecs: EcsService;
let requests: Request[];
let ecsFails: boolean;
let tables = 0;
const handlers: Parameters<typeof startLocalServer>[0]['handlers'] = {};

/** Every request the server answered for a service (and operation). */
const calls = (service: string, op?: string) =>
  requests.filter((r) => r.service === service && (op === undefined || r.op === op));
/** DescribeImages that list a repository (no imageIds), as the plan reads it. */
const listings = (repository: string) =>
  calls('ecr', 'DescribeImages').filter((r) => r.input.repositoryName === repository && !r.input.imageIds);
const counted =
  (service: string, handle: ServiceHandler): ServiceHandler =>
  (op, input, raw) => {
    requests.push({ service, op, input });
    return handle(op, input, raw);
  };
const tagsOf = (repository: string) =>
  emulator
    .images(repository)
    .map((i) => i.tags.join(','))
    .sort();
/** A delete made outside ECR Steward (a person, another tool). */
const deleteElsewhere = (repositoryName: string, imageDigest: string) =>
  emulator.handle('BatchDeleteImage', { repositoryName, imageIds: [{ imageDigest }] }, {
    path: '/',
    method: 'POST',
    headers: {},
    body: '',
  } as never);
const uri = (repository: string, digest: string) =>
  `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${repository}@${digest}`;

beforeAll(async () => {
  db = await startDynamo();
  server = await startLocalServer({ handlers });
  cwd = await tempFiles({ 'steward.config.json': CONFIG });
}, 30_000);

afterAll(async () => {
  await server?.close();
  await db?.close();
  await removeTempFiles();
});

/** A registry of three managed repositories (v1…v5, v5 newest) and an unmanaged one; fresh tables. */
beforeEach(async () => {
  const base = Date.now() - 48 * HOUR_MS;
  emulator = new EcrEmulator({ accountId: ACCOUNT, region: REGION });
  for (const repository of [...MANAGED, 'other/x']) {
    emulator.createRepository(repository);
    for (let v = 1; v <= 5; v++)
      emulator.putImage(repository, {
        manifest: ociImageManifest(`${repository}-${v}`),
        tags: [`v${v}`],
        pushedAt: new Date(base + v * HOUR_MS),
      });
  }
  ecs = new EcsService({ account: ACCOUNT, region: REGION });
  ecsFails = false;
  requests = [];
  handlers.ecr = counted('ecr', emulator.handle);
  handlers.ecs = counted('ecs', async (op, input) => {
    if (ecsFails)
      throw new ServiceError('AccessDeniedException', 'not authorized to perform ecs:ListClusters', 400);
    return ecs.handle(op, input);
  });
  handlers.lambda = counted('lambda', (op, input, raw) => new LambdaService().handle(op, input, raw));
  tables++;
  const holds = `holds-run-${tables}`;
  await createHoldsTable(db.client, holds);
  const { audit, state } = await db.createTables(`run${tables}`);
  env = {
    AWS_ENDPOINT_URL: server.url,
    AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ECR_STEWARD_REGISTRY_ID: ACCOUNT,
    ECR_STEWARD_CONFIG: join(cwd, 'steward.config.json'),
    AUDIT_TABLE_NAME: audit,
    STATE_TABLE_NAME: state,
    HOLDS_TABLE_NAME: holds,
  };
});

const cli = (...args: string[]) => runCli(['run', ...args], { cwd, env });

describe('ecr-steward run over many repositories', () => {
  it('cleans every managed repository with --all, reading the in-use sources once per run', async () => {
    // Prepare: app/b's v1 runs in ECS
    const running = emulator.images('app/b').find((i) => i.tags.includes('v1'))!.digest;
    ecs.runService('prod', 'web', uri('app/b', running), running);

    // Act
    const out = await cli('--all', '--enforce', '--yes');

    // Assess
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(tagsOf('app/a')).toEqual(['v4', 'v5']);
    expect(tagsOf('app/b')).toEqual(['v1', 'v4', 'v5']);
    expect(tagsOf('app/c')).toEqual(['v4', 'v5']);
    expect(tagsOf('other/x')).toEqual(['v1', 'v2', 'v3', 'v4', 'v5']);
    expect(calls('ecs', 'ListClusters')).toHaveLength(1);
    expect(calls('lambda')).toHaveLength(1);
    // Each repository listed for its preview and again for its run; described once (from the registry's list).
    for (const repository of MANAGED) expect(listings(repository)).toHaveLength(2);
    expect(calls('ecr', 'DescribeRepositories')).toHaveLength(1);
    expect(listings('other/x')).toHaveLength(0);
    expect(
      calls('ecr', 'BatchDeleteImage')
        .map((r) => r.input.repositoryName)
        .sort(),
    ).toEqual(MANAGED);
    const lines = out.stdout.split('\n');
    expect(lines.filter((l) => l.startsWith('ECR Steward plan for '))).toHaveLength(3);
    expect(lines.filter((l) => /^app\/[abc]: /.test(l))).toEqual([
      'app/a: done: expired 3, archived 0, deferred 0, failures 0',
      'app/b: done: expired 2, archived 0, deferred 0, failures 0',
      'app/c: done: expired 3, archived 0, deferred 0, failures 0',
    ]);
    expect(lines.find((l) => l.startsWith('total: '))).toMatch(
      /^total: 3 repositories \(0 not done\): expired 8, archived 0, deferred 0, failures 0; \d+ API calls$/,
    );
  }, 60_000);

  it('takes --repository more than once and refuses to delete without --yes when not in a terminal', async () => {
    const out = await cli('--repository', 'app/a', '--repository', 'app/c', '--enforce');

    expect(out.code).toBe(2);
    expect(out.stderr).toContain('refusing to delete without confirmation: run in a terminal or pass --yes');
    expect(out.stdout).toContain('ECR Steward plan for app/a');
    expect(out.stdout).toContain('ECR Steward plan for app/c');
    expect(out.stdout).not.toContain('app/b');
    expect(calls('ecr', 'BatchDeleteImage')).toHaveLength(0);
    for (const repository of MANAGED) expect(tagsOf(repository)).toEqual(['v1', 'v2', 'v3', 'v4', 'v5']);
  }, 60_000);

  it('says what one repository would lose in dry-run, as it always did', async () => {
    const out = await cli('--repository', 'app/a');

    expect(out.code).toBe(0);
    expect(out.stdout.split('\n').at(-2)).toBe(
      'dry-run: nothing deleted. Add --enforce to delete 3 image(s).',
    );
    expect(calls('ecs', 'ListClusters')).toHaveLength(1);
  }, 60_000);

  it('deletes nothing in any repository when an in-use source cannot be read, and reads it once', async () => {
    ecsFails = true;

    const out = await cli('--all', '--enforce', '--yes');

    expect(out.code).toBe(1);
    expect(calls('ecs', 'ListClusters')).toHaveLength(1);
    expect(calls('ecr', 'BatchDeleteImage')).toHaveLength(0);
    for (const repository of MANAGED) {
      expect(tagsOf(repository)).toEqual(['v1', 'v2', 'v3', 'v4', 'v5']);
      expect(out.stdout).toContain(
        `${repository}: in-use-unavailable: in-use source ecs could not be read: not authorized to perform ecs:ListClusters; nothing is deleted in this run (fail safe)`,
      );
    }
  }, 60_000);

  it('rejects --all with --repository, and neither', async () => {
    expect(await cli('--all', '--repository', 'app/a')).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('run takes --repository or --all, not both'),
    });
    expect(await cli()).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('run needs --repository <name> (repeatable) or --all'),
    });
    expect(requests).toEqual([]);
  }, 60_000);

  it('deletes by no config but one named: --enforce without --config or ECR_STEWARD_CONFIG is refused before any call', async () => {
    // Prepare: the checkout's example config would be the fallback
    const unnamed = { ...env, ECR_STEWARD_CONFIG: undefined };

    // Act
    const out = await runCli(['run', '--all', '--enforce', '--yes'], { cwd, env: unnamed });

    // Assess
    expect(out).toMatchObject({
      code: 2,
      stderr: expect.stringContaining(
        'run deletes only by a config you name: pass --config FILE (the config your stack was deployed with) or set ECR_STEWARD_CONFIG',
      ),
    });
    expect(requests).toEqual([]);
    for (const repository of MANAGED) expect(tagsOf(repository)).toEqual(['v1', 'v2', 'v3', 'v4', 'v5']);
  }, 60_000);
});

describe('LiveSession: a run after its preview', () => {
  /** The CLI's session in this process, on the same endpoints, with a clock the test moves. */
  async function session() {
    Object.assign(process.env, env);
    const { LiveSession } = await import('../../cli/live.js');
    let now = Date.now();
    const s = await LiveSession.open(validateConfig(CONFIG), {
      clock: () => now,
      auditTable: env.AUDIT_TABLE_NAME,
      stateTable: env.STATE_TABLE_NAME,
      holdsTable: env.HOLDS_TABLE_NAME,
    });
    const budget = () => ({ remaining: 1000 });
    return {
      preview: (repository: string) =>
        s.cleanup(repository, { mode: 'dry-run', readOnly: true, budget: budget() }),
      enforce: (repository: string) =>
        s.cleanup(repository, { mode: 'enforce', readOnly: false, budget: budget() }),
      later: (ms: number) => {
        now += ms;
      },
    };
  }

  it('plans the run on the repository as it is, with the in-use snapshot of the preview', async () => {
    // Prepare: after the preview (v1, v2, v3 expire), v5 is deleted by someone else
    const s = await session();
    const previewed = await s.preview('app/a');
    expect(previewed.report.planned.expire).toBe(3);
    const v5 = emulator.images('app/a').find((i) => i.tags.includes('v5'))!.digest;
    await deleteElsewhere('app/a', v5);
    s.later(60_000);

    // Act
    const { report } = await s.enforce('app/a');

    // Assess: "keep the newest 2" of what is there keeps v3; one in-use read, one description, two listings
    expect(report.outcome).toBe('done');
    expect(report.expired).toBe(2);
    expect(tagsOf('app/a')).toEqual(['v3', 'v4']);
    expect(listings('app/a')).toHaveLength(2);
    expect(calls('ecr', 'DescribeRepositories')).toHaveLength(1);
    expect(calls('ecs', 'ListClusters')).toHaveLength(1);
    expect(calls('lambda')).toHaveLength(1);
  }, 60_000);

  it("settles another run's PENDING record on what ECR shows when the run starts", async () => {
    // Prepare: after the preview, a worker wrote ahead and deleted the kept v5, then stopped before settling
    const s = await session();
    await s.preview('app/a');
    const v5 = emulator.images('app/a').find((i) => i.tags.includes('v5'))!.digest;
    const audit = new AuditStore(db.doc, env.AUDIT_TABLE_NAME!);
    await audit.record({
      registryId: ACCOUNT,
      region: REGION,
      repository: 'app/a',
      digest: v5,
      evidence: 'steward-write-ahead',
      status: 'PENDING',
      at: new Date().toISOString(),
      tags: ['v5'],
      actor: { type: 'ecr-steward', runId: 'worker-1', rulePriority: 1, reasons: ['rule 1'] },
    });
    await deleteElsewhere('app/a', v5);

    // Act
    const { report } = await s.enforce('app/a');

    // Assess
    expect(report.expired).toBe(2);
    expect(
      await audit.get({ registryId: ACCOUNT, region: REGION, repository: 'app/a', digest: v5 }),
    ).toMatchObject({ status: 'DELETED', evidence: expect.arrayContaining(['settled']) });
    expect(listings('app/a')).toHaveLength(2);
  }, 60_000);

  it('reads the in-use sources again past the window: an image in use since is kept', async () => {
    // Prepare
    const s = await session();
    await s.preview('app/c');
    const v1 = emulator.images('app/c').find((i) => i.tags.includes('v1'))!.digest;
    ecs.runService('prod', 'api', uri('app/c', v1), v1);
    s.later(5 * 60_000 + 1);

    // Act
    const { report } = await s.enforce('app/c');

    // Assess
    expect(report.expired).toBe(2);
    expect(tagsOf('app/c')).toEqual(['v1', 'v4', 'v5']);
    expect(listings('app/c')).toHaveLength(2);
    expect(calls('ecs', 'ListClusters')).toHaveLength(2);
  }, 60_000);
});

describe('ecr-steward run: the confirmation in a terminal', () => {
  /** runCommand in this process, as in a terminal; what it printed, and its exit (0 when it returned). */
  async function inTerminal(answer: string, ...repository: string[]) {
    Object.assign(process.env, env);
    prompt.asked = [];
    prompt.answer = answer;
    const tty = Object.getOwnPropertyDescriptor(process.stdin, 'isTTY');
    Object.defineProperty(process.stdin, 'isTTY', { value: true, configurable: true });
    let printed = '';
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      printed += String(chunk);
      return true;
    });
    try {
      await runCommand({ repository, concurrency: '4', enforce: true });
      return { printed, exit: 0 };
    } catch (e) {
      return { printed, exit: (e as { exitCode?: number }).exitCode ?? -1 };
    } finally {
      write.mockRestore();
      if (tty) Object.defineProperty(process.stdin, 'isTTY', tty);
      else delete (process.stdin as { isTTY?: boolean }).isTTY;
    }
  }

  it('asks for the repository name for one repository, as it always did', async () => {
    const { exit } = await inTerminal('app/a', 'app/a');

    expect(prompt.asked).toEqual(['Delete 3 image(s) in app/a? Type the repository name to confirm: ']);
    expect(exit).toBe(0);
    expect(tagsOf('app/a')).toEqual(['v4', 'v5']);
  }, 60_000);

  it('asks for the number of images for several repositories and deletes nothing on another answer', async () => {
    const { exit, printed } = await inTerminal('app/a', 'app/a', 'app/b');

    expect(prompt.asked).toEqual([
      'Delete 6 image(s) in 2 repositories? Type 6 (the number of images) to confirm: ',
    ]);
    expect(exit).toBe(1);
    expect(printed).toContain('not confirmed: nothing deleted\n');
    expect(calls('ecr', 'BatchDeleteImage')).toHaveLength(0);
    for (const repository of MANAGED) expect(tagsOf(repository)).toEqual(['v1', 'v2', 'v3', 'v4', 'v5']);
  }, 60_000);

  it('reads the in-use sources again after the answer: a service started while the prompt was open keeps its image', async () => {
    // Prepare: while the person reads the plan, a service starts on app/a's v1 (which the plan expires)
    const v1 = emulator.images('app/a').find((i) => i.tags.includes('v1'))!.digest;
    prompt.meanwhile = () => ecs.runService('prod', 'late', uri('app/a', v1), v1);

    // Act
    const { exit } = await inTerminal('app/a', 'app/a');

    // Assess: read once before the preview and once after the answer; v1 is kept
    expect(exit).toBe(0);
    expect(tagsOf('app/a')).toEqual(['v1', 'v4', 'v5']);
    expect(calls('ecs', 'ListClusters')).toHaveLength(2);
  }, 60_000);

  it('deletes in every repository once the number is typed', async () => {
    const { exit } = await inTerminal('6', 'app/a', 'app/b');

    expect(exit).toBe(0);
    expect(tagsOf('app/a')).toEqual(['v4', 'v5']);
    expect(tagsOf('app/b')).toEqual(['v4', 'v5']);
    expect(tagsOf('app/c')).toEqual(['v1', 'v2', 'v3', 'v4', 'v5']);
  }, 60_000);
});

describe('shareBudget', () => {
  it.each([
    [[3, 2, 3], 1000, [3, 2, 3]],
    [[3, 2, 3], 6, [3, 2, 1]],
    [[3, 2, 3], 3, [3, 0, 0]],
    [[0, 5], 4, [0, 4]],
  ])('shares %j out of %i as %j, in repository order', (needs, bound, shares) => {
    expect(shareBudget(needs, bound)).toEqual(shares);
  });
});
