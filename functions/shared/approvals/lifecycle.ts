/**
 * The steps of a request's life that touch the world: opening one (stored, audited, announced), and expiring
 * the unanswered ones. Used by the runs (planned deletions), the endpoint (manual requests) and the due-deletion
 * processor (expiry), through the narrow ports below.
 */
import { randomBytes } from 'node:crypto';
import type { Notice } from '../governance/notice.js';
import { newHoldId } from '../holds/store.js';
import { type RequestEvent, requestEvent } from './audit.js';
import { expire } from './decide.js';
import { approvalMessage, refusalNotice } from './message.js';
import type { DeletionRequestRecord } from './model.js';
import type { RequestsStore } from './store.js';

export interface ApprovalPorts {
  readonly requests: Pick<
    RequestsStore,
    'create' | 'get' | 'answer' | 'markAnnounced' | 'list' | 'forRepository'
  >;
  readonly recordEvent: (event: RequestEvent) => Promise<unknown>;
  /** Publishes on the approvals topic. */
  readonly publishApproval: (message: Notice) => Promise<void>;
  /** Publishes on the notices topic (an expiry tells the teams their images stay). @default not told */
  readonly publishNotice?: ((message: Notice) => Promise<void>) | undefined;
}

/** `req-<yyyymmddThhmmss>-<6 base32>`: the hold id's grammar with a prefix (a collision fails the conditional put). */
export function newRequestId(now: Date, random: (n: number) => Uint8Array = randomBytes): string {
  return `req-${newHoldId(now, random)}`;
}

/** What opening a request is given: the record's own fields, and what the store and the message derive from. */
export interface NewRequest
  extends Pick<
    DeletionRequestRecord,
    | 'kind'
    | 'registryId'
    | 'region'
    | 'repository'
    | 'scope'
    | 'selection'
    | 'images'
    | 'reason'
    | 'requester'
  > {
  readonly now: Date;
  readonly expiresAfterHours: number;
  /** The earliest time its images may go once approved (said in the message). */
  readonly dueAt?: string | undefined;
  /** Where a person's request came from (the signed call), for its `create` event. */
  readonly sourceIp?: string | undefined;
  readonly userAgent?: string | undefined;
}

/** Reasons are kept short in the request item (DynamoDB items are at most 400 KB). */
const REASON_CHARS = 300;

/**
 * Opens a request: stored (conditional put), audited (`create`), then announced on the approvals topic and
 * marked announced. A failure after the put leaves a stored request that is not yet announced; it is pending
 * all the same (nothing is deleted for it), and `announcePending` sends what was missed.
 */
export async function openRequest(input: NewRequest, ports: ApprovalPorts): Promise<DeletionRequestRecord> {
  let request: DeletionRequestRecord | undefined;
  for (let attempt = 0; attempt < 5 && !request; attempt++) {
    const candidate: DeletionRequestRecord = {
      id: newRequestId(input.now),
      kind: input.kind,
      state: 'PENDING_APPROVAL',
      registryId: input.registryId,
      region: input.region,
      repository: input.repository,
      scope: input.scope,
      selection: input.selection,
      images: input.images.map((i) => ({ ...i, reason: i.reason.slice(0, REASON_CHARS) })),
      imageCount: input.images.length,
      bytes: input.images.reduce((n, i) => n + i.sizeBytes, 0),
      reason: input.reason.slice(0, 2000),
      requester: input.requester,
      createdAt: input.now.toISOString(),
      expiresAt: new Date(input.now.getTime() + input.expiresAfterHours * 3_600_000).toISOString(),
    };
    if (await ports.requests.create(candidate)) request = candidate;
  }
  if (!request) throw new Error('could not allocate a request id after 5 attempts');
  const by = input.requester.type === 'principal' ? input.requester.arn : 'ecr-steward';
  await ports.recordEvent(
    requestEvent(request, {
      requestId: request.id,
      action: 'create',
      outcome: 'allowed',
      principal: by,
      sourceIp: input.sourceIp,
      userAgent: input.userAgent,
      at: input.now.toISOString(),
      note: request.reason,
    }),
  );
  await ports.publishApproval(approvalMessage(request, { dueAt: input.dueAt }));
  const announcedAt = input.now.toISOString();
  await ports.requests.markAnnounced(request.id, announcedAt);
  return { ...request, announcedAt };
}

/**
 * The expiry: every pending request whose time has passed becomes EXPIRED (conditional: an answer that came
 * first wins), is audited, and the notices topic is told its images stay. Returns the requests it expired.
 * Pending requests never announced (a failure after their put) are announced here too.
 */
export async function expireRequests(now: Date, ports: ApprovalPorts): Promise<DeletionRequestRecord[]> {
  const pending = await ports.requests.list({ state: 'PENDING_APPROVAL', limit: 10_000 });
  const expired: DeletionRequestRecord[] = [];
  for (const r of pending) {
    const next = expire(r, now);
    if (!next) {
      if (!r.announcedAt) {
        await ports.publishApproval(approvalMessage(r));
        await ports.requests.markAnnounced(r.id, now.toISOString());
      }
      continue;
    }
    // The event first (write-ahead): a failure after the state change would otherwise leave an expiry nobody
    // recorded, since a retry no longer finds the request pending. A retry may record it twice, never not at all.
    await ports.recordEvent(
      requestEvent(next, {
        requestId: next.id,
        action: 'expire',
        outcome: 'allowed',
        principal: 'ecr-steward',
        at: now.toISOString(),
        note: next.decision?.reason,
        changed: true,
      }),
    );
    if (!(await ports.requests.answer(next))) {
      await ports.recordEvent(
        requestEvent(r, {
          requestId: r.id,
          action: 'expire',
          outcome: 'refused',
          code: 'AlreadyDecided',
          principal: 'ecr-steward',
          at: now.toISOString(),
          note: 'answered before the expiry landed: not expired',
        }),
      );
      continue;
    }
    await ports.publishNotice?.(refusalNotice(next));
    expired.push(next);
  }
  return expired;
}
