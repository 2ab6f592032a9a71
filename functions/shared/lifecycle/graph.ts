import type { Image, IndexChildren } from './types.js';

/** Media types of multi-platform images (image indexes / manifest lists). */
export const INDEX_MEDIA_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

/** cosign's tag scheme for signatures, attestations and SBOMs stored beside their subject. */
const COSIGN_TAG = /^sha256-([a-f0-9]{64})\.(sig|att|sbom)$/;

export function isIndex(image: Image): boolean {
  return image.manifestMediaType !== undefined && INDEX_MEDIA_TYPES.has(image.manifestMediaType);
}

/** The subject an image refers to: OCI 1.1 `subject` first, else a cosign-style tag. */
export function subjectOf(image: Image): { digest: string; via: 'oci-subject' | 'cosign-tag' } | undefined {
  if (image.subjectDigest) return { digest: image.subjectDigest, via: 'oci-subject' };
  for (const tag of image.tags) {
    const m = COSIGN_TAG.exec(tag);
    if (m) return { digest: `sha256:${m[1]}`, via: 'cosign-tag' };
  }
  return undefined;
}

/** The artifact graph of one repository: which images are index children, which are referrers. */
export interface ArtifactGraph {
  /** child digest → digests of the indexes in this repository that reference it */
  readonly parents: ReadonlyMap<string, readonly string[]>;
  /** referrer digest → its subject (which may be absent from the repository) */
  readonly subjects: ReadonlyMap<string, { digest: string; via: 'oci-subject' | 'cosign-tag' }>;
  /** indexes whose manifest was not supplied: their children are unknown */
  readonly unknownIndexes: readonly string[];
}

export function buildGraph(images: readonly Image[], indexChildren: IndexChildren): ArtifactGraph {
  const present = new Set(images.map((i) => i.digest));
  const parents = new Map<string, string[]>();
  const subjects = new Map<string, { digest: string; via: 'oci-subject' | 'cosign-tag' }>();
  const unknownIndexes: string[] = [];
  for (const image of images) {
    if (isIndex(image)) {
      const children = indexChildren.get(image.digest);
      if (!children) unknownIndexes.push(image.digest);
      for (const child of children ?? []) {
        if (!present.has(child) || child === image.digest) continue;
        const list = parents.get(child);
        if (list) {
          if (!list.includes(image.digest)) list.push(image.digest);
        } else parents.set(child, [image.digest]);
      }
    }
    const subject = subjectOf(image);
    if (subject && subject.digest !== image.digest) subjects.set(image.digest, subject);
  }
  return { parents, subjects, unknownIndexes };
}
