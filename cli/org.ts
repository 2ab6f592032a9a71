/**
 * The CLI across an organization: reach a spoke's registry by assuming a role there (`plan --account A
 * --region R`), and find the hub's tables from the config, so `audit --org` and `breaker status --org` need no
 * table names.
 */
import {
  AssumeRoleCommand,
  type AssumeRoleCommandOutput,
  GetCallerIdentityCommand,
  STSClient,
} from '@aws-sdk/client-sts';
import { CLIENT_DEFAULTS } from '../functions/shared/runtime/clients.js';
import { CliError } from './util.js';

/** The partition of a region's ARNs: `aws`, `aws-cn` or `aws-us-gov`. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

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
