import { createHash } from 'node:crypto';
import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { needsRepositoryTags } from '../../functions/shared/config/load.js';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { ENV } from '../../functions/shared/runtime/constants.js';
import { acknowledge, nagArnRef, nagRepositoryArn, wildcardResource } from '../nag.js';
import { grantAuditRecords, grantRequestRecords } from './audit-tables.js';
import { actionNames, managedScope } from './managed-scope.js';
import { StewardFunction } from './steward-function.js';

export { approvalsEnabled } from './alarm-list.js';

/**
 * Every principal pattern that may call the approvals endpoint: the approvers and the requesters of the
 * global approval block and of every selection, in the order the config names them, each once.
 */
export function approvalPatterns(config: StewardConfig): string[] {
  const global = config.governance.approval;
  const own = config.selections.map((s) => s.governance?.approval);
  return [
    ...new Set([
      ...global.approvers,
      ...global.requesters,
      ...own.flatMap((a) => [...(a?.approvers ?? []), ...(a?.requesters ?? [])]),
    ]),
  ];
}

/** A principal a Lambda permission accepts: an exact ARN, or a whole account. */
export type UrlPrincipal =
  | { readonly type: 'arn'; readonly arn: string }
  | { readonly type: 'account'; readonly account: string };

const IAM_ARN = /^arn:(aws(?:-[a-z]+)*):iam::(\d{12}):(?:user|role)\/(.+)$/;
const ASSUMED_ROLE_ARN = /^arn:(aws(?:-[a-z]+)*):sts::(\d{12}):assumed-role\/([^/]+)(?:\/.*)?$/;

/**
 * The principal a Lambda permission can name for one pattern of the config (PRINCIPAL_PATTERN in
 * functions/shared/config/approval.ts, which always names a 12-digit account):
 * - a user or role ARN without `*`: that ARN;
 * - an assumed-role ARN whose role name has no `*` (`…:assumed-role/ops/*` or `…/ops/alice`): the role's
 *   ARN `arn:aws:iam::<account>:role/<role>`, which is how IAM names a session's role in a resource policy
 *   (a role with a path must be given as its `iam::…:role/<path>/<name>` ARN instead);
 * - any other pattern with a `*`: its account.
 */
export function urlPrincipal(pattern: string): UrlPrincipal {
  const assumed = ASSUMED_ROLE_ARN.exec(pattern);
  if (assumed) {
    const [, partition, account, role] = assumed as unknown as [string, string, string, string];
    return role.includes('*')
      ? { type: 'account', account }
      : { type: 'arn', arn: `arn:${partition}:iam::${account}:role/${role}` };
  }
  const direct = IAM_ARN.exec(pattern);
  if (!direct)
    throw new Error(
      `${JSON.stringify(pattern)} is not an IAM user, role or assumed-role ARN with its account — fix governance.approval approvers/requesters`,
    );
  return pattern.includes('*') ? { type: 'account', account: direct[2]! } : { type: 'arn', arn: pattern };
}

const ARN_ACCOUNT = /^arn:[^:]+:[^:]+::(\d{12}):/;

/**
 * The principals of the endpoint's resource policy for `patterns`: each once, accounts first, and no ARN of
 * an account that is granted as a whole (the account grant already lets it call).
 */
export function urlPrincipals(patterns: readonly string[]): UrlPrincipal[] {
  const all = patterns.map(urlPrincipal);
  const accounts = [...new Set(all.flatMap((p) => (p.type === 'account' ? [p.account] : [])))];
  const arns = [...new Set(all.flatMap((p) => (p.type === 'arn' ? [p.arn] : [])))].filter(
    (arn) => !accounts.includes(ARN_ACCOUNT.exec(arn)?.[1] ?? ''),
  );
  return [
    ...accounts.map((account): UrlPrincipal => ({ type: 'account', account })),
    ...arns.map((arn): UrlPrincipal => ({ type: 'arn', arn })),
  ];
}

export interface ApprovalsProps {
  readonly config: StewardConfig;
  /** Deletion requests: the function creates, lists and decides them (no delete, no scan). */
  readonly requestsTable: dynamodb.ITableV2;
  /** Every decision, allowed or refused, is audited (conditional puts only). */
  readonly auditTable: dynamodb.ITableV2;
  /** Breakers: an approved `breaker-reset` request closes one. */
  readonly stateTable: dynamodb.ITableV2;
  /** New requests made through the endpoint are announced here. */
  readonly approvalsTopic: sns.ITopic;
  /** The owning teams hear of decisions that change a notice (a rejection keeps the images). */
  readonly noticesTopic: sns.ITopic;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
}

/**
 * The approvals endpoint: a function (functions/approvals/handler.ts) behind a Lambda function URL with
 * `AuthType: AWS_IAM`, so every call is SigV4-signed and the caller's identity comes from the signature
 * (`requestContext.authorizer.iam`), never from the body. The resource policy lets only the config's
 * approvers and requesters call it; the function's core checks each caller against the exact patterns (and
 * refuses self-approval). An approval only records a decision: the next run of the cleanup deletes.
 */
export class Approvals extends Construct {
  readonly function: StewardFunction;
  readonly url: lambda.FunctionUrl;
  /** The principals granted `lambda:InvokeFunctionUrl` (see `urlPrincipals`). */
  readonly principals: readonly UrlPrincipal[];

  constructor(scope: Construct, id: string, props: ApprovalsProps) {
    super(scope, id);
    const patterns = approvalPatterns(props.config);
    if (patterns.length === 0)
      throw new Error(
        'governance.approval: approvals are in use but no approver or requester is named — add an IAM principal ARN to governance.approval.approvers',
      );
    this.function = new StewardFunction(this, 'Function', {
      entry: 'functions/approvals/handler.ts',
      handler: 'handler',
      description: 'ECR Steward approvals: signed approve, reject and request calls on deletion requests',
      config: props.config,
      timeout: props.timeout ?? Duration.seconds(30),
      memorySize: 512,
      // The config's reservedConcurrency has no `approvals` entry: a few signed calls by people need little,
      // and the cap keeps a runaway client from taking more.
      ...(props.config.reservedConcurrency === false ? {} : { reservedConcurrency: 2 }),
      environment: {
        [ENV.requestsTable]: props.requestsTable.tableName,
        [ENV.approvalsTopic]: props.approvalsTopic.topicArn,
        [ENV.auditTable]: props.auditTable.tableName,
        [ENV.stateTable]: props.stateTable.tableName,
        [ENV.noticesTopic]: props.noticesTopic.topicArn,
      },
    });
    const fn = this.function.function;

    grantRequestRecords(props.requestsTable, fn);
    grantAuditRecords(props.auditTable, fn);
    // An approved breaker reset reads the breaker (BreakerStore.get: a consistent BatchGetItem) and writes it
    // closed (BreakerStore.close: one PutItem); the function touches no other state.
    props.stateTable.grant(fn, 'dynamodb:BatchGetItem', 'dynamodb:PutItem');
    props.approvalsTopic.grantPublish(fn);
    props.noticesTopic.grantPublish(fn);
    acknowledge(
      this.function.role,
      [
        wildcardResource(`${nagArnRef(props.auditTable)}/index/*`),
        'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      ],
      "Audit queries use the audit table's own indexes; publishing to the KMS-encrypted approvals and notices topics needs GenerateDataKey* on their key only (granted by grantPublish).",
    );
    this.grantEcrReads(props.config);

    this.url = fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM });
    // Lambda permissions take an account id or an exact ARN as principal, no wildcards: an ARN without `*`
    // becomes an ArnPrincipal (an assumed-role ARN pattern: its role ARN arn:aws:iam::<acct>:role/<role>);
    // an ARN with a `*` gets its account (AccountPrincipal) — the function's core checks the pattern itself.
    // The config already refuses a `*` account (PRINCIPAL_PATTERN in functions/shared/config/approval.ts).
    // Since October 2025 a new function URL also needs lambda:InvokeFunction, which the
    // `lambda:InvokedViaFunctionUrl` condition limits to calls through the URL (no direct Invoke).
    this.principals = urlPrincipals(patterns);
    for (const p of this.principals) {
      const value = p.type === 'arn' ? p.arn : p.account;
      const principal = p.type === 'arn' ? new iam.ArnPrincipal(p.arn) : new iam.AccountPrincipal(p.account);
      const suffix = createHash('sha256').update(value).digest('hex').slice(0, 12);
      fn.addPermission(`InvokeUrl${suffix}`, {
        principal,
        action: 'lambda:InvokeFunctionUrl',
        functionUrlAuthType: lambda.FunctionUrlAuthType.AWS_IAM,
      });
      fn.addPermission(`InvokeViaUrl${suffix}`, {
        principal,
        action: 'lambda:InvokeFunction',
        invokedViaFunctionUrl: true,
      });
    }
  }

  /**
   * ECR reads for manual requests. The images asked for (they must exist; their tags and sizes go into the
   * request) are read only on the managed repositories. Whether a repository is managed is learnt from its
   * name and, when some selection or approval rule goes by tags, its tags, read on every repository (metadata
   * only), so that a request for an unmanaged repository is refused as NotManaged, not failed.
   */
  private grantEcrReads(config: StewardConfig): void {
    const scope = managedScope(this, config);
    const reads = ['ecr:BatchGetImage', 'ecr:DescribeImages'];
    const metadata = [
      'ecr:DescribeRepositories',
      ...(needsRepositoryTags(config) ? ['ecr:ListTagsForResource'] : []),
    ];
    const statements = [
      ...scope.statements('RequestedImages', reads),
      new iam.PolicyStatement({
        sid: 'FindRepository',
        actions: metadata,
        resources: [StewardFunction.repositoryArn(this, '*')],
      }),
    ];
    this.function.addPolicy('RepositoryPolicy', statements, {
      resources: [...new Set([nagRepositoryArn(this, '*'), ...scope.nagWildcards])],
      reason: `${actionNames(reads)} only on ${scope.description} (generated from the config's selections; tag sets are aws:ResourceTag conditions on repository/*); only ${actionNames(metadata)}, which tell whether a repository exists and is managed, on every repository. No ECR write: an approval only records a decision.`,
    });
  }
}
