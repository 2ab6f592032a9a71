/**
 * An in-memory Amazon ECR for the local cloud. It answers the awsJson1.1 operations ECR Steward calls
 * (through local/server.ts) with ECR's documented behaviour and limits, and emits the EventBridge events ECR
 * would send, so the real Lambda handlers can run end to end without an AWS account.
 *
 * Sources for the behaviour: docs/events.md §3–§5 and docs/ecr-lifecycle.md §2.5, §5.
 * Where ECR's behaviour is not documented, the choice made here is noted at the code that makes it.
 *
 * Scale: images live in a Map by digest per repository, with a tag → digest index and a lazily re-sorted
 * digest array for listings, so a repository of 100,000 images pages in O(page) after one O(n log n) sort.
 * Paging tokens are keyset tokens (the last key returned), so they stay valid while images are added or
 * deleted between pages, as a real paginated listing would.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { EnhancedImageScanFinding, ImageScanFinding } from '@aws-sdk/client-ecr';
import {
  LAYER_DOWNLOAD_OP,
  layerDownloadPath,
  type RawRequest,
  ServiceError,
  type ServiceHandler,
} from './server.js';

/** ECR's `imageStatus`. */
export type EcrImageStatus = 'ACTIVE' | 'ARCHIVED' | 'ACTIVATING';

/** Repository tag mutability, including the 2025 exclusion variants. */
export type TagMutability = 'MUTABLE' | 'IMMUTABLE' | 'IMMUTABLE_WITH_EXCLUSION' | 'MUTABLE_WITH_EXCLUSION';

/** An EventBridge event as ECR sends it to the default bus. */
export interface EcrEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type':
    | 'ECR Image Action'
    | 'ECR Image Scan'
    | 'ECR Replication Action'
    | 'ECR Pull Through Cache Action'
    | 'ECR Referrer Action';
  readonly source: 'aws.ecr';
  readonly account: string;
  /** ISO-8601 with second precision, as EventBridge stamps it. */
  readonly time: string;
  readonly region: string;
  readonly resources: string[];
  readonly detail: Record<string, unknown>;
}

/** Options of {@link EcrEmulator}. */
export interface EcrEmulatorOptions {
  /** Registry id and account of ARNs and events. Default 123456789012. */
  readonly accountId?: string;
  /** Default us-east-1. */
  readonly region?: string;
  /** Clock for push times, archive times and event times. Default: the system clock. */
  readonly now?: () => Date;
  /**
   * Whether BatchGetImage refreshes `lastRecordedPullTime`. A pull calls BatchGetImage once for the
   * manifest, so real ECR may count it; off by default so that the steward's own index reads do not move
   * `sinceImagePulled` clocks in scenarios. Use {@link EcrEmulator.pullImage} for pulls.
   */
  readonly recordPullOnBatchGetImage?: boolean;
  /**
   * How long a restore (UpdateImageStorageClass STANDARD) stays ACTIVATING, measured on the `now` clock (so a
   * scenario with a fast clock sees a 20-minute restore finish when its clock has moved 20 minutes). ECR says
   * "typically up to 20 minutes"; default 0: restored at once.
   */
  readonly restoreDelayMs?: number;
}

/** Options of {@link EcrEmulator.createRepository}. */
export interface CreateRepositoryOptions {
  readonly tags?: Readonly<Record<string, string>>;
  readonly tagMutability?: TagMutability;
  /** Wildcard filters (`release-*`) of the `*_WITH_EXCLUSION` mutabilities. */
  readonly exclusionFilters?: readonly string[];
  readonly createdAt?: Date;
  readonly lifecyclePolicy?: string;
}

/** Options of {@link EcrEmulator.putImage}. The digest is sha256 of `manifest`, as ECR computes it. */
export interface PutImageOptions {
  /** The manifest JSON text, byte for byte. */
  readonly manifest: string;
  /** Default: the manifest's `mediaType`, else OCI index / OCI manifest by shape. */
  readonly mediaType?: string;
  readonly tags?: readonly string[];
  /** Default: now. */
  readonly pushedAt?: Date;
  readonly lastPulledAt?: Date;
  /** Default: the manifest's `subject.digest`. */
  readonly subjectDigest?: string;
  /** Default: the manifest's `artifactType`, else `config.mediaType`. */
  readonly artifactMediaType?: string;
  /** Default: layers + config sizes of the manifest; for an index, the largest child (as ECR reports it). */
  readonly sizeBytes?: number;
  /**
   * The layer (and config) blobs the push uploads, by digest: what GetDownloadUrlForLayer's URL serves. Stored
   * as given, without checking the bytes against the digest, so that a test can model a corrupted store (the
   * wire path, CompleteLayerUpload, does check). A push that carries blobs models real content: a layer of its
   * manifest that is not among them is a lost blob, whose URL answers 404.
   */
  readonly blobs?: ReadonlyMap<string, Uint8Array>;
}

/** Options of {@link EcrEmulator.replicateImage}: the image, and the registry it was replicated from. */
export interface ReplicateImageOptions extends PutImageOptions {
  /** Default: this registry's account (a cross-region replication). */
  readonly sourceAccount?: string;
  /** Default: us-west-2, or us-east-1 when this registry is in us-west-2. */
  readonly sourceRegion?: string;
}

/** One rule of the registry's replication configuration (PutReplicationConfiguration's shape). */
export interface ReplicationRule {
  readonly destinations: readonly { readonly region: string; readonly registryId: string }[];
  readonly repositoryFilters?: readonly { readonly filter: string; readonly filterType: 'PREFIX_MATCH' }[];
}

/**
 * Where a replica goes: the local organization (local/org.ts) delivers it to the destination registry's
 * emulator, which stores it and sends `ECR Replication Action` there. Returns a failure code when the
 * destination cannot take it (no such registry locally), undefined on success.
 */
export type Replicator = (
  destination: { readonly region: string; readonly registryId: string },
  repositoryName: string,
  image: ReplicateImageOptions,
) => string | undefined;

/** Options of {@link EcrEmulator.pullThroughCache}: the image, and the pull-through cache rule that synced it. */
export interface PullThroughCacheOptions extends PutImageOptions {
  /** The upstream registry of the rule. Default public.ecr.aws. */
  readonly upstreamRegistryUrl?: string;
  /** The rule's repository prefix. Default: the repository name's first path segment. */
  readonly ecrRepositoryPrefix?: string;
}

/** Scan state set with {@link EcrEmulator.setScanFindings}. */
export interface ScanFindingsInput {
  /** `imageScanStatus.status`: COMPLETE, IN_PROGRESS, FAILED, ACTIVE, … */
  readonly status: string;
  readonly description?: string;
  readonly findings?: readonly ImageScanFinding[];
  readonly enhancedFindings?: readonly EnhancedImageScanFinding[];
  /** BASIC scans emit `ECR Image Scan`; ENHANCED ones are Inspector's and emit nothing here. Default: ENHANCED when enhancedFindings are given. */
  readonly scanType?: 'BASIC' | 'ENHANCED';
  readonly completedAt?: Date;
}

/** A read-only copy of a stored image, for scenario assertions. */
export interface EcrImageView {
  readonly digest: string;
  readonly tags: readonly string[];
  readonly mediaType: string;
  readonly artifactMediaType?: string | undefined;
  readonly subjectDigest?: string | undefined;
  readonly sizeBytes: number;
  readonly pushedAt: Date;
  readonly lastPulledAt?: Date | undefined;
  readonly status: EcrImageStatus;
  readonly lastArchivedAt?: Date | undefined;
  readonly lastActivatedAt?: Date | undefined;
  /** Digests listed by an image index (empty for other manifests). */
  readonly children: readonly string[];
}

interface ImageRecord {
  readonly digest: string;
  readonly manifest: string;
  readonly mediaType: string;
  readonly artifactMediaType?: string | undefined;
  readonly subjectDigest?: string | undefined;
  readonly sizeBytes: number;
  /** Mutable only for simulated time (agePushTime). */
  pushedAt: Date;
  lastPulledAt?: Date | undefined;
  /** In push order. ECR does not document the order of `imageTags`. */
  tags: string[];
  status: EcrImageStatus;
  lastArchivedAt?: Date | undefined;
  lastActivatedAt?: Date | undefined;
  /** ACTIVATING: when the restore completes (on the emulator's clock). */
  activatesAt?: Date | undefined;
  readonly children: readonly string[];
  scan?: ScanRecord | undefined;
  /** Pushed with blobs (PutImageOptions.blobs): its layers are served by the local server, or 404 when lost. */
  uploaded: boolean;
}

interface ScanRecord {
  readonly status: string;
  readonly description: string;
  readonly findings: readonly ImageScanFinding[];
  readonly enhancedFindings: readonly EnhancedImageScanFinding[];
  readonly completedAt: Date;
}

interface RepositoryRecord {
  readonly name: string;
  readonly arn: string;
  readonly createdAt: Date;
  readonly tagMutability: TagMutability;
  readonly exclusionFilters: readonly string[];
  readonly tags: Map<string, string>;
  readonly images: Map<string, ImageRecord>;
  readonly tagIndex: Map<string, string>;
  /** child digest → digests of the indexes that list it; a child with parents cannot be deleted. */
  readonly parents: Map<string, Set<string>>;
  /** subject digest → digests of the images whose manifest names it as `subject` (OCI 1.1 referrers). */
  readonly referrers: Map<string, Set<string>>;
  /** Layer and config blobs by digest (repository-scoped, as ECR stores layers). */
  readonly blobs: Map<string, Uint8Array>;
  /** Layer uploads in progress (InitiateLayerUpload … CompleteLayerUpload), by upload id. */
  readonly uploads: Map<string, Buffer[]>;
  policy?: { text: string; lastEvaluatedAt?: Date | undefined } | undefined;
  /** Digests in ascending order; rebuilt on the next listing after a push (deletes splice it in place). */
  sorted: string[];
  sortedDirty: boolean;
}

interface ImageIdentifier {
  imageDigest?: string;
  imageTag?: string;
}

/** ECR's API maxima (API reference): page sizes and ids per batch call. */
export const ECR_API_LIMITS = {
  describeImagesPage: 1000,
  describeImagesDefault: 100,
  listImagesPage: 1000,
  describeRepositoriesPage: 1000,
  scanFindingsPage: 1000,
  batchIds: 100,
  /** ListImageReferrers: maxResults 1–50, default 20; at most 5 artifact types in the filter. */
  referrersPage: 50,
  referrersDefault: 20,
  referrerArtifactTypes: 5,
  lifecyclePolicyMin: 100,
  lifecyclePolicyMax: 30_720,
} as const;

/** Media type of an OCI image index (multi-arch image); its `manifests[].digest` are its children. */
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
/** Media type of a single OCI image manifest. */
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const INDEX_TYPES = new Set([OCI_INDEX, DOCKER_LIST]);
const DIGEST = /^[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+$/;
const REPOSITORY_NAME = /^(?=.{2,256}$)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNDEFINED'];

/** The smallest layer part CompleteLayerUpload accepts before the last ("at least 5 MiB"). */
const LAYER_PART_MIN_BYTES = 5 * 1024 * 1024;

/** The digest of a blob: sha256 of its bytes (text as UTF-8). */
export function blobDigest(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The digest ECR gives a manifest: sha256 of its exact bytes. */
export function manifestDigest(manifest: string): string {
  return `sha256:${createHash('sha256').update(manifest, 'utf8').digest('hex')}`;
}

/**
 * A small valid OCI image manifest, unique per `seed`, for scenarios that need many distinct images.
 * Its config and layer digests are derived from the seed; `sizeBytes` is split between them.
 */
export function ociImageManifest(
  seed: string,
  opts: { sizeBytes?: number; subjectDigest?: string; artifactType?: string } = {},
): string {
  const size = opts.sizeBytes ?? 1_000;
  const config = Math.min(size, 500);
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    ...(opts.artifactType ? { artifactType: opts.artifactType } : {}),
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: manifestDigest(`config:${seed}`),
      size: config,
    },
    layers: [
      {
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: manifestDigest(`layer:${seed}`),
        size: size - config,
      },
    ],
    ...(opts.subjectDigest
      ? { subject: { mediaType: OCI_MANIFEST, digest: opts.subjectDigest, size: 1_000 } }
      : {}),
  });
}

/** An OCI image index listing `children` (digests), e.g. a multi-arch image. */
export function ociImageIndex(children: readonly string[]): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: children.map((digest, i) => ({
      mediaType: OCI_MANIFEST,
      digest,
      size: 1_000,
      platform: { architecture: ['amd64', 'arm64', 'arm', 's390x', 'ppc64le'][i % 5], os: 'linux' },
    })),
  });
}

const invalidParameter = (message: string) => new ServiceError('InvalidParameterException', message);

/** ECR's text for list-length and range violations ("Member must have length less than or equal to 100"). */
function checkLength(name: string, list: readonly unknown[], min: number, max: number): void {
  if (list.length > max)
    throw invalidParameter(
      `Invalid parameter at '${name}' failed to satisfy constraint: 'Member must have length less than or equal to ${max}'`,
    );
  if (list.length < min)
    throw invalidParameter(
      `Invalid parameter at '${name}' failed to satisfy constraint: 'Member must have length greater than or equal to ${min}'`,
    );
}

function checkRange(name: string, value: unknown, min: number, max: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw invalidParameter(
      `Invalid parameter at '${name}' failed to satisfy constraint: 'Member must be an integer'`,
    );
  if (value > max)
    throw invalidParameter(
      `Invalid parameter at '${name}' failed to satisfy constraint: 'Member must have value less than or equal to ${max}'`,
    );
  if (value < min)
    throw invalidParameter(
      `Invalid parameter at '${name}' failed to satisfy constraint: 'Member must have value greater than or equal to ${min}'`,
    );
  return value;
}

/** Required members missing from an awsJson request are a ValidationException, in the service's phrasing. */
function required(input: Record<string, unknown>, name: string): string {
  const value = input[name];
  if (typeof value !== 'string' || value === '')
    throw new ServiceError(
      'ValidationException',
      `1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`,
    );
  return value;
}

function encodeToken(key: unknown): string {
  return Buffer.from(JSON.stringify({ k: key })).toString('base64url');
}

function decodeToken<T>(token: unknown, check: (key: unknown) => key is T): T | undefined {
  if (token === undefined || token === null) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(String(token), 'base64url').toString('utf8')) as { k?: unknown };
    if (check(parsed.k)) return parsed.k;
  } catch {
    // fall through: any token we did not issue is invalid
  }
  throw invalidParameter(
    "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'",
  );
}

const isString = (k: unknown): k is string => typeof k === 'string';
const isDigestTag = (k: unknown): k is [string, string | null] =>
  Array.isArray(k) &&
  k.length === 2 &&
  typeof k[0] === 'string' &&
  (k[1] === null || typeof k[1] === 'string');
const isOffset = (k: unknown): k is [string, number] =>
  Array.isArray(k) && k.length === 2 && typeof k[0] === 'string' && Number.isInteger(k[1]);

/** First index in a sorted array whose value is greater than `key` (or ≥ with `inclusive`). */
function bound(sorted: readonly string[], key: string, inclusive: boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const v = sorted[mid] as string;
    if (v < key || (!inclusive && v === key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Takes up to `max` items and looks one further, so a token is only returned when another page exists. */
function page<T, K>(
  items: Iterator<T>,
  max: number,
  keyOf: (item: T) => K,
): { items: T[]; nextToken?: string } {
  const out: T[] = [];
  for (let r = items.next(); !r.done; r = items.next()) {
    if (out.length === max) return { items: out, nextToken: encodeToken(keyOf(out[out.length - 1] as T)) };
    out.push(r.value);
  }
  return { items: out };
}

function wildcard(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

const isoSeconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * The ECR emulator: `handle` is the ServiceHandler for local/server.ts; the other public methods set up
 * and inspect scenarios without going through the wire.
 */
export class EcrEmulator {
  readonly accountId: string;
  readonly region: string;
  private readonly now: () => Date;
  private readonly recordPullOnBatchGetImage: boolean;
  private readonly restoreDelayMs: number;
  private readonly repositories = new Map<string, RepositoryRecord>();
  private readonly listeners = new Set<(event: EcrEvent) => void>();
  /** The registry's replication rules (PutReplicationConfiguration), and who carries replicas out. */
  private replicationRules: ReplicationRule[] = [];
  private replicator?: Replicator;
  /** Per pushed image (`repository@digest`): the replication status of each destination. */
  private readonly replicationStatuses = new Map<
    string,
    { region: string; registryId: string; status: 'COMPLETE' | 'FAILED'; failureCode?: string }[]
  >();
  /** Images being restored (ACTIVATING), so that settling them never scans a whole registry. */
  private readonly activating = new Set<{ repo: RepositoryRecord; image: ImageRecord }>();

  constructor(options: EcrEmulatorOptions = {}) {
    this.accountId = options.accountId ?? '123456789012';
    this.region = options.region ?? 'us-east-1';
    this.now = options.now ?? (() => new Date());
    this.recordPullOnBatchGetImage = options.recordPullOnBatchGetImage ?? false;
    this.restoreDelayMs = options.restoreDelayMs ?? 0;
  }

  // ------------------------------------------------------------------ programmatic API

  /** Subscribes to the events ECR would send to EventBridge. Returns the unsubscribe function. */
  onEvent(listener: (event: EcrEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Sets the registry's replication configuration (what CloudFormation's AWS::ECR::ReplicationConfiguration or
   * PutReplicationConfiguration does). Like ECR, it applies to images pushed from now on: nothing already in
   * the registry is copied.
   */
  setReplicationConfiguration(rules: readonly ReplicationRule[]): void {
    if (rules.length > 10) throw invalidParameter('A replication configuration may contain at most 10 rules');
    for (const rule of rules) {
      if (rule.destinations.length === 0 || rule.destinations.length > 25)
        throw invalidParameter('A replication rule needs between 1 and 25 destinations');
      for (const d of rule.destinations)
        if (d.region === this.region && d.registryId === this.accountId)
          throw invalidParameter(
            `Invalid destination ${d.registryId}/${d.region}: a registry cannot replicate to itself`,
          );
    }
    this.replicationRules = rules.map((r) => ({
      destinations: r.destinations.map((d) => ({ region: d.region, registryId: d.registryId })),
      ...(r.repositoryFilters ? { repositoryFilters: [...r.repositoryFilters] } : {}),
    }));
  }

  /** Who carries out replication (the local organization); without one, pushes are not replicated. */
  setReplicator(replicator: Replicator | undefined): void {
    this.replicator = replicator;
  }

  /** Creates a repository (RepositoryAlreadyExistsException if it exists). Returns its ARN. */
  createRepository(name: string, opts: CreateRepositoryOptions = {}): string {
    if (!REPOSITORY_NAME.test(name))
      throw invalidParameter(
        `Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*''`,
      );
    if (this.repositories.has(name))
      throw new ServiceError(
        'RepositoryAlreadyExistsException',
        `The repository with name '${name}' already exists in the registry with id '${this.accountId}'`,
      );
    const repo: RepositoryRecord = {
      name,
      arn: `arn:aws:ecr:${this.region}:${this.accountId}:repository/${name}`,
      createdAt: opts.createdAt ?? this.now(),
      tagMutability: opts.tagMutability ?? 'MUTABLE',
      exclusionFilters: [...(opts.exclusionFilters ?? [])],
      tags: new Map(Object.entries(opts.tags ?? {})),
      images: new Map(),
      tagIndex: new Map(),
      parents: new Map(),
      referrers: new Map(),
      blobs: new Map(),
      uploads: new Map(),
      sorted: [],
      sortedDirty: false,
    };
    this.repositories.set(name, repo);
    if (opts.lifecyclePolicy !== undefined) this.putLifecyclePolicy(name, opts.lifecyclePolicy);
    return repo.arn;
  }

  /**
   * Pushes an image, as `docker push` would (one PutImage per tag). Tags move from other images unless the
   * repository makes them immutable (ImageTagAlreadyExistsException). Pushing an existing manifest only adds
   * tags; pushing an archived one restores it. Emits one PUSH event per tag (one untagged event for a new
   * untagged image). Returns the digest.
   */
  putImage(repositoryName: string, opts: PutImageOptions): string {
    const repo = this.repository(repositoryName);
    const digest = this.store(repo, opts, opts.tags ?? [], false);
    this.replicate(repo, digest, opts);
    return digest;
  }

  /**
   * Copies a pushed image to the destinations of every replication rule whose filters match the repository
   * (no filter matches every repository). ECR replicates pushes only: a replicated or pull-through image is not
   * passed on, and a delete is never replicated.
   */
  private replicate(repo: RepositoryRecord, digest: string, opts: Omit<PutImageOptions, 'tags'>): void {
    const destinations = new Map<string, { region: string; registryId: string }>();
    for (const rule of this.replicationRules) {
      const filters = rule.repositoryFilters ?? [];
      if (filters.length > 0 && !filters.some((f) => repo.name.startsWith(f.filter))) continue;
      for (const d of rule.destinations) destinations.set(`${d.registryId}/${d.region}`, d);
    }
    if (destinations.size === 0) return;
    const image = repo.images.get(digest);
    if (!image) return;
    const statuses = [...destinations.values()].map((d) => {
      const failure = this.replicator
        ? this.replicator(d, repo.name, {
            ...opts,
            tags: [...image.tags],
            sourceAccount: this.accountId,
            sourceRegion: this.region,
          })
        : 'REPLICATION_NOT_CONFIGURED';
      return failure === undefined
        ? { ...d, status: 'COMPLETE' as const }
        : { ...d, status: 'FAILED' as const, failureCode: failure };
    });
    this.replicationStatuses.set(`${repo.name}@${digest}`, statuses);
  }

  /**
   * Stores a blob in a repository, as a completed layer upload would (without the upload's checks). Returns its
   * digest (sha256 of the bytes). A blob is served only while an ACTIVE image's manifest names it.
   */
  putBlob(repositoryName: string, bytes: Uint8Array | string): string {
    const repo = this.repository(repositoryName);
    const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : Uint8Array.from(bytes);
    const digest = blobDigest(data);
    repo.blobs.set(digest, data);
    return digest;
  }

  /**
   * An image arriving by replication from another registry. ECR sends `ECR Replication Action` (action-type
   * REPLICATE, result SUCCESS) in the destination, with the origin in `source-account`/`source-region` and the
   * repository ARN in `resources`. Whether it also sends a PUSH there is not documented, so none is sent: a
   * steward that waits for pushes never sees a replicated image. One event per new tag (one untagged event for
   * a new untagged image), as for pushes. ECR creates a missing destination repository with the source's name.
   * Returns the digest.
   */
  replicateImage(repositoryName: string, opts: ReplicateImageOptions): string {
    if (!this.repositories.has(repositoryName)) this.createRepository(repositoryName);
    const repo = this.repository(repositoryName);
    const sourceRegion = opts.sourceRegion ?? (this.region === 'us-west-2' ? 'us-east-1' : 'us-west-2');
    return this.store(repo, opts, opts.tags ?? [], false, (image, tag) =>
      this.emit(
        'ECR Replication Action',
        {
          result: 'SUCCESS',
          'repository-name': repo.name,
          'image-digest': image.digest,
          'source-account': opts.sourceAccount ?? this.accountId,
          'action-type': 'REPLICATE',
          'source-region': sourceRegion,
          ...(tag !== undefined ? { 'image-tag': tag } : {}),
        },
        [repo.arn],
      ),
    );
  }

  /**
   * An image synced from an upstream registry by a pull-through cache rule. ECR sends `ECR Pull Through Cache
   * Action` with `sync-status` SUCCESS (not `result`), the rule's prefix and upstream URL, and the repository ARN
   * in `resources`. The cache creates the repository on the first pull. Returns the digest.
   */
  pullThroughCache(repositoryName: string, opts: PullThroughCacheOptions): string {
    if (!this.repositories.has(repositoryName)) this.createRepository(repositoryName);
    const repo = this.repository(repositoryName);
    return this.store(repo, opts, opts.tags ?? [], false, (image, tag) =>
      this.emit(
        'ECR Pull Through Cache Action',
        {
          'rule-version': '1',
          'sync-status': 'SUCCESS',
          'ecr-repository-prefix': opts.ecrRepositoryPrefix ?? repo.name.split('/')[0],
          'repository-name': repo.name,
          'upstream-registry-url': opts.upstreamRegistryUrl ?? 'public.ecr.aws',
          ...(tag !== undefined ? { 'image-tag': tag } : {}),
          'image-digest': image.digest,
        },
        [repo.arn],
      ),
    );
  }

  /** Records a pull of an image (by tag or digest) at `at` (default now): `lastRecordedPullTime`. */
  pullImage(repositoryName: string, ref: string, at: Date = this.now()): void {
    const repo = this.repository(repositoryName);
    const image = this.resolve(repo, ref.includes(':') ? { imageDigest: ref } : { imageTag: ref });
    if (image?.status !== 'ACTIVE')
      // Archived images cannot be pulled ("Requests to pull the archived image will fail with a 404 error").
      throw new ServiceError(
        'ImageNotFoundException',
        `Image '${ref}' cannot be pulled from '${repositoryName}'`,
      );
    image.lastPulledAt = at;
  }

  /**
   * Sets an image's scan status and findings (what DescribeImageScanFindings returns). A COMPLETE basic
   * scan emits `ECR Image Scan` with the severity counts; enhanced scans are Inspector's and emit nothing.
   */
  setScanFindings(repositoryName: string, digest: string, scan: ScanFindingsInput): void {
    const repo = this.repository(repositoryName);
    const image = this.imageOrThrow(repo, { imageDigest: digest });
    image.scan = {
      status: scan.status,
      description:
        scan.description ?? (scan.status === 'COMPLETE' ? 'The scan was completed successfully.' : ''),
      findings: [...(scan.findings ?? [])],
      enhancedFindings: [...(scan.enhancedFindings ?? [])],
      completedAt: scan.completedAt ?? this.now(),
    };
    const scanType = scan.scanType ?? (scan.enhancedFindings ? 'ENHANCED' : 'BASIC');
    if (scanType === 'BASIC' && scan.status === 'COMPLETE') {
      const counts = severityCounts(image.scan);
      this.emit(
        'ECR Image Scan',
        {
          'scan-status': 'COMPLETE',
          'repository-name': repo.name,
          // "will only return a value for a severity level if one exists": no key at all without findings.
          ...(Object.keys(counts).length > 0 ? { 'finding-severity-counts': counts } : {}),
          'image-digest': image.digest,
          'image-tags': [...image.tags],
        },
        [repo.arn],
      );
    }
  }

  /** Archives (ARCHIVE) or restores (STANDARD) an image, as UpdateImageStorageClass does. */
  setStorageClass(repositoryName: string, digest: string, target: 'ARCHIVE' | 'STANDARD'): EcrImageStatus {
    const repo = this.repository(repositoryName);
    return this.updateStorageClass(repo, this.imageOrThrow(repo, { imageDigest: digest }), target);
  }

  /** Attaches a lifecycle policy (text as ECR stores it). */
  putLifecyclePolicy(repositoryName: string, text: string): void {
    const repo = this.repository(repositoryName);
    if (text.length < ECR_API_LIMITS.lifecyclePolicyMin || text.length > ECR_API_LIMITS.lifecyclePolicyMax)
      throw invalidParameter(
        `Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Member must have length between ${ECR_API_LIMITS.lifecyclePolicyMin} and ${ECR_API_LIMITS.lifecyclePolicyMax}'`,
      );
    try {
      JSON.parse(text);
    } catch {
      throw invalidParameter(
        "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: Could not map policyString into LifecyclePolicy.'",
      );
    }
    repo.policy = { text };
  }

  /** A copy of an image (by digest or tag), or undefined. */
  image(repositoryName: string, ref: string): EcrImageView | undefined {
    this.settleRestores();
    const repo = this.repositories.get(repositoryName);
    const image = repo && this.resolve(repo, ref.includes(':') ? { imageDigest: ref } : { imageTag: ref });
    return image && view(image);
  }

  /**
   * Moves an image's push time `ms` into the past (simulated time, for scenarios that skip days): ages are what
   * a minimum-age protection reads, so a scenario that moves a quarantine back must move the image too.
   */
  agePushTime(repositoryName: string, digest: string, ms: number): void {
    const image = this.repository(repositoryName).images.get(digest);
    if (!image) throw new Error(`no image ${repositoryName}@${digest}`);
    image.pushedAt = new Date(image.pushedAt.getTime() - ms);
  }

  /** Every image of a repository, in digest order. */
  images(repositoryName: string): EcrImageView[] {
    this.settleRestores();
    const repo = this.repository(repositoryName);
    return this.sortedDigests(repo).map((d) => view(repo.images.get(d) as ImageRecord));
  }

  /** Number of images in a repository (0 when it does not exist). */
  imageCount(repositoryName: string): number {
    return this.repositories.get(repositoryName)?.images.size ?? 0;
  }

  /**
   * Repositories with at least one tag, as Resource Groups Tagging `GetResources` lists them for
   * `ResourceTypeFilters: ['ecr:repository']` (it only returns resources that carry tags).
   */
  taggedRepositories(): { ResourceARN: string; Tags: { Key: string; Value: string }[] }[] {
    return this.repositoryNames()
      .map((name) => this.repositories.get(name) as RepositoryRecord)
      .filter((repo) => repo.tags.size > 0)
      .map((repo) => ({
        ResourceARN: repo.arn,
        Tags: [...repo.tags].map(([Key, Value]) => ({ Key, Value })),
      }));
  }

  /** Repository names, sorted. */
  repositoryNames(): string[] {
    return [...this.repositories.keys()].sort();
  }

  // ------------------------------------------------------------------ wire API

  /** The ServiceHandler for local/server.ts (`handlers: { ecr: emulator.handle }`). */
  readonly handle: ServiceHandler = async (op, input, raw?: RawRequest) => {
    // A restore whose time has come on the emulator's clock is finished before the call reads anything.
    this.settleRestores();
    const body = (input ?? {}) as Record<string, unknown>;
    if (body.registryId !== undefined && body.registryId !== this.accountId && 'repositoryName' in body)
      throw this.repositoryNotFound(String(body.repositoryName), String(body.registryId));
    switch (op) {
      case 'CreateRepository':
        return { body: this.createRepositoryOp(body) };
      case 'DescribeRepositories':
        return { body: this.describeRepositories(body) };
      case 'DeleteRepository':
        return { body: this.deleteRepository(body) };
      case 'ListTagsForResource':
        return { body: this.listTags(body) };
      case 'TagResource':
        return { body: this.tagResource(body) };
      case 'UntagResource':
        return { body: this.untagResource(body) };
      case 'PutImage':
        return { body: this.putImageOp(body) };
      case 'DescribeImages':
        return { body: this.describeImages(body) };
      case 'ListImages':
        return { body: this.listImages(body) };
      case 'BatchGetImage':
        return { body: this.batchGetImage(body) };
      case 'BatchDeleteImage':
        return { body: this.batchDeleteImage(body) };
      case 'UpdateImageStorageClass':
        return { body: this.updateImageStorageClass(body) };
      case 'GetDownloadUrlForLayer':
        return { body: this.getDownloadUrlForLayer(body, raw) };
      case 'ListImageReferrers':
        return { body: this.listImageReferrers(body) };
      case 'InitiateLayerUpload':
        return { body: this.initiateLayerUpload(body) };
      case 'UploadLayerPart':
        return { body: this.uploadLayerPart(body) };
      case 'CompleteLayerUpload':
        return { body: this.completeLayerUpload(body) };
      case 'BatchCheckLayerAvailability':
        return { body: this.batchCheckLayerAvailability(body) };
      case LAYER_DOWNLOAD_OP:
        // Not an ECR operation: the GET of the URL GetDownloadUrlForLayer gave (local/server.ts routes it here).
        if (raw?.method !== 'GET') break;
        return this.downloadLayer(body);
      case 'GetLifecyclePolicy':
        return { body: this.getLifecyclePolicy(body) };
      case 'PutLifecyclePolicy':
        return { body: this.putLifecyclePolicyOp(body) };
      case 'DeleteLifecyclePolicy':
        return { body: this.deleteLifecyclePolicy(body) };
      case 'DescribeImageScanFindings':
        return { body: this.describeImageScanFindings(body) };
      case 'PutReplicationConfiguration':
        return { body: this.putReplicationConfigurationOp(body) };
      case 'DescribeRegistry':
        return {
          body: {
            registryId: this.accountId,
            replicationConfiguration: { rules: this.replicationRules },
          },
        };
      case 'DescribeImageReplicationStatus':
        return { body: this.describeImageReplicationStatus(body) };
    }
    throw new ServiceError('UnknownOperationException', `The ECR emulator does not implement ${op}`);
  };

  private putReplicationConfigurationOp(input: Record<string, unknown>) {
    const config = input.replicationConfiguration as { rules?: ReplicationRule[] } | undefined;
    if (!config || !Array.isArray(config.rules))
      throw invalidParameter("Invalid parameter at 'replicationConfiguration': rules are required");
    this.setReplicationConfiguration(config.rules);
    return { replicationConfiguration: { rules: this.replicationRules } };
  }

  /**
   * DescribeImageReplicationStatus: the image's status in each destination of the rules that applied when it
   * was pushed (an image pushed before any rule, or matched by none, has no statuses).
   */
  private describeImageReplicationStatus(input: Record<string, unknown>) {
    const repo = this.repository(required(input, 'repositoryName'));
    const imageId = (input.imageId ?? {}) as { imageDigest?: string; imageTag?: string };
    const digest =
      imageId.imageDigest ?? (imageId.imageTag ? repo.tagIndex.get(imageId.imageTag) : undefined);
    if (!digest || !repo.images.has(digest))
      throw new ServiceError(
        'ImageNotFoundException',
        `The image with imageId {imageDigest:'${imageId.imageDigest ?? 'null'}', imageTag:'${imageId.imageTag ?? 'null'}'} does not exist within the repository with name '${repo.name}' in the registry with id '${this.accountId}'`,
      );
    return {
      repositoryName: repo.name,
      imageId: { imageDigest: digest, ...(imageId.imageTag ? { imageTag: imageId.imageTag } : {}) },
      replicationStatuses: this.replicationStatuses.get(`${repo.name}@${digest}`) ?? [],
    };
  }

  private createRepositoryOp(input: Record<string, unknown>) {
    const name = required(input, 'repositoryName');
    const tags = (input.tags as { Key?: string; Value?: string }[] | undefined) ?? [];
    const filters = (input.imageTagMutabilityExclusionFilters as { filter?: string }[] | undefined) ?? [];
    this.createRepository(name, {
      tags: Object.fromEntries(tags.map((t) => [t.Key ?? '', t.Value ?? ''])),
      tagMutability: (input.imageTagMutability as TagMutability | undefined) ?? 'MUTABLE',
      exclusionFilters: filters.map((f) => f.filter ?? '').filter(Boolean),
    });
    return { repository: this.repositoryShape(this.repository(name)) };
  }

  private describeRepositories(input: Record<string, unknown>) {
    const names = input.repositoryNames as string[] | undefined;
    const maxResults = checkRange('maxResults', input.maxResults, 1, ECR_API_LIMITS.describeRepositoriesPage);
    if (names) {
      if (maxResults !== undefined || input.nextToken !== undefined)
        throw invalidParameter('maxResults and nextToken cannot be used together with repositoryNames');
      checkLength('repositoryNames', names, 1, 100);
      return { repositories: names.map((n) => this.repositoryShape(this.repository(n))) };
    }
    const after = decodeToken(input.nextToken, isString);
    const sorted = [...this.repositories.keys()].sort();
    const start = after === undefined ? 0 : bound(sorted, after, false);
    const result = page(sorted.slice(start).values(), maxResults ?? 100, (n) => n);
    return {
      repositories: result.items.map((n) => this.repositoryShape(this.repository(n))),
      nextToken: result.nextToken,
    };
  }

  private deleteRepository(input: Record<string, unknown>) {
    const repo = this.repository(required(input, 'repositoryName'));
    if (repo.images.size > 0 && input.force !== true)
      throw new ServiceError(
        'RepositoryNotEmptyException',
        `The repository with name '${repo.name}' in registry with id '${this.accountId}' cannot be deleted because it still contains images`,
      );
    this.repositories.delete(repo.name);
    return { repository: this.repositoryShape(repo) };
  }

  private listTags(input: Record<string, unknown>) {
    const repo = this.repositoryByArn(required(input, 'resourceArn'));
    return { tags: [...repo.tags].map(([Key, Value]) => ({ Key, Value })) };
  }

  private tagResource(input: Record<string, unknown>) {
    const repo = this.repositoryByArn(required(input, 'resourceArn'));
    for (const t of (input.tags as { Key?: string; Value?: string }[] | undefined) ?? [])
      if (t.Key) repo.tags.set(t.Key, t.Value ?? '');
    return {};
  }

  private untagResource(input: Record<string, unknown>) {
    const repo = this.repositoryByArn(required(input, 'resourceArn'));
    for (const key of (input.tagKeys as string[] | undefined) ?? []) repo.tags.delete(key);
    return {};
  }

  private putImageOp(input: Record<string, unknown>) {
    const repo = this.repository(required(input, 'repositoryName'));
    const manifest = required(input, 'imageManifest');
    const tag = input.imageTag as string | undefined;
    const digest = manifestDigest(manifest);
    if (typeof input.imageDigest === 'string' && input.imageDigest !== digest)
      throw new ServiceError(
        'ImageDigestDoesNotMatchException',
        `The specified image digest '${input.imageDigest}' does not match the digest that Amazon ECR calculated for the image: '${digest}'`,
      );
    if (tag !== undefined && (tag.length < 1 || tag.length > 300))
      throw invalidParameter(
        "Invalid parameter at 'imageTag' failed to satisfy constraint: 'Member must have length between 1 and 300'",
      );
    const pushed = {
      manifest,
      mediaType: input.imageManifestMediaType as string | undefined,
      pushedAt: this.now(),
    };
    this.store(repo, pushed, tag === undefined ? [] : [tag], true);
    this.replicate(repo, digest, pushed);
    const image = repo.images.get(digest) as ImageRecord;
    return {
      image: {
        registryId: this.accountId,
        repositoryName: repo.name,
        imageId: { imageDigest: digest, ...(tag ? { imageTag: tag } : {}) },
        imageManifest: image.manifest,
        imageManifestMediaType: image.mediaType,
      },
    };
  }

  private describeImages(input: Record<string, unknown>) {
    const repo = this.repository(required(input, 'repositoryName'));
    const filter = (input.filter as { tagStatus?: string; imageStatus?: string } | undefined) ?? {};
    const matches = this.filterOf(filter);
    const ids = input.imageIds as ImageIdentifier[] | undefined;
    if (ids !== undefined) {
      // API reference: imageIds "can't be combined with maxResults/nextToken".
      if (input.maxResults !== undefined || input.nextToken !== undefined)
        throw invalidParameter(
          'Invalid parameter: imageIds cannot be specified together with maxResults or nextToken',
        );
      checkLength('imageIds', ids, 1, ECR_API_LIMITS.batchIds);
      const seen = new Set<string>();
      const details = [];
      for (const id of ids) {
        const image = this.resolve(repo, id);
        // An archived image is not found unless the filter asks for it (the default filter is ACTIVE).
        if (!image || !matches(image)) throw this.imageNotFound(repo, id);
        if (seen.has(image.digest)) continue;
        seen.add(image.digest);
        details.push(this.detail(repo, image));
      }
      return { imageDetails: details };
    }
    const max =
      checkRange('maxResults', input.maxResults, 1, ECR_API_LIMITS.describeImagesPage) ??
      ECR_API_LIMITS.describeImagesDefault;
    const after = decodeToken(input.nextToken, isString);
    const result = page(this.imagesAfter(repo, after, matches), max, (i) => i.digest);
    return { imageDetails: result.items.map((i) => this.detail(repo, i)), nextToken: result.nextToken };
  }

  /** ListImages: one entry per tag (ListImages, unlike DescribeImages, lists tags, not digests). */
  private listImages(input: Record<string, unknown>) {
    const repo = this.repository(required(input, 'repositoryName'));
    const matches = this.filterOf((input.filter as { tagStatus?: string; imageStatus?: string }) ?? {});
    const max = checkRange('maxResults', input.maxResults, 1, ECR_API_LIMITS.listImagesPage) ?? 100;
    const after = decodeToken(input.nextToken, isDigestTag);
    const result = page(this.entriesAfter(repo, after, matches), max, (e): [string, string | null] => e);
    return {
      imageIds: result.items.map(([imageDigest, imageTag]) =>
        imageTag ? { imageDigest, imageTag } : { imageDigest },
      ),
      nextToken: result.nextToken,
    };
  }

  private batchGetImage(input: Record<string, unknown>) {
    const repo = this.repository(required(input, 'repositoryName'));
    const ids = (input.imageIds as ImageIdentifier[] | undefined) ?? [];
    checkLength('imageIds', ids, 1, ECR_API_LIMITS.batchIds);
    // acceptedMediaTypes is not applied: the stored manifest is returned as pushed (ECR's conversions between
    // Docker schema versions are out of scope for a steward that only reads indexes and re-tags).
    const images = [];
    const failures = [];
    for (const id of ids) {
      const image = this.resolve(repo, id);
      // Archived images cannot be pulled (404); reported like a missing one.
      if (image?.status !== 'ACTIVE') {
        failures.push({
          imageId: id,
          failureCode: 'ImageNotFound',
          failureReason: 'Requested image not found',
        });
        continue;
      }
      if (this.recordPullOnBatchGetImage) image.lastPulledAt = this.now();
      images.push({
        registryId: this.accountId,
        repositoryName: repo.name,
        imageId: { imageDigest: image.digest, ...(id.imageTag ? { imageTag: id.imageTag } : {}) },
        imageManifest: image.manifest,
        imageManifestMediaType: image.mediaType,
      });
    }
    return { images, failures };
  }

  /**
   * BatchDeleteImage, processed in request order (so an index listed before its children frees them in the
   * same call, as ECR Steward's EcrRegistry orders them). By digest: the image and all its tags go, one
   * `imageIds` entry per tag. By tag: the tag goes, and the image with its last tag. Per-image problems are
   * `failures[]` in a 200 response; only request-level problems throw.
   */
  private batchDeleteImage(input: Record<string, unknown>) {
    const repo = this.repository(required(input, 'repositoryName'));
    const ids = (input.imageIds as ImageIdentifier[] | undefined) ?? [];
    checkLength('imageIds', ids, 1, ECR_API_LIMITS.batchIds);
    const imageIds: ImageIdentifier[] = [];
    const failures: { imageId: ImageIdentifier; failureCode: string; failureReason: string }[] = [];
    const fail = (imageId: ImageIdentifier, failureCode: string, failureReason: string) =>
      failures.push({ imageId, failureCode, failureReason });
    const seen = new Set<string>();
    for (const id of ids) {
      const key = `${id.imageDigest ?? ''}|${id.imageTag ?? ''}`;
      if (seen.has(key)) continue; // a repeated identifier is one deletion, not a second "not found"
      seen.add(key);
      if (!id.imageDigest && !id.imageTag) {
        fail(id, 'MissingDigestAndTag', 'Invalid request parameters: both tag and digest cannot be null');
        continue;
      }
      if (id.imageDigest && !DIGEST.test(id.imageDigest)) {
        fail(
          id,
          'InvalidImageDigest',
          "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'",
        );
        continue;
      }
      if (id.imageTag) {
        const digest = repo.tagIndex.get(id.imageTag);
        if (!digest) {
          fail(id, 'ImageNotFound', 'Requested image not found');
          continue;
        }
        if (id.imageDigest && id.imageDigest !== digest) {
          fail(id, 'ImageTagDoesNotMatchDigest', 'Invalid request parameters: tag does not match digest');
          continue;
        }
        const image = repo.images.get(digest) as ImageRecord;
        // Removing the last tag deletes the image, which a listing index forbids (undocumented; chosen to
        // match the by-digest rule rather than leave an untagged child behind).
        if (image.tags.length === 1 && this.referencedBy(repo, digest).length > 0) {
          fail(id, 'ImageReferencedByManifestList', this.referencedReason(repo, digest));
          continue;
        }
        this.untag(repo, image, id.imageTag);
        imageIds.push({ imageDigest: digest, imageTag: id.imageTag });
        this.emit('ECR Image Action', this.actionDetail(repo, image, 'DELETE', id.imageTag));
        if (image.tags.length === 0) this.remove(repo, image);
        continue;
      }
      const image = repo.images.get(id.imageDigest as string);
      if (!image) {
        fail(id, 'ImageNotFound', 'Requested image not found');
        continue;
      }
      if (this.referencedBy(repo, image.digest).length > 0) {
        fail(id, 'ImageReferencedByManifestList', this.referencedReason(repo, image.digest));
        continue;
      }
      const tags = [...image.tags];
      for (const tag of tags) this.untag(repo, image, tag);
      this.remove(repo, image);
      if (tags.length === 0) {
        imageIds.push({ imageDigest: image.digest });
        this.emit('ECR Image Action', this.actionDetail(repo, image, 'DELETE'));
      }
      for (const tag of tags) {
        imageIds.push({ imageDigest: image.digest, imageTag: tag });
        this.emit('ECR Image Action', this.actionDetail(repo, image, 'DELETE', tag));
      }
    }
    return { imageIds, failures };
  }

  private updateImageStorageClass(input: Record<string, unknown>) {
    const repo = this.repository(required(input, 'repositoryName'));
    const target = required(input, 'targetStorageClass');
    if (target !== 'ARCHIVE' && target !== 'STANDARD')
      throw invalidParameter(
        `Invalid parameter at 'targetStorageClass' failed to satisfy constraint: 'Member must satisfy enum value set: [STANDARD, ARCHIVE]'`,
      );
    const id = (input.imageId as ImageIdentifier | undefined) ?? {};
    const image = this.imageOrThrow(repo, id);
    const imageStatus = this.updateStorageClass(repo, image, target);
    return {
      registryId: this.accountId,
      repositoryName: repo.name,
      imageId: { imageDigest: image.digest },
      imageStatus,
    };
  }

  /**
   * GetDownloadUrlForLayer: a layer (or config blob) of an ACTIVE image of the repository gets a URL. Archived
   * and restoring images "cannot be pulled … will fail with a 404 error" ([ARCH]); which API error a layer
   * of an archived image gets is not documented, so a layer that only archived images use is answered with
   * LayerInaccessibleException (the layer is "not associated with an image" that can be pulled), and a layer no
   * image uses with LayersNotFoundException, ECR's texts for both.
   *
   * The URL: in AWS a presigned S3 URL. Here, when the call came over the wire and the emulator holds the blob
   * (or the image naming it was pushed with blobs, so a missing one is a lost blob), a URL on the same local
   * server, whose GET answers the bytes or 404 (local/server.ts routes it back here as {@link LAYER_DOWNLOAD_OP});
   * a layer of a generated manifest whose bytes were never pushed keeps an S3-shaped URL that nothing serves.
   */
  private getDownloadUrlForLayer(input: Record<string, unknown>, raw?: RawRequest) {
    const repo = this.repository(required(input, 'repositoryName'));
    const layerDigest = required(input, 'layerDigest');
    let inArchive = false;
    let uploaded = false;
    let active = false;
    for (const image of repo.images.values()) {
      if (!blobsOf(image.manifest).includes(layerDigest)) continue;
      if (image.status === 'ACTIVE') {
        active = true;
        uploaded ||= image.uploaded;
      } else inArchive = true;
    }
    if (active) {
      const host = raw?.headers.host;
      const served = host !== undefined && (uploaded || repo.blobs.has(layerDigest));
      return {
        downloadUrl: served
          ? `http://${host}${layerDownloadPath(this.accountId, repo.name, layerDigest)}`
          : `https://prod-${this.region}-starport-layer-bucket.s3.${this.region}.amazonaws.com/local/${repo.name}/${layerDigest}`,
        layerDigest,
      };
    }
    if (inArchive)
      throw new ServiceError(
        'LayerInaccessibleException',
        'The specified layer is not available because it is not associated with an image. Unassociated image layers may be cleaned up at any time.',
      );
    throw new ServiceError(
      'LayersNotFoundException',
      'The specified layers could not be found, or the specified layer is not valid for this repository.',
    );
  }

  /**
   * The GET of a download URL: the blob's bytes, or 404 `NoSuchKey` (S3's code for a missing key; S3 answers it
   * as XML, the local server as JSON) when the emulator does not hold them.
   */
  private downloadLayer(input: Record<string, unknown>) {
    const repo = this.repository(required(input, 'repositoryName'));
    const bytes = repo.blobs.get(required(input, 'layerDigest'));
    if (!bytes) throw new ServiceError('NoSuchKey', 'The specified key does not exist.', 404);
    return { body: bytes, headers: { 'content-type': 'application/octet-stream' } };
  }

  /**
   * ListImageReferrers (API added 2025-11): the images of the repository whose manifest names `subjectId` as its
   * OCI 1.1 `subject`, whether or not the subject itself is there (OCI lets a referrer arrive before its subject).
   * Request and response shapes: @aws-sdk/client-ecr `ListImageReferrersRequest` / `ImageReferrer`, and the API
   * reference (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ListImageReferrers.html):
   * - `maxResults` 1–50. Without it, "up to 20 results" (SDK model); the API reference page says 50. 20 here.
   * - `filter.artifactStatus` ACTIVE (default) | ARCHIVED | ACTIVATING | ANY; `filter.artifactTypes` up to 5
   *   (docs/ecr-lifecycle.md §5), matched exactly against each referrer's artifact type.
   * - Each referrer: `digest`, `mediaType` (the referrer manifest's), `artifactType` (its `artifactType`, else its
   *   config's media type, as the OCI distribution spec's referrers API defines it), `size` (the manifest's bytes,
   *   the OCI descriptor size), `annotations` (the manifest's), `artifactStatus`.
   * The order is not documented: digest order here, with keyset tokens like the other listings.
   */
  private listImageReferrers(input: Record<string, unknown>) {
    const repo = this.repository(required(input, 'repositoryName'));
    const subject = (input.subjectId as { imageDigest?: unknown } | undefined)?.imageDigest;
    if (typeof subject !== 'string' || subject === '')
      throw new ServiceError(
        'ValidationException',
        "1 validation error detected: Value null at 'subjectId.imageDigest' failed to satisfy constraint: Member must not be null",
      );
    const filter = (input.filter as { artifactTypes?: unknown; artifactStatus?: unknown } | undefined) ?? {};
    const status = filter.artifactStatus ?? 'ACTIVE';
    if (typeof status !== 'string' || !['ACTIVE', 'ARCHIVED', 'ACTIVATING', 'ANY'].includes(status))
      throw invalidParameter(
        `Invalid parameter at 'filter.artifactStatus' failed to satisfy constraint: 'Member must satisfy enum value set: [ACTIVE, ARCHIVED, ACTIVATING, ANY]'`,
      );
    const types = Array.isArray(filter.artifactTypes) ? (filter.artifactTypes as unknown[]) : [];
    checkLength('filter.artifactTypes', types, 0, ECR_API_LIMITS.referrerArtifactTypes);
    const wanted = new Set(types.filter((t): t is string => typeof t === 'string'));
    const max =
      checkRange('maxResults', input.maxResults, 1, ECR_API_LIMITS.referrersPage) ??
      ECR_API_LIMITS.referrersDefault;
    const after = decodeToken(input.nextToken, isString);
    const digests = [...(repo.referrers.get(subject) ?? [])].sort();
    const start = after === undefined ? 0 : bound(digests, after, false);
    const matching = function* (images: Map<string, ImageRecord>) {
      for (const digest of digests.slice(start)) {
        const image = images.get(digest);
        if (!image) continue;
        if (status !== 'ANY' && image.status !== status) continue;
        if (wanted.size > 0 && !wanted.has(image.artifactMediaType ?? '')) continue;
        yield image;
      }
    };
    const result = page(matching(repo.images), max, (i) => i.digest);
    return {
      referrers: result.items.map((image) => {
        const annotations = annotationsOf(image.manifest);
        return {
          digest: image.digest,
          mediaType: image.mediaType,
          ...(image.artifactMediaType ? { artifactType: image.artifactMediaType } : {}),
          size: Buffer.byteLength(image.manifest, 'utf8'),
          ...(annotations ? { annotations } : {}),
          artifactStatus: image.status,
        };
      }),
      nextToken: result.nextToken,
    };
  }

  /**
   * InitiateLayerUpload / UploadLayerPart / CompleteLayerUpload / BatchCheckLayerAvailability: the API path by
   * which a client pushes blobs (shapes and errors from the @aws-sdk/client-ecr models). What is enforced: parts
   * are consecutive (InvalidLayerPartException), every part but the last is at least 5 MiB ("Layer parts must be
   * at least 5 MiB in size", LayerPartTooSmallException), the bytes hash to the one digest given
   * (InvalidLayerException), a blob the repository has is LayerAlreadyExistsException, an upload without parts is
   * EmptyUploadException. The message texts are not published; these are written from the models' descriptions.
   */
  private initiateLayerUpload(input: Record<string, unknown>) {
    const repo = this.repository(required(input, 'repositoryName'));
    const uploadId = randomUUID();
    repo.uploads.set(uploadId, []);
    return { uploadId, partSize: LAYER_PART_MIN_BYTES };
  }

  private uploadLayerPart(input: Record<string, unknown>) {
    const repo = this.repository(required(input, 'repositoryName'));
    const uploadId = required(input, 'uploadId');
    const parts = repo.uploads.get(uploadId);
    if (!parts) throw this.uploadNotFound(repo, uploadId);
    const bytes = Buffer.from(required(input, 'layerPartBlob'), 'base64');
    const received = parts.reduce((sum, p) => sum + p.length, 0);
    const first = input.partFirstByte;
    const last = input.partLastByte;
    if (first !== received || last !== received + bytes.length - 1)
      throw new ServiceError(
        'InvalidLayerPartException',
        `The layer part for upload ${uploadId} is not valid: expected the first byte ${received} and the last byte ${received + bytes.length - 1}, got ${String(first)}–${String(last)}`,
        400,
        {
          fields: {
            registryId: this.accountId,
            repositoryName: repo.name,
            uploadId,
            lastValidByteReceived: received - 1,
          },
        },
      );
    parts.push(bytes);
    return {
      registryId: this.accountId,
      repositoryName: repo.name,
      uploadId,
      lastByteReceived: received + bytes.length - 1,
    };
  }

  private completeLayerUpload(input: Record<string, unknown>) {
    const repo = this.repository(required(input, 'repositoryName'));
    const uploadId = required(input, 'uploadId');
    const digests = (input.layerDigests as unknown[] | undefined) ?? [];
    checkLength('layerDigests', digests, 1, ECR_API_LIMITS.batchIds);
    const parts = repo.uploads.get(uploadId);
    if (!parts) throw this.uploadNotFound(repo, uploadId);
    if (parts.length === 0)
      throw new ServiceError(
        'EmptyUploadException',
        `The upload ${uploadId} does not contain any layer parts`,
      );
    if (parts.slice(0, -1).some((p) => p.length < LAYER_PART_MIN_BYTES))
      throw new ServiceError('LayerPartTooSmallException', 'Layer parts must be at least 5 MiB in size.');
    const bytes = Buffer.concat(parts);
    const digest = blobDigest(bytes);
    const claimed = String(digests[0]);
    if (digests.length !== 1 || claimed !== digest)
      throw new ServiceError(
        'InvalidLayerException',
        `The layer digest calculation performed by Amazon ECR upon receipt of the image layer does not match the digest specified: '${claimed}' (calculated '${digest}')`,
      );
    repo.uploads.delete(uploadId);
    if (repo.blobs.has(digest))
      throw new ServiceError(
        'LayerAlreadyExistsException',
        `The layer '${digest}' already exists in the repository with name '${repo.name}' in the registry with id '${this.accountId}'`,
      );
    repo.blobs.set(digest, new Uint8Array(bytes));
    return { registryId: this.accountId, repositoryName: repo.name, uploadId, layerDigest: digest };
  }

  private batchCheckLayerAvailability(input: Record<string, unknown>) {
    const repo = this.repository(required(input, 'repositoryName'));
    const digests = (input.layerDigests as unknown[] | undefined) ?? [];
    checkLength('layerDigests', digests, 1, ECR_API_LIMITS.batchIds);
    const layers = [];
    const failures = [];
    for (const d of digests) {
      if (typeof d !== 'string' || d === '') {
        failures.push({
          layerDigest: d,
          failureCode: 'MissingLayerDigest',
          failureReason: 'Missing layer digest',
        });
        continue;
      }
      if (!DIGEST.test(d)) {
        failures.push({
          layerDigest: d,
          failureCode: 'InvalidLayerDigest',
          failureReason: 'Invalid layer digest',
        });
        continue;
      }
      const bytes = repo.blobs.get(d);
      layers.push(
        bytes
          ? { layerDigest: d, layerAvailability: 'AVAILABLE', layerSize: bytes.length }
          : { layerDigest: d, layerAvailability: 'UNAVAILABLE' },
      );
    }
    return { layers, failures };
  }

  private uploadNotFound(repo: RepositoryRecord, uploadId: string): ServiceError {
    return new ServiceError(
      'UploadNotFoundException',
      `The upload with id '${uploadId}' does not exist in the repository with name '${repo.name}' in the registry with id '${this.accountId}'`,
    );
  }

  private getLifecyclePolicy(input: Record<string, unknown>) {
    const repo = this.repository(required(input, 'repositoryName'));
    if (!repo.policy) throw this.noPolicy(repo);
    return {
      registryId: this.accountId,
      repositoryName: repo.name,
      lifecyclePolicyText: repo.policy.text,
      lastEvaluatedAt: repo.policy.lastEvaluatedAt,
    };
  }

  private putLifecyclePolicyOp(input: Record<string, unknown>) {
    const name = required(input, 'repositoryName');
    const text = required(input, 'lifecyclePolicyText');
    this.putLifecyclePolicy(name, text);
    return { registryId: this.accountId, repositoryName: name, lifecyclePolicyText: text };
  }

  private deleteLifecyclePolicy(input: Record<string, unknown>) {
    const repo = this.repository(required(input, 'repositoryName'));
    const policy = repo.policy;
    if (!policy) throw this.noPolicy(repo);
    repo.policy = undefined;
    return {
      registryId: this.accountId,
      repositoryName: repo.name,
      lifecyclePolicyText: policy.text,
      lastEvaluatedAt: policy.lastEvaluatedAt,
    };
  }

  /** Pages over `findings` then `enhancedFindings` (a real scan fills one of the two). */
  private describeImageScanFindings(input: Record<string, unknown>) {
    const repo = this.repository(required(input, 'repositoryName'));
    const id = (input.imageId as ImageIdentifier | undefined) ?? {};
    const image = this.imageOrThrow(repo, id);
    const max = checkRange('maxResults', input.maxResults, 1, ECR_API_LIMITS.scanFindingsPage) ?? 100;
    const scan = image.scan;
    if (!scan)
      throw new ServiceError(
        'ScanNotFoundException',
        `Image scan does not exist for the image with '{imageDigest:'${image.digest}', imageTag:'${id.imageTag ?? 'null'}'}' in the repository with name '${repo.name}' in the registry with id '${this.accountId}'`,
      );
    const token = decodeToken(input.nextToken, isOffset);
    if (token && token[0] !== image.digest)
      throw invalidParameter(
        "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid NextToken'",
      );
    const start = token ? token[1] : 0;
    const all: (
      | { kind: 'basic'; f: ImageScanFinding }
      | { kind: 'enhanced'; f: EnhancedImageScanFinding }
    )[] = [
      ...scan.findings.map((f) => ({ kind: 'basic' as const, f })),
      ...scan.enhancedFindings.map((f) => ({ kind: 'enhanced' as const, f })),
    ];
    const slice = all.slice(start, start + max);
    const nextToken = start + max < all.length ? encodeToken([image.digest, start + max]) : undefined;
    const hasFindings = scan.status === 'COMPLETE' || scan.status === 'ACTIVE';
    return {
      registryId: this.accountId,
      repositoryName: repo.name,
      imageId: { imageDigest: image.digest, ...(id.imageTag ? { imageTag: id.imageTag } : {}) },
      imageScanStatus: { status: scan.status, description: scan.description },
      imageScanFindings: hasFindings
        ? {
            imageScanCompletedAt: scan.completedAt,
            vulnerabilitySourceUpdatedAt: scan.completedAt,
            findingSeverityCounts: severityCounts(scan),
            ...(scan.findings.length > 0 || scan.enhancedFindings.length === 0
              ? { findings: slice.filter((x) => x.kind === 'basic').map((x) => x.f) }
              : {}),
            ...(scan.enhancedFindings.length > 0
              ? { enhancedFindings: slice.filter((x) => x.kind === 'enhanced').map((x) => x.f) }
              : {}),
          }
        : undefined,
      nextToken,
    };
  }

  // ------------------------------------------------------------------ state changes

  /**
   * Stores a pushed manifest under `tags`. `strict` is the wire PutImage: pushing what is already there is
   * ImageAlreadyExistsException ("no changes to the manifest or image tag after the last push").
   */
  private store(
    repo: RepositoryRecord,
    opts: Omit<PutImageOptions, 'tags'>,
    tags: readonly string[],
    strict: boolean,
    arrived: (image: ImageRecord, tag?: string) => void = (image, tag) =>
      image.subjectDigest === undefined
        ? this.emit('ECR Image Action', this.actionDetail(repo, image, 'PUSH', tag))
        : this.emit('ECR Referrer Action', this.referrerPushDetail(repo, image, tag)),
  ): string {
    const digest = manifestDigest(opts.manifest);
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(opts.manifest) as Record<string, unknown>;
      if (!doc || typeof doc !== 'object') throw new Error('not an object');
    } catch {
      throw invalidParameter(
        "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'",
      );
    }
    // Check every tag before changing anything: a rejected push leaves the repository as it was.
    for (const tag of tags) {
      const current = repo.tagIndex.get(tag);
      if (current !== undefined && current !== digest && this.immutable(repo, tag))
        throw new ServiceError(
          'ImageTagAlreadyExistsException',
          `The image tag '${tag}' already exists in the '${repo.name}' repository and cannot be overwritten because the repository is immutable.`,
        );
    }
    let image = repo.images.get(digest);
    if (strict && image && image.status === 'ACTIVE' && tags.every((t) => repo.tagIndex.get(t) === digest))
      throw new ServiceError(
        'ImageAlreadyExistsException',
        tags.length > 0
          ? `Image with digest '${digest}' and tag '${tags[0]}' already exists in the repository with name '${repo.name}' in the registry with id '${this.accountId}'`
          : `Image with digest '${digest}' already exists in the repository with name '${repo.name}' in the registry with id '${this.accountId}'`,
      );
    const created = !image;
    let restored = false;
    if (!image) {
      image = this.newImage(repo, digest, doc, opts);
      repo.images.set(digest, image);
      repo.sortedDirty = true;
      for (const child of image.children) {
        let parents = repo.parents.get(child);
        if (!parents) {
          parents = new Set();
          repo.parents.set(child, parents);
        }
        parents.add(digest);
      }
      if (image.subjectDigest !== undefined) {
        let referrers = repo.referrers.get(image.subjectDigest);
        if (!referrers) {
          referrers = new Set();
          repo.referrers.set(image.subjectDigest, referrers);
        }
        referrers.add(digest);
      }
    } else if (image.status !== 'ACTIVE') {
      // "The image can be restored as an active image by … re-pushing the image to the repository."
      image.status = 'ACTIVE';
      image.activatesAt = undefined;
      image.lastActivatedAt = this.now();
      restored = true;
    }
    if (opts.blobs) {
      for (const [blobDigest, bytes] of opts.blobs) repo.blobs.set(blobDigest, Uint8Array.from(bytes));
      image.uploaded = true;
    }
    const pushed: string[] = [];
    for (const tag of new Set(tags)) {
      const previous = repo.tagIndex.get(tag);
      // A tag already on this image is not a change: real ECR answers such a push with ImageAlreadyExists.
      if (previous === digest && !restored) continue;
      if (previous !== undefined && previous !== digest) {
        const old = repo.images.get(previous);
        if (old) old.tags = old.tags.filter((t) => t !== tag);
      }
      if (previous !== digest) {
        repo.tagIndex.set(tag, digest);
        image.tags.push(tag);
      }
      pushed.push(tag);
    }
    for (const tag of pushed) arrived(image, tag);
    if (pushed.length === 0 && (created || restored)) arrived(image);
    return digest;
  }

  private newImage(
    repo: RepositoryRecord,
    digest: string,
    doc: Record<string, unknown>,
    opts: Omit<PutImageOptions, 'tags'>,
  ): ImageRecord {
    const manifests = Array.isArray(doc.manifests) ? (doc.manifests as { digest?: unknown }[]) : undefined;
    const mediaType =
      opts.mediaType ??
      (typeof doc.mediaType === 'string' ? doc.mediaType : manifests ? OCI_INDEX : OCI_MANIFEST);
    const children =
      INDEX_TYPES.has(mediaType) || manifests
        ? (manifests ?? []).map((m) => m.digest).filter((d): d is string => typeof d === 'string')
        : [];
    const missing = children.filter((c) => !repo.images.has(c));
    if (missing.length > 0)
      throw new ServiceError(
        'ReferencedImagesNotFoundException',
        `The manifest list references images that do not exist in the repository '${repo.name}': [${missing.join(', ')}]`,
      );
    const config = doc.config as { mediaType?: unknown; size?: unknown } | undefined;
    const subject = doc.subject as { digest?: unknown } | undefined;
    const layers = Array.isArray(doc.layers) ? (doc.layers as { size?: unknown }[]) : [];
    const layerBytes =
      layers.reduce((sum, l) => sum + (typeof l.size === 'number' ? l.size : 0), 0) +
      (typeof config?.size === 'number' ? config.size : 0);
    // "For a manifest list, the max size of all manifests in the list."
    const sizeBytes =
      opts.sizeBytes ??
      (children.length > 0
        ? Math.max(...children.map((c) => repo.images.get(c)?.sizeBytes ?? 0))
        : layerBytes || Buffer.byteLength(opts.manifest));
    const artifactMediaType =
      opts.artifactMediaType ??
      (typeof doc.artifactType === 'string'
        ? doc.artifactType
        : typeof config?.mediaType === 'string'
          ? config.mediaType
          : undefined);
    return {
      digest,
      manifest: opts.manifest,
      mediaType,
      artifactMediaType,
      subjectDigest: opts.subjectDigest ?? (typeof subject?.digest === 'string' ? subject.digest : undefined),
      sizeBytes,
      pushedAt: opts.pushedAt ?? this.now(),
      lastPulledAt: opts.lastPulledAt,
      tags: [],
      status: 'ACTIVE',
      children,
      uploaded: false,
    };
  }

  private untag(repo: RepositoryRecord, image: ImageRecord, tag: string): void {
    image.tags = image.tags.filter((t) => t !== tag);
    if (repo.tagIndex.get(tag) === image.digest) repo.tagIndex.delete(tag);
  }

  private remove(repo: RepositoryRecord, image: ImageRecord): void {
    repo.images.delete(image.digest);
    if (image.subjectDigest !== undefined) {
      const referrers = repo.referrers.get(image.subjectDigest);
      referrers?.delete(image.digest);
      if (referrers?.size === 0) repo.referrers.delete(image.subjectDigest);
    }
    for (const tag of image.tags) if (repo.tagIndex.get(tag) === image.digest) repo.tagIndex.delete(tag);
    for (const child of image.children) {
      const parents = repo.parents.get(child);
      parents?.delete(image.digest);
      if (parents?.size === 0) repo.parents.delete(child);
    }
    // Keep the sorted array valid without a re-sort: splice the digest out (deletes come in batches of 100).
    if (!repo.sortedDirty) {
      const i = bound(repo.sorted, image.digest, true);
      if (repo.sorted[i] === image.digest) repo.sorted.splice(i, 1);
    }
  }

  /**
   * UpdateImageStorageClass. What AWS documents and is enforced here:
   * - "If an image is referenced by a manifest list, it cannot be expired or archived without the manifest
   *   list being deleted or archived first" (lifecycle evaluation rules, [HOW]): archiving a child of an index
   *   that is not archived is refused with ImageStorageClassUpdateNotSupportedException, the API's only
   *   storage-class error ("The requested image storage class update is not supported"). The message text is
   *   not published; this one names the indexes, as BatchDeleteImage's ImageReferencedByManifestList does.
   * - A restore passes through ACTIVATING ("typically up to 20 minutes"; DescribeImages lists it with
   *   imageStatus ACTIVATING; it cannot be pulled until the restore completes) and then is ACTIVE with
   *   `lastActivatedAt`, the time the restore completed.
   * - The `ECR Image Action` UPDATE_STORAGE_CLASS event is sent when the change is done: at once for an archive,
   *   at completion for a restore (the restore sample carries `last-activated-at`).
   * AWS documents no other refusal: no minimum age, media type or size. Archiving an archived or restoring
   * image, or restoring an active one, is undocumented: it changes nothing here and answers the current status.
   */
  private updateStorageClass(
    repo: RepositoryRecord,
    image: ImageRecord,
    target: 'ARCHIVE' | 'STANDARD',
  ): EcrImageStatus {
    if (target === 'ARCHIVE' && image.status === 'ACTIVE') {
      const activeParents = this.referencedBy(repo, image.digest).filter(
        (d) => repo.images.get(d)?.status !== 'ARCHIVED',
      );
      if (activeParents.length > 0)
        throw new ServiceError(
          'ImageStorageClassUpdateNotSupportedException',
          `The image with digest '${image.digest}' cannot be archived because it is referenced by manifest list: [${activeParents.join(', ')}] in the repository with name '${repo.name}' in the registry with id '${this.accountId}'`,
        );
      image.status = 'ARCHIVED';
      image.lastArchivedAt = this.now();
      this.emit(storageClassDetailType(image), this.storageClassDetail(repo, image, 'ARCHIVE'));
    } else if (target === 'STANDARD' && image.status === 'ARCHIVED') {
      image.status = 'ACTIVATING';
      image.activatesAt = new Date(this.now().getTime() + this.restoreDelayMs);
      if (this.restoreDelayMs > 0) {
        this.activating.add({ repo, image });
        // With the system clock the timer finishes the restore on time (and sends its event) even when nobody
        // calls; with an injected clock the next call, or settleRestores(), does once the clock has moved.
        setTimeout(() => this.settleRestores(), this.restoreDelayMs).unref();
      } else this.activate(repo, image, image.activatesAt);
    }
    return image.status;
  }

  /**
   * Finishes every restore whose time has come on the emulator's clock: the image becomes ACTIVE with
   * `lastActivatedAt` = the completion time, and the UPDATE_STORAGE_CLASS STANDARD event is sent. Every wire
   * call does this first; a scenario that moves its clock may call it to have the events sent at once.
   */
  settleRestores(): void {
    if (this.activating.size === 0) return;
    const now = this.now().getTime();
    for (const entry of this.activating) {
      const { repo, image } = entry;
      // Deleted or re-pushed meanwhile (a push restores at once): nothing left to finish.
      if (image.status !== 'ACTIVATING' || repo.images.get(image.digest) !== image) {
        this.activating.delete(entry);
        continue;
      }
      if (image.activatesAt && image.activatesAt.getTime() <= now) {
        this.activating.delete(entry);
        this.activate(repo, image, image.activatesAt);
      }
    }
  }

  private activate(repo: RepositoryRecord, image: ImageRecord, at: Date): void {
    if (image.status !== 'ACTIVATING' || repo.images.get(image.digest) !== image) return;
    image.status = 'ACTIVE';
    image.activatesAt = undefined;
    image.lastActivatedAt = at;
    this.emit(storageClassDetailType(image), this.storageClassDetail(repo, image, 'STANDARD'));
  }

  // ------------------------------------------------------------------ reading

  private repository(name: string): RepositoryRecord {
    const repo = this.repositories.get(name);
    if (!repo) throw this.repositoryNotFound(name, this.accountId);
    return repo;
  }

  private repositoryByArn(arn: string): RepositoryRecord {
    const m = /^arn:aws[\w-]*:ecr:[\w-]+:(\d{12}):repository\/(.+)$/.exec(arn);
    if (!m)
      throw invalidParameter(
        `Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN'`,
      );
    const repo = this.repositories.get(m[2] ?? '');
    if (!repo || m[1] !== this.accountId) throw this.repositoryNotFound(m[2] ?? '', m[1] ?? this.accountId);
    return repo;
  }

  private repositoryNotFound(name: string, registryId: string): ServiceError {
    return new ServiceError(
      'RepositoryNotFoundException',
      `The repository with name '${name}' does not exist in the registry with id '${registryId}'`,
    );
  }

  private noPolicy(repo: RepositoryRecord): ServiceError {
    return new ServiceError(
      'LifecyclePolicyNotFoundException',
      `Lifecycle policy does not exist for the repository with name '${repo.name}' in the registry with id '${this.accountId}'`,
    );
  }

  private imageNotFound(repo: RepositoryRecord, id: ImageIdentifier): ServiceError {
    return new ServiceError(
      'ImageNotFoundException',
      `The image with imageId {imageDigest:'${id.imageDigest ?? 'null'}', imageTag:'${id.imageTag ?? 'null'}'} does not exist within the repository with name '${repo.name}' in the registry with id '${this.accountId}'`,
    );
  }

  /** The image an identifier names; with digest and tag both given they must agree. */
  private resolve(repo: RepositoryRecord, id: ImageIdentifier): ImageRecord | undefined {
    if (id.imageTag !== undefined) {
      const digest = repo.tagIndex.get(id.imageTag);
      if (!digest || (id.imageDigest !== undefined && id.imageDigest !== digest)) return undefined;
      return repo.images.get(digest);
    }
    return id.imageDigest === undefined ? undefined : repo.images.get(id.imageDigest);
  }

  private imageOrThrow(repo: RepositoryRecord, id: ImageIdentifier): ImageRecord {
    const image = this.resolve(repo, id);
    if (!image) throw this.imageNotFound(repo, id);
    return image;
  }

  private referencedBy(repo: RepositoryRecord, digest: string): string[] {
    return [...(repo.parents.get(digest) ?? [])];
  }

  private referencedReason(repo: RepositoryRecord, digest: string): string {
    return `Requested image referenced by manifest list: [${this.referencedBy(repo, digest).join(', ')}]`;
  }

  private immutable(repo: RepositoryRecord, tag: string): boolean {
    const excluded = () => repo.exclusionFilters.some((f) => wildcard(f).test(tag));
    switch (repo.tagMutability) {
      case 'IMMUTABLE':
        return true;
      case 'IMMUTABLE_WITH_EXCLUSION':
        return !excluded();
      case 'MUTABLE_WITH_EXCLUSION':
        return excluded();
      default:
        return false;
    }
  }

  /** The DescribeImages/ListImages filter: tagStatus (default ANY) and imageStatus (default ACTIVE only). */
  private filterOf(filter: { tagStatus?: string; imageStatus?: string }): (image: ImageRecord) => boolean {
    const tagStatus = filter.tagStatus ?? 'ANY';
    const imageStatus = filter.imageStatus ?? 'ACTIVE';
    if (!['TAGGED', 'UNTAGGED', 'ANY'].includes(tagStatus))
      throw invalidParameter(
        `Invalid parameter at 'filter.tagStatus' failed to satisfy constraint: 'Member must satisfy enum value set: [TAGGED, UNTAGGED, ANY]'`,
      );
    if (!['ACTIVE', 'ARCHIVED', 'ACTIVATING', 'ANY'].includes(imageStatus))
      throw invalidParameter(
        `Invalid parameter at 'filter.imageStatus' failed to satisfy constraint: 'Member must satisfy enum value set: [ACTIVE, ARCHIVED, ACTIVATING, ANY]'`,
      );
    return (image) =>
      (imageStatus === 'ANY' || image.status === imageStatus) &&
      (tagStatus === 'ANY' || (tagStatus === 'TAGGED') === image.tags.length > 0);
  }

  private sortedDigests(repo: RepositoryRecord): string[] {
    if (repo.sortedDirty) {
      repo.sorted = [...repo.images.keys()].sort();
      repo.sortedDirty = false;
    }
    return repo.sorted;
  }

  private *imagesAfter(
    repo: RepositoryRecord,
    after: string | undefined,
    matches: (image: ImageRecord) => boolean,
  ): Generator<ImageRecord> {
    const sorted = this.sortedDigests(repo);
    for (let i = after === undefined ? 0 : bound(sorted, after, false); i < sorted.length; i++) {
      const image = repo.images.get(sorted[i] as string);
      if (image && matches(image)) yield image;
    }
  }

  /** ListImages entries (digest, tag|null) after a (digest, tag) key; tags of an image in sorted order. */
  private *entriesAfter(
    repo: RepositoryRecord,
    after: [string, string | null] | undefined,
    matches: (image: ImageRecord) => boolean,
  ): Generator<[string, string | null]> {
    const sorted = this.sortedDigests(repo);
    for (let i = after === undefined ? 0 : bound(sorted, after[0], true); i < sorted.length; i++) {
      const image = repo.images.get(sorted[i] as string);
      if (!image || !matches(image)) continue;
      const entries: (string | null)[] = image.tags.length > 0 ? [...image.tags].sort() : [null];
      for (const tag of entries) {
        if (after && image.digest === after[0] && (after[1] === null || tag === null || tag <= after[1]))
          continue;
        yield [image.digest, tag];
      }
    }
  }

  private detail(repo: RepositoryRecord, image: ImageRecord) {
    return {
      registryId: this.accountId,
      repositoryName: repo.name,
      imageDigest: image.digest,
      // ECR omits imageTags for untagged images.
      imageTags: image.tags.length > 0 ? [...image.tags] : undefined,
      imageSizeInBytes: image.sizeBytes,
      imagePushedAt: image.pushedAt,
      imageManifestMediaType: image.mediaType,
      artifactMediaType: image.artifactMediaType,
      lastRecordedPullTime: image.lastPulledAt,
      subjectManifestDigest: image.subjectDigest,
      imageStatus: image.status,
      lastArchivedAt: image.lastArchivedAt,
      lastActivatedAt: image.lastActivatedAt,
    };
  }

  private repositoryShape(repo: RepositoryRecord) {
    return {
      repositoryArn: repo.arn,
      registryId: this.accountId,
      repositoryName: repo.name,
      repositoryUri: `${this.accountId}.dkr.ecr.${this.region}.amazonaws.com/${repo.name}`,
      createdAt: repo.createdAt,
      imageTagMutability: repo.tagMutability,
      ...(repo.exclusionFilters.length > 0
        ? {
            imageTagMutabilityExclusionFilters: repo.exclusionFilters.map((filter) => ({
              filterType: 'WILDCARD',
              filter,
            })),
          }
        : {}),
      imageScanningConfiguration: { scanOnPush: false },
      encryptionConfiguration: { encryptionType: 'AES256' },
    };
  }

  // ------------------------------------------------------------------ events

  private actionDetail(repo: RepositoryRecord, image: ImageRecord, action: 'PUSH' | 'DELETE', tag?: string) {
    return {
      result: 'SUCCESS',
      'repository-name': repo.name,
      'image-digest': image.digest,
      'action-type': action,
      ...(tag !== undefined ? { 'image-tag': tag } : {}),
    };
  }

  private storageClassDetail(repo: RepositoryRecord, image: ImageRecord, target: 'ARCHIVE' | 'STANDARD') {
    return {
      'action-type': 'UPDATE_STORAGE_CLASS',
      'target-storage-class': target,
      'image-digest': image.digest,
      'repository-name': repo.name,
      result: 'SUCCESS',
      'manifest-media-type': image.mediaType,
      ...(image.artifactMediaType ? { 'artifact-media-type': image.artifactMediaType } : {}),
      ...(target === 'STANDARD' && image.lastActivatedAt
        ? { 'last-activated-at': image.lastActivatedAt.toISOString() }
        : {}),
    };
  }

  /**
   * `ECR Referrer Action` for a pushed referrer (an image whose manifest names a `subject`). AWS publishes one
   * sample of this detail-type, a restore (ecr-eventbridge page, "Event for a referrer restore action"), whose
   * fields are those of `ECR Image Action`; the EventBridge schema registry (aws.ecr@ECRReferrerAction, as the
   * CDK mixins' `ecrReferrerActionPattern` lists it) has the same field set and nothing naming the subject. So a
   * push carries the Image Action PUSH fields plus the media types, and the subject is found with DescribeImages'
   * `subjectManifestDigest` (docs/events.md §3.8 says what is known and what is assumed).
   */
  private referrerPushDetail(repo: RepositoryRecord, image: ImageRecord, tag?: string) {
    return {
      result: 'SUCCESS',
      'repository-name': repo.name,
      'image-digest': image.digest,
      'action-type': 'PUSH',
      ...(tag !== undefined ? { 'image-tag': tag } : {}),
      'manifest-media-type': image.mediaType,
      ...(image.artifactMediaType ? { 'artifact-media-type': image.artifactMediaType } : {}),
    };
  }

  /** Delivers an event to every listener; a failing listener must not fail the API call (delivery is best effort). */
  private emit(
    detailType: EcrEvent['detail-type'],
    detail: Record<string, unknown>,
    resources: string[] = [],
  ): void {
    if (this.listeners.size === 0) return;
    const event: EcrEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': detailType,
      source: 'aws.ecr',
      account: this.accountId,
      time: isoSeconds(this.now()),
      region: this.region,
      resources,
      detail,
    };
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // best effort, like EventBridge delivery from ECR
      }
    }
  }
}

/**
 * Archive and restore events of a referrer are `ECR Referrer Action` ("Note that the detail-type is ECR Referrer
 * Action to distinguish it from regular image actions", ecr-eventbridge page, referrer restore sample).
 */
function storageClassDetailType(image: ImageRecord): EcrEvent['detail-type'] {
  return image.subjectDigest === undefined ? 'ECR Image Action' : 'ECR Referrer Action';
}

function severityCounts(scan: ScanRecord): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const f of [...scan.findings, ...scan.enhancedFindings]) {
    const severity = f.severity && SEVERITIES.includes(f.severity) ? f.severity : 'UNDEFINED';
    counts[severity] = (counts[severity] ?? 0) + 1;
  }
  return counts;
}

/**
 * The blob digests (config, layers, and the `blobs` of an ORAS artifact manifest, which early Notation
 * signatures use) a manifest names; none for an index or a manifest that is not JSON.
 */
function blobsOf(manifest: string): string[] {
  try {
    const doc = JSON.parse(manifest) as {
      config?: { digest?: unknown };
      layers?: { digest?: unknown }[];
      blobs?: { digest?: unknown }[];
    };
    const list = (l: unknown) =>
      Array.isArray(l) ? (l as { digest?: unknown }[]).map((x) => x?.digest) : [];
    return [doc.config?.digest, ...list(doc.layers), ...list(doc.blobs)].filter(
      (d): d is string => typeof d === 'string',
    );
  } catch {
    return [];
  }
}

/** A manifest's top-level `annotations` (string values only), or undefined. */
function annotationsOf(manifest: string): Record<string, string> | undefined {
  try {
    const doc = JSON.parse(manifest) as { annotations?: unknown };
    if (!doc.annotations || typeof doc.annotations !== 'object') return undefined;
    const entries = Object.entries(doc.annotations as Record<string, unknown>).filter(
      (e): e is [string, string] => typeof e[1] === 'string',
    );
    return entries.length > 0 ? Object.fromEntries(entries) : undefined;
  } catch {
    return undefined;
  }
}

function view(image: ImageRecord): EcrImageView {
  return {
    digest: image.digest,
    tags: [...image.tags],
    mediaType: image.mediaType,
    artifactMediaType: image.artifactMediaType,
    subjectDigest: image.subjectDigest,
    sizeBytes: image.sizeBytes,
    pushedAt: image.pushedAt,
    lastPulledAt: image.lastPulledAt,
    status: image.status,
    lastArchivedAt: image.lastArchivedAt,
    lastActivatedAt: image.lastActivatedAt,
    children: [...image.children],
  };
}
