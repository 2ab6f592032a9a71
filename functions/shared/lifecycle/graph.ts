import type { Image, IndexChildren } from './types.js';

/** Media types of multi-platform images (image indexes / manifest lists). */
export const INDEX_MEDIA_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

/** cosign's tag scheme for signatures, attestations and SBOMs stored beside their subject. */
const COSIGN_TAG = /^sha256-([a-f0-9]{64})\.(sig|att|sbom)$/;

/** The lengths of the INDEX_MEDIA_TYPES, each once. */
const INDEX_MEDIA_TYPE_LENGTHS: readonly number[] = [...new Set([...INDEX_MEDIA_TYPES].map((t) => t.length))];

export function isIndex(image: Image): boolean {
  const type = image.manifestMediaType;
  // The length first: a set lookup hashes the whole string, and each image of a listing has its own copy of
  // its media type, so at 100,000 images the hashing alone was a noticeable part of reading a repository.
  return type !== undefined && INDEX_MEDIA_TYPE_LENGTHS.includes(type.length) && INDEX_MEDIA_TYPES.has(type);
}

/** The subject an image refers to: OCI 1.1 `subject` first, else a cosign-style tag. */
export function subjectOf(image: Image): Subject | undefined {
  if (image.subjectDigest) return { digest: image.subjectDigest, via: 'oci-subject' };
  for (const tag of image.tags) {
    // COSIGN_TAG only matches 75 or 76 characters; checking the length first skips the regular
    // expression for nearly every tag of a large repository.
    if (tag.length !== 75 && tag.length !== 76) continue;
    const m = COSIGN_TAG.exec(tag);
    if (m) return { digest: `sha256:${m[1]}`, via: 'cosign-tag' };
  }
  return undefined;
}

/** What a referrer refers to, and how that was found. */
export interface Subject {
  readonly digest: string;
  readonly via: 'oci-subject' | 'cosign-tag';
}

/** The artifact graph of one repository: which images are index children, which are referrers. */
export interface ArtifactGraph {
  /** child digest → digests of the indexes in this repository that reference it */
  readonly parents: ReadonlyMap<string, readonly string[]>;
  /** referrer digest → its subject (which may be absent from the repository) */
  readonly subjects: ReadonlyMap<string, Subject>;
  /** indexes whose manifest was not supplied: their children are unknown */
  readonly unknownIndexes: readonly string[];
}

/**
 * The artifact graph with images named by number instead of digest, for the planner's hot loops. The id of
 * an image is the position in `images` of the first image with its digest, so images that share a digest
 * share an entry, exactly as they share a key of `ArtifactGraph`'s maps.
 */
export interface IndexedGraph {
  /** id → ids of the indexes that list it, in the order found; undefined for images that are no child */
  readonly parents: readonly (readonly number[] | undefined)[];
  /** id → its subject, for referrers */
  readonly subjects: readonly (Subject | undefined)[];
  readonly unknownIndexes: readonly string[];
  /** ids with parents, in the order their first parent was found (the key order of `ArtifactGraph.parents`) */
  readonly childOrder: readonly number[];
  /** ids with a subject, in the order first found (the key order of `ArtifactGraph.subjects`) */
  readonly subjectOrder: readonly number[];
}

/** An image for the graph builder: its index in the image list, and its subject (`subjectOf` of it). */
export type GraphCandidate = readonly [index: number, subject: Subject | undefined];

function* everyImage(images: readonly Image[]): Iterable<GraphCandidate> {
  for (const [i, image] of images.entries()) yield [i, subjectOf(image)];
}

/**
 * Builds the graph of `images`. `idOf[i]` is the id of `images[i]`, and `find(digest)` the id of the first
 * image with that digest, or -1 when the repository has none. `candidates` are the images to look at, in
 * list order: by default all of them, but any list that includes every index and every image with a
 * subject gives the same graph (the others add nothing), and the planner finds those more cheaply.
 */
export function buildIndexedGraph(
  images: readonly Image[],
  indexChildren: IndexChildren,
  idOf: ArrayLike<number>,
  find: (digest: string) => number,
  candidates: Iterable<GraphCandidate> = everyImage(images),
): IndexedGraph {
  const parents: (number[] | undefined)[] = new Array(images.length);
  const subjects: (Subject | undefined)[] = new Array(images.length);
  const unknownIndexes: string[] = [];
  const childOrder: number[] = [];
  const subjectOrder: number[] = [];
  for (const [i, subject] of candidates) {
    const image = images[i]!;
    const id = idOf[i]!;
    if (isIndex(image)) {
      const children = indexChildren.get(image.digest);
      if (!children) unknownIndexes.push(image.digest);
      for (const child of children ?? []) {
        if (child === image.digest) continue;
        const childId = find(child);
        if (childId < 0) continue;
        const list = parents[childId];
        if (list) {
          if (!list.includes(id)) list.push(id);
        } else {
          parents[childId] = [id];
          childOrder.push(childId);
        }
      }
    }
    if (subject && subject.digest !== image.digest) {
      if (!subjects[id]) subjectOrder.push(id);
      subjects[id] = subject;
    }
  }
  return { parents, subjects, unknownIndexes, childOrder, subjectOrder };
}

export function buildGraph(images: readonly Image[], indexChildren: IndexChildren): ArtifactGraph {
  const first = new Map<string, number>();
  const idOf = images.map((image, i) => {
    const id = first.get(image.digest);
    if (id !== undefined) return id;
    first.set(image.digest, i);
    return i;
  });
  const g = buildIndexedGraph(images, indexChildren, idOf, (digest) => first.get(digest) ?? -1);
  const digestOf = (id: number): string => images[id]!.digest;
  return {
    parents: new Map(g.childOrder.map((id) => [digestOf(id), g.parents[id]!.map(digestOf)])),
    subjects: new Map(g.subjectOrder.map((id) => [digestOf(id), g.subjects[id]!])),
    unknownIndexes: g.unknownIndexes,
  };
}
