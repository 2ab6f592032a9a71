import semver from 'semver';
import { buildGraph } from './graph.js';
import { compileTagSelector, matchesSelection } from './match.js';
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

/**
 * Runs ECR's lifecycle evaluation on `population`: rules by ascending priority, at most one action per
 * image, an image matched by a higher rule's selection shielded from lower rules of its storage class,
 * and `imageCountMoreThan` ranking every matching image (shielded and marked ones included).
 * Also returns each count rule's selection already ranked youngest first, so callers need not sort again.
 */
function evaluateRules(
  policy: LifecyclePolicy,
  population: readonly Image[],
  now: number,
): {
  outcomes: Map<string, RuleOutcome>;
  selections: Map<number, readonly Image[]>;
  ranked: Map<number, readonly Image[]>;
} {
  const rules = [...policy.rules].sort((a, b) => a.rulePriority - b.rulePriority);
  const outcomes = new Map<string, RuleOutcome>();
  const shielded: Record<StorageClass, Set<string>> = { standard: new Set(), archive: new Set() };
  const selections = new Map<number, readonly Image[]>();
  const rankedSelections = new Map<number, readonly Image[]>();
  const byClass: Record<StorageClass, Image[]> = { standard: [], archive: [] };
  for (const image of population) {
    const cls = storageClassOf(image);
    if (cls) byClass[cls].push(image);
  }

  for (const rule of rules) {
    const sel = rule.selection;
    const cls: StorageClass = sel.storageClass ?? 'standard';
    // `any` selects the whole storage class; the shared array is never mutated.
    const matched =
      sel.tagStatus === 'any'
        ? byClass[cls]
        : byClass[cls].filter((image) => matchesSelection(sel, image.tags));
    selections.set(rule.rulePriority, matched);
    rankedSelections.delete(rule.rulePriority);
    const n = sel.countNumber;
    const isShielded = shielded[cls];
    // Reasons are built only for images this rule decides (not shielded): at 100,000 images, building
    // one per matched image per rule dominated the plan's time. describeRule is per rule for the same reason.
    const label = describeRule(rule);
    switch (sel.countType) {
      case 'imageCountMoreThan': {
        const ranked = [...matched].sort(byYoungest);
        rankedSelections.set(rule.rulePriority, ranked);
        const total = ranked.length;
        for (let i = 0; i < total; i++) {
          const image = ranked[i]!;
          if (isShielded.has(image.digest)) continue;
          const acts = i >= n;
          outcomes.set(image.digest, {
            rule,
            acts,
            why: acts
              ? `${label} keeps the ${n} newest of ${total} matching images; this is number ${i + 1}`
              : `${label} keeps the ${n} newest; this is number ${i + 1} of ${total}`,
          });
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
        for (const image of matched) {
          if (isShielded.has(image.digest)) continue;
          const ref =
            sel.countType === 'sinceImagePushed'
              ? activeSince(image)
              : sel.countType === 'sinceImagePulled'
                ? pullReference(image)
                : (image.lastArchivedAt ?? activeSince(image));
          const age = now - ref;
          const acts = age > n * DAY_MS;
          outcomes.set(image.digest, {
            rule,
            acts,
            why: `${label}: ${what} ${days(age)} days ago, ${acts ? 'more than' : 'within'} ${n} days`,
          });
        }
        break;
      }
    }
    for (const image of matched) isShielded.add(image.digest);
  }
  return { outcomes, selections, ranked: rankedSelections };
}

/** Youngest first by activity time; ties broken by digest so plans are deterministic. */
function byYoungest(a: Image, b: Image): number {
  return activeSince(b) - activeSince(a) || (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0);
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
  const images = [...input.images].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  const graph = buildGraph(images, input.indexChildren ?? new Map());
  const warnings: string[] = [];
  if (graph.unknownIndexes.length > 0) {
    warnings.push(
      `${graph.unknownIndexes.length} image index(es) have no manifest, so their children are unknown` +
        (steward ? '; untagged images are kept until the manifests can be read' : ''),
    );
  }

  // In unit mode children and referrers (of subjects that are present) are not ranked: they follow.
  const isFollower = (image: Image): boolean =>
    unitMode && (graph.parents.has(image.digest) || graph.subjects.has(image.digest));
  const population = images.filter((i) => !isFollower(i));
  const { outcomes, selections, ranked } = evaluateRules(input.policy, population, now);
  /** A rule's selection youngest first: count rules come ranked already, the others are sorted once, on demand. */
  const youngestFirst = (priority: number): readonly Image[] => {
    let list = ranked.get(priority);
    if (!list) {
      list = [...(selections.get(priority) ?? [])].sort(byYoungest);
      ranked.set(priority, list);
    }
    return list;
  };

  const work = new Map<string, Working>();
  for (const image of images) {
    const outcome = outcomes.get(image.digest);
    if (outcome?.acts) {
      work.set(image.digest, {
        action: outcome.rule.action.type,
        rule: outcome.rule,
        reasons: [outcome.why],
        protectedBy: [],
      });
    } else {
      const why = outcome
        ? outcome.why
        : isFollower(image)
          ? 'follows its image index or subject'
          : storageClassOf(image)
            ? 'no rule selects it'
            : 'being restored from archive; no rule applies until it is active';
      work.set(image.digest, { action: 'keep', rule: null, reasons: [why], protectedBy: [] });
    }
  }

  // ---- Steward protections. A saved image keeps the rule that would have acted, for the record.
  const hard = hardProtections(steward, input.inUse, images, now);
  const soft = softProtections(steward, population, now);
  const save = (w: Working, found: readonly Found[]): void => {
    for (const [code, reason] of found) {
      if (!w.protectedBy.includes(code)) w.protectedBy.push(code);
      w.reasons.push(reason);
    }
    w.action = 'keep';
  };
  for (const image of population) {
    const w = work.get(image.digest)!;
    if (w.action === 'keep') continue;
    const h = hard.get(image.digest);
    const s = soft.get(image.digest);
    if (h && s) save(w, [...h, ...s]);
    else if (h || s) save(w, (h ?? s)!);
  }
  if (steward && graph.unknownIndexes.length > 0) {
    for (const image of population) {
      const w = work.get(image.digest)!;
      if (w.action !== 'keep' && image.tags.length === 0 && !graph.subjects.has(image.digest)) {
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
      for (const image of selections.get(rule.rulePriority) ?? []) {
        if (work.get(image.digest)!.action === 'keep') survivors++;
      }
      // Usually enough survive already; then the (up to 100,000-image) sort below is not needed at all.
      if (survivors >= keep.count) continue;
      for (const image of youngestFirst(rule.rulePriority)) {
        if (survivors >= keep.count) break;
        const w = work.get(image.digest)!;
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

  // ---- The artifact graph, to a fixed point.
  const fateOf = (digest: string): Working | undefined => work.get(digest);
  const settle = (image: Image, next: Working): boolean => {
    // A follower cannot be archived twice; an archived one has nothing to transition.
    if (next.action === 'transition' && image.status !== 'ACTIVE')
      next = { ...next, action: 'keep', reasons: [...next.reasons, 'already archived'] };
    if (next.action !== 'keep') {
      const found = hard.get(image.digest) ?? [];
      if (found.length > 0) save(next, found);
    }
    const w = work.get(image.digest)!;
    if (w.action === next.action && w.follows === next.follows) return false;
    work.set(image.digest, next);
    return true;
  };
  for (let changed = true, rounds = 0; changed && rounds <= images.length + 1; rounds++) {
    changed = false;
    for (const image of images) {
      const w = work.get(image.digest)!;
      const subject = graph.subjects.get(image.digest);
      const parents = graph.parents.get(image.digest);
      if (unitMode && (subject || parents)) {
        // Unit mode: a follower's fate is its parent's; hard protections still save it.
        let next: Working;
        // A child of a kept index stays whatever its subject's fate (ECR rule 8), so a kept parent wins.
        if (subject && !parents?.some((p) => fateOf(p)!.action === 'keep')) {
          const s = fateOf(subject.digest);
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
          const kept = ps.find((p) => fateOf(p)!.action === 'keep');
          const parent = kept ?? ps.find((p) => fateOf(p)!.action === 'transition') ?? ps[0]!;
          const pw = fateOf(parent)!;
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
        if (settle(image, next)) changed = true;
        continue;
      }
      // ECR's own rules: a child of an index that stays cannot be removed ...
      if (parents && w.action !== 'keep') {
        const kept = parents.find((p) => fateOf(p)!.action === 'keep');
        if (kept) {
          save(w, [['index-child', `child of image index ${short(kept)}, which is kept`]]);
          w.follows = kept;
          changed = true;
          continue;
        }
      }
      // ... and an OCI referrer of a removed subject is removed with it.
      if (subject?.via === 'oci-subject' && w.action === 'keep' && w.protectedBy.length === 0) {
        const s = fateOf(subject.digest);
        if (s && s.action !== 'keep') {
          const next: Working = {
            action: s.action,
            rule: s.rule,
            reasons: [`referrer of ${short(subject.digest)}, which is ${pastTense(s.action)}`],
            protectedBy: [],
            follows: subject.digest,
          };
          if (settle(image, next)) changed = true;
        }
      }
    }
  }

  const decisions: Decision[] = images.map((image) => {
    const w = work.get(image.digest)!;
    return {
      imageDigest: image.digest,
      imageTags: image.tags,
      action: w.action,
      rulePriority: w.rule?.rulePriority ?? null,
      reasons: w.reasons,
      protectedBy: w.protectedBy,
      sizeBytes: image.sizeBytes,
      pushedAt: new Date(image.pushedAt).toISOString(),
      ...(w.follows ? { follows: w.follows } : {}),
    };
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

/** Protections that save any image, including index children and referrers: holds, in use, protected tags. */
function hardProtections(
  steward: StewardPolicy | undefined,
  inUse: InUse | undefined,
  images: readonly Image[],
  now: number,
): Map<string, Found[]> {
  const out = new Map<string, Found[]>();
  const add = (digest: string, f: Found) => {
    const list = out.get(digest);
    if (list) list.push(f);
    else out.set(digest, [f]);
  };
  const byTag = new Map<string, Image>();
  for (const image of images) for (const tag of image.tags) byTag.set(tag, image);

  for (const hold of steward?.holds ?? []) {
    if (hold.expiresAt !== undefined && Date.parse(hold.expiresAt) <= now) continue;
    const target = hold.digest ?? (hold.tag !== undefined ? byTag.get(hold.tag)?.digest : undefined);
    if (!target) continue;
    add(target, [
      'hold',
      `on hold by ${hold.owner}: ${hold.reason}${hold.expiresAt ? ` (until ${hold.expiresAt})` : ''}`,
    ]);
  }
  for (const [digest, where] of inUse?.digests ?? [])
    add(digest, ['in-use', `in use by ${where.join(', ')}`]);
  for (const [tag, where] of inUse?.tags ?? []) {
    const image = byTag.get(tag);
    if (image) add(image.digest, ['in-use', `in use by ${where.join(', ')} (as tag ${tag})`]);
  }
  const selectors = (steward?.protectedTags ?? []).map((s) => ({ s, re: compileTagSelector(s) }));
  if (selectors.length > 0) {
    for (const image of images) {
      for (const { s, re } of selectors) {
        const tag = image.tags.find((t) => re.test(t));
        if (tag !== undefined) {
          add(image.digest, ['protected-tag', `tag ${tag} is protected (${s})`]);
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
  population: readonly Image[],
  now: number,
): Map<string, Found[]> {
  const out = new Map<string, Found[]>();
  if (!steward) return out;
  const add = (digest: string, f: Found) => {
    const list = out.get(digest);
    if (list) list.push(f);
    else out.set(digest, [f]);
  };
  if (steward.keepSemver) {
    const { count, perMajor = false, includePrerelease = false } = steward.keepSemver;
    const releases = population
      .map((image) => ({ image, v: newestRelease(image.tags, includePrerelease) }))
      .filter((r): r is { image: Image; v: semver.SemVer } => r.v !== undefined)
      .sort((a, b) => semver.compare(b.v, a.v) || (a.image.digest < b.image.digest ? -1 : 1));
    const seen = new Map<string, number>();
    for (const { image, v } of releases) {
      const key = perMajor ? String(v.major) : '*';
      const rank = (seen.get(key) ?? 0) + 1;
      seen.set(key, rank);
      if (rank <= count) {
        add(image.digest, [
          'semver',
          `release ${v.version} is one of the ${count} newest releases${perMajor ? ` of major version ${v.major}` : ''}`,
        ]);
      }
    }
  }
  if (steward.minAgeDays !== undefined) {
    for (const image of population) {
      const age = now - activeSince(image);
      if (age < steward.minAgeDays * DAY_MS)
        add(image.digest, [
          'min-age',
          `younger than the minimum age of ${steward.minAgeDays} days (${days(age)} days)`,
        ]);
    }
  }
  if (steward.pulledWithinDays !== undefined) {
    for (const image of population) {
      if (image.lastPulledAt === undefined) continue;
      const since = now - image.lastPulledAt;
      if (since < steward.pulledWithinDays * DAY_MS)
        add(image.digest, [
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
