import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { REQUEST_INDEXES } from '../../functions/shared/approvals/keys.js';
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
 * The requests-table actions of the functions: read a request (consistently, by its key), create one with a
 * conditional put, record a decision or an expiry with a conditional update, and list requests through the
 * `byState` and `byRepository` indexes. No DeleteItem, no Scan, no batch writes: a request leaves the table
 * only through its `ttl`, long after its decision, and its history stays in the audit table.
 */
export const REQUEST_RECORD_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:UpdateItem',
] as const;

/**
 * Grants `grantee` the requests-table actions (`REQUEST_RECORD_ACTIONS`) on the table and on its two indexes,
 * named one by one: the grant has no `index/*` wildcard, so it needs no cdk-nag acknowledgement.
 */
export function grantRequestRecords(table: dynamodb.ITableV2, grantee: iam.IGrantable): iam.Grant {
  return iam.Grant.addToPrincipal({
    grantee,
    actions: [...REQUEST_RECORD_ACTIONS],
    resourceArns: [
      table.tableArn,
      ...Object.values(REQUEST_INDEXES).map((index) => `${table.tableArn}/index/${index}`),
    ],
  });
}

/**
 * The protections of every table whose loss could lose a record or let a deletion through (the audit, state,
 * holds and requests tables here, and the organization's audit and state tables in the hub): on-demand,
 * point-in-time recovery, deletion protection, retained when the stack is deleted, encrypted.
 */
export const PROTECTED_TABLE = {
  billing: dynamodb.Billing.onDemand(),
  pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
  deletionProtection: true,
  removalPolicy: RemovalPolicy.RETAIN,
  encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
} satisfies Partial<dynamodb.TablePropsV2>;

/** A string key attribute named `name`. */
export const stringKey = (name: string): dynamodb.Attribute => ({
  name,
  type: dynamodb.AttributeType.STRING,
});

export interface AuditTablesProps {
  /**
   * Give the audit table a DynamoDB stream of new images, which the organization forwarder (`OrgForwarder`)
   * reads to send every record to the hub. Only spokes of an organization need it.
   * @default false
   */
  readonly stream?: boolean;
}

/**
 * The audit table (one record per deleted image; see functions/shared/audit/records.ts for the key design),
 * the state table (breakers, delete-rate counters, alert de-duplication, reconciliation snapshots) and the
 * holds table (holds placed from the CLI: pk/sk, see functions/shared/holds/store.ts) and the requests table
 * (deletion requests awaiting an approval: see functions/shared/approvals/keys.ts).
 * On-demand, point-in-time recovery, deletion protection, encrypted, retained when the stack is deleted.
 */
export class AuditTables extends Construct {
  readonly audit: dynamodb.TableV2;
  readonly state: dynamodb.TableV2;
  readonly holds: dynamodb.TableV2;
  /**
   * Deletion requests and their decisions. Created whether or not the config asks for approvals (an on-demand
   * table costs nothing idle), so the cleanup worker and the due-deletion processor can always read it, and
   * requests made while approvals were on are still honoured, or expired, after they are switched off.
   */
  readonly requests: dynamodb.TableV2;

  constructor(scope: Construct, id: string, props: AuditTablesProps = {}) {
    super(scope, id);
    const common = PROTECTED_TABLE;
    const key = stringKey;
    this.audit = new dynamodb.TableV2(this, 'Audit', {
      ...common,
      partitionKey: key('pk'),
      sortKey: key('sk'),
      // Only records given a `ttl` expire: dry-run plans always, deletions only with `audit.retentionDays`.
      timeToLiveAttribute: 'ttl',
      ...(props.stream ? { dynamoStream: dynamodb.StreamViewType.NEW_IMAGE } : {}),
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
    // A request holds the decision the next run acts on, and who made it: the audit table's protections.
    this.requests = new dynamodb.TableV2(this, 'Requests', {
      ...common,
      partitionKey: key('pk'),
      sortKey: key('sk'),
      // Only decided requests get a `ttl` (REQUEST_RETENTION_DAYS after the decision); pending ones stay.
      timeToLiveAttribute: 'ttl',
      globalSecondaryIndexes: [
        { indexName: REQUEST_INDEXES.byState, partitionKey: key('gsi1pk'), sortKey: key('gsi1sk') },
        { indexName: REQUEST_INDEXES.byRepository, partitionKey: key('gsi2pk'), sortKey: key('gsi2sk') },
      ],
    });
  }
}
