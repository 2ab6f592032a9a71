/**
 * Deletion requests and the approvals endpoint's contract: the names the core, the store, the endpoint, the
 * CLI and the audit trail share. A request's state name (`PENDING_APPROVAL`, `APPROVED`, `REJECTED`,
 * `EXPIRED`) is the same in the requests table, the audit table, the endpoint's JSON and the CLI's output.
 *
 * The endpoint (a Lambda function URL, AuthType AWS_IAM; every call SigV4-signed, service `lambda`):
 *
 * | call | body | answer |
 * |---|---|---|
 * | `POST /requests` | `{"kind":"delete","repository":R,"digests":[D…],"reason":T}` or `{"kind":"breaker-reset","scope":S,"reason":T}` | 201 `{"request":…}` |
 * | `POST /requests/{id}/approve` | `{"comment"?:T}` | 200 `{"request":…,"changed":bool}` |
 * | `POST /requests/{id}/reject` | `{"reason":T}` | 200 `{"request":…,"changed":bool}` |
 * | `GET /requests?state=PENDING_APPROVAL&repository=R` | — | 200 `{"requests":[…]}` |
 * | `GET /requests/{id}` | — | 200 `{"request":…}` |
 *
 * Refusals are JSON `{"error":{"code":C,"message":M}}` with the status of `REFUSAL_STATUS[C]`.
 */

/** The life of a request: created PENDING_APPROVAL; then APPROVED, REJECTED or (unanswered) EXPIRED. */
export const REQUEST_STATES = ['PENDING_APPROVAL', 'APPROVED', 'REJECTED', 'EXPIRED'] as const;
export type RequestState = (typeof REQUEST_STATES)[number];

/** What a request asks for: deleting images of one repository, or resetting a breaker. */
export type RequestKind = 'delete' | 'breaker-reset';

export interface RequestImage {
  readonly digest: string;
  readonly tags: readonly string[];
  readonly sizeBytes: number;
  /** Why it is to go (the rule that expired it, or the person's reason). */
  readonly reason: string;
}

/** Who asked: a run of ECR Steward (a planned deletion) or a person (the signed caller's ARN). */
export type Requester =
  | { readonly type: 'ecr-steward'; readonly runId: string }
  | { readonly type: 'principal'; readonly arn: string };

/** The answer given to a request, with who gave it (a principal, or `ecr-steward` for an expiry). */
export interface RequestDecision {
  readonly action: 'approve' | 'reject' | 'expire';
  readonly by: string;
  readonly at: string;
  readonly comment?: string | undefined;
  readonly reason?: string | undefined;
  readonly sourceIp?: string | undefined;
  readonly userAgent?: string | undefined;
}

export interface DeletionRequestRecord {
  /** `req-<yyyymmddThhmmss>-<6 base32>` (REQUEST_ID). */
  readonly id: string;
  readonly kind: RequestKind;
  readonly state: RequestState;
  readonly registryId: string;
  readonly region: string;
  /** The repository whose images are to go (kind `delete`). */
  readonly repository?: string | undefined;
  /** The breaker scope to reset (kind `breaker-reset`): a BreakerScope, `registry` or `repository:<name>`. */
  readonly scope?: string | undefined;
  /** The selection managing the repository, as the notices name it. */
  readonly selection?: string | undefined;
  readonly images: readonly RequestImage[];
  readonly imageCount: number;
  readonly bytes: number;
  /** Why it was asked: the person's reason, or a summary of the run's plan. */
  readonly reason: string;
  readonly requester: Requester;
  readonly createdAt: string;
  /** After this instant a pending request can no longer be approved: it is (or becomes) EXPIRED. */
  readonly expiresAt: string;
  readonly decision?: RequestDecision | undefined;
  /** When the approvals message was published (a request created but not yet announced is announced again). */
  readonly announcedAt?: string | undefined;
}

/** The identity of a signed call, from the function URL's `requestContext.authorizer.iam` (never from the body). */
export interface CallerIdentity {
  /** `userArn`: an IAM user, or an STS assumed-role session (`arn:aws:sts::<acct>:assumed-role/<role>/<session>`). */
  readonly arn: string;
  readonly accountId?: string | undefined;
  readonly userId?: string | undefined;
  readonly sourceIp?: string | undefined;
  readonly userAgent?: string | undefined;
}

/** Why a call was refused; each has one HTTP status. */
export type RefusalCode =
  | 'BadRequest'
  | 'Unsigned'
  | 'InvalidSignature'
  /** The function URL's resource policy grants the signer no `lambda:InvokeFunctionUrl` (refused before the function runs). */
  | 'AccessDenied'
  | 'NotAnApprover'
  | 'NotARequester'
  | 'SelfApproval'
  | 'NotFound'
  | 'Expired'
  | 'AlreadyDecided'
  | 'NotManaged';

export const REFUSAL_STATUS: Readonly<Record<RefusalCode, number>> = {
  BadRequest: 400,
  Unsigned: 403,
  InvalidSignature: 403,
  AccessDenied: 403,
  NotAnApprover: 403,
  NotARequester: 403,
  SelfApproval: 403,
  NotFound: 404,
  Expired: 409,
  AlreadyDecided: 409,
  NotManaged: 422,
};

export const REQUEST_ID = /^req-\d{8}T\d{6}-[0-9a-hjkmnp-tv-z]{6}$/;

/** The requester name a planned (policy) request shows: ECR Steward itself. */
export const STEWARD_REQUESTER = 'ecr-steward';

/** How a requester reads in messages and lists. */
export function requesterName(r: Requester): string {
  return r.type === 'principal' ? r.arn : `${STEWARD_REQUESTER} (run ${r.runId})`;
}
