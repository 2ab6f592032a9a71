import { type Command, Option } from 'commander';
import type { DeployPlanOptions } from '../commands/deploy-plan.js';
import { DEFAULT_CONFIG_PATH } from '../util.js';

/**
 * `ecr-steward deploy-plan [--config FILE] [--format table|json]`: which stacks the config deploys to which
 * account and region (the hub, each spoke, or the StackSet), and the commands to deploy them. Offline: it
 * reads the config only. Exit 0, or 2 when the config cannot be read or is invalid.
 */
export function registerDeployPlan(program: Command): void {
  program
    .command('deploy-plan')
    .description('print which stacks go to which account and region for the config, and how to deploy them')
    .option('--config <file>', `steward config (default: $ECR_STEWARD_CONFIG or ${DEFAULT_CONFIG_PATH})`)
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(async (opts: DeployPlanOptions) =>
      (await import('../commands/deploy-plan.js')).deployPlanCommand(opts),
    );
}
