/**
 * Fixtures of the audit tests: the three delete signals as EventBridge delivers them (AWS's published samples
 * where AWS publishes one), a config builder, and the audit ports wired to the real DynamoDB stores.
 */
import { createHash } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AuditPorts } from '../../functions/audit/core.js';
import { type AuditEvent, auditEventSchema } from '../../functions/audit/schema.js';
import { type Candidate, extractCandidates } from '../../functions/audit/signals.js';
import { AuditStore, documentClient } from '../../functions/shared/audit/store.js';
import { validateConfig } from '../../functions/shared/config/load.js';
import type { StewardConfig, StewardConfigInput } from '../../functions/shared/config/schema.js';
import { BreakerStore } from '../../functions/shared/state/breaker.js';
import { RateCounters } from '../../functions/shared/state/counters.js';
import type { Tables } from '../support/dynamo.js';

export const ACCOUNT = '123456789012';
export const REGION = 'us-west-2';
export const REPO = 'services/orders';
/** The role an operator's session assumed (CloudTrail `userIdentity.sessionContext.sessionIssuer.arn`). */
export const CI_ROLE = `arn:aws:iam::${ACCOUNT}:role/ci-cleanup`;
/** The role ECR Steward's cleanup worker runs as. */
export const STEWARD_ROLE = `arn:aws:iam::${ACCOUNT}:role/EcrSteward-CleanupWorkerRole`;

/** A stable, valid digest for a name. */
export function digestOf(name: string): string {
  return `sha256:${createHash('sha256').update(name).digest('hex')}`;
}

/** ECR's `ECR Image Action` DELETE sample, verbatim (Amazon ECR User Guide); its digest is not valid hex. */
export const AWS_IMAGE_ACTION_DELETE_SAMPLE = {
  version: '0',
  id: 'dd3b46cb-2c74-f49e-393b-28286b67279d',
  'detail-type': 'ECR Image Action',
  source: 'aws.ecr',
  account: '123456789012',
  time: '2019-11-16T02:01:05Z',
  region: 'us-west-2',
  resources: [],
  detail: {
    result: 'SUCCESS',
    'repository-name': 'my-repository-name',
    'image-digest': 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234',
    'action-type': 'DELETE',
    'image-tag': 'latest',
  },
};

/** The CloudTrail `PolicyExecutionEvent` record of the AWS docs, verbatim. */
export const AWS_POLICY_EXECUTION_RECORD = {
  eventVersion: '1.05',
  userIdentity: { accountId: '123456789012', invokedBy: 'AWS Internal' },
  eventTime: '2020-03-12T20:22:12Z',
  eventSource: 'ecr.amazonaws.com',
  eventName: 'PolicyExecutionEvent',
  awsRegion: 'us-west-2',
  sourceIPAddress: 'AWS Internal',
  userAgent: 'AWS Internal',
  requestParameters: null,
  responseElements: null,
  eventID: '9354dd7f-9aac-4e9d-956d-12561a4923aa',
  readOnly: true,
  resources: [
    {
      ARN: 'arn:aws:ecr:us-west-2:123456789012:repository/testrepo',
      accountId: '123456789012',
      type: 'AWS::ECR::Repository',
    },
  ],
  eventType: 'AwsServiceEvent',
  recipientAccountId: '123456789012',
  serviceEventDetails: {
    repositoryName: 'testrepo',
    lifecycleEventPolicy: {
      lifecycleEventRules: [
        {
          rulePriority: 1,
          description: 'remove all images > 2',
          lifecycleEventSelection: {
            tagStatus: 'Any',
            tagPrefixList: [],
            countType: 'Image count more than',
            countNumber: 2,
          },
          action: 'expire',
        },
      ],
      lastEvaluatedAt: 0,
      policyVersion: 1,
      policyId: 'ceb86829-58e7-9498-920c-aa042e33037b',
    },
    lifecycleEventImageActions: [
      {
        lifecycleEventImage: {
          digest: 'sha256:ddba4d27a7ffc3f86dd6c2f92041af252a1f23a8e742c90e6e1297bfa1bc0c45',
          tagStatus: 'Tagged',
          tagList: ['alpine'],
          pushedAt: 1584042813000,
        },
        rulePriority: 1,
      },
      {
        lifecycleEventImage: {
          digest: 'sha256:6ab380c5a5acf71c1b6660d645d2cd79cc8ce91b38e0352cbf9561e050427baf',
          tagStatus: 'Tagged',
          tagList: ['centos'],
          pushedAt: 1584042842000,
        },
        rulePriority: 1,
      },
    ],
  },
};

type Json = Record<string, unknown>;

/** A deep copy, so a test can reshape its own copy of a sample. */
export const copy = <T>(value: T): T => structuredClone(value);

/** A CloudTrail record in the EventBridge envelope CloudTrail uses for it. */
export function cloudTrailEnvelope(
  detail: Json,
  opts: { id?: string; time?: string; detailType?: string } = {},
): Json {
  return {
    version: '0',
    id: opts.id ?? `eb-${String(detail.eventID ?? 'event')}`,
    'detail-type':
      opts.detailType ??
      (detail.eventType === 'AwsServiceEvent'
        ? 'AWS Service Event via CloudTrail'
        : 'AWS API Call via CloudTrail'),
    source: 'aws.ecr',
    account: String(detail.recipientAccountId ?? ACCOUNT),
    time: opts.time ?? String(detail.eventTime ?? '2026-06-01T12:00:00Z'),
    region: String(detail.awsRegion ?? REGION),
    resources: [],
    detail,
  };
}

/** The AWS docs' PolicyExecutionEvent, delivered by EventBridge. */
export function awsLifecycleEvent(): Json {
  return cloudTrailEnvelope(copy(AWS_POLICY_EXECUTION_RECORD), {
    id: '6f0d9cbb-6a4d-9e1a-4c31-0ad9a0b6b5e1',
    time: '2020-03-12T20:22:14Z',
  });
}

export interface ExpiredImage {
  readonly digest: string;
  readonly tags?: readonly string[];
  /** epoch ms */
  readonly pushedAt?: number;
  readonly rulePriority?: number;
}

/** A PolicyExecutionEvent for our own repository and images (same shape as the AWS sample). */
export function lifecycleEvent(opts: {
  repository?: string;
  eventID: string;
  eventTime?: string;
  images: readonly ExpiredImage[];
  rules?: readonly { rulePriority: number; action: string }[];
  failures?: readonly { failureCode: string; failureReason: string }[];
  eventName?: string;
}): Json {
  const record = copy(AWS_POLICY_EXECUTION_RECORD) as unknown as Json & {
    serviceEventDetails: Json & { lifecycleEventPolicy: Json };
  };
  const repository = opts.repository ?? REPO;
  record.eventID = opts.eventID;
  record.eventTime = opts.eventTime ?? '2026-06-01T12:00:10Z';
  record.awsRegion = REGION;
  record.eventName = opts.eventName ?? 'PolicyExecutionEvent';
  record.resources = [
    {
      ARN: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${repository}`,
      accountId: ACCOUNT,
      type: 'AWS::ECR::Repository',
    },
  ];
  record.serviceEventDetails.repositoryName = repository;
  record.serviceEventDetails.lifecycleEventPolicy.lifecycleEventRules = (
    opts.rules ?? [{ rulePriority: 1, action: 'expire' }]
  ).map((r) => ({ ...r, description: `rule ${r.rulePriority}` }));
  record.serviceEventDetails.lifecycleEventImageActions = opts.images.map((i) => ({
    lifecycleEventImage: {
      digest: i.digest,
      tagStatus: (i.tags ?? []).length > 0 ? 'Tagged' : 'Untagged',
      tagList: [...(i.tags ?? [])],
      pushedAt: i.pushedAt ?? Date.parse('2026-05-01T00:00:00Z'),
    },
    rulePriority: i.rulePriority ?? 1,
  }));
  if (opts.failures) record.serviceEventDetails.lifecycleEventFailureDetails = [...opts.failures];
  return cloudTrailEnvelope(record, { id: `eb-${opts.eventID}` });
}

/** An `ECR Image Action` event (the AWS sample's shape) for our repository. */
export function imageActionEvent(opts: {
  id: string;
  digest: string;
  repository?: string;
  tag?: string;
  actionType?: string;
  result?: string;
  time?: string;
}): Json {
  const detail: Json = {
    result: opts.result ?? 'SUCCESS',
    'repository-name': opts.repository ?? REPO,
    'image-digest': opts.digest,
    'action-type': opts.actionType ?? 'DELETE',
  };
  if (opts.tag !== undefined) detail['image-tag'] = opts.tag;
  return {
    version: '0',
    id: opts.id,
    'detail-type': 'ECR Image Action',
    source: 'aws.ecr',
    account: ACCOUNT,
    time: opts.time ?? '2026-06-01T12:00:05Z',
    region: REGION,
    resources: [],
    detail,
  };
}

export interface ImageIdJson {
  imageDigest?: string;
  imageTag?: string;
}

/** A CloudTrail BatchDeleteImage record (AwsApiCall) made by a session of `role` (or an IAM user `userArn`). */
export function batchDeleteEvent(opts: {
  eventID: string;
  requested: readonly ImageIdJson[];
  deleted: readonly ImageIdJson[];
  failures?: readonly { imageId: ImageIdJson; failureCode: string; failureReason: string }[];
  repository?: string;
  role?: string;
  userArn?: string;
  errorCode?: string;
  eventTime?: string;
}): Json {
  const repository = opts.repository ?? REPO;
  const userIdentity = opts.userArn
    ? { type: 'IAMUser', principalId: 'AIDAEXAMPLE', arn: opts.userArn, accountId: ACCOUNT, userName: 'jane' }
    : {
        type: 'AssumedRole',
        principalId: 'AROAEXAMPLE:session-1',
        arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${(opts.role ?? CI_ROLE).split('/').pop()}/session-1`,
        accountId: ACCOUNT,
        accessKeyId: 'ASIAEXAMPLE',
        sessionContext: {
          sessionIssuer: {
            type: 'Role',
            principalId: 'AROAEXAMPLE',
            arn: opts.role ?? CI_ROLE,
            accountId: ACCOUNT,
            userName: (opts.role ?? CI_ROLE).split('/').pop(),
          },
          attributes: { creationDate: '2026-06-01T11:00:00Z', mfaAuthenticated: 'false' },
        },
      };
  const detail: Json = {
    eventVersion: '1.08',
    userIdentity,
    eventTime: opts.eventTime ?? '2026-06-01T12:00:02Z',
    eventSource: 'ecr.amazonaws.com',
    eventName: 'BatchDeleteImage',
    awsRegion: REGION,
    sourceIPAddress: '203.0.113.10',
    userAgent: 'aws-cli/2.17.0',
    requestParameters: { repositoryName: repository, registryId: ACCOUNT, imageIds: [...opts.requested] },
    responseElements: opts.errorCode
      ? null
      : {
          imageIds: [...opts.deleted],
          failures: [...(opts.failures ?? [])],
        },
    requestID: `req-${opts.eventID}`,
    eventID: opts.eventID,
    readOnly: false,
    resources: [{ ARN: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${repository}`, accountId: ACCOUNT }],
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    eventCategory: 'Management',
  };
  if (opts.errorCode) {
    detail.errorCode = opts.errorCode;
    detail.errorMessage = 'User is not authorized to perform: ecr:BatchDeleteImage';
  }
  return cloudTrailEnvelope(detail);
}

/** Parses an event with the audit function's schema (throws when the schema rejects it). */
export function parseEvent(event: unknown): AuditEvent {
  return auditEventSchema.parse(event);
}

/** The candidates of an event the schema and the extraction accept. */
export function candidatesOf(event: unknown): readonly Candidate[] {
  const extraction = extractCandidates(parseEvent(event));
  if (extraction.kind !== 'candidates')
    throw new Error(`expected candidates, got ${JSON.stringify(extraction)}`);
  return extraction.candidates;
}

/** A validated config with one managed selection; thresholds and breaker as given. */
export function testConfig(overrides: Partial<StewardConfigInput> = {}): StewardConfig {
  return validateConfig({
    mode: 'enforce',
    selections: [
      {
        name: 'services',
        repositories: ['services/*'],
        lifecyclePolicy: {
          rules: [
            {
              rulePriority: 1,
              description: 'Keep the newest two images of every service repository, expire the rest',
              selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 2 },
              action: { type: 'expire' },
            },
          ],
        },
        steward: {},
      },
    ],
    ...overrides,
  });
}

export interface Published {
  readonly subject: string;
  readonly message: string;
}

/** The audit function's ports on real DynamoDB stores; ECR and SNS are in memory. */
export function auditPorts(
  doc: DynamoDBDocumentClient,
  tables: Tables,
  opts: { now?: () => Date; present?: Set<string> } = {},
): AuditPorts & {
  readonly store: AuditStore;
  readonly counters: RateCounters;
  readonly breaker: BreakerStore;
  readonly published: Published[];
  readonly existsCalls: string[];
} {
  const published: Published[] = [];
  const existsCalls: string[] = [];
  const present = opts.present ?? new Set<string>();
  const store = new AuditStore(doc, tables.audit, opts.now ? { now: opts.now } : {});
  return {
    store,
    audit: store,
    counters: new RateCounters(doc, tables.state),
    breaker: new BreakerStore(doc, tables.state),
    published,
    existsCalls,
    imageExists: async (repository, digest) => {
      existsCalls.push(`${repository}@${digest}`);
      return present.has(digest);
    },
    notify: async (subject, message) => {
      published.push({ subject, message });
    },
  };
}

/**
 * A document client on `client` whose first `unprocessed` BatchGetItem calls process no key (DynamoDB's
 * partial success under throttling: every key comes back in UnprocessedKeys).
 */
export function throttledBatchGets(
  client: DynamoDBClient,
  unprocessed: number,
): { doc: DynamoDBDocumentClient; calls: () => number } {
  const doc = documentClient(client);
  const send = doc.send.bind(doc) as (command: unknown) => Promise<unknown>;
  let calls = 0;
  doc.send = (async (command: unknown) => {
    if (command instanceof BatchGetCommand && calls++ < unprocessed) {
      const requested = command.input.RequestItems!;
      return {
        Responses: Object.fromEntries(Object.keys(requested).map((t) => [t, []])),
        UnprocessedKeys: requested,
      };
    }
    return send(command);
  }) as typeof doc.send;
  return { doc, calls: () => calls };
}
