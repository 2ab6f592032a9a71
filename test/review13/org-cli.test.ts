/**
 * Review of issue 13: the organization CLI, run as a person runs it (a child process) against the hub's
 * tables on dynalite.
 * - `breaker reset --org` ignores `governance.approval.breakerReset: true`, which makes every other reset a
 *   request for an approver.
 * - `audit --org --account A` (no --region) reads the newest `4 × --limit` records of the whole organization
 *   and filters afterwards, so A's deletions are silently missing when other spokes were busier.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrgAuditStore } from '../../functions/shared/org/org-audit-store.js';
import { OrgBreakerReader } from '../../functions/shared/org/org-breaker.js';
import { BreakerStore } from '../../functions/shared/state/breaker.js';
import { removeTempFiles, runCli, tempFiles } from '../cli/run-cli.js';
import { createOrgTables, HUB, type OrgTables, SPOKE_A, SPOKE_B, spokeRecord } from '../org/support.js';
import { DUMMY_CREDENTIALS, type Dynamo, startDynamo } from '../support/dynamo.js';

let db: Dynamo;
beforeAll(async () => {
  db = await startDynamo();
}, 30_000);
afterAll(async () => {
  await db?.close();
  await removeTempFiles();
});

const env = (tables: OrgTables, extra: Record<string, string | undefined> = {}) => ({
  AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  ECR_STEWARD_CONFIG: undefined,
  ORG_AUDIT_TABLE_NAME: tables.audit,
  ORG_STATE_TABLE_NAME: tables.state,
  USER: 'oncall',
  ...extra,
});

describe('review 13: breaker reset --org and governance.approval.breakerReset', () => {
  it('does not close the org breaker directly when the config makes every breaker reset need an approver', async () => {
    // Prepare: the org breaker is open; the config says a breaker reset needs an approval
    const tables = await createOrgTables(db.client, 'r13reset');
    await new BreakerStore(db.doc, tables.state).open(
      'organization' as never,
      'organization 5m: 4 deletes > 3',
      new Date(),
    );
    const cwd = await tempFiles({
      'steward.json': {
        mode: 'enforce',
        organization: {
          hub: HUB,
          targets: [{ accounts: [SPOKE_A.account, SPOKE_B.account], regions: ['eu-west-1'] }],
        },
        governance: {
          approval: { breakerReset: true, approvers: ['arn:aws:iam::111111111111:role/Approver'] },
        },
        selections: [{ name: 's', repositories: ['services/*'], lifecyclePolicy: 'fromRepository' }],
      },
    });

    // Act
    const result = await runCli(['breaker', 'reset', '--org', '--config', 'steward.json'], {
      cwd,
      env: env(tables),
    });

    // Assess: refused (or turned into a request) — the breaker must still be open.
    const state = await new OrgBreakerReader(db.doc, tables.state).firstOpen(new Date());
    expect(result.stderr, 'the config must be valid for this test').not.toMatch(/invalid|config/i);
    expect({ stdout: result.stdout, open: state !== undefined }).toEqual({
      stdout: expect.any(String),
      open: true,
    });
  });
});

describe('review 13: audit --org --account without --region', () => {
  it("lists an account's deletions even when other spokes made more recent ones", async () => {
    // Prepare: one deletion in A 30 minutes ago, then 8 newer ones in B
    const tables = await createOrgTables(db.client, 'r13audit');
    const store = new OrgAuditStore(db.doc, tables.audit);
    const at = (m: number) => new Date(Date.now() - m * 60_000).toISOString();
    await store.put(SPOKE_A, spokeRecord(`sha256:${'a'.repeat(64)}`, 3, 'DELETED', { at: at(30) }));
    for (let i = 0; i < 8; i++)
      await store.put(SPOKE_B, {
        ...spokeRecord(`sha256:${String(i).repeat(64)}`, 3, 'DELETED', { at: at(i + 1) }),
        registryId: SPOKE_B.account,
        region: SPOKE_B.region,
        sk: `REPO#${SPOKE_B.account}#${SPOKE_B.region}#services/api`,
      });
    const cwd = await tempFiles({});

    // Act: the newest 1 record of account A
    const result = await runCli(
      ['audit', '--org', '--account', SPOKE_A.account, '--limit', '1', '--format', 'json'],
      { cwd, env: env(tables) },
    );

    // Assess: A's deletion is shown (today: [] — the 4 newest of the organization are all B's)
    expect(result.code, result.stderr).toBe(0);
    const records = JSON.parse(result.stdout) as { account: string }[];
    expect(records.map((r) => r.account)).toEqual([SPOKE_A.account]);
  });
});
