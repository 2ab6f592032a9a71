import { basename, extname } from 'node:path';
import * as z from 'zod';
import {
  batchGetImageOutputSchema,
  DuplicateImageError,
  describeImagesOutputSchema,
  fastImages,
  formatPolicyError,
  type Image,
  type IndexChildren,
  type InUse,
  indexChildrenFromBatchGet,
  type LifecyclePolicy,
  mergeListedImages,
  type StewardPolicy,
  stewardPolicySchema,
  toImage,
  validatePolicyText,
} from '../functions/shared/lifecycle/index.js';
import { CliError, oneLine, parseWithSchema, readJsonFile, readTextFile } from './util.js';

/**
 * Loaders for the offline input files every command shares. Each one turns a bad file into a single
 * `CliError` (exit 2) that names the option, the file and the offending field.
 */

/**
 * Reads an ECR lifecycle policy and validates it as ECR would. For commands that need a usable policy,
 * an invalid one is bad input (exit 2); `validate` reports the same errors itself with exit 1.
 */
export async function loadPolicyFile(path: string, label = '--policy'): Promise<LifecyclePolicy> {
  const result = validatePolicyText(await readTextFile(path, label));
  if (result.valid) return result.policy;
  const lines = result.errors.map((e) => `  ${oneLine(formatPolicyError(e))}`);
  const count = result.errors.length === 1 ? '1 error' : `${result.errors.length} errors`;
  throw new CliError(
    `${label} ${path}: not a valid ECR lifecycle policy (${count}; run ecr-steward validate for details):\n${lines.join('\n')}`,
  );
}

/** Images of one repository, read from `aws ecr describe-images` output. */
export interface LoadedImages {
  readonly images: Image[];
  /** The repository named by the images' `repositoryName`, else the file's base name. */
  readonly repository: string;
  /** Digests the file lists more than once with the same facts, merged into one image each (for a warning). */
  readonly merged: readonly string[];
}

/**
 * Reads `aws ecr describe-images` output (`{"imageDetails": [...]}`; timestamps as epoch seconds or ISO
 * strings). Refuses a file that mixes repositories: a plan is per repository, and rules rank per repository.
 * A digest listed twice follows `mergeListedImages`, as in the functions: merged if both entries agree on the
 * image's facts, refused (exit 2) if they contradict each other.
 */
export async function loadImagesFile(path: string, label = '--images'): Promise<LoadedImages> {
  const raw = await readJsonFile(path, label);
  // The common shape converts image by image without a schema result per image (100,000 images in a fraction
  // of the time); anything else — ISO dates, a wrong type — goes through the schema, for its exact error.
  const images =
    fastImages(raw) ??
    parseWithSchema(
      describeImagesOutputSchema,
      raw,
      path,
      label,
      'aws ecr describe-images output ({"imageDetails": [...]})',
    ).imageDetails.map(toImage);
  // The engine's schema drops repositoryName (it plans one repository at a time), so read it from the raw JSON.
  const names = new Set<string>();
  for (const detail of (raw as { imageDetails: unknown[] }).imageDetails) {
    const name = (detail as { repositoryName?: unknown }).repositoryName;
    if (typeof name === 'string' && name !== '') names.add(name);
  }
  if (names.size > 1) {
    const list = [...names].sort().slice(0, 5).join(', ');
    throw new CliError(
      `${label} ${path}: holds images of ${names.size} repositories (${list}); describe one repository per file`,
    );
  }
  // The functions' rule for a digest listed twice: the same image merges, contradicting entries are refused.
  let listed: { images: Image[]; merged: string[] };
  try {
    listed = mergeListedImages(images);
  } catch (e) {
    if (e instanceof DuplicateImageError) throw new CliError(`${label} ${path}: ${e.message}`);
    throw e;
  }
  return {
    images: listed.images,
    repository: [...names][0] ?? basename(path, extname(path)),
    merged: listed.merged,
  };
}

/** Reads `aws ecr batch-get-image` output for the repository's image indexes: index digest → child digests. */
export async function loadManifestsFile(path: string, label = '--manifests'): Promise<IndexChildren> {
  const parsed = parseWithSchema(
    batchGetImageOutputSchema,
    await readJsonFile(path, label),
    path,
    label,
    'aws ecr batch-get-image output ({"images": [{"imageId": …, "imageManifest": "…"}]})',
  );
  try {
    return indexChildrenFromBatchGet(parsed);
  } catch (e) {
    throw new CliError(`${label} ${path}: ${(e as Error).message}`);
  }
}

/** Reads and checks a Steward policy (protections beside the ECR policy). Unknown fields are errors, never ignored. */
export async function loadStewardFile(path: string, label = '--steward'): Promise<StewardPolicy> {
  return parseWithSchema(
    stewardPolicySchema,
    await readJsonFile(path, label),
    path,
    label,
    'a valid Steward policy',
  );
}

const usesSchema = z.record(z.string().min(1), z.array(z.string().min(1)));
const inUseSchema = z.strictObject({ digests: usesSchema.optional(), tags: usesSchema.optional() });

/** Reads `{"digests": {"sha256:…": ["ecs:…"]}, "tags": {"v1": ["lambda:…"]}}`: images in use and where. */
export async function loadInUseFile(path: string, label = '--in-use'): Promise<InUse> {
  const parsed = parseWithSchema(
    inUseSchema,
    await readJsonFile(path, label),
    path,
    label,
    'an in-use list ({"digests": {"sha256:…": ["ecs:…"]}, "tags": {"v1": ["lambda:…"]}})',
  );
  return {
    digests: new Map(Object.entries(parsed.digests ?? {})),
    tags: new Map(Object.entries(parsed.tags ?? {})),
  };
}
