import { z } from 'zod';
import { EVENTS } from '../runtime/constants.js';

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

/** `ECR Image Action` detail. `image-tag` is optional; `result` other than SUCCESS is not a success. */
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

export const imageActionEventSchema = envelopeSchema.extend({
  source: z.literal(EVENTS.ecrSource),
  'detail-type': z.literal(EVENTS.imageAction),
  detail: imageActionDetailSchema,
});

export type ImageActionEvent = z.output<typeof imageActionEventSchema>;
