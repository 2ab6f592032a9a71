import * as z from 'zod';

/** The counting windows of delete-rate thresholds. */
const WINDOWS = ['5m', '15m', '1h', '6h', '24h'] as const;
export type RateWindow = (typeof WINDOWS)[number];
export const WINDOW_MINUTES: Record<RateWindow, number> = {
  '5m': 5,
  '15m': 15,
  '1h': 60,
  '6h': 360,
  '24h': 1440,
};

/** One delete-rate threshold: crossing it alerts, and opens the breaker when the breaker is enabled. */
export const thresholdSchema = z
  .strictObject({
    scope: z
      .enum(['repository', 'registry', 'organization'])
      .describe(
        'Per repository, all repositories of the registry together, or (with "organization") every spoke together, counted in the hub, whose breaker stops every spoke.',
      ),
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

/** The thresholds of a config that names none. */
export const DEFAULT_THRESHOLDS = [
  { scope: 'repository', window: '5m', maxDeletes: 200 },
  { scope: 'repository', window: '1h', maxPercentOfImages: 50 },
  { scope: 'registry', window: '1h', maxDeletes: 2000 },
  { scope: 'registry', window: '24h', maxDeletes: 10000 },
] as const;

/**
 * What SNS takes as the endpoint of each protocol (Subscribe's `Endpoint`): an e-mail address, an HTTPS URL,
 * the ARN of an SQS queue or of a Lambda function. A wrong one would fail the deploy, or worse, subscribe
 * nobody, so alarms reach no one.
 */
export const ENDPOINTS = {
  email: {
    test: (e: string) => /^[^\s@]+@[^\s@]+\.[^\s@.]+$/.test(e),
    expected: 'an e-mail address such as "ops@example.com"',
  },
  https: {
    test: (e: string) => {
      try {
        const url = new URL(e);
        return url.protocol === 'https:' && url.hostname !== '' && e.startsWith('https://');
      } catch {
        return false;
      }
    },
    expected: 'an HTTPS URL such as "https://hooks.example.com/ecr-steward"',
  },
  sqs: {
    test: (e: string) => /^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?$/.test(e),
    expected: 'an SQS queue ARN such as "arn:aws:sqs:eu-west-1:123456789012:alerts"',
  },
  lambda: {
    test: (e: string) =>
      /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:(\$LATEST|[A-Za-z0-9_-]{1,128}))?$/.test(
        e,
      ),
    expected: 'a Lambda function ARN such as "arn:aws:lambda:eu-west-1:123456789012:function:on-alert"',
  },
} as const;

const subscriptionSchema = z
  .strictObject({
    protocol: z.enum(['email', 'https', 'sqs', 'lambda']),
    endpoint: z
      .string()
      .min(1)
      .describe('E-mail address, HTTPS URL, or the ARN of an SQS queue or Lambda function.'),
    topics: z
      .array(z.enum(['alerts', 'security', 'approvals']))
      .min(1)
      .default(['alerts', 'security'])
      .describe(
        'Which topics it hears: alerts (delete rates, breaker), security (scan gate), approvals (requests waiting for an approver).',
      ),
  })
  .superRefine((s, ctx) => {
    const endpoint = ENDPOINTS[s.protocol];
    if (endpoint.test(s.endpoint)) return;
    ctx.addIssue({
      code: 'custom',
      path: ['endpoint'],
      message: `${JSON.stringify(s.endpoint)} is not a "${s.protocol}" endpoint — give ${endpoint.expected}`,
    });
  });

/** Delete-rate thresholds, the breaker they open, and who is told. */
export const alertsSchema = z
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
    attributionWaitSeconds: z
      .number()
      .int()
      .min(0)
      .max(600)
      .default(120)
      .describe(
        "How long a delete-rate alert waits for CloudTrail's attribution (who deleted) before it is sent; what arrives later is sent as a follow-up naming the principals. 0 sends at once.",
      ),
    /** A CloudWatch alarm on EventBridge's own count of DELETE events, independent of our code. */
    backstopDeletesPer5Minutes: z.number().int().min(1).default(500),
  })
  .default({
    thresholds: [...DEFAULT_THRESHOLDS],
    breaker: { enabled: true },
    subscriptions: [],
    attributionWaitSeconds: 120,
    backstopDeletesPer5Minutes: 500,
  });

export type Threshold = z.output<typeof thresholdSchema>;
