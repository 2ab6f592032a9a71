import { z } from 'zod';
import type { Image, ImageStatus } from './types.js';

/**
 * A timestamp as ECR sends it on the wire (epoch seconds as a JSON number, also `1.504295007E9`) or as the
 * AWS CLI prints it (ISO-8601 string). Normalised to epoch milliseconds.
 */
const timestamp = z.union([z.number().finite(), z.string().min(1), z.date()]).transform((v, ctx) => {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'number') return Math.round(v * 1000);
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) {
    ctx.addIssue({ code: 'custom', message: `not a timestamp: ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return ms;
});

/** One `ImageDetail` of `DescribeImages`; unknown fields (scan summaries, …) are ignored. */
export const imageDetailSchema = z.object({
  imageDigest: z.string().min(1),
  imageTags: z.array(z.string()).optional(),
  imageSizeInBytes: z.number().nonnegative().optional(),
  imagePushedAt: timestamp,
  imageStatus: z.enum(['ACTIVE', 'ARCHIVED', 'ACTIVATING']).optional(),
  lastRecordedPullTime: timestamp.optional(),
  lastArchivedAt: timestamp.optional(),
  lastActivatedAt: timestamp.optional(),
  imageManifestMediaType: z.string().optional(),
  artifactMediaType: z.string().optional(),
  subjectManifestDigest: z.string().optional(),
});

export const describeImagesOutputSchema = z.object({ imageDetails: z.array(imageDetailSchema) });

export type ImageDetailInput = z.input<typeof imageDetailSchema>;

/** Normalises one parsed `ImageDetail`. */
export function toImage(detail: z.output<typeof imageDetailSchema>): Image {
  return {
    digest: detail.imageDigest,
    tags: detail.imageTags ?? [],
    pushedAt: detail.imagePushedAt,
    sizeBytes: detail.imageSizeInBytes ?? 0,
    status: (detail.imageStatus ?? 'ACTIVE') as ImageStatus,
    lastPulledAt: detail.lastRecordedPullTime,
    lastArchivedAt: detail.lastArchivedAt,
    lastActivatedAt: detail.lastActivatedAt,
    manifestMediaType: detail.imageManifestMediaType,
    artifactMediaType: detail.artifactMediaType,
    subjectDigest: detail.subjectManifestDigest,
  };
}

/** The child digests listed by an image index / manifest list document. */
export function indexChildrenOf(manifestText: string): string[] {
  const doc = JSON.parse(manifestText) as { manifests?: { digest?: unknown }[] };
  return (doc.manifests ?? []).map((m) => m.digest).filter((d): d is string => typeof d === 'string');
}

/** `BatchGetImage` output: `{"images": [{"imageId": {"imageDigest"}, "imageManifest": "<json>"}]}`. */
export const batchGetImageOutputSchema = z.object({
  images: z.array(
    z.object({
      imageId: z.object({ imageDigest: z.string().min(1), imageTag: z.string().optional() }),
      imageManifest: z.string().min(2),
      imageManifestMediaType: z.string().optional(),
    }),
  ),
});

/** Reads index children from a `BatchGetImage` output; only documents that list `manifests` count. */
export function indexChildrenFromBatchGet(
  output: z.output<typeof batchGetImageOutputSchema>,
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const image of output.images) {
    let children: string[];
    try {
      children = indexChildrenOf(image.imageManifest);
    } catch {
      throw new Error(`the manifest of ${image.imageId.imageDigest} is not JSON`);
    }
    const doc = JSON.parse(image.imageManifest) as { manifests?: unknown };
    if (Array.isArray(doc.manifests)) out.set(image.imageId.imageDigest, children);
  }
  return out;
}
