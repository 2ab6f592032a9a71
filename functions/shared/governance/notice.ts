/**
 * The deletion notice: one SNS message per repository per run that tells the owning team what will be archived
 * or deleted, when, why, and the exact command that keeps an image or the whole repository. Pure: the cleanup
 * worker publishes what this returns; the stack's filtered subscriptions rely on its message attributes.
 */
import { humanBytes } from '../runtime/format.js';

/** One image a notice announces. */
export interface NoticeImage {
  readonly digest: string;
  readonly tags: readonly string[];
  /** ISO-8601; shown as `unknown` when absent. */
  readonly pushedAt?: string;
  /** ISO-8601; ECR reports no pull time for an image never pulled (or not since pull times are recorded). */
  readonly lastPulledAt?: string;
  readonly sizeBytes: number;
  /** Why the image is planned (the plan's reason, e.g. the lifecycle rule that expires it). */
  readonly reason: string;
  /**
   * A hold on one of the image's tags exists or existed: the notice then says that a tag hold follows the tag
   * (it keeps whichever image carries the tag at the due time), not this image.
   */
  readonly heldTagFollows?: boolean;
}

/** What one notice is about. */
export interface NoticeInput {
  readonly registryId: string;
  readonly region: string;
  readonly repository: string;
  /** The label of the selection managing the repository (`selectionLabel`); subscribers filter on it. */
  readonly selection?: string;
  /** The owning team, when the config names one; subscribers filter on it. */
  readonly team?: string;
  /** ISO-8601: nothing is archived or deleted before this time. */
  readonly dueAt: string;
  readonly runId: string;
  readonly images: readonly NoticeImage[];
  /** What the due deletion does: archive (restorable until the purge) or delete. */
  readonly softDelete: 'archive' | 'off';
  /** Days an archived image stays restorable (`governance.softDelete.purgeAfterDays`); said when given. */
  readonly purgeAfterDays?: number;
  /** Set when the deletions would cross a delete-rate threshold at the due time; printed as a warning. */
  readonly thresholdWarning?: string;
}

/** An SNS string message attribute. */
export interface NoticeAttribute {
  readonly DataType: 'String';
  readonly StringValue: string;
}

/** What the worker passes to SNS Publish: `Subject`, `Message` and `MessageAttributes`. */
export interface Notice {
  readonly subject: string;
  readonly message: string;
  readonly attributes: Record<string, NoticeAttribute>;
}

/** Images listed one by one; the rest are counted (a notice stays readable and far below SNS's 256 KB). */
export const NOTICE_LISTED_IMAGES = 50;
/** SNS refuses a subject of 100 characters or more. */
export const NOTICE_SUBJECT_MAX = 99;

/**
 * The label a selection goes by in notices and in the notices topic's filter policies: its `name`, or
 * `selections[<index>]` when it has none. The stack and the worker both use this, so a team's filtered
 * subscription and the `selection` attribute of its notices always agree.
 */
export function selectionLabel(selection: { readonly name?: string | undefined }, index: number): string {
  return selection.name ?? `selections[${index}]`;
}

/** The SNS notice for the images of one repository that one run scheduled for deletion. */
export function noticeMessage(input: NoticeInput): Notice {
  const { repository, images } = input;
  const total = images.reduce((sum, i) => sum + i.sizeBytes, 0);
  const verb = input.softDelete === 'archive' ? 'archived' : 'deleted';
  const due = isoSeconds(input.dueAt);
  const count = plural(images.length, 'image');

  const lines: string[] = [
    `ECR Steward will ${input.softDelete === 'archive' ? 'archive' : 'delete'} ${count} (${humanBytes(total)}) of the repository ${repository}, not before ${due}.`,
    '',
    `Repository: ${repository}`,
    `Registry:   ${input.registryId} (${input.region})`,
    ...(input.selection ? [`Selection:  ${input.selection}`] : []),
    ...(input.team ? [`Team:       ${input.team}`] : []),
    `Images:     ${images.length} (${humanBytes(total)} in total)`,
    `Due:        ${due}`,
    `Run:        ${input.runId}`,
    '',
    `What happens then: ECR Steward plans the repository again with its images, config, holds and running images of that time. ${whatHappens(input)} An image that is no longer planned, is held or is in use is kept, and its notice is cancelled.`,
  ];
  if (input.thresholdWarning) lines.push('', `Warning: ${input.thresholdWarning}`);

  lines.push('', `Images (${images.length}):`);
  for (const image of images.slice(0, NOTICE_LISTED_IMAGES)) lines.push(...imageLines(repository, image));
  const rest = images.slice(NOTICE_LISTED_IMAGES);
  if (rest.length > 0) {
    const restBytes = rest.reduce((sum, i) => sum + i.sizeBytes, 0);
    lines.push(
      `...and ${plural(rest.length, 'more image')} (${humanBytes(restBytes)}) not listed here; \`npx ecr-steward audit --repository ${repository}\` lists them all.`,
    );
  }

  lines.push(
    '',
    'To keep the whole repository:',
    `  npx ecr-steward hold add ${repository} --reason "<why>"`,
    `A hold on a tag follows the tag: it keeps whichever image carries the tag at the due time. Holds are listed with \`npx ecr-steward hold list ${repository}\` and ended with \`npx ecr-steward hold remove <id>\`.`,
  );

  const attributes: Record<string, NoticeAttribute> = { repository: attribute(repository) };
  if (input.selection) attributes.selection = attribute(input.selection);
  if (input.team) attributes.team = attribute(input.team);
  return { subject: subject(input, verb), message: `${lines.join('\n')}\n`, attributes };
}

function whatHappens(input: NoticeInput): string {
  if (input.softDelete === 'archive') {
    const days =
      input.purgeAfterDays === undefined ? 'until the purge' : `for ${plural(input.purgeAfterDays, 'day')}`;
    return `Each image still planned, not held and not in use is moved to ECR's archive storage class; it can be restored ${days} with \`npx ecr-steward restore ${input.repository}@<digest>\`, then it is deleted for good.`;
  }
  return "Each image still planned, not held and not in use is deleted. ECR keeps no copy: the audit record keeps the image's manifest, media type and tags, which prove what was there but cannot bring it back.";
}

function imageLines(repository: string, image: NoticeImage): string[] {
  const tags = image.tags.length > 0 ? image.tags.join(', ') : '(untagged)';
  const pushed = image.pushedAt ? isoSeconds(image.pushedAt) : 'unknown';
  const pulled = image.lastPulledAt ? isoSeconds(image.lastPulledAt) : 'never recorded';
  const out = [
    `- ${image.digest}`,
    `  tags: ${tags} | pushed: ${pushed} | last pulled: ${pulled} | size: ${humanBytes(image.sizeBytes)}`,
    `  reason: ${image.reason}`,
    `  keep this image: npx ecr-steward hold add ${repository} --digest ${image.digest} --reason "<why>"`,
  ];
  const tag = image.tags[0];
  if (tag !== undefined)
    out.push(`  keep by tag:     npx ecr-steward hold add ${repository} --tag ${tag} --reason "<why>"`);
  if (image.heldTagFollows)
    out.push(
      '  note: a hold on a tag follows the tag, not this image: it keeps whichever image carries the tag at the due time.',
    );
  return out;
}

/**
 * `ECR Steward: 3 images of services/api to be archived after 2025-06-02 14:00 UTC`, shortened to SNS's limit by
 * eliding the middle of a long repository name. The time is the due time to the minute, rounded down, so
 * "after" stays true. ASCII only, no line breaks, as SNS requires.
 */
function subject(input: NoticeInput, verb: string): string {
  const ms = Date.parse(input.dueAt);
  const when = Number.isNaN(ms)
    ? input.dueAt
    : `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const make = (repo: string) =>
    `ECR Steward: ${plural(input.images.length, 'image')} of ${repo} to be ${verb} after ${when}`;
  const full = make(input.repository);
  if (full.length <= NOTICE_SUBJECT_MAX) return full;
  const budget = Math.max(NOTICE_SUBJECT_MAX - make('').length, 5);
  const head = Math.ceil((budget - 3) / 2);
  const tail = budget - 3 - head;
  const repo = `${input.repository.slice(0, head)}...${tail > 0 ? input.repository.slice(-tail) : ''}`;
  return make(repo).slice(0, NOTICE_SUBJECT_MAX);
}

const attribute = (value: string): NoticeAttribute => ({ DataType: 'String', StringValue: value });

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** An ISO-8601 time without milliseconds (`2025-06-02T14:00:00Z`); the text as given when it is not a time. */
function isoSeconds(value: string): string {
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? value : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
