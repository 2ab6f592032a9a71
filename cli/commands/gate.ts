import { ECRClient } from '@aws-sdk/client-ecr';
import { type Command, Option } from 'commander';
import { gatePolicyFor } from '../../functions/scan-gate/core.js';
import {
  type CvssSource,
  normaliseFindings,
  readScanFindings,
  type ScanFindingsOutput,
  scanFindingsOutputSchema,
} from '../../functions/scan-gate/findings.js';
import { evaluateGate, type Verdict } from '../../functions/scan-gate/gate.js';
import { gatePolicySchema } from '../../functions/scan-gate/policy.js';
import { VerdictStore } from '../../functions/scan-gate/verdicts.js';
import { EcrScanReader } from '../../functions/shared/adapters/ecr.js';
import { CLIENT_DEFAULTS } from '../../functions/shared/runtime/clients.js';
import { dynamo, type LiveOptions, loadConfig, region, registryId, verdictTableName } from '../aws.js';
import { parseImageRef } from '../refs.js';
import { CliError, EXIT, ExitWith, parseIsoTime, parseWithSchema, readJsonFile } from '../util.js';

/** Exit codes of the gate: what a pipeline branches on. */
export const GATE_EXIT = { PASS: 0, FAIL: 1, PENDING: 3 } as const;

interface CheckOptions extends LiveOptions {
  readonly format: 'text' | 'json';
  readonly live?: boolean;
}

interface EvaluateOptions {
  readonly policy: string;
  readonly findings: string;
  readonly repository: string;
  readonly tags?: string;
  readonly now?: string;
  readonly cvssSource: CvssSource;
  readonly format: 'text' | 'json';
}

function print(
  format: 'text' | 'json',
  out: Record<string, unknown> & { verdict: string; summary: string },
): never {
  process.stdout.write(format === 'json' ? `${JSON.stringify(out, null, 2)}\n` : `${out.summary}\n`);
  throw new ExitWith(GATE_EXIT[out.verdict as keyof typeof GATE_EXIT] ?? EXIT.internal);
}

/** `ecr-steward gate check|evaluate`: the deploy-time gate for pipelines, and offline policy tests. */
export function registerGate(program: Command): void {
  const gate = program.command('gate').description('scan gate verdicts: exit 0 PASS, 1 FAIL, 3 PENDING');
  gate
    .command('check')
    .description('the verdict of one image, for a deploy pipeline (exit 0 PASS, 1 FAIL, 3 PENDING)')
    .argument('<image>', 'REPOSITORY@DIGEST or REPOSITORY:TAG')
    .option(
      '--live',
      'judge the current findings now with the config, instead of reading the recorded verdict',
    )
    .option('--config <file>', 'config for --live and for images with no verdict yet')
    .option('--verdict-table <name>', 'verdict table name (default: $VERDICT_TABLE_NAME)')
    .option('--registry-id <id>', 'registry (account) id (default: $ECR_STEWARD_REGISTRY_ID or STS)')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (image: string, opts: CheckOptions) => {
      const ref = parseImageRef(image);
      const scans = new EcrScanReader(new ECRClient(CLIENT_DEFAULTS));
      const digest = ref.digest ?? (await scans.digestOfTag(ref.repository, ref.tag));
      if (!digest) throw new CliError(`${image}: no such image`, EXIT.findings);
      const key = {
        registryId: await registryId(opts),
        region: region(),
        repository: ref.repository,
        digest,
      };
      if (!opts.live) {
        const recorded = await new VerdictStore(dynamo(), verdictTableName(opts)).latest(key);
        if (recorded) {
          print(opts.format, {
            image: `${ref.repository}@${digest}`,
            verdict: recorded.verdict,
            // Still one line: the quarantine, when there is one, is said at its end.
            summary: recorded.quarantinedAt
              ? `${recorded.summary} [quarantined since ${recorded.quarantinedAt}]`
              : recorded.summary,
            reasons: recorded.reasons,
            blocking: recorded.blocking,
            at: recorded.at,
            ...(recorded.quarantinedAt
              ? { quarantinedAt: recorded.quarantinedAt, quarantineTag: recorded.quarantineTag }
              : {}),
            source: 'recorded',
          });
        }
      }
      const config = loadConfig(opts.config);
      const meta = await scans.image(ref.repository, digest);
      if (!meta) throw new CliError(`${image}: no such image`, EXIT.findings);
      // Read as the function reads: every page, again while incomplete, so the verdict is the one it would record.
      const scan = await readScanFindings(
        // The adapter's page is the API's shape; readScanFindings parses it with the schema.
        async () => (await scans.scanFindings(ref.repository, digest)) as ScanFindingsOutput,
      );
      const verdict = evaluateGate({
        policy: gatePolicyFor(config.gate, ref.repository),
        repository: ref.repository,
        imageTags: meta.tags,
        pushedAt: meta.pushedAt,
        scanStatus: scan.status,
        findings: scan.findings,
        completeness: scan.completeness,
        cvssSource: config.gate.cvssSource,
        now: new Date(),
      });
      print(opts.format, { image: `${ref.repository}@${digest}`, ...verdictJson(verdict), source: 'live' });
    });
  gate
    .command('evaluate')
    .description('judge an `aws ecr describe-image-scan-findings` output against a gate policy, offline')
    .requiredOption('--policy <file>', 'gate policy JSON')
    .requiredOption('--findings <file>', 'describe-image-scan-findings output (basic or enhanced)')
    .option(
      '--repository <name>',
      'repository name (for allowlist entries scoped to repositories)',
      'unknown',
    )
    .option('--tags <tags>', 'comma-separated image tags (for exempt tags)')
    .option('--now <iso-time>', 'evaluate as of this time (allowlist expiry), default now')
    .addOption(
      new Option(
        '--cvss-source <source>',
        'which CVSS score blockCvssAtOrAbove compares (config gate.cvssSource)',
      )
        .choices(['scanner', 'nvd', 'max'])
        .default('scanner'),
    )
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (opts: EvaluateOptions) => {
      const now = opts.now === undefined ? new Date() : parseIsoTime(opts.now, '--now');
      const policy = parseWithSchema(
        gatePolicySchema,
        await readJsonFile(opts.policy, '--policy'),
        opts.policy,
        '--policy',
        'a gate policy',
      );
      const output = parseWithSchema(
        scanFindingsOutputSchema,
        await readJsonFile(opts.findings, '--findings'),
        opts.findings,
        '--findings',
        'describe-image-scan-findings output',
      );
      const scan = normaliseFindings(output);
      // An offline file has no push time: a scan that is not complete is judged without the grace window.
      const verdict = evaluateGate({
        policy,
        repository: opts.repository,
        imageTags: opts.tags ? opts.tags.split(',') : [],
        scanStatus: scan.status,
        findings: scan.findings,
        completeness: scan.completeness,
        cvssSource: opts.cvssSource,
        now,
      });
      print(opts.format, verdictJson(verdict));
    });
}

function verdictJson(v: Verdict) {
  return {
    verdict: v.verdict,
    summary: v.summary,
    reasons: v.reasons,
    counts: v.counts,
    blocking: v.blocking,
    allowlisted: v.allowlisted.map((a) => ({
      id: a.finding.id,
      package: a.finding.packageName,
      owner: a.entry.owner,
      expiresAt: a.entry.expiresAt,
    })),
    expiredAllowlist: v.expiredAllowlist,
    policyHash: v.policyHash,
  };
}
