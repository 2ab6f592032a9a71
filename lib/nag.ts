import { type CfnElement, Stack, Token, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges cdk-nag findings on one construct (and what it contains), with the reason they are safe
 * here. Each id is a rule (`AwsSolutions-SQS3`) or one finding of a rule (`AwsSolutions-IAM5[Resource::*]`),
 * so an acknowledgement never excuses more than the statement it was written for.
 */
export function acknowledge(scope: IConstruct, ids: string | readonly string[], reason: string): void {
  for (const id of typeof ids === 'string' ? [ids] : ids) {
    // The synth-time report matches the plugin-prefixed id; cdk-nag's own validateScope() the bare one.
    Validations.of(scope).acknowledge({ id: `AwsSolutions::${id}`, reason }, { id, reason });
  }
}

/** cdk-nag's rendering of a resource's `Fn::GetAtt Arn`: `<LogicalId.Arn>`. */
export function nagArnRef(construct: IConstruct): string {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  return `<${Stack.of(construct).getLogicalId(element)}.Arn>`;
}

/** cdk-nag's rendering of an ECR repository ARN built with `Stack.formatArn`. */
export function nagRepositoryArn(scope: IConstruct, name: string): string {
  const stack = Stack.of(scope);
  const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
  const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
  return `arn:<AWS::Partition>:ecr:${region}:${account}:repository/${name}`;
}

/** The IAM5 finding id of one wildcard resource. */
export const wildcardResource = (resource: string): string => `AwsSolutions-IAM5[Resource::${resource}]`;
