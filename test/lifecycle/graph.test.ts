/**
 * The artifact graph: image indexes and their children, subjects and their referrers (OCI `subject`
 * and cosign's `sha256-<hex>.sig/.att/.sbom` tags). Unit mode (a Steward policy, `indexAsUnit` not false):
 * followers are not ranked and share their parent's fate. ECR mode (no Steward policy): ECR's own rules 1 and 8.
 */
import { describe, expect, it } from 'vitest';
import { buildGraph, isIndex, subjectOf } from '../../functions/shared/lifecycle/index.js';
import {
  cosignTag,
  DOCKER_LIST,
  decisionOf,
  digestOf,
  image,
  images,
  OCI_INDEX,
  OCI_MANIFEST,
  outcomes,
  plan,
  rule,
} from './helpers.js';

const untaggedOlderThanOneDay = {
  rules: [
    rule(1, { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 }),
  ],
};
const keepNewestV = {
  rules: [
    rule(1, { tagStatus: 'tagged', tagPrefixList: ['v'], countType: 'imageCountMoreThan', countNumber: 1 }),
  ],
};
const keepNewestAny = (n: number) => ({
  rules: [rule(1, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: n })],
});

const fate = (result: ReturnType<typeof plan>, name: string) => {
  const d = decisionOf(result, name);
  return { action: d.action, rulePriority: d.rulePriority, protectedBy: d.protectedBy, follows: d.follows };
};

describe('planRepository (index children, unit mode)', () => {
  const repo = {
    index: { tags: ['v1'], age: 10, manifestMediaType: OCI_INDEX },
    amd64: { age: 10, manifestMediaType: OCI_MANIFEST },
    arm64: { age: 10, manifestMediaType: OCI_MANIFEST },
    loose: { age: 10 },
  };

  it('keeps the children of a kept index when an untagged rule would expire them', () => {
    // Act
    const result = plan({
      policy: untaggedOlderThanOneDay,
      images: images(repo),
      steward: {},
      children: { index: ['amd64', 'arm64'] },
    });

    // Assess
    expect(outcomes(result, Object.keys(repo))).toEqual({
      index: 'keep:-',
      amd64: 'keep:-',
      arm64: 'keep:-',
      loose: 'expire:1',
    });
    expect(fate(result, 'amd64')).toEqual({
      action: 'keep',
      rulePriority: null,
      protectedBy: ['index-child'],
      follows: digestOf('index'),
    });
    expect(decisionOf(result, 'amd64').reasons).toEqual([
      `child of image index ${digestOf('index').slice(0, 19)}…, which is kept`,
    ]);
  });

  const twoIndexes = {
    old: { tags: ['v1'], age: 20, manifestMediaType: OCI_INDEX },
    oldAmd64: { age: 20 },
    oldArm64: { age: 20 },
    shared: { age: 20 },
    new: { tags: ['v2'], age: 5, manifestMediaType: DOCKER_LIST },
    newAmd64: { age: 5 },
  };
  const twoIndexChildren = { old: ['oldAmd64', 'oldArm64', 'shared'], new: ['newAmd64', 'shared'] };

  it('removes with an expired index the children no kept index uses, and keeps a child the kept index shares', () => {
    // Act
    const result = plan({
      policy: keepNewestV,
      images: images(twoIndexes),
      steward: {},
      children: twoIndexChildren,
    });

    // Assess
    expect(outcomes(result, Object.keys(twoIndexes))).toEqual({
      old: 'expire:1',
      oldAmd64: 'expire:1',
      oldArm64: 'expire:1',
      shared: 'keep:-',
      new: 'keep:-',
      newAmd64: 'keep:-',
    });
    expect(fate(result, 'oldAmd64')).toEqual({
      action: 'expire',
      rulePriority: 1,
      protectedBy: [],
      follows: digestOf('old'),
    });
    expect(fate(result, 'shared')).toEqual({
      action: 'keep',
      rulePriority: null,
      protectedBy: ['index-child'],
      follows: digestOf('new'),
    });
    expect(result.summary).toMatchObject({ expire: 3, keep: 3 });
  });

  it.each([
    ['sorts before', `sha256:${'0'.repeat(64)}`, `sha256:${'f'.repeat(64)}`],
    ['sorts after', `sha256:${'f'.repeat(64)}`, `sha256:${'0'.repeat(64)}`],
  ])(
    'keeps a shared child while either index stays when the removed index digest %s the kept one',
    (_order, removedDigest, keptDigest) => {
      // Prepare
      const removed = image('removed', {
        tags: ['v1'],
        age: 20,
        manifestMediaType: OCI_INDEX,
        digest: removedDigest,
      });
      const kept = image('kept', { tags: ['v2'], age: 5, manifestMediaType: OCI_INDEX, digest: keptDigest });
      const shared = image('shared', { age: 20 });

      // Act
      const result = plan({
        policy: keepNewestV,
        images: [removed, kept, shared],
        steward: {},
        childrenByDigest: new Map([
          [removedDigest, [digestOf('shared')]],
          [keptDigest, [digestOf('shared')]],
        ]),
      });

      // Assess
      expect(fate(result, 'shared')).toEqual({
        action: 'keep',
        rulePriority: null,
        protectedBy: ['index-child'],
        follows: keptDigest,
      });
      expect(result.decisions.find((d) => d.imageDigest === removedDigest)?.action).toBe('expire');
    },
  );

  it('removes a shared child when both of its indexes are removed', () => {
    // Prepare: v3 is the newest, so both indexes go.
    const repo = { ...twoIndexes, v3: { tags: ['v3'], age: 1 } };

    // Act
    const result = plan({
      policy: keepNewestV,
      images: images(repo),
      steward: {},
      children: twoIndexChildren,
    });

    // Assess
    expect(outcomes(result, Object.keys(repo))).toEqual({
      old: 'expire:1',
      oldAmd64: 'expire:1',
      oldArm64: 'expire:1',
      shared: 'expire:1',
      new: 'expire:1',
      newAmd64: 'expire:1',
      v3: 'keep:-',
    });
    expect([digestOf('old'), digestOf('new')]).toContain(decisionOf(result, 'shared').follows);
  });

  it('gives index children no keep-N slots when an any rule keeps the 2 newest', () => {
    // Prepare: the children are as new as their index; ranked, they would push out v2.
    const repo = {
      index: { tags: ['v3'], age: 1, manifestMediaType: OCI_INDEX },
      c1: { age: 1 },
      c2: { age: 1 },
      v2: { tags: ['v2'], age: 10 },
      v1: { tags: ['v1'], age: 20 },
    };

    // Act
    const result = plan({
      policy: keepNewestAny(2),
      images: images(repo),
      steward: {},
      children: { index: ['c1', 'c2'] },
    });

    // Assess
    expect(outcomes(result, Object.keys(repo))).toEqual({
      index: 'keep:-',
      c1: 'keep:-',
      c2: 'keep:-',
      v2: 'keep:-',
      v1: 'expire:1',
    });
    expect(decisionOf(result, 'index').reasons).toEqual([
      'rule 1 (all images) keeps the 2 newest; this is number 1 of 3',
    ]);
  });

  it('archives the children with their index, and keeps a child already archived, when the index transitions', () => {
    // Prepare
    const policy = {
      rules: [
        rule(
          1,
          { tagStatus: 'tagged', tagPrefixList: ['v'], countType: 'imageCountMoreThan', countNumber: 1 },
          { type: 'transition', targetStorageClass: 'archive' },
        ),
      ],
    };
    const repo = {
      old: { tags: ['v1'], age: 20, manifestMediaType: OCI_INDEX },
      active: { age: 20 },
      archived: { age: 20, status: 'ARCHIVED' as const, archivedDaysAgo: 5 },
      new: { tags: ['v2'], age: 1 },
    };

    // Act
    const result = plan({
      policy,
      images: images(repo),
      steward: {},
      children: { old: ['active', 'archived'] },
    });

    // Assess
    expect(outcomes(result, Object.keys(repo))).toEqual({
      old: 'transition:1',
      active: 'transition:1',
      archived: 'keep:1',
      new: 'keep:-',
    });
    expect(decisionOf(result, 'archived').reasons.at(-1)).toBe('already archived');
  });

  it('keeps a held child of an expired index with the rule that would have acted', () => {
    // Act
    const result = plan({
      policy: keepNewestV,
      images: images(twoIndexes),
      steward: { holds: [{ digest: digestOf('oldArm64'), reason: 'debugging', owner: 'alice' }] },
      children: twoIndexChildren,
    });

    // Assess
    expect(fate(result, 'oldArm64')).toEqual({
      action: 'keep',
      rulePriority: 1,
      protectedBy: ['hold'],
      follows: digestOf('old'),
    });
    expect(decisionOf(result, 'oldAmd64').action).toBe('expire');
  });

  it('ranks children like ECR when indexAsUnit is false', () => {
    // Prepare: children pushed just before their index.
    const repo = {
      index: { tags: ['v3'], age: 1, manifestMediaType: OCI_INDEX },
      c1: { age: 1.01 },
      c2: { age: 1.02 },
      v2: { tags: ['v2'], age: 10 },
    };

    // Act
    const result = plan({
      policy: keepNewestAny(2),
      images: images(repo),
      steward: { indexAsUnit: false },
      children: { index: ['c1', 'c2'] },
    });

    // Assess
    expect(outcomes(result, Object.keys(repo))).toEqual({
      index: 'keep:-',
      c1: 'keep:-',
      c2: 'keep:1',
      v2: 'expire:1',
    });
    expect(fate(result, 'c2')).toMatchObject({ protectedBy: ['index-child'], follows: digestOf('index') });
  });
});

describe('planRepository (index children, ECR mode)', () => {
  const repo = {
    index: { tags: ['v1'], age: 10, manifestMediaType: OCI_INDEX },
    amd64: { age: 10 },
    arm64: { age: 10 },
    loose: { age: 10 },
  };

  it('never expires the children of a kept index when an untagged rule selects them', () => {
    // Act
    const result = plan({
      policy: untaggedOlderThanOneDay,
      images: images(repo),
      children: { index: ['amd64', 'arm64'] },
    });

    // Assess
    expect(outcomes(result, Object.keys(repo))).toEqual({
      index: 'keep:-',
      amd64: 'keep:1',
      arm64: 'keep:1',
      loose: 'expire:1',
    });
    expect(fate(result, 'amd64')).toEqual({
      action: 'keep',
      rulePriority: 1,
      protectedBy: ['index-child'],
      follows: digestOf('index'),
    });
  });

  it('leaves the children of a removed index to the rules, and keeps a child a kept index shares', () => {
    // Prepare
    const twoIndexes = {
      old: { tags: ['v1'], age: 20, manifestMediaType: OCI_INDEX },
      oldAmd64: { age: 20 },
      shared: { age: 20 },
      new: { tags: ['v2'], age: 5, manifestMediaType: OCI_INDEX },
    };
    const children = { old: ['oldAmd64', 'shared'], new: ['shared'] };
    const withUntaggedRule = {
      rules: [
        ...keepNewestV.rules,
        rule(2, { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 1 }),
      ],
    };

    // Act
    const tagRuleOnly = plan({ policy: keepNewestV, images: images(twoIndexes), children });
    const withUntagged = plan({ policy: withUntaggedRule, images: images(twoIndexes), children });

    // Assess: ECR has no cascade from an index to its children.
    expect(outcomes(tagRuleOnly, Object.keys(twoIndexes))).toEqual({
      old: 'expire:1',
      oldAmd64: 'keep:-',
      shared: 'keep:-',
      new: 'keep:-',
    });
    // Whether ECR removes oldAmd64 in the same run as its index is not documented (docs/ecr-lifecycle.md §7.6): not asserted.
    expect(outcomes(withUntagged, ['old', 'shared', 'new'])).toEqual({
      old: 'expire:1',
      shared: 'keep:2',
      new: 'keep:-',
    });
    expect(fate(withUntagged, 'shared')).toMatchObject({
      protectedBy: ['index-child'],
      follows: digestOf('new'),
    });
  });
});

describe('planRepository (referrers, unit mode)', () => {
  it('gives cosign signatures, attestations and SBOMs their subject fate and no keep-N slots', () => {
    // Prepare: the referrers are newer than app2; ranked, they would push app2 out.
    const repo = {
      app1: { tags: ['v1'], age: 20 },
      sig1: { tags: [cosignTag('app1', 'sig')], age: 19 },
      app2: { tags: ['v2'], age: 5 },
      att2: { tags: [cosignTag('app2', 'att')], age: 4 },
      sbom2: { tags: [cosignTag('app2', 'sbom')], age: 3 },
    };

    // Act
    const result = plan({ policy: keepNewestAny(1), images: images(repo), steward: {} });

    // Assess
    expect(outcomes(result, Object.keys(repo))).toEqual({
      app1: 'expire:1',
      sig1: 'expire:1',
      app2: 'keep:-',
      att2: 'keep:-',
      sbom2: 'keep:-',
    });
    expect(fate(result, 'sig1')).toEqual({
      action: 'expire',
      rulePriority: 1,
      protectedBy: [],
      follows: digestOf('app1'),
    });
    expect(fate(result, 'att2')).toEqual({
      action: 'keep',
      rulePriority: null,
      protectedBy: ['referrer'],
      follows: digestOf('app2'),
    });
  });

  it('gives OCI subject referrers their subject fate and no keep-N slots', () => {
    // Prepare
    const repo = {
      app1: { tags: ['v1'], age: 20 },
      ref1: {
        age: 3,
        subjectDigest: digestOf('app1'),
        artifactMediaType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
      },
      app2: { tags: ['v2'], age: 5 },
      ref2: { age: 2, subjectDigest: digestOf('app2') },
    };

    // Act
    const result = plan({ policy: keepNewestAny(1), images: images(repo), steward: {} });

    // Assess
    expect(outcomes(result, Object.keys(repo))).toEqual({
      app1: 'expire:1',
      ref1: 'expire:1',
      app2: 'keep:-',
      ref2: 'keep:-',
    });
    expect(fate(result, 'ref1').follows).toBe(digestOf('app1'));
    expect(fate(result, 'ref2')).toMatchObject({ protectedBy: ['referrer'], follows: digestOf('app2') });
  });

  it('expires referrers whose subject is no longer in the repository', () => {
    // Prepare
    const repo = {
      app: { tags: ['v1'], age: 5 },
      orphanOci: { age: 30, subjectDigest: digestOf('deleted-1') },
      orphanCosign: { tags: [cosignTag('deleted-2', 'sig')], age: 30 },
    };

    // Act
    const result = plan({ policy: keepNewestV, images: images(repo), steward: {} });

    // Assess
    expect(outcomes(result, Object.keys(repo))).toEqual({
      app: 'keep:-',
      orphanOci: 'expire:-',
      orphanCosign: 'expire:-',
    });
    expect(fate(result, 'orphanOci').follows).toBe(digestOf('deleted-1'));
    expect(decisionOf(result, 'orphanCosign').reasons).toEqual([
      `referrer whose subject ${digestOf('deleted-2').slice(0, 19)}… is no longer in the repository`,
    ]);
  });

  it('keeps an orphan referrer that is on hold', () => {
    // Act
    const result = plan({
      policy: keepNewestV,
      images: images({ orphan: { age: 30, subjectDigest: digestOf('deleted') } }),
      steward: { holds: [{ digest: digestOf('orphan'), reason: 'evidence', owner: 'sec' }] },
    });

    // Assess
    expect(fate(result, 'orphan')).toEqual({
      action: 'keep',
      rulePriority: null,
      protectedBy: ['hold'],
      follows: digestOf('deleted'),
    });
  });

  it('follows the subject through a chain of referrers', () => {
    // Prepare: an attestation of a signature of app1
    const repo = {
      app1: { tags: ['v1'], age: 20 },
      sig: { age: 19, subjectDigest: digestOf('app1') },
      sigAtt: { age: 18, subjectDigest: digestOf('sig') },
      app2: { tags: ['v2'], age: 5 },
    };

    // Act
    const result = plan({ policy: keepNewestV, images: images(repo), steward: {} });

    // Assess
    expect(outcomes(result, Object.keys(repo))).toEqual({
      app1: 'expire:1',
      sig: 'expire:1',
      sigAtt: 'expire:1',
      app2: 'keep:-',
    });
    expect(fate(result, 'sigAtt').follows).toBe(digestOf('sig'));
  });
  it.each([
    ['is no longer in the repository', { orphan: { age: 30, subjectDigest: digestOf('deleted') } }],
    ['is expired', { orphan: { age: 30, subjectDigest: digestOf('app1') } }],
  ])('keeps a referrer that a kept index lists as a child when its subject %s', (_why, referrer) => {
    // Prepare: ECR rule 8 — an image an index references stays while the index stays.
    const repo = {
      app1: { tags: ['v1'], age: 20 },
      index: { tags: ['v2'], age: 5, manifestMediaType: OCI_INDEX },
      ...referrer,
    };

    // Act
    const result = plan({
      policy: keepNewestV,
      images: images(repo),
      steward: {},
      children: { index: ['orphan'] },
    });

    // Assess
    expect(fate(result, 'orphan')).toEqual({
      action: 'keep',
      rulePriority: null,
      protectedBy: ['index-child'],
      follows: digestOf('index'),
    });
  });
});

describe('planRepository (referrers, ECR mode)', () => {
  it('removes an OCI referrer with its removed subject and leaves cosign-tagged images to the rules', () => {
    // Prepare
    const repo = {
      app1: { tags: ['v1'], age: 20 },
      ref1: { age: 19, subjectDigest: digestOf('app1') },
      sig1: { tags: [cosignTag('app1', 'sig')], age: 19 },
      app2: { tags: ['v2'], age: 5 },
      ref2: { age: 4, subjectDigest: digestOf('app2') },
    };

    // Act
    const result = plan({ policy: keepNewestV, images: images(repo) });

    // Assess
    expect(outcomes(result, Object.keys(repo))).toEqual({
      app1: 'expire:1',
      ref1: 'expire:1',
      sig1: 'keep:-',
      app2: 'keep:-',
      ref2: 'keep:-',
    });
    expect(fate(result, 'ref1')).toEqual({
      action: 'expire',
      rulePriority: 1,
      protectedBy: [],
      follows: digestOf('app1'),
    });
    expect(decisionOf(result, 'ref1').reasons).toEqual([
      `referrer of ${digestOf('app1').slice(0, 19)}…, which is expired`,
    ]);
  });
});

describe('buildGraph', () => {
  it('maps children to their indexes, referrers to their subjects, and lists indexes without a manifest', () => {
    // Prepare
    const all = images({
      idx1: { age: 1, manifestMediaType: OCI_INDEX },
      idx2: { age: 1, manifestMediaType: DOCKER_LIST },
      unknownIdx: { age: 1, manifestMediaType: OCI_INDEX },
      child: { age: 1 },
      oci: { age: 1, subjectDigest: digestOf('child'), tags: [cosignTag('idx1', 'sig')] },
      cosign: { age: 1, tags: ['latest', cosignTag('idx2', 'att')] },
    });
    const indexChildren = new Map([
      [digestOf('idx1'), [digestOf('child'), digestOf('absent'), digestOf('idx1')]],
      [digestOf('idx2'), [digestOf('child'), digestOf('child')]],
    ]);

    // Act
    const graph = buildGraph(all, indexChildren);

    // Assess
    expect(graph.parents).toEqual(new Map([[digestOf('child'), [digestOf('idx1'), digestOf('idx2')]]]));
    expect(graph.subjects).toEqual(
      new Map([
        [digestOf('oci'), { digest: digestOf('child'), via: 'oci-subject' }],
        [digestOf('cosign'), { digest: digestOf('idx2'), via: 'cosign-tag' }],
      ]),
    );
    expect(graph.unknownIndexes).toEqual([digestOf('unknownIdx')]);
  });

  it.each([
    [`sha256-${'a'.repeat(64)}.sig`, `sha256:${'a'.repeat(64)}`],
    [`sha256-${'0'.repeat(64)}.att`, `sha256:${'0'.repeat(64)}`],
    [`sha256-${'9'.repeat(64)}.sbom`, `sha256:${'9'.repeat(64)}`],
    [`sha256-${'A'.repeat(64)}.sig`, undefined],
    [`sha256-${'a'.repeat(63)}.sig`, undefined],
    [`sha256-${'a'.repeat(64)}.sig.bak`, undefined],
    [`sha256-${'a'.repeat(64)}.cert`, undefined],
    [`x-sha256-${'a'.repeat(64)}.sig`, undefined],
  ])('reads tag %s as a cosign referrer of %s', (tag, subject) => {
    const found = subjectOf(image('x', { age: 1, tags: [tag] }));
    expect(found).toEqual(subject === undefined ? undefined : { digest: subject, via: 'cosign-tag' });
  });

  it.each([
    [OCI_INDEX, true],
    [DOCKER_LIST, true],
    [OCI_MANIFEST, false],
    ['application/vnd.docker.distribution.manifest.v2+json', false],
    [undefined, false],
  ])('treats media type %s as an index: %s', (manifestMediaType, expected) => {
    expect(isIndex(image('x', { age: 1, manifestMediaType }))).toBe(expected);
  });
});
