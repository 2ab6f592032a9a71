#!/usr/bin/env node
/**
 * Composition root: load and validate the config named by `-c config=PATH` (the example config when
 * omitted), print its warnings, build the stacks `deployPlan` lists, and check them with cdk-nag's AwsSolutions
 * rules. Without `organization`: the one `EcrSteward` stack of the deploying credentials' account and region
 * (`-c stackName=…` renames it). With it: the hub stack and a spoke stack per account and region, or the hub
 * stack with the spokes as a StackSet (`-c assetBucketPrefix=…` names the buckets that carry its Lambda code).
 * No resources are defined here.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Annotations, App, type Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { deployPlan } from '../functions/shared/config/deploy-plan.js';
import { ConfigError, parseConfig } from '../functions/shared/config/load.js';
import { configForEnvironment } from '../functions/shared/config/organization.js';
import type { StewardConfig } from '../functions/shared/config/schema.js';
import { configWarnings } from '../functions/shared/config/warnings.js';
import { EcrStewardStack } from '../lib/stacks/ecr-steward-stack.js';
import { EcrStewardHubStack, orgSpokeProps } from '../lib/stacks/hub-stack.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_CONFIG = 'examples/steward.config.jsonc';
const DESCRIPTION = 'ECR Steward: ECR lifecycle enforcement with protections, delete audit and scan gate';

/** A configuration mistake found while composing the app: printed without a stack trace, exit 1. */
class CompositionError extends Error {}

/** The stacks of `config`, as `deployPlan` lists them. */
function compose(app: App, config: StewardConfig): Stack[] {
  const plan = deployPlan(config);
  for (const note of plan.notes) console.error(`note: ${note}`);
  if (plan.mode === 'single') {
    return [
      new EcrStewardStack(app, String(app.node.tryGetContext('stackName') ?? plan.stacks[0]?.name), {
        config,
        description: DESCRIPTION,
        env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
      }),
    ];
  }
  const assetBucketPrefix =
    (app.node.tryGetContext('assetBucketPrefix') as string | undefined) ??
    config.organization?.stackSetAssetBucketPrefix;
  if (plan.stackSet && !assetBucketPrefix)
    throw new CompositionError(
      'ECR Steward: organization.deployment "stackset" carries the spokes\' Lambda code in S3 buckets named <prefix>-<region>, one per target region — set organization.stackSetAssetBucketPrefix (or pass -c assetBucketPrefix=PREFIX)',
    );
  return plan.stacks.map((planned) => {
    const env = { account: planned.account, region: planned.region };
    if (planned.role === 'hub')
      return new EcrStewardHubStack(app, planned.name, {
        config,
        description: 'ECR Steward organization hub: org audit, alerts and the org breaker',
        env,
        ...(plan.stackSet && assetBucketPrefix
          ? { spokeStackSet: { plan: plan.stackSet, assetBucketPrefix } }
          : {}),
      });
    return new EcrStewardStack(app, planned.name, {
      config: configForEnvironment(config, env),
      org: orgSpokeProps(config),
      description: `${DESCRIPTION} (spoke ${planned.account} ${planned.region})`,
      env,
    });
  });
}

const app = new App();
const configPath = path.resolve(ROOT, String(app.node.tryGetContext('config') ?? DEFAULT_CONFIG));
let text: string;
try {
  text = readFileSync(configPath, 'utf8');
} catch (e) {
  console.error(
    `ECR Steward: cannot read the config ${configPath}: ${(e as Error).message}. Pass -c config=PATH.`,
  );
  process.exit(1);
}
try {
  const config = parseConfig(text, path.relative(ROOT, configPath));
  const stacks = compose(app, config);
  // A config that may surprise its author still deploys, but never silently.
  for (const [index, warning] of configWarnings(config).entries()) {
    console.error(`warning: ${warning}`);
    for (const stack of stacks)
      Annotations.of(stack).addWarningV2(`ecr-steward:config-warning-${index}`, warning);
  }
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
} catch (e) {
  if (e instanceof ConfigError || e instanceof CompositionError) {
    console.error(e.message);
    process.exit(1);
  }
  throw e;
}
