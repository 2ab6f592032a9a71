import { type Command, Option } from 'commander';
import type { PlanOptions } from '../commands/plan.js';

/**
 * `ecr-steward plan`: what ECR's lifecycle rules, plus the Steward protections, would do to one repository,
 * computed offline from `describe-images` output. Read-only by construction: it never calls AWS.
 */
export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('plan a repository offline: which images the lifecycle policy expires or archives, and why')
    .option('--policy <file>', 'offline: ECR lifecycle policy JSON')
    .option('--images <file>', 'offline: aws ecr describe-images output ({"imageDetails": [...]})')
    .option('--config <file>', 'live (with --repository and no --images): the steward config to apply')
    .option(
      '--manifests <file>',
      'aws ecr batch-get-image output for the image indexes (multi-arch children)',
    )
    .option('--steward <file>', 'Steward policy JSON: protected tags, semver retention, holds, …')
    .option(
      '--in-use <file>',
      'images in use: {"digests": {"sha256:…": ["ecs:…"]}, "tags": {"v1": ["lambda:…"]}}',
    )
    .option(
      '--repository <name>',
      "repository name (default: the images' repositoryName, else the file name)",
    )
    .option(
      '--account <id>',
      "live: plan a spoke's repository: act in this account (assuming --role there) with the config narrowed to it; the region is --region",
    )
    .option(
      '--role <name>',
      "with --account: the role to assume (default: the config's organization.roleName, EcrStewardReadOnly)",
    )
    .option('--now <iso-time>', 'evaluate as of this time, e.g. 2026-11-01T00:00:00Z (default: now)')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (opts: PlanOptions) => (await import('../commands/plan.js')).planCommand(opts));
}
