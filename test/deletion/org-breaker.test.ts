/**
 * The organization's breaker as every spoke's deletes see it: read with the registry's own breakers before each
 * delete batch, and open when it cannot be read (fail safe).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DeleteOutcome } from '../../functions/shared/adapters/ecr.js';
import type { DeleteSignal } from '../../functions/shared/audit/records.js';
import { type DeleteItem, safeDelete } from '../../functions/shared/deletion/safe-delete.js';
import { StewardPorts } from '../../functions/shared/runtime/ports.js';
import {
  type BreakerState,
  BreakerStore,
  registryScope,
  repositoryScope,
} from '../../functions/shared/state/breaker.js';
import { testConfig } from '../audit/helpers.js';
import { type Dynamo, startDynamo } from '../support/dynamo.js';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const REPO = 'services/api';
const ORG_OPEN: BreakerState = {
  pk: 'BREAKER#organization',
  sk: 'BREAKER',
  scope: 'organization',
  state: 'open',
  openedAt: '2026-06-01T11:59:00.000Z',
  reason: 'organization 5m: 41 deletes > 40 (222222222222 eu-west-1 services/api by alice)',
};

let db: Dynamo;
beforeAll(async () => {
  db = await startDynamo();
});
afterAll(async () => {
  await db.close();
});

const item = (digest: string): DeleteItem => ({
  digest,
  sizeBytes: 1,
  signal: (status, extra) =>
    ({
      registryId: '222222222222',
      region: 'eu-west-1',
      repository: REPO,
      digest,
      status,
      evidence: 'steward-write-ahead',
      at: NOW.toISOString(),
      eventId: `${status}#${digest}`,
      ...extra,
    }) as DeleteSignal,
});

describe('BreakerStore with the organization breaker', () => {
  it('returns the open organization breaker when the registry breakers are closed', async () => {
    // Prepare
    const tables = await db.createTables('org-open');
    const outer = { firstOpen: vi.fn(async () => ORG_OPEN) };

    // Act
    const open = await new BreakerStore(db.doc, tables.state, outer).firstOpen(
      [registryScope, repositoryScope(REPO)],
      NOW,
    );

    // Assess
    expect(open).toEqual(ORG_OPEN);
    expect(outer.firstOpen).toHaveBeenCalledWith(NOW);
  });

  it('answers with an open registry breaker without reading the organization', async () => {
    // Prepare
    const tables = await db.createTables('org-local');
    await new BreakerStore(db.doc, tables.state).open(registryScope, 'burst', NOW);
    const outer = { firstOpen: vi.fn(async () => undefined) };

    // Act
    const open = await new BreakerStore(db.doc, tables.state, outer).firstOpen([registryScope], NOW);

    // Assess
    expect(open).toMatchObject({ scope: 'registry', state: 'open', reason: 'burst' });
    expect(outer.firstOpen).not.toHaveBeenCalled();
  });

  it('counts an organization breaker that cannot be read as open, and deletes nothing', async () => {
    // Prepare
    const tables = await db.createTables('org-unreadable');
    const outer = {
      firstOpen: async () => {
        throw Object.assign(new Error('User is not authorized to perform: dynamodb:GetItem'), {
          name: 'AccessDeniedException',
        });
      },
    };
    const breaker = new BreakerStore(db.doc, tables.state, outer);
    const deleteImages = vi.fn(async (): Promise<DeleteOutcome> => ({ deleted: [], failures: [] }) as never);
    const records: DeleteSignal[] = [];

    // Act
    const result = await safeDelete(REPO, [item('sha256:a'), item('sha256:b')], {
      registry: { deleteImages, existingDigests: async () => new Set() },
      audit: { record: async (s) => records.push(s) },
      breaker,
    });

    // Assess
    expect(result.breaker).toEqual({
      pk: 'BREAKER#organization',
      sk: 'BREAKER',
      scope: 'organization',
      state: 'open',
      // safeDelete reads the breaker at the time of each batch.
      openedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      reason:
        'the organization breaker cannot be read (User is not authorized to perform: dynamodb:GetItem): nothing is deleted until it can (fail safe)',
    });
    expect(result.notAttempted).toBe(2);
    expect(deleteImages).not.toHaveBeenCalled();
    expect(records).toEqual([]);
  });
});

describe('StewardPorts.breaker in a spoke', () => {
  it('reads the org breaker from the hub state table by its ARN, consistently, when the config has a hub', async () => {
    // Prepare
    const tables = await db.createTables('org-ports');
    const calls: unknown[] = [];
    const orgDoc = {
      send: async (command: { input: unknown }) => {
        calls.push(command.input);
        return { Item: ORG_OPEN };
      },
    };
    const config = testConfig({
      organization: {
        hub: { account: '111111111111', region: 'eu-west-1' },
        targets: [{ accounts: ['222222222222'], regions: ['eu-west-1'] }],
      },
    });
    const ports = new StewardPorts(config, {
      tables: { state: tables.state },
      clients: { doc: db.doc, orgDoc: orgDoc as never },
    });

    // Act
    const open = await ports.breaker.firstOpen([registryScope], NOW);

    // Assess
    expect(open).toEqual(ORG_OPEN);
    expect(calls).toEqual([
      {
        TableName: 'arn:aws:dynamodb:eu-west-1:111111111111:table/ecr-steward-org-state',
        Key: { pk: 'BREAKER#organization', sk: 'BREAKER' },
        ConsistentRead: true,
      },
    ]);
  });

  it('reads no org breaker without an organization', async () => {
    // Prepare
    const tables = await db.createTables('org-none');
    const orgDoc = { send: vi.fn() };
    const ports = new StewardPorts(testConfig(), {
      tables: { state: tables.state },
      clients: { doc: db.doc, orgDoc: orgDoc as never },
    });

    // Act
    const open = await ports.breaker.firstOpen([registryScope], NOW);

    // Assess
    expect(open).toBeUndefined();
    expect(orgDoc.send).not.toHaveBeenCalled();
  });
});
