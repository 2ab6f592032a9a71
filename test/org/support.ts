/**
 * Shared pieces of the organization tests: the hub's tables on dynalite (the org audit table with its
 * byEnvironment and byDay indexes, the org state table), a config with a hub, two spokes and an organization
 * threshold, and spoke audit items as the spoke's DynamoDB holds them.
 */
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { StewardConfig, StewardConfigInput } from '../../functions/shared/config/schema.js';
import type { SpokeAuditItem } from '../../functions/shared/org/events.js';
import { ORG_AUDIT_INDEXES } from '../../functions/shared/org/keys.js';
import { testConfig } from '../audit/helpers.js';
import { createAndWait } from '../support/dynamo.js';

export const HUB = { account: '111111111111', region: 'eu-west-1' } as const;
export const SPOKE_A = { account: '222222222222', region: 'eu-west-1' } as const;
export const SPOKE_B = { account: '333333333333', region: 'us-east-1' } as const;
export const PRINCIPAL = 'arn:aws:sts::222222222222:assumed-role/ci-cleaner/alice';

export interface OrgTables {
  readonly audit: string;
  readonly state: string;
}

const key = (hash: string, range: string) => [
  { AttributeName: hash, KeyType: 'HASH' as const },
  { AttributeName: range, KeyType: 'RANGE' as const },
];
const attributes = (...names: string[]) =>
  names.map((AttributeName) => ({ AttributeName, AttributeType: 'S' as const }));

let counter = 0;
/** Creates a fresh org audit table and org state table. */
export async function createOrgTables(client: DynamoDBClient, prefix = 'org'): Promise<OrgTables> {
  counter++;
  const tables = { audit: `${prefix}-audit-${counter}`, state: `${prefix}-state-${counter}` };
  await createAndWait(
    client,
    new CreateTableCommand({
      TableName: tables.audit,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: attributes('pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi3pk', 'gsi3sk'),
      KeySchema: key('pk', 'sk'),
      GlobalSecondaryIndexes: [
        {
          IndexName: ORG_AUDIT_INDEXES.byEnvironment,
          KeySchema: key('gsi1pk', 'gsi1sk'),
          Projection: { ProjectionType: 'ALL' },
        },
        {
          IndexName: ORG_AUDIT_INDEXES.byDay,
          KeySchema: key('gsi3pk', 'gsi3sk'),
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  await createAndWait(
    client,
    new CreateTableCommand({
      TableName: tables.state,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: attributes('pk', 'sk'),
      KeySchema: key('pk', 'sk'),
    }),
  );
  return tables;
}

/** A config with the hub, two spokes in two regions and the given alerts (default: organization 5m > 3). */
export function orgConfig(alerts?: StewardConfigInput['alerts']): StewardConfig {
  return testConfig({
    organization: {
      hub: { ...HUB },
      targets: [{ accounts: [SPOKE_A.account, SPOKE_B.account], regions: ['eu-west-1', 'us-east-1'] }],
    },
    alerts: alerts ?? { thresholds: [{ scope: 'organization', window: '5m', maxDeletes: 3 }] },
  } as Partial<StewardConfigInput>);
}

/** A spoke deletion record as the spoke audit table holds it, at one version and status. */
export function spokeRecord(
  digest: string,
  version: number,
  status: string,
  overrides: Record<string, unknown> = {},
): SpokeAuditItem {
  const at = '2026-06-01T12:00:30.000Z';
  return {
    pk: `IMG#${digest}`,
    sk: `REPO#${SPOKE_A.account}#${SPOKE_A.region}#services/api`,
    registryId: SPOKE_A.account,
    region: SPOKE_A.region,
    repository: 'services/api',
    digest,
    gsi1pk: `REPO#${SPOKE_A.account}#${SPOKE_A.region}#services/api`,
    gsi1sk: `${at}#${digest}`,
    gsi3pk: 'DAY#2026-06-01',
    gsi3sk: `${at}#services/api#${digest}`,
    status,
    dryRun: false,
    tags: ['v1'],
    actor: status === 'DELETED' ? { type: 'principal', principal: PRINCIPAL } : { type: 'unknown' },
    at,
    recordedAt: at,
    updatedAt: at,
    evidence: status === 'DELETED' ? ['cloudtrail-batch-delete'] : ['reconciliation'],
    eventIds: [`event-${version}`],
    version,
    ...overrides,
  };
}

/** A sha256 digest from a small number. */
export const digest = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;
