import semver from 'semver';
import { describeHold, holdInForce } from '../deletion/holds.js';
import { buildIndexedGraph, type GraphCandidate, type IndexedGraph, isIndex, subjectOf } from './graph.js';
import { isoTimestamp } from './iso.js';
import { compileSelection, compileTagSelectorTest, selectionMatches } from './match.js';
import { type DigestOrder, findDigest, orderByDigest } from './order.js';
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

/*
 * How the planner is built for 100,000 images (the benchmark's size); see `Repo` for how images are named.
 * - Each phase is a function of its own with its loops inside: V8 optimizes a function as a whole, and one
 *   function with all the loops of a plan kept running unoptimized code (and losing its optimized code) in
 *   every plan.
 * - Values that exist per image are kept in arrays by index rather than in objects per image, as every
 *   object a plan makes is work for the garbage collector.
 * - A plan's own objects are plain data made by object literals, used by plain functions, not class
 *   instances: V8 keeps the shape of an object literal as long as the code that makes it, but drops the
 *   shapes of a class's instances once the last instance is garbage, and with them the optimized code of
 *   every function that used them. Each plan then started cold again: with a full garbage collection
 *   between plans (as the benchmark does) that cost about a quarter of the plan's time.
 */

/**
 * The repository as the plan's loops see it. Images are named by number, not digest: at 100,000 images the
 * digest-keyed maps were much of a plan's time. `images` is sorted by digest and an image's position in it
 * is its index; `idOf[i]` is the index of the first image with the digest of image `i` (usually `i`). All
 * per-image state is kept by id, so images that share a digest share it, exactly as they shared the
 * entries of the digest-keyed maps.
 *
 * Loops that look at each image on its own go through `input`, the images in the order given, which is
 * the order they sit in memory: reading 100,000 images, their tag lists and their tags in digest order
 * instead was several times slower (a cache miss on each). They write their results by index. Where the
 * order of the images matters, loops go by index (digest order) and read only such results. Images with
 * the same digest are in input order among themselves in digest order too, so the state they share is
 * updated in the same order either way.
 */
interface Repo {
  readonly images: readonly Image[];
  readonly input: readonly Image[];
  /** `positionOf[k]`: the index of `input[k]`. */
  readonly positionOf: Int32Array;
  readonly idOf: Int32Array;
  /** `findDigest(order, digest)`: the id of the first image with this digest, or -1 when there is none. */
  readonly order: DigestOrder;
  /** `activeSince` of each image, by index: the sort key of every ranking. */
  readonly active: Float64Array;
  /**
   * What a decision copies from its image, by index: read once in input order (see above), so that the
   * decisions can be made in index order without reading the image objects in that order.
   */
  readonly digests: readonly string[];
  readonly tags: readonly (readonly string[])[];
  readonly pushedAt: readonly number[];
  readonly sizes: readonly number[];
  /** The storage class of each image, by index. */
  readonly storageClass: readonly (StorageClass | undefined)[];
  readonly graph: IndexedGraph;
  /** Whether each image (by index) follows its index or subject instead of being ranked (unit mode). */
  readonly follower: Uint8Array;
  /** The images the rules rank (all but the followers), ascending. */
  readonly population: readonly number[];
  /**
   * Images by the first character of their tags: for each character, the input positions (`k`) of the
   * images with a tag starting with it, each once, ascending. Selections that need a tag starting with a
   * known character test only those images.
   */
  readonly byLeadingChar: ReadonlyMap<number, readonly number[]>;
}

/**
 * What the ECR rules decided, by image id: the rule that decides an image (only the first rule, per
 * storage class, whose tag selection matches an image can act on it: every lower rule sees it as
 * shielded), whether it acts, and why.
 */
interface Outcomes {
  readonly rule: (LifecycleRule | undefined)[];
  readonly acts: Uint8Array;
  readonly why: string[];
}

/**
 * An image's fate so far. Always made with every field (`follows` undefined until set): objects that gain
 * a field later get a shape V8 may drop in a full garbage collection, and with it the optimized code of
 * every function that saw it.
 */
interface Working {
  action: PlanAction;
  rule: LifecycleRule | null;
  reasons: string[];
  protectedBy: ProtectionCode[];
  /** For index children and referrers: the digest of the index / subject they follow. */
  follows: string | undefined;
}

type Found = [ProtectionCode, string];

/** Protections found per image, by id, in the order found. */
interface Protections {
  readonly byId: (Found[] | undefined)[];
  /** The ids with any protection, once each. */
  readonly ids: number[];
}

function protect(protections: Protections, id: number, found: Found): void {
  const list = protections.byId[id];
  if (list) list.push(found);
  else {
    protections.byId[id] = [found];
    protections.ids.push(id);
  }
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
  const repo = readRepository(input, unitMode);
  const unknownIndexes = repo.graph.unknownIndexes.length;
  const warnings: string[] = [];
  if (unknownIndexes > 0) {
    warnings.push(
      `${unknownIndexes} image index(es) have no manifest, so their children are unknown` +
        (steward ? '; untagged images are kept until the manifests can be read' : ''),
    );
  }

  const { outcomes, selections, ranked } = evaluateRules(input.policy, repo, now);
  const fates: Fates = { repo, outcomes, made: new Array(repo.images.length) };

  // ---- Steward protections. A saved image keeps the rule that would have acted, for the record.
  const hard = hardProtections(steward, input.inUse, repo, now);
  const soft = softProtections(steward, repo, now);
  applyProtections(repo, fates, hard, soft);
  if (steward && unknownIndexes > 0) keepPossibleChildren(repo, fates);
  keepAtLeast(steward?.keepAtLeast ?? [], input.policy, repo, fates, selections, ranked);

  settleGraph(repo, fates, hard, unitMode);

  const { decisions, actions, sizes, protections } = decide(repo, fates);
  const summary = summarize(actions, sizes, protections);
  return { repository: input.repository, now: input.now.toISOString(), decisions, summary, warnings };
}

/** Orders the images, reads what each says of itself, and builds the artifact graph. */
function readRepository(input: PlanInput, unitMode: boolean): Repo {
  const source = input.images;
  const order = orderByDigest(source);
  const { images, positionOf, idOf } = order;
  const n = images.length;
  const active = new Float64Array(n);
  const digests: string[] = new Array(n);
  const tags: (readonly string[])[] = new Array(n);
  const pushedAt: number[] = new Array(n);
  const sizes: number[] = new Array(n);
  const storageClass: (StorageClass | undefined)[] = new Array(n);
  const graphCandidates: GraphCandidate[] = [];
  for (let k = 0; k < n; k++) {
    const image = source[k]!;
    const i = positionOf[k]!;
    active[i] = activeSince(image);
    digests[i] = image.digest;
    tags[i] = image.tags;
    pushedAt[i] = image.pushedAt;
    sizes[i] = image.sizeBytes;
    storageClass[i] = storageClassOf(image);
    const subject = subjectOf(image);
    if (subject || isIndex(image)) graphCandidates.push([i, subject]);
  }
  graphCandidates.sort((a, b) => a[0] - b[0]);
  const find = (digest: string): number => findDigest(order, digest);
  const graph = buildIndexedGraph(images, input.indexChildren ?? new Map(), idOf, find, graphCandidates);

  // In unit mode children and referrers (of subjects that are present) are not ranked: they follow.
  const follower = new Uint8Array(n);
  const population: number[] = [];
  for (let i = 0; i < n; i++) {
    if (unitMode && isLinked(graph, idOf[i]!)) follower[i] = 1;
    else population.push(i);
  }
  return {
    images,
    input: source,
    positionOf,
    idOf,
    order,
    active,
    digests,
    tags,
    pushedAt,
    sizes,
    storageClass,
    graph,
    follower,
    population,
    byLeadingChar: byLeadingChar(source),
  };
}

/** Whether the image with this id has a parent index or a subject in the graph: a follower in unit mode. */
function isLinked(graph: IndexedGraph, id: number): boolean {
  return graph.parents[id] !== undefined || graph.subjects[id] !== undefined;
}

function byLeadingChar(input: readonly Image[]): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (let k = 0; k < input.length; k++) {
    for (const tag of input[k]!.tags) {
      if (tag.length === 0) continue;
      const c = tag.charCodeAt(0);
      let list = out.get(c);
      if (!list) {
        list = [];
        out.set(c, list);
      }
      if (list[list.length - 1] !== k) list.push(k);
    }
  }
  return out;
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
  // Without an array of the candidates: it runs once per image a pull rule matches.
  const pulled = image.lastPulledAt;
  const activated = image.lastActivatedAt;
  if (pulled === undefined) return activated ?? image.pushedAt;
  return activated === undefined ? pulled : Math.max(pulled, activated);
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

/** The plan data `compareYoungest` reads, set by `youngestFirst` for the length of one sort. */
let rankedTimes: Float64Array = new Float64Array(0);
let rankedImages: readonly Image[] = [];

/**
 * Youngest first by activity time; ties broken by digest so plans are deterministic. Compares image indexes
 * of the plan being ranked, with the same outcome for every pair as comparing the images themselves would.
 *
 * It compares instead of subtracting (`b - a || …`): a sort only looks at the sign, NaN counting as 0,
 * and comparing gives the same sign for all values (NaN and ±0 included) as the difference, but as -1, 0
 * or 1. A difference of two timestamps is a number V8 must allocate, and ranking 100,000 images takes a
 * million comparisons. For the same reason it is one function for every plan, reading the plan's data from
 * the two variables above, rather than a closure made per plan: V8 optimized each new closure anew, so the
 * first sorts of every plan ran unoptimized code.
 */
function compareYoungest(a: number, b: number): number {
  const older = rankedTimes[a]!;
  const younger = rankedTimes[b]!;
  return younger > older
    ? 1
    : younger < older
      ? -1
      : compareDigests(rankedImages[a]!.digest, rankedImages[b]!.digest);
}

/** Integers up to this are exact as doubles (with one bit to spare, as in order.ts). */
const EXACT_KEYS = 2 ** 52;

/**
 * `list` (image indexes) ranked youngest first, by `compareYoungest`.
 *
 * Ranking 100,000 images with a comparator is 1.7 million calls of it; instead, when the list is ascending
 * (as every list ranked here is: selections are in index order) and its times are whole milliseconds, each
 * image gets one number, `(latest - time) * length + position`, and one native numeric sort orders them: the
 * youngest first, and images of the same time by position, that is by index, that is by digest (and images
 * with the same digest in list order, as the stable comparator sort leaves them). Only when those numbers could
 * be inexact (a list spanning more time than a double holds with its length) or a time is not whole does it
 * sort with the comparator.
 */
function youngestFirst(repo: Repo, list: readonly number[]): number[] {
  const packed = packedYoungestFirst(repo.active, list);
  if (packed) return packed;
  rankedTimes = repo.active;
  rankedImages = repo.images;
  try {
    return [...list].sort(compareYoungest);
  } finally {
    // Nothing of a plan stays reachable after the sort.
    rankedTimes = new Float64Array(0);
    rankedImages = [];
  }
}

/** `youngestFirst` by one numeric sort, or undefined when its keys would not be exact (see there). */
function packedYoungestFirst(active: Float64Array, list: readonly number[]): number[] | undefined {
  const m = list.length;
  let latest = Number.NEGATIVE_INFINITY;
  let earliest = Number.POSITIVE_INFINITY;
  for (let p = 0; p < m; p++) {
    const i = list[p]!;
    const t = active[i]!;
    if (!Number.isInteger(t) || (p > 0 && list[p - 1]! >= i)) return undefined;
    if (t > latest) latest = t;
    if (t < earliest) earliest = t;
  }
  if (m === 0 || !((latest - earliest + 1) * m <= EXACT_KEYS)) return m === 0 ? [] : undefined;
  const keys = new Float64Array(m);
  // latest - t is exact: both are integers of at most 2^53 and so is their difference here.
  for (let p = 0; p < m; p++) keys[p] = (latest - active[list[p]!]!) * m + p;
  keys.sort();
  const out = new Array<number>(m);
  for (let r = 0; r < m; r++) out[r] = list[keys[r]! % m]!;
  return out;
}

/**
 * Runs ECR's lifecycle evaluation on the population: rules by ascending priority, at most one action per
 * image, an image matched by a higher rule's selection shielded from lower rules of its storage class, and
 * `imageCountMoreThan` ranking every matching image (shielded and marked ones included).
 * Also returns each count rule's selection already ranked youngest first, so callers need not sort again.
 */
function evaluateRules(
  policy: LifecyclePolicy,
  repo: Repo,
  now: number,
): {
  outcomes: Outcomes;
  selections: Map<number, readonly number[]>;
  ranked: Map<number, readonly number[]>;
} {
  const { images, idOf, active, storageClass } = repo;
  const n = images.length;
  const rules = [...policy.rules].sort((a, b) => a.rulePriority - b.rulePriority);
  const outcomes: Outcomes = { rule: new Array(n), acts: new Uint8Array(n), why: new Array(n) };
  // One flag per id and class, not one per id: images sharing a digest may be in different classes.
  const shielded: Record<StorageClass, Uint8Array> = {
    standard: new Uint8Array(n),
    archive: new Uint8Array(n),
  };
  const selections = new Map<number, readonly number[]>();
  const rankedSelections = new Map<number, readonly number[]>();
  const byClass: Record<StorageClass, number[]> = { standard: [], archive: [] };
  for (const i of repo.population) {
    const cls = storageClass[i];
    if (cls) byClass[cls].push(i);
  }
  for (const rule of rules) {
    const sel = rule.selection;
    const cls: StorageClass = sel.storageClass ?? 'standard';
    // `any` selects the whole storage class; the shared array is never mutated.
    const matched = sel.tagStatus === 'any' ? byClass[cls] : select(repo, sel, cls, byClass[cls]);
    selections.set(rule.rulePriority, matched);
    rankedSelections.delete(rule.rulePriority);
    const count = sel.countNumber;
    const isShielded = shielded[cls];
    // Reasons are built only for images this rule decides (not shielded): at 100,000 images, building
    // one per matched image per rule dominated the plan's time. The fixed parts of a reason are built once
    // per rule for the same reason.
    const label = describeRule(rule);
    switch (sel.countType) {
      case 'imageCountMoreThan': {
        const ranked = youngestFirst(repo, matched);
        rankedSelections.set(rule.rulePriority, ranked);
        const total = ranked.length;
        const beyond = `${label} keeps the ${count} newest of ${total} matching images; this is number `;
        const within = `${label} keeps the ${count} newest; this is number `;
        const ofTotal = ` of ${total}`;
        for (let r = 0; r < total; r++) {
          const id = idOf[ranked[r]!]!;
          if (isShielded[id]) continue;
          const acts = r >= count;
          outcomes.rule[id] = rule;
          outcomes.acts[id] = acts ? 1 : 0;
          outcomes.why[id] = acts ? `${beyond}${r + 1}` : `${within}${r + 1}${ofTotal}`;
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
        // A reason depends only on the age in whole days and on whether the rule acts, and ages repeat:
        // each distinct reason is built once per rule, not once per image.
        const reasons = [new Map<number, string>(), new Map<number, string>()] as const;
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
          const acts = age > count * DAY_MS;
          const d = days(age);
          const cache = reasons[acts ? 1 : 0];
          let why = cache.get(d);
          if (why === undefined) {
            why = `${label}: ${what} ${d} days ago, ${acts ? 'more than' : 'within'} ${count} days`;
            cache.set(d, why);
          }
          outcomes.rule[id] = rule;
          outcomes.acts[id] = acts ? 1 : 0;
          outcomes.why[id] = why;
        }
        break;
      }
    }
    for (const i of matched) isShielded[idOf[i]!] = 1;
  }
  return { outcomes, selections, ranked: rankedSelections };
}

/**
 * The images of `members` (the population of a storage class, ascending) that a tagged or untagged
 * selection matches: `members.filter(matches)`, but tested in input order (see Repo), only on the images
 * that can match, and then put in index order.
 */
function select(
  repo: Repo,
  selection: LifecycleRule['selection'],
  cls: StorageClass,
  members: readonly number[],
): number[] {
  if (members.length === 0) return [];
  const { input, positionOf, storageClass, follower } = repo;
  const compiled = compileSelection(selection);
  const leadingChar = compiled.leadingChar;
  const candidates = leadingChar === undefined ? undefined : (repo.byLeadingChar.get(leadingChar) ?? []);
  const count = candidates ? candidates.length : input.length;
  // Members are the ranked (not follower) images of the class.
  const hits = new Int32Array(count);
  let found = 0;
  for (let c = 0; c < count; c++) {
    const k = candidates ? candidates[c]! : c;
    const i = positionOf[k]!;
    if (follower[i] === 0 && storageClass[i] === cls && selectionMatches(compiled, input[k]!.tags)) {
      hits[found++] = i;
    }
  }
  return ascending(hits.subarray(0, found), repo.images.length);
}

/**
 * `indexes` (distinct, each below `n`) in ascending order, as a plain array. Many indexes are put in order
 * by marking them and reading the marks in order, one pass over `n` bytes instead of a sort (for a
 * selection of tens of thousands of images, several times faster); a few are sorted.
 */
function ascending(indexes: Int32Array, n: number): number[] {
  const found = indexes.length;
  const out = new Array<number>(found);
  if (found * 16 < n) {
    indexes.sort();
    for (let h = 0; h < found; h++) out[h] = indexes[h]!;
    return out;
  }
  const marked = new Uint8Array(n);
  for (let h = 0; h < found; h++) marked[indexes[h]!] = 1;
  for (let i = 0, h = 0; h < found; i++) if (marked[i] === 1) out[h++] = i;
  return out;
}

/**
 * Every image's fate so far, by id. Most images keep the fate the rules gave them, so a fate object is made
 * for an image only when something changes it (a protection, the graph), or at the end for the decision:
 * at 100,000 images, one object and two arrays per image made up front, and kept through the plan, were a
 * large share of the garbage collector's work. Reading an action or a rule makes nothing.
 */
interface Fates {
  readonly repo: Repo;
  readonly outcomes: Outcomes;
  /** The fates made so far, by id. */
  readonly made: (Working | undefined)[];
}

function actionOf(fates: Fates, id: number): PlanAction {
  const made = fates.made[id];
  if (made) return made.action;
  const rule = fates.outcomes.rule[id];
  return rule && fates.outcomes.acts[id] === 1 ? rule.action.type : 'keep';
}

function ruleOf(fates: Fates, id: number): LifecycleRule | null {
  const made = fates.made[id];
  if (made) return made.rule;
  const rule = fates.outcomes.rule[id];
  return rule && fates.outcomes.acts[id] === 1 ? rule : null;
}

/** The image's fate, to read or change: made from the rules' outcome if it was not made yet. */
function fateOf(fates: Fates, id: number): Working {
  const made = fates.made[id];
  if (made) return made;
  const fate: Working = {
    action: actionOf(fates, id),
    rule: ruleOf(fates, id),
    reasons: [firstReason(fates, id)],
    protectedBy: [],
    follows: undefined,
  };
  fates.made[id] = fate;
  return fate;
}

/**
 * The rules' reason for an image's fate. Of images with the same digest, the last one's: they share one
 * fate, and it was once made for each of them in turn, so the last one's stayed.
 */
function firstReason(fates: Fates, id: number): string {
  const why = fates.outcomes.why[id];
  if (why !== undefined) return why;
  const { idOf, follower, storageClass } = fates.repo;
  let last = id;
  while (last + 1 < idOf.length && idOf[last + 1] === id) last++;
  return follower[last] === 1
    ? 'follows its image index or subject'
    : storageClass[last]
      ? 'no rule selects it'
      : 'being restored from archive; no rule applies until it is active';
}

/** Keeps an image for the protections found, adding their codes (once each) and reasons. */
function save(w: Working, found: readonly Found[]): void {
  for (const [code, reason] of found) {
    if (!w.protectedBy.includes(code)) w.protectedBy.push(code);
    w.reasons.push(reason);
  }
  w.action = 'keep';
}

/**
 * Saves the ranked images a rule acts on that a hard or soft protection covers. Only images with a
 * protection can change, so only they are visited (in any order: each image's outcome is its own).
 */
function applyProtections(repo: Repo, fates: Fates, hard: Protections, soft: Protections): void {
  for (const id of hard.ids) applyProtectionsTo(repo, fates, hard, soft, id);
  for (const id of soft.ids) applyProtectionsTo(repo, fates, hard, soft, id);
}

function applyProtectionsTo(
  repo: Repo,
  fates: Fates,
  hard: Protections,
  soft: Protections,
  id: number,
): void {
  // An id is the index of the first image with its digest; all of them are followers or none is.
  if (repo.follower[id] === 1 || actionOf(fates, id) === 'keep') return;
  const h = hard.byId[id];
  const s = soft.byId[id];
  if (h && s) save(fateOf(fates, id), [...h, ...s]);
  else if (h || s) save(fateOf(fates, id), (h ?? s)!);
}

/** With an index's manifest missing, any untagged image may be its child: keeps the untagged ranked images. */
function keepPossibleChildren(repo: Repo, fates: Fates): void {
  const { input, positionOf, idOf, follower, graph } = repo;
  for (let k = 0; k < positionOf.length; k++) {
    const i = positionOf[k]!;
    if (follower[i] === 1) continue;
    const id = idOf[i]!;
    if (actionOf(fates, id) !== 'keep' && input[k]!.tags.length === 0 && graph.subjects[id] === undefined) {
      save(fateOf(fates, id), [
        [
          'graph-unknown',
          'untagged while an image index of the repository has no manifest: it may be a child',
        ],
      ]);
    }
  }
}

/**
 * keep-at-least runs last: it rescues the youngest of a rule's own candidates until enough remain.
 * Rules in priority order, as ECR applies them: a rescue for one rule counts for the next, so the
 * JSON array order must not matter.
 */
function keepAtLeast(
  entries: NonNullable<StewardPolicy['keepAtLeast']>,
  policy: LifecyclePolicy,
  repo: Repo,
  fates: Fates,
  selections: ReadonlyMap<number, readonly number[]>,
  ranked: Map<number, readonly number[]>,
): void {
  if (entries.length === 0) return;
  const { positionOf, idOf } = repo;
  /** A rule's selection youngest first: count rules come ranked already, the others are sorted once, on demand. */
  const rankedSelection = (priority: number): readonly number[] => {
    let list = ranked.get(priority);
    if (!list) {
      list = youngestFirst(repo, selections.get(priority) ?? []);
      ranked.set(priority, list);
    }
    return list;
  };
  const byPriority = [...policy.rules].sort((a, b) => a.rulePriority - b.rulePriority);
  // Which ids are kept: counting survivors reads this instead of 100,000 scattered objects. The rescues
  // below are the only changes to fates here, and keep it current.
  const kept = new Uint8Array(positionOf.length);
  for (let k = 0; k < positionOf.length; k++) {
    const id = idOf[positionOf[k]!]!;
    kept[id] = actionOf(fates, id) === 'keep' ? 1 : 0;
  }
  for (const keep of entries) {
    for (const rule of byPriority) {
      if (keep.rulePriority !== undefined && keep.rulePriority !== rule.rulePriority) continue;
      let survivors = 0;
      for (const i of selections.get(rule.rulePriority) ?? []) survivors += kept[idOf[i]!]!;
      // Usually enough survive already; then the (up to 100,000-image) sort below is not needed at all.
      if (survivors >= keep.count) continue;
      for (const i of rankedSelection(rule.rulePriority)) {
        if (survivors >= keep.count) break;
        const id = idOf[i]!;
        if (actionOf(fates, id) !== 'keep' && ruleOf(fates, id) === rule) {
          save(fateOf(fates, id), [
            [
              'keep-at-least',
              `kept so that at least ${keep.count} images selected by rule ${rule.rulePriority} remain`,
            ],
          ]);
          kept[id] = 1;
          survivors++;
        }
      }
    }
  }
}

/** The first of `ids` whose fate has this action. */
function firstWith(ids: readonly number[], fates: Fates, action: PlanAction): number | undefined {
  for (const id of ids) if (actionOf(fates, id) === action) return id;
  return undefined;
}

/**
 * Makes `next` the fate of the image with this id, unless it changes neither the action nor what the image
 * follows. Returns whether it did.
 */
function settle(fates: Fates, hard: Protections, image: Image, id: number, next: Working): boolean {
  // A follower cannot be archived twice; an archived one has nothing to transition.
  if (next.action === 'transition' && image.status !== 'ACTIVE')
    next = { ...next, action: 'keep', reasons: [...next.reasons, 'already archived'] };
  if (next.action !== 'keep') {
    const found = hard.byId[id] ?? [];
    if (found.length > 0) save(next, found);
  }
  if (actionOf(fates, id) === next.action && fates.made[id]?.follows === next.follows) return false;
  fates.made[id] = next;
  return true;
}

/** What the updates of `settleGraph` share. */
interface GraphRound {
  readonly repo: Repo;
  readonly fates: Fates;
  readonly hard: Protections;
  readonly unitMode: boolean;
  /** The linked images (with a parent index or a subject), by index, ascending. */
  readonly linked: readonly number[];
  /** For each linked image: its subject's id, or -1 (none, or not in the repository). */
  readonly subjectIds: readonly number[];
  /** Each fate's version, by id, bumped when it changes. */
  readonly version: Int32Array;
}

/** Updates the linked image `linked[l]`, whose id is `id`; returns whether its fate changed. */
function updateLinked(round: GraphRound, l: number, id: number): boolean {
  const { repo, fates, hard, unitMode } = round;
  const { images, graph } = repo;
  const image = images[round.linked[l]!]!;
  const subject = graph.subjects[id];
  const parents = graph.parents[id];
  const subjectId = round.subjectIds[l]!;
  if (unitMode) {
    // Unit mode: a follower's fate is its parent's; hard protections still save it.
    let next: Working;
    // A child of a kept index stays whatever its subject's fate (ECR rule 8), so a kept parent wins.
    if (subject && !(parents && firstWith(parents, fates, 'keep') !== undefined)) {
      const s = subjectId >= 0 ? actionOf(fates, subjectId) : undefined;
      const follows = subject.digest;
      next = !s
        ? {
            action: 'expire',
            rule: null,
            reasons: [`referrer whose subject ${short(subject.digest)} is no longer in the repository`],
            protectedBy: [],
            follows,
          }
        : s === 'keep'
          ? {
              action: 'keep',
              rule: null,
              reasons: [`referrer of ${short(subject.digest)}, which is kept`],
              protectedBy: ['referrer'],
              follows,
            }
          : {
              action: s,
              rule: ruleOf(fates, subjectId),
              reasons: [`referrer of ${short(subject.digest)}, which is ${pastTense(s)}`],
              protectedBy: [],
              follows,
            };
    } else {
      const ps = parents!;
      const parentId = firstWith(ps, fates, 'keep') ?? firstWith(ps, fates, 'transition') ?? ps[0]!;
      const parent = images[parentId]!.digest;
      const parentAction = actionOf(fates, parentId);
      next =
        parentAction === 'keep'
          ? {
              action: 'keep',
              rule: null,
              reasons: [`child of image index ${short(parent)}, which is kept`],
              protectedBy: ['index-child'],
              follows: parent,
            }
          : {
              action: parentAction,
              rule: ruleOf(fates, parentId),
              reasons: [`child of image index ${short(parent)}, which is ${pastTense(parentAction)}`],
              protectedBy: [],
              follows: parent,
            };
    }
    return settle(fates, hard, image, id, next);
  }
  // ECR's own rules: a child of an index that stays cannot be removed ...
  if (parents && actionOf(fates, id) !== 'keep') {
    const keptId = firstWith(parents, fates, 'keep');
    // As a digest, and tested for truth, not presence: the same test as when parents were digests.
    const kept = keptId === undefined ? undefined : images[keptId]!.digest;
    if (kept) {
      const w = fateOf(fates, id);
      save(w, [['index-child', `child of image index ${short(kept)}, which is kept`]]);
      w.follows = kept;
      return true;
    }
  }
  // ... and an OCI referrer of a removed subject is removed with it.
  if (
    subject?.via === 'oci-subject' &&
    actionOf(fates, id) === 'keep' &&
    !fates.made[id]?.protectedBy.length
  ) {
    const s = subjectId >= 0 ? actionOf(fates, subjectId) : undefined;
    if (s && s !== 'keep') {
      const next: Working = {
        action: s,
        rule: ruleOf(fates, subjectId),
        reasons: [`referrer of ${short(subject.digest)}, which is ${pastTense(s)}`],
        protectedBy: [],
        follows: subject.digest,
      };
      return settle(fates, hard, image, id, next);
    }
  }
  return false;
}

/** The sum of the versions of the fates that the update of `linked[l]` reads (see `settleGraph`). */
function inputsVersion(round: GraphRound, l: number, id: number): number {
  const { version } = round;
  let sum = version[id]!;
  for (const parent of round.repo.graph.parents[id] ?? []) sum += version[parent]!;
  const subjectId = round.subjectIds[l]!;
  return subjectId >= 0 ? sum + version[subjectId]! : sum;
}

/**
 * The artifact graph, to a fixed point: rounds over the images in digest order, each image updated in place
 * from the current fates of its parents and subject, until a round changes nothing.
 *
 * Only linked images (with a parent index or a subject) ever change in a round; any other image is passed
 * over. And a linked image's update reads only its own fate and those of its parents and subject, and
 * changes nothing unless its outcome differs: if none of those fates changed since its last update, the
 * update would do nothing, and it is skipped. So a round visits just the linked images whose inputs changed,
 * in the same order: the updates, the number of rounds and its limit are exactly those of rounds over every
 * image, at a fraction of the cost.
 */
function settleGraph(repo: Repo, fates: Fates, hard: Protections, unitMode: boolean): void {
  const { images, idOf, order, graph } = repo;
  const n = images.length;
  const linked: number[] = [];
  for (let i = 0; i < n; i++) if (isLinked(graph, idOf[i]!)) linked.push(i);
  // The subject's id (-1: not in the repository), looked up once rather than once per round.
  const subjectIds = linked.map((i) => {
    const subject = graph.subjects[idOf[i]!];
    return subject ? findDigest(order, subject.digest) : -1;
  });

  // Each fate's version, by id, bumped when it changes; for each linked image, the sum of the versions of
  // the fates its update reads, as of its last update (NaN: none yet). Versions only grow, so the sum
  // changes exactly when one of those fates did. In unit mode an update depends only on the parents' and
  // the subject's fates, so the sum is taken after the update: its own change does not call for another.
  // Without unit mode a change of its own can (a referrer that became expired may now be saved as an
  // index child), so the sum is taken before.
  const round: GraphRound = { repo, fates, hard, unitMode, linked, subjectIds, version: new Int32Array(n) };
  const seen = new Float64Array(linked.length).fill(Number.NaN);
  for (let changed = true, rounds = 0; changed && rounds <= n + 1; rounds++) {
    changed = false;
    for (let l = 0; l < linked.length; l++) {
      const id = idOf[linked[l]!]!;
      const before = inputsVersion(round, l, id);
      if (before === seen[l]) continue;
      if (updateLinked(round, l, id)) {
        round.version[id]!++;
        changed = true;
      }
      seen[l] = unitMode ? inputsVersion(round, l, id) : before;
    }
  }
}

/**
 * The decisions, in digest order, and what the summary needs of them as columns (see `summarize`): reading
 * 100,000 decisions back was slower than the adding itself.
 *
 * Unlike the loops that look at each image on its own (see Repo), this one goes in index order: it reads the
 * plan's own arrays, by id, and what it copies from the images from `Repo`'s arrays by index (not the image
 * objects, which lie in input order), and the decisions (with their reasons and dates) are made in the order
 * they are written out, next to each other in memory. Made in input order, they lay scattered, and serialising
 * a 100,000-image plan took about a sixth longer.
 */
function decide(
  repo: Repo,
  fates: Fates,
): {
  decisions: Decision[];
  actions: PlanAction[];
  sizes: Float64Array;
  protections: (readonly ProtectionCode[] | undefined)[];
} {
  const { idOf, digests, tags, pushedAt: pushed, sizes: sizeOf } = repo;
  const n = idOf.length;
  const dates = new Map<number, string>();
  const decisions: Decision[] = new Array(n);
  const actions: PlanAction[] = new Array(n);
  const sizes = new Float64Array(n);
  const protections: (readonly ProtectionCode[] | undefined)[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const id = idOf[i]!;
    // Images with the same digest share one fate, arrays included, so theirs is made once; for any other
    // image whose fate was never made, its decision's arrays are made here, without a fate object.
    const shared = id !== i || (i + 1 < n && idOf[i + 1] === id);
    const w = shared ? fateOf(fates, id) : fates.made[id];
    const action = w ? w.action : actionOf(fates, id);
    const rule = w ? w.rule : ruleOf(fates, id);
    const reasons = w ? w.reasons : [firstReason(fates, id)];
    const protectedBy: readonly ProtectionCode[] = w ? w.protectedBy : UNPROTECTED;
    const follows = w?.follows;
    const pushedAt = isoTimestamp(pushed[i]!, dates);
    const sizeBytes = sizeOf[i]!;
    const rulePriority = rule?.rulePriority ?? null;
    // `follows` only when set, and last: key order is part of the JSON.
    decisions[i] = follows
      ? {
          imageDigest: digests[i]!,
          imageTags: tags[i]!,
          action,
          rulePriority,
          reasons,
          protectedBy,
          sizeBytes,
          pushedAt,
          follows,
        }
      : {
          imageDigest: digests[i]!,
          imageTags: tags[i]!,
          action,
          rulePriority,
          reasons,
          protectedBy,
          sizeBytes,
          pushedAt,
        };
    actions[i] = action;
    sizes[i] = sizeBytes;
    if (protectedBy.length > 0) protections[i] = protectedBy;
  }
  return { decisions, actions, sizes, protections };
}

/**
 * The `protectedBy` of every decision no protection touched: one frozen empty array, not one per image (most of
 * a 100,000-image plan), which was garbage-collection work for the same JSON.
 */
const UNPROTECTED: readonly ProtectionCode[] = Object.freeze([]);

function pastTense(action: PlanAction): string {
  return action === 'expire' ? 'expired' : action === 'transition' ? 'archived' : 'kept';
}

/**
 * The summary of the decisions, given as columns in decision order: each decision's action, `sizeBytes` and
 * `protectedBy` (undefined when empty).
 */
function summarize(
  actions: readonly PlanAction[],
  sizes: Float64Array,
  protections: readonly (readonly ProtectionCode[] | undefined)[],
): PlanSummary {
  // Counted in a map, made an object at the end: same keys in the same order, without growing an object
  // one key at a time (see Working).
  const protectedCounts = new Map<ProtectionCode, number>();
  const images = actions.length;
  let expire = 0;
  let transition = 0;
  let bytesReclaimed = 0;
  let bytesTransitioned = 0;
  for (let i = 0; i < images; i++) {
    const action = actions[i];
    if (action === 'expire') {
      expire++;
      bytesReclaimed += sizes[i]!;
    } else if (action === 'transition') {
      transition++;
      bytesTransitioned += sizes[i]!;
    }
    const codes = protections[i];
    if (codes) for (const code of codes) protectedCounts.set(code, (protectedCounts.get(code) ?? 0) + 1);
  }
  return {
    images,
    expire,
    transition,
    keep: images - expire - transition,
    protected: Object.fromEntries(protectedCounts),
    bytesReclaimed,
    bytesTransitioned,
  };
}

/** Protections that save any image, including index children and referrers: holds, in use, protected tags. */
function hardProtections(
  steward: StewardPolicy | undefined,
  inUse: InUse | undefined,
  repo: Repo,
  now: number,
): Protections {
  const { images, input, positionOf, idOf } = repo;
  const out: Protections = { byId: new Array(images.length), ids: [] };
  // A tag names the last image in digest order (the highest index) that carries it. Only the tags that
  // holds and in-use references name are looked for, not a map of every tag of the repository.
  const wanted = new Set<string>();
  for (const hold of steward?.holds ?? []) if (hold.tag !== undefined) wanted.add(hold.tag);
  for (const tag of inUse?.tags?.keys() ?? []) wanted.add(tag);
  const byTag = wanted.size > 0 ? lastCarrying(repo, wanted) : new Map<string, number>();
  const digestTagged = (tag: string): string | undefined => {
    const i = byTag.get(tag);
    return i === undefined ? undefined : images[i]!.digest;
  };

  for (const hold of steward?.holds ?? []) {
    if (!holdInForce(hold, now)) continue;
    if (hold.digest === undefined && hold.tag === undefined) {
      // A hold on the whole repository (placed from the CLI) keeps every image of it.
      for (let id = 0; id < images.length; id++) protect(out, id, ['hold', describeHold(hold)]);
      continue;
    }
    const target = hold.digest ?? (hold.tag !== undefined ? digestTagged(hold.tag) : undefined);
    if (!target) continue;
    // A hold on a digest the repository does not have protects nothing.
    const id = findDigest(repo.order, target);
    if (id < 0) continue;
    protect(out, id, ['hold', describeHold(hold)]);
  }
  for (const [digest, where] of inUse?.digests ?? []) {
    const id = findDigest(repo.order, digest);
    if (id >= 0) protect(out, id, ['in-use', `in use by ${where.join(', ')}`]);
  }
  for (const [tag, where] of inUse?.tags ?? []) {
    const i = byTag.get(tag);
    if (i !== undefined) protect(out, idOf[i]!, ['in-use', `in use by ${where.join(', ')} (as tag ${tag})`]);
  }
  const selectors = (steward?.protectedTags ?? []).map((s) => ({ s, test: compileTagSelectorTest(s) }));
  if (selectors.length > 0) {
    for (let k = 0; k < input.length; k++) {
      const tags = input[k]!.tags;
      for (const { s, test } of selectors) {
        const tag = firstTag(tags, test);
        if (tag !== undefined) {
          protect(out, idOf[positionOf[k]!]!, ['protected-tag', `tag ${tag} is protected (${s})`]);
          break;
        }
      }
    }
  }
  return out;
}

/** For each of `tags`, the index of the last image (in digest order) that carries it, if any does. */
function lastCarrying(repo: Repo, tags: ReadonlySet<string>): Map<string, number> {
  const { input, positionOf } = repo;
  const out = new Map<string, number>();
  for (let k = 0; k < input.length; k++) {
    for (const tag of input[k]!.tags) {
      if (!tags.has(tag)) continue;
      const i = positionOf[k]!;
      const other = out.get(tag);
      if (other === undefined || other < i) out.set(tag, i);
    }
  }
  return out;
}

function firstTag(tags: readonly string[], test: (tag: string) => boolean): string | undefined {
  for (const tag of tags) if (test(tag)) return tag;
  return undefined;
}

/**
 * A necessary condition for `semver.parse` (strict mode) to succeed: after trimming whitespace, a version
 * starts with an optional "v" and a digit. `\s` matches exactly what `String.prototype.trim` removes.
 */
const MAY_BE_SEMVER = /^\s*v?\d/;

/**
 * Whether a tag starting with this character may pass MAY_BE_SEMVER, after the optional "v" that
 * `newestRelease` strips: "v", a digit or white space.
 */
function mayStartRelease(c: number): boolean {
  return c === 0x76 || (c >= 0x30 && c <= 0x39) || /^\s$/.test(String.fromCharCode(c));
}

/**
 * The regular expression `semver.parse` (strict mode) matches a trimmed version with before it accepts it (not
 * in semver's type declarations), or undefined if this semver does not export it as expected. A tag that fails
 * it makes `semver.parse` throw an error and catch it, with a stack trace each time; tags such as `v1.2` (a
 * minor version's tag) pass MAY_BE_SEMVER, and at 100,000 images those throws were a noticeable part of a plan.
 */
const SEMVER_FULL: RegExp | undefined = (() => {
  const exported = semver as unknown as { re?: readonly RegExp[]; tokens?: Readonly<Record<string, number>> };
  const index = exported.tokens?.FULL;
  const re = index === undefined ? undefined : exported.re?.[index];
  // Only a regular expression without state between calls can be tested as semver.parse matches it.
  return re instanceof RegExp && !re.global && !re.sticky ? re : undefined;
})();

/** Highest semver release among an image's tags, if any. */
function newestRelease(tags: readonly string[], includePrerelease: boolean): semver.SemVer | undefined {
  let best: semver.SemVer | undefined;
  for (const tag of tags) {
    const text = tag.startsWith('v') ? tag.slice(1) : tag;
    // semver.parse throws and catches internally on every non-version, which at 100,000 images was
    // the single most expensive call of a plan. Skip what cannot parse: see MAY_BE_SEMVER.
    if (!MAY_BE_SEMVER.test(text)) continue;
    // What semver.parse would refuse anyway, refused without its throw (see SEMVER_FULL).
    if (SEMVER_FULL && !SEMVER_FULL.test(text.trim())) continue;
    const v = semver.parse(text);
    if (!v || (!includePrerelease && v.prerelease.length > 0)) continue;
    // v.compare(best) is what semver.compare(v, best) does for versions from semver.parse, without the two
    // objects semver.compare allocates (and discards) first.
    if (!best || v.compare(best) > 0) best = v;
  }
  return best;
}

/** Protections that apply to ranked images only: semver retention, minimum age, recent pulls. */
function softProtections(steward: StewardPolicy | undefined, repo: Repo, now: number): Protections {
  const { images, idOf, population } = repo;
  const out: Protections = { byId: new Array(images.length), ids: [] };
  if (!steward) return out;
  if (steward.keepSemver) {
    const { count, perMajor = false, includePrerelease = false } = steward.keepSemver;
    const releases = releasesOf(repo, includePrerelease);
    // b.v.compare(a.v) is semver.compare(b.v, a.v) without its throwaway objects (see newestRelease).
    releases.sort((a, b) => b.v.compare(a.v) || (images[a.i]!.digest < images[b.i]!.digest ? -1 : 1));
    const seen = new Map<string, number>();
    for (const { i, v } of releases) {
      const key = perMajor ? String(v.major) : '*';
      const rank = (seen.get(key) ?? 0) + 1;
      seen.set(key, rank);
      if (rank <= count) {
        protect(out, idOf[i]!, [
          'semver',
          `release ${v.version} is one of the ${count} newest releases${perMajor ? ` of major version ${v.major}` : ''}`,
        ]);
      }
    }
  }
  if (steward.minAgeDays !== undefined) {
    const { active } = repo;
    const minAge = steward.minAgeDays * DAY_MS;
    for (const i of population) {
      const age = now - active[i]!;
      if (age < minAge)
        protect(out, idOf[i]!, [
          'min-age',
          `younger than the minimum age of ${steward.minAgeDays} days (${days(age)} days)`,
        ]);
    }
  }
  if (steward.pulledWithinDays !== undefined) {
    const { input, positionOf, follower } = repo;
    const within = steward.pulledWithinDays * DAY_MS;
    for (let k = 0; k < input.length; k++) {
      const i = positionOf[k]!;
      const image = input[k]!;
      if (follower[i] === 1 || image.lastPulledAt === undefined) continue;
      const since = now - image.lastPulledAt;
      if (since < within)
        protect(out, idOf[i]!, [
          'pulled-recently',
          `pulled ${days(since)} days ago, within ${steward.pulledWithinDays} days`,
        ]);
    }
  }
  return out;
}

/** The newest release of each ranked image that has one, in index order. */
function releasesOf(repo: Repo, includePrerelease: boolean): { i: number; v: semver.SemVer }[] {
  const { images, positionOf, population } = repo;
  // Only images with a tag that may be a version can have a release (see mayStartRelease).
  const mayHaveRelease = new Uint8Array(images.length);
  for (const [c, list] of repo.byLeadingChar) {
    if (mayStartRelease(c)) for (const k of list) mayHaveRelease[positionOf[k]!] = 1;
  }
  const releases: { i: number; v: semver.SemVer }[] = [];
  for (const i of population) {
    if (mayHaveRelease[i] === 0) continue;
    const v = newestRelease(images[i]!.tags, includePrerelease);
    if (v !== undefined) releases.push({ i, v });
  }
  return releases;
}

function short(digest: string): string {
  return digest.length > 19 ? `${digest.slice(0, 19)}…` : digest;
}
