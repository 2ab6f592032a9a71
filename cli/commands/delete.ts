import { parseImageRef } from '../refs.js';
import { connectApprovals, type EndpointOptions } from '../signed.js';
import { CliError } from '../util.js';
import { answerCommands, orRefused, parseLine } from './approvals.js';

/**
 * The most images one request may name (the approvals endpoint's limit, BatchDeleteImage's batch): an approver
 * reads every one of them, so a larger clean-up is several requests, or a lifecycle rule.
 */
export const MAX_IMAGES_PER_REQUEST = 100;

export interface DeleteRequestOptions extends EndpointOptions {
  readonly reason?: string;
}

/**
 * Groups `REPOSITORY@DIGEST` arguments by repository, in the order given, each digest once. A tag is refused:
 * it may move to another image between the request and its approval, and the approver must see (and approve)
 * exactly the images that will go.
 */
export function groupDigestRefs(refs: readonly string[]): Map<string, string[]> {
  const byRepository = new Map<string, string[]>();
  for (const text of refs) {
    const ref = parseImageRef(text);
    if (ref.digest === undefined)
      throw new CliError(
        `${JSON.stringify(text)}: a deletion request names images by digest (REPOSITORY@sha256:…), not by tag, since a tag can move before the request is approved; find the digest with aws ecr describe-images --repository-name ${ref.repository} --image-ids imageTag=${ref.tag}`,
      );
    const digests = byRepository.get(ref.repository) ?? [];
    if (!digests.includes(ref.digest)) digests.push(ref.digest);
    byRepository.set(ref.repository, digests);
  }
  for (const [repository, digests] of byRepository)
    if (digests.length > MAX_IMAGES_PER_REQUEST)
      throw new CliError(
        `${repository}: ${digests.length} images; one request takes at most ${MAX_IMAGES_PER_REQUEST} images of a repository: ask for the rest in another request`,
      );
  return byRepository;
}

/**
 * What `ecr-steward delete request` does. Its options and help are in cli/register/delete.ts, which loads this module
 * only when the command runs.
 */
export async function deleteRequestCommand(refs: string[], opts: DeleteRequestOptions) {
  // Every argument is checked before any call: a typo in the fifth image creates no request at all.
  const groups = groupDigestRefs(refs);
  const reason = parseLine(opts.reason, '--reason', 'why the images must go');
  const client = await connectApprovals(opts);
  // One by one, each printed as soon as it exists: if a later repository is refused, the earlier requests
  // are already on the screen with their ids.
  for (const [repository, digests] of groups) {
    const created = await orRefused(client.create({ kind: 'delete', repository, digests, reason }));
    process.stdout.write(answerCommands(created));
  }
}
