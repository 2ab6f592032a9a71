/**
 * OrgBreakerReader: the spoke's read of the organization's breaker, across accounts, with GetItem on the hub
 * state table's ARN; unreadable means throw (the caller fails safe).
 */
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { documentClient } from '../../functions/shared/audit/store.js';
import { OrgBreakerReader } from '../../functions/shared/org/org-breaker.js';
import type { BreakerState } from '../../functions/shared/state/breaker.js';

const TABLE_ARN = 'arn:aws:dynamodb:eu-west-1:111111111111:table/ecr-steward-org-state';
const NOW = new Date('2026-06-01T12:00:00.000Z');
const OPEN: BreakerState = {
  pk: 'BREAKER#organization',
  sk: 'BREAKER',
  scope: 'organization',
  state: 'open',
  openedAt: '2026-06-01T11:58:00.000Z',
  reason: '4 deletions across the organization within the 5m window',
};
const ddb = mockClient(DynamoDBDocumentClient);
afterEach(() => ddb.reset());
afterAll(() => ddb.restore());

describe('OrgBreakerReader', () => {
  it('reads the org breaker item with ConsistentRead and the table ARN as TableName', async () => {
    // Prepare
    ddb.on(GetCommand).resolves({ Item: OPEN });
    const reader = new OrgBreakerReader(documentClient(), TABLE_ARN);

    // Act
    const state = await reader.firstOpen(NOW);

    // Assess
    expect(state).toEqual(OPEN);
    expect(ddb.commandCalls(GetCommand).map((c) => c.args[0].input)).toEqual([
      { TableName: TABLE_ARN, Key: { pk: 'BREAKER#organization', sk: 'BREAKER' }, ConsistentRead: true },
    ]);
  });

  it.each([
    ['no item', undefined],
    ['a closed breaker', { ...OPEN, state: 'closed' as const }],
    ['an open breaker whose cooldown has elapsed', { ...OPEN, closesAt: '2026-06-01T11:59:00.000Z' }],
  ])('returns undefined when the hub holds %s', async (_what, item) => {
    // Prepare
    ddb.on(GetCommand).resolves({ Item: item });

    // Act
    const state = await new OrgBreakerReader(documentClient(), TABLE_ARN).firstOpen(NOW);

    // Assess
    expect(state).toBeUndefined();
  });

  it('throws when GetItem fails, so the caller counts the breaker as open', async () => {
    // Prepare
    ddb.on(GetCommand).rejects(
      Object.assign(new Error('not authorized to perform dynamodb:GetItem'), {
        name: 'AccessDeniedException',
      }),
    );

    // Act
    const read = new OrgBreakerReader(documentClient(), TABLE_ARN).firstOpen(NOW);

    // Assess
    await expect(read).rejects.toThrow('not authorized to perform dynamodb:GetItem');
  });
});
