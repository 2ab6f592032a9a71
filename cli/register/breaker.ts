import type { Command } from 'commander';
import type { BreakerOptions } from '../commands/breaker.js';
import { endpointOptions } from './endpoint.js';

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
    .option('--org', "the organization's breaker, in the hub (every spoke reads it before each delete batch)")
    .option(
      '--org-state-table <name-or-arn>',
      "with --org: the hub's state table (default: $ORG_STATE_TABLE_NAME, else built from --config's organization.hub)",
    )
    .option('--config <file>', 'with --org: the config naming the hub (default: $ECR_STEWARD_CONFIG)')
    .action(async (opts: BreakerOptions) =>
      (await import('../commands/breaker.js')).breakerStatusCommand(opts),
    );
  const reset = breaker
    .command('reset')
    .description('close a breaker so ECR Steward deletes again in that scope (recorded in the audit table)')
    .option('--scope <scope>', 'registry or repository:<name> (required unless --org)')
    .option('--org', "reset the organization's breaker in the hub (with the hub's credentials)")
    .option('--org-state-table <name-or-arn>', "with --org: the hub's state table (default: from --config)")
    .option(
      '--org-audit-table <name-or-arn>',
      "with --org: the hub's org audit table (default: from --config)",
    )
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
  endpointOptions(reset).action(async (opts: BreakerOptions) =>
    (await import('../commands/breaker.js')).breakerResetCommand(opts),
  );
}
