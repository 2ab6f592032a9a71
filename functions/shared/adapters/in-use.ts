import {
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListClustersCommand,
  ListServicesCommand,
  ListTaskDefinitionFamiliesCommand,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
} from '@aws-sdk/client-ecs';
import {
  GetFunctionCommand,
  LambdaClient,
  ListFunctionsCommand,
  ListVersionsByFunctionCommand,
} from '@aws-sdk/client-lambda';
import type { InUse } from '../lifecycle/types.js';
import { CLIENT_DEFAULTS } from '../runtime/clients.js';
import { mapLimit } from '../runtime/concurrency.js';
import { CallCounter, chunks } from './ecr.js';

/** One image reference found in a running or deployable workload. */
export interface ImageReference {
  readonly registryId: string;
  readonly region: string;
  readonly repository: string;
  readonly digest?: string | undefined;
  readonly tag?: string | undefined;
  /** Where it is used, e.g. `ecs:task/prod/abc123` or `lambda:orders:$LATEST`. */
  readonly where: string;
}

/** An in-use source could not be read: the run must delete nothing (fail safe). */
export class InUseUnavailableError extends Error {
  constructor(
    readonly source: string,
    cause: unknown,
  ) {
    super(`in-use source ${source} could not be read: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'InUseUnavailableError';
  }
}

// IPv4 `acct.dkr.ecr[-fips].region.amazonaws.com[.cn]` and dual-stack `acct.dkr-ecr.region.on.aws`: an in-use
// image pulled through either endpoint must be recognised, or it would not be protected.
const ECR_IMAGE =
  /^(\d{12})\.dkr[.-]ecr(?:-fips)?\.([a-z0-9-]+)\.(?:amazonaws\.com(?:\.cn)?|on\.aws)\/([^:@]+)(?::([^@]+))?(?:@(sha256:[a-f0-9]{64}))?$/;

/** Parses an ECR image URI (`acct.dkr.ecr.region.amazonaws.com/repo[:tag][@digest]`, or the dual-stack `acct.dkr-ecr.region.on.aws/…`); other registries give undefined. */
export function parseImageUri(uri: string, where: string): ImageReference | undefined {
  const m = ECR_IMAGE.exec(uri);
  if (!m) return undefined;
  return { registryId: m[1]!, region: m[2]!, repository: m[3]!, tag: m[4], digest: m[5], where };
}

/** Collects the image references of a whole account and region, once, for every repository of a run. */
export interface InUseSource {
  readonly name: string;
  collect(): Promise<ImageReference[]>;
}

/** The chains of an in-use source's calls (clusters, families, describe batches) run at once, at most. */
const CHAINS_AT_ONCE = 8;

/** Adds the reference an image URI names, with the digest ECS resolved when the URI has none. */
function pushRef(refs: ImageReference[], uri: string | undefined, where: string, digest?: string): void {
  if (!uri) return;
  const ref = parseImageUri(uri, where);
  if (ref) refs.push(digest && !ref.digest ? { ...ref, digest } : ref);
}

/**
 * Waits for every promise and answers their values in order, or throws the failure of the first one (in
 * order) that failed: the answer of running them one after another, when they do not depend on one another.
 */
async function inOrder<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  return settled.map((r) => {
    if (r.status === 'rejected') throw r.reason;
    return r.value;
  });
}

/** ECS: running tasks (exact digests), services' deployments, and the newest ACTIVE task-definition revisions. */
export class EcsInUseSource implements InUseSource {
  readonly name = 'ecs';
  private readonly taskDefinitions = new Map<string, Promise<string[]>>();
  constructor(
    private readonly options: { clusters?: readonly string[] | undefined; taskDefinitionRevisions: number },
    private readonly client: ECSClient = new ECSClient(CLIENT_DEFAULTS),
    private readonly calls: CallCounter = new CallCounter(),
  ) {}

  /**
   * The chains of calls that do not depend on one another run at the same time (the clusters, and in each its
   * tasks and its services; the task-definition families, and each family): a worker's in-use read waits for
   * the longest chain, not for every call in turn. The references come in the order the calls would have
   * made them one after another (clusters, then families; in a cluster its tasks, then its services), and a
   * failure is the one the first failing chain in that order met.
   */
  async collect(): Promise<ImageReference[]> {
    const [clusters, families] = await inOrder([
      (async () => {
        const arns = this.options.clusters ?? (await this.listClusters());
        return (await mapLimit(arns, CHAINS_AT_ONCE, (cluster) => this.clusterRefs(cluster))).flat();
      })(),
      this.familyRefs(),
    ]);
    return [...clusters!, ...families!];
  }

  private async clusterRefs(cluster: string): Promise<ImageReference[]> {
    const clusterName = cluster.split('/').pop() ?? cluster;
    const [tasks, services] = await inOrder([
      // Running tasks: ECS resolved the image to a digest at launch, so this is exact.
      (async () => {
        const taskArns = await this.pages((nextToken) =>
          this.count('ListTasks')
            .send(new ListTasksCommand({ cluster, desiredStatus: 'RUNNING', nextToken, maxResults: 100 }))
            .then((o) => ({ items: o.taskArns ?? [], nextToken: o.nextToken })),
        );
        const described = await mapLimit(chunks(taskArns, 100), CHAINS_AT_ONCE, (batch) =>
          this.count('DescribeTasks').send(new DescribeTasksCommand({ cluster, tasks: batch })),
        );
        const refs: ImageReference[] = [];
        for (const out of described)
          for (const task of out.tasks ?? []) {
            const id = task.taskArn?.split('/').pop() ?? '?';
            for (const c of task.containers ?? [])
              pushRef(refs, c.image, `ecs:task/${clusterName}/${id}`, c.imageDigest);
          }
        return refs;
      })(),
      // Services: every deployment still present (PRIMARY, ACTIVE during a rollout) can start tasks.
      (async () => {
        const serviceArns = await this.pages((nextToken) =>
          this.count('ListServices')
            .send(new ListServicesCommand({ cluster, nextToken, maxResults: 100 }))
            .then((o) => ({
              items: o.serviceArns ?? [],
              nextToken: o.nextToken,
            })),
        );
        const described = await mapLimit(chunks(serviceArns, 10), CHAINS_AT_ONCE, (batch) =>
          this.count('DescribeServices').send(new DescribeServicesCommand({ cluster, services: batch })),
        );
        const deployments = described.flatMap((out) =>
          (out.services ?? []).flatMap((service) =>
            (service.deployments ?? []).flatMap((d) =>
              d.taskDefinition
                ? [
                    {
                      taskDefinition: d.taskDefinition,
                      where: `ecs:service/${clusterName}/${service.serviceName ?? '?'}`,
                    },
                  ]
                : [],
            ),
          ),
        );
        const images = await mapLimit(deployments, CHAINS_AT_ONCE, (d) =>
          this.taskDefinitionImages(d.taskDefinition),
        );
        const refs: ImageReference[] = [];
        deployments.forEach((d, i) => {
          for (const image of images[i]!) pushRef(refs, image, d.where);
        });
        return refs;
      })(),
    ]);
    return [...tasks!, ...services!];
  }

  /** The newest N ACTIVE revisions of each family: what a rollback would start. */
  private async familyRefs(): Promise<ImageReference[]> {
    if (this.options.taskDefinitionRevisions <= 0) return [];
    const families = await this.pages((nextToken) =>
      this.count('ListTaskDefinitionFamilies')
        .send(new ListTaskDefinitionFamiliesCommand({ status: 'ACTIVE', nextToken, maxResults: 100 }))
        .then((o) => ({ items: o.families ?? [], nextToken: o.nextToken })),
    );
    const perFamily = await mapLimit(families, CHAINS_AT_ONCE, async (family) => {
      const out = await this.count('ListTaskDefinitions').send(
        new ListTaskDefinitionsCommand({
          familyPrefix: family,
          status: 'ACTIVE',
          sort: 'DESC',
          maxResults: this.options.taskDefinitionRevisions,
        }),
      );
      const arns = (out.taskDefinitionArns ?? []).filter(
        (arn) => arn.split('/').pop()?.split(':')[0] === family,
      );
      const images = await mapLimit(arns, CHAINS_AT_ONCE, (arn) => this.taskDefinitionImages(arn));
      const refs: ImageReference[] = [];
      arns.forEach((arn, i) => {
        for (const image of images[i]!) pushRef(refs, image, `ecs:task-definition/${arn.split('/').pop()}`);
      });
      return refs;
    });
    return perFamily.flat();
  }

  private async listClusters(): Promise<string[]> {
    return this.pages((nextToken) =>
      this.count('ListClusters')
        .send(new ListClustersCommand({ nextToken, maxResults: 100 }))
        .then((o) => ({
          items: o.clusterArns ?? [],
          nextToken: o.nextToken,
        })),
    );
  }

  /** A task definition's images, described once per source even when chains ask for it at the same time. */
  private taskDefinitionImages(arn: string): Promise<string[]> {
    const known = this.taskDefinitions.get(arn);
    if (known) return known;
    const read = (async () => {
      const out = await this.count('DescribeTaskDefinition').send(
        new DescribeTaskDefinitionCommand({ taskDefinition: arn }),
      );
      return (out.taskDefinition?.containerDefinitions ?? [])
        .map((c) => c.image)
        .filter((i): i is string => !!i);
    })();
    this.taskDefinitions.set(arn, read);
    return read;
  }

  private count(operation: string): ECSClient {
    this.calls.add(`ecs:${operation}`);
    return this.client;
  }

  private async pages<T>(
    page: (token: string | undefined) => Promise<{ items: T[]; nextToken?: string | undefined }>,
  ): Promise<T[]> {
    const out: T[] = [];
    let token: string | undefined;
    do {
      const p = await page(token);
      out.push(...p.items);
      token = p.nextToken;
    } while (token);
    return out;
  }
}

/** Lambda: container-image functions, `$LATEST` and every published version (aliases point at versions). */
export class LambdaInUseSource implements InUseSource {
  readonly name = 'lambda';
  constructor(
    private readonly client: LambdaClient = new LambdaClient(CLIENT_DEFAULTS),
    private readonly calls: CallCounter = new CallCounter(),
  ) {}

  async collect(): Promise<ImageReference[]> {
    const refs: ImageReference[] = [];
    let marker: string | undefined;
    const functions: string[] = [];
    do {
      this.calls.add('lambda:ListFunctions');
      const out = await this.client.send(new ListFunctionsCommand({ Marker: marker, MaxItems: 50 }));
      for (const f of out.Functions ?? [])
        if (f.PackageType === 'Image' && f.FunctionName) functions.push(f.FunctionName);
      marker = out.NextMarker;
    } while (marker);
    for (const name of functions) {
      let vMarker: string | undefined;
      const versions: string[] = [];
      do {
        this.calls.add('lambda:ListVersionsByFunction');
        const out = await this.client.send(
          new ListVersionsByFunctionCommand({ FunctionName: name, Marker: vMarker, MaxItems: 50 }),
        );
        for (const v of out.Versions ?? []) if (v.Version) versions.push(v.Version);
        vMarker = out.NextMarker;
      } while (vMarker);
      for (const version of versions) {
        this.calls.add('lambda:GetFunction');
        const out = await this.client.send(
          new GetFunctionCommand({ FunctionName: name, Qualifier: version }),
        );
        const where = `lambda:${name}:${version}`;
        // ResolvedImageUri carries the digest Lambda runs; ImageUri may name a tag.
        const resolved = out.Code?.ResolvedImageUri
          ? parseImageUri(out.Code.ResolvedImageUri, where)
          : undefined;
        const named = out.Code?.ImageUri ? parseImageUri(out.Code.ImageUri, where) : undefined;
        if (resolved) refs.push(resolved);
        if (named && named.digest !== resolved?.digest) refs.push(named);
      }
    }
    return refs;
  }
}

/** References from the config (`inUse.static`): `repository@sha256:…` or `repository:tag`. */
export function staticReferences(
  entries: Readonly<Record<string, readonly string[]>> | undefined,
  registryId: string,
  region: string,
): ImageReference[] {
  return Object.entries(entries ?? {}).map(([ref, where]) => {
    const at = ref.indexOf('@');
    const colon = ref.lastIndexOf(':');
    if (at > 0)
      return {
        registryId,
        region,
        repository: ref.slice(0, at),
        digest: ref.slice(at + 1),
        where: where.join(', '),
      };
    if (colon > 0)
      return {
        registryId,
        region,
        repository: ref.slice(0, colon),
        tag: ref.slice(colon + 1),
        where: where.join(', '),
      };
    return { registryId, region, repository: ref, where: where.join(', ') };
  });
}

/**
 * Reads every source; if any cannot be read, throws InUseUnavailableError naming it, so no delete runs on
 * a partial picture of what is running.
 */
export async function collectInUse(sources: readonly InUseSource[]): Promise<ImageReference[]> {
  const refs: ImageReference[] = [];
  for (const source of sources) {
    try {
      refs.push(...(await source.collect()));
    } catch (e) {
      throw new InUseUnavailableError(source.name, e);
    }
  }
  return refs;
}

/** The engine's view of what is in use in one repository: exact digests and tag references. */
export function inUseFor(
  refs: readonly ImageReference[],
  repository: { registryId: string; region: string; name: string },
): InUse {
  const digests = new Map<string, string[]>();
  const tags = new Map<string, string[]>();
  for (const ref of refs) {
    if (
      ref.repository !== repository.name ||
      ref.registryId !== repository.registryId ||
      ref.region !== repository.region
    )
      continue;
    if (ref.digest) digests.set(ref.digest, [...(digests.get(ref.digest) ?? []), ref.where]);
    else if (ref.tag) tags.set(ref.tag, [...(tags.get(ref.tag) ?? []), ref.where]);
    else tags.set('latest', [...(tags.get('latest') ?? []), ref.where]);
  }
  return { digests, tags };
}

/** The in-use sources the config turns on, sharing the caller's clients and call counter. */
export function inUseSourcesFor(
  inUse: {
    readonly ecs: {
      readonly enabled: boolean;
      readonly clusters?: readonly string[] | undefined;
      readonly taskDefinitionRevisions: number;
    };
    readonly lambda: { readonly enabled: boolean };
  },
  clients: { readonly ecs: () => ECSClient; readonly lambda: () => LambdaClient },
  calls: CallCounter,
): InUseSource[] {
  const sources: InUseSource[] = [];
  if (inUse.ecs.enabled) {
    sources.push(
      new EcsInUseSource(
        { clusters: inUse.ecs.clusters, taskDefinitionRevisions: inUse.ecs.taskDefinitionRevisions },
        clients.ecs(),
        calls,
      ),
    );
  }
  if (inUse.lambda.enabled) sources.push(new LambdaInUseSource(clients.lambda(), calls));
  return sources;
}
