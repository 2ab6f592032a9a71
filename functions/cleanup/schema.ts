import * as z from 'zod';
import {
  imageActionEventSchema,
  type PullThroughCacheActionEvent,
  pullThroughCacheActionEventSchema,
  type ReplicationActionEvent,
  replicationActionEventSchema,
  type StrictImageActionEvent,
  strictImageActionEventSchema,
} from '../shared/events/envelope.js';
import { EVENTS } from '../shared/runtime/constants.js';

/** Re-exported for the intake, which parsed pushes with it before arrivals of every kind were routed. */
export { imageActionEventSchema };

/** What the sweep puts on the cleanup queue: one message per managed repository. */
export const sweepMessageSchema = z.strictObject({
  kind: z.literal('sweep'),
  repository: z.string().min(2).max(256),
  runId: z.string().min(1),
  at: z.string().min(1),
});

/**
 * Every event that can start a cleanup of one repository: an image pushed (`ECR Image Action`), replicated
 * into this registry (`ECR Replication Action`, sent in the destination) or synced by a pull-through cache
 * rule (`ECR Pull Through Cache Action`). Digests are checked in each kind: an event with a malformed digest
 * is not ECR's, and goes to the dead-letter queue with the field at fault.
 */
export const cleanupTriggerEventSchema = z.discriminatedUnion('detail-type', [
  strictImageActionEventSchema,
  replicationActionEventSchema,
  pullThroughCacheActionEventSchema,
]);

export type CleanupTriggerEvent = z.output<typeof cleanupTriggerEventSchema>;

/** A cleanup queue message: an arrival event (queued by the intake) or a sweep message. */
export const cleanupMessageSchema = z.union([sweepMessageSchema, cleanupTriggerEventSchema]);

export type CleanupMessage = z.output<typeof cleanupMessageSchema>;
export type SweepMessage = z.output<typeof sweepMessageSchema>;

/**
 * Parses a queue message against the shape it claims (`kind: "sweep"` or an EventBridge event). The union
 * alone reports a single "Invalid input" at the root; this names the field at fault, for the dead-letter reason.
 */
export function safeParseCleanupMessage(json: unknown) {
  const sweepLike =
    typeof json === 'object' && json !== null && (json as { kind?: unknown }).kind === 'sweep';
  return sweepLike ? sweepMessageSchema.safeParse(json) : cleanupTriggerEventSchema.safeParse(json);
}

export function isSweep(message: CleanupMessage): message is SweepMessage {
  return (message as { kind?: unknown }).kind === 'sweep';
}

/**
 * The repository a message asks to clean up, or a reason why it asks for nothing. Only a completed arrival
 * counts: a push or a replication whose `result` is SUCCESS, a pull-through sync whose `sync-status` is.
 * Anything else (a delete, an archive, a failed replication or sync) leaves the repository as it was.
 */
export function repositoryOf(
  message: CleanupMessage | z.output<typeof imageActionEventSchema>,
): { repository: string } | { ignore: string } {
  if (isSweep(message as CleanupMessage)) return { repository: (message as SweepMessage).repository };
  const event = message as CleanupTriggerEvent;
  switch (event['detail-type']) {
    case EVENTS.replicationAction:
      return replicated(event);
    case EVENTS.pullThroughCacheAction:
      return pulledThrough(event);
    default:
      return pushed(event);
  }
}

function pushed(event: StrictImageActionEvent): { repository: string } | { ignore: string } {
  const d = event.detail;
  if (d['action-type'] !== 'PUSH') return { ignore: `action-type ${d['action-type']} is not a push` };
  if (d.result !== 'SUCCESS') return { ignore: `result ${String(d.result)} is not SUCCESS` };
  return { repository: d['repository-name'] };
}

function replicated(event: ReplicationActionEvent): { repository: string } | { ignore: string } {
  const d = event.detail;
  if (d['action-type'] !== 'REPLICATE')
    return { ignore: `action-type ${d['action-type']} is not a replication` };
  if (d.result !== 'SUCCESS') return { ignore: `replication result ${String(d.result)} is not SUCCESS` };
  return { repository: d['repository-name'] };
}

function pulledThrough(event: PullThroughCacheActionEvent): { repository: string } | { ignore: string } {
  const d = event.detail;
  if (d['sync-status'] !== 'SUCCESS')
    return { ignore: `pull-through cache sync-status ${d['sync-status']} is not SUCCESS` };
  return { repository: d['repository-name'] };
}

/** Payload the scheduler sends to the sweep function. */
export const sweepTriggerSchema = z.looseObject({ kind: z.literal('sweep').optional() });
