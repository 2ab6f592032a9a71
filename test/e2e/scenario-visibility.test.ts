/**
 * The visibility steps of `npm start`'s scenario (local/scenario.ts), run on the local cloud from the
 * synthesized template (test/e2e/steward.attribution.jsonc): a repository policy opened to everyone raises the
 * security alert naming who did it, the weekly digest's schedule sends the digest, and the HTML storage and cost
 * report is written under the reports folder with its three charts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHART_IDS } from '../../functions/shared/report/html.js';
import { runScenario, type ScenarioReport, scenarioSchema } from '../../local/scenario.js';
import { type E2E, LOCAL_ACCOUNT, startE2E } from './harness.js';
import { ROOT } from './synth.js';

// jsdom ships no types: the little of it this test reads.
const { JSDOM } = createRequire(import.meta.url)('jsdom') as {
  JSDOM: new (
    html: string,
  ) => {
    window: {
      document: { getElementById(id: string): { tagName: string } | null; body: { textContent: string } };
    };
  };
};

const CONFIG = 'test/e2e/steward.attribution.jsonc';
const REPO = 'services/visible';
const POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: '*', Action: ['ecr:BatchGetImage'] }],
});

let e2e: E2E;
let reportsDir: string;
let report: ScenarioReport;
let printed: string[];
beforeAll(async () => {
  e2e = await startE2E('scenario-visibility', { config: CONFIG });
  reportsDir = mkdtempSync(path.join(tmpdir(), 'steward-reports-'));
  printed = [];
  const scenario = scenarioSchema.parse({
    name: 'visibility',
    config: CONFIG,
    repositories: [{ name: REPO, generate: { devBuilds: 6, untagged: 2, oldestDays: 60 } }],
    steps: [
      {
        registryOperation: {
          name: 'SetRepositoryPolicy',
          repository: REPO,
          as: 'mallory',
          requestParameters: { policyText: POLICY },
        },
      },
      { cli: ['audit', '--operations', '--repository', REPO, '--since', '1h'] },
      { digest: {} },
      { htmlReport: {} },
    ],
  });
  report = await runScenario(e2e.cloud, scenario, {
    root: ROOT,
    print: (line) => printed.push(line),
    reportsDir,
  });
}, 600_000);
afterAll(async () => {
  await e2e?.close();
  if (reportsDir) rmSync(reportsDir, { recursive: true, force: true });
});

describe("npm start's visibility steps (local cloud)", () => {
  it('shows the security alert for a repository policy opened to everyone, naming mallory, and lists the operation', () => {
    const [operation, audit] = report.steps;
    expect(operation?.lines).toContain(
      `  ✉ SNS security: ECR Steward security: repository ${REPO} policy grants access to everyone (*)`,
    );
    expect(operation?.lines).toContain(`      Principal:  arn:aws:iam::${LOCAL_ACCOUNT}:user/mallory`);
    expect(operation?.lines).toContain('      Source IP:  198.51.100.66');
    const rows = audit?.lines.filter((l) => l.includes('SetRepositoryPolicy')) ?? [];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toContain(REPO);
    expect(rows[0]).toContain('mallory');
  });

  it('sends the weekly digest when its schedule fires and prints it in full', () => {
    const digest = report.steps[2]!;
    const subjects = report.alerts
      .map((a) => a.subject)
      .filter((s) => s.startsWith('ECR Steward weekly digest'));
    // One for the selection's subscribers' topic, one for the alerts topic.
    expect(subjects.length).toBeGreaterThanOrEqual(1);
    expect(digest.lines[0]).toMatch(/^ {2}digest schedule fired: \d+ message\(s\) \(.*alerts.*\)$/);
    expect(digest.lines).toContain('      This week');
    expect(digest.lines.filter((l) => l.includes('✉ SNS'))).toHaveLength(1);
  });

  it('writes a self-contained HTML report with its three charts under the reports folder and names it', () => {
    expect(report.htmlReport).toBeDefined();
    expect(path.dirname(report.htmlReport!)).toBe(reportsDir);
    const html = readFileSync(report.htmlReport!, 'utf8');
    const { document } = new JSDOM(html).window;
    for (const id of Object.values(CHART_IDS)) expect(document.getElementById(id)?.tagName).toBe('svg');
    expect(html).not.toMatch(/<script|https?:\/\/[^"' ]*\.(js|css)\b/);
    expect(document.body.textContent).toContain(REPO);
    expect(printed.some((l) => l.includes(`wrote ${path.relative(ROOT, report.htmlReport!)}`))).toBe(true);
    expect(report.deadLetters).toBe(0);
  });
});
