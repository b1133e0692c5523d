/**
 * Timer triggers: what a rule's trigger parameters mean as a schedule.
 * `parseTimer(triggerRef, params)` checks the parameters (StackStorm's, plus
 * Attune's `catch_up`) and returns a `Timer` that answers "when is the tick
 * after this one" for interval, cron and date timers alike. Pure: no
 * database, no clock but the times it is given.
 */
import { Cron } from 'croner';
import { ValidationError } from '../errors.js';
import { cronPattern, CRON_FIELDS } from './cron-fields.js';

/** The timer triggers of the core pack (packs/core/triggers), by kind. */
export const TIMER_TRIGGER_REFS = {
  interval: 'core.st2.IntervalTimer',
  cron: 'core.st2.CronTimer',
  date: 'core.st2.DateTimer',
} as const;
export type TimerKind = keyof typeof TIMER_TRIGGER_REFS;

/** Every timer trigger ref. */
export const TIMER_TRIGGERS: readonly string[] = Object.values(TIMER_TRIGGER_REFS);

/** The kind of timer a trigger ref is, or null for any other trigger. */
export function timerKind(triggerRef: string): TimerKind | null {
  for (const [kind, ref] of Object.entries(TIMER_TRIGGER_REFS)) if (ref === triggerRef) return kind as TimerKind;
  return null;
}

/** The most missed ticks one schedule may replay (`catch_up`), whatever it asks. */
export const MAX_CATCH_UP = 10_000;

/** A schedule: the ticks of one timer. */
export interface Timer {
  kind: TimerKind;
  /** How many missed ticks to replay after an outage (0: none). */
  catchUp: number;
  /** The first tick of a schedule created at `now` (an interval's is one period later); null when there is none. */
  first(now: Date): Date | null;
  /**
   * The first tick strictly after `time`. Interval ticks lie on the grid
   * through `anchor` (a tick of the same schedule).
   */
  after(time: Date, anchor: Date): Date | null;
  /** Up to `count` ticks before `time` and at or after `anchor`, oldest first. */
  before(time: Date, anchor: Date, count: number): Date[];
}

const ENTITY = 'timer';

function refuse(kind: string, field: string, message: string, value?: unknown): never {
  throw new ValidationError(`${kind} parameter '${field}' ${message}`, { entity: ENTITY, field, value });
}

const UNIT_SECONDS = { weeks: 604_800, days: 86_400, hours: 3_600, minutes: 60, seconds: 1 } as const;

/** Options of `parseTimer`. */
export interface ParseTimerOptions {
  /** What `catch_up: true` means, and the most a number may ask for. Default 100. */
  catchUpMax?: number;
}

/**
 * The timer `params` describe for `triggerRef` (one of TIMER_TRIGGERS).
 * ValidationError naming the parameter when they give no schedule: an
 * unknown parameter, a unit or delta out of range, a cron field that does
 * not parse, a time zone that does not exist, a date that is not one.
 */
export function parseTimer(triggerRef: string, params: Record<string, unknown>, options: ParseTimerOptions = {}): Timer {
  const kind = timerKind(triggerRef);
  if (kind === null) throw new ValidationError(`'${triggerRef}' is not a timer trigger (${TIMER_TRIGGERS.join(', ')})`, { entity: ENTITY, field: 'triggerRef', value: triggerRef });
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    throw new ValidationError(`${triggerRef} parameters must be an object`, { entity: ENTITY, field: 'parameters' });
  }
  const name = triggerRef.split('.').pop()!;
  const known = new Set(['timezone', 'catch_up', ...(kind === 'interval' ? ['unit', 'delta'] : kind === 'cron' ? CRON_FIELDS : ['date'])]);
  for (const key of Object.keys(params)) if (!known.has(key)) refuse(name, key, `is not one of ${[...known].join(', ')}`);
  const timezone = parseTimezone(name, params.timezone);
  const catchUp = parseCatchUp(name, params.catch_up, Math.min(MAX_CATCH_UP, options.catchUpMax ?? 100));
  if (kind === 'interval') return intervalTimer(name, params, catchUp);
  if (kind === 'cron') return cronTimer(params, timezone, catchUp);
  return dateTimer(name, params.date, timezone, catchUp);
}

function parseTimezone(kind: string, value: unknown): string {
  if (value === undefined || value === null) return 'UTC';
  if (typeof value !== 'string' || value === '') refuse(kind, 'timezone', 'must be an IANA time zone name such as Europe/Paris', value);
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
  } catch {
    refuse(kind, 'timezone', `${JSON.stringify(value)} is not a time zone (an IANA name such as Europe/Paris)`, value);
  }
  return value;
}

function parseCatchUp(kind: string, value: unknown, max: number): number {
  if (value === undefined || value === null || value === false) return 0;
  if (value === true) return max;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) refuse(kind, 'catch_up', 'must be true, false or a whole number of ticks of at least 0', value);
  return Math.min(value, max);
}

function intervalTimer(kind: string, params: Record<string, unknown>, catchUp: number): Timer {
  const unit = params.unit;
  if (typeof unit !== 'string' || !(unit in UNIT_SECONDS)) refuse(kind, 'unit', `must be one of ${Object.keys(UNIT_SECONDS).join(', ')}`, unit);
  const delta = params.delta;
  if (typeof delta !== 'number' || !Number.isInteger(delta) || delta < 1) refuse(kind, 'delta', 'must be a whole number of at least 1', delta);
  const periodMs = delta * UNIT_SECONDS[unit as keyof typeof UNIT_SECONDS] * 1000;
  if (!Number.isSafeInteger(periodMs) || periodMs > 100 * 365 * 86_400_000) refuse(kind, 'delta', 'makes an interval longer than 100 years', delta);
  return {
    kind: 'interval',
    catchUp,
    first: (now) => new Date(now.getTime() + periodMs),
    after(time, anchor) {
      const steps = Math.floor((time.getTime() - anchor.getTime()) / periodMs) + 1;
      return new Date(anchor.getTime() + steps * periodMs);
    },
    before(time, anchor, count) {
      // Ticks anchor + k·period with anchor ≤ tick < time: k from 0 to last.
      const last = Math.ceil((time.getTime() - anchor.getTime()) / periodMs) - 1;
      const ticks: Date[] = [];
      for (let k = Math.max(0, last - count + 1); k <= last; k++) ticks.push(new Date(anchor.getTime() + k * periodMs));
      return ticks;
    },
  };
}

function cronTimer(params: Record<string, unknown>, timezone: string, catchUp: number): Timer {
  const pattern = cronPattern(params);
  let cron: Cron;
  try {
    cron = new Cron(pattern, { timezone, mode: '7-part', domAndDow: true, paused: true });
  } catch (error) {
    throw new ValidationError(`CronTimer parameters give the pattern '${pattern}', which does not parse: ${(error as Error).message}`, { entity: ENTITY, field: 'parameters' });
  }
  return {
    kind: 'cron',
    catchUp,
    first: (now) => cron.nextRun(now),
    after: (time) => cron.nextRun(time),
    before: (time, anchor, count) =>
      cron
        .previousRuns(count, time)
        .filter((tick) => tick.getTime() >= anchor.getTime())
        .reverse(),
  };
}

/** `executed_at` as StackStorm's timers write it: `str()` of an aware UTC datetime (`2024-05-01 12:00:00.123000+00:00`). */
export function stackstormTimestamp(date: Date): string {
  const iso = date.toISOString();
  const fraction = date.getUTCMilliseconds() === 0 ? '' : `.${String(date.getUTCMilliseconds()).padStart(3, '0')}000`;
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction}+00:00`;
}

const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

function dateTimer(kind: string, value: unknown, timezone: string, catchUp: number): Timer {
  if (typeof value !== 'string') refuse(kind, 'date', 'is required: a date and time such as "2030-01-31 12:00:00" or 2030-01-31T12:00:00Z', value);
  const at = parseDate(kind, value, timezone);
  return {
    kind: 'date',
    catchUp,
    first: () => at,
    after: (time) => (at.getTime() > time.getTime() ? at : null),
    before: (time, anchor, count) => (count > 0 && at.getTime() < time.getTime() && at.getTime() >= anchor.getTime() ? [at] : []),
  };
}

/** An ISO 8601 date and time; without an offset it is read in `timezone`. */
export function parseDate(kind: string, text: string, timezone: string): Date {
  const match = DATE_PATTERN.exec(text.trim());
  if (match === null) refuse(kind, 'date', `${JSON.stringify(text)} is not a date and time such as "2030-01-31 12:00:00" or 2030-01-31T12:00:00Z`, text);
  const [, y, mo, d, h, mi, s = '0', fraction = '0', offset] = match;
  const fields = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Math.floor(Number(`0.${fraction}`) * 1000)] as const;
  const wall = Date.UTC(...fields);
  const check = new Date(wall);
  if (check.getUTCMonth() !== fields[1] || check.getUTCDate() !== fields[2] || fields[3] > 23 || fields[4] > 59 || fields[5] > 59) {
    refuse(kind, 'date', `${JSON.stringify(text)} is not a real date and time`, text);
  }
  if (offset !== undefined) return new Date(wall - offsetMs(offset));
  return new Date(zonedWallToUtc(wall, timezone));
}

function offsetMs(offset: string): number {
  if (offset.toUpperCase() === 'Z') return 0;
  const digits = offset.slice(1).replace(':', '');
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
  return (offset[0] === '-' ? -1 : 1) * minutes * 60_000;
}

/** How far `timezone` is ahead of UTC at `instant`, in milliseconds. */
function zoneOffset(instant: number, timezone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(instant));
  const get = (type: string): number => Number(parts.find((part) => part.type === type)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/**
 * The instant whose wall-clock time in `timezone` is `wall` (its fields read
 * as UTC): the earlier one when the clock goes back (the hour happens
 * twice), the time as if the clock had not moved yet when it goes forward
 * (the hour does not exist).
 */
function zonedWallToUtc(wall: number, timezone: string): number {
  const day = 86_400_000;
  const offsets = [...new Set([zoneOffset(wall - day, timezone), zoneOffset(wall + day, timezone)])];
  const valid = offsets.filter((offset) => zoneOffset(wall - offset, timezone) === offset).map((offset) => wall - offset);
  if (valid.length > 0) return Math.min(...valid);
  return wall - offsets[0]!;
}
