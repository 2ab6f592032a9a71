/**
 * Preloaded into bin/app.ts by app.test.ts (`tsx --import`): just before the app synthesizes, adds to its stack an
 * SQS queue that breaks two AwsSolutions rules (no dead-letter queue, TLS not required). A synthesis that does
 * not report them has no cdk-nag registered.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';

const synth = App.prototype.synth;
App.prototype.synth = function (this: App, ...args: Parameters<App['synth']>) {
  const stack = this.node.children.find((c): c is Stack => Stack.isStack(c));
  if (stack && !stack.node.tryFindChild('NagCanary')) new sqs.Queue(stack, 'NagCanary');
  return synth.apply(this, args);
};
