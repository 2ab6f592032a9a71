import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  arnLike,
  callerArns,
  dutyIdentity,
  matchingPattern,
  rolePathWildcardProblem,
  sameParty,
} from '../../functions/shared/approvals/principals.js';
import { validateConfig } from '../../functions/shared/config/load.js';
import { ACCOUNT, ARN, OPS_ROLE } from './support.js';

const OTHER_ACCOUNT = '210987654321';

describe('matchingPattern', () => {
  it.each([
    ['an exact user ARN', ARN.alice, [ARN.alice], ARN.alice],
    [
      'the first of several patterns that matches',
      ARN.alice,
      [ARN.lead, `arn:aws:iam::${ACCOUNT}:user/*`, ARN.alice],
      `arn:aws:iam::${ACCOUNT}:user/*`,
    ],
    ['a role pattern, through the session of that role', ARN.ops, [OPS_ROLE], OPS_ROLE],
    [
      'an exact role ARN, through its session',
      ARN.ops,
      [`arn:aws:iam::${ACCOUNT}:role/ops-approver`],
      `arn:aws:iam::${ACCOUNT}:role/ops-approver`,
    ],
    [
      'a session pattern with a wildcard session name',
      ARN.opsNight,
      [`arn:aws:sts::${ACCOUNT}:assumed-role/ops-approver/*`],
      `arn:aws:sts::${ACCOUNT}:assumed-role/ops-approver/*`,
    ],
    [
      '`*` across a slash (a role with a path)',
      `arn:aws:iam::${ACCOUNT}:role/team/ops/deployer`,
      [`arn:aws:iam::${ACCOUNT}:role/*`],
      `arn:aws:iam::${ACCOUNT}:role/*`,
    ],
    [
      'a session, against a role pattern with a path and the exact role name',
      `arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_Ops_0a1b2c3d4e5f6a7b/bob@example.com`,
      [`arn:aws:iam::${ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Ops_0a1b2c3d4e5f6a7b`],
      `arn:aws:iam::${ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Ops_0a1b2c3d4e5f6a7b`,
    ],
    [
      '`?` for exactly one character',
      ARN.alice,
      [`arn:aws:iam::${ACCOUNT}:user/al?ce`],
      `arn:aws:iam::${ACCOUNT}:user/al?ce`,
    ],
    [
      'an aws-us-gov session against its own partition',
      'arn:aws-us-gov:sts::123456789012:assumed-role/ops-approver/x',
      ['arn:aws-us-gov:iam::123456789012:role/ops-*'],
      'arn:aws-us-gov:iam::123456789012:role/ops-*',
    ],
  ])('matches %s', (_what, arn, patterns, expected) => {
    expect(matchingPattern(arn, patterns)).toBe(expected);
  });

  it.each([
    ['another user', ARN.mallory, [ARN.alice]],
    ['a role pattern in another account', ARN.ops, [`arn:aws:iam::${OTHER_ACCOUNT}:role/ops-*`]],
    ['a user of another account with the same name', `arn:aws:iam::${OTHER_ACCOUNT}:user/alice`, [ARN.alice]],
    [
      '`?` with two characters where one is allowed',
      `arn:aws:iam::${ACCOUNT}:user/allice`,
      [`arn:aws:iam::${ACCOUNT}:user/al?ce`],
    ],
    ['a prefix of the ARN (patterns are anchored)', `arn:aws:iam::${ACCOUNT}:user/alice-admin`, [ARN.alice]],
    ['a session pattern against a user', ARN.alice, [`arn:aws:sts::${ACCOUNT}:assumed-role/*`]],
    [
      'a role pattern against a user of the same name',
      `arn:aws:iam::${ACCOUNT}:user/ops-approver`,
      [OPS_ROLE],
    ],
    [
      'the role of a session in another partition',
      'arn:aws-cn:sts::123456789012:assumed-role/ops-approver/x',
      [OPS_ROLE],
    ],
    ['no patterns at all', ARN.ops, []],
    [
      // IAM drops a role's path from its sessions: `approvers/*` cannot be checked against one, and matching
      // by the name alone (`role/*`) would let a session of any role of the account approve.
      'a session, against a role pattern with a path and a wildcard name',
      `arn:aws:sts::${ACCOUNT}:assumed-role/developer/bob`,
      [`arn:aws:iam::${ACCOUNT}:role/approvers/*`],
    ],
    [
      'a session, against a role pattern with a wildcard in its path',
      `arn:aws:sts::${ACCOUNT}:assumed-role/ops-approver/bob`,
      [`arn:aws:iam::${ACCOUNT}:role/team-*/ops-approver`],
    ],
  ])('does not match %s', (_what, arn, patterns) => {
    expect(matchingPattern(arn, patterns)).toBeUndefined();
  });

  it('takes regular-expression characters in a pattern literally', () => {
    // Prepare: `.` and `+` are legal in IAM names and must not act as regex operators.
    const pattern = `arn:aws:iam::${ACCOUNT}:user/a.b+c`;

    // Act, Assess
    expect(matchingPattern(`arn:aws:iam::${ACCOUNT}:user/a.b+c`, [pattern])).toBe(pattern);
    expect(matchingPattern(`arn:aws:iam::${ACCOUNT}:user/aXbbc`, [pattern])).toBeUndefined();
    expect(arnLike(pattern).test(`arn:aws:iam::${ACCOUNT}:user/a.b+c`)).toBe(true);
    expect(arnLike(pattern).test(`arn:aws:iam::${ACCOUNT}:user/a.bbbc`)).toBe(false);
  });

  it('matches the role ARN of any session of that role, for any role and session names', () => {
    const name = fc.stringMatching(/^[\w+=,.@-]{1,64}$/);
    fc.assert(
      fc.property(name, name, (role, session) => {
        const roleArn = `arn:aws:iam::${ACCOUNT}:role/${role}`;
        const sessionArn = `arn:aws:sts::${ACCOUNT}:assumed-role/${role}/${session}`;
        expect(matchingPattern(sessionArn, [roleArn])).toBe(roleArn);
        expect(callerArns(sessionArn)).toEqual([sessionArn, roleArn]);
        // The session of one role never passes for another role's.
        expect(matchingPattern(sessionArn, [`arn:aws:iam::${ACCOUNT}:role/${role}x`])).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });
});

describe('sameParty / dutyIdentity', () => {
  it('counts two sessions of one role as the same party', () => {
    expect(sameParty(ARN.ops, ARN.opsNight)).toBe(true);
    expect(dutyIdentity(ARN.ops)).toBe(`arn:aws:iam::${ACCOUNT}:role/ops-approver`);
  });

  it('counts a user and a role session as different parties, and two users as different parties', () => {
    expect(sameParty(ARN.alice, ARN.ops)).toBe(false);
    expect(sameParty(ARN.alice, ARN.lead)).toBe(false);
    expect(sameParty(ARN.alice, ARN.alice)).toBe(true);
  });

  it('counts sessions of roles of the same name in two accounts as different parties', () => {
    expect(sameParty(ARN.ops, `arn:aws:sts::${OTHER_ACCOUNT}:assumed-role/ops-approver/ops`)).toBe(false);
  });

  it('counts a role session and the role itself as the same party', () => {
    expect(sameParty(ARN.ops, `arn:aws:iam::${ACCOUNT}:role/ops-approver`)).toBe(true);
  });

  it('is idempotent and agrees with sameParty, for any user, role and session names', () => {
    const name = fc.stringMatching(/^[\w+=,.@-]{1,64}$/);
    const arn = fc.oneof(
      name.map((n) => `arn:aws:iam::${ACCOUNT}:user/${n}`),
      name.map((n) => `arn:aws:iam::${ACCOUNT}:role/${n}`),
      fc.tuple(name, name).map(([r, s]) => `arn:aws:sts::${ACCOUNT}:assumed-role/${r}/${s}`),
    );
    fc.assert(
      fc.property(arn, arn, (a, b) => {
        expect(dutyIdentity(dutyIdentity(a))).toBe(dutyIdentity(a));
        expect(sameParty(a, b)).toBe(dutyIdentity(a) === dutyIdentity(b));
        expect(sameParty(a, dutyIdentity(a))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('rolePathWildcardProblem (the config refuses such approvers)', () => {
  it.each([
    [`arn:aws:iam::${ACCOUNT}:role/approvers/*`],
    [`arn:aws:iam::${ACCOUNT}:role/team-*/ops`],
    [`arn:aws:iam::${ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Ops_*`],
  ])('refuses %s', (pattern) => {
    expect(rolePathWildcardProblem(pattern)).toBe(
      `${pattern}: a role pattern with a path must name the role exactly — a role's sessions ` +
        '(arn:aws:sts::…:assumed-role/<name>/<session>) do not carry its path, so the path cannot be checked; ' +
        'name each role (…:role/approvers/ops-admin) or match names without the path (…:role/ops-*)',
    );
  });

  it.each([
    [`arn:aws:iam::${ACCOUNT}:role/*`],
    [`arn:aws:iam::${ACCOUNT}:role/ops-*`],
    [`arn:aws:iam::${ACCOUNT}:role/team/ops-approver`],
    [`arn:aws:iam::${ACCOUNT}:user/team/*`],
    [`arn:aws:sts::${ACCOUNT}:assumed-role/ops-approver/*`],
  ])('accepts %s', (pattern) => {
    expect(rolePathWildcardProblem(pattern)).toBeUndefined();
  });

  it('is a config error where approvers are given', () => {
    const pattern = `arn:aws:iam::${ACCOUNT}:role/approvers/*`;
    expect(() =>
      validateConfig({
        mode: 'enforce',
        selections: [{ repositories: ['team/*'], lifecyclePolicy: 'fromRepository' }],
        governance: { approval: { required: 'always', approvers: [pattern] } },
      }),
    ).toThrow(`governance.approval.approvers[0]: ${rolePathWildcardProblem(pattern)}`);
  });
});
