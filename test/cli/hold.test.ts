/**
 * `ecr-steward hold add|list|remove`, run as a person runs it (a child process) against a real DynamoDB API
 * (dynalite), the local cloud's ECR emulator and an STS stub, all through the SDK's standard endpoint
 * variables: what is written to the holds and audit tables, what is printed, and that bad input exits 2 with
 * one line and writes nothing.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { holdEvents } from '../../functions/shared/holds/audit.js';
import { HoldsStore, type StoredHold } from '../../functions/shared/holds/store.js';
import { EcrEmulator, ociImageManifest } from '../../local/ecr-emulator.js';
import { type LocalServer, startLocalServer } from '../../local/server.js';
import { type StsStub, startStsStub } from '../holds/sts-stub.js';
import { createHoldsTable, DUMMY_CREDENTIALS, type Dynamo, startDynamo } from '../support/dynamo.js';
import { type CliResult, removeTempFiles, runCli, tempFiles } from './run-cli.js';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const REPO = 'services/orders';
const ALICE = 'arn:aws:iam::123456789012:user/alice';
const BOB = 'arn:aws:sts::123456789012:assumed-role/oncall/bob';

let db: Dynamo;
let server: LocalServer;
let sts: StsStub;
let emulator: EcrEmulator;
let cwd: string;
let digest: string;
let counter = 0;

beforeAll(async () => {
  db = await startDynamo();
  emulator = new EcrEmulator({ accountId: ACCOUNT, region: REGION });
  emulator.createRepository(REPO);
  emulator.createRepository('web');
  digest = emulator.putImage(REPO, { manifest: ociImageManifest('orders-1'), tags: ['v1'] });
  server = await startLocalServer({ handlers: { ecr: emulator.handle } });
  sts = await startStsStub(ALICE, ACCOUNT);
  // No config file in the working directory: `hold list` then shows the table's holds alone unless told.
  cwd = await tempFiles({});
}, 30_000);

afterAll(async () => {
  await server?.close();
  await sts?.close();
  await db?.close();
  await removeTempFiles();
});

interface Fixture {
  readonly holds: string;
  readonly audit: string;
  readonly store: HoldsStore;
  cli(...args: string[]): Promise<CliResult>;
}

/** Fresh holds and audit tables, and the CLI pointed at them and at the local ECR and STS. */
async function fixture(): Promise<Fixture> {
  counter++;
  const holds = `holds-cli-${counter}`;
  await createHoldsTable(db.client, holds);
  const { audit } = await db.createTables(`holdcli${counter}`);
  const env = {
    AWS_ENDPOINT_URL: server.url,
    AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
    AWS_ENDPOINT_URL_STS: sts.url,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ECR_STEWARD_REGISTRY_ID: ACCOUNT,
    ECR_STEWARD_CONFIG: undefined,
    HOLDS_TABLE_NAME: holds,
    AUDIT_TABLE_NAME: audit,
  };
  return {
    holds,
    audit,
    store: new HoldsStore(db.doc, holds, audit),
    cli: (...args) => runCli(['hold', ...args], { cwd, env }),
  };
}

describe('ecr-steward hold add', () => {
  it('holds one image and records the add with the caller when the digest is in the repository', async () => {
    // Prepare
    const f = await fixture();
    sts.arn = ALICE;

    // Act
    const result = await f.cli('add', REPO, '--digest', digest, '--reason', 'audit 2026-Q2', '--json');

    // Assess
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const added = JSON.parse(result.stdout) as StoredHold;
    expect(added).toEqual({
      id: expect.stringMatching(/^\d{8}T\d{6}-[0-9a-z]{6}$/),
      registryId: ACCOUNT,
      region: REGION,
      repository: REPO,
      digest,
      reason: 'audit 2026-Q2',
      principal: ALICE,
      createdAt: expect.any(String),
    });
    expect(await f.store.forRepository({ registryId: ACCOUNT, region: REGION, repository: REPO })).toEqual([
      added,
    ]);
    const events = await holdEvents(db.doc, f.audit, added.id);
    expect(events).toEqual([
      expect.objectContaining({
        kind: 'hold',
        action: 'add',
        id: added.id,
        repository: REPO,
        digest,
        reason: 'audit 2026-Q2',
        principal: ALICE,
        at: added.createdAt,
      }),
    ]);
  }, 30_000);

  it('holds a tag and a whole repository, printing the hold, when the tag is on no image yet and a duration is given', async () => {
    // Prepare
    const f = await fixture();
    sts.arn = ALICE;
    const before = Date.now();

    // Act
    const tag = await f.cli('add', REPO, '--tag', 'release-next', '--reason', 'next release');
    const whole = await f.cli('add', 'web', '--reason', 'incident 42', '--until', '7d');

    // Assess
    expect(tag.code).toBe(0);
    expect(tag.stdout).toMatch(
      new RegExp(
        `^hold \\d{8}T\\d{6}-[0-9a-z]{6} added: ${REPO}:release-next \\(follows the tag\\), in force until removed, by ${ALICE}: next release\\n$`,
      ),
    );
    expect(whole.code).toBe(0);
    const [held] = await f.store.forRepository({ registryId: ACCOUNT, region: REGION, repository: 'web' });
    expect(held).toMatchObject({ repository: 'web', reason: 'incident 42' });
    expect(held?.digest).toBeUndefined();
    expect(held?.tag).toBeUndefined();
    const until = Date.parse(held?.expiresAt ?? '');
    expect(until - before).toBeGreaterThanOrEqual(7 * 86_400_000);
    expect(until - Date.now()).toBeLessThanOrEqual(7 * 86_400_000);
    expect(whole.stdout).toBe(
      `hold ${held?.id} added: web (whole repository), in force until ${held?.expiresAt}, by ${ALICE}: incident 42\n`,
    );
  }, 30_000);

  it.each([
    [
      'an unknown repository',
      ['add', 'services/none', '--reason', 'x'],
      `error: repository "services/none" not found in registry ${ACCOUNT} (${REGION})`,
    ],
    [
      'a digest not in the repository',
      ['add', REPO, '--digest', `sha256:${'b'.repeat(64)}`, '--reason', 'x'],
      `error: --digest sha256:${'b'.repeat(64)}: no such image in ${REPO}`,
    ],
    [
      'a malformed duration',
      ['add', REPO, '--reason', 'x', '--until', '2w'],
      'error: --until "2w": a duration is minutes, hours or days: 30m, 12h, 7d',
    ],
    [
      'a malformed date',
      ['add', REPO, '--reason', 'x', '--until', 'next tuesday'],
      'error: --until "next tuesday": use a duration (30m, 12h, 7d) or an ISO-8601 time with a zone (e.g. 2026-11-01T00:00:00Z)',
    ],
    [
      'a date in the past',
      ['add', REPO, '--reason', 'x', '--until', '2020-01-01'],
      'error: --until "2020-01-01": 2020-01-01T00:00:00.000Z has passed; a hold must end later',
    ],
    [
      'both --digest and --tag',
      ['add', REPO, '--digest', `sha256:${'a'.repeat(64)}`, '--tag', 'v1', '--reason', 'x'],
      'error: give --digest or --tag, not both (neither: the whole repository)',
    ],
    [
      'a missing --reason',
      ['add', REPO, '--tag', 'v1'],
      'error: --reason is required: say why the images must stay',
    ],
    [
      'a malformed digest',
      ['add', REPO, '--digest', 'sha256:abc', '--reason', 'x'],
      'error: --digest "sha256:abc": not an image digest: expected sha256: followed by 64 hex digits',
    ],
  ])(
    'exits 2 with one line and writes nothing when given %s',
    async (_what, args, message) => {
      // Prepare
      const f = await fixture();

      // Act
      const result = await f.cli(...args);

      // Assess
      expect(result).toEqual({ code: 2, stdout: '', stderr: `${message}\n` });
      expect(await db.scan(f.holds)).toEqual([]);
      expect(await db.scan(f.audit)).toEqual([]);
    },
    30_000,
  );
});

describe('ecr-steward hold list', () => {
  it("lists the table's holds with the config's static holds, marking config and expired ones, when given a repository and a config", async () => {
    // Prepare
    const f = await fixture();
    const scope = { registryId: ACCOUNT, region: REGION };
    const live = await f.store.add(
      { ...scope, repository: REPO, tag: 'v1', reason: 'rollback target', principal: ALICE },
      new Date('2026-01-01T00:00:00.000Z'),
    );
    const old = await f.store.add(
      {
        ...scope,
        repository: REPO,
        digest,
        reason: 'last week',
        principal: BOB,
        expiresAt: '2026-01-02T00:00:00.000Z',
      },
      new Date('2026-01-01T00:00:01.000Z'),
    );
    const other = await f.store.add(
      { ...scope, repository: 'web', reason: 'incident 42', principal: BOB },
      new Date('2026-01-01T00:00:02.000Z'),
    );
    const dir = await tempFiles({
      'steward.config.json': {
        selections: [
          {
            name: 'services',
            repositories: ['services/*'],
            lifecyclePolicy: 'fromRepository',
            steward: { holds: [{ tag: 'release', reason: 'the release line', owner: 'platform-team' }] },
          },
          {
            name: 'web',
            repositories: ['web'],
            lifecyclePolicy: 'fromRepository',
            steward: { holds: [{ tag: 'prod', reason: 'prod', owner: 'web-team' }] },
          },
        ],
      },
    });
    const config = join(dir, 'steward.config.json');

    // Act
    const text = await f.cli('list', REPO, '--config', config);
    const json = await f.cli('list', REPO, '--config', config, '--json');
    const all = await f.cli('list', '--json');

    // Assess
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')).toEqual([
      expect.stringMatching(/^ID +IMAGE +STATUS +BY +REASON$/),
      expect.stringMatching(
        new RegExp(
          `^${live.id} +${REPO}:v1 \\(follows the tag\\) +in force until removed +${ALICE} +rollback target$`,
        ),
      ),
      expect.stringMatching(
        new RegExp(`^${old.id} +${REPO}@${digest} +expired 2026-01-02T00:00:00.000Z +${BOB} +last week$`),
      ),
      expect.stringMatching(
        new RegExp(
          `^config \\(selection services\\) +${REPO}:release \\(follows the tag\\) +in force until removed +platform-team +the release line$`,
        ),
      ),
      '',
    ]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([
      { ...live, source: 'table', expired: false },
      { ...old, source: 'table', expired: true },
      {
        source: 'config',
        selection: 'services',
        repository: REPO,
        tag: 'release',
        reason: 'the release line',
        owner: 'platform-team',
        expired: false,
      },
    ]);
    expect(all.code).toBe(0);
    expect((JSON.parse(all.stdout) as { id: string }[]).map((h) => h.id)).toEqual([
      live.id,
      old.id,
      other.id,
    ]);
  }, 30_000);

  it('says there are none when the table is empty and no config is found', async () => {
    // Prepare
    const f = await fixture();

    // Act
    const result = await f.cli('list');

    // Assess
    expect(result).toEqual({ code: 0, stdout: 'no holds\n', stderr: '' });
  }, 30_000);
});

describe('ecr-steward hold remove', () => {
  it('lifts a hold and records who removed it, and why, in the audit table when given its id', async () => {
    // Prepare
    const f = await fixture();
    const held = await f.store.add(
      {
        registryId: ACCOUNT,
        region: REGION,
        repository: REPO,
        tag: 'v1',
        reason: 'rollback target',
        principal: ALICE,
      },
      new Date('2026-01-01T00:00:00.000Z'),
    );
    sts.arn = BOB;

    // Act
    const result = await f.cli('remove', held.id, '--reason', 'rolled forward');

    // Assess
    expect(result).toEqual({
      code: 0,
      stdout: `hold ${held.id} removed by ${BOB}: ${REPO}:v1 (follows the tag) (placed by ${ALICE} at 2026-01-01T00:00:00.000Z: rollback target)\n`,
      stderr: '',
    });
    expect(await db.scan(f.holds)).toEqual([]);
    const events = await holdEvents(db.doc, f.audit, held.id);
    expect(events.map((e) => [e.action, e.principal, e.heldBy, e.note])).toEqual([
      ['add', ALICE, ALICE, undefined],
      ['remove', BOB, ALICE, 'rolled forward'],
    ]);
  }, 30_000);

  it.each([
    [
      'an unknown id',
      '20260101T000000-zzzzzz',
      'error: no hold 20260101T000000-zzzzzz: `ecr-steward hold list` shows the holds',
    ],
    [
      'a malformed id',
      'abc',
      'error: "abc": not a hold id (e.g. 20260601T120000-k3x9qa; `hold list` shows them)',
    ],
    [
      'the id of a config hold',
      'config',
      'error: "config": a config hold is lifted by removing it from steward.holds in the config',
    ],
  ])(
    'exits 2 with one line and writes nothing when given %s',
    async (_what, id, message) => {
      // Prepare
      const f = await fixture();

      // Act
      const result = await f.cli('remove', id);

      // Assess
      expect(result).toEqual({ code: 2, stdout: '', stderr: `${message}\n` });
      expect(await db.scan(f.audit)).toEqual([]);
    },
    30_000,
  );
});
