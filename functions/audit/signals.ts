/**
 * Turns each kind of delete signal into candidate deletions. Pure: no AWS calls. A candidate that cannot
 * prove the image is gone (a delete by tag removes only that tag unless it was the last one) is marked
 * `verify`, and the handler asks ECR whether the digest still exists before recording a deletion.
 */
import type { DeleteSignal } from '../shared/audit/records.js';
import { EVENTS } from '../shared/runtime/constants.js';
import {
  type AuditEvent,
  batchDeleteRequest,
  batchDeleteResponse,
  lifecycleServiceDetails,
} from './schema.js';

export interface Candidate {
  readonly signal: DeleteSignal;
  /** True when the signal does not prove the image (not just a tag) is gone. */
  readonly verify: boolean;
}

export type Extraction =
  | {
      readonly kind: 'candidates';
      readonly candidates: readonly Candidate[];
      readonly notes: readonly string[];
    }
  | { readonly kind: 'ignored'; readonly reason: string }
  | { readonly kind: 'malformed'; readonly reason: string };

/** The principal CloudTrail names: the role behind an assumed-role session when there is one. */
export function principalOf(
  identity:
    | {
        arn?: string | undefined;
        invokedBy?: string | undefined;
        sessionContext?: { sessionIssuer?: { arn?: string | undefined } | undefined } | undefined;
      }
    | undefined,
): string | undefined {
  return identity?.sessionContext?.sessionIssuer?.arn ?? identity?.arn ?? identity?.invokedBy;
}

export function extractCandidates(event: AuditEvent): Extraction {
  if (event['detail-type'] === EVENTS.imageAction)
    return fromImageAction(event as Extract<AuditEvent, { 'detail-type': 'ECR Image Action' }>);
  const ct = event as Exclude<AuditEvent, { 'detail-type': 'ECR Image Action' }>;
  const name = ct.detail.eventName;
  if (name === 'PolicyExecutionEvent') return fromLifecycle(ct);
  if (name === 'DryRunEvent')
    return {
      kind: 'ignored',
      reason: 'DryRunEvent records come from lifecycle previews; nothing was deleted',
    };
  if (name === 'BatchDeleteImage') return fromBatchDelete(ct);
  return { kind: 'ignored', reason: `CloudTrail ${name} is not a delete` };
}

function fromImageAction(event: Extract<AuditEvent, { 'detail-type': 'ECR Image Action' }>): Extraction {
  const d = event.detail;
  if (d['action-type'] !== 'DELETE')
    return { kind: 'ignored', reason: `action-type ${d['action-type']} is not a delete` };
  if (d.result !== undefined && d.result !== 'SUCCESS')
    return { kind: 'ignored', reason: `result ${d.result} is not a success` };
  const digest = d['image-digest'];
  if (!digest) return { kind: 'malformed', reason: 'ECR Image Action DELETE without image-digest' };
  return {
    kind: 'candidates',
    notes: [],
    candidates: [
      {
        // AWS does not say whether DELETE is sent per tag or per image: ECR is asked whether the digest is gone.
        verify: true,
        signal: {
          registryId: event.account,
          region: event.region,
          repository: d['repository-name'],
          digest,
          status: 'DELETED',
          evidence: 'image-action-event',
          at: normaliseTime(event.time),
          tags: d['image-tag'] ? [d['image-tag']] : undefined,
          eventId: event.id,
        },
      },
    ],
  };
}

function fromLifecycle(event: Exclude<AuditEvent, { 'detail-type': 'ECR Image Action' }>): Extraction {
  const parsed = lifecycleServiceDetails.safeParse(event.detail.serviceEventDetails);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      kind: 'malformed',
      reason: `PolicyExecutionEvent without usable serviceEventDetails: ${issue ? `${issue.path.join('.')}: ${issue.message}` : ''}`,
    };
  }
  const details = parsed.data;
  const actions = new Map(
    (details.lifecycleEventPolicy?.lifecycleEventRules ?? []).map((r) => [
      r.rulePriority,
      r.action?.toLowerCase(),
    ]),
  );
  const notes = (details.lifecycleEventFailureDetails ?? []).map(
    (f) => `lifecycle failure ${f.failureCode ?? '?'}: ${f.failureReason ?? ''} (not a deletion)`,
  );
  const registryId = event.detail.recipientAccountId ?? event.account;
  const region = event.detail.awsRegion ?? event.region;
  const at = normaliseTime(event.detail.eventTime ?? event.time);
  const candidates: Candidate[] = [];
  for (const action of details.lifecycleEventImageActions ?? []) {
    // A transition (archive) by lifecycle is not a deletion.
    const kind = action.rulePriority === undefined ? undefined : actions.get(action.rulePriority);
    if (kind !== undefined && kind !== 'expire') continue;
    const image = action.lifecycleEventImage;
    candidates.push({
      verify: false,
      signal: {
        registryId,
        region,
        repository: details.repositoryName,
        digest: image.digest,
        status: 'DELETED',
        evidence: 'cloudtrail-lifecycle',
        at,
        tags: image.tagList,
        pushedAt: image.pushedAt !== undefined ? new Date(image.pushedAt).toISOString() : undefined,
        actor: { type: 'ecr-lifecycle', rulePriority: action.rulePriority ?? null },
        eventId: `${event.detail.eventID ?? event.id}#${image.digest}`,
      },
    });
  }
  return { kind: 'candidates', candidates, notes };
}

function fromBatchDelete(event: Exclude<AuditEvent, { 'detail-type': 'ECR Image Action' }>): Extraction {
  if (event.detail.errorCode)
    return {
      kind: 'ignored',
      reason: `BatchDeleteImage failed (${event.detail.errorCode}); nothing was deleted`,
    };
  const request = batchDeleteRequest.safeParse(event.detail.requestParameters);
  if (!request.success)
    return { kind: 'malformed', reason: 'BatchDeleteImage without requestParameters.repositoryName' };
  const response = batchDeleteResponse.safeParse(event.detail.responseElements ?? {});
  if (!response.success)
    return {
      kind: 'malformed',
      reason: `BatchDeleteImage responseElements: ${response.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ')}`,
    };
  const deleted = response.data.imageIds ?? [];
  const byDigest = new Map<string, string[]>();
  for (const id of deleted) {
    if (!id.imageDigest) continue;
    byDigest.set(id.imageDigest, [
      ...(byDigest.get(id.imageDigest) ?? []),
      ...(id.imageTag ? [id.imageTag] : []),
    ]);
  }
  const requestedByDigest = new Set(
    (request.data.imageIds ?? []).filter((i) => i.imageDigest && !i.imageTag).map((i) => i.imageDigest!),
  );
  const principal = principalOf(event.detail.userIdentity);
  const at = normaliseTime(event.detail.eventTime ?? event.time);
  const candidates: Candidate[] = [...byDigest].map(([digest, tags]) => ({
    // A delete by digest removes the image; a delete by tag may only have removed that tag.
    verify: !requestedByDigest.has(digest),
    signal: {
      registryId: request.data.registryId ?? event.detail.recipientAccountId ?? event.account,
      region: event.detail.awsRegion ?? event.region,
      repository: request.data.repositoryName,
      digest,
      status: 'DELETED',
      evidence: 'cloudtrail-batch-delete',
      at,
      tags: tags.length > 0 ? tags : undefined,
      actor: { type: 'principal', principal },
      eventId: `${event.detail.eventID ?? event.id}#${digest}`,
    },
  }));
  return { kind: 'candidates', candidates, notes: [] };
}

function normaliseTime(time: string): string {
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? time : new Date(ms).toISOString();
}
