import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Command } from 'commander';
import {
  type BreakerScope,
  type BreakerState,
  BreakerStore,
  isOpen,
} from '../../functions/shared/state/breaker.js';
import { auditTableName, dynamo, type LiveOptions, stateTableName } from '../aws.js';
import { parseBreakerScope } from '../refs.js';

interface BreakerOptions extends LiveOptions {
  readonly scope?: string;
  readonly by?: string;
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
  breaker
    .command('reset')
    .description('close a breaker so ECR Steward deletes again in that scope (recorded in the audit table)')
    .requiredOption('--scope <scope>', 'registry or repository:<name>')
    .option('--by <name>', 'who resets it (default: $USER)')
    .option('--state-table <name>', 'state table name (default: $STATE_TABLE_NAME)')
    .option('--audit-table <name>', 'audit table name (default: $AUDIT_TABLE_NAME)')
    .action(async (opts: BreakerOptions) => {
      const scope: BreakerScope = parseBreakerScope(opts.scope);
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
