/**
 * mergeListedImages (functions/shared/lifecycle/images.ts): the one rule for a DescribeImages listing that names
 * a digest twice, used by EcrRegistry.listImages and meant for the CLI's --images loader.
 */
import { describe, expect, it } from 'vitest';
import { DuplicateImageError, mergeListedImages } from '../../functions/shared/lifecycle/images.js';
import { DAY_MS, digestOf, image, NOW } from '../fixtures/images.js';

describe('mergeListedImages', () => {
  it('returns the listing unchanged, and merges nothing, when every digest appears once', () => {
    // Prepare
    const listing = [image('a', { age: 1, tags: ['a'] }), image('b', { age: 2 })];

    // Act
    const result = mergeListedImages(listing);

    // Assess
    expect(result).toEqual({ images: listing, merged: [] });
  });

  it('merges two entries of one digest into the first, with every tag once and the latest pull time', () => {
    // Prepare
    const first = image('a', { age: 3, tags: ['v1', 'latest'], lastPulledAt: NOW.getTime() - 2 * DAY_MS });
    const again = { ...first, tags: ['latest', 'stable'], lastPulledAt: NOW.getTime() - DAY_MS };
    const other = image('b', { age: 1, tags: ['v2'] });

    // Act
    const result = mergeListedImages([first, other, again]);

    // Assess
    expect(result).toEqual({
      images: [{ ...first, tags: ['v1', 'latest', 'stable'], lastPulledAt: NOW.getTime() - DAY_MS }, other],
      merged: [digestOf('a')],
    });
  });

  it('keeps a pull time only one entry has when the other entry has none', () => {
    // Prepare
    const first = image('a', { age: 3 });
    const again = { ...first, lastPulledAt: NOW.getTime() - DAY_MS };

    // Act
    const [merged] = mergeListedImages([first, again]).images;

    // Assess
    expect(merged?.lastPulledAt).toBe(NOW.getTime() - DAY_MS);
  });

  it.each([
    ['pushedAt', { pushedAt: NOW.getTime() }],
    ['sizeBytes', { sizeBytes: 7 }],
    ['status', { status: 'ARCHIVED' as const }],
    ['manifestMediaType', { manifestMediaType: 'application/vnd.docker.distribution.manifest.v2+json' }],
    ['artifactMediaType', { artifactMediaType: 'application/spdx+json' }],
    ['subjectDigest', { subjectDigest: digestOf('subject') }],
  ])('refuses the listing when the two entries disagree on %s', (field, change) => {
    // Prepare
    const first = image('a', { age: 3, tags: ['v1'] });

    // Act
    const merge = () => mergeListedImages([first, { ...first, ...change }]);

    // Assess
    expect(merge).toThrow(DuplicateImageError);
    expect(merge).toThrow(
      `image ${digestOf('a')} is listed twice with different ${field}; list the repository again (it changed while it was read)`,
    );
  });

  it('finds a repeated digest among digests that share their last characters (and so hash alike)', () => {
    // Prepare: 300 digests ending alike, so the quick check meets many look-alikes and must compare whole
    // digests (or give up and use a map); the repeat is the last entry.
    const tail = 'ffffffffffffffff';
    const listing = Array.from({ length: 300 }, (_, i) => ({
      ...image(`x${i}`, { age: 1 }),
      digest: `sha256:${String(i).padStart(48, '0')}${tail}`,
    }));
    const again = { ...listing[123]!, tags: ['late'] };

    // Act
    const result = mergeListedImages([...listing, again]);

    // Assess
    expect(result.merged).toEqual([listing[123]!.digest]);
    expect(result.images).toHaveLength(300);
    expect(result.images[123]).toEqual({ ...listing[123], tags: ['late'] });
  });

  it('returns a listing of distinct look-alike digests unchanged, as a new array', () => {
    // Prepare
    const listing = Array.from({ length: 300 }, (_, i) => ({
      ...image(`y${i}`, { age: 1 }),
      digest: `sha256:${String(i).padStart(48, '0')}ffffffffffffffff`,
    }));

    // Act
    const result = mergeListedImages(listing);

    // Assess
    expect(result).toEqual({ images: listing, merged: [] });
    expect(result.images).not.toBe(listing);
  });

  it('merges a digest listed twice in a large listing of distinct digests', () => {
    // Prepare
    const listing = Array.from({ length: 5_000 }, (_, i) => image(`z${i}`, { age: i % 30 }));
    const again = { ...listing[4_321]!, tags: ['again'] };

    // Act
    const result = mergeListedImages([again, ...listing]);

    // Assess
    expect(result.merged).toEqual([again.digest]);
    expect(result.images.map((i) => i.digest)).toEqual([
      again.digest,
      ...listing.filter((_, k) => k !== 4_321).map((i) => i.digest),
    ]);
  });
});
