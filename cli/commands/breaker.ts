import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { OrgBreakerReader } from '../../functions/shared/org/org-breaker.js';
import {
  type BreakerScope,
  type BreakerState,
  BreakerStore,
  isOpen,
} from '../../functions/shared/state/breaker.js';
import { auditTableName, dynamo, type LiveOptions, loadConfig, stateTableName } from '../aws.js';
import { hubDocument, hubTable } from '../org.js';
import { parseBreakerScope } from '../refs.js';
import { connectApprovals, type EndpointOptions } from '../signed.js';
import { CliError } from '../util.js';
import { answerCommands, orRefused, parseLine } from './approvals.js';

export interface BreakerOptions extends LiveOptions, EndpointOptions {
  readonly scope?: string;
  readonly by?: string;
  readonly request?: boolean;
  readonly reason?: string;
  readonly org?: boolean;
  readonly orgStateTable?: string;
  readonly orgAuditTable?: string;
}

/** The config naming the hub, for `--org` (`--config`, else $ECR_STEWARD_CONFIG), if any. */
const orgConfig = (opts: BreakerOptions) => {
  const path = opts.config ?? process.env.ECR_STEWARD_CONFIG;
  return path === undefined ? undefined : loadConfig(path);
};

/** `breaker status --org`: the organization's breaker, read from the hub as every spoke reads it. */
async function orgStatus(opts: BreakerOptions): Promise<string> {
  const table = hubTable('state', opts.orgStateTable, orgConfig(opts));
  const state = await new OrgBreakerReader(hubDocument(table), table.tableName).get();
  const now = new Date();
  if (!state) return 'organization: closed — it has never opened: every spoke deletes as configured\n';
  return `${describe(state, now)}\n${isOpen(state, now) ? 'Every spoke of the organization refuses to delete until it is reset (ecr-steward breaker reset --org).\n' : ''}`;
}

/** One breaker's line: open since when and why, or closed (by whom). */
function describe(b: BreakerState, now: Date): string {
  const open = isOpen(b, now);
  return `${b.scope}: ${open ? 'OPEN' : 'closed'}${open ? ` since ${b.openedAt} — ${b.reason ?? ''}${b.closesAt ? ` (closes by itself at ${b.closesAt})` : ''}` : b.closedBy ? ` (reset by ${b.closedBy} at ${b.closedAt})` : ''}`;
}

/**
 * Whether a reset must be asked for rather than done: `--request`, or a config (`--config`, else
 * $ECR_STEWARD_CONFIG) with `governance.approval.breakerReset: true`. Without either, no config is read: a
 * plain reset needs none.
 */
function resetNeedsApproval(opts: BreakerOptions): boolean {
  if (opts.request) return true;
  if (opts.config === undefined && !process.env.ECR_STEWARD_CONFIG) return false;
  return loadConfig(opts.config).governance.approval.breakerReset;
}

/**
 * What `ecr-steward breaker status` does. Its options and help are in cli/register/breaker.ts, which loads this module
 * only when the command runs.
 */
export async function breakerStatusCommand(opts: BreakerOptions) {
  if (opts.org) {
    process.stdout.write(await orgStatus(opts));
    return;
  }
  const scope = opts.scope === undefined ? undefined : parseBreakerScope(opts.scope);
  const now = new Date();
  const items: BreakerState[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamo().send(
      new ScanCommand({
        TableName: stateTableName(opts),
        FilterExpression: 'begins_with(pk, :b)',
        ExpressionAttributeValues: { ':b': 'BREAKER#' },
        ExclusiveStartKey,
      }),
    );
    items.push(...((page.Items ?? []) as BreakerState[]));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  const shown = items
    .filter((b) => !scope || b.scope === scope)
    .sort((a, b) => a.scope.localeCompare(b.scope));
  if (shown.length === 0) {
    process.stdout.write('no breaker has ever opened: ECR Steward deletes as configured\n');
    return;
  }
  for (const b of shown) process.stdout.write(`${describe(b, now)}\n`);
}

/**
 * What `ecr-steward breaker reset` does. Its options and help are in cli/register/breaker.ts, which loads this module
 * only when the command runs.
 */
export async function breakerResetCommand(opts: BreakerOptions) {
  if (opts.org) {
    process.stdout.write(await orgReset(opts));
    return;
  }
  if (opts.scope === undefined)
    throw new CliError('--scope is required (registry or repository:<name>), or --org');
  const scope: BreakerScope = parseBreakerScope(opts.scope);
  if (resetNeedsApproval(opts)) {
    if (opts.by !== undefined)
      throw new CliError(
        '--by: a reset request is made by the signed caller, whose AWS identity the endpoint records',
      );
    const reason = parseLine(opts.reason, '--reason', 'why the breaker should be reset');
    const client = await connectApprovals(opts);
    // The scope as the state table keys it (`registry`, `repository:<name>`): what the approvals function checks
    // and resets.
    const created = await orRefused(client.create({ kind: 'breaker-reset', scope, reason }));
    process.stdout.write(answerCommands(created));
    return;
  }
  if (opts.reason !== undefined)
    throw new CliError('--reason goes with --request (a reset request); a direct reset records who reset it');
  const by = opts.by ?? process.env.USER ?? 'unknown';
  const now = new Date();
  const store = new BreakerStore(dynamo(), stateTableName(opts));
  const before = await store.get(scope);
  // The reset is part of the record security staff read: who closed which breaker, when, and what it was. It is
  // written first, as a delete's record is: a reset that cannot be recorded leaves the breaker open.
  await dynamo().send(
    new PutCommand({
      TableName: auditTableName(opts),
      Item: {
        pk: `BREAKER#${scope}`,
        sk: `RESET#${now.toISOString()}`,
        kind: 'breaker-reset',
        scope,
        by,
        at: now.toISOString(),
        wasOpen: isOpen(before, now),
        openedAt: before?.openedAt,
        reason: before?.reason,
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    }),
  );
  await store.close(scope, by, now);
  process.stdout.write(
    `${scope}: breaker closed by ${by}${isOpen(before, now) ? '' : ' (it was not open)'}\n`,
  );
}

/**
 * `breaker reset --org`: closes the organization's breaker in the hub and records who did it in the org audit
 * table. Every spoke deletes again from its next batch. Made with the hub's credentials: no spoke may.
 */
async function orgReset(opts: BreakerOptions): Promise<string> {
  if (opts.scope !== undefined || opts.request)
    throw new CliError('--org resets the organization breaker: no --scope, no --request');
  const config = orgConfig(opts);
  // A config that makes every breaker reset wait for an approver makes no exception for the widest breaker of
  // all: the hub has no approvals endpoint, so the reset is refused rather than done by one person.
  if (config?.governance.approval.breakerReset)
    throw new CliError(
      "governance.approval.breakerReset is true: the organization breaker is not reset by one person — an approver resets it (with the hub's credentials, after approving it outside ECR Steward), or set breakerReset to false",
    );
  const state = hubTable('state', opts.orgStateTable, config);
  const audit = hubTable('audit', opts.orgAuditTable, config);
  const doc = hubDocument(state);
  const by = opts.by ?? process.env.USER ?? 'unknown';
  const now = new Date();
  const store = new BreakerStore(doc, state.tableName);
  const before = await store.get('organization');
  await store.close('organization', by, now);
  await hubDocument(audit).send(
    new PutCommand({
      TableName: audit.tableName,
      Item: {
        pk: 'BREAKER#organization',
        sk: `RESET#${now.toISOString()}`,
        kind: 'breaker-reset',
        scope: 'organization',
        by,
        at: now.toISOString(),
        wasOpen: isOpen(before, now),
        openedAt: before?.openedAt,
        reason: before?.reason,
      },
    }),
  );
  return `organization: breaker closed by ${by}${isOpen(before, now) ? '' : ' (it was not open)'}; every spoke deletes again from its next batch\n`;
}
