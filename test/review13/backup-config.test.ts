/**
 * Review of issue 13: `backup` validation. A backup that copies nowhere (its only destination is the source
 * registry itself) and a backup whose destination spoke manages — and so cleans — the very repositories it
 * receives are both accepted without a word today.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig, validateConfig } from '../../functions/shared/config/load.js';
import { replicationRules, spokeEnvironments } from '../../functions/shared/config/organization.js';
import { configWarnings } from '../../functions/shared/config/warnings.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const HUB = { account: '111111111111', region: 'eu-west-1' };

/** Errors of a config document, or [] when valid; plus its warnings. */
function check(document: unknown): { errors: string[]; warnings: string[] } {
  try {
    const config = validateConfig(document);
    return { errors: [], warnings: configWarnings(config) };
  } catch (e) {
    return { errors: [(e as Error).message], warnings: [] };
  }
}

describe('review 13: backup validation', () => {
  it('says so when every spoke is its own only backup destination (the backup copies nothing)', () => {
    // Prepare: both spokes are in eu-west-1, the backup names eu-west-1 and no accounts
    const document = {
      mode: 'enforce',
      organization: {
        hub: HUB,
        targets: [{ accounts: ['222222222222', '333333333333'], regions: ['eu-west-1'] }],
      },
      backup: { repositories: ['services/*'], regions: ['eu-west-1'] },
      selections: [{ name: 's', repositories: ['services/*'], lifecyclePolicy: 'fromRepository' }],
    };
    const config = validateConfig(document);
    // The stacks get no replication configuration at all:
    expect(spokeEnvironments(config).map((env) => replicationRules(config, env))).toEqual([
      undefined,
      undefined,
    ]);

    // Act
    const { errors, warnings } = check(document);

    // Assess: an error or a warning naming backup — today neither.
    expect([...errors, ...warnings].some((m) => /backup/.test(m))).toBe(true);
  });

  it('warns when a backup destination spoke manages the backed-up repositories (its cleanup deletes the copies)', () => {
    // Prepare: the shipped example backs services/* up to 333333333333 us-east-1, a spoke whose "services"
    // selection (no accounts/regions) manages services/* with "keep the last 3": every replica arrives as a push
    // there and is cleaned like the source, while the source's plan says "replicated to us-east-1".
    // (The shipped example now narrows its services selection to the source account, after this finding.)
    const config = validateConfig({
      mode: 'enforce',
      organization: {
        hub: HUB,
        targets: [
          { accounts: ['222222222222'], regions: ['eu-west-1'] },
          { accounts: ['333333333333'], regions: ['us-east-1'] },
        ],
      },
      backup: { repositories: ['services/*'], regions: ['us-east-1'], accounts: ['333333333333'] },
      selections: [{ name: 'services', repositories: ['services/*'], lifecyclePolicy: 'fromRepository' }],
    });
    expect(
      configWarnings(parseConfig(readFileSync(`${ROOT}/examples/org/steward.org.jsonc`, 'utf8'), 'x')),
    ).toEqual([]);

    // Act
    const warnings = configWarnings(config);

    // Assess: README "leave the repositories unmanaged there to keep every copy" — the config should be told.
    expect(warnings.some((w) => /backup/.test(w) && /333333333333/.test(w))).toBe(true);
  });
});
