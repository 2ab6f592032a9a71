/**
 * The two events a spoke puts on the hub bus (docs/org-events.md): their details, the zod schemas the hub
 * validates them with, and the builders the forwarder uses, so that producer and consumer share one shape.
 */
import * as z from 'zod';
import { envelopeSchema } from '../events/envelope.js';
import { ORG_DETAIL_TYPES, ORG_SOURCE } from './keys.js';

const accountSchema = z.string().regex(/^\d{12}$/, 'an account id is 12 digits');
const regionSchema = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'a region name such as eu-west-1');

/** The topics a spoke forwards, by role; the hub republishes to its topic of the same role. */
export const ORG_TOPICS = ['alerts', 'security', 'notices', 'approvals'] as const;
export type OrgTopic = (typeof ORG_TOPICS)[number];

/**
 * A spoke audit item exactly as DynamoDB holds it. Only the keys and the version are required: the audit table
 * also holds request events, hold events and breaker resets (no version: written once), which travel too.
 */
export const spokeAuditItemSchema = z.looseObject({
  pk: z.string().min(1),
  sk: z.string().min(1),
  version: z.number().int().min(0).optional(),
  status: z.string().optional(),
  repository: z.string().optional(),
  digest: z.string().optional(),
  at: z.string().optional(),
  actor: z.looseObject({ type: z.string().optional(), principal: z.string().optional() }).optional(),
});
export type SpokeAuditItem = z.output<typeof spokeAuditItemSchema>;

/** `ECR Steward Audit Record`: one spoke audit item, as of one version. */
export const auditRecordDetailSchema = z.strictObject({
  account: accountSchema,
  region: regionSchema,
  record: spokeAuditItemSchema,
});
export type AuditRecordDetail = z.output<typeof auditRecordDetailSchema>;

/** `ECR Steward Alert`: one message a spoke published on one of its topics. */
export const alertDetailSchema = z.strictObject({
  account: accountSchema,
  region: regionSchema,
  topic: z.enum(ORG_TOPICS),
  subject: z.string().optional(),
  message: z.string(),
  messageId: z.string().min(1),
});
export type AlertDetail = z.output<typeof alertDetailSchema>;

export const auditRecordEventSchema = envelopeSchema.extend({
  source: z.literal(ORG_SOURCE),
  'detail-type': z.literal(ORG_DETAIL_TYPES.auditRecord),
  detail: auditRecordDetailSchema,
});

export const alertEventSchema = envelopeSchema.extend({
  source: z.literal(ORG_SOURCE),
  'detail-type': z.literal(ORG_DETAIL_TYPES.alert),
  detail: alertDetailSchema,
});

/** Either hub event, told apart by its detail type. */
export const orgEventSchema = z.discriminatedUnion('detail-type', [auditRecordEventSchema, alertEventSchema]);
export type OrgEvent = z.output<typeof orgEventSchema>;

/** Validates an event the hub received; the error names the fields at fault. */
export function safeParseOrgEvent(json: unknown) {
  return orgEventSchema.safeParse(json);
}

/** One hub event before PutEvents wraps it: its detail type and detail. */
export interface OrgEntry {
  readonly detailType: (typeof ORG_DETAIL_TYPES)[keyof typeof ORG_DETAIL_TYPES];
  readonly detail: AuditRecordDetail | AlertDetail;
}

/** The event of one spoke audit item. */
export function auditRecordEntry(
  env: { account: string; region: string },
  record: Record<string, unknown>,
): OrgEntry {
  return {
    detailType: ORG_DETAIL_TYPES.auditRecord,
    detail: { account: env.account, region: env.region, record: record as SpokeAuditItem },
  };
}

/** The event of one spoke alert. */
export function alertEntry(
  env: { account: string; region: string },
  alert: { topic: OrgTopic; subject?: string | undefined; message: string; messageId: string },
): OrgEntry {
  return {
    detailType: ORG_DETAIL_TYPES.alert,
    detail: {
      account: env.account,
      region: env.region,
      topic: alert.topic,
      ...(alert.subject ? { subject: alert.subject } : {}),
      message: alert.message,
      messageId: alert.messageId,
    },
  };
}
