/**
 * A rejection with a falsy value (undefined, null, 0, '') is a failure too: mapLimit used to keep its first
 * failure in a variable it then tested for truth, so such a rejection was dropped and mapLimit resolved. The
 * write-ahead goes through mapLimit when the audit writer has no recordAll, so a PENDING write rejecting that way
 * let safeDelete call BatchDeleteImage with no record written. The stores here reject with Errors; the guarantee
 * should not depend on it.
 */
import { describe, expect, it } from 'vitest';
import type { DeleteSignal } from '../../functions/shared/audit/records.js';
import { type SafeDeletePorts, safeDelete } from '../../functions/shared/deletion/safe-delete.js';
import { mapLimit } from '../../functions/shared/runtime/concurrency.js';
import { digestOf } from '../fixtures/images.js';

describe('a write-ahead write that rejects with a falsy value', () => {
  it('mapLimit rejects when a call rejects with undefined', async () => {
    await expect(
      mapLimit([1, 2], 2, async (n) => {
        if (n === 2) return Promise.reject(undefined);
        return n;
      }),
    ).rejects.toBeUndefined();
  });

  it('safeDelete makes no delete call when the PENDING record could not be written', async () => {
    // Prepare
    const deleteCalls: string[][] = [];
    const written: DeleteSignal[] = [];
    const ports: SafeDeletePorts = {
      registry: {
        async deleteImages(_r, digests) {
          deleteCalls.push([...digests]);
          return { deleted: [...digests], failures: [] };
        },
        async existingDigests() {
          return new Set<string>();
        },
      },
      audit: {
        async record(signal) {
          // The write-ahead write fails, with a rejection that carries no Error
          if (signal.status === 'PENDING') return Promise.reject(undefined);
          written.push(signal);
          return undefined;
        },
      },
      breaker: { firstOpen: async () => undefined },
    };
    const item = {
      digest: digestOf('a'),
      sizeBytes: 1,
      signal: (status: DeleteSignal['status'], extra: Partial<DeleteSignal> = {}) =>
        ({
          registryId: '123456789012',
          region: 'us-west-2',
          repository: 'team/app',
          digest: digestOf('a'),
          status,
          evidence: 'steward-write-ahead',
          at: new Date().toISOString(),
          ...extra,
        }) as DeleteSignal,
    };

    // Act
    const outcome = await safeDelete('team/app', [item], ports).catch((e: unknown) => ({ threw: e }));

    // Assess
    expect(deleteCalls).toEqual([]);
    expect(outcome).toHaveProperty('threw');
  });
});
