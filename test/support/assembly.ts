/**
 * Hand-written cloud assemblies for LocalCloud tests: a template and its functions' code in a temporary folder,
 * as `cdk synth` would leave them, without synthesizing the app. One `assemblies(…)` per test file; `remove()`
 * (in `afterAll`) deletes every folder it wrote.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalCloud } from '../../local/cloud.js';
import type { Template } from '../../local/template.js';

export function assemblies(prefix: string) {
  const dirs: string[] = [];
  /** Writes `template` and, per asset folder (`aws:asset:path`), its `index.js`; returns the assembly's folder. */
  const write = (template: Template, assets: Readonly<Record<string, string>>): string => {
    const dir = mkdtempSync(path.join(tmpdir(), prefix));
    dirs.push(dir);
    for (const [asset, code] of Object.entries(assets)) {
      mkdirSync(path.join(dir, asset));
      writeFileSync(path.join(dir, asset, 'index.js'), code);
    }
    writeFileSync(path.join(dir, 'EcrSteward.template.json'), JSON.stringify(template));
    return dir;
  };
  return {
    /** A local cloud of a new assembly (its logs inside the assembly's folder). */
    start(template: Template, assets: Readonly<Record<string, string>>): Promise<LocalCloud> {
      const dir = write(template, assets);
      return LocalCloud.start({ cdkOut: dir, logDir: path.join(dir, 'logs') });
    },
    remove(): void {
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}
