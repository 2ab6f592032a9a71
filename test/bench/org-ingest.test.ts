/**
 * The org benchmark's hub ingest (bench/org-ingest.ts), small: every delivery is stored and counted once, and
 * nothing is dead-lettered. The benchmark's config once named two of its four spokes; the hub (rightly) refused
 * the other two, and `npm run bench -- org` failed on a count that fell short with no word of why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildIngestInput,
  type HubDynamo,
  INGEST_CONFIG,
  INGEST_SPOKES,
  ingestAll,
  startHubDynamo,
} from '../../bench/org-ingest.js';
import { isConfiguredSpoke } from '../../functions/shared/config/organization.js';

let dynamo: HubDynamo;
beforeAll(async () => {
  dynamo = await startHubDynamo();
}, 30_000);
afterAll(() => {
  dynamo?.client.destroy();
  dynamo?.process.kill();
});

describe('bench org ingest', () => {
  it("names every spoke it forwards from in the hub's config", () => {
    expect(INGEST_SPOKES.filter((spoke) => !isConfiguredSpoke(INGEST_CONFIG, spoke))).toEqual([]);
  });

  it('stores and counts each deletion once, with nothing dead-lettered', async () => {
    const input = buildIngestInput(1_000, Date.now());
    const result = await ingestAll(dynamo, input);
    expect(input.deletions).toBe(450);
    expect({ stored: result.stored, counted: result.counted, deadLettered: result.deadLettered }).toEqual({
      stored: 450,
      counted: 450,
      deadLettered: 0,
    });
  }, 60_000);

  it('counts a delivery from an account the config does not name as dead-lettered, and does not store it', async () => {
    const input = buildIngestInput(1_000, Date.now());
    const stranger = { ...input.deliveries[0]!, env: { account: '999999999999', region: 'eu-west-1' } };
    const result = await ingestAll(dynamo, { ...input, deliveries: [...input.deliveries, stranger] });
    expect({ stored: result.stored, counted: result.counted, deadLettered: result.deadLettered }).toEqual({
      stored: 450,
      counted: 450,
      deadLettered: 1,
    });
  }, 60_000);
});
