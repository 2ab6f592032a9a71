/** Number formats shared by the benchmark report, the results comparison and the Targets table. */

/** Milliseconds and megabytes: whole above 100, one decimal below. */
export const fmt = (n: number): string => (n >= 100 ? n.toFixed(0) : n.toFixed(1));

/** Counts as integers, ratios and small values with the digits that matter. */
export const fmtFigure = (n: number): string =>
  Number.isInteger(n) || n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toPrecision(3);
