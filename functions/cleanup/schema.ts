import { z } from 'zod';
import { type ImageActionEvent, imageActionEventSchema } from '../shared/events/envelope.js';

/** What the sweep puts on the cleanup queue: one message per managed repository. */
export const sweepMessageSchema = z.strictObject({
  kind: z.literal('sweep'),
  repository: z.string().min(2).max(256),
  runId: z.string().min(1),
  at: z.string().min(1),
});

/** A cleanup queue message: an `ECR Image Action` PUSH event (from the rule) or a sweep message. */
export const cleanupMessageSchema = z.union([sweepMessageSchema, imageActionEventSchema]);

export type CleanupMessage = z.output<typeof cleanupMessageSchema>;
export type SweepMessage = z.output<typeof sweepMessageSchema>;

/**
 * Parses a queue message against the shape it claims (`kind: "sweep"` or an EventBridge event). The union
 * alone reports a single "Invalid input" at the root; this names the field at fault, for the dead-letter reason.
 */
export function safeParseCleanupMessage(json: unknown) {
  const sweepLike =
    typeof json === 'object' && json !== null && (json as { kind?: unknown }).kind === 'sweep';
  return sweepLike ? sweepMessageSchema.safeParse(json) : imageActionEventSchema.safeParse(json);
}

export function isSweep(message: CleanupMessage): message is SweepMessage {
  return (message as { kind?: unknown }).kind === 'sweep';
}

/** The repository a message asks to clean up, or a reason why it asks for nothing. */
export function repositoryOf(message: CleanupMessage): { repository: string } | { ignore: string } {
  if (isSweep(message)) return { repository: message.repository };
  const d = (message as ImageActionEvent).detail;
  if (d['action-type'] !== 'PUSH') return { ignore: `action-type ${d['action-type']} is not a push` };
  if (d.result !== 'SUCCESS') return { ignore: `result ${String(d.result)} is not SUCCESS` };
  return { repository: d['repository-name'] };
}

/** Payload the scheduler sends to the sweep function. */
export const sweepTriggerSchema = z.looseObject({ kind: z.literal('sweep').optional() });
