import * as z from 'zod';

/**
 * The AWS region names a config may name, with the partition each belongs to.
 *
 * Source: the endpoint partitions that the AWS SDK for JavaScript v3 ships (`@aws-sdk/core` 3.981.2,
 * `submodules/client/util-endpoints/lib/aws/partitions.js`), read on 2026-12-06. A region AWS opened after
 * that date is refused until it is added here: a typo ("eu-west-l") must never deploy a spoke nowhere.
 */
export const AWS_REGIONS = {
  aws: [
    'af-south-1',
    'ap-east-1',
    'ap-east-2',
    'ap-northeast-1',
    'ap-northeast-2',
    'ap-northeast-3',
    'ap-south-1',
    'ap-south-2',
    'ap-southeast-1',
    'ap-southeast-2',
    'ap-southeast-3',
    'ap-southeast-4',
    'ap-southeast-5',
    'ap-southeast-6',
    'ap-southeast-7',
    'ca-central-1',
    'ca-west-1',
    'eu-central-1',
    'eu-central-2',
    'eu-north-1',
    'eu-south-1',
    'eu-south-2',
    'eu-west-1',
    'eu-west-2',
    'eu-west-3',
    'il-central-1',
    'me-central-1',
    'me-south-1',
    'me-west-1',
    'mx-central-1',
    'sa-east-1',
    'sa-west-1',
    'us-east-1',
    'us-east-2',
    'us-west-1',
    'us-west-2',
  ],
  'aws-cn': ['cn-north-1', 'cn-northwest-1'],
  'aws-eusc': ['eusc-de-east-1'],
  'aws-iso': ['us-iso-east-1', 'us-iso-west-1'],
  'aws-iso-b': ['us-isob-east-1', 'us-isob-west-1'],
  'aws-iso-e': ['eu-isoe-west-1'],
  'aws-iso-f': ['us-isof-east-1', 'us-isof-south-1'],
  'aws-us-gov': ['us-gov-east-1', 'us-gov-west-1'],
} as const satisfies Record<string, readonly string[]>;

export type Partition = keyof typeof AWS_REGIONS;

const PARTITION_OF: ReadonlyMap<string, Partition> = new Map(
  Object.entries(AWS_REGIONS).flatMap(([partition, regions]) =>
    regions.map((r) => [r, partition as Partition] as const),
  ),
);

/** Every known region name, sorted. */
export const KNOWN_REGIONS: readonly string[] = [...PARTITION_OF.keys()].sort();

/** Whether `name` is a known AWS region. */
export function isKnownRegion(name: string): boolean {
  return PARTITION_OF.has(name);
}

/**
 * The partition of a region (`aws`, `aws-cn`, `aws-us-gov`, …): ARNs carry it, and neither events nor ECR
 * replication cross it. An unknown region is taken to be in `aws`, the partition new regions open in.
 */
export function partitionOf(region: string): Partition {
  return PARTITION_OF.get(region) ?? 'aws';
}

/** Edit distance (insertions, deletions, substitutions) between two short strings. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The known region nearest to a misspelt one ("eu-west-l" → "eu-west-1"), or undefined when none is
 * within three edits: a far-off guess would mislead more than it helps.
 */
export function nearestRegion(name: string): string | undefined {
  let best: { region: string; d: number } | undefined;
  for (const region of KNOWN_REGIONS) {
    const d = distance(name.toLowerCase(), region);
    if (d <= 3 && (best === undefined || d < best.d)) best = { region, d };
  }
  return best?.region;
}

/** Why a region name is refused: not known, with the nearest known name when there is one. */
export function unknownRegionMessage(name: string): string {
  const near = nearestRegion(name);
  const hint = near ? `did you mean "${near}"?` : 'give a region name such as "eu-west-1"';
  return `${JSON.stringify(name)} is not an AWS region — ${hint} (a region opened after 2026-12-06 is added in functions/shared/config/regions.ts)`;
}

/** A known AWS region name; a typo is refused with the nearest known name. */
export const regionNameSchema = z
  .string()
  .refine((name) => isKnownRegion(name), { error: (issue) => unknownRegionMessage(String(issue.input)) })
  .describe('An AWS region name, e.g. "eu-west-1".');
