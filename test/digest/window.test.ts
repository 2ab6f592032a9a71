/**
 * The digest's week in the config's time zone: seven calendar days of the zone's wall clock, across clock
 * changes, and the wall-clock conversions behind it.
 */
import { describe, expect, it } from 'vitest';
import {
  addZonedDays,
  digestWindow,
  fromWallClock,
  wallClock,
  zonedDate,
  zonedMinute,
} from '../../functions/shared/digest/window.js';

describe('digestWindow', () => {
  it('returns the seven days before the end when the zone is UTC', () => {
    // Prepare
    const end = new Date('2026-12-07T08:00:00.000Z');

    // Act
    const window = digestWindow(end, 'UTC');

    // Assess
    expect(window).toEqual({
      start: new Date('2026-11-30T08:00:00.000Z'),
      end,
      timeZone: 'UTC',
      weekOf: '2026-11-30',
    });
  });

  it('starts at the same wall-clock time a week earlier when the clocks go back in the week', () => {
    // Prepare: Monday 2026-10-26 08:00 in Berlin (CET, UTC+1); the clocks went back on Sunday 2026-10-25.
    const end = new Date('2026-10-26T07:00:00.000Z');

    // Act
    const window = digestWindow(end, 'Europe/Berlin');

    // Assess: Monday 2026-10-19 08:00 CEST (UTC+2), 169 hours earlier.
    expect(window.start.toISOString()).toBe('2026-10-19T06:00:00.000Z');
    expect(window.weekOf).toBe('2026-10-19');
    expect(zonedMinute(window.start, 'Europe/Berlin')).toBe('2026-10-19 08:00');
    expect((end.getTime() - window.start.getTime()) / 3_600_000).toBe(169);
  });

  it('is 167 hours long when the clocks go forward in the week', () => {
    // Prepare: Monday 2026-03-30 08:00 CEST (UTC+2); a week earlier was CET (UTC+1).
    const end = new Date('2026-03-30T06:00:00.000Z');

    // Act
    const window = digestWindow(end, 'Europe/Berlin');

    // Assess
    expect(window.start.toISOString()).toBe('2026-03-23T07:00:00.000Z');
    expect((end.getTime() - window.start.getTime()) / 3_600_000).toBe(167);
  });

  it('keeps the milliseconds of the end when the scheduled time has them', () => {
    // Act
    const window = digestWindow(new Date('2026-12-07T08:00:00.250Z'), 'UTC');

    // Assess
    expect(window.start.toISOString()).toBe('2026-11-30T08:00:00.250Z');
  });
});

describe('fromWallClock', () => {
  it('returns the instant the zone reads the wall clock when the reading exists once', () => {
    // Act
    const at = fromWallClock(
      { year: 2026, month: 7, day: 1, hour: 8, minute: 30, second: 0 },
      'America/New_York',
    );

    // Assess
    expect(at.toISOString()).toBe('2026-07-01T12:30:00.000Z');
  });

  it('returns the first of the two instants when the clocks go back over the reading', () => {
    // Act: 02:30 on 2026-10-25 happens twice in Berlin (CEST, then CET).
    const at = fromWallClock(
      { year: 2026, month: 10, day: 25, hour: 2, minute: 30, second: 0 },
      'Europe/Berlin',
    );

    // Assess
    expect(at.toISOString()).toBe('2026-10-25T00:30:00.000Z');
  });

  it('moves a reading forward by the gap when the clocks skip it', () => {
    // Act: 02:30 on 2026-03-29 never happens in Berlin; clocks read 03:30 an hour after 01:30.
    const at = fromWallClock(
      { year: 2026, month: 3, day: 29, hour: 2, minute: 30, second: 0 },
      'Europe/Berlin',
    );

    // Assess
    expect(at.toISOString()).toBe('2026-03-29T01:30:00.000Z');
    expect(wallClock(at, 'Europe/Berlin')).toEqual({
      year: 2026,
      month: 3,
      day: 29,
      hour: 3,
      minute: 30,
      second: 0,
    });
  });

  it('rolls a day before the first of the month over into the previous month', () => {
    // Act
    const at = fromWallClock({ year: 2026, month: 3, day: 0, hour: 0, minute: 0, second: 0 }, 'UTC');

    // Assess
    expect(at.toISOString()).toBe('2026-02-28T00:00:00.000Z');
  });
});

describe('zonedDate', () => {
  it('returns the date of the zone when it differs from the UTC date', () => {
    // Act / Assess
    expect(zonedDate(new Date('2026-11-29T23:30:00.000Z'), 'Europe/Berlin')).toBe('2026-11-30');
    expect(zonedDate(new Date('2026-11-29T23:30:00.000Z'), 'UTC')).toBe('2026-11-29');
  });
});

describe('addZonedDays', () => {
  it('adds calendar days of the zone when a clock change lies between', () => {
    // Act: a week after Monday 2026-10-19 08:00 CEST is Monday 2026-10-26 08:00 CET.
    const at = addZonedDays(new Date('2026-10-19T06:00:00.000Z'), 'Europe/Berlin', 7);

    // Assess
    expect(at.toISOString()).toBe('2026-10-26T07:00:00.000Z');
  });
});
