import { type Command, Option } from 'commander';
import type { AuditOptions } from '../commands/audit.js';

/** `ecr-steward audit`: who or what deleted which image, when and why, from the audit table. */
export function registerAudit(program: Command): void {
  program
    .command('audit')
    .description('query the audit table: every image deletion, with actor, rule, reasons and evidence')
    .option('--repository <name>', 'one repository (by repository and time)')
    .option('--digest <digest>', 'one image digest (every repository it was deleted from)')
    .option('--since <when>', 'how far back: 30m, 12h, 7d or an ISO time', '7d')
    .option('--limit <n>', 'at most this many records', '1000')
    .option('--include-planned', 'also list dry-run (PLANNED) records')
    .option(
      '--operations',
      'registry operations instead of deletions: policies, lifecycle policies, tag mutability, scanning, replication, repositories created or deleted, tags, pushes (who, from where, what changed)',
    )
    .option(
      '--principal <arn>',
      'with --operations: only the operations of this IAM principal (role or user ARN)',
    )
    .option(
      '--request <id>',
      "the whole story of one deletion request: created, every answer given or refused (who, from where), each image's notice, deletion or cancellation",
    )
    .option('--requests-table <name>', 'requests table name, with --request (default: $REQUESTS_TABLE_NAME)')
    .option(
      '--org',
      "the organization's audit trail, from the hub (every spoke's records); filter with --account and --region",
    )
    .option('--account <id>', 'with --org: one spoke account')
    .option(
      '--org-audit-table <name-or-arn>',
      "with --org: the hub's org audit table (default: $ORG_AUDIT_TABLE_NAME, else built from --config's organization.hub)",
    )
    .option('--config <file>', 'with --org: the config naming the hub (default: $ECR_STEWARD_CONFIG)')
    .option('--audit-table <name>', 'audit table name (default: $AUDIT_TABLE_NAME)')
    .option('--registry-id <id>', 'registry (account) id (default: $ECR_STEWARD_REGISTRY_ID or STS)')
    .addOption(
      new Option('--format <format>', 'output format').choices(['table', 'json', 'csv']).default('table'),
    )
    .action(async (opts: AuditOptions, command: Command) =>
      (await import('../commands/audit.js')).auditCommand(opts, command),
    );
}
