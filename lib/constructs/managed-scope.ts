import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { writeScope } from '../../functions/shared/config/load.js';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { nagRepositoryArn } from '../nag.js';
import { StewardFunction } from './steward-function.js';

/** The ECR actions that change a repository's images. None of them may reach a repository no selection manages. */
export const ECR_WRITE_ACTIONS = [
  'ecr:BatchDeleteImage',
  'ecr:PutImage',
  'ecr:UpdateImageStorageClass',
] as const;

/**
 * The repositories ECR Steward may write to, as IAM sees them, generated from the config's `writeScope` so the
 * permission and `selectionFor` can never disagree: name globs become repository ARNs; tag sets become
 * `repository/*` with one `aws:ResourceTag` condition per tag (a wide glob such as `"*"` is a tag set, so it
 * never yields an unconditioned `repository/*`).
 */
export interface ManagedScope {
  /**
   * Statements allowing `actions` on the managed repositories only: `<sid>ByName` for the name globs, and
   * `<sid>ByTag<i>` for each tag set. Empty when the config manages nothing.
   */
  statements(sid: string, actions: readonly string[]): iam.PolicyStatement[];
  /** The wildcard repository ARNs of those statements, as cdk-nag renders them (for its IAM5 acknowledgement). */
  readonly nagWildcards: readonly string[];
  /** The scope in words, e.g. `repository/services/*, repository/web and repositories tagged steward=managed`. */
  readonly description: string;
  /** Whether some repositories are managed by their tags (so their tags must be readable on every repository). */
  readonly byTags: boolean;
}

/** The managed scope of `config`, with ARNs relative to the stack of `scope`. */
export function managedScope(scope: Construct, config: StewardConfig): ManagedScope {
  const { byName, byTags } = writeScope(config);
  return {
    statements(sid, actions) {
      const sorted = [...new Set(actions)].sort();
      const out: iam.PolicyStatement[] = [];
      if (byName.length > 0) {
        out.push(
          new iam.PolicyStatement({
            sid: `${sid}ByName`,
            actions: sorted,
            resources: byName.map((glob) => StewardFunction.repositoryArn(scope, glob)),
          }),
        );
      }
      byTags.forEach((tags, i) => {
        out.push(
          new iam.PolicyStatement({
            sid: `${sid}ByTag${i}`,
            actions: sorted,
            resources: [StewardFunction.repositoryArn(scope, '*')],
            conditions: {
              StringEquals: Object.fromEntries(
                Object.entries(tags).map(([k, v]) => [`aws:ResourceTag/${k}`, v]),
              ),
            },
          }),
        );
      });
      return out;
    },
    nagWildcards: [
      ...new Set([...byName.filter((g) => g.includes('*')), ...(byTags.length > 0 ? ['*'] : [])]),
    ].map((g) => nagRepositoryArn(scope, g)),
    description: describeScope(byName, byTags),
    byTags: byTags.length > 0,
  };
}

function describeScope(
  byName: readonly string[],
  byTags: readonly Readonly<Record<string, string>>[],
): string {
  const parts = [
    ...byName.map((glob) => `repository/${glob}`),
    ...byTags.map(
      (tags) =>
        `repositories tagged ${Object.entries(tags)
          .map(([k, v]) => `${k}=${v}`)
          .join(' and ')}`,
    ),
  ];
  if (parts.length === 0) return 'no repository';
  if (parts.length === 1) return parts[0]!;
  return `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
}

/** `ecr:BatchDeleteImage` → `BatchDeleteImage`, for acknowledgement texts. */
export const actionNames = (actions: readonly string[]): string =>
  [...new Set(actions)]
    .sort()
    .map((a) => a.replace(/^ecr:/, ''))
    .join(', ');
