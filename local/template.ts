/**
 * Reads what the local cloud needs from the synthesized CloudFormation template: functions (bundle path,
 * handler, environment), queues, tables, topics, event source mappings and function URLs (with the resource
 * policy that says who may invoke them). Resource references are resolved to local names: a table's name is
 * its logical id, a queue's URL points at the local server.
 */
import * as path from 'node:path';

export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'us-east-1';

/** Where a template is deployed: the account and region its ARNs, queue URLs and pseudo parameters name. */
export interface LocalEnvironment {
  readonly account: string;
  readonly region: string;
}

/** The single-account local cloud's environment (000000000000, us-east-1). */
export const DEFAULT_ENVIRONMENT: LocalEnvironment = { account: LOCAL_ACCOUNT, region: LOCAL_REGION };

/**
 * The label of every local table stream: a stream ARN is `<table ARN>/stream/<label>`, and AWS's label is the
 * stream's creation time. One fixed label keeps ARNs the same across runs.
 */
export const STREAM_LABEL = '2024-01-01T00:00:00.000';

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
  /** Logical id of the source queue; for a stream mapping, the logical id of the table whose stream it reads. */
  readonly queue: string;
  readonly functionId: string;
  readonly batchSize: number;
  /**
   * SQS mappings: `MaximumBatchingWindowInSeconds` in ms; 0 (AWS's default for standard queues) delivers what
   * is there at once.
   */
  readonly batchingWindowMs?: number;
  readonly reportBatchItemFailures: boolean;
  /** `stream` when the source is a table's DynamoDB stream (`Fn::GetAtt Table.StreamArn`). @default 'sqs' */
  readonly source?: 'sqs' | 'stream';
  /** Stream mappings: `BisectBatchOnFunctionError`. */
  readonly bisectOnError?: boolean;
  /** Stream mappings: `MaximumRetryAttempts`; -1 (AWS's default) retries until the record expires. */
  readonly maximumRetryAttempts?: number;
  /** Stream mappings: logical id of the `DestinationConfig.OnFailure` queue. */
  readonly onFailureQueue?: string | undefined;
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
  /** The table's local name: its `TableName` when the template fixes one, else its logical id. */
  readonly name: string;
  /** `StreamSpecification.StreamViewType` when the table has a stream. */
  readonly streamViewType?: string | undefined;
  /** The table's resource policy document (`ResourcePolicy.PolicyDocument`), resolved; none when absent. */
  readonly resourcePolicy?: PolicyDocument | undefined;
}

/** An IAM policy document as a resource policy holds it (resolved to plain JSON). */
export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: readonly PolicyStatement[] | PolicyStatement;
}

/** One statement of a resource policy. */
export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal?: unknown;
  readonly Action?: string | readonly string[];
  readonly Resource?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** A custom event bus of the template (`AWS::Events::EventBus`) with its resource policy statements. */
export interface BusDef {
  readonly logicalId: string;
  readonly name: string;
  /** Statements of the bus's `Policy` property and of every `AWS::Events::EventBusPolicy` naming the bus. */
  readonly statements: readonly PolicyStatement[];
}

/** An SNS subscription of the template (`AWS::SNS::Subscription`) that delivers to a local queue. */
export interface SubscriptionDef {
  readonly logicalId: string;
  /** Logical id of the topic. */
  readonly topic: string;
  readonly protocol: string;
  /** Logical id of the queue (protocol `sqs`). */
  readonly queue?: string | undefined;
  readonly rawMessageDelivery: boolean;
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

export function queueUrl(endpoint: string, logicalId: string, account: string = LOCAL_ACCOUNT): string {
  return `${endpoint}/${account}/${logicalId}`;
}

export function topicArn(logicalId: string, env: LocalEnvironment = DEFAULT_ENVIRONMENT): string {
  return `arn:aws:sns:${env.region}:${env.account}:${logicalId}`;
}

export function queueArn(logicalId: string, env: LocalEnvironment = DEFAULT_ENVIRONMENT): string {
  return `arn:aws:sqs:${env.region}:${env.account}:${logicalId}`;
}

/** A table's ARN (`TableName` as the name when the template fixes one, else the logical id). */
export function tableArn(name: string, env: LocalEnvironment = DEFAULT_ENVIRONMENT): string {
  return `arn:aws:dynamodb:${env.region}:${env.account}:table/${name}`;
}

/** The local name of a resource whose name property the template may fix (tables, buses). */
function fixedName(template: Template, id: string): string {
  const r = template.Resources[id];
  const props = r?.Properties ?? {};
  const name =
    r?.Type === 'AWS::Events::EventBus'
      ? props.Name
      : r?.Type === 'AWS::DynamoDB::Table' || r?.Type === 'AWS::DynamoDB::GlobalTable'
        ? props.TableName
        : undefined;
  return typeof name === 'string' ? name : id;
}

/**
 * Resolves `Ref`, `Fn::GetAtt` (`Arn`, `StreamArn`, `Name`, `QueueName`), `Fn::Join`, `Fn::Sub` and pseudo
 * parameters to local values, for a template deployed in `env` (the single-account cloud's by default).
 */
export function resolveValue(
  value: unknown,
  template: Template,
  endpoint: string,
  env: LocalEnvironment = DEFAULT_ENVIRONMENT,
): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const v = value as Record<string, unknown>;
  if ('Ref' in v) {
    const id = String(v.Ref);
    if (id === 'AWS::Region') return env.region;
    if (id === 'AWS::AccountId') return env.account;
    if (id === 'AWS::Partition') return 'aws';
    if (id === 'AWS::URLSuffix') return 'amazonaws.com';
    const type = template.Resources[id]?.Type;
    if (type === 'AWS::SQS::Queue') return queueUrl(endpoint, id, env.account);
    if (type === 'AWS::SNS::Topic') return topicArn(id, env);
    return fixedName(template, id); // tables, buses: a fixed name; functions, rules: the logical id
  }
  if ('Fn::Sub' in v) {
    const sub = v['Fn::Sub'];
    const [text, vars] = (Array.isArray(sub) ? sub : [sub, {}]) as [string, Record<string, unknown>];
    return text.replace(/\$\{([^}!][^}]*)\}/g, (_, name: string) => {
      if (vars[name] !== undefined) return resolveValue(vars[name], template, endpoint, env);
      const [id, attr] = name.split('.') as [string, string | undefined];
      return resolveValue(attr ? { 'Fn::GetAtt': [id, attr] } : { Ref: id }, template, endpoint, env);
    });
  }
  if ('Fn::GetAtt' in v) {
    const getAtt = v['Fn::GetAtt'];
    const [id, attr] = (typeof getAtt === 'string' ? getAtt.split('.') : getAtt) as [string, string];
    const type = template.Resources[id]?.Type;
    if (attr === 'StreamArn') return `${tableArn(fixedName(template, id), env)}/stream/${STREAM_LABEL}`;
    if (attr === 'Name' && type === 'AWS::Events::EventBus') return fixedName(template, id);
    if (attr === 'Arn') {
      if (type === 'AWS::SQS::Queue') return queueArn(id, env);
      if (type === 'AWS::SNS::Topic') return topicArn(id, env);
      if (type === 'AWS::Lambda::Function')
        return `arn:aws:lambda:${env.region}:${env.account}:function:${id}`;
      if (type === 'AWS::DynamoDB::GlobalTable' || type === 'AWS::DynamoDB::Table')
        return tableArn(fixedName(template, id), env);
      if (type === 'AWS::Events::EventBus')
        return `arn:aws:events:${env.region}:${env.account}:event-bus/${fixedName(template, id)}`;
      // A role or user of the template (e.g. one granted a function URL): its ARN as IAM writes it, so the
      // function URL's resource policy can match it against the local principals.
      if (type === 'AWS::IAM::Role' || type === 'AWS::IAM::User') {
        const props = template.Resources[id]?.Properties ?? {};
        const name = props.RoleName ?? props.UserName;
        const iamPath = typeof props.Path === 'string' ? props.Path : '/';
        const kind = type === 'AWS::IAM::Role' ? 'role' : 'user';
        return `arn:aws:iam::${env.account}:${kind}${iamPath}${typeof name === 'string' ? name : id}`;
      }
      return `arn:aws:local:${env.region}:${env.account}:${id}`;
    }
    if (attr === 'QueueName') return id;
    return `${id}.${attr}`;
  }
  if ('Fn::Join' in v) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => resolveValue(p, template, endpoint, env)).join(sep);
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)} locally`);
}

const INTRINSICS = new Set(['Ref', 'Fn::GetAtt', 'Fn::Join', 'Fn::Sub']);

/** Resolves every intrinsic inside a JSON value (a policy document, say), leaving plain values as they are. */
export function resolveDeep(
  value: unknown,
  template: Template,
  endpoint: string,
  env: LocalEnvironment = DEFAULT_ENVIRONMENT,
): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveDeep(v, template, endpoint, env));
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && INTRINSICS.has(keys[0]!)) return resolveValue(value, template, endpoint, env);
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [
        k,
        resolveDeep(v, template, endpoint, env),
      ]),
    );
  }
  return value;
}

/** A resolved policy: a JSON string (EventBus `Policy` may be one) or an object with `Statement`. */
function statementsOf(policy: unknown): PolicyStatement[] {
  const doc = typeof policy === 'string' ? (JSON.parse(policy) as unknown) : policy;
  const statement = (doc as { Statement?: unknown } | undefined)?.Statement;
  if (statement === undefined) return [];
  return (Array.isArray(statement) ? statement : [statement]) as PolicyStatement[];
}

/**
 * The statement an `AWS::Events::EventBusPolicy` adds: its `Statement`, or the legacy form (`Action`,
 * `Principal` an account id or `*`, `Condition {Type, Key, Value}`) turned into one.
 */
function busPolicyStatement(props: Record<string, unknown>): PolicyStatement {
  if (props.Statement !== undefined) {
    const s = typeof props.Statement === 'string' ? JSON.parse(props.Statement) : props.Statement;
    return s as PolicyStatement;
  }
  const condition = props.Condition as { Type?: string; Key?: string; Value?: string } | undefined;
  return {
    ...(typeof props.StatementId === 'string' ? { Sid: props.StatementId } : {}),
    Effect: 'Allow',
    Principal: props.Principal === '*' ? '*' : { AWS: String(props.Principal) },
    Action: String(props.Action ?? 'events:PutEvents'),
    ...(condition?.Key
      ? { Condition: { [condition.Type ?? 'StringEquals']: { [condition.Key]: condition.Value } } }
      : {}),
  };
}

/** The logical id a `Ref` / `Fn::GetAtt` points at. */
export function refId(value: unknown): string | undefined {
  const v = value as Record<string, unknown> | undefined;
  if (!v || typeof v !== 'object') return undefined;
  if ('Ref' in v) return String(v.Ref);
  if ('Fn::GetAtt' in v) {
    const getAtt = v['Fn::GetAtt'];
    return typeof getAtt === 'string' ? getAtt.split('.')[0] : (getAtt as string[])[0];
  }
  return undefined;
}

/**
 * Everything the local cloud builds from a template. `env` is where it is deployed (the single-account
 * cloud's environment by default): ARNs, queue URLs and pseudo parameters name it.
 */
export function readTemplate(
  template: Template,
  cdkOut: string,
  endpoint: string,
  env: LocalEnvironment = DEFAULT_ENVIRONMENT,
) {
  const functions = new Map<string, FunctionDef>();
  const buses = new Map<string, BusDef>();
  const subscriptions: SubscriptionDef[] = [];
  const busStatements = new Map<string, PolicyStatement[]>();
  // The default bus is always there; its policy, if any, comes from EventBusPolicy resources naming it.
  buses.set('default', { logicalId: 'default', name: 'default', statements: [] });
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
    if (r.Type === 'AWS::Events::EventBusPolicy') {
      const props = resolveDeep(r.Properties ?? {}, template, endpoint, env) as Record<string, unknown>;
      const bus = String(props.EventBusName ?? 'default');
      busStatements.set(bus, [...(busStatements.get(bus) ?? []), busPolicyStatement(props)]);
    }
    const permission = urlPermission(id, r, template, endpoint, env);
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
            Object.entries(vars).map(([k, v]) => [k, resolveValue(v, template, endpoint, env)]),
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
      case 'AWS::DynamoDB::Table': {
        // A global table keeps its stream and resource policy per replica; the local one is the first's.
        const replica = ((p.Replicas as Record<string, unknown>[] | undefined) ?? [])[0] ?? {};
        const stream = (p.StreamSpecification ?? replica.StreamSpecification) as
          | { StreamViewType?: string }
          | undefined;
        const policy = (p.ResourcePolicy ?? replica.ResourcePolicy) as
          | { PolicyDocument?: unknown }
          | undefined;
        tables.set(id, {
          logicalId: id,
          name: fixedName(template, id),
          keySchema: p.KeySchema as TableDef['keySchema'],
          attributeDefinitions: p.AttributeDefinitions as TableDef['attributeDefinitions'],
          globalSecondaryIndexes: (p.GlobalSecondaryIndexes ?? []) as TableDef['globalSecondaryIndexes'],
          streamViewType: stream?.StreamViewType,
          resourcePolicy: policy?.PolicyDocument
            ? {
                Statement: statementsOf(resolveDeep(policy.PolicyDocument, template, endpoint, env)),
              }
            : undefined,
        });
        break;
      }
      case 'AWS::SNS::Topic':
        topics.push(id);
        break;
      case 'AWS::SNS::Subscription': {
        const topic = refId(p.TopicArn);
        if (!topic) break;
        subscriptions.push({
          logicalId: id,
          topic,
          protocol: String(p.Protocol),
          queue: p.Protocol === 'sqs' ? refId(p.Endpoint) : undefined,
          rawMessageDelivery: p.RawMessageDelivery === true || p.RawMessageDelivery === 'true',
        });
        break;
      }
      case 'AWS::Events::EventBus': {
        const name = fixedName(template, id);
        const own =
          p.Policy === undefined ? [] : statementsOf(resolveDeep(p.Policy, template, endpoint, env));
        buses.set(name, { logicalId: id, name, statements: own });
        break;
      }
      case 'AWS::Lambda::EventSourceMapping': {
        const source = p.EventSourceArn as Record<string, unknown> | undefined;
        const getAtt = source?.['Fn::GetAtt'];
        const attr = Array.isArray(getAtt)
          ? getAtt[1]
          : typeof getAtt === 'string'
            ? getAtt.split('.')[1]
            : '';
        const isStream = attr === 'StreamArn';
        const onFailure = (p.DestinationConfig as { OnFailure?: { Destination?: unknown } } | undefined)
          ?.OnFailure?.Destination;
        mappings.push({
          queue: refId(p.EventSourceArn)!,
          functionId: refId(p.FunctionName)!,
          batchSize: Number(p.BatchSize ?? (isStream ? 100 : 10)),
          ...(isStream ? {} : { batchingWindowMs: Number(p.MaximumBatchingWindowInSeconds ?? 0) * 1000 }),
          reportBatchItemFailures: ((p.FunctionResponseTypes as string[] | undefined) ?? []).includes(
            'ReportBatchItemFailures',
          ),
          ...(isStream
            ? {
                source: 'stream' as const,
                bisectOnError: p.BisectBatchOnFunctionError === true,
                maximumRetryAttempts: Number(p.MaximumRetryAttempts ?? -1),
                onFailureQueue: refId(onFailure),
              }
            : {}),
        });
        break;
      }
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
  for (const [bus, statements] of busStatements) {
    const def = buses.get(bus);
    if (def) buses.set(bus, { ...def, statements: [...def.statements, ...statements] });
  }
  return { functions, queues, tables, topics, mappings, urls, buses, subscriptions };
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
  env: LocalEnvironment,
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
      principal: resolveValue(p.Principal, template, endpoint, env),
      principalOrgId:
        p.PrincipalOrgID === undefined ? undefined : resolveValue(p.PrincipalOrgID, template, endpoint, env),
    },
  };
}
