import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Command } from 'commander';
import {
  type BreakerScope,
  type BreakerState,
  BreakerStore,
  isOpen,
} from '../../functions/shared/state/breaker.js';
import { auditTableName, dynamo, type LiveOptions, loadConfig, stateTableName } from '../aws.js';
import { parseBreakerScope } from '../refs.js';
import { connectApprovals, type EndpointOptions, endpointOptions } from '../signed.js';
import { CliError } from '../util.js';
import { answerCommands, orRefused, parseLine } from './approvals.js';

interface BreakerOptions extends LiveOptions, EndpointOptions {
  readonly scope?: string;
  readonly by?: string;
  readonly request?: boolean;
  readonly reason?: string;
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

/** `ecr-steward breaker status|reset`: the circuit breaker that stops ECR Steward's own deletes. */
export function registerBreaker(program: Command): void {
  const breaker = program
    .command('breaker')
    .description('show or reset the breakers that stop ECR Steward deleting');
  breaker
    .command('status')
    .description('list breakers and whether they are open')
    .option('--scope <scope>', 'registry or repository:<name>')
    .option('--state-table <name>', 'state table name (default: $STATE_TABLE_NAME)')
    .action(async (opts: BreakerOptions) => {
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
      for (const b of shown) {
        const open = isOpen(b, now);
        process.stdout.write(
          `${b.scope}: ${open ? 'OPEN' : 'closed'}${open ? ` since ${b.openedAt} — ${b.reason ?? ''}${b.closesAt ? ` (closes by itself at ${b.closesAt})` : ''}` : b.closedBy ? ` (reset by ${b.closedBy} at ${b.closedAt})` : ''}\n`,
        );
      }
    });
  const reset = breaker
    .command('reset')
    .description('close a breaker so ECR Steward deletes again in that scope (recorded in the audit table)')
    .requiredOption('--scope <scope>', 'registry or repository:<name>')
    .option(
      '--by <name>',
      'who resets it (default: $USER; not with --request, which names the signed caller)',
    )
    .option('--state-table <name>', 'state table name (default: $STATE_TABLE_NAME)')
    .option('--audit-table <name>', 'audit table name (default: $AUDIT_TABLE_NAME)')
    .option(
      '--request',
      'ask for the reset instead: an approver (not you) approves it and the approvals function resets the breaker',
    )
    .option('--reason <text>', 'with --request: why the breaker should be reset (required)')
    .option(
      '--config <file>',
      'config whose governance.approval.breakerReset: true makes every reset a request (default: $ECR_STEWARD_CONFIG, else none)',
    );
  endpointOptions(reset).action(async (opts: BreakerOptions) => {
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
      throw new CliError(
        '--reason goes with --request (a reset request); a direct reset records who reset it',
      );
    const by = opts.by ?? process.env.USER ?? 'unknown';
    const now = new Date();
    const store = new BreakerStore(dynamo(), stateTableName(opts));
    const before = await store.get(scope);
    await store.close(scope, by, now);
    // The reset is part of the record security staff read: who closed which breaker, when, and what it was.
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
      }),
    );
    process.stdout.write(
      `${scope}: breaker closed by ${by}${isOpen(before, now) ? '' : ' (it was not open)'}\n`,
    );
  });
}
