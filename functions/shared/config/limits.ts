import * as z from 'zod';

/** What one run may delete. */
export const boundsSchema = z
  .strictObject({
    maxDeletesPerRun: z.number().int().min(0).max(100_000).default(1000),
    maxDeletesPerRepository: z.number().int().min(0).max(100_000).default(500),
  })
  .default({ maxDeletesPerRun: 1000, maxDeletesPerRepository: 500 })
  .describe('What one run may delete; the rest waits for the next run.');

/** Reserved concurrency per function; `false` turns reservation off (accounts with a low concurrency quota). */
export const DEFAULT_RESERVED_CONCURRENCY = {
  intake: 5,
  worker: 5,
  sweep: 1,
  audit: 5,
  scanGate: 5,
} as const;

/** Reserved concurrency of each function, or false. */
export const reservedConcurrencySchema = z
  .union([
    z.literal(false),
    z.strictObject({
      intake: z.number().int().min(1).max(1000).default(DEFAULT_RESERVED_CONCURRENCY.intake),
      worker: z.number().int().min(1).max(1000).default(DEFAULT_RESERVED_CONCURRENCY.worker),
      sweep: z.number().int().min(1).max(1000).default(DEFAULT_RESERVED_CONCURRENCY.sweep),
      audit: z.number().int().min(1).max(1000).default(DEFAULT_RESERVED_CONCURRENCY.audit),
      scanGate: z.number().int().min(1).max(1000).default(DEFAULT_RESERVED_CONCURRENCY.scanGate),
    }),
  ])
  .default({ ...DEFAULT_RESERVED_CONCURRENCY })
  .describe(
    "Reserved concurrency of each function, so a flood of events cannot take the account's whole Lambda concurrency (and a runaway cannot multiply itself). false reserves none: use it in accounts whose concurrency quota is too low to reserve any.",
  );
