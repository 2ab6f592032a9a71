import type { Command } from 'commander';
import type { TrashListOptions } from '../commands/trash.js';

/** `ecr-steward trash list [REPO] [--json]`: the images ECR Steward archived (soft-deleted), with their purge dates. */
export function registerTrash(program: Command): void {
  const trash = program
    .command('trash')
    .description('images ECR Steward archived (soft delete) and when they will be purged');
  trash
    .command('list')
    .description('list archived images: digest, tags, size, when archived, when purged, why')
    .argument('[repository]', 'one repository (default: every repository)')
    .option('--json', 'print JSON')
    .option('--audit-table <name>', 'audit table name (default: $AUDIT_TABLE_NAME)')
    .option('--registry-id <id>', 'registry (account) id (default: $ECR_STEWARD_REGISTRY_ID or STS)')
    .action(async (repository: string | undefined, opts: TrashListOptions) =>
      (await import('../commands/trash.js')).trashListCommand(repository, opts),
    );
}
