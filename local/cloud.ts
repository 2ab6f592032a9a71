/**
 * The local cloud: everything ECR Steward talks to, on 127.0.0.1, wired from the synthesized template.
 * - an ECR emulator (wire protocol) that emits ECR's events, ECS and Lambda stubs, an SNS sink, SQS;
 * - DynamoDB: dynalite, a real implementation, with the template's tables;
 * - the template's Lambda function URLs, each on its own port, checking SigV4 signatures of the local
 *   principals (alice, ops, mallory) and the function's resource policy before the function runs;
 * - an EventBridge router that matches events against the template's rules and delivers them to the
 *   template's targets: the functions bundled by esbuild, run in Lambda-like execution environments with
 *   the environment the template gives them.
 * - custom event buses with PutEvents (local/events-service.ts) and their resource policies, SNS subscriptions
 *   that deliver to the template's queues, DynamoDB streams delivered through event source mappings
 *   (local/streams.ts); SQS mappings keep their batch size and batching window (local/sqs.ts).
 * Nothing in functions/ knows it is local: every client reaches this through AWS_ENDPOINT_URL.
 *
 * One cloud is one environment (an account and a region, 000000000000 / us-east-1 unless told); a local
 * organization (local/org.ts) runs one per environment behind a front door (local/front-door.ts).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { type DynamoProxy, startDynamoProxy } from './dynamo-proxy.js';
import { EcrEmulator, type ReplicationRule } from './ecr-emulator.js';
import {
  EventRouter,
  rulesFromTemplate,
  schedulesFromTemplate,
  type TemplateSchedule,
} from './eventbridge.js';
import { type BusEvent, EventsService } from './events-service.js';
import type { FaultInjector } from './faults.js';
import { callerAccount, EVERY_ACCOUNT, type LocalOrganization } from './front-door.js';
import { type FunctionUrlCall, type FunctionUrlServer, startFunctionUrl } from './function-url.js';
import { FunctionPool, type InvokeResult } from './functions.js';
import { LOCAL_PRINCIPALS, type LocalPrincipal } from './principals.js';
import { type LocalServer, ServiceError, startLocalServer } from './server.js';
import { EcsService, LambdaService, SnsSink, SqsService, snsEnvelope } from './services.js';
import { LocalQueue, waitsForBatch } from './sqs.js';
import { StreamPoller, TableStream } from './streams.js';
import {
  LOCAL_ACCOUNT,
  LOCAL_REGION,
  type LocalEnvironment,
  type MappingDef,
  readTemplate,
  resolveDeep,
  STREAM_LABEL,
  type Template,
  tableArn,
  topicArn,
} from './template.js';

export interface LocalCloudOptions {
  /** The cloud assembly directory (`cdk synth` output). */
  readonly cdkOut: string;
  readonly stackName?: string;
  readonly faults?: FaultInjector;
  /**
   * Also inject `faults` into DynamoDB (operations `dynamodb:<Operation>`): clients reach dynalite through a
   * fault proxy (local/dynamo-proxy.ts). Tables are created directly, before the proxy is used. @default false
   */
  readonly dynamoFaults?: boolean;
  /** Where function logs go. */
  readonly logDir: string;
  /** Visibility timeout used locally instead of the template's minutes. @default 300 ms */
  readonly visibilityMs?: number;
  /** Called for every event the router delivers and every message the SNS sink receives. */
  readonly onActivity?: (line: string) => void;
  /** The account the cloud is. @default LOCAL_ACCOUNT (000000000000) */
  readonly account?: string;
  /** The region the cloud is in. @default LOCAL_REGION (us-east-1) */
  readonly region?: string;
  /** The access key the cloud's functions and CLI sign with. @default 'local' */
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  /**
   * The endpoint the cloud's functions and CLI use for every service (DynamoDB included): a local
   * organization's front door. @default this cloud's own server and DynamoDB
   */
  readonly clientEndpoint?: string;
  /** The organization callers belong to, for resource policies. @default every account in o-local0example */
  readonly organization?: LocalOrganization;
  /** Whether STS AssumeRole may hand out credentials of `account`. @default only this cloud's account */
  readonly isLocalAccount?: (account: string) => boolean;
  /**
   * The endpoint of an empty dynalite started elsewhere, for the cloud's tables (benchmarks start one in a
   * process of its own, bench/dynalite-process.mjs, so DynamoDB's work runs on another core, as the service
   * would). @default a dynalite in this process
   */
  readonly dynamoTarget?: string;
  /** Wait between retries of a failed stream batch. @default 50 ms × attempt, at most 1 s */
  readonly streamRetryDelayMs?: (attempt: number) => number;
}

export interface DeliveryRecord {
  readonly at: number;
  readonly kind: 'invoke' | 'batch' | 'dead-letter';
  readonly target: string;
  readonly ok: boolean;
  readonly detail?: string;
}

export class LocalCloud {
  /**
   * The local cloud's clock, as an offset from the real one: `advanceClock` lets hours pass at once for the
   * emulator and for every function invocation (notices that fall due, archives that reach their purge).
   */
  clockOffsetMs = 0;
  /** Where this cloud is: the account and region of its ARNs, registry, queues and topics. */
  readonly env: LocalEnvironment;
  readonly ecr: EcrEmulator;
  readonly ecs: EcsService;
  readonly lambda = new LambdaService();
  readonly sns = new SnsSink();
  readonly queues = new Map<string, LocalQueue>();
  readonly deliveries: DeliveryRecord[] = [];
  /** Who can sign calls to the function URLs (each with its own access key); see local/principals.ts. */
  readonly principals: readonly LocalPrincipal[] = LOCAL_PRINCIPALS;
  /** Every call a function URL answered, refused ones included, oldest first. */
  readonly urlCalls: FunctionUrlCall[] = [];
  /** The function URLs being served, by the logical id of the function they invoke. */
  private readonly urlServers = new Map<string, FunctionUrlServer>();
  /** The default bus's router (ECR's and every AWS service's events arrive there). */
  readonly router: EventRouter;
  /** Every bus's router by bus name, the default bus included. */
  readonly busRouters = new Map<string, EventRouter>();
  /** PutEvents, for the template's buses. */
  events!: EventsService;
  /** The streams of the template's tables that have one, by table name. */
  readonly streams = new Map<string, TableStream>();
  /** The event source mappings reading those streams. */
  readonly streamPollers: StreamPoller[] = [];
  readonly schedules: readonly TemplateSchedule[];
  functions!: FunctionPool;
  private server!: LocalServer;
  private dynamo!: { close(cb?: () => void): void; address(): AddressInfo | string | null };
  private dynamoProxy?: DynamoProxy;
  private mappings: MappingDef[] = [];
  private pumping = new Set<MappingDef>();
  private asyncInFlight = 0;
  private timer?: NodeJS.Timeout;
  private readonly template: Template;
  endpoint = '';
  /** Whether ECR's events reach the bus; off while a scenario seeds repositories with pre-existing images. */
  eventsOn = true;
  dynamoEndpoint = '';
  /** Logical ids of the template's functions, queues, tables and topics, by role. */
  ids!: ReturnType<typeof readTemplate>;

  private constructor(private readonly opts: LocalCloudOptions) {
    const stack = opts.stackName ?? 'EcrSteward';
    this.template = JSON.parse(
      readFileSync(path.join(opts.cdkOut, `${stack}.template.json`), 'utf8'),
    ) as Template;
    this.env = { account: opts.account ?? LOCAL_ACCOUNT, region: opts.region ?? LOCAL_REGION };
    this.ecr = new EcrEmulator({
      accountId: this.env.account,
      region: this.env.region,
      now: () => new Date(Date.now() + this.clockOffsetMs),
    });
    this.ecs = new EcsService(this.env);
    this.router = new EventRouter(rulesFromTemplate(this.template));
    this.busRouters.set('default', this.router);
    this.schedules = schedulesFromTemplate(this.template);
  }

  static async start(opts: LocalCloudOptions): Promise<LocalCloud> {
    const cloud = new LocalCloud(opts);
    await cloud.boot();
    return cloud;
  }

  private async boot(): Promise<void> {
    // Lambda loads a bundle as CommonJS; here the project's package.json says "module", so the assembly says otherwise.
    writeFileSync(path.join(this.opts.cdkOut, 'package.json'), '{ "type": "commonjs" }\n');
    const sqs = new SqsService(this.queues);
    this.server = await startLocalServer({
      handlers: {
        ecr: (op, input, raw) => this.ecr.handle(op, input, raw),
        ecs: (op, input) => this.ecs.handle(op, input),
        sqs: (op, input) => sqs.handle(op, input),
        sns: (op, input) => this.sns.handle(op, input),
        // The local caller: the one principal the CLI runs as in its account.
        sts: async (
          op,
          input: { RoleArn?: string; RoleSessionName?: string; DurationSeconds?: string },
          raw,
        ) => this.sts(op, input, raw.headers),
        events: (op, input, raw) => this.events.handle(op, input, raw),
        lambda: (op, input, raw) => this.lambda.handle(op, input, raw),
        tagging: async (op) => {
          if (op !== 'GetResources') throw new Error(`tagging ${op} not implemented`);
          return { body: { ResourceTagMappingList: this.ecr.taggedRepositories(), PaginationToken: '' } };
        },
      },
      faults: this.opts.faults,
    });
    this.endpoint = this.server.url;
    if (this.opts.dynamoTarget) this.dynamoEndpoint = this.opts.dynamoTarget;
    else {
      const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
      this.dynamo = server as never;
      this.dynamoEndpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    }

    this.ids = readTemplate(this.template, this.opts.cdkOut, this.endpoint, this.env);
    for (const bus of this.ids.buses.values())
      if (bus.name !== 'default')
        this.busRouters.set(bus.name, new EventRouter(rulesFromTemplate(this.template, bus.name)));
    this.events = new EventsService({
      ...this.env,
      buses: new Map([...this.ids.buses.values()].map((b) => [b.name, b.statements])),
      organization: this.opts.organization ?? EVERY_ACCOUNT,
      now: () => this.now(),
      deliver: (bus, event) => this.publishTo(bus, event),
    });
    for (const def of this.ids.queues.values()) {
      this.queues.set(
        def.logicalId,
        new LocalQueue({
          logicalId: def.logicalId,
          fifo: def.fifo,
          contentBasedDeduplication: def.contentBasedDeduplication,
          redrive: def.redrive,
          visibilityMs: Math.min(def.visibilityTimeoutSeconds * 1000, this.opts.visibilityMs ?? 300),
        }),
      );
    }
    const ddb = new DynamoDBClient({
      endpoint: this.dynamoEndpoint,
      region: LOCAL_REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    for (const table of this.ids.tables.values()) {
      await ddb.send(
        new CreateTableCommand({
          TableName: table.name,
          KeySchema: table.keySchema as never,
          AttributeDefinitions: table.attributeDefinitions as never,
          BillingMode: 'PAY_PER_REQUEST',
          ...(table.globalSecondaryIndexes.length > 0
            ? {
                GlobalSecondaryIndexes: table.globalSecondaryIndexes.map((g) => ({
                  IndexName: g.IndexName,
                  KeySchema: g.KeySchema as never,
                  Projection: (g.Projection ?? { ProjectionType: 'ALL' }) as never,
                })),
              }
            : {}),
        }),
      );
      // dynalite answers CREATING and flips the status on a timer: wait, so no first call finds no table.
      for (let attempt = 0; attempt < 200; attempt++) {
        const { Table } = await ddb.send(new DescribeTableCommand({ TableName: table.name }));
        const indexes = Table?.GlobalSecondaryIndexes ?? [];
        if (Table?.TableStatus === 'ACTIVE' && indexes.every((i) => i.IndexStatus === 'ACTIVE')) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    ddb.destroy();
    for (const table of this.ids.tables.values()) {
      if (!table.streamViewType) continue;
      const keyNames = [...table.keySchema]
        .sort((a, b) => (a.KeyType === 'HASH' ? -1 : b.KeyType === 'HASH' ? 1 : 0))
        .map((k) => k.AttributeName);
      const arn = `${tableArn(table.name, this.env)}/stream/${STREAM_LABEL}`;
      this.streams.set(
        table.name,
        new TableStream(arn, table.streamViewType, keyNames, this.env.region, () => this.now()),
      );
    }
    // Every client reaches dynalite through the proxy: it runs TransactWriteItems (dynalite has none), records
    // the streams of the tables that have one, and injects the faults when asked to.
    const faults = this.opts.dynamoFaults ? this.opts.faults : undefined;
    this.dynamoProxy = await startDynamoProxy({
      target: this.dynamoEndpoint,
      faults,
      streams: this.streams,
    });
    this.dynamoEndpoint = this.dynamoProxy.url;
    this.functions = new FunctionPool(
      this.ids.functions,
      { ...this.clientEnv(), LOCAL_LAMBDA_ACCOUNT: this.env.account },
      this.opts.logDir,
      () => this.clockOffsetMs,
    );
    this.mappings = this.ids.mappings.filter((m) => m.source !== 'stream');
    for (const mapping of this.ids.mappings) {
      if (mapping.source !== 'stream') continue;
      const table = this.ids.tables.get(mapping.queue);
      const stream = table ? this.streams.get(table.name) : undefined;
      if (!stream) continue;
      this.streamPollers.push(
        new StreamPoller(mapping, stream, {
          invoke: async (id, event) => {
            const result = await this.functions.invoke(id, event);
            this.deliveries.push({
              at: Date.now(),
              kind: 'batch',
              target: id,
              ok: result.ok,
              detail: result.error?.message,
            });
            return result;
          },
          sendToQueue: (queueId, body) => {
            this.queues.get(queueId)?.send(body);
            this.deliveries.push({
              at: Date.now(),
              kind: 'dead-letter',
              target: mapping.functionId,
              ok: false,
            });
          },
          functionArn: `arn:aws:lambda:${this.env.region}:${this.env.account}:function:${mapping.functionId}`,
          ...(this.opts.streamRetryDelayMs ? { retryDelayMs: this.opts.streamRetryDelayMs } : {}),
          log: (line) => this.opts.onActivity?.(line),
        }),
      );
    }
    this.applyReplication();
    for (const def of this.ids.urls) {
      // The signature is judged by the real clock (the CLI signs with it, whatever the cloud's clock says);
      // the event reports the cloud's clock, the one the function runs on.
      const server = await startFunctionUrl({
        functionId: def.functionId,
        authType: def.authType,
        permissions: def.permissions,
        principals: this.principals,
        region: this.env.region,
        accountId: this.env.account,
        invoke: (id, event) => this.functions.invoke(id, event),
        eventNow: () => this.now(),
        onCall: (call) => {
          this.urlCalls.push(call);
          this.opts.onActivity?.(
            `url ${call.functionId} ${call.method} ${call.path} ${call.caller ?? 'unsigned'} → ${call.status}${call.refusal ? ` ${call.refusal}` : ''}`,
          );
        },
      });
      this.urlServers.set(def.functionId, server);
    }
    this.ecr.onEvent((event) => {
      if (this.eventsOn) this.publish(event);
    });
    this.sns.onMessage((m) =>
      this.opts.onActivity?.(`sns ${m.topicArn.split(':').pop()}: ${m.subject ?? ''}`),
    );
    for (const sub of this.ids.subscriptions) {
      if (sub.protocol !== 'sqs' || !sub.queue) continue;
      const arn = topicArn(sub.topic, this.env);
      const subscriptionArn = `${arn}:${sub.logicalId}`;
      const queue = this.queues.get(sub.queue);
      this.sns.onMessage((m) => {
        if (m.topicArn !== arn || !queue) return;
        if (sub.rawMessageDelivery)
          queue.send(m.message, {
            attributes: (m.attributes ?? {}) as Record<string, { DataType: string; StringValue?: string }>,
          });
        else queue.send(snsEnvelope(m, subscriptionArn));
      });
    }
    this.timer = setInterval(() => this.pump(), 25);
  }

  /** The environment that points AWS SDK clients (functions, CLI, tests) at this cloud. */
  clientEnv(): Record<string, string> {
    return {
      AWS_REGION: this.env.region,
      AWS_DEFAULT_REGION: this.env.region,
      AWS_ACCESS_KEY_ID: this.opts.accessKeyId ?? 'local',
      AWS_SECRET_ACCESS_KEY: this.opts.secretAccessKey ?? 'local',
      AWS_ENDPOINT_URL: this.opts.clientEndpoint ?? this.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: this.opts.clientEndpoint ?? this.dynamoEndpoint,
      ECR_STEWARD_REGISTRY_ID: this.env.account,
      POWERTOOLS_METRICS_NAMESPACE: 'EcrSteward',
      // This machine runs Node 20; Lambda runs the template's runtime. The SDK's notice about that is noise here.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
  }

  /** The environment for the CLI: clients plus the table names and topics the stack outputs. */
  cliEnv(): Record<string, string> {
    const fnEnv = Object.assign({}, ...[...this.ids.functions.values()].map((f) => f.environment)) as Record<
      string,
      string
    >;
    const pick = (k: string) => (fnEnv[k] ? { [k]: fnEnv[k] } : {});
    return {
      ...this.clientEnv(),
      ...pick('AUDIT_TABLE_NAME'),
      ...pick('STATE_TABLE_NAME'),
      ...pick('VERDICT_TABLE_NAME'),
      ...pick('ALERTS_TOPIC_ARN'),
      ...pick('SECURITY_TOPIC_ARN'),
      // Holds (`hold add|list|remove`) and notices, as the stack outputs them.
      ...pick('HOLDS_TABLE_NAME'),
      ...pick('NOTICES_TOPIC_ARN'),
      // Deletion requests (`audit --request`) and the approvals topic.
      ...pick('REQUESTS_TABLE_NAME'),
      ...pick('APPROVALS_TOPIC_ARN'),
      // The approvals endpoint, as the stack's ApprovalsUrl output names it (the CLI's default for --url).
      ...this.approvalsUrlEnv(),
    };
  }

  /** `APPROVALS_URL` when the template serves the approvals function on a URL; nothing otherwise. */
  private approvalsUrlEnv(): Record<string, string> {
    const ids = [...this.urlServers.keys()].filter((id) => id.toLowerCase().includes('approvals'));
    return ids.length === 1 ? { APPROVALS_URL: this.urlServers.get(ids[0]!)!.url } : {};
  }

  /**
   * The URL (`http://127.0.0.1:<port>/`) serving the function `functionId` (its logical id, or a unique part
   * of it such as `Approvals`); throws when the template gives that function no URL.
   */
  functionUrl(functionId: string): string {
    const exact = this.urlServers.get(functionId);
    if (exact) return exact.url;
    const hint = functionId.toLowerCase();
    const matches = [...this.urlServers.values()].filter((s) => s.functionId.toLowerCase().includes(hint));
    if (matches.length === 1) return matches[0]!.url;
    const served = [...this.urlServers.keys()];
    throw new Error(
      matches.length > 1
        ? `"${functionId}" names more than one function with a URL: ${matches.map((s) => s.functionId).join(', ')}`
        : `no function URL for "${functionId}": the template serves ${served.length === 0 ? 'no function URL' : served.join(', ')}`,
    );
  }

  /** Every function URL being served, by the logical id of the function it invokes. */
  functionUrls(): ReadonlyMap<string, string> {
    return new Map([...this.urlServers].map(([id, server]) => [id, server.url]));
  }

  /** The logical id of the function whose handler export is `name` (e.g. `worker`, `sweep`). */
  functionId(handlerExport: string, entryHint?: string): string {
    for (const f of this.ids.functions.values()) {
      if (
        f.handlerExport === handlerExport &&
        (!entryHint || f.logicalId.toLowerCase().includes(entryHint.toLowerCase()))
      )
        return f.logicalId;
    }
    throw new Error(`no function with handler ${handlerExport}`);
  }

  /** Puts an event on the (default) bus: every matching rule's targets receive it. */
  publish(event: unknown): void {
    this.publishTo('default', event);
  }

  /** Puts an event on the bus `busName` (default, or a bus of the template): its matching rules' targets get it. */
  publishTo(busName: string, event: unknown | BusEvent): void {
    const router = this.busRouters.get(busName);
    if (!router) throw new Error(`no event bus ${busName} in the template`);
    for (const { rule, target } of router.route(event)) {
      const id = target.resolvedLogicalId;
      if (!id) continue;
      const payload = target.input !== undefined ? JSON.parse(String(target.input)) : event;
      this.opts.onActivity?.(`rule ${rule.logicalId} → ${id}`);
      if (target.kind === 'lambda') void this.invokeAsync(id, payload);
      else if (target.kind === 'sqs') {
        const q = this.queues.get(id);
        q?.send(
          JSON.stringify(payload),
          target.sqsMessageGroupId
            ? { groupId: target.sqsMessageGroupId, deduplicationId: (event as { id?: string }).id }
            : {},
        );
      }
    }
  }

  /** Runs a schedule's target now (as EventBridge Scheduler would at its next time). */
  /** Lets time pass on the local cloud's clock (the emulator's and the functions'); restores due finish. */
  advanceClock(ms: number): void {
    this.clockOffsetMs += ms;
    this.ecr.settleRestores();
  }

  /** The local cloud's current time. */
  now(): Date {
    return new Date(Date.now() + this.clockOffsetMs);
  }

  async runSchedule(logicalIdPrefix: string): Promise<InvokeResult> {
    const schedule = this.schedules.find(
      (s) => s.logicalId.startsWith(logicalIdPrefix) || s.logicalId.includes(logicalIdPrefix),
    );
    if (!schedule?.targetLogicalId) throw new Error(`no schedule ${logicalIdPrefix}`);
    const input = schedule.input === undefined ? {} : JSON.parse(String(schedule.input));
    return this.invokeAsync(schedule.targetLogicalId, input);
  }

  /** Asynchronous invocation as Lambda does it for EventBridge: retries, then the function's dead-letter queue. */
  async invokeAsync(functionId: string, event: unknown): Promise<InvokeResult> {
    const def = this.ids.functions.get(functionId);
    this.asyncInFlight++;
    try {
      let result: InvokeResult = { ok: false, durationMs: 0 };
      for (let attempt = 0; attempt <= (def?.asyncRetries ?? 2); attempt++) {
        result = await this.functions.invoke(functionId, event);
        this.deliveries.push({
          at: Date.now(),
          kind: 'invoke',
          target: functionId,
          ok: result.ok,
          detail: result.error?.message,
        });
        if (result.ok) return result;
      }
      const dlq = def?.asyncDeadLetter ? this.queues.get(def.asyncDeadLetter) : undefined;
      dlq?.send(JSON.stringify(event), {
        attributes: { ErrorMessage: { DataType: 'String', StringValue: result.error?.message ?? 'unknown' } },
      });
      this.deliveries.push({
        at: Date.now(),
        kind: 'dead-letter',
        target: functionId,
        ok: false,
        detail: result.error?.message,
      });
      return result;
    } finally {
      this.asyncInFlight--;
    }
  }

  /** Delivers queued messages and stream records to their functions, one batch per mapping at a time. */
  private pump(): void {
    for (const poller of this.streamPollers) void poller.pump();
    for (const mapping of this.mappings) {
      if (this.pumping.has(mapping)) continue;
      const queue = this.queues.get(mapping.queue);
      if (!queue || queue.depth === 0) continue;
      if (this.gathering(mapping, queue)) continue;
      const batch = queue.receive(mapping.batchSize);
      if (batch.length === 0) continue;
      this.pumping.add(mapping);
      const event = {
        Records: batch.map((m) => ({
          messageId: m.messageId,
          receiptHandle: m.messageId,
          body: m.body,
          attributes: {
            ApproximateReceiveCount: String(m.receiveCount),
            SentTimestamp: String(m.sentAt),
            ...(m.groupId ? { MessageGroupId: m.groupId } : {}),
            ...(m.deduplicationId ? { MessageDeduplicationId: m.deduplicationId } : {}),
          },
          messageAttributes: {},
          md5OfBody: '',
          eventSource: 'aws:sqs',
          eventSourceARN: `arn:aws:sqs:${this.env.region}:${this.env.account}:${mapping.queue}`,
          awsRegion: this.env.region,
        })),
      };
      void this.functions
        .invoke(mapping.functionId, event)
        .then((result) => {
          const failed = new Set<string>();
          if (!result.ok) for (const m of batch) failed.add(m.messageId);
          else if (mapping.reportBatchItemFailures) {
            const items =
              (result.result as { batchItemFailures?: { itemIdentifier: string }[] } | null)
                ?.batchItemFailures ?? [];
            for (const f of items) failed.add(f.itemIdentifier);
          }
          this.deliveries.push({
            at: Date.now(),
            kind: 'batch',
            target: mapping.functionId,
            ok: failed.size === 0,
            detail: result.error?.message,
          });
          const expired = queue.settle(batch, failed);
          const dlq = queue.def.redrive ? this.queues.get(queue.def.redrive.target) : undefined;
          for (const m of expired) {
            dlq?.send(m.body, {
              groupId: m.groupId ?? 'redrive',
              deduplicationId: `redrive-${m.messageId}`,
              attributes: m.attributes,
            });
            this.deliveries.push({ at: Date.now(), kind: 'dead-letter', target: mapping.queue, ok: false });
          }
        })
        .finally(() => this.pumping.delete(mapping));
    }
  }

  /** Whether a mapping with a batching window waits for more messages (see `waitsForBatch`). */
  private gathering(mapping: MappingDef, queue: LocalQueue): boolean {
    const now = Date.now();
    return waitsForBatch(mapping, queue, now, () => {
      if (this.functions.active > 0 || this.asyncInFlight > 0 || this.pumping.size > 0) return true;
      if (!this.streamPollers.every((p) => p.idle())) return true;
      // Another mapping is about to run when its queue would deliver now: one that waits for its own batch does
      // not count (two windowed queues would otherwise hold each other back for the whole window).
      return this.mappings.some((m) => {
        const other = m === mapping ? undefined : this.queues.get(m.queue);
        return other?.deliverable(now) && !waitsForBatch(m, other, now, () => true);
      });
    });
  }

  /** Whether nothing is queued or running: every mapped queue empty, no invocation in flight. */
  idle(): boolean {
    if (this.asyncInFlight > 0 || this.pumping.size > 0) return false;
    if (!this.streamPollers.every((p) => p.idle())) return false;
    return this.mappings.every((m) => (this.queues.get(m.queue)?.depth ?? 0) === 0);
  }

  /** Waits until the cloud is idle (for `quietMs` in a row), or throws after `timeoutMs`. */
  async settle(timeoutMs = 120_000, quietMs = 150): Promise<void> {
    const start = Date.now();
    let quietSince: number | undefined;
    for (;;) {
      if (this.idle()) {
        quietSince ??= Date.now();
        if (Date.now() - quietSince >= quietMs) return;
      } else quietSince = undefined;
      if (Date.now() - start > timeoutMs)
        throw new Error(`the local cloud did not settle within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Depth of a queue by logical-id prefix (e.g. the dead-letter queues). */
  queueDepth(prefix: string): number {
    let n = 0;
    for (const [id, q] of this.queues) if (id.startsWith(prefix)) n += q.depth;
    return n;
  }

  /** STS: who the caller is (by its access key's account), and AssumeRole into a local account. */
  private async sts(
    op: string,
    input: { RoleArn?: string; RoleSessionName?: string; DurationSeconds?: string },
    headers: Readonly<Record<string, string>>,
  ): Promise<{ body: unknown }> {
    const caller = callerAccount(headers, this.env.account);
    if (op === 'GetCallerIdentity')
      return { body: { Arn: `arn:aws:iam::${caller}:user/local`, UserId: 'AIDALOCAL', Account: caller } };
    if (op !== 'AssumeRole') throw new ServiceError('InvalidAction', `STS ${op} is not emulated`, 400);
    const m = /^arn:aws[\w-]*:iam::(\d{12}):role\/(?:.*\/)?([\w+=,.@-]+)$/.exec(input.RoleArn ?? '');
    const local = this.opts.isLocalAccount ?? ((a: string) => a === this.env.account);
    if (!m || !local(m[1]!))
      throw new ServiceError(
        'AccessDenied',
        `User: arn:aws:iam::${caller}:user/local is not authorized to perform: sts:AssumeRole on resource: ${input.RoleArn}`,
        403,
      );
    const [, account, role] = m as unknown as [string, string, string];
    const session = input.RoleSessionName ?? 'local';
    const seconds = Number(input.DurationSeconds ?? 3600);
    return {
      body: {
        Credentials: {
          AccessKeyId: `LOCAL${account}ASSUMED`,
          SecretAccessKey: 'local/assumed/not-a-real-secret',
          SessionToken: `local-session/${account}/${role}/${session}`,
          Expiration: new Date(Date.now() + seconds * 1000),
        },
        AssumedRoleUser: {
          AssumedRoleId: `AROALOCAL${account}:${session}`,
          Arn: `arn:aws:sts::${account}:assumed-role/${role}/${session}`,
        },
      },
    };
  }

  /** The template's `AWS::ECR::ReplicationConfiguration`, applied to the registry as CloudFormation would. */
  private applyReplication(): void {
    for (const r of Object.values(this.template.Resources)) {
      if (r.Type !== 'AWS::ECR::ReplicationConfiguration') continue;
      const props = resolveDeep(r.Properties ?? {}, this.template, this.endpoint, this.env) as {
        ReplicationConfiguration?: {
          Rules?: {
            Destinations?: { Region: string; RegistryId: string }[];
            RepositoryFilters?: { Filter: string; FilterType: 'PREFIX_MATCH' }[];
          }[];
        };
      };
      const rules: ReplicationRule[] = (props.ReplicationConfiguration?.Rules ?? []).map((rule) => ({
        destinations: (rule.Destinations ?? []).map((d) => ({ region: d.Region, registryId: d.RegistryId })),
        ...(rule.RepositoryFilters
          ? {
              repositoryFilters: rule.RepositoryFilters.map((f) => ({
                filter: f.Filter,
                filterType: f.FilterType,
              })),
            }
          : {}),
      }));
      this.ecr.setReplicationConfiguration(rules);
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all([...this.urlServers.values()].map((s) => s.close()));
    await this.functions?.close();
    await this.server?.close();
    await this.dynamoProxy?.close();
    // An external dynalite (`dynamoTarget`) is its owner's to stop.
    const dynamo = this.dynamo;
    if (dynamo) await new Promise<void>((resolve) => dynamo.close(() => resolve()));
  }
}
