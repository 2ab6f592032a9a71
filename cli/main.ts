import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { describeAwsSetupError } from './aws-errors.js';
import { registerLocal } from './commands/local.js';
import { registerApprovals } from './register/approvals.js';
import { registerAudit } from './register/audit.js';
import { registerBreaker } from './register/breaker.js';
import { registerDelete } from './register/delete.js';
import { registerDeployPlan } from './register/deploy-plan.js';
import { registerGate } from './register/gate.js';
import { registerHold } from './register/hold.js';
import { registerPlan } from './register/plan.js';
import { registerReport } from './register/report.js';
import { registerRestore } from './register/restore.js';
import { registerRun } from './register/run.js';
import { registerTrash } from './register/trash.js';
import { registerValidate } from './register/validate.js';
import { CliError, EXIT, ExitWith, packageVersion } from './util.js';

/**
 * Adds one subcommand to the program. Each is registered from its own file under `cli/register/` (its
 * options and help, nothing else) and does its work in `cli/commands/`, loaded only when it runs: `--help`
 * and `gate check` load commander and what they use, never the SDK clients of the other commands.
 */
export type RegisterCommand = (program: Command) => void;

/**
 * The built-in subcommands, in the order `--help` lists them. A new command (audit, breaker, gate, run,
 * local, …) is one file exporting a `RegisterCommand` plus one entry here.
 */
export const COMMANDS: readonly RegisterCommand[] = [
  registerValidate,
  registerPlan,
  registerReport,
  registerAudit,
  registerBreaker,
  registerGate,
  registerHold,
  registerRestore,
  registerTrash,
  registerDelete,
  registerApprovals,
  registerRun,
  registerDeployPlan,
  registerLocal,
];

/**
 * Builds the `ecr-steward` program with the built-in commands and any `extra` ones. Commander's own
 * exits are turned into exceptions so that `run` alone decides exit codes and nothing calls `process.exit`.
 */
export function buildProgram(extra: readonly RegisterCommand[] = []): Command {
  const program = new Command('ecr-steward')
    .description(
      'Keeps Amazon ECR repositories clean and safe: ECR-exact lifecycle plans with the protections ECR lacks.',
    )
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      '\nExit codes: 0 success, 1 findings (e.g. an invalid policy), 2 bad usage, input or AWS setup (region, credentials), 3 gate PENDING, 70 a bug.',
    )
    // A program option is recognised before and after the subcommand: `ecr-steward audit --region eu-west-1`.
    .option('--region <region>', 'AWS region for the live commands (default: $AWS_REGION or your profile)')
    // The profile's region is read by the live paths themselves (registryId settles it first): an offline
    // command builds no SDK client, so it neither waits for a profile nor prints the SDK's warnings.
    .hook('preAction', (command) => {
      useRegion(command.opts<{ region?: string }>().region);
    })
    // Subcommands made with program.command() inherit these two, so every command exits through run().
    .exitOverride()
    .configureOutput({
      writeOut: (s) => process.stdout.write(s),
      writeErr: (s) => process.stderr.write(s),
    });
  for (const register of [...COMMANDS, ...extra]) register(program);
  return program;
}

/** An AWS region name's shape (`eu-west-1`, `us-gov-west-1`, `eusc-de-east-1`): loose, so new partitions pass. */
const REGION_NAME = /^[a-z]{2,}(?:-[a-z0-9]+)+$/;

/**
 * Makes `--region` (or, failing that, the AWS CLI's `AWS_DEFAULT_REGION`) the SDK's region: every client
 * reads `AWS_REGION` when it first needs a region, so the commands need not pass it around.
 */
function useRegion(option: string | undefined): void {
  if (option !== undefined) {
    if (!REGION_NAME.test(option))
      throw new CliError(`--region ${JSON.stringify(option)}: not an AWS region name (e.g. eu-west-1)`);
    process.env.AWS_REGION = option;
  } else if (!process.env.AWS_REGION && process.env.AWS_DEFAULT_REGION) {
    // The AWS CLI reads AWS_DEFAULT_REGION and the JavaScript SDK does not; people set it for the former.
    process.env.AWS_REGION = process.env.AWS_DEFAULT_REGION;
  }
}

/**
 * Runs the CLI on `argv` (as `process.argv`: node, script, args…) and returns the exit code:
 * 0 success, 1 findings (e.g. an invalid policy), 2 bad usage, bad input or a missing/wrong AWS setup
 * (region, credentials, access, endpoint), 70 a bug. Never prints a stack trace unless `ECR_STEWARD_DEBUG` is set.
 */
export async function run(argv: readonly string[], extra: readonly RegisterCommand[] = []): Promise<number> {
  ignoreClosedStdout();
  const program = buildProgram(extra);
  try {
    await program.parseAsync([...argv]);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof ExitWith) return e.exitCode;
    if (e instanceof CommanderError) {
      // Commander has already printed its message (or the help/version it was asked for).
      return e.exitCode === 0 ? EXIT.ok : EXIT.badInput;
    }
    if (e instanceof CliError) {
      process.stderr.write(`error: ${e.message}\n`);
      return e.exitCode;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    // No region or no credentials is the user's setup, not a bug: say what to set, exit as for bad input.
    const setup = describeAwsSetupError(err);
    if (setup) {
      process.stderr.write(`error: ${setup}\n`);
      if (process.env.ECR_STEWARD_DEBUG) process.stderr.write(`${err.stack ?? ''}\n`);
      return EXIT.badInput;
    }
    process.stderr.write(
      `error: unexpected failure (a bug in ecr-steward; set ECR_STEWARD_DEBUG=1 for details): ${err.message}\n`,
    );
    if (process.env.ECR_STEWARD_DEBUG) process.stderr.write(`${err.stack ?? ''}\n`);
    return EXIT.internal;
  }
}

let stdoutGuarded = false;

/**
 * `ecr-steward plan --format json | head` closes the pipe early; that is the reader's choice, not an
 * error, so end quietly instead of dying with an EPIPE stack trace.
 */
function ignoreClosedStdout(): void {
  if (stdoutGuarded) return;
  stdoutGuarded = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
    throw e;
  });
}

// Also runnable directly (`tsx cli/main.ts plan …`); bin/ecr-steward.js imports it and calls run() itself.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await run(process.argv);
}
