/**
 * The signature gate in the stack: with a gate policy that requires signatures, two rules re-judge an image when
 * its signature arrives (an `ECR Referrer Action` PUSH, and an `ECR Image Action` PUSH of a cosign `.sig` tag),
 * the gate function may read referrers and download their blobs, and cdk-nag still passes; without one, none of it.
 */
import { generateKeyPairSync } from 'node:crypto';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../functions/shared/config/load.js';
import type { StewardConfigInput } from '../../functions/shared/config/schema.js';
import { EcrStewardStack } from '../../lib/stacks/ecr-steward-stack.js';
import { identityStatements, list, text } from './template-iam.js';

const PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();

function build(gate: StewardConfigInput['gate'] = {}) {
  const config = validateConfig({
    mode: 'enforce',
    selections: [{ name: 'services', repositories: ['services/*'], lifecyclePolicy: 'fromRepository' }],
    gate,
  });
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new EcrStewardStack(app, 'EcrSteward', { config });
  const template = Template.fromStack(stack);
  const id = (c: IConstruct) => stack.getLogicalId((c.node.defaultChild ?? c) as CfnElement);
  return { app, stack, template, id };
}

const REQUIRED = {
  selections: [
    {
      repositories: ['prod/*'],
      policy: { signatures: { required: true, trust: [{ type: 'cosign' as const, publicKeys: [PEM] }] } },
    },
  ],
};

describe('the signature gate in the stack', () => {
  it('subscribes the gate to referrer pushes and cosign .sig pushes when a policy requires signatures', () => {
    // Act
    const built = build(REQUIRED);
    const rules = built.stack.gate.signatureRules!;

    // Assess
    const pattern = (r: IConstruct) =>
      (built.template.toJSON().Resources[built.id(r)] as { Properties: { EventPattern: unknown } }).Properties
        .EventPattern;
    expect(pattern(rules.referrerPush)).toEqual({
      source: ['aws.ecr'],
      'detail-type': ['ECR Referrer Action'],
      detail: { 'action-type': ['PUSH'], result: ['SUCCESS'] },
    });
    expect(pattern(rules.cosignTagPush)).toEqual({
      source: ['aws.ecr'],
      'detail-type': ['ECR Image Action'],
      detail: {
        'action-type': ['PUSH', 'DELETE'],
        result: ['SUCCESS'],
        'image-tag': [{ wildcard: 'sha256-*.sig' }],
      },
    });
  });

  it('lets the gate read referrers and their blobs, on scanned repositories only with read actions', () => {
    // Act
    const built = build(REQUIRED);
    const role = built.id(built.stack.gate.function.role);
    const reads = identityStatements(built.template)
      .filter(({ roles }) => roles.includes(role))
      .map(({ statement }) => statement)
      .filter((s) => s.Sid === 'ScannedImages');

    // Assess
    expect(reads).toHaveLength(1);
    expect(list<string>(reads[0]!.Action)).toEqual([
      'ecr:BatchGetImage',
      'ecr:DescribeImageScanFindings',
      'ecr:DescribeImages',
      'ecr:DescribeRepositories',
      'ecr:GetDownloadUrlForLayer',
      'ecr:ListImageReferrers',
      'ecr:ListTagsForResource',
    ]);
    expect(list(reads[0]!.Resource).map(text)).toEqual([expect.stringMatching(/:repository\/\*$/)]);
  });

  it('passes cdk-nag with the signature rules and reads', () => {
    // Act
    const built = build(REQUIRED);
    const violations = new AwsSolutionsChecks(built.app)
      .validateScope(built.stack)
      .violations.map(
        (v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
      );

    // Assess
    expect(violations).toEqual([]);
  });

  it('adds neither rules nor reads when no policy requires signatures', () => {
    // Act
    const built = build({});
    const role = built.id(built.stack.gate.function.role);
    const actions = identityStatements(built.template)
      .filter(({ roles }) => roles.includes(role))
      .flatMap(({ statement }) => list<string>(statement.Action));

    // Assess
    expect(built.stack.gate.signatureRules).toBeUndefined();
    expect(actions).not.toContain('ecr:ListImageReferrers');
    expect(actions).not.toContain('ecr:GetDownloadUrlForLayer');
  });
});
