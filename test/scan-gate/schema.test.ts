/**
 * The three scan events the gate consumes, parsed from AWS's published samples (test/fixtures/events/eventbridge),
 * with the pitfalls of docs/events.md §3.2–§3.3: `finding-severity-counts` omitting zeros or
 * absent, `image-tags` an array, Inspector's `repository-name` holding the repository ARN, the image of a finding
 * under `resources[].details.awsEcrContainerImage` (or `details.image`), non-ISO dates and odd top-level keys.
 */
import { describe, expect, it } from 'vitest';
import {
  imageScanEvent,
  inspectorFindingEvent,
  inspectorScanEvent,
  repositoryNameFromArn,
  type ScanGateEvent,
  scanGateEventSchema,
  scannedImageOf,
} from '../../functions/scan-gate/schema.js';
import { type EventJson, loadEvent } from '../fixtures/events.js';

const ECR_SCAN = 'eventbridge/ecr-image-scan-complete.json';
const INSPECTOR_SCAN_2021 = 'eventbridge/inspector2-scan.json';
const INSPECTOR_SCAN_2023 = 'eventbridge/inspector2-scan-ecr-2023.json';
const INSPECTOR_FINDING_2021 = 'eventbridge/inspector2-finding-ecr.json';
const INSPECTOR_FINDING_2024 = 'eventbridge/inspector2-finding-ecr-2024.json';
const INSPECTOR_FINDING_EC2 = 'eventbridge/inspector2-finding-ec2-2024.json';

/** Parses with the gate's union and returns the image, failing the test on an error. */
function imageOf(event: EventJson) {
  const parsed = scanGateEventSchema.parse(event);
  const image = scannedImageOf(parsed);
  if ('error' in image) throw new Error(`unexpected: ${image.error}`);
  return image;
}

function issuesOf(event: unknown): string[] {
  const result = scanGateEventSchema.safeParse(event);
  expect(result.success).toBe(false);
  return (result.error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('ECR Image Scan (basic scanning)', () => {
  it('parses the published sample and names the image by repository name, digest and tags', () => {
    // Act
    const event = imageScanEvent.parse(loadEvent(ECR_SCAN));
    const image = imageOf(loadEvent(ECR_SCAN));

    // Assess: zero severities are simply absent from the counts (no HIGH key in the sample).
    expect(event.detail['finding-severity-counts']).toEqual({ CRITICAL: 10, MEDIUM: 9 });
    expect(image).toEqual({
      registryId: '123456789012',
      region: 'us-east-1',
      repository: 'my-repository-name',
      digest: 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234',
      tags: [],
      trigger: 'ecr-scan',
    });
  });

  it('accepts an event with no finding-severity-counts at all (the first published sample has none)', () => {
    // Prepare
    const event = loadEvent(ECR_SCAN);
    delete event.detail['finding-severity-counts'];

    // Act
    const parsed = imageScanEvent.parse(event);

    // Assess
    expect(parsed.detail['finding-severity-counts']).toBeUndefined();
    expect(imageOf(event).repository).toBe('my-repository-name');
  });

  it('reads image-tags as an array, and an absent image-tags as no tags', () => {
    // Prepare
    const tagged = loadEvent(ECR_SCAN);
    tagged.detail['image-tags'] = ['v1.2.3', 'latest'];
    const untagged = loadEvent(ECR_SCAN);
    delete untagged.detail['image-tags'];

    // Act / Assess
    expect(imageOf(tagged).tags).toEqual(['v1.2.3', 'latest']);
    expect(imageOf(untagged).tags).toEqual([]);
  });

  it('rejects image-tags given as a single string: the field is an array', () => {
    // Prepare
    const event = loadEvent(ECR_SCAN);
    event.detail['image-tags'] = 'latest';

    // Act / Assess
    expect(issuesOf(event).join('\n')).toContain('detail.image-tags');
  });

  it('accepts a FAILED scan (the rule lets COMPLETE and FAILED through)', () => {
    // Prepare
    const event = loadEvent(ECR_SCAN);
    event.detail['scan-status'] = 'FAILED';
    delete event.detail['finding-severity-counts'];

    // Act
    const parsed = imageScanEvent.parse(event);

    // Assess
    expect(parsed.detail['scan-status']).toBe('FAILED');
  });

  it('tolerates a replayed event (top-level replay-name)', () => {
    // Prepare
    const event = { ...loadEvent(ECR_SCAN), 'replay-name': 'gate-replay-1' };

    // Act / Assess
    expect(imageOf(event).digest).toMatch(/^sha256:/);
  });
});

describe('Inspector2 Scan (enhanced scanning, initial scan)', () => {
  it('reduces the repository ARN in repository-name to the repository name (2021 sample)', () => {
    // Act
    const parsed = inspectorScanEvent.parse(loadEvent(INSPECTOR_SCAN_2021));
    const image = imageOf(loadEvent(INSPECTOR_SCAN_2021));

    // Assess
    expect(parsed.detail['repository-name']).toBe(
      'arn:aws:ecr:us-east-2:123456789012:repository/amazon/amazon-ecs-sample',
    );
    expect(image).toEqual({
      registryId: '123456789012',
      region: 'us-east-2',
      repository: 'amazon/amazon-ecs-sample',
      digest: 'sha256:36c7b282abd0186e01419f2e58743e1bf635808231049bbc9d77e5EXAMPLE',
      tags: ['latest'],
      trigger: 'inspector-scan',
    });
  });

  it('parses the 2023 sample with explicit zero counts, TOTAL and detail.version', () => {
    // Act
    const image = imageOf(loadEvent(INSPECTOR_SCAN_2023));

    // Assess
    expect(image).toMatchObject({
      registryId: '111122223333',
      region: 'us-east-1',
      repository: 'inspector2',
      digest: 'sha256:965fbcae990b0467ed5657caceaec165018ef44a4d2d46c7cdea80a9dff0d1ea',
      tags: ['ubuntu22'],
    });
  });
});

describe('Inspector2 Finding', () => {
  it('takes the image from resources[].details.awsEcrContainerImage (2021 sample, non-ISO dates)', () => {
    // Act
    const parsed = inspectorFindingEvent.parse(loadEvent(INSPECTOR_FINDING_2021));
    const image = imageOf(loadEvent(INSPECTOR_FINDING_2021));

    // Assess: the digest is the resource's imageHash (the envelope's resources[0] is truncated differently).
    expect(parsed.detail.status).toBe('ACTIVE');
    expect(image).toEqual({
      registryId: '123456789012',
      region: 'us-east-2',
      repository: 'amazon/amazon-ecs-sample',
      digest: 'sha256:36c7b282abd0186e01419f2e58743e1bf635808231049bbc9d77e5EXAMPLE',
      tags: ['latest'],
      trigger: 'inspector-finding',
    });
  });

  it('parses the 2024 sample with its odd top-level key, epss and fixAvailable', () => {
    // Prepare
    const event = loadEvent(INSPECTOR_FINDING_2024);

    // Act
    const parsed = inspectorFindingEvent.parse(event);
    const image = imageOf(event);

    // Assess
    expect(parsed['detail.resources.tags.testkey']).toBe('allow');
    expect(parsed.detail.severity).toBe('MEDIUM');
    expect(image).toEqual({
      registryId: '123456789012',
      region: 'eu-central-1',
      repository: 'inspector2',
      digest: 'sha256:84f507df33c6864d49c296fb734192696e4cb6f78166ac51ac8b9b118181085d',
      tags: ['ubuntu_latest'],
      trigger: 'inspector-finding',
    });
  });

  it('takes the image from the provider-agnostic resources[].details.image', () => {
    // Prepare: the 2024 sample with the newer `image` shape instead of `awsEcrContainerImage`.
    const event = loadEvent(INSPECTOR_FINDING_2024);
    const ecr = event.detail.resources[0].details.awsEcrContainerImage;
    event.detail.resources[0].details = {
      image: {
        repositoryName: ecr.repositoryName,
        imageDigest: ecr.imageHash,
        imageTags: ecr.imageTags,
        registry: '210987654321',
      },
    };

    // Act
    const image = imageOf(event);

    // Assess: the registry of the resource wins over the envelope's account.
    expect(image).toEqual({
      registryId: '210987654321',
      region: 'eu-central-1',
      repository: 'inspector2',
      digest: 'sha256:84f507df33c6864d49c296fb734192696e4cb6f78166ac51ac8b9b118181085d',
      tags: ['ubuntu_latest'],
      trigger: 'inspector-finding',
    });
  });

  it('skips resources that are not ECR images and uses the first one that is', () => {
    // Prepare
    const event = loadEvent(INSPECTOR_FINDING_2024);
    const ec2 = loadEvent(INSPECTOR_FINDING_EC2).detail.resources[0];
    event.detail.resources.unshift(ec2);

    // Act / Assess
    expect(imageOf(event).repository).toBe('inspector2');
  });

  it('falls back to the envelope account when the resource names no registry, and to no tags', () => {
    // Prepare
    const event = loadEvent(INSPECTOR_FINDING_2021);
    const ecr = event.detail.resources[0].details.awsEcrContainerImage;
    delete ecr.registry;
    delete ecr.imageTags;
    event.account = '999988887777';

    // Act
    const image = imageOf(event);

    // Assess
    expect(image.registryId).toBe('999988887777');
    expect(image.tags).toEqual([]);
  });

  it('returns an error for a finding without an ECR image resource (the EC2 sample)', () => {
    // Prepare
    const parsed = scanGateEventSchema.parse(loadEvent(INSPECTOR_FINDING_EC2));

    // Act
    const image = scannedImageOf(parsed);

    // Assess
    expect(image).toEqual({ error: 'Inspector2 Finding without an ECR container image resource' });
  });

  it('rejects a finding with no resources at all', () => {
    // Prepare
    const event = loadEvent(INSPECTOR_FINDING_2024);
    event.detail.resources = [];

    // Act / Assess
    expect(issuesOf(event).join('\n')).toContain('detail.resources');
  });
});

describe('repositoryNameFromArn', () => {
  it.each([
    ['arn:aws:ecr:us-east-1:123456789012:repository/web', 'web'],
    ['arn:aws:ecr:us-east-2:123456789012:repository/amazon/amazon-ecs-sample', 'amazon/amazon-ecs-sample'],
    ['arn:aws-cn:ecr:cn-north-1:123456789012:repository/team/app', 'team/app'],
    ['arn:aws-us-gov:ecr:us-gov-west-1:123456789012:repository/a/b/c', 'a/b/c'],
    ['services/orders', 'services/orders'],
    ['arn:aws:s3:::bucket/repository/x', 'arn:aws:s3:::bucket/repository/x'],
  ])('%s → %s', (input, expected) => {
    expect(repositoryNameFromArn(input)).toBe(expected);
  });
});

describe('scanGateEventSchema', () => {
  it('accepts every committed scan sample and tells them apart by detail-type', () => {
    const triggers = [
      ECR_SCAN,
      INSPECTOR_SCAN_2021,
      INSPECTOR_SCAN_2023,
      INSPECTOR_FINDING_2021,
      INSPECTOR_FINDING_2024,
    ].map((file) => imageOf(loadEvent(file)).trigger);
    expect(triggers).toEqual([
      'ecr-scan',
      'inspector-scan',
      'inspector-scan',
      'inspector-finding',
      'inspector-finding',
    ]);
  });

  it('rejects an ECR Image Action event', () => {
    expect(scanGateEventSchema.safeParse(loadEvent('ecr-image-action-push.json')).success).toBe(false);
  });

  it('rejects a scan detail-type from the wrong source', () => {
    // Prepare
    const event = loadEvent(ECR_SCAN);
    event.source = 'aws.inspector2';

    // Act / Assess
    expect(issuesOf(event).join('\n')).toContain('source');
  });

  it('names the missing field of a malformed event', () => {
    // Prepare
    const event = loadEvent(ECR_SCAN);
    delete event.detail['image-digest'];

    // Act / Assess: the issue points at the field, not just at "(root): Invalid input".
    expect(issuesOf(event)).toEqual([expect.stringContaining('detail.image-digest')]);
  });

  it('types its output as the union of the three events', () => {
    const parsed: ScanGateEvent = scanGateEventSchema.parse(loadEvent(INSPECTOR_SCAN_2021));
    expect(parsed['detail-type']).toBe('Inspector2 Scan');
  });
});
