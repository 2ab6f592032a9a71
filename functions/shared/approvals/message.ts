/**
 * The approvals message: one SNS message per new request, to the approvals topic, with what is asked, by
 * whom, until when, and the exact commands that approve or reject it. Pure.
 */

import type { Notice } from '../governance/notice.js';
import { humanBytes } from '../runtime/format.js';
import { type DeletionRequestRecord, requesterName } from './model.js';

/** Images listed one by one; the rest are counted (far below SNS's 256 KB). */
const LISTED = 25;

export function approvalMessage(r: DeletionRequestRecord, extra: { readonly dueAt?: string } = {}): Notice {
  const what =
    r.kind === 'breaker-reset'
      ? `reset the breaker ${r.scope}`
      : `delete ${r.imageCount} image${r.imageCount === 1 ? '' : 's'} (${humanBytes(r.bytes)}) in ${r.repository}`;
  const lines = [
    `ECR Steward asks for an approval: ${what}.`,
    '',
    `Request:    ${r.id}`,
    `Registry:   ${r.registryId} (${r.region})`,
    ...(r.selection ? [`Selection:  ${r.selection}`] : []),
    `Asked by:   ${requesterName(r.requester)}`,
    `Why:        ${r.reason}`,
    `Expires:    ${r.expiresAt} (unanswered, it expires and ${r.kind === 'delete' ? 'the images are kept' : 'the breaker stays open'})`,
    ...(extra.dueAt ? [`Due:        ${extra.dueAt} at the earliest (the notice period), once approved`] : []),
    '',
    'Approve (any approver but the one who asked):',
    `  ecr-steward approve ${r.id} --comment "<why>"`,
    'Reject:',
    `  ecr-steward reject ${r.id} --reason "<why>"`,
    'Details and history:',
    `  ecr-steward approvals list --state all --format json | jq '.[] | select(.id == "${r.id}")'`,
    `  ecr-steward audit --request ${r.id}`,
  ];
  if (r.kind === 'delete' && r.images.length > 0) {
    lines.push('', 'Images:');
    for (const i of r.images.slice(0, LISTED))
      lines.push(
        `  ${i.digest}  ${i.tags.length > 0 ? i.tags.join(',') : '<untagged>'}  ${humanBytes(i.sizeBytes)}  ${i.reason}`,
      );
    if (r.images.length > LISTED)
      lines.push(`  … and ${r.images.length - LISTED} more (ecr-steward approvals list --format json)`);
  }
  lines.push(
    '',
    'Even once approved, an image is deleted only when its notice is due and it is still planned: a hold, a pull or a new tag still keeps it.',
  );
  const str = (v: string) => ({ DataType: 'String' as const, StringValue: v });
  return {
    subject: `ECR Steward: approval needed to ${what}`.slice(0, 99),
    message: lines.join('\n'),
    attributes: {
      kind: str(r.kind),
      requestId: str(r.id),
      ...(r.repository ? { repository: str(r.repository) } : {}),
      ...(r.selection ? { selection: str(r.selection) } : {}),
    },
  };
}

/** The message to the notices topic when a request expires or is rejected: its images stay. */
export function refusalNotice(r: DeletionRequestRecord): Notice {
  const how = r.state === 'EXPIRED' ? 'expired unanswered' : `was rejected by ${r.decision?.by ?? '?'}`;
  const lines = [
    `Request ${r.id} (${r.kind === 'delete' ? `${r.imageCount} image${r.imageCount === 1 ? '' : 's'} in ${r.repository}` : `reset of ${r.scope}`}) ${how}.`,
    r.kind === 'delete'
      ? 'Its images are kept; a later run that still plans them asks again after the request window.'
      : 'The breaker stays open.',
    ...(r.decision?.reason ? [`Reason: ${r.decision.reason}`] : []),
    `History: ecr-steward audit --request ${r.id}`,
  ];
  const str = (v: string) => ({ DataType: 'String' as const, StringValue: v });
  return {
    subject:
      `ECR Steward: request ${r.id} ${r.state === 'EXPIRED' ? 'expired' : 'rejected'}; nothing is deleted`.slice(
        0,
        99,
      ),
    message: lines.join('\n'),
    attributes: {
      kind: str('request-refused'),
      ...(r.repository ? { repository: str(r.repository) } : {}),
      ...(r.selection ? { selection: str(r.selection) } : {}),
    },
  };
}
