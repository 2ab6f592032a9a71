import { type Command, Option } from 'commander';
import { deployPlan, formatDeployPlan } from '../../functions/shared/config/deploy-plan.js';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../aws.js';

interface DeployPlanOptions {
  readonly config?: string;
  readonly format: 'table' | 'json';
}

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
    .action((opts: DeployPlanOptions) => {
      const configPath = opts.config ?? process.env.ECR_STEWARD_CONFIG ?? DEFAULT_CONFIG_PATH;
      const plan = deployPlan(loadConfig(configPath));
      process.stdout.write(
        opts.format === 'json'
          ? `${JSON.stringify(plan, null, 2)}\n`
          : formatDeployPlan(plan, { configPath }),
      );
    });
}
