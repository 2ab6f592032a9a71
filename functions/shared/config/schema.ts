import { z } from 'zod';
import { gatePolicySchema } from '../../scan-gate/policy.js';
import { stewardPolicySchema } from '../lifecycle/steward-schema.js';
import { formatPolicyError, validatePolicyDocument } from '../lifecycle/validate.js';

/** An inline ECR lifecycle policy, validated with ECR's own rules. */
const lifecyclePolicySchema = z.unknown().superRefine((doc, ctx) => {
  const result = validatePolicyDocument(doc);
  if (!result.valid) {
    for (const error of result.errors) ctx.addIssue({ code: 'custom', message: formatPolicyError(error) });
  }
});

const repositoryGlob = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[a-z0-9*][a-z0-9._\-/*]*$/, 'a repository name glob: lower-case letters, digits, . _ - / and *');

export const selectionSchema = z
  .strictObject({
    name: z.string().min(1).optional().describe('A label for logs and reports.'),
    repositories: z
      .array(repositoryGlob)
      .min(1)
      .optional()
      .describe('Repository name globs (`*` matches any run of characters, `/` included).'),
    repositoryTags: z
      .record(z.string().min(1), z.string())
      .optional()
      .describe('Repository resource tags that must all be present with these values.'),
    lifecyclePolicy: z
      .union([z.literal('fromRepository'), lifecyclePolicySchema])
      .describe(
        'The ECR lifecycle policy JSON to enforce, or "fromRepository" to read the policy attached to the repository (ECR will then also act on it itself).',
      ),
    steward: stewardPolicySchema.optional(),
  })
  .refine((s) => s.repositories !== undefined || s.repositoryTags !== undefined, {
    message: 'a selection needs "repositories" (name globs) or "repositoryTags" (or both)',
  });

const ecsSourceSchema = z.strictObject({
  enabled: z.boolean().default(true),
  clusters: z
    .array(z.string().min(1))
    .optional()
    .describe('Cluster names or ARNs to inspect; all clusters of the account and region when omitted.'),
  taskDefinitionRevisions: z
    .number()
    .int()
    .min(0)
    .max(100)
    .default(3)
    .describe('Newest ACTIVE revisions of each task-definition family counted as in use (0 = none).'),
});

const lambdaSourceSchema = z.strictObject({ enabled: z.boolean().default(true) });

const WINDOWS = ['5m', '15m', '1h', '6h', '24h'] as const;
export type RateWindow = (typeof WINDOWS)[number];
export const WINDOW_MINUTES: Record<RateWindow, number> = {
  '5m': 5,
  '15m': 15,
  '1h': 60,
  '6h': 360,
  '24h': 1440,
};

export const thresholdSchema = z
  .strictObject({
    scope: z.enum(['repository', 'registry']).describe('Per repository, or all repositories together.'),
    window: z
      .enum(WINDOWS)
      .describe('Counting window (aligned to the clock: 5m windows start at :00, :05, …).'),
    maxDeletes: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('Alert when more images than this are deleted in the window.'),
    maxPercentOfImages: z
      .number()
      .min(0.1)
      .max(100)
      .optional()
      .describe(
        "Repository scope only: alert when deletes in the window exceed this share of the repository's images.",
      ),
  })
  .refine((t) => t.maxDeletes !== undefined || t.maxPercentOfImages !== undefined, {
    message: 'a threshold needs maxDeletes or maxPercentOfImages',
  })
  .refine((t) => t.scope === 'repository' || t.maxPercentOfImages === undefined, {
    message: 'maxPercentOfImages applies to the repository scope only',
  });

export const DEFAULT_THRESHOLDS = [
  { scope: 'repository', window: '5m', maxDeletes: 200 },
  { scope: 'repository', window: '1h', maxPercentOfImages: 50 },
  { scope: 'registry', window: '1h', maxDeletes: 2000 },
  { scope: 'registry', window: '24h', maxDeletes: 10000 },
] as const;

const subscriptionSchema = z.strictObject({
  protocol: z.enum(['email', 'https', 'sqs', 'lambda']),
  endpoint: z
    .string()
    .min(1)
    .describe('E-mail address, HTTPS URL, or the ARN of an SQS queue or Lambda function.'),
  topics: z
    .array(z.enum(['alerts', 'security']))
    .min(1)
    .default(['alerts', 'security']),
});

const gateSelectionSchema = z
  .strictObject({
    repositories: z.array(repositoryGlob).min(1).optional(),
    repositoryTags: z.record(z.string().min(1), z.string()).optional(),
    policy: gatePolicySchema,
  })
  .refine((s) => s.repositories !== undefined || s.repositoryTags !== undefined, {
    message: 'a gate selection needs "repositories" or "repositoryTags"',
  });

/** ECR's scanning filter: `^[a-z0-9*](?:[._\-/a-z0-9*]?[a-z0-9*]+)*$`, 1 to 255 characters. */
const scanFilter = z
  .string()
  .min(1)
  .max(255)
  .regex(
    /^[a-z0-9*](?:[._\-/a-z0-9*]?[a-z0-9*]+)*$/,
    'an ECR scanning filter: lower-case letters, digits, . _ - / and * (a wildcard), such as "prod/*" or "*"',
  );

const registryScanningSchema = z
  .strictObject({
    scanType: z
      .enum(['BASIC', 'ENHANCED'])
      .describe('BASIC: ECR scans. ENHANCED: Amazon Inspector scans (enable Inspector for ECR first).'),
    rules: z
      .array(
        z.strictObject({
          scanFrequency: z
            .enum(['SCAN_ON_PUSH', 'CONTINUOUS_SCAN'])
            .describe(
              'CONTINUOUS_SCAN needs ENHANCED. Repositories no rule matches are scanned manually only.',
            ),
          repositories: z
            .array(scanFilter)
            .min(1)
            .max(100)
            .describe('Repository name filters; * matches any run of characters.'),
        }),
      )
      .max(2)
      .describe('At most one rule per frequency (ECR allows two rules).'),
  })
  .refine((c) => c.scanType === 'ENHANCED' || c.rules.every((r) => r.scanFrequency === 'SCAN_ON_PUSH'), {
    message: 'BASIC scanning supports SCAN_ON_PUSH only; CONTINUOUS_SCAN needs "scanType": "ENHANCED"',
    path: ['rules'],
  })
  .refine((c) => new Set(c.rules.map((r) => r.scanFrequency)).size === c.rules.length, {
    message: 'one rule per scanFrequency: put all the filters of a frequency in one rule',
    path: ['rules'],
  })
  .describe(
    "The registry's scanning configuration, set by the stack. There is one per account and region: the stack then owns it (a change made by hand is overwritten at the next deploy). It is retained when the stack is deleted or this block is removed.",
  );

export const gateConfigSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    policy: gatePolicySchema
      .default(gatePolicySchema.parse({}))
      .describe('The gate policy for repositories no selection names.'),
    selections: z
      .array(gateSelectionSchema)
      .default([])
      .describe('Per-repository policies; the first match wins.'),
    onFail: z
      .strictObject({
        notify: z.boolean().default(true),
        quarantine: z
          .strictObject({
            enabled: z.boolean().default(false),
            tagPrefix: z
              .string()
              .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,80}$/)
              .default('quarantined-')
              .describe('The quarantine tag is this prefix plus the first 12 hex characters of the digest.'),
            expireAfterDays: z
              .number()
              .int()
              .min(1)
              .max(3650)
              .optional()
              .describe(
                'Remove a quarantined image once it has failed the gate for this many days. Before removing, the gate judges the image again with the current findings and policy: a fixed or allowlisted image is released instead. Removal goes through the safe delete path (mode, breaker, in-use protection, write-ahead audit). Checked on the sweep schedule. Off by default.',
              ),
          })
          .refine((q) => q.enabled || q.expireAfterDays === undefined, {
            message: 'expireAfterDays needs the quarantine enabled ("enabled": true)',
            path: ['expireAfterDays'],
          })
          .default({ enabled: false, tagPrefix: 'quarantined-' }),
        remove: z
          .strictObject({
            enabled: z.boolean().default(false),
            allowInUse: z
              .boolean()
              .default(false)
              .describe(
                'Remove failing images even when they are in use (also for the quarantine expiry). Off by default: running images are never removed.',
              ),
          })
          .default({ enabled: false, allowInUse: false }),
      })
      .default({
        notify: true,
        quarantine: { enabled: false, tagPrefix: 'quarantined-' },
        remove: { enabled: false, allowInUse: false },
      }),
    notifyOnRecovery: z.boolean().default(true).describe('Notify when an image that failed passes again.'),
    cvssSource: z
      .enum(['scanner', 'nvd', 'max'])
      .default('scanner')
      .describe(
        "Which CVSS score blockCvssAtOrAbove compares: the scanner's own (Amazon Inspector's inspectorScore, or the score of the source ECR reports the severity from), NVD's, or the highest of any source and version. Default scanner.",
      ),
    registryScanning: registryScanningSchema.optional(),
  })
  .describe('The scan gate: verdicts on scanned images.');

export type GateConfig = z.output<typeof gateConfigSchema>;

/**
 * EventBridge Scheduler's recurring forms: `cron(` six fields `)` and `rate(` value unit `)`. Anything else is
 * refused by CloudFormation at deploy time, long after `cdk synth` said the config was fine.
 */
const SCHEDULE_EXPRESSION = /^(cron\(\S+( \S+){5}\)|rate\([1-9]\d* (minute|minutes|hour|hours|day|days)\))$/;

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Reserved concurrency per function; `false` turns reservation off (accounts with a low concurrency quota). */
export const DEFAULT_RESERVED_CONCURRENCY = {
  intake: 5,
  worker: 5,
  sweep: 1,
  audit: 5,
  scanGate: 5,
} as const;

export const configSchema = z
  .strictObject({
    $schema: z.string().optional(),
    mode: z
      .enum(['dry-run', 'enforce'])
      .default('dry-run')
      .describe('dry-run plans, logs and reports but deletes nothing. enforce acts.'),
    bounds: z
      .strictObject({
        maxDeletesPerRun: z.number().int().min(0).max(100_000).default(1000),
        maxDeletesPerRepository: z.number().int().min(0).max(100_000).default(500),
      })
      .default({ maxDeletesPerRun: 1000, maxDeletesPerRepository: 500 })
      .describe('What one run may delete; the rest waits for the next run.'),
    selections: z
      .array(selectionSchema)
      .min(1)
      .describe(
        'Which repositories are managed and how. The first selection that matches a repository applies.',
      ),
    inUse: z
      .strictObject({
        ecs: ecsSourceSchema.default({ enabled: true, taskDefinitionRevisions: 3 }),
        lambda: lambdaSourceSchema.default({ enabled: true }),
        static: z
          .record(z.string(), z.array(z.string().min(1)))
          .optional()
          .describe('Extra references treated as in use: "repository@sha256:…" or "repository:tag" → where.'),
      })
      .default({ ecs: { enabled: true, taskDefinitionRevisions: 3 }, lambda: { enabled: true } }),
    sweep: z
      .strictObject({
        schedule: z
          .string()
          .regex(SCHEDULE_EXPRESSION, {
            error: 'an EventBridge Scheduler expression such as "cron(0 3 * * ? *)" or "rate(12 hours)"',
            abort: true,
          })
          .refine(
            (s) =>
              !s.startsWith('cron(') ||
              s.split(' ').filter((f, i) => (i === 2 || i === 4) && f === '?').length === 1,
            'a cron expression needs "?" in exactly one of day-of-month and day-of-week, such as "cron(0 3 * * ? *)" or "rate(12 hours)"',
          )
          .default('cron(0 3 * * ? *)'),
        timezone: z
          .string()
          .refine(isTimeZone, 'not an IANA time zone such as "UTC" or "Europe/Berlin"')
          .default('UTC'),
      })
      .default({ schedule: 'cron(0 3 * * ? *)', timezone: 'UTC' }),
    gate: gateConfigSchema.default(gateConfigSchema.parse({})),
    reservedConcurrency: z
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
      ),
    audit: z
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
      })
      .default({ plannedRetentionDays: 14 }),
    alerts: z
      .strictObject({
        thresholds: z.array(thresholdSchema).default([...DEFAULT_THRESHOLDS]),
        breaker: z
          .strictObject({
            enabled: z
              .boolean()
              .default(true)
              .describe('Open the breaker (stop our own deletes) when a threshold is crossed.'),
            cooldownMinutes: z
              .number()
              .int()
              .min(1)
              .optional()
              .describe(
                'Close an open breaker by itself after this many minutes. Off by default: a person resets it.',
              ),
          })
          .default({ enabled: true }),
        subscriptions: z.array(subscriptionSchema).default([]),
        /** A CloudWatch alarm on EventBridge's own count of DELETE events, independent of our code. */
        backstopDeletesPer5Minutes: z.number().int().min(1).default(500),
      })
      .default({
        thresholds: [...DEFAULT_THRESHOLDS],
        breaker: { enabled: true },
        subscriptions: [],
        backstopDeletesPer5Minutes: 500,
      }),
  })
  .describe('ECR Steward configuration (steward.config.json).');

export type StewardConfig = z.output<typeof configSchema>;
export type StewardConfigInput = z.input<typeof configSchema>;
export type Selection = z.output<typeof selectionSchema>;
export type Threshold = z.output<typeof thresholdSchema>;
