/**
 * The approvals endpoint: a Lambda function URL with AuthType AWS_IAM. Lambda has verified the SigV4 signature
 * and the resource policy before this runs; the caller is `requestContext.authorizer.iam.userArn`. A thin
 * adapter: the rules live in ./core.ts.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import type { CallerIdentity } from '../shared/approvals/model.js';
import { bundledConfig } from '../shared/runtime/config.js';
import { functionRegion } from '../shared/runtime/env.js';
import { StewardPorts, tablesFromEnv } from '../shared/runtime/ports.js';
import { handleCall } from './core.js';

const logger = new Logger({ serviceName: 'ecr-steward-approvals' });
const region = functionRegion;

/** The IAM identity of a signed call; undefined when the URL delivered none (never trust a body's claim). */
export function callerOf(event: LambdaFunctionURLEvent): CallerIdentity | undefined {
  const iam = (event.requestContext as { authorizer?: { iam?: Record<string, unknown> } }).authorizer?.iam;
  const arn = typeof iam?.userArn === 'string' ? iam.userArn : undefined;
  if (!arn) return undefined;
  return {
    arn,
    accountId: typeof iam?.accountId === 'string' ? iam.accountId : undefined,
    userId: typeof iam?.userId === 'string' ? iam.userId : undefined,
    sourceIp: event.requestContext.http?.sourceIp,
    userAgent: event.requestContext.http?.userAgent,
  };
}

export async function handler(
  event: LambdaFunctionURLEvent,
  context?: Context,
): Promise<LambdaFunctionURLResult> {
  const config = bundledConfig();
  const now = new Date();
  const ports = new StewardPorts(config, { tables: tablesFromEnv() });
  const approvals = ports.approvals;
  if (!approvals)
    throw new Error('REQUESTS_TABLE_NAME is not set: the approvals function has no requests table');
  const registryId = context?.invokedFunctionArn?.split(':')[4] ?? event.requestContext.accountId;
  const body =
    event.body === undefined
      ? undefined
      : event.isBase64Encoded
        ? Buffer.from(event.body, 'base64').toString('utf8')
        : event.body;
  const caller = callerOf(event);
  const answer = await handleCall(
    config,
    {
      method: event.requestContext.http.method,
      path: event.rawPath,
      query: event.queryStringParameters ?? {},
      body,
      caller,
    },
    {
      ...approvals,
      registryId,
      region: region(),
      registry: ports.registry,
      recordNotice: (signal) => ports.audit.record(signal),
      publishNotice: (message) => ports.publishNotice(message),
      resetBreaker: async (scope, by, requestId, at) => {
        const before = await ports.breaker.get(scope);
        // The same audit item as `ecr-steward breaker reset`, naming the approved request, written before the
        // breaker closes: a reset that cannot be recorded leaves the breaker open.
        await ports.documentClient.send(
          new PutCommand({
            TableName: ports.table('audit'),
            Item: {
              pk: `BREAKER#${scope}`,
              sk: `RESET#${at.toISOString()}`,
              kind: 'breaker-reset',
              scope,
              by,
              at: at.toISOString(),
              requestId,
              wasOpen: before?.state === 'open',
              openedAt: before?.openedAt,
              reason: before?.reason,
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
        await ports.breaker.close(scope, by, at);
      },
    },
    now,
  );
  logger.info('approvals call', {
    method: event.requestContext.http.method,
    path: event.rawPath,
    caller: caller?.arn,
    sourceIp: caller?.sourceIp,
    status: answer.status,
  });
  return {
    statusCode: answer.status,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(answer.body),
  };
}
