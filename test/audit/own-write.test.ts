/**
 * isOwnWrite (functions/shared/audit/records.ts): a refused put's found record is the caller's own write only
 * when it is exactly what the caller wrote: the same version, the same content and the same `updatedAt`. A copy
 * of the same event merged by another caller has the same content and version, and only its time differs.
 */
import { describe, expect, it } from 'vitest';
import { type DeleteSignal, isOwnWrite, mergeSignal } from '../../functions/shared/audit/records.js';
import { ACCOUNT, digestOf, REGION, REPO } from './helpers.js';

const event: DeleteSignal = {
  registryId: ACCOUNT,
  region: REGION,
  repository: REPO,
  digest: digestOf('own-write'),
  status: 'DELETED',
  evidence: 'image-action-event',
  at: '2026-06-01T12:00:00.000Z',
  eventId: 'ev-1',
};

describe('isOwnWrite', () => {
  it('knows the record a caller wrote, and no other', () => {
    // Prepare: on our write-ahead record, the caller's merge of the event, a copy of the same event merged on the
    // same record a millisecond later (the same content and version), and a later version
    const pending = mergeSignal(
      undefined,
      { ...event, status: 'PENDING', evidence: 'steward-write-ahead', eventId: undefined },
      '2026-06-01T11:59:00.000Z',
    )!;
    const mine = mergeSignal(pending, event, '2026-06-01T12:01:00.000Z')!;
    const copy = mergeSignal(pending, event, '2026-06-01T12:01:00.001Z')!;
    expect({ ...copy, updatedAt: mine.updatedAt }).toEqual(mine);
    const later = mergeSignal(mine, { ...event, eventId: 'ev-2', tags: ['v2'] }, '2026-06-01T12:01:00.002Z')!;

    // Act / Assess
    expect(isOwnWrite(mine, mine)).toBe(true);
    expect(isOwnWrite({ ...mine }, mine)).toBe(true);
    expect(isOwnWrite(copy, mine)).toBe(false);
    expect(isOwnWrite(later, mine)).toBe(false);
    expect(isOwnWrite({ ...mine, version: mine.version + 1 }, mine)).toBe(false);
    expect(isOwnWrite(undefined, mine)).toBe(false);
  });
});
