/**
 * The organization scenario file (local/org-scenario.ts) without booting anything: the committed example parses
 * and names only environments of its config's deploy plan, the two scenario kinds are told apart, bad files
 * fail with the field named, and the report is written where `npm start` says.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deployPlan } from '../../functions/shared/config/deploy-plan.js';
import { parseConfig } from '../../functions/shared/config/load.js';
import {
  checkScenarioEnvironments,
  formatOrgSummary,
  isOrgScenarioFile,
  type OrgScenarioReport,
  parseOrgScenario,
  writeOrgReport,
} from '../../local/org-scenario.js';
import { loadScenario } from '../../local/scenario.js';
import { ROOT } from '../e2e/synth.js';

const ORG_FILE = path.join(ROOT, 'examples/local/org.json');
const MAIN_FILE = path.join(ROOT, 'examples/local/scenario.json');
const readJson = (file: string): unknown => JSON.parse(readFileSync(file, 'utf8'));
/** A fresh copy of the example, for a test to break. */
const example = () => readJson(ORG_FILE) as Record<string, unknown> & { steps: unknown[] };

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('the organization scenario file', () => {
  it('parses the committed example and names only environments of its config', () => {
    // Prepare
    const scenario = parseOrgScenario(readJson(ORG_FILE));
    const config = parseConfig(readFileSync(path.join(ROOT, scenario.config), 'utf8'), scenario.config);
    const envs = deployPlan(config).stacks.map((s) => `${s.account}/${s.region}`);

    // Act
    const check = () => checkScenarioEnvironments(scenario, envs);

    // Assess
    expect(check).not.toThrow();
    expect(envs).toHaveLength(3);
    expect(scenario.outsider).toBe('444444444444');
  });

  it('tells the organization kind from the single-account kind', () => {
    expect(isOrgScenarioFile(readJson(ORG_FILE))).toBe(true);
    expect(isOrgScenarioFile(readJson(MAIN_FILE))).toBe(false);
    expect(isOrgScenarioFile({ organization: 'yes' })).toBe(false);
    // Each runner refuses the other's file, so a mix-up fails at once rather than halfway.
    expect(() => loadScenario(ORG_FILE)).toThrow();
    expect(() => parseOrgScenario(readJson(MAIN_FILE))).toThrow();
  });

  it('throws naming the step when a step names an environment the organization lacks', () => {
    // Prepare
    const json = example();
    json.steps.push({ push: { env: '999999999999/eu-west-1', repository: 'x', images: ['a'] } });
    const scenario = parseOrgScenario(json);

    // Act
    const check = () =>
      checkScenarioEnvironments(scenario, [
        '111111111111/eu-west-1',
        '222222222222/eu-west-1',
        '333333333333/us-east-1',
      ]);

    // Assess
    expect(check).toThrow(/steps\[\d+\] names 999999999999\/eu-west-1/);
  });

  it.each([
    ['an environment without its region', { push: { env: '222222222222', repository: 'x', images: ['a'] } }],
    ['a push of no image', { push: { env: '222222222222/eu-west-1', repository: 'x', images: [] } }],
    ['an unknown step', { teleport: {} }],
    ['an unknown expectation', { cli: ['audit', '--org'], expect: { exitCode: 0 } }],
  ])('rejects %s', (_what, step) => {
    // Prepare
    const json = example();
    json.steps.push(step);

    // Act, Assess
    expect(() => parseOrgScenario(json)).toThrow();
  });

  it('fills the CLI expectation with exit 0 when a step gives only the text', () => {
    // Prepare
    const json = example();
    json.steps = [{ cli: ['breaker', 'status', '--org'], expect: { contains: ['OPEN'] } }];

    // Act
    const [step] = parseOrgScenario(json).steps;

    // Assess
    expect(step).toEqual({ cli: ['breaker', 'status', '--org'], expect: { exit: 0, contains: ['OPEN'] } });
  });

  it('writes org.md and org.json and sums up every environment', () => {
    // Prepare
    dir = mkdtempSync(path.join(tmpdir(), 'org-report-'));
    const report: OrgScenarioReport = {
      name: 'test',
      config: 'examples/org/steward.org.jsonc',
      startedAt: '2026-01-01T00:00:00.000Z',
      synthMs: 20_000,
      bootMs: 400,
      runMs: 16_000,
      environments: [
        {
          account: '111111111111',
          region: 'eu-west-1',
          role: 'hub',
          stackName: 'EcrStewardHub',
          imagesBefore: 0,
          imagesAfter: 0,
          forwardedToHub: 0,
          alerts: 1,
        },
        {
          account: '222222222222',
          region: 'eu-west-1',
          role: 'spoke',
          stackName: 'EcrSteward-222222222222-eu-west-1',
          imagesBefore: 45,
          imagesAfter: 4,
          forwardedToHub: 46,
          alerts: 0,
        },
      ],
      hubAlerts: [{ subject: 'ECR Steward: 21 image deletions', message: '…' }],
      steps: [{ step: 'say', lines: ['▶ hello'], figures: {} }],
    };

    // Act
    const files = writeOrgReport(dir, report);
    const summary = formatOrgSummary(report);

    // Assess
    expect(path.basename(files.json)).toBe('org.json');
    expect(path.basename(files.markdown)).toBe('org.md');
    expect(readJson(files.json)).toEqual(report);
    expect(readFileSync(files.markdown, 'utf8')).toContain(
      '| spoke | 222222222222 | eu-west-1 | EcrSteward-222222222222-eu-west-1 | 45 | 4 | 46 | 0 |',
    );
    expect(summary.join('\n')).toContain(
      '222222222222 eu-west-1  images  45 →   4;  46 records forwarded to the hub',
    );
    expect(summary.join('\n')).toContain('hub alerts: 1 (ECR Steward: 21 image deletions)');
  });
});
