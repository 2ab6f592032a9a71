/**
 * The hub: the org audit table, the org counters, markers and breaker on a real dynalite; SNS and SQS mocked at
 * the SDK boundary. Idempotence under any order and duplication of versions, one count per deletion, one
 * breaker opening and one alert per crossing, one republication per spoke alert, malformed events dead-lettered.
 */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { resetOrgClients } from '../../functions/org/clients.js';
import { handler, hubPorts } from '../../functions/org/hub.js';
import { type HubPorts, ingestAlert, ingestAuditRecord } from '../../functions/org/hub-core.js';
import { ORG_SCOPE } from '../../functions/shared/org/keys.js';
import { OrgAuditStore } from '../../functions/shared/org/org-audit-store.js';
import { OrgDeleteCounters } from '../../functions/shared/org/org-breaker.js';
import { resetConfigCache } from '../../functions/shared/runtime/config.js';
import { BreakerStore } from '../../functions/shared/state/breaker.js';
import { DUMMY_CREDENTIALS, type Dynamo, startDynamo } from '../support/dynamo.js';
import {
  createOrgTables,
  digest,
  HUB,
  type OrgTables,
  orgConfig,
  PRINCIPAL,
  SPOKE_A,
  SPOKE_B,
  spokeRecord,
} from './support.js';

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
});

const NOW = new Date('2026-06-01T12:01:00.000Z');
const ALERTS = `arn:aws:sns:${HUB.region}:${HUB.account}:EcrStewardHub-Alerts`;
const SECURITY = `arn:aws:sns:${HUB.region}:${HUB.account}:EcrStewardHub-Security`;
const DLQ = `https://sqs.${HUB.region}.amazonaws.com/${HUB.account}/EcrStewardHub-IngestDeadLetter`;
const sns = mockClient(SNSClient);
const sqs = mockClient(SQSClient);

let db: Dynamo;
let tables: OrgTables;
let ports: HubPorts;
beforeAll(async () => {
  db = await startDynamo();
});
afterAll(async () => {
  sns.restore();
  sqs.restore();
  await db.close();
});
beforeEach(async () => {
  tables = await createOrgTables(db.client);
  vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', db.endpoint);
  vi.stubEnv('AWS_REGION', HUB.region);
  vi.stubEnv('AWS_ACCESS_KEY_ID', DUMMY_CREDENTIALS.accessKeyId);
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', DUMMY_CREDENTIALS.secretAccessKey);
  vi.stubEnv('ORG_AUDIT_TABLE_NAME', tables.audit);
  vi.stubEnv('ORG_STATE_TABLE_NAME', tables.state);
  vi.stubEnv('ALERTS_TOPIC_ARN', ALERTS);
  vi.stubEnv('SECURITY_TOPIC_ARN', SECURITY);
  vi.stubEnv('ORG_INGEST_DLQ_URL', DLQ);
  resetOrgClients();
  ports = hubPorts();
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

const orgCount = () =>
  new OrgDeleteCounters(db.doc, tables.state).get({ window: '5m', start: '2026-06-01T12:00:00.000Z' });
const stored = (env: typeof SPOKE_A, d: string) =>
  new OrgAuditStore(db.doc, tables.audit).get(env, spokeRecord(d, 1, 'PENDING'));

describe('ingestAuditRecord', () => {
  it('writes the spoke item under the org keys and indexes, without the spoke indexes', async () => {
    // Prepare
    const record = spokeRecord(digest(1), 2, 'DELETED');

    // Act
    const outcome = await ingestAuditRecord(orgConfig(), { ...SPOKE_A, record }, NOW, ports);

    // Assess
    expect(outcome).toEqual({ written: true, counted: true, crossings: [] });
    const { gsi1pk: _1, gsi1sk: _2, gsi3pk: _3, gsi3sk: _4, ...rest } = record as Record<string, unknown>;
    expect(await stored(SPOKE_A, digest(1))).toEqual({
      ...rest,
      pk: `ORG#222222222222#eu-west-1#IMG#${digest(1)}`,
      sk: record.sk,
      spokePk: record.pk,
      account: '222222222222',
      region: 'eu-west-1',
      gsi1pk: 'ENV#222222222222#eu-west-1',
      gsi1sk: `2026-06-01T12:00:30.000Z#services/api#${digest(1)}`,
      gsi3pk: 'DAY#2026-06-01',
      gsi3sk: `2026-06-01T12:00:30.000Z#222222222222#eu-west-1#services/api#${digest(1)}`,
    });
    const store = new OrgAuditStore(db.doc, tables.audit);
    expect((await store.byEnvironment(SPOKE_A)).map((i) => i.digest)).toEqual([digest(1)]);
    expect((await store.byDay('2026-06-01')).map((i) => i.digest)).toEqual([digest(1)]);
    expect(await store.byEnvironment(SPOKE_B)).toEqual([]);
  });

  it('keeps the highest version and counts the deletion once, whatever the order and duplication', async () => {
    // Prepare: versions 1 PENDING, 2 DELETED, 3 DELETED (more evidence) of one record per run
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 8 }),
        async (versions) => {
          run++;
          const d = digest(10_000 + run);
          const record = (v: number) =>
            spokeRecord(
              d,
              v,
              v === 1 ? 'PENDING' : 'DELETED',
              v === 3 ? { evidence: ['cloudtrail-batch-delete', 'image-action-event'] } : {},
            );
          const before = await orgCount();

          // Act
          const outcomes = [];
          for (const v of versions)
            outcomes.push(
              await ingestAuditRecord(
                orgConfig({
                  thresholds: [{ scope: 'organization', window: '5m', maxDeletes: 1_000_000 }],
                }),
                { ...SPOKE_A, record: record(v) },
                NOW,
                ports,
              ),
            );

          // Assess
          const item = await stored(SPOKE_A, d);
          expect(item?.version).toBe(Math.max(...versions));
          expect(item?.evidence).toEqual(record(Math.max(...versions)).evidence);
          const deleted = versions.some((v) => v > 1) ? 1 : 0;
          expect(outcomes.filter((o) => o.counted).length).toBe(deleted);
          expect((await orgCount()) - before).toBe(deleted);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('opens the org breaker once and sends one alert naming account, region, repository and principal when a threshold is crossed', async () => {
    // Prepare: limit 3 in 5 minutes; five deletions in two spokes, each delivered twice
    const config = orgConfig();
    const deletions = [1, 2, 3, 4, 5].map((n) => ({
      ...(n === 4 ? SPOKE_B : SPOKE_A),
      record: spokeRecord(digest(n), 2, 'DELETED', n === 4 ? { repository: 'team-b/worker' } : {}),
    }));

    // Act
    const outcomes = [];
    for (const detail of [...deletions, ...deletions])
      outcomes.push(await ingestAuditRecord(config, detail, NOW, ports));

    // Assess
    expect(await orgCount()).toBe(5);
    expect(outcomes.flatMap((o) => o.crossings)).toEqual([
      { window: '5m', start: '2026-06-01T12:00:00.000Z', count: 4, limit: 3, breakerOpened: true },
    ]);
    const breaker = await new BreakerStore(db.doc, tables.state).get(ORG_SCOPE);
    expect(breaker).toMatchObject({
      pk: 'BREAKER#organization',
      sk: 'BREAKER',
      scope: 'organization',
      state: 'open',
    });
    const published = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(published).toHaveLength(1);
    expect(published[0]!.TopicArn).toBe(ALERTS);
    expect(published[0]!.Subject).toBe(
      'ECR Steward: 4 image deletions across the organization within 5m (limit 3)',
    );
    expect(published[0]!.Message).toContain(
      `account 333333333333, region us-east-1, repository team-b/worker, image ${digest(4)}, deleted by ${PRINCIPAL}.`,
    );
    expect(published[0]!.Message).toContain('The organization breaker is OPEN');
  });

  it('sends the alert on the retry when the first publish failed, still once', async () => {
    // Prepare: limit 1, one deletion counted; the publish of the crossing fails once
    const config = orgConfig({
      thresholds: [{ scope: 'organization', window: '5m', maxDeletes: 1 }],
    });
    await ingestAuditRecord(config, { ...SPOKE_A, record: spokeRecord(digest(1), 2, 'DELETED') }, NOW, ports);
    sns.on(PublishCommand).rejectsOnce(new Error('SNS unavailable')).resolves({ MessageId: 'hub-2' });
    const crossing = { ...SPOKE_A, record: spokeRecord(digest(2), 2, 'DELETED') };
    await expect(ingestAuditRecord(config, crossing, NOW, ports)).rejects.toThrow('SNS unavailable');

    // Act: the redelivery, after the claim went stale
    const later = new Date(NOW.getTime() + 61_000);
    const retried = await ingestAuditRecord(config, crossing, later, ports);
    const again = await ingestAuditRecord(config, crossing, later, ports);

    // Assess
    expect(retried.crossings).toHaveLength(1);
    expect(again.crossings).toEqual([]);
    expect(await orgCount()).toBe(2);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(2);
  });
});

describe('ingestAlert', () => {
  it('republishes a spoke alert once per message id on the hub topic of its role, the environment in the subject', async () => {
    // Prepare
    const detail = {
      ...SPOKE_B,
      topic: 'security' as const,
      subject: 'Scan gate: services/api failed',
      message: 'critical finding',
      messageId: 'sns-42',
    };

    // Act
    const first = await ingestAlert(detail, NOW, ports);
    const second = await ingestAlert(detail, NOW, ports);

    // Assess
    expect([first, second]).toEqual([{ published: true }, { published: false }]);
    expect(sns.commandCalls(PublishCommand).map((c) => c.args[0].input)).toEqual([
      {
        TopicArn: SECURITY,
        Subject: '[333333333333 us-east-1] Scan gate: services/api failed',
        Message: 'critical finding',
      },
    ]);
  });
});

describe('hub handler', () => {
  const envelope = (account: string, detailType: string, detail: unknown) => ({
    version: '0',
    id: `ev-${Math.random()}`,
    'detail-type': detailType,
    source: 'ecr-steward',
    account,
    time: NOW.toISOString(),
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

  it('writes audit records and dead-letters malformed events and a spoke speaking for another account, failing nothing', async () => {
    // Prepare
    vi.stubEnv('STEWARD_CONFIG_JSON', JSON.stringify(orgConfig()));
    const good = envelope(SPOKE_A.account, 'ECR Steward Audit Record', {
      ...SPOKE_A,
      record: spokeRecord(digest(7), 1, 'PENDING'),
    });
    const forged = envelope(SPOKE_B.account, 'ECR Steward Audit Record', {
      ...SPOKE_A,
      record: spokeRecord(digest(8), 1, 'PENDING'),
    });
    const malformed = envelope(SPOKE_A.account, 'ECR Steward Alert', {
      ...SPOKE_A,
      topic: 'pager',
      message: 'x',
      messageId: 'y',
    });

    // Act
    const response = await handler(
      sqsEvent([JSON.stringify(good), 'not json', JSON.stringify(forged), JSON.stringify(malformed)]),
    );

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect((await stored(SPOKE_A, digest(7)))?.version).toBe(1);
    expect(await stored(SPOKE_A, digest(8))).toBeUndefined();
    const reasons = sqs
      .commandCalls(SendMessageCommand)
      .map((c) => c.args[0].input.MessageAttributes?.reason?.StringValue);
    expect(reasons).toHaveLength(3);
    expect(reasons).toEqual(
      expect.arrayContaining([
        expect.stringContaining('body is not JSON'),
        'detail.account 222222222222 is not the account that sent the event (333333333333)',
        expect.stringContaining('detail.topic'),
      ]),
    );
    expect(sqs.commandCalls(SendMessageCommand).every((c) => c.args[0].input.QueueUrl === DLQ)).toBe(true);
  });
});
