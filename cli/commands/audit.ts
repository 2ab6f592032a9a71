import type { Command } from 'commander';
import { requestEvents } from '../../functions/shared/approvals/audit.js';
import { REQUEST_ID, requesterName } from '../../functions/shared/approvals/model.js';
import { RequestsStore } from '../../functions/shared/approvals/store.js';
import { type OperationRecord, OperationStore } from '../../functions/shared/audit/operations.js';
import type { AuditRecord } from '../../functions/shared/audit/records.js';
import { AuditStore } from '../../functions/shared/audit/store.js';
import { ENV } from '../../functions/shared/runtime/constants.js';
import { humanBytes } from '../../functions/shared/runtime/format.js';
import {
  auditTableName,
  dynamo,
  type LiveOptions,
  loadConfig,
  region,
  registryId,
  sinceToIso,
  tableName,
} from '../aws.js';
import { parseDigest, parseRepositoryName } from '../refs.js';
import { CliError } from '../util.js';
import { auditOrganization } from './audit-org.js';

export interface AuditOptions extends LiveOptions {
  readonly repository?: string;
  readonly digest?: string;
  readonly since: string;
  readonly format: 'table' | 'json' | 'csv';
  readonly limit: string;
  readonly includePlanned?: boolean;
  readonly request?: string;
  readonly requestsTable?: string;
  readonly org?: boolean;
  readonly account?: string;
  readonly orgAuditTable?: string;
  readonly operations?: boolean;
  readonly principal?: string;
}

const COLUMNS = [
  'at',
  'status',
  'repository',
  'digest',
  'tags',
  'actor',
  'rule',
  'evidence',
  'reason',
] as const;

function row(r: AuditRecord): Record<(typeof COLUMNS)[number], string> {
  return {
    at: r.at,
    status: r.status,
    repository: r.repository,
    digest: r.digest,
    tags: r.tags.join(' '),
    actor: r.actor.type === 'principal' ? (r.actor.principal ?? 'principal') : r.actor.type,
    rule: r.actor.rulePriority == null ? '' : String(r.actor.rulePriority),
    evidence: r.evidence.join(' '),
    reason: r.failure ? `${r.failure.code}: ${r.failure.reason}` : (r.actor.reasons?.[0] ?? ''),
  };
}

const csvCell = (v: string) => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);

/**
 * What `ecr-steward audit` does. Its options and help are in cli/register/audit.ts, which loads this module
 * only when the command runs.
 */
export async function auditCommand(opts: AuditOptions, command: Command) {
  if (opts.org) {
    if (opts.digest !== undefined || opts.request !== undefined)
      throw new CliError(
        '--org lists records by account, region and repository; --digest and --request read one spoke',
      );
    if (opts.repository !== undefined) parseRepositoryName(opts.repository, '--repository');
    const configPath = opts.config ?? process.env.ECR_STEWARD_CONFIG;
    const region = command.optsWithGlobals<{ region?: string }>().region;
    process.stdout.write(
      await auditOrganization(
        { ...opts, region },
        configPath === undefined ? undefined : loadConfig(configPath),
      ),
    );
    return;
  }
  if (opts.account !== undefined) throw new CliError('--account goes with --org');
  if (opts.principal !== undefined && !opts.operations)
    throw new CliError('--principal goes with --operations');
  if (opts.operations) {
    if (opts.digest !== undefined || opts.request !== undefined)
      throw new CliError(
        '--operations lists by --repository, --principal and --since; not --digest or --request',
      );
    if (opts.repository !== undefined) parseRepositoryName(opts.repository, '--repository');
    return auditOperations(opts);
  }
  if (opts.request !== undefined) return auditRequest(opts);
  // Checked before any AWS call: a mistyped digest would otherwise read as "no deletions recorded".
  if (opts.digest !== undefined) parseDigest(opts.digest, '--digest');
  if (opts.repository !== undefined) parseRepositoryName(opts.repository, '--repository');
  const store = new AuditStore(dynamo(), auditTableName(opts));
  const since = sinceToIso(opts.since);
  const limit = Number(opts.limit) || 1000;
  let records: AuditRecord[];
  if (opts.digest) {
    records = (await store.byDigest(opts.digest)).filter(
      (r) => !opts.repository || r.repository === opts.repository,
    );
  } else if (opts.repository) {
    records = await store.byRepository(
      { registryId: await registryId(opts), region: region(), repository: opts.repository },
      since,
      limit,
    );
  } else {
    records = await store.recent(since, limit);
  }
  records = records
    .filter((r) => opts.includePlanned || r.status !== 'PLANNED')
    .filter((r) => opts.digest !== undefined || r.at >= since);
  records.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : a.digest.localeCompare(b.digest)));
  if (opts.format === 'json') {
    process.stdout.write(`${JSON.stringify(records, null, 2)}\n`);
    return;
  }
  const rows = records.map(row);
  if (opts.format === 'csv') {
    process.stdout.write(
      `${COLUMNS.join(',')}\n${rows.map((r) => COLUMNS.map((c) => csvCell(r[c])).join(',')).join('\n')}${rows.length ? '\n' : ''}`,
    );
    return;
  }
  if (rows.length === 0) {
    process.stdout.write(`no deletions recorded since ${since}\n`);
    return;
  }
  const shown = rows.map((r) => ({ ...r, digest: `${r.digest.slice(0, 19)}…` }));
  const cols = ['at', 'status', 'repository', 'digest', 'tags', 'actor', 'rule', 'evidence'] as const;
  const widths = cols.map((c) => Math.min(40, Math.max(c.length, ...shown.map((r) => r[c].length))));
  const fmt = (values: string[]) => values.map((v, i) => v.slice(0, widths[i]).padEnd(widths[i]!)).join('  ');
  process.stdout.write(
    `${fmt([...cols])}\n${shown.map((r) => fmt(cols.map((c) => r[c]))).join('\n')}\n${rows.length} record(s) since ${since}\n`,
  );
}

/**
 * `audit --request ID`: the request as stored, its events (creation, every answer given or refused, expiry)
 * from the audit table, and the audit records of its images that name it, in one timeline.
 */
async function auditRequest(opts: AuditOptions): Promise<void> {
  const id = opts.request ?? '';
  if (!REQUEST_ID.test(id))
    throw new CliError(`--request ${JSON.stringify(id)}: not a request id (e.g. req-20261206T101500-k3x9qa)`);
  const doc = dynamo();
  const auditTable = auditTableName(opts);
  const request = await new RequestsStore(
    doc,
    tableName(opts.requestsTable, ENV.requestsTable, '--requests-table'),
  ).get(id);
  const events = await requestEvents(doc, auditTable, id);
  if (!request && events.length === 0) throw new CliError(`no request ${id} in the requests or audit table`);
  const store = new AuditStore(doc, auditTable);
  const records = [];
  for (const image of request?.images ?? [])
    records.push(...(await store.byDigest(image.digest)).filter((r) => r.requestId === id));
  if (opts.format === 'json') {
    process.stdout.write(`${JSON.stringify({ request, events, records }, null, 2)}\n`);
    return;
  }
  const lines: { at: string; text: string }[] = [
    ...events.map((e) => ({
      at: e.at,
      text: `${e.action.padEnd(8)} ${e.outcome === 'refused' ? `REFUSED ${e.code ?? ''}` : e.changed === false ? 'allowed (no change)' : 'allowed'} by ${e.principal}${e.sourceIp ? ` from ${e.sourceIp}` : ''}${e.userAgent ? ` (${e.userAgent.slice(0, 40)})` : ''}${e.note ? ` — ${e.note}` : ''}`,
    })),
    ...records.map((r) => ({
      at: r.updatedAt,
      text: `image    ${r.status} ${r.digest.slice(0, 19)}… ${r.tags.join(',') || '<untagged>'}${r.dueAt ? ` due ${r.dueAt}` : ''}${r.note ? ` — ${r.note}` : ''}`,
    })),
  ].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  if (request)
    process.stdout.write(
      `${request.id}: ${request.state} — ${request.kind === 'delete' ? `${request.imageCount} image(s), ${humanBytes(request.bytes)} in ${request.repository}` : `reset ${request.scope}`}, asked by ${requesterName(request.requester)} at ${request.createdAt}, expires ${request.expiresAt}${request.decision ? `; ${request.decision.action} by ${request.decision.by} at ${request.decision.at}` : ''}\n`,
    );
  for (const l of lines) process.stdout.write(`  ${l.at}  ${l.text}\n`);
}

const OPERATION_COLUMNS = [
  'at',
  'operation',
  'repository',
  'principal',
  'sourceIp',
  'userAgent',
  'what',
] as const;

/** What an operation changed, in a few words: the parameters that matter. */
function what(r: OperationRecord): string {
  const p = r.parameters ?? {};
  const parts: string[] = [];
  if (r.errorCode) parts.push(`FAILED ${r.errorCode}`);
  if (p.grantees) parts.push(`grants ${p.grantees.join(' ') || 'nobody'}`);
  if (p.conditioned?.length) parts.push(p.conditioned.join(' '));
  if (p.imageTagMutability) parts.push(`tags ${p.imageTagMutability}`);
  if (p.scanOnPush !== undefined) parts.push(`scanOnPush ${p.scanOnPush}`);
  if (p.lifecycleRules) parts.push(`rules ${p.lifecycleRules.join(' ') || 'none'}`);
  if (p.tags)
    parts.push(
      Object.entries(p.tags)
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
    );
  if (p.tagKeys) parts.push(`untag ${p.tagKeys.join(' ')}`);
  if (p.destinations) parts.push(`to ${p.destinations.join(' ')}`);
  if (p.force) parts.push('force');
  if (p.digest) parts.push(`${p.digest.slice(0, 19)}…${p.tag ? ` ${p.tag}` : ''}`);
  if (p.unreadable) parts.push(`unreadable policy: ${p.unreadable}`);
  return parts.join('; ');
}

function operationRow(r: OperationRecord): Record<(typeof OPERATION_COLUMNS)[number], string> {
  return {
    at: r.at,
    operation: r.operation,
    repository: r.repository ?? '(registry)',
    principal: r.principal ?? 'unknown',
    sourceIp: r.sourceIPAddress ?? '',
    userAgent: r.userAgent ?? '',
    what: what(r),
  };
}

/** `audit --operations`: registry operations from the audit table, newest first. */
async function auditOperations(opts: AuditOptions): Promise<void> {
  const store = new OperationStore(dynamo(), auditTableName(opts));
  const since = sinceToIso(opts.since);
  const records = await store.list({
    registryId: await registryId(opts),
    region: region(),
    repository: opts.repository,
    principal: opts.principal,
    since,
    limit: Number(opts.limit) || 1000,
  });
  records.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : a.eventId.localeCompare(b.eventId)));
  if (opts.format === 'json') {
    process.stdout.write(`${JSON.stringify(records, null, 2)}\n`);
    return;
  }
  const rows = records.map(operationRow);
  if (opts.format === 'csv') {
    process.stdout.write(
      `${OPERATION_COLUMNS.join(',')}\n${rows.map((r) => OPERATION_COLUMNS.map((c) => csvCell(r[c])).join(',')).join('\n')}${rows.length ? '\n' : ''}`,
    );
    return;
  }
  if (rows.length === 0) {
    process.stdout.write(`no registry operations recorded since ${since}\n`);
    return;
  }
  const widths = OPERATION_COLUMNS.map((c) =>
    Math.min(60, Math.max(c.length, ...rows.map((r) => r[c].length))),
  );
  const fmt = (values: string[]) => values.map((v, i) => v.slice(0, widths[i]).padEnd(widths[i]!)).join('  ');
  process.stdout.write(
    `${fmt([...OPERATION_COLUMNS])}\n${rows.map((r) => fmt(OPERATION_COLUMNS.map((c) => r[c]))).join('\n')}\n${rows.length} operation(s) since ${since}\n`,
  );
}
