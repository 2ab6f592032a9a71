/**
 * Throttling and partial failures against the real SDK. aws-sdk-client-mock replaces `client.send`, so the
 * middleware stack (serialisation, error parsing, the retry strategy) never runs under it: the first test
 * pins that down. Every other test here builds the real ECRClient with the project's CLIENT_DEFAULTS and
 * swaps only the HTTP layer for a scripted one that answers as ECR does on the wire (awsJson1_1, errors as
 * `__type` + `x-amzn-errortype`). Fake timers skip the SDK's backoff and adaptive rate-limiter waits.
 */
import { Readable } from 'node:stream';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EcrRegistry } from '../../functions/shared/adapters/ecr.js';
import { CLIENT_DEFAULTS } from '../../functions/shared/runtime/clients.js';
import { awsError } from '../fixtures/events.js';
import { digestOf } from '../fixtures/images.js';

interface WireRequest {
  readonly target: string;
  readonly attempt: string | undefined;
  readonly body: Record<string, unknown>;
}

type Answer =
  | { readonly status: number; readonly body: unknown; readonly errorType?: string }
  | ((body: Record<string, unknown>) => { status: number; body: unknown; errorType?: string });

/** An HTTP handler that records each request and answers from a script, as ECR would. */
class ScriptedEcr {
  readonly requests: WireRequest[] = [];
  constructor(private readonly script: Answer[]) {}

  async handle(request: { headers: Record<string, string>; body?: unknown }) {
    const raw = request.body instanceof Uint8Array ? new TextDecoder().decode(request.body) : request.body;
    const body = JSON.parse(typeof raw === 'string' ? raw : '{}') as Record<string, unknown>;
    this.requests.push({
      target: request.headers['x-amz-target'] ?? '',
      attempt: request.headers['amz-sdk-request'],
      body,
    });
    const next = this.script.length > 1 ? this.script.shift()! : this.script[0]!;
    const answer = typeof next === 'function' ? next(body) : next;
    const headers: Record<string, string> = {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-requestid': `req-${this.requests.length}`,
    };
    if (answer.errorType) headers['x-amzn-errortype'] = answer.errorType;
    return {
      response: {
        statusCode: answer.status,
        reason: undefined,
        headers,
        body: Readable.from([Buffer.from(JSON.stringify(answer.body))]),
      },
    };
  }
  updateHttpClientConfig(): void {}
  httpHandlerConfigs(): Record<string, never> {
    return {};
  }
  destroy(): void {}
}

const error = (code: string, message: string, status = 400): Answer => ({
  status,
  errorType: code,
  body: { __type: code, message },
});
const imagesPage = (...names: string[]): Answer => ({
  status: 200,
  body: {
    imageDetails: names.map((name) => ({
      registryId: '123456789012',
      repositoryName: 'web',
      imageDigest: digestOf(name),
      imageTags: [name],
      imageSizeInBytes: 100,
      // Epoch seconds as a JSON number, as ECR sends timestamps.
      imagePushedAt: 1780000000.0,
    })),
  },
});

/** The real ECR client with the project's defaults, talking to a scripted HTTP layer. */
function realClient(wire: ScriptedEcr): ECRClient {
  return new ECRClient({
    ...CLIENT_DEFAULTS,
    region: 'us-west-2',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    requestHandler: wire,
  });
}

/** Runs `work` while moving fake time on, so backoff and rate-limiter waits take no real time. */
async function withTimePassing<T>(work: () => Promise<T>): Promise<T> {
  const pending = work();
  pending.catch(() => {});
  for (let i = 0; i < 200; i++) await vi.advanceTimersByTimeAsync(5_000);
  return pending;
}

describe('aws-sdk-client-mock', () => {
  let ecr: { restore(): void } | undefined;
  afterEach(() => {
    // Restored, not reset: the other tests of this file need the real `send`.
    ecr?.restore();
  });

  it('bypasses the SDK retry strategy, so a mocked ThrottlingException fails at once', async () => {
    // Prepare
    const mock = mockClient(ECRClient);
    ecr = mock;
    mock
      .on(DescribeImagesCommand)
      .rejectsOnce(awsError('ThrottlingException', 'Rate exceeded'))
      .resolves({ imageDetails: [] });

    // Act
    const result = new EcrRegistry(new ECRClient({ ...CLIENT_DEFAULTS, region: 'us-west-2' })).listImages(
      'web',
    );

    // Assess
    await expect(result).rejects.toThrow('Rate exceeded');
    expect(mock.commandCalls(DescribeImagesCommand)).toHaveLength(1);
  });
});

describe('EcrRegistry on the real ECR client (CLIENT_DEFAULTS)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('uses the adaptive retry strategy with 8 attempts', async () => {
    // Prepare
    const client = realClient(new ScriptedEcr([imagesPage()]));

    // Act
    const strategy = await client.config.retryStrategy();
    const maxAttempts = await client.config.maxAttempts();

    // Assess
    expect((strategy as { mode?: string }).mode).toBe('adaptive');
    expect(maxAttempts).toBe(8);
  });

  it('ends with the images when a ThrottlingException is followed by success', async () => {
    // Prepare
    const wire = new ScriptedEcr([error('ThrottlingException', 'Rate exceeded'), imagesPage('a', 'b')]);
    const registry = new EcrRegistry(realClient(wire));

    // Act
    const images = await withTimePassing(() => registry.listImages('web'));

    // Assess
    expect(images.map((i) => i.tags)).toEqual([['a'], ['b']]);
    expect(images[0]?.pushedAt).toBe(1780000000000);
    expect(wire.requests.map((r) => [r.target, r.attempt])).toEqual([
      ['AmazonEC2ContainerRegistry_V20150921.DescribeImages', 'attempt=1; max=8'],
      ['AmazonEC2ContainerRegistry_V20150921.DescribeImages', 'attempt=2; max=8'],
    ]);
    expect(wire.requests[1]?.body).toEqual({
      repositoryName: 'web',
      maxResults: 1000,
      filter: { imageStatus: 'ANY' },
    });
  });

  it.each([
    [
      'LimitExceededException (classified as throttling by the SDK)',
      error('LimitExceededException', 'limit', 400),
    ],
    ['ServerException (HTTP 500)', error('ServerException', 'internal', 500)],
    ['HTTP 503', error('ServiceUnavailable', 'unavailable', 503)],
  ])('retries %s and then succeeds', async (_name, failure) => {
    // Prepare
    const wire = new ScriptedEcr([failure, failure, imagesPage('a')]);
    const registry = new EcrRegistry(realClient(wire));

    // Act
    const images = await withTimePassing(() => registry.listImages('web'));

    // Assess
    expect(images).toHaveLength(1);
    expect(wire.requests.map((r) => r.attempt)).toEqual([
      'attempt=1; max=8',
      'attempt=2; max=8',
      'attempt=3; max=8',
    ]);
  });

  it('gives up after 8 attempts of throttling and surfaces the ThrottlingException', async () => {
    // Prepare
    const wire = new ScriptedEcr([error('ThrottlingException', 'Rate exceeded')]);
    const registry = new EcrRegistry(realClient(wire));

    // Act
    const failure = await withTimePassing(() => registry.listImages('web')).catch((e: unknown) => e);

    // Assess
    expect(failure).toMatchObject({ name: 'ThrottlingException', message: 'Rate exceeded' });
    expect((failure as { $metadata: { attempts: number } }).$metadata.attempts).toBe(8);
    expect(wire.requests).toHaveLength(8);
  });

  it('does not retry an error that retrying cannot fix', async () => {
    // Prepare
    const wire = new ScriptedEcr([
      error('AccessDeniedException', 'not authorized to perform ecr:DescribeImages', 403),
    ]);
    const registry = new EcrRegistry(realClient(wire));

    // Act
    const failure = await withTimePassing(() => registry.listImages('web')).catch((e: unknown) => e);

    // Assess
    expect(failure).toMatchObject({ name: 'AccessDeniedException' });
    expect(wire.requests).toHaveLength(1);
  });

  it('reads RepositoryNotFoundException from the wire as "no such repository" after one request', async () => {
    // Prepare
    const wire = new ScriptedEcr([
      error('RepositoryNotFoundException', 'The repository with name web does not exist'),
    ]);
    const registry = new EcrRegistry(realClient(wire));

    // Act
    const repository = await withTimePassing(() => registry.describeRepository('web'));

    // Assess
    expect(repository).toBeUndefined();
    expect(wire.requests).toHaveLength(1);
  });

  it('sends BatchDeleteImage bodies of at most 100 ids and reads the HTTP 200 failures[] without an SDK retry', async () => {
    // Prepare
    const all = Array.from({ length: 250 }, (_, i) => digestOf(`img-${i}`));
    const gone = all[120]!;
    const wire = new ScriptedEcr([
      (body) => {
        const ids = body.imageIds as { imageDigest: string }[];
        return {
          status: 200,
          body: {
            imageIds: ids.filter((id) => id.imageDigest !== gone),
            failures: ids
              .filter((id) => id.imageDigest === gone)
              .map((imageId) => ({
                imageId,
                failureCode: 'ImageNotFound',
                failureReason: 'Requested image not found',
              })),
          },
        };
      },
    ]);
    const registry = new EcrRegistry(realClient(wire));

    // Act
    const outcome = await withTimePassing(() => registry.deleteImages('web', all));

    // Assess
    expect(wire.requests.map((r) => [r.target, (r.body.imageIds as unknown[]).length])).toEqual([
      ['AmazonEC2ContainerRegistry_V20150921.BatchDeleteImage', 100],
      ['AmazonEC2ContainerRegistry_V20150921.BatchDeleteImage', 100],
      ['AmazonEC2ContainerRegistry_V20150921.BatchDeleteImage', 50],
    ]);
    expect(outcome.deleted).toHaveLength(249);
    expect(outcome.failures).toEqual([]);
    expect(outcome.alreadyGone).toEqual([gone]);
  });
});
