import type { Command } from 'commander';
import type { RunOptions } from '../commands/run.js';
import { RUN_MAX_CONCURRENCY } from '../limits.js';

/**
 * `ecr-steward run`: what the cleanup function would do to one or more repositories, now, with your
 * credentials, in one process (the in-use sources read before the previews and again right after you confirm, never per repository).
 */
export function registerRun(program: Command): void {
  program
    .command('run')
    .description(
      "run the cleanup of repositories now (dry-run unless --enforce or the config's mode is enforce; deletes only by a config named with --config or $ECR_STEWARD_CONFIG; asks before deleting unless --yes)",
    )
    .option(
      '--repository <name>',
      'repository name (repeat for more)',
      (name: string, names: string[] | undefined) => [...(names ?? []), name],
    )
    .option('--all', 'every repository the config manages (listed from the registry)')
    .option(
      '--concurrency <n>',
      `repositories planned and cleaned at once (1–${RUN_MAX_CONCURRENCY}); the in-use sources are read once per run whatever it is`,
      '4',
    )
    .option(
      '--config <file>',
      'steward config (default: $ECR_STEWARD_CONFIG; else examples/steward.config.jsonc, for a preview only)',
    )
    .option('--enforce', 'delete what the plan expires (the config mode otherwise decides)')
    .option(
      '--yes',
      'do not ask for confirmation (otherwise: type the repository name, or for several repositories the number of images)',
    )
    .option('--audit-table <name>', 'audit table name (default: $AUDIT_TABLE_NAME)')
    .option('--state-table <name>', 'state table name (default: $STATE_TABLE_NAME)')
    .option('--holds-table <name>', 'holds table name (default: $HOLDS_TABLE_NAME)')
    .option('--registry-id <id>', 'registry (account) id (default: $ECR_STEWARD_REGISTRY_ID or STS)')
    .addHelpText(
      'after',
      `
Each repository is previewed (read-only) and its plan shown; confirmed, each is listed again and cleaned as it is
then, removing at most what its preview showed. The in-use sources (ECS, Lambda) are read once for the whole run,
before the previews, and again only when the confirmation comes more than 5 minutes later.
Exit 1 when any repository could not be cleaned or a delete failed.`,
    )
    .action(async (opts: RunOptions) => (await import('../commands/run.js')).runCommand(opts));
}
