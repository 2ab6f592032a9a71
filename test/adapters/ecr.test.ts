/**
 * EcrRegistry against a mocked ECR client (aws-sdk-client-mock replaces `send`, so these tests see exactly the
 * requests the adapter builds and feed it exactly the responses ECR documents). Retries are the SDK's job and
 * are tested against a real client in retry.test.ts.
 */
import {
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetLifecyclePolicyCommand,
  type ImageDetail,
  LifecyclePolicyNotFoundException,
  ListTagsForResourceCommand,
  RepositoryNotFoundException,
  UpdateImageStorageClassCommand,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { CallCounter, chunks, ECR_LIMITS, EcrRegistry } from '../../functions/shared/adapters/ecr.js';
import { INDEX_MEDIA_TYPES } from '../../functions/shared/lifecycle/graph.js';
import { awsError } from '../fixtures/events.js';
import { digestOf, OCI_INDEX } from '../fixtures/images.js';

const ecr = mockClient(ECRClient);
const REPO = 'services/orders';
const client = () => new ECRClient({ region: 'us-west-2' });

afterEach(() => {
  ecr.reset();
});

const detail = (name: string, extra: Partial<ImageDetail> = {}): ImageDetail => ({
  registryId: '123456789012',
  repositoryName: REPO,
  imageDigest: digestOf(name),
  imageTags: [name],
  imageSizeInBytes: 1234,
  imagePushedAt: new Date('2026-05-01T00:00:00Z'),
  ...extra,
});

const digests = (n: number, prefix = 'img') =>
  Array.from({ length: n }, (_, i) => digestOf(`${prefix}-${i}`));

describe('EcrRegistry.listImages', () => {
  it('pages DescribeImages to the last page with maxResults 1000 and imageStatus ANY', async () => {
    // Prepare
    ecr
      .on(DescribeImagesCommand, { nextToken: undefined })
      .resolves({ imageDetails: [detail('a'), detail('b')], nextToken: 'page-2' })
      .on(DescribeImagesCommand, { nextToken: 'page-2' })
      .resolves({ imageDetails: [detail('c')], nextToken: 'page-3' })
      .on(DescribeImagesCommand, { nextToken: 'page-3' })
      .resolves({ imageDetails: [detail('d')] });
    const calls = new CallCounter();

    // Act
    const images = await new EcrRegistry(client(), calls).listImages(REPO);

    // Assess
    expect(images.map((i) => i.tags[0])).toEqual(['a', 'b', 'c', 'd']);
    expect(ecr.commandCalls(DescribeImagesCommand).map((c) => c.args[0].input)).toEqual([
      { repositoryName: REPO, maxResults: 1000, nextToken: undefined, filter: { imageStatus: 'ANY' } },
      { repositoryName: REPO, maxResults: 1000, nextToken: 'page-2', filter: { imageStatus: 'ANY' } },
      { repositoryName: REPO, maxResults: 1000, nextToken: 'page-3', filter: { imageStatus: 'ANY' } },
    ]);
    expect(calls.toJSON()).toEqual({ DescribeImages: 3 });
  });

  it('normalises an ImageDetail to epoch milliseconds and keeps archive, index and referrer fields', async () => {
    // Prepare
    ecr.on(DescribeImagesCommand).resolves({
      imageDetails: [
        detail('idx', {
          imageTags: undefined,
          imageStatus: 'ARCHIVED',
          imagePushedAt: new Date('2026-01-01T00:00:00Z'),
          lastRecordedPullTime: new Date('2026-02-01T00:00:00Z'),
          lastArchivedAt: new Date('2026-03-01T00:00:00Z'),
          lastActivatedAt: new Date('2026-04-01T00:00:00Z'),
          imageManifestMediaType: OCI_INDEX,
          artifactMediaType: 'application/vnd.oci.image.config.v1+json',
          subjectManifestDigest: digestOf('subject'),
        }),
      ],
    });

    // Act
    const [image] = await new EcrRegistry(client()).listImages(REPO);

    // Assess
    expect(image).toEqual({
      digest: digestOf('idx'),
      tags: [],
      pushedAt: Date.parse('2026-01-01T00:00:00Z'),
      sizeBytes: 1234,
      status: 'ARCHIVED',
      lastPulledAt: Date.parse('2026-02-01T00:00:00Z'),
      lastArchivedAt: Date.parse('2026-03-01T00:00:00Z'),
      lastActivatedAt: Date.parse('2026-04-01T00:00:00Z'),
      manifestMediaType: OCI_INDEX,
      artifactMediaType: 'application/vnd.oci.image.config.v1+json',
      subjectDigest: digestOf('subject'),
    });
  });

  it('surfaces a request-level error instead of returning a partial list', async () => {
    // Prepare
    ecr
      .on(DescribeImagesCommand, { nextToken: undefined })
      .resolves({ imageDetails: [detail('a')], nextToken: 'page-2' })
      .on(DescribeImagesCommand, { nextToken: 'page-2' })
      .rejects(awsError('ThrottlingException', 'Rate exceeded'));

    // Act
    const result = new EcrRegistry(client()).listImages(REPO);

    // Assess
    await expect(result).rejects.toThrow('Rate exceeded');
  });
});

describe('EcrRegistry.listImages with a digest listed twice', () => {
  it('merges two entries of one digest across pages into one image with both tags and warns', async () => {
    // Prepare
    ecr
      .on(DescribeImagesCommand, { nextToken: undefined })
      .resolves({ imageDetails: [detail('a'), detail('b')], nextToken: 'page-2' })
      .on(DescribeImagesCommand, { nextToken: 'page-2' })
      .resolves({
        imageDetails: [
          detail('a', {
            imageTags: ['stable'],
            lastRecordedPullTime: new Date('2026-05-03T00:00:00Z'),
          }),
        ],
      });
    const registry = new EcrRegistry(client());
    const warnings: string[] = [];
    registry.onWarning = (m) => warnings.push(m);

    // Act
    const images = await registry.listImages(REPO);

    // Assess
    expect(images.map((i) => [i.digest, i.tags, i.lastPulledAt])).toEqual([
      [digestOf('a'), ['a', 'stable'], Date.parse('2026-05-03T00:00:00Z')],
      [digestOf('b'), ['b'], undefined],
    ]);
    expect(warnings).toEqual([
      `DescribeImages listed 1 digest(s) of ${REPO} more than once; merged: ${digestOf('a')}`,
    ]);
  });

  it('refuses a listing whose two entries of one digest disagree on its push time', async () => {
    // Prepare
    ecr.on(DescribeImagesCommand).resolves({
      imageDetails: [detail('a'), detail('a', { imagePushedAt: new Date('2026-05-02T00:00:00Z') })],
    });

    // Act
    const result = new EcrRegistry(client()).listImages(REPO);

    // Assess
    await expect(result).rejects.toThrow(
      `image ${digestOf('a')} is listed twice with different pushedAt; list the repository again (it changed while it was read)`,
    );
  });
});

describe('EcrRegistry.existingDigests', () => {
  it('asks DescribeImages by digest, 100 ids a call, in any storage class, and returns those it lists', async () => {
    // Prepare
    const all = digests(150);
    const present = new Set(all.filter((_, i) => i % 2 === 0));
    ecr.on(DescribeImagesCommand).callsFake((input: { imageIds: { imageDigest: string }[] }) => ({
      imageDetails: input.imageIds
        .filter((id) => present.has(id.imageDigest))
        .map((id) => ({ imageDigest: id.imageDigest, imageTags: [] })),
    }));
    const calls = new CallCounter();

    // Act
    const found = await new EcrRegistry(client(), calls).existingDigests(REPO, all);

    // Assess
    const sent = ecr.commandCalls(DescribeImagesCommand).map((c) => c.args[0].input);
    expect(sent.map((i) => i.imageIds?.length)).toEqual([100, 50]);
    expect(sent.every((i) => i.filter?.imageStatus === 'ANY' && i.maxResults === undefined)).toBe(true);
    expect(found).toEqual(present);
    expect(calls.toJSON()).toEqual({ DescribeImages: 2 });
  });

  it('asks one digest at a time when ImageNotFoundException fails the batch, and counts the missing ones gone', async () => {
    // Prepare: DescribeImages with imageIds fails the whole call when one id does not exist.
    const [kept, gone, alsoGone] = digests(3);
    ecr.on(DescribeImagesCommand).callsFake((input: { imageIds: { imageDigest: string }[] }) => {
      const missing = input.imageIds.find((id) => id.imageDigest !== kept);
      if (missing)
        throw awsError(
          'ImageNotFoundException',
          `The image with imageId {imageDigest:'${missing.imageDigest}', imageTag:'null'} does not exist within the repository with name '${REPO}' in the registry with id '123456789012'`,
        );
      return { imageDetails: [{ imageDigest: kept, imageTags: ['v1'] }] };
    });
    const calls = new CallCounter();

    // Act
    const found = await new EcrRegistry(client(), calls).existingDigests(REPO, [kept!, gone!, alsoGone!]);

    // Assess
    const sent = ecr.commandCalls(DescribeImagesCommand).map((c) => c.args[0].input.imageIds);
    expect(sent).toEqual([
      [{ imageDigest: kept }, { imageDigest: gone }, { imageDigest: alsoGone }],
      [{ imageDigest: kept }],
      [{ imageDigest: gone }],
      [{ imageDigest: alsoGone }],
    ]);
    expect(found).toEqual(new Set([kept]));
    expect(calls.toJSON()).toEqual({ DescribeImages: 4 });
  });

  it('rethrows any other error rather than guess which images exist', async () => {
    // Prepare
    ecr.on(DescribeImagesCommand).rejects(awsError('RepositoryNotFoundException', 'no repository'));

    // Act
    const result = new EcrRegistry(client()).existingDigests(REPO, digests(2));

    // Assess
    await expect(result).rejects.toThrow('no repository');
  });

  it('makes no call for an empty list of digests', async () => {
    // Act
    const found = await new EcrRegistry(client()).existingDigests(REPO, []);

    // Assess
    expect(found).toEqual(new Set());
    expect(ecr.commandCalls(DescribeImagesCommand)).toHaveLength(0);
  });
});

describe('EcrRegistry.indexChildren', () => {
  const manifest = (children: readonly string[]) =>
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: children.map((digest) => ({
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest,
      })),
    });

  it('asks BatchGetImage for at most 100 index manifests a call, accepting only index media types', async () => {
    // Prepare
    const indexes = digests(250, 'index');
    ecr.on(BatchGetImageCommand).callsFake((input: { imageIds: { imageDigest: string }[] }) => ({
      images: input.imageIds.map(({ imageDigest }) => ({
        imageId: { imageDigest },
        imageManifest: manifest([digestOf(`${imageDigest}-amd64`), digestOf(`${imageDigest}-arm64`)]),
      })),
    }));
    const calls = new CallCounter();

    // Act
    const { children, unreadable } = await new EcrRegistry(client(), calls).indexChildren(REPO, indexes);

    // Assess
    const sent = ecr.commandCalls(BatchGetImageCommand).map((c) => c.args[0].input);
    expect(sent.map((input) => input.imageIds?.length)).toEqual([100, 100, 50]);
    expect(sent.flatMap((input) => input.imageIds?.map((id) => id.imageDigest))).toEqual(indexes);
    expect(sent.every((input) => input.repositoryName === REPO)).toBe(true);
    expect(sent[0]?.acceptedMediaTypes).toEqual([...INDEX_MEDIA_TYPES]);
    expect(children.size).toBe(250);
    expect(children.get(indexes[7]!)).toEqual([
      digestOf(`${indexes[7]}-amd64`),
      digestOf(`${indexes[7]}-arm64`),
    ]);
    expect(unreadable).toEqual([]);
    expect(calls.toJSON()).toEqual({ BatchGetImage: 3 });
  });

  it('lists as unreadable the indexes that failed, were not JSON or were not returned at all', async () => {
    // Prepare
    const [ok, failed, garbled, missing] = digests(4, 'index');
    ecr.on(BatchGetImageCommand).resolves({
      images: [
        { imageId: { imageDigest: ok }, imageManifest: manifest([digestOf('child')]) },
        { imageId: { imageDigest: garbled }, imageManifest: '{not json' },
      ],
      failures: [
        {
          imageId: { imageDigest: failed },
          failureCode: 'ImageNotFound',
          failureReason: 'Requested image not found',
        },
      ],
    });

    // Act
    const result = await new EcrRegistry(client()).indexChildren(REPO, [ok!, failed!, garbled!, missing!]);

    // Assess
    expect([...result.children]).toEqual([[ok, [digestOf('child')]]]);
    expect(result.unreadable).toEqual([garbled, failed, missing]);
  });

  it('makes no call for an empty list of indexes', async () => {
    // Act
    const result = await new EcrRegistry(client()).indexChildren(REPO, []);

    // Assess
    expect(result).toEqual({ children: new Map(), unreadable: [] });
    expect(ecr.commandCalls(BatchGetImageCommand)).toHaveLength(0);
  });
});

describe('EcrRegistry.deleteImages', () => {
  /** BatchDeleteImage as ECR answers it: every digest deleted, one imageIds entry per digest. */
  const deletesAll = (input: { imageIds: { imageDigest: string }[] }) => ({
    imageIds: input.imageIds.map(({ imageDigest }) => ({ imageDigest, imageTag: 'x' })),
    failures: [],
  });

  it('deletes 250 digests in 3 calls of 100, 100 and 50, by digest, in the order given', async () => {
    // Prepare
    const all = digests(250);
    ecr.on(BatchDeleteImageCommand).callsFake(deletesAll);
    const calls = new CallCounter();

    // Act
    const outcome = await new EcrRegistry(client(), calls).deleteImages(REPO, all);

    // Assess
    const sent = ecr.commandCalls(BatchDeleteImageCommand).map((c) => c.args[0].input);
    expect(sent.map((input) => input.imageIds?.length)).toEqual([100, 100, 50]);
    expect(sent.flatMap((input) => input.imageIds ?? [])).toEqual(
      all.map((imageDigest) => ({ imageDigest })),
    );
    expect(sent.every((input) => input.repositoryName === REPO)).toBe(true);
    expect(outcome).toEqual({ deleted: all, failures: [], alreadyGone: [], unattributed: [] });
    expect(calls.toJSON()).toEqual({ BatchDeleteImage: 3 });
  });

  it('reports a digest once when ECR lists one imageIds entry per removed tag', async () => {
    // Prepare
    const [a] = digests(1);
    ecr.on(BatchDeleteImageCommand).resolves({
      imageIds: [
        { imageDigest: a, imageTag: 'xenial' },
        { imageDigest: a, imageTag: 'latest' },
      ],
      failures: [],
    });

    // Act
    const outcome = await new EcrRegistry(client()).deleteImages(REPO, [a!]);

    // Assess
    expect(outcome).toEqual({ deleted: [a], failures: [], alreadyGone: [], unattributed: [] });
  });

  it('reports ImageNotFound in failures[] of an HTTP 200 answer as already gone, not as a failure, without retrying it', async () => {
    // Prepare
    const [gone, ok, tagged] = digests(3);
    ecr.on(BatchDeleteImageCommand).resolves({
      imageIds: [{ imageDigest: ok }],
      failures: [
        {
          imageId: { imageDigest: gone },
          failureCode: 'ImageNotFound',
          failureReason: 'Requested image not found',
        },
        {
          imageId: { imageDigest: tagged },
          failureCode: 'ImageTagDoesNotMatchDigest',
          failureReason: 'Invalid request parameters: tag does not match digest',
        },
      ],
    });

    // Act
    const outcome = await new EcrRegistry(client()).deleteImages(REPO, [gone!, ok!, tagged!]);

    // Assess
    expect(outcome).toEqual({
      deleted: [ok],
      failures: [
        {
          digest: tagged,
          code: 'ImageTagDoesNotMatchDigest',
          reason: 'Invalid request parameters: tag does not match digest',
        },
      ],
      alreadyGone: [gone],
      unattributed: [],
    });
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(1);
  });

  it('keeps the code and reason of failures that name only a tag, or no image at all', async () => {
    // Prepare: the body AWS CLI issue 6424 recorded, and a failure a third-party registry sent without imageId.
    const [a] = digests(1);
    ecr.on(BatchDeleteImageCommand).resolves({
      imageIds: [],
      failures: [
        {
          failureCode: 'ImageNotFound',
          failureReason: 'Requested image not found',
          imageId: { imageTag: 'latest' },
        },
        { failureCode: 'KmsError', failureReason: 'The KMS key is disabled' },
      ],
    });

    // Act
    const outcome = await new EcrRegistry(client()).deleteImages(REPO, [a!]);

    // Assess
    expect(outcome).toEqual({
      deleted: [],
      failures: [],
      alreadyGone: [],
      unattributed: [
        { tag: 'latest', code: 'ImageNotFound', reason: 'Requested image not found' },
        { code: 'KmsError', reason: 'The KMS key is disabled' },
      ],
    });
  });

  it('reports an image already gone when the retry of ImageReferencedByManifestList finds it deleted meanwhile', async () => {
    // Prepare
    const [child] = digests(1);
    ecr
      .on(BatchDeleteImageCommand)
      .resolvesOnce({
        imageIds: [],
        failures: [
          {
            imageId: { imageDigest: child },
            failureCode: 'ImageReferencedByManifestList',
            failureReason: 'Requested image is referenced by an image index',
          },
        ],
      })
      .resolves({
        imageIds: [],
        failures: [
          {
            imageId: { imageDigest: child },
            failureCode: 'ImageNotFound',
            failureReason: 'Requested image not found',
          },
        ],
      });

    // Act
    const outcome = await new EcrRegistry(client()).deleteImages(REPO, [child!]);

    // Assess
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(2);
    expect(outcome).toEqual({ deleted: [], failures: [], alreadyGone: [child], unattributed: [] });
  });

  it('retries ImageReferencedByManifestList once, after every batch, and reports the digest deleted when the retry succeeds', async () => {
    // Prepare
    const all = digests(150);
    const child = all[3]!;
    ecr
      .on(BatchDeleteImageCommand)
      .callsFakeOnce((input: { imageIds: { imageDigest: string }[] }) => ({
        imageIds: input.imageIds.filter((id) => id.imageDigest !== child),
        failures: [
          {
            imageId: { imageDigest: child },
            failureCode: 'ImageReferencedByManifestList',
            failureReason: 'Requested image is referenced by an image index',
          },
        ],
      }))
      .callsFake(deletesAll);

    // Act
    const outcome = await new EcrRegistry(client()).deleteImages(REPO, all);

    // Assess
    const sent = ecr.commandCalls(BatchDeleteImageCommand).map((c) => c.args[0].input.imageIds);
    expect(sent.map((ids) => ids?.length)).toEqual([100, 50, 1]);
    expect(sent[2]).toEqual([{ imageDigest: child }]);
    expect(new Set(outcome.deleted)).toEqual(new Set(all));
    expect(outcome.failures).toEqual([]);
  });

  it('retries ImageReferencedByManifestList only once and then reports the failure', async () => {
    // Prepare
    const [child] = digests(1);
    const referenced = {
      imageIds: [],
      failures: [
        {
          imageId: { imageDigest: child },
          failureCode: 'ImageReferencedByManifestList' as const,
          failureReason: 'Requested image is referenced by an image index',
        },
      ],
    };
    ecr.on(BatchDeleteImageCommand).resolves(referenced);

    // Act
    const outcome = await new EcrRegistry(client()).deleteImages(REPO, [child!]);

    // Assess
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(2);
    expect(outcome).toEqual({
      deleted: [],
      failures: [
        {
          digest: child,
          code: 'ImageReferencedByManifestList',
          reason: 'Requested image is referenced by an image index',
        },
      ],
      alreadyGone: [],
      unattributed: [],
    });
  });

  it('makes no call for an empty list of digests', async () => {
    // Act
    const outcome = await new EcrRegistry(client()).deleteImages(REPO, []);

    // Assess
    expect(outcome).toEqual({ deleted: [], failures: [], alreadyGone: [], unattributed: [] });
    expect(ecr.commandCalls(BatchDeleteImageCommand)).toHaveLength(0);
  });
});

describe('EcrRegistry.archiveImages', () => {
  it('archives one image a call and reports per-image failures', async () => {
    // Prepare
    const [a, b] = digests(2);
    ecr
      .on(UpdateImageStorageClassCommand, { imageId: { imageDigest: a } })
      .resolves({ imageStatus: 'ARCHIVED' })
      .on(UpdateImageStorageClassCommand, { imageId: { imageDigest: b } })
      .rejects(awsError('ValidationException', 'image is too young to archive'));

    // Act
    const outcome = await new EcrRegistry(client()).archiveImages(REPO, [a!, b!]);

    // Assess
    expect(ecr.commandCalls(UpdateImageStorageClassCommand).map((c) => c.args[0].input)).toEqual([
      { repositoryName: REPO, imageId: { imageDigest: a }, targetStorageClass: 'ARCHIVE' },
      { repositoryName: REPO, imageId: { imageDigest: b }, targetStorageClass: 'ARCHIVE' },
    ]);
    expect(outcome).toEqual({
      deleted: [a],
      failures: [{ digest: b, code: 'ValidationException', reason: 'image is too young to archive' }],
    });
  });

  it('rethrows throttling that outlived the SDK retries', async () => {
    // Prepare
    ecr.on(UpdateImageStorageClassCommand).rejects(awsError('ThrottlingException', 'Rate exceeded'));

    // Act
    const result = new EcrRegistry(client()).archiveImages(REPO, digests(1));

    // Assess
    await expect(result).rejects.toThrow('Rate exceeded');
  });
});

describe('EcrRegistry repositories and policies', () => {
  it('lists every repository across pages of 1000', async () => {
    // Prepare
    const repo = (name: string) => ({
      repositoryName: name,
      repositoryArn: `arn:aws:ecr:us-west-2:123456789012:repository/${name}`,
      registryId: '123456789012',
      imageTagMutability: 'IMMUTABLE' as const,
    });
    ecr
      .on(DescribeRepositoriesCommand, { nextToken: undefined })
      .resolves({ repositories: [repo('web'), { repositoryName: 'incomplete' }], nextToken: 't2' })
      .on(DescribeRepositoriesCommand, { nextToken: 't2' })
      .resolves({ repositories: [repo('services/orders')] });

    // Act
    const repositories = await new EcrRegistry(client()).listRepositories();

    // Assess
    expect(repositories).toEqual([
      {
        name: 'web',
        arn: 'arn:aws:ecr:us-west-2:123456789012:repository/web',
        registryId: '123456789012',
        tagMutability: 'IMMUTABLE',
      },
      {
        name: 'services/orders',
        arn: 'arn:aws:ecr:us-west-2:123456789012:repository/services/orders',
        registryId: '123456789012',
        tagMutability: 'IMMUTABLE',
      },
    ]);
    expect(ecr.commandCalls(DescribeRepositoriesCommand).map((c) => c.args[0].input)).toEqual([
      { maxResults: ECR_LIMITS.describePage, nextToken: undefined },
      { maxResults: ECR_LIMITS.describePage, nextToken: 't2' },
    ]);
  });

  it('returns undefined for a repository that does not exist', async () => {
    // Prepare
    ecr
      .on(DescribeRepositoriesCommand)
      .rejects(new RepositoryNotFoundException({ message: 'The repository does not exist', $metadata: {} }));

    // Act
    const repository = await new EcrRegistry(client()).describeRepository('gone');

    // Assess
    expect(repository).toBeUndefined();
    expect(ecr.commandCalls(DescribeRepositoriesCommand)[0]?.args[0].input).toEqual({
      repositoryNames: ['gone'],
    });
  });

  it('rethrows any other DescribeRepositories error', async () => {
    // Prepare
    ecr.on(DescribeRepositoriesCommand).rejects(awsError('AccessDeniedException', 'not authorized'));

    // Act
    const result = new EcrRegistry(client()).describeRepository('web');

    // Assess
    await expect(result).rejects.toThrow('not authorized');
  });

  it('returns the policy text, or undefined when LifecyclePolicyNotFoundException says there is none', async () => {
    // Prepare
    ecr
      .on(GetLifecyclePolicyCommand, { repositoryName: 'with' })
      .resolves({ lifecyclePolicyText: '{"rules":[]}' })
      .on(GetLifecyclePolicyCommand, { repositoryName: 'without' })
      .rejects(new LifecyclePolicyNotFoundException({ message: 'no policy', $metadata: {} }));
    const registry = new EcrRegistry(client());

    // Act
    const texts = [await registry.lifecyclePolicyText('with'), await registry.lifecyclePolicyText('without')];

    // Assess
    expect(texts).toEqual(['{"rules":[]}', undefined]);
  });

  it('returns repository tags as a record', async () => {
    // Prepare
    const arn = 'arn:aws:ecr:us-west-2:123456789012:repository/web';
    ecr.on(ListTagsForResourceCommand, { resourceArn: arn }).resolves({
      tags: [
        { Key: 'steward', Value: 'managed' },
        { Key: 'team', Value: 'payments' },
      ],
    });

    // Act
    const tags = await new EcrRegistry(client()).repositoryTags(arn);

    // Assess
    expect(tags).toEqual({ steward: 'managed', team: 'payments' });
  });
});

describe('chunks', () => {
  it('splits into pieces of at most the size, keeping order', () => {
    expect(chunks([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunks([], 100)).toEqual([]);
  });
});
