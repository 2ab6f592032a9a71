/**
 * The pure rules of approvals: when a deletion needs one, who may answer a request, and what an answer does.
 * No SDK, no clock, no environment: the endpoint, the runs and the tests all call these.
 */
import type { ApprovalRequired } from '../config/approval.js';
import { humanBytes } from '../runtime/format.js';
import type {
  CallerIdentity,
  DeletionRequestRecord,
  RefusalCode,
  RequestDecision,
  RequestState,
} from './model.js';
import { matchingPattern, sameParty } from './principals.js';

/** What a run over one repository would remove, to weigh against `approval.required`. */
export interface DeletionSize {
  readonly images: number;
  readonly bytes: number;
  /** The repository's tags, when the config asks by tags (otherwise not read). */
  readonly repositoryTags?: Readonly<Record<string, string>> | undefined;
}

/** Why the deletions need an approval, or undefined when they do not. */
export function approvalNeeded(required: ApprovalRequired, size: DeletionSize): string | undefined {
  if (required === 'never' || size.images === 0) return undefined;
  if (required === 'always') return 'approval.required is "always"';
  const why: string[] = [];
  if (required.overImages !== undefined && size.images > required.overImages)
    why.push(`${size.images} images, over ${required.overImages}`);
  if (required.overBytes !== undefined && size.bytes > required.overBytes)
    why.push(`${humanBytes(size.bytes)}, over ${humanBytes(required.overBytes)}`);
  const tags = required.repositoryTags;
  if (tags && Object.keys(tags).length > 0 && size.repositoryTags) {
    const repoTags = size.repositoryTags;
    if (Object.entries(tags).every(([k, v]) => repoTags[k] === v))
      why.push(
        `repository tagged ${Object.entries(tags)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')}`,
      );
  }
  return why.length > 0 ? why.join('; ') : undefined;
}

/** A request as the deletion guard weighs it. */
export interface RequestView {
  readonly id: string;
  readonly state: RequestState;
  /** Epoch ms. */
  readonly createdAt: number;
  readonly expiresAt: number;
  /** Epoch ms of the answer (approve, reject, expire). */
  readonly decidedAt?: number | undefined;
}

export function requestView(r: DeletionRequestRecord): RequestView {
  return {
    id: r.id,
    state: r.state,
    createdAt: Date.parse(r.createdAt),
    expiresAt: Date.parse(r.expiresAt),
    decidedAt: r.decision ? Date.parse(r.decision.at) : undefined,
  };
}

/**
 * The request that decides each digest of a repository: the newest request (of kind delete) listing it.
 * An older one an image was also in no longer speaks for it.
 */
export function requestsByDigest(requests: readonly DeletionRequestRecord[]): Map<string, RequestView> {
  const out = new Map<string, RequestView>();
  const newestFirst = [...requests]
    .filter((r) => r.kind === 'delete')
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : a.id < b.id ? 1 : -1));
  for (const r of newestFirst) {
    const view = requestView(r);
    for (const image of r.images) if (!out.has(image.digest)) out.set(image.digest, view);
  }
  return out;
}

/** The state a request is in at `now`: a pending one past its expiry is EXPIRED, whether or not it was marked. */
export function stateAt(r: Pick<RequestView, 'state' | 'expiresAt'>, now: number): RequestState {
  return r.state === 'PENDING_APPROVAL' && r.expiresAt <= now ? 'EXPIRED' : r.state;
}

export type Answer =
  | { readonly ok: true; readonly changed: boolean; readonly request: DeletionRequestRecord }
  | { readonly ok: false; readonly code: RefusalCode; readonly message: string };

export interface AnswerInput {
  readonly request: DeletionRequestRecord | undefined;
  readonly id: string;
  readonly action: 'approve' | 'reject';
  readonly caller: CallerIdentity;
  /** The approvers of the request's repository (or the global ones, for a breaker reset). */
  readonly approvers: readonly string[];
  readonly now: Date;
  readonly comment?: string | undefined;
  readonly reason?: string | undefined;
}

const refuse = (code: RefusalCode, message: string): Answer => ({ ok: false, code, message });

/**
 * Answers an approve or reject. Refused, in this order: an unknown request; a caller the approvers do not
 * include (a requester may still withdraw — reject — their own request); an approval by the one who asked
 * (separation of duties); a request already answered otherwise, or expired. Answering again the way it was
 * answered changes nothing and succeeds (idempotent).
 */
export function answer(input: AnswerInput): Answer {
  const { request, caller, action } = input;
  if (!request) return refuse('NotFound', `no request ${input.id}`);
  const now = input.now.getTime();
  const asker = request.requester.type === 'principal' ? request.requester.arn : undefined;
  const own = asker !== undefined && sameParty(caller.arn, asker);
  const approver = matchingPattern(caller.arn, input.approvers) !== undefined;
  const withdrawal = action === 'reject' && own;
  if (!approver && !withdrawal)
    return refuse(
      'NotAnApprover',
      `${caller.arn} may not ${action} ${request.id}: it matches none of the approvers (${input.approvers.join(', ') || 'none configured'})`,
    );
  if (action === 'approve' && own)
    return refuse(
      'SelfApproval',
      `${caller.arn} asked for ${request.id} and may not approve it: another approver must (separation of duties)`,
    );
  const state = stateAt(requestView(request), now);
  const target: RequestState = action === 'approve' ? 'APPROVED' : 'REJECTED';
  if (state === target) return { ok: true, changed: false, request };
  if (state === 'EXPIRED')
    return refuse(
      'Expired',
      `${request.id} expired unanswered at ${request.expiresAt}; its images are kept (a later run asks again if it still plans them)`,
    );
  if (state !== 'PENDING_APPROVAL')
    return refuse(
      'AlreadyDecided',
      `${request.id} is already ${state}${request.decision ? ` (by ${request.decision.by} at ${request.decision.at})` : ''}`,
    );
  const decision: RequestDecision = {
    action,
    by: caller.arn,
    at: input.now.toISOString(),
    ...(input.comment ? { comment: input.comment } : {}),
    ...(action === 'reject'
      ? { reason: input.reason ?? (withdrawal ? 'withdrawn by the requester' : '') }
      : {}),
    ...(caller.sourceIp ? { sourceIp: caller.sourceIp } : {}),
    ...(caller.userAgent ? { userAgent: caller.userAgent } : {}),
  };
  return { ok: true, changed: true, request: { ...request, state: target, decision } };
}

/** The expiry of a pending request whose time has passed (by ECR Steward), or undefined when it is not due. */
export function expire(request: DeletionRequestRecord, now: Date): DeletionRequestRecord | undefined {
  if (request.state !== 'PENDING_APPROVAL' || Date.parse(request.expiresAt) > now.getTime()) return undefined;
  return {
    ...request,
    state: 'EXPIRED',
    decision: {
      action: 'expire',
      by: 'ecr-steward',
      at: now.toISOString(),
      reason: `nobody answered before ${request.expiresAt}`,
    },
  };
}
