import { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StewardConfig } from '../../functions/shared/config/schema.js';

export interface AlertTopicsProps {
  /** @default RemovalPolicy.RETAIN */
  readonly keyRemovalPolicy?: RemovalPolicy;
}

/**
 * The SNS topics people hear from: operational alerts (delete rates, breaker, DLQs) and security findings
 * (scan gate). Both KMS-encrypted with a rotating customer key (CloudWatch alarms and EventBridge can
 * publish to it) and TLS-only.
 */
export class AlertTopics extends Construct {
  readonly key: kms.Key;
  readonly alerts: sns.Topic;
  readonly security: sns.Topic;

  constructor(scope: Construct, id: string, props: AlertTopicsProps = {}) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'ECR Steward alert topics',
      enableKeyRotation: true,
      removalPolicy: props.keyRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    // CloudWatch alarms publish to encrypted topics only if the key lets them use it.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.alerts = new sns.Topic(this, 'Alerts', {
      displayName: 'ECR Steward alerts',
      masterKey: this.key,
      enforceSSL: true,
    });
    this.security = new sns.Topic(this, 'Security', {
      displayName: 'ECR Steward security',
      masterKey: this.key,
      enforceSSL: true,
    });
  }

  /** Subscribes the config's endpoints (e-mail, HTTPS, SQS, Lambda) to the topics they name. */
  subscribe(list: StewardConfig['alerts']['subscriptions']): void {
    list.forEach((s, i) => {
      for (const name of s.topics) {
        const topic = name === 'alerts' ? this.alerts : this.security;
        const id = `Sub${i}${name}`;
        switch (s.protocol) {
          case 'email':
            topic.addSubscription(new subscriptions.EmailSubscription(s.endpoint));
            break;
          case 'https':
            topic.addSubscription(
              new subscriptions.UrlSubscription(s.endpoint, { protocol: sns.SubscriptionProtocol.HTTPS }),
            );
            break;
          case 'sqs':
            topic.addSubscription(
              new subscriptions.SqsSubscription(sqs.Queue.fromQueueArn(this, `${id}Queue`, s.endpoint)),
            );
            break;
          case 'lambda':
            topic.addSubscription(
              new subscriptions.LambdaSubscription(
                lambda.Function.fromFunctionArn(this, `${id}Fn`, s.endpoint),
              ),
            );
            break;
        }
      }
    });
  }
}
