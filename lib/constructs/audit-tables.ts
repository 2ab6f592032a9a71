import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { AUDIT_INDEXES } from '../../functions/shared/audit/store.js';

/**
 * The audit-table actions of the functions, exactly those the audit store (`functions/shared/audit/store.ts`) and
 * the reconciliation (`reconcile.ts`) call: reads, queries of its indexes, and conditional puts. No DeleteItem,
 * UpdateItem or BatchWriteItem: a function cannot remove a record, and a settled one is protected by the puts'
 * condition expressions.
 */
export const AUDIT_RECORD_ACTIONS = [
  'dynamodb:BatchGetItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
] as const;

/** Grants `grantee` the audit-table actions (`AUDIT_RECORD_ACTIONS`) on the table and its indexes, nothing more. */
export function grantAuditRecords(table: dynamodb.ITableV2, grantee: iam.IGrantable): iam.Grant {
  return table.grant(grantee, ...AUDIT_RECORD_ACTIONS);
}

/** The holds-table actions of the functions: they read holds (one item, or a repository's), never write one. */
export const HOLD_READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:Query'] as const;

/**
 * Grants `grantee` the holds-table reads (`HOLD_READ_ACTIONS`), nothing more: only people place and remove
 * holds (the CLI, with their own credentials), so no function can lift a hold that keeps an image.
 */
export function grantHoldReads(table: dynamodb.ITableV2, grantee: iam.IGrantable): iam.Grant {
  return table.grant(grantee, ...HOLD_READ_ACTIONS);
}

/**
 * The audit table (one record per deleted image; see functions/shared/audit/records.ts for the key design),
 * the state table (breakers, delete-rate counters, alert de-duplication, reconciliation snapshots) and the
 * holds table (holds placed from the CLI: pk/sk, see functions/shared/holds/store.ts).
 * On-demand, point-in-time recovery, deletion protection, encrypted, retained when the stack is deleted.
 */
export class AuditTables extends Construct {
  readonly audit: dynamodb.TableV2;
  readonly state: dynamodb.TableV2;
  readonly holds: dynamodb.TableV2;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const common = {
      billing: dynamodb.Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
    };
    const key = (name: string) => ({ name, type: dynamodb.AttributeType.STRING });
    this.audit = new dynamodb.TableV2(this, 'Audit', {
      ...common,
      partitionKey: key('pk'),
      sortKey: key('sk'),
      // Only records given a `ttl` expire: dry-run plans always, deletions only with `audit.retentionDays`.
      timeToLiveAttribute: 'ttl',
      globalSecondaryIndexes: [
        { indexName: AUDIT_INDEXES.byRepository, partitionKey: key('gsi1pk'), sortKey: key('gsi1sk') },
        { indexName: AUDIT_INDEXES.byRun, partitionKey: key('gsi2pk'), sortKey: key('gsi2sk') },
        { indexName: AUDIT_INDEXES.byDay, partitionKey: key('gsi3pk'), sortKey: key('gsi3sk') },
        // Sparse: only open records (SCHEDULED notices, ARCHIVED images) carry these keys, so the due-deletion
        // processor and `trash list` read what is open, not the whole history.
        { indexName: AUDIT_INDEXES.byDue, partitionKey: key('gsi4pk'), sortKey: key('gsi4sk') },
        { indexName: AUDIT_INDEXES.openByRepository, partitionKey: key('gsi5pk'), sortKey: key('gsi5sk') },
      ],
    });
    this.state = new dynamodb.TableV2(this, 'State', {
      ...common,
      partitionKey: key('pk'),
      sortKey: key('sk'),
      timeToLiveAttribute: 'expiresAt',
    });
    // A hold keeps an image: losing one could let a deletion through, so it has the audit table's protections.
    this.holds = new dynamodb.TableV2(this, 'Holds', {
      ...common,
      partitionKey: key('pk'),
      sortKey: key('sk'),
    });
  }
}
