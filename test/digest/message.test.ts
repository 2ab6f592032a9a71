/**
 * The digest's text: the exact subject and body of a selection's digest and of the registry's, the subject
 * within SNS's limit, bounded lists, and a body that never passes the size SNS accepts.
 */
import { describe, expect, it } from 'vitest';
import {
  DIGEST_MAX_BYTES,
  type DigestContent,
  type DigestTotals,
  digestMessage,
  digestSubject,
  emptyTotals,
  type GateFailure,
  LISTED_GATE_FAILURES,
} from '../../functions/shared/digest/message.js';
import { digestWindow } from '../../functions/shared/digest/window.js';
import { NOTICE_SUBJECT_MAX } from '../../functions/shared/governance/notice.js';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
const DIGEST = `sha256:${'a'.repeat(64)}`;

const TOTALS: DigestTotals = {
  deleted: 1234,
  deletedBytes: 4.2 * GIB,
  deletedBy: { steward: 1200, lifecycle: 30, others: 4 },
  archived: 12,
  archivedBytes: 1.1 * GIB,
  restored: 1,
  holdsPlaced: 3,
  gateFailures: 2,
};

/** A selection's digest of the week ending Monday 2026-12-07 08:00 in Berlin. */
function content(overrides: Partial<DigestContent> = {}): DigestContent {
  return {
    registryId: '123456789012',
    region: 'eu-central-1',
    window: digestWindow(new Date('2026-12-07T07:00:00.000Z'), 'Europe/Berlin'),
    selection: { label: 'services', repositories: 'services/*' },
    mode: 'enforce',
    totals: TOTALS,
    reclaimable: [
      { repository: 'services/api', bytes: 3 * GIB, images: 30 },
      { repository: 'services/web', bytes: 512 * MIB, images: 4 },
    ],
    reclaimableTotal: { bytes: 3.5 * GIB, images: 34, repositories: 3 },
    unplanned: [
      { repository: 'services/legacy', reason: 'no-policy: services/legacy has no lifecycle policy' },
    ],
    plannedAt: new Date('2026-12-07T07:00:05.000Z'),
    expiringHolds: [
      {
        repository: 'services/api',
        covers: 'tag v1.3.0',
        reason: 'escrow',
        owner: 'arn:aws:iam::123456789012:user/alice',
        expiresAt: '2026-12-09T09:00:00.000Z',
        id: '20261201T100000-abcdef',
      },
    ],
    gateFailures: [
      {
        repository: 'services/api',
        digest: DIGEST,
        tags: ['v2.0.0'],
        summary: 'FAIL: 1 critical finding (max 0)',
        at: '2026-12-03T10:00:00.000Z',
      },
    ],
    ...overrides,
  };
}

describe('digestMessage', () => {
  it("writes a selection's week, plans, expiring holds and gate failures when given a selection", () => {
    // Act
    const message = digestMessage(content());

    // Assess
    expect(message.subject).toBe(
      'ECR Steward weekly digest (services): 1,234 images deleted, 4.20 GiB reclaimed (week of 2026-11-30)',
    );
    expect(message.message).toBe(
      [
        'ECR Steward weekly digest for selection services (services/*)',
        'Week:      2026-11-30 08:00 to 2026-12-07 08:00 (Europe/Berlin)',
        'Registry:  123456789012 (eu-central-1)',
        '',
        'This week',
        "  Deleted:        1,234 images, 4.20 GiB reclaimed (by ECR Steward 1,200, ECR's lifecycle policy 30, others 4)",
        '  Archived:       12 images (1.10 GiB)',
        '  Restored:       1 image',
        '  Holds placed:   3',
        '  Gate failures:  2 images',
        '',
        'Most to reclaim (the lifecycle plan as of 2026-12-07 08:00, read-only)',
        '  In all: 3.50 GiB in 34 images of 3 repositories',
        '  1. services/api  3.00 GiB in 30 images',
        '  2. services/web  512 MiB in 4 images',
        '  Not planned (1):',
        '  - services/legacy: no-policy: services/legacy has no lifecycle policy',
        '',
        'Holds expiring in the next 7 days (1)',
        '  - services/api, tag v1.3.0, until 2026-12-09 10:00: escrow (by arn:aws:iam::123456789012:user/alice; hold 20261201T100000-abcdef)',
        '  To keep a hold, place a new one before it expires: npx ecr-steward hold add REPOSITORY [--tag T | --digest D] --reason "<why>"',
        '',
        'Gate failures (1)',
        `  - services/api@${DIGEST} (v2.0.0): FAIL: 1 critical finding (max 0)`,
        '  Check one: npx ecr-steward gate check REPOSITORY@DIGEST',
        '',
        'The records behind these figures: npx ecr-steward audit --since 2026-11-30T07:00:00.000Z',
        '',
      ].join('\n'),
    );
    expect(message.attributes).toEqual({
      kind: { DataType: 'String', StringValue: 'digest' },
      selection: { DataType: 'String', StringValue: 'services' },
    });
  });

  it("writes the registry's digest with a line per selection and the dry-run note when given no selection", () => {
    // Act
    const message = digestMessage(
      content({
        selection: undefined,
        mode: 'dry-run',
        bySelection: [
          { label: 'services', totals: TOTALS },
          { label: 'web', totals: emptyTotals() },
        ],
        reclaimable: [],
        reclaimableTotal: { bytes: 0, images: 0, repositories: 1 },
        unplanned: [],
        expiringHolds: [],
        gateFailures: [],
      }),
    );

    // Assess
    expect(message.subject).toBe(
      'ECR Steward weekly digest: 1,234 images deleted, 4.20 GiB reclaimed (week of 2026-11-30)',
    );
    expect(message.message).toBe(
      [
        'ECR Steward weekly digest for every repository of the registry',
        'Week:      2026-11-30 08:00 to 2026-12-07 08:00 (Europe/Berlin)',
        'Registry:  123456789012 (eu-central-1)',
        '',
        'This week',
        "  Deleted:        1,234 images, 4.20 GiB reclaimed (by ECR Steward 1,200, ECR's lifecycle policy 30, others 4)",
        '  Archived:       12 images (1.10 GiB)',
        '  Restored:       1 image',
        '  Holds placed:   3',
        '  Gate failures:  2 images',
        '  Mode:           dry-run: ECR Steward deletes nothing; its plans are recorded as PLANNED',
        '',
        'By selection',
        '  services  deleted 1,234 (4.20 GiB), archived 12, restored 1, holds placed 3, gate failures 2',
        '  web       deleted 0 (0 B), archived 0, restored 0, holds placed 0, gate failures 0',
        '',
        'Most to reclaim (the lifecycle plan as of 2026-12-07 08:00, read-only)',
        '  In all: 0 B in 0 images of 1 repository',
        '  Nothing: every plan keeps every image.',
        '',
        'Holds expiring in the next 7 days (0)',
        '  None.',
        '',
        'The records behind these figures: npx ecr-steward audit --since 2026-11-30T07:00:00.000Z',
        '',
      ].join('\n'),
    );
    expect(message.attributes).toEqual({ kind: { DataType: 'String', StringValue: 'digest' } });
  });

  it('lists the first gate failures and counts the rest when there are more than the list holds', () => {
    // Prepare
    const failures: GateFailure[] = Array.from({ length: LISTED_GATE_FAILURES + 5 }, (_, i) => ({
      repository: `services/app-${String(i).padStart(2, '0')}`,
      digest: DIGEST,
      tags: [],
      summary: 'FAIL: 1 critical finding (max 0)',
      at: '2026-12-03T10:00:00.000Z',
    }));

    // Act
    const { message } = digestMessage(content({ gateFailures: failures }));

    // Assess
    const lines = message.split('\n');
    const from = lines.indexOf(`Gate failures (${LISTED_GATE_FAILURES + 5})`);
    expect(lines.slice(from + 1, from + 2)).toEqual([
      `  - services/app-00@${DIGEST} (untagged): FAIL: 1 critical finding (max 0)`,
    ]);
    expect(lines[from + LISTED_GATE_FAILURES]).toBe(
      `  - services/app-19@${DIGEST} (untagged): FAIL: 1 critical finding (max 0)`,
    );
    expect(lines[from + LISTED_GATE_FAILURES + 1]).toBe('  ...and 5 more.');
  });

  it('shows only the five repositories with the most to reclaim when more are planned', () => {
    // Prepare
    const reclaimable = Array.from({ length: 8 }, (_, i) => ({
      repository: `services/r${i}`,
      bytes: (8 - i) * MIB,
      images: 1,
    }));

    // Act
    const { message } = digestMessage(content({ reclaimable, unplanned: [] }));

    // Assess
    const ranked = message.split('\n').filter((l) => /^ {2}\d\. /.test(l));
    expect(ranked).toEqual([
      '  1. services/r0  8.00 MiB in 1 image',
      '  2. services/r1  7.00 MiB in 1 image',
      '  3. services/r2  6.00 MiB in 1 image',
      '  4. services/r3  5.00 MiB in 1 image',
      '  5. services/r4  4.00 MiB in 1 image',
    ]);
  });

  it('cuts the body at a line with a note when it would pass the size SNS accepts', () => {
    // Prepare: thousands of selections make the registry's per-selection lines alone larger than SNS allows.
    const bySelection = Array.from({ length: 4000 }, (_, i) => ({
      label: `selection-${i}`,
      totals: TOTALS,
    }));

    // Act
    const { message } = digestMessage(content({ selection: undefined, bySelection }));

    // Assess
    expect(Buffer.byteLength(message)).toBeLessThanOrEqual(DIGEST_MAX_BYTES);
    expect(message.endsWith('\n...the digest is cut here: it would pass the size SNS accepts.\n')).toBe(true);
    expect(message.startsWith('ECR Steward weekly digest for every repository of the registry\n')).toBe(true);
  });

  it('shortens a line longer than 300 characters when a summary is long', () => {
    // Prepare
    const failure: GateFailure = {
      repository: 'services/api',
      digest: DIGEST,
      tags: ['v1'],
      summary: `FAIL: ${'x'.repeat(400)}`,
      at: '2026-12-03T10:00:00.000Z',
    };

    // Act
    const { message } = digestMessage(content({ gateFailures: [failure] }));

    // Assess
    const line = message.split('\n').find((l) => l.startsWith('  - services/api@'))!;
    expect(line).toHaveLength(300);
    expect(line.endsWith('...')).toBe(true);
  });
});

describe('digestSubject', () => {
  it('leaves the selection out when the subject would pass SNS subject limit', () => {
    // Act
    const subject = digestSubject(
      content({ selection: { label: 'a-very-long-selection-name', repositories: 'x/*' } }),
    );

    // Assess
    expect(subject).toBe(
      'ECR Steward weekly digest: 1,234 images deleted, 4.20 GiB reclaimed (week of 2026-11-30)',
    );
    expect(subject.length).toBeLessThanOrEqual(NOTICE_SUBJECT_MAX);
  });

  it('says 1 image when one image was deleted', () => {
    // Act
    const subject = digestSubject(
      content({ selection: undefined, totals: { ...emptyTotals(), deleted: 1, deletedBytes: 2048 } }),
    );

    // Assess
    expect(subject).toBe(
      'ECR Steward weekly digest: 1 image deleted, 2.00 KiB reclaimed (week of 2026-11-30)',
    );
  });
});
