/**
 * The cleanup of one repository: plan ─► protections ─► breaker + budget ─► write-ahead audit (PENDING)
 * ─► BatchDeleteImage ─► mark DELETED / FAILED. It talks to the world only through the narrow ports below,
 * so it is tested without AWS and runs unchanged in the function, the CLI and the local cloud.
 */
import type { DeleteOutcome, RepositoryInfo } from '../shared/adapters/ecr.js';
import { type ImageReference, InUseUnavailableError, inUseFor } from '../shared/adapters/in-use.js';
import type { ApprovalPorts } from '../shared/approvals/lifecycle.js';
import { backupCovers, type Replica, withReplicas } from '../shared/backup/replicas.js';
import { needsRepositoryTags, selectionFor } from '../shared/config/load.js';
import { effectiveGovernance, type Selection, type StewardConfig } from '../shared/config/schema.js';
import {
  type DeletionCandidate,
  type DeletionPorts,
  type DeletionResult,
  type OpenRecord,
  runDeletion,
} from '../shared/deletion/run.js';
import type { AuditWriter } from '../shared/deletion/safe-delete.js';
import { thresholdWarning } from '../shared/governance/threshold.js';
import { isIndex } from '../shared/lifecycle/graph.js';
import { planRepository } from '../shared/lifecycle/plan.js';
import type {
  Decision,
  Hold,
  Image,
  LifecyclePolicy,
  Plan,
  ProtectionCode,
} from '../shared/lifecycle/types.js';
import { formatPolicyError, validatePolicyText } from '../shared/lifecycle/validate.js';
import type { BreakerScope } from '../shared/state/breaker.js';

export interface RegistryPort {
  describeRepository(name: string): Promise<RepositoryInfo | undefined>;
  repositoryTags(arn: string): Promise<Record<string, string>>;
  listImages(repository: string): Promise<Image[]>;
  indexChildren(
    repository: string,
    digests: readonly string[],
  ): Promise<{ children: Map<string, string[]>; unreadable: string[] }>;
  lifecyclePolicyText(repository: string): Promise<string | undefined>;
  deleteImages(repository: string, digests: readonly string[]): Promise<DeleteOutcome>;
  existingDigests(repository: string, digests: readonly string[]): Promise<ReadonlySet<string>>;
  /** The manifests to keep in the write-ahead record of an irreversible governed delete. @default none */
  manifests?(
    repository: string,
    digests: readonly string[],
  ): Promise<ReadonlyMap<string, { mediaType: string; body: string }>>;
  archiveImages(repository: string, digests: readonly string[]): Promise<DeleteOutcome>;
  /** Backup: the destinations holding a complete replica of each digest. @default not read */
  replicas?(repository: string, digests: readonly string[]): Promise<ReadonlyMap<string, readonly Replica[]>>;
}

/** A notice to send: the images of one repository this run scheduled, with when they may go. */
export interface NoticeRequest {
  readonly registryId: string;
  readonly region: string;
  readonly repository: string;
  readonly selection: Selection;
  readonly runId: string;
  /** The earliest due time of the notice's images. */
  readonly dueAt: string;
  readonly softDelete: 'archive' | 'off';
  readonly purgeAfterDays: number;
  /** Set when the announced deletions would cross a delete-rate threshold when they fall due. */
  readonly thresholdWarning?: string | undefined;
  readonly images: readonly {
    readonly digest: string;
    readonly tags: readonly string[];
    readonly pushedAt?: string | undefined;
    readonly lastPulledAt?: string | undefined;
    readonly sizeBytes: number;
    readonly reason: string;
  }[];
}

export interface CleanupPorts {
  readonly registry: RegistryPort;
  readonly audit: AuditWriter & {
    /** The repository's open records (notices given, images archived). @default none */
    open?(ref: { registryId: string; region: string; repository: string }): Promise<readonly OpenRecord[]>;
    /** One image's record, strongly consistent (approvals: which request its notice names). @default not read */
    get?(ref: {
      registryId: string;
      region: string;
      repository: string;
      digest: string;
    }): Promise<{ readonly status: string; readonly requestId?: string | undefined } | undefined>;
    /** See DeletionPorts: which of these digests' records already say DELETED. @default not read */
    deletedOf?: DeletionPorts['audit']['deletedOf'];
  };
  /**
   * Holds placed from the CLI (the holds table) on this repository. Throws when the table cannot be read:
   * then nothing is deleted in the run (fail safe). @default none
   */
  readonly holds?:
    | ((ref: { registryId: string; region: string; repository: string }) => Promise<readonly Hold[]>)
    | undefined;
  /** Sends one notice (SNS) for the deletions a run scheduled. @default none */
  readonly notify?: ((notice: NoticeRequest) => Promise<void>) | undefined;
  readonly breaker: {
    firstOpen(
      scopes: readonly BreakerScope[],
      now: Date,
    ): Promise<{ scope: string; reason?: string | undefined } | undefined>;
  };
  /** Image references in use across the account; throws InUseUnavailableError when a source cannot be read. */
  readonly inUse: () => Promise<readonly ImageReference[]>;
  /**
   * Test and fault-injection hook: called between the steps of a destructive batch. The local cloud's kill
   * switch throws here to prove that a crash after the write-ahead record loses nothing.
   */
  /**
   * Audit reconciliation of the repository against the previous run's snapshot (see shared/audit/reconcile.ts),
   * given the images this run listed. Optional so the CLI's read-only plan can skip it.
   */
  readonly reconcile?:
    | ((
        repository: RepositoryInfo,
        images: readonly Image[],
        /** The managing selection's restore window, for an archive a crash left PENDING. */
        options: { readonly purgeAfterDays: number },
      ) => Promise<unknown>)
    | undefined;
  readonly checkpoint?:
    | ((step: 'after-write-ahead' | 'after-delete', repository: string) => void | Promise<void>)
    | undefined;
  /** The requests table and approvals topic: needed when a selection asks for approvals or a request is open. */
  readonly approvals?: ApprovalPorts | undefined;
  /**
   * Waits until the repository, with this many images listed, may be planned and cleaned; answers the release,
   * called when its cleanup ends. The worker bounds the images its concurrent repositories hold in memory with
   * it (functions/cleanup/run.ts, MAX_IMAGES_AT_ONCE). @default admitted at once
   */
  readonly admit?: ((images: number) => Promise<() => void>) | undefined;
}

export interface CleanupRequest {
  readonly repository: string;
  readonly region: string;
  readonly runId: string;
  readonly now: Date;
  readonly trigger: 'push' | 'sweep' | 'cli';
  /** Deletes still allowed in this run (across repositories); decremented as deletes are planned. */
  readonly budget: { remaining: number };
  /** Overrides the config's mode (the CLI's `--enforce`). */
  readonly mode?: 'dry-run' | 'enforce' | undefined;
}

export type CleanupOutcome =
  | 'done'
  | 'not-managed'
  | 'repository-not-found'
  | 'no-policy'
  | 'invalid-policy'
  | 'in-use-unavailable'
  | 'holds-unavailable'
  | 'breaker-open';

export interface CleanupReport {
  readonly repository: string;
  readonly runId: string;
  readonly mode: 'dry-run' | 'enforce';
  readonly trigger: CleanupRequest['trigger'];
  readonly outcome: CleanupOutcome;
  readonly message?: string | undefined;
  readonly selection?: string | undefined;
  readonly images: number;
  readonly planned: { readonly expire: number; readonly transition: number; readonly keep: number };
  readonly expired: number;
  /** Governance: notices given, notices ended, images archived (soft delete) and archived images purged. */
  readonly scheduled: number;
  readonly cancelled: number;
  readonly archived: number;
  readonly purged: number;
  /** Approvals: the request this run opened, and the images waiting for an answer. */
  readonly requested?: { readonly id: string; readonly images: number } | undefined;
  readonly awaitingApproval: number;
  readonly transitioned: number;
  /** Planned removals left for a later run by the bounds. */
  readonly deferred: number;
  readonly protectedByReason: Readonly<Partial<Record<ProtectionCode, number>>>;
  readonly bytesReclaimed: number;
  readonly failures: readonly { digest: string; code: string; reason: string }[];
  readonly warnings: readonly string[];
  readonly plan?: Plan | undefined;
}

/**
 * Backup: in a repository that ECR replicates (config `backup`), the images the plan expires or archives that
 * have a complete replica say so ("replicated to us-east-1"): the reader, and the audit record, see which
 * deletions leave a copy elsewhere. Informational only — a replica never changes a decision, and a failed read
 * is a warning, not a reason to stop.
 */
async function annotateReplicas(
  config: StewardConfig,
  repo: RepositoryInfo,
  plan: Plan,
  registry: RegistryPort,
  warnings: string[],
): Promise<Plan> {
  if (!registry.replicas || !backupCovers(config.backup, repo.name)) return plan;
  const acting = plan.decisions.filter((d) => d.action !== 'keep').map((d) => d.imageDigest);
  if (acting.length === 0) return plan;
  try {
    return withReplicas(plan, await registry.replicas(repo.name, acting), repo.registryId);
  } catch (e) {
    warnings.push(`could not read the replication status of ${repo.name}: ${(e as Error).message}`);
    return plan;
  }
}

/** Runs the cleanup of one repository. Never throws for a per-repository condition: it reports it. */
export async function cleanupRepository(
  config: StewardConfig,
  req: CleanupRequest,
  ports: CleanupPorts,
): Promise<CleanupReport> {
  const admission: Admission = {};
  try {
    return await cleanupAdmitted(config, req, ports, admission);
  } finally {
    admission.release?.();
  }
}

/** The release of the repository's admission (`CleanupPorts.admit`), once it was admitted. */
interface Admission {
  release?: (() => void) | undefined;
}

async function cleanupAdmitted(
  config: StewardConfig,
  req: CleanupRequest,
  ports: CleanupPorts,
  admission: Admission,
): Promise<CleanupReport> {
  const mode = req.mode ?? config.mode;
  const base = {
    repository: req.repository,
    runId: req.runId,
    mode,
    trigger: req.trigger,
    images: 0,
    planned: { expire: 0, transition: 0, keep: 0 },
    expired: 0,
    scheduled: 0,
    cancelled: 0,
    archived: 0,
    purged: 0,
    awaitingApproval: 0,
    transitioned: 0,
    deferred: 0,
    protectedByReason: {},
    bytesReclaimed: 0,
    failures: [],
    warnings: [] as string[],
  };
  const stop = (
    outcome: CleanupOutcome,
    message: string,
    extra: Partial<CleanupReport> = {},
  ): CleanupReport => ({ ...base, ...extra, outcome, message });

  const needsTags = needsRepositoryTags(config);
  // Decided by name alone when no selection uses tags: the worker's IAM covers only managed repositories, so
  // describing another one (a push let through by a glob the rule cannot narrow) would be denied.
  if (!needsTags && !selectionFor(config, req.repository))
    return stop('not-managed', `repository ${req.repository} matches no selection of the config`);
  const repo = await ports.registry.describeRepository(req.repository);
  if (!repo)
    return stop(
      'repository-not-found',
      `repository ${req.repository} does not exist (deleted since the event?)`,
    );
  const tags = needsTags ? await ports.registry.repositoryTags(repo.arn) : undefined;
  const selection = selectionFor(config, repo.name, tags);
  if (!selection) return stop('not-managed', `repository ${repo.name} matches no selection of the config`);
  const selectionName = selection.name ?? selection.repositories?.join(',') ?? 'by tags';

  const policy = await resolvePolicy(selection, repo.name, ports, base.warnings);
  if ('outcome' in policy) return stop(policy.outcome, policy.message, { selection: selectionName });

  const ref = { registryId: repo.registryId, region: req.region, repository: repo.name };
  // Reads that do not depend on one another start together: the images, the holds, and the in-use sources
  // (the registry's, not this repository's). Each is still awaited where it was, so a failure stops the run
  // at the same step with the same report; a read left unawaited by an earlier stop only goes unused.
  const listing = started(ports.registry.listImages(repo.name));
  const inUseRead = started(ports.inUse());
  let tableHolds: readonly Hold[];
  try {
    tableHolds = (await ports.holds?.(ref)) ?? [];
  } catch (e) {
    return stop(
      'holds-unavailable',
      `the holds table could not be read (${(e as Error).message}); nothing is deleted in this run (fail safe)`,
      { selection: selectionName },
    );
  }
  const governance = effectiveGovernance(config.governance, selection);
  const governed =
    governance.notice.hours > 0 ||
    governance.softDelete.mode === 'archive' ||
    governance.approval.required !== 'never';

  const images = await listing;
  // Planned and deleted only once admitted: the repositories cleaned at once hold a bounded number of images.
  admission.release = await ports.admit?.(images.length);
  // Reconcile before acting: digests that vanished since the last run are recorded, stale PENDING settled.
  await ports.reconcile?.(repo, images, { purgeAfterDays: governance.softDelete.purgeAfterDays });
  // After reconciliation: a crashed attempt's records are settled, and what stays noticed says so.
  const opened = (await ports.audit.open?.(ref)) ?? [];
  // An image we archived that is active again was restored outside ECR Steward (the console, the AWS CLI): say
  // so, and take it out of the purge.
  const statusOf = new Map(images.map((i) => [i.digest, i.status]));
  const restoredElsewhere = opened.filter(
    (r) => r.status === 'ARCHIVED' && statusOf.get(r.digest) === 'ACTIVE',
  );
  for (const r of restoredElsewhere)
    await ports.audit.record({
      ...ref,
      digest: r.digest,
      status: 'RESTORED',
      evidence: 'reconciliation',
      at: req.now.toISOString(),
      note: 'found active again: restored outside ECR Steward',
      eventId: `restored#${req.runId}#${r.digest}`,
    });
  const open = opened.filter((r) => !restoredElsewhere.includes(r));
  const indexes = images.filter(isIndex).map((i) => i.digest);
  const { children, unreadable } =
    indexes.length > 0
      ? await ports.registry.indexChildren(repo.name, indexes)
      : { children: new Map<string, string[]>(), unreadable: [] };
  if (unreadable.length > 0)
    base.warnings.push(`could not read the manifests of ${unreadable.length} image index(es)`);

  let refs: readonly ImageReference[];
  try {
    refs = await inUseRead;
  } catch (e) {
    if (e instanceof InUseUnavailableError) {
      return stop('in-use-unavailable', `${e.message}; nothing is deleted in this run (fail safe)`, {
        selection: selectionName,
        images: images.length,
      });
    }
    throw e;
  }

  const inUse = inUseFor(refs, { registryId: repo.registryId, region: req.region, name: repo.name });
  const planned0 = planRepository({
    repository: repo.name,
    policy: policy.policy,
    images,
    now: req.now,
    indexChildren: children,
    // Steward runs always apply the unit and graph-unknown protections, even with no protections configured.
    steward: { ...selection.steward, holds: [...(selection.steward?.holds ?? []), ...tableHolds] },
    inUse,
  });
  const plan = await annotateReplicas(config, repo, planned0, ports.registry, base.warnings);
  base.warnings.push(...plan.warnings);
  const planned = {
    expire: plan.summary.expire,
    transition: plan.summary.transition,
    keep: plan.summary.keep,
  };
  const common = {
    selection: selectionName,
    images: images.length,
    planned,
    protectedByReason: plan.summary.protected,
    plan,
  };

  // Deletion order: whole units (an index with its children, a subject with its referrers), parents first.
  const byDigest = new Map(images.map((i) => [i.digest, i]));
  // With indexAsUnit off the plan ties no child to its index, but ECR refuses to delete a child while an
  // index lists it: an expiring child still follows an expiring index of its repository.
  const expiring = plan.decisions.filter((d) => d.action === 'expire');
  const expiringIds = new Set(expiring.map((d) => d.imageDigest));
  const indexOfChild = new Map<string, string>();
  for (const [index, kids] of children)
    if (expiringIds.has(index))
      for (const kid of kids) if (kid !== index && !indexOfChild.has(kid)) indexOfChild.set(kid, index);
  const ordered = deletionOrder(
    expiring.map((d) =>
      d.follows || !indexOfChild.has(d.imageDigest) ? d : { ...d, follows: indexOfChild.get(d.imageDigest) },
    ),
  );
  const transitions = plan.decisions.filter((d) => d.action === 'transition');

  // What every deletion of this run says of where and how it deletes (its caller, allowance and candidates vary).
  const deletion = {
    repository: { registryId: repo.registryId, region: req.region, name: repo.name },
    mode,
    runId: req.runId,
    now: req.now,
    selection,
    inUse,
    holds: tableHolds,
  };
  // The run's budget and this repository's bound, shared by its deletions (lifecycle, requested, purge): together
  // they delete at most maxDeletesPerRepository of it. A dry run spends them as enforce would, so its plan is what
  // enforce would delete.
  const budgets = [req.budget, { remaining: config.bounds.maxDeletesPerRepository }] as const;
  const result = await withAllowance(
    budgets,
    ordered.length,
    (r: DeletionResult) => (mode === 'dry-run' ? r.planned : r.deleted + r.archived),
    (allowance) =>
      runDeletion(
        {
          ...deletion,
          caller: 'lifecycle',
          allowance,
          governance: governed ? governance : undefined,
          open,
          wholeRepository: true,
          approval: {
            required: governance.approval.required,
            expiresAfterHours: governance.approval.expiresAfterHours,
            repositoryTags: tags,
            selection: selectionName,
            approvers: governance.approval.approvers,
          },
          // One notice per repository and run, sent before the records that say it was given.
          announce: async (scheduled) => {
            if (!ports.notify) return;
            await ports.notify({
              registryId: repo.registryId,
              region: req.region,
              repository: repo.name,
              selection,
              runId: req.runId,
              dueAt: scheduled.map((s) => s.dueAt).sort()[0]!,
              softDelete: governance.softDelete.mode,
              purgeAfterDays: governance.softDelete.purgeAfterDays,
              // Archives are not deletes for the rate counters: with soft delete the deletes come at the purge.
              thresholdWarning:
                governance.softDelete.mode === 'archive'
                  ? undefined
                  : thresholdWarning(
                      config.alerts.thresholds,
                      { count: scheduled.length, repositoryImages: images.length },
                      config.alerts.breaker.enabled,
                    ),
              images: scheduled.map(({ candidate: c }) => ({
                digest: c.digest,
                tags: c.tags,
                pushedAt: c.pushedAt,
                lastPulledAt: c.lastPulledAt,
                sizeBytes: c.sizeBytes,
                reason: c.reasons.at(-1) ?? 'planned by the lifecycle policy',
              })),
            });
          },
          // A noticed image the plan now keeps by a protection (a hold placed since, a pull, a new tag…) says why.
          keptReasons: new Map(
            plan.decisions
              .filter((d) => d.action === 'keep' && d.protectedBy.length > 0)
              .map((d) => [d.imageDigest, d.reasons.at(-1) ?? 'kept by a protection'] as const),
          ),
          candidates: ordered.map((d) => {
            const image = byDigest.get(d.imageDigest);
            return {
              digest: d.imageDigest,
              tags: d.imageTags,
              pushedAt: d.pushedAt,
              follows: d.follows,
              sizeBytes: d.sizeBytes,
              lastPulledAt: image?.lastPulledAt ? new Date(image.lastPulledAt).toISOString() : undefined,
              rulePriority: d.rulePriority,
              reasons: d.reasons,
            };
          }),
        },
        ports,
      ),
  );
  // What the bounds hold back (or a stopped run did not attempt) waits for the next run, and says so: the
  // lifecycle's deletions here, the requested removals and the purge below, which share the bounds.
  // An open breaker holds back the rest: what it kept waits too, and the run reports `breaker-open`.
  let deferred = 0;
  let stoppedBy: DeletionResult['breaker'];
  const defer = (r: Pick<DeletionResult, 'kept' | 'notAttempted' | 'breaker'>, what: string) => {
    const bounded = r.kept.bounds ?? 0;
    deferred += bounded + r.notAttempted + (r.kept['breaker-open'] ?? 0);
    stoppedBy ??= r.breaker;
    if (bounded > 0) base.warnings.push(`${bounded} ${what} exceed the bounds and wait for the next run`);
  };
  defer(result, 'planned deletions');
  // The plan protects what the guard checks, so the guard keeping more means they disagree: say so. A notice
  // that is not due yet (and what goes with it) is governance, not disagreement.
  const guardKept = Object.entries(result.kept).filter(
    ([code]) =>
      ![
        'bounds',
        'breaker-open',
        'notice-pending',
        'follows-kept',
        'awaiting-approval',
        'approval-refused',
      ].includes(code),
  );
  if (guardKept.length > 0)
    base.warnings.push(
      `the deletion guard kept images the plan would expire: ${guardKept.map(([c, n]) => `${c} ${n}`).join(', ')}`,
    );

  if (mode === 'dry-run') {
    return {
      ...base,
      ...common,
      outcome: 'done',
      deferred,
      bytesReclaimed: 0,
      message: `dry-run: would expire ${result.planned}, archive ${transitions.length}`,
    };
  }

  const governanceCounts = {
    scheduled: result.scheduled.length,
    cancelled: result.cancelled.length,
    archived: result.archived,
    requested: result.requested,
    awaitingApproval: result.kept['awaiting-approval'] ?? 0,
  };
  const failures = [...result.failures];
  const { deleted: expired, bytesReclaimed } = result;
  const breakerOpen = (open: NonNullable<DeletionResult['breaker']>) => ({
    outcome: 'breaker-open' as const,
    message: `breaker open for ${open.scope}${open.reason ? ` (${open.reason})` : ''}: nothing more is deleted; reset it with ${
      open.scope === 'organization'
        ? "`ecr-steward breaker reset --org` (with the hub's credentials)"
        : `\`ecr-steward breaker reset --scope ${open.scope}\``
    }`,
  });
  if (result.breaker)
    return {
      ...base,
      ...common,
      ...governanceCounts,
      ...breakerOpen(result.breaker),
      expired,
      bytesReclaimed,
      deferred,
      failures,
    };

  // Requests people made (`ecr-steward delete request`): their notices are acted on here, through the same
  // guard (holds, in-use, protections, the request's answer, the notice), once approved and due. Images the
  // lifecycle plan already handled are not decided twice.
  const requested = await requestedRemovals(open, images, expiringIds, ports);
  let requestedDeleted = 0;
  let requestedBytes = 0;
  for (const [caller, candidates] of requested) {
    const outcome = await withAllowance(
      budgets,
      candidates.length,
      (o: DeletionResult) => o.deleted + o.archived,
      (allowance) =>
        runDeletion(
          {
            ...deletion,
            caller,
            allowance,
            governance,
            open,
            candidates,
            // A person's request carries its own approval (its notice names it): nothing new is asked here,
            // but an APPROVED request still holds only if one of the selection's approvers approved it.
            approval: {
              required: 'never',
              expiresAfterHours: governance.approval.expiresAfterHours,
              selection: selectionName,
              approvers: governance.approval.approvers,
            },
          },
          ports,
        ),
    );
    requestedDeleted += outcome.deleted + outcome.archived;
    requestedBytes += outcome.bytesReclaimed;
    defer(outcome, 'requested deletions');
    failures.push(...outcome.failures);
    governanceCounts.cancelled += outcome.cancelled.length;
    governanceCounts.archived += outcome.archived;
    governanceCounts.awaitingApproval += outcome.kept['awaiting-approval'] ?? 0;
    if (outcome.breaker) break;
  }

  // The purge: archived images whose restore window has passed are deleted through the same guard and path.
  const archivedNow = new Map(images.filter((i) => i.status === 'ARCHIVED').map((i) => [i.digest, i]));
  const purgeDue = open.filter(
    (r) =>
      // An archive of ours whose window has passed, or a purge that failed or crashed (it keeps its time).
      (r.status === 'ARCHIVED' || r.status === 'PENDING' || r.status === 'FAILED') &&
      r.purgeAt !== undefined &&
      r.purgeAt <= req.now.toISOString() &&
      archivedNow.has(r.digest),
  );
  let purged = 0;
  let purgedBytes = 0;
  if (purgeDue.length > 0) {
    const purge = await withAllowance(
      budgets,
      purgeDue.length,
      (p: DeletionResult) => p.deleted,
      (allowance) =>
        runDeletion(
          {
            ...deletion,
            caller: 'purge',
            allowance,
            candidates: purgeDue.map((r) => {
              const image = archivedNow.get(r.digest)!;
              return {
                digest: r.digest,
                // The tags it carried when archived: a hold on one of them still keeps it.
                tags: [...new Set([...image.tags, ...r.tags])],
                pushedAt: new Date(image.pushedAt).toISOString(),
                sizeBytes: image.sizeBytes ?? 0,
                rulePriority: r.actor.rulePriority ?? null,
                reasons: [`archived at ${r.archivedAt ?? '?'}; its restore window ended at ${r.purgeAt}`],
              };
            }),
          },
          ports,
        ),
    );
    purged = purge.deleted + purge.alreadyGone;
    purgedBytes = purge.bytesReclaimed;
    defer(purge, 'due purges');
    failures.push(...purge.failures);
  }

  // The breaker opened during the requested removals or the purge: the run stops there, as it does when it
  // stops the lifecycle's deletions, and the policy's transitions wait.
  if (stoppedBy)
    return {
      ...base,
      ...common,
      ...governanceCounts,
      ...breakerOpen(stoppedBy),
      purged,
      expired: expired + requestedDeleted,
      deferred,
      bytesReclaimed: bytesReclaimed + purgedBytes + requestedBytes,
      failures,
    };

  // The policy's transitions: archived through the same guard and path as every removal (holds, in use,
  // protections, the breaker before each batch, a write-ahead record, the run's bounds), as ECR would archive
  // them: restorable, never purged, never deleted instead. Not deletions, so no notice and no approval.
  let transitioned = 0;
  if (transitions.length > 0) {
    const outcome = await withAllowance(
      budgets,
      transitions.length,
      (o: DeletionResult) => o.archived,
      (allowance) =>
        runDeletion(
          {
            ...deletion,
            caller: 'lifecycle',
            allowance,
            archiveOnly: true,
            open,
            candidates: transitions.map((d) => {
              const image = byDigest.get(d.imageDigest);
              return {
                digest: d.imageDigest,
                tags: d.imageTags,
                pushedAt: d.pushedAt,
                sizeBytes: d.sizeBytes,
                lastPulledAt: image?.lastPulledAt ? new Date(image.lastPulledAt).toISOString() : undefined,
                rulePriority: d.rulePriority,
                reasons: d.reasons,
              };
            }),
          },
          ports,
        ),
    );
    transitioned = outcome.archived;
    defer(outcome, "the policy's transitions");
    failures.push(...outcome.failures);
    if (outcome.breaker)
      return {
        ...base,
        ...common,
        ...governanceCounts,
        ...breakerOpen(outcome.breaker),
        purged,
        expired: expired + requestedDeleted,
        transitioned,
        deferred,
        bytesReclaimed: bytesReclaimed + purgedBytes + requestedBytes,
        failures,
      };
  }
  return {
    ...base,
    ...common,
    ...governanceCounts,
    purged,
    outcome: 'done',
    expired: expired + requestedDeleted,
    transitioned,
    deferred,
    bytesReclaimed: bytesReclaimed + purgedBytes + requestedBytes,
    failures,
  };
}

/**
 * The noticed images of the repository that belong to a person's request and that no lifecycle rule planned, as
 * deletion candidates (caller `manual`). Images no longer in the registry are left to the reconciliation.
 */
async function requestedRemovals(
  open: readonly OpenRecord[],
  images: readonly Image[],
  planned: ReadonlySet<string>,
  ports: CleanupPorts,
): Promise<Map<'manual', DeletionCandidate[]>> {
  const out = new Map<'manual', DeletionCandidate[]>();
  const present = new Map(images.filter((i) => i.status !== 'ARCHIVED').map((i) => [i.digest, i]));
  const noticed = open.filter(
    (r) =>
      r.requestId !== undefined &&
      r.actor.rulePriority == null &&
      ['SCHEDULED', 'PENDING', 'FAILED'].includes(r.status) &&
      !planned.has(r.digest) &&
      present.has(r.digest),
  );
  if (noticed.length === 0 || !ports.approvals) return out;
  const requests = new Map<string, Awaited<ReturnType<ApprovalPorts['requests']['get']>>>();
  for (const id of new Set(noticed.map((r) => r.requestId!)))
    requests.set(id, await ports.approvals.requests.get(id));
  for (const r of noticed) {
    const request = requests.get(r.requestId!);
    // A removal the scan gate asked for is acted on when the gate judges the image again (it may pass by
    // then); only a person's request is this processor's to carry out.
    if (request?.requester.type !== 'principal') continue;
    const image = present.get(r.digest)!;
    const caller = 'manual' as const;
    const listed = request?.images.find((i) => i.digest === r.digest);
    const list = out.get(caller) ?? [];
    list.push({
      digest: r.digest,
      tags: image.tags,
      pushedAt: new Date(image.pushedAt).toISOString(),
      lastPulledAt: image.lastPulledAt ? new Date(image.lastPulledAt).toISOString() : undefined,
      sizeBytes: image.sizeBytes ?? 0,
      rulePriority: null,
      reasons: [
        `requested by ${request.requester.arn} (${r.requestId}): ${listed?.reason ?? request.reason}`,
      ],
    });
    out.set(caller, list);
  }
  return out;
}

async function resolvePolicy(
  selection: Selection,
  repository: string,
  ports: CleanupPorts,
  warnings: string[],
): Promise<{ policy: LifecyclePolicy } | { outcome: 'no-policy' | 'invalid-policy'; message: string }> {
  if (selection.lifecyclePolicy !== 'fromRepository')
    return { policy: selection.lifecyclePolicy as LifecyclePolicy };
  const text = await ports.registry.lifecyclePolicyText(repository);
  if (text === undefined)
    return {
      outcome: 'no-policy',
      message: `repository ${repository} has no lifecycle policy attached (selection says "fromRepository")`,
    };
  const result = validatePolicyText(text);
  if (!result.valid) {
    return {
      outcome: 'invalid-policy',
      message: `the lifecycle policy attached to ${repository} is invalid: ${result.errors.map(formatPolicyError).join('; ')}`,
    };
  }
  warnings.push('the policy is read from the repository: ECR applies it too, within 24 hours');
  return { policy: result.policy };
}

/**
 * A read started ahead of the step that awaits it: its failure is observed there (a stop before that step
 * leaves it unobserved, which must not count as an unhandled rejection).
 */
function started<T>(read: Promise<T>): Promise<T> {
  read.catch(() => undefined);
  return read;
}

/** Parents before what follows them (indexes before children, subjects before referrers), then by digest. */
export function deletionOrder(decisions: readonly Decision[]): Decision[] {
  const byDigest = new Map(decisions.map((d) => [d.imageDigest, d]));
  const depth = new Map<string, number>();
  const depthOf = (d: Decision, seen = new Set<string>()): number => {
    const known = depth.get(d.imageDigest);
    if (known !== undefined) return known;
    const parent = d.follows ? byDigest.get(d.follows) : undefined;
    const value = parent && !seen.has(parent.imageDigest) ? depthOf(parent, seen.add(d.imageDigest)) + 1 : 0;
    depth.set(d.imageDigest, value);
    return value;
  };
  return [...decisions].sort((a, b) => depthOf(a) - depthOf(b) || (a.imageDigest < b.imageDigest ? -1 : 1));
}

/**
 * Runs one deletion with its allowance taken from its budgets before it starts (the run's, and the repository's
 * bound): what is left of each, or the number of candidates (a deletion never spends more than it has
 * candidates), whichever is least. The allowance is taken at once (nothing else can take it while the deletion
 * awaits), and what the deletion did not spend (`spent` of its result) goes back when it ends. A deletion that
 * throws keeps its whole allowance spent: it may have deleted before it failed (a settle or a later batch's
 * breaker read can fail after a delete call), and what it deleted is not known here. So the repositories a
 * worker cleans at the same time never delete more together than the run's budget, and a repository's
 * deletions together never more than its bound.
 */
async function withAllowance<T>(
  budgets: readonly { remaining: number }[],
  candidates: number,
  spent: (result: T) => number,
  run: (allowance: number) => Promise<T>,
): Promise<T> {
  const allowance = Math.min(candidates, ...budgets.map((b) => b.remaining));
  for (const b of budgets) b.remaining -= allowance;
  const result = await run(allowance);
  const unspent = allowance - spent(result);
  for (const b of budgets) b.remaining += unspent;
  return result;
}
