/**
 * The digest's week, read in the config's time zone (`digest.timezone`). Pure: `Intl` knows the zones, so no
 * time-zone library is needed. A week is seven calendar days of the zone's wall clock, not 168 hours: the week
 * a clock change falls in is 167 or 169 hours long, and the digest still covers "Monday 08:00 to Monday 08:00".
 */

/** The wall-clock reading of an instant in a zone. `month` is 1-based. */
export interface WallClock {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

/** The week a digest covers: `[start, end)`, in `timeZone`. */
export interface DigestWindow {
  readonly start: Date;
  readonly end: Date;
  readonly timeZone: string;
  /** The start's calendar date in the zone (`2026-11-30`): the week the subject names. */
  readonly weekOf: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** What the wall clock in `timeZone` reads at `at` (seconds; milliseconds are dropped). */
export function wallClock(at: Date, timeZone: string): WallClock {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
  };
}

/** The zone's offset from UTC at `ms` (epoch), in ms: positive east of Greenwich. */
function offsetAt(ms: number, timeZone: string): number {
  const w = wallClock(new Date(ms), timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant the zone's wall clock reads `wall`. Out-of-range fields roll over as in `Date.UTC` (day 0 is the
 * last day of the previous month). A reading a clock change repeats maps to the first of the two instants; one
 * it skips is moved forward by the gap (02:30 on a spring-forward night reads 03:30), as clocks do.
 */
export function fromWallClock(wall: WallClock, timeZone: string): Date {
  const guess = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second);
  // The offsets a day either side cover any single clock change near the reading; a candidate is right when
  // the zone's clock reads `wall` at it.
  const before = guess - offsetAt(guess - 86_400_000, timeZone);
  const after = guess - offsetAt(guess + 86_400_000, timeZone);
  const target = Math.floor(guess / 1000) * 1000;
  const reads = (ms: number) => {
    const w = wallClock(new Date(ms), timeZone);
    return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) === target;
  };
  const valid = [before, after].filter(reads);
  return new Date(valid.length > 0 ? Math.min(...valid) : before);
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `2026-11-30`: the calendar date of `at` in the zone. */
export function zonedDate(at: Date, timeZone: string): string {
  const w = wallClock(at, timeZone);
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`;
}

/** `2026-11-30 08:00`: the date and minute of `at` in the zone. */
export function zonedMinute(at: Date, timeZone: string): string {
  const w = wallClock(at, timeZone);
  return `${zonedDate(at, timeZone)} ${pad(w.hour)}:${pad(w.minute)}`;
}

/** The `days` calendar days of the zone that end at `end` (its wall-clock time, `days` dates earlier). */
export function digestWindow(end: Date, timeZone: string, days = 7): DigestWindow {
  const w = wallClock(end, timeZone);
  const start = fromWallClock({ ...w, day: w.day - days }, timeZone);
  // The wall clock has whole seconds; keep the end's milliseconds so [start, end) is exactly `days` dates.
  const startMs = start.getTime() + (end.getTime() % 1000);
  return { start: new Date(startMs), end, timeZone, weekOf: zonedDate(new Date(startMs), timeZone) };
}

/** The instant `days` calendar days of the zone after `at` (the holds a digest says expire "next week"). */
export function addZonedDays(at: Date, timeZone: string, days: number): Date {
  const w = wallClock(at, timeZone);
  return new Date(fromWallClock({ ...w, day: w.day + days }, timeZone).getTime() + (at.getTime() % 1000));
}
