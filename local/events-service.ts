/**
 * EventBridge's PutEvents for the local cloud (awsJson1.1, `X-Amz-Target: AWSEvents.PutEvents`): the default
 * bus and the template's custom buses (`AWS::Events::EventBus`), addressed by name or ARN.
 *
 * As EventBridge does: at most 10 entries per call (a request-level ValidationException beyond), each entry
 * answered on its own (`EventId`, or `ErrorCode` + `ErrorMessage`; `FailedEntryCount` counts the failures);
 * an accepted event gets an id, a time, the caller's account and the bus's region. A caller from another
 * account is admitted only by the bus's resource policy (`aws:PrincipalOrgID` against the local organization,
 * or principal accounts); a refused entry fails with `AccessDeniedException`, one of the non-retryable entry
 * error codes of PutEventsResultEntry (the other entries of the call are still put).
 */
import { randomUUID } from 'node:crypto';
import {
  accessDeniedMessage,
  callerAccount,
  evaluateResourcePolicy,
  type LocalOrganization,
} from './front-door.js';
import { type RawRequest, ServiceError } from './server.js';
import type { LocalEnvironment, PolicyStatement } from './template.js';

/** The most entries one PutEvents call may carry. */
export const MAX_PUT_EVENTS_ENTRIES = 10;
/** The largest PutEvents request, entries summed as EventBridge sizes them (256 KB). */
const MAX_PUT_EVENTS_BYTES = 256 * 1024;

/** An event as EventBridge delivers it to a rule's targets. */
export interface BusEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: string[];
  readonly detail: unknown;
}

/** One PutEvents request entry, as the SDK sends it. */
interface PutEventsEntry {
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: string;
  readonly Resources?: string[];
  readonly EventBusName?: string;
  readonly Time?: number;
}

type ResultEntry = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

/** Options of {@link EventsService}. */
export interface EventsServiceOptions extends LocalEnvironment {
  /** The buses of this environment by name (`default` included), with their resource-policy statements. */
  readonly buses: ReadonlyMap<string, readonly PolicyStatement[]>;
  readonly organization: LocalOrganization;
  /** The environment's clock. */
  readonly now: () => Date;
  /** Delivers an accepted event to the rules of bus `busName`. */
  readonly deliver: (busName: string, event: BusEvent) => void;
}

/** What the events service has accepted and refused, for tests. */
export interface PutRecord {
  readonly bus: string;
  readonly caller: string;
  readonly event?: BusEvent;
  readonly errorCode?: string;
}

/** EventBridge's PutEvents, over the buses of one environment. */
export class EventsService {
  /** Every entry handled, accepted or refused, oldest first. */
  readonly puts: PutRecord[] = [];

  constructor(private readonly opts: EventsServiceOptions) {}

  async handle(
    op: string,
    input: { Entries?: PutEventsEntry[] },
    raw: RawRequest,
  ): Promise<{ body: unknown }> {
    if (op !== 'PutEvents')
      throw new ServiceError('UnknownOperationException', `the local EventBridge does not implement ${op}`);
    const entries = input.Entries ?? [];
    if (entries.length < 1 || entries.length > MAX_PUT_EVENTS_ENTRIES)
      throw new ServiceError(
        'ValidationException',
        `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length ${entries.length < 1 ? 'greater than or equal to 1' : `less than or equal to ${MAX_PUT_EVENTS_ENTRIES}`}`,
      );
    // EventBridge's size of an entry (Time 14 bytes, Source, DetailType, Detail and Resources as UTF-8); a call
    // whose entries add up to more than 256 KB is refused whole.
    const bytes = (v: string | undefined) => (v === undefined ? 0 : Buffer.byteLength(v, 'utf8'));
    const size = entries.reduce(
      (sum, e) =>
        sum +
        14 +
        bytes(e.Source) +
        bytes(e.DetailType) +
        bytes(e.Detail) +
        ((e as { Resources?: string[] }).Resources ?? []).reduce((n, r) => n + bytes(r), 0),
      0,
    );
    if (size > MAX_PUT_EVENTS_BYTES)
      throw new ServiceError(
        'ValidationException',
        'Total size of the entries in the request is over the limit.',
      );
    const caller = callerAccount(raw.headers, this.opts.account);
    const results = entries.map((entry) => this.put(entry, caller));
    const failed = results.filter((r) => 'ErrorCode' in r).length;
    return { body: { FailedEntryCount: failed, Entries: results } };
  }

  private put(entry: PutEventsEntry, caller: string): ResultEntry {
    const busName = this.busName(entry.EventBusName);
    const fail = (ErrorCode: string, ErrorMessage: string): ResultEntry => {
      this.puts.push({ bus: busName ?? String(entry.EventBusName), caller, errorCode: ErrorCode });
      return { ErrorCode, ErrorMessage };
    };
    if (busName === undefined || !this.opts.buses.has(busName))
      return fail('ResourceNotFoundException', `Event bus ${entry.EventBusName} does not exist.`);
    const busArn = `arn:aws:events:${this.opts.region}:${this.opts.account}:event-bus/${busName}`;
    if (caller !== this.opts.account) {
      const outcome = evaluateResourcePolicy(this.opts.buses.get(busName) ?? [], {
        callerAccount: caller,
        callerOrgId: this.opts.organization.isMember(caller) ? this.opts.organization.id : undefined,
        action: 'events:PutEvents',
      });
      if (!outcome.allowed)
        return fail(
          'AccessDeniedException',
          accessDeniedMessage(caller, 'events:PutEvents', busArn, outcome.explicitDeny),
        );
    }
    for (const field of ['Source', 'DetailType', 'Detail'] as const)
      if (entry[field] === undefined || entry[field] === '')
        return fail(
          'InvalidArgument',
          `Parameter ${field} is not valid. Reason: ${field} is a required argument.`,
        );
    if (entry.Source!.startsWith('aws.'))
      return fail('NotAuthorizedForSourceException', 'Not authorized for the source.');
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail!);
    } catch {
      return fail('MalformedDetail', 'Detail is malformed.');
    }
    if (!detail || typeof detail !== 'object' || Array.isArray(detail))
      return fail('MalformedDetail', 'Detail is malformed.');
    const at = entry.Time !== undefined ? new Date(Number(entry.Time) * 1000) : this.opts.now();
    const event: BusEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.DetailType!,
      source: entry.Source!,
      account: caller,
      time: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.opts.region,
      resources: entry.Resources ?? [],
      detail,
    };
    this.puts.push({ bus: busName, caller, event });
    this.opts.deliver(busName, event);
    return { EventId: event.id };
  }

  /** A bus name or ARN of this environment as a name; undefined for another environment's ARN. */
  private busName(nameOrArn: string | undefined): string | undefined {
    if (nameOrArn === undefined || nameOrArn === '') return 'default';
    const m = /^arn:aws[\w-]*:events:([a-z0-9-]+):(\d{12}):event-bus\/(.+)$/.exec(nameOrArn);
    if (!m) return nameOrArn;
    return m[1] === this.opts.region && m[2] === this.opts.account ? m[3] : undefined;
  }
}
