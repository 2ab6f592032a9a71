/**
 * `ecr-steward audit --operations` (cli/commands/audit.ts): the real command in a child process, reading the
 * operation records of an audit table on dynalite, filtered by repository, principal and time; deletions stay
 * in plain `audit`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Operation, OperationStore } from '../../functions/shared/audit/operations.js';
import { AuditStore } from '../../functions/shared/audit/store.js';
import { runCli } from '../cli/run-cli.js';
import { DUMMY_CREDENTIALS, type Dynamo, startDynamo } from '../support/dynamo.js';
import { ACCOUNT, CI_ROLE, digestOf, REGION, REPO } from './helpers.js';

let db: Dynamo;
let table: string;
const BOB = `arn:aws:iam::${ACCOUNT}:user/bob`;

const op = (eventId: string, o: Partial<Operation>): Operation => ({
  eventId,
  operation: 'SetRepositoryPolicy',
  registryId: ACCOUNT,
  region: REGION,
  repository: REPO,
  principal: CI_ROLE,
  sourceIPAddress: '198.51.100.7',
  userAgent: 'aws-cli/2.17.0',
  parameters: {},
  at: new Date(Date.now() - 60_000).toISOString(),
  ...o,
});

beforeAll(async () => {
  db = await startDynamo();
  table = (await db.createTables('opscli')).audit;
  const store = new OperationStore(db.doc, table);
  await store.record(op('e1', { parameters: { grantees: ['*'], actions: ['ecr:BatchGetImage'] } }));
  await store.record(
    op('e2', {
      operation: 'PutImageTagMutability',
      principal: BOB,
      parameters: { imageTagMutability: 'MUTABLE' },
    }),
  );
  await store.record(
    op('e3', { operation: 'DeleteRepository', repository: 'scratch/old', at: '2020-01-01T00:00:00.000Z' }),
  );
  await new AuditStore(db.doc, table).record({
    registryId: ACCOUNT,
    region: REGION,
    repository: REPO,
    digest: digestOf('gone'),
    status: 'DELETED',
    evidence: 'image-action-event',
    at: new Date().toISOString(),
  });
});
afterAll(async () => {
  await db.close();
});

const audit = (...args: string[]) =>
  runCli(['audit', ...args, '--registry-id', ACCOUNT, '--audit-table', table], {
    env: {
      AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ECR_STEWARD_REGISTRY_ID: undefined,
    },
  });

describe('ecr-steward audit --operations', () => {
  it('lists the operations of a repository since a time, with who, from where and what changed', async () => {
    // Act
    const result = await audit('--operations', '--repository', REPO, '--since', '1d', '--format', 'csv');

    // Assess
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('at,operation,repository,principal,sourceIp,userAgent,what');
    expect(lines.slice(1).map((l) => l.split(',').slice(1).join(','))).toEqual([
      `PutImageTagMutability,${REPO},${BOB},198.51.100.7,aws-cli/2.17.0,tags MUTABLE`,
      `SetRepositoryPolicy,${REPO},${CI_ROLE},198.51.100.7,aws-cli/2.17.0,grants *`,
    ]);
  });

  it('lists only the principal’s operations when --principal is given', async () => {
    // Act
    const result = await audit('--operations', '--principal', BOB, '--format', 'json');

    // Assess
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as Operation[]).map((r) => r.eventId)).toEqual(['e2']);
  });

  it('keeps plain audit to deletions, and refuses --principal without --operations', async () => {
    // Act
    const deletions = await audit('--format', 'json');
    const refused = await audit('--principal', BOB);

    // Assess
    expect((JSON.parse(deletions.stdout) as { digest: string }[]).map((r) => r.digest)).toEqual([
      digestOf('gone'),
    ]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('--principal goes with --operations');
  });
});
