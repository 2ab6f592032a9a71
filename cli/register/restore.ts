import type { Command } from 'commander';
import type { RestoreOptions } from '../commands/restore.js';

/**
 * `ecr-steward restore REPO@DIGEST|REPO:TAG [--wait]`: brings an image ECR Steward archived back to ECR's
 * standard class, gives it back the recorded tags that are free, and records `RESTORED` with the caller.
 */
export function registerRestore(program: Command): void {
  program
    .command('restore')
    .description(
      'bring back an image ECR Steward archived (soft delete): restore it to ECR standard storage and re-apply its free tags',
    )
    .argument('<image>', 'REPOSITORY@DIGEST or REPOSITORY:TAG (a tag the archived image carried)')
    .option(
      '--wait',
      'wait for ECR to finish the restore (typically up to 20 minutes), then re-apply the tags',
    )
    .option('--poll-every <seconds>', 'with --wait: how often to ask ECR', '15')
    .option('--timeout <seconds>', 'with --wait: give up waiting after this long', '1800')
    .option('--audit-table <name>', 'audit table name (default: $AUDIT_TABLE_NAME)')
    .option('--registry-id <id>', 'registry (account) id (default: $ECR_STEWARD_REGISTRY_ID or STS)')
    .action(async (image: string, opts: RestoreOptions) =>
      (await import('../commands/restore.js')).restoreCommand(image, opts),
    );
}
