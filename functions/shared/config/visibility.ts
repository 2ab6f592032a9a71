import * as z from 'zod';
import { regionNameSchema } from './regions.js';
import { isTimeZone, scheduleExpression } from './sweep.js';

/** The weekly digest: what happened and what is coming, sent to each selection's subscribers and the alerts topic. */
export const digestSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Send the digest. On by default (one invocation a week).'),
    schedule: scheduleExpression
      .default('cron(0 8 ? * MON *)')
      .describe('When the digest is sent (EventBridge Scheduler expression).'),
    timezone: z
      .string()
      .refine(isTimeZone, 'not an IANA time zone such as "UTC" or "Europe/Berlin"')
      .default('UTC')
      .describe('The time zone of `schedule`, and of the dates the digest prints.'),
  })
  .default({ enabled: true, schedule: 'cron(0 8 ? * MON *)', timezone: 'UTC' });

/** ECR storage prices of one region, USD per GB-month. */
export const storagePriceSchema = z.strictObject({
  standardPerGbMonth: z.number().min(0).describe('Standard storage, USD per GB-month.'),
  archivePerGbMonth: z.number().min(0).describe('Archive storage class, USD per GB-month.'),
});

/** `ecr-steward report`: what the registry holds, costs and could reclaim. */
export const reportSchema = z
  .strictObject({
    prices: z
      .record(regionNameSchema, storagePriceSchema)
      .optional()
      .describe(
        "Storage prices by region, overriding the built-in table (ECR's published prices): e.g. a negotiated rate.",
      ),
  })
  .default({});

export type DigestConfig = z.output<typeof digestSchema>;
export type ReportConfig = z.output<typeof reportSchema>;
