/**
 * The digest's ports over the one factory (StewardPorts): the registry, the tables and the cleanup core's
 * read-only wiring. The handler, the local cloud and tests build the digest's ports here, so the plans behind
 * "most to reclaim" are made exactly as the CLI's preview makes them (cleanupPorts with `readOnly`), with the
 * holds of the table.
 */
import type { SNSClient } from '@aws-sdk/client-sns';
import type { RegistryPort } from '../cleanup/core.js';
import { cleanupPorts } from '../cleanup/run.js';
import type { RepositoryInfo } from '../shared/adapters/ecr.js';
import { toHold } from '../shared/holds/store.js';
import type { StewardPorts } from '../shared/runtime/ports.js';
import { auditRecordsSince, digestMarkers, gateFailuresBetween, snsPublisher } from './adapters.js';
import type { DigestPorts } from './core.js';
import { reclaimableIn } from './reclaimable.js';

export interface DigestWiring {
  /** The account whose in-use references count (the registry's). */
  readonly accountId: string;
  readonly region: string;
  /** The run id the read-only plans carry (they record nothing; it names the run in their reports). */
  readonly runId: string;
  readonly now: Date;
  readonly sns: SNSClient;
  /** The topics' ARNs. */
  readonly topics: { readonly notices: string; readonly alerts: string };
}

/**
 * A registry that reads and never writes: a delete or an archive throws (the dry run never asks for one; this
 * makes sure of it). Repositories already listed and their tags are not read again.
 */
function readOnlyRegistry(
  registry: StewardPorts['registry'],
  listed: RepositoryInfo,
  tagsOf: (arn: string) => Promise<Record<string, string>>,
): RegistryPort {
  const refuse = async (): Promise<never> => {
    throw new Error('the digest plans read-only: it never deletes or archives');
  };
  return {
    describeRepository: async (name) => (name === listed.name ? listed : registry.describeRepository(name)),
    repositoryTags: tagsOf,
    listImages: (r) => registry.listImages(r),
    indexChildren: (r, d) => registry.indexChildren(r, d),
    lifecyclePolicyText: (r) => registry.lifecyclePolicyText(r),
    existingDigests: (r, d) => registry.existingDigests(r, d),
    deleteImages: refuse,
    archiveImages: refuse,
  };
}

/** The digest's ports: reads through `ports`, markers in the state table, messages through `wiring.sns`. */
export function digestPorts(ports: StewardPorts, wiring: DigestWiring): DigestPorts {
  const doc = ports.documentClient;
  const tags = new Map<string, Promise<Record<string, string>>>();
  const tagsOf = (arn: string) => {
    let known = tags.get(arn);
    if (!known) {
      known = ports.registry.repositoryTags(arn);
      tags.set(arn, known);
      // A failed read is not kept: the plan of that repository reads again.
      known.catch(() => tags.delete(arn));
    }
    return known;
  };
  return {
    listRepositories: () => ports.registry.listRepositories(),
    repositoryTags: tagsOf,
    auditRecords: (since, onPage) => auditRecordsSince(doc, ports.table('audit'), since, wiring.now, onPage),
    holds: async () => (await ports.holds?.list()) ?? [],
    gateFailures: (since, until) => gateFailuresBetween(doc, ports.table('verdict'), since, until),
    reclaimable: (repository, holds) => {
      const preview = cleanupPorts(ports, {
        accountId: wiring.accountId,
        region: wiring.region,
        runId: wiring.runId,
        now: wiring.now,
        readOnly: true,
      });
      return reclaimableIn(
        ports.config,
        repository.name,
        { region: wiring.region, runId: wiring.runId, now: wiring.now },
        {
          ...preview,
          registry: readOnlyRegistry(ports.registry, repository, tagsOf),
          // The holds the worker would read (the holds table), so a held image is not counted as reclaimable.
          holds: async () => holds.map(toHold),
        },
      );
    },
    markers: digestMarkers(doc, ports.table('state')),
    publish: snsPublisher(wiring.sns, wiring.topics),
  };
}
