/**
 * The deletion guard: the one answer to "may this image be deleted now?". Every destructive caller (the
 * lifecycle cleanup, the scan gate's removal, the quarantine expiry, and later the due-deletion processor and
 * manual requests) passes its candidates through `guard` and acts only on what it returns as `delete`; in
 * dry-run mode the same checks run and `delete` becomes `plan`. Pure: no SDK, no clock, no environment.
 *
 * The order of the checks is the order of the reasons a person would want to read first: a repository that
 * no selection manages is never touched, whatever else is true; a hold outranks everything a policy says.
 */
import { type RequestView, stateAt } from '../approvals/decide.js';
import { compileTagSelectorTest } from '../lifecycle/match.js';
import type { Hold, InUse } from '../lifecycle/types.js';
import { describeHold, holdOn } from './holds.js';

/** Who asks for a delete. The audit record and the reports name it. */
export type DeletionCaller =
  | 'lifecycle'
  | 'gate-removal'
  | 'quarantine-expiry'
  | 'due-deletion'
  | 'manual'
  /** The deletion of an archived image whose restore window has passed: its notice was given long ago. */
  | 'purge';

export const DELETION_CALLERS: readonly DeletionCaller[] = [
  'lifecycle',
  'gate-removal',
  'quarantine-expiry',
  'due-deletion',
  'manual',
  'purge',
];

/** Why the guard kept an image. The same codes appear in reports and logs. */
export type KeepCode =
  | 'not-managed'
  | 'hold'
  | 'in-use'
  | 'in-use-unavailable'
  | 'protected-tag'
  | 'min-age'
  | 'breaker-open'
  | 'bounds'
  | 'follows-kept'
  /** A notice was given and its time has not come. */
  | 'notice-pending'
  /** Its deletion request waits for an operator's answer. */
  | 'awaiting-approval'
  /** Its deletion request was rejected or expired unanswered: kept (and not asked again for a while). */
  | 'approval-refused'
  /**
   * Its audit record already says DELETED (deleted once, then pushed again): the record, one per digest and
   * repository, cannot announce a second deletion, so none is made (nor a notice of one).
   */
  | 'audit-settled';

export interface GuardCandidate {
  readonly digest: string;
  readonly tags: readonly string[];
  /** Push time, ISO-8601 or epoch ms; an image without one is treated as pushed now (never old enough). */
  readonly pushedAt?: string | number | undefined;
  /**
   * The digest this image goes with (an index for its child, a subject for its referrer): when the guard
   * keeps that one, it keeps this one too, and bounds take the two as one unit.
   */
  readonly follows?: string | undefined;
}

/** The protections of the selection managing the repository that the guard applies to every caller. */
export interface GuardProtections {
  readonly holds?: readonly Hold[] | undefined;
  readonly protectedTags?: readonly string[] | undefined;
  readonly minAgeDays?: number | undefined;
}

export interface GuardContext {
  readonly caller: DeletionCaller;
  readonly mode: 'dry-run' | 'enforce';
  /** The managing selection's protections, or undefined when no selection manages the repository. */
  readonly managed: GuardProtections | undefined;
  /**
   * What is in use in this repository; `unavailable` when a source could not be read (then nothing is
   * deleted: fail safe). Undefined only when the caller is allowed to remove images in use.
   */
  readonly inUse: InUse | 'unavailable' | undefined;
  /** The open breaker covering this repository, if any. */
  readonly breaker?: { readonly scope: string; readonly reason?: string | undefined } | undefined;
  /** How many deletes this call may still make (bounds of the run and of the repository). */
  readonly allowance: number;
  /** Epoch ms. */
  readonly now: number;
  /**
   * The notice period. With `hours` > 0 an image is deleted only once a notice given at least that long ago is
   * due: `scheduled` holds each noticed digest's due time (epoch ms); an image without one is scheduled.
   * @default no notice
   */
  readonly notice?: { readonly hours: number; readonly scheduled: ReadonlyMap<string, number> } | undefined;
  /** Soft delete: `archive` moves a due image to the archive class instead of deleting it. @default off */
  readonly softDelete?: 'archive' | 'off' | undefined;
  /**
   * Approvals. An image whose notice belongs to a request is deleted only once that request is APPROVED; a
   * rejected or expired one keeps it. Without such a request, `needed` (why this run's deletions need an
   * approval) makes the guard schedule the image with `ask`: the caller opens a request for it. @default none
   */
  readonly approval?: GuardApproval | undefined;
  /**
   * Digests whose audit record already says DELETED, with when: pushed again after that deletion. Kept
   * (`audit-settled`). @default none known (the write-ahead still refuses them: safeDelete)
   */
  readonly settled?: ReadonlyMap<string, string> | undefined;
}

export interface GuardApproval {
  /** Why new deletions need an approval, or undefined when they do not. */
  readonly needed?: string | undefined;
  /** The request each noticed image's notice belongs to (AuditRecord.requestId), as read now. */
  readonly requests: ReadonlyMap<string, RequestView>;
  /** Requests recently refused (rejected, expired) per image, newest per image: they keep it until the cooldown ends. */
  readonly refused?: ReadonlyMap<string, RequestView> | undefined;
  /** How long a refused request keeps its images out of a new request (ms). */
  readonly cooldownMs: number;
}

/**
 * - `delete` / `archive`: act now (enforce). `plan`: what a dry run records.
 * - `schedule`: give the notice now; the image may go at `dueAt` (epoch ms), not before.
 * - `keep`: not now, with the code and the reason.
 */
export type GuardDecision =
  | { readonly digest: string; readonly action: 'delete' | 'archive' | 'plan'; readonly reason: string }
  | {
      readonly digest: string;
      readonly action: 'schedule';
      readonly dueAt: number;
      readonly reason: string;
      /** The deletion needs an approval and has no request: the caller opens one for it. */
      readonly ask?: true | undefined;
    }
  | { readonly digest: string; readonly action: 'keep'; readonly code: KeepCode; readonly reason: string };

const HOUR_MS = 3_600_000;

const DAY_MS = 86_400_000;

/**
 * Decides every candidate, in the order given (the caller's deletion order: parents before what follows
 * them). Bounds take whole units: an image and everything that follows it, or none of them.
 */
export function guard(candidates: readonly GuardCandidate[], ctx: GuardContext): GuardDecision[] {
  const selectors = (ctx.managed?.protectedTags ?? []).map((s) => ({ s, test: compileTagSelectorTest(s) }));
  const decisions = new Map<string, GuardDecision>();
  const keep = (digest: string, code: KeepCode, reason: string): GuardDecision => ({
    digest,
    action: 'keep',
    code,
    reason,
  });

  for (const c of candidates) decisions.set(c.digest, firstObjection(c) ?? pass(c));

  // What follows a kept image is kept: ECR refuses to delete a child an index still lists, and a signature
  // whose subject stays must stay with it.
  const byDigest = new Map(candidates.map((c) => [c.digest, c]));
  const rootOf = (c: GuardCandidate): GuardCandidate => {
    let current = c;
    const seen = new Set<string>([c.digest]);
    while (current.follows !== undefined) {
      const parent = byDigest.get(current.follows);
      if (!parent || seen.has(parent.digest)) break;
      seen.add(parent.digest);
      current = parent;
    }
    return current;
  };
  const keptAncestor = (c: GuardCandidate): string | undefined => {
    const seen = new Set<string>([c.digest]);
    for (let p = c.follows; p !== undefined && !seen.has(p); p = byDigest.get(p)?.follows) {
      seen.add(p);
      // An ancestor that stays for now (kept, or only noticed) keeps what goes with it.
      const action = decisions.get(p)?.action;
      if (action === 'keep' || action === 'schedule') return p;
    }
    return undefined;
  };
  for (const c of candidates) {
    const own = decisions.get(c.digest)?.action;
    if (own === 'keep' || own === 'schedule') continue;
    const kept = keptAncestor(c);
    if (kept) decisions.set(c.digest, keep(c.digest, 'follows-kept', `goes with ${kept}, which is kept`));
  }

  // Bounds: whole units in the caller's order while they fit.
  const units = new Map<string, string[]>();
  for (const c of candidates) {
    // Bounds limit what a run destroys; a notice destroys nothing.
    const action = decisions.get(c.digest)?.action;
    if (action === 'keep' || action === 'schedule') continue;
    const root = rootOf(c).digest;
    units.set(root, [...(units.get(root) ?? []), c.digest]);
  }
  let left = Math.max(0, ctx.allowance);
  for (const unit of units.values()) {
    if (unit.length <= left) {
      left -= unit.length;
      continue;
    }
    for (const digest of unit)
      decisions.set(
        digest,
        keep(digest, 'bounds', `over the bounds of this run (${ctx.allowance}): waits for the next run`),
      );
  }
  return candidates.map((c) => decisions.get(c.digest)!);

  function firstObjection(c: GuardCandidate): GuardDecision | undefined {
    if (!ctx.managed)
      return keep(c.digest, 'not-managed', 'not managed: no selection of the config manages it');
    const hold = holdOn(ctx.managed.holds ?? [], c, ctx.now);
    if (hold) return keep(c.digest, 'hold', describeHold(hold));
    if (ctx.inUse === 'unavailable')
      return keep(c.digest, 'in-use-unavailable', 'in-use sources could not be read (fail safe)');
    const where = ctx.inUse ? inUseWhere(ctx.inUse, c) : [];
    if (where.length > 0) return keep(c.digest, 'in-use', `in use by ${where.join(', ')}`);
    for (const { s, test } of selectors) {
      const tag = c.tags.find(test);
      if (tag !== undefined) return keep(c.digest, 'protected-tag', `tag ${tag} is protected (${s})`);
    }
    if (ctx.managed.minAgeDays !== undefined) {
      const pushed = pushedAtMs(c.pushedAt, ctx.now);
      const age = ctx.now - pushed;
      if (age < ctx.managed.minAgeDays * DAY_MS)
        return keep(
          c.digest,
          'min-age',
          `younger than the minimum age of ${ctx.managed.minAgeDays} days (${(age / DAY_MS).toFixed(1)} days)`,
        );
    }
    const deletedAt = ctx.settled?.get(c.digest);
    if (deletedAt !== undefined)
      return keep(
        c.digest,
        'audit-settled',
        `its audit record already says DELETED (${deletedAt}): pushed again since, and a second deletion could not be recorded apart from it — delete it by hand if it must go`,
      );
    const approval = approvalDecision(c);
    if (approval) return approval;
    const notice = noticeDecision(c);
    if (notice) return notice;
    if (ctx.breaker)
      return keep(
        c.digest,
        'breaker-open',
        `breaker open for ${ctx.breaker.scope}${ctx.breaker.reason ? ` (${ctx.breaker.reason})` : ''}`,
      );
    return undefined;
  }

  /**
   * Approvals: an image whose notice belongs to a request waits for the answer (and a refusal keeps it); an
   * image with none is asked for when the run's deletions need an approval. A purge and a dry run do not ask.
   */
  function approvalDecision(c: GuardCandidate): GuardDecision | undefined {
    const a = ctx.approval;
    if (!a || ctx.caller === 'purge' || ctx.mode === 'dry-run') return undefined;
    const request = a.requests.get(c.digest);
    if (request) {
      const state = stateAt(request, ctx.now);
      if (state === 'APPROVED') return undefined;
      if (state === 'PENDING_APPROVAL')
        return keep(
          c.digest,
          'awaiting-approval',
          `awaiting approval of ${request.id} (until ${new Date(request.expiresAt).toISOString()})`,
        );
      return keep(
        c.digest,
        'approval-refused',
        `request ${request.id} ${state === 'REJECTED' ? 'was rejected' : 'expired unanswered'}: kept`,
      );
    }
    const refused = a.refused?.get(c.digest);
    if (refused) {
      const until = (refused.decidedAt ?? refused.expiresAt) + a.cooldownMs;
      if (ctx.now < until)
        return keep(
          c.digest,
          'approval-refused',
          `request ${refused.id} ${stateAt(refused, ctx.now) === 'REJECTED' ? 'was rejected' : 'expired unanswered'}: kept, not asked again before ${new Date(until).toISOString()}`,
        );
    }
    if (!a.needed) return undefined;
    const dueAt = ctx.notice?.scheduled.get(c.digest) ?? ctx.now + (ctx.notice?.hours ?? 0) * HOUR_MS;
    return {
      digest: c.digest,
      action: 'schedule',
      dueAt,
      ask: true,
      reason: `approval needed (${a.needed}): asked; ${ctx.caller} may ${ctx.softDelete === 'archive' ? 'archive' : 'delete'} it at ${new Date(dueAt).toISOString()} at the earliest, once approved`,
    };
  }

  /** The notice period: schedule an image with no notice, keep one whose notice is not due. */
  function noticeDecision(c: GuardCandidate): GuardDecision | undefined {
    // A purge deletes what was archived after its notice; a dry run gives no notice (it records PLANNED).
    if (!ctx.notice || ctx.notice.hours <= 0 || ctx.caller === 'purge' || ctx.mode === 'dry-run')
      return undefined;
    const dueAt = ctx.notice.scheduled.get(c.digest);
    if (dueAt === undefined) {
      const due = ctx.now + ctx.notice.hours * HOUR_MS;
      return {
        digest: c.digest,
        action: 'schedule',
        dueAt: due,
        reason: `notice given: ${ctx.caller} may ${ctx.softDelete === 'archive' ? 'archive' : 'delete'} it at ${new Date(due).toISOString()}`,
      };
    }
    if (dueAt > ctx.now)
      return keep(c.digest, 'notice-pending', `notice given: due at ${new Date(dueAt).toISOString()}`);
    return undefined;
  }

  function pass(c: GuardCandidate): GuardDecision {
    if (ctx.mode === 'dry-run')
      return {
        digest: c.digest,
        action: 'plan',
        reason: `dry-run: ${ctx.caller} would ${ctx.softDelete === 'archive' && ctx.caller !== 'purge' ? 'archive' : 'delete'} it`,
      };
    if (ctx.softDelete === 'archive' && ctx.caller !== 'purge')
      return { digest: c.digest, action: 'archive', reason: `${ctx.caller}: may be archived (soft delete)` };
    return { digest: c.digest, action: 'delete', reason: `${ctx.caller}: may be deleted` };
  }
}

/** Where an image is in use: by its digest, or by one of its tags. */
export function inUseWhere(inUse: InUse, image: { digest: string; tags: readonly string[] }): string[] {
  const byDigest = inUse.digests?.get(image.digest) ?? [];
  const byTag = image.tags.flatMap((t) => (inUse.tags?.get(t) ?? []).map((w) => `${w} (as tag ${t})`));
  return [...byDigest, ...byTag];
}

function pushedAtMs(pushedAt: string | number | undefined, now: number): number {
  if (typeof pushedAt === 'number') return pushedAt;
  const parsed = pushedAt === undefined ? Number.NaN : Date.parse(pushedAt);
  // No (readable) push time: the image counts as pushed now, so a minimum age always keeps it.
  return Number.isFinite(parsed) ? parsed : now;
}
