import { globToRegExp } from '../lifecycle/match.js';
import type { LifecyclePolicy } from '../lifecycle/types.js';
import { formatPath } from './keys.js';
import { isWideGlob, MANAGED_TAG, requiredTags } from './load.js';
import {
  literalPrefix,
  replicationRules,
  selectionAppliesIn,
  spokeEnvironments,
  stackNames,
} from './organization.js';
import { effectiveGovernance, type Selection, type StewardConfig } from './schema.js';

/** The share of a repository (one half) one run may delete, with the breaker off, before the config is warned about. */
export const DELETE_SHARE_WARNING = 0.5;

/**
 * ECR repository names (the `repositoryName` pattern of the ECR API reference, in its older and more
 * permissive form, so a name ECR takes is never called impossible): lower-case letter-and-digit runs joined
 * by `.`, `_`, `__` or dashes, in `/`-separated components, 2 to 256 characters.
 */
const REPOSITORY_NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;

function isRepositoryName(name: string): boolean {
  return name.length >= 2 && name.length <= 256 && REPOSITORY_NAME.test(name);
}

/**
 * Whether some ECR repository name matches a glob. Filling every `*` with letters can only help (a letter
 * may stand next to any character), so trying one and two letters and nothing covers every glob short
 * enough to matter.
 */
export function globCanMatchARepository(glob: string): boolean {
  return ['a', 'aa', ''].some((fill) => isRepositoryName(glob.replaceAll('*', fill)));
}

/**
 * Whether every name `inner` matches also matches `outer`. A `*` of `inner` is turned into a character no
 * literal can match, so only a `*` of `outer` can absorb it: exact for globs whose only wildcard is `*`.
 */
export function globCovers(outer: string, inner: string): boolean {
  return globToRegExp(outer).test(inner.replaceAll('*', '\u0000'));
}

function label(config: StewardConfig, index: number): string {
  const name = config.selections[index]?.name;
  return `selections[${index}]${name ? ` ("${name}")` : ''}`;
}

/** Whether every repository `later` can manage is taken by `earlier` first (see `selectionFor`). */
function covers(earlier: Selection, later: Selection): boolean {
  if (earlier.repositories) {
    if (!later.repositories) return false;
    const outer = earlier.repositories;
    if (!later.repositories.every((glob) => outer.some((o) => globCovers(o, glob)))) return false;
  }
  const needs = requiredTags(later) ?? {};
  return Object.entries(requiredTags(earlier) ?? {}).every(([k, v]) => needs[k] === v);
}

function shadowWarnings(config: StewardConfig): string[] {
  const out: string[] = [];
  config.selections.forEach((later, j) => {
    const i = config.selections.findIndex((earlier, k) => k < j && covers(earlier, later));
    if (i < 0) return;
    out.push(
      `${label(config, j)}: never applies: ${label(config, i)} comes first and takes every repository it could match — move it above ${label(config, i)}, narrow ${label(config, i)}, or remove it`,
    );
  });
  return out;
}

function unmatchableWarnings(config: StewardConfig): string[] {
  const out: string[] = [];
  config.selections.forEach((s, i) => {
    (s.repositories ?? []).forEach((glob, g) => {
      if (globCanMatchARepository(glob)) return;
      out.push(
        `${formatPath(['selections', i, 'repositories', g])}: "${glob}" can match no ECR repository name (lower-case letters and digits joined by single . _ - or /, 2-256 characters) — fix the glob, or remove it`,
      );
    });
  });
  return out;
}

function wideGlobWarnings(config: StewardConfig): string[] {
  const out: string[] = [];
  const tag = `${MANAGED_TAG.key}=${MANAGED_TAG.value}`;
  config.selections.forEach((s, i) => {
    (s.repositories ?? []).forEach((glob, g) => {
      if (!isWideGlob(glob)) return;
      out.push(
        `${formatPath(['selections', i, 'repositories', g])}: "${glob}" has no literal prefix, so it could name every repository of the registry: this selection manages only repositories tagged ${tag}, and ECR Steward may delete in every repository that carries that tag — tag the repositories to manage ${tag}, or name them with a prefix such as "team/*"`,
      );
    });
  });
  return out;
}

/**
 * The fewest images an inline policy's expire rules leave in a repository whose images all fall to one
 * rule, after `keepAtLeast`; 0 when a policy expires by age or is read from the repository. Undefined when
 * nothing is ever expired.
 */
function fewestKept(selection: Selection): number | undefined {
  if (selection.lifecyclePolicy === 'fromRepository') return 0;
  const policy = selection.lifecyclePolicy as LifecyclePolicy;
  const keepAtLeast = selection.steward?.keepAtLeast ?? [];
  const kept = policy.rules
    .filter((r) => r.action.type === 'expire')
    .map((r) => {
      const byRule = r.selection.countType === 'imageCountMoreThan' ? r.selection.countNumber : 0;
      const floors = keepAtLeast
        .filter((k) => k.rulePriority === undefined || k.rulePriority === r.rulePriority)
        .map((k) => k.count);
      return Math.max(byRule, ...floors);
    });
  return kept.length === 0 ? undefined : Math.min(...kept);
}

function shareWarnings(config: StewardConfig): string[] {
  if (config.mode !== 'enforce') return [];
  const breakerOff = !config.alerts.breaker.enabled || config.alerts.thresholds.length === 0;
  if (!breakerOff) return [];
  const why = config.alerts.breaker.enabled
    ? 'alerts.thresholds is empty'
    : 'alerts.breaker.enabled is false';
  const cap = Math.min(config.bounds.maxDeletesPerRun, config.bounds.maxDeletesPerRepository);
  const percent = Math.round(DELETE_SHARE_WARNING * 100);
  const out: string[] = [];
  config.selections.forEach((s, i) => {
    const kept = fewestKept(s);
    if (kept === undefined) return;
    // A repository of 2·kept + 1 images loses kept + 1 of them, more than half, whenever the bound allows it.
    if (cap <= kept) return;
    const policy =
      s.lifecyclePolicy === 'fromRepository'
        ? 'its lifecycle policy is read from the repository, so it may keep none'
        : `its lifecycle policy can leave as few as ${kept} image${kept === 1 ? '' : 's'}`;
    out.push(
      `${label(config, i)}: one run can delete more than ${percent}% of a repository with nothing to stop it (mode is enforce, ${why}, ${policy}, and a run may delete ${cap} images of a repository) — enable alerts.breaker with a threshold such as {"scope": "repository", "window": "1h", "maxPercentOfImages": ${percent}}, or lower bounds.maxDeletesPerRepository`,
    );
  });
  return out;
}

/**
 * What a valid config does that its author may not expect, one line each (`path: problem — fix`): a
 * selection shadowed by an earlier one, a repository glob no ECR repository name can match, a wide glob
 * (which manages and may delete in every repository tagged steward=managed), a selection that can
 * delete more than `DELETE_SHARE_WARNING` of a repository in one run while the breaker is off, a spoke where no
 * selection applies (not deployed), and a backup glob that ECR's prefix filter widens. Never
 * errors: `cdk synth` and `ecr-steward validate` print them.
 */
export function configWarnings(config: StewardConfig): string[] {
  return [
    ...unmatchableWarnings(config),
    ...shadowWarnings(config),
    ...wideGlobWarnings(config),
    ...shareWarnings(config),
    ...archiveChargeWarnings(config),
    ...ecrActsWithoutNoticeWarnings(config),
    ...idleSpokeWarnings(config),
    ...backupPrefixWarnings(config),
    ...backupDestinationWarnings(config),
  ];
}

/**
 * Backup that surprises: no spoke has a destination other than itself (nothing is copied), or a destination
 * spoke manages the copies (its own cleanup deletes them like any image, so the "backup" keeps no more there).
 */
function backupDestinationWarnings(config: StewardConfig): string[] {
  if (!config.backup || !config.organization) return [];
  const spokes = spokeEnvironments(config);
  const destinations = new Map<string, { account: string; region: string }>();
  for (const env of spokes)
    for (const rule of replicationRules(config, env) ?? [])
      for (const d of rule.destinations)
        destinations.set(`${d.registryId}/${d.region}`, { account: d.registryId, region: d.region });
  if (destinations.size === 0)
    return [
      'backup: every spoke would be its own only destination, so ECR replication copies nothing — name another region in backup.regions or another account in backup.accounts',
    ];
  const prefixes = config.backup.repositories.map(literalPrefix);
  const overlaps = (glob: string) => {
    const p = literalPrefix(glob);
    return prefixes.some((b) => p.startsWith(b) || b.startsWith(p));
  };
  const out: string[] = [];
  for (const dest of destinations.values()) {
    if (!spokes.some((e) => e.account === dest.account && e.region === dest.region)) continue;
    for (const s of config.selections) {
      if (!selectionAppliesIn(s, dest)) continue;
      if (s.repositories !== undefined && !s.repositories.some(overlaps)) continue;
      out.push(
        `backup: ${dest.account} ${dest.region} receives copies of ${config.backup.repositories.map((r) => `"${r}"`).join(', ')} and its selection ${s.name ? `"${s.name}"` : `#${config.selections.indexOf(s)}`} manages them there, so its cleanup deletes the copies like any image — narrow that selection with "accounts"/"regions" to keep every copy`,
      );
    }
  }
  return out;
}

/** A spoke where every selection is narrowed away is not deployed (`deployPlan` skips it): say so. */
function idleSpokeWarnings(config: StewardConfig): string[] {
  return spokeEnvironments(config)
    .filter((env) => !config.selections.some((s) => selectionAppliesIn(s, env)))
    .map(
      (env) =>
        `organization.targets: no selection applies to account ${env.account} in ${env.region} (every one is narrowed elsewhere by "accounts"/"regions"), so ${stackNames.spoke(env)} is not deployed — add a selection for it, or remove it from the targets`,
    );
}

/** ECR replicates by name prefix: a glob narrower than its prefix replicates more than it names. */
function backupPrefixWarnings(config: StewardConfig): string[] {
  return (config.backup?.repositories ?? []).flatMap((glob, i) => {
    const prefix = literalPrefix(glob);
    if (glob === `${prefix}*`) return [];
    return [
      `backup.repositories[${i}]: ECR replication filters by name prefix, so every repository whose name starts with "${prefix}" is replicated, not only those matching "${glob}" — write it as "${prefix}*" to say so, or choose a longer prefix`,
    ];
  });
}

/**
 * With "fromRepository" ECR applies the attached policy itself, within 24 hours, with no notice, hold or soft
 * delete: a notice period or soft delete on such a selection does not cover what ECR expires on its own.
 */
function ecrActsWithoutNoticeWarnings(config: StewardConfig): string[] {
  return config.selections.flatMap((s, i) => {
    if (s.lifecyclePolicy !== 'fromRepository') return [];
    const g = effectiveGovernance(config.governance, s);
    if (g.notice.hours === 0 && g.softDelete.mode === 'off' && g.approval.required === 'never') return [];
    return [
      `selections[${i}].lifecyclePolicy: "fromRepository" with a notice period, soft delete or approvals — ECR applies the attached policy itself, without notice, holds, archive or approval; paste the policy inline (and remove it from the repository) so that every delete goes through ECR Steward's governance`,
    ];
  });
}

/** ECR charges archived images for at least 90 days: a shorter restore window saves nothing and says otherwise. */
export const ARCHIVE_MINIMUM_DAYS = 90;

function archiveChargeWarnings(config: StewardConfig): string[] {
  const blocks: { path: string; mode?: string | undefined; days?: number | undefined }[] = [
    {
      path: 'governance.softDelete',
      ...config.governance.softDelete,
      days: config.governance.softDelete.purgeAfterDays,
    },
    ...config.selections.map((s, i) => ({
      path: `selections[${i}].governance.softDelete`,
      mode: s.governance?.softDelete?.mode ?? config.governance.softDelete.mode,
      days: s.governance?.softDelete?.purgeAfterDays,
    })),
  ];
  return blocks
    .filter((b) => b.mode === 'archive' && b.days !== undefined && b.days < ARCHIVE_MINIMUM_DAYS)
    .map(
      (b) =>
        `${b.path}.purgeAfterDays: ${b.days} days, but ECR charges archive storage for at least ${ARCHIVE_MINIMUM_DAYS} days — purging earlier saves nothing; keep images restorable for ${ARCHIVE_MINIMUM_DAYS} days at the same cost`,
    );
}
