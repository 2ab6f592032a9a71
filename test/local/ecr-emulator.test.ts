/**
 * The local cloud's ECR emulator, driven through the real @aws-sdk/client-ecr ECRClient over HTTP (serialisation,
 * error parsing and the retry strategy all run), plus the server's other wire protocols with their real SDK
 * clients, and ECR Steward's own EcrRegistry / EcrScanReader end to end.
 */
import {
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetDownloadUrlForLayerCommand,
  GetLifecyclePolicyCommand,
  type ImageStatusFilter,
  ListImagesCommand,
  ListTagsForResourceCommand,
  PutImageCommand,
  PutLifecyclePolicyCommand,
  TagResourceCommand,
  UpdateImageStorageClassCommand,
} from '@aws-sdk/client-ecr';
import { GetFunctionCommand, InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cleanupTriggerEventSchema, repositoryOf } from '../../functions/cleanup/schema.js';
import { imageScanEvent } from '../../functions/scan-gate/schema.js';
import { CallCounter, EcrRegistry, EcrScanReader } from '../../functions/shared/adapters/ecr.js';
import { imageActionEventSchema } from '../../functions/shared/events/envelope.js';
import {
  EcrEmulator,
  type EcrEvent,
  manifestDigest,
  OCI_INDEX,
  OCI_MANIFEST,
  ociImageIndex,
  ociImageManifest,
} from '../../local/ecr-emulator.js';
import { FaultInjector, mulberry32 } from '../../local/faults.js';
import {
  type LocalServer,
  ServiceError,
  type ServiceHandler,
  startLocalServer,
  unflattenQuery,
} from '../../local/server.js';

const REPO = 'services/orders';
const NOW = new Date('2026-06-01T12:00:00.000Z');
const DAY_MS = 86_400_000;
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

let emulator: EcrEmulator;
let faults: FaultInjector;
let server: LocalServer;
let events: EcrEvent[];

beforeEach(async () => {
  emulator = new EcrEmulator({ now: () => NOW });
  faults = new FaultInjector({ seed: 42 });
  events = [];
  emulator.onEvent((e) => events.push(e));
  server = await startLocalServer({ handlers: { ecr: emulator.handle }, faults });
});

afterEach(async () => {
  await server.close();
});

/** The real SDK client, pointed at the local server; no retries unless a test asks for them. */
const ecr = (extra: Record<string, unknown> = {}) =>
  new ECRClient({ endpoint: server.url, region: 'us-east-1', credentials, maxAttempts: 1, ...extra });

/** Pushes `n` distinct images, one a day older than the previous, tagged `v<i>` unless `untagged`. */
function pushMany(n: number, repo = REPO, opts: { untagged?: boolean; seed?: string } = {}): string[] {
  return Array.from({ length: n }, (_, i) =>
    emulator.putImage(repo, {
      manifest: ociImageManifest(`${opts.seed ?? repo}-${i}`, { sizeBytes: 1_000 + i }),
      tags: opts.untagged ? [] : [`v${i}`],
      pushedAt: new Date(NOW.getTime() - i * DAY_MS),
    }),
  );
}

const errorOf = async (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: Error & { $metadata?: { httpStatusCode?: number } }) => e,
  );

describe('repositories', () => {
  it('creates, describes (all pages), tags and reports missing repositories as ECR does', async () => {
    // Prepare
    const client = ecr();
    await client.send(
      new CreateRepositoryCommand({
        repositoryName: REPO,
        imageTagMutability: 'IMMUTABLE',
        tags: [{ Key: 'team', Value: 'orders' }],
      }),
    );
    for (let i = 0; i < 1_050; i++) emulator.createRepository(`bulk/repo-${String(i).padStart(4, '0')}`);

    // Act
    const first = await client.send(new DescribeRepositoriesCommand({ maxResults: 1000 }));
    const second = await client.send(
      new DescribeRepositoriesCommand({ maxResults: 1000, nextToken: first.nextToken }),
    );
    const one = await client.send(new DescribeRepositoriesCommand({ repositoryNames: [REPO] }));
    const arn = one.repositories?.[0]?.repositoryArn ?? '';
    await client.send(new TagResourceCommand({ resourceArn: arn, tags: [{ Key: 'owner', Value: 'ana' }] }));
    const tags = await client.send(new ListTagsForResourceCommand({ resourceArn: arn }));
    const missing = await errorOf(
      client.send(new DescribeRepositoriesCommand({ repositoryNames: ['nope/nothing'] })),
    );
    const dup = await errorOf(client.send(new CreateRepositoryCommand({ repositoryName: REPO })));

    // Assert
    expect(first.repositories).toHaveLength(1000);
    expect(second.repositories).toHaveLength(51);
    expect(second.nextToken).toBeUndefined();
    expect(one.repositories?.[0]).toMatchObject({
      repositoryName: REPO,
      registryId: '123456789012',
      repositoryArn: `arn:aws:ecr:us-east-1:123456789012:repository/${REPO}`,
      imageTagMutability: 'IMMUTABLE',
    });
    expect(one.repositories?.[0]?.createdAt).toEqual(NOW);
    expect(tags.tags).toEqual([
      { Key: 'team', Value: 'orders' },
      { Key: 'owner', Value: 'ana' },
    ]);
    expect(missing.name).toBe('RepositoryNotFoundException');
    expect(missing.message).toBe(
      "The repository with name 'nope/nothing' does not exist in the registry with id '123456789012'",
    );
    expect(dup.name).toBe('RepositoryAlreadyExistsException');
    expect(emulator.taggedRepositories()).toEqual([
      {
        ResourceARN: arn,
        Tags: [
          { Key: 'team', Value: 'orders' },
          { Key: 'owner', Value: 'ana' },
        ],
      },
    ]);
  });
});

describe('DescribeImages', () => {
  beforeEach(() => {
    emulator.createRepository(REPO);
  });

  it('pages to the last page and returns no token after it', async () => {
    // Prepare
    const digests = pushMany(250);
    const client = ecr();

    // Act
    const pages: number[] = [];
    const seen: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await client.send(
        new DescribeImagesCommand({ repositoryName: REPO, maxResults: 100, nextToken }),
      );
      pages.push(page.imageDetails?.length ?? 0);
      for (const d of page.imageDetails ?? []) seen.push(d.imageDigest ?? '');
      nextToken = page.nextToken;
    } while (nextToken);
    const defaultPage = await client.send(new DescribeImagesCommand({ repositoryName: REPO }));

    // Assert
    expect(pages).toEqual([100, 100, 50]);
    expect(new Set(seen).size).toBe(250);
    expect([...seen].sort()).toEqual([...digests].sort());
    expect(seen).toEqual([...seen].sort()); // stable keyset order
    expect(defaultPage.imageDetails).toHaveLength(100);
  });

  it('keeps a token valid when images are deleted or pushed between pages', async () => {
    // Prepare
    pushMany(30);
    const client = ecr();
    const first = await client.send(new DescribeImagesCommand({ repositoryName: REPO, maxResults: 10 }));
    const firstDigests = (first.imageDetails ?? []).map((d) => d.imageDigest ?? '');

    // Act: delete an image of page 1 and push a new one, then continue
    await client.send(
      new BatchDeleteImageCommand({ repositoryName: REPO, imageIds: [{ imageDigest: firstDigests[0] }] }),
    );
    emulator.putImage(REPO, { manifest: ociImageManifest('late') });
    const rest: string[] = [];
    let nextToken = first.nextToken;
    while (nextToken) {
      const page = await client.send(
        new DescribeImagesCommand({ repositoryName: REPO, maxResults: 10, nextToken }),
      );
      rest.push(...(page.imageDetails ?? []).map((d) => d.imageDigest ?? ''));
      nextToken = page.nextToken;
    }

    // Assert: no image of page 1 comes again, every other image comes once
    expect(rest.filter((d) => firstDigests.includes(d))).toEqual([]);
    expect(new Set(rest).size).toBe(rest.length);
    expect(rest.length).toBeGreaterThanOrEqual(20);
  });

  it('sends timestamps as epoch-second numbers that the SDK parses into Dates', async () => {
    // Prepare
    const pushedAt = new Date('2026-05-01T10:20:30.456Z');
    const pulledAt = new Date('2026-05-20T08:00:00.000Z');
    const digest = emulator.putImage(REPO, {
      manifest: ociImageManifest('dated', { sizeBytes: 4_321 }),
      tags: ['dated'],
      pushedAt,
    });
    emulator.pullImage(REPO, 'dated', pulledAt);
    const body = JSON.stringify({ repositoryName: REPO, imageIds: [{ imageDigest: digest }] });

    // Act
    const wire = await fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AmazonEC2ContainerRegistry_V20150921.DescribeImages',
        authorization:
          'AWS4-HMAC-SHA256 Credential=local/20260601/us-east-1/ecr/aws4_request, SignedHeaders=host, Signature=00',
      },
      body,
    });
    const raw = (await wire.json()) as { imageDetails: Record<string, unknown>[] };
    const parsed = await ecr().send(
      new DescribeImagesCommand({ repositoryName: REPO, imageIds: [{ imageDigest: digest }] }),
    );

    // Assert
    expect(wire.headers.get('content-type')).toBe('application/x-amz-json-1.1');
    expect(wire.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    expect(raw.imageDetails[0]?.imagePushedAt).toBe(pushedAt.getTime() / 1000);
    expect(typeof raw.imageDetails[0]?.lastRecordedPullTime).toBe('number');
    const detail = parsed.imageDetails?.[0];
    expect(detail?.imagePushedAt).toEqual(pushedAt);
    expect(detail?.lastRecordedPullTime).toEqual(pulledAt);
    expect(detail).toMatchObject({
      imageDigest: digest,
      imageTags: ['dated'],
      imageSizeInBytes: 4_321,
      imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactMediaType: 'application/vnd.oci.image.config.v1+json',
      imageStatus: 'ACTIVE',
    });
  });

  it('answers imageIds with one detail per digest, and rejects 101 ids, maxResults with ids and unknown ids', async () => {
    // Prepare
    const [a] = pushMany(3);
    emulator.putImage(REPO, {
      manifest: ociImageManifest(`${REPO}-0`, { sizeBytes: 1_000 }),
      tags: ['latest'],
    });
    const client = ecr();
    const ids = Array.from({ length: 101 }, (_, i) => ({ imageTag: `t${i}` }));

    // Act
    const both = await client.send(
      new DescribeImagesCommand({
        repositoryName: REPO,
        imageIds: [{ imageTag: 'latest' }, { imageDigest: a }],
      }),
    );
    const tooMany = await errorOf(
      client.send(new DescribeImagesCommand({ repositoryName: REPO, imageIds: ids })),
    );
    const combined = await errorOf(
      client.send(
        new DescribeImagesCommand({ repositoryName: REPO, imageIds: [{ imageDigest: a }], maxResults: 10 }),
      ),
    );
    const unknown = await errorOf(
      client.send(new DescribeImagesCommand({ repositoryName: REPO, imageIds: [{ imageTag: 'nope' }] })),
    );
    const badMax = await errorOf(
      client.send(new DescribeImagesCommand({ repositoryName: REPO, maxResults: 1001 })),
    );

    // Assert
    expect(both.imageDetails).toHaveLength(1);
    expect(both.imageDetails?.[0]?.imageTags).toEqual(['v0', 'latest']);
    expect(tooMany.name).toBe('InvalidParameterException');
    expect(tooMany.message).toBe(
      "Invalid parameter at 'imageIds' failed to satisfy constraint: 'Member must have length less than or equal to 100'",
    );
    expect(tooMany.$metadata?.httpStatusCode).toBe(400);
    expect(combined.name).toBe('InvalidParameterException');
    expect(unknown.name).toBe('ImageNotFoundException');
    expect(unknown.message).toContain("imageTag:'nope'");
    expect(badMax.name).toBe('InvalidParameterException');
  });

  it('filters by tagStatus and imageStatus (ACTIVE only by default)', async () => {
    // Prepare
    const tagged = pushMany(4);
    const untagged = pushMany(2, REPO, { untagged: true, seed: 'bare' });
    emulator.putImage(REPO, { manifest: ociImageManifest('lonely') });
    emulator.setStorageClass(REPO, tagged[0] as string, 'ARCHIVE');
    const client = ecr();
    const count = async (filter: Record<string, string>) =>
      (await client.send(new DescribeImagesCommand({ repositoryName: REPO, filter })))?.imageDetails?.length;

    // Act + Assert
    expect(untagged).toHaveLength(2);
    expect(await count({})).toBe(6);
    expect(await count({ tagStatus: 'TAGGED' })).toBe(3);
    expect(await count({ tagStatus: 'UNTAGGED' })).toBe(3);
    expect(await count({ imageStatus: 'ARCHIVED' })).toBe(1);
    expect(await count({ imageStatus: 'ANY' })).toBe(7);
    const archived = await errorOf(
      client.send(
        new DescribeImagesCommand({ repositoryName: REPO, imageIds: [{ imageDigest: tagged[0] }] }),
      ),
    );
    expect(archived.name).toBe('ImageNotFoundException');
  });
});

describe('PutImage, ListImages, BatchGetImage', () => {
  it('computes the digest, moves tags, and rejects re-tags in immutable repositories and repeated pushes', async () => {
    // Prepare
    emulator.createRepository(REPO);
    emulator.createRepository('locked/app', { tagMutability: 'IMMUTABLE' });
    const client = ecr();
    const one = ociImageManifest('one');
    const two = ociImageManifest('two');

    // Act
    const put = await client.send(
      new PutImageCommand({ repositoryName: REPO, imageManifest: one, imageTag: 'latest' }),
    );
    await client.send(new PutImageCommand({ repositoryName: REPO, imageManifest: two, imageTag: 'latest' }));
    const again = await errorOf(
      client.send(new PutImageCommand({ repositoryName: REPO, imageManifest: two, imageTag: 'latest' })),
    );
    await client.send(
      new PutImageCommand({ repositoryName: 'locked/app', imageManifest: one, imageTag: 'v1' }),
    );
    const retag = await errorOf(
      client.send(new PutImageCommand({ repositoryName: 'locked/app', imageManifest: two, imageTag: 'v1' })),
    );
    const wrongDigest = await errorOf(
      client.send(
        new PutImageCommand({
          repositoryName: REPO,
          imageManifest: two,
          imageTag: 'x',
          imageDigest: manifestDigest(one),
        }),
      ),
    );

    // Assert
    expect(put.image?.imageId?.imageDigest).toBe(manifestDigest(one));
    expect(emulator.image(REPO, manifestDigest(one))?.tags).toEqual([]);
    expect(emulator.image(REPO, 'latest')?.digest).toBe(manifestDigest(two));
    expect(again.name).toBe('ImageAlreadyExistsException');
    expect(retag.name).toBe('ImageTagAlreadyExistsException');
    expect(retag.message).toBe(
      "The image tag 'v1' already exists in the 'locked/app' repository and cannot be overwritten because the repository is immutable.",
    );
    expect(wrongDigest.name).toBe('ImageDigestDoesNotMatchException');
    expect(
      events.filter((e) => e.detail['action-type'] === 'PUSH').map((e) => e.detail['image-tag']),
    ).toEqual(['latest', 'latest', 'v1']);
  });

  it('lists one entry per tag with paging, and returns manifests with per-image failures', async () => {
    // Prepare
    emulator.createRepository(REPO);
    const digests = pushMany(5);
    emulator.putImage(REPO, {
      manifest: ociImageManifest(`${REPO}-0`, { sizeBytes: 1_000 }),
      tags: ['stable'],
    });
    emulator.putImage(REPO, { manifest: ociImageManifest('untagged') });
    const client = ecr();

    // Act
    const entries: { imageDigest?: string; imageTag?: string }[] = [];
    let nextToken: string | undefined;
    do {
      const page = await client.send(
        new ListImagesCommand({ repositoryName: REPO, maxResults: 2, nextToken }),
      );
      entries.push(...(page.imageIds ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    const got = await client.send(
      new BatchGetImageCommand({
        repositoryName: REPO,
        imageIds: [{ imageDigest: digests[1] }, { imageTag: 'nope' }],
      }),
    );
    const tooMany = await errorOf(
      client.send(
        new BatchGetImageCommand({
          repositoryName: REPO,
          imageIds: Array.from({ length: 101 }, (_, i) => ({ imageTag: `v${i}` })),
        }),
      ),
    );

    // Assert
    expect(entries).toHaveLength(7); // 6 tags + 1 untagged image
    expect(entries.filter((e) => e.imageDigest === digests[0]).map((e) => e.imageTag)).toEqual([
      'stable',
      'v0',
    ]);
    expect(got.images?.[0]?.imageManifest).toBe(ociImageManifest(`${REPO}-1`, { sizeBytes: 1_001 }));
    expect(got.failures).toEqual([
      {
        imageId: { imageTag: 'nope' },
        failureCode: 'ImageNotFound',
        failureReason: 'Requested image not found',
      },
    ]);
    expect(tooMany.name).toBe('InvalidParameterException');
  });
});

describe('BatchDeleteImage', () => {
  beforeEach(() => {
    emulator.createRepository(REPO);
  });

  it('rejects more than 100 ids with ECR’s message', async () => {
    const ids = Array.from({ length: 101 }, (_, i) => ({ imageTag: `v${i}` }));
    const error = await errorOf(
      ecr().send(new BatchDeleteImageCommand({ repositoryName: REPO, imageIds: ids })),
    );
    expect(error.name).toBe('InvalidParameterException');
    expect(error.message).toBe(
      "Invalid parameter at 'imageIds' failed to satisfy constraint: 'Member must have length less than or equal to 100'",
    );
  });

  it('deletes by digest with one entry per tag, and reports unknown images in failures[] of a 200', async () => {
    // Prepare
    const digest = emulator.putImage(REPO, { manifest: ociImageManifest('x'), tags: ['xenial', 'latest'] });
    const bare = emulator.putImage(REPO, { manifest: ociImageManifest('bare') });
    const unknown = manifestDigest('unknown');
    events.length = 0;

    // Act
    const out = await ecr().send(
      new BatchDeleteImageCommand({
        repositoryName: REPO,
        imageIds: [{ imageDigest: digest }, { imageDigest: unknown }, { imageDigest: bare }],
      }),
    );

    // Assert
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(out.imageIds).toEqual([
      { imageDigest: digest, imageTag: 'xenial' },
      { imageDigest: digest, imageTag: 'latest' },
      { imageDigest: bare },
    ]);
    expect(out.failures).toEqual([
      {
        imageId: { imageDigest: unknown },
        failureCode: 'ImageNotFound',
        failureReason: 'Requested image not found',
      },
    ]);
    expect(emulator.imageCount(REPO)).toBe(0);
    const deletes = events.map((e) => imageActionEventSchema.parse(e).detail);
    expect(deletes.map((d) => [d['action-type'], d['image-digest'], d['image-tag']])).toEqual([
      ['DELETE', digest, 'xenial'],
      ['DELETE', digest, 'latest'],
      ['DELETE', bare, undefined],
    ]);
  });

  it('answers a missing tag on the wire exactly as ECR did in the body recorded by aws-cli issue 6424', async () => {
    // Prepare
    const expected = {
      failures: [
        {
          failureCode: 'ImageNotFound',
          failureReason: 'Requested image not found',
          imageId: { imageTag: 'latest' },
        },
      ],
      imageIds: [],
    };

    // Act
    const response = await fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AmazonEC2ContainerRegistry_V20150921.BatchDeleteImage',
      },
      body: JSON.stringify({ repositoryName: REPO, imageIds: [{ imageTag: 'latest' }] }),
    });

    // Assert
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(expected);
    expect(events).toEqual([]);
  });

  it('reports a digest deleted by an earlier call as ImageNotFound, which EcrRegistry reports already gone', async () => {
    // Prepare
    const [gone, kept] = pushMany(2);
    const registry = new EcrRegistry(ecr());
    await registry.deleteImages(REPO, [gone!]);

    // Act
    const outcome = await registry.deleteImages(REPO, [gone!, kept!]);

    // Assert
    expect(outcome).toEqual({ deleted: [kept], failures: [], alreadyGone: [gone], unattributed: [] });
    expect(await registry.existingDigests(REPO, [gone!, kept!])).toEqual(new Set());
  });

  it('deletes by tag: removes the tag, and the image with its last tag', async () => {
    // Prepare
    const digest = emulator.putImage(REPO, { manifest: ociImageManifest('y'), tags: ['a', 'b'] });
    const client = ecr();

    // Act
    const first = await client.send(
      new BatchDeleteImageCommand({ repositoryName: REPO, imageIds: [{ imageTag: 'a' }] }),
    );
    const afterFirst = emulator.image(REPO, digest);
    const second = await client.send(
      new BatchDeleteImageCommand({ repositoryName: REPO, imageIds: [{ imageTag: 'b' }] }),
    );
    const mismatch = await client.send(
      new BatchDeleteImageCommand({ repositoryName: REPO, imageIds: [{ imageTag: 'b' }] }),
    );

    // Assert
    expect(first.imageIds).toEqual([{ imageDigest: digest, imageTag: 'a' }]);
    expect(afterFirst?.tags).toEqual(['b']);
    expect(second.imageIds).toEqual([{ imageDigest: digest, imageTag: 'b' }]);
    expect(emulator.image(REPO, digest)).toBeUndefined();
    expect(mismatch.failures?.[0]?.failureCode).toBe('ImageNotFound');
  });

  it('protects the children of an index until the index is gone, in request order', async () => {
    // Prepare
    const [c1, c2] = pushMany(2, REPO, { untagged: true }) as [string, string];
    const index = emulator.putImage(REPO, { manifest: ociImageIndex([c1, c2]), tags: ['multi'] });
    const client = ecr();
    const stored = emulator.image(REPO, index);

    // Act
    const blocked = await client.send(
      new BatchDeleteImageCommand({ repositoryName: REPO, imageIds: [{ imageDigest: c1 }] }),
    );
    const childFirst = await client.send(
      new BatchDeleteImageCommand({
        repositoryName: REPO,
        imageIds: [{ imageDigest: c2 }, { imageDigest: index }],
      }),
    );
    const afterIndex = await client.send(
      new BatchDeleteImageCommand({
        repositoryName: REPO,
        imageIds: [{ imageDigest: c1 }, { imageDigest: c2 }],
      }),
    );

    // Assert
    expect(stored).toMatchObject({ mediaType: OCI_INDEX, children: [c1, c2], sizeBytes: 1_001 });
    expect(blocked.failures).toEqual([
      {
        imageId: { imageDigest: c1 },
        failureCode: 'ImageReferencedByManifestList',
        failureReason: `Requested image referenced by manifest list: [${index}]`,
      },
    ]);
    expect(childFirst.failures?.map((f) => f.failureCode)).toEqual(['ImageReferencedByManifestList']);
    expect(childFirst.imageIds).toEqual([{ imageDigest: index, imageTag: 'multi' }]);
    expect(afterIndex.imageIds?.map((i) => i.imageDigest)).toEqual([c1, c2]);
    expect(afterIndex.failures).toEqual([]);
  });

  it('refuses an index whose children are not in the repository', () => {
    expect(() => emulator.putImage(REPO, { manifest: ociImageIndex([manifestDigest('ghost')]) })).toThrow(
      ServiceError,
    );
  });
});

describe('storage class, lifecycle policy, scan findings', () => {
  beforeEach(() => {
    emulator.createRepository(REPO);
  });

  it('archives and restores, with lastArchivedAt / lastActivatedAt and UPDATE_STORAGE_CLASS events', async () => {
    // Prepare
    const [digest] = pushMany(1) as [string];
    const client = ecr();
    events.length = 0;

    // Act
    const archived = await client.send(
      new UpdateImageStorageClassCommand({
        repositoryName: REPO,
        imageId: { imageDigest: digest },
        targetStorageClass: 'ARCHIVE',
      }),
    );
    const pull = await client.send(
      new BatchGetImageCommand({ repositoryName: REPO, imageIds: [{ imageDigest: digest }] }),
    );
    const restored = await client.send(
      new UpdateImageStorageClassCommand({
        repositoryName: REPO,
        imageId: { imageTag: 'v0' },
        targetStorageClass: 'STANDARD',
      }),
    );
    const detail = await client.send(
      new DescribeImagesCommand({
        repositoryName: REPO,
        imageIds: [{ imageDigest: digest }],
        filter: { imageStatus: 'ANY' },
      }),
    );

    // Assert
    expect(archived.imageStatus).toBe('ARCHIVED');
    expect(pull.failures?.[0]?.failureCode).toBe('ImageNotFound');
    expect(restored.imageStatus).toBe('ACTIVE');
    expect(detail.imageDetails?.[0]).toMatchObject({
      imageStatus: 'ACTIVE',
      lastArchivedAt: NOW,
      lastActivatedAt: NOW,
    });
    const parsed = events.map((e) => imageActionEventSchema.parse(e).detail);
    expect(parsed.map((d) => [d['action-type'], d['target-storage-class']])).toEqual([
      ['UPDATE_STORAGE_CLASS', 'ARCHIVE'],
      ['UPDATE_STORAGE_CLASS', 'STANDARD'],
    ]);
    expect(parsed[1]?.['last-activated-at']).toBe(NOW.toISOString());
  });

  it('stores lifecycle policies and reports their absence with LifecyclePolicyNotFoundException', async () => {
    const client = ecr();
    const none = await errorOf(client.send(new GetLifecyclePolicyCommand({ repositoryName: REPO })));
    const text = JSON.stringify({
      rules: [
        {
          rulePriority: 1,
          description: 'keep the newest ten images of every tag status',
          selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 10 },
          action: { type: 'expire' },
        },
      ],
    });
    await client.send(new PutLifecyclePolicyCommand({ repositoryName: REPO, lifecyclePolicyText: text }));
    const got = await client.send(new GetLifecyclePolicyCommand({ repositoryName: REPO }));
    expect(none.name).toBe('LifecyclePolicyNotFoundException');
    expect(got.lifecyclePolicyText).toBe(text);
  });

  it('pages scan findings, tells findings from enhancedFindings and emits ECR Image Scan for basic scans', async () => {
    // Prepare
    const [basic, enhanced, unscanned] = pushMany(3) as [string, string, string];
    const severities = ['CRITICAL', 'HIGH', 'LOW'] as const;
    events.length = 0;
    emulator.setScanFindings(REPO, basic, {
      status: 'COMPLETE',
      findings: Array.from({ length: 2_500 }, (_, i) => ({
        name: `CVE-2026-${i}`,
        severity: severities[i % 3],
      })),
    });
    emulator.setScanFindings(REPO, enhanced, {
      status: 'ACTIVE',
      enhancedFindings: [
        { findingArn: 'arn:finding/1', severity: 'HIGH', firstObservedAt: new Date('2026-05-02T00:00:00Z') },
      ],
    });
    const client = ecr();

    // Act
    const pages: number[] = [];
    let nextToken: string | undefined;
    do {
      const page = await client.send(
        new DescribeImageScanFindingsCommand({
          repositoryName: REPO,
          imageId: { imageDigest: basic },
          maxResults: 1000,
          nextToken,
        }),
      );
      pages.push(page.imageScanFindings?.findings?.length ?? 0);
      nextToken = page.nextToken;
    } while (nextToken);
    const enhancedPage = await client.send(
      new DescribeImageScanFindingsCommand({ repositoryName: REPO, imageId: { imageDigest: enhanced } }),
    );
    const missing = await errorOf(
      client.send(
        new DescribeImageScanFindingsCommand({ repositoryName: REPO, imageId: { imageDigest: unscanned } }),
      ),
    );
    const merged = await new EcrScanReader(client).scanFindings(REPO, basic);
    const none = await new EcrScanReader(client).scanFindings(REPO, unscanned);

    // Assert
    expect(pages).toEqual([1000, 1000, 500]);
    expect(enhancedPage.imageScanStatus?.status).toBe('ACTIVE');
    expect(enhancedPage.imageScanFindings?.enhancedFindings?.[0]?.firstObservedAt).toEqual(
      new Date('2026-05-02T00:00:00Z'),
    );
    expect(enhancedPage.imageScanFindings?.findings).toBeUndefined();
    expect(missing.name).toBe('ScanNotFoundException');
    expect(merged.imageScanFindings.findings).toHaveLength(2_500);
    expect(none.imageScanStatus?.status).toBe('MISSING');
    expect(events).toHaveLength(1);
    const scan = imageScanEvent.parse(events[0]);
    expect(scan.detail).toMatchObject({
      'scan-status': 'COMPLETE',
      'image-digest': basic,
      'image-tags': ['v0'],
      'finding-severity-counts': { CRITICAL: 834, HIGH: 833, LOW: 833 },
    });
    expect(scan.resources).toEqual([`arn:aws:ecr:us-east-1:123456789012:repository/${REPO}`]);
  });
});

describe('archive storage class (UpdateImageStorageClass)', () => {
  beforeEach(() => {
    emulator.createRepository(REPO);
  });

  it('lists archived images only when the imageStatus filter asks for them, with imageStatus ARCHIVED', async () => {
    // Prepare
    const [archived, active] = pushMany(2) as [string, string];
    emulator.setStorageClass(REPO, archived, 'ARCHIVE');
    const client = ecr();
    const listed = async (imageStatus?: ImageStatusFilter) => {
      const described = await client.send(
        new DescribeImagesCommand({
          repositoryName: REPO,
          ...(imageStatus ? { filter: { imageStatus } } : {}),
        }),
      );
      const ids = await client.send(
        new ListImagesCommand({ repositoryName: REPO, ...(imageStatus ? { filter: { imageStatus } } : {}) }),
      );
      return {
        described: (described.imageDetails ?? []).map((d) => [d.imageDigest, d.imageStatus, d.imageTags]),
        listed: (ids.imageIds ?? []).map((i) => i.imageDigest),
      };
    };

    // Act
    const byDefault = await listed();
    const onlyArchived = await listed('ARCHIVED');
    const any = await listed('ANY');

    // Assess
    expect(byDefault).toEqual({ described: [[active, 'ACTIVE', ['v1']]], listed: [active] });
    expect(onlyArchived).toEqual({ described: [[archived, 'ARCHIVED', ['v0']]], listed: [archived] });
    expect(any.described).toEqual(
      [
        [archived, 'ARCHIVED', ['v0']],
        [active, 'ACTIVE', ['v1']],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
  });

  it('refuses to archive a child of an index that is not archived, and archives it once the index is', async () => {
    // Prepare
    const children = pushMany(2, REPO, { untagged: true, seed: 'arch' });
    const index = emulator.putImage(REPO, { manifest: ociImageIndex(children), tags: ['multi'] });
    const client = ecr();
    const archive = (imageDigest: string) =>
      client.send(
        new UpdateImageStorageClassCommand({
          repositoryName: REPO,
          imageId: { imageDigest },
          targetStorageClass: 'ARCHIVE',
        }),
      );

    // Act
    const refused = await errorOf(archive(children[0] as string));
    const statusAfterRefusal = emulator.image(REPO, children[0] as string)?.status;
    const indexArchived = await archive(index);
    const childArchived = await archive(children[0] as string);

    // Assess
    expect(refused.name).toBe('ImageStorageClassUpdateNotSupportedException');
    expect(refused.$metadata?.httpStatusCode).toBe(400);
    expect(refused.message).toBe(
      `The image with digest '${children[0]}' cannot be archived because it is referenced by manifest list: [${index}] in the repository with name '${REPO}' in the registry with id '123456789012'`,
    );
    expect(statusAfterRefusal).toBe('ACTIVE');
    expect(indexArchived.imageStatus).toBe('ARCHIVED');
    expect(childArchived.imageStatus).toBe('ARCHIVED');
  });

  it('answers pulls of an archived image as not found: BatchGetImage ImageNotFound, its layers LayerInaccessible', async () => {
    // Prepare
    const [archived, active] = pushMany(2) as [string, string];
    emulator.setStorageClass(REPO, archived, 'ARCHIVE');
    const layerOf = (seed: string) => manifestDigest(`layer:${seed}`);
    const client = ecr();

    // Act
    const pull = await client.send(
      new BatchGetImageCommand({
        repositoryName: REPO,
        imageIds: [{ imageDigest: archived }, { imageTag: 'v1' }],
      }),
    );
    const archivedLayer = await errorOf(
      client.send(
        new GetDownloadUrlForLayerCommand({ repositoryName: REPO, layerDigest: layerOf(`${REPO}-0`) }),
      ),
    );
    const activeLayer = await client.send(
      new GetDownloadUrlForLayerCommand({ repositoryName: REPO, layerDigest: layerOf(`${REPO}-1`) }),
    );
    const unknownLayer = await errorOf(
      client.send(new GetDownloadUrlForLayerCommand({ repositoryName: REPO, layerDigest: layerOf('nope') })),
    );

    // Assess
    expect(pull.images?.map((i) => i.imageId?.imageDigest)).toEqual([active]);
    expect(pull.failures).toEqual([
      {
        imageId: { imageDigest: archived },
        failureCode: 'ImageNotFound',
        failureReason: 'Requested image not found',
      },
    ]);
    expect(archivedLayer.name).toBe('LayerInaccessibleException');
    expect(activeLayer.layerDigest).toBe(layerOf(`${REPO}-1`));
    expect(activeLayer.downloadUrl).toMatch(/^https:\/\//);
    expect(unknownLayer.name).toBe('LayersNotFoundException');
  });

  it('keeps a restore ACTIVATING until its delay has passed on the emulator clock, then sets lastActivatedAt and emits STANDARD', async () => {
    // Prepare
    let clock = NOW;
    const slow = new EcrEmulator({ now: () => clock, restoreDelayMs: 20 * 60_000 });
    const seen: EcrEvent[] = [];
    slow.onEvent((e) => seen.push(e));
    const local = await startLocalServer({ handlers: { ecr: slow.handle } });
    const client = new ECRClient({ endpoint: local.url, region: 'us-east-1', credentials, maxAttempts: 1 });
    slow.createRepository(REPO);
    const digest = slow.putImage(REPO, { manifest: ociImageManifest('slow'), tags: ['v1'] });
    slow.setStorageClass(REPO, digest, 'ARCHIVE');
    const statusOf = async () =>
      (
        await client.send(
          new DescribeImagesCommand({
            repositoryName: REPO,
            imageIds: [{ imageDigest: digest }],
            filter: { imageStatus: 'ANY' },
          }),
        )
      ).imageDetails?.[0];
    const activating = async () =>
      (
        await client.send(
          new DescribeImagesCommand({ repositoryName: REPO, filter: { imageStatus: 'ACTIVATING' } }),
        )
      ).imageDetails?.map((d) => d.imageDigest);

    try {
      // Act
      const restore = await client.send(
        new UpdateImageStorageClassCommand({
          repositoryName: REPO,
          imageId: { imageDigest: digest },
          targetStorageClass: 'STANDARD',
        }),
      );
      clock = new Date(NOW.getTime() + 19 * 60_000);
      const during = await statusOf();
      const listedDuring = await activating();
      const pullDuring = await client.send(
        new BatchGetImageCommand({ repositoryName: REPO, imageIds: [{ imageDigest: digest }] }),
      );
      clock = new Date(NOW.getTime() + 25 * 60_000);
      const after = await statusOf();

      // Assess
      expect(restore.imageStatus).toBe('ACTIVATING');
      expect(during?.imageStatus).toBe('ACTIVATING');
      expect(during?.lastActivatedAt).toBeUndefined();
      expect(listedDuring).toEqual([digest]);
      expect(pullDuring.failures?.[0]?.failureCode).toBe('ImageNotFound');
      expect(after).toMatchObject({
        imageStatus: 'ACTIVE',
        imageTags: ['v1'],
        lastArchivedAt: NOW,
        lastActivatedAt: new Date(NOW.getTime() + 20 * 60_000),
      });
      const details = seen.map((e) => imageActionEventSchema.parse(e).detail);
      expect(details.map((d) => [d['action-type'], d['target-storage-class']])).toEqual([
        ['PUSH', undefined],
        ['UPDATE_STORAGE_CLASS', 'ARCHIVE'],
        ['UPDATE_STORAGE_CLASS', 'STANDARD'],
      ]);
      expect(details[2]).toMatchObject({
        'image-digest': digest,
        'repository-name': REPO,
        result: 'SUCCESS',
        'manifest-media-type': OCI_MANIFEST,
        'last-activated-at': new Date(NOW.getTime() + 20 * 60_000).toISOString(),
      });
      expect(seen[2]?.time).toBe('2026-06-01T12:25:00Z');
    } finally {
      await local.close();
    }
  });
});

describe('events', () => {
  it('emits full EventBridge envelopes that the project’s schemas accept', () => {
    emulator.createRepository(REPO);
    const digest = emulator.putImage(REPO, { manifest: ociImageManifest('e'), tags: ['1.0', 'latest'] });
    emulator.putImage(REPO, { manifest: ociImageManifest('f') });
    expect(events).toHaveLength(3);
    for (const event of events) {
      const parsed = imageActionEventSchema.parse(event);
      expect(parsed).toMatchObject({
        version: '0',
        source: 'aws.ecr',
        account: '123456789012',
        region: 'us-east-1',
      });
      expect(parsed.time).toBe('2026-06-01T12:00:00Z');
      expect(parsed.id).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(events[0]?.detail).toEqual({
      result: 'SUCCESS',
      'repository-name': REPO,
      'image-digest': digest,
      'action-type': 'PUSH',
      'image-tag': '1.0',
    });
    expect(events[2]?.detail['image-tag']).toBeUndefined();
  });
});

describe('arrivals by replication and pull-through cache', () => {
  it('replicates an image into a new repository with one ECR Replication Action per tag and no push', () => {
    // Act
    const digest = emulator.replicateImage('docker-hub/alpine', {
      manifest: ociImageManifest('alpine'),
      tags: ['3.17.2', 'latest'],
      sourceAccount: '210987654321',
      sourceRegion: 'eu-west-1',
    });

    // Assert
    expect(emulator.image('docker-hub/alpine', digest)?.tags).toEqual(['3.17.2', 'latest']);
    expect(events.map((e) => e['detail-type'])).toEqual(['ECR Replication Action', 'ECR Replication Action']);
    expect(events[0]).toMatchObject({
      source: 'aws.ecr',
      account: '123456789012',
      region: 'us-east-1',
      time: '2026-06-01T12:00:00Z',
      resources: ['arn:aws:ecr:us-east-1:123456789012:repository/docker-hub/alpine'],
    });
    expect(events[0]?.detail).toEqual({
      result: 'SUCCESS',
      'repository-name': 'docker-hub/alpine',
      'image-digest': digest,
      'source-account': '210987654321',
      'action-type': 'REPLICATE',
      'source-region': 'eu-west-1',
      'image-tag': '3.17.2',
    });
    for (const event of events)
      expect(repositoryOf(cleanupTriggerEventSchema.parse(event))).toEqual({
        repository: 'docker-hub/alpine',
      });
  });

  it('sends one untagged ECR Replication Action for an untagged image into an existing repository', () => {
    // Prepare
    emulator.createRepository(REPO);

    // Act
    const digest = emulator.replicateImage(REPO, { manifest: ociImageManifest('untagged') });

    // Assert
    expect(events.map((e) => e.detail)).toEqual([
      {
        result: 'SUCCESS',
        'repository-name': REPO,
        'image-digest': digest,
        'source-account': '123456789012',
        'action-type': 'REPLICATE',
        'source-region': 'us-west-2',
      },
    ]);
    expect(emulator.imageCount(REPO)).toBe(1);
  });

  it('syncs an image through a pull-through cache with ECR Pull Through Cache Action (sync-status, no result)', () => {
    // Act
    const digest = emulator.pullThroughCache('docker-hub/alpine', {
      manifest: ociImageManifest('alpine-ptc'),
      tags: ['3.17.2'],
    });

    // Assert
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      'detail-type': 'ECR Pull Through Cache Action',
      resources: ['arn:aws:ecr:us-east-1:123456789012:repository/docker-hub/alpine'],
      detail: {
        'rule-version': '1',
        'sync-status': 'SUCCESS',
        'ecr-repository-prefix': 'docker-hub',
        'repository-name': 'docker-hub/alpine',
        'upstream-registry-url': 'public.ecr.aws',
        'image-tag': '3.17.2',
        'image-digest': digest,
      },
    });
    expect(events[0]?.detail.result).toBeUndefined();
    expect(repositoryOf(cleanupTriggerEventSchema.parse(events[0]))).toEqual({
      repository: 'docker-hub/alpine',
    });
  });
});

describe('faults', () => {
  beforeEach(() => {
    emulator.createRepository(REPO);
  });

  it('is deterministic: mulberry32 and the per-operation decisions repeat with the seed', async () => {
    const a = mulberry32(7);
    const b = mulberry32(7);
    expect(Array.from({ length: 5 }, a)).toEqual(Array.from({ length: 5 }, b));
    const decide = async (seed: number) => {
      const f = new FaultInjector({ seed, rules: { 'ecr:*': { throttleRate: 0.5 } } });
      const out: (string | undefined)[] = [];
      for (let i = 0; i < 20; i++) out.push((await f.before('ecr:DescribeImages', {})).fault);
      return out;
    };
    expect(await decide(3)).toEqual(await decide(3));
    expect(await decide(3)).not.toEqual(await decide(4));
  });

  it('a throttle rate of 1 makes the SDK throw ThrottlingException (400 "Rate exceeded") with maxAttempts 1', async () => {
    faults.set('ecr:DescribeImages', { throttleRate: 1 });
    const error = await errorOf(ecr().send(new DescribeImagesCommand({ repositoryName: REPO })));
    expect(error.name).toBe('ThrottlingException');
    expect(error.message).toBe('Rate exceeded');
    expect(error.$metadata?.httpStatusCode).toBe(400);
    expect(faults.stats('ecr:DescribeImages')).toMatchObject({ requests: 1, throttled: 1 });
  });

  it('a server error rate of 1 makes the SDK throw ServerException (500)', async () => {
    faults.set('*', { serverErrorRate: 1 });
    const error = await errorOf(ecr().send(new DescribeRepositoriesCommand({})));
    expect(error.name).toBe('ServerException');
    expect(error.$metadata?.httpStatusCode).toBe(500);
  });

  it('with standard retries and a seeded throttle rate of 0.5, calls eventually succeed', async () => {
    // Prepare
    pushMany(5);
    faults.set('ecr:DescribeImages', { throttleRate: 0.5 });
    const client = ecr({ maxAttempts: 10, retryMode: 'standard' });

    // Act
    const results = [];
    for (let i = 0; i < 4; i++)
      results.push(await client.send(new DescribeImagesCommand({ repositoryName: REPO })));

    // Assert
    expect(results.every((r) => r.imageDetails?.length === 5)).toBe(true);
    const stats = faults.stats('ecr:DescribeImages');
    expect(stats.throttled).toBeGreaterThan(0);
    expect(stats.requests).toBe(4 + stats.throttled);
    expect(results.reduce((n, r) => n + (r.$metadata.attempts ?? 1), 0)).toBe(stats.requests);
  });

  it('fails a seeded share of BatchDeleteImage items with KmsError, leaving those images in place', async () => {
    // Prepare
    const digests = pushMany(100);
    faults.set('ecr:BatchDeleteImage', { partialFailureRate: 0.3 });

    // Act
    const out = await ecr().send(
      new BatchDeleteImageCommand({
        repositoryName: REPO,
        imageIds: digests.map((imageDigest) => ({ imageDigest })),
      }),
    );

    // Assert
    const failed = (out.failures ?? []).map((f) => f.imageId?.imageDigest);
    expect(failed.length).toBe(faults.stats('ecr:BatchDeleteImage').partialItems);
    expect(failed.length).toBeGreaterThan(10);
    expect(failed.length).toBeLessThan(60);
    expect(new Set(out.failures?.map((f) => f.failureCode))).toEqual(new Set(['KmsError']));
    expect((out.imageIds ?? []).length + failed.length).toBe(100);
    expect(emulator.imageCount(REPO)).toBe(failed.length);
  });

  it('onceBefore holds a request until the test lets it go, and can drop it unprocessed', async () => {
    // Prepare
    const [digest] = pushMany(1) as [string];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let seen: unknown;
    faults.onceBefore('ecr:BatchDeleteImage', async (ctx) => {
      seen = ctx.input;
      await gate;
    });
    const client = ecr();

    // Act: the held call has not reached the emulator
    const held = client.send(
      new BatchDeleteImageCommand({ repositoryName: REPO, imageIds: [{ imageTag: 'v0' }] }),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const stillThere = emulator.imageCount(REPO);
    release();
    const done = await held;

    emulator.putImage(REPO, { manifest: ociImageManifest('drop-me'), tags: ['keep'] });
    faults.onceBefore('ecr:*', (ctx) => ctx.drop());
    const dropped = await errorOf(
      client.send(new BatchDeleteImageCommand({ repositoryName: REPO, imageIds: [{ imageTag: 'keep' }] })),
    );

    // Assert
    expect(seen).toEqual({ repositoryName: REPO, imageIds: [{ imageTag: 'v0' }] });
    expect(stillThere).toBe(1);
    expect(done.imageIds).toEqual([{ imageDigest: digest, imageTag: 'v0' }]);
    expect((dropped as Error & { code?: string }).code ?? dropped.message).toMatch(
      /ECONNRESET|socket hang up/,
    );
    expect(emulator.image(REPO, 'keep')).toBeDefined();
    expect(faults.stats('ecr:BatchDeleteImage')).toMatchObject({ hooks: 2, dropped: 1 });
  });
});

describe('EcrRegistry end to end', () => {
  it('lists 2,500 images in 3 pages and deletes 250 in 3 calls', async () => {
    // Prepare
    emulator.createRepository(REPO, { tags: { team: 'orders' } });
    const digests = pushMany(2_500);
    const calls = new CallCounter();
    const registry = new EcrRegistry(ecr({ maxAttempts: 8, retryMode: 'adaptive' }), calls);

    // Act
    const images = await registry.listImages(REPO);
    const outcome = await registry.deleteImages(REPO, digests.slice(0, 250));

    // Assert
    expect(images).toHaveLength(2_500);
    expect(calls.counts.get('DescribeImages')).toBe(3);
    const oldest = images.find((i) => i.digest === digests[2_499]);
    expect(oldest).toMatchObject({ tags: ['v2499'], status: 'ACTIVE', sizeBytes: 3_499 });
    expect(oldest?.pushedAt).toBe(NOW.getTime() - 2_499 * DAY_MS);
    expect(outcome.deleted).toHaveLength(250);
    expect(outcome.failures).toEqual([]);
    expect(calls.counts.get('BatchDeleteImage')).toBe(3);
    expect(emulator.imageCount(REPO)).toBe(2_250);
  });

  it('reads repositories, tags, policies and index children, archives, and survives throttling and KmsError', async () => {
    // Prepare
    emulator.createRepository(REPO, { tags: { team: 'orders' } });
    const [c1, c2] = pushMany(2, REPO, { untagged: true }) as [string, string];
    const index = emulator.putImage(REPO, { manifest: ociImageIndex([c1, c2]), tags: ['multi'] });
    emulator.createRepository('services/other');
    const others = pushMany(40, 'services/other');
    // The exact rule replaces the service-wide one for BatchDeleteImage (rules do not merge).
    faults.set('ecr:*', { throttleRate: 0.4 });
    faults.set('ecr:BatchDeleteImage', { throttleRate: 0.4, partialFailureRate: 0.5 });
    const registry = new EcrRegistry(ecr({ maxAttempts: 10, retryMode: 'standard' }));

    // Act
    const repos = await registry.listRepositories();
    const info = await registry.describeRepository(REPO);
    const missing = await registry.describeRepository('nope/nothing');
    const tags = await registry.repositoryTags(info?.arn ?? '');
    const policy = await registry.lifecyclePolicyText(REPO);
    const children = await registry.indexChildren(REPO, [index, manifestDigest('gone')]);
    const archived = await registry.archiveImages('services/other', [others[0] as string]);
    const deleted = await registry.deleteImages('services/other', others.slice(1, 21));

    // Assert
    expect(repos.map((r) => r.name)).toEqual(['services/orders', 'services/other']);
    expect(missing).toBeUndefined();
    expect(tags).toEqual({ team: 'orders' });
    expect(policy).toBeUndefined();
    expect(children.children.get(index)).toEqual([c1, c2]);
    expect(children.unreadable).toEqual([manifestDigest('gone')]);
    expect(archived.deleted).toEqual([others[0]]);
    expect(emulator.image('services/other', others[0] as string)?.status).toBe('ARCHIVED');
    // KmsError is retried once by EcrRegistry: what still fails is reported, the rest is deleted.
    expect(deleted.deleted.length + deleted.failures.length).toBe(20);
    expect(deleted.failures.every((f) => f.code === 'KmsError')).toBe(true);
    expect(emulator.imageCount('services/other')).toBe(40 - deleted.deleted.length);
    expect(faults.totals().throttled).toBeGreaterThan(0);
  });

  it('EcrScanReader re-tags through BatchGetImage + PutImage and removes tags', async () => {
    emulator.createRepository(REPO);
    const [digest] = pushMany(1) as [string];
    const reader = new EcrScanReader(ecr());
    await reader.addTag(REPO, digest, 'quarantined');
    expect(await reader.digestOfTag(REPO, 'quarantined')).toBe(digest);
    expect((await reader.image(REPO, digest))?.tags).toEqual(['v0', 'quarantined']);
    await reader.removeTag(REPO, 'v0');
    expect(await reader.image(REPO, digest)).toMatchObject({ tags: ['quarantined'] });
    expect(await reader.digestOfTag(REPO, 'v0')).toBeUndefined();
  });
});

describe('scale', () => {
  it('holds 100,000 images and pages through them 1,000 at a time while deleting', async () => {
    emulator.createRepository(REPO);
    const started = Date.now();
    for (let i = 0; i < 100_000; i++)
      emulator.putImage(REPO, { manifest: ociImageManifest(`big-${i}`), tags: i % 2 === 0 ? [`t${i}`] : [] });
    let total = 0;
    let pages = 0;
    let nextToken: string | undefined;
    do {
      const { body } = await emulator.handle(
        'DescribeImages',
        { repositoryName: REPO, maxResults: 1000, nextToken },
        { path: '/', method: 'POST', headers: {}, body: '', query: new URLSearchParams() },
      );
      const page = body as { imageDetails: { imageDigest: string }[]; nextToken?: string };
      total += page.imageDetails.length;
      pages++;
      nextToken = page.nextToken;
      // Delete 100 from each page as a cleanup run would, between pages.
      await emulator.handle(
        'BatchDeleteImage',
        {
          repositoryName: REPO,
          imageIds: page.imageDetails.slice(0, 100).map((d) => ({ imageDigest: d.imageDigest })),
        },
        { path: '/', method: 'POST', headers: {}, body: '', query: new URLSearchParams() },
      );
    } while (nextToken);
    expect(pages).toBe(100);
    expect(total).toBe(100_000);
    expect(emulator.imageCount(REPO)).toBe(90_000);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});

describe('local server protocols (other services, real SDK clients)', () => {
  let other: LocalServer;
  const calls: { service: string; op: string; input: unknown }[] = [];
  const record =
    (service: string, answer: (op: string, input: Record<string, unknown>) => unknown): ServiceHandler =>
    async (op, input) => {
      calls.push({ service, op, input });
      return { body: answer(op, input) };
    };

  beforeEach(async () => {
    calls.length = 0;
    other = await startLocalServer({
      faults,
      handlers: {
        sqs: record('sqs', (_op, input) => {
          if (input.QueueName === 'missing')
            throw new ServiceError('QueueDoesNotExist', 'The specified queue does not exist.', 400, {
              queryCode: 'AWS.SimpleQueueService.NonExistentQueue',
            });
          return { QueueUrl: `http://127.0.0.1/123456789012/${String(input.QueueName)}` };
        }),
        sns: record('sns', (_op, input) => {
          if (input.TopicArn === 'arn:missing')
            throw new ServiceError('NotFound', 'Topic does not exist', 404);
          return { MessageId: 'm-1' };
        }),
        lambda: async (op, input) => {
          calls.push({ service: 'lambda', op, input });
          if (op === 'Invoke')
            return {
              body: JSON.stringify({ echoed: JSON.parse(String(input.Payload)) }),
              headers: { 'x-amz-executed-version': '$LATEST' },
            };
          return {
            body: {
              Configuration: {
                FunctionName: input.FunctionName,
                LastModified: '2026-06-01T00:00:00.000+0000',
              },
            },
          };
        },
      },
    });
  });

  afterEach(async () => {
    await other.close();
  });

  const config = () => ({ endpoint: other.url, region: 'us-east-1', credentials, maxAttempts: 1 });

  it('SQS: awsJson1.0 with query-compatible errors', async () => {
    const sqs = new SQSClient(config());
    const ok = await sqs.send(new GetQueueUrlCommand({ QueueName: 'work' }));
    const error = await errorOf(sqs.send(new GetQueueUrlCommand({ QueueName: 'missing' })));
    faults.set('sqs:GetQueueUrl', { throttleRate: 1 });
    const throttled = await errorOf(sqs.send(new GetQueueUrlCommand({ QueueName: 'work' })));
    expect(ok.QueueUrl).toBe('http://127.0.0.1/123456789012/work');
    expect(calls[0]).toEqual({ service: 'sqs', op: 'GetQueueUrl', input: { QueueName: 'work' } });
    expect(error.name).toBe('QueueDoesNotExist');
    expect(throttled.name).toBe('RequestThrottled');
  });

  it('SNS: query protocol in, XML out, query errors', async () => {
    const sns = new SNSClient(config());
    const out = await sns.send(
      new PublishCommand({
        TopicArn: 'arn:aws:sns:us-east-1:123456789012:alerts',
        Subject: 'breaker',
        Message: 'a <b> & "c"',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'alert' } },
      }),
    );
    const error = await errorOf(sns.send(new PublishCommand({ TopicArn: 'arn:missing', Message: 'x' })));
    faults.set('sns:Publish', { throttleRate: 1 });
    const throttled = await errorOf(sns.send(new PublishCommand({ TopicArn: 'arn:x', Message: 'x' })));
    expect(out.MessageId).toBe('m-1');
    expect(calls[0]?.input).toMatchObject({
      Action: 'Publish',
      TopicArn: 'arn:aws:sns:us-east-1:123456789012:alerts',
      Message: 'a <b> & "c"',
      MessageAttributes: { kind: { DataType: 'String', StringValue: 'alert' } },
    });
    expect(error.name).toBe('NotFoundException');
    expect(throttled.name).toBe('ThrottledException');
    expect(throttled.$metadata?.httpStatusCode).toBe(429);
  });

  it('Lambda: REST routes, raw Invoke payloads, TooManyRequestsException', async () => {
    const lambda = new LambdaClient(config());
    const fn = await lambda.send(new GetFunctionCommand({ FunctionName: 'EcrSteward-Cleanup' }));
    const invoked = await lambda.send(
      new InvokeCommand({ FunctionName: 'EcrSteward-Cleanup', Payload: new TextEncoder().encode('{"a":1}') }),
    );
    faults.set('lambda:*', { throttleRate: 1 });
    const throttled = await errorOf(lambda.send(new GetFunctionCommand({ FunctionName: 'x' })));
    expect(fn.Configuration?.FunctionName).toBe('EcrSteward-Cleanup');
    expect(JSON.parse(new TextDecoder().decode(invoked.Payload))).toEqual({ echoed: { a: 1 } });
    expect(invoked.ExecutedVersion).toBe('$LATEST');
    expect(calls.map((c) => c.op)).toEqual(['GetFunction', 'Invoke']);
    expect(throttled.name).toBe('TooManyRequestsException');
  });

  it('answers services without a handler with UnknownOperationException', async () => {
    const error = await errorOf(new ECRClient(config()).send(new DescribeRepositoriesCommand({})));
    expect(error.name).toBe('UnknownOperationException');
    expect(error.$metadata?.httpStatusCode).toBe(400);
  });

  it('un-flattens query lists and maps', () => {
    const params = new URLSearchParams(
      'Action=PublishBatch&PublishBatchRequestEntries.member.1.Id=a&PublishBatchRequestEntries.member.2.Id=b&Attributes.entry.1.key=k&Attributes.entry.1.value=v',
    );
    expect(unflattenQuery(params)).toEqual({
      Action: 'PublishBatch',
      PublishBatchRequestEntries: [{ Id: 'a' }, { Id: 'b' }],
      Attributes: { k: 'v' },
    });
  });
});
