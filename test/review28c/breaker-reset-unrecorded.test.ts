/**
 * Review 28c — `ecr-steward breaker reset` closes the breaker BEFORE it writes the audit record of the reset
 * (cli/commands/breaker.ts:131-150; the approvals function does the same, functions/approvals/handler.ts:66-86).
 * README "The CLI": "breaker reset … (a reset is recorded in the audit table)". When the audit write fails (a
 * person with PutItem on the state table but not on the audit table — README's Deploy list of people's
 * permissions does not mention breaker resetters —, a wrong AUDIT_TABLE_NAME, throttling) the breaker is already
 * closed: ECR Steward deletes again and security staff have no record of who reopened the deletes.
 * What should hold: the reset's record is written first (write-ahead, as for deletes), so a failed record
 * leaves the breaker open; the command exits non-zero.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BreakerStore } from '../../functions/shared/state/breaker.js';
import { removeTempFiles, runCli, tempFiles } from '../cli/run-cli.js';
import { DUMMY_CREDENTIALS, type Dynamo, startDynamo } from '../support/dynamo.js';

let db: Dynamo;
beforeAll(async () => {
  db = await startDynamo();
}, 30_000);
afterAll(async () => {
  await db?.close();
  await removeTempFiles();
});

describe('review 28c: breaker reset without its audit record', () => {
  it('leaves the breaker open when the reset cannot be recorded in the audit table', async () => {
    // Prepare: the registry breaker is open; the audit table named cannot take the record
    const tables = await db.createTables('r28creset');
    await new BreakerStore(db.doc, tables.state).open(
      'registry',
      'registry 1h: 2001 deletes > 2000',
      new Date(),
    );
    const cwd = await tempFiles({});

    // Act
    const result = await runCli(['breaker', 'reset', '--scope', 'registry', '--by', 'oncall'], {
      cwd,
      env: {
        AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ECR_STEWARD_CONFIG: undefined,
        STATE_TABLE_NAME: tables.state,
        AUDIT_TABLE_NAME: 'no-such-audit-table',
      },
    });

    // Assess: the command failed, and the breaker must still be open (no unrecorded reset)
    const open = await new BreakerStore(db.doc, tables.state).firstOpen(['registry'], new Date());
    expect(result.code).not.toBe(0);
    expect(open?.scope, `breaker state after a failed reset record; stderr: ${result.stderr}`).toBe(
      'registry',
    );
  });
});
