/**
 * Names shared by the stack and the functions: event sources and detail types, environment variables.
 * Defined once so that a rule and the code that consumes its events can never drift apart.
 */
export const EVENTS = {
  ecrSource: 'aws.ecr',
  inspectorSource: 'aws.inspector2',
  imageAction: 'ECR Image Action',
  imageScan: 'ECR Image Scan',
  /** Emitted in the destination registry when an image has been replicated into it. */
  replicationAction: 'ECR Replication Action',
  /** Emitted when a pull-through cache rule has synced an upstream image into the registry. */
  pullThroughCacheAction: 'ECR Pull Through Cache Action',
  /** Emitted for referrers (OCI 1.1 `subject`): signatures, SBOMs, attestations (docs/events.md §3.8). */
  referrerAction: 'ECR Referrer Action',
  inspectorScan: 'Inspector2 Scan',
  inspectorFinding: 'Inspector2 Finding',
  cloudTrailApiCall: 'AWS API Call via CloudTrail',
  cloudTrailServiceEvent: 'AWS Service Event via CloudTrail',
} as const;

export const ENV = {
  /** URL of the SQS FIFO queue the sweep fans out to. */
  cleanupQueueUrl: 'CLEANUP_QUEUE_URL',
  /** FIFO dead-letter queue of the cleanup queue; malformed messages are sent there with their reason. */
  cleanupDlqUrl: 'CLEANUP_DLQ_URL',
  auditTable: 'AUDIT_TABLE_NAME',
  /** Dead-letter queue of the audit queue; malformed events are sent there with their reason. */
  auditDlqUrl: 'AUDIT_DLQ_URL',
  stateTable: 'STATE_TABLE_NAME',
  alertsTopic: 'ALERTS_TOPIC_ARN',
  securityTopic: 'SECURITY_TOPIC_ARN',
  verdictTable: 'VERDICT_TABLE_NAME',
  /** Deletion notices (one per repository per run); the cleanup worker publishes, teams subscribe. */
  noticesTopic: 'NOTICES_TOPIC_ARN',
  /** Holds placed from the CLI; functions only read it. */
  holdsTable: 'HOLDS_TABLE_NAME',
  /** Deletion requests awaiting (or given) an operator's approval; see functions/shared/approvals/. */
  requestsTable: 'REQUESTS_TABLE_NAME',
  /** Approval requests (one message per new request, with the approve and reject commands). */
  approvalsTopic: 'APPROVALS_TOPIC_ARN',
  /** The approvals endpoint (Lambda function URL, AWS_IAM): the CLI's default for `--url`. */
  approvalsUrl: 'APPROVALS_URL',
  /** Spoke (organization): the ARN of the hub's event bus, where audit records and alerts are forwarded. */
  orgBusArn: 'ORG_BUS_ARN',
  /** Spoke (organization): the ARN of the hub's state table, which holds the org breaker item. */
  orgStateTableArn: 'ORG_STATE_TABLE_ARN',
  /** Hub (organization): the org audit table, every spoke's records keyed by account and region. */
  orgAuditTable: 'ORG_AUDIT_TABLE_NAME',
  /** Hub (organization): the org state table (org-scope delete counters and the org breaker). */
  orgStateTable: 'ORG_STATE_TABLE_NAME',
  /** Hub (organization): where malformed or forged hub events go, with their reason. */
  orgIngestDlqUrl: 'ORG_INGEST_DLQ_URL',
  /** The registry (account) id a function acts in; the stack sets it, so no STS call is needed. */
  registryId: 'ECR_STEWARD_REGISTRY_ID',
  /** Only for tests and local runs: the config as JSON when it is not bundled in. */
  configJson: 'STEWARD_CONFIG_JSON',
} as const;

/** Message attribute / body kinds on the cleanup queue. */
export const CLEANUP_MESSAGE_KINDS = ['push', 'sweep'] as const;
