import { existsSync } from 'node:fs';
import { ECRClient } from '@aws-sdk/client-ecr';
import { EcrRegistry } from '../../functions/shared/adapters/ecr.js';
import { needsRepositoryTags, selectionFor } from '../../functions/shared/config/load.js';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { holdInForce } from '../../functions/shared/deletion/holds.js';
import { HOLD_ID, HOLDS_TABLE_ENV, HoldsStore, type StoredHold } from '../../functions/shared/holds/store.js';
import type { Hold } from '../../functions/shared/lifecycle/types.js';
import { CLIENT_DEFAULTS } from '../../functions/shared/runtime/clients.js';
import {
  auditTableName,
  callerPrincipal,
  DEFAULT_CONFIG_PATH,
  dynamo,
  type LiveOptions,
  loadConfig,
  region,
  registryId,
  resolveRegion,
  tableName,
} from '../aws.js';
import { parseDigest, parseRepositoryName } from '../refs.js';
import { CliError, parseIsoTime } from '../util.js';

export interface HoldOptions extends LiveOptions {
  readonly holdsTable?: string;
  readonly digest?: string;
  readonly tag?: string;
  readonly reason?: string;
  readonly until?: string;
  readonly json?: boolean;
}

const holdsTableName = (o: HoldOptions) => tableName(o.holdsTable, HOLDS_TABLE_ENV, '--holds-table');

/** ECR's tag grammar as `cli/refs.ts` checks it: the OCI characters, at most 300 (API reference, `ImageTag`). */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,299}$/;

const DURATION_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * Parses `--until`: a duration from `now` (`30m`, `12h`, `7d`) or an ISO-8601 date or time with a zone. The
 * result must lie ahead: a hold that has already ended would be written and then never apply.
 */
export function parseUntil(value: string, now: Date): string {
  const m = /^(\d+)([mhd])$/.exec(value);
  let at: Date;
  if (m) {
    const n = Number(m[1]);
    if (n === 0) throw new CliError(`--until ${JSON.stringify(value)}: a hold needs a duration above zero`);
    at = new Date(now.getTime() + n * DURATION_MS[m[2] as keyof typeof DURATION_MS]);
  } else if (/^\d+[a-z]+$/i.test(value)) {
    throw new CliError(
      `--until ${JSON.stringify(value)}: a duration is minutes, hours or days: 30m, 12h, 7d`,
    );
  } else {
    try {
      at = parseIsoTime(value, '--until');
    } catch {
      throw new CliError(
        `--until ${JSON.stringify(value)}: use a duration (30m, 12h, 7d) or an ISO-8601 time with a zone (e.g. 2026-11-01T00:00:00Z)`,
      );
    }
  }
  if (!(at.getTime() > now.getTime()))
    throw new CliError(
      `--until ${JSON.stringify(value)}: ${at.toISOString()} has passed; a hold must end later`,
    );
  return at.toISOString();
}

/** Checks `--reason`: present and one printable line, since it is quoted in plans, notices and the audit. */
export function parseReason(value: string | undefined): string {
  if (value === undefined) throw new CliError('--reason is required: say why the images must stay');
  const reason = value.trim();
  if (reason === '') throw new CliError('--reason is empty: say why the images must stay');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused.
  if (/[\u0000-\u001f\u007f]/.test(reason))
    throw new CliError('--reason: one line of text, without line breaks or control characters');
  return reason;
}

/** `services/orders@sha256:…`, `services/orders:v1 (follows the tag)` or `services/orders (whole repository)`. */
export function holdTarget(repository: string, hold: Pick<Hold, 'digest' | 'tag'>): string {
  if (hold.digest !== undefined) return `${repository}@${hold.digest}`;
  if (hold.tag !== undefined) return `${repository}:${hold.tag} (follows the tag)`;
  return `${repository} (whole repository)`;
}

/** The caller's ARN, which every hold and every hold event names. */

/** One row of `hold list`: a hold of the holds table, or a static hold of the config. */
export type ListedHold =
  | (StoredHold & { readonly source: 'table'; readonly expired: boolean })
  | {
      readonly source: 'config';
      /** The selection's name, or `#<index>` when it has none. */
      readonly selection: string;
      /** The repository asked about, when `hold list REPO`. */
      readonly repository?: string | undefined;
      /** Otherwise the selection's repository globs (absent for a selection by repository tags alone). */
      readonly repositories?: readonly string[] | undefined;
      readonly digest?: string | undefined;
      readonly tag?: string | undefined;
      readonly reason: string;
      readonly owner: string;
      readonly expiresAt?: string | undefined;
      readonly expired: boolean;
    };

/**
 * The config's static holds (`steward.holds`) as `hold list` shows them: those of the selection managing
 * `repository` (given its repository tags when some selection needs them), or of every selection.
 */
export function configHolds(
  config: StewardConfig,
  now: Date,
  repository?: { name: string; tags?: Readonly<Record<string, string>> | undefined },
): ListedHold[] {
  const selections = config.selections.map((s, i) => ({ s, label: s.name ?? `#${i}` }));
  const chosen = repository
    ? selections.filter(({ s }) => s === selectionFor(config, repository.name, repository.tags))
    : selections;
  return chosen.flatMap(({ s, label }) =>
    (s.steward?.holds ?? []).map(
      (h): ListedHold => ({
        source: 'config',
        selection: label,
        ...(repository ? { repository: repository.name } : { repositories: s.repositories }),
        digest: h.digest,
        tag: h.tag,
        reason: h.reason,
        owner: h.owner,
        expiresAt: h.expiresAt,
        expired: !holdInForce(h, now.getTime()),
      }),
    ),
  );
}

/** The config for `hold list`: the one named, else the default file when there is one (it is optional here). */
function listConfig(path: string | undefined): StewardConfig | undefined {
  if (path !== undefined || process.env.ECR_STEWARD_CONFIG) return loadConfig(path);
  return existsSync(DEFAULT_CONFIG_PATH) ? loadConfig(undefined) : undefined;
}

function untilText(expiresAt: string | undefined, expired: boolean): string {
  if (expiresAt === undefined) return 'in force until removed';
  return expired ? `expired ${expiresAt}` : `in force until ${expiresAt}`;
}

/** `hold list` as text: one aligned row per hold. */
export function formatHolds(holds: readonly ListedHold[]): string {
  if (holds.length === 0) return 'no holds\n';
  const rows = holds.map((h) =>
    h.source === 'table'
      ? [h.id, holdTarget(h.repository, h), untilText(h.expiresAt, h.expired), h.principal, h.reason]
      : [
          `config (selection ${h.selection})`,
          holdTarget(h.repository ?? (h.repositories ?? ['(by repository tags)']).join(' '), h),
          untilText(h.expiresAt, h.expired),
          h.owner,
          h.reason,
        ],
  );
  const header = ['ID', 'IMAGE', 'STATUS', 'BY', 'REASON'];
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n`;
}

/**
 * What `ecr-steward hold add` does. Its options and help are in cli/register/hold.ts, which loads this module
 * only when the command runs.
 */
export async function holdAddCommand(repositoryArg: string, opts: HoldOptions) {
  // Every input is checked before any AWS call: bad input writes nothing and exits 2.
  const now = new Date();
  const repository = parseRepositoryName(repositoryArg, 'repository');
  if (opts.digest !== undefined && opts.tag !== undefined)
    throw new CliError('give --digest or --tag, not both (neither: the whole repository)');
  const digest = opts.digest === undefined ? undefined : parseDigest(opts.digest, '--digest');
  if (opts.tag !== undefined && !TAG.test(opts.tag))
    throw new CliError(
      `--tag ${JSON.stringify(opts.tag)}: not an image tag (up to 300 letters, digits, _ . -, not starting with . or -)`,
    );
  const reason = parseReason(opts.reason);
  const expiresAt = opts.until === undefined ? undefined : parseUntil(opts.until, now);
  const holdsTable = holdsTableName(opts);
  const auditTable = auditTableName(opts);

  const registry = await registryId(opts);
  const ecr = new EcrRegistry(new ECRClient(CLIENT_DEFAULTS));
  if (!(await ecr.describeRepository(repository)))
    throw new CliError(
      `repository ${JSON.stringify(repository)} not found in registry ${registry} (${region()})`,
    );
  // A digest must be there now; a tag need not be: a tag hold follows the tag to whatever it will name.
  if (digest !== undefined && !(await ecr.existingDigests(repository, [digest])).has(digest))
    throw new CliError(`--digest ${digest}: no such image in ${repository}`);
  const principal = await callerPrincipal('is changing the hold');

  const store = new HoldsStore(dynamo(), holdsTable, auditTable);
  const added = await store.add(
    {
      registryId: registry,
      region: region(),
      repository,
      ...(digest !== undefined ? { digest } : {}),
      ...(opts.tag !== undefined ? { tag: opts.tag } : {}),
      reason,
      principal,
      ...(expiresAt !== undefined ? { expiresAt } : {}),
    },
    now,
  );
  process.stdout.write(
    opts.json
      ? `${JSON.stringify(added, null, 2)}\n`
      : `hold ${added.id} added: ${holdTarget(repository, added)}, ${untilText(added.expiresAt, false)}, by ${principal}: ${reason}\n`,
  );
}

/**
 * What `ecr-steward hold list` does. Its options and help are in cli/register/hold.ts, which loads this module
 * only when the command runs.
 */
export async function holdListCommand(repositoryArg: string | undefined, opts: HoldOptions) {
  const now = new Date();
  const repository =
    repositoryArg === undefined ? undefined : parseRepositoryName(repositoryArg, 'repository');
  const holdsTable = holdsTableName(opts);
  const config = listConfig(opts.config);
  const store = new HoldsStore(dynamo(), holdsTable);
  let stored: StoredHold[];
  let fromConfig: ListedHold[] = [];
  if (repository === undefined) {
    await resolveRegion();
    stored = await store.list();
    if (config) fromConfig = configHolds(config, now);
  } else {
    const registry = await registryId(opts);
    stored = await store.list({ registryId: registry, region: region(), repository });
    if (config) {
      // A selection by repository tags decides on the repository's tags: read them only when one does.
      let tags: Record<string, string> | undefined;
      if (needsRepositoryTags(config)) {
        const ecr = new EcrRegistry(new ECRClient(CLIENT_DEFAULTS));
        const info = await ecr.describeRepository(repository);
        tags = info ? await ecr.repositoryTags(info.arn) : undefined;
      }
      fromConfig = configHolds(config, now, { name: repository, tags });
    }
  }
  const listed: ListedHold[] = [
    ...stored.map((h): ListedHold => ({ ...h, source: 'table', expired: !holdInForce(h, now.getTime()) })),
    ...fromConfig,
  ];
  process.stdout.write(opts.json ? `${JSON.stringify(listed, null, 2)}\n` : formatHolds(listed));
}

/**
 * What `ecr-steward hold remove` does. Its options and help are in cli/register/hold.ts, which loads this module
 * only when the command runs.
 */
export async function holdRemoveCommand(id: string, opts: HoldOptions) {
  if (id.startsWith('config'))
    throw new CliError(
      `${JSON.stringify(id)}: a config hold is lifted by removing it from steward.holds in the config`,
    );
  if (!HOLD_ID.test(id))
    throw new CliError(
      `${JSON.stringify(id)}: not a hold id (e.g. 20260601T120000-k3x9qa; \`hold list\` shows them)`,
    );
  const note = opts.reason === undefined ? undefined : parseReason(opts.reason);
  const holdsTable = holdsTableName(opts);
  const auditTable = auditTableName(opts);
  await resolveRegion();
  const store = new HoldsStore(dynamo(), holdsTable, auditTable);
  // Looked up before asking STS: an unknown id writes nothing and needs no principal.
  if (!(await store.get(id))) throw new CliError(`no hold ${id}: \`ecr-steward hold list\` shows the holds`);
  const principal = await callerPrincipal('is changing the hold');
  const removed = await store.remove(id, principal, new Date(), note);
  if (!removed) throw new CliError(`no hold ${id}: it was removed meanwhile`);
  process.stdout.write(
    `hold ${id} removed by ${principal}: ${holdTarget(removed.repository, removed)} (placed by ${removed.principal} at ${removed.createdAt}: ${removed.reason})\n`,
  );
}
