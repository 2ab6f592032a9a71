import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';

/**
 * Synthesizes the app with a config into `outDir`, bundling the functions with esbuild exactly as
 * `cdk deploy` would. Returns the cloud assembly directory.
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
