/**
 * Review 28f — with `audit.retentionDays` set, the record of a lifecycle transition's archive (open forever since
 * a86aebf, due NEVER_DUE) is deleted by DynamoDB's TTL while the image is still archived.
 *
 * What is wrong: mergeSignal (functions/shared/audit/records.ts, `ttl: existing?.ttl ?? ttlFor(...)`) gives every
 * non-dry-run record a TTL of first write + retentionDays, open or not. A soft delete's archive is settled by
 * its purge within purgeAfterDays; a transition's archive never is, so after retentionDays its record vanishes:
 * `trash list` no longer shows it (README: "`trash list` shows it, purge \"never (transition)\""), the cleanup
 * no longer sees a console restore of it, and `restore REPO:TAG` no longer finds it.
 *
 * What should hold: a record that is open (carries the openByRepository key) has no TTL while it is open (e.g.
 * set the TTL only once the record is closed, or from its closing time).
 *
 * What holds now: an ARCHIVED record without purgeAt carries no TTL; its retention starts when it ends.
 */
import { describe, expect, it } from 'vitest';
import { mergeSignal } from '../../functions/shared/audit/records.js';

describe('review 28f: the TTL of a transition archive record', () => {
  it('is not set while the archive stays open (never purged)', () => {
    const base = {
      registryId: '123456789012',
      region: 'us-west-2',
      repository: 'team/app',
      digest: `sha256:${'a'.repeat(64)}`,
      tags: ['v1'],
      actor: { type: 'ecr-steward' as const, runId: 'run-1', rulePriority: 1, reasons: ['rule 1'] },
    };
    const at = '2026-05-01T00:00:00.000Z';
    const opts = { ttlDays: 90, plannedTtlDays: 14 };
    const pending = mergeSignal(
      undefined,
      { ...base, status: 'PENDING', evidence: 'steward-write-ahead', intent: 'transition', at },
      at,
      opts,
    )!;
    const archived = mergeSignal(
      pending,
      { ...base, status: 'ARCHIVED', evidence: 'steward-archive', archivedAt: at, at },
      at,
      opts,
    )!;
    // Open, never due…
    expect(archived).toMatchObject({ status: 'ARCHIVED', purgeAt: undefined });
    expect(archived.gsi5pk).toBeDefined();
    // …and yet it expires 90 days after the write-ahead.
    expect(archived.ttl).toBeUndefined();
  });
});
