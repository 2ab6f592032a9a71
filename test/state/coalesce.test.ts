/**
 * BatchGetCoalescer (functions/shared/state/coalesce.ts): consistent reads asked at about the same time go out
 * as one BatchGetItem, and no caller is ever answered by a read sent before it asked. A fake document client
 * whose calls the test answers one by one.
 */
import type { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { SnapshotStore } from '../../functions/shared/audit/reconcile.js';
import { BreakerStore, registryScope, repositoryScope } from '../../functions/shared/state/breaker.js';
import { BatchGetCoalescer, BatchWriteCoalescer } from '../../functions/shared/state/coalesce.js';

const TABLE = 'state';

interface Call {
  readonly keys: string[];
  readonly consistent: boolean | undefined;
  answer(items: Record<string, unknown>[], unprocessed?: { pk: string; sk: string }[]): void;
  fail(error: Error): void;
}

/** A document client that holds each BatchGetItem until the test answers it. */
function heldClient(): { doc: DynamoDBDocumentClient; calls: Call[] } {
  const calls: Call[] = [];
  const doc = {
    send: (command: BatchGetCommand) =>
      new Promise((resolve, reject) => {
        const request = command.input.RequestItems![TABLE]!;
        calls.push({
          keys: request.Keys!.map((k) => `${k.pk}/${k.sk}`),
          consistent: request.ConsistentRead,
          answer: (items, unprocessed = []) =>
            resolve({
              Responses: { [TABLE]: items },
              UnprocessedKeys: unprocessed.length > 0 ? { [TABLE]: { Keys: unprocessed } } : {},
            }),
          fail: reject,
        });
      }),
  } as unknown as DynamoDBDocumentClient;
  return { doc, calls };
}

const key = (name: string) => ({ pk: `BREAKER#${name}`, sk: 'BREAKER' });
const item = (name: string, state: string) => ({ ...key(name), state });
/** Lets the coalescer's microtask and the answered call's continuations run. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('BatchGetCoalescer', () => {
  it('sends the reads asked in one turn as one consistent call and gives each caller its own items', async () => {
    // Prepare
    const { doc, calls } = heldClient();
    const reads = new BatchGetCoalescer(doc, TABLE);

    // Act
    const a = reads.get([key('registry'), key('repository:a')]);
    const b = reads.get([key('registry'), key('repository:b')]);
    await turn();
    calls[0]!.answer([item('registry', 'closed'), item('repository:b', 'open')]);

    // Assess
    expect(calls.map((c) => [c.keys, c.consistent])).toEqual([
      [['BREAKER#registry/BREAKER', 'BREAKER#repository:a/BREAKER', 'BREAKER#repository:b/BREAKER'], true],
    ]);
    expect(await a).toEqual({ items: [item('registry', 'closed')], unprocessed: [] });
    expect(await b).toEqual({
      items: [item('registry', 'closed'), item('repository:b', 'open')],
      unprocessed: [],
    });
  });

  it('answers a caller that asked while a call was in flight with the next call, never the one before', async () => {
    // Prepare: the first read is in flight
    const { doc, calls } = heldClient();
    const reads = new BatchGetCoalescer(doc, TABLE);
    const first = reads.get([key('registry')]);
    await turn();

    // Act: two more callers ask (the breaker opens meanwhile); the first call then returns what it read
    const second = reads.get([key('registry'), key('repository:b')]);
    const third = reads.get([key('registry'), key('repository:c')]);
    await turn();
    const sentBeforeFirstReturned = calls.length;
    calls[0]!.answer([item('registry', 'closed')]);
    await turn();
    calls[1]!.answer([item('registry', 'open')]);

    // Assess
    expect(sentBeforeFirstReturned).toBe(1);
    expect(calls.map((c) => c.keys)).toEqual([
      ['BREAKER#registry/BREAKER'],
      ['BREAKER#registry/BREAKER', 'BREAKER#repository:b/BREAKER', 'BREAKER#repository:c/BREAKER'],
    ]);
    expect((await first).items).toEqual([item('registry', 'closed')]);
    expect((await second).items).toEqual([item('registry', 'open')]);
    expect((await third).items).toEqual([item('registry', 'open')]);
  });

  it("gives each caller the unprocessed keys among its own, and every caller of a failed call the call's error", async () => {
    // Prepare
    const { doc, calls } = heldClient();
    const reads = new BatchGetCoalescer(doc, TABLE);

    // Act
    const a = reads.get([key('repository:a')]);
    const b = reads.get([key('repository:b')]);
    await turn();
    calls[0]!.answer([item('repository:a', 'closed')], [key('repository:b')]);
    const c = reads.get([key('repository:c')]);
    const d = reads.get([key('repository:d')]);
    await turn();
    calls[1]!.fail(new Error('ProvisionedThroughputExceededException'));

    // Assess
    expect(await a).toEqual({ items: [item('repository:a', 'closed')], unprocessed: [] });
    expect(await b).toEqual({ items: [], unprocessed: [key('repository:b')] });
    await expect(c).rejects.toThrow('ProvisionedThroughputExceededException');
    await expect(d).rejects.toThrow('ProvisionedThroughputExceededException');
  });

  it('sends at most 100 distinct keys a call: a request that would pass them waits for the next', async () => {
    // Prepare
    const { doc, calls } = heldClient();
    const reads = new BatchGetCoalescer(doc, TABLE);
    const many = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => key(`${prefix}${i}`));

    // Act
    const a = reads.get(many('a', 60));
    const b = reads.get(many('b', 50));
    await turn();
    calls[0]!.answer([]);
    await turn();
    calls[1]!.answer([]);
    await Promise.all([a, b]);

    // Assess
    expect(calls.map((c) => c.keys.length)).toEqual([60, 50]);
    expect(() => reads.get(many('c', 101))).toThrow('at most 100 keys');
  });
});

/** A document client that holds each BatchWriteItem until the test answers it with the items left unprocessed. */
function heldWrites(): {
  doc: DynamoDBDocumentClient;
  calls: { keys: string[]; answer(unprocessed: Record<string, unknown>[]): void }[];
} {
  const calls: { keys: string[]; answer(unprocessed: Record<string, unknown>[]): void }[] = [];
  const doc = {
    send: (command: BatchWriteCommand) =>
      new Promise((resolve) => {
        calls.push({
          keys: command.input.RequestItems![TABLE]!.map(
            (r) => `${r.PutRequest!.Item!.pk}/${r.PutRequest!.Item!.sk}`,
          ),
          answer: (unprocessed) =>
            resolve({
              UnprocessedItems:
                unprocessed.length > 0
                  ? { [TABLE]: unprocessed.map((Item) => ({ PutRequest: { Item } })) }
                  : {},
            }),
        });
      }),
  } as unknown as DynamoDBDocumentClient;
  return { doc, calls };
}

const snapshot = (repository: string, version = 1) => ({ pk: `SNAP#${repository}`, sk: 'META', version });
const stat = (repository: string) => ({ pk: `REPOSTAT#${repository}`, sk: 'STAT', images: 5 });

describe('BatchWriteCoalescer', () => {
  it('puts the items of the callers of one turn in one call and gives each its own unprocessed items back', async () => {
    // Prepare
    const { doc, calls } = heldWrites();
    const writes = new BatchWriteCoalescer(doc, TABLE);

    // Act
    const a = writes.put([snapshot('a'), stat('a')]);
    const b = writes.put([snapshot('b'), stat('b')]);
    await turn();
    calls[0]!.answer([stat('b')]);

    // Assess
    expect(calls.map((c) => c.keys)).toEqual([
      ['SNAP#a/META', 'REPOSTAT#a/STAT', 'SNAP#b/META', 'REPOSTAT#b/STAT'],
    ]);
    expect(await a).toEqual([]);
    expect(await b).toEqual([stat('b')]);
  });

  it('sends an item another caller of the turn puts, and anything past 25 items, in the next call', async () => {
    // Prepare
    const { doc, calls } = heldWrites();
    const writes = new BatchWriteCoalescer(doc, TABLE);
    const many = Array.from({ length: 24 }, (_, i) => stat(`r${i}`));

    // Act
    const first = writes.put([snapshot('a', 1)]);
    const again = writes.put([snapshot('a', 2)]);
    const crowd = writes.put(many);
    await turn();
    calls[0]!.answer([]);
    await turn();
    calls[1]!.answer([]);
    await Promise.all([first, again, crowd]);

    // Assess
    expect(calls.map((c) => c.keys.length)).toEqual([25, 1]);
    expect(calls[0]!.keys[0]).toBe('SNAP#a/META');
    expect(calls[1]!.keys).toEqual(['SNAP#a/META']);
    expect(() => writes.put(Array.from({ length: 26 }, (_, i) => stat(`x${i}`)))).toThrow('at most 25 items');
  });
});

describe('batchGetsOf', () => {
  it("shares one table's reads between the stores over one client: a breaker read and a snapshot load in one call", async () => {
    // Prepare
    const { doc, calls } = heldClient();
    const breaker = new BreakerStore(doc, TABLE);
    const snapshots = new SnapshotStore(doc, TABLE);
    const ref = { registryId: '111111111111', region: 'eu-west-1', repository: 'team/a' };

    // Act
    const open = breaker.firstOpen([registryScope, repositoryScope('team/b')], new Date());
    const loaded = snapshots.load(ref);
    await turn();
    calls[0]!.answer([
      { pk: 'BREAKER#registry', sk: 'BREAKER', scope: 'registry', state: 'open', reason: 'burst' },
      { pk: 'SNAP#111111111111#eu-west-1#team/a', sk: 'META', at: 'T', parts: {}, entries: [] },
    ]);

    // Assess
    expect(calls.map((c) => c.keys)).toEqual([
      [
        'BREAKER#registry/BREAKER',
        'BREAKER#repository:team/b/BREAKER',
        'SNAP#111111111111#eu-west-1#team/a/META',
      ],
    ]);
    expect(await open).toMatchObject({ scope: 'registry', reason: 'burst' });
    expect(await loaded).toEqual({ at: 'T', entries: [] });
  });
});
