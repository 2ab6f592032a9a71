import type { AlertTopics } from './alerts.js';
import type { Approvals } from './approvals.js';
import type { Audit } from './audit.js';
import type { AuditTables } from './audit-tables.js';
import type { Cleanup } from './cleanup.js';
import type { OrgForwarder } from './org-forwarder.js';
import type { Replication } from './replication.js';
import type { ScanGate } from './scan-gate.js';

/** The parts of one ECR Steward (one registry: an account and a region). */
export interface StewardParts {
  readonly topics: AlertTopics;
  readonly tables: AuditTables;
  readonly cleanup: Cleanup;
  readonly audit: Audit;
  readonly gate: ScanGate;
  readonly approvals?: Approvals;
  readonly forwarder?: OrgForwarder;
  readonly replication?: Replication;
}
