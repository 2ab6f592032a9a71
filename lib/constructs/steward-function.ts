import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { ENV } from '../../functions/shared/runtime/constants.js';
import { acknowledge, nagArnRef, wildcardResource } from '../nag.js';

/** The functions `reservedConcurrency` names. */
export type ReservedConcurrencyName = keyof Exclude<StewardConfig['reservedConcurrency'], false>;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface StewardFunctionProps {
  /** Entry file, relative to the project root (e.g. `functions/cleanup/handler.ts`). */
  readonly entry: string;
  /** Exported handler name. */
  readonly handler: string;
  readonly description: string;
  /** The validated config, bundled into the function so code and config deploy together. */
  readonly config: StewardConfig;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default Duration.minutes(1) */
  readonly timeout?: Duration;
  /** Merged over the function's own environment (never replaces it). */
  readonly environment?: Readonly<Record<string, string>>;
  /** Where failed asynchronous invocations go. @default none (synchronous / event-source callers) */
  readonly onFailureQueue?: sqs.IQueue;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Concurrent executions reserved for (and the most allowed to) this function. @default none */
  readonly reservedConcurrency?: number;
}

/**
 * A Lambda function with ECR Steward's deliberate defaults: the newest Node.js runtime, ARM64, bundled and
 * minified locally with esbuild (no Docker) with source maps (without the sources), the AWS SDK bundled in
 * (pinned versions, not whatever the runtime ships), its own log group with retention (kept when the stack is
 * deleted), optional reserved concurrency, and a role that can write only its own logs.
 */
export class StewardFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: StewardFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      // The logs say what a function deleted and why: they outlive the stack (retention still expires them).
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // An explicit role instead of AWSLambdaBasicExecutionRole: logs go to this function's group only.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (ECR Steward)`,
    });

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.join(ROOT, props.entry),
      handler: props.handler,
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.minutes(1),
      ...(props.reservedConcurrency !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrency }
        : {}),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      projectRoot: ROOT,
      depsLockFilePath: path.join(ROOT, 'package-lock.json'),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        // In an organization every function knows its account without an STS call: the forwarder names it on
        // each event, and a StackSet's functions narrow the selections to it (runtime/config.ts).
        ...(props.config.organization ? { [ENV.registryId]: Aws.ACCOUNT_ID } : {}),
        ...props.environment,
      },
      bundling: {
        minify: true,
        sourceMap: true,
        // Stack traces map to file and line without the sources inlined in the map: a map a third of the size,
        // which every cold start reads and parses (--enable-source-maps), about 10 ms less (bench: bundles).
        sourcesContent: false,
        // node20 syntax runs on every supported Lambda runtime and on the local cloud's Node 20.
        target: 'node20',
        format: nodejs.OutputFormat.CJS,
        // Prefer packages' ES module builds: they bundle fully (a UMD build's factory `require`s escape the bundle).
        mainFields: ['module', 'main'],
        externalModules: [],
        forceDockerBundling: false,
        define: { __STEWARD_CONFIG__: JSON.stringify(JSON.stringify(props.config)) },
      },
      ...(props.onFailureQueue ? { deadLetterQueue: props.onFailureQueue, retryAttempts: 2 } : {}),
    });
    this.addPolicy(
      'LogsPolicy',
      [
        new iam.PolicyStatement({
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [`${this.logGroup.logGroupArn}:*`],
        }),
      ],
      {
        resources: [`${nagArnRef(this.logGroup)}:*`],
        reason:
          "Lambda names log streams at run time; the statement is limited to this function's own log group.",
      },
    );
  }

  /**
   * Adds statements as a policy of their own. When `wildcardReason` is given, cdk-nag's wildcard finding
   * (AwsSolutions-IAM5) is acknowledged on this policy only, so no other statement of the role is excused.
   */
  addPolicy(
    id: string,
    statements: iam.PolicyStatement[],
    wildcards?: { readonly resources: readonly string[]; readonly reason: string },
  ): iam.Policy {
    const policy = new iam.Policy(this, id, { statements });
    policy.attachToRole(this.role);
    if (wildcards) acknowledge(policy, wildcards.resources.map(wildcardResource), wildcards.reason);
    return policy;
  }

  /**
   * The reserved concurrency the config gives the function named `name` (`reservedConcurrency`), or undefined
   * when the config reserves none.
   */
  static reservedConcurrency(config: StewardConfig, name: ReservedConcurrencyName): number | undefined {
    return config.reservedConcurrency === false ? undefined : config.reservedConcurrency[name];
  }

  /**
   * The SQS event source's maximum concurrency for a function with `reserved` concurrency: equal to it, so the
   * pollers never take more messages than the function may run (throttled receives would count towards the
   * dead-letter redrive). Undefined below 2, the least SQS accepts.
   */
  static sqsMaxConcurrency(reserved: number | undefined): number | undefined {
    return reserved !== undefined && reserved >= 2 ? reserved : undefined;
  }

  /** The stack-relative ARN of a repository path glob, for least-privilege ECR statements. */
  static repositoryArn(scope: Construct, glob: string): string {
    const stack = Stack.of(scope);
    return stack.formatArn({ service: 'ecr', resource: 'repository', resourceName: glob });
  }
}
