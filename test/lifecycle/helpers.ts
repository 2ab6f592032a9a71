import { createHash } from 'node:crypto';
import {
  DAY_MS,
  type Decision,
  type Image,
  type IndexChildren,
  type InUse,
  type LifecyclePolicy,
  type Plan,
  planRepository,
  type StewardPolicy,
  validatePolicyDocument,
} from '../../functions/shared/lifecycle/index.js';

/** Every test plans at this instant, so ages are exact. */
export const NOW = new Date('2026-06-01T12:00:00.000Z');
export const HOUR_MS = 3_600_000;
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** A stable, realistic digest for a test image name. */
export function digestOf(name: string): string {
  return `sha256:${createHash('sha256').update(name).digest('hex')}`;
}

/** cosign's tag for a signature/attestation/SBOM of `subject`: `sha256-<hex>.sig`. */
export function cosignTag(subject: string, kind: 'sig' | 'att' | 'sbom'): string {
  return `sha256-${digestOf(subject).slice('sha256:'.length)}.${kind}`;
}

export const ago = (days: number): number => NOW.getTime() - days * DAY_MS;

export interface ImageSpec extends Partial<Omit<Image, 'pushedAt'>> {
  /** Days since push (may be fractional). */
  readonly age: number;
  readonly pulledDaysAgo?: number;
  readonly archivedDaysAgo?: number;
  readonly activatedDaysAgo?: number;
}

/** Builds one image named `name` (its digest is `digestOf(name)` unless given). */
export function image(name: string, spec: ImageSpec): Image {
  const { age, pulledDaysAgo, archivedDaysAgo, activatedDaysAgo, ...rest } = spec;
  return {
    digest: digestOf(name),
    tags: [],
    sizeBytes: 1_000,
    status: 'ACTIVE',
    ...rest,
    pushedAt: ago(age),
    ...(pulledDaysAgo === undefined ? {} : { lastPulledAt: ago(pulledDaysAgo) }),
    ...(archivedDaysAgo === undefined ? {} : { lastArchivedAt: ago(archivedDaysAgo) }),
    ...(activatedDaysAgo === undefined ? {} : { lastActivatedAt: ago(activatedDaysAgo) }),
  };
}

/** Builds the images of a table row: `{ A: { tags, age }, … }`. */
export function images(specs: Readonly<Record<string, ImageSpec>>): Image[] {
  return Object.entries(specs).map(([name, spec]) => image(name, spec));
}

/** A policy that must validate; returns the validated document. */
export function validPolicy(doc: unknown): LifecyclePolicy {
  const result = validatePolicyDocument(doc, { checkLength: false });
  if (!result.valid) throw new Error(`test policy is invalid: ${JSON.stringify(result.errors)}`);
  return result.policy;
}

export interface PlanArgs {
  readonly policy: unknown;
  readonly images: readonly Image[];
  readonly steward?: StewardPolicy;
  readonly inUse?: InUse;
  /** index name → child names */
  readonly children?: Readonly<Record<string, readonly string[]>>;
  /** index digest → child digests, for images whose digest is given explicitly */
  readonly childrenByDigest?: IndexChildren;
}

export function plan(args: PlanArgs): Plan {
  const indexChildren = new Map<string, readonly string[]>([
    ...Object.entries(args.children ?? {}).map(
      ([index, kids]) => [digestOf(index), kids.map(digestOf)] as const,
    ),
    ...(args.childrenByDigest ?? new Map<string, readonly string[]>()),
  ]);
  return planRepository({
    repository: 'team/app',
    policy: validPolicy(args.policy),
    images: args.images,
    now: NOW,
    indexChildren,
    steward: args.steward,
    inUse: args.inUse,
  });
}

/** The decision for the image named `name`. */
export function decisionOf(result: Plan, name: string): Decision {
  const d = result.decisions.find((x) => x.imageDigest === digestOf(name));
  if (!d) throw new Error(`no decision for ${name}`);
  return d;
}

/**
 * The plan as `name → "action:rulePriority"` (`-` for no rule), e.g. `{ A: 'expire:1', B: 'keep:-' }`,
 * for the images built by `images()`.
 */
export function outcomes(result: Plan, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const d = decisionOf(result, name);
    out[name] = `${d.action}:${d.rulePriority ?? '-'}`;
  }
  return out;
}

/** A lifecycle rule, written the way the ECR docs write them. */
export function rule(
  rulePriority: number,
  selection: Record<string, unknown>,
  action: Record<string, unknown> = { type: 'expire' },
): Record<string, unknown> {
  return { rulePriority, selection, action };
}
