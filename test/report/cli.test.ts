/**
 * `ecr-steward report`, run as a person runs it (a child process), against the local cloud's ECR emulator (wire
 * protocol) and a real DynamoDB API (dynalite) holding an audit table and a verdict table: the exact figures,
 * what the page and the table say, the calls made (DescribeRepositories and DescribeImages at their 1,000
 * maximum, one listing per repository) and that nothing was written.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verdictPk } from '../../functions/scan-gate/verdicts.js';
import { AuditStore } from '../../functions/shared/audit/store.js';
import type { Report } from '../../functions/shared/report/index.js';
import { EcrEmulator, ociImageManifest } from '../../local/ecr-emulator.js';
import { type LocalServer, startLocalServer } from '../../local/server.js';
import { removeTempFiles, runCli, tempFiles } from '../cli/run-cli.js';
import { createVerdictTable, DUMMY_CREDENTIALS, type Dynamo, startDynamo } from '../support/dynamo.js';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const NOW = '2026-12-06T12:00:00.000Z';
const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.parse(NOW) - days * DAY);
const MALLORY = 'arn:aws:sts::123456789012:assumed-role/dev/<script>alert(1)</script>';
const VERDICTS = 'report-verdicts';

const CONFIG = {
  mode: 'dry-run',
  selections: [
    {
      name: 'services',
      repositories: ['services/*'],
      lifecyclePolicy: {
        rules: [
          {
            rulePriority: 1,
            selection: {
              tagStatus: 'tagged',
              tagPatternList: ['build-*'],
              countType: 'imageCountMoreThan',
              countNumber: 2,
            },
            action: { type: 'expire' },
          },
        ],
      },
    },
  ],
  // No ECS or Lambda here: the in-use sources are read by the plan, and this test serves ECR only.
  inUse: { ecs: { enabled: false }, lambda: { enabled: false } },
};

let db: Dynamo;
let server: LocalServer;
let dir: string;
const calls: { op: string; input: Record<string, unknown> }[] = [];
const digests: Record<string, string> = {};

beforeAll(async () => {
  db = await startDynamo();
  await createVerdictTable(db.client, VERDICTS);
  const ecr = new EcrEmulator({ accountId: ACCOUNT, region: REGION, now: () => new Date(NOW) });
  ecr.createRepository('services/api');
  for (const [tag, days, size, pulled] of [
    ['build-1', 10, 300_000_000, 2],
    ['build-2', 5, 200_000_000, undefined],
    ['build-3', 1, 100_000_000, 1],
  ] as const)
    digests[tag] = ecr.putImage('services/api', {
      manifest: ociImageManifest(`services/api/${tag}`),
      tags: [tag],
      pushedAt: ago(days),
      sizeBytes: size,
      lastPulledAt: pulled === undefined ? undefined : ago(pulled),
    });
  ecr.createRepository('tools/ci');
  digests.latest = ecr.putImage('tools/ci', {
    manifest: ociImageManifest('tools/ci/latest'),
    tags: ['latest'],
    pushedAt: ago(40),
    sizeBytes: 10_000_000,
    lastPulledAt: ago(40),
  });
  server = await startLocalServer({
    handlers: {
      ecr: (op, input, raw) => {
        calls.push({ op, input: input as Record<string, unknown> });
        return ecr.handle(op, input, raw);
      },
    },
  });
  // The gate's latest verdicts: build-2 passed, build-3 failed; build-1 and tools/ci were never scanned.
  for (const [tag, verdict] of [
    ['build-2', 'PASS'],
    ['build-3', 'FAIL'],
  ] as const) {
    const ref = { registryId: ACCOUNT, region: REGION, repository: 'services/api', digest: digests[tag]! };
    await db.doc.send(
      new PutCommand({
        TableName: VERDICTS,
        Item: { pk: verdictPk(ref), sk: 'LATEST', ...ref, tags: [tag], verdict, at: NOW },
      }),
    );
  }
  // Two deletions in the period (one by a principal whose name carries markup), one before it.
  const store = new AuditStore(db.doc, db.tables.audit);
  const deleted = (digest: string, at: Date, sizeBytes: number, principal: string) =>
    store.record({
      registryId: ACCOUNT,
      region: REGION,
      repository: 'services/api',
      digest,
      at: at.toISOString(),
      status: 'DELETED',
      evidence: 'cloudtrail-batch-delete',
      sizeBytes,
      actor: { type: 'principal', principal },
    });
  await deleted(`sha256:${'1'.repeat(64)}`, ago(2), 50_000_000, MALLORY);
  await deleted(`sha256:${'2'.repeat(64)}`, ago(1), 25_000_000, MALLORY);
  await deleted(`sha256:${'3'.repeat(64)}`, ago(60), 99_000_000, MALLORY);
  dir = await tempFiles({ 'steward.json': CONFIG });
}, 60_000);

afterAll(async () => {
  await server?.close();
  await db?.close();
  await removeTempFiles();
});

const report = (args: string[], env: Record<string, string | undefined> = {}) =>
  runCli(['report', '--config', join(dir, 'steward.json'), '--registry-id', ACCOUNT, '--now', NOW, ...args], {
    env: {
      AWS_ENDPOINT_URL: server.url,
      AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AUDIT_TABLE_NAME: undefined,
      VERDICT_TABLE_NAME: undefined,
      ECR_STEWARD_CONFIG: undefined,
      ...env,
    },
  });

describe('ecr-steward report', () => {
  it('reports the managed repositories with the plan, the verdicts and the period deletions as JSON', async () => {
    // Prepare
    calls.length = 0;
    // Act
    const out = await report([
      '--format',
      'json',
      '--since',
      '7d',
      '--audit-table',
      db.tables.audit,
      '--verdict-table',
      VERDICTS,
    ]);
    // Assess
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const r = JSON.parse(out.stdout) as Report;
    expect(r.scope).toBe('selected');
    expect(r.repositories.map((x) => x.name)).toEqual(['services/api']);
    expect(r.repositories[0]).toMatchObject({
      selection: 'services',
      images: 3,
      standardBytes: 600_000_000,
      archiveBytes: 0,
      reclaimableBytes: 300_000_000,
      reclaimableImages: 1,
      neverPulled: 1,
      pullAge: { '0-7': 2, '8-30': 0, '31-90': 0, '90+': 0, never: 1 },
      untagged: 0,
      verdicts: { PASS: 1, FAIL: 1, PENDING: 0, unscanned: 1 },
      reclaimed: { deletes: 2, bytes: 75_000_000 },
    });
    expect(r.totals.monthlyCost).toBeCloseTo((600_000_000 / 1024 ** 3) * 0.1, 12);
    expect(r.audit).toMatchObject({
      available: true,
      since: '2026-11-29T12:00:00.000Z',
      deletes: 2,
      bytes: 75_000_000,
      byPrincipal: [{ principal: MALLORY, deletes: 2, bytes: 75_000_000 }],
    });
    expect(r.largest.map((i) => i.tags[0])).toEqual(['build-1', 'build-2', 'build-3']);
    // Read at the API maxima, each repository listed once, nothing written or deleted.
    const ops = calls.map((c) => c.op).sort();
    expect(ops).toEqual(['DescribeImages', 'DescribeRepositories']);
    for (const c of calls) expect(c.input.maxResults).toBe(1000);
  });

  it('prints the table with every repository and the principals when --all is given', async () => {
    // Act
    const out = await report(['--all', '--audit-table', db.tables.audit]);
    // Assess
    expect(out.code).toBe(0);
    const lines = out.stdout.split('\n');
    expect(lines[0]).toBe(`ECR registry ${ACCOUNT} in us-east-1: all 2 repositories, ${NOW}`);
    expect(lines.slice(2, 7)).toEqual([
      'repository    images  standard  archive  reclaimable  cost/month  never pulled  untagged  gate pass/fail/pend/none     reclaimed',
      '------------  ------  --------  -------  -----------  ----------  ------------  --------  ------------------------  ------------',
      'services/api       3   572 MiB      0 B  286 MiB (1)       $0.06             1  0 (0.0%)  —                         71.5 MiB (2)',
      'tools/ci           1  9.54 MiB      0 B            —       $0.00             0  0 (0.0%)  —                              0 B (0)',
      'total (2)          4   582 MiB      0 B  286 MiB (1)       $0.06             1  0 (0.0%)  —                         71.5 MiB (2)',
    ]);
    expect(lines).toContain(
      'Gate verdicts: not available (no verdict table: pass --verdict-table or set VERDICT_TABLE_NAME)',
    );
    expect(lines).toContain('Last pull: 0–7 days 2 · 8–30 days 0 · 31–90 days 1 · > 90 days 0 · never 1');
    expect(lines).toContain(`${MALLORY}        2  71.5 MiB`);
  });

  it('writes a self-contained page to --out with the hostile principal as text', async () => {
    // Prepare
    const file = join(dir, 'out', 'report.html');
    // Act
    const out = await report(['--all', '--format', 'html', '--out', file, '--audit-table', db.tables.audit]);
    // Assess
    expect(out.code).toBe(0);
    expect(out.stdout).toBe('');
    expect(out.stderr).toMatch(
      /^report written to .*report\.html \(2 repositories, 4 images, \d+ calls\)\n$/,
    );
    const html = await readFile(file, 'utf8');
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain(
      'arn:aws:sts::123456789012:assumed-role/dev/&lt;script&gt;alert(1)&lt;/script&gt;',
    );
    expect(html).not.toContain('<script>');
  });

  it('says the audit and the verdicts are not available when no table is named', async () => {
    // Act
    const out = await report(['--format', 'md']);
    // Assess
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(
      '- Reclaimed: not available (no audit table: pass --audit-table or set AUDIT_TABLE_NAME)',
    );
    expect(out.stdout).toContain(
      '- Gate verdicts: not available (no verdict table: pass --verdict-table or set VERDICT_TABLE_NAME)',
    );
  });

  it('shows the progress bar on stderr when --progress is given', async () => {
    // Act
    const out = await report(['--all', '--progress', '--format', 'json']);
    // Assess
    expect(out.code).toBe(0);
    expect(out.stderr).toContain('reading [');
    expect(out.stderr).toContain('2/2 repositories');
    expect(JSON.parse(out.stdout).totals.repositories).toBe(2);
  });

  it.each([
    [['--concurrency', '0'], 'error: --concurrency 0: a whole number from 1 to 32\n'],
    [['--since', 'yesterday'], 'error: --since yesterday: use 30m, 12h, 7d or an ISO time\n'],
    [
      ['--format', 'pdf'],
      `error: option '--format <format>' argument 'pdf' is invalid. Allowed choices are table, json, md, html.\n`,
    ],
  ])('refuses %j with exit code 2 before reading anything', async (args, message) => {
    // Prepare
    calls.length = 0;
    // Act
    const out = await report(args);
    // Assess
    expect(out.code).toBe(2);
    expect(out.stderr.split('(add --help')[0]).toBe(message);
    expect(calls).toEqual([]);
  });
});
