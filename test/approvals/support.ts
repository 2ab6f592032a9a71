/**
 * Shared fakes for the approvals tests: the people who call, a requests table and an audit table in memory
 * (with the conditional semantics of the DynamoDB stores they stand for), and a fault injector that makes any
 * of them answer ThrottlingException, so a test can prove that a failure at any step deletes nothing it must not.
 */
import type { RequestEvent } from '../../functions/shared/approvals/audit.js';
import type { ApprovalPorts } from '../../functions/shared/approvals/lifecycle.js';
import {
  type CallerIdentity,
  type DeletionRequestRecord,
  REQUEST_STATES,
  type RequestState,
} from '../../functions/shared/approvals/model.js';
import type { RequestScope } from '../../functions/shared/approvals/store.js';
import {
  type AuditRecord,
  type DeleteSignal,
  keysOf,
  mergeSignal,
} from '../../functions/shared/audit/records.js';
import type { Notice } from '../../functions/shared/governance/notice.js';
import { ACCOUNT, REGION } from '../cleanup/fakes.js';

export { ACCOUNT, REGION };

export const HOUR_MS = 3_600_000;

/** The people of the tests: an engineer, a lead, nobody, and two sessions of the operators' role. */
export const ARN = {
  alice: `arn:aws:iam::${ACCOUNT}:user/alice`,
  lead: `arn:aws:iam::${ACCOUNT}:user/lead`,
  mallory: `arn:aws:iam::${ACCOUNT}:user/mallory`,
  ops: `arn:aws:sts::${ACCOUNT}:assumed-role/ops-approver/ops`,
  opsNight: `arn:aws:sts::${ACCOUNT}:assumed-role/ops-approver/ops-night`,
} as const;

/** The operators' role, as a config names it: its sessions approve. */
export const OPS_ROLE = `arn:aws:iam::${ACCOUNT}:role/ops-*`;

export const SOURCE_IP = '203.0.113.7';
export const USER_AGENT = 'ecr-steward-cli/0.1.0';

/** A signed caller as the function URL reports it. */
export function caller(arn: string): CallerIdentity {
  return { arn, accountId: ACCOUNT, sourceIp: SOURCE_IP, userAgent: USER_AGENT };
}

/** What AWS answers when a caller is throttled; the SDK's error carries this name. */
export class ThrottlingException extends Error {
  override readonly name = 'ThrottlingException';
}

/**
 * Throws ThrottlingException on about `rate` of the calls it is asked about, from a seeded generator (so a
 * failing fast-check run replays exactly). `rate` 0 (the default) never throws.
 */
export class Faults {
  rate = 0;
  thrown = 0;
  private state: number;
  constructor(seed = 1) {
    this.state = seed >>> 0 || 1;
  }
  /** mulberry32: small, fast and good enough to pick which calls fail. */
  private next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }
  maybeThrow(what: string): void {
    if (this.rate > 0 && this.next() < this.rate) {
      this.thrown++;
      throw new ThrottlingException(`Rate exceeded (${what})`);
    }
  }
}

const copy = <T>(value: T): T => structuredClone(value);

type RequestsPort = ApprovalPorts['requests'];

/**
 * The requests table in memory, with RequestsStore's contract: a create never overwrites, an answer is taken
 * only from PENDING_APPROVAL, markAnnounced keeps the first time, lists are oldest first.
 */
export class MemoryRequests implements RequestsPort {
  readonly items = new Map<string, DeletionRequestRecord>();
  constructor(readonly faults: Faults = new Faults()) {}

  async create(request: DeletionRequestRecord): Promise<boolean> {
    this.faults.maybeThrow('requests.create');
    if (this.items.has(request.id)) return false;
    this.items.set(request.id, copy(request));
    return true;
  }

  async get(id: string): Promise<DeletionRequestRecord | undefined> {
    this.faults.maybeThrow('requests.get');
    const found = this.items.get(id);
    return found ? copy(found) : undefined;
  }

  async answer(next: DeletionRequestRecord): Promise<boolean> {
    this.faults.maybeThrow('requests.answer');
    const current = this.items.get(next.id);
    if (current?.state !== 'PENDING_APPROVAL') return false;
    this.items.set(next.id, copy({ ...current, state: next.state, decision: next.decision }));
    return true;
  }

  async markAnnounced(id: string, at: string): Promise<void> {
    this.faults.maybeThrow('requests.markAnnounced');
    const current = this.items.get(id);
    if (!current) throw new Error(`ConditionalCheckFailedException: no request ${id}`);
    if (!current.announcedAt) this.items.set(id, { ...current, announcedAt: at });
  }

  async list(
    options: { state?: RequestState | undefined; repository?: RequestScope | undefined; limit?: number } = {},
  ): Promise<DeletionRequestRecord[]> {
    this.faults.maybeThrow('requests.list');
    const states: readonly RequestState[] = options.state ? [options.state] : REQUEST_STATES;
    return this.sorted()
      .filter((r) => states.includes(r.state))
      .filter((r) => !options.repository || sameRepository(r, options.repository))
      .slice(0, options.limit ?? 1000);
  }

  async forRepository(scope: RequestScope, since: string): Promise<DeletionRequestRecord[]> {
    this.faults.maybeThrow('requests.forRepository');
    // The index's sort key is `<createdAt>#<id>`: `>= since` takes every request created at or after `since`.
    return this.sorted().filter((r) => sameRepository(r, scope) && `${r.createdAt}#${r.id}` >= since);
  }

  /** Every request, oldest first (test assertions; never fails). */
  all(): DeletionRequestRecord[] {
    return this.sorted();
  }

  private sorted(): DeletionRequestRecord[] {
    return [...this.items.values()]
      .map(copy)
      .sort((a, b) =>
        a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1,
      );
  }
}

const sameRepository = (r: DeletionRequestRecord, s: RequestScope) =>
  r.repository === s.repository && r.registryId === s.registryId && r.region === s.region;

/**
 * The audit table in memory with DynamoDB's merge semantics (read, merge with the real rules, put), so record
 * states move as they do in the real table; `open` is what the sparse openByRepository index holds.
 */
export class MemoryAudit {
  readonly items = new Map<string, AuditRecord>();
  readonly signals: DeleteSignal[] = [];
  constructor(readonly faults: Faults = new Faults()) {}

  async record(signal: DeleteSignal) {
    this.faults.maybeThrow(`audit.record ${signal.status}`);
    this.signals.push(signal);
    const { pk, sk } = keysOf(signal, { dryRun: signal.status === 'PLANNED', runId: signal.actor?.runId });
    const existing = this.items.get(`${pk}|${sk}`);
    const next = mergeSignal(existing, signal, signal.at);
    if (next) this.items.set(`${pk}|${sk}`, next);
    return { record: next ?? existing, newlyDeleted: false };
  }

  async open(ref: { registryId: string; region: string; repository: string }) {
    this.faults.maybeThrow('audit.open');
    return [...this.items.values()].filter((r) => r.repository === ref.repository && r.gsi5pk !== undefined);
  }

  /** The (non-dry-run) record of an image. */
  state(digest: string): AuditRecord | undefined {
    return [...this.items.values()].find((r) => r.digest === digest && !r.dryRun);
  }

  statuses(digest: string): string[] {
    return this.signals.filter((s) => s.digest === digest).map((s) => s.status);
  }
}

/** The approvals ports over in-memory stores, remembering every event and message. */
export interface ApprovalWorld {
  readonly requests: MemoryRequests;
  readonly events: RequestEvent[];
  readonly approvalMessages: Notice[];
  readonly notices: Notice[];
  readonly ports: ApprovalPorts;
}

export function approvalWorld(faults: Faults = new Faults()): ApprovalWorld {
  const requests = new MemoryRequests(faults);
  const events: RequestEvent[] = [];
  const approvalMessages: Notice[] = [];
  const notices: Notice[] = [];
  return {
    requests,
    events,
    approvalMessages,
    notices,
    ports: {
      requests,
      recordEvent: async (event) => {
        faults.maybeThrow(`recordEvent ${event.action}`);
        events.push(event);
      },
      publishApproval: async (message) => {
        faults.maybeThrow('publishApproval');
        approvalMessages.push(message);
      },
      publishNotice: async (message) => {
        faults.maybeThrow('publishNotice');
        notices.push(message);
      },
    },
  };
}

export const CREATED = '2026-06-01T12:00:00.000Z';

/** A pending delete request by alice for two images of team/app, created at CREATED, expiring 72 hours later. */
export function pendingRequest(over: Partial<DeletionRequestRecord> = {}): DeletionRequestRecord {
  return {
    id: 'req-20260601T120000-abcdef',
    kind: 'delete',
    state: 'PENDING_APPROVAL',
    registryId: ACCOUNT,
    region: REGION,
    repository: 'team/app',
    selection: 'team',
    images: [
      { digest: `sha256:${'a'.repeat(64)}`, tags: ['v1'], sizeBytes: 1000, reason: 'rollback done' },
      { digest: `sha256:${'b'.repeat(64)}`, tags: [], sizeBytes: 2000, reason: 'rollback done' },
    ],
    imageCount: 2,
    bytes: 3000,
    reason: 'rollback done',
    requester: { type: 'principal', arn: ARN.alice },
    createdAt: CREATED,
    expiresAt: new Date(Date.parse(CREATED) + 72 * HOUR_MS).toISOString(),
    ...over,
  };
}

/** Retries `fn` while it throws ThrottlingException (as a redelivered event or the SDK would), at most `times`. */
export async function retried<T>(fn: () => Promise<T>, times = 50): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof ThrottlingException) || attempt >= times) throw e;
    }
  }
}
