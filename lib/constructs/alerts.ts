import { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

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
}
