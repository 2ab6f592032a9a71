/**
 * The intake (functions/cleanup/intake.ts) is bundled on its own (lib/constructs/cleanup.ts), so its cold start,
 * on the path of the first push after a quiet spell, loads an SQS client and the arrival schemas, and nothing of
 * the cleanup core. Bundled here as the stack bundles it.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The inputs of an entry's bundle (stack options), relative to the project root. */
async function inputsOf(entry: string): Promise<string[]> {
  const { metafile } = await build({
    entryPoints: [path.join(ROOT, entry)],
    bundle: true,
    write: false,
    metafile: true,
    minify: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    mainFields: ['module', 'main'],
    define: { __STEWARD_CONFIG__: JSON.stringify('{}') },
    logLevel: 'silent',
  });
  return Object.keys(metafile.inputs).map((f) => path.relative(ROOT, path.resolve(ROOT, f)));
}

const packageOf = (input: string) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1];

describe('the intake bundle', () => {
  it('holds the arrival schemas and an SQS client, and nothing of the cleanup core', async () => {
    const [intake, worker] = await Promise.all([
      inputsOf('functions/cleanup/intake.ts'),
      inputsOf('functions/cleanup/handler.ts'),
    ]);
    const ours = (inputs: string[]) => inputs.filter((f) => f.startsWith('functions/')).sort();
    const sdkClients = (inputs: string[]) =>
      [...new Set(inputs.map(packageOf).filter((p) => p?.startsWith('@aws-sdk/client-')))].sort();

    expect(sdkClients(intake)).toEqual(['@aws-sdk/client-sqs']);
    expect(ours(intake)).toEqual([
      'functions/cleanup/intake.ts',
      'functions/cleanup/queue-ids.ts',
      'functions/cleanup/schema.ts',
      'functions/shared/events/envelope.ts',
      'functions/shared/runtime/clients.ts',
      'functions/shared/runtime/constants.ts',
      'functions/shared/runtime/env.ts',
    ]);
    // The worker's bundle, for contrast: the core and the clients it cleans with.
    expect(ours(worker)).toContain('functions/cleanup/core.ts');
    expect(sdkClients(worker)).toEqual(
      expect.arrayContaining(['@aws-sdk/client-ecr', '@aws-sdk/client-dynamodb']),
    );
  });
});
