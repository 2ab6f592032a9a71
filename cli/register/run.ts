import type { Command } from 'commander';
import type { RunOptions } from '../commands/run.js';

/** `ecr-steward run`: what the cleanup function would do to one repository, now, with your credentials. */
export function registerRun(program: Command): void {
  program
    .command('run')
    .description(
      'run the cleanup of one repository now (dry-run unless --enforce; asks before deleting unless --yes)',
    )
    .requiredOption('--repository <name>', 'repository name')
    .option(
      '--config <file>',
      'steward config (default: $ECR_STEWARD_CONFIG or examples/steward.config.jsonc)',
    )
    .option('--enforce', 'delete what the plan expires (the config mode otherwise decides)')
    .option('--yes', 'do not ask for confirmation')
    .option('--audit-table <name>', 'audit table name (default: $AUDIT_TABLE_NAME)')
    .option('--state-table <name>', 'state table name (default: $STATE_TABLE_NAME)')
    .option('--holds-table <name>', 'holds table name (default: $HOLDS_TABLE_NAME)')
    .option('--registry-id <id>', 'registry (account) id (default: $ECR_STEWARD_REGISTRY_ID or STS)')
    .action(async (opts: RunOptions) => (await import('../commands/run.js')).runCommand(opts));
}
