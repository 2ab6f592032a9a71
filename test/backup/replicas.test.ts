import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backupCovers, replicaNote, withReplicas } from '../../functions/shared/backup/replicas.js';
import { literalPrefix } from '../../functions/shared/config/organization.js';
import type { Decision, Plan } from '../../functions/shared/lifecycle/types.js';

const decision = (digest: string, action: Decision['action']): Decision => ({
  imageDigest: digest,
  imageTags: [],
  action,
  rulePriority: action === 'keep' ? null : 1,
  reasons: action === 'keep' ? ['kept'] : ['rule 1: more than 5 images'],
  protectedBy: [],
  sizeBytes: 10,
  pushedAt: '2026-01-01T00:00:00.000Z',
});

const plan = (decisions: Decision[]): Plan => ({
  repository: 'services/api',
  now: '2026-06-01T00:00:00.000Z',
  decisions,
  summary: {
    images: decisions.length,
    expire: 0,
    transition: 0,
    keep: 0,
    protected: {},
    bytesReclaimed: 0,
    bytesTransitioned: 0,
  },
  warnings: [],
});

describe('backupCovers', () => {
  it('covers the repositories a PREFIX_MATCH filter of the glob would copy', () => {
    // Prepare
    const backup = { repositories: ['services/*', 'tools/lint'] };

    // Act
    const covered = ['services/api', 'services', 'tools/lint', 'tools/lint-v2', 'tools/fmt', 'other'].map(
      (r) => [r, backupCovers(backup, r)],
    );

    // Assess
    expect(covered).toEqual([
      ['services/api', true],
      ['services', false],
      ['tools/lint', true],
      ['tools/lint-v2', true],
      ['tools/fmt', false],
      ['other', false],
    ]);
    expect(backupCovers(undefined, 'services/api')).toBe(false);
  });

  it('agrees with the literal prefix for every glob and name (property)', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z/]{0,6}\*?[a-z]{0,3}$/),
        fc.stringMatching(/^[a-z/]{1,10}$/),
        (g, r) => {
          expect(backupCovers({ repositories: [g] }, r)).toBe(r.startsWith(literalPrefix(g)));
        },
      ),
    );
  });
});

describe('withReplicas', () => {
  it('adds "replicated to …" to the images it acts on, and to nothing it keeps', () => {
    // Prepare
    const before = plan([
      decision('sha256:a', 'expire'),
      decision('sha256:b', 'transition'),
      decision('sha256:c', 'keep'),
      decision('sha256:d', 'expire'),
    ]);
    const replicas = new Map([
      ['sha256:a', [{ region: 'us-east-1', registryId: '222222222222' }]],
      [
        'sha256:b',
        [
          { region: 'us-east-1', registryId: '333333333333' },
          { region: 'eu-central-1', registryId: '222222222222' },
        ],
      ],
      ['sha256:c', [{ region: 'us-east-1', registryId: '222222222222' }]],
    ]);

    // Act
    const after = withReplicas(before, replicas, '222222222222');

    // Assess
    expect(after.decisions.map((d) => d.reasons)).toEqual([
      ['rule 1: more than 5 images', 'replicated to us-east-1'],
      ['rule 1: more than 5 images', 'replicated to eu-central-1, us-east-1 (333333333333)'],
      ['kept'],
      ['rule 1: more than 5 images'],
    ]);
    expect(before.decisions[0]?.reasons).toEqual(['rule 1: more than 5 images']);
  });

  it('names the account only for a copy in another registry', () => {
    expect(replicaNote([{ region: 'us-east-1', registryId: '111111111111' }], '111111111111')).toBe(
      'replicated to us-east-1',
    );
  });
});
