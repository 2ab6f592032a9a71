/**
 * EventBridge Scheduler's recurring schedule expressions, checked as the service checks them, so a schedule
 * CloudFormation would refuse at deploy time (or one that never fires) fails `cdk synth` and
 * `ecr-steward validate` instead. Source: the EventBridge Scheduler user guide, "Schedule types"
 * (cron-based and rate-based schedules): six cron fields with these ranges and wildcards, and
 * `rate(value unit)` with a singular unit for 1 and a plural one above.
 */

/** An example of each form, quoted in every message so the fix is on the same line. */
export const SCHEDULE_EXAMPLES = '"cron(0 3 * * ? *)" or "rate(12 hours)"';

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface CronField {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Names standing for min, min+1, … (months, days of the week). */
  readonly names?: readonly string[];
}

const FIELDS: readonly CronField[] = [
  { name: 'minutes', min: 0, max: 59 },
  { name: 'hours', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day-of-week', min: 1, max: 7, names: DAYS },
  { name: 'year', min: 1970, max: 2199 },
];

/** The value of a number or a name in a field, or undefined when it is neither or out of range. */
function value(field: CronField, text: string): number | undefined {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n >= field.min && n <= field.max ? n : undefined;
  }
  const i = field.names?.indexOf(text) ?? -1;
  return i >= 0 ? field.min + i : undefined;
}

function range(field: CronField): string {
  const names = field.names ? ` or ${field.names[0]}-${field.names[field.names.length - 1]}` : '';
  return `${field.min}-${field.max}${names}`;
}

/** `*`, a value, or a range `a-b`, optionally followed by `/step`: what every field takes. */
function checkCommon(field: CronField, item: string): string | undefined {
  const [base = '', step, extra] = item.split('/');
  if (extra !== undefined) return `"${item}" has more than one "/"`;
  if (step !== undefined && !/^[1-9]\d*$/.test(step))
    return `"${item}": the increment after "/" must be a positive whole number`;
  if (base === '*') return undefined;
  const bounds = base.split('-');
  if (bounds.length > 2) return `"${item}" is not a value or a range a-b`;
  for (const bound of bounds) {
    if (value(field, bound) === undefined)
      return `"${bound}" is not in the ${field.name} range ${range(field)}`;
  }
  return undefined;
}

/** The day-of-month extras: `L` (last day), `L-n` (n days before it), `nW` and `LW` (nearest weekday). */
function checkDayOfMonth(field: CronField, item: string): string | undefined {
  if (item === 'L' || item === 'LW') return undefined;
  const before = /^L-(\d+)$/.exec(item);
  if (before) return Number(before[1]) <= 30 ? undefined : `"${item}": at most 30 days before the last day`;
  const weekday = /^(\d+)W$/.exec(item);
  if (weekday)
    return value(field, weekday[1]!) === undefined ? `"${item}": the day before W must be 1-31` : undefined;
  if (/[LW]/.test(item)) return `"${item}": L and W are used as L, L-n, nW or LW`;
  return checkCommon(field, item);
}

/** The day-of-week extras: `L` (Saturday), `nL` (last such day of the month), `n#k` (k-th such day). */
function checkDayOfWeek(field: CronField, item: string): string | undefined {
  if (item === 'L') return undefined;
  const last = /^([A-Z]+|\d+)L$/.exec(item);
  if (last)
    return value(field, last[1]!) === undefined
      ? `"${item}": the day before L must be 1-7 or SUN-SAT`
      : undefined;
  const nth = /^([A-Z]+|\d+)#(\d+)$/.exec(item);
  if (nth) {
    if (value(field, nth[1]!) === undefined) return `"${item}": the day before # must be 1-7 or SUN-SAT`;
    const k = Number(nth[2]);
    return k >= 1 && k <= 5 ? undefined : `"${item}": the week after # must be 1-5`;
  }
  if (/[L#]/.test(item)) return `"${item}": L and # are used as L, nL or n#k`;
  return checkCommon(field, item);
}

function checkField(index: number, text: string): string | undefined {
  const field = FIELDS[index]!;
  if (text === '?') {
    return index === 2 || index === 4 ? undefined : `"?" is only allowed in day-of-month and day-of-week`;
  }
  const items = text.split(',');
  if (index === 4 && items.length > 1 && items.some((i) => i.includes('#'))) {
    return `"${text}": a day-of-week with "#" must stand alone, not in a list`;
  }
  for (const item of items) {
    if (item === '') return `"${text}" has an empty list entry`;
    if (item === '?') return `"?" must be the whole ${field.name} field`;
    const problem =
      index === 2
        ? checkDayOfMonth(field, item)
        : index === 4
          ? checkDayOfWeek(field, item)
          : checkCommon(field, item);
    if (problem) return `${field.name} ${problem}`;
  }
  return undefined;
}

function cronProblem(body: string): string | undefined {
  const fields = body.split(' ');
  if (fields.length !== 6 || fields.some((f) => f === '')) {
    return `a cron expression has six fields separated by single spaces (minutes hours day-of-month month day-of-week year), got ${fields.filter((f) => f !== '').length}`;
  }
  for (let i = 0; i < 6; i++) {
    const problem = checkField(i, fields[i]!);
    if (problem) return problem;
  }
  if ((fields[2] === '?') === (fields[4] === '?')) {
    return 'a cron expression needs "?" in exactly one of day-of-month and day-of-week';
  }
  return undefined;
}

function rateProblem(body: string): string | undefined {
  const match = /^(\d+) ([a-z]+)$/.exec(body);
  if (!match) return 'a rate expression is rate(value unit), such as rate(12 hours)';
  const [, n, unit] = match as unknown as [string, string, string];
  if (!/^[1-9]\d*$/.test(n)) return `the rate value "${n}" must be a positive whole number`;
  const singular = unit.replace(/s$/, '');
  if (!['minute', 'hour', 'day'].includes(singular))
    return `the rate unit "${unit}" must be minute(s), hour(s) or day(s)`;
  if (n === '1' && unit !== singular) return `a rate of 1 takes the singular unit: rate(1 ${singular})`;
  if (n !== '1' && unit === singular) return `a rate above 1 takes the plural unit: rate(${n} ${singular}s)`;
  return undefined;
}

/**
 * What is wrong with a recurring EventBridge Scheduler expression (`cron(…)` or `rate(…)`), in one line
 * that ends with examples, or undefined when the service would take it. Cron months and days of the week
 * may be numbers or upper-case three-letter names.
 */
export function scheduleExpressionProblem(expression: string): string | undefined {
  const cron = /^cron\((.*)\)$/.exec(expression);
  const rate = /^rate\((.*)\)$/.exec(expression);
  const problem = cron
    ? cronProblem(cron[1]!)
    : rate
      ? rateProblem(rate[1]!)
      : 'not an EventBridge Scheduler expression';
  return problem ? `${problem} — use a schedule such as ${SCHEDULE_EXAMPLES}` : undefined;
}
