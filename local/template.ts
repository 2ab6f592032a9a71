/**
 * Reads what the local cloud needs from the synthesized CloudFormation template: functions (bundle path,
 * handler, environment), queues, tables, topics, event source mappings and function URLs (with the resource
 * policy that says who may invoke them). Resource references are resolved to local names: a table's name is
 * its logical id, a queue's URL points at the local server.
 */
import * as path from 'node:path';

export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'us-east-1';

type Resource = { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> };
export type Template = { Resources: Record<string, Resource> };

export interface FunctionDef {
  readonly logicalId: string;
  /** Directory of the esbuild bundle (cdk.out/asset.<hash>) and the handler export. */
  readonly bundleDir: string;
  readonly handlerFile: string;
  readonly handlerExport: string;
  readonly environment: Record<string, string>;
  readonly timeoutSeconds: number;
  /** Queue for failed asynchronous invocations (DeadLetterConfig), if any. */
  readonly asyncDeadLetter?: string | undefined;
  readonly asyncRetries: number;
}

export interface MappingDef {
  readonly queue: string;
  readonly functionId: string;
  readonly batchSize: number;
  readonly reportBatchItemFailures: boolean;
}

export interface TableDef {
  readonly logicalId: string;
  readonly keySchema: { AttributeName: string; KeyType: string }[];
  readonly attributeDefinitions: { AttributeName: string; AttributeType: string }[];
  readonly globalSecondaryIndexes: {
    IndexName: string;
    KeySchema: { AttributeName: string; KeyType: string }[];
    Projection: unknown;
  }[];
}

export interface QueueDef {
  readonly logicalId: string;
  readonly fifo: boolean;
  readonly contentBasedDeduplication: boolean;
  readonly redrive?: { target: string; maxReceiveCount: number } | undefined;
  readonly visibilityTimeoutSeconds: number;
}

/** A function URL (`AWS::Lambda::Url`) and who may invoke it. */
export interface FunctionUrlDef {
  readonly logicalId: string;
  /** Logical id of the function the URL invokes (`TargetFunctionArn`). */
  readonly functionId: string;
  readonly authType: 'AWS_IAM' | 'NONE';
  /** The function's resource-policy statements that admit callers to an AWS_IAM URL. */
  readonly permissions: readonly UrlPermissionDef[];
}

/**
 * One `AWS::Lambda::Permission` granting `lambda:InvokeFunctionUrl` on an AWS_IAM URL. `principal` is resolved:
 * an account id, an ARN (a user, a role, a role session) or `*`.
 */
export interface UrlPermissionDef {
  readonly logicalId: string;
  readonly principal: string;
  /** `PrincipalOrgID`; the local cloud has no organization, so it is read but not evaluated. */
  readonly principalOrgId?: string | undefined;
}

export function queueUrl(endpoint: string, logicalId: string): string {
  return `${endpoint}/${LOCAL_ACCOUNT}/${logicalId}`;
}

export function topicArn(logicalId: string): string {
  return `arn:aws:sns:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${logicalId}`;
}

export function queueArn(logicalId: string): string {
  return `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${logicalId}`;
}

/** Resolves `Ref`, `Fn::GetAtt … Arn`, `Fn::Join` and pseudo parameters to local values. */
export function resolveValue(value: unknown, template: Template, endpoint: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const v = value as Record<string, unknown>;
  if ('Ref' in v) {
    const id = String(v.Ref);
    if (id === 'AWS::Region') return LOCAL_REGION;
    if (id === 'AWS::AccountId') return LOCAL_ACCOUNT;
    if (id === 'AWS::Partition') return 'aws';
    if (id === 'AWS::URLSuffix') return 'amazonaws.com';
    const type = template.Resources[id]?.Type;
    if (type === 'AWS::SQS::Queue') return queueUrl(endpoint, id);
    if (type === 'AWS::SNS::Topic') return topicArn(id);
    return id; // tables, functions, rules: their local name is the logical id
  }
  if ('Fn::GetAtt' in v) {
    const [id, attr] = v['Fn::GetAtt'] as [string, string];
    const type = template.Resources[id]?.Type;
    if (attr === 'Arn') {
      if (type === 'AWS::SQS::Queue') return queueArn(id);
      if (type === 'AWS::SNS::Topic') return topicArn(id);
      if (type === 'AWS::Lambda::Function')
        return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${id}`;
      if (type === 'AWS::DynamoDB::GlobalTable' || type === 'AWS::DynamoDB::Table')
        return `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT}:table/${id}`;
      // A role or user of the template (e.g. one granted a function URL): its ARN as IAM writes it, so the
      // function URL's resource policy can match it against the local principals.
      if (type === 'AWS::IAM::Role' || type === 'AWS::IAM::User') {
        const props = template.Resources[id]?.Properties ?? {};
        const name = props.RoleName ?? props.UserName;
        const iamPath = typeof props.Path === 'string' ? props.Path : '/';
        const kind = type === 'AWS::IAM::Role' ? 'role' : 'user';
        return `arn:aws:iam::${LOCAL_ACCOUNT}:${kind}${iamPath}${typeof name === 'string' ? name : id}`;
      }
      return `arn:aws:local:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${id}`;
    }
    if (attr === 'QueueName') return id;
    return `${id}.${attr}`;
  }
  if ('Fn::Join' in v) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => resolveValue(p, template, endpoint)).join(sep);
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)} locally`);
}

/** The logical id a `Ref` / `Fn::GetAtt` points at. */
export function refId(value: unknown): string | undefined {
  const v = value as Record<string, unknown> | undefined;
  if (!v || typeof v !== 'object') return undefined;
  if ('Ref' in v) return String(v.Ref);
  if ('Fn::GetAtt' in v) return (v['Fn::GetAtt'] as string[])[0];
  return undefined;
}

export function readTemplate(template: Template, cdkOut: string, endpoint: string) {
  const functions = new Map<string, FunctionDef>();
  const queues = new Map<string, QueueDef>();
  const tables = new Map<string, TableDef>();
  const topics: string[] = [];
  const mappings: MappingDef[] = [];
  const urls: FunctionUrlDef[] = [];
  const retries = new Map<string, number>();
  const urlPermissions = new Map<string, UrlPermissionDef[]>();
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type === 'AWS::Lambda::EventInvokeConfig') {
      const fn = refId(r.Properties?.FunctionName);
      if (fn) retries.set(fn, Number(r.Properties?.MaximumRetryAttempts ?? 2));
    }
    const permission = urlPermission(id, r, template, endpoint);
    if (permission) {
      const list = urlPermissions.get(permission.functionId) ?? [];
      list.push(permission.def);
      urlPermissions.set(permission.functionId, list);
    }
  }
  for (const [id, r] of Object.entries(template.Resources)) {
    const p = r.Properties ?? {};
    switch (r.Type) {
      case 'AWS::Lambda::Function': {
        const asset = r.Metadata?.['aws:asset:path'];
        if (typeof asset !== 'string') break; // not one of ours (e.g. a CDK-provided singleton)
        const [file, exportName] = String(p.Handler).split('.') as [string, string];
        const vars = ((p.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ??
          {}) as Record<string, unknown>;
        functions.set(id, {
          logicalId: id,
          bundleDir: path.join(cdkOut, asset),
          handlerFile: `${file}.js`,
          handlerExport: exportName,
          environment: Object.fromEntries(
            Object.entries(vars).map(([k, v]) => [k, resolveValue(v, template, endpoint)]),
          ),
          timeoutSeconds: Number(p.Timeout ?? 3),
          asyncDeadLetter: refId((p.DeadLetterConfig as { TargetArn?: unknown } | undefined)?.TargetArn),
          asyncRetries: retries.get(id) ?? 2,
        });
        break;
      }
      case 'AWS::SQS::Queue': {
        const redrive = p.RedrivePolicy as
          | { deadLetterTargetArn?: unknown; maxReceiveCount?: number }
          | undefined;
        queues.set(id, {
          logicalId: id,
          fifo: p.FifoQueue === true,
          contentBasedDeduplication: p.ContentBasedDeduplication === true,
          redrive: redrive
            ? {
                target: refId(redrive.deadLetterTargetArn)!,
                maxReceiveCount: Number(redrive.maxReceiveCount ?? 1),
              }
            : undefined,
          visibilityTimeoutSeconds: Number(p.VisibilityTimeout ?? 30),
        });
        break;
      }
      case 'AWS::DynamoDB::GlobalTable':
      case 'AWS::DynamoDB::Table':
        tables.set(id, {
          logicalId: id,
          keySchema: p.KeySchema as TableDef['keySchema'],
          attributeDefinitions: p.AttributeDefinitions as TableDef['attributeDefinitions'],
          globalSecondaryIndexes: (p.GlobalSecondaryIndexes ?? []) as TableDef['globalSecondaryIndexes'],
        });
        break;
      case 'AWS::SNS::Topic':
        topics.push(id);
        break;
      case 'AWS::Lambda::EventSourceMapping':
        mappings.push({
          queue: refId(p.EventSourceArn)!,
          functionId: refId(p.FunctionName)!,
          batchSize: Number(p.BatchSize ?? 10),
          reportBatchItemFailures: ((p.FunctionResponseTypes as string[] | undefined) ?? []).includes(
            'ReportBatchItemFailures',
          ),
        });
        break;
      case 'AWS::Lambda::Url': {
        const functionId = refId(p.TargetFunctionArn);
        if (!functionId) break; // a URL of a function outside the template: nothing local to invoke
        const authType = p.AuthType === 'NONE' ? 'NONE' : 'AWS_IAM';
        urls.push({
          logicalId: id,
          functionId,
          authType,
          permissions: authType === 'AWS_IAM' ? (urlPermissions.get(functionId) ?? []) : [],
        });
        break;
      }
    }
  }
  return { functions, queues, tables, topics, mappings, urls };
}

/**
 * The statement an `AWS::Lambda::Permission` adds to its function's resource policy, when it admits callers
 * to the function's AWS_IAM URL: action `lambda:InvokeFunctionUrl` (or `lambda:*`) with `FunctionUrlAuthType`
 * `AWS_IAM`. A statement without `FunctionUrlAuthType` carries no auth-type condition, so it admits too.
 * (CDK's `grantInvokeUrl` also adds `lambda:InvokeFunction` with `InvokedViaFunctionUrl`, which AWS now
 * requires of new function URLs as well; the local cloud checks the `InvokeFunctionUrl` statement only.)
 */
function urlPermission(
  id: string,
  r: Resource,
  template: Template,
  endpoint: string,
): { functionId: string; def: UrlPermissionDef } | undefined {
  if (r.Type !== 'AWS::Lambda::Permission') return undefined;
  const p = r.Properties ?? {};
  if (p.Action !== 'lambda:InvokeFunctionUrl' && p.Action !== 'lambda:*') return undefined;
  if (p.FunctionUrlAuthType !== undefined && p.FunctionUrlAuthType !== 'AWS_IAM') return undefined;
  const functionId =
    refId(p.FunctionName) ?? (typeof p.FunctionName === 'string' ? p.FunctionName : undefined);
  if (!functionId || p.Principal === undefined) return undefined;
  return {
    functionId,
    def: {
      logicalId: id,
      principal: resolveValue(p.Principal, template, endpoint),
      principalOrgId:
        p.PrincipalOrgID === undefined ? undefined : resolveValue(p.PrincipalOrgID, template, endpoint),
    },
  };
}
