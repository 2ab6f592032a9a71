/**
 * The small services of the local cloud: SQS (wire front of ./sqs.ts), an SNS sink that keeps every
 * message, and ECS and Lambda just deep enough to declare images in use.
 */
import { createHash, randomUUID } from 'node:crypto';
import { ServiceError } from './server.js';
import type { LocalQueue } from './sqs.js';
import { DEFAULT_ENVIRONMENT, type LocalEnvironment } from './template.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/** SQS over the awsJson1.0 protocol the SDK uses: SendMessage and SendMessageBatch. */
export class SqsService {
  constructor(private readonly queues: ReadonlyMap<string, LocalQueue>) {}

  private queue(url: unknown): LocalQueue {
    const id =
      String(url ?? '')
        .split('/')
        .pop() ?? '';
    const q = this.queues.get(id);
    if (!q)
      throw new ServiceError(
        'AWS.SimpleQueueService.NonExistentQueue',
        `The specified queue does not exist: ${String(url)}`,
      );
    return q;
  }

  async handle(op: string, input: Record<string, unknown>): Promise<{ body: unknown }> {
    switch (op) {
      case 'SendMessage': {
        const q = this.queue(input.QueueUrl);
        const body = String(input.MessageBody ?? '');
        const sent = this.send(q, body, input);
        return { body: { MessageId: sent.messageId, MD5OfMessageBody: md5(body) } };
      }
      case 'SendMessageBatch': {
        const q = this.queue(input.QueueUrl);
        const entries = (input.Entries ?? []) as Record<string, unknown>[];
        if (entries.length === 0 || entries.length > 10) {
          throw new ServiceError(
            'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
            'Maximum number of entries per request are 10.',
          );
        }
        const Successful: unknown[] = [];
        const Failed: unknown[] = [];
        for (const e of entries) {
          try {
            const body = String(e.MessageBody ?? '');
            const sent = this.send(q, body, e);
            Successful.push({ Id: e.Id, MessageId: sent.messageId, MD5OfMessageBody: md5(body) });
          } catch (err) {
            Failed.push({
              Id: e.Id,
              SenderFault: true,
              Code: (err as { code?: string }).code ?? 'InvalidParameterValue',
              Message: (err as Error).message,
            });
          }
        }
        return { body: { Successful, Failed } };
      }
      case 'GetQueueAttributes':
        return {
          body: { Attributes: { ApproximateNumberOfMessages: String(this.queue(input.QueueUrl).depth) } },
        };
      default:
        throw new ServiceError('UnsupportedOperation', `the local SQS does not implement ${op}`);
    }
  }

  private send(q: LocalQueue, body: string, input: Record<string, unknown>) {
    try {
      return q.send(body, {
        groupId: input.MessageGroupId as string | undefined,
        deduplicationId: input.MessageDeduplicationId as string | undefined,
        attributes: (input.MessageAttributes ?? {}) as never,
      });
    } catch (e) {
      throw new ServiceError((e as { code?: string }).code ?? 'InvalidParameterValue', (e as Error).message);
    }
  }
}

export interface PublishedMessage {
  readonly topicArn: string;
  readonly subject?: string | undefined;
  readonly message: string;
  readonly at: string;
  readonly messageId: string;
  /** `MessageAttributes` of the Publish call, as decoded (`{name: {DataType, StringValue}}`). */
  readonly attributes?: Readonly<Record<string, { DataType: string; StringValue?: string }>> | undefined;
}

/**
 * The body SNS delivers to an SQS subscription without raw message delivery: the notification envelope, with
 * SNS's members in SNS's order and layout (`"Name" : value`, two-space indent). `Subject` is present only when
 * the message had one, `MessageAttributes` only when it had some (as `{Type, Value}`). The signature is a
 * local placeholder (SignatureVersion 1 is SHA1withRSA over the canonical message; nothing local verifies it).
 */
export function snsEnvelope(message: PublishedMessage, subscriptionArn: string): string {
  const region = message.topicArn.split(':')[3] ?? 'us-east-1';
  const attributes = Object.entries(message.attributes ?? {});
  const members: [string, unknown][] = [
    ['Type', 'Notification'],
    ['MessageId', message.messageId],
    ['TopicArn', message.topicArn],
    ...(message.subject !== undefined ? ([['Subject', message.subject]] as [string, unknown][]) : []),
    ['Message', message.message],
    ['Timestamp', message.at],
    ['SignatureVersion', '1'],
    ['Signature', Buffer.from(`local-signature:${message.messageId}`).toString('base64')],
    ['SigningCertURL', `https://sns.${region}.amazonaws.com/SimpleNotificationService-local.pem`],
    [
      'UnsubscribeURL',
      `https://sns.${region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${subscriptionArn}`,
    ],
    ...(attributes.length > 0
      ? ([
          [
            'MessageAttributes',
            Object.fromEntries(
              attributes.map(([name, v]) => [name, { Type: v.DataType, Value: v.StringValue ?? '' }]),
            ),
          ],
        ] as [string, unknown][])
      : []),
  ];
  return `{\n${members.map(([k, v]) => `  ${JSON.stringify(k)} : ${JSON.stringify(v)}`).join(',\n')}\n}`;
}

/** SNS sink (query protocol): keeps every published message and tells a listener as it arrives. */
export class SnsSink {
  readonly messages: PublishedMessage[] = [];
  private readonly listeners: ((m: PublishedMessage) => void)[] = [];

  onMessage(listener: (m: PublishedMessage) => void): void {
    this.listeners.push(listener);
  }

  async handle(op: string, input: Record<string, unknown>): Promise<{ body: unknown }> {
    if (op !== 'Publish') throw new ServiceError('InvalidAction', `the local SNS does not implement ${op}`);
    const message: PublishedMessage = {
      topicArn: String(input.TopicArn ?? ''),
      subject: input.Subject === undefined ? undefined : String(input.Subject),
      message: String(input.Message ?? ''),
      at: new Date().toISOString(),
      messageId: randomUUID(),
      ...(input.MessageAttributes && typeof input.MessageAttributes === 'object'
        ? { attributes: input.MessageAttributes as PublishedMessage['attributes'] }
        : {}),
    };
    this.messages.push(message);
    for (const l of this.listeners) l(message);
    return { body: { MessageId: message.messageId } };
  }
}

/** ECS, deep enough to run services whose tasks use images (by digest, as ECS pins them). */
export class EcsService {
  private readonly services: {
    cluster: string;
    name: string;
    taskDefinition: string;
    image: string;
    digest?: string | undefined;
  }[] = [];
  private readonly taskDefinitions = new Map<string, string[]>();

  /** @param env where the services run: their ARNs name its account and region */
  constructor(private readonly env: LocalEnvironment = DEFAULT_ENVIRONMENT) {}

  /** Declares a running service: one task of `image` (`…/repo:tag` or `…/repo@sha256:…`) with its resolved digest. */
  runService(cluster: string, name: string, image: string, digest?: string): void {
    const family = name;
    const revision = [...this.taskDefinitions.keys()].filter((k) => k.startsWith(`${family}:`)).length + 1;
    const td = `arn:aws:ecs:${this.env.region}:${this.env.account}:task-definition/${family}:${revision}`;
    this.taskDefinitions.set(`${family}:${revision}`, [image]);
    this.services.push({ cluster, name, taskDefinition: td, image, digest });
  }

  async handle(op: string, input: Record<string, unknown>): Promise<{ body: unknown }> {
    const clusterArn = (c: string) => `arn:aws:ecs:${this.env.region}:${this.env.account}:cluster/${c}`;
    const clusterOf = (v: unknown) =>
      String(v ?? 'default')
        .split('/')
        .pop()!;
    switch (op) {
      case 'ListClusters':
        return { body: { clusterArns: [...new Set(this.services.map((s) => s.cluster))].map(clusterArn) } };
      case 'ListTasks':
        return {
          body: {
            taskArns: this.services
              .filter((s) => s.cluster === clusterOf(input.cluster))
              .map((s) => `arn:aws:ecs:${this.env.region}:${this.env.account}:task/${s.cluster}/${s.name}-1`),
          },
        };
      case 'DescribeTasks': {
        const wanted = new Set((input.tasks ?? []) as string[]);
        const tasks = this.services
          .map((s) => ({
            s,
            arn: `arn:aws:ecs:${this.env.region}:${this.env.account}:task/${s.cluster}/${s.name}-1`,
          }))
          .filter(({ arn }) => wanted.has(arn))
          .map(({ s, arn }) => ({
            taskArn: arn,
            lastStatus: 'RUNNING',
            containers: [{ name: s.name, image: s.image, imageDigest: s.digest }],
          }));
        return { body: { tasks, failures: [] } };
      }
      case 'ListServices':
        return {
          body: {
            serviceArns: this.services
              .filter((s) => s.cluster === clusterOf(input.cluster))
              .map(
                (s) => `arn:aws:ecs:${this.env.region}:${this.env.account}:service/${s.cluster}/${s.name}`,
              ),
          },
        };
      case 'DescribeServices': {
        const wanted = new Set(((input.services ?? []) as string[]).map((a) => a.split('/').pop()));
        return {
          body: {
            services: this.services
              .filter((s) => s.cluster === clusterOf(input.cluster) && wanted.has(s.name))
              .map((s) => ({
                serviceName: s.name,
                deployments: [{ status: 'PRIMARY', taskDefinition: s.taskDefinition }],
              })),
            failures: [],
          },
        };
      }
      case 'ListTaskDefinitionFamilies':
        return {
          body: { families: [...new Set([...this.taskDefinitions.keys()].map((k) => k.split(':')[0]!))] },
        };
      case 'ListTaskDefinitions': {
        const family = String(input.familyPrefix ?? '');
        const arns = [...this.taskDefinitions.keys()]
          .filter((k) => k.split(':')[0] === family)
          .sort((a, b) => Number(b.split(':')[1]) - Number(a.split(':')[1]))
          .slice(0, Number(input.maxResults ?? 100))
          .map((k) => `arn:aws:ecs:${this.env.region}:${this.env.account}:task-definition/${k}`);
        return { body: { taskDefinitionArns: arns } };
      }
      case 'DescribeTaskDefinition': {
        const key =
          String(input.taskDefinition ?? '')
            .split('/')
            .pop() ?? '';
        const images = this.taskDefinitions.get(key);
        if (!images) throw new ServiceError('ClientException', 'Unable to describe task definition.');
        return {
          body: {
            taskDefinition: {
              taskDefinitionArn: input.taskDefinition,
              containerDefinitions: images.map((image, i) => ({ name: `c${i}`, image })),
            },
          },
        };
      }
      default:
        throw new ServiceError('UnsupportedOperation', `the local ECS does not implement ${op}`);
    }
  }
}

/** Lambda (REST-JSON), deep enough to list container-image functions and their versions. */
export class LambdaService {
  private readonly functions = new Map<string, { imageUri: string; resolved: string }>();

  addImageFunction(name: string, imageUri: string, resolvedImageUri: string): void {
    this.functions.set(name, { imageUri, resolved: resolvedImageUri });
  }

  async handle(
    _op: string,
    _input: unknown,
    raw: { path: string; method: string },
  ): Promise<{ body: unknown; status?: number }> {
    const url = new URL(raw.path, 'http://local');
    const parts = url.pathname.split('/').filter(Boolean); // ['2015-03-31','functions', name?, 'versions'?]
    if (parts[1] !== 'functions')
      throw new ServiceError('ResourceNotFoundException', `no route ${raw.path}`, 404);
    const name = parts[2] ? decodeURIComponent(parts[2]) : undefined;
    if (!name) {
      return {
        body: {
          Functions: [...this.functions.keys()].map((FunctionName) => ({
            FunctionName,
            PackageType: 'Image',
          })),
        },
      };
    }
    const fn = this.functions.get(name);
    if (!fn) throw new ServiceError('ResourceNotFoundException', `Function not found: ${name}`, 404);
    if (parts[3] === 'versions')
      return { body: { Versions: [{ FunctionName: name, Version: '$LATEST', PackageType: 'Image' }] } };
    return {
      body: {
        Configuration: { FunctionName: name, PackageType: 'Image' },
        Code: { RepositoryType: 'ECR', ImageUri: fn.imageUri, ResolvedImageUri: fn.resolved },
      },
    };
  }
}
