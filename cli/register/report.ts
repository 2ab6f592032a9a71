import { type Command, Option } from 'commander';
import { REPORT_FORMATS } from '../../functions/shared/report/formats.js';
import type { ReportOptions } from '../commands/report.js';
import { REPORT_MAX_CONCURRENCY as MAX_CONCURRENCY } from '../limits.js';

/**
 * `ecr-steward report`: what the registry holds, costs and could reclaim, per repository and in total, and what
 * was reclaimed over `--since`. Read-only: it lists, plans (the cleanup's read-only preview) and queries; it
 * never deletes, archives or writes a record.
 */
export function registerReport(program: Command): void {
  program
    .command('report')
    .description(
      'report the registry: images, bytes, reclaimable bytes, monthly cost, pull age, verdicts, deletions by principal',
    )
    .option(
      '--config <file>',
      'the steward config: its selections, policies and prices (default: $ECR_STEWARD_CONFIG)',
    )
    .option('--all', 'every repository of the registry, not only those the config manages')
    .addOption(new Option('--format <format>', 'output format').choices([...REPORT_FORMATS]).default('table'))
    .option('--out <file>', 'write the report to this file instead of stdout')
    .option(
      '--since <when>',
      'the deletions of this period, from the audit table: 12h, 30d or an ISO time',
      '30d',
    )
    .option('--now <iso-time>', 'report as of this time (pull ages, the plan, the period end; default: now)')
    .option(
      '--audit-table <name>',
      'audit table name (default: $AUDIT_TABLE_NAME; without one: "not available")',
    )
    .option(
      '--verdict-table <name>',
      'verdict table name (default: $VERDICT_TABLE_NAME; without one: "not available")',
    )
    .option('--registry-id <id>', 'registry (account) id (default: $ECR_STEWARD_REGISTRY_ID or STS)')
    .option('--concurrency <n>', `repositories read at once (1–${MAX_CONCURRENCY})`, '8')
    .option('--progress', 'show the progress bar on stderr even when it is not a terminal')
    .action(async (opts: ReportOptions) => (await import('../commands/report.js')).reportCommand(opts));
}
