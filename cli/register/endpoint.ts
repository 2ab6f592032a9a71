import type { Command } from 'commander';
import { ENV } from '../../functions/shared/runtime/constants.js';

// The approvals endpoint's options, apart from the client that calls it (cli/signed.ts, which needs the SDK's
// signer): every command registration uses them, and `--help` must not load the SDK.

/** The stack ECR Steward deploys as (`bin/app.ts`, context `stackName`). */
export const DEFAULT_STACK_NAME = 'EcrSteward';

/** The stack output that carries the approvals function URL. */
export const APPROVALS_URL_OUTPUT = 'ApprovalsUrl';

/** Adds `--url` and `--stack` to a command that calls the approvals endpoint. */
export function endpointOptions(command: Command): Command {
  return command
    .option(
      '--url <url>',
      `the approvals function URL (default: $${ENV.approvalsUrl}, else the stack output ${APPROVALS_URL_OUTPUT})`,
    )
    .option(
      '--stack <name>',
      `the ECR Steward stack whose ${APPROVALS_URL_OUTPUT} output names the URL`,
      DEFAULT_STACK_NAME,
    );
}
