/**
 * The scan gate's destructive paths against the one deletion guard (functions/shared/deletion/guard.ts), with
 * in-memory ports (helpers.ts): the removal on FAIL (`onFail.remove`) and the quarantine expiry never delete in
 * a repository no selection manages, nor an image held, in use, protected by tag or younger than the minimum
 * age; the expiry keeps to the bounds per repository; and lifting a quarantine never deletes an image by
 * removing its last tag, even when its tags change while the gate reads the findings.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ExpiryRun, expireQuarantined, judgeImage } from '../../functions/scan-gate/core.js';
import { verdictPk } from '../../functions/scan-gate/verdicts.js';
import type { ImageReference } from '../../functions/shared/adapters/in-use.js';
import { InUseUnavailableError } from '../../functions/shared/adapters/in-use.js';
import type { GateConfig } from '../../functions/shared/config/schema.js';
import type { Hold } from '../../functions/shared/lifecycle/types.js';
import {
  ACCOUNT,
  basicScan,
  DIGEST,
  type GateHarness,
  gateConfig,
  gateHarness,
  image,
  NOW,
  REGION,
  REPO,
} from './helpers.js';

const DAY = 86_400_000;
const TAG = `quarantined-${DIGEST.slice(7, 19)}`;
const at = (days: number, ms = 0) => new Date(NOW.getTime() + days * DAY + ms);

const failing = () => basicScan([{ name: 'CVE-2024-0001', severity: 'CRITICAL', packageName: 'openssl' }]);
const passing = () => basicScan([{ name: 'CVE-2024-0009', severity: 'LOW' }]);

/** Removal on FAIL, no quarantine, no notices. */
const REMOVE = { onFail: { notify: false, remove: { enabled: true } } };
/** A quarantine that expires after 7 days, no notices. */
const EXPIRY = {
  notifyOnRecovery: false,
  onFail: { notify: false, quarantine: { enabled: true, expireAfterDays: 7 } },
};
const NOT_MANAGED = 'not removed: not managed: no selection of the config manages it';

const judge = (config: GateConfig, h: GateHarness, now: Date, extra: { allowance?: number } = {}) =>
  judgeImage(config, image(), 'e1', now, h.ports, { mode: 'enforce', ...extra });

const expire = (config: GateConfig, h: GateHarness, now: Date, extra: Partial<ExpiryRun> = {}) =>
  expireQuarantined(
    config,
    { runId: 'expiry-1', mode: 'enforce', limit: 100, bounds: { maxDeletesPerRepository: 500 }, ...extra },
    now,
    h.ports,
  );

/** Puts another quarantined image of `repository` in the quarantine index, quarantined `ms` after NOW. */
function quarantineAnother(h: GateHarness, digest: string, ms: number, repository = REPO): void {
  const other = image({ digest, repository });
  h.latest.set(verdictPk(other), {
    ...h.lastRecord(),
    repository,
    digest,
    quarantinedAt: at(0, ms).toISOString(),
  });
}

describe('judgeImage: the guard on the removal on FAIL', () => {
  it('deletes nothing and says so when no selection manages the repository', async () => {
    // Prepare
    const h = gateHarness(failing());
    h.managed = false;

    // Act
    const outcome = await judge(gateConfig(REMOVE), h, NOW);

    // Assess
    expect(outcome.removal).toEqual({ outcome: 'kept', action: NOT_MANAGED });
    expect(h.deleteCalls).toEqual([]);
    expect(h.audit).toEqual([]);
    expect(h.journal).not.toContain('inUse');
  });

  it('keeps an image with a protected tag and names the tag and the pattern', async () => {
    // Prepare
    const h = gateHarness(failing());
    h.steward = { protectedTags: ['release-*', 'v*'] };

    // Act
    const outcome = await judge(gateConfig(REMOVE), h, NOW);

    // Assess
    expect(outcome.removal).toEqual({ outcome: 'kept', action: 'not removed: tag v1 is protected (v*)' });
    expect(h.deleteCalls).toEqual([]);
    expect(h.audit).toEqual([]);
  });

  it('keeps an image younger than the minimum age and says how old it is', async () => {
    // Prepare: pushed a day before NOW.
    const h = gateHarness(failing());
    h.steward = { minAgeDays: 30 };

    // Act
    const outcome = await judge(gateConfig(REMOVE), h, NOW);

    // Assess
    expect(outcome.removal).toEqual({
      outcome: 'kept',
      action: 'not removed: younger than the minimum age of 30 days (1.0 days)',
    });
    expect(h.deleteCalls).toEqual([]);
  });

  it('removes an image exactly as old as the minimum age', async () => {
    // Prepare
    const h = gateHarness(failing());
    h.steward = { minAgeDays: 1 };

    // Act
    const outcome = await judge(gateConfig(REMOVE), h, NOW);

    // Assess
    expect(outcome.removal).toEqual({ outcome: 'removed', action: 'removed' });
    expect(h.deleteCalls).toEqual([[DIGEST]]);
  });

  it('keeps an image held from the CLI (the holds table)', async () => {
    // Prepare
    const h = gateHarness(failing());
    h.cliHolds = [{ tag: 'v1', reason: 'incident 42', owner: 'sre' }];

    // Act
    const outcome = await judge(gateConfig(REMOVE), h, NOW);

    // Assess
    expect(outcome.removal).toEqual({ outcome: 'kept', action: 'not removed: held: incident 42 (by sre)' });
    expect(h.journal).toContain(`holds:${REPO}`);
    expect(h.deleteCalls).toEqual([]);
  });

  it('keeps the image when the holds table cannot be read (fail safe)', async () => {
    // Prepare
    const h = gateHarness(failing());
    h.cliHoldsError = new Error('AccessDeniedException');

    // Act
    const outcome = await judge(gateConfig(REMOVE), h, NOW);

    // Assess
    expect(outcome.removal).toEqual({
      outcome: 'kept',
      action: 'not removed: the holds table could not be read (AccessDeniedException) (fail safe)',
    });
    expect(h.deleteCalls).toEqual([]);
    expect(h.audit).toEqual([]);
  });

  it('judges the tags the image has at the removal: a protected tag pushed onto it meanwhile keeps it', async () => {
    // Prepare: `prod` is pushed onto the image while the gate reads the findings.
    const h = gateHarness(failing());
    h.steward = { protectedTags: ['prod'] };
    const scanFindings = h.ports.scans.scanFindings;
    h.ports.scans.scanFindings = async (repository, digest) => {
      h.image?.tags.push('prod');
      return scanFindings(repository, digest);
    };

    // Act
    const outcome = await judge(gateConfig(REMOVE), h, NOW);

    // Assess
    expect(outcome.removal).toEqual({ outcome: 'kept', action: 'not removed: tag prod is protected (prod)' });
    expect(h.deleteCalls).toEqual([]);
  });

  it('deletes nothing and says so when the image was deleted meanwhile', async () => {
    // Prepare
    const h = gateHarness(failing());
    const scanFindings = h.ports.scans.scanFindings;
    h.ports.scans.scanFindings = async (repository, digest) => {
      h.image = undefined;
      return scanFindings(repository, digest);
    };

    // Act
    const outcome = await judge(gateConfig(REMOVE), h, NOW);

    // Assess
    expect(outcome.removal).toEqual({ outcome: 'removed', action: 'removed (it was already gone)' });
    expect(h.deleteCalls).toEqual([]);
    expect(h.audit).toEqual([]);
  });

  it('keeps the image when the judgement may remove none (bounds 0)', async () => {
    // Prepare
    const h = gateHarness(failing());

    // Act
    const outcome = await judge(gateConfig(REMOVE), h, NOW, { allowance: 0 });

    // Assess
    expect(outcome.removal).toEqual({
      outcome: 'kept',
      action: 'not removed: over the bounds of this run (0): waits for the next run',
    });
    expect(h.deleteCalls).toEqual([]);
  });
});

describe('judgeImage: the guard on an expired quarantine', () => {
  it('deletes nothing and says so when no selection manages the repository', async () => {
    // Prepare: the quarantine lives in the verdict record only (no tag is written to an unmanaged repository).
    const config = gateConfig(EXPIRY);
    const h = gateHarness(failing());
    h.managed = false;
    await judge(config, h, NOW);

    // Act
    const outcome = await judge(config, h, at(8));

    // Assess
    expect(outcome.removal).toEqual({ outcome: 'kept', action: NOT_MANAGED });
    expect(outcome.actions).toEqual([
      `not tagged: ${REPO} is not managed by any selection, so the quarantine is kept in the verdict record only`,
      NOT_MANAGED,
    ]);
    expect(h.deleteCalls).toEqual([]);
    expect(h.audit).toEqual([]);
    expect(h.image?.tags).toEqual(['v1']);
    expect(h.lastRecord().quarantinedAt).toBe(NOW.toISOString());
  });

  it('keeps an image with a protected tag, the quarantine tag included', async () => {
    // Prepare
    const config = gateConfig(EXPIRY);
    const h = gateHarness(failing());
    await judge(config, h, NOW);
    h.steward = { protectedTags: ['^quarantined-'] };

    // Act
    const outcome = await judge(config, h, at(8));

    // Assess
    expect(outcome.removal).toEqual({
      outcome: 'kept',
      action: `not removed: tag ${TAG} is protected (^quarantined-)`,
    });
    expect(h.deleteCalls).toEqual([]);
  });

  it('keeps an image younger than the minimum age at the expiry, and removes it once old enough', async () => {
    // Prepare: pushed a day before NOW, so 9 days old at the first expiry run.
    const config = gateConfig(EXPIRY);
    const h = gateHarness(failing());
    await judge(config, h, NOW);
    h.steward = { minAgeDays: 10 };

    // Act
    const young = await judge(config, h, at(8));
    const old = await judge(config, h, at(9));

    // Assess
    expect(young.removal).toEqual({
      outcome: 'kept',
      action: 'not removed: younger than the minimum age of 10 days (9.0 days)',
    });
    expect(old.removal?.outcome).toBe('removed');
    expect(h.deleteCalls).toEqual([[DIGEST]]);
  });
});

describe('expireQuarantined: bounds per repository', () => {
  const D1 = `sha256:${'1'.repeat(64)}`;
  const D2 = `sha256:${'2'.repeat(64)}`;

  it('removes at most maxDeletesPerRepository images of one repository, and keeps and defers the rest', async () => {
    // Prepare: three due images of one repository; DIGEST, quarantined last, is judged last.
    const config = gateConfig(EXPIRY);
    const h = gateHarness(failing());
    await judge(config, h, NOW);
    quarantineAnother(h, D1, -2);
    quarantineAnother(h, D2, -1);

    // Act
    const report = await expire(config, h, at(8), { bounds: { maxDeletesPerRepository: 2 } });

    // Assess
    expect(h.deleteCalls).toEqual([[D1], [D2]]);
    expect(report).toMatchObject({
      due: 3,
      removed: 2,
      kept: [
        {
          repository: REPO,
          digest: DIGEST,
          verdict: 'FAIL',
          reason: 'not removed: over the bounds of this run (0): waits for the next run',
        },
      ],
    });
    expect(h.journal).toContain(`quarantine:defer:${DIGEST}:${at(1, 3).toISOString()}`);
    expect(h.lastRecord()).toMatchObject({ digest: DIGEST, quarantineTag: TAG });
  });

  it('removes nothing when maxDeletesPerRepository is 0', async () => {
    // Prepare
    const config = gateConfig(EXPIRY);
    const h = gateHarness(failing());
    await judge(config, h, NOW);

    // Act
    const report = await expire(config, h, at(8), { bounds: { maxDeletesPerRepository: 0 } });

    // Assess
    expect(h.deleteCalls).toEqual([]);
    expect(h.audit).toEqual([]);
    expect(report).toMatchObject({ due: 1, removed: 0, kept: [{ digest: DIGEST }] });
  });

  it('counts each repository on its own', async () => {
    // Prepare: one due image in another repository, two in REPO.
    const config = gateConfig(EXPIRY);
    const h = gateHarness(failing());
    await judge(config, h, NOW);
    quarantineAnother(h, D1, -2, 'services/billing');
    quarantineAnother(h, D2, -1);

    // Act
    const report = await expire(config, h, at(8), { bounds: { maxDeletesPerRepository: 1 } });

    // Assess
    expect(h.deleteCalls).toEqual([[D1], [D2]]);
    expect(report).toMatchObject({ due: 3, removed: 2, kept: [{ repository: REPO, digest: DIGEST }] });
  });

  it('counts planned removals in dry-run, as an enforcing run would count removals', async () => {
    // Prepare
    const config = gateConfig(EXPIRY);
    const h = gateHarness(failing());
    await judge(config, h, NOW);
    quarantineAnother(h, D1, -1);

    // Act
    const report = await expire(config, h, at(8), {
      mode: 'dry-run',
      bounds: { maxDeletesPerRepository: 1 },
    });

    // Assess
    expect(h.audit.map((a) => [a.status, a.digest])).toEqual([['PLANNED', D1]]);
    expect(report).toMatchObject({ planned: 1, removed: 0, kept: [{ digest: DIGEST }] });
  });
});

describe('judgeImage: lifting the quarantine', () => {
  /** Quarantines the image, then makes it pass; `during` runs while the gate reads the findings again. */
  async function quarantinedThenPassing(during: (h: GateHarness) => void): Promise<GateHarness> {
    const config = gateConfig(EXPIRY);
    const h = gateHarness(failing());
    await judge(config, h, NOW);
    h.scan = passing();
    const scanFindings = h.ports.scans.scanFindings;
    h.ports.scans.scanFindings = async (repository, digest) => {
      during(h);
      return scanFindings(repository, digest);
    };
    return h;
  }

  it('keeps the tag and deletes nothing when the other tag moved away while the findings were read', async () => {
    // Prepare: v1 is pushed to another image between the first read of the tags and the lift.
    const h = await quarantinedThenPassing((harness) => {
      if (harness.image) harness.image.tags = [TAG];
    });

    // Act
    const outcome = await judge(gateConfig(EXPIRY), h, at(1));

    // Assess
    expect(outcome.actions).toEqual([
      `quarantine lifted in the record; tag ${TAG} kept because it is the image's only tag`,
    ]);
    expect(h.journal).not.toContain(`scans:removeTag:${TAG}`);
    expect(h.untagDeletes).toEqual([]);
    expect(h.image?.tags).toEqual([TAG]);
    expect(h.lastRecord()).toMatchObject({ verdict: 'PASS', quarantineTag: undefined });
  });

  it('removes the tag when another tag arrived while the findings were read', async () => {
    // Prepare: the image had only its quarantine tag; a tag is pushed to it meanwhile.
    const h = await quarantinedThenPassing((harness) => {
      if (harness.image) harness.image.tags = [TAG, 'v2'];
    });
    if (h.image) h.image.tags = [TAG];

    // Act
    const outcome = await judge(gateConfig(EXPIRY), h, at(1));

    // Assess
    expect(outcome.actions).toEqual([`quarantine lifted: tag ${TAG} removed`]);
    expect(h.image?.tags).toEqual(['v2']);
  });

  it('calls nothing when the quarantine tag was removed by someone else meanwhile', async () => {
    // Prepare
    const h = await quarantinedThenPassing((harness) => {
      if (harness.image) harness.image.tags = ['v1'];
    });

    // Act
    const outcome = await judge(gateConfig(EXPIRY), h, at(1));

    // Assess
    expect(outcome.actions).toEqual([
      `quarantine lifted in the record; tag ${TAG} is no longer on the image`,
    ]);
    expect(h.journal).not.toContain(`scans:removeTag:${TAG}`);
  });

  it('calls nothing when the image was deleted meanwhile', async () => {
    // Prepare
    const h = await quarantinedThenPassing((harness) => {
      harness.image = undefined;
    });

    // Act
    const outcome = await judge(gateConfig(EXPIRY), h, at(1));

    // Assess
    expect(outcome.actions).toEqual(['quarantine lifted in the record; the image is gone']);
    expect(h.journal).not.toContain(`scans:removeTag:${TAG}`);
  });

  it('never deletes the image by its last tag, whatever happens to its tags meanwhile', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.subarray(['v1', 'v2', TAG, 'latest']),
        fc.subarray(['v1', 'v2', TAG, 'latest']),
        async (before, meanwhile) => {
          // Prepare
          const h = await quarantinedThenPassing((harness) => {
            if (harness.image) harness.image.tags = [...meanwhile];
          });
          if (h.image) h.image.tags = [...new Set([TAG, ...before])];

          // Act
          await judge(gateConfig(EXPIRY), h, at(1));

          // Assess
          expect(h.untagDeletes).toEqual([]);
          expect(h.deleteCalls).toEqual([]);
          expect(h.image).toBeDefined();
          const lifted = h.journal.includes(`scans:removeTag:${TAG}`);
          expect(lifted).toBe(meanwhile.includes(TAG) && meanwhile.some((t) => t !== TAG));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('scan gate removal: invariants', () => {
  type Case = {
    caller: 'gate-removal' | 'quarantine-expiry';
    mode: 'enforce' | 'dry-run';
    managed: boolean;
    hold: 'none' | 'digest' | 'tag' | 'repository' | 'expired' | 'other-digest';
    holdFrom: 'selection' | 'cli';
    holdsUnreadable: boolean;
    protectedTag: 'none' | 'v*' | 'release-*' | '^quarantined-';
    minAgeDays: number | undefined;
    ageDays: number;
    inUse: 'none' | 'digest' | 'tag' | 'other-tag' | 'other-repository' | 'unavailable';
    allowInUse: boolean;
    breaker: boolean;
    maxDeletesPerRepository: number;
  };
  const cases = fc.record<Case>({
    caller: fc.constantFrom('gate-removal', 'quarantine-expiry'),
    mode: fc.constantFrom('enforce', 'enforce', 'dry-run'),
    managed: fc.boolean(),
    hold: fc.constantFrom('none', 'digest', 'tag', 'repository', 'expired', 'other-digest'),
    holdFrom: fc.constantFrom('selection', 'cli'),
    // Mostly readable: an unreadable holds table keeps everything and would hide the other checks.
    holdsUnreadable: fc.constantFrom(false, false, false, true),
    protectedTag: fc.constantFrom('none', 'v*', 'release-*', '^quarantined-'),
    minAgeDays: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
    ageDays: fc.integer({ min: 0, max: 20 }),
    inUse: fc.constantFrom('none', 'digest', 'tag', 'other-tag', 'other-repository', 'unavailable'),
    allowInUse: fc.boolean(),
    breaker: fc.boolean(),
    maxDeletesPerRepository: fc.integer({ min: 0, max: 2 }),
  });

  const holdOf = (c: Case): Hold[] => {
    const base = { reason: 'r', owner: 'o' };
    switch (c.hold) {
      case 'none':
        return [];
      case 'digest':
        return [{ ...base, digest: DIGEST }];
      case 'tag':
        return [{ ...base, tag: 'v1' }];
      case 'repository':
        return [base];
      case 'expired':
        return [{ ...base, digest: DIGEST, expiresAt: at(-1).toISOString() }];
      case 'other-digest':
        return [{ ...base, digest: `sha256:${'0'.repeat(64)}` }];
    }
  };
  const inUseOf = (c: Case): ImageReference[] => {
    const ref = { registryId: ACCOUNT, region: REGION, repository: REPO, where: 'ecs:service/prod/orders' };
    switch (c.inUse) {
      case 'digest':
        return [{ ...ref, digest: DIGEST }];
      case 'tag':
        return [{ ...ref, tag: 'v1' }];
      case 'other-tag':
        return [{ ...ref, tag: 'v2' }];
      case 'other-repository':
        return [{ ...ref, repository: 'services/billing', digest: DIGEST }];
      default:
        return [];
    }
  };

  /** Whether the guard must keep the image, by the config and the state at the time of the removal. */
  function mustKeep(c: Case): boolean {
    const ageAtRemoval = c.ageDays + (c.caller === 'quarantine-expiry' ? 8 : 0);
    // The quarantine tag is written only in a managed repository; an unmanaged one is kept anyway.
    const tags = ['v1', TAG];
    return (
      !c.managed ||
      c.holdsUnreadable ||
      ['digest', 'tag', 'repository'].includes(c.hold) ||
      (!c.allowInUse && ['digest', 'tag', 'unavailable'].includes(c.inUse)) ||
      (c.protectedTag === 'v*' && tags.includes('v1')) ||
      c.protectedTag === '^quarantined-' ||
      (c.minAgeDays !== undefined && ageAtRemoval < c.minAgeDays) ||
      c.breaker ||
      c.maxDeletesPerRepository === 0
    );
  }

  it('never passes an unmanaged, held, in-use, protected or too young image to BatchDeleteImage, whichever caller asks', async () => {
    await fc.assert(
      fc.asyncProperty(cases, async (c) => {
        // Prepare
        const config = gateConfig({
          onFail: {
            notify: false,
            remove: { enabled: c.caller === 'gate-removal', allowInUse: c.allowInUse },
            quarantine: { enabled: true, expireAfterDays: 7 },
          },
        });
        const h = gateHarness(failing());
        h.image = { tags: ['v1'], pushedAt: NOW.getTime() - c.ageDays * DAY };
        h.managed = c.managed;
        h.steward = {
          ...(c.protectedTag === 'none' ? {} : { protectedTags: [c.protectedTag] }),
          ...(c.minAgeDays === undefined ? {} : { minAgeDays: c.minAgeDays }),
        };
        if (c.holdFrom === 'cli') h.cliHolds = holdOf(c);
        else h.holds = holdOf(c);
        if (c.holdsUnreadable) h.cliHoldsError = new Error('AccessDeniedException');
        h.inUseRefs = inUseOf(c);
        if (c.inUse === 'unavailable') h.inUseError = new InUseUnavailableError('ecs', new Error('denied'));
        if (c.breaker) h.breaker = { scope: 'registry', reason: 'too many deletes' };

        // Act
        if (c.caller === 'gate-removal') {
          await judgeImage(config, image(), 'e1', NOW, h.ports, {
            mode: c.mode,
            allowance: c.maxDeletesPerRepository,
          });
        } else {
          await judgeImage(config, image(), 'e1', NOW, h.ports, { mode: c.mode });
          expect(h.deleteCalls).toEqual([]);
          await expire(config, h, at(8), {
            mode: c.mode,
            bounds: { maxDeletesPerRepository: c.maxDeletesPerRepository },
          });
        }

        // Assess: kept images reach neither BatchDeleteImage nor a write-ahead record; the rest are removed
        // (enforce) or planned (dry-run), so the property is never true for want of deletes.
        expect(h.untagDeletes).toEqual([]);
        if (mustKeep(c) || c.mode === 'dry-run') {
          expect(h.deleteCalls).toEqual([]);
          expect(h.audit.filter((a) => a.status !== 'PLANNED')).toEqual([]);
        } else {
          expect(h.deleteCalls).toEqual([[DIGEST]]);
        }
        if (c.mode === 'dry-run')
          expect(h.audit.map((a) => a.status)).toEqual(mustKeep({ ...c, breaker: false }) ? [] : ['PLANNED']);
      }),
      { numRuns: 500 },
    );
  });
});
