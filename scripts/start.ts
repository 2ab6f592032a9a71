/**
 * `npm start`: the whole system on the embedded local cloud, no AWS account needed. Synthesizes the app
 * (functions bundled by esbuild as for Lambda), starts the local cloud from the template, runs a narrated
 * scenario and writes a report under .local/reports (Markdown, JSON and the registry's HTML storage and cost
 * report, whose path is the run's last line); then does the same for an organization (a hub and two
 * spokes, local/org-scenario.ts). `npm start -- --scenario FILE` runs one scenario of your own: an organization
 * one when the file says `"organization": true`, else one of the single-account kind.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LocalCloud } from '../local/cloud.js';
import {
  formatOrgSummary,
  isOrgScenarioFile,
  parseOrgScenario,
  runOrgScenario,
  writeOrgReport,
} from '../local/org-scenario.js';
import { loadScenario, prepareScenario, runScenario, writeReport } from '../local/scenario.js';
import { synthesize } from '../local/synth.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { scenario: { type: 'string' }, 'keep-logs': { type: 'boolean' } } });
const out = path.join(root, '.local');
const say = (line: string) => process.stdout.write(`${line}\n`);

/** The HTML storage and cost report the main scenario wrote, printed again as the run's last line. */
let htmlReport: string | undefined;

/** The single-account scenario (local/scenario.ts). Returns whether it passed. */
async function runMain(scenarioFile: string): Promise<boolean> {
  const scenario = loadScenario(scenarioFile);
  say(`ECR Steward — local run: ${scenario.name}`);
  say(`  scenario ${path.relative(root, scenarioFile)}, config ${scenario.config}`);
  let t = Date.now();
  // Signing keys are made now (never stored); the config gets their public halves before the app is built.
  const prepared = prepareScenario(root, scenario, path.join(out, 'config'));
  if (prepared.keys.size > 0)
    say(
      `  generated ${prepared.keys.size} signing key(s) for this run: ${[...prepared.keys.keys()].join(', ')}`,
    );
  const cdkOut = synthesize(root, prepared.configPath, path.join(out, 'cdk.out'));
  say(
    `  synthesized the app and bundled the functions with esbuild (${((Date.now() - t) / 1000).toFixed(1)} s)`,
  );
  t = Date.now();
  const cloud = await LocalCloud.start({ cdkOut, logDir: path.join(out, 'logs') });
  say(
    `  local cloud up on ${cloud.endpoint} (DynamoDB: dynalite on ${cloud.dynamoEndpoint}); ${cloud.router.rules.length} EventBridge rules and ${cloud.ids.functions.size} functions read from the template (${Date.now() - t} ms)`,
  );
  say('');
  try {
    const report = await runScenario(cloud, scenario, {
      root,
      print: say,
      prepared,
      reportsDir: path.join(out, 'reports'),
    });
    htmlReport = report.htmlReport;
    const files = writeReport(path.join(out, 'reports'), report);
    say('');
    say('Summary');
    for (const r of report.repositories)
      say(`  ${r.name.padEnd(20)} ${String(r.before).padStart(4)} → ${String(r.after).padStart(4)} images`);
    say(
      `  audit records: ${report.audit.total} (${Object.entries(report.audit.byActor)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')})`,
    );
    say(`  alerts: ${report.alerts.length} (${report.alerts.map((a) => a.subject).join(' | ')})`);
    say(`  dead-letter messages: ${report.deadLetters}`);
    say(`  report: ${path.relative(root, files.markdown)} and ${path.relative(root, files.json)}`);
    if (report.htmlReport) say(`  storage and cost report (HTML): ${path.relative(root, report.htmlReport)}`);
    say(`  function logs: ${path.relative(root, path.join(out, 'logs', 'functions.log'))}`);
    return true;
  } catch (e) {
    process.stderr.write(`the scenario failed: ${(e as Error).stack ?? e}\n`);
    return false;
  } finally {
    await cloud.close();
  }
}

/** The organization scenario (local/org-scenario.ts). Returns whether it passed. */
async function runOrg(scenarioFile: string): Promise<boolean> {
  const t = Date.now();
  try {
    const scenario = parseOrgScenario(JSON.parse(readFileSync(scenarioFile, 'utf8')));
    say(`ECR Steward — local organization: ${scenario.name}`);
    say(`  scenario ${path.relative(root, scenarioFile)}, config ${scenario.config}`);
    say('');
    const report = await runOrgScenario(scenario, { root, outDir: out, print: say });
    const files = writeOrgReport(path.join(out, 'reports'), report);
    say('');
    for (const line of formatOrgSummary(report)) say(line);
    say(`  report: ${path.relative(root, files.markdown)} and ${path.relative(root, files.json)}`);
    say(`  function logs: ${path.relative(root, path.join(out, 'logs', 'org'))}/<account>-<region>/`);
    say(`  the organization scenario took ${((Date.now() - t) / 1000).toFixed(1)} s in all`);
    return true;
  } catch (e) {
    process.stderr.write(`the organization scenario failed: ${(e as Error).stack ?? e}\n`);
    return false;
  }
}

let passed: boolean;
if (values.scenario) {
  const file = path.resolve(values.scenario);
  const json: unknown = JSON.parse(readFileSync(file, 'utf8'));
  passed = isOrgScenarioFile(json) ? await runOrg(file) : await runMain(file);
} else {
  // CI runs plain `npm start` as its smoke run: both stories run, and either failing fails it.
  const main = await runMain(path.join(root, 'examples/local/scenario.json'));
  say('');
  say('─'.repeat(100));
  say('');
  const org = await runOrg(path.join(root, 'examples/local/org.json'));
  passed = main && org;
}
if (htmlReport) {
  say('');
  say(`Open the storage and cost report in a browser: ${htmlReport}`);
}
process.exitCode = passed ? 0 : 1;
