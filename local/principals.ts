/**
 * The people of the local cloud: a few IAM identities, each with its own access key, so that the function URL
 * can check SigV4 signatures for real and the approvals endpoint sees who called (an engineer who asks, an
 * operator who approves, someone who may do neither). The keys are fixed, local-only values: they open
 * nothing but this process's servers, and tests and scenarios can name them.
 */
import { LOCAL_ACCOUNT } from './template.js';

export type LocalPrincipalName = 'alice' | 'ops' | 'mallory';

/** The credentials a client signs with (the shape of the AWS SDK's `AwsCredentialIdentity`). */
export interface LocalCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Only for temporary (assumed-role) credentials; the signed request must carry it. */
  readonly sessionToken?: string;
}

export interface LocalPrincipal extends LocalCredentials {
  readonly name: LocalPrincipalName;
  /** What the principal is for in scenarios and tests; the cloud itself grants nothing by it. */
  readonly description: string;
  /** What AWS reports as the caller: `userArn` of a function URL event, `Arn` of GetCallerIdentity. */
  readonly arn: string;
  readonly accountId: string;
  /** `userId` / `callerId`: `AIDA…` for a user, `AROA…:<session>` for an assumed-role session. */
  readonly userId: string;
}

/** The role whose sessions approve (grant it, or list it among the approvers, to let `ops` approve). */
export const OPS_APPROVER_ROLE_ARN = `arn:aws:iam::${LOCAL_ACCOUNT}:role/ops-approver`;

/**
 * alice and mallory hold long-term user keys (`AKIA…`); ops holds an assumed-role session's temporary keys
 * (`ASIA…` with a session token), as an operator who signs in through SSO or `sts:AssumeRole` does.
 */
export const LOCAL_PRINCIPALS: readonly LocalPrincipal[] = [
  {
    name: 'alice',
    description: 'an engineer: asks for deletions, may not approve them',
    arn: `arn:aws:iam::${LOCAL_ACCOUNT}:user/alice`,
    accountId: LOCAL_ACCOUNT,
    userId: 'AIDALOCAL0ALICE00001',
    accessKeyId: 'AKIALOCAL0ALICE00001',
    secretAccessKey: 'local/alice/not-a-real-secret-0000000001',
  },
  {
    name: 'ops',
    description: 'an operator (assumed-role session of ops-approver): approves and rejects',
    arn: `arn:aws:sts::${LOCAL_ACCOUNT}:assumed-role/ops-approver/ops`,
    accountId: LOCAL_ACCOUNT,
    userId: 'AROALOCALOPSAPPROVER:ops',
    accessKeyId: 'ASIALOCAL000OPS00001',
    secretAccessKey: 'local/ops/not-a-real-secret-000000000001',
    sessionToken: 'local-session-token/ops-approver/ops/not-a-real-token',
  },
  {
    name: 'mallory',
    description: 'nobody: signs correctly, is granted nothing',
    arn: `arn:aws:iam::${LOCAL_ACCOUNT}:user/mallory`,
    accountId: LOCAL_ACCOUNT,
    userId: 'AIDALOCALMALLORY0001',
    accessKeyId: 'AKIALOCALMALLORY0001',
    secretAccessKey: 'local/mallory/not-a-real-secret-00000001',
  },
];

/** The principal an access key belongs to, or undefined for a key the local cloud never issued. */
export function principalByAccessKey(
  accessKeyId: string,
  principals: readonly LocalPrincipal[] = LOCAL_PRINCIPALS,
): LocalPrincipal | undefined {
  return principals.find((p) => p.accessKeyId === accessKeyId);
}

/** The principal called `name`; throws with the known names, so a typo in a scenario fails at once. */
export function principalNamed(name: string): LocalPrincipal {
  const found = LOCAL_PRINCIPALS.find((p) => p.name === name);
  if (!found)
    throw new Error(
      `no local principal "${name}": the local cloud knows ${LOCAL_PRINCIPALS.map((p) => p.name).join(', ')}`,
    );
  return found;
}

/** The credentials to sign as `name` (e.g. `new SignatureV4({ credentials: credentialsFor('ops'), … })`). */
export function credentialsFor(name: LocalPrincipalName | string): LocalCredentials {
  const p = principalNamed(name);
  return {
    accessKeyId: p.accessKeyId,
    secretAccessKey: p.secretAccessKey,
    ...(p.sessionToken !== undefined ? { sessionToken: p.sessionToken } : {}),
  };
}

/**
 * The same credentials as environment variables, for a CLI subprocess that should act as `name` through the
 * SDK's default credential chain. `AWS_SESSION_TOKEN` is always present (empty for long-term keys) so that
 * spreading this over an environment that already has a token (`{ ...cloud.cliEnv(), ...credentialsEnv('alice') }`)
 * never signs alice's key with someone else's session token: the SDK treats an empty token as none.
 */
export function credentialsEnv(name: LocalPrincipalName | string): Record<string, string> {
  const c = credentialsFor(name);
  return {
    AWS_ACCESS_KEY_ID: c.accessKeyId,
    AWS_SECRET_ACCESS_KEY: c.secretAccessKey,
    AWS_SESSION_TOKEN: c.sessionToken ?? '',
  };
}
