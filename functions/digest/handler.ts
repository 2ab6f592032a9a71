/**
 * Digest function: EventBridge Scheduler invokes it (asynchronously) on `digest.schedule` with
 * `{"kind":"digest","scheduledTime":…}`. It sends the week's digest per selection (notices topic) and for the
 * registry (alerts topic). Failures are rethrown: Lambda retries, then the event goes to the dead-letter queue;
 * a retry sends only what the failed attempt had not (functions/digest/core.ts).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { SNSClient } from '@aws-sdk/client-sns';
import type { Context } from 'aws-lambda';
import { CLIENT_DEFAULTS } from '../shared/runtime/clients.js';
import { bundledConfig } from '../shared/runtime/config.js';
import { ENV } from '../shared/runtime/constants.js';
import { functionRegion, requireEnv } from '../shared/runtime/env.js';
import { StewardPorts, tablesFromEnv } from '../shared/runtime/ports.js';
import { type DigestReport, runDigest } from './core.js';
import { digestPorts } from './run.js';
import { parseDigestEvent, weekEnd } from './schema.js';

const logger = new Logger({ serviceName: 'ecr-steward-digest' });

let snsClient: SNSClient | undefined;
const sns = () => (snsClient ??= new SNSClient(CLIENT_DEFAULTS));

/** Sends the digest of the week ending at the event's scheduled time. */
export async function handler(
  event: unknown,
  context: Pick<Context, 'invokedFunctionArn'>,
): Promise<DigestReport> {
  const parsed = parseDigestEvent(event);
  const config = bundledConfig();
  const now = new Date();
  const end = weekEnd(parsed, now);
  // The function's own ARN names the account: no STS call, and the same in an organization's spoke.
  const accountId = process.env[ENV.registryId] ?? context.invokedFunctionArn.split(':')[4] ?? '';
  const region = functionRegion();
  const ports = new StewardPorts(config, { tables: tablesFromEnv() });
  try {
    const report = await runDigest(
      config,
      { registryId: accountId, region, end, now },
      digestPorts(ports, {
        accountId,
        region,
        runId: `digest-${end.toISOString().replace(/[-:.]/g, '').slice(0, 15)}`,
        now,
        sns: sns(),
        topics: { notices: requireEnv(ENV.noticesTopic), alerts: requireEnv(ENV.alertsTopic) },
      }),
    );
    logger.info('digest', { ...report, apiCalls: ports.calls.toJSON(), apiCallsTotal: ports.calls.total });
    return report;
  } catch (e) {
    logger.error('digest failed; Lambda retries it, then dead-letters it', { error: e as Error });
    throw e;
  }
}
