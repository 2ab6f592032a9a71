/**
 * EventBridge for the local cloud: the rules and schedules of the synthesized CloudFormation template, and an
 * event router that matches with EventBridge's own pattern semantics (the content-filtering rules of the
 * EventBridge user guide, as implemented by aws/event-ruler's `rulesForJSONEvent`).
 *
 * Pure: no I/O, no clock. The local cloud reads the template, builds an {@link EventRouter} and delivers each
 * `route()` result to its emulated Lambda, SQS or SNS target.
 */
import { isIPv4, isIPv6 } from 'node:net';

// ------------------------------------------------------------------------------------------- patterns

/** A pattern EventBridge would refuse (`PutRule` fails with "Event pattern is not valid"). */
export class EventPatternError extends Error {
  override readonly name = 'EventPatternError';

  /**
   * @param reason what is wrong, in event-ruler's words where it has them
   * @param path the dotted field path of the offending part of the pattern ('' for the whole pattern)
   */
  constructor(
    readonly reason: string,
    readonly path: string,
  ) {
    super(
      path ? `Event pattern is not valid at "${path}": ${reason}` : `Event pattern is not valid: ${reason}`,
    );
  }
}

/** A compiled event pattern: true when the event matches. */
export type EventMatcher = (event: unknown) => boolean;

/**
 * Compiles an EventBridge event pattern once, for many events. Throws {@link EventPatternError} for a
 * pattern EventBridge would reject (empty objects or arrays, a leaf that is not an array, an unknown or
 * malformed operator, `$or` with fewer than two objects, consecutive wildcards, an empty numeric range...).
 */
export function compilePattern(pattern: unknown): EventMatcher {
  if (!isPlainObject(pattern)) throw new EventPatternError('Filter is not an object', '');
  const match = compileObject(pattern, [], false);
  return (event) => match(event, event);
}

/**
 * Whether `event` matches the EventBridge `pattern`, with EventBridge's semantics:
 * - every field of the pattern must match (AND), fields the pattern does not name are unconstrained;
 * - a field's array of values matches when any value matches (OR); `$or: [p1, p2, ...]` ORs whole sub-patterns;
 * - a nested object matches the event's object at that key; when the event holds an array of objects there,
 *   one element must match the whole sub-pattern (array-consistent matching: fields from two different
 *   elements never combine);
 * - a leaf condition matches when any value of an event array matches (`["a"]` matches `["a", "b"]`);
 * - exact values are typed: the string `"5"` is not the number `5`, `null` is not `""`;
 * - `prefix`, `suffix` (both also with `{"equals-ignore-case": ...}`), `equals-ignore-case` and `wildcard`
 *   match strings only; `numeric` matches JSON numbers only; `cidr` matches IPv4/IPv6 address strings;
 * - `anything-but` (a value, a list of strings or numbers, or `{prefix|suffix|equals-ignore-case|wildcard}`)
 *   needs the field to be present and matches every value the inner condition does not;
 * - `exists` works on leaves: `true` needs a leaf value (null counts), `false` matches when the field path
 *   holds no leaf anywhere in the event (absent, an object, or an empty array).
 *
 * Throws {@link EventPatternError} for a pattern EventBridge would reject. Compiles on every call: use
 * {@link compilePattern} or {@link EventRouter} for many events.
 */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  return compilePattern(pattern)(event);
}

type ObjectMatcher = (node: unknown, root: unknown) => boolean;
type ValueTest = (value: unknown) => boolean;
/** One entry of a field's value array: a value test, or one of the two existence checks. */
type ValueMatcher = { kind: 'test'; test: ValueTest } | { kind: 'exists' } | { kind: 'absent' };

const OR = '$or';
/** Field names event-ruler refuses inside a `$or` branch (they would read as operators). */
const OPERATORS = new Set([
  'prefix',
  'suffix',
  'anything-but',
  'numeric',
  'exists',
  'equals-ignore-case',
  'wildcard',
  'cidr',
]);

function compileObject(
  pattern: Record<string, unknown>,
  path: readonly string[],
  inOr: boolean,
): ObjectMatcher {
  const keys = Object.keys(pattern);
  if (keys.length === 0) throw new EventPatternError('Empty objects are not allowed', dotted(path));
  const constraints: ObjectMatcher[] = [];
  for (const key of keys) {
    const value = pattern[key];
    if (key === OR) {
      constraints.push(compileOr(value, path));
      continue;
    }
    const at = [...path, key];
    if (inOr && OPERATORS.has(key)) {
      throw new EventPatternError(
        `${key} is a reserved field name and cannot be used inside ${OR}`,
        dotted(at),
      );
    }
    if (Array.isArray(value)) {
      constraints.push(compileField(key, value, at));
    } else if (isPlainObject(value)) {
      const sub = compileObject(value, at, inOr);
      constraints.push((node, root) => candidatesOf(childOf(node, key)).some((c) => sub(c, root)));
    } else {
      throw new EventPatternError(`"${key}" must be an object or an array`, dotted(at));
    }
  }
  return (node, root) => constraints.every((c) => c(node, root));
}

function compileOr(value: unknown, path: readonly string[]): ObjectMatcher {
  const at = dotted([...path, OR]);
  if (!Array.isArray(value)) throw new EventPatternError(`It must be an Array followed with ${OR}.`, at);
  const branches = value.map((branch) => {
    if (!isPlainObject(branch)) {
      throw new EventPatternError(`Only JSON object is allowed in array of ${OR} relationship.`, at);
    }
    return compileObject(branch, path, true);
  });
  if (branches.length < 2) {
    throw new EventPatternError(`There must have at least 2 Objects in ${OR} relationship.`, at);
  }
  return (node, root) => branches.some((b) => b(node, root));
}

function compileField(key: string, values: readonly unknown[], path: readonly string[]): ObjectMatcher {
  const at = dotted(path);
  if (values.length === 0) throw new EventPatternError('Empty arrays are not allowed', at);
  const matchers = values.map((v) => compileValue(v, at));
  return (node, root) => {
    const here = leavesOf(childOf(node, key));
    return matchers.some((m) => {
      switch (m.kind) {
        case 'exists':
          return here.length > 0;
        // event-ruler checks absence against the whole event, not only the array element being matched.
        case 'absent':
          return leavesAtPath(root, path).length === 0;
        default:
          return here.some(m.test);
      }
    });
  };
}

function compileValue(value: unknown, at: string): ValueMatcher {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') {
    return { kind: 'test', test: (v) => v === value };
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new EventPatternError('Match value must be a finite number', at);
    return { kind: 'test', test: (v) => typeof v === 'number' && v === value };
  }
  if (!isPlainObject(value)) {
    throw new EventPatternError('Match value must be String, number, true, false, or null', at);
  }
  const [op, ...more] = Object.keys(value);
  if (op === undefined) throw new EventPatternError('Match expression name not found', at);
  if (more.length > 0) throw new EventPatternError('Only one key allowed in match expression', at);
  const arg = value[op];
  switch (op) {
    case 'exists':
      if (typeof arg !== 'boolean') {
        throw new EventPatternError('exists match pattern must be either true or false.', at);
      }
      return arg ? { kind: 'exists' } : { kind: 'absent' };
    case 'prefix':
      return { kind: 'test', test: affixTest('prefix', arg, at) };
    case 'suffix':
      return { kind: 'test', test: affixTest('suffix', arg, at) };
    case 'equals-ignore-case': {
      const want = fold(stringArg(op, arg, at));
      return { kind: 'test', test: (v) => typeof v === 'string' && fold(v) === want };
    }
    case 'wildcard': {
      const re = wildcardRegExp(stringArg(op, arg, at), at);
      return { kind: 'test', test: (v) => typeof v === 'string' && re.test(v) };
    }
    case 'numeric':
      return { kind: 'test', test: numericTest(arg, at) };
    case 'cidr':
      return { kind: 'test', test: cidrTest(arg, at) };
    case 'anything-but': {
      const excluded = anythingButTest(arg, at);
      return { kind: 'test', test: (v) => !excluded(v) };
    }
    default:
      throw new EventPatternError(`Unrecognized match type ${op}`, at);
  }
}

function stringArg(op: string, arg: unknown, at: string): string {
  if (typeof arg !== 'string') throw new EventPatternError(`${op} match pattern must be a string`, at);
  return arg;
}

/** `prefix` / `suffix` with a string, or with `{"equals-ignore-case": string}`. */
function affixTest(op: 'prefix' | 'suffix', arg: unknown, at: string): ValueTest {
  const has = (v: string, affix: string) => (op === 'prefix' ? v.startsWith(affix) : v.endsWith(affix));
  if (typeof arg === 'string') return (v) => typeof v === 'string' && has(v, arg);
  if (isPlainObject(arg) && Object.keys(arg).length === 1 && 'equals-ignore-case' in arg) {
    const affix = fold(stringArg(`${op}/equals-ignore-case`, arg['equals-ignore-case'], at));
    return (v) => typeof v === 'string' && has(fold(v), affix);
  }
  throw new EventPatternError(`${op} match pattern must be a string or {"equals-ignore-case": string}`, at);
}

/** The values an `anything-but` excludes, as a test (the matcher negates it). */
function anythingButTest(arg: unknown, at: string): ValueTest {
  if (typeof arg === 'string') return (v) => v === arg;
  if (typeof arg === 'number' && Number.isFinite(arg)) return (v) => typeof v === 'number' && v === arg;
  if (Array.isArray(arg)) {
    const strings = arg.every((x) => typeof x === 'string');
    const numbers = arg.every((x) => typeof x === 'number' && Number.isFinite(x));
    if (arg.length === 0 || !(strings || numbers)) {
      throw new EventPatternError(
        'Inside anything but list, either all values are number or string, mixed type is not supported',
        at,
      );
    }
    const set = new Set<unknown>(arg);
    return (v) => set.has(v);
  }
  if (isPlainObject(arg)) {
    const [op, ...more] = Object.keys(arg);
    if (op === undefined || more.length > 0) {
      throw new EventPatternError('Only one key allowed in anything-but expression', at);
    }
    const inner = arg[op];
    switch (op) {
      case 'prefix':
      case 'suffix': {
        const affix = stringArg(`anything-but/${op}`, inner, at);
        if (affix === '') throw new EventPatternError('Null prefix/suffix not allowed', at);
        return affixTest(op, affix, at);
      }
      case 'equals-ignore-case': {
        const folded = new Set(stringList(`anything-but/${op}`, inner, at).map(fold));
        return (v) => typeof v === 'string' && folded.has(fold(v));
      }
      case 'wildcard': {
        const res = stringList(`anything-but/${op}`, inner, at).map((w) => wildcardRegExp(w, at));
        return (v) => typeof v === 'string' && res.some((re) => re.test(v));
      }
      default:
        throw new EventPatternError(`Unsupported anything-but pattern: ${op}`, at);
    }
  }
  throw new EventPatternError('Value of anything-but must be an array or single string/number value.', at);
}

function stringList(op: string, arg: unknown, at: string): string[] {
  if (typeof arg === 'string') return [arg];
  if (Array.isArray(arg) && arg.length > 0 && arg.every((x) => typeof x === 'string')) return arg;
  throw new EventPatternError(`${op} must be a string or a non-empty list of strings`, at);
}

/** `["=", x]`, `[">" | ">=", x]`, `["<" | "<=", x]` or a lower bound followed by an upper bound. */
function numericTest(arg: unknown, at: string): ValueTest {
  if (!Array.isArray(arg)) throw new EventPatternError('Value of numeric must be an array.', at);
  const terms: { op: string; value: number }[] = [];
  for (let i = 0; i < arg.length; i += 2) {
    const op: unknown = arg[i];
    const value: unknown = arg[i + 1];
    if (typeof op !== 'string' || !['=', '<', '<=', '>', '>='].includes(op)) {
      throw new EventPatternError(`Unrecognized numeric range operator: ${String(op)}`, at);
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new EventPatternError(`Value of ${op} must be numeric`, at);
    }
    terms.push({ op, value });
  }
  const [first, second, ...rest] = terms;
  if (first === undefined) throw new EventPatternError('Value of numeric must not be empty', at);
  if (rest.length > 0) throw new EventPatternError('Too many terms in numeric range expression', at);
  if (second === undefined) return (v) => typeof v === 'number' && compare(first.op, v, first.value);
  if (!(first.op === '>' || first.op === '>=') || !(second.op === '<' || second.op === '<=')) {
    throw new EventPatternError(
      'A numeric range is a lower bound (> or >=) then an upper bound (< or <=)',
      at,
    );
  }
  if (first.value >= second.value) throw new EventPatternError('Bottom must be less than top', at);
  return (v) =>
    typeof v === 'number' && compare(first.op, v, first.value) && compare(second.op, v, second.value);
}

function compare(op: string, v: number, bound: number): boolean {
  switch (op) {
    case '=':
      return v === bound;
    case '<':
      return v < bound;
    case '<=':
      return v <= bound;
    case '>':
      return v > bound;
    default:
      return v >= bound;
  }
}

/**
 * `*` matches any run of characters (none included); `\*` is a literal asterisk and `\\` a backslash; any
 * other escape and two consecutive wildcards are refused, as event-ruler does.
 */
function wildcardRegExp(wildcard: string, at: string): RegExp {
  let source = '';
  let previousWasWildcard = false;
  for (let i = 0; i < wildcard.length; i++) {
    const ch = wildcard[i]!;
    if (ch === '*') {
      if (previousWasWildcard)
        throw new EventPatternError('Consecutive wildcard characters are not allowed', at);
      source += '[\\s\\S]*';
      previousWasWildcard = true;
      continue;
    }
    previousWasWildcard = false;
    let literal = ch;
    if (ch === '\\') {
      const next = wildcard[i + 1];
      if (next !== '*' && next !== '\\') {
        throw new EventPatternError('A backslash may only escape an asterisk or a backslash', at);
      }
      literal = next;
      i++;
    }
    source += literal.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

function cidrTest(arg: unknown, at: string): ValueTest {
  const text = stringArg('cidr', arg, at);
  const slash = text.indexOf('/');
  const network = parseIp(slash < 0 ? text : text.slice(0, slash));
  const bitsText = slash < 0 ? '' : text.slice(slash + 1);
  const width = network?.family === 4 ? 32 : 128;
  const bits = /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : Number.NaN;
  if (!network || !(bits >= 0 && bits <= width)) {
    throw new EventPatternError(`Malformed CIDR, one '/' required: ${text}`, at);
  }
  const shift = BigInt(width - bits);
  const prefix = network.value >> shift;
  return (v) => {
    if (typeof v !== 'string') return false;
    const ip = parseIp(v);
    return ip !== undefined && ip.family === network.family && ip.value >> shift === prefix;
  };
}

function parseIp(text: string): { family: 4 | 6; value: bigint } | undefined {
  if (isIPv4(text)) return { family: 4, value: ipv4Value(text) };
  if (!isIPv6(text)) return undefined;
  let groups = text.split('%')[0]!;
  let tail: bigint[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(groups);
  if (v4) {
    const n = ipv4Value(v4[1]!);
    tail = [n >> 16n, n & 0xffffn];
    groups = groups.slice(0, -v4[1]!.length);
    if (!groups.endsWith('::')) groups = groups.slice(0, -1);
  }
  const [head = '', rest] = groups.split('::');
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => BigInt(`0x${g}`)));
  const left = parse(head);
  const right = [...(rest === undefined ? [] : parse(rest)), ...tail];
  const fill = rest === undefined ? [] : Array<bigint>(8 - left.length - right.length).fill(0n);
  return { family: 6, value: [...left, ...fill, ...right].reduce((acc, g) => (acc << 16n) | g, 0n) };
}

function ipv4Value(text: string): bigint {
  return text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function fold(s: string): string {
  return s.toLowerCase();
}

// -------------------------------------------------------------------------------------- event access

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function childOf(node: unknown, key: string): unknown {
  return isPlainObject(node) && Object.hasOwn(node, key) ? node[key] : undefined;
}

/** Arrays are transparent, at any depth: `[[1], [2, [3]]]` holds 1, 2 and 3. */
function flatten(value: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(value)) for (const v of value) flatten(v, out);
  else out.push(value);
  return out;
}

/** The leaf values at a field: scalars and nulls, through arrays; objects are not leaves. */
function leavesOf(value: unknown): unknown[] {
  if (value === undefined) return [];
  return flatten(value).filter((v) => v !== undefined && !isPlainObject(v));
}

/** The objects a nested pattern is matched against; `[undefined]` when there are none (all absent). */
function candidatesOf(value: unknown): unknown[] {
  const objects = flatten(value).filter(isPlainObject);
  return objects.length > 0 ? objects : [undefined];
}

function leavesAtPath(root: unknown, path: readonly string[]): unknown[] {
  let nodes: unknown[] = [root];
  for (const key of path) nodes = nodes.flatMap((n) => flatten(childOf(n, key)));
  return nodes.flatMap(leavesOf);
}

function dotted(path: readonly string[]): string {
  return path.join('.');
}

// ------------------------------------------------------------------------------------------ template

/** A target kind the local cloud knows how to deliver to. */
export type TargetKind = 'lambda' | 'sqs' | 'sns' | 'other';

/** One `AWS::Events::Rule` of the template that has an event pattern. */
export interface TemplateRule {
  /** The rule's logical id in the template. */
  logicalId: string;
  /** `Name`, when the template sets one. */
  name?: string;
  /** `State`: ENABLED (the default) or ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS. */
  state: string;
  /** `EventPattern`, parsed when the template gives it as a JSON string. */
  pattern: unknown;
  /** `Targets`, in template order. */
  targets: {
    /** The target's `Id` within the rule. */
    id: string;
    /** `Arn` as written in the template (usually `Fn::GetAtt`). */
    arn: unknown;
    /** The logical id of the target resource, when `Arn` is a `Fn::GetAtt [id, Arn]` or a `Ref`. */
    resolvedLogicalId?: string;
    /** From the target resource's type (or the service of a literal ARN). */
    kind: TargetKind;
    /** `DeadLetterConfig.Arn`. */
    deadLetterArn?: unknown;
    /** `RetryPolicy` (`MaximumRetryAttempts`, `MaximumEventAgeInSeconds`). */
    retryPolicy?: unknown;
    /** `Input`: a constant JSON text delivered instead of the event. */
    input?: unknown;
    /** `SqsParameters.MessageGroupId`, for FIFO queue targets. */
    sqsMessageGroupId?: string;
  }[];
}

/** One target of a {@link TemplateRule}. */
export type RuleTarget = TemplateRule['targets'][number];

/** One `AWS::Scheduler::Schedule` of the template. */
export interface TemplateSchedule {
  logicalId: string;
  /** `Name`, when the template sets one. */
  name?: string;
  /** `State`: ENABLED (the default) or DISABLED. */
  state: string;
  /** `ScheduleExpression`: `cron(...)`, `rate(...)` or `at(...)`. */
  expression: string;
  /** `ScheduleExpressionTimezone`; UTC when the template leaves it out. */
  timezone: string;
  /** `Target.Arn` as written in the template. */
  targetArn: unknown;
  /** The logical id of the target resource, when `Target.Arn` is a `Fn::GetAtt [id, Arn]` or a `Ref`. */
  targetLogicalId?: string;
  targetKind: TargetKind;
  /** `Target.Input`: the payload the scheduler delivers (a JSON text for a Lambda target). */
  input?: unknown;
  /** `Target.DeadLetterConfig.Arn`. */
  deadLetterArn?: unknown;
  /** `Target.RetryPolicy`. */
  retryPolicy?: unknown;
}

const ENABLED_STATES = new Set(['ENABLED', 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS']);
const KIND_BY_TYPE: Readonly<Record<string, TargetKind>> = {
  'AWS::Lambda::Function': 'lambda',
  'AWS::SQS::Queue': 'sqs',
  'AWS::SNS::Topic': 'sns',
};
const KIND_BY_SERVICE: Readonly<Record<string, TargetKind>> = { lambda: 'lambda', sqs: 'sqs', sns: 'sns' };

/**
 * The enabled event-pattern rules of a CloudFormation template (`Template.toJSON()` or a `cdk.out` file):
 * every `AWS::Events::Rule` with an `EventPattern` whose `State` is ENABLED (or absent, CloudFormation's
 * default) or ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS, on the bus `busName` (the default bus unless
 * told: it is the one that sees AWS service events; a custom bus only sees what PutEvents puts on it).
 * Schedule-only rules, DISABLED rules and rules on another bus are left out. Target ARNs are resolved to the
 * target's logical id and kind; patterns are not validated here ({@link EventRouter} does).
 */
// biome-ignore lint/suspicious/noExplicitAny: a CloudFormation template is untyped JSON.
export function rulesFromTemplate(template: any, busName = 'default'): TemplateRule[] {
  const resources = resourcesOf(template);
  const rules: TemplateRule[] = [];
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (!isPlainObject(resource) || resource.Type !== 'AWS::Events::Rule') continue;
    const props = isPlainObject(resource.Properties) ? resource.Properties : {};
    if (props.EventPattern === undefined) continue;
    const state = typeof props.State === 'string' ? props.State : 'ENABLED';
    if (!ENABLED_STATES.has(state)) continue;
    if (ruleBusName(props.EventBusName, resources) !== busName) continue;
    const targets = Array.isArray(props.Targets) ? props.Targets.filter(isPlainObject) : [];
    rules.push({
      logicalId,
      ...(typeof props.Name === 'string' ? { name: props.Name } : {}),
      state,
      pattern: typeof props.EventPattern === 'string' ? JSON.parse(props.EventPattern) : props.EventPattern,
      targets: targets.map((t) => {
        const { resolvedLogicalId, kind } = resolveTarget(t.Arn, resources);
        const dlq = isPlainObject(t.DeadLetterConfig) ? t.DeadLetterConfig.Arn : undefined;
        const groupId = isPlainObject(t.SqsParameters) ? t.SqsParameters.MessageGroupId : undefined;
        return {
          id: String(t.Id),
          arn: t.Arn,
          ...(resolvedLogicalId ? { resolvedLogicalId } : {}),
          kind,
          ...(dlq !== undefined ? { deadLetterArn: dlq } : {}),
          ...(t.RetryPolicy !== undefined ? { retryPolicy: t.RetryPolicy } : {}),
          ...(t.Input !== undefined ? { input: t.Input } : {}),
          ...(typeof groupId === 'string' ? { sqsMessageGroupId: groupId } : {}),
        };
      }),
    });
  }
  return rules;
}

/**
 * Every `AWS::Scheduler::Schedule` of a CloudFormation template, DISABLED ones included (with their state),
 * so the local cloud can fire a schedule's target with its input on demand.
 */
// biome-ignore lint/suspicious/noExplicitAny: a CloudFormation template is untyped JSON.
export function schedulesFromTemplate(template: any): TemplateSchedule[] {
  const resources = resourcesOf(template);
  const schedules: TemplateSchedule[] = [];
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (!isPlainObject(resource) || resource.Type !== 'AWS::Scheduler::Schedule') continue;
    const props = isPlainObject(resource.Properties) ? resource.Properties : {};
    const target = isPlainObject(props.Target) ? props.Target : {};
    const { resolvedLogicalId, kind } = resolveTarget(target.Arn, resources);
    const dlq = isPlainObject(target.DeadLetterConfig) ? target.DeadLetterConfig.Arn : undefined;
    schedules.push({
      logicalId,
      ...(typeof props.Name === 'string' ? { name: props.Name } : {}),
      state: typeof props.State === 'string' ? props.State : 'ENABLED',
      expression: String(props.ScheduleExpression),
      timezone:
        typeof props.ScheduleExpressionTimezone === 'string' ? props.ScheduleExpressionTimezone : 'UTC',
      targetArn: target.Arn,
      ...(resolvedLogicalId ? { targetLogicalId: resolvedLogicalId } : {}),
      targetKind: kind,
      ...(target.Input !== undefined ? { input: target.Input } : {}),
      ...(dlq !== undefined ? { deadLetterArn: dlq } : {}),
      ...(target.RetryPolicy !== undefined ? { retryPolicy: target.RetryPolicy } : {}),
    });
  }
  return schedules;
}

/**
 * The name of the bus a rule's `EventBusName` names: absent is `default`; a literal is a name or a bus ARN
 * (`…:event-bus/<name>`); `Ref` / `Fn::GetAtt [id, Name|Arn]` of an `AWS::Events::EventBus` is its `Name`.
 */
export function ruleBusName(value: unknown, resources: Record<string, unknown>): string | undefined {
  if (value === undefined) return 'default';
  if (typeof value === 'string') return value.includes(':event-bus/') ? value.split(':event-bus/')[1] : value;
  if (!isPlainObject(value)) return undefined;
  const getAtt = value['Fn::GetAtt'];
  const id =
    typeof value.Ref === 'string'
      ? value.Ref
      : Array.isArray(getAtt)
        ? getAtt[0]
        : typeof getAtt === 'string'
          ? getAtt.split('.')[0]
          : undefined;
  const bus = typeof id === 'string' ? resources[id] : undefined;
  if (!isPlainObject(bus) || bus.Type !== 'AWS::Events::EventBus') return undefined;
  const name = isPlainObject(bus.Properties) ? bus.Properties.Name : undefined;
  return typeof name === 'string' ? name : id;
}

function resourcesOf(template: unknown): Record<string, unknown> {
  const resources = isPlainObject(template) ? template.Resources : undefined;
  return isPlainObject(resources) ? resources : {};
}

/** `Fn::GetAtt [id, Arn]`, `Fn::GetAtt "id.Arn"` and `Ref id` name a resource; a literal ARN names a service. */
function resolveTarget(
  arn: unknown,
  resources: Record<string, unknown>,
): { resolvedLogicalId?: string; kind: TargetKind } {
  let id: string | undefined;
  if (isPlainObject(arn)) {
    const getAtt = arn['Fn::GetAtt'];
    const [resource, attribute] = Array.isArray(getAtt)
      ? getAtt
      : typeof getAtt === 'string'
        ? getAtt.split('.')
        : [];
    if (typeof resource === 'string' && attribute === 'Arn') id = resource;
    else if (typeof arn.Ref === 'string') id = arn.Ref;
  }
  if (id !== undefined) {
    const resource = resources[id];
    if (!isPlainObject(resource)) return { kind: 'other' };
    const type = typeof resource.Type === 'string' ? resource.Type : '';
    return { resolvedLogicalId: id, kind: KIND_BY_TYPE[type] ?? 'other' };
  }
  const service = typeof arn === 'string' ? /^arn:[^:]+:([^:]+):/.exec(arn)?.[1] : undefined;
  return { kind: (service && KIND_BY_SERVICE[service]) || 'other' };
}

// -------------------------------------------------------------------------------------------- router

/** One delivery: a matching rule and one of its targets. */
export interface RouteMatch {
  rule: TemplateRule;
  target: RuleTarget;
}

/** What a router has seen since it was built. */
export interface RouterStats {
  /** Events routed. */
  events: number;
  /** Events no rule matched. */
  unmatched: number;
  /** Events matched, by rule logical id (every rule listed, zeros included). */
  matches: Record<string, number>;
}

const CLOUDTRAIL_DETAIL_TYPES = new Set(['AWS API Call via CloudTrail', 'AWS Service Event via CloudTrail']);

/**
 * The default event bus of the local cloud: routes an event to the targets of every enabled rule whose
 * pattern matches it, in rule order then target order.
 *
 * Rule states follow EventBridge: DISABLED rules never match, and a CloudTrail event with
 * `detail.readOnly: true` (a read-only management event, such as ECR's lifecycle `PolicyExecutionEvent`)
 * only reaches rules in state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS.
 */
export class EventRouter {
  readonly rules: readonly TemplateRule[];
  private readonly compiled: readonly { rule: TemplateRule; match: EventMatcher }[];
  private readonly counts = new Map<string, number>();
  private events = 0;
  private unmatched = 0;

  /**
   * Compiles every rule's pattern up front.
   * @throws EventPatternError naming the rule's logical id when a pattern is not valid
   */
  constructor(rules: readonly TemplateRule[]) {
    this.rules = rules;
    this.compiled = rules.map((rule) => {
      try {
        return { rule, match: compilePattern(rule.pattern) };
      } catch (err) {
        if (err instanceof EventPatternError) {
          throw new EventPatternError(`${err.reason} (rule ${rule.logicalId})`, err.path);
        }
        throw err;
      }
    });
    for (const rule of rules) this.counts.set(rule.logicalId, 0);
  }

  /** Every (rule, target) the event is delivered to; empty when no enabled rule matches. */
  route(event: unknown): RouteMatch[] {
    this.events++;
    const readOnlyManagement = isReadOnlyManagementEvent(event);
    const out: RouteMatch[] = [];
    let matched = false;
    for (const { rule, match } of this.compiled) {
      if (!ENABLED_STATES.has(rule.state)) continue;
      if (readOnlyManagement && rule.state !== 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS') continue;
      if (!match(event)) continue;
      matched = true;
      this.counts.set(rule.logicalId, (this.counts.get(rule.logicalId) ?? 0) + 1);
      for (const target of rule.targets) out.push({ rule, target });
    }
    if (!matched) this.unmatched++;
    return out;
  }

  /** Counts since the router was built. */
  stats(): RouterStats {
    return { events: this.events, unmatched: this.unmatched, matches: Object.fromEntries(this.counts) };
  }
}

function isReadOnlyManagementEvent(event: unknown): boolean {
  const detailType = childOf(event, 'detail-type');
  return (
    typeof detailType === 'string' &&
    CLOUDTRAIL_DETAIL_TYPES.has(detailType) &&
    childOf(childOf(event, 'detail'), 'readOnly') === true
  );
}
