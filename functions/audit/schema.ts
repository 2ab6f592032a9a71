import * as z from 'zod';
import { digestSchema, envelopeSchema, strictImageActionDetailSchema } from '../shared/events/envelope.js';
import { EVENTS } from '../shared/runtime/constants.js';

/**
 * `ECR Image Action` with its digest checked: a delete naming a digest ECR cannot emit (`sha256:abc`) is
 * malformed and dead-lettered with the field at fault, never recorded as a deletion.
 */
export const imageActionEnvelope = envelopeSchema.extend({
  source: z.literal(EVENTS.ecrSource),
  'detail-type': z.literal(EVENTS.imageAction),
  detail: strictImageActionDetailSchema,
});

/** A CloudTrail record as EventBridge carries it in `detail` (only the fields we read are checked). */
const cloudTrailDetail = z.looseObject({
  eventSource: z.literal('ecr.amazonaws.com'),
  eventName: z.string().min(1),
  eventID: z.string().min(1).optional(),
  eventTime: z.string().min(1).optional(),
  awsRegion: z.string().min(1).optional(),
  recipientAccountId: z.string().optional(),
  errorCode: z.string().optional(),
  sourceIPAddress: z.string().optional(),
  userAgent: z.string().optional(),
  userIdentity: z
    .looseObject({
      type: z.string().optional(),
      arn: z.string().optional(),
      invokedBy: z.string().optional(),
      sessionContext: z
        .looseObject({ sessionIssuer: z.looseObject({ arn: z.string().optional() }).optional() })
        .optional(),
    })
    .optional(),
  requestParameters: z.unknown().optional(),
  responseElements: z.unknown().optional(),
  serviceEventDetails: z.unknown().optional(),
});

export const cloudTrailEnvelope = envelopeSchema.extend({
  source: z.literal(EVENTS.ecrSource),
  'detail-type': z.enum([EVENTS.cloudTrailApiCall, EVENTS.cloudTrailServiceEvent]),
  detail: cloudTrailDetail,
});

/** `serviceEventDetails` of a lifecycle `PolicyExecutionEvent` (or a preview's `DryRunEvent`). */
export const lifecycleServiceDetails = z.looseObject({
  repositoryName: z.string().min(1),
  lifecycleEventPolicy: z
    .looseObject({
      lifecycleEventRules: z
        .array(
          z.looseObject({
            rulePriority: z.number(),
            action: z.string().optional(),
            description: z.string().optional(),
          }),
        )
        .optional(),
    })
    .optional(),
  lifecycleEventImageActions: z
    .array(
      z.looseObject({
        lifecycleEventImage: z.looseObject({
          digest: digestSchema,
          tagStatus: z.string().optional(),
          tagList: z.array(z.string()).optional(),
          /** epoch milliseconds (unlike the ECR API's epoch seconds) */
          pushedAt: z.number().optional(),
        }),
        rulePriority: z.number().optional(),
      }),
    )
    .optional(),
  lifecycleEventFailureDetails: z
    .array(z.looseObject({ failureCode: z.string().optional(), failureReason: z.string().optional() }))
    .optional(),
});

const imageId = z.looseObject({ imageDigest: z.string().optional(), imageTag: z.string().optional() });

/**
 * The request as the caller sent it: its ids are not checked, because ECR accepts a malformed digest in the
 * request and answers it with an `InvalidImageDigest` failure (nothing deleted).
 */
export const batchDeleteRequest = z.looseObject({
  repositoryName: z.string().min(1),
  registryId: z.string().optional(),
  imageIds: z.array(imageId).optional(),
});

/** ECR's answer: what it reports deleted must name real digests, since each becomes a deletion record. */
export const batchDeleteResponse = z.looseObject({
  imageIds: z
    .array(z.looseObject({ imageDigest: digestSchema.optional(), imageTag: z.string().optional() }))
    .optional(),
  failures: z
    .array(z.looseObject({ imageId: imageId.optional(), failureCode: z.string().optional() }))
    .optional(),
});

export const auditEventSchema = z.union([imageActionEnvelope, cloudTrailEnvelope]);
export type AuditEvent = z.output<typeof auditEventSchema>;

/**
 * Parses an event against the envelope its `detail-type` names. The union alone reports a single
 * "Invalid input" at the root; this names the field at fault, for the dead-letter reason.
 */
export function safeParseAuditEvent(json: unknown) {
  const type =
    typeof json === 'object' && json !== null ? (json as Record<string, unknown>)['detail-type'] : undefined;
  if (type === EVENTS.imageAction) return imageActionEnvelope.safeParse(json);
  if (type === EVENTS.cloudTrailApiCall || type === EVENTS.cloudTrailServiceEvent)
    return cloudTrailEnvelope.safeParse(json);
  return auditEventSchema.safeParse(json);
}

/**
 * Environment of the audit function beyond the shared ENV names (to move into ENV,
 * functions/shared/runtime/constants.ts, when its owner adds them): the stack sets them in
 * lib/constructs/audit.ts, the handler reads them.
 */
export const AUDIT_ENV = {
  /** The audit queue itself: a pending alert's deadline is a delayed message to it. */
  queueUrl: 'AUDIT_QUEUE_URL',
  /** Comma-separated IAM role ARNs of the stack's functions (their changes raise no lifecycle alert). */
  ownRoleArns: 'ECR_STEWARD_OWN_ROLE_ARNS',
  /** The name prefix of the stack's IAM roles (`<stack name>-`), for roles not listed by ARN. */
  ownRolePrefix: 'ECR_STEWARD_OWN_ROLE_PREFIX',
} as const;

/** The message the audit function sends itself (with a delay) when a pending alert's deadline comes. */
export const attributionDeadlineMessage = z.strictObject({
  kind: z.literal('attribution-deadline'),
  pk: z.string().startsWith('ATTRIBUTION#'),
  sk: z.string().min(1),
});
export type AttributionDeadlineMessage = z.output<typeof attributionDeadlineMessage>;
