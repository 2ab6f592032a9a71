import { type Command, Option } from 'commander';
import { formatPolicyError, validatePolicyText } from '../../functions/shared/lifecycle/index.js';
import { EXIT, ExitWith, oneLine, readTextFile } from '../util.js';

interface ValidateOptions {
  readonly policy: string;
  readonly format: 'text' | 'json';
}

/**
 * `ecr-steward validate --policy FILE [--format text|json]`: checks an ECR lifecycle policy as
 * `PutLifecyclePolicy` would, listing every error. Exit 0 valid, 1 invalid, 2 unreadable file.
 */
export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check an ECR lifecycle policy the way ECR does, listing every error')
    .requiredOption('--policy <file>', 'lifecycle policy JSON, as given to put-lifecycle-policy')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (opts: ValidateOptions) => {
      // The raw text, not re-serialised JSON: ECR's length limits apply to exactly what is submitted.
      const result = validatePolicyText(await readTextFile(opts.policy, '--policy'));
      if (opts.format === 'json') {
        const errors = result.errors.map((e) => ({ path: e.path, rule: e.rule ?? null, message: e.message }));
        process.stdout.write(`${JSON.stringify({ valid: result.valid, errors }, null, 2)}\n`);
      } else if (result.valid) {
        const n = result.policy.rules.length;
        process.stdout.write(`${opts.policy}: valid ECR lifecycle policy (${n} rule${n === 1 ? '' : 's'})\n`);
      } else {
        // Errors go to stderr, one per line prefixed with the file, like a compiler's, so editors can jump to them.
        for (const error of result.errors)
          process.stderr.write(`${opts.policy}: ${oneLine(formatPolicyError(error))}\n`);
      }
      if (!result.valid) throw new ExitWith(EXIT.findings);
    });
}
