/**
 * mergeSignal (functions/shared/audit/records.ts): how signals about one deletion merge into its one record.
 * Pure: the store only reads, merges and writes conditionally.
 */
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
