import { describe, expect, it } from 'vitest';
import { selectionFor, validateConfig, writeScope } from '../../functions/shared/config/load.js';
import type { StewardConfig } from '../../functions/shared/config/schema.js';
import { keepNewest } from '../fixtures/images.js';

const config = (selections: Record<string, unknown>[]): StewardConfig =>
  validateConfig({ selections: selections.map((s) => ({ lifecyclePolicy: keepNewest(1), ...s })) });

describe('writeScope', () => {
  it('scopes name globs by name, tag selections and wide globs by tags, each tag set once', () => {
    // Prepare
    const c = config([
      { repositories: ['services/*', 'web'] },
      { repositoryTags: { team: 'data' } },
      { repositories: ['*'] },
      { repositories: ['*-prod'], repositoryTags: { env: 'prod' } },
      { repositories: ['web'] },
    ]);

    // Act
    const scope = writeScope(c);

    // Assess
    expect(scope).toEqual({
      byName: ['services/*', 'web'],
      byTags: [{ team: 'data' }, { steward: 'managed' }, { env: 'prod', steward: 'managed' }],
    });
  });

  it('agrees with selectionFor: a wide glob manages only repositories tagged steward=managed', () => {
    // Prepare
    const c = config([{ repositories: ['*'] }]);

    // Act / Assess
    expect(selectionFor(c, 'anything', {})).toBeUndefined();
    expect(selectionFor(c, 'anything')).toBeUndefined();
    expect(selectionFor(c, 'anything', { steward: 'managed' })).toBe(c.selections[0]);
  });

  it('throws rather than return an empty tag set, which would grant writes on every repository', () => {
    // Prepare: a config the schema refuses, built by hand as a library caller might.
    const c = { ...config([{ repositories: ['web'] }]) };
    const bad = { ...c, selections: [{ ...c.selections[0]!, repositories: undefined, repositoryTags: {} }] };

    // Act / Assess
    expect(() => writeScope(bad as StewardConfig)).toThrow('selection : repositoryTags is empty');
  });
});
