/**
 * Review of issue 13: what the hub accepts. With `organizationId` the hub bus admits every principal of the
 * AWS Organization, not only the spokes; the hub checks only that `detail.account` is the sender. So any
 * member account (a sandbox, a developer role with events:PutEvents) writes "spoke" records into the org audit
 * table and counts deletions into the organization's thresholds, which opens the org breaker of every spoke.
 * And a spoke may claim any region. Alerts' once-markers are keyed by the bare message id, across accounts.
 */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { resetOrgClients } from '../../functions/org/clients.js';
import { handler, hubPorts } from '../../functions/org/hub.js';
import { ingestAlert } from '../../functions/org/hub-core.js';
import { validateConfig } from '../../functions/shared/config/load.js';
import { OrgAuditStore } from '../../functions/shared/org/org-audit-store.js';
import { resetConfigCache } from '../../functions/shared/runtime/config.js';
import {
  createOrgTables,
  digest,
  HUB,
  type OrgTables,
  SPOKE_A,
  SPOKE_B,
  spokeRecord,
} from '../org/support.js';
import { DUMMY_CREDENTIALS, type Dynamo, startDynamo } from '../support/dynamo.js';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
});

const OUTSIDER_MEMBER = '444444444444';
const ALERTS = `arn:aws:sns:${HUB.region}:${HUB.account}:EcrStewardHub-Alerts`;
const DLQ = `https://sqs.${HUB.region}.amazonaws.com/${HUB.account}/EcrStewardHub-IngestDeadLetter`;
const sns = mockClient(SNSClient);
const sqs = mockClient(SQSClient);

/** The shape of examples/org: organizationId set, spokes listed by account. */
const config = validateConfig({
  mode: 'enforce',
  organization: {
    hub: HUB,
    organizationId: 'o-local0example',
    targets: [
      { accounts: [SPOKE_A.account], regions: [SPOKE_A.region] },
      { accounts: [SPOKE_B.account], regions: [SPOKE_B.region] },
    ],
  },
  selections: [{ name: 's', repositories: ['services/*'], lifecyclePolicy: 'fromRepository' }],
  alerts: { thresholds: [{ scope: 'organization', window: '5m', maxDeletes: 3 }] },
});

let db: Dynamo;
let tables: OrgTables;
beforeAll(async () => {
  db = await startDynamo();
});
afterAll(async () => {
  sns.restore();
  sqs.restore();
  await db.close();
});
beforeEach(async () => {
  tables = await createOrgTables(db.client, 'review13');
  vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', db.endpoint);
  vi.stubEnv('AWS_REGION', HUB.region);
  vi.stubEnv('AWS_ACCESS_KEY_ID', DUMMY_CREDENTIALS.accessKeyId);
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', DUMMY_CREDENTIALS.secretAccessKey);
  vi.stubEnv('ORG_AUDIT_TABLE_NAME', tables.audit);
  vi.stubEnv('ORG_STATE_TABLE_NAME', tables.state);
  vi.stubEnv('ALERTS_TOPIC_ARN', ALERTS);
  vi.stubEnv('ORG_INGEST_DLQ_URL', DLQ);
  vi.stubEnv('STEWARD_CONFIG_JSON', JSON.stringify(config));
  resetConfigCache();
  resetOrgClients();
  sns.on(PublishCommand).resolves({ MessageId: 'hub-1' });
  sqs.on(SendMessageCommand).resolves({ MessageId: 'dlq-1' });
});
afterEach(() => {
  vi.unstubAllEnvs();
  sns.reset();
  sqs.reset();
  resetConfigCache();
  resetOrgClients();
});

const envelope = (account: string, detail: unknown) => ({
  version: '0',
  id: `ev-${Math.random()}`,
  'detail-type': 'ECR Steward Audit Record',
  source: 'ecr-steward',
  account,
  time: new Date().toISOString(),
  region: HUB.region,
  resources: [],
  detail,
});
const sqsEvent = (bodies: string[]): SQSEvent => ({
  Records: bodies.map((body, i) => ({
    messageId: `m-${i}`,
    receiptHandle: 'rh',
    body,
    attributes: {} as never,
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:111111111111:ingest',
    awsRegion: HUB.region,
  })),
});

describe('review 13: the hub admits only spokes', () => {
  it('does not store or count "deletions" sent by an organization member that is no spoke of the config', async () => {
    // Prepare: a member account of the organization (admitted by aws:PrincipalOrgID) that no target names
    // sends four DELETED records for itself — more than the organization threshold (3 in 5m).
    const env = { account: OUTSIDER_MEMBER, region: 'eu-west-1' };
    const at = new Date().toISOString();
    const bodies = [1, 2, 3, 4].map((n) =>
      JSON.stringify(
        envelope(OUTSIDER_MEMBER, {
          ...env,
          record: spokeRecord(digest(n), 2, 'DELETED', { at, registryId: OUTSIDER_MEMBER }),
        }),
      ),
    );

    // Act
    await handler(sqsEvent(bodies));

    // Assess: nothing of it is in the org audit table and the org breaker of every spoke stays closed.
    const stored = await new OrgAuditStore(db.doc, tables.audit).byEnvironment(env);
    const breaker = await hubPorts().openBreaker('probe', new Date()); // true = it was not open
    expect({ stored: stored.length, breakerWasClosed: breaker }).toEqual({
      stored: 0,
      breakerWasClosed: true,
    });
  });

  it('does not store records a spoke sends for a region where it is no spoke', async () => {
    // Prepare: SPOKE_A is a spoke in eu-west-1 only; it claims ap-south-1 (the envelope cannot tell).
    const env = { account: SPOKE_A.account, region: 'ap-south-1' };

    // Act
    await handler(
      sqsEvent([
        JSON.stringify(envelope(SPOKE_A.account, { ...env, record: spokeRecord(digest(9), 1, 'PENDING') })),
      ]),
    );

    // Assess
    expect(await new OrgAuditStore(db.doc, tables.audit).get(env, spokeRecord(digest(9), 1, 'PENDING'))).toBe(
      undefined,
    );
  });

  it("keeps one spoke's alert from being suppressed by another account's alert with the same message id", async () => {
    // Prepare: account B (or any member) sends an alert carrying a message id that A's next alert will have.
    const ports = hubPorts();
    const now = new Date();
    const alert = (account: string, region: string, message: string) => ({
      account,
      region,
      topic: 'alerts' as const,
      message,
      messageId: 'same-id',
    });

    // Act
    await ingestAlert(alert(SPOKE_B.account, SPOKE_B.region, 'noise'), now, ports);
    const fromA = await ingestAlert(alert(SPOKE_A.account, SPOKE_A.region, 'real breaker alert'), now, ports);

    // Assess: the marker should be per account (and region), as the audit keys are.
    expect(fromA).toEqual({ published: true });
  });
});
