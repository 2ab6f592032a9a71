import { type Command, Option } from 'commander';
import type { ValidateOptions } from '../commands/validate.js';

/**
 * `ecr-steward validate --policy FILE | --config FILE [--format text|json]`: checks an ECR lifecycle policy
 * as `PutLifecyclePolicy` would, or a whole ECR Steward config as `cdk synth` would, listing every error
 * (and, for a config, every warning and the CloudWatch alarms its stack deploys). Exit 0 valid (warnings or
 * not), 1 invalid, 2 unreadable file or usage.
 */
export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description(
      'check an ECR lifecycle policy the way ECR does, or a whole ECR Steward config, listing every error',
    )
    .addOption(
      new Option('--policy <file>', 'lifecycle policy JSON, as given to put-lifecycle-policy').conflicts(
        'config',
      ),
    )
    .option('--config <file>', 'ECR Steward config (steward.config.json, comments allowed)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (opts: ValidateOptions) => (await import('../commands/validate.js')).validateCommand(opts));
}
