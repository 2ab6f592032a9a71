/**
 * What the lifecycle plan would reclaim in a repository: the cleanup core's dry run over in-memory ports (the
 * cleanup tests' fake registry), so the figure follows ECR's rules and the Steward protections exactly.
 */
import { describe, expect, it } from 'vitest';
import { reclaimableIn } from '../../functions/digest/reclaimable.js';
import { InUseUnavailableError } from '../../functions/shared/adapters/in-use.js';
import type { DeleteSignal } from '../../functions/shared/audit/records.js';
import { config, harness, REGION } from '../cleanup/fakes.js';
import { digestOf, image, NOW } from '../fixtures/images.js';

const CONTEXT = { region: REGION, runId: 'digest-test', now: NOW };

/** `team/app` with four images of 1, 2, 3 and 4 MB, newest first; the policy keeps the newest one. */
function setup() {
  const h = harness();
  h.registry.add('team/app', {
    images: [
      image('a', { age: 1, sizeBytes: 1_000_000, tags: ['v4'] }),
      image('b', { age: 2, sizeBytes: 2_000_000, tags: ['v3'] }),
      image('c', { age: 3, sizeBytes: 3_000_000, tags: ['v2'] }),
      image('d', { age: 4, sizeBytes: 4_000_000, tags: ['v1'] }),
    ],
  });
  const recorded: DeleteSignal[] = [];
  // Read-only, as the digest wires it: the dry run's PLANNED records go nowhere.
  const ports = {
    ...h.ports(),
    audit: {
      record: async (s: DeleteSignal) => {
        recorded.push(s);
        return undefined;
      },
    },
  };
  return { h, ports, recorded };
}

describe('reclaimableIn', () => {
  it('returns the bytes and count of the images the plan expires when the policy keeps the newest', async () => {
    // Prepare
    const { h, ports } = setup();

    // Act
    const result = await reclaimableIn(config(), 'team/app', CONTEXT, ports);

    // Assess
    expect(result).toEqual({ bytes: 9_000_000, images: 3 });
    expect(h.registry.deleteCalls).toEqual([]);
  });

  it('leaves out an image a hold of the table keeps when the holds are given', async () => {
    // Prepare
    const { ports } = setup();
    const held = { ...ports, holds: async () => [{ tag: 'v1', reason: 'escrow', owner: 'alice' }] };

    // Act
    const result = await reclaimableIn(config(), 'team/app', CONTEXT, held);

    // Assess
    expect(result).toEqual({ bytes: 5_000_000, images: 2 });
  });

  it('leaves out an image in use when a running task uses it', async () => {
    // Prepare
    const { h, ports } = setup();
    h.inUseRefs = [
      {
        registryId: '123456789012',
        region: REGION,
        repository: 'team/app',
        digest: digestOf('c'),
        where: 'ecs:task/prod/1',
      },
    ];

    // Act
    const result = await reclaimableIn(config(), 'team/app', CONTEXT, ports);

    // Assess
    expect(result).toEqual({ bytes: 6_000_000, images: 2 });
  });

  it('plans as a dry run whatever the mode when the config enforces', async () => {
    // Prepare
    const { h, ports, recorded } = setup();

    // Act
    await reclaimableIn(config({ mode: 'enforce' }), 'team/app', CONTEXT, ports);

    // Assess
    expect(h.registry.deleteCalls).toEqual([]);
    expect(new Set(recorded.map((s) => s.status))).toEqual(new Set(['PLANNED']));
    expect(h.journal).not.toContain('breaker:firstOpen');
  });

  it('says why there is no plan when an in-use source cannot be read', async () => {
    // Prepare
    const { h, ports } = setup();
    h.inUseError = new InUseUnavailableError('ecs', new Error('AccessDenied'));

    // Act
    const result = await reclaimableIn(config(), 'team/app', CONTEXT, ports);

    // Assess
    expect(result).toEqual({
      unplanned:
        'in-use-unavailable: in-use source ecs could not be read: AccessDenied; nothing is deleted in this run (fail safe)',
    });
  });

  it('says the repository is not managed when no selection matches it', async () => {
    // Prepare
    const { ports } = setup();

    // Act
    const result = await reclaimableIn(config(), 'other/app', CONTEXT, ports);

    // Assess
    expect(result).toEqual({
      unplanned: 'not-managed: repository other/app matches no selection of the config',
    });
  });
});
