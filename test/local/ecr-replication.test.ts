/**
 * Registry replication in the local cloud's ECR emulator, through the real @aws-sdk/client-ecr client:
 * PutReplicationConfiguration / DescribeRegistry, a push copied to each destination of the rules whose prefix
 * filters match (with `ECR Replication Action` sent in the destination), DescribeImageReplicationStatus, and
 * ECR's documented limits: nothing pushed before the rule is copied, and deletes are not replicated.
 */
import {
  BatchDeleteImageCommand,
  DescribeImageReplicationStatusCommand,
  DescribeRegistryCommand,
  ECRClient,
  PutImageCommand,
  PutReplicationConfigurationCommand,
} from '@aws-sdk/client-ecr';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EcrEmulator, type EcrEvent, ociImageManifest } from '../../local/ecr-emulator.js';
import { type LocalServer, startLocalServer } from '../../local/server.js';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

let source: EcrEmulator;
let backup: EcrEmulator;
let backupEvents: EcrEvent[];
let server: LocalServer;

beforeEach(async () => {
  source = new EcrEmulator({ accountId: '222222222222', region: 'eu-west-1', now: () => NOW });
  backup = new EcrEmulator({ accountId: '222222222222', region: 'us-east-1', now: () => NOW });
  backupEvents = [];
  backup.onEvent((e) => backupEvents.push(e));
  source.setReplicator((destination, repository, image) => {
    if (destination.registryId !== backup.accountId || destination.region !== backup.region)
      return 'REGISTRY_NOT_FOUND';
    backup.replicateImage(repository, image);
    return undefined;
  });
  for (const name of ['services/orders', 'tools/lint']) source.createRepository(name);
  server = await startLocalServer({ handlers: { ecr: source.handle } });
});

afterEach(async () => {
  await server.close();
});

const ecr = () => new ECRClient({ endpoint: server.url, region: 'eu-west-1', credentials, maxAttempts: 1 });

const rules = [
  {
    destinations: [
      { region: 'us-east-1', registryId: '222222222222' },
      { region: 'ap-south-1', registryId: '222222222222' },
    ],
    repositoryFilters: [{ filter: 'services/', filterType: 'PREFIX_MATCH' as const }],
  },
];

describe('EcrEmulator replication', () => {
  it('copies a push to every destination whose rule matches, and reports each status', async () => {
    // Prepare
    const before = source.putImage('services/orders', { manifest: ociImageManifest('old'), tags: ['v0'] });
    await ecr().send(new PutReplicationConfigurationCommand({ replicationConfiguration: { rules } }));

    // Act
    const pushed = await ecr().send(
      new PutImageCommand({
        repositoryName: 'services/orders',
        imageManifest: ociImageManifest('new'),
        imageTag: 'v1',
      }),
    );
    source.putImage('tools/lint', { manifest: ociImageManifest('lint'), tags: ['v1'] });
    const digest = pushed.image?.imageId?.imageDigest as string;
    const status = await ecr().send(
      new DescribeImageReplicationStatusCommand({
        repositoryName: 'services/orders',
        imageId: { imageTag: 'v1' },
      }),
    );
    const old = await ecr().send(
      new DescribeImageReplicationStatusCommand({
        repositoryName: 'services/orders',
        imageId: { imageDigest: before },
      }),
    );
    const registry = await ecr().send(new DescribeRegistryCommand({}));

    // Assess
    expect(status.replicationStatuses).toEqual([
      { region: 'us-east-1', registryId: '222222222222', status: 'COMPLETE' },
      {
        region: 'ap-south-1',
        registryId: '222222222222',
        status: 'FAILED',
        failureCode: 'REGISTRY_NOT_FOUND',
      },
    ]);
    expect(old.replicationStatuses).toEqual([]);
    expect(backup.images('services/orders').map((i) => i.digest)).toEqual([digest]);
    expect(backup.repositoryNames()).toEqual(['services/orders']);
    expect(backupEvents.map((e) => [e['detail-type'], e.account, e.region, e.detail])).toEqual([
      [
        'ECR Replication Action',
        '222222222222',
        'us-east-1',
        {
          result: 'SUCCESS',
          'repository-name': 'services/orders',
          'image-digest': digest,
          'source-account': '222222222222',
          'action-type': 'REPLICATE',
          'source-region': 'eu-west-1',
          'image-tag': 'v1',
        },
      ],
    ]);
    expect(registry.replicationConfiguration?.rules).toEqual(rules);
  });

  it('keeps the replica when the source image is deleted (deletes are not replicated)', async () => {
    // Prepare
    source.setReplicationConfiguration(rules);
    const digest = source.putImage('services/orders', { manifest: ociImageManifest('a'), tags: ['v1'] });

    // Act
    await ecr().send(
      new BatchDeleteImageCommand({ repositoryName: 'services/orders', imageIds: [{ imageDigest: digest }] }),
    );

    // Assess
    expect(source.images('services/orders')).toEqual([]);
    expect(backup.images('services/orders').map((i) => [i.digest, i.tags])).toEqual([[digest, ['v1']]]);
  });

  it('refuses a rule that replicates the registry to itself', async () => {
    // Act
    const error = await ecr()
      .send(
        new PutReplicationConfigurationCommand({
          replicationConfiguration: {
            rules: [{ destinations: [{ region: 'eu-west-1', registryId: '222222222222' }] }],
          },
        }),
      )
      .catch((e: Error) => e);

    // Assess
    expect((error as Error).name).toBe('InvalidParameterException');
    expect((error as Error).message).toBe(
      'Invalid destination 222222222222/eu-west-1: a registry cannot replicate to itself',
    );
  });
});
