/**
 * StackStorm's CronTimer parameters (APScheduler's CronTrigger fields: year,
 * month, day, week, day_of_week, hour, minute, second) as one croner
 * pattern of seven fields (second minute hour day month weekday year).
 *
 * APScheduler's rules, kept here:
 * - a field left out is `*` when a finer field is given, and its first value
 *   (month 1, day 1, hour, minute and second 0) when it is finer than every
 *   field given: `{hour: 3}` is 03:00:00 every day, not every second of 3 am;
 *   with no field at all, every field is `*` (every second);
 * - day and day_of_week must both hold (AND), unlike classic cron's OR;
 * - day_of_week counts from Monday = 0 (cron counts from Sunday = 0), and
 *   takes the names mon … sun;
 * - `day: last` is the last day of the month; `day: "2nd fri"` / `"last
 *   fri"` is a weekday's position in the month.
 * ISO week numbers (`week` other than `*`) have no cron equivalent and are
 * refused with that reason.
 */
import { ValidationError } from '../errors.js';

/** APScheduler's field order, coarsest first. */
export const CRON_FIELDS = ['year', 'month', 'day', 'week', 'day_of_week', 'hour', 'minute', 'second'] as const;
export type CronField = (typeof CRON_FIELDS)[number];

/** What a field left out becomes when it is finer than every field given. */
const FIRST_VALUES: Record<CronField, string> = { year: '*', month: '1', day: '1', week: '*', day_of_week: '*', hour: '0', minute: '0', second: '0' };

const BOUNDS: Record<Exclude<CronField, 'week' | 'day_of_week'>, [number, number]> = {
  year: [1970, 9999],
  month: [1, 12],
  day: [1, 31],
  hour: [0, 23],
  minute: [0, 59],
  second: [0, 59],
};

const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
/** APScheduler's weekday names, Monday = 0. */
const WEEKDAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
/** Cron's weekday names by APScheduler number. */
const CRON_WEEKDAYS = ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'];
const POSITIONS: Record<string, string> = { '1st': '1', '2nd': '2', '3rd': '3', '4th': '4', '5th': '5', last: 'L' };

const ENTITY = 'timer';

function refuse(field: string, message: string, value?: unknown): never {
  throw new ValidationError(`CronTimer parameter '${field}' ${message}`, { entity: ENTITY, field, value });
}

/** A field's value as APScheduler's expression text (numbers become their digits). */
function expressionOf(field: CronField, raw: unknown): string {
  if (typeof raw === 'number') {
    if (!Number.isInteger(raw)) refuse(field, `must be a whole number or an expression, got ${raw}`, raw);
    return String(raw);
  }
  if (typeof raw !== 'string' || raw.trim() === '') refuse(field, 'must be a number or a non-empty expression such as "*/5" or "1-5"', raw);
  if (raw.length > 200) refuse(field, 'is longer than 200 characters');
  return raw.trim().toLowerCase().replace(/\s+/g, ' ');
}

/** One numeric part: `*`, `*\/n`, `a`, `a-b`, `a-b/n`, `a/n` (from a to the maximum). Returns croner's spelling. */
function numericPart(field: CronField, part: string, min: number, max: number, names?: string[]): string {
  const value = (text: string): number => {
    const index = names?.indexOf(text) ?? -1;
    const number = index >= 0 ? index + 1 : /^\d+$/.test(text) ? Number(text) : NaN;
    if (!(number >= min && number <= max)) refuse(field, `holds ${JSON.stringify(text)}, outside ${min}-${max}`, part);
    return number;
  };
  const step = (text: string | undefined): string => {
    if (text === undefined) return '';
    if (!/^\d+$/.test(text) || Number(text) < 1) refuse(field, `has step ${JSON.stringify(text)}; a step is a whole number of at least 1`, part);
    return `/${Number(text)}`;
  };
  const match = /^(\*|[a-z0-9]+)(?:-([a-z0-9]+))?(?:\/(\S+))?$/.exec(part);
  if (match === null) refuse(field, `holds ${JSON.stringify(part)}, which is not a value, a range (a-b) or a step (*/n)`, part);
  const [, first, last, stepText] = match;
  if (first === '*') {
    if (last !== undefined) refuse(field, `holds ${JSON.stringify(part)}; '*' takes no range`, part);
    return `*${step(stepText)}`;
  }
  const from = value(first!);
  if (last === undefined) return stepText === undefined ? String(from) : `${from}-${max}${step(stepText)}`;
  const to = value(last);
  if (to < from) refuse(field, `holds the range ${JSON.stringify(part)}, which runs backwards`, part);
  return `${from}-${to}${step(stepText)}`;
}

/** A numeric field (every part of a comma list). */
function numericField(field: Exclude<CronField, 'week' | 'day_of_week'>, expression: string): string {
  const [min, max] = BOUNDS[field];
  return expression
    .split(',')
    .map((part) => numericPart(field, part.trim(), min, max, field === 'month' ? MONTH_NAMES : undefined))
    .join(',');
}

/** APScheduler weekdays (Monday = 0, names) as croner's names, expanded to a list so ranges across Sunday stay right. */
function weekdayField(expression: string): string {
  if (expression === '*') return '*';
  const days = new Set<number>();
  for (const part of expression.split(',').map((p) => p.trim())) {
    const spelled = numericPart('day_of_week', part, 0, 6, undefined);
    const [range, stepText] = spelled.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    let from = 0;
    let to = 6;
    if (range !== '*') {
      const [a, b] = range!.split('-');
      from = Number(a);
      to = b === undefined ? (stepText === undefined ? from : 6) : Number(b);
    }
    for (let day = from; day <= to; day += step) days.add(day);
  }
  return [...days].sort((a, b) => a - b).map((day) => CRON_WEEKDAYS[day]).join(',');
}

/** Weekday names in day_of_week become numbers first (APScheduler allows mon-fri). */
function weekdayNamesToNumbers(expression: string): string {
  return expression.replace(/[a-z]{3}/g, (name) => {
    const index = WEEKDAY_NAMES.indexOf(name);
    if (index < 0) refuse('day_of_week', `holds ${JSON.stringify(name)}, which is not a weekday (mon … sun)`, expression);
    return String(index);
  });
}

/** The croner pattern and options for StackStorm CronTimer parameters. ValidationError naming the field otherwise. */
export function cronPattern(params: Record<string, unknown>): string {
  const given = CRON_FIELDS.filter((field) => params[field] !== undefined && params[field] !== null);
  const finest = given.length === 0 ? -1 : CRON_FIELDS.indexOf(given[given.length - 1]!);
  const expressions = {} as Record<CronField, string>;
  CRON_FIELDS.forEach((field, index) => {
    if (given.includes(field)) expressions[field] = expressionOf(field, params[field]);
    else expressions[field] = finest >= 0 && index > finest ? FIRST_VALUES[field] : '*';
  });
  if (expressions.week !== '*') refuse('week', 'other than "*" is not supported (ISO week numbers have no cron equivalent); use day and month', params.week);

  let day = expressions.day;
  let weekday = weekdayField(weekdayNamesToNumbers(expressions.day_of_week));
  const position = /^(1st|2nd|3rd|4th|5th|last) (mon|tue|wed|thu|fri|sat|sun)$/.exec(day);
  if (day === 'last') day = 'L';
  else if (position !== null) {
    if (weekday !== '*') refuse('day', `"${day}" cannot be combined with day_of_week`, params.day);
    weekday = `${CRON_WEEKDAYS[WEEKDAY_NAMES.indexOf(position[2]!)]}#${POSITIONS[position[1]!]}`;
    day = '*';
  } else day = numericField('day', day);

  return [
    numericField('second', expressions.second),
    numericField('minute', expressions.minute),
    numericField('hour', expressions.hour),
    day,
    numericField('month', expressions.month),
    weekday,
    numericField('year', expressions.year),
  ].join(' ');
}
