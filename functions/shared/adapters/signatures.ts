/**
 * Reads an image's signature artifacts from ECR: what the verifiers (`functions/shared/signatures/`) judge. This
 * adapter verifies nothing; it finds the artifacts, reads their manifests and downloads the blobs a verifier needs,
 * and reports what could not be read by leaving it out (a missing blob makes a signature invalid, not absent).
 *
 * Where signatures live, and the sources:
 * - OCI 1.1 referrers: artifacts whose manifest names the image as `subject` (Notation, ECR managed signing with
 *   AWS Signer, cosign with `--registry-referrers-mode oci-1-1`). ECR lists them with ListImageReferrers
 *   (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ListImageReferrers.html; maxResults 1–50).
 * - cosign's tag scheme: the signature of `sha256:<hex>` is the image tagged `sha256-<hex>.sig` in the same
 *   repository (sigstore/docs `content/en/cosign/specifications.md`, "Storage Specification"); its layers are the
 *   simple-signing payloads (`application/vnd.dev.cosign.simplesigning.v1+json`) with the signature in the layer
 *   annotation `dev.cosignproject.cosign/signature` (sigstore/sigstore-rs `src/cosign/constants.rs`).
 * - Notation: an artifact of type `application/vnd.cncf.notary.signature` with one envelope blob, `application/jose+json`
 *   or `application/cose`, in `layers` (OCI image manifest) or, in the early ORAS artifact manifest form, in
 *   `blobs` (notaryproject/specifications `signature-specification.md`, "Storage"); both are read here, and the
 *   verifier (notation.ts) accepts the `layers` form only: the `blobs` form is refused as malformed.
 * - Blobs: GetDownloadUrlForLayer gives a (presigned S3) URL, fetched with a plain GET
 *   (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_GetDownloadUrlForLayer.html).
 *
 * What cannot be read, and what happens:
 * - ListImageReferrers unknown to the endpoint (UnknownOperationException, ValidationException: a registry or an
 *   emulator older than the 2025-11 API): only the cosign tag is read, with a warning. No DescribeImages scan of
 *   `subjectManifestDigest` is made (a repository of 100,000 images for one verdict is not worth it).
 * - A referrer gone or archived between the listing and BatchGetImage (ImageNotFound, ImageInaccessible): left out.
 * - A blob ECR says is not there (LayersNotFoundException, LayerInaccessibleException), a download answered 4xx, or
 *   a blob over {@link SIGNATURE_READ_LIMITS.maxBlobBytes} (declared or received): absent from `blobs`.
 * - Transient trouble (throttling and 5xx after the SDK's retries, a download that keeps failing with 5xx or a
 *   network error, KmsError/Upstream* failures): thrown, so the caller retries instead of judging a valid
 *   signature INVALID because S3 hiccupped.
 */
import {
  BatchGetImageCommand,
  DescribeImagesCommand,
  type ECRClient,
  GetDownloadUrlForLayerCommand,
  type ImageFailure,
  type ImageIdentifier,
  ListImageReferrersCommand,
  type ListImageReferrersCommandOutput,
} from '@aws-sdk/client-ecr';
import { mapLimit } from '../runtime/concurrency.js';
import { cosignSignatureTag, SIGNATURE_TYPES, type SignatureArtifact } from '../signatures/model.js';
import { CallCounter } from './ecr.js';

/** The API maxima and the adapter's own bounds. */
export const SIGNATURE_READ_LIMITS = {
  /** ListImageReferrers `maxResults` (1–50). */
  referrersPage: 50,
  /** BatchGetImage `imageIds` (1–100). */
  batchIds: 100,
  /** The largest blob read: a signature payload or envelope is a few KB; anything over 4 MiB is not one. */
  maxBlobBytes: 4 * 1024 * 1024,
  /** Downloads in flight at once. */
  downloadConcurrency: 4,
  /** Attempts of one download (5xx and network errors are tried again). */
  downloadAttempts: 3,
  /** One download's time limit. */
  downloadTimeoutMs: 10_000,
} as const;

/** Layer media types whose blobs a verifier reads: cosign's payload, Notation's COSE and JWS envelopes. */
export const SIGNATURE_BLOB_MEDIA_TYPES: ReadonlySet<string> = new Set([
  SIGNATURE_TYPES.cosignSimpleSigning,
  SIGNATURE_TYPES.notationCose,
  SIGNATURE_TYPES.notationJws,
]);

/**
 * Every manifest media type a signature artifact may be stored as, so BatchGetImage returns each manifest as
 * pushed: OCI and Docker manifests and indexes, and the ORAS / OCI artifact manifests of early Notation (the ECR
 * referrer restore sample shows `application/vnd.cncf.oras.artifact.manifest.v1+json`).
 */
const ACCEPTED_MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.artifact.manifest.v1+json',
  'application/vnd.cncf.oras.artifact.manifest.v1+json',
];

/** BatchGetImage failure codes that mean "not there (any more)": the artifact is left out. */
const GONE_FAILURES = new Set(['ImageNotFound', 'ImageInaccessible']);
/** BatchGetImage failure codes worth another run: thrown. */
const TRANSIENT_FAILURES = /^(KmsError|Upstream)/;
/** Errors by which an endpoint says it does not know ListImageReferrers. */
const UNKNOWN_OPERATION = new Set(['UnknownOperationException', 'ValidationException']);
/** GetDownloadUrlForLayer errors that mean the blob is not there. */
const BLOB_GONE = new Set(['LayersNotFoundException', 'LayerInaccessibleException']);

/** A fetch-shaped function (Node's global `fetch` by default). */
export type FetchLike = (url: string, init: { signal: AbortSignal }) => Promise<Response>;

/** Options of {@link readSignatureArtifacts}. */
export interface ReadSignatureOptions {
  /** The registry (account) id; default: the caller's own registry. */
  readonly registryId?: string | undefined;
  /** Counts ListImageReferrers, BatchGetImage, GetDownloadUrlForLayer and the downloads (`LayerDownload`). */
  readonly calls?: CallCounter | undefined;
  /** @default globalThis.fetch */
  readonly fetch?: FetchLike | undefined;
  /** @default SIGNATURE_READ_LIMITS.maxBlobBytes */
  readonly maxBlobBytes?: number | undefined;
  /** @default SIGNATURE_READ_LIMITS.downloadTimeoutMs */
  readonly downloadTimeoutMs?: number | undefined;
  /** What was left out and why (a blob not found, a fallback); default: console.warn. */
  readonly onWarning?: ((message: string) => void) | undefined;
}

/** One referrer as ListImageReferrers describes it. */
interface ListedReferrer {
  readonly digest: string;
  readonly artifactType?: string | undefined;
}

/**
 * The signature artifacts of `subjectDigest` in `repository`: its OCI 1.1 referrers (every page of
 * ListImageReferrers, ACTIVE ones, of any artifact type: the verifiers tell a signature from an SBOM) and the
 * cosign `sha256-<hex>.sig` tag, each with its manifest and the signature blobs that could be read. A referrer that
 * the cosign tag also names is returned once, as a referrer. Order: referrers in listing order, then the tag.
 *
 * @param ecr a client built with the project's defaults (`new ECRClient(CLIENT_DEFAULTS)`), so AWS_ENDPOINT_URL works
 */
export async function readSignatureArtifacts(
  ecr: ECRClient,
  repository: string,
  subjectDigest: string,
  opts: ReadSignatureOptions = {},
): Promise<SignatureArtifact[]> {
  const calls = opts.calls ?? new CallCounter();
  const warn = opts.onWarning ?? ((message: string) => console.warn(message));
  const referrers = await listReferrers(ecr, repository, subjectDigest, opts.registryId, calls, warn);
  const tag = cosignSignatureTag(subjectDigest);
  const ids: ImageIdentifier[] = [...referrers.map((r) => ({ imageDigest: r.digest })), { imageTag: tag }];
  const manifests = await batchGetManifests(ecr, repository, ids, opts.registryId, calls, warn);

  const found: {
    source: SignatureArtifact['source'];
    digest: string;
    artifactType?: string;
    manifest: string;
  }[] = [];
  for (const r of referrers) {
    const manifest = manifests.byDigest.get(r.digest);
    if (manifest !== undefined)
      found.push({ source: 'referrer', digest: r.digest, artifactType: r.artifactType, manifest });
  }
  const tagged = manifests.byTag.get(tag);
  if (tagged && !found.some((f) => f.digest === tagged.digest))
    found.push({
      source: 'cosign-tag',
      digest: tagged.digest,
      artifactType: artifactTypeOf(tagged.manifest),
      manifest: tagged.manifest,
    });

  const downloads = new BlobReader(ecr, repository, opts, calls, warn);
  const wanted = [...new Set(found.flatMap((f) => signatureBlobsOf(f.manifest, downloads.max, warn)))];
  const blobs = new Map<string, Uint8Array>();
  await mapLimit(wanted, SIGNATURE_READ_LIMITS.downloadConcurrency, async (digest) => {
    const bytes = await downloads.read(digest);
    if (bytes) blobs.set(digest, bytes);
  });

  return found.map((f) => {
    const own = new Map<string, Uint8Array>();
    for (const digest of signatureBlobsOf(f.manifest, Number.POSITIVE_INFINITY, () => {})) {
      const bytes = blobs.get(digest);
      if (bytes) own.set(digest, bytes);
    }
    return {
      source: f.source,
      digest: f.digest,
      artifactType: f.artifactType,
      manifest: f.manifest,
      blobs: own,
    };
  });
}

/**
 * The subject of a referrer (DescribeImages' `subjectManifestDigest`), for a consumer of `ECR Referrer Action`,
 * whose published fields do not name the subject (docs/events.md §3.8). Undefined when the image is gone or is
 * not a referrer.
 */
export async function subjectOfReferrer(
  ecr: ECRClient,
  repository: string,
  referrerDigest: string,
  opts: Pick<ReadSignatureOptions, 'registryId' | 'calls'> = {},
): Promise<string | undefined> {
  opts.calls?.add('DescribeImages');
  try {
    const out = await ecr.send(
      new DescribeImagesCommand({
        repositoryName: repository,
        registryId: opts.registryId,
        imageIds: [{ imageDigest: referrerDigest }],
        filter: { imageStatus: 'ANY' },
      }),
    );
    return out.imageDetails?.find((d) => d.imageDigest === referrerDigest)?.subjectManifestDigest;
  } catch (e) {
    if ((e as Error).name === 'ImageNotFoundException') return undefined;
    throw e;
  }
}

/** The subject `sha256:<hex>` a cosign signature tag `sha256-<hex>.sig` names, or undefined for any other tag. */
export function subjectOfCosignTag(tag: string): string | undefined {
  const m = /^sha256-([a-f0-9]{64})\.sig$/.exec(tag);
  return m ? `sha256:${m[1]}` : undefined;
}

async function listReferrers(
  ecr: ECRClient,
  repository: string,
  subjectDigest: string,
  registryId: string | undefined,
  calls: CallCounter,
  warn: (message: string) => void,
): Promise<ListedReferrer[]> {
  const out: ListedReferrer[] = [];
  const seen = new Set<string>();
  let nextToken: string | undefined;
  do {
    calls.add('ListImageReferrers');
    let page: ListImageReferrersCommandOutput;
    try {
      page = await ecr.send(
        new ListImageReferrersCommand({
          repositoryName: repository,
          registryId,
          subjectId: { imageDigest: subjectDigest },
          maxResults: SIGNATURE_READ_LIMITS.referrersPage,
          nextToken,
        }),
      );
    } catch (e) {
      const name = (e as Error).name;
      if (nextToken === undefined && UNKNOWN_OPERATION.has(name)) {
        warn(
          `ListImageReferrers is not available for ${repository} (${name}: ${(e as Error).message}); only the cosign tag ${cosignSignatureTag(subjectDigest)} is read`,
        );
        return [];
      }
      throw e;
    }
    for (const r of page.referrers ?? []) {
      if (!r.digest || seen.has(r.digest)) continue;
      seen.add(r.digest);
      out.push({ digest: r.digest, artifactType: r.artifactType });
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}

interface Manifests {
  readonly byDigest: Map<string, string>;
  readonly byTag: Map<string, { digest: string; manifest: string }>;
}

/** BatchGetImage in calls of 100 ids; what is gone is left out, transient failures throw. */
async function batchGetManifests(
  ecr: ECRClient,
  repository: string,
  ids: readonly ImageIdentifier[],
  registryId: string | undefined,
  calls: CallCounter,
  warn: (message: string) => void,
): Promise<Manifests> {
  const byDigest = new Map<string, string>();
  const byTag = new Map<string, { digest: string; manifest: string }>();
  for (let i = 0; i < ids.length; i += SIGNATURE_READ_LIMITS.batchIds) {
    calls.add('BatchGetImage');
    const out = await ecr.send(
      new BatchGetImageCommand({
        repositoryName: repository,
        registryId,
        imageIds: ids.slice(i, i + SIGNATURE_READ_LIMITS.batchIds),
        acceptedMediaTypes: ACCEPTED_MANIFEST_TYPES,
      }),
    );
    for (const image of out.images ?? []) {
      const digest = image.imageId?.imageDigest;
      if (!digest || image.imageManifest === undefined) continue;
      byDigest.set(digest, image.imageManifest);
      if (image.imageId?.imageTag)
        byTag.set(image.imageId.imageTag, { digest, manifest: image.imageManifest });
    }
    for (const failure of out.failures ?? []) handleFailure(failure, repository, warn);
  }
  return { byDigest, byTag };
}

function handleFailure(failure: ImageFailure, repository: string, warn: (message: string) => void): void {
  const code = failure.failureCode ?? 'Unknown';
  const id = failure.imageId?.imageDigest ?? failure.imageId?.imageTag ?? '?';
  // The cosign tag of an image signed otherwise (or not at all) is simply not there.
  if (code === 'ImageNotFound' && failure.imageId?.imageTag !== undefined) return;
  if (TRANSIENT_FAILURES.test(code))
    throw new Error(
      `BatchGetImage could not read ${repository}@${id}: ${code} ${failure.failureReason ?? ''}`.trim(),
    );
  if (!GONE_FAILURES.has(code)) {
    warn(`BatchGetImage left ${repository}@${id} out: ${code} ${failure.failureReason ?? ''}`.trim());
    return;
  }
  warn(`signature artifact ${repository}@${id} is no longer readable (${code}); left out`);
}

/** The artifact type of a manifest: its `artifactType`, else its config's media type (OCI referrers API rule). */
function artifactTypeOf(manifest: string): string | undefined {
  const doc = parseObject(manifest);
  if (typeof doc?.artifactType === 'string') return doc.artifactType;
  const config = doc?.config as { mediaType?: unknown } | undefined;
  return typeof config?.mediaType === 'string' ? config.mediaType : undefined;
}

/**
 * The digests of a manifest's signature blobs (layers, or an ORAS manifest's `blobs`, of a signature media type)
 * whose declared size is within `max`; larger ones are reported and skipped.
 */
function signatureBlobsOf(manifest: string, max: number, warn: (message: string) => void): string[] {
  const doc = parseObject(manifest);
  if (!doc) return [];
  const descriptors = [doc.layers, doc.blobs].flatMap((l) => (Array.isArray(l) ? (l as unknown[]) : []));
  const out: string[] = [];
  for (const d of descriptors) {
    const { mediaType, digest, size } = (d ?? {}) as {
      mediaType?: unknown;
      digest?: unknown;
      size?: unknown;
    };
    if (typeof mediaType !== 'string' || !SIGNATURE_BLOB_MEDIA_TYPES.has(mediaType)) continue;
    if (typeof digest !== 'string') continue;
    if (typeof size === 'number' && size > max) {
      warn(`signature blob ${digest} declares ${size} bytes, over the ${max}-byte limit; not read`);
      continue;
    }
    out.push(digest);
  }
  return out;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const doc = JSON.parse(text) as unknown;
    return doc && typeof doc === 'object' && !Array.isArray(doc)
      ? (doc as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Downloads blobs: GetDownloadUrlForLayer, then a GET of the URL, size-capped. */
class BlobReader {
  readonly max: number;
  private readonly fetch: FetchLike;
  private readonly timeoutMs: number;

  constructor(
    private readonly ecr: ECRClient,
    private readonly repository: string,
    private readonly opts: ReadSignatureOptions,
    private readonly calls: CallCounter,
    private readonly warn: (message: string) => void,
  ) {
    this.max = opts.maxBlobBytes ?? SIGNATURE_READ_LIMITS.maxBlobBytes;
    this.fetch = opts.fetch ?? ((url, init) => globalThis.fetch(url, init));
    this.timeoutMs = opts.downloadTimeoutMs ?? SIGNATURE_READ_LIMITS.downloadTimeoutMs;
  }

  /** The blob's bytes, or undefined when it is not there or too large; throws on transient failures. */
  async read(digest: string): Promise<Uint8Array | undefined> {
    let url: string | undefined;
    this.calls.add('GetDownloadUrlForLayer');
    try {
      const out = await this.ecr.send(
        new GetDownloadUrlForLayerCommand({
          repositoryName: this.repository,
          registryId: this.opts.registryId,
          layerDigest: digest,
        }),
      );
      url = out.downloadUrl;
    } catch (e) {
      if (!BLOB_GONE.has((e as Error).name)) throw e;
      this.warn(`signature blob ${this.repository}@${digest} is not available: ${(e as Error).name}`);
      return undefined;
    }
    if (!url) {
      this.warn(`GetDownloadUrlForLayer gave no URL for ${this.repository}@${digest}`);
      return undefined;
    }
    for (let attempt = 1; ; attempt++) {
      this.calls.add('LayerDownload');
      const result = await this.download(url).catch((e: Error) => ({
        kind: 'retry' as const,
        why: e.message,
      }));
      if (result.kind === 'bytes') return result.bytes;
      if (result.kind === 'absent') {
        this.warn(`signature blob ${this.repository}@${digest} could not be read: ${result.why}`);
        return undefined;
      }
      if (attempt >= SIGNATURE_READ_LIMITS.downloadAttempts)
        throw new Error(
          `downloading signature blob ${this.repository}@${digest} failed ${attempt} times: ${result.why}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
    }
  }

  private async download(
    url: string,
  ): Promise<
    { kind: 'bytes'; bytes: Uint8Array } | { kind: 'absent'; why: string } | { kind: 'retry'; why: string }
  > {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      const res = await this.fetch(url, { signal: controller.signal });
      if (res.status >= 500) {
        await res.body?.cancel();
        return { kind: 'retry', why: `HTTP ${res.status}` };
      }
      if (res.status !== 200) {
        await res.body?.cancel();
        return { kind: 'absent', why: `HTTP ${res.status}` };
      }
      const declared = Number(res.headers.get('content-length') ?? Number.NaN);
      if (declared > this.max) {
        await res.body?.cancel();
        return { kind: 'absent', why: `${declared} bytes, over the ${this.max}-byte limit` };
      }
      const chunks: Uint8Array[] = [];
      let total = 0;
      const reader = res.body?.getReader();
      for (;;) {
        const next = await reader?.read();
        if (!next || next.done) break;
        total += next.value.length;
        if (total > this.max) {
          await reader?.cancel();
          return { kind: 'absent', why: `over the ${this.max}-byte limit` };
        }
        chunks.push(next.value);
      }
      const bytes = new Uint8Array(total);
      let offset = 0;
      for (const c of chunks) {
        bytes.set(c, offset);
        offset += c.length;
      }
      return { kind: 'bytes', bytes };
    } finally {
      clearTimeout(timer);
    }
  }
}
