import * as z from 'zod';
import { envelopeSchema } from '../shared/events/envelope.js';
import { EVENTS } from '../shared/runtime/constants.js';

/** `ECR Image Scan` (basic scanning). `finding-severity-counts` omits zeros and may be absent. */
export const imageScanEvent = envelopeSchema.extend({
  source: z.literal(EVENTS.ecrSource),
  'detail-type': z.literal(EVENTS.imageScan),
  detail: z.looseObject({
    'scan-status': z.string().min(1),
    'repository-name': z.string().min(1),
    'image-digest': z.string().min(1),
    'image-tags': z.array(z.string()).optional(),
    'finding-severity-counts': z.record(z.string(), z.number()).optional(),
  }),
});

/** `Inspector2 Scan`: the initial enhanced scan. Its `repository-name` holds the repository ARN. */
export const inspectorScanEvent = envelopeSchema.extend({
  source: z.literal(EVENTS.inspectorSource),
  'detail-type': z.literal(EVENTS.inspectorScan),
  detail: z.looseObject({
    'scan-status': z.string().min(1),
    'repository-name': z.string().min(1),
    'image-digest': z.string().min(1),
    'image-tags': z.array(z.string()).optional(),
  }),
});

const ecrImageDetails = z.looseObject({
  repositoryName: z.string().min(1),
  imageHash: z.string().min(1),
  imageTags: z.array(z.string()).optional(),
  registry: z.string().optional(),
});

/** `Inspector2 Finding`: one finding; the image is in `resources[].details.awsEcrContainerImage` (or `image`). */
export const inspectorFindingEvent = envelopeSchema.extend({
  source: z.literal(EVENTS.inspectorSource),
  'detail-type': z.literal(EVENTS.inspectorFinding),
  detail: z.looseObject({
    findingArn: z.string().optional(),
    status: z.string().optional(),
    severity: z.string().optional(),
    resources: z
      .array(
        z.looseObject({
          type: z.string().optional(),
          id: z.string().optional(),
          details: z
            .looseObject({
              awsEcrContainerImage: ecrImageDetails.optional(),
              image: z
                .looseObject({
                  repositoryName: z.string().min(1),
                  imageDigest: z.string().min(1),
                  imageTags: z.array(z.string()).optional(),
                  registry: z.string().optional(),
                })
                .optional(),
            })
            .optional(),
        }),
      )
      .min(1),
  }),
});

/**
 * Discriminated by `detail-type` (distinct for the three events), so a malformed event is reported against the
 * offending field (`detail.image-digest: …`) rather than as a bare "(root): Invalid input" from a plain union.
 */
export const scanGateEventSchema = z.discriminatedUnion('detail-type', [
  imageScanEvent,
  inspectorScanEvent,
  inspectorFindingEvent,
]);
export type ScanGateEvent = z.output<typeof scanGateEventSchema>;

/** The image an event is about. Inspector's repository ARN is reduced to the name. */
export interface ScannedImage {
  readonly registryId: string;
  readonly region: string;
  readonly repository: string;
  readonly digest: string;
  readonly tags: readonly string[];
  readonly trigger: 'ecr-scan' | 'inspector-scan' | 'inspector-finding' | 'quarantine-expiry' | 'signature';
}

/**
 * A signature arrived or went (docs/events.md §3.8): an OCI 1.1 referrer was pushed (`ECR Referrer Action`, whose
 * `image-digest` is the referrer's own: its subject is read from DescribeImages), or cosign's
 * `sha256-<hex>.sig` tag was pushed (the subject is in the tag).
 */
export const signatureArrivalSchema = z.object({
  id: z.string().min(1),
  account: z.string().regex(/^\d{12}$/),
  region: z.string().min(1),
  'detail-type': z.enum([EVENTS.referrerAction, EVENTS.imageAction]),
  detail: z.object({
    // A push brings a signature; the DELETE of a cosign `.sig` tag takes one away (its image is judged again).
    'action-type': z.enum(['PUSH', 'DELETE']),
    result: z.literal('SUCCESS'),
    'repository-name': z.string().min(1),
    'image-digest': z.string().regex(/^sha256:[a-f0-9]{64}$/),
    'image-tag': z.string().optional(),
  }),
});
export type SignatureArrival = z.output<typeof signatureArrivalSchema>;

/** What EventBridge Scheduler sends to start the quarantine expiry (see lib/constructs/scan-gate.ts). */
export const quarantineExpiryMessageSchema = z.strictObject({ kind: z.literal('quarantine-expiry') });

export function repositoryNameFromArn(nameOrArn: string): string {
  const m = /^arn:aws[a-z-]*:ecr:[^:]*:\d{12}:repository\/(.+)$/.exec(nameOrArn);
  return m ? m[1]! : nameOrArn;
}

export function scannedImageOf(event: ScanGateEvent): ScannedImage | { error: string } {
  const base = { registryId: event.account, region: event.region };
  if (event['detail-type'] === EVENTS.imageScan) {
    const d = (event as z.output<typeof imageScanEvent>).detail;
    return {
      ...base,
      repository: d['repository-name'],
      digest: d['image-digest'],
      tags: d['image-tags'] ?? [],
      trigger: 'ecr-scan',
    };
  }
  if (event['detail-type'] === EVENTS.inspectorScan) {
    const d = (event as z.output<typeof inspectorScanEvent>).detail;
    return {
      ...base,
      repository: repositoryNameFromArn(d['repository-name']),
      digest: d['image-digest'],
      tags: d['image-tags'] ?? [],
      trigger: 'inspector-scan',
    };
  }
  const d = (event as z.output<typeof inspectorFindingEvent>).detail;
  for (const r of d.resources) {
    const ecr = r.details?.awsEcrContainerImage;
    if (ecr) {
      return {
        registryId: ecr.registry ?? event.account,
        region: event.region,
        repository: repositoryNameFromArn(ecr.repositoryName),
        digest: ecr.imageHash,
        tags: ecr.imageTags ?? [],
        trigger: 'inspector-finding',
      };
    }
    const image = r.details?.image;
    if (image) {
      return {
        registryId: image.registry ?? event.account,
        region: event.region,
        repository: repositoryNameFromArn(image.repositoryName),
        digest: image.imageDigest,
        tags: image.imageTags ?? [],
        trigger: 'inspector-finding',
      };
    }
  }
  return { error: 'Inspector2 Finding without an ECR container image resource' };
}
