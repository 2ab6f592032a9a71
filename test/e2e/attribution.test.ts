/**
 * On the local cloud, from the synthesized template (test/e2e/steward.attribution.jsonc):
 * - a burst of manual deletes crosses the repository threshold; CloudTrail's BatchDeleteImage record is
 *   published only after the alert's attribution wait: the alert goes out at its deadline (a delayed message to
 *   the audit queue) naming nobody yet, and a follow-up on the same topic names the principal, source IP and user
 *   agent once CloudTrail's record arrives;
 * - a repository policy opened to everyone is recorded as an OPERATION and raises one security alert naming who
 *   did it; a redelivery of the same CloudTrail event changes nothing.
 */
import { BatchDeleteImageCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OperationStore } from '../../functions/shared/audit/operations.js';
import { cloudTrailBatchDelete } from '../../local/scenario.js';
import {
  awayFromWindowEdge,
  type E2E,
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  seed,
  startE2E,
  waitFor,
} from './harness.js';

const CONFIG = 'test/e2e/steward.attribution.jsonc';
const REPO = 'services/attrib';
const ALICE = `arn:aws:iam::${LOCAL_ACCOUNT}:user/alice`;
const MALLORY = `arn:aws:iam::${LOCAL_ACCOUNT}:user/mallory`;

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E('attribution', { config: CONFIG });
}, 600_000);
afterAll(async () => {
  await e2e?.close();
});

const messagesOn = (topic: string) => e2e.cloud.sns.messages.filter((m) => m.topicArn === topic);

describe('delete-rate alert attribution (local cloud)', () => {
  it('sends the alert at its deadline and a follow-up naming the principal when CloudTrail comes after the ECR events', async () => {
    // Prepare
    const digests = seed(
      e2e,
      REPO,
      Array.from({ length: 8 }, (_, i) => ({ tags: [`build-${i}`] })),
    );
    const victims = digests.slice(0, 7);
    const before = messagesOn(e2e.topics.alerts).length;
    await awayFromWindowEdge(5, 30_000);

    // Act
    const out = await e2e.ecr.send(
      new BatchDeleteImageCommand({
        repositoryName: REPO,
        imageIds: victims.map((imageDigest) => ({ imageDigest })),
      }),
    );
    const alert = await waitFor(
      'the alert at its deadline',
      () => messagesOn(e2e.topics.alerts)[before],
      30_000,
    );
    const beforeCloudTrail = messagesOn(e2e.topics.alerts).length - before;
    const event = cloudTrailBatchDelete(REPO, victims, out.imageIds ?? [], ALICE) as {
      detail: Record<string, unknown>;
    };
    event.detail.sourceIPAddress = '203.0.113.9';
    event.detail.userAgent = 'aws-cli/2.17.0';
    e2e.cloud.publish(event);
    await e2e.cloud.settle(60_000);

    // Assess
    expect(beforeCloudTrail).toBe(1);
    expect(alert.subject).toContain(`repository ${REPO}`);
    expect(alert.message).toContain('not yet attributed by CloudTrail');
    const after = messagesOn(e2e.topics.alerts).slice(before);
    expect(after).toHaveLength(2);
    expect(after[1]?.subject).toBe(`ECR Steward: who deleted in repository ${REPO} (follow-up)`);
    expect(after[1]?.message).toContain(`Principals: ${ALICE}`);
    expect(after[1]?.message).toContain('Source IPs: 203.0.113.9');
    expect(after[1]?.message).toContain('User agents: aws-cli/2.17.0');
    expect(after[1]?.message).toContain(`Top actors: principal ${ALICE} (7)`);
  }, 120_000);
});

describe('registry operations (local cloud)', () => {
  it('records a repository policy opened to everyone once and alerts once, naming who did it', async () => {
    // Prepare
    const security = () =>
      [...messagesOn(e2e.topics.security), ...messagesOn(e2e.topics.alerts)].filter((m) =>
        m.subject?.startsWith('ECR Steward security:'),
      );
    const time = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const event = {
      version: '0',
      id: 'op-event-1',
      'detail-type': 'AWS API Call via CloudTrail',
      source: 'aws.ecr',
      account: LOCAL_ACCOUNT,
      time,
      region: LOCAL_REGION,
      resources: [],
      detail: {
        eventVersion: '1.08',
        userIdentity: { type: 'IAMUser', arn: MALLORY, accountId: LOCAL_ACCOUNT },
        eventTime: time,
        eventSource: 'ecr.amazonaws.com',
        eventName: 'SetRepositoryPolicy',
        awsRegion: LOCAL_REGION,
        sourceIPAddress: '198.51.100.66',
        userAgent: 'console.amazonaws.com',
        requestParameters: {
          repositoryName: REPO,
          policyText: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: '*', Action: ['ecr:BatchGetImage'] }],
          }),
        },
        responseElements: null,
        eventID: 'ct-set-policy-1',
        readOnly: false,
        eventType: 'AwsApiCall',
        recipientAccountId: LOCAL_ACCOUNT,
      },
    };

    // Act
    e2e.cloud.publish(event);
    e2e.cloud.publish(event);
    await e2e.cloud.settle(60_000);
    const records = await new OperationStore(e2e.doc, e2e.tables.audit).list({
      registryId: LOCAL_ACCOUNT,
      region: LOCAL_REGION,
      principal: MALLORY,
      since: new Date(Date.now() - 3_600_000).toISOString(),
    });

    // Assess
    expect(records.map((r) => [r.operation, r.repository, r.sourceIPAddress, r.parameters.grantees])).toEqual(
      [['SetRepositoryPolicy', REPO, '198.51.100.66', ['*']]],
    );
    expect(security()).toHaveLength(1);
    expect(security()[0]?.subject).toBe(
      `ECR Steward security: repository ${REPO} policy grants access to everyone (*)`,
    );
    expect(security()[0]?.message).toContain(`Principal:  ${MALLORY}`);
    expect(security()[0]?.message).toContain('Source IP:  198.51.100.66');
    expect(security()[0]?.message).toContain('User agent: console.amazonaws.com');
  }, 60_000);
});
