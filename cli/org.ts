/**
 * The CLI across an organization: reach a spoke's registry by assuming a role there (`plan --account A
 * --region R`), and find the hub's tables from the config, so `audit --org` and `breaker status --org` need no
 * table names.
 */

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  AssumeRoleCommand,
  type AssumeRoleCommandOutput,
  GetCallerIdentityCommand,
  STSClient,
} from '@aws-sdk/client-sts';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../functions/shared/audit/store.js';
import { orgArns } from '../functions/shared/config/organization.js';
import { partitionOf } from '../functions/shared/config/regions.js';
import type { StewardConfig } from '../functions/shared/config/schema.js';
import { CLIENT_DEFAULTS, DYNAMODB_CLIENT_DEFAULTS } from '../functions/shared/runtime/clients.js';
import { ENV } from '../functions/shared/runtime/constants.js';
import { CliError } from './util.js';

/** A 12-digit account id, or a CLI error naming the option. */
export function accountOption(value: string, option: string): string {
  if (!/^\d{12}$/.test(value))
    throw new CliError(`${option} ${JSON.stringify(value)}: an account id has 12 digits`);
  return value;
}

/**
 * Makes every client created from now on act in `account`: when the caller is already there nothing changes;
 * otherwise the role `roleName` of that account is assumed (STS AssumeRole, one hour) and its credentials
 * become the process's (the SDK reads AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN first).
 * ECR_STEWARD_REGISTRY_ID is set to the account, so keys and ARNs name the spoke's registry. Returns the
 * principal the commands now run as.
 */
export async function actInAccount(account: string, roleName: string, region: string): Promise<string> {
  const sts = new STSClient(CLIENT_DEFAULTS);
  const me = await sts.send(new GetCallerIdentityCommand({}));
  process.env.ECR_STEWARD_REGISTRY_ID = account;
  if (me.Account === account) return me.Arn ?? `arn:${partitionOf(region)}:iam::${account}:root`;
  const roleArn = `arn:${partitionOf(region)}:iam::${account}:role/${roleName}`;
  // The session name says who is looking, so the spoke's CloudTrail names the person, not only the role.
  const who = (me.Arn ?? 'unknown').split('/').pop() ?? 'unknown';
  const sessionName = `ecr-steward-${who}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
  let out: AssumeRoleCommandOutput;
  try {
    out = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: sessionName }));
  } catch (e) {
    throw new CliError(
      `cannot assume ${roleArn}: ${(e as Error).message} — deploy the spoke stack there (it creates the role), or pass --role NAME`,
    );
  }
  const c = out.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken)
    throw new CliError(`STS AssumeRole of ${roleArn} returned no credentials`);
  process.env.AWS_ACCESS_KEY_ID = c.AccessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = c.SecretAccessKey;
  process.env.AWS_SESSION_TOKEN = c.SessionToken;
  // A profile would otherwise win over the assumed credentials in clients that read AWS_PROFILE first.
  delete process.env.AWS_PROFILE;
  return out.AssumedRoleUser?.Arn ?? roleArn;
}

/** A table of the hub, as the CLI addresses it: by ARN (any account) with a client of the hub's region. */
export interface HubTable {
  readonly tableName: string;
  readonly region: string;
}

/**
 * The hub's org audit or org state table: `--org-…-table` or ORG_…_TABLE_NAME (a name or an ARN), else the ARN
 * built from the config's organization.hub. A bare name is read in the hub's region when the config names
 * one, else in the current region.
 */
export function hubTable(
  which: 'audit' | 'state',
  option: string | undefined,
  config: StewardConfig | undefined,
): HubTable {
  const given = option ?? process.env[which === 'audit' ? ENV.orgAuditTable : ENV.orgStateTable];
  const hubRegion = config?.organization?.hub.region;
  if (given) {
    const arnRegion = given.startsWith('arn:') ? given.split(':')[3] : undefined;
    const region = arnRegion ?? hubRegion ?? process.env.AWS_REGION;
    if (!region)
      throw new CliError(`cannot tell the region of the org ${which} table ${given}: pass its ARN`);
    return { tableName: given, region };
  }
  if (!config?.organization)
    throw new CliError(
      `no organization: pass --config with an "organization" section (or set ECR_STEWARD_CONFIG), or --org-${which}-table`,
    );
  const arns = orgArns(config);
  return {
    tableName: which === 'audit' ? (arns.auditTableArn as string) : (arns.stateTableArn as string),
    region: config.organization.hub.region,
  };
}

/** A document client for a hub table's region (the hub may be in another region than the caller). */
export function hubDocument(table: HubTable): DynamoDBDocumentClient {
  return documentClient(new DynamoDBClient({ ...DYNAMODB_CLIENT_DEFAULTS, region: table.region }));
}
