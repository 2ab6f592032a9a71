import {
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  DescribeImageReplicationStatusCommand,
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetLifecyclePolicyCommand,
  type ImageDetail,
  ListTagsForResourceCommand,
  PutImageCommand,
  UpdateImageStorageClassCommand,
} from '@aws-sdk/client-ecr';
import { INDEX_MEDIA_TYPES } from '../lifecycle/graph.js';
import { indexChildrenOf, mergeListedImages } from '../lifecycle/images.js';
import type { Image } from '../lifecycle/types.js';
import { CLIENT_DEFAULTS } from '../runtime/clients.js';
import { mapLimit } from '../runtime/concurrency.js';

/** ECR's API maxima (API model): pages of DescribeImages / DescribeRepositories, ids per batch call. */
export const ECR_LIMITS = { describePage: 1000, batchIds: 100 } as const;

/**
 * UpdateImageStorageClass calls in flight at once. One: the calls go in the order given (an index before its
 * children), and ECR refuses to archive a child whose index is not archived yet. The bounds of a run keep it
 * within the worker's timeout.
 */
const ARCHIVE_CONCURRENCY = 1;

/** Every manifest media type ECR stores, so BatchGetImage returns each manifest as pushed. */
const MANIFEST_MEDIA_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
] as const;

/** Counts API calls by operation, for run summaries and the benchmark. */
export class CallCounter {
  readonly counts = new Map<string, number>();
  add(operation: string, n = 1): void {
    this.counts.set(operation, (this.counts.get(operation) ?? 0) + n);
  }
  get total(): number {
    let sum = 0;
    for (const n of this.counts.values()) sum += n;
    return sum;
  }
  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }
}

export interface RepositoryInfo {
  readonly name: string;
  readonly arn: string;
  readonly registryId: string;
  readonly tagMutability?: string | undefined;
}

export interface ImageFailure {
  readonly digest: string;
  readonly code: string;
  readonly reason: string;
}

/**
 * A BatchDeleteImage failure that names no digest (ECR echoes the `imageId` it was given; a third-party
 * registry may echo a tag alone, or nothing): its code and reason are kept, though no image can be blamed.
 */
export interface UnattributedFailure {
  readonly tag?: string | undefined;
  readonly code: string;
  readonly reason: string;
}

export interface DeleteOutcome {
  readonly deleted: readonly string[];
  readonly failures: readonly ImageFailure[];
  /**
   * Digests ECR answered `ImageNotFound` for: gone before our call reached them (the goal is reached, but not
   * by this delete). Never also in `deleted` or `failures`.
   */
  readonly alreadyGone?: readonly string[] | undefined;
  /** Failures without a digest, with their code and reason. */
  readonly unattributed?: readonly UnattributedFailure[] | undefined;
}

/** Failure codes worth another attempt in the same run (the index holding the child may be gone by then). */
const RETRYABLE_FAILURES = new Set(['ImageReferencedByManifestList', 'KmsError', 'UpstreamUnavailable']);

/** The only code that talks to ECR. Paginates to the last page, batches to the API maxima, reads partial failures. */
export class EcrRegistry {
  /** Where listing anomalies that were resolved (a digest listed twice and merged) are reported. */
  onWarning: (message: string) => void = (message) => console.warn(message);

  constructor(
    private readonly client: ECRClient = new ECRClient(CLIENT_DEFAULTS),
    readonly calls: CallCounter = new CallCounter(),
  ) {}

  /** Every repository of the registry (all pages). */
  async listRepositories(): Promise<RepositoryInfo[]> {
    const out: RepositoryInfo[] = [];
    let nextToken: string | undefined;
    do {
      this.calls.add('DescribeRepositories');
      const page = await this.client.send(
        new DescribeRepositoriesCommand({ maxResults: ECR_LIMITS.describePage, nextToken }),
      );
      for (const r of page.repositories ?? []) {
        if (!r.repositoryName || !r.repositoryArn || !r.registryId) continue;
        out.push({
          name: r.repositoryName,
          arn: r.repositoryArn,
          registryId: r.registryId,
          tagMutability: r.imageTagMutability,
        });
      }
      nextToken = page.nextToken;
    } while (nextToken);
    return out;
  }

  async describeRepository(name: string): Promise<RepositoryInfo | undefined> {
    this.calls.add('DescribeRepositories');
    try {
      const out = await this.client.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
      const r = out.repositories?.[0];
      if (!r?.repositoryName || !r.repositoryArn || !r.registryId) return undefined;
      return {
        name: r.repositoryName,
        arn: r.repositoryArn,
        registryId: r.registryId,
        tagMutability: r.imageTagMutability,
      };
    } catch (e) {
      if ((e as Error).name === 'RepositoryNotFoundException') return undefined;
      throw e;
    }
  }

  async repositoryTags(arn: string): Promise<Record<string, string>> {
    this.calls.add('ListTagsForResource');
    const out = await this.client.send(new ListTagsForResourceCommand({ resourceArn: arn }));
    return Object.fromEntries((out.tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  }

  /**
   * The destinations holding a complete replica of each digest (DescribeImageReplicationStatus, one call per
   * image, 5 at a time). A digest with no COMPLETE destination is left out; a digest ECR no longer knows is
   * skipped. Only the plan's annotation uses it, so its caller treats a failure as a warning.
   */
  async replicas(
    repositoryName: string,
    digests: readonly string[],
  ): Promise<Map<string, { region: string; registryId: string }[]>> {
    const out = new Map<string, { region: string; registryId: string }[]>();
    await mapLimit(digests, 5, async (imageDigest) => {
      this.calls.add('DescribeImageReplicationStatus');
      try {
        const status = await this.client.send(
          new DescribeImageReplicationStatusCommand({ repositoryName, imageId: { imageDigest } }),
        );
        const complete = (status.replicationStatuses ?? [])
          .filter((r) => r.status === 'COMPLETE' && r.region && r.registryId)
          .map((r) => ({ region: r.region as string, registryId: r.registryId as string }));
        if (complete.length > 0) out.set(imageDigest, complete);
      } catch (e) {
        if ((e as Error).name !== 'ImageNotFoundException') throw e;
      }
    });
    return out;
  }

  /** Every image of a repository, archived and restoring ones included (DescribeImages, 1000 a page). */
  async listImages(repositoryName: string): Promise<Image[]> {
    const out: Image[] = [];
    let nextToken: string | undefined;
    do {
      this.calls.add('DescribeImages');
      const page = await this.client.send(
        new DescribeImagesCommand({
          repositoryName,
          maxResults: ECR_LIMITS.describePage,
          nextToken,
          filter: { imageStatus: 'ANY' },
        }),
      );
      for (const detail of page.imageDetails ?? []) out.push(fromDetail(detail));
      nextToken = page.nextToken;
    } while (nextToken);
    const listed = mergeListedImages(out);
    if (listed.merged.length > 0)
      this.onWarning(
        `DescribeImages listed ${listed.merged.length} digest(s) of ${repositoryName} more than once; merged: ${listed.merged.slice(0, 5).join(', ')}`,
      );
    return listed.images;
  }

  /**
   * Which of `digests` still exist in the repository, in any storage class (DescribeImages by digest, 100 ids
   * a call). DescribeImages with `imageIds` fails the whole call with ImageNotFoundException when one id is
   * missing, so a batch that fails is asked again one digest at a time.
   */
  async existingDigests(repositoryName: string, digests: readonly string[]): Promise<Set<string>> {
    const wanted = new Set(digests);
    const found = new Set<string>();
    const describe = async (batch: readonly string[]): Promise<boolean> => {
      this.calls.add('DescribeImages');
      try {
        const out = await this.client.send(
          new DescribeImagesCommand({
            repositoryName,
            imageIds: batch.map((imageDigest) => ({ imageDigest })),
            filter: { imageStatus: 'ANY' },
          }),
        );
        for (const detail of out.imageDetails ?? [])
          if (detail.imageDigest && wanted.has(detail.imageDigest)) found.add(detail.imageDigest);
        return true;
      } catch (e) {
        if ((e as Error).name === 'ImageNotFoundException') return false;
        throw e;
      }
    };
    for (const batch of chunks([...wanted], ECR_LIMITS.batchIds)) {
      if ((await describe(batch)) || batch.length === 1) continue;
      for (const digest of batch) await describe([digest]);
    }
    return found;
  }

  /**
   * The manifests of these images (any media type), for the write-ahead record of a delete that cannot be
   * undone (the record then proves exactly what was there), and for the gate to tell a signature artifact from
   * an image that only carries a tag shaped like one. Unreadable ones are left out.
   */
  async manifests(
    repositoryName: string,
    digests: readonly string[],
  ): Promise<Map<string, { mediaType: string; body: string }>> {
    const out = new Map<string, { mediaType: string; body: string }>();
    for (const batch of chunks(digests, ECR_LIMITS.batchIds)) {
      this.calls.add('BatchGetImage');
      const page = await this.client.send(
        new BatchGetImageCommand({
          repositoryName,
          imageIds: batch.map((imageDigest) => ({ imageDigest })),
          acceptedMediaTypes: [...MANIFEST_MEDIA_TYPES],
        }),
      );
      for (const image of page.images ?? []) {
        const digest = image.imageId?.imageDigest;
        if (digest && image.imageManifest)
          out.set(digest, { mediaType: image.imageManifestMediaType ?? '', body: image.imageManifest });
      }
    }
    return out;
  }

  /**
   * The children of the given image indexes (BatchGetImage, up to 100 a call). Indexes whose manifest could
   * not be read are listed in `unreadable`, so the engine can keep what might be their children.
   */
  async indexChildren(
    repositoryName: string,
    indexDigests: readonly string[],
  ): Promise<{ children: Map<string, string[]>; unreadable: string[] }> {
    const children = new Map<string, string[]>();
    const unreadable: string[] = [];
    for (const batch of chunks(indexDigests, ECR_LIMITS.batchIds)) {
      this.calls.add('BatchGetImage');
      const out = await this.client.send(
        new BatchGetImageCommand({
          repositoryName,
          imageIds: batch.map((imageDigest) => ({ imageDigest })),
          acceptedMediaTypes: [...INDEX_MEDIA_TYPES],
        }),
      );
      for (const image of out.images ?? []) {
        const digest = image.imageId?.imageDigest;
        if (!digest || !image.imageManifest) continue;
        try {
          children.set(digest, indexChildrenOf(image.imageManifest));
        } catch {
          unreadable.push(digest);
        }
      }
      for (const failure of out.failures ?? []) {
        if (failure.imageId?.imageDigest) unreadable.push(failure.imageId.imageDigest);
      }
    }
    for (const digest of indexDigests)
      if (!children.has(digest) && !unreadable.includes(digest)) unreadable.push(digest);
    return { children, unreadable };
  }

  /** The lifecycle policy attached to a repository, or undefined when it has none. */
  async lifecyclePolicyText(repositoryName: string): Promise<string | undefined> {
    this.calls.add('GetLifecyclePolicy');
    try {
      const out = await this.client.send(new GetLifecyclePolicyCommand({ repositoryName }));
      return out.lifecyclePolicyText;
    } catch (e) {
      if ((e as Error).name === 'LifecyclePolicyNotFoundException') return undefined;
      throw e;
    }
  }

  /**
   * Deletes images by digest, 100 a call, in the order given (callers put indexes before their children).
   * Failures that can succeed later in the run (`ImageReferencedByManifestList` once the index is gone)
   * are retried once after every batch has been sent.
   */
  async deleteImages(repositoryName: string, digests: readonly string[]): Promise<DeleteOutcome> {
    const deleted = new Set<string>();
    const gone = new Set<string>();
    const unattributed: UnattributedFailure[] = [];
    let failures: ImageFailure[] = [];
    const send = async (batch: readonly string[]) => {
      this.calls.add('BatchDeleteImage');
      const out = await this.client.send(
        new BatchDeleteImageCommand({
          repositoryName,
          imageIds: batch.map((imageDigest) => ({ imageDigest })),
        }),
      );
      for (const id of out.imageIds ?? []) if (id.imageDigest) deleted.add(id.imageDigest);
      const found: ImageFailure[] = [];
      for (const f of out.failures ?? []) {
        const digest = f.imageId?.imageDigest;
        const code = f.failureCode ?? 'Unknown';
        const reason = f.failureReason ?? '';
        if (!digest) {
          unattributed.push({ ...(f.imageId?.imageTag ? { tag: f.imageId.imageTag } : {}), code, reason });
          continue;
        }
        // Deleted meanwhile by someone else (or by our own call whose reply was lost and retried): the goal
        // is reached, but this call did not delete it.
        if (code === 'ImageNotFound') gone.add(digest);
        else found.push({ digest, code, reason });
      }
      return found;
    };
    for (const batch of chunks(digests, ECR_LIMITS.batchIds)) failures.push(...(await send(batch)));
    const retry = failures.filter((f) => RETRYABLE_FAILURES.has(f.code)).map((f) => f.digest);
    if (retry.length > 0) {
      failures = failures.filter((f) => !RETRYABLE_FAILURES.has(f.code));
      for (const batch of chunks(retry, ECR_LIMITS.batchIds)) failures.push(...(await send(batch)));
    }
    return {
      deleted: [...deleted],
      failures: failures.filter((f) => !deleted.has(f.digest) && !gone.has(f.digest)),
      alreadyGone: [...gone].filter((d) => !deleted.has(d)),
      unattributed,
    };
  }

  /** Moves images to the archive storage class (UpdateImageStorageClass is one image a call). */
  async archiveImages(repositoryName: string, digests: readonly string[]): Promise<DeleteOutcome> {
    const done: string[] = [];
    const failures: ImageFailure[] = [];
    await mapLimit(digests, ARCHIVE_CONCURRENCY, async (imageDigest) => {
      this.calls.add('UpdateImageStorageClass');
      try {
        await this.client.send(
          new UpdateImageStorageClassCommand({
            repositoryName,
            imageId: { imageDigest },
            targetStorageClass: 'ARCHIVE',
          }),
        );
        done.push(imageDigest);
      } catch (e) {
        const err = e as Error & { $retryable?: unknown };
        if (err.name === 'ThrottlingException' || err.name === 'ServerException') throw e;
        failures.push({ digest: imageDigest, code: err.name, reason: err.message });
      }
    });
    // In the order asked, whatever order the calls finished in.
    const order = new Map(digests.map((d, i) => [d, i]));
    done.sort((a, b) => order.get(a)! - order.get(b)!);
    return { deleted: done, failures };
  }

  /**
   * Starts the restore of an archived image (UpdateImageStorageClass to STANDARD) and returns the status ECR
   * answers: ACTIVATING while ECR brings it back (typically up to 20 minutes), ACTIVE when done.
   */
  async restoreImage(repositoryName: string, digest: string): Promise<string | undefined> {
    this.calls.add('UpdateImageStorageClass');
    const out = await this.client.send(
      new UpdateImageStorageClassCommand({
        repositoryName,
        imageId: { imageDigest: digest },
        targetStorageClass: 'STANDARD',
      }),
    );
    return out.imageStatus;
  }

  /** One image by digest in any storage class (status, tags, times), or undefined when it is not there. */
  async describeImage(repositoryName: string, digest: string): Promise<Image | undefined> {
    this.calls.add('DescribeImages');
    try {
      const out = await this.client.send(
        new DescribeImagesCommand({
          repositoryName,
          imageIds: [{ imageDigest: digest }],
          filter: { imageStatus: 'ANY' },
        }),
      );
      const detail = out.imageDetails?.[0];
      return detail ? fromDetail(detail) : undefined;
    } catch (e) {
      if ((e as Error).name === 'ImageNotFoundException') return undefined;
      throw e;
    }
  }
}

function fromDetail(detail: ImageDetail): Image {
  return {
    digest: detail.imageDigest ?? '',
    tags: detail.imageTags ?? [],
    pushedAt: detail.imagePushedAt?.getTime() ?? 0,
    sizeBytes: detail.imageSizeInBytes ?? 0,
    status: (detail.imageStatus ?? 'ACTIVE') as Image['status'],
    lastPulledAt: detail.lastRecordedPullTime?.getTime(),
    lastArchivedAt: detail.lastArchivedAt?.getTime(),
    lastActivatedAt: detail.lastActivatedAt?.getTime(),
    manifestMediaType: detail.imageManifestMediaType,
    artifactMediaType: detail.artifactMediaType,
    subjectDigest: detail.subjectManifestDigest,
  };
}

/** Splits a list into chunks of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Scan findings and image metadata the scan gate reads. */
export class EcrScanReader {
  constructor(
    private readonly client: ECRClient = new ECRClient(CLIENT_DEFAULTS),
    readonly calls: CallCounter = new CallCounter(),
  ) {}

  /**
   * Every page of DescribeImageScanFindings (1,000 a page), merged, with the scan's own completion time, source
   * date and severity counts (from its first page) for the gate to check the findings against. No scan yet is a
   * normal state: `imageScanStatus.status` is then `MISSING`. A nextToken that comes back a second time would
   * page forever: it is an error. `read` says how many pages were read and whether the scan changed between
   * them (a continuous scan finishing mid-read): the merged findings then belong to two scans.
   */
  async scanFindings(repositoryName: string, imageDigest: string): Promise<ScanFindingsPage> {
    const merged: ScanFindingsPage = {
      imageScanStatus: undefined,
      imageScanFindings: { findings: [], enhancedFindings: [] },
      read: { pages: 0, changedDuringRead: false },
    };
    const scan = merged.imageScanFindings;
    const read = merged.read!;
    const tokens = new Set<string>();
    // A field a later page repeats must repeat the first page's value; a page may leave it out.
    const same = (first: unknown, later: unknown) =>
      later === undefined || first === undefined || JSON.stringify(first) === JSON.stringify(later);
    let nextToken: string | undefined;
    try {
      do {
        this.calls.add('DescribeImageScanFindings');
        const page = await this.client.send(
          new DescribeImageScanFindingsCommand({
            repositoryName,
            imageId: { imageDigest },
            maxResults: ECR_LIMITS.describePage,
            nextToken,
          }),
        );
        read.pages++;
        const status = page.imageScanStatus
          ? { status: page.imageScanStatus.status, description: page.imageScanStatus.description }
          : undefined;
        const found = page.imageScanFindings;
        const counts = found?.findingSeverityCounts
          ? Object.fromEntries(
              Object.entries(found.findingSeverityCounts).filter(
                (e): e is [string, number] => typeof e[1] === 'number',
              ),
            )
          : undefined;
        if (
          read.pages > 1 &&
          !(
            same(merged.imageScanStatus?.status, status?.status) &&
            same(scan.imageScanCompletedAt, found?.imageScanCompletedAt) &&
            same(scan.findingSeverityCounts, counts)
          )
        )
          read.changedDuringRead = true;
        merged.imageScanStatus = status ?? merged.imageScanStatus;
        scan.imageScanCompletedAt ??= found?.imageScanCompletedAt;
        scan.vulnerabilitySourceUpdatedAt ??= found?.vulnerabilitySourceUpdatedAt;
        scan.findingSeverityCounts ??= counts;
        scan.findings.push(...((found?.findings ?? []) as never[]));
        scan.enhancedFindings.push(...((found?.enhancedFindings ?? []) as never[]));
        nextToken = page.nextToken;
        if (nextToken !== undefined && tokens.has(nextToken))
          throw new Error(
            `DescribeImageScanFindings of ${repositoryName}@${imageDigest} returned the nextToken of page ${read.pages} before: stopped rather than page forever`,
          );
        if (nextToken !== undefined) tokens.add(nextToken);
      } while (nextToken);
    } catch (e) {
      if ((e as Error).name === 'ScanNotFoundException')
        return {
          imageScanStatus: { status: 'MISSING', description: 'no scan for this image' },
          imageScanFindings: { findings: [], enhancedFindings: [] },
        };
      throw e;
    }
    return merged;
  }

  /** The image's tags, push time and manifest (for re-tagging), or undefined when it no longer exists. */
  async image(
    repositoryName: string,
    imageDigest: string,
  ): Promise<
    | { tags: string[]; pushedAt?: number; manifest?: string; mediaType?: string; subjectDigest?: string }
    | undefined
  > {
    try {
      this.calls.add('DescribeImages');
      const out = await this.client.send(
        new DescribeImagesCommand({ repositoryName, imageIds: [{ imageDigest }] }),
      );
      const detail = out.imageDetails?.[0];
      if (!detail) return undefined;
      return {
        tags: detail.imageTags ?? [],
        pushedAt: detail.imagePushedAt?.getTime(),
        mediaType: detail.imageManifestMediaType,
        // A referrer (a signature, an SBOM, an attestation) names its subject.
        ...(detail.subjectManifestDigest ? { subjectDigest: detail.subjectManifestDigest } : {}),
      };
    } catch (e) {
      if (
        (e as Error).name === 'ImageNotFoundException' ||
        (e as Error).name === 'RepositoryNotFoundException'
      )
        return undefined;
      throw e;
    }
  }

  /** The digest a tag points at, or undefined. */
  async digestOfTag(repositoryName: string, imageTag: string): Promise<string | undefined> {
    try {
      this.calls.add('DescribeImages');
      const out = await this.client.send(
        new DescribeImagesCommand({ repositoryName, imageIds: [{ imageTag }] }),
      );
      return out.imageDetails?.[0]?.imageDigest;
    } catch (e) {
      if ((e as Error).name === 'ImageNotFoundException') return undefined;
      throw e;
    }
  }

  /** Adds a tag to an existing image by re-putting its own manifest. */
  async addTag(repositoryName: string, imageDigest: string, tag: string): Promise<void> {
    this.calls.add('BatchGetImage');
    const got = await this.client.send(
      new BatchGetImageCommand({ repositoryName, imageIds: [{ imageDigest }] }),
    );
    const image = got.images?.[0];
    if (!image?.imageManifest)
      throw new Error(`cannot read the manifest of ${repositoryName}@${imageDigest}`);
    this.calls.add('PutImage');
    await this.client.send(
      new PutImageCommand({
        repositoryName,
        imageManifest: image.imageManifest,
        imageManifestMediaType: image.imageManifestMediaType,
        imageTag: tag,
        imageDigest,
      }),
    );
  }

  /** Removes one tag (BatchDeleteImage by tag): only called when the image keeps another tag. */
  /**
   * Removes one tag (BatchDeleteImage by tag alone: naming the digest too would delete the image). ECR answers
   * a refusal with HTTP 200 and a `failures` entry, which is thrown; `ImageNotFound` means the tag is gone
   * already, which is what was asked.
   */
  async removeTag(repositoryName: string, tag: string): Promise<void> {
    this.calls.add('BatchDeleteImage');
    const out = await this.client.send(
      new BatchDeleteImageCommand({ repositoryName, imageIds: [{ imageTag: tag }] }),
    );
    const failure = (out.failures ?? []).find((f) => f.failureCode !== 'ImageNotFound');
    if (failure)
      throw new Error(
        `removing tag ${tag} from ${repositoryName} failed: ${failure.failureCode ?? 'Unknown'} ${failure.failureReason ?? ''}`.trim(),
      );
  }
}

/** DescribeImageScanFindings, every page merged (see `EcrScanReader.scanFindings`). */
export interface ScanFindingsPage {
  imageScanStatus: { status?: string | undefined; description?: string | undefined } | undefined;
  imageScanFindings: {
    findings: unknown[];
    enhancedFindings: unknown[];
    imageScanCompletedAt?: Date | undefined;
    vulnerabilitySourceUpdatedAt?: Date | undefined;
    /** Per severity (zero severities omitted), as the scan itself counts its findings. */
    findingSeverityCounts?: Record<string, number> | undefined;
  };
  /** Pages read, and whether the scan's status, completion time or counts differed between them. */
  read?: { pages: number; changedDuringRead: boolean } | undefined;
}
