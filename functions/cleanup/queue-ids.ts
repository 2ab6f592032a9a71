/**
 * The cleanup queue's FIFO message group and deduplication ids, for every producer (intake, sweep, due runs).
 * A module of its own so the intake, which only queues arrivals, bundles nothing of the cleanup core.
 */
import { createHash } from 'node:crypto';

/**
 * SQS FIFO message group and deduplication ids are at most 128 characters of a restricted alphabet; ECR
 * repository names reach 256. A longer id keeps its first 63 characters and gets a hash of the whole, so two
 * long names that share a prefix still get two groups, and one name always the same group.
 */
export function dedupId(raw: string): string {
  const clean = raw.replace(/[^A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g, '_');
  return clean.length <= 128
    ? clean
    : `${clean.slice(0, 63)}#${createHash('sha256').update(raw).digest('hex')}`;
}

/** The FIFO message group of a repository: one group per repository, within SQS's 128-character limit. */
export const messageGroupId = (repository: string): string => dedupId(repository);
