import { AWS_REGIONS } from '../config/regions.js';
import type { ReportConfig } from '../config/visibility.js';

/** ECR storage prices of one region, USD per GB-month (GB = 2^30 bytes, as AWS bills storage). */
export interface StoragePrice {
  readonly standardPerGbMonth: number;
  readonly archivePerGbMonth: number;
}

/** The price the report uses, and where it came from. */
export interface ResolvedPrice extends StoragePrice {
  readonly source: 'config' | 'built-in';
}

/**
 * ECR private-repository storage, USD per GB-month, by region.
 *
 * Source: https://aws.amazon.com/ecr/pricing/ (storage: $0.10 per GB-month; the archive storage class of
 * November 2025: $0.10 per GB-month for the first 150 TB a month, $0.07 above), the same in every commercial
 * region. Date: the page's figures for us-east-1 and ap-northeast-1 as of March 2026, taken on 2026-12-06
 * from published readings of the page (it cannot be fetched from here); compare before relying on a cost. The archive tier above 150 TB is not modelled: a
 * registry that large should set `report.prices` to its blended rate. China (priced in CNY), GovCloud, the
 * European Sovereign Cloud and the isolated partitions have no built-in price: `report.prices` names them.
 */
export const BUILT_IN_PRICES: Readonly<Record<string, StoragePrice>> = Object.fromEntries(
  AWS_REGIONS.aws.map((region) => [region, { standardPerGbMonth: 0.1, archivePerGbMonth: 0.1 }] as const),
);

/** The price of a region: the config's when it names the region, else the built-in table's, else none. */
export function priceFor(region: string, config: ReportConfig | undefined): ResolvedPrice | undefined {
  const configured = config?.prices?.[region];
  if (configured) return { ...configured, source: 'config' };
  const builtIn = BUILT_IN_PRICES[region];
  return builtIn ? { ...builtIn, source: 'built-in' } : undefined;
}

/** Bytes in a GB as AWS bills storage (GB-month means 2^30 bytes for a month). */
export const BYTES_PER_GB = 1024 ** 3;

/** The monthly cost of keeping these bytes, in USD. */
export function monthlyCost(
  bytes: { readonly standard: number; readonly archive: number },
  price: StoragePrice,
): number {
  return (
    (bytes.standard / BYTES_PER_GB) * price.standardPerGbMonth +
    (bytes.archive / BYTES_PER_GB) * price.archivePerGbMonth
  );
}
