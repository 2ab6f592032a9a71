import { effectiveApproval } from '../../functions/shared/config/approval.js';
import type { StewardConfig } from '../../functions/shared/config/schema.js';

// What a config deploys to watch, decided without aws-cdk-lib: `ecr-steward validate --config` prints the
// alarm list from the CLI's bundle, which carries nothing of CDK. The `Monitoring` construct builds exactly
// these (monitoring.ts re-exports them for its callers).

/**
 * Whether the config puts approvals in use: some deletion may wait for one (the global `required`, or the
 * effective `required` of some selection, is not `never`), or a breaker reset needs one (`breakerReset`).
 * Only then does the stack build the approvals function and its URL; the requests table and the approvals
 * topic exist either way.
 */
export function approvalsEnabled(config: StewardConfig): boolean {
  const global = config.governance.approval;
  return (
    global.breakerReset ||
    global.required !== 'never' ||
    config.selections.some(
      (selection) => effectiveApproval(global, selection.governance?.approval).required !== 'never',
    )
  );
}

/**
 * The custom metrics the functions emit through Powertools (EMF), in the namespace they all use. Powertools
 * adds the `service` dimension (the `serviceName` each handler gives its `Metrics`); the cleanup adds `mode`.
 * A graph or alarm must name exactly these dimensions: CloudWatch matches a metric by all of them.
 */
export const STEWARD_METRICS = {
  namespace: 'EcrSteward',
  cleanup: {
    service: 'cleanup',
    imagesExpired: 'ImagesExpired',
    imagesTransitioned: 'ImagesTransitioned',
    deletesDeferred: 'DeletesDeferred',
    bytesReclaimed: 'BytesReclaimed',
    deletesBlockedByBreaker: 'DeletesBlockedByBreaker',
    inUseUnavailable: 'InUseUnavailable',
  },
  audit: {
    service: 'audit',
    deletesRecorded: 'DeletesRecorded',
    operationsRecorded: 'OperationsRecorded',
    securityFindings: 'SecurityFindings',
    malformedEvents: 'MalformedEvents',
    breakerOpened: 'BreakerOpened',
    /** One per audit record whose processing failed (and will be retried): the audit handler's per-record `catch`. */
    writeFailures: 'AuditWriteFailures',
  },
  /** The organization hub's ingest function (functions/org/hub.ts). */
  orgHub: {
    service: 'org-hub',
    recordsWritten: 'OrgRecordsWritten',
    deletesCounted: 'OrgDeletesCounted',
    breakerOpened: 'OrgBreakerOpened',
    alertsPublished: 'OrgAlertsPublished',
    malformedEvents: 'MalformedOrgEvents',
  },
  /** The spokes' forwarder (functions/org/forwarder.ts). */
  orgForwarder: {
    service: 'org-forwarder',
    recordsForwarded: 'RecordsForwarded',
    forwardFailures: 'ForwardFailures',
    alertsForwarded: 'AlertsForwarded',
  },
  scanGate: {
    service: 'scan-gate',
    verdicts: ['VerdictPASS', 'VerdictFAIL', 'VerdictPENDING'],
    quarantineExpiryRemoved: 'QuarantineExpiryRemoved',
    quarantineExpiryKept: 'QuarantineExpiryKept',
  },
} as const;

/** One alarm the stack deploys, as `ecr-steward validate --config` prints it and the README lists it. */
export interface AlarmSummary {
  /** The alarm's name in CloudWatch after the stack name: `<stack>-<name>`. */
  readonly name: string;
  /** What it watches. */
  readonly what: string;
  /** When it goes off. */
  readonly threshold: string;
}

/** The functions a config deploys, by alarm name prefix. */
export type FunctionKey =
  | 'cleanup-worker'
  | 'cleanup-intake'
  | 'cleanup-sweep'
  | 'audit'
  | 'scan-gate'
  | 'approvals'
  | 'org-forwarder'
  | 'digest';
/** The work queues (not dead-letter queues) a config deploys. */
export type QueueKey = 'cleanup-queue' | 'audit-queue' | 'org-forwarder-queue';
/** The dead-letter queues a config deploys; each already carries its own depth alarm (`DeadLetterQueue`). */
export type DeadLetterKey =
  | 'cleanup-dlq'
  | 'cleanup-async-dlq'
  | 'audit-dlq'
  | 'scan-gate-dlq'
  | 'org-forwarder-dlq'
  | 'org-forwarder-stream-dlq'
  | 'digest-dlq';

/** "The oldest queue message older than 15 minutes" (issue 14). */
export const MAX_MESSAGE_AGE_MINUTES = 15;

const FUNCTION_LABELS: Readonly<Record<FunctionKey, string>> = {
  'cleanup-worker': 'the cleanup worker',
  'cleanup-intake': 'the cleanup intake',
  'cleanup-sweep': 'the cleanup sweep (and due-deletion processor)',
  audit: 'the audit function',
  'scan-gate': 'the scan gate',
  approvals: 'the approvals endpoint',
  'org-forwarder': 'the organization forwarder',
  digest: 'the weekly digest',
};
const QUEUE_LABELS: Readonly<Record<QueueKey, string>> = {
  'cleanup-queue': 'the cleanup queue (FIFO)',
  'audit-queue': 'the audit queue',
  'org-forwarder-queue': 'the organization forwarder queue',
};
const DEAD_LETTER_LABELS: Readonly<Record<DeadLetterKey, string>> = {
  'cleanup-dlq': 'the cleanup queue',
  'cleanup-async-dlq': 'the cleanup intake and sweep (async invocations, rule and schedule targets)',
  'audit-dlq': 'the audit queue (and its rule targets)',
  'scan-gate-dlq': 'the scan gate (async invocations, rule and schedule targets)',
  'org-forwarder-dlq': 'the organization forwarder queue',
  'org-forwarder-stream-dlq': 'the organization forwarder (audit table stream)',
  'digest-dlq': 'the weekly digest (schedule target)',
};

/** What the config deploys to watch: the same lists drive `alarmList` and the `Monitoring` construct. */
export function watched(config: StewardConfig): {
  functions: FunctionKey[];
  queues: QueueKey[];
  deadLetters: DeadLetterKey[];
} {
  const org = config.organization !== undefined;
  return {
    functions: [
      'cleanup-worker',
      'cleanup-intake',
      'cleanup-sweep',
      'audit',
      'scan-gate',
      ...(approvalsEnabled(config) ? (['approvals'] as const) : []),
      ...(org ? (['org-forwarder'] as const) : []),
      ...(config.digest.enabled ? (['digest'] as const) : []),
    ],
    queues: ['cleanup-queue', 'audit-queue', ...(org ? (['org-forwarder-queue'] as const) : [])],
    deadLetters: [
      'cleanup-dlq',
      'cleanup-async-dlq',
      'audit-dlq',
      'scan-gate-dlq',
      ...(org ? (['org-forwarder-dlq', 'org-forwarder-stream-dlq'] as const) : []),
      ...(config.digest.enabled ? (['digest-dlq'] as const) : []),
    ],
  };
}

const DEAD_LETTER_THRESHOLD = 'any message (1-minute maximum of messages visible > 0)';
const ERRORS_THRESHOLD = 'Errors > 0 in 5 minutes';
const AGE_THRESHOLD = `oldest message older than ${MAX_MESSAGE_AGE_MINUTES} minutes (ApproximateAgeOfOldestMessage > ${MAX_MESSAGE_AGE_MINUTES * 60} s)`;
const COUNT_THRESHOLD = '> 0 in 5 minutes';

/**
 * Every alarm a stack built from `config` deploys, each notifying the alerts topic: the dead-letter queues'
 * (already part of `DeadLetterQueue`), function errors, queue age, audit write failures, the breaker opening
 * and the delete backstop. Pure: `ecr-steward validate --config` prints it without synthesizing.
 */
export function alarmList(config: StewardConfig): AlarmSummary[] {
  const w = watched(config);
  return [
    ...w.deadLetters.map((key) => ({
      name: key,
      what: `a message in the dead-letter queue of ${DEAD_LETTER_LABELS[key]}`,
      threshold: DEAD_LETTER_THRESHOLD,
    })),
    ...w.functions.map((key) => ({
      name: `${key}-errors`,
      what: `errors of ${FUNCTION_LABELS[key]}`,
      threshold: ERRORS_THRESHOLD,
    })),
    ...w.queues.map((key) => ({
      name: `${key}-age`,
      what: `a message waiting in ${QUEUE_LABELS[key]}`,
      threshold: AGE_THRESHOLD,
    })),
    {
      name: 'audit-write-failures',
      what: `audit records the audit function failed to write (${STEWARD_METRICS.namespace}/${STEWARD_METRICS.audit.writeFailures})`,
      threshold: COUNT_THRESHOLD,
    },
    {
      name: 'breaker-opened',
      what: `the delete-rate breaker opened (${STEWARD_METRICS.namespace}/${STEWARD_METRICS.audit.breakerOpened})`,
      threshold: COUNT_THRESHOLD,
    },
    {
      name: 'deletes-backstop',
      what: 'ECR image DELETE events counted by EventBridge itself, whatever ECR Steward code does',
      threshold: `> ${config.alerts.backstopDeletesPer5Minutes} in 5 minutes (alerts.backstopDeletesPer5Minutes)`,
    },
  ];
}

/**
 * Every alarm the organization hub's stack deploys (`EcrStewardHub`), each notifying the hub's alerts topic: the
 * ingest queue's dead letters, the ingest function's errors, a message waiting too long, the organization
 * breaker opening, and writes to the organization's tables throttled. Pure, like `alarmList`.
 */
export function hubAlarmList(): AlarmSummary[] {
  const hub = STEWARD_METRICS.orgHub;
  return [
    {
      name: 'org-ingest-dlq',
      what: 'a message in the dead-letter queue of the organization ingest queue (malformed, forged or failing spoke events)',
      threshold: DEAD_LETTER_THRESHOLD,
    },
    {
      name: 'org-hub-errors',
      what: 'errors of the organization hub ingest function',
      threshold: ERRORS_THRESHOLD,
    },
    {
      name: 'org-ingest-queue-age',
      what: 'a message waiting in the organization ingest queue',
      threshold: AGE_THRESHOLD,
    },
    {
      name: 'org-breaker-opened',
      what: `the organization breaker opened (${STEWARD_METRICS.namespace}/${hub.breakerOpened})`,
      threshold: COUNT_THRESHOLD,
    },
    {
      name: 'org-tables-throttled',
      what: 'writes to the organization audit or state table throttled (AWS/DynamoDB WriteThrottleEvents)',
      threshold: COUNT_THRESHOLD,
    },
  ];
}
