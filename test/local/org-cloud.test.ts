/**
 * The local organization over hand-written minimal templates: a hub (a custom bus with an organization
 * policy, a rule → queue → function, a state table with a resource policy, a topic with SQS subscriptions)
 * and a spoke (a table with a stream → an event source mapping → a function that PutEvents to the hub bus ARN).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  BatchWriteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalOrg } from '../../local/org.js';
import { ROOT } from '../e2e/synth.js';

const HUB = { account: '111111111111', region: 'eu-west-1', stackName: 'TestHub' };
const SPOKE = { account: '222222222222', region: 'eu-west-1', stackName: 'TestSpoke' };
const OUTSIDER = '444444444444';
const BUS_ARN = `arn:aws:events:${HUB.region}:${HUB.account}:event-bus/test-org-bus`;
const STATE_ARN = `arn:aws:dynamodb:${HUB.region}:${HUB.account}:table/test-org-state`;

const fn = (asset: string, env: Record<string, unknown> = {}) => ({
  Type: 'AWS::Lambda::Function',
  Metadata: { 'aws:asset:path': asset },
  Properties: {
    Handler: 'index.handler',
    Runtime: 'nodejs20.x',
    Timeout: 10,
    Environment: { Variables: env },
  },
});

const HUB_TEMPLATE = {
  Resources: {
    Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'test-org-bus' } },
    BusPolicy: {
      Type: 'AWS::Events::EventBusPolicy',
      Properties: {
        EventBusName: { Ref: 'Bus' },
        StatementId: 'organization',
        Statement: {
          Effect: 'Allow',
          Principal: '*',
          Action: 'events:PutEvents',
          Resource: { 'Fn::GetAtt': ['Bus', 'Arn'] },
          Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-local0example' } },
        },
      },
    },
    Rule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        EventBusName: { Ref: 'Bus' },
        EventPattern: { source: ['ecr-steward'] },
        Targets: [{ Id: 'ingest', Arn: { 'Fn::GetAtt': ['IngestQueue', 'Arn'] } }],
      },
    },
    IngestQueue: { Type: 'AWS::SQS::Queue', Properties: {} },
    HubFn: fn('asset.hub'),
    HubMapping: {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: {
        EventSourceArn: { 'Fn::GetAtt': ['IngestQueue', 'Arn'] },
        FunctionName: { Ref: 'HubFn' },
        BatchSize: 10,
      },
    },
    State: {
      Type: 'AWS::DynamoDB::Table',
      Properties: {
        TableName: 'test-org-state',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        ResourcePolicy: {
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Principal: { AWS: '*' },
                Action: 'dynamodb:GetItem',
                Resource: '*',
                Condition: {
                  StringEquals: { 'aws:PrincipalOrgID': 'o-local0example' },
                  'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': ['BREAKER#organization'] },
                },
              },
            ],
          },
        },
      },
    },
    Alerts: { Type: 'AWS::SNS::Topic', Properties: {} },
    AlertsQueue: { Type: 'AWS::SQS::Queue', Properties: {} },
    AlertsSubscription: {
      Type: 'AWS::SNS::Subscription',
      Properties: {
        Protocol: 'sqs',
        TopicArn: { Ref: 'Alerts' },
        Endpoint: { 'Fn::GetAtt': ['AlertsQueue', 'Arn'] },
      },
    },
    RawQueue: { Type: 'AWS::SQS::Queue', Properties: {} },
    RawSubscription: {
      Type: 'AWS::SNS::Subscription',
      Properties: {
        Protocol: 'sqs',
        TopicArn: { Ref: 'Alerts' },
        Endpoint: { 'Fn::GetAtt': ['RawQueue', 'Arn'] },
        RawMessageDelivery: 'true',
      },
    },
  },
};

const SPOKE_TEMPLATE = {
  Resources: {
    Audit: {
      Type: 'AWS::DynamoDB::Table',
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
      },
    },
    Forwarder: fn('asset.spoke', { BUS_ARN, MARKER_DIR: '' }),
    FailureQueue: { Type: 'AWS::SQS::Queue', Properties: {} },
    Mapping: {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: {
        EventSourceArn: { 'Fn::GetAtt': ['Audit', 'StreamArn'] },
        FunctionName: { Ref: 'Forwarder' },
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: 100,
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: 3,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': ['FailureQueue', 'Arn'] } } },
      },
    },
  },
};

/** The hub function: logs every event the rule's queue delivers. */
const HUB_FN = `exports.handler = async (event) => {
  for (const r of event.Records) console.log(JSON.stringify({ message: 'hub got', event: JSON.parse(r.body) }));
  return null;
};`;

/**
 * The spoke forwarder: puts each stream record on the hub bus, in order. A record whose mode is 'report-once'
 * is reported as a batch item failure the first time it is seen (the records after it are not forwarded then);
 * one whose mode is 'throw-once' makes the invocation throw the first time. Markers are files, so "the first
 * time" survives a new execution environment.
 */
const SPOKE_FN = `const fs = require('node:fs');
const path = require('node:path');
const { EventBridgeClient, PutEventsCommand } = require('@aws-sdk/client-eventbridge');
const client = new EventBridgeClient({});
const firstTime = (seq) => {
  const marker = path.join(process.env.MARKER_DIR, seq);
  if (fs.existsSync(marker)) return false;
  fs.writeFileSync(marker, '');
  return true;
};
exports.handler = async (event) => {
  for (const r of event.Records) {
    const seq = r.dynamodb.SequenceNumber;
    const mode = r.dynamodb.NewImage && r.dynamodb.NewImage.mode ? r.dynamodb.NewImage.mode.S : '';
    if (mode === 'report-once' && firstTime(seq)) return { batchItemFailures: [{ itemIdentifier: seq }] };
    if (mode === 'throw-once' && firstTime(seq)) throw new Error('halfway');
    const out = await client.send(new PutEventsCommand({ Entries: [{
      EventBusName: process.env.BUS_ARN, Source: 'ecr-steward', DetailType: 'ECR Steward Audit Record',
      Detail: JSON.stringify({ sk: r.dynamodb.Keys.sk.S, seq }),
    }] }));
    if (out.FailedEntryCount) throw new Error(JSON.stringify(out.Entries));
    console.log(JSON.stringify({ message: 'forwarded', sk: r.dynamodb.Keys.sk.S, seq }));
  }
  return { batchItemFailures: [] };
};`;

const WORK = path.join(ROOT, '.local', `test-org-cloud-${process.pid}`);
const MARKERS = path.join(WORK, 'markers');
let org: LocalOrg;

function hubEvents(): { 'detail-type': string; account: string; region: string; detail: { sk?: string } }[] {
  return org.hub.functions.logRecords
    .filter((l) => l.record.message === 'hub got')
    .map((l) => l.record.event as never);
}

async function waitUntil<T>(
  what: string,
  check: () => T | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  rmSync(WORK, { recursive: true, force: true });
  const cdkOut = path.join(WORK, 'cdk.out');
  mkdirSync(MARKERS, { recursive: true });
  for (const [asset, code] of [
    ['asset.hub', HUB_FN],
    ['asset.spoke', SPOKE_FN],
  ] as const) {
    mkdirSync(path.join(cdkOut, asset), { recursive: true });
    writeFileSync(path.join(cdkOut, asset, 'index.js'), code);
  }
  const spoke = JSON.parse(JSON.stringify(SPOKE_TEMPLATE));
  spoke.Resources.Forwarder.Properties.Environment.Variables.MARKER_DIR = MARKERS;
  writeFileSync(path.join(cdkOut, 'TestHub.template.json'), JSON.stringify(HUB_TEMPLATE));
  writeFileSync(path.join(cdkOut, 'TestSpoke.template.json'), JSON.stringify(spoke));
  org = await LocalOrg.start({
    cdkOut,
    hub: HUB,
    spokes: [SPOKE],
    logDir: path.join(WORK, 'logs'),
    streamRetryDelayMs: () => 10,
  });
}, 60_000);

afterAll(async () => {
  await org?.close();
  rmSync(WORK, { recursive: true, force: true });
});

describe('LocalOrg', () => {
  it('routes an event a spoke puts on the hub bus ARN to the hub rule target, with the spoke as account', async () => {
    // Prepare
    const events = new EventBridgeClient(org.clientConfig(SPOKE.account, SPOKE.region));
    const before = hubEvents().length;

    // Act
    const out = await events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: BUS_ARN,
            Source: 'ecr-steward',
            DetailType: 'ECR Steward Alert',
            Detail: '{"sk":"direct"}',
          },
        ],
      }),
    );
    const got = await waitUntil('the hub function', () =>
      hubEvents()
        .slice(before)
        .find((e) => e.detail.sk === 'direct'),
    );
    events.destroy();

    // Assess
    expect(out.FailedEntryCount).toBe(0);
    expect(out.Entries?.[0]?.EventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(got).toMatchObject({
      'detail-type': 'ECR Steward Alert',
      account: SPOKE.account,
      region: HUB.region,
      source: 'ecr-steward',
      detail: { sk: 'direct' },
    });
  });

  it('refuses the PutEvents entry of an account outside the organization with AccessDeniedException', async () => {
    // Prepare
    const events = new EventBridgeClient(org.clientConfig(OUTSIDER, HUB.region));

    // Act
    const out = await events.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: BUS_ARN, Source: 'ecr-steward', DetailType: 'ECR Steward Alert', Detail: '{}' },
        ],
      }),
    );
    events.destroy();

    // Assess
    expect(out.FailedEntryCount).toBe(1);
    expect(out.Entries).toEqual([
      {
        ErrorCode: 'AccessDeniedException',
        ErrorMessage: `User: arn:aws:iam::${OUTSIDER}:user/local is not authorized to perform: events:PutEvents on resource: ${BUS_ARN} because no resource-based policy allows the events:PutEvents action`,
      },
    ]);
    expect(org.hub.events.puts.at(-1)).toEqual({
      bus: 'test-org-bus',
      caller: OUTSIDER,
      errorCode: 'AccessDeniedException',
    });
  });

  it('lets a spoke GetItem the hub table by ARN for the allowed key only', async () => {
    // Prepare
    const hub = new DynamoDBClient(org.clientConfig(HUB.account, HUB.region));
    const spoke = new DynamoDBClient(org.clientConfig(SPOKE.account, SPOKE.region));
    const outsider = new DynamoDBClient(org.clientConfig(OUTSIDER, HUB.region));
    const breaker = { pk: { S: 'BREAKER#organization' }, sk: { S: 'BREAKER' } };
    await hub.send(
      new PutItemCommand({ TableName: 'test-org-state', Item: { ...breaker, state: { S: 'OPEN' } } }),
    );
    await hub.send(
      new PutItemCommand({ TableName: 'test-org-state', Item: { pk: { S: 'SECRET' }, sk: { S: 'X' } } }),
    );

    // Act
    const read = await spoke.send(
      new GetItemCommand({ TableName: STATE_ARN, Key: breaker, ConsistentRead: true }),
    );
    const other = await spoke
      .send(new GetItemCommand({ TableName: STATE_ARN, Key: { pk: { S: 'SECRET' }, sk: { S: 'X' } } }))
      .catch((e: Error) => e);
    const write = await spoke
      .send(new PutItemCommand({ TableName: STATE_ARN, Item: { ...breaker, state: { S: 'CLOSED' } } }))
      .catch((e: Error) => e);
    const outside = await outsider
      .send(new GetItemCommand({ TableName: STATE_ARN, Key: breaker }))
      .catch((e: Error) => e);
    for (const c of [hub, spoke, outsider]) c.destroy();

    // Assess
    expect(read.Item).toEqual({ ...breaker, state: { S: 'OPEN' } });
    expect(other).toMatchObject({
      name: 'AccessDeniedException',
      message: `User: arn:aws:iam::${SPOKE.account}:user/local is not authorized to perform: dynamodb:GetItem on resource: ${STATE_ARN} because no resource-based policy allows the dynamodb:GetItem action`,
    });
    expect(write).toMatchObject({ name: 'AccessDeniedException' });
    expect(outside).toMatchObject({ name: 'AccessDeniedException' });
  });

  it('redelivers a stream batch from the reported failed record, losing and repeating none', async () => {
    // Prepare
    const ddb = new DynamoDBClient(org.clientConfig(SPOKE.account, SPOKE.region));
    const sks = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];
    const spoke = org.spokes[0]!;
    const poller = spoke.streamPollers[0]!;
    const deliveriesBefore = poller.deliveries.length;

    // Act
    await ddb.send(
      new BatchWriteItemCommand({
        RequestItems: {
          Audit: sks.map((sk) => ({
            PutRequest: {
              Item: { pk: { S: 'P' }, sk: { S: sk }, ...(sk === 'r4' ? { mode: { S: 'report-once' } } : {}) },
            },
          })),
        },
      }),
    );
    await waitUntil(
      'six forwarded records',
      () => hubEvents().filter((e) => sks.includes(e.detail.sk ?? '')).length >= 6,
    );
    await org.settle();
    ddb.destroy();

    // Assess
    const records = spoke.streams
      .get('Audit')!
      .records.filter((r) => sks.includes(String((r.dynamodb.Keys.sk as { S: string }).S)));
    const seq = (sk: string) =>
      records.find((r) => (r.dynamodb.Keys.sk as { S: string }).S === sk)!.dynamodb.SequenceNumber;
    expect(records.map((r) => r.eventName)).toEqual([
      'INSERT',
      'INSERT',
      'INSERT',
      'INSERT',
      'INSERT',
      'INSERT',
    ]);
    expect(
      hubEvents()
        .filter((e) => sks.includes(e.detail.sk ?? ''))
        .map((e) => e.detail.sk),
    ).toEqual(sks);
    expect(poller.deliveries.slice(deliveriesBefore)).toEqual([
      { first: seq('r1'), last: seq('r6'), size: 6, outcome: 'partial' },
      { first: seq('r4'), last: seq('r6'), size: 3, outcome: 'ok' },
    ]);
  });

  it('redelivers a batch whose function throws halfway, bisected, so every record arrives at least once', async () => {
    // Prepare
    const ddb = new DynamoDBClient(org.clientConfig(SPOKE.account, SPOKE.region));
    const sks = ['t1', 't2', 't3', 't4'];
    const poller = org.spokes[0]!.streamPollers[0]!;
    const deliveriesBefore = poller.deliveries.length;

    // Act
    await ddb.send(
      new BatchWriteItemCommand({
        RequestItems: {
          Audit: sks.map((sk) => ({
            PutRequest: {
              Item: { pk: { S: 'T' }, sk: { S: sk }, ...(sk === 't3' ? { mode: { S: 'throw-once' } } : {}) },
            },
          })),
        },
      }),
    );
    await waitUntil('t4 forwarded', () => hubEvents().some((e) => e.detail.sk === 't4'));
    await org.settle();
    ddb.destroy();

    // Assess
    const arrived = hubEvents()
      .filter((e) => sks.includes(e.detail.sk ?? ''))
      .map((e) => e.detail.sk);
    expect(arrived).toEqual(['t1', 't2', 't1', 't2', 't3', 't4']);
    expect(poller.deliveries.slice(deliveriesBefore).map((d) => [d.size, d.outcome])).toEqual([
      [4, 'error'],
      [2, 'ok'],
      [2, 'ok'],
    ]);
    expect(org.spokes[0]!.queueDepth('FailureQueue')).toBe(0);
  });

  it('delivers an SNS message to an SQS subscription in the SNS envelope, and raw when asked', async () => {
    // Prepare
    const sns = new SNSClient(org.clientConfig(HUB.account, HUB.region));
    const topicArn = `arn:aws:sns:${HUB.region}:${HUB.account}:Alerts`;

    // Act
    const out = await sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Subject: 'Breaker open',
        Message: 'deletes stopped',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'breaker' } },
      }),
    );
    sns.destroy();

    // Assess
    const published = org.hub.sns.messages.find((m) => m.messageId === out.MessageId)!;
    const body = org.hub.queues.get('AlertsQueue')!.messages.at(-1)!.body;
    expect(body).toBe(
      [
        '{',
        '  "Type" : "Notification",',
        `  "MessageId" : "${out.MessageId}",`,
        `  "TopicArn" : "${topicArn}",`,
        '  "Subject" : "Breaker open",',
        '  "Message" : "deletes stopped",',
        `  "Timestamp" : "${published.at}",`,
        '  "SignatureVersion" : "1",',
        `  "Signature" : "${Buffer.from(`local-signature:${out.MessageId}`).toString('base64')}",`,
        `  "SigningCertURL" : "https://sns.${HUB.region}.amazonaws.com/SimpleNotificationService-local.pem",`,
        `  "UnsubscribeURL" : "https://sns.${HUB.region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${topicArn}:AlertsSubscription",`,
        '  "MessageAttributes" : {"kind":{"Type":"String","Value":"breaker"}}',
        '}',
      ].join('\n'),
    );
    const raw = org.hub.queues.get('RawQueue')!.messages.at(-1)!;
    expect(raw.body).toBe('deletes stopped');
    expect(raw.attributes).toEqual({ kind: { DataType: 'String', StringValue: 'breaker' } });
  });
});
