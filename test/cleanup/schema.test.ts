import { describe, expect, it } from 'vitest';
import {
  cleanupMessageSchema,
  isSweep,
  repositoryOf,
  safeParseCleanupMessage,
  sweepMessageSchema,
  sweepTriggerSchema,
} from '../../functions/cleanup/schema.js';
import { EVENT_FIXTURES, type EventJson, loadEvent } from '../fixtures/events.js';

describe('cleanupMessageSchema', () => {
  it('has committed sample events to check', () => {
    expect(EVENT_FIXTURES).toEqual([
      'cleanup-sweep-message.json',
      'ecr-image-action-archive.json',
      'ecr-image-action-delete.json',
      'ecr-image-action-push.json',
    ]);
  });

  it.each(EVENT_FIXTURES)('parses the committed sample %s', (file) => {
    // Prepare
    const event = loadEvent(file);

    // Act
    const parsed = cleanupMessageSchema.safeParse(event);

    // Assess
    expect(parsed.error).toBeUndefined();
    expect(parsed.data).toEqual(event);
  });

  it("accepts AWS's push sample although its digest is not a valid sha256 (60 hex digits)", () => {
    // Prepare
    const event = loadEvent('ecr-image-action-push.json');

    // Act
    const parsed = cleanupMessageSchema.parse(event);

    // Assess
    expect(event.detail['image-digest']).toHaveLength('sha256:'.length + 60);
    expect(repositoryOf(parsed)).toEqual({ repository: 'my-repository-name' });
  });

  it('keeps unknown top-level keys such as replay-name and accepts a push without image-tag', () => {
    // Prepare
    const event = loadEvent('ecr-image-action-push.json');
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
    ['another detail-type', (e: EventJson) => (e['detail-type'] = 'ECR Replication Action')],
    ['an empty id', (e: EventJson) => (e.id = '')],
  ])('rejects a push event with %s', (_name, mutate) => {
    // Prepare
    const event = loadEvent('ecr-image-action-push.json');
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
    const event = loadEvent('ecr-image-action-push.json');
    delete event.detail['repository-name'];

    // Act
    const parsed = safeParseCleanupMessage(event);

    // Assess
    expect(parsed.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['detail.repository-name', 'Invalid input: expected string, received undefined'],
    ]);
  });

  it('names the field at fault in a malformed sweep message', () => {
    // Prepare
    const message = { ...loadEvent('cleanup-sweep-message.json'), runId: '' };

    // Act
    const parsed = safeParseCleanupMessage(message);

    // Assess
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).toEqual(['runId']);
  });

  it.each(EVENT_FIXTURES)('parses the committed sample %s as the union does', (file) => {
    const event = loadEvent(file);
    expect(safeParseCleanupMessage(event).data).toEqual(cleanupMessageSchema.parse(event));
  });
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
    ['ecr-image-action-delete.json', 'action-type DELETE is not a push'],
    ['ecr-image-action-archive.json', 'action-type UPDATE_STORAGE_CLASS is not a push'],
  ])('ignores %s', (file, reason) => {
    expect(repositoryOf(cleanupMessageSchema.parse(loadEvent(file)))).toEqual({ ignore: reason });
  });

  it.each([
    ['FAILED', 'result FAILED is not SUCCESS'],
    [undefined, 'result undefined is not SUCCESS'],
  ])('ignores a push whose result is %s', (result, reason) => {
    // Prepare
    const event = loadEvent('ecr-image-action-push.json');
    event.detail.result = result;

    // Act
    const target = repositoryOf(cleanupMessageSchema.parse(event));

    // Assess
    expect(target).toEqual({ ignore: reason });
  });
});

describe('sweepTriggerSchema', () => {
  it("accepts the scheduler's input and an empty invocation", () => {
    expect(sweepTriggerSchema.safeParse({ kind: 'sweep' }).success).toBe(true);
    expect(sweepTriggerSchema.safeParse({}).success).toBe(true);
    expect(sweepTriggerSchema.safeParse({ kind: 'other' }).success).toBe(false);
  });
});
