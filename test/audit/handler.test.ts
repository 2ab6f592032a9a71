/**
 * The audit handler (functions/audit/handler.ts) as Lambda runs it on the audit queue: DynamoDB is a real
 * dynalite reached through the SDK's standard AWS_ENDPOINT_URL_DYNAMODB setting; ECR, SNS and SQS are mocked
 * at the SDK boundary (aws-sdk-client-mock).
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DescribeImagesCommand } from '@aws-sdk/client-ecr';
import { PublishCommand } from '@aws-sdk/client-sns';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { handler } from '../../functions/audit/handler.js';
import { AuditStore } from '../../functions/shared/audit/store.js';
import type { StewardConfigInput } from '../../functions/shared/config/schema.js';
import { auditHandlerHarness, handlerConfig, interceptDynamo, sqsMessage } from './handler-harness.js';
import {
  ACCOUNT,
  AWS_POLICY_EXECUTION_RECORD,
  awsLifecycleEvent,
  digestOf,
  imageActionEvent,
  REGION,
  REPO,
} from './helpers.js';

vi.hoisted(() => {
  // Read when the handler module loads: quiet logs and no EMF output.
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
});

const ALERTS_TOPIC = `arn:aws:sns:${REGION}:${ACCOUNT}:EcrSteward-Alerts`;
const DLQ_URL = `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/EcrSteward-AuditDeadLetter`;

const h = auditHandlerHarness('handler');
const { ecr, sns, sqs } = h;

/** Gives the handler the test config with these alerts from now on. */
const useConfig = (alerts?: StewardConfigInput['alerts']) => h.useConfig(handlerConfig(alerts));
/** One record of the (standard) audit queue, as Lambda's event source mapping delivers it. */
const record = sqsMessage;

const batch = (...records: SQSRecord[]): SQSEvent => ({ Records: records });
const store = () => new AuditStore(h.db.doc, h.tables.audit);
const A = digestOf('handler-a');
const B = digestOf('handler-b');

describe('audit handler', () => {
  it('dead-letters a malformed body with its reason and processes the rest of the batch', async () => {
    // Prepare
    const deleteEvent = imageActionEvent({
      id: 'ev-a',
      digest: A,
      tag: 'v1',
      time: new Date().toISOString(),
    });
    const event = batch(
      record('m-1', deleteEvent),
      record('m-2', '{"detail-type": "ECR Image Action", '),
      record('m-3', awsLifecycleEvent()),
      record('m-4', imageActionEvent({ id: 'ev-push', digest: B, actionType: 'PUSH' })),
    );

    // Act
    const response = await handler(event);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const dead = sqs.commandCalls(SendMessageCommand);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.args[0].input).toEqual({
      QueueUrl: DLQ_URL,
      MessageBody: '{"detail-type": "ECR Image Action", ',
      MessageAttributes: {
        reason: { DataType: 'String', StringValue: expect.stringMatching(/^body is not JSON: /) },
      },
    });
    expect(ecr.commandCalls(DescribeImagesCommand).map((c) => c.args[0].input)).toEqual([
      { repositoryName: REPO, imageIds: [{ imageDigest: A }], filter: { imageStatus: 'ANY' } },
    ]);
    const recorded = await store().byDigest(A);
    expect(recorded.map((r) => [r.repository, r.status, r.actor.type, r.evidence, r.tags])).toEqual([
      [REPO, 'DELETED', 'unknown', ['image-action-event'], ['v1']],
    ]);
    const lifecycle = await store().byRepository({
      registryId: ACCOUNT,
      region: 'us-west-2',
      repository: 'testrepo',
    });
    expect(lifecycle.map((r) => r.digest).sort()).toEqual(
      AWS_POLICY_EXECUTION_RECORD.serviceEventDetails.lifecycleEventImageActions
        .map((a) => a.lifecycleEventImage.digest)
        .sort(),
    );
    expect(await store().byDigest(B)).toEqual([]);
    expect(sns.commandCalls(PublishCommand)).toEqual([]);
  });

  it.each([
    [
      'an event the schema rejects',
      { ...imageActionEvent({ id: 'ev-x', digest: A }), source: 'aws.s3' },
      /^not a delete signal ECR Steward knows: /,
    ],
    [
      'a DELETE without image-digest',
      (() => {
        const e = imageActionEvent({ id: 'ev-x', digest: A });
        delete (e.detail as Record<string, unknown>)['image-digest'];
        return e;
      })(),
      /^ECR Image Action DELETE without image-digest$/,
    ],
    [
      'a DELETE whose digest is malformed (sha256:abc)',
      imageActionEvent({ id: 'ev-x', digest: 'sha256:abc', tag: 'v1' }),
      /^not a delete signal ECR Steward knows: detail\.image-digest: not an image digest: expected "sha256:" and 64 lower-case hex digits$/,
    ],
  ])('dead-letters %s with its reason and reports no batch item failure', async (_name, body, reason) => {
    // Prepare
    const event = batch(record('m-bad', body));

    // Act
    const response = await handler(event);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const [call] = sqs.commandCalls(SendMessageCommand);
    expect(call!.args[0].input.QueueUrl).toBe(DLQ_URL);
    expect(call!.args[0].input.MessageBody).toBe(JSON.stringify(body));
    expect(call!.args[0].input.MessageAttributes?.reason?.StringValue).toMatch(reason);
    expect(await h.db.scan(h.tables.audit)).toEqual([]);
  });

  it('reports a record as a batch item failure when DynamoDB fails for it, and processes the others', async () => {
    // Prepare: DynamoDB refuses the write of one digest's record
    interceptDynamo((command, send) =>
      command instanceof PutCommand && command.input.Item?.digest === B
        ? Promise.reject(
            Object.assign(new Error('Throughput exceeds the current capacity of your table'), {
              name: 'ProvisionedThroughputExceededException',
              $fault: 'client',
              $metadata: { httpStatusCode: 400 },
            }),
          )
        : send(),
    );
    const event = batch(
      record('m-a', imageActionEvent({ id: 'ev-a', digest: A })),
      record('m-b', imageActionEvent({ id: 'ev-b', digest: B })),
      record('m-bad', 'not json'),
    );
    const added = vi.spyOn(Metrics.prototype, 'addMetric');

    // Act
    const response = await handler(event);

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-b' }] });
    // One write failure for the alarm (the malformed record is a dead letter, not a write failure).
    expect(added.mock.calls.filter(([name]) => name === 'AuditWriteFailures')).toEqual([
      ['AuditWriteFailures', MetricUnit.Count, 1],
    ]);
    expect(added.mock.calls.filter(([name]) => name === 'MalformedEvents')).toHaveLength(1);
    expect((await store().byDigest(A)).map((r) => r.status)).toEqual(['DELETED']);
    expect(await store().byDigest(B)).toEqual([]);
    expect(sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input.MessageBody)).toEqual([
      'not json',
    ]);
  });

  it('reports every well-formed record as a batch item failure when the audit table does not exist', async () => {
    // Prepare
    vi.stubEnv('AUDIT_TABLE_NAME', 'no-such-table');
    const event = batch(
      record('m-a', imageActionEvent({ id: 'ev-a', digest: A })),
      record('m-bad', 'not json'),
      record('m-lc', awsLifecycleEvent()),
    );

    // Act
    const response = await handler(event);

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-a' }, { itemIdentifier: 'm-lc' }] });
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(1);
  });

  it('reports a malformed record as a batch item failure when the dead-letter queue cannot take it', async () => {
    // Prepare
    sqs
      .on(SendMessageCommand)
      .rejects(Object.assign(new Error('Service unavailable'), { name: 'ServiceUnavailable' }));
    const event = batch(
      record('m-bad', 'not json'),
      record('m-a', imageActionEvent({ id: 'ev-a', digest: A })),
    );

    // Act
    const response = await handler(event);

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-bad' }] });
    expect((await store().byDigest(A)).map((r) => r.status)).toEqual(['DELETED']);
  });

  it('records nothing and is not a failure when ECR says the image still exists (a tag was removed)', async () => {
    // Prepare
    ecr.reset();
    ecr.on(DescribeImagesCommand).resolves({
      imageDetails: [{ registryId: ACCOUNT, repositoryName: REPO, imageDigest: A, imageTags: ['latest'] }],
    });
    const event = batch(record('m-a', imageActionEvent({ id: 'ev-a', digest: A, tag: 'v1' })));

    // Act
    const response = await handler(event);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await h.db.scan(h.tables.audit)).toEqual([]);
  });

  it('publishes the alert to the alerts topic when a batch crosses a threshold', async () => {
    // Prepare
    useConfig({ thresholds: [{ scope: 'repository', window: '5m', maxDeletes: 1 }] });
    const time = new Date().toISOString();
    const event = batch(
      record('m-a', imageActionEvent({ id: 'ev-a', digest: A, time })),
      record('m-b', imageActionEvent({ id: 'ev-b', digest: B, time })),
    );

    // Act
    const response = await handler(event);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const published = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      TopicArn: ALERTS_TOPIC,
      Subject: 'ECR Steward: 2 image deletions in repository services/orders within 5m (limit 1)',
    });
    expect(published[0]!.Message).toContain(
      'npx ecr-steward breaker reset --scope repository:services/orders',
    );
  });
});
