/**
 * EcrScanReader, the scan gate's ECR adapter, against a mocked ECR client (aws-sdk-client-mock): every page of
 * DescribeImageScanFindings merged with the scan's own counts and completion time, a repeated nextToken as an
 * error, a scan that changed between pages, no scan as MISSING, image metadata, and tagging by re-putting the
 * manifest.
 */
import {
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  ECRClient,
  ImageNotFoundException,
  type ImageScanFinding,
  PutImageCommand,
  RepositoryNotFoundException,
  ScanNotFoundException,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  completeness,
  normaliseFindings,
  scanFindingsOutputSchema,
} from '../../functions/scan-gate/findings.js';
import { CallCounter, EcrScanReader } from '../../functions/shared/adapters/ecr.js';
import { awsError } from '../fixtures/events.js';
import { OCI_MANIFEST } from '../fixtures/images.js';
import { DIGEST, loadFindingsPages, REPO } from './helpers.js';

const ecr = mockClient(ECRClient);
const reader = (calls = new CallCounter()) =>
  new EcrScanReader(new ECRClient({ region: 'us-west-2' }), calls);

afterEach(() => {
  ecr.reset();
});

const basic = (i: number): ImageScanFinding => ({
  name: `CVE-2026-${String(i).padStart(5, '0')}`,
  severity: i % 2 === 0 ? 'HIGH' : 'LOW',
  attributes: [{ key: 'package_name', value: `pkg-${i}` }],
});

const notFound = (Exception: typeof ScanNotFoundException | typeof ImageNotFoundException, message: string) =>
  new Exception({ message, $metadata: { httpStatusCode: 400 } });

describe('EcrScanReader.scanFindings', () => {
  it('reads 2,500 findings as 3 pages of at most 1,000 and merges them in order', async () => {
    // Prepare
    const all = Array.from({ length: 2500 }, (_, i) => basic(i));
    const status = { status: 'COMPLETE' as const, description: 'The scan was completed successfully.' };
    ecr
      .on(DescribeImageScanFindingsCommand, { nextToken: undefined })
      .resolves({
        imageScanStatus: status,
        imageScanFindings: { findings: all.slice(0, 1000) },
        nextToken: 'p2',
      })
      .on(DescribeImageScanFindingsCommand, { nextToken: 'p2' })
      .resolves({
        imageScanStatus: status,
        imageScanFindings: { findings: all.slice(1000, 2000) },
        nextToken: 'p3',
      })
      .on(DescribeImageScanFindingsCommand, { nextToken: 'p3' })
      .resolves({ imageScanStatus: status, imageScanFindings: { findings: all.slice(2000) } });
    const calls = new CallCounter();

    // Act
    const out = await reader(calls).scanFindings(REPO, DIGEST);

    // Assess
    const requests = ecr.commandCalls(DescribeImageScanFindingsCommand).map((c) => c.args[0].input);
    expect(requests).toEqual(
      [undefined, 'p2', 'p3'].map((nextToken) => ({
        repositoryName: REPO,
        imageId: { imageDigest: DIGEST },
        maxResults: 1000,
        nextToken,
      })),
    );
    expect(out.imageScanStatus).toEqual(status);
    expect(out.imageScanFindings.findings).toHaveLength(2500);
    expect(out.imageScanFindings.findings.map((f) => (f as ImageScanFinding).name)).toEqual(
      all.map((f) => f.name),
    );
    expect(out.imageScanFindings.enhancedFindings).toEqual([]);
    expect(out.read).toEqual({ pages: 3, changedDuringRead: false });
    expect(calls.toJSON()).toEqual({ DescribeImageScanFindings: 3 });
    expect(normaliseFindings(scanFindingsOutputSchema.parse(out)).findings).toHaveLength(2500);
  });

  it('merges enhanced findings across pages too', async () => {
    // Prepare
    const enhanced = (id: string) => ({
      severity: 'CRITICAL',
      status: 'ACTIVE',
      packageVulnerabilityDetails: { vulnerabilityId: id },
    });
    ecr
      .on(DescribeImageScanFindingsCommand, { nextToken: undefined })
      .resolves({
        imageScanStatus: { status: 'ACTIVE' },
        imageScanFindings: { enhancedFindings: [enhanced('CVE-1')] },
        nextToken: 'p2',
      })
      .on(DescribeImageScanFindingsCommand, { nextToken: 'p2' })
      .resolves({ imageScanFindings: { enhancedFindings: [enhanced('CVE-2')] } });

    // Act
    const out = await reader().scanFindings(REPO, DIGEST);

    // Assess: a page without imageScanStatus keeps the status already read.
    expect(out.imageScanStatus?.status).toBe('ACTIVE');
    expect(normaliseFindings(scanFindingsOutputSchema.parse(out)).findings.map((f) => f.id)).toEqual([
      'CVE-1',
      'CVE-2',
    ]);
  });

  /** A recorded page as the SDK hands it over: timestamps deserialised to Dates. */
  const sdkPage = (page: Record<string, unknown>) => {
    const found = page.imageScanFindings as Record<string, unknown>;
    const at = (v: unknown) => (typeof v === 'number' ? new Date(v * 1000) : v);
    return {
      ...page,
      imageScanFindings: {
        ...found,
        imageScanCompletedAt: at(found.imageScanCompletedAt),
        vulnerabilitySourceUpdatedAt: at(found.vulnerabilitySourceUpdatedAt),
      },
    } as never;
  };

  it("keeps the scan's counts, completion and source times, so fewer findings than counted show", async () => {
    // Prepare: two recorded pages whose counts say 2 MEDIUM and 1 HIGH; they list one MEDIUM each.
    const [first, second] = loadFindingsPages('basic-pages-short');
    ecr
      .on(DescribeImageScanFindingsCommand, { nextToken: undefined })
      .resolves(sdkPage(first!))
      .on(DescribeImageScanFindingsCommand, { nextToken: 'page-2' })
      .resolves(sdkPage(second!));

    // Act
    const out = await reader().scanFindings(REPO, DIGEST);

    // Assess
    expect(out.imageScanFindings).toMatchObject({
      imageScanCompletedAt: new Date(1579839105000),
      vulnerabilitySourceUpdatedAt: new Date(1579811117000),
      findingSeverityCounts: { MEDIUM: 2, HIGH: 1 },
    });
    expect(out.imageScanFindings.findings).toHaveLength(2);
    expect(out.read).toEqual({ pages: 2, changedDuringRead: false });
    expect(completeness(scanFindingsOutputSchema.parse(out))).toEqual({
      complete: false,
      problems: ['findingSeverityCounts says 1 HIGH, 0 listed'],
      completedAt: 1579839105000,
    });
  });

  it('says the scan changed when a later page gives another completion time or other counts', async () => {
    // Prepare: a continuous scan finished between the two pages.
    const [first, second] = loadFindingsPages('basic-pages-short');
    const later = {
      ...second,
      imageScanFindings: {
        ...(second!.imageScanFindings as object),
        imageScanCompletedAt: 1579839999.0,
        findingSeverityCounts: { MEDIUM: 2 },
      },
    };
    ecr
      .on(DescribeImageScanFindingsCommand, { nextToken: undefined })
      .resolves(sdkPage(first!))
      .on(DescribeImageScanFindingsCommand, { nextToken: 'page-2' })
      .resolves(sdkPage(later));

    // Act
    const out = await reader().scanFindings(REPO, DIGEST);

    // Assess: the first page's values are kept, and the read is marked.
    expect(out.imageScanFindings.imageScanCompletedAt).toEqual(new Date(1579839105000));
    expect(out.read).toEqual({ pages: 2, changedDuringRead: true });
    expect(completeness(scanFindingsOutputSchema.parse(out)).problems).toContain(
      'the scan changed while its 2 pages were read',
    );
  });

  it('stops with an error when a nextToken comes back a second time, instead of paging forever', async () => {
    // Prepare: page 2 points back at itself.
    const page = (nextToken: string) => ({
      imageScanStatus: { status: 'COMPLETE' as const },
      imageScanFindings: { findings: [basic(1)] },
      nextToken,
    });
    ecr
      .on(DescribeImageScanFindingsCommand, { nextToken: undefined })
      .resolves(page('p2'))
      .on(DescribeImageScanFindingsCommand, { nextToken: 'p2' })
      .resolves(page('p2'));
    const calls = new CallCounter();

    // Act / Assess
    await expect(reader(calls).scanFindings(REPO, DIGEST)).rejects.toThrow(
      `DescribeImageScanFindings of ${REPO}@${DIGEST} returned the nextToken of page 2 before: stopped rather than page forever`,
    );
    expect(calls.toJSON()).toEqual({ DescribeImageScanFindings: 2 });
  });

  it('reports no scan (ScanNotFoundException) as MISSING, a normal state', async () => {
    // Prepare
    ecr
      .on(DescribeImageScanFindingsCommand)
      .rejects(notFound(ScanNotFoundException, 'Image scan does not exist'));

    // Act
    const out = await reader().scanFindings(REPO, DIGEST);

    // Assess
    expect(out).toEqual({
      imageScanStatus: { status: 'MISSING', description: 'no scan for this image' },
      imageScanFindings: { findings: [], enhancedFindings: [] },
    });
    expect(normaliseFindings(scanFindingsOutputSchema.parse(out))).toEqual({
      status: 'MISSING',
      findings: [],
      completeness: { complete: true, problems: [] },
    });
  });

  it.each(['FAILED', 'UNSUPPORTED_IMAGE'])(
    'passes a %s scan through with its description',
    async (status) => {
      // Prepare
      ecr.on(DescribeImageScanFindingsCommand).resolves({
        imageScanStatus: { status: status as never, description: 'UnsupportedImageError: ...' },
      });

      // Act
      const out = await reader().scanFindings(REPO, DIGEST);

      // Assess
      expect(out.imageScanStatus).toEqual({ status, description: 'UnsupportedImageError: ...' });
    },
  );

  it('rethrows any other error (the function fails and is retried)', async () => {
    // Prepare
    ecr.on(DescribeImageScanFindingsCommand).rejects(awsError('ServerException', 'internal error', 'server'));

    // Act / Assess
    await expect(reader().scanFindings(REPO, DIGEST)).rejects.toThrow('internal error');
  });
});

describe('EcrScanReader.image and digestOfTag', () => {
  it('returns the tags, push time and media type of an image', async () => {
    // Prepare
    ecr.on(DescribeImagesCommand, { repositoryName: REPO, imageIds: [{ imageDigest: DIGEST }] }).resolves({
      imageDetails: [
        {
          imageDigest: DIGEST,
          imageTags: ['v1', 'latest'],
          imagePushedAt: new Date('2026-05-01T00:00:00Z'),
          imageManifestMediaType: OCI_MANIFEST,
        },
      ],
    });

    // Act / Assess
    expect(await reader().image(REPO, DIGEST)).toEqual({
      tags: ['v1', 'latest'],
      pushedAt: Date.parse('2026-05-01T00:00:00Z'),
      mediaType: OCI_MANIFEST,
    });
  });

  it('returns undefined for an image or repository that no longer exists', async () => {
    // Prepare
    ecr
      .on(DescribeImagesCommand)
      .rejectsOnce(notFound(ImageNotFoundException, 'gone'))
      .rejectsOnce(new RepositoryNotFoundException({ message: 'gone', $metadata: { httpStatusCode: 400 } }))
      .rejects(awsError('ThrottlingException', 'Rate exceeded'));

    // Act / Assess
    expect(await reader().image(REPO, DIGEST)).toBeUndefined();
    expect(await reader().image(REPO, DIGEST)).toBeUndefined();
    await expect(reader().image(REPO, DIGEST)).rejects.toThrow('Rate exceeded');
  });

  it('reads the digest a tag points at, or undefined for an unknown tag', async () => {
    // Prepare
    ecr
      .on(DescribeImagesCommand, { imageIds: [{ imageTag: 'v1' }] })
      .resolves({ imageDetails: [{ imageDigest: DIGEST, imageTags: ['v1'] }] })
      .on(DescribeImagesCommand, { imageIds: [{ imageTag: 'nope' }] })
      .rejects(notFound(ImageNotFoundException, 'gone'));

    // Act / Assess
    expect(await reader().digestOfTag(REPO, 'v1')).toBe(DIGEST);
    expect(await reader().digestOfTag(REPO, 'nope')).toBeUndefined();
  });
});

describe('EcrScanReader.addTag and removeTag', () => {
  it('adds a tag by re-putting the image manifest (BatchGetImage, then PutImage with the tag and digest)', async () => {
    // Prepare
    const manifest = JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: {}, layers: [] });
    ecr.on(BatchGetImageCommand).resolves({
      images: [
        { imageId: { imageDigest: DIGEST }, imageManifest: manifest, imageManifestMediaType: OCI_MANIFEST },
      ],
    });
    ecr.on(PutImageCommand).resolves({});
    const calls = new CallCounter();

    // Act
    await reader(calls).addTag(REPO, DIGEST, 'quarantined-0123456789ab');

    // Assess
    expect(ecr.commandCalls(BatchGetImageCommand)[0]?.args[0].input).toEqual({
      repositoryName: REPO,
      imageIds: [{ imageDigest: DIGEST }],
    });
    expect(ecr.commandCalls(PutImageCommand).map((c) => c.args[0].input)).toEqual([
      {
        repositoryName: REPO,
        imageManifest: manifest,
        imageManifestMediaType: OCI_MANIFEST,
        imageTag: 'quarantined-0123456789ab',
        imageDigest: DIGEST,
      },
    ]);
    expect(calls.toJSON()).toEqual({ BatchGetImage: 1, PutImage: 1 });
  });

  it('refuses to tag an image whose manifest cannot be read', async () => {
    // Prepare
    ecr.on(BatchGetImageCommand).resolves({
      images: [],
      failures: [{ imageId: { imageDigest: DIGEST }, failureCode: 'ImageNotFound', failureReason: 'gone' }],
    });

    // Act / Assess
    await expect(reader().addTag(REPO, DIGEST, 't')).rejects.toThrow(
      `cannot read the manifest of ${REPO}@${DIGEST}`,
    );
    expect(ecr.commandCalls(PutImageCommand)).toHaveLength(0);
  });

  it('removes a tag with BatchDeleteImage by tag, never by digest', async () => {
    // Prepare
    ecr.on(BatchDeleteImageCommand).resolves({ imageIds: [{ imageTag: 'quarantined-0123456789ab' }] });

    // Act
    await reader().removeTag(REPO, 'quarantined-0123456789ab');

    // Assess
    expect(ecr.commandCalls(BatchDeleteImageCommand).map((c) => c.args[0].input)).toEqual([
      { repositoryName: REPO, imageIds: [{ imageTag: 'quarantined-0123456789ab' }] },
    ]);
  });

  it('throws with the code and reason when ECR answers the tag removal with a failure', async () => {
    // Prepare
    ecr.on(BatchDeleteImageCommand).resolves({
      imageIds: [],
      failures: [
        {
          imageId: { imageTag: 'quarantined-0123456789ab' },
          failureCode: 'KmsError',
          failureReason: 'The KMS key is disabled',
        },
      ],
    });

    // Act / Assess
    await expect(reader().removeTag(REPO, 'quarantined-0123456789ab')).rejects.toThrow(
      `removing tag quarantined-0123456789ab from ${REPO} failed: KmsError The KMS key is disabled`,
    );
  });

  it('treats ImageNotFound as the tag already removed', async () => {
    // Prepare
    ecr.on(BatchDeleteImageCommand).resolves({
      imageIds: [],
      failures: [
        {
          imageId: { imageTag: 'quarantined-0123456789ab' },
          failureCode: 'ImageNotFound',
          failureReason: 'gone',
        },
      ],
    });

    // Act / Assess
    await expect(reader().removeTag(REPO, 'quarantined-0123456789ab')).resolves.toBeUndefined();
  });
});
