/**
 * Registry operations: from a CloudTrail management event of ECR (or an `ECR Image Action` PUSH) to an
 * `Operation` (functions/shared/audit/operations.ts), and the security findings it raises. Pure: no AWS calls,
 * no environment; the handler gives it the config's view of who belongs (`Trust`).
 */

import {
  CLOUDTRAIL_OPERATIONS,
  type Operation,
  type OperationName,
  type OperationParameters,
} from '../shared/audit/operations.js';
import { selectionFor } from '../shared/config/load.js';
import { spokeEnvironments } from '../shared/config/organization.js';
import type { StewardConfig } from '../shared/config/schema.js';
import { EVENTS } from '../shared/runtime/constants.js';
import type { AuditEvent } from './schema.js';
import { principalOf } from './signals.js';

type ImageActionEvent = Extract<AuditEvent, { 'detail-type': 'ECR Image Action' }>;
type CloudTrailEvent = Exclude<AuditEvent, { 'detail-type': 'ECR Image Action' }>;

/** Whether a CloudTrail event name is one of the recorded operations. */
export const isRecordedOperation = (name: string): name is (typeof CLOUDTRAIL_OPERATIONS)[number] =>
  (CLOUDTRAIL_OPERATIONS as readonly string[]).includes(name);

/** The operation an event records, or undefined when it records none (a delete signal, a failed push). */
export function operationOf(event: AuditEvent): Operation | undefined {
  if (event['detail-type'] === EVENTS.imageAction) return pushOf(event as ImageActionEvent);
  const ct = event as CloudTrailEvent;
  if (ct['detail-type'] !== EVENTS.cloudTrailApiCall || !isRecordedOperation(ct.detail.eventName))
    return undefined;
  const d = ct.detail;
  const request = record(d.requestParameters);
  const repository =
    str(request.repositoryName) ?? repositoryOfArn(str(request.resourceArn)) ?? repositoryFromResources(d);
  return {
    eventId: d.eventID ?? ct.id,
    operation: d.eventName as OperationName,
    registryId: str(request.registryId) ?? d.recipientAccountId ?? ct.account,
    region: d.awsRegion ?? ct.region,
    repository: registryWide(d.eventName) ? undefined : repository,
    principal: principalOf(d.userIdentity),
    callerArn: d.userIdentity?.arn,
    sourceIPAddress: d.sourceIPAddress,
    userAgent: d.userAgent,
    errorCode: d.errorCode,
    parameters: parametersOf(d.eventName as OperationName, request),
    at: iso(d.eventTime ?? ct.time),
  };
}

function pushOf(event: ImageActionEvent): Operation | undefined {
  const d = event.detail;
  if (d['action-type'] !== 'PUSH' || (d.result !== undefined && d.result !== 'SUCCESS')) return undefined;
  return {
    eventId: event.id,
    operation: 'PutImage',
    registryId: event.account,
    region: event.region,
    repository: d['repository-name'],
    parameters: { digest: d['image-digest'], tag: d['image-tag'] },
    at: iso(event.time),
  };
}

const registryWide = (name: string) => name === 'PutRegistryPolicy' || name === 'PutReplicationConfiguration';

/** The summary of the request parameters that matter, per operation. */
export function parametersOf(
  operation: OperationName,
  request: Record<string, unknown>,
): OperationParameters {
  switch (operation) {
    case 'SetRepositoryPolicy':
    case 'PutRegistryPolicy':
      return policySummary(request.policyText);
    case 'PutImageTagMutability':
      return { imageTagMutability: str(request.imageTagMutability) };
    case 'PutImageScanningConfiguration':
      return { scanOnPush: bool(record(request.imageScanningConfiguration).scanOnPush) };
    case 'PutLifecyclePolicy':
      return lifecycleSummary(request.lifecyclePolicyText);
    case 'CreateRepository':
      return {
        imageTagMutability: str(request.imageTagMutability),
        scanOnPush: bool(record(request.imageScanningConfiguration).scanOnPush),
        tags: tagsOf(request.tags),
      };
    case 'DeleteRepository':
      return { force: bool(request.force) };
    case 'TagResource':
      return { tags: tagsOf(request.tags) };
    case 'UntagResource':
      return {
        tagKeys: Array.isArray(request.tagKeys)
          ? request.tagKeys.filter((k): k is string => typeof k === 'string')
          : undefined,
      };
    case 'PutReplicationConfiguration': {
      const rules = record(request.replicationConfiguration).rules;
      const destinations = new Set<string>();
      for (const rule of Array.isArray(rules) ? rules : [])
        for (const dest of arrayOf(record(rule).destinations))
          destinations.add(`${str(record(dest).registryId) ?? '?'}/${str(record(dest).region) ?? '?'}`);
      return { destinations: [...destinations].sort() };
    }
    default:
      return {};
  }
}

/**
 * Whom a policy grants what: the principals of its Allow statements (`*` for everyone, account ids and ARNs as
 * written, services as `service:<name>`), their actions, and which `*` grants a condition narrows. A policy that
 * is not JSON is `unreadable` (CloudTrail carries the text as the caller sent it).
 */
export function policySummary(text: unknown): OperationParameters {
  if (typeof text !== 'string') return { grantees: [], actions: [] };
  let policy: unknown;
  try {
    policy = JSON.parse(text);
  } catch (e) {
    return { unreadable: (e as Error).message.slice(0, 200) };
  }
  const grantees = new Set<string>();
  const actions = new Set<string>();
  const conditioned = new Set<string>();
  const statements = record(policy).Statement;
  for (const raw of Array.isArray(statements) ? statements : [statements]) {
    const s = record(raw);
    if (s.Effect !== 'Allow') continue;
    for (const a of [s.Action].flat()) if (typeof a === 'string') actions.add(a);
    const narrowed = narrowingCondition(s.Condition);
    for (const p of principalsOf(s.Principal)) {
      if (p === '*' && narrowed) conditioned.add(`* when ${narrowed}`);
      else grantees.add(p);
    }
  }
  return {
    grantees: [...grantees].sort(),
    actions: [...actions].sort(),
    ...(conditioned.size > 0 ? { conditioned: [...conditioned].sort() } : {}),
  };
}

/** The principals a statement's `Principal` names. */
function principalsOf(principal: unknown): string[] {
  if (principal === '*') return ['*'];
  const p = record(principal);
  const out: string[] = [];
  for (const v of [p.AWS].flat()) if (typeof v === 'string') out.push(v);
  for (const v of [p.Service].flat()) if (typeof v === 'string') out.push(`service:${v}`);
  for (const v of [p.Federated].flat()) if (typeof v === 'string') out.push(`federated:${v}`);
  return out;
}

/** The condition keys that narrow a `*` principal to known callers; the first found, as `key=value`. */
const NARROWING_KEYS = [
  'aws:principalorgid',
  'aws:principalaccount',
  'aws:principalarn',
  'aws:sourceaccount',
  'aws:sourcearn',
];
function narrowingCondition(condition: unknown): string | undefined {
  for (const operator of Object.values(record(condition)))
    for (const [key, value] of Object.entries(record(operator)))
      if (NARROWING_KEYS.includes(key.toLowerCase())) return `${key}=${[value].flat().join(',')}`;
  return undefined;
}

function lifecycleSummary(text: unknown): OperationParameters {
  if (typeof text !== 'string') return {};
  try {
    const rules = record(JSON.parse(text)).rules;
    return {
      lifecycleRules: arrayOf(rules).map(
        (r) => `${String(record(r).rulePriority ?? '?')}:${str(record(record(r).action).type) ?? '?'}`,
      ),
    };
  } catch (e) {
    return { unreadable: (e as Error).message.slice(0, 200) };
  }
}

function tagsOf(tags: unknown): Record<string, string> | undefined {
  if (!Array.isArray(tags)) return undefined;
  const out: Record<string, string> = {};
  for (const t of tags) {
    const key = str(record(t).Key) ?? str(record(t).key);
    if (key !== undefined) out[key] = str(record(t).Value) ?? str(record(t).value) ?? '';
  }
  return out;
}

/** Who belongs: the accounts a policy may grant, and the stack's own principals. */
export interface Trust {
  /** This account, the hub and the spoke accounts of the organization, and the backup destinations. */
  readonly accounts: ReadonlySet<string>;
  readonly organizationId?: string | undefined;
  /** IAM role ARNs of the stack's functions. */
  readonly ownRoleArns: ReadonlySet<string>;
  /** The name prefix of the stack's roles (CloudFormation names them `<stack name>-<logical id>-<suffix>`). */
  readonly ownRolePrefix?: string | undefined;
}

/** The trust of a function running in `registryId`: the config's accounts and the stack's roles. */
export function trustOf(
  config: StewardConfig,
  registryId: string,
  own: { roleArns?: readonly string[] | undefined; rolePrefix?: string | undefined } = {},
): Trust {
  const accounts = new Set([registryId]);
  const org = config.organization;
  if (org) {
    accounts.add(org.hub.account);
    for (const env of spokeEnvironments(config)) accounts.add(env.account);
  }
  for (const a of config.backup?.accounts ?? []) accounts.add(a);
  return {
    accounts,
    organizationId: org?.organizationId,
    ownRoleArns: new Set(own.roleArns ?? []),
    ownRolePrefix: own.rolePrefix || undefined,
  };
}

/** Whether a principal ARN is one of the stack's own roles. */
export function isOwnPrincipal(principal: string | undefined, trust: Trust): boolean {
  if (!principal) return false;
  if (trust.ownRoleArns.has(principal)) return true;
  const role = /^arn:aws[a-z-]*:iam::\d{12}:role\/(?:.*\/)?([^/]+)$/.exec(principal)?.[1];
  return role !== undefined && trust.ownRolePrefix !== undefined && role.startsWith(trust.ownRolePrefix);
}

/** The account a policy principal names: a 12-digit id, or the account of an ARN. */
export function accountOfGrantee(grantee: string): string | undefined {
  if (/^\d{12}$/.test(grantee)) return grantee;
  return /^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):/.exec(grantee)?.[1];
}

/** A security finding: the alert's subject line and what changed. */
export interface Finding {
  readonly title: string;
  readonly detail: string;
}

/**
 * The security findings of an operation (none for most): a policy granting everyone or an outside account, tag
 * immutability turned off on a managed repository, a managed repository deleted, a managed repository's
 * lifecycle policy changed or deleted by someone other than the stack. A failed call changed nothing: none.
 * `tags` are the repository's tags when known (selections by tag); without them a tag selection cannot match.
 */
export function findingsOf(
  op: Operation,
  config: StewardConfig,
  trust: Trust,
  tags?: Readonly<Record<string, string>>,
): Finding[] {
  if (op.errorCode) return [];
  const managed = op.repository !== undefined && selectionFor(config, op.repository, tags) !== undefined;
  const where = op.repository ? `repository ${op.repository}` : 'the registry';
  const findings: Finding[] = [];
  if (op.operation === 'SetRepositoryPolicy' || op.operation === 'PutRegistryPolicy') {
    const p = op.parameters;
    const everyone = (p.grantees ?? []).filter((g) => g === '*');
    const outside = (p.grantees ?? []).filter((g) => {
      const account = accountOfGrantee(g);
      // The registry's own account always belongs, whether or not the stack named it.
      return account !== undefined && account !== op.registryId && !trust.accounts.has(account);
    });
    if (everyone.length > 0)
      findings.push({
        title: `${where} policy grants access to everyone (*)`,
        detail: `The ${op.operation === 'PutRegistryPolicy' ? 'registry' : 'repository'} policy allows ${listed(p.actions)} to any principal (*).`,
      });
    if (outside.length > 0)
      findings.push({
        title: `${where} policy grants access to an account outside the organization`,
        detail: `The policy allows ${listed(p.actions)} to ${outside.join(', ')}, outside ${trust.organizationId ? `organization ${trust.organizationId} and ` : ''}the accounts ECR Steward knows (${[...new Set([op.registryId, ...trust.accounts])].filter(Boolean).sort().join(', ')}).`,
      });
    if (p.unreadable)
      findings.push({
        title: `${where} policy set, but its text could not be read`,
        detail: `The policy text is not JSON (${p.unreadable}); check who it grants by hand.`,
      });
  }
  if (
    op.operation === 'PutImageTagMutability' &&
    managed &&
    op.parameters.imageTagMutability?.startsWith('MUTABLE')
  )
    findings.push({
      title: `tag immutability turned off on ${where}`,
      detail: `Image tag mutability is now ${op.parameters.imageTagMutability}: tags of this managed repository can be moved to other images.`,
    });
  if (op.operation === 'DeleteRepository' && managed)
    findings.push({
      title: `managed ${where} deleted`,
      detail: `The repository was deleted${op.parameters.force ? ' with force: every image in it is gone' : ''}.`,
    });
  if (
    (op.operation === 'PutLifecyclePolicy' || op.operation === 'DeleteLifecyclePolicy') &&
    managed &&
    !isOwnPrincipal(op.principal, trust)
  )
    findings.push({
      title: `lifecycle policy ${op.operation === 'PutLifecyclePolicy' ? 'changed' : 'deleted'} on managed ${where}`,
      detail:
        op.operation === 'PutLifecyclePolicy'
          ? `The ECR lifecycle policy was replaced${op.parameters.lifecycleRules ? ` (rules ${op.parameters.lifecycleRules.join(', ') || 'none'})` : ''} by someone other than ECR Steward.`
          : 'The ECR lifecycle policy was deleted by someone other than ECR Steward.',
    });
  return findings;
}

/** The security alert of one operation's findings: who, from where, with what, on what, what changed. */
export function describeFindings(op: Operation, findings: readonly Finding[]): [string, string] {
  const first = findings[0]!;
  const subject = `ECR Steward security: ${first.title}`.slice(0, 100);
  const lines = [
    ...findings.map((f) => `${f.title}: ${f.detail}`),
    '',
    `Operation:  ${op.operation}`,
    `Repository: ${op.repository ?? '(registry-wide)'}`,
    `Registry:   ${op.registryId} ${op.region}`,
    `Principal:  ${op.principal ?? 'unknown'}${op.callerArn && op.callerArn !== op.principal ? ` (session ${op.callerArn})` : ''}`,
    `Source IP:  ${op.sourceIPAddress ?? 'unknown'}`,
    `User agent: ${op.userAgent ?? 'unknown'}`,
    `When:       ${op.at}`,
    `Event id:   ${op.eventId}`,
    `What:       ${JSON.stringify(op.parameters)}`,
    '',
    `Query the operations: npx ecr-steward audit --operations${op.repository ? ` --repository ${op.repository}` : ''} --since 1d`,
  ];
  return [subject, lines.join('\n')];
}

const listed = (actions: readonly string[] | undefined) =>
  actions && actions.length > 0 ? actions.join(', ') : 'its actions';

function repositoryOfArn(arn: string | undefined): string | undefined {
  return arn ? /^arn:aws[a-z-]*:ecr:[^:]*:\d{12}:repository\/(.+)$/.exec(arn)?.[1] : undefined;
}

function repositoryFromResources(d: CloudTrailEvent['detail']): string | undefined {
  for (const r of arrayOf((d as Record<string, unknown>).resources)) {
    const name = repositoryOfArn(str(record(r).ARN));
    if (name) return name;
  }
  return undefined;
}

function record(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}
const arrayOf = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);

function iso(time: string): string {
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? time : new Date(ms).toISOString();
}
