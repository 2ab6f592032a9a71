import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { CliError, packageRoot } from '../util.js';

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
      const root = packageRoot();
      const { LocalCloud, synthesize, loadScenario, prepareConfig, runScenario } = await loadLocalCloud(root);
      const out = path.join(root, '.local');
      process.stdout.write(`synthesizing with ${opts.config} …\n`);
      // A config naming run-time signing keys (`"${signingKey:NAME}"`) gets them generated now, never stored.
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

/**
 * The local cloud's code, loaded from the checkout's TypeScript sources, never bundled into the CLI: it
 * synthesizes the CDK app with the checkout's `cdk` and serves DynamoDB with dynalite, both development
 * dependencies, so `ecr-steward local` is a tool of a checkout (after `npm ci`), not of an installed package.
 * tsx's `tsImport` compiles them for this call alone, whether the CLI runs from its bundle or from tsx.
 */
async function loadLocalCloud(root: string) {
  if (!existsSync(path.join(root, 'local', 'cloud.ts')))
    throw new CliError(
      'ecr-steward local runs inside an ecr-steward checkout (git clone, then npm ci): it synthesizes the CDK app and runs dynalite, which an installed ecr-steward does not carry',
    );
  let tsImport: typeof import('tsx/esm/api').tsImport;
  try {
    ({ tsImport } = await import('tsx/esm/api'));
  } catch {
    throw new CliError(
      'ecr-steward local needs the development dependencies (tsx): run npm ci in the checkout',
    );
  }
  const load = (file: string): Promise<unknown> =>
    tsImport(pathToFileURL(path.join(root, file)).href, import.meta.url);
  const [cloud, synth, scenario] = await Promise.all([
    load('local/cloud.ts') as Promise<typeof import('../../local/cloud.js')>,
    load('local/synth.ts') as Promise<typeof import('../../local/synth.js')>,
    load('local/scenario.ts') as Promise<typeof import('../../local/scenario.js')>,
  ]);
  return {
    LocalCloud: cloud.LocalCloud,
    synthesize: synth.synthesize,
    loadScenario: scenario.loadScenario,
    prepareConfig: scenario.prepareConfig,
    runScenario: scenario.runScenario,
  };
}
