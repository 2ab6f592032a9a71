import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';

interface LocalOptions {
  readonly config: string;
  readonly scenario?: string;
}

/** `ecr-steward local`: keeps the local cloud running so the CLI and the SDK can be pointed at it. */
export function registerLocal(program: Command): void {
  program
    .command('local')
    .description(
      'start the local cloud (no AWS account) and keep it running; prints the environment to export',
    )
    .option(
      '--config <file>',
      'steward config to synthesize the app with',
      'examples/local/steward.local.jsonc',
    )
    .option('--scenario <file>', 'seed it with a scenario first (e.g. examples/local/scenario.json)')
    .action(async (opts: LocalOptions) => {
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
      // Loaded on demand: the other commands never need the local cloud's code.
      const { LocalCloud } = await import('../../local/cloud.js');
      const { synthesize } = await import('../../local/synth.js');
      const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
      const out = path.join(root, '.local');
      process.stdout.write(`synthesizing with ${opts.config} …\n`);
      // A config naming run-time signing keys (`"${signingKey:NAME}"`) gets them generated now, never stored.
      const { loadScenario, prepareConfig, runScenario } = await import('../../local/scenario.js');
      const scenario = opts.scenario ? loadScenario(opts.scenario) : undefined;
      const prepared = prepareConfig(root, opts.config, path.join(out, 'config'), scenario?.signingKeys);
      const cdkOut = synthesize(root, prepared.configPath, path.join(out, 'cdk.out'));
      const cloud = await LocalCloud.start({
        cdkOut,
        logDir: path.join(out, 'logs'),
        onActivity: (line) => process.stdout.write(`  ${line}\n`),
      });
      if (scenario) {
        await runScenario(cloud, scenario, {
          root,
          print: (l) => process.stdout.write(`${l}\n`),
          prepared,
        });
      }
      process.stdout.write(`\nThe local cloud is running. In another shell:\n\n`);
      for (const [k, v] of Object.entries(cloud.cliEnv())) process.stdout.write(`  export ${k}=${v}\n`);
      process.stdout.write(
        `\nthen e.g.  npx ecr-steward audit --since 1h   ·   aws ecr describe-repositories\nCtrl-C stops it.\n`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await cloud.close();
    });
}
