import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * Synthesizes the app with a config into `outDir`, bundling the functions with esbuild exactly as
 * `cdk deploy` would: every stack of the app, so a config with `organization` gives the hub stack and one
 * stack per spoke (`<stackName>.template.json` each; see {@link assemblyStacks}). Returns the cloud assembly
 * directory.
 */
export function synthesize(root: string, configPath: string, outDir: string): string {
  mkdirSync(path.dirname(outDir), { recursive: true });
  const cdk = path.join(root, 'node_modules', '.bin', 'cdk');
  execFileSync(
    existsSync(cdk) ? cdk : 'npx',
    [...(existsSync(cdk) ? [] : ['cdk']), 'synth', '-q', '-c', `config=${configPath}`, '--output', outDir],
    {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', CDK_DISABLE_CLI_TELEMETRY: '1' },
    },
  );
  return outDir;
}

/** One stack of a cloud assembly: its name, template file and the environment it is bound to (if any). */
export interface AssemblyStack {
  readonly name: string;
  readonly templateFile: string;
  /** From `aws://<account>/<region>`; undefined when the stack is environment-agnostic (`unknown-account`). */
  readonly account?: string | undefined;
  readonly region?: string | undefined;
}

/**
 * Every CloudFormation stack of a synthesized assembly (`manifest.json`), in manifest order: a config with
 * `organization` gives the hub stack and one stack per spoke, each bound to its account and region.
 */
export function assemblyStacks(cdkOut: string): AssemblyStack[] {
  const manifest = JSON.parse(readFileSync(path.join(cdkOut, 'manifest.json'), 'utf8')) as {
    artifacts?: Record<
      string,
      { type?: string; environment?: string; properties?: { templateFile?: string } }
    >;
  };
  return Object.entries(manifest.artifacts ?? {})
    .filter(([, a]) => a.type === 'aws:cloudformation:stack')
    .map(([name, a]) => {
      const m = /^aws:\/\/(\d{12})\/([a-z0-9-]+)$/.exec(a.environment ?? '');
      return {
        name,
        templateFile: a.properties?.templateFile ?? `${name}.template.json`,
        account: m?.[1],
        region: m?.[2],
      };
    });
}
