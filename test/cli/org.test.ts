/** The CLI in a spoke: `plan --account A --region R [--role NAME]` acts in A through STS AssumeRole. */
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { accountOption, actInAccount } from '../../cli/org.js';

const sts = mockClient(STSClient);
const KEYS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'ECR_STEWARD_REGISTRY_ID',
] as const;
let saved: Record<string, string | undefined>;

beforeEach(() => {
  sts.reset();
  saved = Object.fromEntries(KEYS.map((k) => [k, process.env[k]]));
  process.env.AWS_PROFILE = 'platform';
  process.env.AWS_REGION ??= 'eu-west-1';
});
afterEach(() => {
  for (const k of KEYS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

describe('actInAccount', () => {
  it('assumes the named role in another account and makes its credentials the process credentials', async () => {
    // Prepare
    sts.on(GetCallerIdentityCommand).resolves({
      Account: '111111111111',
      Arn: 'arn:aws:sts::111111111111:assumed-role/Platform/alice',
    });
    sts.on(AssumeRoleCommand).resolves({
      Credentials: {
        AccessKeyId: 'ASIASPOKE',
        SecretAccessKey: 'secret',
        SessionToken: 'token',
        Expiration: new Date(),
      },
      AssumedRoleUser: {
        Arn: 'arn:aws:sts::222222222222:assumed-role/EcrStewardReadOnly/ecr-steward-alice',
        AssumedRoleId: 'AROA:x',
      },
    });

    // Act
    const principal = await actInAccount('222222222222', 'EcrStewardReadOnly', 'eu-west-1');

    // Assess
    expect(sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input)).toEqual([
      {
        RoleArn: 'arn:aws:iam::222222222222:role/EcrStewardReadOnly',
        RoleSessionName: 'ecr-steward-alice',
      },
    ]);
    expect(principal).toBe('arn:aws:sts::222222222222:assumed-role/EcrStewardReadOnly/ecr-steward-alice');
    expect(KEYS.map((k) => process.env[k])).toEqual([
      'ASIASPOKE',
      'secret',
      'token',
      undefined,
      '222222222222',
    ]);
  });

  it('keeps the caller credentials when the caller is in that account already', async () => {
    // Prepare
    sts.on(GetCallerIdentityCommand).resolves({
      Account: '222222222222',
      Arn: 'arn:aws:iam::222222222222:user/bob',
    });

    // Act
    const principal = await actInAccount('222222222222', 'EcrStewardReadOnly', 'eu-west-1');

    // Assess
    expect(sts.commandCalls(AssumeRoleCommand)).toEqual([]);
    expect(principal).toBe('arn:aws:iam::222222222222:user/bob');
    expect(process.env.AWS_PROFILE).toBe('platform');
    expect(process.env.ECR_STEWARD_REGISTRY_ID).toBe('222222222222');
  });

  it('says which role it could not assume and what to do', async () => {
    // Prepare
    sts
      .on(GetCallerIdentityCommand)
      .resolves({ Account: '111111111111', Arn: 'arn:aws:iam::111111111111:user/bob' });
    sts.on(AssumeRoleCommand).rejects(new Error('User: bob is not authorized to perform: sts:AssumeRole'));

    // Act
    const failure = actInAccount('333333333333', 'Reader', 'us-gov-west-1');

    // Assess
    await expect(failure).rejects.toThrow(
      'cannot assume arn:aws-us-gov:iam::333333333333:role/Reader: User: bob is not authorized to perform: sts:AssumeRole — deploy the spoke stack there (it creates the role), or pass --role NAME',
    );
  });
});

describe('accountOption', () => {
  it('accepts 12 digits only', () => {
    expect(accountOption('222222222222', '--account')).toBe('222222222222');
    expect(() => accountOption('2222', '--account')).toThrow('--account "2222": an account id has 12 digits');
  });
});
