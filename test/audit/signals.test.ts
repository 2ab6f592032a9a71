/**
 * The delete signals (functions/audit/signals.ts): ECR Image Action DELETE, CloudTrail PolicyExecutionEvent and
 * BatchDeleteImage, each turned into candidate deletions. Pure: no AWS, exact candidates.
 * Semantics: docs/events.md §3.1, §3.6 and §6.
 */
import { describe, expect, it } from 'vitest';
import { auditEventSchema, safeParseAuditEvent } from '../../functions/audit/schema.js';
import { extractCandidates, principalOf } from '../../functions/audit/signals.js';
import {
  ACCOUNT,
  AWS_IMAGE_ACTION_DELETE_SAMPLE,
  awsLifecycleEvent,
  batchDeleteEvent,
  CI_ROLE,
  candidatesOf,
  cloudTrailEnvelope,
  copy,
  digestOf,
  imageActionEvent,
  lifecycleEvent,
  parseEvent,
  REGION,
  REPO,
} from './helpers.js';

const A = digestOf('a');
const B = digestOf('b');
const C = digestOf('c');

describe('extractCandidates (ECR Image Action)', () => {
  it('returns one candidate to verify when a DELETE names a tag (AWS sample with a valid digest)', () => {
    // Prepare
    const event = copy(AWS_IMAGE_ACTION_DELETE_SAMPLE);
    event.detail['image-digest'] = A;

    // Act
    const extraction = extractCandidates(parseEvent(event));

    // Assess
    expect(extraction).toEqual({
      kind: 'candidates',
      notes: [],
      candidates: [
        {
          verify: true,
          signal: {
            registryId: '123456789012',
            region: 'us-west-2',
            repository: 'my-repository-name',
            digest: A,
            status: 'DELETED',
            evidence: 'image-action-event',
            at: '2019-11-16T02:01:05.000Z',
            tags: ['latest'],
            eventId: 'dd3b46cb-2c74-f49e-393b-28286b67279d',
          },
        },
      ],
    });
  });

  it('returns one candidate to verify, without tags and without an actor, when a DELETE has no image-tag', () => {
    // Prepare
    const event = imageActionEvent({ id: 'ev-untagged', digest: A });

    // Act
    const candidates = candidatesOf(event);

    // Assess
    expect(candidates).toEqual([
      {
        verify: true,
        signal: {
          registryId: ACCOUNT,
          region: REGION,
          repository: REPO,
          digest: A,
          status: 'DELETED',
          evidence: 'image-action-event',
          at: '2026-06-01T12:00:05.000Z',
          tags: undefined,
          eventId: 'ev-untagged',
        },
      },
    ]);
    expect(candidates[0]!.signal.actor).toBeUndefined();
  });

  it.each([
    ['UPDATE_STORAGE_CLASS', 'action-type UPDATE_STORAGE_CLASS is not a delete'],
    ['PUSH', 'action-type PUSH is not a delete'],
  ])('ignores an image action when its action-type is %s', (actionType, reason) => {
    // Prepare
    const event = imageActionEvent({ id: 'ev-1', digest: A, tag: 'v1', actionType });
    if (actionType === 'UPDATE_STORAGE_CLASS') {
      Object.assign(event.detail as object, {
        'target-storage-class': 'ARCHIVE',
        'last-activated-at': '2025-10-10T19:13:02.74Z',
        'manifest-media-type': 'application/vnd.oci.image.manifest.v1+json',
      });
    }

    // Act
    const extraction = extractCandidates(parseEvent(event));

    // Assess
    expect(extraction).toEqual({ kind: 'ignored', reason });
  });

  it.each(['FAILED', 'FAILURE'])('ignores a DELETE when its result is %s', (result) => {
    // Prepare
    const event = imageActionEvent({ id: 'ev-1', digest: A, tag: 'v1', result });

    // Act
    const extraction = extractCandidates(parseEvent(event));

    // Assess
    expect(extraction).toEqual({ kind: 'ignored', reason: `result ${result} is not a success` });
  });

  it('reports a DELETE without image-digest as malformed', () => {
    // Prepare
    const event = imageActionEvent({ id: 'ev-1', digest: A, tag: 'v1' });
    delete (event.detail as Record<string, unknown>)['image-digest'];

    // Act
    const extraction = extractCandidates(parseEvent(event));

    // Assess
    expect(extraction).toEqual({ kind: 'malformed', reason: 'ECR Image Action DELETE without image-digest' });
  });

  it('accepts unknown top-level keys such as replay-name when an event was replayed', () => {
    // Prepare
    const event = { ...imageActionEvent({ id: 'ev-replayed', digest: A }), 'replay-name': 'audit-replay' };

    // Act
    const candidates = candidatesOf(event);

    // Assess
    expect(candidates.map((c) => c.signal.eventId)).toEqual(['ev-replayed']);
  });
});

describe('safeParseAuditEvent (digests)', () => {
  const DIGEST_MESSAGE = 'not an image digest: expected "sha256:" and 64 lower-case hex digits';

  it("rejects AWS's DELETE sample verbatim, whose digest has 60 hex digits, naming the field", () => {
    // Act
    const parsed = safeParseAuditEvent(copy(AWS_IMAGE_ACTION_DELETE_SAMPLE));

    // Assess
    expect(parsed.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['detail.image-digest', DIGEST_MESSAGE],
    ]);
  });

  it.each([
    ['sha256:abc'],
    [`sha256:${'A'.repeat(64)}`],
    [`sha512:${'a'.repeat(128)}`],
    ['a'.repeat(64)],
    [`sha256:${'a'.repeat(64)} `],
  ])('rejects a DELETE whose digest is %s', (digest) => {
    // Prepare
    const event = imageActionEvent({ id: 'ev-bad', digest });

    // Act
    const parsed = safeParseAuditEvent(event);

    // Assess
    expect(parsed.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['detail.image-digest', DIGEST_MESSAGE],
    ]);
  });

  it('rejects a PolicyExecutionEvent that names a malformed digest', () => {
    // Prepare
    const event = awsLifecycleEvent();
    const details = (
      event.detail as {
        serviceEventDetails: {
          lifecycleEventImageActions: { lifecycleEventImage: Record<string, unknown> }[];
        };
      }
    ).serviceEventDetails;
    details.lifecycleEventImageActions[1]!.lifecycleEventImage.digest = 'sha256:abc';

    // Act
    const extraction = extractCandidates(parseEvent(event));

    // Assess
    expect(extraction).toEqual({
      kind: 'malformed',
      reason: `PolicyExecutionEvent without usable serviceEventDetails: lifecycleEventImageActions.1.lifecycleEventImage.digest: ${DIGEST_MESSAGE}`,
    });
  });

  it('rejects a BatchDeleteImage record whose response reports a malformed digest deleted', () => {
    // Prepare
    const event = batchDeleteEvent({
      eventID: 'ct-bad',
      requested: [{ imageDigest: A }],
      deleted: [{ imageDigest: 'sha256:abc', imageTag: 'v1' }],
    });

    // Act
    const extraction = extractCandidates(parseEvent(event));

    // Assess
    expect(extraction).toEqual({
      kind: 'malformed',
      reason: `BatchDeleteImage responseElements: imageIds.0.imageDigest: ${DIGEST_MESSAGE}`,
    });
  });

  it('accepts a malformed digest in the request and its InvalidImageDigest failure, and records nothing for it', () => {
    // Prepare: ECR answers a malformed requested digest with a failure in an HTTP 200 response.
    const event = batchDeleteEvent({
      eventID: 'ct-invalid-request',
      requested: [{ imageDigest: 'sha256:abc' }, { imageDigest: A }],
      deleted: [{ imageDigest: A }],
      failures: [
        {
          imageId: { imageDigest: 'sha256:abc' },
          failureCode: 'InvalidImageDigest',
          failureReason:
            "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'",
        },
      ],
    });

    // Act
    const candidates = candidatesOf(event);

    // Assess
    expect(candidates.map((c) => c.signal.digest)).toEqual([A]);
  });
});

describe('extractCandidates (CloudTrail PolicyExecutionEvent)', () => {
  it('returns one lifecycle candidate per expired image when given the AWS docs record', () => {
    // Prepare
    const event = awsLifecycleEvent();

    // Act
    const extraction = extractCandidates(parseEvent(event));

    // Assess
    expect(extraction).toEqual({
      kind: 'candidates',
      notes: [],
      candidates: [
        {
          verify: false,
          signal: {
            registryId: '123456789012',
            region: 'us-west-2',
            repository: 'testrepo',
            digest: 'sha256:ddba4d27a7ffc3f86dd6c2f92041af252a1f23a8e742c90e6e1297bfa1bc0c45',
            status: 'DELETED',
            evidence: 'cloudtrail-lifecycle',
            at: '2020-03-12T20:22:12.000Z',
            tags: ['alpine'],
            pushedAt: '2020-03-12T19:53:33.000Z',
            actor: { type: 'ecr-lifecycle', rulePriority: 1 },
            eventId:
              '9354dd7f-9aac-4e9d-956d-12561a4923aa#sha256:ddba4d27a7ffc3f86dd6c2f92041af252a1f23a8e742c90e6e1297bfa1bc0c45',
          },
        },
        {
          verify: false,
          signal: {
            registryId: '123456789012',
            region: 'us-west-2',
            repository: 'testrepo',
            digest: 'sha256:6ab380c5a5acf71c1b6660d645d2cd79cc8ce91b38e0352cbf9561e050427baf',
            status: 'DELETED',
            evidence: 'cloudtrail-lifecycle',
            at: '2020-03-12T20:22:12.000Z',
            tags: ['centos'],
            pushedAt: '2020-03-12T19:54:02.000Z',
            actor: { type: 'ecr-lifecycle', rulePriority: 1 },
            eventId:
              '9354dd7f-9aac-4e9d-956d-12561a4923aa#sha256:6ab380c5a5acf71c1b6660d645d2cd79cc8ce91b38e0352cbf9561e050427baf',
          },
        },
      ],
    });
  });

  it('skips images of a rule whose action is transition when the record mixes expire and transition rules', () => {
    // Prepare
    const event = lifecycleEvent({
      eventID: 'ct-mixed',
      rules: [
        { rulePriority: 1, action: 'expire' },
        { rulePriority: 2, action: 'transition' },
      ],
      images: [
        { digest: A, tags: ['v1'], rulePriority: 1 },
        { digest: B, tags: ['v0'], rulePriority: 2 },
        { digest: C, rulePriority: 1 },
      ],
    });

    // Act
    const candidates = candidatesOf(event);

    // Assess
    expect(candidates.map((c) => [c.signal.digest, c.signal.actor, c.signal.tags])).toEqual([
      [A, { type: 'ecr-lifecycle', rulePriority: 1 }, ['v1']],
      [C, { type: 'ecr-lifecycle', rulePriority: 1 }, []],
    ]);
  });

  it('returns no candidate when every image of the record was transitioned (archived)', () => {
    // Prepare
    const event = lifecycleEvent({
      eventID: 'ct-archive',
      rules: [{ rulePriority: 1, action: 'TRANSITION' }],
      images: [{ digest: A }, { digest: B }],
    });

    // Act
    const extraction = extractCandidates(parseEvent(event));

    // Assess
    expect(extraction).toEqual({ kind: 'candidates', candidates: [], notes: [] });
  });

  it('turns lifecycleEventFailureDetails into notes, never into candidates', () => {
    // Prepare
    const event = lifecycleEvent({
      eventID: 'ct-failures',
      images: [{ digest: A, tags: ['v1'] }],
      failures: [
        {
          failureCode: 'ImageReferencedByManifestList',
          failureReason: 'Requested image referenced by manifest list',
        },
        { failureCode: 'KmsError', failureReason: 'The KMS key is disabled' },
      ],
    });

    // Act
    const extraction = extractCandidates(parseEvent(event));

    // Assess
    expect(extraction.kind).toBe('candidates');
    if (extraction.kind !== 'candidates') return;
    expect(extraction.candidates.map((c) => c.signal.digest)).toEqual([A]);
    expect(extraction.notes).toEqual([
      'lifecycle failure ImageReferencedByManifestList: Requested image referenced by manifest list (not a deletion)',
      'lifecycle failure KmsError: The KMS key is disabled (not a deletion)',
    ]);
  });

  it('ignores a DryRunEvent (a lifecycle preview) even though it has the same structure', () => {
    // Prepare
    const event = awsLifecycleEvent();
    (event.detail as Record<string, unknown>).eventName = 'DryRunEvent';

    // Act
    const extraction = extractCandidates(parseEvent(event));

    // Assess
    expect(extraction).toEqual({
      kind: 'ignored',
      reason: 'DryRunEvent records come from lifecycle previews; nothing was deleted',
    });
  });

  it('reports a PolicyExecutionEvent without serviceEventDetails as malformed', () => {
    // Prepare
    const event = awsLifecycleEvent();
    delete (event.detail as Record<string, unknown>).serviceEventDetails;

    // Act
    const extraction = extractCandidates(parseEvent(event));

    // Assess
    expect(extraction.kind).toBe('malformed');
    expect(extraction.kind === 'malformed' && extraction.reason).toMatch(
      /^PolicyExecutionEvent without usable serviceEventDetails: /,
    );
  });

  it('reports a PolicyExecutionEvent image without a digest as malformed', () => {
    // Prepare
    const event = awsLifecycleEvent();
    const details = (
      event.detail as {
        serviceEventDetails: {
          lifecycleEventImageActions: { lifecycleEventImage: Record<string, unknown> }[];
        };
      }
    ).serviceEventDetails;
    delete details.lifecycleEventImageActions[1]!.lifecycleEventImage.digest;

    // Act
    const extraction = extractCandidates(parseEvent(event));

    // Assess
    expect(extraction.kind).toBe('malformed');
  });
});

describe('extractCandidates (CloudTrail BatchDeleteImage)', () => {
  it('returns one candidate per digest, not to verify, with every removed tag when deleted by digest', () => {
    // Prepare
    const event = batchDeleteEvent({
      eventID: 'ct-by-digest',
      requested: [{ imageDigest: A }],
      deleted: [
        { imageDigest: A, imageTag: 'xenial' },
        { imageDigest: A, imageTag: 'latest' },
      ],
    });

    // Act
    const candidates = candidatesOf(event);

    // Assess
    expect(candidates).toEqual([
      {
        verify: false,
        signal: {
          registryId: ACCOUNT,
          region: REGION,
          repository: REPO,
          digest: A,
          status: 'DELETED',
          evidence: 'cloudtrail-batch-delete',
          at: '2026-06-01T12:00:02.000Z',
          tags: ['xenial', 'latest'],
          actor: { type: 'principal', principal: CI_ROLE },
          eventId: `ct-by-digest#${A}`,
        },
      },
    ]);
  });

  it('returns a candidate to verify when the image was deleted by tag (only the tag may be gone)', () => {
    // Prepare
    const event = batchDeleteEvent({
      eventID: 'ct-by-tag',
      requested: [{ imageTag: 'v1' }, { imageDigest: B }],
      deleted: [{ imageDigest: A, imageTag: 'v1' }, { imageDigest: B }],
    });

    // Act
    const candidates = candidatesOf(event);

    // Assess
    expect(candidates.map((c) => [c.signal.digest, c.verify, c.signal.tags])).toEqual([
      [A, true, ['v1']],
      [B, false, undefined],
    ]);
  });

  it('leaves out an image when ECR reported it as a failure', () => {
    // Prepare
    const event = batchDeleteEvent({
      eventID: 'ct-partial',
      requested: [{ imageDigest: A }, { imageDigest: B }],
      deleted: [{ imageDigest: A }],
      failures: [
        {
          imageId: { imageDigest: B },
          failureCode: 'ImageNotFound',
          failureReason: 'Requested image not found',
        },
      ],
    });

    // Act
    const candidates = candidatesOf(event);

    // Assess
    expect(candidates.map((c) => c.signal.digest)).toEqual([A]);
  });

  it('ignores a BatchDeleteImage call when CloudTrail recorded an errorCode', () => {
    // Prepare
    const event = batchDeleteEvent({
      eventID: 'ct-denied',
      requested: [{ imageDigest: A }],
      deleted: [],
      errorCode: 'AccessDenied',
    });

    // Act
    const extraction = extractCandidates(parseEvent(event));

    // Assess
    expect(extraction).toEqual({
      kind: 'ignored',
      reason: 'BatchDeleteImage failed (AccessDenied); nothing was deleted',
    });
  });

  it('names the session issuer role as the principal when an assumed-role session called, else the IAM user', () => {
    // Prepare
    const assumed = batchDeleteEvent({
      eventID: 'ct-1',
      requested: [{ imageDigest: A }],
      deleted: [{ imageDigest: A }],
    });
    const user = batchDeleteEvent({
      eventID: 'ct-2',
      requested: [{ imageDigest: A }],
      deleted: [{ imageDigest: A }],
      userArn: `arn:aws:iam::${ACCOUNT}:user/jane`,
    });

    // Act
    const principals = [assumed, user].map((e) => candidatesOf(e)[0]!.signal.actor);

    // Assess
    expect(principals).toEqual([
      { type: 'principal', principal: CI_ROLE },
      { type: 'principal', principal: `arn:aws:iam::${ACCOUNT}:user/jane` },
    ]);
    expect(principalOf({ invokedBy: 'ecr.amazonaws.com' })).toBe('ecr.amazonaws.com');
    expect(principalOf(undefined)).toBeUndefined();
  });

  it('reports a BatchDeleteImage record without requestParameters as malformed', () => {
    // Prepare
    const event = batchDeleteEvent({
      eventID: 'ct-1',
      requested: [{ imageDigest: A }],
      deleted: [{ imageDigest: A }],
    });
    (event.detail as Record<string, unknown>).requestParameters = null;

    // Act
    const extraction = extractCandidates(parseEvent(event));

    // Assess
    expect(extraction).toEqual({
      kind: 'malformed',
      reason: 'BatchDeleteImage without requestParameters.repositoryName',
    });
  });

  it('ignores other ECR API calls when CloudTrail delivers them', () => {
    // Prepare
    const event = batchDeleteEvent({ eventID: 'ct-1', requested: [], deleted: [] });
    (event.detail as Record<string, unknown>).eventName = 'PutImage';

    // Act
    const extraction = extractCandidates(parseEvent(event));

    // Assess
    expect(extraction).toEqual({ kind: 'ignored', reason: 'CloudTrail PutImage is not a delete' });
  });
});

describe('auditEventSchema', () => {
  it.each([
    [
      'an image action without repository-name',
      () => {
        const e = imageActionEvent({ id: 'x', digest: A });
        delete (e.detail as Record<string, unknown>)['repository-name'];
        return e;
      },
    ],
    ['an event of another source', () => ({ ...imageActionEvent({ id: 'x', digest: A }), source: 'aws.s3' })],
    [
      'an unknown detail-type',
      () => ({ ...imageActionEvent({ id: 'x', digest: A }), 'detail-type': 'ECR Image Scan' }),
    ],
    [
      'a CloudTrail record of another service',
      () =>
        cloudTrailEnvelope({ ...(awsLifecycleEvent().detail as object), eventSource: 's3.amazonaws.com' }),
    ],
    ['an envelope without id', () => ({ ...imageActionEvent({ id: 'x', digest: A }), id: '' })],
    ['a non-object', () => 'DELETE'],
  ])('rejects the event when it is %s', (_name, build) => {
    // Prepare
    const event = build();

    // Act
    const result = auditEventSchema.safeParse(event);

    // Assess
    expect(result.success).toBe(false);
  });
});
