/**
 * The local servers answer in the caller's clock (local/caller-clock.ts). A function whose clock the local cloud
 * moved (a day passed in a second) signs with that clock; the servers ran on the machine's, and the SDK took
 * every error answer for clock skew and retried it up to its attempt budget, a ConditionalCheckFailed included.
 * Here a process with a moved clock, as local/lambda-host.cjs moves it, makes a conditional PutItem that must
 * fail through the DynamoDB proxy and a DescribeImages of a missing image through the local server: each error
 * comes back after one attempt.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callerDateHeader, callerOffsetMs } from '../../local/caller-clock.js';
import { EcrEmulator } from '../../local/ecr-emulator.js';
import { type LocalServer, startLocalServer } from '../../local/server.js';
import { DUMMY_CREDENTIALS, type Dynamo, startDynamo } from '../support/dynamo.js';

const run = promisify(execFile);
const DAY = 86_400_000;

let db: Dynamo;
let server: LocalServer;
beforeAll(async () => {
  db = await startDynamo();
  server = await startLocalServer({ handlers: { ecr: new EcrEmulator().handle } });
});
afterAll(async () => {
  await server.close();
  await db.close();
});

/** Runs `body` (CommonJS, `sdk` and `endpoint` in scope) in a node whose clock is `offsetMs` ahead; its stdout. */
async function withMovedClock(offsetMs: number, body: string, endpoint: string): Promise<string> {
  const script = `
    const RealDate = Date;
    class LocalDate extends RealDate {
      constructor(...args) { if (args.length === 0) super(RealDate.now() + ${offsetMs}); else super(...args); }
      static now() { return RealDate.now() + ${offsetMs}; }
    }
    globalThis.Date = LocalDate;
    const endpoint = ${JSON.stringify(endpoint)};
    const credentials = ${JSON.stringify(DUMMY_CREDENTIALS)};
    (async () => { ${body} })().catch((e) => { console.error(e); process.exit(1); });
  `;
  const { stdout } = await run(process.execPath, ['-e', script], { cwd: process.cwd() });
  return stdout.trim();
}

describe('answers in the caller clock', () => {
  it("takes the caller's clock from a signed request's x-amz-date, and none from an unsigned or in-step one", () => {
    const now = Date.UTC(2026, 11, 6, 12, 0, 0);
    const ahead = { headers: { 'x-amz-date': '20261207T130000Z' } };
    expect(callerOffsetMs(ahead, now)).toBe(DAY + 3_600_000);
    expect(callerOffsetMs({ headers: { 'x-amz-date': '20261206T120001Z' } }, now)).toBe(0);
    expect(callerOffsetMs({ headers: {} }, now)).toBe(0);
    expect(callerOffsetMs({ headers: { 'x-amz-date': 'yesterday' } }, now)).toBe(0);
    expect(callerDateHeader({ headers: {} })).toBeUndefined();
  });

  it('a ConditionalCheckFailed through the DynamoDB proxy comes back after one attempt to a caller a day ahead', async () => {
    await db.doc.send(new PutCommand({ TableName: db.tables.state, Item: { pk: 'CLOCK', sk: 'x' } }));
    const out = await withMovedClock(
      DAY,
      `
      const { DynamoDBClient, PutItemCommand } = require('@aws-sdk/client-dynamodb');
      const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials, retryMode: 'standard', maxAttempts: 3 });
      try {
        await client.send(new PutItemCommand({
          TableName: ${JSON.stringify(db.tables.state)},
          Item: { pk: { S: 'CLOCK' }, sk: { S: 'x' } },
          ConditionExpression: 'attribute_not_exists(pk)',
        }));
        console.log('written');
      } catch (e) {
        console.log(JSON.stringify({ name: e.name, attempts: e.$metadata.attempts }));
      }
      `,
      db.endpoint,
    );
    expect(JSON.parse(out)).toEqual({ name: 'ConditionalCheckFailedException', attempts: 1 });
  });

  it('a RepositoryNotFound from the local server comes back after one attempt to a caller a day ahead', async () => {
    const out = await withMovedClock(
      DAY,
      `
      const { ECRClient, DescribeImagesCommand } = require('@aws-sdk/client-ecr');
      const client = new ECRClient({ endpoint, region: 'us-east-1', credentials, retryMode: 'standard', maxAttempts: 3 });
      try {
        await client.send(new DescribeImagesCommand({ repositoryName: 'nowhere/none' }));
        console.log('found');
      } catch (e) {
        console.log(JSON.stringify({ name: e.name, attempts: e.$metadata.attempts }));
      }
      `,
      server.url,
    );
    expect(JSON.parse(out)).toEqual({ name: 'RepositoryNotFoundException', attempts: 1 });
  });
});
