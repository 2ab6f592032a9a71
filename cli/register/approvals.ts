import type { Command } from 'commander';
import { REQUEST_STATES } from '../../functions/shared/approvals/model.js';
import type { DecideOptions, ListOptions } from '../commands/approvals.js';
import { endpointOptions } from './endpoint.js';

/**
 * `ecr-steward approvals list`, `ecr-steward approve ID`, `ecr-steward reject ID`: the approver's side of a
 * deletion request, each a call to the approvals endpoint signed with the caller's own AWS credentials, so the
 * endpoint knows who decides (and refuses a requester approving their own request).
 */
export function registerApprovals(program: Command): void {
  const approvals = program
    .command('approvals')
    .description("deletion requests waiting for (or given) an approver's answer");
  endpointOptions(
    approvals
      .command('list')
      .description('list deletion and breaker-reset requests (pending ones unless --state says otherwise)')
      .option('--state <state>', `${REQUEST_STATES.join(', ')} or all`, 'PENDING_APPROVAL')
      .option('--repository <name>', 'only the requests of this repository')
      .option('--format <format>', 'table or json', 'table'),
  ).action(async (opts: ListOptions) =>
    (await import('../commands/approvals.js')).approvalsListCommand(opts),
  );

  endpointOptions(
    program
      .command('approve')
      .description('approve a request (an approver who is not its requester); the next run acts on it')
      .argument('<id>', 'the request id (`approvals list` shows them)')
      .option('--comment <text>', 'a note recorded with the approval'),
  ).action(async (idArg: string, opts: DecideOptions) =>
    (await import('../commands/approvals.js')).approveCommand(idArg, opts),
  );

  endpointOptions(
    program
      .command('reject')
      .description('reject a request (an approver who is not its requester); its images are kept')
      .argument('<id>', 'the request id (`approvals list` shows them)')
      .option('--reason <text>', 'why (required; recorded and told to the requester)'),
  ).action(async (idArg: string, opts: DecideOptions) =>
    (await import('../commands/approvals.js')).rejectCommand(idArg, opts),
  );
}
