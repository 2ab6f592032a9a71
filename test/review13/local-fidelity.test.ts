/**
 * Review of issue 13: the local organization's fidelity. Three things AWS refuses that the local front door,
 * STS and EventBridge let through, so that a test relying on them can pass falsely:
 * - cross-account DynamoDB needs an Allow in BOTH the table's resource policy and the caller's identity policy
 *   (DynamoDB developer guide, "Authorization with IAM identity-based policies and DynamoDB resource-based
 *   policies"); locally the resource policy alone admits, so a spoke function without `grantOrgBreakerRead`
 *   would still read the org breaker;
 * - STS AssumeRole of a role the account's template does not define (and whose trust policy was never checked)
 *   hands out credentials with every permission of that account — `plan --account` is read-only only by code;
 * - PutEvents with an entry over EventBridge's 256 KB limit is accepted.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalOrg } from '../../local/org.js';
import { ROOT } from '../e2e/synth.js';

const HUB = { account: '111111111111', region: 'eu-west-1', stackName: 'R13Hub' };
const SPOKE = { account: '222222222222', region: 'eu-west-1', stackName: 'R13Spoke' };
const BUS_ARN = `arn:aws:events:${HUB.region}:${HUB.account}:event-bus/r13-org-bus`;
const STATE_ARN = `arn:aws:dynamodb:${HUB.region}:${HUB.account}:table/r13-org-state`;
const BREAKER = { pk: { S: 'BREAKER#organization' }, sk: { S: 'BREAKER' } };

const HUB_TEMPLATE = {
  Resources: {
    Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'r13-org-bus' } },
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
    State: {
      Type: 'AWS::DynamoDB::Table',
      Properties: {
        TableName: 'r13-org-state',
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
                Resource: STATE_ARN,
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
  },
};

/** A spoke with no IAM at all: no role, no identity policy granting anything in the hub. */
const SPOKE_TEMPLATE = { Resources: { Queue: { Type: 'AWS::SQS::Queue', Properties: {} } } };

const WORK = path.join(ROOT, '.local', `test-review13-${process.pid}`);
let org: LocalOrg;

beforeAll(async () => {
  rmSync(WORK, { recursive: true, force: true });
  const cdkOut = path.join(WORK, 'cdk.out');
  mkdirSync(cdkOut, { recursive: true });
  writeFileSync(path.join(cdkOut, 'R13Hub.template.json'), JSON.stringify(HUB_TEMPLATE));
  writeFileSync(path.join(cdkOut, 'R13Spoke.template.json'), JSON.stringify(SPOKE_TEMPLATE));
  org = await LocalOrg.start({ cdkOut, hub: HUB, spokes: [SPOKE], logDir: path.join(WORK, 'logs') });
  const hub = new DynamoDBClient(org.clientConfig(HUB.account, HUB.region));
  await hub.send(
    new PutItemCommand({ TableName: 'r13-org-state', Item: { ...BREAKER, state: { S: 'open' } } }),
  );
  hub.destroy();
}, 60_000);

afterAll(async () => {
  await org?.close();
  rmSync(WORK, { recursive: true, force: true });
});

describe('review 13: the local organization refuses what AWS refuses', () => {
  // Not yet modelled (left open, see the closing note of #13): the caller's own identity policy on a
  // cross-account DynamoDB call, and AssumeRole limited to the roles (and trust policies) of the target's template.

  it('refuses a PutEvents entry over 256 KB', async () => {
    // Prepare
    const events = new EventBridgeClient(org.clientConfig(SPOKE.account, SPOKE.region));
    const detail = JSON.stringify({ blob: 'x'.repeat(300 * 1024) });

    // Act
    const out = await events
      .send(
        new PutEventsCommand({
          Entries: [
            { EventBusName: BUS_ARN, Source: 'ecr-steward', DetailType: 'ECR Steward Alert', Detail: detail },
          ],
        }),
      )
      .catch((e: Error) => e);
    events.destroy();

    // Assess: a request error, or the entry failed
    const refused = out instanceof Error || (out.FailedEntryCount ?? 0) > 0;
    expect(refused).toBe(true);
  });
});
