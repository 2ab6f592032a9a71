/**
 * A local organization: one hub and several spokes, each a {@link LocalCloud} of its own account and region
 * (with its own template from one cloud assembly: `<stackName>.template.json`), behind ONE front door
 * (local/front-door.ts). Every function and CLI of every environment reaches AWS through the front door with
 * its own access key (`LOCAL<account>`) and region, so a spoke's PutEvents to the hub bus ARN lands on the
 * hub's bus (admitted by the bus policy or refused), a GetItem on the hub state table's ARN reads the hub's
 * table (admitted by its resource policy or refused), and `sts:AssumeRole` into a spoke's role gives
 * credentials that reach that spoke. ECR registry replication between environments is carried out too.
 */
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { LocalCloud } from './cloud.js';
import type { FaultInjector } from './faults.js';
import {
  type FrontDoor,
  LOCAL_ORGANIZATION_ID,
  LOCAL_SECRET,
  type LocalOrganization,
  localAccessKey,
  organizationOf,
  startFrontDoor,
} from './front-door.js';
import { assemblyStacks } from './synth.js';
import type { LocalEnvironment } from './template.js';

/** The accounts and regions of the local organization of the issue: hub 111111111111, two spokes. */
export const LOCAL_ORG_ACCOUNTS = { hub: '111111111111', spokes: ['222222222222', '333333333333'] } as const;
export const LOCAL_ORG_REGIONS = ['eu-west-1', 'us-east-1'] as const;

/** One environment of the organization and the stack deployed there. */
export interface OrgEnvironmentSpec extends LocalEnvironment {
  /** The stack whose template (`<stackName>.template.json` in cdkOut) runs there. */
  readonly stackName: string;
}

/** Options of {@link LocalOrg.start}. */
export interface LocalOrgOptions {
  readonly cdkOut: string;
  readonly hub: OrgEnvironmentSpec;
  readonly spokes: readonly OrgEnvironmentSpec[];
  /** @default LOCAL_ORGANIZATION_ID (o-local0example) */
  readonly organizationId?: string;
  /**
   * The accounts that belong to the organization. @default the hub's and the spokes' accounts (so any other
   * account, e.g. 444444444444, is an outsider)
   */
  readonly members?: readonly string[];
  /** Faults for every environment's server. */
  readonly faults?: FaultInjector;
  readonly logDir: string;
  readonly visibilityMs?: number;
  readonly onActivity?: (line: string) => void;
  /** Wait between retries of a failed stream batch (every environment). */
  readonly streamRetryDelayMs?: (attempt: number) => number;
}

/** The stack name of the hub in an assembly synthesized from a config with `organization`. */
export const HUB_STACK_NAME = 'EcrStewardHub';

/**
 * The hub and spokes of a synthesized organization (local/synth.ts): the environment-bound stacks of the
 * assembly, the one named {@link HUB_STACK_NAME} as the hub. Throws when the assembly has no hub.
 */
export function orgEnvironmentsOf(cdkOut: string): { hub: OrgEnvironmentSpec; spokes: OrgEnvironmentSpec[] } {
  const bound = assemblyStacks(cdkOut).flatMap((s) =>
    s.account && s.region ? [{ account: s.account, region: s.region, stackName: s.name }] : [],
  );
  const hub = bound.find((s) => s.stackName === HUB_STACK_NAME);
  if (!hub) throw new Error(`${cdkOut} has no ${HUB_STACK_NAME} stack bound to an account and region`);
  return { hub, spokes: bound.filter((s) => s !== hub) };
}

const envKey = (env: LocalEnvironment) => `${env.account}/${env.region}`;

/** A running local organization. */
export class LocalOrg {
  /** Every environment's cloud, by `<account>/<region>`. */
  readonly clouds = new Map<string, LocalCloud>();

  private constructor(
    readonly frontDoor: FrontDoor,
    readonly organization: LocalOrganization,
    private readonly hubEnv: LocalEnvironment,
    private readonly spokeEnvs: readonly LocalEnvironment[],
  ) {}

  /** Boots the front door, then one cloud per environment (in parallel), and wires replication between them. */
  static async start(opts: LocalOrgOptions): Promise<LocalOrg> {
    const envs = [opts.hub, ...opts.spokes];
    const seen = new Set<string>();
    for (const env of envs) {
      if (seen.has(envKey(env))) throw new Error(`environment ${envKey(env)} is listed twice`);
      seen.add(envKey(env));
    }
    const organization = organizationOf(
      opts.members ?? [...new Set(envs.map((e) => e.account))],
      opts.organizationId ?? LOCAL_ORGANIZATION_ID,
    );
    const frontDoor = await startFrontDoor({
      organization,
      defaultEnvironment: { account: opts.hub.account, region: opts.hub.region },
      ...(opts.onActivity ? { log: opts.onActivity } : {}),
    });
    const org = new LocalOrg(frontDoor, organization, opts.hub, opts.spokes);
    const accounts = new Set(envs.map((e) => e.account));
    try {
      const clouds = await Promise.all(
        envs.map((env) => {
          const logDir = path.join(opts.logDir, `${env.account}-${env.region}`);
          mkdirSync(logDir, { recursive: true });
          return LocalCloud.start({
            cdkOut: opts.cdkOut,
            stackName: env.stackName,
            account: env.account,
            region: env.region,
            accessKeyId: localAccessKey(env.account),
            secretAccessKey: LOCAL_SECRET,
            clientEndpoint: frontDoor.url,
            organization,
            isLocalAccount: (a) => accounts.has(a),
            logDir,
            ...(opts.faults ? { faults: opts.faults } : {}),
            ...(opts.visibilityMs !== undefined ? { visibilityMs: opts.visibilityMs } : {}),
            ...(opts.streamRetryDelayMs ? { streamRetryDelayMs: opts.streamRetryDelayMs } : {}),
            ...(opts.onActivity
              ? { onActivity: (line: string) => opts.onActivity?.(`[${env.account} ${env.region}] ${line}`) }
              : {}),
          });
        }),
      );
      envs.forEach((env, i) => {
        const cloud = clouds[i]!;
        org.clouds.set(envKey(env), cloud);
        frontDoor.register({
          account: env.account,
          region: env.region,
          endpoint: cloud.endpoint,
          dynamoEndpoint: cloud.dynamoEndpoint,
          tables: new Map([...cloud.ids.tables.values()].map((t) => [t.name, t])),
        });
      });
      for (const cloud of clouds)
        cloud.ecr.setReplicator((destination, repository, image) => {
          const target = org.clouds.get(`${destination.registryId}/${destination.region}`);
          if (!target) return 'REPLICATION_DESTINATION_NOT_FOUND';
          target.ecr.replicateImage(repository, image);
          return undefined;
        });
    } catch (e) {
      await org.close();
      throw e;
    }
    return org;
  }

  /** The hub's cloud. */
  get hub(): LocalCloud {
    return this.cloud(this.hubEnv.account, this.hubEnv.region);
  }

  /** The spokes' clouds, in the order given. */
  get spokes(): LocalCloud[] {
    return this.spokeEnvs.map((e) => this.cloud(e.account, e.region));
  }

  /** The cloud of `account` in `region`; throws naming the environments there are. */
  cloud(account: string, region: string): LocalCloud {
    const cloud = this.clouds.get(`${account}/${region}`);
    if (!cloud)
      throw new Error(
        `no local environment ${account}/${region}: the organization has ${[...this.clouds.keys()].join(', ')}`,
      );
    return cloud;
  }

  /**
   * The environment for a client acting in `account`/`region` through the front door (the CLI, a test's SDK
   * client): the environment's own CLI environment when there is one; otherwise (an outsider account) just
   * its credentials, region and the front door.
   */
  clientEnv(account: string, region: string): Record<string, string> {
    const cloud = this.clouds.get(`${account}/${region}`);
    if (cloud) return cloud.cliEnv();
    return {
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ACCESS_KEY_ID: localAccessKey(account),
      AWS_SECRET_ACCESS_KEY: LOCAL_SECRET,
      AWS_ENDPOINT_URL: this.frontDoor.url,
      AWS_ENDPOINT_URL_DYNAMODB: this.frontDoor.url,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
  }

  /** SDK client settings for `account` in `region` through the front door. */
  clientConfig(account: string, region: string) {
    return {
      region,
      endpoint: this.frontDoor.url,
      credentials: { accessKeyId: localAccessKey(account), secretAccessKey: LOCAL_SECRET },
    };
  }

  /** Whether every environment is idle. */
  idle(): boolean {
    return [...this.clouds.values()].every((c) => c.idle());
  }

  /** Waits until every environment is idle at once (for `quietMs` in a row), or throws after `timeoutMs`. */
  async settle(timeoutMs = 120_000, quietMs = 200): Promise<void> {
    const start = Date.now();
    let quietSince: number | undefined;
    for (;;) {
      if (this.idle()) {
        quietSince ??= Date.now();
        if (Date.now() - quietSince >= quietMs) return;
      } else quietSince = undefined;
      if (Date.now() - start > timeoutMs)
        throw new Error(`the local organization did not settle within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Lets time pass on every environment's clock. */
  advanceClock(ms: number): void {
    for (const cloud of this.clouds.values()) cloud.advanceClock(ms);
  }

  async close(): Promise<void> {
    await Promise.all([...this.clouds.values()].map((c) => c.close()));
    await this.frontDoor.close();
  }
}
