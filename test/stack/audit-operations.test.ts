/**
 * The registry-operations audit in the stack (lib/constructs/audit.ts): the rules for CloudTrail management
 * events of ECR and for pushes, the audit function's environment for attribution and security alerts, and its
 * grants — sending to its own queue (a pending alert's deadline), publishing to the security topic — with no
 * ECR write action. Synthesized without bundling; cdk-nag's AwsSolutions checks find nothing.
 */
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_ENV } from '../../functions/audit/schema.js';
import { validateConfig } from '../../functions/shared/config/load.js';
import { Audit } from '../../lib/constructs/audit.js';
import { identityStatements, type Json, list, text } from './template-iam.js';

const config = validateConfig({
  mode: 'enforce',
  selections: [{ name: 'services', repositories: ['services/*'], lifecyclePolicy: 'fromRepository' }],
});

let stack: Stack;
let audit: Audit;
let security: sns.Topic;
let cleanupRole: iam.Role;
let template: Template;
const id = (c: IConstruct) => stack.getLogicalId((c.node.defaultChild ?? c) as CfnElement);

beforeAll(() => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  stack = new Stack(app, 'OpsAudit', { env: { account: '123456789012', region: 'eu-west-1' } });
  const table = (name: string) =>
    new dynamodb.TableV2(stack, name, {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    });
  const topic = (name: string) =>
    new sns.Topic(stack, name, {
      masterKey: new kms.Key(stack, `${name}Key`, { enableKeyRotation: true }),
      enforceSSL: true,
    });
  security = topic('Security');
  cleanupRole = new iam.Role(stack, 'CleanupRole', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
  });
  audit = new Audit(stack, 'Audit', {
    config,
    auditTable: table('AuditTable'),
    stateTable: table('StateTable'),
    alertsTopic: topic('Alerts'),
    securityTopic: security,
    ownRoles: [cleanupRole],
  });
  template = Template.fromStack(stack);
});

describe('Audit construct (registry operations)', () => {
  it('routes the twelve CloudTrail management events of ECR to the audit queue with the default rule state', () => {
    // Prepare
    const rule = template.toJSON().Resources[id(audit.rules.operationCall)];

    // Act
    const { EventPattern, State, Targets } = rule.Properties;

    // Assess
    expect(EventPattern).toEqual({
      source: ['aws.ecr'],
      'detail-type': ['AWS API Call via CloudTrail'],
      detail: {
        eventSource: ['ecr.amazonaws.com'],
        eventName: [
          'SetRepositoryPolicy',
          'DeleteRepositoryPolicy',
          'PutLifecyclePolicy',
          'DeleteLifecyclePolicy',
          'PutImageTagMutability',
          'PutImageScanningConfiguration',
          'PutRegistryPolicy',
          'PutReplicationConfiguration',
          'CreateRepository',
          'DeleteRepository',
          'TagResource',
          'UntagResource',
        ],
      },
    });
    // Write calls reach a rule in its default state; only read-only records need the CloudTrail state.
    expect(State).toBe('ENABLED');
    expect(Targets).toEqual([
      expect.objectContaining({
        Arn: { 'Fn::GetAtt': [id(audit.queue), 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [id(audit.deadLetterQueue), 'Arn'] } },
      }),
    ]);
  });

  it('routes successful pushes to the audit queue as well as to the cleanup', () => {
    // Prepare
    const rule = template.toJSON().Resources[id(audit.rules.imagePush)];

    // Act
    const pattern = rule.Properties.EventPattern;

    // Assess
    expect(pattern).toEqual({
      source: ['aws.ecr'],
      'detail-type': ['ECR Image Action'],
      detail: { 'action-type': ['PUSH'], result: ['SUCCESS'] },
    });
  });

  it('gives the function its own queue, the security topic, the account and the stack roles in its environment', () => {
    // Prepare
    const fn = template.toJSON().Resources[id(audit.function.function)];

    // Act
    const env = fn.Properties.Environment.Variables as Json;

    // Assess
    expect(env).toMatchObject({
      [AUDIT_ENV.queueUrl]: { Ref: id(audit.queue) },
      SECURITY_TOPIC_ARN: { Ref: id(security) },
      ECR_STEWARD_REGISTRY_ID: { Ref: 'AWS::AccountId' },
      [AUDIT_ENV.ownRolePrefix]: 'OpsAudit-',
      [AUDIT_ENV.ownRoleArns]: { 'Fn::GetAtt': [id(cleanupRole), 'Arn'] },
    });
  });

  it('lets the function send to its own queue and publish to the security topic, and grants no ECR write', () => {
    // Prepare
    const role = id(audit.function.role);

    // Act
    const statements = identityStatements(template)
      .filter((s) => s.roles.includes(role))
      .map((s) => s.statement);
    const actionsOn = (resource: string) =>
      statements
        .filter((s) => list(s.Resource).some((r) => text(r) === resource))
        .flatMap((s) => list<string>(s.Action));

    // Assess
    expect(actionsOn(`<${id(audit.queue)}.Arn>`)).toEqual(expect.arrayContaining(['sqs:SendMessage']));
    expect(actionsOn(`<${id(security)}>`)).toEqual(['sns:Publish']);
    const ecr = statements.flatMap((s) => list<string>(s.Action)).filter((a) => a.startsWith('ecr:'));
    expect(ecr).toEqual(['ecr:DescribeImages']);
  });

  it('finds no AwsSolutions violation in the audit construct with the new rules and grants', () => {
    // Prepare
    const checks = new AwsSolutionsChecks(stack.node.scope as App);

    // Act
    const report = checks.validateScope(stack);

    // Assess
    expect(
      report.violations
        .map((v) => `${v.ruleName} @ ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)
        .filter((v) => v.includes('OpsAudit/Audit/')),
    ).toEqual([]);
  });
});
