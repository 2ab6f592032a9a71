/**
 * The fast path for describe-images output (`fastImage`, `fastImages`) against the schema it stands in for:
 * whatever the fast path accepts, the schema accepts and turns into the same image; whatever the schema refuses,
 * the fast path refuses too (and the caller then reports the schema's error).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  describeImagesOutputSchema,
  fastImage,
  fastImages,
  imageDetailSchema,
  toImage,
} from '../../functions/shared/lifecycle/index.js';

/** A field's value: usually well-typed, sometimes not (wrong types, ISO strings, negative sizes, nulls). */
const anyValue = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.integer(),
  fc.double(),
  fc.string(),
  fc.boolean(),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.constant('2026-11-01T00:00:00Z'),
  fc.constant('not a date'),
);
const seconds = fc.oneof(
  fc.integer({ min: 1_400_000_000, max: 1_900_000_000 }),
  fc.double({ min: 1e9, max: 2e9, noNaN: true }),
);
const maybe = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 4, arbitrary: arb }, { weight: 1, arbitrary: anyValue });

const detail = fc.record(
  {
    imageDigest: maybe(fc.string({ minLength: 0, maxLength: 8 }).map((s) => (s ? `sha256:${s}` : s))),
    imageTags: maybe(fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 })),
    imageSizeInBytes: maybe(fc.oneof(fc.nat(), fc.integer({ min: -5, max: -1 }))),
    imagePushedAt: maybe(seconds),
    imageStatus: maybe(fc.constantFrom('ACTIVE', 'ARCHIVED', 'ACTIVATING', 'DELETED')),
    lastRecordedPullTime: maybe(seconds),
    lastArchivedAt: maybe(seconds),
    lastActivatedAt: maybe(seconds),
    imageManifestMediaType: maybe(fc.constantFrom('application/vnd.oci.image.manifest.v1+json')),
    artifactMediaType: maybe(fc.string({ maxLength: 5 })),
    subjectManifestDigest: maybe(fc.constant('sha256:subject')),
    repositoryName: maybe(fc.constant('services/api')),
  },
  { requiredKeys: [] },
);

describe('fastImage', () => {
  it('accepts only what the schema accepts, and makes the same image of it', () => {
    fc.assert(
      fc.property(detail, (d) => {
        const fast = fastImage(d);
        const schema = imageDetailSchema.safeParse(d);
        if (fast !== undefined) {
          expect(schema.success).toBe(true);
          expect(fast).toEqual(toImage(schema.data!));
        }
        if (!schema.success) expect(fast).toBeUndefined();
      }),
      { numRuns: 3000 },
    );
  });

  it('takes the common shape (epoch seconds) and leaves ISO dates and Dates to the schema', () => {
    const common = {
      imageDigest: 'sha256:aa',
      imageTags: ['v1'],
      imageSizeInBytes: 10,
      imagePushedAt: 1_700_000_000.5,
      lastRecordedPullTime: 1_700_000_100,
    };
    expect(fastImage(common)).toEqual({
      digest: 'sha256:aa',
      tags: ['v1'],
      pushedAt: 1_700_000_000_500,
      sizeBytes: 10,
      status: 'ACTIVE',
      lastPulledAt: 1_700_000_100_000,
      lastArchivedAt: undefined,
      lastActivatedAt: undefined,
      manifestMediaType: undefined,
      artifactMediaType: undefined,
      subjectDigest: undefined,
    });
    expect(fastImage({ ...common, imagePushedAt: '2026-11-01T00:00:00Z' })).toBeUndefined();
    expect(fastImage({ ...common, imagePushedAt: new Date(0) })).toBeUndefined();
  });
});

describe('fastImages', () => {
  it('gives the schema path its images, or undefined when one image (or the shape) needs the schema', () => {
    fc.assert(
      fc.property(fc.array(detail, { maxLength: 6 }), (details) => {
        const fast = fastImages({ imageDetails: details });
        const schema = describeImagesOutputSchema.safeParse({ imageDetails: details });
        if (fast !== undefined) expect(fast).toEqual(schema.data!.imageDetails.map(toImage));
        if (!schema.success) expect(fast).toBeUndefined();
      }),
      { numRuns: 1000 },
    );
    expect(fastImages({})).toBeUndefined();
    expect(fastImages(null)).toBeUndefined();
    expect(fastImages({ imageDetails: {} })).toBeUndefined();
    expect(fastImages({ imageDetails: [] })).toEqual([]);
  });
});
