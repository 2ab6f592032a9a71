/**
 * Review 27a, finding 5 (latent), fixed: BatchWriteCoalescer.take (functions/shared/state/coalesce.ts:189-206) skips a
 * waiting put that shares an item with one already taken, but keeps taking the puts queued after it. A put queued
 * later that writes an item the skipped put also writes is then sent first, and the skipped (older) put lands
 * after it: the older value wins. The class's own contract ("a caller putting an item another one puts waits for
 * the next call") is broken for the later caller. Not reachable through today's worker wiring (each repository's
 * snapshot and count items are its own, and one repository is cleaned once per invocation), hence latent.
 */
import type { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { BatchWriteCoalescer } from '../../functions/shared/state/coalesce.js';

const TABLE = 'state';
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('review 27a: BatchWriteCoalescer keeps the order of puts of one item', () => {
  it('never sends a later put of an item before an earlier, still waiting put of the same item', async () => {
    // Prepare: a client that applies each BatchWriteItem to a table in memory when the test answers it
    const table = new Map<string, unknown>();
    const pending: (() => void)[] = [];
    const doc = {
      send: (command: BatchWriteCommand) =>
        new Promise((resolve) => {
          pending.push(() => {
            for (const r of command.input.RequestItems![TABLE]!) {
              const item = r.PutRequest!.Item!;
              table.set(`${item.pk}/${item.sk}`, item.v);
            }
            resolve({});
          });
        }),
    } as unknown as DynamoDBDocumentClient;
    const writes = new BatchWriteCoalescer(doc, TABLE);

    // Act: X puts K; Y (later) puts K and L; Z (later still) puts L
    const x = writes.put([{ pk: 'K', sk: 'S', v: 'x' }]);
    const y = writes.put([
      { pk: 'K', sk: 'S', v: 'y' },
      { pk: 'L', sk: 'S', v: 'y' },
    ]);
    const z = writes.put([{ pk: 'L', sk: 'S', v: 'z' }]);
    for (let i = 0; i < 5; i++) {
      await turn();
      pending.shift()?.();
    }
    await Promise.all([x, y, z]);

    // Assess: the last put of L was Z's
    expect(table.get('L/S')).toBe('z');
    expect(table.get('K/S')).toBe('y');
  });
});
