/** Human sizes (binary units), one definition for the CLI's tables and the notices. */
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** Bytes in binary units with about three significant digits: `512 B`, `1.50 KiB`, `21.4 MiB`, `212 GiB`. */
export function humanBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 1024) return `${Math.max(0, Math.round(bytes || 0))} B`;
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : 2;
  // Rounding can carry into the next unit (1023.99 KiB → "1024 KiB"); say "1.00 MiB" instead.
  if (Number(value.toFixed(digits)) >= 1024 && unit < UNITS.length - 1) return `1.00 ${UNITS[unit + 1]}`;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** A copy of `o` without its undefined fields (for DynamoDB items and records compared by content). */
export function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
