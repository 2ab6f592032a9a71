#!/usr/bin/env node
/**
 * Composition root: load and validate the config named by `-c config=PATH` (the example config when
 * omitted), print its warnings, build the stack, and check it with cdk-nag's AwsSolutions rules. No resources
 * are defined here.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Annotations, App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError, parseConfig } from '../functions/shared/config/load.js';
import { configWarnings } from '../functions/shared/config/warnings.js';
import { EcrStewardStack } from '../lib/stacks/ecr-steward-stack.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_CONFIG = 'examples/steward.config.jsonc';

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
  const stack = new EcrStewardStack(app, String(app.node.tryGetContext('stackName') ?? 'EcrSteward'), {
    config,
    description: 'ECR Steward: ECR lifecycle enforcement with protections, delete audit and scan gate',
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  // A config that may surprise its author still deploys, but never silently.
  for (const [index, warning] of configWarnings(config).entries()) {
    console.error(`warning: ${warning}`);
    Annotations.of(stack).addWarningV2(`ecr-steward:config-warning-${index}`, warning);
  }
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(e.message);
    process.exit(1);
  }
  throw e;
}
