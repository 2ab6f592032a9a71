import { type AuditRecord, NEVER_DUE } from '../../functions/shared/audit/records.js';
import { AuditStore } from '../../functions/shared/audit/store.js';
import { auditTableName, dynamo, type LiveOptions, region, registryId } from '../aws.js';
import { parseRepositoryName } from '../refs.js';
import { humanBytes } from '../util.js';

export interface TrashListOptions extends LiveOptions {
  readonly json?: boolean;
}

/** One archived image as `trash list` shows it. */
export interface TrashEntry {
  readonly registryId: string;
  readonly region: string;
  readonly repository: string;
  readonly digest: string;
  readonly tags: readonly string[];
  readonly sizeBytes?: number | undefined;
  readonly archivedAt?: string | undefined;
  readonly purgeAt?: string | undefined;
  readonly reason: string;
}

/** The archived records among `records`, soonest purge first, as trash entries. Pure. */
export function trashEntries(records: readonly AuditRecord[]): TrashEntry[] {
  return records
    .filter((r) => r.status === 'ARCHIVED')
    .map((r) => ({
      registryId: r.registryId,
      region: r.region,
      repository: r.repository,
      digest: r.digest,
      tags: [...r.tags],
      sizeBytes: r.sizeBytes,
      archivedAt: r.archivedAt,
      purgeAt: r.purgeAt,
      reason: r.actor.reasons?.[0] ?? r.note ?? '',
    }))
    .sort(
      (a, b) =>
        // A lifecycle transition's archive is never purged: it comes last.
        (a.purgeAt ?? NEVER_DUE).localeCompare(b.purgeAt ?? NEVER_DUE) ||
        a.repository.localeCompare(b.repository) ||
        a.digest.localeCompare(b.digest),
    );
}

/** A fixed-width table of the entries, one line each, with a count line. */
export function trashTable(entries: readonly TrashEntry[]): string {
  const cols = ['purgeAt', 'archivedAt', 'repository', 'digest', 'tags', 'size', 'reason'] as const;
  const rows = entries.map((e) => ({
    purgeAt: e.purgeAt ?? 'never (transition)',
    archivedAt: e.archivedAt ?? '',
    repository: e.repository,
    digest: `${e.digest.slice(0, 19)}…`,
    tags: e.tags.join(' '),
    size: e.sizeBytes === undefined ? '' : humanBytes(e.sizeBytes),
    reason: e.reason,
  }));
  // The last column is not padded or cut: a reason is read whole.
  const widths = cols.map((c) => Math.min(40, Math.max(c.length, ...rows.map((r) => r[c].length))));
  const fmt = (values: string[]) =>
    values
      .map((v, i) => (i === cols.length - 1 ? v : v.slice(0, widths[i]).padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return `${[fmt([...cols]), ...rows.map((r) => fmt(cols.map((c) => r[c])))].join('\n')}\n${entries.length} archived image(s)\n`;
}

/**
 * What `ecr-steward trash list` does. Its options and help are in cli/register/trash.ts, which loads this module
 * only when the command runs.
 */
export async function trashListCommand(repository: string | undefined, opts: TrashListOptions) {
  if (repository !== undefined) parseRepositoryName(repository, 'repository');
  const store = new AuditStore(dynamo(), auditTableName(opts));
  const records = repository
    ? await store.open({ registryId: await registryId(opts), region: region(), repository })
    : // Every open record: the byDue index holds SCHEDULED and ARCHIVED ones, due at any time.
      await store.due(NEVER_DUE, 1_000_000);
  const entries = trashEntries(records);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
    return;
  }
  if (entries.length === 0) {
    process.stdout.write(`no archived images${repository ? ` in ${repository}` : ''}\n`);
    return;
  }
  process.stdout.write(trashTable(entries));
}
