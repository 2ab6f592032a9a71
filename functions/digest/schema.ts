/**
 * The digest's event: what its EventBridge Scheduler schedule delivers. The schedule fills `scheduledTime` with
 * its context attribute, so every retry of one run names the same week; the local cloud delivers the
 * placeholder as written, which stands for "now".
 */
import { z } from 'zod';

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

/** The end of the week a run covers: the scheduled time, or `now` when the event does not give one. */
export function weekEnd(event: DigestEvent, now: Date): Date {
  const t = event.scheduledTime;
  return t === undefined || t === SCHEDULED_TIME_ATTRIBUTE ? now : new Date(Date.parse(t));
}

/** Parses the event, or throws with every problem named (Lambda then retries and dead-letters it). */
export function parseDigestEvent(event: unknown): DigestEvent {
  const parsed = digestEventSchema.safeParse(event);
  if (parsed.success) return parsed.data;
  throw new Error(
    `malformed digest event: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
  );
}
