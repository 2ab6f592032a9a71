/**
 * The one factory of the ports a function needs: SDK clients (built once per container), the stores over
 * the audit, state and verdict tables (with the config's retention, the same everywhere), the ECR adapters and
 * the in-use reader. Every handler, the CLI's live mode and the local scenario build their ports here, so no
 * two of them can wire a store differently.
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { VerdictStore } from '../../scan-gate/verdicts.js';
import { CallCounter, EcrRegistry, EcrScanReader } from '../adapters/ecr.js';
import { collectInUse, type ImageReference, inUseSourcesFor, staticReferences } from '../adapters/in-use.js';
import { recordRequestEvent } from '../approvals/audit.js';
import type { ApprovalPorts } from '../approvals/lifecycle.js';
import { RequestsStore } from '../approvals/store.js';
import { SnapshotStore } from '../audit/reconcile.js';
import { AuditStore, documentClient } from '../audit/store.js';
import { orgArns } from '../config/organization.js';
import type { StewardConfig } from '../config/schema.js';
import type { Notice } from '../governance/notice.js';
import { HoldsStore } from '../holds/store.js';
import { OrgBreakerReader } from '../org/org-breaker.js';
import { BreakerStore } from '../state/breaker.js';
import { RateCounters } from '../state/counters.js';
import { CLIENT_DEFAULTS, DYNAMODB_CLIENT_DEFAULTS } from './clients.js';
import { ENV } from './constants.js';

export interface StewardClients {
  readonly ecr: ECRClient;
  readonly ecs: ECSClient;
  readonly lambda: LambdaClient;
  readonly doc: DynamoDBDocumentClient;
  readonly sns?: SNSClient | undefined;
  /** The document client for the hub's state table (organization); built for the hub's region when unset. */
  readonly orgDoc?: DynamoDBDocumentClient | undefined;
}

let shared: StewardClients | undefined;

/** The container's SDK clients, built on first use. Endpoints follow AWS_ENDPOINT_URL(_<SERVICE>). */
export function sharedClients(): StewardClients {
  shared ??= {
    ecr: new ECRClient(CLIENT_DEFAULTS),
    ecs: new ECSClient(CLIENT_DEFAULTS),
    lambda: new LambdaClient(CLIENT_DEFAULTS),
    doc: documentClient(),
  };
  return shared;
}

export interface TableNames {
  readonly audit?: string | undefined;
  readonly state?: string | undefined;
  readonly verdict?: string | undefined;
  /** Holds placed from the CLI. Unset: no such holds (a stack older than the holds table). */
  readonly holds?: string | undefined;
  /** The notices topic (not a table, but found the same way). */
  readonly noticesTopic?: string | undefined;
  /** Deletion requests (approvals). Unset: no request can be opened (a stack older than approvals). */
  readonly requests?: string | undefined;
  /** The approvals topic. */
  readonly approvalsTopic?: string | undefined;
  /** Organization: the ARN of the hub's state table (the org breaker). Unset: built from the config's hub. */
  readonly orgStateTable?: string | undefined;
}

/** The table names a deployed function finds in its environment. */
export function tablesFromEnv(env: NodeJS.ProcessEnv = process.env): TableNames {
  return {
    audit: env[ENV.auditTable],
    state: env[ENV.stateTable],
    verdict: env[ENV.verdictTable],
    holds: env[ENV.holdsTable],
    noticesTopic: env[ENV.noticesTopic],
    requests: env[ENV.requestsTable],
    approvalsTopic: env[ENV.approvalsTopic],
    orgStateTable: env[ENV.orgStateTableArn],
  };
}

const TABLE_VARIABLE = {
  audit: ENV.auditTable,
  state: ENV.stateTable,
  verdict: ENV.verdictTable,
  holds: ENV.holdsTable,
  noticesTopic: ENV.noticesTopic,
  requests: ENV.requestsTable,
  approvalsTopic: ENV.approvalsTopic,
  orgStateTable: ENV.orgStateTableArn,
} as const;

/**
 * Ports for one invocation (or one CLI command): stores and adapters are built on first use and then reused;
 * in-use references are read at most once (a failed read is not kept, so the next caller tries again).
 */
export class StewardPorts {
  readonly calls: CallCounter;
  private readonly clients: StewardClients;
  private readonly memo = new Map<string, unknown>();

  constructor(
    readonly config: StewardConfig,
    private readonly options: {
      readonly tables: TableNames;
      readonly clients?: Partial<StewardClients> | undefined;
      readonly calls?: CallCounter | undefined;
    },
  ) {
    this.calls = options.calls ?? new CallCounter();
    this.clients = { ...sharedClientsLazy(options.clients), ...options.clients } as StewardClients;
  }

  private once<T>(key: string, build: () => T): T {
    if (!this.memo.has(key)) this.memo.set(key, build());
    return this.memo.get(key) as T;
  }

  /** A table's name; throws naming the variable (or option) when it is not set. */
  table(which: keyof TableNames): string {
    const name = this.options.tables[which];
    if (!name)
      throw new Error(`environment variable ${TABLE_VARIABLE[which]} is not set (the ${which} table)`);
    return name;
  }

  get registry(): EcrRegistry {
    return this.once('registry', () => new EcrRegistry(this.clients.ecr, this.calls));
  }

  get scans(): EcrScanReader {
    return this.once('scans', () => new EcrScanReader(this.clients.ecr, this.calls));
  }

  get audit(): AuditStore {
    return this.once(
      'audit',
      () =>
        new AuditStore(this.clients.doc, this.table('audit'), {
          ttlDays: this.config.audit.retentionDays,
          plannedTtlDays: this.config.audit.plannedRetentionDays,
        }),
    );
  }

  /**
   * The breakers. In an organization's spoke they include the organization's, read from the hub's state table
   * (its ARN: `ORG_STATE_TABLE_ARN`, else built from the config's hub) with a client of the hub's region.
   */
  get breaker(): BreakerStore {
    return this.once(
      'breaker',
      () => new BreakerStore(this.clients.doc, this.table('state'), this.orgBreaker()),
    );
  }

  private orgBreaker(): OrgBreakerReader | undefined {
    const arn =
      this.options.tables.orgStateTable ??
      (this.config.organization ? orgArns(this.config).stateTableArn : undefined);
    if (!arn) return undefined;
    const region = arn.split(':')[3];
    const doc =
      this.options.clients?.orgDoc ??
      documentClient(new DynamoDBClient({ ...DYNAMODB_CLIENT_DEFAULTS, region }));
    return new OrgBreakerReader(doc, arn);
  }

  get snapshots(): SnapshotStore {
    return this.once('snapshots', () => new SnapshotStore(this.clients.doc, this.table('state')));
  }

  get counters(): RateCounters {
    return this.once('counters', () => new RateCounters(this.clients.doc, this.table('state')));
  }

  /** The holds placed from the CLI, or undefined when no holds table is configured. */
  get holds(): HoldsStore | undefined {
    const table = this.options.tables.holds;
    return table ? this.once('holds', () => new HoldsStore(this.clients.doc, table)) : undefined;
  }

  /** Publishes one deletion notice on the notices topic (SNS), with its filterable attributes. */
  async publishNotice(notice: Notice): Promise<void> {
    await this.publish('noticesTopic', notice);
  }

  private async publish(topic: 'noticesTopic' | 'approvalsTopic', notice: Notice): Promise<void> {
    const sns = this.once('sns', () => this.clients.sns ?? new SNSClient(CLIENT_DEFAULTS));
    await sns.send(
      new PublishCommand({
        TopicArn: this.table(topic),
        Subject: notice.subject,
        Message: notice.message,
        MessageAttributes: notice.attributes,
      }),
    );
  }

  /** The ECR client of the adapters (for a reader no adapter owns, e.g. signature artifacts). */
  get ecrClient(): ECRClient {
    return this.clients.ecr;
  }

  /** The document client of the stores (for an item kind no store owns, e.g. a breaker reset's record). */
  get documentClient(): DynamoDBDocumentClient {
    return this.clients.doc;
  }

  /** The deletion requests, or undefined when no requests table is configured. */
  get requests(): RequestsStore | undefined {
    const table = this.options.tables.requests;
    return table ? this.once('requests', () => new RequestsStore(this.clients.doc, table)) : undefined;
  }

  /**
   * What opening, answering and expiring requests needs: the requests table, the audit table (request events),
   * the approvals topic and the notices topic. Undefined when no requests table is configured.
   */
  get approvals(): ApprovalPorts | undefined {
    const requests = this.requests;
    if (!requests) return undefined;
    return this.once('approvals', () => ({
      requests,
      recordEvent: (event) => recordRequestEvent(this.clients.doc, this.table('audit'), event),
      publishApproval: (message) => this.publish('approvalsTopic', message),
      publishNotice: this.options.tables.noticesTopic ? (message) => this.publishNotice(message) : undefined,
    }));
  }

  get verdicts(): VerdictStore {
    return this.once('verdicts', () => new VerdictStore(this.clients.doc, this.table('verdict')));
  }

  /**
   * Image references in use in the account (the config's ECS and Lambda sources plus its static references);
   * throws InUseUnavailableError when a source cannot be read.
   */
  inUse(registryId: string, region: string): Promise<readonly ImageReference[]> {
    const key = `inUse#${registryId}#${region}`;
    const known = this.memo.get(key) as Promise<readonly ImageReference[]> | undefined;
    if (known) return known;
    const sources = inUseSourcesFor(
      this.config.inUse,
      { ecs: () => this.clients.ecs, lambda: () => this.clients.lambda },
      this.calls,
    );
    const read = collectInUse(sources).then((refs) => [
      ...refs,
      ...staticReferences(this.config.inUse.static, registryId, region),
    ]);
    this.memo.set(key, read);
    read.catch(() => this.memo.delete(key));
    return read;
  }
}

/** Clients not supplied by the caller come from the container's shared set, built only if needed. */
function sharedClientsLazy(given: Partial<StewardClients> | undefined): Partial<StewardClients> {
  if (given?.ecr && given.ecs && given.lambda && given.doc) return {};
  return sharedClients();
}
