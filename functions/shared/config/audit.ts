import * as z from 'zod';

/** How long audit records are kept. */
export const auditSchema = z
  .strictObject({
    retentionDays: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe(
        'Expire audit records after this many days (DynamoDB TTL). Off by default: records are kept.',
      ),
    plannedRetentionDays: z
      .number()
      .int()
      .min(1)
      .default(14)
      .describe('Dry-run (PLANNED) records expire after this many days.'),
    operationRetentionDays: z
      .number()
      .int()
      .min(1)
      .default(400)
      .describe(
        'Registry operation records (OPERATION: policy, lifecycle, mutability, scanning, repository changes) expire after this many days.',
      ),
  })
  .default({ plannedRetentionDays: 14, operationRetentionDays: 400 });
