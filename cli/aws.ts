import { readFileSync } from 'node:fs';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { documentClient } from '../functions/shared/audit/store.js';
import { ConfigError, parseConfig } from '../functions/shared/config/load.js';
import type { StewardConfig } from '../functions/shared/config/schema.js';
import { CLIENT_DEFAULTS } from '../functions/shared/runtime/clients.js';
import { ENV } from '../functions/shared/runtime/constants.js';
import { NO_REGION } from './aws-errors.js';
import { CliError, DEFAULT_CONFIG_PATH } from './util.js';

/**
 * What the live commands need to reach a deployment: table names (from options or the environment the
 * stack outputs / `ecr-steward local` print), the region, and the registry id. Clients honour
 * AWS_ENDPOINT_URL, so the same commands work against the local cloud.
 */
export interface LiveOptions {
  readonly auditTable?: string;
  readonly stateTable?: string;
  readonly verdictTable?: string;
  readonly registryId?: string;
  readonly config?: string;
}

export { DEFAULT_CONFIG_PATH } from './util.js';

export function tableName(value: string | undefined, env: string, option: string): string {
  const name = value ?? process.env[env];
  if (!name)
    throw new CliError(
      `no table name: pass ${option} or set ${env} (the stack outputs it; \`ecr-steward local\` prints it)`,
    );
  return name;
}

export const auditTableName = (o: LiveOptions) => tableName(o.auditTable, ENV.auditTable, '--audit-table');
export const stateTableName = (o: LiveOptions) => tableName(o.stateTable, ENV.stateTable, '--state-table');
export const verdictTableName = (o: LiveOptions) =>
  tableName(o.verdictTable, ENV.verdictTable, '--verdict-table');

let profileRegion: string | undefined;

/**
 * The region the SDK clients use, for keys and ARNs: `AWS_REGION` (which `--region` and `AWS_DEFAULT_REGION`
 * set, see main.ts), else the profile's, once `resolveRegion` has read it. Never a default: records keyed
 * with a guessed region would be invisible to the deployment that wrote them.
 */
export function region(): string {
  const known = process.env.AWS_REGION || profileRegion;
  if (!known) throw new CliError(NO_REGION);
  return known;
}

/**
 * Resolves the region as the SDK does (environment, then the shared config file's profile) so that
 * `region()` agrees with the clients; a missing region is the one-line `NO_REGION` (exit 2).
 */
export async function resolveRegion(): Promise<string> {
  await primeRegion();
  return region();
}

/**
 * Reads the profile's region, if any, so that `region()` can answer synchronously afterwards; a missing
 * region is not an error here. Only live paths call it (through resolveRegion): offline commands need none.
 */
export async function primeRegion(): Promise<void> {
  if (process.env.AWS_REGION || profileRegion) return;
  try {
    profileRegion = await new STSClient({}).config.region();
  } catch {
    // No region anywhere: region() says what to set when a command needs one.
  }
}

let doc: ReturnType<typeof documentClient> | undefined;
export function dynamo(): ReturnType<typeof documentClient> {
  doc ??= documentClient();
  return doc;
}

/** The registry (account) id: `--registry-id`, ECR_STEWARD_REGISTRY_ID, or the caller's account from STS. */
export async function registryId(o: LiveOptions): Promise<string> {
  // Every live path asks for the registry first: the region is settled here, before anything is keyed with it.
  await resolveRegion();
  const known = o.registryId ?? process.env.ECR_STEWARD_REGISTRY_ID;
  if (known) return known;
  const out = await new STSClient(CLIENT_DEFAULTS).send(new GetCallerIdentityCommand({}));
  if (!out.Account) throw new CliError('cannot tell the registry id: pass --registry-id');
  return out.Account;
}

export function loadConfig(path: string | undefined): StewardConfig {
  const file = path ?? process.env.ECR_STEWARD_CONFIG ?? DEFAULT_CONFIG_PATH;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(`--config ${file}: cannot read the file: ${(e as Error).message}`);
  }
  try {
    return parseConfig(text, file);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(e.message);
    throw e;
  }
}

/** `7d`, `12h`, `30m` or an ISO time → an ISO time. */
export function sinceToIso(value: string, now = new Date()): string {
  const m = /^(\d+)([mhd])$/.exec(value);
  if (m) {
    const ms = Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'];
    return new Date(now.getTime() - ms).toISOString();
  }
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new CliError(`--since ${value}: use 30m, 12h, 7d or an ISO time`);
  return new Date(t).toISOString();
}

/**
 * The caller's principal (STS GetCallerIdentity): holds and restores are recorded with who made them, and are
 * not made when that cannot be known. `what` completes "cannot tell who …".
 */
export async function callerPrincipal(what: string): Promise<string> {
  const out = await new STSClient(CLIENT_DEFAULTS).send(new GetCallerIdentityCommand({}));
  if (!out.Arn) throw new CliError(`STS GetCallerIdentity returned no ARN: cannot tell who ${what}`);
  return out.Arn;
}
