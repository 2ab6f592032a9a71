import { describe, expect, it } from 'vitest';
import { ConfigError, validateConfig } from '../../functions/shared/config/load.js';
import { effectiveGovernance } from '../../functions/shared/config/schema.js';
import { configWarnings } from '../../functions/shared/config/warnings.js';
import { keepNewest } from '../fixtures/images.js';

const base = (extra: Record<string, unknown> = {}, selection: Record<string, unknown> = {}) => ({
  selections: [{ repositories: ['team/*'], lifecyclePolicy: keepNewest(1), ...selection }],
  ...extra,
});

const issues = (doc: unknown): readonly string[] => {
  try {
    validateConfig(doc);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  return [];
};

describe('governance config', () => {
  it('defaults to no notice and no soft delete (deletes when planned, as without governance)', () => {
    // Act
    const config = validateConfig(base());

    // Assess
    expect(config.governance).toEqual({
      notice: { hours: 0, subscriptions: [] },
      softDelete: { mode: 'off', purgeAfterDays: 30, unarchivable: 'keep' },
      dueSchedule: 'rate(15 minutes)',
      approval: {
        required: 'never',
        approvers: [],
        requesters: [],
        expiresAfterHours: 72,
        breakerReset: false,
      },
    });
  });

  it("merges a selection's override over the global block, field by field", () => {
    // Prepare
    const config = validateConfig(
      base(
        { governance: { notice: { hours: 24 }, softDelete: { mode: 'archive', purgeAfterDays: 120 } } },
        { governance: { notice: { hours: 72 }, softDelete: { unarchivable: 'delete' } } },
      ),
    );

    // Act
    const effective = effectiveGovernance(config.governance, config.selections[0]);

    // Assess
    expect(effective).toEqual({
      notice: { hours: 72, subscriptions: [] },
      softDelete: { mode: 'archive', purgeAfterDays: 120, unarchivable: 'delete' },
      approval: { required: 'never', approvers: [], requesters: [], expiresAfterHours: 72 },
    });
    expect(effectiveGovernance(config.governance, undefined).notice.hours).toBe(24);
  });

  it.each([
    [
      { governance: { notice: { hours: -1 } } },
      {},
      'governance.notice.hours: Too small: expected number to be >=0',
    ],
    [
      { governance: { notice: { hours: '24' } } },
      {},
      'governance.notice.hours: expected a number, got a string',
    ],
    [
      { governance: { softDelete: { mode: 'trash' } } },
      {},
      'governance.softDelete.mode: must be one of "archive", "off"',
    ],
    [
      {},
      { governance: { notice: { subscriptions: [{ protocol: 'email', endpoint: 'not-an-email' }] } } },
      'selections[0].governance.notice.subscriptions[0].endpoint: "not-an-email" is not a "email" endpoint',
    ],
    [{ governance: { dueSchedule: 'cron(99 99 * * ? *)' } }, {}, 'governance.dueSchedule: minutes "99"'],
    [{ governance: { noticeHours: 24 } }, {}, 'governance: unknown field noticeHours'],
  ])('refuses an invalid governance block with its path and problem (%j %j)', (extra, selection, message) => {
    // Act
    const found = issues(base(extra, selection));

    // Assess
    expect(found.some((i) => i.startsWith(message))).toBe(true);
  });

  it('warns that ECR applies a "fromRepository" policy itself, without the notice period', () => {
    // Prepare
    const config = validateConfig(
      base({ governance: { notice: { hours: 24 } } }, { lifecyclePolicy: 'fromRepository' }),
    );

    // Act / Assess
    expect(configWarnings(config)).toEqual([
      'selections[0].lifecyclePolicy: "fromRepository" with a notice period, soft delete or approvals — ECR applies the attached policy itself, without notice, holds, archive or approval; paste the policy inline (and remove it from the repository) so that every delete goes through ECR Steward\'s governance',
    ]);
  });

  it('warns the same when the selection asks for approvals: ECR would delete without one', () => {
    // Prepare
    const config = validateConfig(
      base(
        {
          governance: {
            approval: { required: 'always', approvers: ['arn:aws:iam::123456789012:role/ops-*'] },
          },
        },
        { lifecyclePolicy: 'fromRepository' },
      ),
    );

    // Act / Assess
    expect(configWarnings(config)).toEqual([
      'selections[0].lifecyclePolicy: "fromRepository" with a notice period, soft delete or approvals — ECR applies the attached policy itself, without notice, holds, archive or approval; paste the policy inline (and remove it from the repository) so that every delete goes through ECR Steward\'s governance',
    ]);
  });

  it.each([
    [
      { required: 'always' },
      {},
      'governance.approval.approvers: approval.required is "always" but nobody may approve',
    ],
    [
      { breakerReset: true },
      {},
      'governance.approval.approvers: approval.breakerReset is true but nobody may approve a reset',
    ],
    [
      {},
      { approval: { required: { overImages: 10 } } },
      'selections[0].governance.approval.approvers: approval.required is {"overImages":10} for this selection but nobody may approve',
    ],
    [
      { approvers: ['arn:aws:iam::*:role/ops'] },
      {},
      'governance.approval.approvers[0]: not an IAM principal ARN with its 12-digit account',
    ],
    [
      { required: { overBytes: '50 gigs' }, approvers: ['arn:aws:iam::123456789012:role/ops'] },
      {},
      'governance.approval.required.overBytes: "50 gigs" is not a size',
    ],
    [
      { required: {}, approvers: ['arn:aws:iam::123456789012:role/ops'] },
      {},
      'governance.approval.required: give at least one of',
    ],
  ])('refuses approvals that cannot work (%j %j)', (approval, selection, message) => {
    // Act
    const found = issues(base({ governance: { approval } }, { governance: selection }));

    // Assess
    expect(
      found.some((i) => i.startsWith(message)),
      found.join('\n'),
    ).toBe(true);
  });

  it('reads sizes in SI and IEC units', () => {
    // Act
    const config = validateConfig(
      base(
        {
          governance: {
            approval: {
              required: { overBytes: '1.5 GiB' },
              approvers: ['arn:aws:iam::123456789012:role/ops'],
            },
          },
        },
        { governance: { approval: { required: { overBytes: '2 GB' } } } },
      ),
    );

    // Assess
    expect(config.governance.approval.required).toEqual({ overBytes: 1_610_612_736 });
    expect(config.selections[0]!.governance?.approval?.required).toEqual({ overBytes: 2_000_000_000 });
  });

  it('warns when archived images would be purged before the 90 days ECR charges for anyway', () => {
    // Prepare
    const config = validateConfig(
      base({ governance: { softDelete: { mode: 'archive', purgeAfterDays: 30 } } }, {}),
    );

    // Act
    const warnings = configWarnings(config);

    // Assess
    expect(warnings).toEqual([
      'governance.softDelete.purgeAfterDays: 30 days, but ECR charges archive storage for at least 90 days — purging earlier saves nothing; keep images restorable for 90 days at the same cost',
    ]);
  });
});
