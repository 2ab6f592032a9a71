import * as z from 'zod';
import { EVENTS } from '../runtime/constants.js';

/**
 * The only digest form ECR gives an image: `sha256:` and 64 lower-case hex digits (an OCI digest of the
 * manifest; ECR computes sha256 only, see docs on ECR's events and `DescribeImages`). AWS's own documentation
 * samples carry shortened or `EXAMPLE` digests: real events never do, so an event with such a digest is
 * malformed, never evidence about an image.
 */
export const DIGEST_PATTERN = /^sha256:[a-f0-9]{64}$/;

/** Whether a string is an image digest ECR can emit (see {@link DIGEST_PATTERN}). */
export function isImageDigest(value: unknown): value is string {
  return typeof value === 'string' && DIGEST_PATTERN.test(value);
}

/** An image digest, with a message that says what was expected. */
export const digestSchema = z
  .string()
  .regex(DIGEST_PATTERN, { message: 'not an image digest: expected "sha256:" and 64 lower-case hex digits' });

/**
 * The EventBridge envelope. Unknown top-level keys (`replay-name`, odd keys in AWS samples) are tolerated;
 * ids are not required to be UUIDs because AWS's own samples are not.
 */
export const envelopeSchema = z.looseObject({
  version: z.string().optional(),
  id: z.string().min(1),
  'detail-type': z.string().min(1),
  source: z.string().min(1),
  account: z.string().min(1),
  time: z.string().min(1),
  region: z.string().min(1),
  resources: z.array(z.string()).optional(),
  detail: z.unknown(),
});

/**
 * `ECR Image Action` detail as the cleanup queue has always accepted it: the digest is not checked. Kept for
 * callers that read only the repository; {@link strictImageActionDetailSchema} is the checked form.
 */
export const imageActionDetailSchema = z.looseObject({
  'repository-name': z.string().min(1),
  'image-digest': z.string().min(1).optional(),
  'image-tag': z.string().min(1).optional(),
  'action-type': z.string().min(1),
  result: z.string().min(1).optional(),
  'manifest-media-type': z.string().optional(),
  'artifact-media-type': z.string().optional(),
  'target-storage-class': z.string().optional(),
  'last-activated-at': z.string().optional(),
});

/** `ECR Image Action` detail with its digest checked. `image-tag` is optional; `result` other than SUCCESS is not a success. */
export const strictImageActionDetailSchema = imageActionDetailSchema.extend({
  'image-digest': digestSchema.optional(),
});

/** `ECR Image Action` as today's intake parses it (digest unchecked). Prefer the cleanup trigger schema. */
export const imageActionEventSchema = envelopeSchema.extend({
  source: z.literal(EVENTS.ecrSource),
  'detail-type': z.literal(EVENTS.imageAction),
  detail: imageActionDetailSchema,
});

export type ImageActionEvent = z.output<typeof imageActionEventSchema>;

/** `ECR Image Action` with its digest checked. */
export const strictImageActionEventSchema = envelopeSchema.extend({
  source: z.literal(EVENTS.ecrSource),
  'detail-type': z.literal(EVENTS.imageAction),
  detail: strictImageActionDetailSchema,
});

export type StrictImageActionEvent = z.output<typeof strictImageActionEventSchema>;

/**
 * `ECR Replication Action` detail. ECR sends it in the destination registry (envelope `account`/`region`), with
 * the origin in `source-account`/`source-region`; `result` is SUCCESS or FAILED; `image-tag` is optional.
 */
export const replicationActionDetailSchema = z.looseObject({
  'repository-name': z.string().min(1),
  // Optional like the other arrivals': the intake reads only the repository, but a digest given must be one.
  'image-digest': digestSchema.optional(),
  'image-tag': z.string().min(1).optional(),
  'action-type': z.string().min(1),
  result: z.string().min(1).optional(),
  'source-account': z.string().min(1).optional(),
  'source-region': z.string().min(1).optional(),
});

export const replicationActionEventSchema = envelopeSchema.extend({
  source: z.literal(EVENTS.ecrSource),
  'detail-type': z.literal(EVENTS.replicationAction),
  detail: replicationActionDetailSchema,
});

export type ReplicationActionEvent = z.output<typeof replicationActionEventSchema>;

/**
 * `ECR Pull Through Cache Action` detail. Its outcome is `sync-status` (there is no `result`); a failed sync
 * names `failure-code`/`failure-reason`. AWS's sample carries a digest and a tag; the schema registry lists
 * both as plain strings, so a sync without a digest is accepted and only a present digest is checked.
 */
export const pullThroughCacheActionDetailSchema = z.looseObject({
  'repository-name': z.string().min(1),
  'image-digest': digestSchema.optional(),
  'image-tag': z.string().min(1).optional(),
  'sync-status': z.string().min(1),
  'ecr-repository-prefix': z.string().optional(),
  'upstream-registry-url': z.string().optional(),
  'rule-version': z.string().optional(),
  'failure-code': z.string().optional(),
  'failure-reason': z.string().optional(),
});

export const pullThroughCacheActionEventSchema = envelopeSchema.extend({
  source: z.literal(EVENTS.ecrSource),
  'detail-type': z.literal(EVENTS.pullThroughCacheAction),
  detail: pullThroughCacheActionDetailSchema,
});

export type PullThroughCacheActionEvent = z.output<typeof pullThroughCacheActionEventSchema>;
