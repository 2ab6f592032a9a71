/**
 * Delete signals as EventBridge really delivers them: at least once, in any order, from several sources.
 * - the same ECR DELETE event three times, a CloudTrail BatchDeleteImage ahead of ECR's DELETE events, and
 *   a lifecycle PolicyExecutionEvent split over several CloudTrail events naming the same digests (one of
 *   them delivered twice) → exactly one audit record per deleted digest, and each deletion counted once in
 *   the delete-rate counters;
 * - malformed events → their dead-letter queues with the reason, and nothing is deleted: a push that matches
 *   the push rule but has a numeric repository-name fails the intake, which Lambda retries and then sends to
 *   the cleanup's asynchronous dead-letter queue; a malformed message on the cleanup queue goes to its
 *   dead-letter queue; malformed delete signals go to the audit dead-letter queue with a `reason` attribute.
 */
import { randomUUID } from 'node:crypto';
import { BatchDeleteImageCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EcrEvent } from '../../local/ecr-emulator.js';
import { cloudTrailBatchDelete } from '../../local/scenario.js';
import {
  auditByDigest,
  deadLetters,
  type E2E,
  expectedPlan,
  expiring,
  figures,
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  present,
  queueMessages,
  scanTable,
  seed,
  startE2E,
  workerReports,
} from './harness.js';

const BOB = `arn:aws:iam::${LOCAL_ACCOUNT}:user/bob`;

/** Deletes images through the real SDK with the bus off; returns ECR's DELETE events, not yet delivered. */
async function deleteQuietly(e2e: E2E, repository: string, digests: readonly string[]) {
  const from = e2e.ecrEvents.length;
  e2e.cloud.eventsOn = false;
  try {
    const out = await e2e.ecr.send(
      new BatchDeleteImageCommand({
        repositoryName: repository,
        imageIds: digests.map((imageDigest) => ({ imageDigest })),
      }),
    );
    expect(out.failures ?? []).toEqual([]);
    return { out, events: e2e.ecrEvents.slice(from) as EcrEvent[] };
  } finally {
    e2e.cloud.eventsOn = true;
  }
}

/** A lifecycle expiry as CloudTrail reports it (`AWS Service Event via CloudTrail`, PolicyExecutionEvent). */
function policyExecutionEvent(
  repository: string,
  images: readonly { digest: string; tags: readonly string[]; pushedAt: number }[],
  eventID = randomUUID(),
) {
  const time = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'AWS Service Event via CloudTrail',
    source: 'aws.ecr',
    account: LOCAL_ACCOUNT,
    time,
    region: LOCAL_REGION,
    resources: [],
    detail: {
      eventVersion: '1.05',
      userIdentity: { accountId: LOCAL_ACCOUNT, invokedBy: 'AWS Internal' },
      eventTime: time,
      eventSource: 'ecr.amazonaws.com',
      eventName: 'PolicyExecutionEvent',
      awsRegion: LOCAL_REGION,
      sourceIPAddress: 'AWS Internal',
      userAgent: 'AWS Internal',
      requestParameters: null,
      responseElements: null,
      eventID,
      readOnly: true,
      eventType: 'AwsServiceEvent',
      recipientAccountId: LOCAL_ACCOUNT,
      serviceEventDetails: {
        repositoryName: repository,
        lifecycleEventPolicy: {
          lifecycleEventRules: [
            {
              rulePriority: 1,
              description: 'keep 2',
              lifecycleEventSelection: {
                tagStatus: 'Any',
                countType: 'Image count more than',
                countNumber: 2,
              },
              action: 'expire',
            },
          ],
          lastEvaluatedAt: 0,
          policyVersion: 1,
          policyId: 'ceb86829-58e7-9498-920c-aa042e33037b',
        },
        lifecycleEventImageActions: images.map((i) => ({
          lifecycleEventImage: {
            digest: i.digest,
            tagStatus: i.tags.length > 0 ? 'Tagged' : 'Untagged',
            tagList: [...i.tags],
            pushedAt: i.pushedAt,
          },
          rulePriority: 1,
        })),
      },
    },
  };
}

describe('duplicated and out-of-order delete signals', () => {
  let e2e: E2E;
  beforeAll(async () => {
    e2e = await startE2E('duplicates');
  }, 180_000);
  afterAll(async () => {
    await e2e?.close();
  });

  it('create exactly one record per deleted digest, each counted once', async () => {
    const started = Date.now();
    // An unmanaged repository: only people and ECR's lifecycle delete here.
    const repository = 'teams/dup';
    const layout = Array.from({ length: 12 }, (_, i) => ({ tags: [`t-${i}`, `alias-${i}`] }));
    const digests = seed(e2e, repository, layout);
    const views = new Map(e2e.cloud.ecr.images(repository).map((v) => [v.digest, v]));
    let published = 0;
    const publish = (event: unknown) => {
      e2e.cloud.publish(event);
      published++;
    };

    // 1. The same ECR DELETE event, three times (one image; ECR sends one event per tag).
    const single = digests.slice(0, 1);
    const first = await deleteQuietly(e2e, repository, single);
    expect(first.events.length).toBe(2);
    for (let i = 0; i < 3; i++) for (const event of first.events) publish(event);
    await e2e.cloud.settle(30_000);

    // 2. CloudTrail's BatchDeleteImage record arrives before ECR's DELETE events.
    const manual = digests.slice(1, 4);
    const second = await deleteQuietly(e2e, repository, manual);
    publish(cloudTrailBatchDelete(repository, manual, second.out.imageIds ?? [], BOB));
    await e2e.cloud.settle(30_000);
    for (const event of second.events) publish(event);
    await e2e.cloud.settle(30_000);

    // 3. ECR's lifecycle expires four images: its DELETE events and a PolicyExecutionEvent split over
    //    several CloudTrail events that name the same digests, interleaved, one of them delivered twice.
    const expired = digests.slice(4, 8);
    const third = await deleteQuietly(e2e, repository, expired);
    const image = (d: string) => ({
      digest: d,
      tags: views.get(d)!.tags,
      pushedAt: views.get(d)!.pushedAt.getTime(),
    });
    const whole = policyExecutionEvent(repository, expired.map(image));
    const again = policyExecutionEvent(repository, expired.map(image));
    const part = policyExecutionEvent(repository, expired.slice(2).map(image));
    const [early, late] = [third.events.slice(0, 4), third.events.slice(4)];
    for (const event of early) publish(event);
    publish(whole);
    publish(part);
    publish(whole);
    await e2e.cloud.settle(30_000);
    publish(again);
    for (const event of late) publish(event);
    await e2e.cloud.settle(30_000);

    const deleted = [...single, ...manual, ...expired];
    const records = await auditByDigest(e2e);
    expect([...records.keys()].sort()).toEqual([...deleted].sort());
    for (const d of deleted) {
      expect(records.get(d), d).toHaveLength(1);
      expect(records.get(d)![0]!.status).toBe('DELETED');
      expect(records.get(d)![0]!.tags).toEqual([...views.get(d)!.tags].sort());
    }
    for (const d of single) expect(records.get(d)![0]!.actor.type).toBe('unknown');
    for (const d of manual) {
      expect(records.get(d)![0]!.actor).toMatchObject({ type: 'principal', principal: BOB });
      expect(records.get(d)![0]!.evidence).toEqual(['cloudtrail-batch-delete', 'image-action-event']);
    }
    for (const d of expired) {
      expect(records.get(d)![0]!.actor).toMatchObject({ type: 'ecr-lifecycle', rulePriority: 1 });
      expect(records.get(d)![0]!.evidence).toEqual(['cloudtrail-lifecycle', 'image-action-event']);
    }
    // Counted once each: the delete-rate counters (all windows of each scope summed) equal the deletions.
    const counters = (await scanTable(e2e.doc, e2e.tables.state)).filter((i) =>
      String(i.pk).startsWith('COUNT#'),
    );
    const counted = (pk: string) =>
      counters.filter((i) => i.pk === pk).reduce((n, i) => n + Number(i.count ?? 0), 0);
    expect(counted('COUNT#registry#1h')).toBe(deleted.length);
    expect(counted(`COUNT#repository:${repository}#5m`)).toBe(deleted.length);
    expect(e2e.cloud.sns.messages).toEqual([]);
    expect(deadLetters(e2e)).toEqual({ cleanupDlq: 0, cleanupAsyncDlq: 0, auditDlq: 0, scanGateDlq: 0 });
    expect(present(e2e, repository).size).toBe(digests.length - deleted.length);

    figures('duplicates-out-of-order', {
      events: published,
      deletes: deleted.length,
      records: [...records.values()].flat().length,
      counted: counted('COUNT#registry#1h'),
      faultsInjected: 0,
      lost: deleted.length - records.size,
      ms: Date.now() - started,
    });
  }, 60_000);
});

describe('malformed events', () => {
  let e2e: E2E;
  beforeAll(async () => {
    e2e = await startE2E('malformed');
  }, 180_000);
  afterAll(async () => {
    await e2e?.close();
  });

  it('land in their dead-letter queues with a reason, and nothing is deleted', async () => {
    const started = Date.now();
    const repository = 'services/malformed';
    seed(
      e2e,
      repository,
      Array.from({ length: 6 }, (_, i) => ({ tags: [`dev-${i}`] })),
    );
    // A valid push now would expire four dev builds: nothing may come of the malformed ones.
    expect(expiring(await expectedPlan(e2e, repository, new Date()))).toHaveLength(4);
    const before = present(e2e, repository);
    const intake = e2e.cloud.functionId('intake');

    // A push that the push rule matches (the test config's tag selection leaves names unfiltered) but whose
    // repository-name is a number.
    const badPush = {
      version: '0',
      id: randomUUID(),
      'detail-type': 'ECR Image Action',
      source: 'aws.ecr',
      account: LOCAL_ACCOUNT,
      time: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      region: LOCAL_REGION,
      resources: [],
      detail: {
        result: 'SUCCESS',
        'repository-name': 42,
        'image-digest': [...before][0],
        'action-type': 'PUSH',
        'image-tag': 'dev-9',
      },
    };
    const routes = e2e.cloud.router.route(badPush).map((r) => r.target.resolvedLogicalId);
    // The intake (cleanup) and the audit queue (a push is a registry operation the audit records).
    expect(routes).toEqual([intake, expect.stringMatching(/^AuditQueue/)]);
    e2e.cloud.publish(badPush);

    // A malformed message on the cleanup queue itself (a sweep message without a usable repository).
    e2e.cloud.queues.get(e2e.queues.cleanup)!.send(JSON.stringify({ kind: 'sweep', repository: 7 }), {
      groupId: 'malformed',
      deduplicationId: randomUUID(),
    });

    // Delete signals the audit rules match but the audit function cannot use.
    const badDeletes = [
      {
        ...badPush,
        id: randomUUID(),
        detail: { ...badPush.detail, 'action-type': 'DELETE', 'repository-name': { name: repository } },
      },
      {
        ...badPush,
        id: randomUUID(),
        detail: { result: 'SUCCESS', 'repository-name': repository, 'action-type': 'DELETE' },
      },
    ];
    for (const event of badDeletes) e2e.cloud.publish(event);
    await e2e.cloud.settle(60_000);

    // The intake failed on every attempt (the first and Lambda's two retries), then the event was dead-lettered.
    const intakeAttempts = e2e.cloud.deliveries.filter((d) => d.target === intake && d.kind === 'invoke');
    expect(intakeAttempts.map((d) => d.ok)).toEqual([false, false, false]);
    const asyncDlq = queueMessages(e2e, e2e.queues.cleanupAsyncDlq);
    expect(asyncDlq).toHaveLength(1);
    expect(JSON.parse(asyncDlq[0]!.body)).toEqual(badPush);
    expect(asyncDlq[0]!.attributes.ErrorMessage?.StringValue).toMatch(/repository-name/);

    const cleanupDlq = queueMessages(e2e, e2e.queues.cleanupDlq);
    expect(cleanupDlq).toHaveLength(1);
    expect(cleanupDlq[0]!.attributes.reason?.StringValue).toMatch(/repository/);

    const auditDlq = queueMessages(e2e, e2e.queues.auditDlq);
    expect(auditDlq.map((m) => JSON.parse(m.body).id).sort()).toEqual(
      [badPush, ...badDeletes].map((e) => e.id).sort(),
    );
    const reasons = auditDlq.map((m) => m.attributes.reason?.StringValue ?? '');
    expect(reasons.some((r) => r.includes('repository-name'))).toBe(true);
    expect(reasons.some((r) => r.includes('without image-digest'))).toBe(true);

    // Nothing was deleted or recorded, and the worker never acted on a repository.
    expect(present(e2e, repository)).toEqual(before);
    expect((await auditByDigest(e2e)).size).toBe(0);
    expect(workerReports(e2e)).toEqual([]);

    figures('malformed', {
      events: 1 + badDeletes.length,
      queueMessages: 1,
      intakeAttempts: intakeAttempts.length,
      deadLettered: deadLetters(e2e),
      deletes: before.size - present(e2e, repository).size,
      records: 0,
      faultsInjected: 0,
      lost: 0,
      ms: Date.now() - started,
    });
  }, 60_000);
});
