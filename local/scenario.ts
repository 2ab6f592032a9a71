/**
 * Scenarios for the local cloud: realistic repositories, then steps (pushes, scans, manual deletes,
 * sweeps, CLI queries) narrated as they run, ending with a summary and a report (Markdown and JSON).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchDeleteImageCommand, ECRClient } from '@aws-sdk/client-ecr';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { VERDICT_INDEXES } from '../functions/scan-gate/verdicts.js';
import { RequestsStore } from '../functions/shared/approvals/store.js';
import type { AuditRecord } from '../functions/shared/audit/records.js';
import { documentClient } from '../functions/shared/audit/store.js';
import { parseConfig } from '../functions/shared/config/load.js';
import { StewardPorts } from '../functions/shared/runtime/ports.js';
import type { LocalCloud } from './cloud.js';
import { ociImageIndex, ociImageManifest } from './ecr-emulator.js';
import { credentialsEnv, principalNamed } from './principals.js';
import { type CosignKeyPair, cosignSign, generateCosignKey } from './signing.js';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './template.js';

const generateSchema = z.strictObject({
  releases: z.number().int().min(0).default(0),
  devBuilds: z.number().int().min(0).default(0),
  multiArchReleases: z.number().int().min(0).default(0),
  signatures: z.boolean().default(false),
  untagged: z.number().int().min(0).default(0),
  oldestDays: z.number().min(1).default(90),
});

const stepSchema = z.union([
  z.strictObject({ say: z.string() }),
  z.strictObject({
    runService: z.strictObject({ cluster: z.string(), service: z.string(), image: z.string() }),
  }),
  z.strictObject({ push: z.strictObject({ repository: z.string(), tags: z.array(z.string()).default([]) }) }),
  z.strictObject({
    replicate: z.strictObject({
      repository: z.string(),
      tags: z.array(z.string()).default([]),
      sourceRegion: z.string().optional(),
    }),
  }),
  z.strictObject({ showPlan: z.strictObject({ repository: z.string() }) }),
  z.strictObject({
    scan: z.strictObject({
      repository: z.string(),
      tag: z.string(),
      findings: z.array(
        z.strictObject({
          name: z.string(),
          severity: z.string(),
          package: z.string().optional(),
          version: z.string().optional(),
        }),
      ),
    }),
  }),
  z.strictObject({
    deleteByHand: z.strictObject({
      repository: z.string(),
      count: z.number().int().min(1),
      principal: z.string().optional(),
    }),
  }),
  z.strictObject({ sweep: z.strictObject({}) }),
  /** Lets time pass on the local cloud's clock: notices fall due, archives reach their purge. */
  z.strictObject({
    advanceClock: z.strictObject({
      hours: z
        .number()
        .min(0)
        .max(24 * 3650),
    }),
  }),
  /** Runs the due-deletion processor (its schedule), as EventBridge Scheduler does every 15 minutes. */
  z.strictObject({ dueDeletions: z.strictObject({}) }),
  z.strictObject({
    // The local cloud cannot wait days: every quarantine is moved this many days into the past, then the
    // scheduled quarantine expiry runs.
    quarantineExpiry: z.strictObject({ daysLater: z.number().int().min(1).max(3650) }),
  }),
  /**
   * A CLI command, as a person would type it; `as` signs its AWS calls as one of the local principals (alice,
   * ops, mallory). Arguments may name what only exists by then: `{{request:REPO#N}}` (the N-th request of the
   * repository, oldest first) and `{{digest:REPO:TAG}}`.
   */
  z.strictObject({
    cli: z.array(z.string()).min(1),
    as: z.enum(['alice', 'ops', 'mallory']).optional(),
  }),
  /**
   * Signs an image as cosign does, with a key the scenario generated at run time (`signingKeys`): as an OCI 1.1
   * referrer (`ECR Referrer Action`) or under cosign's `sha256-<hex>.sig` tag. `as` pushes the signature of
   * this image as the signature of another tag's image (a signature that does not match its image).
   */
  z.strictObject({
    sign: z.strictObject({
      repository: z.string(),
      tag: z.string(),
      key: z.string(),
      mode: z.enum(['referrer', 'tag']).default('referrer'),
    }),
  }),
  /**
   * A registry operation someone makes (CloudTrail's `AWS API Call via CloudTrail`, as EventBridge delivers it
   * to the audit): e.g. `SetRepositoryPolicy` with a policy that grants everyone. `as` names who made it.
   */
  z.strictObject({
    registryOperation: z.strictObject({
      name: z.string(),
      repository: z.string().optional(),
      as: z.enum(['alice', 'ops', 'mallory']).default('alice'),
      sourceIp: z.string().default('198.51.100.66'),
      userAgent: z.string().default('console.amazonaws.com'),
      requestParameters: z.record(z.string(), z.unknown()).default({}),
    }),
  }),
  /** The weekly digest's schedule fires (EventBridge Scheduler): the digest goes to the subscribers and the alerts topic. */
  z.strictObject({ digest: z.strictObject({}) }),
  /**
   * `ecr-steward report --format html` of the whole registry as of the local clock, written under the run's
   * reports folder (`.local/reports/`): the page a platform lead opens in a browser.
   */
  z.strictObject({ htmlReport: z.strictObject({ since: z.string().default('120d') }) }),
  /** A call to the approvals endpoint without a signature: the function URL refuses it. */
  z.strictObject({
    unsignedCall: z.strictObject({ method: z.enum(['GET', 'POST']), path: z.string() }),
  }),
]);

export const scenarioSchema = z.strictObject({
  $comment: z.string().optional(),
  name: z.string(),
  config: z.string(),
  repositories: z.array(
    z.strictObject({
      name: z.string(),
      tags: z.record(z.string(), z.string()).optional(),
      generate: generateSchema,
    }),
  ),
  /**
   * Cosign keys generated when the scenario starts (never stored): the config names a key's public half as
   * `"${signingKey:NAME}"`, replaced by its PEM before the app is synthesized (`prepareScenario`).
   */
  signingKeys: z.array(z.string().regex(/^[A-Za-z0-9_-]+$/)).default([]),
  steps: z.array(stepSchema),
});
export type Scenario = z.output<typeof scenarioSchema>;

export interface StepReport {
  readonly step: string;
  readonly lines: string[];
  readonly figures: Record<string, number | string>;
}

export interface ScenarioReport {
  readonly name: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly steps: StepReport[];
  readonly repositories: { name: string; before: number; after: number }[];
  readonly alerts: { topic: string; subject: string; message: string }[];
  readonly audit: { total: number; byActor: Record<string, number>; byStatus: Record<string, number> };
  readonly deadLetters: number;
  readonly faults: unknown;
  /** The HTML report an `htmlReport` step wrote (absolute path), if any. */
  readonly htmlReport?: string | undefined;
}

const DAY = 86_400_000;

/** Creates a repository full of realistic images: releases, dev builds, multi-arch indexes, signatures, leftovers. */
export function populate(cloud: LocalCloud, repo: Scenario['repositories'][number], now: Date): number {
  cloud.ecr.createRepository(repo.name, { tags: repo.tags });
  const g = repo.generate;
  const total = g.releases + g.devBuilds + g.untagged;
  let n = 0;
  const ageOf = () =>
    new Date(now.getTime() - (g.oldestDays * DAY * (total - n++)) / Math.max(total, 1) - DAY);
  const push = (seed: string, tags: string[], at: Date, extra: { manifest?: string; size?: number } = {}) =>
    cloud.ecr.putImage(repo.name, {
      manifest:
        extra.manifest ??
        ociImageManifest(`${repo.name}/${seed}`, {
          sizeBytes: extra.size ?? 40_000_000 + ((seed.length * 7_919) % 9_000_000),
        }),
      tags,
      pushedAt: at,
    });
  for (let i = 0; i < g.releases; i++) {
    const major = 1 + Math.floor(i / 10);
    const tag = `v${major}.${i % 10}.0`;
    const at = ageOf();
    if (i >= g.releases - g.multiArchReleases) {
      const children = ['amd64', 'arm64'].map((arch) => push(`${tag}-${arch}`, [], at));
      const index = push(tag, [tag], at, { manifest: ociImageIndex(children) });
      if (g.signatures)
        cloud.ecr.putImage(repo.name, {
          manifest: ociImageManifest(`${tag}-sig`, { sizeBytes: 900 }),
          tags: [`sha256-${index.slice(7)}.sig`],
          pushedAt: at,
        });
    } else {
      const digest = push(tag, [tag], at);
      if (g.signatures)
        cloud.ecr.putImage(repo.name, {
          manifest: ociImageManifest(`${tag}-sig`, { sizeBytes: 900 }),
          tags: [`sha256-${digest.slice(7)}.sig`],
          pushedAt: at,
        });
    }
  }
  for (let i = 0; i < g.devBuilds; i++) push(`dev-${i}`, [`dev-${(0xabc000 + i).toString(16)}`], ageOf());
  for (let i = 0; i < g.untagged; i++) push(`leftover-${i}`, [], ageOf());
  return cloud.ecr.imageCount(repo.name);
}

export interface RunOptions {
  readonly root: string;
  readonly print: (line: string) => void;
  /** The scenario's prepared config and keys (`prepareScenario`). @default the scenario's config, no keys */
  readonly prepared?: PreparedScenario | undefined;
  /** Extra figures for the report (e.g. fault counters). */
  readonly faults?: () => unknown;
  /** Where an `htmlReport` step writes its page. @default `<root>/.local/reports` */
  readonly reportsDir?: string | undefined;
}

/** Runs a scenario against a started local cloud and returns its report. */
export async function runScenario(
  cloud: LocalCloud,
  scenario: Scenario,
  opts: RunOptions,
): Promise<ScenarioReport> {
  const started = Date.now();
  const now = new Date();
  const steps: StepReport[] = [];
  const print = opts.print;
  const before = new Map<string, number>();
  // The seeded images were pushed before ECR Steward was installed: their events are not replayed.
  cloud.eventsOn = false;
  for (const repo of scenario.repositories) {
    const count = populate(cloud, repo, now);
    before.set(repo.name, count);
    print(`  created ${repo.name}: ${count} images`);
  }
  cloud.eventsOn = true;
  const env = cloud.cliEnv();
  const ecr = new ECRClient({
    region: LOCAL_REGION,
    endpoint: cloud.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const ddb = documentClient(
    new DynamoDBClient({
      region: LOCAL_REGION,
      endpoint: cloud.dynamoEndpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
  );
  // The same factory as the functions and the CLI: the stores are wired once, the same way everywhere.
  const configPath = opts.prepared?.configPath ?? scenario.config;
  const config = parseConfig(readFileSync(path.resolve(opts.root, configPath), 'utf8'), scenario.config);
  const ports = new StewardPorts(config, {
    tables: { audit: env.AUDIT_TABLE_NAME, verdict: env.VERDICT_TABLE_NAME, state: env.STATE_TABLE_NAME },
    clients: { ecr, doc: ddb },
  });
  const { audit } = ports;
  /** The gate's latest verdict on an image, as one line. */
  const latestVerdict = async (repository: string, digest: string) =>
    (await ports.verdicts.latest({ registryId: LOCAL_ACCOUNT, region: LOCAL_REGION, repository, digest }))
      ?.summary;
  const uri = (repo: string, ref: string) =>
    `${LOCAL_ACCOUNT}.dkr.ecr.${LOCAL_REGION}.amazonaws.com/${repo}${ref.startsWith('sha256:') ? `@${ref}` : `:${ref}`}`;
  const alertsSeen = cloud.sns.messages.length;
  let htmlReport: string | undefined;
  const requests = env.REQUESTS_TABLE_NAME ? new RequestsStore(ddb, env.REQUESTS_TABLE_NAME) : undefined;
  /** `{{request:REPO#N}}` and `{{digest:REPO:TAG}}` in a CLI argument, resolved now. */
  const resolveArg = async (arg: string): Promise<string> => {
    let out = arg;
    out = out.replaceAll('{{config}}', opts.prepared?.configPath ?? scenario.config);
    for (const m of arg.matchAll(/\{\{(request|digest):([^}]+)\}\}/g)) {
      let value: string | undefined;
      if (m[1] === 'request') {
        const [repository, n] = m[2]!.split('#');
        const list = await requests?.list({
          repository: { registryId: LOCAL_ACCOUNT, region: LOCAL_REGION, repository: repository! },
        });
        value = list?.[Number(n ?? '1') - 1]?.id;
      } else {
        const at = m[2]!.lastIndexOf(':');
        value = cloud.ecr.image(m[2]!.slice(0, at), m[2]!.slice(at + 1))?.digest;
      }
      if (!value) throw new Error(`scenario: ${m[0]} names nothing (yet)`);
      out = out.replace(m[0], value);
    }
    return out;
  };

  for (const step of scenario.steps) {
    const report: StepReport = { step: Object.keys(step)[0]!, lines: [], figures: {} };
    const say = (line: string) => {
      report.lines.push(line);
      print(line);
    };
    const alertsBefore = cloud.sns.messages.length;
    /** Messages a step printed itself (the digest): not printed again below. */
    let alertsShown = 0;
    if ('say' in step) {
      print('');
      say(`▶ ${step.say}`);
    } else if ('runService' in step) {
      const { cluster, service, image } = step.runService;
      const [repo, tag] = image.split(':') as [string, string];
      const view = cloud.ecr.image(repo, tag);
      if (!view) throw new Error(`runService: no image ${image}`);
      cloud.ecs.runService(cluster, service, uri(repo, tag), view.digest);
      say(`  ECS ${cluster}/${service} runs ${image} (${view.digest.slice(0, 19)}…)`);
    } else if ('push' in step || 'replicate' in step) {
      // A replication into this registry is an arrival like a push: ECR emits `ECR Replication Action`.
      const { repository, tags } = 'push' in step ? step.push : step.replicate;
      const t0 = Date.now();
      const image = {
        manifest: ociImageManifest(`${repository}/pushed/${tags.join(',')}/${t0}`, { sizeBytes: 52_000_000 }),
        tags,
      };
      if ('push' in step) cloud.ecr.putImage(repository, image);
      else cloud.ecr.replicateImage(repository, { ...image, sourceRegion: step.replicate.sourceRegion });
      await cloud.settle();
      const enforcedMs = Date.now() - t0;
      const records = (
        await audit.byRepository(
          { registryId: LOCAL_ACCOUNT, region: LOCAL_REGION, repository },
          new Date(t0 - 1000).toISOString(),
          5000,
        )
      ).filter((r) => r.at >= new Date(t0 - 1000).toISOString());
      const deleted = records.filter((r) => r.status === 'DELETED' && r.actor.type === 'ecr-steward');
      report.figures.pushToEnforcedMs = enforcedMs;
      report.figures.deleted = deleted.length;
      say(
        `  ${'push' in step ? 'pushed' : `replicated (from ${step.replicate.sourceRegion ?? 'another region'})`} ${repository}:${tags.join(',')} → settled in ${enforcedMs} ms; ECR Steward deleted ${deleted.length} image(s)`,
      );
      for (const [reason, n] of topReasons(deleted)) say(`    ${String(n).padStart(3)} × ${reason}`);
      const runs = cloud.functions.logRecords.filter(
        (l) => l.at >= t0 && l.record.message === 'cleanup run' && l.record.repository === repository,
      );
      for (const { record } of runs) {
        const saved = Object.entries((record.protectedByReason ?? {}) as Record<string, number>)
          .filter(([code]) => code !== 'index-child' && code !== 'referrer')
          .map(([code, n]) => `${code} ${n}`);
        const detail = record.outcome !== 'done' && record.detail ? ` — ${String(record.detail)}` : '';
        say(
          `    worker: ${String(record.outcome)}${detail}; ${String(record.images)} images, ${String(record.expired)} expired${Number(record.scheduled ?? 0) > 0 ? `, ${String(record.scheduled)} scheduled (notice given)` : ''}${saved.length > 0 ? `; kept by protections: ${saved.join(', ')}` : ''}`,
        );
      }
    } else if ('showPlan' in step) {
      const lines = await cliRun(opts.root, env, [
        'audit',
        '--repository',
        step.showPlan.repository,
        '--since',
        '10m',
        '--limit',
        '12',
      ]);
      say('  the audit trail of that run (newest first):');
      for (const l of lines.split('\n').filter(Boolean).slice(0, 14)) say(`    ${l}`);
    } else if ('scan' in step) {
      const { repository, tag, findings } = step.scan;
      const view = cloud.ecr.image(repository, tag);
      if (!view) throw new Error(`scan: no image ${repository}:${tag}`);
      cloud.ecr.setScanFindings(repository, view.digest, {
        status: 'COMPLETE',
        scanType: 'BASIC',
        findings: findings.map((f) => ({
          name: f.name,
          severity: f.severity as never,
          uri: `https://nvd.nist.gov/vuln/detail/${f.name}`,
          attributes: [
            ...(f.package ? [{ key: 'package_name', value: f.package }] : []),
            ...(f.version ? [{ key: 'package_version', value: f.version }] : []),
          ],
        })),
      });
      await cloud.settle();
      const after = cloud.ecr.image(repository, view.digest);
      say(
        `  scan of ${repository}:${tag} complete: ${findings.length} finding(s); tags now [${after?.tags.join(', ')}]`,
      );
      const verdict = await latestVerdict(repository, view.digest);
      if (verdict) say(`    scan gate: ${verdict}`);
    } else if ('deleteByHand' in step) {
      const { repository, count } = step.deleteByHand;
      const principal = step.deleteByHand.principal ?? `arn:aws:iam::${LOCAL_ACCOUNT}:user/alice`;
      const victims = cloud.ecr
        .images(repository)
        .filter((i) => i.tags.length > 0)
        .slice(0, count);
      for (let i = 0; i < victims.length; i += 100) {
        const batch = victims.slice(i, i + 100);
        const out = await ecr.send(
          new BatchDeleteImageCommand({
            repositoryName: repository,
            imageIds: batch.map((v) => ({ imageDigest: v.digest })),
          }),
        );
        // CloudTrail records the call with its principal; EventBridge carries it to the audit rule.
        cloud.publish(
          cloudTrailBatchDelete(
            repository,
            batch.map((v) => v.digest),
            out.imageIds ?? [],
            principal,
          ),
        );
      }
      await cloud.settle();
      report.figures.deletedByHand = victims.length;
      say(
        `  ${principal.split('/').pop()} deleted ${victims.length} images of ${repository} with BatchDeleteImage`,
      );
    } else if ('sweep' in step) {
      const result = await cloud.runSchedule('CleanupSweepSchedule');
      await cloud.settle();
      say(`  sweep: ${JSON.stringify(result.result)}`);
    } else if ('quarantineExpiry' in step) {
      const { daysLater } = step.quarantineExpiry;
      const { verdicts } = ports;
      const quarantined = await verdicts.dueForExpiry('9999-12-31T23:59:59.999Z', 10_000);
      const back = (iso: string) => new Date(Date.parse(iso) - daysLater * DAY).toISOString();
      for (const v of quarantined) {
        await ddb.send(
          new UpdateCommand({
            TableName: verdicts.tableName,
            Key: { pk: v.pk, sk: 'LATEST' },
            UpdateExpression: 'SET quarantinedAt = :since, #qdue = :since',
            ExpressionAttributeNames: { '#qdue': VERDICT_INDEXES.quarantined.sortKey },
            ExpressionAttributeValues: { ':since': back(v.quarantinedAt ?? v.at) },
          }),
        );
      }
      // The image ages with its quarantine, or a minimum age would still see it as just pushed.
      for (const v of quarantined) cloud.ecr.agePushTime(v.repository, v.digest, daysLater * DAY);
      say(
        `  ${quarantined.length} quarantine(s) and their images moved ${daysLater} days into the past (simulated time)`,
      );
      const result = await cloud.runSchedule('ScanGateQuarantineExpirySchedule');
      await cloud.settle();
      const r = result.result as Record<string, unknown> | undefined;
      for (const key of ['due', 'removed', 'planned', 'released'] as const)
        report.figures[`quarantineExpiry.${key}`] = Number(r?.[key] ?? 0);
      say(
        `  quarantine expiry: due ${r?.due}, removed ${r?.removed}, planned ${r?.planned}, released ${r?.released}, kept ${(r?.kept as unknown[] | undefined)?.length ?? 0}`,
      );
      for (const k of (r?.kept as { repository: string; digest: string; reason: string }[] | undefined) ?? [])
        say(`    kept ${k.repository}@${k.digest.slice(0, 19)}…: ${k.reason}`);
    } else if ('advanceClock' in step) {
      cloud.advanceClock(step.advanceClock.hours * 3_600_000);
      say(`  ⏱ ${step.advanceClock.hours} hours pass (local clock now ${cloud.now().toISOString()})`);
    } else if ('dueDeletions' in step) {
      const t0 = Date.now();
      const result = await cloud.runSchedule('CleanupDueDeletionSchedule');
      await cloud.settle();
      const r = result.result as { enqueued?: number } | undefined;
      say(
        `  due-deletion processor: ${r?.enqueued ?? 0} repositor${r?.enqueued === 1 ? 'y' : 'ies'} with due work`,
      );
      const runs = cloud.functions.logRecords.filter(
        (l) =>
          l.at >= t0 && l.record.message === 'cleanup run' && String(l.record.runId ?? '').startsWith('due-'),
      );
      for (const { record } of runs)
        say(
          `    worker ${String(record.repository)}: archived ${String(record.archived ?? 0)}, deleted ${String(record.expired ?? 0)}, purged ${String(record.purged ?? 0)}, notices cancelled ${String(record.cancelled ?? 0)}`,
        );
    } else if ('cli' in step) {
      const args = await Promise.all(step.cli.map((a) => resolveArg(a)));
      say(`  ${step.as ? `${step.as}` : ''}$ ecr-steward ${args.join(' ')}`);
      const as = step.as ? credentialsEnv(step.as) : {};
      for (const l of (await cliRun(opts.root, { ...env, ...as }, args)).split('\n').filter(Boolean))
        say(`    ${l}`);
    } else if ('sign' in step) {
      const { repository, tag, key: name, mode } = step.sign;
      const key = opts.prepared?.keys.get(name);
      if (!key) throw new Error(`scenario: no signing key ${name} (list it in signingKeys)`);
      const subject = cloud.ecr.image(repository, tag)?.digest;
      if (!subject) throw new Error(`scenario: no image ${repository}:${tag} to sign`);
      const signature = cosignSign(subject, key.privateKey, {
        mode,
        dockerReference: `${LOCAL_ACCOUNT}.dkr.ecr.${LOCAL_REGION}.amazonaws.com/${repository}`,
      });
      const t0 = Date.now();
      cloud.ecr.putImage(repository, {
        manifest: signature.manifest,
        tags: signature.tag ? [signature.tag] : [],
        blobs: signature.blobs,
      });
      await cloud.settle();
      say(
        `  signed ${repository}:${tag} with key "${name}" (${key.identity}) ${mode === 'referrer' ? 'as an OCI 1.1 referrer (ECR Referrer Action)' : `under the tag ${signature.tag}`} → settled in ${Date.now() - t0} ms`,
      );
      const verdict = await latestVerdict(repository, subject);
      if (verdict) say(`    scan gate: ${verdict}`);
    } else if ('registryOperation' in step) {
      const op = step.registryOperation;
      const principal = principalNamed(op.as).arn;
      cloud.publish(
        cloudTrailOperation(op.name, {
          principal,
          sourceIp: op.sourceIp,
          userAgent: op.userAgent,
          requestParameters: {
            ...(op.repository ? { repositoryName: op.repository } : {}),
            ...op.requestParameters,
          },
        }),
      );
      await cloud.settle();
      say(
        `  ${op.as} calls ${op.name}${op.repository ? ` on ${op.repository}` : ''} from ${op.sourceIp} (${op.userAgent}); CloudTrail → EventBridge → the audit`,
      );
    } else if ('digest' in step) {
      const result = await cloud.runSchedule('DigestSchedule');
      await cloud.settle();
      const digests = cloud.sns.messages.slice(alertsBefore);
      say(
        `  digest schedule fired: ${digests.length} message(s) (${[...new Set(digests.map((m) => topicName(m.topicArn)))].join(', ')})${result.error ? `; error ${JSON.stringify(result.error)}` : ''}`,
      );
      // The whole digest once (the copy on the alerts topic, or the first), then the other recipients by name.
      const shown = digests.find((m) => topicName(m.topicArn) === 'alerts') ?? digests[0];
      if (shown) {
        say(`  ✉ SNS ${topicName(shown.topicArn)}: ${shown.subject ?? ''}`);
        for (const l of shown.message.split('\n')) say(`      ${l}`);
      }
      alertsShown = cloud.sns.messages.length;
    } else if ('htmlReport' in step) {
      const dir = opts.reportsDir ?? path.join(opts.root, '.local', 'reports');
      mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `registry-${cloud.now().toISOString().slice(0, 10)}.html`);
      const args = [
        'report',
        '--all',
        '--format',
        'html',
        '--out',
        file,
        '--since',
        step.htmlReport.since,
        '--now',
        cloud.now().toISOString(),
        '--config',
        opts.prepared?.configPath ?? scenario.config,
      ];
      say(`  $ ecr-steward ${args.map((a) => (a === file ? path.relative(opts.root, file) : a)).join(' ')}`);
      for (const l of (await cliRun(opts.root, env, args)).split('\n').filter(Boolean)) say(`    ${l}`);
      const html = readFileSync(file, 'utf8');
      htmlReport = file;
      report.figures.htmlBytes = html.length;
      say(
        `  wrote ${path.relative(opts.root, file)} (${(html.length / 1024).toFixed(0)} KiB, ${(html.match(/<svg/g) ?? []).length} charts, self-contained: open it in any browser)`,
      );
    } else if ('unsignedCall' in step) {
      const url = new URL(step.unsignedCall.path, cloud.functionUrl('Approvals'));
      say(`  $ curl -X ${step.unsignedCall.method} ${url.pathname}   (no signature)`);
      const answer = await fetch(url, { method: step.unsignedCall.method });
      say(`    ${answer.status} ${await answer.text()}`);
    }
    for (const m of cloud.sns.messages.slice(Math.max(alertsBefore, alertsShown))) {
      const topic = topicName(m.topicArn);
      say(`  ✉ SNS ${topic}: ${m.subject ?? ''}`);
      for (const l of m.message.split('\n').slice(0, 16)) say(`      ${l}`);
    }
    steps.push(report);
  }

  const all = (await audit.recent(new Date(started - DAY).toISOString(), 100_000)).filter(
    (r) => r.status !== 'PLANNED',
  );
  const tally = (f: (r: AuditRecord) => string) => {
    const counts: Record<string, number> = {};
    for (const r of all) counts[f(r)] = (counts[f(r)] ?? 0) + 1;
    return counts;
  };
  ecr.destroy();
  return {
    name: scenario.name,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    steps,
    repositories: scenario.repositories.map((r) => ({
      name: r.name,
      before: before.get(r.name) ?? 0,
      after: cloud.ecr.imageCount(r.name),
    })),
    alerts: cloud.sns.messages.slice(alertsSeen).map((m) => ({
      topic: m.topicArn.split(':').pop() ?? '',
      subject: m.subject ?? '',
      message: m.message,
    })),
    audit: { total: all.length, byActor: tally((r) => r.actor.type), byStatus: tally((r) => r.status) },
    deadLetters: [...cloud.queues]
      .filter(([id]) => id.includes('DeadLetter'))
      .reduce((n, [, q]) => n + q.depth, 0),
    faults: opts.faults?.() ?? null,
    htmlReport,
  };
}

/** `alerts`, `security`, `notices`… from a topic ARN of the template (`…:TopicsSecurity1A2B3C4D`). */
function topicName(topicArn: string): string {
  return (topicArn.split(':').pop() ?? '')
    .replace(/^Topics/, '')
    .replace(/[0-9A-F]{8}$/, '')
    .toLowerCase();
}

function topReasons(records: readonly AuditRecord[]): [string, number][] {
  const m = new Map<string, number>();
  for (const r of records) {
    const reason = (r.actor.reasons?.[0] ?? 'no reason')
      .replace(/number \d+ of \d+|number \d+/, 'beyond the count')
      .replace(/\d+ days ago/, 'N days ago');
    m.set(reason, (m.get(reason) ?? 0) + 1);
  }
  return [...m].sort((a, b) => b[1] - a[1]).slice(0, 6);
}

/** Runs the CLI as a person would, asynchronously: the local cloud answers it from this same process. */
function cliRun(root: string, env: Record<string, string>, args: readonly string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'ecr-steward.js'), ...args], {
      cwd: root,
      env: { ...process.env, ...env },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('close', (code) => resolve(`${out.trimEnd()}${code ? `\n(exit ${code})` : ''}`));
  });
}

/** The `AWS API Call via CloudTrail` event of a BatchDeleteImage call, as EventBridge delivers it. */
export function cloudTrailBatchDelete(
  repository: string,
  digests: readonly string[],
  deleted: readonly { imageDigest?: string; imageTag?: string }[],
  principal: string,
  where: { readonly account: string; readonly region: string } = {
    account: LOCAL_ACCOUNT,
    region: LOCAL_REGION,
  },
): unknown {
  return cloudTrailCall(
    'BatchDeleteImage',
    {
      principal,
      requestParameters: {
        repositoryName: repository,
        imageIds: digests.map((imageDigest) => ({ imageDigest })),
      },
      responseElements: { imageIds: deleted, failures: [] },
    },
    where,
  );
}

/** The `AWS API Call via CloudTrail` event of a registry operation (SetRepositoryPolicy, PutImageTagMutability…). */
export function cloudTrailOperation(
  eventName: string,
  call: {
    readonly principal: string;
    readonly sourceIp: string;
    readonly userAgent: string;
    readonly requestParameters: Record<string, unknown>;
    /** When the call was made (the local cloud's clock). @default now */
    readonly at?: Date | undefined;
  },
  where: { readonly account: string; readonly region: string } = {
    account: LOCAL_ACCOUNT,
    region: LOCAL_REGION,
  },
): unknown {
  return cloudTrailCall(eventName, { ...call, responseElements: null }, where);
}

/** One ECR API call as CloudTrail records it and EventBridge delivers it (`AWS API Call via CloudTrail`). */
function cloudTrailCall(
  eventName: string,
  call: {
    readonly principal: string;
    readonly requestParameters: Record<string, unknown>;
    readonly responseElements: unknown;
    readonly sourceIp?: string | undefined;
    readonly userAgent?: string | undefined;
    readonly at?: Date | undefined;
  },
  where: { readonly account: string; readonly region: string },
): unknown {
  const { account, region } = where;
  const time = (call.at ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.ecr',
    account,
    time,
    region,
    resources: [],
    detail: {
      eventVersion: '1.08',
      userIdentity: { type: 'IAMUser', arn: call.principal, accountId: account },
      eventTime: time,
      eventSource: 'ecr.amazonaws.com',
      eventName,
      awsRegion: region,
      ...(call.sourceIp ? { sourceIPAddress: call.sourceIp } : {}),
      ...(call.userAgent ? { userAgent: call.userAgent } : {}),
      requestParameters: { registryId: account, ...call.requestParameters },
      responseElements: call.responseElements,
      eventID: crypto.randomUUID(),
      readOnly: false,
      eventType: 'AwsApiCall',
      recipientAccountId: account,
    },
  };
}

/** Writes the report as JSON and Markdown; returns the two paths. */
export function writeReport(dir: string, report: ScenarioReport): { json: string; markdown: string } {
  mkdirSync(dir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const json = path.join(dir, `report-${stamp}.json`);
  const markdown = path.join(dir, `report-${stamp}.md`);
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  const md = [
    `# ECR Steward local run: ${report.name}`,
    '',
    `Started ${report.startedAt}, took ${(report.durationMs / 1000).toFixed(1)} s.`,
    '',
    '## Repositories',
    '',
    '| repository | images before | images after |',
    '|---|---:|---:|',
    ...report.repositories.map((r) => `| ${r.name} | ${r.before} | ${r.after} |`),
    '',
    '## Audit table',
    '',
    `${report.audit.total} records. By actor: ${Object.entries(report.audit.byActor)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}. By status: ${Object.entries(report.audit.byStatus)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
    '',
    '## Alerts',
    '',
    ...report.alerts.map((a) => `- **${a.topic}**: ${a.subject}`),
    '',
    `Dead-letter messages: ${report.deadLetters}.`,
    '',
    '## Steps',
    '',
    ...report.steps.flatMap((s) => ['```', ...s.lines, '```']),
    '',
  ];
  writeFileSync(markdown, md.join('\n'));
  return { json, markdown };
}

/** A scenario ready to run: its config with the generated keys' public halves in place, and the keys. */
export interface PreparedScenario {
  /** The config to synthesize and run with (absolute when it was derived). */
  readonly configPath: string;
  readonly keys: ReadonlyMap<string, CosignKeyPair>;
}

/**
 * Generates the scenario's signing keys (those it lists and those its config names) and, when the config names
 * them (`"${signingKey:NAME}"`), writes a copy of the config with their PEMs into `outDir`. Keys live only in
 * this process: nothing secret is written.
 */
export function prepareScenario(root: string, scenario: Scenario, outDir: string): PreparedScenario {
  return prepareConfig(root, scenario.config, outDir, scenario.signingKeys);
}

/** `prepareScenario` for a config alone (`ecr-steward local` without a scenario). */
export function prepareConfig(
  root: string,
  config: string,
  outDir: string,
  names: readonly string[] = [],
): PreparedScenario {
  const text = readFileSync(path.resolve(root, config), 'utf8');
  const marker = /"\$\{signingKey:([A-Za-z0-9_-]+)\}"/g;
  const named = [...text.matchAll(marker)].map((m) => m[1]!);
  const keys = new Map(
    [...new Set([...names, ...named])].map((name) => [name, generateCosignKey()] as const),
  );
  if (named.length === 0) return { configPath: config, keys };
  const derived = text.replace(marker, (_m, name: string) => JSON.stringify(keys.get(name)!.publicKeyPem));
  mkdirSync(outDir, { recursive: true });
  const configPath = path.join(outDir, path.basename(config));
  writeFileSync(configPath, derived);
  return { configPath, keys };
}

export function loadScenario(file: string): Scenario {
  return scenarioSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
}
