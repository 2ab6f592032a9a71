import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Plan } from '../../functions/shared/lifecycle/index.js';
import { removeTempFiles, runCli, SAMPLE, tempFiles } from './run-cli.js';

afterAll(removeTempFiles);

const SAMPLE_ARGS = [
  ...['--policy', SAMPLE.policy, '--images', SAMPLE.images, '--manifests', SAMPLE.manifests],
  ...['--steward', SAMPLE.steward, '--in-use', SAMPLE.inUse, '--now', SAMPLE.now],
];

const VALID_POLICY = {
  rules: [
    {
      rulePriority: 1,
      description: 'keep the newest image of all',
      selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 },
      action: { type: 'expire' },
    },
  ],
};

/** Two images, one tagged; `extra` overrides fields of both (e.g. drop repositoryName, ISO timestamps). */
function twoImages(extra: Record<string, unknown> = {}): object {
  return {
    imageDetails: [
      {
        repositoryName: 'web',
        imageDigest: `sha256:${'a'.repeat(64)}`,
        imageTags: ['v1'],
        imagePushedAt: 1_761_955_200,
        imageSizeInBytes: 3 * 1024 * 1024,
        ...extra,
      },
      {
        repositoryName: 'web',
        imageDigest: `sha256:${'b'.repeat(64)}`,
        imagePushedAt: 1_730_419_200,
        imageSizeInBytes: 1536,
        ...extra,
      },
    ],
  };
}

async function planJson(args: readonly string[]): Promise<Plan> {
  const result = await runCli(['plan', ...args, '--format', 'json']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as Plan;
}

const byTag = (plan: Plan, tag: string) => plan.decisions.find((d) => d.imageTags.includes(tag));

describe('ecr-steward plan', () => {
  it('prints exactly one JSON plan with the exact sample counts when --format json', async () => {
    const plan = await planJson(SAMPLE_ARGS);

    expect(Object.keys(plan)).toEqual(['repository', 'now', 'decisions', 'summary', 'warnings']);
    expect(plan.repository).toBe('checkout-api');
    expect(plan.now).toBe('2026-11-01T00:00:00.000Z');
    expect(plan.summary).toEqual({
      images: 442,
      expire: 275,
      transition: 6,
      keep: 161,
      protected: {
        referrer: 28,
        'index-child': 34,
        'min-age': 5,
        'in-use': 3,
        'pulled-recently': 7,
        hold: 1,
        semver: 1,
      },
      bytesReclaimed: 43_193_058_214,
      bytesTransitioned: 1_263_496_308,
    });
    expect(plan.warnings).toEqual([]);
    expect(plan.decisions).toHaveLength(442);
  });

  it('saves the held, in-use and newest-semver images when the Steward policy protects them', async () => {
    const plan = await planJson(SAMPLE_ARGS);

    expect(byTag(plan, 'v2.3.1')).toMatchObject({ action: 'keep', rulePriority: 3, protectedBy: ['hold'] });
    expect(byTag(plan, 'v2.2.0')).toMatchObject({ action: 'keep', rulePriority: 3, protectedBy: ['in-use'] });
    expect(byTag(plan, 'v1.4.0')).toMatchObject({ action: 'keep', rulePriority: 2, protectedBy: ['semver'] });
    const expiredIndex = byTag(plan, 'v2.4.0')!;
    expect(expiredIndex).toMatchObject({ action: 'expire', rulePriority: 3 });
    const followers = plan.decisions.filter((d) => d.follows === expiredIndex.imageDigest);
    // Two platform children and the cosign signature go with the index.
    expect(followers).toHaveLength(3);
    for (const d of followers) expect(d.action).toBe('expire');
  });

  it("plans ECR's own answer when no --steward is given", async () => {
    const plan = await planJson([
      ...['--policy', SAMPLE.policy, '--images', SAMPLE.images, '--manifests', SAMPLE.manifests],
      ...['--now', SAMPLE.now],
    ]);

    expect(plan.summary).toMatchObject({ images: 442, expire: 315, transition: 7, keep: 120 });
    expect(plan.summary.protected).toEqual({ 'index-child': 30 });
    expect(byTag(plan, 'v2.3.1')?.action).toBe('expire');
  });

  it('warns and keeps untagged images when the index manifests are missing', async () => {
    const plan = await planJson([
      ...['--policy', SAMPLE.policy, '--images', SAMPLE.images, '--steward', SAMPLE.steward],
      ...['--now', SAMPLE.now],
    ]);

    expect(plan.warnings).toEqual([
      '24 image index(es) have no manifest, so their children are unknown; untagged images are kept until the manifests can be read',
    ]);
    expect(plan.summary.protected['graph-unknown']).toBeGreaterThan(0);
  });

  it('renders grouped tables with human sizes, reasons and a summary line by default', async () => {
    const result = await runCli(['plan', ...SAMPLE_ARGS]);

    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const out = result.stdout;
    expect(out).toContain('ECR Steward plan for checkout-api at 2026-11-01T00:00:00.000Z: 442 images');
    const expire = out.indexOf('Expire: 275 images, 40.2 GiB');
    const transition = out.indexOf('Transition to archive: 6 images, 1.18 GiB');
    const keep = out.indexOf('Keep: 161 images: 82 by the rules, 17 saved by a protection, 62 following');
    expect(expire).toBeGreaterThan(-1);
    expect(transition).toBeGreaterThan(expire);
    expect(keep).toBeGreaterThan(transition);
    expect(out).toMatch(
      /│ main-1001 +│ 2026-04-20 \(194d\) │ +150 MiB │ +4 │ rule 4 \(tags prefixed \["main-"\]\)/,
    );
    expect(out).toContain('held: SEC-1187: build shipped');
    expect(out.trimEnd().split('\n').at(-1)).toBe(
      'Summary: 442 images; expire 275 (40.2 GiB), transition 6 (1.18 GiB), keep 161; protections: ' +
        'hold 1, in-use 3, index-child 34, min-age 5, pulled-recently 7, referrer 28, semver 1',
    );
  });

  it('names the repository after the images file when the images have no repositoryName', async () => {
    const dir = await tempFiles({
      'policy.json': VALID_POLICY,
      'frontend.json': twoImages({ repositoryName: undefined }),
    });

    const plan = await planJson([
      '--policy',
      join(dir, 'policy.json'),
      '--images',
      join(dir, 'frontend.json'),
    ]);

    expect(plan.repository).toBe('frontend');
  });

  it('uses --repository over the repositoryName of the images', async () => {
    const dir = await tempFiles({ 'policy.json': VALID_POLICY, 'images.json': twoImages() });

    const plan = await planJson([
      ...['--policy', join(dir, 'policy.json'), '--images', join(dir, 'images.json')],
      ...['--repository', 'team/web'],
    ]);

    expect(plan.repository).toBe('team/web');
  });

  it('reads timestamps as ISO strings when the AWS CLI printed them so', async () => {
    const dir = await tempFiles({
      'policy.json': VALID_POLICY,
      'images.json': twoImages({ imagePushedAt: '2026-10-01T12:00:00+00:00' }),
    });

    const plan = await planJson([
      ...['--policy', join(dir, 'policy.json'), '--images', join(dir, 'images.json')],
      ...['--now', '2026-11-01T00:00:00Z'],
    ]);

    expect(plan.decisions.map((d) => d.pushedAt)).toEqual([
      '2026-10-01T12:00:00.000Z',
      '2026-10-01T12:00:00.000Z',
    ]);
    expect(plan.summary).toMatchObject({ expire: 1, keep: 1 });
  });

  it('merges an image listed twice with the same facts into one, with both tags, and warns', async () => {
    // Prepare: the second entry repeats image A with another tag, as a listing read during a re-tag can.
    const listing = twoImages() as { imageDetails: Record<string, unknown>[] };
    const again = { ...listing.imageDetails[0], imageTags: ['latest'] };
    const dir = await tempFiles({
      'policy.json': VALID_POLICY,
      'images.json': { imageDetails: [...listing.imageDetails, again] },
    });

    // Act
    const plan = await planJson([
      ...['--policy', join(dir, 'policy.json'), '--images', join(dir, 'images.json')],
      ...['--now', '2026-01-01T00:00:00Z'],
    ]);

    // Assess
    expect(plan.decisions.map((d) => [d.imageDigest, d.imageTags, d.action])).toEqual([
      [`sha256:${'a'.repeat(64)}`, ['v1', 'latest'], 'keep'],
      [`sha256:${'b'.repeat(64)}`, [], 'expire'],
    ]);
    expect(plan.warnings).toEqual([
      `DescribeImages listed 1 digest(s) of web more than once; merged: sha256:${'a'.repeat(64)}`,
    ]);
  });

  it('plans as of the current time when --now is not given', async () => {
    const dir = await tempFiles({ 'policy.json': VALID_POLICY, 'images.json': twoImages() });
    const before = Date.now();

    const plan = await planJson(['--policy', join(dir, 'policy.json'), '--images', join(dir, 'images.json')]);

    expect(Date.parse(plan.now)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(plan.now)).toBeLessThanOrEqual(Date.now());
  });
});

const IMAGES_SHAPE = 'not aws ecr describe-images output ({"imageDetails": [...]})';

/** Each case: the files to write, the arguments (`$dir` is the temp dir) and what stderr must say. */
const BAD_INPUT: readonly {
  name: string;
  files?: Record<string, string | object>;
  args: string[];
  stderr: string | RegExp;
}[] = [
  {
    name: 'the images file is missing',
    files: { 'policy.json': VALID_POLICY },
    args: ['--policy', '$dir/policy.json', '--images', '$dir/nope.json'],
    stderr: 'error: --images $dir/nope.json: cannot read the file: no such file\n',
  },
  {
    name: 'the policy file is missing',
    files: { 'images.json': twoImages() },
    args: ['--policy', '$dir/nope.json', '--images', '$dir/images.json'],
    stderr: 'error: --policy $dir/nope.json: cannot read the file: no such file\n',
  },
  {
    name: 'the images file is not JSON',
    files: { 'policy.json': VALID_POLICY, 'images.json': '{"imageDetails": [\n  {"imageDigest": }\n]}' },
    args: ['--policy', '$dir/policy.json', '--images', '$dir/images.json'],
    stderr: 'error: --images $dir/images.json: not valid JSON: unexpected "}" at line 2, column 19\n',
  },
  {
    name: 'the images file is empty',
    files: { 'policy.json': VALID_POLICY, 'images.json': '' },
    args: ['--policy', '$dir/policy.json', '--images', '$dir/images.json'],
    stderr: 'error: --images $dir/images.json: the file is empty; expected JSON\n',
  },
  {
    name: 'the images file has the wrong shape',
    files: { 'policy.json': VALID_POLICY, 'images.json': { images: [] } },
    args: ['--policy', '$dir/policy.json', '--images', '$dir/images.json'],
    stderr: `error: --images $dir/images.json: ${IMAGES_SHAPE}: imageDetails: is required\n`,
  },
  {
    name: 'an image has a bad timestamp',
    files: { 'policy.json': VALID_POLICY, 'images.json': twoImages({ imagePushedAt: 'yesterday' }) },
    args: ['--policy', '$dir/policy.json', '--images', '$dir/images.json'],
    stderr: `error: --images $dir/images.json: ${IMAGES_SHAPE}: imageDetails[0].imagePushedAt: not a timestamp: "yesterday"; imageDetails[1].imagePushedAt: not a timestamp: "yesterday"\n`,
  },
  {
    name: 'the images file mixes repositories',
    files: {
      'policy.json': VALID_POLICY,
      'images.json': {
        imageDetails: [
          { repositoryName: 'a', imageDigest: 'sha256:1', imagePushedAt: 1 },
          { repositoryName: 'b', imageDigest: 'sha256:2', imagePushedAt: 2 },
        ],
      },
    },
    args: ['--policy', '$dir/policy.json', '--images', '$dir/images.json'],
    stderr:
      'error: --images $dir/images.json: holds images of 2 repositories (a, b); describe one repository per file\n',
  },
  {
    name: 'an image is listed twice with different push times',
    files: {
      'policy.json': VALID_POLICY,
      'images.json': {
        imageDetails: [
          { repositoryName: 'web', imageDigest: `sha256:${'a'.repeat(64)}`, imagePushedAt: 1 },
          { repositoryName: 'web', imageDigest: `sha256:${'a'.repeat(64)}`, imagePushedAt: 2 },
        ],
      },
    },
    args: ['--policy', '$dir/policy.json', '--images', '$dir/images.json'],
    stderr: `error: --images $dir/images.json: image sha256:${'a'.repeat(64)} is listed twice with different pushedAt; list the repository again (it changed while it was read)\n`,
  },
  {
    name: 'the policy is invalid',
    files: {
      'policy.json': {
        rules: [
          {
            ...VALID_POLICY.rules[0],
            selection: { tagStatus: 'tagged', countType: 'imageCountMoreThan', countNumber: 1 },
          },
        ],
      },
      'images.json': twoImages(),
    },
    args: ['--policy', '$dir/policy.json', '--images', '$dir/images.json'],
    stderr:
      'error: --policy $dir/policy.json: not a valid ECR lifecycle policy (1 error; run ecr-steward validate for details):\n' +
      '  rules[0] (rulePriority 1) selection.tagStatus: tagStatus "tagged" needs a tagPatternList or a tagPrefixList naming the tags it selects\n',
  },
  {
    name: 'the policy is not JSON',
    files: { 'policy.json': 'rules:\n  - rulePriority: 1\n', 'images.json': twoImages() },
    args: ['--policy', '$dir/policy.json', '--images', '$dir/images.json'],
    stderr:
      'error: --policy $dir/policy.json: not a valid ECR lifecycle policy (2 errors; run ecr-steward validate for details):\n' +
      '  (text): the policy text is 27 characters; ECR accepts 100 to 30720\n' +
      `  (text): not JSON: Unexpected token 'r', "rules:\\n  -"... is not valid JSON\n`,
  },
  {
    name: 'the Steward policy has a misspelt field',
    files: {
      'policy.json': VALID_POLICY,
      'images.json': twoImages(),
      'steward.json': { keepSemvr: { count: 3 } },
    },
    args: ['--policy', '$dir/policy.json', '--images', '$dir/images.json', '--steward', '$dir/steward.json'],
    stderr:
      'error: --steward $dir/steward.json: not a valid Steward policy: (top level): unknown property "keepSemvr" (check the spelling)\n',
  },
  {
    name: 'a Steward policy field has a bad value',
    files: {
      'policy.json': VALID_POLICY,
      'images.json': twoImages(),
      'steward.json': { keepSemver: { count: 0 } },
    },
    args: ['--policy', '$dir/policy.json', '--images', '$dir/images.json', '--steward', '$dir/steward.json'],
    stderr:
      /^error: --steward \$dir\/steward\.json: not a valid Steward policy: keepSemver\.count: Too small: expected number to be >=1\n$/,
  },
  {
    name: 'the in-use file has the wrong shape',
    files: {
      'policy.json': VALID_POLICY,
      'images.json': twoImages(),
      'in-use.json': { digests: ['sha256:1'] },
    },
    args: ['--policy', '$dir/policy.json', '--images', '$dir/images.json', '--in-use', '$dir/in-use.json'],
    stderr:
      /^error: --in-use \$dir\/in-use\.json: not an in-use list .*: digests: expected record, got an array\n$/,
  },
  {
    name: 'the manifests file has the wrong shape',
    files: {
      'policy.json': VALID_POLICY,
      'images.json': twoImages(),
      'manifests.json': { images: [{ imageId: {} }] },
    },
    args: [
      '--policy',
      '$dir/policy.json',
      '--images',
      '$dir/images.json',
      '--manifests',
      '$dir/manifests.json',
    ],
    stderr:
      /^error: --manifests \$dir\/manifests\.json: not aws ecr batch-get-image output .*: images\[0\]\.imageId\.imageDigest: is required; images\[0\]\.imageManifest: is required\n$/,
  },
  {
    name: 'a manifest in the manifests file is not JSON',
    files: {
      'policy.json': VALID_POLICY,
      'images.json': twoImages(),
      'manifests.json': { images: [{ imageId: { imageDigest: 'sha256:1' }, imageManifest: '{oops' }] },
    },
    args: [
      '--policy',
      '$dir/policy.json',
      '--images',
      '$dir/images.json',
      '--manifests',
      '$dir/manifests.json',
    ],
    stderr: 'error: --manifests $dir/manifests.json: the manifest of sha256:1 is not JSON\n',
  },
  {
    name: '--now is not an ISO time',
    files: { 'policy.json': VALID_POLICY, 'images.json': twoImages() },
    args: ['--policy', '$dir/policy.json', '--images', '$dir/images.json', '--now', '11/01/2026'],
    stderr: 'error: --now "11/01/2026": not an ISO-8601 time with a time zone (e.g. 2026-11-01T00:00:00Z)\n',
  },
  {
    name: '--format names an unknown format',
    files: { 'policy.json': VALID_POLICY, 'images.json': twoImages() },
    args: ['--policy', '$dir/policy.json', '--images', '$dir/images.json', '--format', 'csv'],
    stderr:
      /^error: option '--format <format>' argument 'csv' is invalid\. Allowed choices are table, json\.\n/,
  },
  {
    name: '--images is not given',
    files: { 'policy.json': VALID_POLICY },
    args: ['--policy', '$dir/policy.json'],
    stderr: /^error: plan needs --policy and --images \(offline\), or --repository \(live, with --config\)\n/,
  },
];

describe.concurrent('ecr-steward plan with bad input', () => {
  it.for(BAD_INPUT)('exits 2 with one message and no stack trace when $name', async (c, { expect }) => {
    const dir = await tempFiles(c.files ?? {});
    const args = c.args.map((a) => a.replaceAll('$dir', dir));

    const result = await runCli(['plan', ...args]);

    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).not.toMatch(/^\s+at /m);
    if (typeof c.stderr === 'string') expect(result.stderr).toBe(c.stderr.replaceAll('$dir', dir));
    else expect(result.stderr.replaceAll(dir, '$dir')).toMatch(c.stderr);
  });
});
