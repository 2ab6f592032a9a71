/**
 * The deletion notice (functions/shared/governance/notice.ts): the exact text of a small notice, the cut after
 * 50 images, SNS's subject limit, the message attributes subscribers filter on, and the selection label the
 * stack's filter policies use.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  NOTICE_LISTED_IMAGES,
  type NoticeImage,
  type NoticeInput,
  noticeMessage,
  selectionLabel,
} from '../../functions/shared/governance/notice.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;
const digest = (i: number) => `sha256:${i.toString(16).padStart(64, '0')}`;

const base: NoticeInput = {
  registryId: '123456789012',
  region: 'eu-west-1',
  repository: 'services/api',
  dueAt: '2025-06-02T14:00:37.000Z',
  runId: 'run-7',
  softDelete: 'archive',
  images: [],
};

const image = (i: number, sizeBytes = 1024): NoticeImage => ({
  digest: digest(i),
  tags: [],
  sizeBytes,
  reason: `rule 1: image ${i}`,
});

describe('noticeMessage', () => {
  it('writes the subject, the message and the attributes exactly when two images are archived', () => {
    // Prepare
    const input: NoticeInput = {
      ...base,
      selection: 'services',
      team: 'payments',
      purgeAfterDays: 30,
      thresholdWarning: 'these 2 deletions would cross the 100 per hour threshold of the registry when due',
      images: [
        {
          digest: A,
          tags: ['v1.2.3', 'stable'],
          pushedAt: '2025-01-10T08:00:00.000Z',
          lastPulledAt: '2025-03-01T12:30:00.000Z',
          sizeBytes: 52_428_800,
          reason: 'rule 1 (imageCountMoreThan 10): 12th newest of tag prefix v',
          heldTagFollows: true,
        },
        {
          digest: B,
          tags: [],
          pushedAt: '2025-01-09T08:00:00Z',
          sizeBytes: 1536,
          reason: 'rule 2 (sinceImagePushed 14 days): untagged for 144 days',
        },
      ],
    };

    // Act
    const notice = noticeMessage(input);

    // Assess
    expect(notice.subject).toBe(
      'ECR Steward: 2 images of services/api to be archived after 2025-06-02 14:00 UTC',
    );
    expect(notice.attributes).toEqual({
      repository: { DataType: 'String', StringValue: 'services/api' },
      selection: { DataType: 'String', StringValue: 'services' },
      team: { DataType: 'String', StringValue: 'payments' },
    });
    expect(notice.message).toBe(
      [
        'ECR Steward will archive 2 images (50.0 MiB) of the repository services/api, not before 2025-06-02T14:00:37Z.',
        '',
        'Repository: services/api',
        'Registry:   123456789012 (eu-west-1)',
        'Selection:  services',
        'Team:       payments',
        'Images:     2 (50.0 MiB in total)',
        'Due:        2025-06-02T14:00:37Z',
        'Run:        run-7',
        '',
        "What happens then: ECR Steward plans the repository again with its images, config, holds and running images of that time. Each image still planned, not held and not in use is moved to ECR's archive storage class; it can be restored for 30 days with `npx ecr-steward restore services/api@<digest>`, then it is deleted for good. An image that is no longer planned, is held or is in use is kept, and its notice is cancelled.",
        '',
        'Warning: these 2 deletions would cross the 100 per hour threshold of the registry when due',
        '',
        'Images (2):',
        `- ${A}`,
        '  tags: v1.2.3, stable | pushed: 2025-01-10T08:00:00Z | last pulled: 2025-03-01T12:30:00Z | size: 50.0 MiB',
        '  reason: rule 1 (imageCountMoreThan 10): 12th newest of tag prefix v',
        `  keep this image: npx ecr-steward hold add services/api --digest ${A} --reason "<why>"`,
        '  keep by tag:     npx ecr-steward hold add services/api --tag v1.2.3 --reason "<why>"',
        '  note: a hold on a tag follows the tag, not this image: it keeps whichever image carries the tag at the due time.',
        `- ${B}`,
        '  tags: (untagged) | pushed: 2025-01-09T08:00:00Z | last pulled: never recorded | size: 1.50 KiB',
        '  reason: rule 2 (sinceImagePushed 14 days): untagged for 144 days',
        `  keep this image: npx ecr-steward hold add services/api --digest ${B} --reason "<why>"`,
        '',
        'To keep the whole repository:',
        '  npx ecr-steward hold add services/api --reason "<why>"',
        'A hold on a tag follows the tag: it keeps whichever image carries the tag at the due time. Holds are listed with `npx ecr-steward hold list services/api` and ended with `npx ecr-steward hold remove <id>`.',
        '',
      ].join('\n'),
    );
  });

  it('says the images are deleted and what the audit record keeps when soft delete is off', () => {
    // Act
    const notice = noticeMessage({ ...base, softDelete: 'off', images: [image(1, 2048)] });

    // Assess
    expect(notice.subject).toBe(
      'ECR Steward: 1 image of services/api to be deleted after 2025-06-02 14:00 UTC',
    );
    expect(notice.message.split('\n')[0]).toBe(
      'ECR Steward will delete 1 image (2.00 KiB) of the repository services/api, not before 2025-06-02T14:00:37Z.',
    );
    expect(notice.message).toContain(
      "Each image still planned, not held and not in use is deleted. ECR keeps no copy: the audit record keeps the image's manifest, media type and tags, which prove what was there but cannot bring it back.",
    );
    expect(notice.message).not.toContain('restore');
    expect(notice.message).not.toContain('Warning:');
  });

  it('sends only the repository attribute when no selection or team is given', () => {
    // Act
    const notice = noticeMessage({ ...base, images: [image(1)] });

    // Assess
    expect(notice.attributes).toEqual({ repository: { DataType: 'String', StringValue: 'services/api' } });
    expect(notice.message).not.toMatch(/^(Selection|Team):/m);
    expect(notice.message).toContain('it can be restored until the purge with');
  });

  it('lists the first 50 images and counts the rest with their size when there are more', () => {
    // Prepare
    const images = Array.from({ length: 53 }, (_, i) => image(i, 1024 * 1024));

    // Act
    const { message } = noticeMessage({ ...base, images });

    // Assess
    const listed = message.split('\n').filter((l) => l.startsWith('- sha256:'));
    expect(listed).toEqual(images.slice(0, 50).map((i) => `- ${i.digest}`));
    expect(message).not.toContain(digest(50));
    expect(message).toContain(
      '...and 3 more images (3.00 MiB) not listed here; `npx ecr-steward audit --repository services/api` lists them all.',
    );
    expect(message).toContain('Images:     53 (53.0 MiB in total)');
  });

  it('keeps the subject under 100 characters, eliding the middle of a long repository name', () => {
    // Prepare
    const repository = `platform/${'team-'.repeat(40)}service/api`;

    // Act
    const { subject, message } = noticeMessage({ ...base, repository, images: [image(1)] });

    // Assess
    expect(subject).toBe(
      'ECR Steward: 1 image of platform/team-t...eam-service/api to be archived after 2025-06-02 14:00 UTC',
    );
    expect(subject.length).toBeLessThan(100);
    expect(message).toContain(`Repository: ${repository}\n`);
  });

  it('gives a subject SNS accepts (under 100 ASCII characters, one line) for any repository and count', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9][a-z0-9._\-/]{0,255}$/),
        fc.integer({ min: 0, max: 200_000 }),
        fc.constantFrom<'archive' | 'off'>('archive', 'off'),
        (repository, count, softDelete) => {
          // Act: the subject only reads the count of the images
          const images = new Array<NoticeImage>(count).fill(image(0));
          const { subject } = noticeMessage({ ...base, repository, softDelete, images });

          // Assess
          expect(subject.length).toBeLessThan(100);
          expect(subject).toMatch(/^ECR Steward: [\x20-\x7e]+$/);
          expect(subject).toContain(
            ` to be ${softDelete === 'archive' ? 'archived' : 'deleted'} after 2025-06-02 14:00 UTC`,
          );
        },
      ),
    );
  });

  it('lists every digest up to the 50th, counts the images and their bytes right, and no other digest', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 1_000_000 }), { maxLength: 120 }),
        fc.array(fc.integer({ min: 0, max: 5 * 1024 ** 3 }), { minLength: 120, maxLength: 120 }),
        (ids, sizes) => {
          // Prepare
          const images = ids.map((id, i) => image(id, sizes[i]!));

          // Act
          const { message } = noticeMessage({ ...base, images });

          // Assess
          const listed = message
            .split('\n')
            .filter((l) => l.startsWith('- sha256:'))
            .map((l) => l.slice(2));
          expect(listed).toEqual(images.slice(0, NOTICE_LISTED_IMAGES).map((i) => i.digest));
          const count = message.split('\n').filter((l) => l.startsWith('Images:     '));
          expect(count).toHaveLength(1);
          expect(count[0]).toMatch(new RegExp(`^Images: {5}${images.length} \\(`));
          const rest = images.length - NOTICE_LISTED_IMAGES;
          expect(message.includes('more image')).toBe(rest > 0);
          if (rest > 0) expect(message).toContain(`...and ${rest} more image${rest === 1 ? '' : 's'} (`);
        },
      ),
    );
  });
});

describe('selectionLabel', () => {
  it('returns the selection name when the selection has one', () => {
    expect(selectionLabel({ name: 'services' }, 3)).toBe('services');
  });

  it('returns selections[<index>] when the selection has no name', () => {
    expect(selectionLabel({}, 2)).toBe('selections[2]');
  });
});
