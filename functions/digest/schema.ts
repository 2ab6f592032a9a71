/**
 * The digest's event: what its EventBridge Scheduler schedule delivers. The schedule fills `scheduledTime` with
 * its context attribute, so every retry of one run names the same week; the local cloud delivers the
 * placeholder as written, which stands for "now".
 */
import * as z from 'zod';

/** The kind the schedule's payload carries. */
export const DIGEST_KIND = 'digest';

/** EventBridge Scheduler's context attribute for the time a run was scheduled for. */
export const SCHEDULED_TIME_ATTRIBUTE = '<aws.scheduler.scheduled-time>';

export const digestEventSchema = z.strictObject({
  kind: z.literal(DIGEST_KIND),
  scheduledTime: z
    .string()
    .refine(
      (t) => t === SCHEDULED_TIME_ATTRIBUTE || !Number.isNaN(Date.parse(t)),
      'an ISO-8601 time (EventBridge Scheduler fills <aws.scheduler.scheduled-time>)',
    )
    .optional(),
});

export type DigestEvent = z.output<typeof digestEventSchema>;

/**
 * The end of the week a run covers: the scheduled time, or, when the event gives none, `now` to the minute (as
 * the scheduler's times are), so a retry within the minute is still the same run.
 */
export function weekEnd(event: DigestEvent, now: Date): Date {
  const t = event.scheduledTime;
  if (t === undefined || t === SCHEDULED_TIME_ATTRIBUTE)
    return new Date(Math.floor(now.getTime() / 60_000) * 60_000);
  return new Date(Date.parse(t));
}

/** Parses the event, or throws with every problem named (Lambda then retries and dead-letters it). */
export function parseDigestEvent(event: unknown): DigestEvent {
  const parsed = digestEventSchema.safeParse(event);
  if (parsed.success) return parsed.data;
  throw new Error(
    `malformed digest event: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
  );
}
