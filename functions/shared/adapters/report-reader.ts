/**
 * The reads behind `ecr-steward report` (issue 14 §1): every repository of the registry (DescribeRepositories,
 * 1,000 a page), each selected repository's images (DescribeImages, 1,000 a page) a bounded number of
 * repositories at a time, the current lifecycle plan of each managed repository (the cleanup core itself, in
 * its read-only preview wiring), the latest gate verdicts (one parallel Scan of the verdict table) and the
 * deletions of the period (the audit table's byDay index, day by day). Each repository is summed up as soon
 * as it is read (functions/shared/report/model.ts), so the images of a large registry never sit in memory
 * together.
 */
import { QueryCommand, type QueryCommandInput, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { type CleanupPorts, cleanupRepository, type RegistryPort } from '../../cleanup/core.js';
import { cleanupPorts } from '../../cleanup/run.js';
import type { Actor } from '../audit/records.js';
import { AUDIT_INDEXES } from '../audit/store.js';
import { needsRepositoryTags, selectionFor } from '../config/load.js';
import type { Selection } from '../config/schema.js';
import type { Image } from '../lifecycle/types.js';
import {
  buildReport,
  type DeletionFact,
  type PlanFacts,
  principalOf,
  type Report,
  type RepositorySummary,
  summarizeDeletions,
  summarizeRepository,
  type VerdictValue,
} from '../report/model.js';
import { priceFor } from '../report/prices.js';
import { mapLimit } from '../runtime/concurrency.js';
import type { StewardPorts } from '../runtime/ports.js';
import type { RepositoryInfo } from './ecr.js';

/** Repositories read at once: 8 keeps ECR's per-account request rates comfortable and the wall time short. */
export const REPORT_CONCURRENCY = 8;
/** Parallel Scan segments of the verdict table. */
const VERDICT_SEGMENTS = 4;
/** Days of the audit table queried at once. */
const AUDIT_DAY_CONCURRENCY = 4;
const DAY_MS = 86_400_000;

export interface ReportReadOptions {
  readonly registryId: string;
  readonly region: string;
  readonly now: Date;
  /** The start of the audit period (`--since`). */
  readonly since: Date;
  /** Every repository of the registry, not only those a selection manages (`--all`). */
  readonly all: boolean;
  /** Repositories read at once. @default REPORT_CONCURRENCY */
  readonly concurrency?: number | undefined;
  /** Read the latest verdicts (the ports' verdict table); a string says why not. */
  readonly verdicts: true | string;
  /** Read the deletions from the ports' audit table; a string says why not. */
  readonly audit: true | string;
  /** Told once the repositories to read are known, then after each one. */
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
}

/** Reads the registry and returns the report. Never deletes, archives or records anything. */
export async function readRegistryReport(ports: StewardPorts, options: ReportReadOptions): Promise<Report> {
  const { config } = ports;
  const warnings: string[] = [];
  const previousWarning = ports.registry.onWarning;
  // A listing anomaly belongs in the report's warnings, not on stderr under the progress bar.
  ports.registry.onWarning = (message) => warnings.push(message);
  try {
    const verdictsRead =
      options.verdicts === true ? readVerdicts(ports, options).catch((e: Error) => e) : undefined;
    const listed = await ports.registry.listRepositories();
    const chosen = await chooseRepositories(ports, listed, options);
    const verdicts = await verdictsRead;
    let verdictsUnavailable = typeof options.verdicts === 'string' ? options.verdicts : undefined;
    if (verdicts instanceof Error) {
      verdictsUnavailable = `the verdict table could not be read: ${verdicts.message}`;
      warnings.push(verdictsUnavailable);
    }
    const deletionsRead =
      options.audit === true ? readDeletions(ports, options).catch((e: Error) => e) : undefined;

    const preview = previewPorts(ports, options);
    let done = 0;
    options.onProgress?.(0, chosen.length);
    const summaries = (
      await mapLimit(chosen, options.concurrency ?? REPORT_CONCURRENCY, async ({ repository, selection }) => {
        const summary = await summarize(
          ports,
          repository,
          selection,
          verdicts instanceof Error ? undefined : verdicts,
          preview,
          options,
        );
        options.onProgress?.(++done, chosen.length);
        return summary;
      })
    ).filter((s): s is RepositorySummary => {
      return s !== undefined;
    });
    const gone = chosen.length - summaries.length;
    if (gone > 0) warnings.push(`${gone} repositories were deleted while the report read them; left out`);

    const deletions = await deletionsRead;
    let audit: Parameters<typeof buildReport>[0]['audit'];
    if (deletions === undefined) audit = { unavailable: options.audit as string };
    else if (deletions instanceof Error) {
      audit = { unavailable: `the audit table could not be read: ${deletions.message}` };
      warnings.push(audit.unavailable);
    } else {
      const names = new Set(summaries.map((s) => s.name));
      // With --all every deletion counts; otherwise those of the reported repositories, and of any repository
      // a selection names that is gone since (its deletions were still ours to report).
      const kept = options.all
        ? deletions
        : deletions.filter(
            (d) => names.has(d.repository) || selectionFor(config, d.repository) !== undefined,
          );
      audit = summarizeDeletions(kept, options.since, options.now);
    }
    const plansMissing = summaries.filter((s) => s.managed && s.planNote !== undefined);
    if (plansMissing.length > 0)
      warnings.push(
        `no plan for ${plansMissing.length} managed repositories (e.g. ${plansMissing[0]!.name}: ${plansMissing[0]!.planNote})`,
      );
    return buildReport({
      generatedAt: options.now,
      registryId: options.registryId,
      region: options.region,
      scope: options.all ? 'all' : 'selected',
      price: priceFor(options.region, config.report),
      repositories: summaries,
      verdictsUnavailable,
      audit,
      warnings,
    });
  } finally {
    ports.registry.onWarning = previousWarning;
  }
}

interface Chosen {
  readonly repository: RepositoryInfo & { readonly tags?: Record<string, string> | undefined };
  readonly selection: Selection | undefined;
}

/** The repositories to report: managed ones (by name, and by tags when a selection asks for tags), or all. */
async function chooseRepositories(
  ports: StewardPorts,
  listed: readonly RepositoryInfo[],
  options: ReportReadOptions,
): Promise<Chosen[]> {
  const { config } = ports;
  const byTags = needsRepositoryTags(config);
  const chosen = await mapLimit(listed, options.concurrency ?? REPORT_CONCURRENCY, async (repository) => {
    const tags = byTags ? await ports.registry.repositoryTags(repository.arn) : undefined;
    const selection = selectionFor(config, repository.name, tags);
    return { repository: { ...repository, tags }, selection };
  });
  return chosen
    .filter((c) => options.all || c.selection !== undefined)
    .sort((a, b) => a.repository.name.localeCompare(b.repository.name));
}

/** A selection's name in the report: its own name, else its repository patterns. */
export function selectionLabel(selection: Selection): string {
  return selection.name ?? selection.repositories?.join(',') ?? 'by tags';
}

async function summarize(
  ports: StewardPorts,
  repository: Chosen['repository'],
  selection: Selection | undefined,
  verdicts: ReadonlyMap<string, ReadonlyMap<string, VerdictValue>> | undefined,
  preview: (repository: Chosen['repository'], images: readonly Image[]) => Promise<PlanFacts>,
  options: ReportReadOptions,
): Promise<RepositorySummary | undefined> {
  let images: Image[];
  try {
    images = await ports.registry.listImages(repository.name);
  } catch (e) {
    if ((e as Error).name === 'RepositoryNotFoundException') return undefined;
    throw e;
  }
  const plan: PlanFacts = selection
    ? await preview(repository, images)
    : { unavailable: 'not managed by the config' };
  return summarizeRepository(
    {
      name: repository.name,
      selection: selection ? selectionLabel(selection) : undefined,
      images,
      plan,
      // A repository with no verdict at all still has a (empty) verdict map: its images count as unscanned.
      verdicts: verdicts ? (verdicts.get(repository.name) ?? new Map()) : undefined,
    },
    options.now,
  );
}

/**
 * The current plan of one managed repository: `cleanupRepository` in the read-only wiring of the CLI's
 * preview (`cleanupPorts(…, { readOnly: true })`: no audit record, no breaker, no reconciliation), over the
 * images already listed. Running the cleanup core rather than the bare engine keeps the report's "reclaimable"
 * the plan a run would make: the selection's policy (inline or the repository's own), index children, holds
 * in the config, in-use images (read once for the whole report) and every Steward protection.
 */
function previewPorts(
  ports: StewardPorts,
  options: ReportReadOptions,
): (repository: Chosen['repository'], images: readonly Image[]) => Promise<PlanFacts> {
  const runId = `report-${options.now.toISOString().replace(/[-:.]/g, '').slice(0, 15)}`;
  const base = cleanupPorts(ports, {
    accountId: options.registryId,
    region: options.region,
    runId,
    now: options.now,
    readOnly: true,
  });
  const refuse = async (): Promise<never> => {
    throw new Error('the report is read-only: it never deletes, archives or verifies images');
  };
  const preview = async (repository: Chosen['repository'], images: readonly Image[]): Promise<PlanFacts> => {
    const registry: RegistryPort = {
      // What the report has read already is not read again: one DescribeImages listing per repository.
      describeRepository: async () => repository,
      repositoryTags: async (arn) => repository.tags ?? ports.registry.repositoryTags(arn),
      listImages: async () => [...images],
      indexChildren: (r, d) => ports.registry.indexChildren(r, d),
      lifecyclePolicyText: (r) => ports.registry.lifecyclePolicyText(r),
      deleteImages: refuse,
      archiveImages: refuse,
      existingDigests: refuse,
    };
    const wired: CleanupPorts = { ...base, registry };
    const report = await cleanupRepository(
      ports.config,
      {
        repository: repository.name,
        region: options.region,
        runId,
        now: options.now,
        trigger: 'cli',
        // The plan's whole intent: the bounds only spread deletions over runs.
        budget: { remaining: Number.POSITIVE_INFINITY },
        mode: 'dry-run',
      },
      wired,
    );
    if (!report.plan) return { unavailable: `${report.outcome}: ${report.message ?? ''}`.trim() };
    return {
      expire: report.plan.decisions.filter((d) => d.action === 'expire').map((d) => d.imageDigest),
      transition: report.plan.decisions.filter((d) => d.action === 'transition').map((d) => d.imageDigest),
    };
  };
  return preview;
}

/**
 * The latest verdict of every image of this registry and region, by repository and digest: one parallel Scan
 * of the verdict table (LATEST items only, five attributes). The table has no index by repository, and a
 * Scan's cost follows the number of verdicts, which is at most the number of images ever scanned.
 */
async function readVerdicts(
  ports: StewardPorts,
  options: Pick<ReportReadOptions, 'registryId' | 'region'>,
): Promise<Map<string, Map<string, VerdictValue>>> {
  const table = ports.table('verdict');
  const out = new Map<string, Map<string, VerdictValue>>();
  await Promise.all(
    Array.from({ length: VERDICT_SEGMENTS }, async (_, segment) => {
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        ports.calls.add('dynamodb:Scan');
        const page = await ports.documentClient.send(
          new ScanCommand({
            TableName: table,
            Segment: segment,
            TotalSegments: VERDICT_SEGMENTS,
            FilterExpression: 'sk = :latest',
            ProjectionExpression: 'registryId, #r, repository, digest, verdict',
            ExpressionAttributeNames: { '#r': 'region' },
            ExpressionAttributeValues: { ':latest': 'LATEST' },
            ExclusiveStartKey,
          }),
        );
        for (const item of (page.Items ?? []) as {
          registryId?: string;
          region?: string;
          repository?: string;
          digest?: string;
          verdict?: string;
        }[]) {
          if (item.registryId !== options.registryId || item.region !== options.region) continue;
          if (!item.repository || !item.digest) continue;
          if (item.verdict !== 'PASS' && item.verdict !== 'FAIL' && item.verdict !== 'PENDING') continue;
          const repo = out.get(item.repository) ?? new Map<string, VerdictValue>();
          out.set(item.repository, repo);
          repo.set(item.digest, item.verdict);
        }
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
    }),
  );
  return out;
}

interface DeletionItem {
  readonly registryId?: string;
  readonly region?: string;
  readonly repository?: string;
  readonly digest?: string;
  readonly at?: string;
  readonly sizeBytes?: number;
  readonly actor?: Pick<Actor, 'type' | 'principal'>;
  readonly dryRun?: boolean;
}

/**
 * The deletions recorded from `since` to `now`: the audit table's byDay index, one Query (all pages) per UTC
 * day, a few days at a time, DELETED records only (not plans, notices, archives or other record kinds).
 */
async function readDeletions(
  ports: StewardPorts,
  options: Pick<ReportReadOptions, 'registryId' | 'region' | 'since' | 'now'>,
): Promise<DeletionFact[]> {
  const table = ports.table('audit');
  const since = options.since.toISOString();
  const days: string[] = [];
  for (let t = Date.parse(since.slice(0, 10)); t <= options.now.getTime(); t += DAY_MS)
    days.push(new Date(t).toISOString().slice(0, 10));
  const perDay = await mapLimit(days, AUDIT_DAY_CONCURRENCY, async (day) => {
    const out: DeletionFact[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    const input: QueryCommandInput = {
      TableName: table,
      IndexName: AUDIT_INDEXES.byDay,
      KeyConditionExpression: 'gsi3pk = :pk AND gsi3sk >= :since',
      FilterExpression: '#s = :deleted',
      ProjectionExpression: 'registryId, #r, repository, digest, #at, sizeBytes, actor, dryRun',
      ExpressionAttributeNames: { '#s': 'status', '#r': 'region', '#at': 'at' },
      ExpressionAttributeValues: { ':pk': `DAY#${day}`, ':since': since, ':deleted': 'DELETED' },
    };
    do {
      ports.calls.add('dynamodb:Query');
      const page = await ports.documentClient.send(new QueryCommand({ ...input, ExclusiveStartKey }));
      for (const item of (page.Items ?? []) as DeletionItem[]) {
        if (item.dryRun || item.registryId !== options.registryId || item.region !== options.region) continue;
        if (!item.repository || !item.digest || !item.at) continue;
        out.push({
          repository: item.repository,
          digest: item.digest,
          at: item.at,
          bytes: item.sizeBytes ?? 0,
          principal: principalOf(item.actor ?? { type: 'unknown' }),
        });
      }
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return out;
  });
  return perDay.flat();
}
