/**
 * `npm start`: the whole system on the embedded local cloud, no AWS account needed. Synthesizes the app
 * (functions bundled by esbuild as for Lambda), starts the local cloud from the template, runs a narrated
 * scenario and writes a report under .local/reports. `npm start -- --scenario FILE` runs your own.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LocalCloud } from '../local/cloud.js';
import { loadScenario, prepareScenario, runScenario, writeReport } from '../local/scenario.js';
import { synthesize } from '../local/synth.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { scenario: { type: 'string' }, 'keep-logs': { type: 'boolean' } } });
const scenarioFile = path.resolve(values.scenario ?? path.join(root, 'examples/local/scenario.json'));
const scenario = loadScenario(scenarioFile);
const out = path.join(root, '.local');
const say = (line: string) => process.stdout.write(`${line}\n`);

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
let failed = false;
try {
  const report = await runScenario(cloud, scenario, { root, print: say, prepared });
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
  say(`  function logs: ${path.relative(root, path.join(out, 'logs', 'functions.log'))}`);
} catch (e) {
  failed = true;
  process.stderr.write(`the scenario failed: ${(e as Error).stack ?? e}\n`);
} finally {
  await cloud.close();
}
process.exitCode = failed ? 1 : 0;
