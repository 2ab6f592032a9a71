import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { selectionLabel } from '../../functions/shared/governance/notice.js';

export interface AlertTopicsProps {
  /** @default RemovalPolicy.RETAIN */
  readonly keyRemovalPolicy?: RemovalPolicy;
}

/**
 * The conditions under which CloudWatch may act for an alarm: the alarm is of this stack's account and region
 * (`aws:SourceAccount`, and `aws:SourceArn` like `arn:…:cloudwatch:<region>:<account>:alarm:*`).
 */
function alarmSourceConditions(scope: Construct): Record<string, Record<string, string>> {
  const stack = Stack.of(scope);
  return {
    StringEquals: { 'aws:SourceAccount': stack.account },
    ArnLike: {
      'aws:SourceArn': stack.formatArn({
        service: 'cloudwatch',
        resource: 'alarm',
        resourceName: '*',
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    },
  };
}

/** One endpoint of the notices topic: every notice (`selections` absent), or those of some selections only. */
export interface NoticeSubscription {
  readonly protocol: 'email' | 'https';
  readonly endpoint: string;
  /** The selection labels (`selectionLabel`) whose notices the endpoint receives; absent: all notices. */
  readonly selections?: readonly string[];
}

/**
 * The notices topic's subscriptions the config asks for, one per endpoint (SNS and CDK refuse a second
 * subscription of one endpoint to a topic): `governance.notice.subscriptions` receive every notice; a
 * selection's own `governance.notice.subscriptions` receive the notices of that selection, and an endpoint
 * that several selections name receives the notices of each of them. An endpoint that already receives every
 * notice gets no narrower subscription.
 */
export function noticeSubscriptions(config: StewardConfig): NoticeSubscription[] {
  const byEndpoint = new Map<
    string,
    { protocol: 'email' | 'https'; endpoint: string; selections?: string[] }
  >();
  const key = (s: { protocol: string; endpoint: string }) => `${s.protocol} ${s.endpoint}`;
  for (const s of config.governance.notice.subscriptions)
    if (!byEndpoint.has(key(s))) byEndpoint.set(key(s), { protocol: s.protocol, endpoint: s.endpoint });
  config.selections.forEach((selection, index) => {
    for (const s of selection.governance?.notice?.subscriptions ?? []) {
      const found = byEndpoint.get(key(s));
      const label = selectionLabel(selection, index);
      if (!found) byEndpoint.set(key(s), { protocol: s.protocol, endpoint: s.endpoint, selections: [label] });
      else if (found.selections && !found.selections.includes(label)) found.selections.push(label);
    }
  });
  return [...byEndpoint.values()];
}

/**
 * The SNS topics people hear from: operational alerts (delete rates, breaker, DLQs), security findings
 * (scan gate), deletion notices (the owning teams) and approval requests (the approvers). All KMS-encrypted
 * with a rotating customer key and TLS-only. CloudWatch alarms of this account may publish to the alerts
 * topic and use the key for it; no EventBridge rule targets a topic, so EventBridge is granted nothing.
 */
export class AlertTopics extends Construct {
  readonly key: kms.Key;
  readonly alerts: sns.Topic;
  readonly security: sns.Topic;
  /**
   * Deletion notices, one per repository per run: the cleanup worker, the sweep (expired requests), the scan
   * gate (removals under a notice period) and the approvals function publish.
   */
  readonly notices: sns.Topic;
  /**
   * Approval requests, one message per new request with the approve and reject commands. Created whether or
   * not the config asks for approvals, like the requests table; only the cleanup worker and the approvals
   * function publish.
   */
  readonly approvals: sns.Topic;

  constructor(scope: Construct, id: string, props: AlertTopicsProps = {}) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'ECR Steward alert topics',
      enableKeyRotation: true,
      removalPolicy: props.keyRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    // CloudWatch alarms publish to an encrypted topic only if the key lets them use it; the source conditions
    // keep alarms of other accounts (the confused deputy) from using it through CloudWatch.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: alarmSourceConditions(this),
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
    this.notices = new sns.Topic(this, 'Notices', {
      displayName: 'ECR Steward deletion notices',
      masterKey: this.key,
      enforceSSL: true,
    });
    this.approvals = new sns.Topic(this, 'Approvals', {
      displayName: 'ECR Steward approval requests',
      masterKey: this.key,
      enforceSSL: true,
    });
    // Alarms (dead-letter depth, the delete backstop) notify the alerts topic; the other topics hear only the
    // functions whose roles grant it (the scan gate; the cleanup worker and sweep; the approvals function).
    this.alerts.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alerts.topicArn],
        conditions: alarmSourceConditions(this),
      }),
    );
  }

  /**
   * Subscribes the config's notice endpoints (`noticeSubscriptions`) to the notices topic; an endpoint of some
   * selections only gets a filter policy on the notices' `selection` message attribute.
   */
  subscribeNotices(config: StewardConfig): void {
    noticeSubscriptions(config).forEach((s, i) => {
      new sns.Subscription(this, `Notice${i}`, {
        topic: this.notices,
        protocol: s.protocol === 'email' ? sns.SubscriptionProtocol.EMAIL : sns.SubscriptionProtocol.HTTPS,
        endpoint: s.endpoint,
        ...(s.selections
          ? {
              filterPolicy: {
                selection: sns.SubscriptionFilter.stringFilter({ allowlist: [...s.selections] }),
              },
            }
          : {}),
      });
    });
  }

  /**
   * Subscribes the config's endpoints (e-mail, HTTPS, SQS, Lambda) to the topics they name. The topics are
   * looked up by name, so `approvals` is subscribed the same way as soon as the config's `topics` accept it.
   */
  subscribe(list: StewardConfig['alerts']['subscriptions']): void {
    const byName: Readonly<Record<string, sns.Topic>> = {
      alerts: this.alerts,
      security: this.security,
      approvals: this.approvals,
    };
    list.forEach((s, i) => {
      for (const name of s.topics) {
        const topic = byName[name];
        if (!topic)
          throw new Error(`alerts.subscriptions[${i}].topics: no topic named ${JSON.stringify(name)}`);
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
