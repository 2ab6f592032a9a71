/**
 * Review #19: the 4 MB limit of one TransactWriteItems (DynamoDB: "The aggregate size of the items in the
 * transaction cannot exceed 4 MB"; sizes are UTF-8 bytes of names and values).
 *
 * 1. AuditStore.recordAll (22b1b96) splits a batch on JSON.stringify(...).length, which counts UTF-16 code
 *    units, not UTF-8 bytes. Governed write-ahead records keep manifests of up to MANIFEST_KEPT_BYTES (64 KB,
 *    bytes); a manifest whose annotations are largely non-ASCII is ~3 bytes per counted character, so 100 such
 *    records go in one transaction of over 4 MB, which DynamoDB refuses: the write-ahead fails on every run of
 *    the repository (no delete, but the batch is stuck).
 * 2. The local proxy (cb22773) does not enforce the 4 MB limit, so the local cloud and the tests never see it.
 */
import { TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeleteSignal } from '../../functions/shared/audit/records.js';
import { AuditStore } from '../../functions/shared/audit/store.js';
import { ACCOUNT, digestOf, REGION, REPO } from '../audit/helpers.js';
import { type Dynamo, startDynamo } from '../support/dynamo.js';

const LIMIT = 4 * 1024 * 1024;

let db: Dynamo;
beforeAll(async () => {
  db = await startDynamo();
});
afterAll(async () => {
  await db.close();
});

/** A manifest of ~60 KB (UTF-8) whose annotation is CJK text: 3 bytes per character. */
function manifestBody(seed: number): string {
  const text = '镜像说明'.repeat(5_000); // 20,000 characters, 60,000 bytes
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    annotations: { 'org.opencontainers.image.description': `${seed} ${text}` },
  });
}

describe('review19: transactions and the 4 MB limit', () => {
  it('recordAll keeps every transaction under 4 MB of UTF-8, whatever the characters of a kept manifest', async () => {
    // Prepare: a store whose client records each transaction's items and answers success
    const sizes: number[] = [];
    const doc = {
      send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
        if (command.constructor.name === 'TransactWriteCommand') {
          const items = (command.input.TransactItems as { Put: { Item: unknown } }[]).map((t) => t.Put.Item);
          sizes.push(items.reduce<number>((n, item) => n + Buffer.byteLength(JSON.stringify(item)), 0));
        }
        return {};
      },
    } as unknown as DynamoDBDocumentClient;
    const store = new AuditStore(doc, 'audit');
    const signals: DeleteSignal[] = Array.from({ length: 100 }, (_, i) => {
      const body = manifestBody(i);
      return {
        registryId: ACCOUNT,
        region: REGION,
        repository: REPO,
        digest: digestOf(`big-${i}`),
        status: 'PENDING',
        evidence: 'steward-write-ahead',
        at: '2026-06-01T12:00:00.000Z',
        tags: [],
        sizeBytes: 10,
        actor: { type: 'ecr-steward', runId: 'run-1', rulePriority: 1, reasons: ['old'] },
        manifest: {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          bytes: Buffer.byteLength(body),
          body,
        },
      };
    });
    // Each record is well under DynamoDB's 400 KB item limit and MANIFEST_KEPT_BYTES.
    expect(Buffer.byteLength(signals[0]!.manifest!.body!)).toBeLessThan(64 * 1024);

    // Act
    await store.recordAll(signals);

    // Assess: every transaction's items (JSON, UTF-8: above DynamoDB's own measure) fit in 4 MB
    expect(sizes.length).toBeGreaterThan(1);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(LIMIT);
  });

  it('the local proxy refuses a transaction of more than 4 MB, as DynamoDB does', async () => {
    // Prepare: 11 items of 390 KB each (each under the 400 KB item limit), 4.2 MB together
    const table = (await db.createTables('review19-size')).state;
    const payload = 'x'.repeat(390_000);
    const command = new TransactWriteItemsCommand({
      TransactItems: Array.from({ length: 11 }, (_, i) => ({
        Put: { TableName: table, Item: { pk: { S: `big-${i}` }, sk: { S: 'x' }, payload: { S: payload } } },
      })),
    });

    // Act
    const attempt = db.client.send(command);

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'ValidationException' });
    expect(await db.scan(table)).toEqual([]);
  });
});
