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
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { CallCounter } from '../../functions/shared/adapters/ecr.js';
import {
  collectInUse,
  EcsInUseSource,
  type ImageReference,
  InUseUnavailableError,
  inUseFor,
  LambdaInUseSource,
  parseImageUri,
  staticReferences,
} from '../../functions/shared/adapters/in-use.js';
import { planRepository } from '../../functions/shared/lifecycle/plan.js';
import { awsError } from '../fixtures/events.js';
import { digestOf, image, keepNewest, NOW } from '../fixtures/images.js';

const ecs = mockClient(ECSClient);
const lambda = mockClient(LambdaClient);
const ACCOUNT = '123456789012';
const REGISTRY = `${ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com`;
const WEB = { registryId: ACCOUNT, region: 'us-west-2', name: 'web' };

afterEach(() => {
  ecs.reset();
  lambda.reset();
});

const ecsClient = () => new ECSClient({ region: 'us-west-2' });
const lambdaClient = () => new LambdaClient({ region: 'us-west-2' });
const taskDefinitionArn = (family: string, revision: number) =>
  `arn:aws:ecs:us-west-2:${ACCOUNT}:task-definition/${family}:${revision}`;

/** ECS with nothing running and no task definitions: each test adds what it needs. */
function emptyEcs(): void {
  ecs.on(ListClustersCommand).resolves({ clusterArns: [] });
  ecs.on(ListTasksCommand).resolves({ taskArns: [] });
  ecs.on(ListServicesCommand).resolves({ serviceArns: [] });
  ecs.on(ListTaskDefinitionFamiliesCommand).resolves({ families: [] });
}

describe('parseImageUri', () => {
  const digest = digestOf('web');

  it.each([
    [`${REGISTRY}/web:1.2.3`, { repository: 'web', tag: '1.2.3', digest: undefined }],
    [`${REGISTRY}/web@${digest}`, { repository: 'web', tag: undefined, digest }],
    [`${REGISTRY}/team/web:prod@${digest}`, { repository: 'team/web', tag: 'prod', digest }],
    [`${REGISTRY}/web`, { repository: 'web', tag: undefined, digest: undefined }],
    [
      `${ACCOUNT}.dkr.ecr-fips.us-west-2.amazonaws.com/web:1`,
      { repository: 'web', tag: '1', digest: undefined },
    ],
    [
      `${ACCOUNT}.dkr.ecr.cn-north-1.amazonaws.com.cn/web:1`,
      { repository: 'web', tag: '1', digest: undefined },
    ],
    // Dual-stack (IPv6) registry endpoint: <registry-id>.dkr-ecr.<region>.on.aws (ECR user guide, ecr-requests).
    [`${ACCOUNT}.dkr-ecr.us-west-2.on.aws/web:1.2.3`, { repository: 'web', tag: '1.2.3', digest: undefined }],
    [
      `${ACCOUNT}.dkr-ecr.us-west-2.on.aws/team/web@${digest}`,
      { repository: 'team/web', tag: undefined, digest },
    ],
  ])('reads the repository, tag and digest of %s', (uri, expected) => {
    // Act
    const ref = parseImageUri(uri, 'ecs:task/prod/1');

    // Assess
    expect(ref).toMatchObject({ registryId: ACCOUNT, where: 'ecs:task/prod/1', ...expected });
    expect(ref?.region).toMatch(/^(us-west-2|cn-north-1)$/);
  });

  it.each([
    'nginx:1.27',
    'docker.io/library/nginx:latest',
    'public.ecr.aws/nginx/nginx:latest',
    'ghcr.io/acme/web:1',
  ])('returns undefined for %s, which is not a private ECR image', (uri) => {
    expect(parseImageUri(uri, 'x')).toBeUndefined();
  });
});

describe('EcsInUseSource', () => {
  it('reads running tasks with the digest ECS resolved at launch, in batches of 100', async () => {
    // Prepare
    emptyEcs();
    const taskArns = Array.from(
      { length: 150 },
      (_, i) => `arn:aws:ecs:us-west-2:${ACCOUNT}:task/prod/t${i}`,
    );
    ecs
      .on(ListTasksCommand, { nextToken: undefined })
      .resolves({ taskArns: taskArns.slice(0, 100), nextToken: 'n2' })
      .on(ListTasksCommand, { nextToken: 'n2' })
      .resolves({ taskArns: taskArns.slice(100) });
    ecs.on(DescribeTasksCommand).callsFake((input: { tasks: string[] }) => ({
      tasks: input.tasks.map((taskArn) => ({
        taskArn,
        containers: [
          { image: `${REGISTRY}/web:latest`, imageDigest: digestOf(`running-${taskArn.split('/').pop()}`) },
          { image: 'public.ecr.aws/aws-observability/aws-otel-collector:latest' },
        ],
      })),
    }));
    const source = new EcsInUseSource({ clusters: ['prod'], taskDefinitionRevisions: 0 }, ecsClient());

    // Act
    const refs = await source.collect();

    // Assess
    expect(ecs.commandCalls(ListClustersCommand)).toHaveLength(0);
    expect(ecs.commandCalls(ListTasksCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: 'prod', desiredStatus: 'RUNNING', nextToken: undefined, maxResults: 100 },
      { cluster: 'prod', desiredStatus: 'RUNNING', nextToken: 'n2', maxResults: 100 },
    ]);
    expect(ecs.commandCalls(DescribeTasksCommand).map((c) => c.args[0].input.tasks?.length)).toEqual([
      100, 50,
    ]);
    expect(refs).toHaveLength(150);
    expect(refs[0]).toEqual({
      registryId: ACCOUNT,
      region: 'us-west-2',
      repository: 'web',
      tag: 'latest',
      digest: digestOf('running-t0'),
      where: 'ecs:task/prod/t0',
    });
    expect(ecs.commandCalls(ListTaskDefinitionFamiliesCommand)).toHaveLength(0);
  });

  it("reads every deployment of every service (10 a call) and each task definition's images once", async () => {
    // Prepare
    emptyEcs();
    ecs.on(ListClustersCommand).resolves({ clusterArns: [`arn:aws:ecs:us-west-2:${ACCOUNT}:cluster/prod`] });
    const serviceArns = Array.from(
      { length: 12 },
      (_, i) => `arn:aws:ecs:us-west-2:${ACCOUNT}:service/prod/s${i}`,
    );
    ecs.on(ListServicesCommand).resolves({ serviceArns });
    ecs.on(DescribeServicesCommand).callsFake((input: { services: string[] }) => ({
      services: input.services.map((arn) => {
        const name = arn.split('/').pop();
        return name === 's0'
          ? {
              serviceName: name,
              // A rollout in progress: the new PRIMARY and the old ACTIVE deployment can both start tasks.
              deployments: [
                { status: 'PRIMARY', taskDefinition: taskDefinitionArn('web', 8) },
                { status: 'ACTIVE', taskDefinition: taskDefinitionArn('web', 7) },
              ],
            }
          : {
              serviceName: name,
              deployments: [{ status: 'PRIMARY', taskDefinition: taskDefinitionArn('web', 8) }],
            };
      }),
    }));
    ecs
      .on(DescribeTaskDefinitionCommand, { taskDefinition: taskDefinitionArn('web', 8) })
      .resolves({
        taskDefinition: { containerDefinitions: [{ image: `${REGISTRY}/web:1.8.0` }, { name: 'no-image' }] },
      })
      .on(DescribeTaskDefinitionCommand, { taskDefinition: taskDefinitionArn('web', 7) })
      .resolves({ taskDefinition: { containerDefinitions: [{ image: `${REGISTRY}/web:1.7.0` }] } });
    const calls = new CallCounter();
    const source = new EcsInUseSource({ taskDefinitionRevisions: 0 }, ecsClient(), calls);

    // Act
    const refs = await source.collect();

    // Assess
    expect(ecs.commandCalls(DescribeServicesCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: `arn:aws:ecs:us-west-2:${ACCOUNT}:cluster/prod`, services: serviceArns.slice(0, 10) },
      { cluster: `arn:aws:ecs:us-west-2:${ACCOUNT}:cluster/prod`, services: serviceArns.slice(10) },
    ]);
    expect(refs.slice(0, 2)).toEqual([
      {
        registryId: ACCOUNT,
        region: 'us-west-2',
        repository: 'web',
        tag: '1.8.0',
        digest: undefined,
        where: 'ecs:service/prod/s0',
      },
      {
        registryId: ACCOUNT,
        region: 'us-west-2',
        repository: 'web',
        tag: '1.7.0',
        digest: undefined,
        where: 'ecs:service/prod/s0',
      },
    ]);
    expect(refs).toHaveLength(13);
    expect(calls.counts.get('ecs:DescribeTaskDefinition')).toBe(2);
  });

  it('reads the newest N ACTIVE revisions of each family, newest first, and ignores other families', async () => {
    // Prepare
    emptyEcs();
    ecs.on(ListTaskDefinitionFamiliesCommand).resolves({ families: ['web', 'worker'] });
    ecs
      .on(ListTaskDefinitionsCommand, { familyPrefix: 'web' })
      .resolves({ taskDefinitionArns: [taskDefinitionArn('web', 9), taskDefinitionArn('web', 8)] })
      .on(ListTaskDefinitionsCommand, { familyPrefix: 'worker' })
      .resolves({ taskDefinitionArns: [taskDefinitionArn('worker-2', 4), taskDefinitionArn('worker', 3)] });
    ecs.on(DescribeTaskDefinitionCommand).callsFake((input: { taskDefinition: string }) => {
      const [family, revision] = input.taskDefinition.split('/').pop()!.split(':');
      return { taskDefinition: { containerDefinitions: [{ image: `${REGISTRY}/${family}:r${revision}` }] } };
    });
    const source = new EcsInUseSource({ clusters: [], taskDefinitionRevisions: 2 }, ecsClient());

    // Act
    const refs = await source.collect();

    // Assess
    expect(ecs.commandCalls(ListTaskDefinitionFamiliesCommand)[0]?.args[0].input).toEqual({
      status: 'ACTIVE',
      nextToken: undefined,
      maxResults: 100,
    });
    expect(ecs.commandCalls(ListTaskDefinitionsCommand).map((c) => c.args[0].input)).toEqual([
      { familyPrefix: 'web', status: 'ACTIVE', sort: 'DESC', maxResults: 2 },
      { familyPrefix: 'worker', status: 'ACTIVE', sort: 'DESC', maxResults: 2 },
    ]);
    expect(refs.map((r) => `${r.repository}:${r.tag} ${r.where}`)).toEqual([
      'web:r9 ecs:task-definition/web:9',
      'web:r8 ecs:task-definition/web:8',
      'worker:r3 ecs:task-definition/worker:3',
    ]);
  });
});

describe('EcsInUseSource chains', () => {
  it('reads the clusters, their tasks and services, and the families at the same time, its references in the order of one after another', async () => {
    // Prepare: two clusters, each with a task and a service, and a family; a service and the family share a
    // task definition (described once).
    emptyEcs();
    ecs
      .on(ListClustersCommand)
      .resolves({ clusterArns: ['arn:aws:ecs:us-west-2:1:cluster/a', 'arn:aws:ecs:us-west-2:1:cluster/b'] });
    ecs
      .on(ListTasksCommand)
      .callsFake(async (input: { cluster: string }) => ({ taskArns: [`${input.cluster}/task/t1`] }));
    ecs.on(DescribeTasksCommand).callsFake(async (input: { cluster: string; tasks: string[] }) => ({
      tasks: input.tasks.map((taskArn) => ({
        taskArn,
        containers: [{ image: `${REGISTRY}/web:task-${input.cluster.split('/').pop()}` }],
      })),
    }));
    ecs
      .on(ListServicesCommand)
      .callsFake(async (input: { cluster: string }) => ({ serviceArns: [`${input.cluster}/service/s`] }));
    ecs.on(DescribeServicesCommand).callsFake(async () => ({
      services: [{ serviceName: 's', deployments: [{ taskDefinition: taskDefinitionArn('web', 9) }] }],
    }));
    ecs.on(ListTaskDefinitionFamiliesCommand).resolves({ families: ['web'] });
    ecs.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [taskDefinitionArn('web', 9)] });
    ecs.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: { containerDefinitions: [{ image: `${REGISTRY}/web:r9` }] },
    });
    const source = new EcsInUseSource({ taskDefinitionRevisions: 1 }, ecsClient());

    // Act
    const refs = await source.collect();

    // Assess: the families were asked for before any cluster's tasks (one after another, they came last), each
    // cluster's services before its tasks were described, and the shared task definition described once.
    const order = ecs.calls().map((c) => (c.args[0] as { constructor: { name: string } }).constructor.name);
    expect(order.indexOf('ListTaskDefinitionFamiliesCommand')).toBeLessThan(
      order.indexOf('ListTasksCommand'),
    );
    expect(order.indexOf('ListServicesCommand')).toBeLessThan(order.indexOf('DescribeTasksCommand'));
    expect(ecs.commandCalls(DescribeTaskDefinitionCommand)).toHaveLength(1);
    expect(refs.map((r) => `${r.tag} ${r.where}`)).toEqual([
      'task-a ecs:task/a/t1',
      'r9 ecs:service/a/s',
      'task-b ecs:task/b/t1',
      'r9 ecs:service/b/s',
      'r9 ecs:task-definition/web:9',
    ]);
  });

  it('fails with the first failing chain in that order, whichever failed first in time', async () => {
    // Prepare: the families fail at once, a cluster's tasks a little later
    emptyEcs();
    ecs.on(ListClustersCommand).resolves({ clusterArns: ['arn:aws:ecs:us-west-2:1:cluster/a'] });
    ecs.on(ListTasksCommand).callsFake(async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      throw new Error('tasks denied');
    });
    ecs.on(ListTaskDefinitionFamiliesCommand).rejects(new Error('families denied'));
    const source = new EcsInUseSource({ taskDefinitionRevisions: 1 }, ecsClient());

    // Act
    const failure = await source.collect().then(
      () => 'no failure',
      (e: Error) => e.message,
    );

    // Assess
    expect(failure).toBe('tasks denied');
  });
});

describe('LambdaInUseSource', () => {
  it('reads $LATEST and every published version of image functions, by ResolvedImageUri', async () => {
    // Prepare
    const latest = digestOf('orders-latest');
    const v1 = digestOf('orders-v1');
    lambda
      .on(ListFunctionsCommand, { Marker: undefined })
      .resolves({
        Functions: [
          { FunctionName: 'orders', PackageType: 'Image' },
          { FunctionName: 'zip-fn', PackageType: 'Zip' },
        ],
        NextMarker: 'm2',
      })
      .on(ListFunctionsCommand, { Marker: 'm2' })
      .resolves({ Functions: [] });
    lambda.on(ListVersionsByFunctionCommand, { FunctionName: 'orders' }).resolves({
      Versions: [{ Version: '$LATEST' }, { Version: '1' }],
    });
    lambda
      .on(GetFunctionCommand, { FunctionName: 'orders', Qualifier: '$LATEST' })
      .resolves({
        Code: { ImageUri: `${REGISTRY}/orders:main`, ResolvedImageUri: `${REGISTRY}/orders@${latest}` },
      })
      .on(GetFunctionCommand, { FunctionName: 'orders', Qualifier: '1' })
      .resolves({
        Code: { ImageUri: `${REGISTRY}/orders@${v1}`, ResolvedImageUri: `${REGISTRY}/orders@${v1}` },
      });
    const source = new LambdaInUseSource(lambdaClient());

    // Act
    const refs = await source.collect();

    // Assess
    expect(refs).toEqual([
      {
        registryId: ACCOUNT,
        region: 'us-west-2',
        repository: 'orders',
        tag: undefined,
        digest: latest,
        where: 'lambda:orders:$LATEST',
      },
      {
        registryId: ACCOUNT,
        region: 'us-west-2',
        repository: 'orders',
        tag: 'main',
        digest: undefined,
        where: 'lambda:orders:$LATEST',
      },
      {
        registryId: ACCOUNT,
        region: 'us-west-2',
        repository: 'orders',
        tag: undefined,
        digest: v1,
        where: 'lambda:orders:1',
      },
    ]);
    expect(lambda.commandCalls(ListFunctionsCommand).map((c) => c.args[0].input)).toEqual([
      { Marker: undefined, MaxItems: 50 },
      { Marker: 'm2', MaxItems: 50 },
    ]);
    expect(lambda.commandCalls(ListVersionsByFunctionCommand)).toHaveLength(1);
  });
});

describe('collectInUse', () => {
  it("throws InUseUnavailableError naming 'ecs' when ECS denies access, and reads no further source", async () => {
    // Prepare
    ecs
      .on(ListClustersCommand)
      .rejects(awsError('AccessDeniedException', 'not authorized to perform ecs:ListClusters'));
    lambda.on(ListFunctionsCommand).resolves({ Functions: [] });
    const sources = [
      new EcsInUseSource({ taskDefinitionRevisions: 3 }, ecsClient()),
      new LambdaInUseSource(lambdaClient()),
    ];

    // Act
    const failure = await collectInUse(sources).catch((e: unknown) => e);

    // Assess
    expect(failure).toBeInstanceOf(InUseUnavailableError);
    expect(failure).toMatchObject({
      name: 'InUseUnavailableError',
      source: 'ecs',
      message: 'in-use source ecs could not be read: not authorized to perform ecs:ListClusters',
    });
    expect(lambda.commandCalls(ListFunctionsCommand)).toHaveLength(0);
  });

  it("names 'lambda' when the Lambda source fails after ECS was read", async () => {
    // Prepare
    emptyEcs();
    lambda.on(ListFunctionsCommand).rejects(awsError('ServiceException', 'internal', 'server'));

    // Act
    const result = collectInUse([
      new EcsInUseSource({ taskDefinitionRevisions: 3 }, ecsClient()),
      new LambdaInUseSource(lambdaClient()),
    ]);

    // Assess
    await expect(result).rejects.toMatchObject({
      source: 'lambda',
      message: 'in-use source lambda could not be read: internal',
    });
  });

  it('concatenates the references of every source', async () => {
    // Prepare
    const ref = (where: string): ImageReference => ({
      registryId: ACCOUNT,
      region: 'us-west-2',
      repository: 'web',
      tag: 'x',
      where,
    });
    const sources = [
      { name: 'a', collect: async () => [ref('a')] },
      { name: 'b', collect: async () => [ref('b1'), ref('b2')] },
    ];

    // Act
    const refs = await collectInUse(sources);

    // Assess
    expect(refs.map((r) => r.where)).toEqual(['a', 'b1', 'b2']);
  });
});

describe('inUseFor', () => {
  it('keeps the references of this repository, registry and region: digests exact, tags to resolve, bare URIs as latest', () => {
    // Prepare
    const d = digestOf('running');
    const refs: ImageReference[] = [
      {
        registryId: ACCOUNT,
        region: 'us-west-2',
        repository: 'web',
        digest: d,
        tag: 'latest',
        where: 'ecs:task/prod/1',
      },
      { registryId: ACCOUNT, region: 'us-west-2', repository: 'web', digest: d, where: 'lambda:web:1' },
      {
        registryId: ACCOUNT,
        region: 'us-west-2',
        repository: 'web',
        tag: '1.2.3',
        where: 'ecs:service/prod/web',
      },
      { registryId: ACCOUNT, region: 'us-west-2', repository: 'web', where: 'ecs:task-definition/web:3' },
      {
        registryId: ACCOUNT,
        region: 'us-west-2',
        repository: 'web-admin',
        tag: '1.2.3',
        where: 'other repository',
      },
      {
        registryId: '999999999999',
        region: 'us-west-2',
        repository: 'web',
        tag: 'v9',
        where: 'other account',
      },
      { registryId: ACCOUNT, region: 'eu-west-1', repository: 'web', tag: 'v8', where: 'other region' },
    ];

    // Act
    const inUse = inUseFor(refs, WEB);

    // Assess
    expect(inUse).toEqual({
      digests: new Map([[d, ['ecs:task/prod/1', 'lambda:web:1']]]),
      tags: new Map([
        ['1.2.3', ['ecs:service/prod/web']],
        ['latest', ['ecs:task-definition/web:3']],
      ]),
    });
  });

  it('lets the engine resolve an ECS tag reference to the digest that carries the tag and keep it', async () => {
    // Prepare
    emptyEcs();
    ecs.on(ListTaskDefinitionFamiliesCommand).resolves({ families: ['web'] });
    ecs.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [taskDefinitionArn('web', 3)] });
    ecs.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: { containerDefinitions: [{ image: `${REGISTRY}/web:1.2.3` }] },
    });
    const refs = await collectInUse([
      new EcsInUseSource({ clusters: [], taskDefinitionRevisions: 1 }, ecsClient()),
    ]);
    const images = [
      image('newest', { tags: ['1.3.0'], age: 1 }),
      image('deployed', { tags: ['1.2.3'], age: 20 }),
      image('old', { tags: ['1.1.0'], age: 30 }),
    ];

    // Act
    const plan = planRepository({
      repository: 'web',
      policy: keepNewest(1) as never,
      images,
      now: NOW,
      steward: {},
      inUse: inUseFor(refs, WEB),
    });

    // Assess
    const decision = plan.decisions.find((d) => d.imageDigest === digestOf('deployed'))!;
    expect(decision.action).toBe('keep');
    expect(decision.protectedBy).toEqual(['in-use']);
    expect(decision.reasons.at(-1)).toBe('in use by ecs:task-definition/web:3 (as tag 1.2.3)');
    expect(plan.decisions.find((d) => d.imageDigest === digestOf('old'))?.action).toBe('expire');
  });
});

describe('staticReferences', () => {
  it('reads repository@digest, repository:tag and bare repository entries of the config', () => {
    // Prepare
    const d = digestOf('pinned');

    // Act
    const refs = staticReferences(
      { [`web@${d}`]: ['on-prem cluster'], 'web:stable': ['partner', 'docs'], batch: ['cron host'] },
      ACCOUNT,
      'us-west-2',
    );

    // Assess
    expect(refs).toEqual([
      { registryId: ACCOUNT, region: 'us-west-2', repository: 'web', digest: d, where: 'on-prem cluster' },
      { registryId: ACCOUNT, region: 'us-west-2', repository: 'web', tag: 'stable', where: 'partner, docs' },
      { registryId: ACCOUNT, region: 'us-west-2', repository: 'batch', where: 'cron host' },
    ]);
  });

  it('returns nothing when the config has no static references', () => {
    expect(staticReferences(undefined, ACCOUNT, 'us-west-2')).toEqual([]);
  });
});
