import { describe, expect, it } from 'vitest';
import { isTimeZone } from '../../functions/shared/config/sweep.js';

describe('isTimeZone', () => {
  // UTC is answered without Intl (cold start); the answers must be Intl's all the same.
  it.each(['UTC', 'utc', 'Etc/UTC', 'Europe/Berlin', 'America/Los_Angeles'])(
    'accepts %s as Intl does',
    (tz) => {
      expect(isTimeZone(tz)).toBe(true);
      expect(() => new Intl.DateTimeFormat('en', { timeZone: tz })).not.toThrow();
    },
  );

  it.each(['Mars/Olympus_Mons', '', 'UTC+25', 'Europe/Berl'])('refuses %j as Intl does', (tz) => {
    expect(isTimeZone(tz)).toBe(false);
    expect(() => new Intl.DateTimeFormat('en', { timeZone: tz })).toThrow(RangeError);
  });
});
