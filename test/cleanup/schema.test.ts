import { describe, expect, it } from 'vitest';
import {
  cleanupMessageSchema,
  cleanupTriggerEventSchema,
  imageActionEventSchema,
  isSweep,
  repositoryOf,
  safeParseCleanupMessage,
  sweepMessageSchema,
  sweepTriggerSchema,
} from '../../functions/cleanup/schema.js';
import { EVENT_FIXTURES, type EventJson, loadEvent } from '../fixtures/events.js';

const DIGEST_MESSAGE = 'not an image digest: expected "sha256:" and 64 lower-case hex digits';
/** A real push: AWS's sample with a digest ECR could have computed. */
const PUSH = 'eventbridge/ecr-image-action-push-valid-digest.json';
const REPLICATION = 'eventbridge/ecr-replication-action.json';
const PULL_THROUGH = 'eventbridge/ecr-pull-through-cache-action.json';

const issues = (result: { error?: { issues: { path: PropertyKey[]; message: string }[] } | undefined }) =>
  result.error?.issues.map((i) => [i.path.join('.'), i.message]);

describe('cleanupTriggerEventSchema', () => {
  it.each([
    [PUSH, 'my-repository-name'],
    [REPLICATION, 'docker-hub/alpine'],
    [PULL_THROUGH, 'docker-hub/alpine'],
  ])('parses the committed sample %s unchanged and asks to clean up %s', (file, repository) => {
    // Prepare
    const event = loadEvent(file);

    // Act
    const parsed = cleanupTriggerEventSchema.safeParse(event);

    // Assess
    expect(parsed.error).toBeUndefined();
    expect(parsed.data).toEqual(event);
    expect(repositoryOf(parsed.data!)).toEqual({ repository });
  });

  it.each([
    ['ecr-image-action-push.json', 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234'],
    ['ecr-image-action-delete.json', 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234'],
    [
      'eventbridge/ecr-replication-action-failed.json',
      'sha256:8g6c3751gf7gc5g47603ege4511d5a80ead5g90f5893543f1489bde2345',
    ],
  ])("rejects AWS's sample %s for its digest %s, naming the field", (file, digest) => {
    // Prepare
    const event = loadEvent(file);

    // Act
    const parsed = cleanupTriggerEventSchema.safeParse(event);

    // Assess
    expect(event.detail['image-digest']).toBe(digest);
    expect(issues(parsed)).toEqual([['detail.image-digest', DIGEST_MESSAGE]]);
  });

  it.each([
    ['an upper-case digest', (d: string) => d.toUpperCase().replace('SHA256', 'sha256')],
    ['a short digest', () => 'sha256:abc'],
    ['another algorithm', (d: string) => d.replace('sha256', 'sha512')],
    ['a digest without its algorithm', (d: string) => d.slice('sha256:'.length)],
  ])('rejects each kind of arrival with %s', (_name, mangle) => {
    for (const file of [PUSH, REPLICATION, PULL_THROUGH]) {
      // Prepare
      const event = loadEvent(file);
      event.detail['image-digest'] = mangle(event.detail['image-digest']);

      // Act
      const parsed = cleanupTriggerEventSchema.safeParse(event);

      // Assess
      expect(issues(parsed)).toEqual([['detail.image-digest', DIGEST_MESSAGE]]);
    }
  });

  it('accepts arrivals without a digest or a tag, since the intake reads only the repository', () => {
    for (const file of [PUSH, REPLICATION, PULL_THROUGH]) {
      // Prepare
      const event = loadEvent(file);
      delete event.detail['image-digest'];
      delete event.detail['image-tag'];

      // Act
      const parsed = cleanupTriggerEventSchema.parse(event);

      // Assess
      expect('repository' in repositoryOf(parsed)).toBe(true);
    }
  });

  it.each([
    [
      'a missing repository-name',
      (e: EventJson) => delete e.detail['repository-name'],
      'detail.repository-name',
    ],
    ['another source', (e: EventJson) => (e.source = 'aws.inspector2'), 'source'],
    ['an empty id', (e: EventJson) => (e.id = ''), 'id'],
  ])('rejects a replication event with %s', (_name, mutate, path) => {
    // Prepare
    const event = loadEvent(REPLICATION);
    mutate(event);

    // Act
    const parsed = cleanupTriggerEventSchema.safeParse(event);

    // Assess
    expect(issues(parsed)?.map(([p]) => p)).toEqual([path]);
  });

  it('rejects a detail-type that is no arrival', () => {
    // Prepare
    const event = loadEvent('eventbridge/ecr-image-scan-complete.json');

    // Act
    const parsed = cleanupTriggerEventSchema.safeParse(event);

    // Assess
    expect(issues(parsed)?.map(([p]) => p)).toEqual(['detail-type']);
  });

  it('rejects a pull-through cache event without sync-status', () => {
    // Prepare
    const event = loadEvent(PULL_THROUGH);
    delete event.detail['sync-status'];

    // Act
    const parsed = cleanupTriggerEventSchema.safeParse(event);

    // Assess
    expect(issues(parsed)).toEqual([
      ['detail.sync-status', 'Invalid input: expected string, received undefined'],
    ]);
  });
});

describe('imageActionEventSchema', () => {
  it("still parses AWS's push sample with its 60-hex digest, as before arrivals of every kind were routed", () => {
    // Prepare
    const event = loadEvent('ecr-image-action-push.json');

    // Act
    const parsed = imageActionEventSchema.safeParse(event);

    // Assess
    expect(parsed.data).toEqual(event);
    expect(repositoryOf(parsed.data!)).toEqual({ repository: 'my-repository-name' });
  });
});

describe('cleanupMessageSchema', () => {
  it('has committed sample events to check', () => {
    expect(EVENT_FIXTURES).toEqual([
      'cleanup-sweep-message.json',
      'ecr-image-action-archive.json',
      'ecr-image-action-delete.json',
      'ecr-image-action-push.json',
    ]);
  });

  it.each(['cleanup-sweep-message.json', 'ecr-image-action-archive.json', PUSH, REPLICATION, PULL_THROUGH])(
    'parses the committed sample %s unchanged',
    (file) => {
      // Prepare
      const event = loadEvent(file);

      // Act
      const parsed = cleanupMessageSchema.safeParse(event);

      // Assess
      expect(parsed.error).toBeUndefined();
      expect(parsed.data).toEqual(event);
    },
  );

  it('keeps unknown top-level keys such as replay-name and accepts a push without image-tag', () => {
    // Prepare
    const event = loadEvent(PUSH);
    event['replay-name'] = 'replay-2026-06-01';
    delete event.detail['image-tag'];

    // Act
    const parsed = cleanupMessageSchema.parse(event);

    // Assess
    expect(parsed).toMatchObject({ 'replay-name': 'replay-2026-06-01' });
    expect(repositoryOf(parsed)).toEqual({ repository: 'my-repository-name' });
  });

  it.each([
    ['a missing repository-name', (e: EventJson) => delete e.detail['repository-name']],
    ['another source', (e: EventJson) => (e.source = 'aws.inspector2')],
    ['another detail-type', (e: EventJson) => (e['detail-type'] = 'ECR Image Scan')],
    ['an empty id', (e: EventJson) => (e.id = '')],
    ['a malformed digest', (e: EventJson) => (e.detail['image-digest'] = 'sha256:abc')],
  ])('rejects a push event with %s', (_name, mutate) => {
    // Prepare
    const event = loadEvent(PUSH);
    mutate(event);

    // Act
    const parsed = cleanupMessageSchema.safeParse(event);

    // Assess
    expect(parsed.success).toBe(false);
  });

  it('rejects a sweep message with an unknown field', () => {
    // Prepare
    const message = { ...loadEvent('cleanup-sweep-message.json'), force: true };

    // Act
    const parsed = sweepMessageSchema.safeParse(message);

    // Assess
    expect(parsed.success).toBe(false);
  });
});

describe('safeParseCleanupMessage', () => {
  it('names the field at fault in a malformed push event', () => {
    // Prepare
    const event = loadEvent(PUSH);
    delete event.detail['repository-name'];

    // Act
    const parsed = safeParseCleanupMessage(event);

    // Assess
    expect(issues(parsed)).toEqual([
      ['detail.repository-name', 'Invalid input: expected string, received undefined'],
    ]);
  });

  it('names the digest of a replication event that ECR could not have sent', () => {
    // Prepare
    const event = loadEvent(REPLICATION);
    event.detail['image-digest'] = 'sha256:abc';

    // Act
    const parsed = safeParseCleanupMessage(event);

    // Assess
    expect(issues(parsed)).toEqual([['detail.image-digest', DIGEST_MESSAGE]]);
  });

  it('names the field at fault in a malformed sweep message', () => {
    // Prepare
    const message = { ...loadEvent('cleanup-sweep-message.json'), runId: '' };

    // Act
    const parsed = safeParseCleanupMessage(message);

    // Assess
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).toEqual(['runId']);
  });

  it.each(['cleanup-sweep-message.json', PUSH, REPLICATION, PULL_THROUGH])(
    'parses the committed sample %s as the union does',
    (file) => {
      const event = loadEvent(file);
      expect(safeParseCleanupMessage(event).data).toEqual(cleanupMessageSchema.parse(event));
    },
  );
});

describe('repositoryOf', () => {
  it('asks for the repository of a sweep message', () => {
    // Prepare
    const message = cleanupMessageSchema.parse(loadEvent('cleanup-sweep-message.json'));

    // Act
    const target = repositoryOf(message);

    // Assess
    expect(isSweep(message)).toBe(true);
    expect(target).toEqual({ repository: 'services/orders' });
  });

  it.each([
    [
      'a delete',
      (e: EventJson) => (e.detail['action-type'] = 'DELETE'),
      PUSH,
      'action-type DELETE is not a push',
    ],
    [
      'an archive',
      (e: EventJson) => (e.detail['action-type'] = 'UPDATE_STORAGE_CLASS'),
      PUSH,
      'action-type UPDATE_STORAGE_CLASS is not a push',
    ],
    ['a failed push', (e: EventJson) => (e.detail.result = 'FAILED'), PUSH, 'result FAILED is not SUCCESS'],
    [
      'a push without result',
      (e: EventJson) => delete e.detail.result,
      PUSH,
      'result undefined is not SUCCESS',
    ],
    [
      'a failed replication',
      (e: EventJson) => (e.detail.result = 'FAILED'),
      REPLICATION,
      'replication result FAILED is not SUCCESS',
    ],
    [
      'a replication event of another action',
      (e: EventJson) => (e.detail['action-type'] = 'DELETE'),
      REPLICATION,
      'action-type DELETE is not a replication',
    ],
    [
      'a failed pull-through sync',
      (e: EventJson) => {
        e.detail['sync-status'] = 'FAILED';
        e.detail['failure-code'] = 'UPSTREAM_UNAVAILABLE';
      },
      PULL_THROUGH,
      'pull-through cache sync-status FAILED is not SUCCESS',
    ],
  ])('ignores %s', (_name, mutate, file, reason) => {
    // Prepare
    const event = loadEvent(file);
    mutate(event);

    // Act
    const target = repositoryOf(cleanupMessageSchema.parse(event));

    // Assess
    expect(target).toEqual({ ignore: reason });
  });

  it('ignores the archive sample as before', () => {
    expect(repositoryOf(cleanupMessageSchema.parse(loadEvent('ecr-image-action-archive.json')))).toEqual({
      ignore: 'action-type UPDATE_STORAGE_CLASS is not a push',
    });
  });
});

describe('sweepTriggerSchema', () => {
  it("accepts the scheduler's input and an empty invocation", () => {
    expect(sweepTriggerSchema.safeParse({ kind: 'sweep' }).success).toBe(true);
    expect(sweepTriggerSchema.safeParse({}).success).toBe(true);
    expect(sweepTriggerSchema.safeParse({ kind: 'other' }).success).toBe(false);
  });
});
