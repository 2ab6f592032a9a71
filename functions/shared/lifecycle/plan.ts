import semver from 'semver';
import { buildIndexedGraph } from './graph.js';
import { createIsoFormatter } from './iso.js';
import { compileSelection, compileTagSelectorTest } from './match.js';
import { findDigest, sortByDigest } from './order.js';
import type {
  Decision,
  Image,
  IndexChildren,
  InUse,
  LifecyclePolicy,
  LifecycleRule,
  Plan,
  PlanAction,
  PlanSummary,
  ProtectionCode,
  StewardPolicy,
  StorageClass,
} from './types.js';

export const DAY_MS = 86_400_000;

export interface PlanInput {
  readonly repository: string;
  readonly policy: LifecyclePolicy;
  readonly images: readonly Image[];
  readonly now: Date;
  /** index digest → child digests, from `BatchGetImage` of the repository's indexes */
  readonly indexChildren?: IndexChildren | undefined;
  /**
   * Without a Steward policy the plan is ECR's own answer (ECR's graph rules, no Steward protections), except
   * that images in `inUse` are always kept: a running image is never planned for removal.
   */
  readonly steward?: StewardPolicy | undefined;
  readonly inUse?: InUse | undefined;
}

/**
 * What the ECR rules decided for one image. Only the first rule (per storage class) whose tag selection
 * matches an image can act on it: every lower rule sees it as shielded.
 */
interface RuleOutcome {
  readonly rule: LifecycleRule;
  readonly acts: boolean;
  readonly why: string;
}

interface Working {
  action: PlanAction;
  rule: LifecycleRule | null;
  reasons: string[];
  protectedBy: ProtectionCode[];
  follows?: string;
}

/**
 * The repository as the plan's loops see it. Images are named by number, not digest: at 100,000 images the
 * digest-keyed maps were much of a plan's time. `images` is sorted by digest and an image's position in it
 * is its index; `idOf[i]` is the index of the first image with the digest of image `i` (usually `i`). All
 * per-image state is kept by id, so images that share a digest share it, exactly as they shared the
 * entries of the digest-keyed maps.
 */
interface Repo {
  readonly images: readonly Image[];
  readonly idOf: Int32Array;
  /** `activeSince` of each image, by index: the sort key of every ranking. */
  readonly active: Float64Array;
  /** The id of the first image with this digest, or -1 when the repository has none. */
  find(digest: string): number;
}

/** The storage class an image is in for lifecycle purposes; restoring images are in neither. */
function storageClassOf(image: Image): StorageClass | undefined {
  if (image.status === 'ACTIVE') return 'standard';
  if (image.status === 'ARCHIVED') return 'archive';
  return undefined;
}

/** Push time, or restore time for an image archived and restored since (ECR's `last_activated_at` rule). */
function activeSince(image: Image): number {
  return image.lastActivatedAt ?? image.pushedAt;
}

/** Reference time of `sinceImagePulled`: last pull, else restore time when later or never pulled, else push time. */
function pullReference(image: Image): number {
  const candidates = [image.lastPulledAt, image.lastActivatedAt].filter((t): t is number => t !== undefined);
  return candidates.length > 0 ? Math.max(...candidates) : image.pushedAt;
}

const days = (ms: number): number => Math.floor(ms / DAY_MS);

function describeRule(rule: LifecycleRule): string {
  const s = rule.selection;
  const sel =
    s.tagStatus === 'tagged'
      ? `tags ${s.tagPatternList ? `matching ${JSON.stringify(s.tagPatternList)}` : `prefixed ${JSON.stringify(s.tagPrefixList)}`}`
      : s.tagStatus === 'untagged'
        ? 'untagged images'
        : `${s.storageClass === 'archive' ? 'archived' : 'all'} images`;
  return `rule ${rule.rulePriority} (${sel})`;
}

const compareDigests = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Youngest first by activity time; ties broken by digest so plans are deterministic. Compares image indexes
 * of `repo`, giving for every pair the same value as comparing the images themselves would.
 */
function byYoungest(repo: Repo): (a: number, b: number) => number {
  const { images, active } = repo;
  return (a, b) => active[b]! - active[a]! || compareDigests(images[a]!.digest, images[b]!.digest);
}

/**
 * Runs ECR's lifecycle evaluation on `population` (image indexes): rules by ascending priority, at most one
 * action per image, an image matched by a higher rule's selection shielded from lower rules of its storage
 * class, and `imageCountMoreThan` ranking every matching image (shielded and marked ones included).
 * Also returns each count rule's selection already ranked youngest first, so callers need not sort again.
 */
function evaluateRules(
  policy: LifecyclePolicy,
  repo: Repo,
  population: readonly number[],
  now: number,
): {
  /** by id */
  outcomes: (RuleOutcome | undefined)[];
  selections: Map<number, readonly number[]>;
  ranked: Map<number, readonly number[]>;
} {
  const { images, idOf, active } = repo;
  const rules = [...policy.rules].sort((a, b) => a.rulePriority - b.rulePriority);
  const outcomes: (RuleOutcome | undefined)[] = new Array(images.length);
  // One flag per id and class, not one per id: images sharing a digest may be in different classes.
  const shielded: Record<StorageClass, Uint8Array> = {
    standard: new Uint8Array(images.length),
    archive: new Uint8Array(images.length),
  };
  const selections = new Map<number, readonly number[]>();
  const rankedSelections = new Map<number, readonly number[]>();
  const byClass: Record<StorageClass, number[]> = { standard: [], archive: [] };
  for (const i of population) {
    const cls = storageClassOf(images[i]!);
    if (cls) byClass[cls].push(i);
  }
  const youngestFirst = byYoungest(repo);

  for (const rule of rules) {
    const sel = rule.selection;
    const cls: StorageClass = sel.storageClass ?? 'standard';
    const matches = compileSelection(sel);
    // `any` selects the whole storage class; the shared array is never mutated.
    const matched =
      sel.tagStatus === 'any' ? byClass[cls] : byClass[cls].filter((i) => matches(images[i]!.tags));
    selections.set(rule.rulePriority, matched);
    rankedSelections.delete(rule.rulePriority);
    const n = sel.countNumber;
    const isShielded = shielded[cls];
    // Reasons are built only for images this rule decides (not shielded): at 100,000 images, building
    // one per matched image per rule dominated the plan's time. The fixed parts of a reason are built once
    // per rule for the same reason.
    const label = describeRule(rule);
    switch (sel.countType) {
      case 'imageCountMoreThan': {
        const ranked = [...matched].sort(youngestFirst);
        rankedSelections.set(rule.rulePriority, ranked);
        const total = ranked.length;
        const beyond = `${label} keeps the ${n} newest of ${total} matching images; this is number `;
        const within = `${label} keeps the ${n} newest; this is number `;
        const ofTotal = ` of ${total}`;
        for (let k = 0; k < total; k++) {
          const id = idOf[ranked[k]!]!;
          if (isShielded[id]) continue;
          const acts = k >= n;
          outcomes[id] = { rule, acts, why: acts ? `${beyond}${k + 1}` : `${within}${k + 1}${ofTotal}` };
        }
        break;
      }
      case 'sinceImagePushed':
      case 'sinceImagePulled':
      case 'sinceImageTransitioned': {
        const what =
          sel.countType === 'sinceImagePushed'
            ? 'pushed'
            : sel.countType === 'sinceImagePulled'
              ? 'last pulled'
              : 'archived';
        const head = `${label}: ${what} `;
        const beyond = ` days ago, more than ${n} days`;
        const within = ` days ago, within ${n} days`;
        for (const i of matched) {
          const id = idOf[i]!;
          if (isShielded[id]) continue;
          const image = images[i]!;
          const ref =
            sel.countType === 'sinceImagePushed'
              ? active[i]!
              : sel.countType === 'sinceImagePulled'
                ? pullReference(image)
                : (image.lastArchivedAt ?? active[i]!);
          const age = now - ref;
          const acts = age > n * DAY_MS;
          outcomes[id] = { rule, acts, why: `${head}${days(age)}${acts ? beyond : within}` };
        }
        break;
      }
    }
    for (const i of matched) isShielded[idOf[i]!] = 1;
  }
  return { outcomes, selections, ranked: rankedSelections };
}

/**
 * A necessary condition for `semver.parse` (strict mode) to succeed: after trimming whitespace, a version
 * starts with an optional "v" and a digit. `\s` matches exactly what `String.prototype.trim` removes.
 */
const MAY_BE_SEMVER = /^\s*v?\d/;

/** Highest semver release among an image's tags, if any. */
function newestRelease(tags: readonly string[], includePrerelease: boolean): semver.SemVer | undefined {
  let best: semver.SemVer | undefined;
  for (const tag of tags) {
    const text = tag.startsWith('v') ? tag.slice(1) : tag;
    // semver.parse throws and catches internally on every non-version, which at 100,000 images was
    // the single most expensive call of a plan. Skip what cannot parse: see MAY_BE_SEMVER.
    if (!MAY_BE_SEMVER.test(text)) continue;
    const v = semver.parse(text);
    if (!v || (!includePrerelease && v.prerelease.length > 0)) continue;
    if (!best || semver.compare(v, best) > 0) best = v;
  }
  return best;
}

/**
 * Plans a repository: ECR's answer for every image, then the Steward protections (each adds its reason),
 * then the artifact graph (index children follow their indexes, referrers their subjects).
 * Pure and deterministic: the same input always gives the same plan.
 */
export function planRepository(input: PlanInput): Plan {
  const now = input.now.getTime();
  const steward = input.steward;
  const unitMode = steward !== undefined && steward.indexAsUnit !== false;
  const images = sortByDigest(input.images);
  const n = images.length;
  const idOf = new Int32Array(n);
  const active = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    idOf[i] = i > 0 && images[i]!.digest === images[i - 1]!.digest ? idOf[i - 1]! : i;
    active[i] = activeSince(images[i]!);
  }
  const repo: Repo = { images, idOf, active, find: (digest) => findDigest(images, digest) };
  const graph = buildIndexedGraph(images, input.indexChildren ?? new Map(), idOf, repo.find);
  const warnings: string[] = [];
  if (graph.unknownIndexes.length > 0) {
    warnings.push(
      `${graph.unknownIndexes.length} image index(es) have no manifest, so their children are unknown` +
        (steward ? '; untagged images are kept until the manifests can be read' : ''),
    );
  }

  /** Images with a parent index or a subject in the graph: followers in unit mode. */
  const isLinked = (i: number): boolean => {
    const id = idOf[i]!;
    return graph.parents[id] !== undefined || graph.subjects[id] !== undefined;
  };
  // In unit mode children and referrers (of subjects that are present) are not ranked: they follow.
  const isFollower = (i: number): boolean => unitMode && isLinked(i);
  const population: number[] = [];
  for (let i = 0; i < n; i++) if (!isFollower(i)) population.push(i);
  const { outcomes, selections, ranked } = evaluateRules(input.policy, repo, population, now);
  /** A rule's selection youngest first: count rules come ranked already, the others are sorted once, on demand. */
  const youngestFirst = (priority: number): readonly number[] => {
    let list = ranked.get(priority);
    if (!list) {
      list = [...(selections.get(priority) ?? [])].sort(byYoungest(repo));
      ranked.set(priority, list);
    }
    return list;
  };

  /** By id; the image's fate so far. */
  const work: Working[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const image = images[i]!;
    const id = idOf[i]!;
    const outcome = outcomes[id];
    if (outcome?.acts) {
      work[id] = {
        action: outcome.rule.action.type,
        rule: outcome.rule,
        reasons: [outcome.why],
        protectedBy: [],
      };
    } else {
      const why = outcome
        ? outcome.why
        : isFollower(i)
          ? 'follows its image index or subject'
          : storageClassOf(image)
            ? 'no rule selects it'
            : 'being restored from archive; no rule applies until it is active';
      work[id] = { action: 'keep', rule: null, reasons: [why], protectedBy: [] };
    }
  }

  // ---- Steward protections. A saved image keeps the rule that would have acted, for the record.
  const hard = hardProtections(steward, input.inUse, repo, now);
  const soft = softProtections(steward, repo, population, now);
  const save = (w: Working, found: readonly Found[]): void => {
    for (const [code, reason] of found) {
      if (!w.protectedBy.includes(code)) w.protectedBy.push(code);
      w.reasons.push(reason);
    }
    w.action = 'keep';
  };
  for (const i of population) {
    const id = idOf[i]!;
    const w = work[id]!;
    if (w.action === 'keep') continue;
    const h = hard[id];
    const s = soft[id];
    if (h && s) save(w, [...h, ...s]);
    else if (h || s) save(w, (h ?? s)!);
  }
  if (steward && graph.unknownIndexes.length > 0) {
    for (const i of population) {
      const id = idOf[i]!;
      const w = work[id]!;
      if (w.action !== 'keep' && images[i]!.tags.length === 0 && graph.subjects[id] === undefined) {
        save(w, [
          [
            'graph-unknown',
            'untagged while an image index of the repository has no manifest: it may be a child',
          ],
        ]);
      }
    }
  }
  // keep-at-least runs last: it rescues the youngest of a rule's own candidates until enough remain.
  // Rules in priority order, as ECR applies them: a rescue for one rule counts for the next, so the
  // JSON array order must not matter.
  const byPriority = [...input.policy.rules].sort((a, b) => a.rulePriority - b.rulePriority);
  for (const keep of steward?.keepAtLeast ?? []) {
    for (const rule of byPriority) {
      if (keep.rulePriority !== undefined && keep.rulePriority !== rule.rulePriority) continue;
      let survivors = 0;
      for (const i of selections.get(rule.rulePriority) ?? []) {
        if (work[idOf[i]!]!.action === 'keep') survivors++;
      }
      // Usually enough survive already; then the (up to 100,000-image) sort below is not needed at all.
      if (survivors >= keep.count) continue;
      for (const i of youngestFirst(rule.rulePriority)) {
        if (survivors >= keep.count) break;
        const w = work[idOf[i]!]!;
        if (w.action !== 'keep' && w.rule === rule) {
          save(w, [
            [
              'keep-at-least',
              `kept so that at least ${keep.count} images selected by rule ${rule.rulePriority} remain`,
            ],
          ]);
          survivors++;
        }
      }
    }
  }

  // ---- The artifact graph, to a fixed point: rounds over the images in digest order, each image updated
  // in place from the current fates of its parents and subject, until a round changes nothing.
  // Only linked images (with a parent index or a subject) ever change in a round; any other image is
  // passed over. So the rounds visit just the linked ones, in the same order: the updates, the number of
  // rounds and its limit are exactly those of rounds over every image, at a fraction of the cost.
  const linked: number[] = [];
  for (let i = 0; i < n; i++) if (isLinked(i)) linked.push(i);
  // The subject's id (-1: not in the repository), looked up once rather than once per round.
  const subjectIds = linked.map((i) => {
    const subject = graph.subjects[idOf[i]!];
    return subject ? repo.find(subject.digest) : -1;
  });
  const settle = (image: Image, id: number, next: Working): boolean => {
    // A follower cannot be archived twice; an archived one has nothing to transition.
    if (next.action === 'transition' && image.status !== 'ACTIVE')
      next = { ...next, action: 'keep', reasons: [...next.reasons, 'already archived'] };
    if (next.action !== 'keep') {
      const found = hard[id] ?? [];
      if (found.length > 0) save(next, found);
    }
    const w = work[id]!;
    if (w.action === next.action && w.follows === next.follows) return false;
    work[id] = next;
    return true;
  };
  const digestOf = (id: number): string => images[id]!.digest;
  for (let changed = true, rounds = 0; changed && rounds <= n + 1; rounds++) {
    changed = false;
    for (const [k, i] of linked.entries()) {
      const image = images[i]!;
      const id = idOf[i]!;
      const w = work[id]!;
      const subject = graph.subjects[id];
      const parents = graph.parents[id];
      const subjectId = subjectIds[k]!;
      if (unitMode) {
        // Unit mode: a follower's fate is its parent's; hard protections still save it.
        let next: Working;
        // A child of a kept index stays whatever its subject's fate (ECR rule 8), so a kept parent wins.
        if (subject && !parents?.some((p) => work[p]!.action === 'keep')) {
          const s = subjectId >= 0 ? work[subjectId] : undefined;
          next = !s
            ? {
                action: 'expire',
                rule: null,
                reasons: [`referrer whose subject ${short(subject.digest)} is no longer in the repository`],
                protectedBy: [],
              }
            : s.action === 'keep'
              ? {
                  action: 'keep',
                  rule: null,
                  reasons: [`referrer of ${short(subject.digest)}, which is kept`],
                  protectedBy: ['referrer'],
                }
              : {
                  action: s.action,
                  rule: s.rule,
                  reasons: [`referrer of ${short(subject.digest)}, which is ${pastTense(s.action)}`],
                  protectedBy: [],
                };
          next.follows = subject.digest;
        } else {
          const ps = parents!;
          const kept = ps.find((p) => work[p]!.action === 'keep');
          const parentId = kept ?? ps.find((p) => work[p]!.action === 'transition') ?? ps[0]!;
          const parent = digestOf(parentId);
          const pw = work[parentId]!;
          next =
            pw.action === 'keep'
              ? {
                  action: 'keep',
                  rule: null,
                  reasons: [`child of image index ${short(parent)}, which is kept`],
                  protectedBy: ['index-child'],
                }
              : {
                  action: pw.action,
                  rule: pw.rule,
                  reasons: [`child of image index ${short(parent)}, which is ${pastTense(pw.action)}`],
                  protectedBy: [],
                };
          next.follows = parent;
        }
        if (settle(image, id, next)) changed = true;
        continue;
      }
      // ECR's own rules: a child of an index that stays cannot be removed ...
      if (parents && w.action !== 'keep') {
        const keptId = parents.find((p) => work[p]!.action === 'keep');
        // As a digest, and tested for truth, not presence: the same test as when parents were digests.
        const kept = keptId === undefined ? undefined : digestOf(keptId);
        if (kept) {
          save(w, [['index-child', `child of image index ${short(kept)}, which is kept`]]);
          w.follows = kept;
          changed = true;
          continue;
        }
      }
      // ... and an OCI referrer of a removed subject is removed with it.
      if (subject?.via === 'oci-subject' && w.action === 'keep' && w.protectedBy.length === 0) {
        const s = subjectId >= 0 ? work[subjectId] : undefined;
        if (s && s.action !== 'keep') {
          const next: Working = {
            action: s.action,
            rule: s.rule,
            reasons: [`referrer of ${short(subject.digest)}, which is ${pastTense(s.action)}`],
            protectedBy: [],
            follows: subject.digest,
          };
          if (settle(image, id, next)) changed = true;
        }
      }
    }
  }

  const iso = createIsoFormatter();
  const decisions: Decision[] = images.map((image, i) => {
    const w = work[idOf[i]!]!;
    const decision: Decision = {
      imageDigest: image.digest,
      imageTags: image.tags,
      action: w.action,
      rulePriority: w.rule?.rulePriority ?? null,
      reasons: w.reasons,
      protectedBy: w.protectedBy,
      sizeBytes: image.sizeBytes,
      pushedAt: iso(image.pushedAt),
    };
    // `follows` only when set, and last: key order is part of the JSON.
    return w.follows ? { ...decision, follows: w.follows } : decision;
  });
  return {
    repository: input.repository,
    now: input.now.toISOString(),
    decisions,
    summary: summarize(decisions),
    warnings,
  };
}

function pastTense(action: PlanAction): string {
  return action === 'expire' ? 'expired' : action === 'transition' ? 'archived' : 'kept';
}

function summarize(decisions: readonly Decision[]): PlanSummary {
  const protectedCounts: Partial<Record<ProtectionCode, number>> = {};
  let expire = 0;
  let transition = 0;
  let bytesReclaimed = 0;
  let bytesTransitioned = 0;
  for (const d of decisions) {
    if (d.action === 'expire') {
      expire++;
      bytesReclaimed += d.sizeBytes;
    } else if (d.action === 'transition') {
      transition++;
      bytesTransitioned += d.sizeBytes;
    }
    for (const code of d.protectedBy) protectedCounts[code] = (protectedCounts[code] ?? 0) + 1;
  }
  return {
    images: decisions.length,
    expire,
    transition,
    keep: decisions.length - expire - transition,
    protected: protectedCounts,
    bytesReclaimed,
    bytesTransitioned,
  };
}

type Found = [ProtectionCode, string];

/** Protections found per image: by id, in the order found. */
type FoundById = (Found[] | undefined)[];

function foundById(size: number): { out: FoundById; add: (id: number, f: Found) => void } {
  const out: FoundById = new Array(size);
  const add = (id: number, f: Found) => {
    const list = out[id];
    if (list) list.push(f);
    else out[id] = [f];
  };
  return { out, add };
}

/** Protections that save any image, including index children and referrers: holds, in use, protected tags. */
function hardProtections(
  steward: StewardPolicy | undefined,
  inUse: InUse | undefined,
  repo: Repo,
  now: number,
): FoundById {
  const { images, idOf } = repo;
  const { out, add } = foundById(images.length);
  // A tag names the last image (in digest order) that carries it. Only the tags that holds and in-use
  // references name are collected, not a map of every tag of the repository.
  const wanted = new Set<string>();
  for (const hold of steward?.holds ?? []) if (hold.tag !== undefined) wanted.add(hold.tag);
  for (const tag of inUse?.tags?.keys() ?? []) wanted.add(tag);
  const byTag = new Map<string, number>();
  if (wanted.size > 0) {
    for (const [i, image] of images.entries()) {
      for (const tag of image.tags) if (wanted.has(tag)) byTag.set(tag, i);
    }
  }
  const digestTagged = (tag: string): string | undefined => {
    const i = byTag.get(tag);
    return i === undefined ? undefined : images[i]!.digest;
  };

  for (const hold of steward?.holds ?? []) {
    if (hold.expiresAt !== undefined && Date.parse(hold.expiresAt) <= now) continue;
    const target = hold.digest ?? (hold.tag !== undefined ? digestTagged(hold.tag) : undefined);
    if (!target) continue;
    // A hold on a digest the repository does not have protects nothing.
    const id = repo.find(target);
    if (id < 0) continue;
    add(id, [
      'hold',
      `on hold by ${hold.owner}: ${hold.reason}${hold.expiresAt ? ` (until ${hold.expiresAt})` : ''}`,
    ]);
  }
  for (const [digest, where] of inUse?.digests ?? []) {
    const id = repo.find(digest);
    if (id >= 0) add(id, ['in-use', `in use by ${where.join(', ')}`]);
  }
  for (const [tag, where] of inUse?.tags ?? []) {
    const i = byTag.get(tag);
    if (i !== undefined) add(idOf[i]!, ['in-use', `in use by ${where.join(', ')} (as tag ${tag})`]);
  }
  const selectors = (steward?.protectedTags ?? []).map((s) => ({ s, test: compileTagSelectorTest(s) }));
  if (selectors.length > 0) {
    for (const [i, image] of images.entries()) {
      for (const { s, test } of selectors) {
        const tag = image.tags.find((t) => test(t));
        if (tag !== undefined) {
          add(idOf[i]!, ['protected-tag', `tag ${tag} is protected (${s})`]);
          break;
        }
      }
    }
  }
  return out;
}

/** Protections that apply to ranked images only: semver retention, minimum age, recent pulls. */
function softProtections(
  steward: StewardPolicy | undefined,
  repo: Repo,
  population: readonly number[],
  now: number,
): FoundById {
  const { images, idOf, active } = repo;
  const { out, add } = foundById(images.length);
  if (!steward) return out;
  if (steward.keepSemver) {
    const { count, perMajor = false, includePrerelease = false } = steward.keepSemver;
    const releases: { i: number; v: semver.SemVer }[] = [];
    for (const i of population) {
      const v = newestRelease(images[i]!.tags, includePrerelease);
      if (v !== undefined) releases.push({ i, v });
    }
    releases.sort(
      (a, b) => semver.compare(b.v, a.v) || (images[a.i]!.digest < images[b.i]!.digest ? -1 : 1),
    );
    const seen = new Map<string, number>();
    for (const { i, v } of releases) {
      const key = perMajor ? String(v.major) : '*';
      const rank = (seen.get(key) ?? 0) + 1;
      seen.set(key, rank);
      if (rank <= count) {
        add(idOf[i]!, [
          'semver',
          `release ${v.version} is one of the ${count} newest releases${perMajor ? ` of major version ${v.major}` : ''}`,
        ]);
      }
    }
  }
  if (steward.minAgeDays !== undefined) {
    for (const i of population) {
      const age = now - active[i]!;
      if (age < steward.minAgeDays * DAY_MS)
        add(idOf[i]!, [
          'min-age',
          `younger than the minimum age of ${steward.minAgeDays} days (${days(age)} days)`,
        ]);
    }
  }
  if (steward.pulledWithinDays !== undefined) {
    for (const i of population) {
      const image = images[i]!;
      if (image.lastPulledAt === undefined) continue;
      const since = now - image.lastPulledAt;
      if (since < steward.pulledWithinDays * DAY_MS)
        add(idOf[i]!, [
          'pulled-recently',
          `pulled ${days(since)} days ago, within ${steward.pulledWithinDays} days`,
        ]);
    }
  }
  return out;
}

function short(digest: string): string {
  return digest.length > 19 ? `${digest.slice(0, 19)}…` : digest;
}
