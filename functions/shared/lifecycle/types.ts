/**
 * Types of the lifecycle engine. Pure data: no AWS SDK types leak in here, so the engine
 * runs the same in the cleanup function, the CLI, the tests and the benchmark.
 */

/** ECR's two storage classes as lifecycle rules name them. */
export type StorageClass = 'standard' | 'archive';

/** ECR `imageStatus` (2025-11). `ACTIVATING` is an archived image being restored. */
export type ImageStatus = 'ACTIVE' | 'ARCHIVED' | 'ACTIVATING';

/** One image (one manifest digest) of a repository, normalised from `DescribeImages`. Times are epoch ms. */
export interface Image {
  readonly digest: string;
  readonly tags: readonly string[];
  readonly pushedAt: number;
  readonly sizeBytes: number;
  readonly status: ImageStatus;
  readonly lastPulledAt?: number | undefined;
  readonly lastArchivedAt?: number | undefined;
  readonly lastActivatedAt?: number | undefined;
  readonly manifestMediaType?: string | undefined;
  readonly artifactMediaType?: string | undefined;
  /** OCI 1.1 `subject` of a referrer (signature, attestation, SBOM), from `subjectManifestDigest`. */
  readonly subjectDigest?: string | undefined;
}

/** The manifests of a repository's image indexes: index digest → child manifest digests. */
export type IndexChildren = ReadonlyMap<string, readonly string[]>;

// ---------------------------------------------------------------- ECR lifecycle policy

export type TagStatus = 'tagged' | 'untagged' | 'any';
export type CountType =
  | 'imageCountMoreThan'
  | 'sinceImagePushed'
  | 'sinceImagePulled'
  | 'sinceImageTransitioned';
export type ActionType = 'expire' | 'transition';

export interface LifecycleSelection {
  readonly tagStatus: TagStatus;
  readonly tagPatternList?: readonly string[] | undefined;
  readonly tagPrefixList?: readonly string[] | undefined;
  readonly storageClass?: StorageClass | undefined;
  readonly countType: CountType;
  readonly countUnit?: 'days' | undefined;
  readonly countNumber: number;
}

export interface LifecycleRule {
  readonly rulePriority: number;
  readonly description?: string | undefined;
  readonly selection: LifecycleSelection;
  readonly action: { readonly type: ActionType; readonly targetStorageClass?: 'archive' | undefined };
}

/** An ECR lifecycle policy document, exactly as ECR accepts it. */
export interface LifecyclePolicy {
  readonly rules: readonly LifecycleRule[];
}

// ---------------------------------------------------------------- Steward protections

/** A hold on one image: it is kept, whatever any rule says, until `expiresAt` (if given). */
export interface Hold {
  readonly digest?: string | undefined;
  readonly tag?: string | undefined;
  readonly reason: string;
  readonly owner: string;
  /** ISO-8601; the hold stops applying at this instant. */
  readonly expiresAt?: string | undefined;
}

/**
 * The Steward policy: protections that sit beside the ECR policy. It never changes which images
 * an ECR rule selects or ranks; it only saves images the ECR rules would act on, and says why.
 */
export interface StewardPolicy {
  /** Tags that keep an image. A string starting with `^` is a regular expression; anything else is a whole-tag glob with `*`. */
  readonly protectedTags?: readonly string[] | undefined;
  /** Keep the images carrying the newest `count` semver releases, by semver precedence. */
  readonly keepSemver?:
    | {
        readonly count: number;
        /** Keep `count` per major version instead of overall. @default false */
        readonly perMajor?: boolean | undefined;
        /** Count pre-releases (`1.2.0-rc.1`) as releases. @default false */
        readonly includePrerelease?: boolean | undefined;
      }
    | undefined;
  /** Keep at least `count` images of a rule's selection even when the rule would act on them. No `rulePriority` means every rule. */
  readonly keepAtLeast?:
    | readonly { readonly rulePriority?: number | undefined; readonly count: number }[]
    | undefined;
  /** Never act on an image younger than this many days (by push time, or restore time). */
  readonly minAgeDays?: number | undefined;
  /** Never act on an image pulled within this many days (`lastRecordedPullTime`). */
  readonly pulledWithinDays?: number | undefined;
  readonly holds?: readonly Hold[] | undefined;
  /**
   * Treat an image index with its children, and a subject with its referrers, as one unit: children and
   * referrers are not ranked by the rules (they take no "keep N" slots) and follow their parent.
   * @default true
   */
  readonly indexAsUnit?: boolean | undefined;
}

/** Images in use somewhere (ECS, Lambda, …): digests, and tag references to be resolved to digests. */
export interface InUse {
  /** digest → where it is used (e.g. `ecs:service/prod/web`). */
  readonly digests?: ReadonlyMap<string, readonly string[]> | undefined;
  /** tag → where it is used; resolved against the repository's current tags. */
  readonly tags?: ReadonlyMap<string, readonly string[]> | undefined;
}

// ---------------------------------------------------------------- the plan

export type PlanAction = 'expire' | 'transition' | 'keep';

/** Why a protection saved an image. Stable codes: they are part of the JSON interface. */
export type ProtectionCode =
  | 'in-use'
  | 'hold'
  | 'protected-tag'
  | 'semver'
  | 'keep-at-least'
  | 'min-age'
  | 'pulled-recently'
  | 'index-child'
  | 'referrer'
  | 'graph-unknown';

export interface Decision {
  readonly imageDigest: string;
  readonly imageTags: readonly string[];
  readonly action: PlanAction;
  /** The rule that acted (or would have acted, when a protection saved the image). */
  readonly rulePriority: number | null;
  readonly reasons: readonly string[];
  readonly protectedBy: readonly ProtectionCode[];
  readonly sizeBytes: number;
  readonly pushedAt: string;
  /** For index children and referrers: the digest of the index / subject they follow. */
  readonly follows?: string | undefined;
}

export interface PlanSummary {
  readonly images: number;
  readonly expire: number;
  readonly transition: number;
  readonly keep: number;
  /** Images an ECR rule would have acted on but a Steward protection saved, by protection. */
  readonly protected: Readonly<Partial<Record<ProtectionCode, number>>>;
  /** Sum of `imageSizeInBytes` of expired images (compressed, layers may be shared). */
  readonly bytesReclaimed: number;
  readonly bytesTransitioned: number;
}

export interface Plan {
  readonly repository: string;
  readonly now: string;
  readonly decisions: readonly Decision[];
  readonly summary: PlanSummary;
  readonly warnings: readonly string[];
}
