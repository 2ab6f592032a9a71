import type { Command } from 'commander';
import { ENV } from '../../functions/shared/runtime/constants.js';
import type { HoldOptions } from '../commands/hold.js';
/** `ecr-steward hold add|list|remove`: holds anyone can place without editing and redeploying the config. */
export function registerHold(program: Command): void {
  const hold = program
    .command('hold')
    .description('keep images (or a whole repository) from any deletion, recorded in the audit table');
  hold
    .command('add')
    .description('hold one image (--digest), a tag wherever it points (--tag), or the whole repository')
    .argument('<repository>', 'repository name')
    .option('--digest <digest>', 'hold this image (sha256:…)')
    .option('--tag <tag>', 'hold whichever image carries this tag when a run evaluates it')
    .option('--reason <text>', 'why (required; shown in plans, notices and the audit)')
    .option('--until <when>', 'end of the hold: 30m, 12h, 7d or an ISO-8601 time (default: until removed)')
    .option('--json', 'print the hold as JSON')
    .option('--holds-table <name>', `holds table name (default: $${ENV.holdsTable})`)
    .option('--audit-table <name>', 'audit table name (default: $AUDIT_TABLE_NAME)')
    .option('--registry-id <id>', 'registry (account) id (default: $ECR_STEWARD_REGISTRY_ID or STS)')
    .action(async (repositoryArg: string, opts: HoldOptions) =>
      (await import('../commands/hold.js')).holdAddCommand(repositoryArg, opts),
    );
  hold
    .command('list')
    .description("the holds of the table and the config's static steward.holds (of REPO, or of all)")
    .argument('[repository]', 'only the holds of this repository')
    .option('--json', 'print the holds as JSON')
    .option(
      '--config <file>',
      'config whose steward.holds are listed too (default: $ECR_STEWARD_CONFIG or the example, if present)',
    )
    .option('--holds-table <name>', `holds table name (default: $${ENV.holdsTable})`)
    .option('--registry-id <id>', 'registry (account) id (default: $ECR_STEWARD_REGISTRY_ID or STS)')
    .action(async (repositoryArg: string | undefined, opts: HoldOptions) =>
      (await import('../commands/hold.js')).holdListCommand(repositoryArg, opts),
    );
  hold
    .command('remove')
    .description('lift a hold placed with `hold add` (recorded in the audit table)')
    .argument('<id>', 'the hold id (`hold list` shows it)')
    .option('--reason <text>', 'why the hold is lifted (recorded in the audit)')
    .option('--holds-table <name>', `holds table name (default: $${ENV.holdsTable})`)
    .option('--audit-table <name>', 'audit table name (default: $AUDIT_TABLE_NAME)')
    .action(async (id: string, opts: HoldOptions) =>
      (await import('../commands/hold.js')).holdRemoveCommand(id, opts),
    );
}
