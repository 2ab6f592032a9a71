import type { Command } from 'commander';
import type { DeleteRequestOptions } from '../commands/delete.js';
import { endpointOptions } from './endpoint.js';

/**
 * `ecr-steward delete request REPO@DIGEST... --reason TEXT`: a person's delete outside the policy, asked
 * rather than done. One request per repository goes to the approvals endpoint (signed, so the endpoint knows
 * who asks); once an approver (not the requester) approves it, the images go through the notice period, the
 * holds and the audit like any planned deletion.
 */
export function registerDelete(program: Command): void {
  const del = program
    .command('delete')
    .description('ask for images to be deleted: an approver must approve, then the notice period applies');
  endpointOptions(
    del
      .command('request')
      .description('create one deletion request per repository; prints the commands an approver runs')
      .argument('<images...>', 'REPOSITORY@DIGEST of each image (digests only)')
      .option('--reason <text>', 'why the images must go (required; shown to the approver and audited)'),
  ).action(async (refs: string[], opts: DeleteRequestOptions) =>
    (await import('../commands/delete.js')).deleteRequestCommand(refs, opts),
  );
}
