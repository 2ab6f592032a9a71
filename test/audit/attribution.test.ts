/**
 * Delete-rate alerts that name the principal (functions/audit/core.ts `announce`, `attribute`,
 * `deadlineReached`; functions/audit/attribution.ts): ECR's DELETE events cross a threshold before CloudTrail
 * says who deleted; the alert waits for CloudTrail's records up to its deadline, and when it went out first a
 * follow-up names the principals, source IPs and user agents. Real audit, counter, breaker and pending-alert
 * stores on dynalite; SNS and the deadline timer are captured in memory.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type PendingAlertKey, PendingAlerts } from '../../functions/audit/attribution.js';
import {
  type AuditPorts,
  attribute,
  attributionOf,
  deadlineReached,
  processCandidates,
} from '../../functions/audit/core.js';
import { extractCandidates } from '../../functions/audit/signals.js';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { type Dynamo, startDynamo, type Tables } from '../support/dynamo.js';
import {
  auditPorts,
  batchDeleteEvent,
  CI_ROLE,
  digestOf,
  imageActionEvent,
  parseEvent,
  REPO,
  testConfig,
} from './helpers.js';

let db: Dynamo;
let tables: Tables;
beforeAll(async () => {
  db = await startDynamo();
});
afterAll(async () => {
  await db.close();
});
beforeEach(async () => {
  tables = await db.createTables('attribution');
});

/** ECR's DELETE events land at 12:00:05; CloudTrail's record of the same call follows. */
const NOW = new Date('2026-06-01T12:00:10.000Z');
const LATER = new Date('2026-06-01T12:01:30.000Z');
const AFTER_DEADLINE = new Date('2026-06-01T12:02:30.000Z');
const DIGESTS = Array.from({ length: 6 }, (_, i) => digestOf(`burst-${i}`));

const config = (attributionWaitSeconds: number): StewardConfig =>
  testConfig({
    alerts: {
      thresholds: [{ scope: 'repository', window: '5m', maxDeletes: 5 }],
      attributionWaitSeconds,
    },
  });

function ports() {
  const base = auditPorts(db.doc, tables);
  const deadlines: { key: PendingAlertKey; delaySeconds: number }[] = [];
  const pending = new PendingAlerts(db.doc, tables.state);
  const all: AuditPorts = {
    ...base,
    attribution: {
      pending,
      scheduleDeadline: async (key, delaySeconds) => {
        deadlines.push({ key: { pk: key.pk, sk: key.sk }, delaySeconds });
      },
    },
  };
  return { ...all, published: base.published, deadlines, pending };
}

/** What the handler does with one delete signal: record, count, then take its attribution to pending alerts. */
async function deliver(c: StewardConfig, event: unknown, now: Date, p: AuditPorts): Promise<void> {
  const parsed = parseEvent(event);
  const extraction = extractCandidates(parsed);
  if (extraction.kind !== 'candidates') throw new Error(JSON.stringify(extraction));
  await processCandidates(c, extraction.candidates, now, p);
  const a = attributionOf(parsed, extraction.candidates);
  if (a) await attribute(c, a.repository, a, now, p);
}

/** The burst: ECR's DELETE events, one per image, by digest. Every image is gone (ECR is asked: absent). */
async function burst(c: StewardConfig, p: AuditPorts): Promise<void> {
  for (const [i, digest] of DIGESTS.entries())
    await deliver(c, imageActionEvent({ id: `del-${i}`, digest, repository: REPO }), NOW, p);
}

const cloudTrail = (eventID: string) =>
  batchDeleteEvent({
    eventID,
    requested: DIGESTS.map((imageDigest) => ({ imageDigest })),
    deleted: DIGESTS.map((imageDigest) => ({ imageDigest })),
    eventTime: '2026-06-01T12:00:04Z',
  });

describe('delete-rate alert attribution', () => {
  it('holds the alert until CloudTrail names the principal, then sends one alert naming it when the records arrive in time', async () => {
    // Prepare
    const c = config(120);
    const p = ports();
    await burst(c, p);
    const held = p.published.length;

    // Act
    await deliver(c, cloudTrail('ct-1'), LATER, p);
    const deadline = await deadlineReached(c, p.deadlines[0]!.key, AFTER_DEADLINE, p);

    // Assess
    expect(held).toBe(0);
    expect(p.deadlines).toEqual([
      {
        key: { pk: `ATTRIBUTION#repository:${REPO}`, sk: `5m#2026-06-01T12:00:00.000Z#repository-5m-5-` },
        delaySeconds: 120,
      },
    ]);
    expect(deadline).toBe(0);
    expect(p.published).toHaveLength(1);
    expect(p.published[0]!.subject).toBe(
      `ECR Steward: 6 image deletions in repository ${REPO} within 5m (limit 5)`,
    );
    expect(p.published[0]!.message).toContain(`Top actors: principal ${CI_ROLE} (6)`);
    expect(p.published[0]!.message).toContain('Source IPs: 203.0.113.10');
    expect(p.published[0]!.message).toContain('User agents: aws-cli/2.17.0');
    expect(p.published[0]!.message).not.toContain('not yet attributed');
  });

  it('sends the alert at the deadline naming nobody yet, then a follow-up naming the principal when CloudTrail comes after', async () => {
    // Prepare
    const c = config(120);
    const p = ports();
    await burst(c, p);

    // Act
    const early = await deadlineReached(c, p.deadlines[0]!.key, LATER, p);
    await deadlineReached(c, p.deadlines[0]!.key, AFTER_DEADLINE, p);
    const atDeadline = [...p.published];
    await deliver(c, cloudTrail('ct-late'), AFTER_DEADLINE, p);
    await deliver(c, cloudTrail('ct-late'), AFTER_DEADLINE, p);

    // Assess
    expect(early).toBe(40);
    expect(atDeadline).toHaveLength(1);
    expect(atDeadline[0]!.message).toContain('Top actors: unknown (6)');
    expect(atDeadline[0]!.message).toContain(
      '6 deletion(s) not yet attributed by CloudTrail: a follow-up on this topic will name the principals',
    );
    expect(p.published).toHaveLength(2);
    const followUp = p.published[1]!;
    expect(followUp.subject).toBe(`ECR Steward: who deleted in repository ${REPO} (follow-up)`);
    expect(followUp.message.split('\n').slice(2, 6)).toEqual([
      `Principals: ${CI_ROLE}`,
      'Source IPs: 203.0.113.10',
      'User agents: aws-cli/2.17.0',
      `Top actors: principal ${CI_ROLE} (6)`,
    ]);
    expect(followUp.message).toContain(`Follow-up to the alert "${atDeadline[0]!.subject}"`);
  });

  it('sends at once and follows up with the principal when the wait is 0', async () => {
    // Prepare
    const c = config(0);
    const p = ports();

    // Act
    await burst(c, p);
    const first = [...p.published];
    await deliver(c, cloudTrail('ct-2'), LATER, p);

    // Assess
    expect(p.deadlines).toEqual([]);
    expect(first).toHaveLength(1);
    expect(first[0]!.message).toContain('Top actors: unknown (6)');
    expect(p.published).toHaveLength(2);
    expect(p.published[1]!.message).toContain(`Principals: ${CI_ROLE}`);
  });

  it('sends at once and waits for nothing when CloudTrail attributed every deletion before the crossing', async () => {
    // Prepare
    const c = config(120);
    const p = ports();
    await deliver(c, cloudTrail('ct-first'), NOW, p);

    // Act
    await burst(c, p);

    // Assess
    expect(p.deadlines).toEqual([]);
    expect(p.published).toHaveLength(1);
    expect(p.published[0]!.message).toContain(`Top actors: principal ${CI_ROLE} (6)`);
    expect(await p.pending.open(`repository:${REPO}`)).toEqual([]);
  });

  it('publishes the alert again after a failed publish, and only once after that', async () => {
    // Prepare
    const c = config(120);
    const p = ports();
    await burst(c, p);
    let failNext = true;
    const flaky: AuditPorts = {
      ...p,
      notify: async (subject, message) => {
        if (failNext) {
          failNext = false;
          throw new Error('SNS unavailable');
        }
        p.published.push({ subject, message });
      },
    };

    // Act
    const failed = await deadlineReached(c, p.deadlines[0]!.key, AFTER_DEADLINE, flaky).catch(
      (e: Error) => e.message,
    );
    await deadlineReached(c, p.deadlines[0]!.key, AFTER_DEADLINE, flaky);
    await deadlineReached(c, p.deadlines[0]!.key, AFTER_DEADLINE, flaky);

    // Assess
    expect(failed).toBe('SNS unavailable');
    expect(p.published).toHaveLength(1);
  });
});
