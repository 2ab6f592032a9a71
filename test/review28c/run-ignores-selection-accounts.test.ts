/**
 * Review 28c — `ecr-steward run` (and `plan --repository` without --account) ignores a selection's
 * `accounts`/`regions`. README ("Organizations"): "A selection with `accounts`/`regions` applies only there",
 * and the example org config relies on it: "services" is limited to account 222222222222 because in the
 * platform account 333333333333 `services/*` holds the backup copies, "which its own cleanup would otherwise
 * delete like any image". The deployed functions narrow the config (configForEnvironment at synth,
 * inThisEnvironment at start: functions/shared/runtime/config.ts:28); `plan --account` narrows
 * (cli/commands/plan.ts:100); but `run` hands the whole config to LiveSession (cli/commands/run.ts:51-53,
 * cli/live.ts) and the core's selectionFor never looks at `accounts`. So an operator running the one org
 * config from the platform account deletes the backup copies.
 * What should hold: in an account/region where no selection applies, `run` manages nothing there (and deletes
 * nothing), exactly as the spoke's worker would.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EcrEmulator, ociImageManifest } from '../../local/ecr-emulator.js';
import { type LocalServer, startLocalServer } from '../../local/server.js';
import { EcsService, LambdaService } from '../../local/services.js';
import { removeTempFiles, runCli, tempFiles } from '../cli/run-cli.js';
import {
  createAndWait,
  createHoldsTable,
  DUMMY_CREDENTIALS,
  type Dynamo,
  startDynamo,
} from '../support/dynamo.js';

const HUB = { account: '111111111111', region: 'eu-west-1' };
const TEAM = '222222222222';
const PLATFORM = '333333333333';
const REGION = 'us-east-1';
const HOUR_MS = 3_600_000;
const keepTwo = {
  rules: [
    {
      rulePriority: 1,
      description: 'Keep the last 2 builds',
      selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 2 },
      action: { type: 'expire' },
    },
  ],
};
const CONFIG = {
  mode: 'enforce',
  organization: {
    hub: HUB,
    organizationId: 'o-local0example',
    targets: [
      { accounts: [TEAM], regions: ['eu-west-1'] },
      { accounts: [PLATFORM], regions: [REGION] },
    ],
  },
  selections: [
    // Not in the platform account: there services/* holds the backup copies.
    { name: 'services', accounts: [TEAM], repositories: ['services/*'], lifecyclePolicy: keepTwo },
    { name: 'platform builds', accounts: [PLATFORM], repositories: ['builds/*'], lifecyclePolicy: keepTwo },
  ],
  inUse: { ecs: { enabled: true, taskDefinitionRevisions: 0 }, lambda: { enabled: true } },
};

let db: Dynamo;
let server: LocalServer;
let proxy: Server;
let proxyUrl: string;
let cwd: string;
let env: Record<string, string | undefined>;
let emulator: EcrEmulator;

beforeAll(async () => {
  db = await startDynamo();
  // The hub's org state table, read by ARN (as every spoke reads it); dynalite takes names only, so a small
  // proxy turns the ARN into the name. The org breaker item is absent: closed.
  await createAndWait(
    db.client,
    new CreateTableCommand({
      TableName: 'ecr-steward-org-state',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    }),
  );
  const target = new URL(db.endpoint);
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.from(
        Buffer.concat(chunks)
          .toString('utf8')
          .replace(/arn:aws:dynamodb:[a-z0-9-]+:\d{12}:table\//g, ''),
      );
      const headers = { ...req.headers, 'content-length': String(body.length), host: target.host };
      const out = httpRequest(
        { host: target.hostname, port: target.port, path: req.url, method: req.method, headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(res);
        },
      );
      out.end(body);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

  emulator = new EcrEmulator({ accountId: PLATFORM, region: REGION });
  const base = Date.now() - 48 * HOUR_MS;
  for (const repository of ['services/api', 'builds/x']) {
    emulator.createRepository(repository);
    for (let v = 1; v <= 5; v++)
      emulator.putImage(repository, {
        manifest: ociImageManifest(`${repository}-${v}`),
        tags: [`v${v}`],
        pushedAt: new Date(base + v * HOUR_MS),
      });
  }
  const ecs = new EcsService({ account: PLATFORM, region: REGION });
  server = await startLocalServer({
    handlers: {
      ecr: emulator.handle,
      ecs: (op, input) => ecs.handle(op, input),
      lambda: (op, input, raw) => new LambdaService().handle(op, input, raw),
    },
  });
  cwd = await tempFiles({ 'steward.config.json': CONFIG });
  await createHoldsTable(db.client, 'holds-r28c');
  const { audit, state } = await db.createTables('r28corg');
  env = {
    AWS_ENDPOINT_URL: server.url,
    AWS_ENDPOINT_URL_DYNAMODB: proxyUrl,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ECR_STEWARD_REGISTRY_ID: PLATFORM,
    ECR_STEWARD_CONFIG: join(cwd, 'steward.config.json'),
    AUDIT_TABLE_NAME: audit,
    STATE_TABLE_NAME: state,
    HOLDS_TABLE_NAME: 'holds-r28c',
  };
}, 60_000);

afterAll(async () => {
  await server?.close();
  await new Promise((resolve) => proxy?.close(resolve));
  await db?.close();
  await removeTempFiles();
});

const tagsOf = (repository: string) =>
  emulator
    .images(repository)
    .map((i) => i.tags.join(','))
    .sort();

describe('review 28c: run in an account where a selection does not apply', () => {
  it('control: the platform selection is cleaned in the platform account (the org breaker is readable and closed)', async () => {
    const out = await runCli(['run', '--repository', 'builds/x', '--enforce', '--yes'], { cwd, env });

    expect(out.code, out.stderr + out.stdout).toBe(0);
    expect(tagsOf('builds/x')).toEqual(['v4', 'v5']);
  }, 60_000);

  it('keeps every backup copy of services/* in the platform account, where the "services" selection does not apply', async () => {
    const out = await runCli(['run', '--repository', 'services/api', '--enforce', '--yes'], { cwd, env });

    expect(tagsOf('services/api'), out.stdout).toEqual(['v1', 'v2', 'v3', 'v4', 'v5']);
  }, 60_000);
});
