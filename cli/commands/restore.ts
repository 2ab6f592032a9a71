import { ECRClient } from '@aws-sdk/client-ecr';
import { EcrRegistry, EcrScanReader } from '../../functions/shared/adapters/ecr.js';
import type { AuditRecord } from '../../functions/shared/audit/records.js';
import { AuditStore } from '../../functions/shared/audit/store.js';
import type { Image } from '../../functions/shared/lifecycle/types.js';
import { CLIENT_DEFAULTS } from '../../functions/shared/runtime/clients.js';
import { auditTableName, callerPrincipal, dynamo, type LiveOptions, region, registryId } from '../aws.js';
import { parseImageRef } from '../refs.js';
import { CliError, EXIT, ExitWith } from '../util.js';

export interface RestoreOptions extends LiveOptions {
  readonly wait?: boolean;
  readonly pollEvery: string;
  readonly timeout: string;
}

/** What became of each tag the audit record says the image carried when it was archived. */
export interface TagOutcome {
  /** Back on the image (PutImage of its own manifest). */
  readonly reapplied: readonly string[];
  /** Still on the image (ECR keeps an archived image's tags unless a push moved them). */
  readonly kept: readonly string[];
  /** Now on another image: a tag names one image, so it stays where it is. */
  readonly taken: readonly { readonly tag: string; readonly digest: string; readonly status: string }[];
  /** Free, but the image is still ACTIVATING: re-applied by a later `restore --wait`. */
  readonly pending: readonly string[];
  /** PutImage refused (e.g. an immutable tag taken in between): the tag and ECR's error. */
  readonly failed: readonly { readonly tag: string; readonly error: string }[];
}

/**
 * Sorts the recorded tags of an image into kept, free and taken, from the repository's current images (every
 * storage class: a tag on an archived image is taken too). Pure, so the rule is testable without ECR.
 */
export function sortTags(
  recorded: readonly string[],
  digest: string,
  images: readonly Pick<Image, 'digest' | 'tags' | 'status'>[],
): { kept: string[]; free: string[]; taken: { tag: string; digest: string; status: string }[] } {
  const owner = new Map<string, Pick<Image, 'digest' | 'status'>>();
  for (const image of images) for (const tag of image.tags) owner.set(tag, image);
  const kept: string[] = [];
  const free: string[] = [];
  const taken: { tag: string; digest: string; status: string }[] = [];
  for (const tag of [...new Set(recorded)].sort()) {
    const on = owner.get(tag);
    if (!on) free.push(tag);
    else if (on.digest === digest) kept.push(tag);
    else taken.push({ tag, digest: on.digest, status: on.status });
  }
  return { kept, free, taken };
}

/** The note a RESTORED record carries: the tags that did not come back, and why. */
export function restoreNote(outcome: TagOutcome): string | undefined {
  const parts = [
    ...outcome.taken.map((t) => `${t.tag} now on ${t.digest}`),
    ...outcome.failed.map((f) => `${f.tag} refused: ${f.error}`),
    ...(outcome.pending.length > 0
      ? [`${outcome.pending.join(', ')} pending until ECR finishes the restore`]
      : []),
  ];
  return parts.length > 0 ? `tags not restored: ${parts.join('; ')}` : undefined;
}

const short = (digest: string) => `${digest.slice(0, 19)}…`;

/** Who made the call: the STS caller ARN, which the RESTORED record names as the principal. */

/** Seconds as `12s`, `3m 05s`. */
function elapsed(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
}

function positiveSeconds(value: string, option: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new CliError(`${option} ${JSON.stringify(value)}: a number of seconds > 0`);
  return n;
}

/** Who deleted the image and why, from its record: what a user asks of a purged image. */
function purgedReport(ref: string, r: AuditRecord): string {
  const by =
    r.actor.type === 'principal'
      ? (r.actor.principal ?? 'an IAM principal')
      : r.actor.type === 'ecr-steward'
        ? `ecr-steward${r.actor.runId ? ` (run ${r.actor.runId})` : ''}`
        : r.actor.type === 'ecr-lifecycle'
          ? `ECR's lifecycle policy${r.actor.rulePriority != null ? ` (rule ${r.actor.rulePriority})` : ''}`
          : 'unknown (no source named who)';
  const why = r.actor.reasons?.length ? r.actor.reasons.join('; ') : (r.note ?? 'no reason recorded');
  return [
    `${ref} was purged: ECR deleted it for good and it cannot be restored.`,
    `  deleted at:  ${r.at}`,
    `  by:          ${by}`,
    `  why:         ${why}`,
    `  tags:        ${r.tags.length > 0 ? r.tags.join(', ') : '(none)'}`,
    ...(r.archivedAt ? [`  archived at: ${r.archivedAt}`] : []),
    `  evidence:    ${r.evidence.join(', ')}`,
    '',
  ].join('\n');
}

/**
 * Finds the record a `REPO:TAG` names: the archived image that carried the tag (one, or the reference is
 * ambiguous), else the newest record of the repository that carried it (a restore in progress, a purge).
 */
async function recordOfTag(
  store: AuditStore,
  repo: { registryId: string; region: string; repository: string },
  tag: string,
): Promise<AuditRecord | undefined> {
  const archived = (await store.open(repo)).filter((r) => r.status === 'ARCHIVED' && r.tags.includes(tag));
  if (archived.length > 1)
    throw new CliError(
      `${repo.repository}:${tag} names ${archived.length} archived images (${archived.map((r) => r.digest).join(', ')}): give REPOSITORY@DIGEST`,
    );
  if (archived[0]) return archived[0];
  const carried = (await store.byRepository(repo, undefined, 10_000)).filter(
    (r) => r.status !== 'PLANNED' && r.tags.includes(tag),
  );
  carried.sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : a.updatedAt > b.updatedAt ? -1 : 0));
  return carried[0];
}

/**
 * What `ecr-steward restore` does. Its options and help are in cli/register/restore.ts, which loads this module
 * only when the command runs.
 */
export async function restoreCommand(image: string, opts: RestoreOptions) {
  const ref = parseImageRef(image);
  const pollMs = positiveSeconds(opts.pollEvery, '--poll-every') * 1000;
  const timeoutMs = positiveSeconds(opts.timeout, '--timeout') * 1000;
  const table = auditTableName(opts);
  const repo = { registryId: await registryId(opts), region: region(), repository: ref.repository };
  const store = new AuditStore(dynamo(), table);
  const client = new ECRClient(CLIENT_DEFAULTS);
  const ecr = new EcrRegistry(client);

  const record =
    ref.digest !== undefined
      ? await store.get({ ...repo, digest: ref.digest })
      : await recordOfTag(store, repo, ref.tag);
  const shown = ref.digest ? `${ref.repository}@${ref.digest}` : `${ref.repository}:${ref.tag}`;
  // A purged image is explained from its record alone: its repository may be gone as well.
  if (record?.status === 'DELETED') {
    process.stdout.write(purgedReport(`${ref.repository}@${record.digest}`, record));
    throw new ExitWith(EXIT.findings);
  }
  if (!(await ecr.describeRepository(ref.repository)))
    throw new CliError(
      `repository ${JSON.stringify(ref.repository)} does not exist in registry ${repo.registryId} (${repo.region})`,
    );
  if (!record)
    throw new CliError(
      ref.digest
        ? `${shown}: ECR Steward has neither archived nor deleted this image; nothing to restore`
        : `${shown}: no image of ${ref.repository} that ECR Steward archived or deleted carried tag ${ref.tag}; nothing to restore`,
    );
  if (record.status !== 'ARCHIVED' && record.status !== 'RESTORED')
    throw new CliError(
      `${ref.repository}@${record.digest} is not archived (audit state ${record.status}); nothing to restore`,
    );
  const digest = record.digest;
  const full = `${ref.repository}@${digest}`;

  let current = await ecr.describeImage(ref.repository, digest);
  if (!current) {
    // The record says archived but ECR has no such image: someone deleted it outside ECR Steward.
    process.stdout.write(
      purgedReport(full, { ...record, note: 'deleted outside ECR Steward after it was archived' }),
    );
    throw new ExitWith(EXIT.findings);
  }
  const firstRestore = record.status === 'ARCHIVED';
  if (firstRestore)
    process.stdout.write(
      `restoring ${full} (archived ${record.archivedAt ?? record.at}${record.purgeAt ? `, purge was due ${record.purgeAt}` : ''})\n`,
    );
  // Who restores is known before ECR is touched: a restore that could not be recorded is not made.
  const principal = await callerPrincipal('restored');
  let status = current.status as string;
  if (status === 'ARCHIVED') {
    status = (await ecr.restoreImage(ref.repository, digest)) ?? 'ACTIVATING';
    // Recorded at once: a restore interrupted while waiting for ECR (Ctrl-C) is still in the audit trail.
    const at = new Date().toISOString();
    await store.record({
      ...repo,
      digest,
      evidence: 'steward-restore',
      status: 'RESTORED',
      at,
      restoredAt: at,
      actor: { type: 'principal', principal },
      note: 'restore started; tags not re-applied yet',
    });
  }

  if (status === 'ACTIVATING' && opts.wait) {
    const started = Date.now();
    while (status === 'ACTIVATING') {
      if (Date.now() - started >= timeoutMs) break;
      process.stderr.write(
        `waiting for ECR: ${ref.repository}@${short(digest)} is ACTIVATING (${elapsed(Date.now() - started)})\n`,
      );
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      current = await ecr.describeImage(ref.repository, digest);
      status = current?.status ?? 'GONE';
    }
    if (status === 'GONE') {
      process.stdout.write(purgedReport(full, { ...record, note: 'deleted while it was being restored' }));
      throw new ExitWith(EXIT.findings);
    }
  }

  // The tags: the recorded ones, sorted against every image of the repository now (archived ones included).
  const images = await ecr.listImages(ref.repository);
  const sorted = sortTags(record.tags, digest, images);
  const reapplied: string[] = [];
  const failed: { tag: string; error: string }[] = [];
  const pending = status === 'ACTIVE' ? [] : sorted.free;
  if (status === 'ACTIVE') {
    const reader = new EcrScanReader(client);
    for (const tag of sorted.free) {
      try {
        await reader.addTag(ref.repository, digest, tag);
        reapplied.push(tag);
      } catch (e) {
        failed.push({ tag, error: `${(e as Error).name}: ${(e as Error).message}` });
      }
    }
  }
  const outcome: TagOutcome = { reapplied, kept: sorted.kept, taken: sorted.taken, pending, failed };

  const now = new Date().toISOString();
  const note = restoreNote(outcome);
  await store.record({
    ...repo,
    digest,
    evidence: 'steward-restore',
    status: 'RESTORED',
    at: now,
    // The record keeps the first restore's time (set when the restore started, or now).
    actor: { type: 'principal', principal },
    note: note ?? 'every recorded tag is back on the image',
  });

  const lines: string[] = [];
  if (status === 'ACTIVE') lines.push(`restored ${full}: ACTIVE`);
  else if (status === 'ACTIVATING')
    lines.push(
      opts.wait
        ? `${full} is still ACTIVATING after ${elapsed(timeoutMs)}; run \`ecr-steward restore ${full} --wait\` again`
        : `ECR is restoring ${full} (ACTIVATING; typically up to 20 minutes)`,
    );
  else lines.push(`${full}: ECR reports ${status}`);
  if (reapplied.length > 0) lines.push(`tags re-applied: ${reapplied.join(', ')}`);
  if (sorted.kept.length > 0) lines.push(`tags still on the image: ${sorted.kept.join(', ')}`);
  for (const t of sorted.taken)
    lines.push(
      `tag ${t.tag} not restored: it is now on ${t.digest} (${t.status}), and a tag names one image; move it with docker tag/push if you mean to`,
    );
  for (const f of failed) lines.push(`tag ${f.tag} not restored: ECR refused it (${f.error})`);
  if (pending.length > 0)
    lines.push(
      `tags to re-apply once ECR finishes: ${pending.join(', ')}; run \`ecr-steward restore ${full} --wait\``,
    );
  lines.push(`recorded RESTORED in ${table} (by ${principal})`);
  process.stdout.write(`${lines.join('\n')}\n`);
  if (status !== 'ACTIVE' && opts.wait) throw new ExitWith(EXIT.findings);
}
