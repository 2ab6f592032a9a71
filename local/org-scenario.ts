/**
 * The organization scenario of `npm start` (issue 13 §5): one config synthesized into a hub and its spokes,
 * booted as a {@link LocalOrg} (one front door, one cloud per account and region), then steps narrated as
 * they run — pushes cleaned in each spoke, `ecr-steward audit --org` over both, backup by replication, a
 * burst of manual deletes opening the organization breaker, an outsider refused by the hub bus, the breaker
 * reset — ending with a summary per environment and a report (.local/reports/org.{md,json}).
 *
 * A scenario file says `"organization": true` (that is how `npm start -- --scenario FILE` tells it from the
 * single-account kind of local/scenario.ts). Steps may carry `expect`: a smoke run (CI runs `npm start`)
 * fails when the story does not happen as told, instead of printing a different story.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchDeleteImageCommand, ECRClient } from '@aws-sdk/client-ecr';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import * as z from 'zod';
import type { AuditRecord } from '../functions/shared/audit/records.js';
import { AuditStore, documentClient } from '../functions/shared/audit/store.js';
import { deployPlan, formatDeployPlan } from '../functions/shared/config/deploy-plan.js';
import { parseConfig } from '../functions/shared/config/load.js';
import { ORG_NAMES } from '../functions/shared/config/organization.js';
import { OrgAuditStore } from '../functions/shared/org/org-audit-store.js';
import { OrgBreakerReader } from '../functions/shared/org/org-breaker.js';
import { ociImageManifest } from './ecr-emulator.js';
import { LocalOrg, type OrgEnvironmentSpec, orgEnvironmentsOf } from './org.js';
import { cloudTrailBatchDelete } from './scenario.js';
import { synthesize } from './synth.js';

const ACCOUNT = /^\d{12}$/;
/** An environment of the organization as a scenario names it: `<account>/<region>`. */
const envRef = z
  .string()
  .regex(/^\d{12}\/[a-z]{2}(-[a-z]+)+-\d$/, 'an environment is "<12-digit account>/<region>"');

/** Conditions a step must meet; a step that misses one fails the scenario with what it saw. */
const pushExpect = z.strictObject({
  /** Images ECR Steward deleted in that repository after the push. */
  deleted: z.number().int().min(0).optional(),
  /** The cleanup worker's outcome for that repository: `done`, or `breaker-open` when it refused. */
  outcome: z.string().optional(),
});

const stepSchema = z.union([
  z.strictObject({ say: z.string() }),
  /** Pushes one image per tag, oldest first (a second apart), as CI would; then the organization settles. */
  z.strictObject({
    push: z.strictObject({ env: envRef, repository: z.string(), images: z.array(z.string()).min(1) }),
    expect: pushExpect.optional(),
  }),
  /** The images of a repository in one environment next to its source's: which ones arrived as copies. */
  z.strictObject({
    replicas: z.strictObject({ from: envRef, to: envRef, repository: z.string() }),
    expect: z.strictObject({ copies: z.number().int().min(0) }).optional(),
  }),
  /**
   * A person deletes `count` tagged images with BatchDeleteImage; CloudTrail's record of the call names them
   * (`principal` is an IAM user name of that account). `expect.breaker: "open"` waits for the org breaker.
   */
  z.strictObject({
    deleteByHand: z.strictObject({
      env: envRef,
      repository: z.string(),
      count: z.number().int().min(1),
      principal: z.string().regex(/^[\w+=,.@-]+$/),
    }),
    expect: z.strictObject({ breaker: z.enum(['open', 'closed']).optional() }).optional(),
  }),
  /** A PutEvents call to the hub bus from an account outside the organization. */
  z.strictObject({
    outsiderPutEvents: z.strictObject({ account: z.string().regex(ACCOUNT).optional() }),
    expect: z.strictObject({ errorCode: z.string() }).optional(),
  }),
  /** A CLI command, run as a child process with the credentials of `env` (default: the hub). */
  z.strictObject({
    cli: z.array(z.string()).min(1),
    env: envRef.optional(),
    expect: z
      .strictObject({ exit: z.number().int().default(0), contains: z.array(z.string()).default([]) })
      .optional(),
  }),
]);

/** An organization scenario file (examples/local/org.json). */
export const orgScenarioSchema = z.strictObject({
  $comment: z.string().optional(),
  name: z.string(),
  /** Marks the file as an organization scenario (scripts/start.ts picks the runner by it). */
  organization: z.literal(true),
  /** A config with an `organization` section: synthesized into the hub and spoke stacks. */
  config: z.string(),
  /** The account of `outsiderPutEvents` when the step names none. @default 444444444444 */
  outsider: z.string().regex(ACCOUNT).default('444444444444'),
  /** Images already in a repository before ECR Steward runs (no events: nothing reacts to them). */
  repositories: z
    .array(
      z.strictObject({
        env: envRef,
        name: z.string(),
        images: z.number().int().min(0),
        /** The oldest image's age; the others are spread up to a day ago. */
        oldestDays: z.number().min(1).default(10),
      }),
    )
    .default([]),
  steps: z.array(stepSchema).min(1),
});
export type OrgScenario = z.output<typeof orgScenarioSchema>;
export type OrgStep = OrgScenario['steps'][number];

/** Whether a parsed scenario file is of the organization kind (`"organization": true`). */
export function isOrgScenarioFile(json: unknown): boolean {
  return (
    typeof json === 'object' && json !== null && (json as { organization?: unknown }).organization === true
  );
}

/** Parses an organization scenario file's JSON; throws zod's error naming the field. */
export function parseOrgScenario(json: unknown): OrgScenario {
  return orgScenarioSchema.parse(json);
}

/**
 * Checks that every environment the scenario names is one of `envs` (`<account>/<region>`, the stacks of the
 * synthesized organization); throws naming the first entry that names another.
 */
export function checkScenarioEnvironments(scenario: OrgScenario, envs: readonly string[]): void {
  const check = (ref: string | undefined, where: string) => {
    if (ref !== undefined && !envs.includes(ref))
      throw new Error(
        `${where} names ${ref}, which is not an environment of the organization (${envs.join(', ')})`,
      );
  };
  for (const [i, r] of scenario.repositories.entries()) check(r.env, `repositories[${i}]`);
  for (const [i, s] of scenario.steps.entries()) for (const ref of envRefsOf(s)) check(ref, `steps[${i}]`);
}

/** The environments a step names. */
function envRefsOf(step: OrgStep): string[] {
  if ('push' in step) return [step.push.env];
  if ('replicas' in step) return [step.replicas.from, step.replicas.to];
  if ('deleteByHand' in step) return [step.deleteByHand.env];
  if ('cli' in step) return step.env ? [step.env] : [];
  return [];
}

/** Reads and parses an organization scenario file. */
export function loadOrgScenario(file: string): OrgScenario {
  return parseOrgScenario(JSON.parse(readFileSync(file, 'utf8')));
}

/** One environment's figures at the end of the run. */
export interface OrgEnvironmentReport {
  readonly account: string;
  readonly region: string;
  readonly role: 'hub' | 'spoke';
  readonly stackName: string;
  readonly imagesBefore: number;
  readonly imagesAfter: number;
  /** Items of this environment in the hub's org audit table. */
  readonly forwardedToHub: number;
  /** SNS messages published in this environment (the hub's are the organization's alerts). */
  readonly alerts: number;
}

/** One step as it ran. */
export interface OrgStepReport {
  readonly step: string;
  readonly lines: string[];
  readonly figures: Record<string, number | string>;
}

/** What `runOrgScenario` returns and `writeOrgReport` writes. */
export interface OrgScenarioReport {
  readonly name: string;
  readonly config: string;
  readonly startedAt: string;
  /** Synthesis of every stack, with bundling. */
  readonly synthMs: number;
  readonly bootMs: number;
  /** The steps, from the first to the last. */
  readonly runMs: number;
  readonly environments: OrgEnvironmentReport[];
  readonly hubAlerts: { subject: string; message: string }[];
  readonly steps: OrgStepReport[];
}

/** Options of {@link runOrgScenario}. */
export interface OrgRunOptions {
  /** The checkout: config and CLI paths are relative to it. */
  readonly root: string;
  /** Where the assembly (`org/cdk.out`) and logs (`logs/org`) go, e.g. `<root>/.local`. */
  readonly outDir: string;
  readonly print: (line: string) => void;
}

const DAY = 86_400_000;
const key = (e: { account: string; region: string }) => `${e.account}/${e.region}`;
const split = (ref: string) => {
  const [account, region] = ref.split('/') as [string, string];
  return { account, region };
};

/**
 * Synthesizes the scenario's config, prints the deploy plan, boots the organization and runs the steps.
 * Throws when a step fails or misses its `expect`; the organization is closed either way.
 */
export async function runOrgScenario(scenario: OrgScenario, opts: OrgRunOptions): Promise<OrgScenarioReport> {
  const { root, print } = opts;
  const startedAt = new Date();
  const configText = readFileSync(path.resolve(root, scenario.config), 'utf8');
  const config = parseConfig(configText, scenario.config);
  if (!config.organization)
    throw new Error(`${scenario.config} has no "organization" section: no hub to run`);

  print('The deploy plan of the config: which stack goes where');
  for (const l of formatDeployPlan(deployPlan(config), { configPath: scenario.config }).trimEnd().split('\n'))
    print(`  ${l}`);
  print('');

  let t = Date.now();
  const cdkOut = synthesize(root, scenario.config, path.join(opts.outDir, 'org', 'cdk.out'));
  const synthMs = Date.now() - t;
  const { hub, spokes } = orgEnvironmentsOf(cdkOut);
  const envs = [hub, ...spokes];
  print(
    `  synthesized ${envs.length} stacks (${envs.map((e) => e.stackName).join(', ')}) and bundled their functions with esbuild (${(synthMs / 1000).toFixed(1)} s)`,
  );
  // Checked against the assembly, not the config alone: a scenario step naming an environment without a stack
  // would otherwise fail halfway through the story.
  checkScenarioEnvironments(
    scenario,
    envs.map((e) => key(e)),
  );

  t = Date.now();
  const logDir = path.join(opts.outDir, 'logs', 'org');
  mkdirSync(logDir, { recursive: true });
  const org = await LocalOrg.start({ cdkOut, hub, spokes, logDir });
  const bootMs = Date.now() - t;
  const regions = [...new Set(envs.map((e) => e.region))];
  const accounts = [...new Set(envs.map((e) => e.account))];
  print(
    `  the organization is up behind one front door (${org.frontDoor.url}): ${accounts.length} accounts, ${regions.length} regions (${bootMs} ms)`,
  );
  for (const e of envs) {
    const cloud = org.cloud(e.account, e.region);
    // The hub's rules are on its organization bus, not the default one: count every bus's.
    const rules = [...new Set(cloud.busRouters.values())].reduce((n, r) => n + r.rules.length, 0);
    print(
      `    ${e === hub ? 'hub  ' : 'spoke'} ${e.account} ${e.region.padEnd(10)} ${e.stackName}: ${plural(rules, 'EventBridge rule')} on ${plural(cloud.busRouters.size, 'bus', 'buses')}, ${plural(cloud.ids.functions.size, 'function')}`,
    );
  }
  try {
    return await runSteps(org, scenario, { ...opts, hub, envs, startedAt, synthMs, bootMs });
  } finally {
    await org.close();
  }
}

interface StepContext extends OrgRunOptions {
  readonly hub: OrgEnvironmentSpec;
  readonly envs: readonly OrgEnvironmentSpec[];
  readonly startedAt: Date;
  readonly synthMs: number;
  readonly bootMs: number;
}

async function runSteps(org: LocalOrg, scenario: OrgScenario, ctx: StepContext): Promise<OrgScenarioReport> {
  const { root, print, hub } = ctx;
  const runStarted = Date.now();
  const hubDoc = documentClient(
    new DynamoDBClient({ ...org.clientConfig(hub.account, hub.region), maxAttempts: 10 }),
  );
  const orgAudit = new OrgAuditStore(hubDoc, ORG_NAMES.auditTable);
  const breaker = new OrgBreakerReader(hubDoc, ORG_NAMES.stateTable);
  const cloudOf = (ref: string) => {
    const { account, region } = split(ref);
    return org.cloud(account, region);
  };
  /** The spoke's own audit table (what it deleted and why), read through the front door as the CLI would. */
  const auditOf = (ref: string) => {
    const { account, region } = split(ref);
    const table = cloudOf(ref).cliEnv().AUDIT_TABLE_NAME;
    if (!table) throw new Error(`${ref} has no audit table`);
    return new AuditStore(
      documentClient(new DynamoDBClient({ ...org.clientConfig(account, region), maxAttempts: 10 })),
      table,
    );
  };
  const cliEnv = (ref: string | undefined) => {
    const { account, region } = ref ? split(ref) : hub;
    // The CLI finds the hub's tables from the config's organization.hub, as an operator's would.
    return { ...org.clientEnv(account, region), ECR_STEWARD_CONFIG: scenario.config };
  };

  // Seeded images were pushed before ECR Steward was installed: their events are not replayed.
  const now = Date.now();
  for (const repo of scenario.repositories) {
    const cloud = cloudOf(repo.env);
    if (!cloud.ecr.repositoryNames().includes(repo.name)) cloud.ecr.createRepository(repo.name);
    cloud.eventsOn = false;
    try {
      for (let i = 0; i < repo.images; i++) {
        // Oldest first, spread from `oldestDays` ago to a day ago.
        const age = DAY + ((repo.oldestDays - 1) * DAY * (repo.images - i)) / repo.images;
        cloud.ecr.putImage(repo.name, {
          manifest: ociImageManifest(`${repo.env}/${repo.name}/seed/${i}`, { sizeBytes: 30_000_000 + i }),
          tags: [`build-${String(i + 1).padStart(3, '0')}`],
          pushedAt: new Date(now - age),
        });
      }
    } finally {
      cloud.eventsOn = true;
    }
    print(`  ${repo.env} ${repo.name}: ${repo.images} images already there`);
  }
  const imageCount = (e: { account: string; region: string }) => {
    const cloud = org.cloud(e.account, e.region);
    return cloud.ecr.repositoryNames().reduce((n, r) => n + cloud.ecr.imageCount(r), 0);
  };
  const before = new Map(ctx.envs.map((e) => [key(e), imageCount(e)]));

  const steps: OrgStepReport[] = [];
  const hubAlertsSeen = org.hub.sns.messages.length;
  for (const [index, step] of scenario.steps.entries()) {
    const report: OrgStepReport = { step: Object.keys(step)[0]!, lines: [], figures: {} };
    const say = (line: string) => {
      report.lines.push(line);
      print(line);
    };
    const fail = (what: string): never => {
      throw new Error(`steps[${index}] (${report.step}): ${what}`);
    };
    const hubBefore = org.hub.sns.messages.length;
    if ('say' in step) {
      print('');
      say(`▶ ${step.say}`);
    } else if ('push' in step) {
      const { env, repository, images } = step.push;
      const cloud = cloudOf(env);
      const t0 = Date.now();
      // ECR creates no repository on push; a pipeline's first push goes to one its team created.
      if (!cloud.ecr.repositoryNames().includes(repository)) {
        cloud.ecr.createRepository(repository);
        say(`  ${env}: created ${repository}`);
      }
      for (const [i, tag] of images.entries())
        cloud.ecr.putImage(repository, {
          manifest: ociImageManifest(`${env}/${repository}/pushed/${tag}/${t0}`, { sizeBytes: 52_000_000 }),
          tags: [tag],
          // A second apart, oldest first: "keep the newest N" then reads them in the order they are listed.
          pushedAt: new Date(t0 - (images.length - 1 - i) * 1000),
        });
      await org.settle();
      const ms = Date.now() - t0;
      const since = new Date(t0 - 1000).toISOString();
      const { account, region } = split(env);
      const deleted = (
        await auditOf(env).byRepository({ registryId: account, region, repository }, since, 5000)
      ).filter((r) => r.at >= since && r.status === 'DELETED' && r.actor.type === 'ecr-steward');
      report.figures.pushToSettledMs = ms;
      report.figures.deleted = deleted.length;
      say(
        `  ${env}: pushed ${repository}:${images.join(', ')} → settled in ${ms} ms; ECR Steward deleted ${deleted.length} image(s)`,
      );
      for (const line of deletionLines(deleted)) say(`    ${line}`);
      const worker = cloud.functionId('worker');
      const runs = cloud.functions.logRecords.filter(
        (l) =>
          l.at >= t0 &&
          l.functionId === worker &&
          l.record.message === 'cleanup run' &&
          l.record.repository === repository,
      );
      for (const { record } of runs) {
        const detail = record.outcome !== 'done' && record.detail ? ` — ${String(record.detail)}` : '';
        say(
          `    worker: ${String(record.outcome)}${detail}; ${String(record.images)} images, ${String(record.expired)} expired${Number(record.deferred ?? 0) > 0 ? `, ${String(record.deferred)} deferred` : ''}`,
        );
      }
      const last = runs.at(-1)?.record.outcome;
      if (last !== undefined) report.figures.outcome = String(last);
      if (step.expect?.deleted !== undefined && deleted.length !== step.expect.deleted)
        fail(`expected ${step.expect.deleted} deletion(s) in ${env} ${repository}, saw ${deleted.length}`);
      if (step.expect?.outcome !== undefined && last !== step.expect.outcome)
        fail(`expected the worker's outcome ${step.expect.outcome}, saw ${String(last ?? 'no run')}`);
    } else if ('replicas' in step) {
      const { from, to, repository } = step.replicas;
      await org.settle();
      const source = cloudOf(from);
      const copies = cloudOf(to).ecr.repositoryNames().includes(repository)
        ? cloudOf(to).ecr.images(repository)
        : [];
      const inSource = new Set(
        source.ecr.repositoryNames().includes(repository)
          ? source.ecr.images(repository).map((i) => i.digest)
          : [],
      );
      const byTag = (a: { tags: readonly string[] }, b: { tags: readonly string[] }) =>
        (a.tags[0] ?? '').localeCompare(b.tags[0] ?? '');
      say(`  ${to} ${repository}: ${copies.length} image(s) copied from ${from} by ECR replication`);
      for (const c of [...copies].sort(byTag))
        say(
          `    ${(c.tags.join(',') || '<untagged>').padEnd(12)} ${c.digest.slice(0, 19)}…  ${inSource.has(c.digest) ? `also in ${from}` : `only here now (deleted in ${from}; deletes are not replicated)`}`,
        );
      // The destination's own config decides what happens to the copies there (issue 13 §3).
      const dest = split(to);
      const since = new Date(runStarted).toISOString();
      const pruned = (
        await auditOf(to).byRepository(
          { registryId: dest.account, region: dest.region, repository },
          since,
          5000,
        )
      ).filter((r) => r.status === 'DELETED' && r.actor.type === 'ecr-steward');
      say(
        `  ${to}'s own config decides there: ECR Steward deleted ${pruned.length} cop${pruned.length === 1 ? 'y' : 'ies'}`,
      );
      for (const line of deletionLines(pruned)) say(`    ${line}`);
      report.figures.copies = copies.length;
      report.figures.copiesDeletedInDestination = pruned.length;
      if (step.expect && copies.length !== step.expect.copies)
        fail(`expected ${step.expect.copies} copies in ${to} ${repository}, saw ${copies.length}`);
    } else if ('deleteByHand' in step) {
      const { env, repository, count, principal: user } = step.deleteByHand;
      const { account, region } = split(env);
      const cloud = cloudOf(env);
      const principal = `arn:aws:iam::${account}:user/${user}`;
      const victims = cloud.ecr
        .images(repository)
        .filter((i) => i.tags.length > 0)
        .slice(0, count)
        .map((i) => i.digest);
      if (victims.length < count)
        fail(`${env} ${repository} has ${victims.length} tagged images, not ${count}`);
      const ecr = new ECRClient({ ...org.clientConfig(account, region), maxAttempts: 5 });
      const t0 = Date.now();
      try {
        for (let i = 0; i < victims.length; i += 100) {
          const batch = victims.slice(i, i + 100).map((imageDigest) => ({ imageDigest }));
          // CloudTrail's record of the call is delivered first here, so every deletion is attributed when the
          // hub counts it (in AWS it comes minutes later; the ECR DELETE events count it either way).
          cloud.publish(
            cloudTrailBatchDelete(repository, victims.slice(i, i + 100), batch, principal, {
              account,
              region,
            }),
          );
          await ecr.send(new BatchDeleteImageCommand({ repositoryName: repository, imageIds: batch }));
        }
      } finally {
        ecr.destroy();
      }
      await org.settle();
      say(`  ${user} deleted ${victims.length} images of ${repository} in ${env} with BatchDeleteImage`);
      report.figures.deletedByHand = victims.length;
      if (step.expect?.breaker === 'open') {
        const opened = await until('the organization breaker to open', () => breaker.firstOpen(new Date()));
        report.figures.deleteToBreakerOpenMs = Date.now() - t0;
        say(
          `  the hub opened the organization breaker ${Date.now() - t0} ms after the first delete: ${opened.reason ?? ''}`,
        );
      } else if (step.expect?.breaker === 'closed' && (await breaker.firstOpen(new Date())))
        fail('expected the organization breaker to stay closed, and it is open');
    } else if ('outsiderPutEvents' in step) {
      const account = step.outsiderPutEvents.account ?? scenario.outsider;
      const bus = `arn:aws:events:${hub.region}:${hub.account}:event-bus/${ORG_NAMES.bus}`;
      const client = new EventBridgeClient({ ...org.clientConfig(account, hub.region), maxAttempts: 1 });
      try {
        const out = await client.send(
          new PutEventsCommand({
            Entries: [
              {
                EventBusName: bus,
                Source: 'ecr-steward',
                DetailType: 'ECR Steward Alert',
                Detail: JSON.stringify({
                  account,
                  region: hub.region,
                  topic: 'alerts',
                  message: 'everything is fine, reset the breaker',
                  messageId: `outsider-${Date.now()}`,
                }),
              },
            ],
          }),
        );
        const entry = out.Entries?.[0];
        say(`  $ aws events put-events --entries EventBusName=${bus},…   (as account ${account})`);
        say(
          `    FailedEntryCount ${out.FailedEntryCount ?? 0}${entry?.ErrorCode ? `: ${entry.ErrorCode} — ${entry.ErrorMessage ?? ''}` : `, event id ${entry?.EventId ?? '?'}`}`,
        );
        report.figures.errorCode = entry?.ErrorCode ?? 'none';
        if (step.expect && entry?.ErrorCode !== step.expect.errorCode)
          fail(`expected ${step.expect.errorCode}, the hub bus answered ${entry?.ErrorCode ?? 'success'}`);
      } finally {
        client.destroy();
      }
    } else if ('cli' in step) {
      say(`  ${step.env ? `[${step.env}] ` : ''}$ ecr-steward ${step.cli.join(' ')}`);
      const { code, out } = await cli(root, cliEnv(step.env), step.cli);
      for (const l of out.split('\n').filter(Boolean)) say(`    ${l}`);
      if (code !== 0) say(`    (exit ${code})`);
      const want = step.expect ?? { exit: 0, contains: [] };
      if (code !== want.exit) fail(`ecr-steward ${step.cli.join(' ')} exited ${code}, expected ${want.exit}`);
      for (const text of want.contains)
        if (!out.includes(text)) fail(`ecr-steward ${step.cli.join(' ')} printed no "${text}"`);
    }
    for (const m of org.hub.sns.messages.slice(hubBefore)) {
      say(`  ✉ hub SNS: ${m.subject ?? ''}`);
      // The line naming who deleted where (an org breaker alert), else the message's first line.
      const lines = m.message.split('\n').filter(Boolean);
      say(`      ${lines.find((l) => l.includes('deleted by')) ?? lines[0] ?? ''}`);
    }
    steps.push(report);
  }
  const runMs = Date.now() - runStarted;

  await org.settle();
  const environments: OrgEnvironmentReport[] = [];
  for (const e of ctx.envs) {
    const cloud = org.cloud(e.account, e.region);
    environments.push({
      account: e.account,
      region: e.region,
      role: e === hub ? 'hub' : 'spoke',
      stackName: e.stackName,
      imagesBefore: before.get(key(e)) ?? 0,
      imagesAfter: imageCount(e),
      forwardedToHub: e === hub ? 0 : (await orgAudit.byEnvironment(e, undefined, 100_000)).length,
      alerts: cloud.sns.messages.length,
    });
  }
  hubDoc.destroy();
  return {
    name: scenario.name,
    config: scenario.config,
    startedAt: ctx.startedAt.toISOString(),
    synthMs: ctx.synthMs,
    bootMs: ctx.bootMs,
    runMs,
    environments,
    hubAlerts: org.hub.sns.messages
      .slice(hubAlertsSeen)
      .map((m) => ({ subject: m.subject ?? '', message: m.message })),
    steps,
  };
}

/** What a spoke deleted, grouped by reason: the rule's reason, then any note (e.g. "replicated to …"). */
function deletionLines(records: readonly AuditRecord[]): string[] {
  const groups = new Map<string, string[]>();
  for (const r of records) {
    // Ranks and ages differ per image; without them the reasons group into one line per rule.
    const reason = (r.actor.reasons ?? ['no reason'])
      .join('; ')
      .replace(/; this is number \d+/, '')
      .replace(/pushed \d+ days? ago, /, 'pushed ');
    groups.set(reason, [...(groups.get(reason) ?? []), r.tags?.[0] ?? r.digest.slice(0, 19)]);
  }
  return [...groups].map(
    ([reason, tags]) => `${String(tags.length).padStart(3)} × ${reason} (${tags.sort().join(', ')})`,
  );
}

/** `1 rule`, `2 rules`. */
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Polls until `check` returns a value, or throws after `timeoutMs`. */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs the CLI as a person would, as a child process: the organization answers it from this process. */
function cli(
  root: string,
  env: Record<string, string>,
  args: readonly string[],
): Promise<{ code: number; out: string }> {
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
    child.on('close', (code) => resolve({ code: code ?? 1, out: out.trimEnd() }));
  });
}

/** The closing summary: per environment, images before → after, records forwarded to the hub, alerts. */
export function formatOrgSummary(report: OrgScenarioReport): string[] {
  const lines = ['Summary (organization)'];
  for (const e of report.environments)
    lines.push(
      `  ${e.role.padEnd(5)} ${e.account} ${e.region.padEnd(10)} images ${String(e.imagesBefore).padStart(3)} → ${String(e.imagesAfter).padStart(3)}${e.role === 'spoke' ? `; ${String(e.forwardedToHub).padStart(3)} records forwarded to the hub` : ''}; ${e.alerts} SNS message(s)`,
    );
  lines.push(
    `  hub alerts: ${report.hubAlerts.length}${report.hubAlerts.length > 0 ? ` (${report.hubAlerts.map((a) => a.subject).join(' | ')})` : ''}`,
    `  took: synthesis ${(report.synthMs / 1000).toFixed(1)} s, boot ${(report.bootMs / 1000).toFixed(1)} s, steps ${(report.runMs / 1000).toFixed(1)} s`,
  );
  return lines;
}

/** Writes the report as `org.json` and `org.md` in `dir` (the latest run replaces the previous one). */
export function writeOrgReport(dir: string, report: OrgScenarioReport): { json: string; markdown: string } {
  mkdirSync(dir, { recursive: true });
  const json = path.join(dir, 'org.json');
  const markdown = path.join(dir, 'org.md');
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  const md = [
    `# ECR Steward local organization: ${report.name}`,
    '',
    `Config \`${report.config}\`. Started ${report.startedAt}: synthesis ${(report.synthMs / 1000).toFixed(1)} s, boot ${(report.bootMs / 1000).toFixed(1)} s, steps ${(report.runMs / 1000).toFixed(1)} s.`,
    '',
    '## Environments',
    '',
    '| role | account | region | stack | images before | images after | records forwarded to the hub | SNS messages |',
    '|---|---|---|---|---:|---:|---:|---:|',
    ...report.environments.map(
      (e) =>
        `| ${e.role} | ${e.account} | ${e.region} | ${e.stackName} | ${e.imagesBefore} | ${e.imagesAfter} | ${e.role === 'hub' ? '—' : e.forwardedToHub} | ${e.alerts} |`,
    ),
    '',
    '## Hub alerts',
    '',
    ...(report.hubAlerts.length === 0 ? ['None.'] : report.hubAlerts.map((a) => `- ${a.subject}`)),
    '',
    '## Steps',
    '',
    ...report.steps.flatMap((s) => ['```', ...s.lines, '```']),
    '',
  ];
  writeFileSync(markdown, md.join('\n'));
  return { json, markdown };
}
