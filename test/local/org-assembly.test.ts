import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { orgEnvironmentsOf } from '../../local/org.js';
import { assemblyStacks } from '../../local/synth.js';

/** A manifest.json as `cdk synth` writes it for an organization config (assets and tree left out). */
function assembly(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'org-assembly-'));
  const stack = (environment: string, templateFile: string) => ({
    type: 'aws:cloudformation:stack',
    environment,
    properties: { templateFile },
  });
  writeFileSync(
    path.join(dir, 'manifest.json'),
    JSON.stringify({
      version: '41.0.0',
      artifacts: {
        Tree: { type: 'cdk:tree', properties: { file: 'tree.json' } },
        EcrStewardHub: stack('aws://111111111111/eu-west-1', 'EcrStewardHub.template.json'),
        'EcrSteward-222222222222-eu-west-1': stack(
          'aws://222222222222/eu-west-1',
          'EcrSteward-222222222222-eu-west-1.template.json',
        ),
        Agnostic: stack('aws://unknown-account/unknown-region', 'Agnostic.template.json'),
      },
    }),
  );
  return dir;
}

describe('assemblyStacks', () => {
  it('lists the stacks of a manifest with the account and region each is bound to', () => {
    // Prepare
    const dir = assembly();

    // Act
    const stacks = assemblyStacks(dir);
    rmSync(dir, { recursive: true, force: true });

    // Assess
    expect(stacks).toEqual([
      {
        name: 'EcrStewardHub',
        templateFile: 'EcrStewardHub.template.json',
        account: '111111111111',
        region: 'eu-west-1',
      },
      {
        name: 'EcrSteward-222222222222-eu-west-1',
        templateFile: 'EcrSteward-222222222222-eu-west-1.template.json',
        account: '222222222222',
        region: 'eu-west-1',
      },
      { name: 'Agnostic', templateFile: 'Agnostic.template.json', account: undefined, region: undefined },
    ]);
  });
});

describe('orgEnvironmentsOf', () => {
  it('names the hub stack and the environment-bound spokes of an assembly', () => {
    // Prepare
    const dir = assembly();

    // Act
    const envs = orgEnvironmentsOf(dir);
    rmSync(dir, { recursive: true, force: true });

    // Assess
    expect(envs).toEqual({
      hub: { account: '111111111111', region: 'eu-west-1', stackName: 'EcrStewardHub' },
      spokes: [
        { account: '222222222222', region: 'eu-west-1', stackName: 'EcrSteward-222222222222-eu-west-1' },
      ],
    });
  });
});
