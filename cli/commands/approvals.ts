import {
  type DeletionRequestRecord,
  REQUEST_ID,
  REQUEST_STATES,
  type RequestState,
  requesterName,
} from '../../functions/shared/approvals/model.js';
import { humanBytes } from '../../functions/shared/runtime/format.js';
import { parseRepositoryName } from '../refs.js';
import { connectApprovals, type DecisionAnswer, type EndpointOptions, EndpointRefusal } from '../signed.js';
import { CliError, EXIT, ExitWith } from '../util.js';

/** Statuses whose refusal is a finding about the request or the caller (exit 1), not bad input (exit 2). */
const REFUSED_AS_FINDING = new Set([403, 409, 422]);

/**
 * Runs a call to the endpoint and turns a refusal into the CLI's answer: `refused (<code>): <message>` on
 * stderr, exit 1 when the endpoint refused the caller or the request's state (403, 409, 422), exit 2 when
 * it refused the input (400 bad request, 404 no such request).
 */
export async function orRefused<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (e) {
    if (!(e instanceof EndpointRefusal)) throw e;
    process.stderr.write(`refused (${e.code}): ${e.message}\n`);
    throw new ExitWith(REFUSED_AS_FINDING.has(e.status) ? EXIT.findings : EXIT.badInput);
  }
}

/**
 * Checks a free-text option the endpoint records and the messages quote (`--reason`, `--comment`): one
 * printable line. `why` completes "say …" in the message for a missing or empty one.
 */
export function parseLine(value: string | undefined, option: string, why: string): string {
  if (value === undefined) throw new CliError(`${option} is required: say ${why}`);
  const text = value.trim();
  if (text === '') throw new CliError(`${option} is empty: say ${why}`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused.
  if (/[\u0000-\u001f\u007f]/.test(text))
    throw new CliError(`${option}: one line of text, without line breaks or control characters`);
  return text;
}

/** Checks a request id before any call: a typo exits 2 here instead of costing a signed round trip. */
export function parseRequestId(value: string): string {
  if (!REQUEST_ID.test(value))
    throw new CliError(
      `${JSON.stringify(value)}: not a request id (e.g. req-20260601T120000-k3x9qa; \`ecr-steward approvals list\` shows them)`,
    );
  return value;
}

/** `3 images, 1.20 GiB in team/app` or `reset of breaker registry`: what a request asks, in one phrase. */
export function requestSummary(r: DeletionRequestRecord): string {
  if (r.kind === 'breaker-reset') return `reset of breaker ${r.scope ?? '(no scope)'}`;
  return `${r.imageCount} ${r.imageCount === 1 ? 'image' : 'images'}, ${humanBytes(r.bytes)} in ${r.repository ?? '(no repository)'}`;
}

/** The lines that tell the requester what happens next: who answers, and with which commands. */
export function answerCommands(r: DeletionRequestRecord): string {
  return [
    `created ${r.id} (${requestSummary(r)}): ${r.state} until ${r.expiresAt}; an approver other than you answers with`,
    `  ecr-steward approve ${r.id} [--comment TEXT]`,
    `  ecr-steward reject ${r.id} --reason TEXT`,
    '',
  ].join('\n');
}

const PAST: Readonly<Record<'approve' | 'reject', string>> = { approve: 'approved', reject: 'rejected' };
const STATE_OF: Readonly<Record<'approve' | 'reject', RequestState>> = {
  approve: 'APPROVED',
  reject: 'REJECTED',
};

/**
 * What an approve or reject did, in one line: the decision, the request's summary and who decided, then what
 * follows from it; or that the request already carried that decision (the endpoint answers `changed: false`).
 */
export function describeDecision(action: 'approve' | 'reject', answer: DecisionAnswer): string {
  const r = answer.request;
  const by = r.decision?.by ?? 'an unnamed caller';
  const summary = requestSummary(r);
  if (r.state !== STATE_OF[action]) return `${r.id} is ${r.state} (${summary}); nothing changed`;
  const why = action === 'reject' && r.decision?.reason ? `: ${r.decision.reason}` : '';
  if (!answer.changed)
    return `${r.id} was already ${PAST[action]} by ${by} at ${r.decision?.at ?? '(unknown time)'} (${summary})${why}; nothing changed`;
  const next =
    action === 'approve'
      ? r.kind === 'breaker-reset'
        ? 'the breaker is reset'
        : 'the images go once their notice is due (a hold or a new pull still keeps an image)'
      : r.kind === 'breaker-reset'
        ? 'the breaker stays as it is'
        : 'its images are kept';
  return `${PAST[action]} ${r.id} (${summary}) by ${by}${why}; ${next}`;
}

/** ISO times without milliseconds: a table row is long enough. */
const shortTime = (iso: string) => iso.replace(/\.\d{3}Z$/, 'Z');

/**
 * `approvals list` as text: one aligned row per request, with a DECIDED BY column when some request has
 * been decided (approved, rejected, or expired by ECR Steward).
 */
export function formatRequests(
  requests: readonly DeletionRequestRecord[],
  state: RequestState | 'all',
): string {
  if (requests.length === 0) return state === 'all' ? 'no requests\n' : `no requests ${state}\n`;
  const decided = requests.some((r) => r.decision !== undefined);
  const header = [
    'ID',
    'STATE',
    'REPOSITORY/SCOPE',
    'IMAGES',
    'BYTES',
    'REQUESTER',
    'CREATED',
    'EXPIRES',
    ...(decided ? ['DECIDED BY'] : []),
  ];
  const rows = requests.map((r) => [
    r.id,
    r.state,
    r.kind === 'breaker-reset' ? `breaker ${r.scope ?? ''}` : (r.repository ?? ''),
    r.kind === 'breaker-reset' ? '-' : String(r.imageCount),
    r.kind === 'breaker-reset' ? '-' : humanBytes(r.bytes),
    requesterName(r.requester),
    shortTime(r.createdAt),
    shortTime(r.expiresAt),
    ...(decided ? [r.decision?.by ?? '-'] : []),
  ]);
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((row) => (row[i] ?? '').length)));
  const line = (row: readonly string[]) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n`;
}

/** Parses `--state`: a request state (any case) or `all`. */
export function parseStateFilter(value: string): RequestState | 'all' {
  if (value.toLowerCase() === 'all') return 'all';
  const state = REQUEST_STATES.find((s) => s === value.toUpperCase());
  if (!state)
    throw new CliError(`--state ${JSON.stringify(value)}: use one of ${REQUEST_STATES.join(', ')} or all`);
  return state;
}

export interface ListOptions extends EndpointOptions {
  readonly state: string;
  readonly repository?: string;
  readonly format: string;
}

export interface DecideOptions extends EndpointOptions {
  readonly comment?: string;
  readonly reason?: string;
}

/**
 * What `ecr-steward approvals list` does. Its options and help are in cli/register/approvals.ts, which loads this module
 * only when the command runs.
 */
export async function approvalsListCommand(opts: ListOptions) {
  const state = parseStateFilter(opts.state);
  const repository =
    opts.repository === undefined ? undefined : parseRepositoryName(opts.repository, '--repository');
  if (opts.format !== 'table' && opts.format !== 'json')
    throw new CliError(`--format ${JSON.stringify(opts.format)}: use table or json`);
  const client = await connectApprovals(opts);
  const requests = await orRefused(client.list({ state, repository }));
  process.stdout.write(
    opts.format === 'json' ? `${JSON.stringify(requests, null, 2)}\n` : formatRequests(requests, state),
  );
}

/**
 * What `ecr-steward approve` does. Its options and help are in cli/register/approvals.ts, which loads this module
 * only when the command runs.
 */
export async function approveCommand(idArg: string, opts: DecideOptions) {
  const id = parseRequestId(idArg);
  const comment = opts.comment === undefined ? undefined : parseLine(opts.comment, '--comment', 'why');
  const client = await connectApprovals(opts);
  const answer = await orRefused(client.approve(id, { comment }));
  process.stdout.write(`${describeDecision('approve', answer)}\n`);
}

/**
 * What `ecr-steward reject` does. Its options and help are in cli/register/approvals.ts, which loads this module
 * only when the command runs.
 */
export async function rejectCommand(idArg: string, opts: DecideOptions) {
  const id = parseRequestId(idArg);
  const reason = parseLine(opts.reason, '--reason', 'why the request is rejected');
  const client = await connectApprovals(opts);
  const answer = await orRefused(client.reject(id, { reason }));
  process.stdout.write(`${describeDecision('reject', answer)}\n`);
}
