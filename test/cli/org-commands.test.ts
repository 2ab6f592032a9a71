/**
 * `ecr-steward audit --org` and `breaker status|reset --org`, run as a person runs them (a child process)
 * against the hub's tables on a real DynamoDB API (dynalite): what is printed, filtered and written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrgAuditStore } from '../../functions/shared/org/org-audit-store.js';
import { OrgBreakerReader } from '../../functions/shared/org/org-breaker.js';
import { BreakerStore } from '../../functions/shared/state/breaker.js';
import { createOrgTables, type OrgTables, SPOKE_A, SPOKE_B, spokeRecord } from '../org/support.js';
import { DUMMY_CREDENTIALS, type Dynamo, startDynamo } from '../support/dynamo.js';
import { removeTempFiles, runCli, tempFiles } from './run-cli.js';

let db: Dynamo;
let cwd: string;
beforeAll(async () => {
  db = await startDynamo();
  cwd = await tempFiles({});
}, 30_000);
afterAll(async () => {
  await db?.close();
  await removeTempFiles();
});

const env = (tables: OrgTables) => ({
  AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  ECR_STEWARD_CONFIG: undefined,
  ORG_AUDIT_TABLE_NAME: tables.audit,
  ORG_STATE_TABLE_NAME: tables.state,
  USER: 'oncall',
});

/** Records of both spokes in the hub: two deletions in A, one in B, a PLANNED one, and a request event. */
async function seeded(): Promise<OrgTables> {
  const tables = await createOrgTables(db.client, 'cli');
  const store = new OrgAuditStore(db.doc, tables.audit);
  const at = (m: number) => new Date(Date.now() - m * 60_000).toISOString();
  const deleted = (digest: string, m: number, extra: Record<string, unknown> = {}) =>
    spokeRecord(digest, 3, 'DELETED', { at: at(m), ...extra });
  await store.put(SPOKE_A, deleted(`sha256:${'a'.repeat(64)}`, 10));
  await store.put(SPOKE_A, deleted(`sha256:${'b'.repeat(64)}`, 5, { repository: 'services/web' }));
  await store.put(SPOKE_B, {
    ...deleted(`sha256:${'c'.repeat(64)}`, 2),
    registryId: SPOKE_B.account,
    region: SPOKE_B.region,
    sk: `REPO#${SPOKE_B.account}#${SPOKE_B.region}#services/api`,
  });
  await store.put(SPOKE_B, {
    ...spokeRecord(`sha256:${'d'.repeat(64)}`, 1, 'PLANNED', { at: at(1) }),
    sk: 'PLAN#run-1',
  });
  await store.put(SPOKE_A, {
    pk: 'REQUEST#req-1',
    sk: `EVENT#${at(3)}`,
    at: at(3),
    action: 'create',
  } as never);
  return tables;
}

describe('ecr-steward audit --org', () => {
  it('lists every spoke deletion from the hub, newest first, with account and region', async () => {
    // Prepare
    const tables = await seeded();

    // Act
    const result = await runCli(['audit', '--org', '--format', 'json'], { cwd, env: env(tables) });

    // Assess
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const records = JSON.parse(result.stdout) as {
      account: string;
      region: string;
      digest: string;
      status: string;
    }[];
    expect(records.map((r) => [r.account, r.region, r.digest.slice(7, 8), r.status])).toEqual([
      ['333333333333', 'us-east-1', 'c', 'DELETED'],
      ['222222222222', 'eu-west-1', 'b', 'DELETED'],
      ['222222222222', 'eu-west-1', 'a', 'DELETED'],
    ]);
  });

  it('narrows to one account and region, and to a repository', async () => {
    // Prepare
    const tables = await seeded();

    // Act
    const one = await runCli(
      ['audit', '--org', '--account', '222222222222', '--region', 'eu-west-1', '--format', 'csv'],
      {
        cwd,
        env: env(tables),
      },
    );
    const repo = await runCli(['audit', '--org', '--repository', 'services/web'], { cwd, env: env(tables) });

    // Assess
    expect(one.code).toBe(0);
    const lines = one.stdout.trim().split('\n');
    expect(lines[0]).toBe('at,account,region,status,repository,digest,actor,reason');
    expect(lines.slice(1).map((l) => l.split(',').slice(1, 5))).toEqual([
      ['222222222222', 'eu-west-1', 'DELETED', 'services/web'],
      ['222222222222', 'eu-west-1', 'DELETED', 'services/api'],
    ]);
    expect(repo.code).toBe(0);
    expect(repo.stdout).toContain('1 record(s) in the organization (every account, every region)');
    expect(repo.stdout).toContain('— 222222222222 eu-west-1: 1\n');
  });

  it('refuses --account without --org, and a malformed account', async () => {
    // Prepare
    const tables = await seeded();

    // Act
    const without = await runCli(['audit', '--account', '222222222222'], { cwd, env: env(tables) });
    const bad = await runCli(['audit', '--org', '--account', '22'], { cwd, env: env(tables) });

    // Assess
    expect([without.code, without.stderr.trim()]).toEqual([2, 'error: --account goes with --org']);
    expect([bad.code, bad.stderr.trim()]).toEqual([2, 'error: --account "22": an account id has 12 digits']);
  });
});

describe('ecr-steward breaker status|reset --org', () => {
  it('shows the org breaker open with its reason, resets it, and records who did', async () => {
    // Prepare
    const tables = await createOrgTables(db.client, 'brk');
    await new BreakerStore(db.doc, tables.state).open(
      'organization',
      'organization 5m: 4 deletes > 3 (222222222222 eu-west-1 services/api by alice)',
      new Date(),
    );

    // Act
    const before = await runCli(['breaker', 'status', '--org'], { cwd, env: env(tables) });
    const reset = await runCli(['breaker', 'reset', '--org'], { cwd, env: env(tables) });
    const after = await runCli(['breaker', 'status', '--org'], { cwd, env: env(tables) });

    // Assess
    expect(before.code).toBe(0);
    expect(before.stdout).toMatch(
      /^organization: OPEN since \S+ — organization 5m: 4 deletes > 3 \(222222222222 eu-west-1 services\/api by alice\)\nEvery spoke of the organization refuses to delete until it is reset \(ecr-steward breaker reset --org\)\.\n$/,
    );
    expect(reset.stdout).toBe(
      'organization: breaker closed by oncall; every spoke deletes again from its next batch\n',
    );
    expect(after.stdout).toMatch(/^organization: closed \(reset by oncall at \S+\)\n$/);
    expect(await new OrgBreakerReader(db.doc, tables.state).firstOpen(new Date())).toBeUndefined();
    const audit = await db.scan(tables.audit);
    expect(audit).toEqual([
      expect.objectContaining({
        pk: 'BREAKER#organization',
        kind: 'breaker-reset',
        by: 'oncall',
        wasOpen: true,
      }),
    ]);
  });

  it('says the org breaker never opened', async () => {
    // Prepare
    const tables = await createOrgTables(db.client, 'never');

    // Act
    const result = await runCli(['breaker', 'status', '--org'], { cwd, env: env(tables) });

    // Assess
    expect(result.stdout).toBe(
      'organization: closed — it has never opened: every spoke deletes as configured\n',
    );
  });
});
