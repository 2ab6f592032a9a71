/**
 * mergeSignal (functions/shared/audit/records.ts): how signals about one deletion merge into its one record.
 * Pure: the store only reads, merges and writes conditionally.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AuditRecord,
  becameDeleted,
  type DeleteSignal,
  mergeSignal,
} from '../../functions/shared/audit/records.js';
import { ACCOUNT, CI_ROLE, digestOf, REGION, REPO } from './helpers.js';

const NOW = '2026-06-01T12:01:00.000Z';
const D = digestOf('merge');
const base = { registryId: ACCOUNT, region: REGION, repository: REPO, digest: D } as const;

const imageAction = (id: string, tag?: string): DeleteSignal => ({
  ...base,
  status: 'DELETED',
  evidence: 'image-action-event',
  at: '2026-06-01T12:00:05.000Z',
  tags: tag ? [tag] : undefined,
  eventId: id,
});

const pending: DeleteSignal = {
  ...base,
  status: 'PENDING',
  evidence: 'steward-write-ahead',
  at: '2026-06-01T12:00:00.000Z',
  tags: ['v1'],
  actor: { type: 'ecr-steward', runId: 'run-1', rulePriority: 1, reasons: ['rule 1: more than 2 images'] },
};

/** Applies signals in order, as the store does (a merge that adds nothing writes nothing). */
function fold(signals: readonly DeleteSignal[]): { record: AuditRecord | undefined; writes: number } {
  let record: AuditRecord | undefined;
  let writes = 0;
  for (const s of signals) {
    const next = mergeSignal(record, s, NOW);
    if (next) {
      record = next;
      writes++;
    }
  }
  return { record, writes };
}

/** The same record with its attributes (and its actor's) in another order, as DynamoDB may return them. */
function reordered(record: AuditRecord): AuditRecord {
  const reverse = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).reverse()) as T;
  return reverse({ ...record, actor: reverse(record.actor) });
}

describe('mergeSignal', () => {
  it('creates a record with version 1 when there is none', () => {
    // Prepare
    const signal = imageAction('ev-1', 'v1');

    // Act
    const record = mergeSignal(undefined, signal, NOW);

    // Assess
    expect(record).toEqual({
      pk: `IMG#${D}`,
      sk: `REPO#${ACCOUNT}#${REGION}#${REPO}`,
      registryId: ACCOUNT,
      region: REGION,
      repository: REPO,
      digest: D,
      gsi1pk: `REPO#${ACCOUNT}#${REGION}#${REPO}`,
      gsi1sk: `2026-06-01T12:00:05.000Z#${D}`,
      gsi3pk: 'DAY#2026-06-01',
      gsi3sk: `2026-06-01T12:00:05.000Z#${REPO}#${D}`,
      status: 'DELETED',
      dryRun: false,
      tags: ['v1'],
      actor: { type: 'unknown' },
      at: '2026-06-01T12:00:05.000Z',
      recordedAt: NOW,
      updatedAt: NOW,
      evidence: ['image-action-event'],
      eventIds: ['ev-1'],
      version: 1,
    });
  });

  it('returns undefined when the same event is delivered again', () => {
    // Prepare
    const first = mergeSignal(undefined, imageAction('ev-1'), NOW)!;

    // Act
    const again = mergeSignal(first, imageAction('ev-1'), '2026-06-01T12:09:00.000Z');

    // Assess
    expect(again).toBeUndefined();
  });

  it('returns undefined for a signal that adds nothing when DynamoDB returns the attributes in another order', () => {
    // Prepare: a write-ahead record as read back from the table (attribute order is not preserved by DynamoDB)
    const stored = reordered(mergeSignal(undefined, pending, NOW)!);

    // Act
    const again = mergeSignal(stored, pending, '2026-06-01T12:05:00.000Z');

    // Assess
    expect(again).toBeUndefined();
  });

  it('keeps every tag whatever the order when per-tag DELETE events of one image arrive', () => {
    // Prepare
    const v1 = imageAction('ev-v1', 'v1');
    const latest = imageAction('ev-latest', 'latest');

    // Act
    const one = fold([v1, latest]).record!;
    const other = fold([latest, v1]).record!;

    // Assess
    expect(one.tags).toEqual(['latest', 'v1']);
    expect(other).toEqual(one);
  });

  it('moves PENDING to DELETED with actor ecr-steward when an event confirms a write-ahead record', () => {
    // Prepare
    const record = mergeSignal(undefined, pending, NOW)!;

    // Act
    const next = mergeSignal(record, imageAction('ev-1', 'v1'), NOW)!;

    // Assess
    expect(next.status).toBe('DELETED');
    expect(next.actor).toEqual({
      type: 'ecr-steward',
      runId: 'run-1',
      rulePriority: 1,
      reasons: ['rule 1: more than 2 images'],
      principal: undefined,
    });
    expect(next.evidence).toEqual(['image-action-event', 'steward-write-ahead']);
    expect(next.at).toBe('2026-06-01T12:00:05.000Z');
    expect(next.gsi1sk).toBe(`2026-06-01T12:00:05.000Z#${D}`);
    expect(next.version).toBe(2);
    expect(becameDeleted(record, next)).toBe(true);
  });

  it('keeps a deletion DELETED and its earliest time when a later PENDING or FAILED arrives', () => {
    // Prepare
    const deleted = mergeSignal(undefined, imageAction('ev-1'), NOW)!;
    const failed: DeleteSignal = {
      ...pending,
      status: 'FAILED',
      evidence: 'steward-failure',
      at: '2026-06-01T11:59:00.000Z',
      failure: { code: 'ImageNotFound', reason: 'Requested image not found' },
    };

    // Act
    const afterPending = mergeSignal(deleted, pending, NOW)!;
    const afterFailed = mergeSignal(afterPending, failed, NOW)!;

    // Assess
    expect(afterFailed.status).toBe('DELETED');
    expect(afterFailed.at).toBe('2026-06-01T12:00:05.000Z');
    expect(afterFailed.failure).toBeUndefined();
    expect(afterFailed.evidence).toEqual(['image-action-event', 'steward-failure', 'steward-write-ahead']);
  });

  it('names ecr-lifecycle over a principal, and the principal over unknown, when the evidence says so', () => {
    // Prepare
    const batch: DeleteSignal = {
      ...imageAction('ct-batch#x'),
      evidence: 'cloudtrail-batch-delete',
      actor: { type: 'principal', principal: CI_ROLE },
    };
    const lifecycle: DeleteSignal = {
      ...imageAction('ct-lifecycle#x'),
      evidence: 'cloudtrail-lifecycle',
      actor: { type: 'ecr-lifecycle', rulePriority: 3 },
    };

    // Act
    const alone = fold([imageAction('ev-1')]).record!;
    const manual = fold([imageAction('ev-1'), batch]).record!;
    const expired = fold([lifecycle, imageAction('ev-1')]).record!;

    // Assess
    expect(alone.actor).toEqual({ type: 'unknown' });
    expect(manual.actor).toEqual({ type: 'principal', principal: CI_ROLE });
    expect(expired.actor).toEqual({ type: 'ecr-lifecycle', rulePriority: 3 });
  });

  it('sets the plannedTtlDays TTL when the record is a dry-run plan and the ttlDays TTL when it is a deletion', () => {
    // Prepare
    const planned: DeleteSignal = { ...pending, status: 'PLANNED' };
    const epoch = Date.parse(NOW) / 1000;

    // Act
    const plan = mergeSignal(undefined, planned, NOW, { plannedTtlDays: 14 })!;
    const kept = mergeSignal(undefined, imageAction('ev-1'), NOW, { plannedTtlDays: 14 })!;
    const expiring = mergeSignal(undefined, imageAction('ev-1'), NOW, { ttlDays: 400, plannedTtlDays: 14 })!;

    // Assess
    expect(plan.sk).toBe(`PLAN#run-1#${ACCOUNT}#${REGION}#${REPO}`);
    expect(plan.ttl).toBe(epoch + 14 * 86_400);
    expect(kept.ttl).toBeUndefined();
    expect(expiring.ttl).toBe(epoch + 400 * 86_400);
  });
});

describe('mergeSignal (our delete, verified or found gone)', () => {
  const ours = (evidence: DeleteSignal['evidence'], at = '2026-06-01T12:00:01.000Z'): DeleteSignal => ({
    ...pending,
    status: 'DELETED',
    evidence,
    at,
  });
  const batch: DeleteSignal = {
    ...imageAction('ct-batch#x'),
    evidence: 'cloudtrail-batch-delete',
    actor: { type: 'principal', principal: CI_ROLE },
  };
  const lifecycle: DeleteSignal = {
    ...imageAction('ct-lifecycle#x'),
    evidence: 'cloudtrail-lifecycle',
    actor: { type: 'ecr-lifecycle', rulePriority: 3 },
  };

  it('names ecr-steward when our delete went unreported and DescribeImages no longer finds the image, whoever CloudTrail names', () => {
    // Act
    const verified = fold([pending, ours('steward-verify'), batch, imageAction('ev-1', 'v1')]).record!;

    // Assess
    expect(verified.status).toBe('DELETED');
    expect(verified.actor.type).toBe('ecr-steward');
    expect(verified.actor.runId).toBe('run-1');
    expect(verified.evidence).toEqual([
      'cloudtrail-batch-delete',
      'image-action-event',
      'steward-verify',
      'steward-write-ahead',
    ]);
  });

  it('records DELETED with steward-already-gone and keeps our actor only while no other source names one', () => {
    // Act
    const alone = fold([pending, ours('steward-already-gone')]).record!;
    const byPrincipal = fold([pending, ours('steward-already-gone'), batch]).record!;
    const byLifecycle = fold([lifecycle, pending, ours('steward-already-gone')]).record!;

    // Assess
    expect([alone.status, alone.actor.type, alone.evidence]).toEqual([
      'DELETED',
      'ecr-steward',
      ['steward-already-gone', 'steward-write-ahead'],
    ]);
    expect(alone.failure).toBeUndefined();
    expect(byPrincipal.actor.type).toBe('principal');
    expect(byPrincipal.actor.principal).toBe(CI_ROLE);
    expect(byLifecycle.actor.type).toBe('ecr-lifecycle');
    expect(byLifecycle.at).toBe('2026-06-01T12:00:01.000Z');
  });

  it('keeps the run, rule and reasons of a DELETED record when a later write-ahead of another run arrives', () => {
    // Prepare
    const settled = fold([pending, ours('steward-delete')]).record!;
    const otherRun: DeleteSignal = {
      ...pending,
      at: '2026-06-02T00:00:00.000Z',
      actor: { type: 'ecr-steward', runId: 'run-2', rulePriority: 7, reasons: ['rule 7: other'] },
    };

    // Act
    const next = mergeSignal(settled, otherRun, NOW);

    // Assess
    expect(next).toBeUndefined();
    expect(settled.actor).toMatchObject({
      runId: 'run-1',
      rulePriority: 1,
      reasons: ['rule 1: more than 2 images'],
    });
    expect(settled.gsi2pk).toBe('RUN#run-1');
  });

  it("fills in our run id when ECR's event settled the record before our write-ahead arrived", () => {
    // Act
    const record = fold([imageAction('ev-1'), pending]).record!;

    // Assess
    expect(record.status).toBe('DELETED');
    expect(record.actor).toMatchObject({ type: 'ecr-steward', runId: 'run-1', rulePriority: 1 });
    expect(record.gsi2pk).toBe('RUN#run-1');
  });

  it('never takes a DELETED record out of DELETED, nor moves its time later or changes its run, whatever signals follow', () => {
    const statuses = ['PENDING', 'FAILED', 'DELETED', 'PLANNED'] as const;
    const evidences = [
      'steward-write-ahead',
      'steward-delete',
      'steward-verify',
      'steward-already-gone',
      'steward-failure',
      'image-action-event',
      'cloudtrail-batch-delete',
      'cloudtrail-lifecycle',
      'reconciliation',
    ] as const;
    const signal = fc.record({
      status: fc.constantFrom(...statuses.filter((s) => s !== 'PLANNED')),
      evidence: fc.constantFrom(...evidences),
      minute: fc.integer({ min: 0, max: 59 }),
      runId: fc.option(fc.constantFrom('run-1', 'run-2', 'run-3'), { nil: undefined }),
      eventId: fc.option(fc.constantFrom('e1', 'e2', 'e3', 'e4'), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(signal, { minLength: 1, maxLength: 12 }), (list) => {
        let record: AuditRecord | undefined;
        let settled: AuditRecord | undefined;
        for (const s of list) {
          const next = mergeSignal(
            record,
            {
              ...base,
              status: s.status,
              evidence: s.evidence,
              at: `2026-06-01T12:${String(s.minute).padStart(2, '0')}:00.000Z`,
              actor: s.runId ? { type: 'ecr-steward', runId: s.runId } : undefined,
              eventId: s.eventId,
              failure: s.status === 'FAILED' ? { code: 'X', reason: 'y' } : undefined,
            },
            NOW,
          );
          record = next ?? record;
          if (settled) {
            expect(record!.status).toBe('DELETED');
            expect(record!.at <= settled.at).toBe(true);
            expect(record!.failure).toBeUndefined();
            if (settled.actor.runId) expect(record!.actor.runId).toBe(settled.actor.runId);
            expect(record!.evidence).toEqual(expect.arrayContaining([...settled.evidence]));
          }
          if (record?.status === 'DELETED') settled = record;
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('becameDeleted', () => {
  it('returns true once, when a DELETED record first carries ECR event evidence, whatever came before', () => {
    // Prepare: our cleanup marks its deletion DELETED before ECR's event reaches the audit function
    const written = mergeSignal(undefined, pending, NOW)!;
    const ours = mergeSignal(written, { ...pending, status: 'DELETED', evidence: 'steward-delete' }, NOW)!;

    // Act
    const confirmed = mergeSignal(ours, imageAction('ev-1'), NOW)!;
    const again = mergeSignal(
      confirmed,
      { ...imageAction('ct#1'), evidence: 'cloudtrail-batch-delete' },
      NOW,
    )!;

    // Assess
    expect([
      becameDeleted(undefined, written),
      becameDeleted(written, ours),
      becameDeleted(ours, confirmed),
      becameDeleted(confirmed, again),
    ]).toEqual([false, false, true, false]);
  });
});
