import { type Command, Option } from 'commander';
import type { CheckOptions, EvaluateOptions } from '../commands/gate.js';

/** `ecr-steward gate check|evaluate`: the deploy-time gate for pipelines, and offline policy tests. */
export function registerGate(program: Command): void {
  const gate = program.command('gate').description('scan gate verdicts: exit 0 PASS, 1 FAIL, 3 PENDING');
  gate
    .command('check')
    .description('the verdict of one image, for a deploy pipeline (exit 0 PASS, 1 FAIL, 3 PENDING)')
    .argument('<image>', 'REPOSITORY@DIGEST or REPOSITORY:TAG')
    .option(
      '--live',
      'judge the current findings now with the config, instead of reading the recorded verdict',
    )
    .option(
      '--config <file>',
      'config for --live, for images with no verdict yet, and (--require-signature) the trusted signers of its gate policy',
    )
    .option('--verdict-table <name>', 'verdict table name (default: $VERDICT_TABLE_NAME)')
    .option('--registry-id <id>', 'registry (account) id (default: $ECR_STEWARD_REGISTRY_ID or STS)')
    .option(
      '--require-signature',
      "verify the image's signatures from the registry now, with your credentials; exit 0 only when SIGNED by a trusted signer",
    )
    .option(
      '--public-key <file>',
      "with --require-signature: a trusted cosign public key (cosign.pub, PEM); repeatable. Default: the trust of the gate policy's signatures in --config",
      (value: string, previous: readonly string[] | undefined) => [...(previous ?? []), value],
    )
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (image: string, opts: CheckOptions) =>
      (await import('../commands/gate.js')).gateCheckCommand(image, opts),
    );
  gate
    .command('evaluate')
    .description('judge an `aws ecr describe-image-scan-findings` output against a gate policy, offline')
    .requiredOption('--policy <file>', 'gate policy JSON')
    .requiredOption('--findings <file>', 'describe-image-scan-findings output (basic or enhanced)')
    .option(
      '--repository <name>',
      'repository name (for allowlist entries scoped to repositories)',
      'unknown',
    )
    .option('--tags <tags>', 'comma-separated image tags (for exempt tags)')
    .option('--now <iso-time>', 'evaluate as of this time (allowlist expiry), default now')
    .addOption(
      new Option(
        '--cvss-source <source>',
        'which CVSS score blockCvssAtOrAbove compares (config gate.cvssSource)',
      )
        .choices(['scanner', 'nvd', 'max'])
        .default('scanner'),
    )
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (opts: EvaluateOptions) => (await import('../commands/gate.js')).gateEvaluateCommand(opts));
}
