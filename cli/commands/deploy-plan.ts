import { deployPlan, formatDeployPlan } from '../../functions/shared/config/deploy-plan.js';
import { DEFAULT_CONFIG_PATH, loadConfig } from '../aws.js';

export interface DeployPlanOptions {
  readonly config?: string;
  readonly format: 'table' | 'json';
}

/**
 * What `ecr-steward deploy-plan` does. Its options and help are in cli/register/deploy-plan.ts, which loads this module
 * only when the command runs.
 */
export function deployPlanCommand(opts: DeployPlanOptions) {
  const configPath = opts.config ?? process.env.ECR_STEWARD_CONFIG ?? DEFAULT_CONFIG_PATH;
  const plan = deployPlan(loadConfig(configPath));
  process.stdout.write(
    opts.format === 'json' ? `${JSON.stringify(plan, null, 2)}\n` : formatDeployPlan(plan, { configPath }),
  );
}
