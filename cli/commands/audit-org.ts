/**
 * `ecr-steward audit --org [--account A] [--region R]`: the organization's audit trail, from the hub's org
 * audit table, where every spoke's records arrive (one item per spoke record, its newest version).
 */

import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { type OrgAuditItem, OrgAuditStore } from '../../functions/shared/org/org-audit-store.js';
import { sinceToIso } from '../aws.js';
import { accountOption, hubDocument, hubTable } from '../org.js';
import { CliError } from '../util.js';

export interface OrgAuditOptions {
  readonly account?: string;
  /** The spoke region to show (the program's `--region`, taken as a filter with --org). */
  readonly region?: string;
  readonly repository?: string;
  readonly since: string;
  readonly limit: string;
  readonly includePlanned?: boolean;
  readonly orgAuditTable?: string;
  readonly format: 'table' | 'json' | 'csv';
}

/** An org item that records an image (deletion states), as opposed to request, hold or breaker events. */
function isImageRecord(item: OrgAuditItem): boolean {
  return (
    typeof item.digest === 'string' && typeof item.status === 'string' && typeof item.repository === 'string'
  );
}

const COLUMNS = ['at', 'account', 'region', 'status', 'repository', 'digest', 'actor', 'reason'] as const;
type Row = Record<(typeof COLUMNS)[number], string>;

function row(item: OrgAuditItem): Row {
  const actor = (item.actor ?? {}) as { type?: string; principal?: string; reasons?: string[] };
  const failure = item.failure as { code?: string; reason?: string } | undefined;
  return {
    at: String(item.at ?? ''),
    account: item.account,
    region: item.region,
    status: String(item.status),
    repository: String(item.repository),
    digest: String(item.digest),
    actor: actor.type === 'principal' ? (actor.principal ?? 'principal') : (actor.type ?? 'unknown'),
    reason: failure ? `${failure.code}: ${failure.reason}` : (actor.reasons?.[0] ?? String(item.note ?? '')),
  };
}

const csvCell = (v: string) => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);

/** Reads, filters and prints the org audit trail. */
export async function auditOrganization(
  opts: OrgAuditOptions,
  config: StewardConfig | undefined,
): Promise<string> {
  const account = opts.account === undefined ? undefined : accountOption(opts.account, '--account');
  const table = hubTable('audit', opts.orgAuditTable, config);
  const store = new OrgAuditStore(hubDocument(table), table.tableName);
  const since = sinceToIso(opts.since);
  const limit = Number(opts.limit) || 1000;
  const now = new Date();
  if (Date.parse(since) < now.getTime() - 31 * 86_400_000 && !(account && opts.region))
    throw new CliError(
      '--since: across the organization at most 31 days back; name --account and --region for longer',
    );
  const keep = (i: OrgAuditItem) =>
    isImageRecord(i) &&
    (account === undefined || i.account === account) &&
    (opts.region === undefined || i.region === opts.region) &&
    (opts.repository === undefined || i.repository === opts.repository) &&
    (opts.includePlanned || i.status !== 'PLANNED') &&
    String(i.at) >= since;
  let records: OrgAuditItem[];
  if (account && opts.region) {
    records = (await store.byEnvironment({ account, region: opts.region }, since, limit)).filter(keep);
  } else {
    // The newest records of the whole organization are read and then filtered, so read more until `limit` of
    // them pass the filter or the period holds no more: other spokes' newer records never crowd one out.
    let fetch = limit * 4;
    for (;;) {
      const items = await store.recent(since, now, fetch);
      records = items.filter(keep);
      if (records.length >= limit || items.length < fetch || fetch >= 1_000_000) break;
      fetch *= 4;
    }
  }
  records = records
    .sort((a, b) => (a.at! < b.at! ? 1 : a.at! > b.at! ? -1 : `${a.pk}`.localeCompare(`${b.pk}`)))
    .slice(0, limit);
  if (opts.format === 'json') return `${JSON.stringify(records, null, 2)}\n`;
  const rows = records.map(row);
  if (opts.format === 'csv')
    return `${COLUMNS.join(',')}\n${rows.map((r) => COLUMNS.map((c) => csvCell(r[c])).join(',')).join('\n')}${rows.length ? '\n' : ''}`;
  const where = [account ? `account ${account}` : 'every account', opts.region ?? 'every region'].join(', ');
  if (rows.length === 0) return `no deletions recorded in the organization (${where}) since ${since}\n`;
  const shown = rows.map((r) => ({ ...r, digest: `${r.digest.slice(0, 19)}…` }));
  const cols = ['at', 'account', 'region', 'status', 'repository', 'digest', 'actor'] as const;
  const widths = cols.map((c) => Math.min(48, Math.max(c.length, ...shown.map((r) => r[c].length))));
  const fmt = (values: string[]) => values.map((v, i) => v.slice(0, widths[i]).padEnd(widths[i]!)).join('  ');
  const counts = new Map<string, number>();
  for (const r of rows)
    counts.set(`${r.account} ${r.region}`, (counts.get(`${r.account} ${r.region}`) ?? 0) + 1);
  const perEnvironment = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([e, n]) => `${e}: ${n}`);
  return `${fmt([...cols])}\n${shown.map((r) => fmt(cols.map((c) => r[c]))).join('\n')}\n${rows.length} record(s) in the organization (${where}) since ${since} — ${perEnvironment.join('; ')}\n`;
}
