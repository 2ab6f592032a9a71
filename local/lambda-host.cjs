/**
 * Child process that hosts one Lambda bundle, as a Lambda execution environment does: the bundle is loaded
 * once (cold start), then invocations arrive over IPC one at a time. Plain CommonJS so Node runs it as is.
 */
'use strict';
const path = require('node:path');
const { randomUUID } = require('node:crypto');

// The local cloud's clock: a scenario can let a day pass in a second. Every `Date` of the bundle reads the real
// clock plus the offset the invocation carries (0 unless the cloud's clock was moved).
let clockOffsetMs = 0;
const RealDate = Date;
class LocalDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(RealDate.now() + clockOffsetMs);
    else super(...args);
  }
  static now() {
    return RealDate.now() + clockOffsetMs;
  }
}
globalThis.Date = LocalDate;

const bundle = process.env.LOCAL_LAMBDA_BUNDLE;
const exportName = process.env.LOCAL_LAMBDA_EXPORT;
const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME;
let handler;
try {
  handler = require(path.resolve(bundle))[exportName];
  if (typeof handler !== 'function') throw new Error(`${bundle} exports no function ${exportName}`);
} catch (e) {
  process.send({ type: 'init-error', error: { name: e.name, message: e.message } });
  process.exit(1);
}
process.send({ type: 'ready' });

process.on('message', async (msg) => {
  if (msg.type !== 'invoke') return;
  clockOffsetMs = msg.clockOffsetMs ?? 0;
  const started = Date.now();
  const context = {
    awsRequestId: randomUUID(),
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:${process.env.LOCAL_LAMBDA_ACCOUNT ?? '000000000000'}:function:${functionName}`,
    memoryLimitInMB: '1024',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, msg.timeoutMs - (Date.now() - started)),
    callbackWaitsForEmptyEventLoop: true,
  };
  try {
    const result = await handler(msg.event, context);
    process.send({ type: 'result', id: msg.id, ok: true, result: result === undefined ? null : result });
  } catch (e) {
    process.send({
      type: 'result',
      id: msg.id,
      ok: false,
      error: { name: e?.name ?? 'Error', message: e?.message ?? String(e) },
    });
  }
});
