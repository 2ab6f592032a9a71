/**
 * Reading `DescribeImages` and `BatchGetImage` output as the wire (epoch seconds, also in exponent form)
 * and the AWS CLI (ISO-8601 strings) deliver it.
 */
import { describe, expect, it } from 'vitest';
import {
  batchGetImageOutputSchema,
  describeImagesOutputSchema,
  imageDetailSchema,
  indexChildrenFromBatchGet,
  indexChildrenOf,
  toImage,
} from '../../functions/shared/lifecycle/index.js';

const DIGEST = `sha256:${'1'.repeat(64)}`;
const CHILD_A = `sha256:${'a'.repeat(64)}`;
const CHILD_B = `sha256:${'b'.repeat(64)}`;
const PUSHED_MS = Date.parse('2017-09-01T19:43:27.000Z');

describe('imageDetailSchema + toImage', () => {
  it.each([
    ['epoch seconds', '1504295007'],
    ['epoch seconds in exponent form', '1.504295007E9'],
    ['epoch seconds in lower-case exponent form', '1.504295007e+9'],
    ['an ISO-8601 string in UTC', '"2017-09-01T19:43:27Z"'],
    ['an ISO-8601 string with an offset', '"2017-09-01T21:43:27+02:00"'],
    ['an ISO-8601 string with milliseconds', '"2017-09-01T19:43:27.000+00:00"'],
  ])('reads imagePushedAt given as %s', (_form, raw) => {
    // Prepare: parsed from raw JSON text, as the wire delivers it
    const detail = JSON.parse(`{"imageDigest": "${DIGEST}", "imagePushedAt": ${raw}}`);

    // Act
    const result = toImage(imageDetailSchema.parse(detail));

    // Assess
    expect(result.pushedAt).toBe(PUSHED_MS);
  });

  it('keeps milliseconds of fractional epoch seconds', () => {
    const detail = JSON.parse(`{"imageDigest": "${DIGEST}", "imagePushedAt": 1.504295007123E9}`);
    expect(toImage(imageDetailSchema.parse(detail)).pushedAt).toBe(PUSHED_MS + 123);
  });

  it('accepts a Date when the SDK has already deserialised the timestamp', () => {
    const detail = { imageDigest: DIGEST, imagePushedAt: new Date(PUSHED_MS) };
    expect(toImage(imageDetailSchema.parse(detail)).pushedAt).toBe(PUSHED_MS);
  });

  it('normalises every field of a full ImageDetail and ignores the ones it does not use', () => {
    // Prepare
    const output = JSON.parse(`{
      "imageDetails": [{
        "registryId": "123456789012",
        "repositoryName": "team/app",
        "imageDigest": "${DIGEST}",
        "imageTags": ["v1", "latest"],
        "imageSizeInBytes": 52428800,
        "imagePushedAt": 1.504295007E9,
        "imageScanStatus": {"status": "COMPLETE", "description": "done"},
        "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactMediaType": "application/vnd.oci.image.config.v1+json",
        "lastRecordedPullTime": "2017-09-02T19:43:27Z",
        "imageStatus": "ARCHIVED",
        "lastArchivedAt": 1504467807,
        "lastActivatedAt": 1504381407.5,
        "subjectManifestDigest": "${CHILD_A}"
      }]
    }`);

    // Act
    const [result] = describeImagesOutputSchema.parse(output).imageDetails.map(toImage);

    // Assess
    expect(result).toEqual({
      digest: DIGEST,
      tags: ['v1', 'latest'],
      pushedAt: PUSHED_MS,
      sizeBytes: 52_428_800,
      status: 'ARCHIVED',
      lastPulledAt: PUSHED_MS + 86_400_000,
      lastArchivedAt: PUSHED_MS + 2 * 86_400_000,
      lastActivatedAt: PUSHED_MS + 86_400_000 + 500,
      manifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactMediaType: 'application/vnd.oci.image.config.v1+json',
      subjectDigest: CHILD_A,
    });
  });

  it('defaults an untagged, sizeless detail without imageStatus to an active untagged image', () => {
    // Act
    const result = toImage(imageDetailSchema.parse({ imageDigest: DIGEST, imagePushedAt: 1504295007 }));

    // Assess
    expect(result).toEqual({
      digest: DIGEST,
      tags: [],
      pushedAt: PUSHED_MS,
      sizeBytes: 0,
      status: 'ACTIVE',
      lastPulledAt: undefined,
      lastArchivedAt: undefined,
      lastActivatedAt: undefined,
      manifestMediaType: undefined,
      artifactMediaType: undefined,
      subjectDigest: undefined,
    });
  });

  it.each([
    [
      'a timestamp string that is not a date',
      { imageDigest: DIGEST, imagePushedAt: 'yesterday' },
      'imagePushedAt',
    ],
    ['a missing imagePushedAt', { imageDigest: DIGEST }, 'imagePushedAt'],
    ['an empty digest', { imageDigest: '', imagePushedAt: 1504295007 }, 'imageDigest'],
    [
      'an unknown imageStatus',
      { imageDigest: DIGEST, imagePushedAt: 1504295007, imageStatus: 'DELETED' },
      'imageStatus',
    ],
  ])('rejects %s', (_name, detail, field) => {
    // Act
    const result = imageDetailSchema.safeParse(detail);

    // Assess
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual([field]);
  });

  it('says which value is not a timestamp', () => {
    const result = imageDetailSchema.safeParse({ imageDigest: DIGEST, imagePushedAt: 'yesterday' });
    expect(result.error?.issues[0]?.message).toBe('not a timestamp: "yesterday"');
  });
});

describe('indexChildrenOf', () => {
  it('lists the digests of an OCI image index', () => {
    // Prepare
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: CHILD_A,
          size: 1,
          platform: { os: 'linux', architecture: 'amd64' },
        },
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: CHILD_B,
          size: 1,
          platform: { os: 'linux', architecture: 'arm64' },
        },
      ],
    });

    // Act / Assess
    expect(indexChildrenOf(manifest)).toEqual([CHILD_A, CHILD_B]);
  });

  it('returns no children for an image manifest and skips entries without a digest', () => {
    expect(indexChildrenOf(JSON.stringify({ schemaVersion: 2, layers: [{ digest: CHILD_A }] }))).toEqual([]);
    expect(indexChildrenOf(JSON.stringify({ manifests: [{ size: 1 }, { digest: CHILD_B }] }))).toEqual([
      CHILD_B,
    ]);
  });
});

describe('indexChildrenFromBatchGet', () => {
  it('maps each index in a BatchGetImage output to its children and leaves out image manifests', () => {
    // Prepare
    const output = batchGetImageOutputSchema.parse({
      images: [
        {
          imageId: { imageDigest: DIGEST, imageTag: 'v1' },
          imageManifestMediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
          imageManifest: JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
            manifests: [{ digest: CHILD_A }, { digest: CHILD_B }],
          }),
        },
        {
          imageId: { imageDigest: CHILD_A },
          imageManifest: JSON.stringify({ schemaVersion: 2, config: { digest: 'sha256:c' }, layers: [] }),
        },
        {
          imageId: { imageDigest: CHILD_B },
          imageManifest: JSON.stringify({ schemaVersion: 2, manifests: [] }),
        },
      ],
      failures: [],
    });

    // Act
    const children = indexChildrenFromBatchGet(output);

    // Assess
    expect(children).toEqual(
      new Map([
        [DIGEST, [CHILD_A, CHILD_B]],
        [CHILD_B, []],
      ]),
    );
  });

  it('throws naming the digest when a manifest is not JSON', () => {
    // Prepare
    const output = batchGetImageOutputSchema.parse({
      images: [{ imageId: { imageDigest: DIGEST }, imageManifest: '<html>' }],
    });

    // Act / Assess
    expect(() => indexChildrenFromBatchGet(output)).toThrow(`the manifest of ${DIGEST} is not JSON`);
  });
});
