/**
 * Bounds of the commands' options, shared by their registration (help text, cli/register/) and their work
 * (validation, cli/commands/): a module of its own so that neither imports the other for them.
 */

/** `report --concurrency`: repositories read at once, at most: ECR's request rates are per account, shared with everything else. */
export const REPORT_MAX_CONCURRENCY = 32;

/** `run --concurrency`: repositories planned and cleaned at once, at most (ECR's request rates are per account). */
export const RUN_MAX_CONCURRENCY = 16;
