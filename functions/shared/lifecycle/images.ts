import * as z from 'zod';
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

const IMAGE_STATUSES: ReadonlySet<unknown> = new Set(['ACTIVE', 'ARCHIVED', 'ACTIVATING']);

/** Whether an optional string field is absent or a string. */
function optionalString(v: unknown): v is string | undefined {
  return v === undefined || typeof v === 'string';
}

/** A timestamp the fast path takes as is: a finite number of epoch seconds (what ECR and the AWS CLI's JSON give). */
function fastSeconds(v: unknown): number | undefined | null {
  if (v === undefined) return undefined;
  return typeof v === 'number' && Number.isFinite(v) ? Math.round(v * 1000) : null;
}

/**
 * `toImage(imageDetailSchema.parse(detail))` without building a schema result per image, for the common shape
 * only (epoch-second numbers, well-typed fields). Returns `undefined` for anything else — an ISO date, a `Date`,
 * a wrong type — and the caller then parses with `imageDetailSchema`, which accepts the rest and words the
 * errors. Never accepts what the schema refuses, so the two paths plan the same images.
 */
export function fastImage(detail: unknown): Image | undefined {
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) return undefined;
  const d = detail as Record<string, unknown>;
  const digest = d.imageDigest;
  if (typeof digest !== 'string' || digest === '') return undefined;
  const tags = d.imageTags;
  if (tags !== undefined) {
    if (!Array.isArray(tags)) return undefined;
    for (const t of tags) if (typeof t !== 'string') return undefined;
  }
  const size = d.imageSizeInBytes;
  if (size !== undefined && !(typeof size === 'number' && size >= 0 && Number.isFinite(size)))
    return undefined;
  const pushedAt = fastSeconds(d.imagePushedAt);
  if (pushedAt === undefined || pushedAt === null) return undefined;
  const pulled = fastSeconds(d.lastRecordedPullTime);
  const archived = fastSeconds(d.lastArchivedAt);
  const activated = fastSeconds(d.lastActivatedAt);
  if (pulled === null || archived === null || activated === null) return undefined;
  const status = d.imageStatus;
  if (status !== undefined && !IMAGE_STATUSES.has(status)) return undefined;
  // Each optional string read once, by name: a listing's objects come in many shapes, and a load by a
  // computed key (a loop over the field names) is a slow dictionary lookup for each of 100,000 images.
  const manifestMediaType = d.imageManifestMediaType;
  const artifactMediaType = d.artifactMediaType;
  const subjectDigest = d.subjectManifestDigest;
  if (
    !optionalString(manifestMediaType) ||
    !optionalString(artifactMediaType) ||
    !optionalString(subjectDigest)
  )
    return undefined;
  return {
    digest,
    tags: (tags as string[] | undefined) ?? [],
    pushedAt,
    sizeBytes: (size as number | undefined) ?? 0,
    status: (status ?? 'ACTIVE') as ImageStatus,
    lastPulledAt: pulled,
    lastArchivedAt: archived,
    lastActivatedAt: activated,
    manifestMediaType,
    artifactMediaType,
    subjectDigest,
  };
}

/**
 * The images of `describe-images` output (`{"imageDetails": [...]}`), each by `fastImage`; `undefined` when the
 * output is not of that shape or any image needs the schema (the caller then parses the whole output with
 * `describeImagesOutputSchema`, for the same images or the same error).
 */
export function fastImages(output: unknown): Image[] | undefined {
  if (typeof output !== 'object' || output === null) return undefined;
  const details = (output as { imageDetails?: unknown }).imageDetails;
  if (!Array.isArray(details)) return undefined;
  const images: Image[] = new Array(details.length);
  for (let i = 0; i < details.length; i++) {
    const image = fastImage(details[i]);
    if (!image) return undefined;
    images[i] = image;
  }
  return images;
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

/** A listing names one digest twice with different facts about it: planning on it would be a guess. */
export class DuplicateImageError extends Error {
  constructor(
    readonly digest: string,
    readonly field: string,
  ) {
    super(
      `image ${digest} is listed twice with different ${field}; list the repository again (it changed while it was read)`,
    );
    this.name = 'DuplicateImageError';
  }
}

/** Facts that never change for a digest while it stays in the same storage class. */
const FIXED_FIELDS = [
  'pushedAt',
  'sizeBytes',
  'status',
  'manifestMediaType',
  'artifactMediaType',
  'subjectDigest',
] as const satisfies readonly (keyof Image)[];

/** Times that only move forward: a second sighting may be newer. */
const LATEST_FIELDS = [
  'lastPulledAt',
  'lastArchivedAt',
  'lastActivatedAt',
] as const satisfies readonly (keyof Image)[];

/**
 * The one rule for a `DescribeImages` listing (a page, or all pages of a repository) that names a digest more
 * than once. ECR documents one `ImageDetail` per digest, so a repeat is an emulator's quirk or a listing read
 * while the repository changed. Entries that agree on the image's fixed facts (push time, size, status, media
 * types, subject) are one image: merged, with every tag either entry lists and the latest pull / archive /
 * restore time, because counting it twice would shift `imageCountMoreThan` ranks and its tags matter to tag
 * rules and protections. Entries that disagree throw {@link DuplicateImageError}: no plan is made from a
 * listing that contradicts itself. Returns the images in first-seen order and the digests that were merged,
 * for a warning. Used by `EcrRegistry.listImages` and the CLI's `--images` loader.
 */
export function mergeListedImages(images: readonly Image[]): { images: Image[]; merged: string[] } {
  // Nearly every listing names each digest once: answered without a map of every digest (see allDistinct).
  if (allDistinct(images)) return { images: images.slice(), merged: [] };
  const byDigest = new Map<string, Image>();
  const merged = new Set<string>();
  for (const image of images) {
    const seen = byDigest.get(image.digest);
    if (!seen) {
      byDigest.set(image.digest, image);
      continue;
    }
    for (const field of FIXED_FIELDS)
      if (seen[field] !== image[field]) throw new DuplicateImageError(image.digest, field);
    const latest: Partial<Record<(typeof LATEST_FIELDS)[number], number>> = {};
    for (const field of LATEST_FIELDS) {
      const times = [seen[field], image[field]].filter((t): t is number => t !== undefined);
      if (times.length > 0) latest[field] = Math.max(...times);
    }
    byDigest.set(image.digest, { ...seen, ...latest, tags: [...new Set([...seen.tags, ...image.tags])] });
    merged.add(image.digest);
  }
  return { images: [...byDigest.values()], merged: [...merged] };
}

/** Most probes `allDistinct` makes per image before it leaves the question to a map. */
const MAX_PROBES_PER_IMAGE = 4;

/**
 * Whether no two of `images` have the same digest; false also when it cannot tell cheaply (then the caller
 * finds out with a map). A map of 100,000 digests was most of the time it takes to read a listing: this is an
 * open-addressing set of image positions in one typed array, hashed on a digest's last eight characters
 * (random in any real digest) and its length. Two digests with the same hash are compared whole, so the
 * answer never depends on the hash; a listing whose digests hash alike (made up on purpose) only makes it
 * give up, after a bounded number of probes.
 */
function allDistinct(images: readonly Image[]): boolean {
  const n = images.length;
  if (n < 2) return true;
  let size = 1;
  while (size < 2 * n) size *= 2;
  const mask = size - 1;
  // Position + 1 of the image in each slot; 0 is empty.
  const slots = new Int32Array(size);
  let budget = MAX_PROBES_PER_IMAGE * n;
  for (let k = 0; k < n; k++) {
    const digest = images[k]!.digest;
    const len = digest.length;
    let h = len;
    for (let j = len > 8 ? len - 8 : 0; j < len; j++) h = Math.imul(h ^ digest.charCodeAt(j), 0x9e3779b1);
    let slot = (h ^ (h >>> 15)) & mask;
    for (;;) {
      const other = slots[slot]!;
      if (other === 0) {
        slots[slot] = k + 1;
        break;
      }
      if (images[other - 1]!.digest === digest || --budget < 0) return false;
      slot = (slot + 1) & mask;
    }
  }
  return true;
}
