/**
 * Reading the IAM of a synthesized template the way a reviewer would: every statement of every identity
 * policy (standalone policies, managed policies and roles' inline policies), with intrinsics rendered as cdk-nag
 * renders them.
 */
import type { Template } from 'aws-cdk-lib/assertions';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation template fragments are untyped JSON.
export type Json = Record<string, any>;

/** The ECR actions that change images. */
export const WRITE_ACTIONS = ['ecr:BatchDeleteImage', 'ecr:PutImage', 'ecr:UpdateImageStorageClass'];

/** A CloudFormation string with intrinsics rendered as cdk-nag does: `{"Ref": "X"}` → `<X>`, Fn::Join flattened. */
export function text(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Json;
  if (v?.Ref) return `<${v.Ref}>`;
  if (v?.['Fn::GetAtt']) return `<${v['Fn::GetAtt'].join('.')}>`;
  if (v?.['Fn::Join']) return (v['Fn::Join'][1] as unknown[]).map(text).join(v['Fn::Join'][0]);
  return JSON.stringify(value);
}

export const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

export interface FoundStatement {
  /** Logical id of the policy (or of the role, for an inline policy). */
  readonly policy: string;
  /** Logical ids of the roles the policy is attached to. */
  readonly roles: string[];
  readonly statement: Json;
}

/** Every identity-policy statement of the template. */
export function identityStatements(template: Template): FoundStatement[] {
  const out: FoundStatement[] = [];
  const refs = (value: unknown) => list(value as Json[]).map((r) => r.Ref as string);
  for (const [policy, resource] of Object.entries(template.findResources('AWS::IAM::Policy'))) {
    for (const statement of list(resource.Properties.PolicyDocument.Statement))
      out.push({ policy, roles: refs(resource.Properties.Roles), statement });
  }
  for (const [policy, resource] of Object.entries(template.findResources('AWS::IAM::ManagedPolicy'))) {
    for (const statement of list(resource.Properties.PolicyDocument.Statement))
      out.push({ policy, roles: refs(resource.Properties.Roles), statement });
  }
  for (const [role, resource] of Object.entries(template.findResources('AWS::IAM::Role'))) {
    for (const inline of list(resource.Properties.Policies as Json[]))
      for (const statement of list(inline.PolicyDocument.Statement))
        out.push({ policy: role, roles: [role], statement });
  }
  return out;
}

/** Whether the statement allows one of `actions`, directly or through a wildcard (`ecr:*`, `ecr:Batch*`, `*`). */
export function allowsAny(statement: Json, actions: readonly string[]): boolean {
  if (statement.Effect !== 'Allow') return false;
  return list<string>(statement.Action).some((pattern) => {
    const re = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i');
    return actions.some((a) => re.test(a));
  });
}

/** The logical id of the one resource of `type` whose properties match `props` (objectLike). */
export function onlyResource(template: Template, type: string, props: Json): string {
  const found = Object.keys(template.findResources(type, { Properties: props }));
  if (found.length !== 1)
    throw new Error(`expected one ${type} matching ${JSON.stringify(props)}, found ${found.length}`);
  return found[0]!;
}
