import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { cronPattern } from '../../src/sensors/cron-fields.js';
import { planTicks } from '../../src/sensors/ticks.js';
import { parseTimer, stackstormTimestamp, TIMER_TRIGGER_REFS } from '../../src/sensors/timers.js';

const { interval: INTERVAL, cron: CRON, date: DATE } = TIMER_TRIGGER_REFS;
const at = (iso: string) => new Date(iso);

describe('CronTimer parameters as a cron pattern (APScheduler fields)', () => {
  it.each([
    [{}, '* * * * * * *'],
    [{ second: '*/10' }, '*/10 * * * * * *'],
    [{ hour: 3 }, '0 0 3 * * * *'],
    [{ minute: '*/5' }, '0 */5 * * * * *'],
    [{ hour: 9, minute: 30 }, '0 30 9 * * * *'],
    [{ day_of_week: 'mon-fri', hour: 9 }, '0 0 9 * * MON,TUE,WED,THU,FRI *'],
    [{ day_of_week: 0 }, '0 0 0 * * MON *'],
    [{ day_of_week: 6 }, '0 0 0 * * SUN *'],
    [{ day_of_week: '5-6', hour: 12 }, '0 0 12 * * SAT,SUN *'],
    [{ day_of_week: 'sat,sun,mon' }, '0 0 0 * * MON,SAT,SUN *'],
    [{ year: 2030 }, '0 0 0 1 1 * 2030'],
    [{ month: 'jan-mar' }, '0 0 0 1 1-3 * *'],
    [{ day: 'last', hour: 18 }, '0 0 18 L * * *'],
    [{ day: '2nd fri' }, '0 0 0 * * FRI#2 *'],
    [{ day: 'last sun' }, '0 0 0 * * SUN#L *'],
    [{ second: '5/15' }, '5-59/15 * * * * * *'],
    [{ minute: '0,30', second: 0 }, '0 0,30 * * * * *'],
    [{ week: '*', hour: 1 }, '0 0 1 * * * *'],
  ])('%j → %s', (params, pattern) => {
    expect(cronPattern(params)).toBe(pattern);
  });

  it.each([
    [{ week: 10 }, 'week'],
    [{ hour: 24 }, 'hour'],
    [{ minute: 'often' }, 'minute'],
    [{ day_of_week: 'funday' }, 'day_of_week'],
    [{ second: '10-5' }, 'second'],
    [{ second: '*/0' }, 'second'],
    [{ day: '2nd fri', day_of_week: 'mon' }, 'day'],
    [{ month: 1.5 }, 'month'],
  ])('%j is refused naming %s', (params, field) => {
    let error: unknown;
    try {
      cronPattern(params);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
  });
});

describe('parseTimer', () => {
  it('an interval fires one period after it is created, then on the grid through its first tick', () => {
    const timer = parseTimer(INTERVAL, { unit: 'minutes', delta: 5 });
    const now = at('2030-01-01T00:00:00Z');
    const first = timer.first(now)!;
    expect(first.toISOString()).toBe('2030-01-01T00:05:00.000Z');
    expect(timer.after(first, first)!.toISOString()).toBe('2030-01-01T00:10:00.000Z');
    expect(timer.after(at('2030-01-01T00:17:00Z'), first)!.toISOString()).toBe('2030-01-01T00:20:00.000Z');
    expect(timer.before(at('2030-01-01T00:20:00Z'), first, 2).map((d) => d.toISOString())).toEqual(['2030-01-01T00:10:00.000Z', '2030-01-01T00:15:00.000Z']);
  });

  it('a cron timer follows its time zone across daylight saving time', () => {
    const timer = parseTimer(CRON, { hour: 9, minute: 30, timezone: 'Europe/Paris' });
    expect(timer.first(at('2030-01-10T00:00:00Z'))!.toISOString()).toBe('2030-01-10T08:30:00.000Z');
    expect(timer.first(at('2030-07-10T00:00:00Z'))!.toISOString()).toBe('2030-07-10T07:30:00.000Z');
  });

  it('a cron timer requires day and day_of_week together (AND, as APScheduler), with Monday = 0', () => {
    // The 13th that is a Friday (Monday = 0, so Friday is 4): 2030-09-13.
    const timer = parseTimer(CRON, { day: 13, day_of_week: 4 });
    expect(timer.first(at('2030-01-01T00:00:00Z'))!.toISOString()).toBe('2030-09-13T00:00:00.000Z');
  });

  it('a cron timer with seconds ticks every matching second', () => {
    const timer = parseTimer(CRON, { second: '*/15' });
    const first = timer.first(at('2030-01-01T00:00:07Z'))!;
    expect(first.toISOString()).toBe('2030-01-01T00:00:15.000Z');
    expect(timer.after(first, first)!.toISOString()).toBe('2030-01-01T00:00:30.000Z');
    expect(timer.before(at('2030-01-01T00:01:00Z'), first, 2).map((d) => d.toISOString())).toEqual(['2030-01-01T00:00:30.000Z', '2030-01-01T00:00:45.000Z']);
  });

  it.each([
    ['2030-01-31 12:00:00', 'Europe/Paris', '2030-01-31T11:00:00.000Z'],
    ['2030-07-31T12:00:00', 'Europe/Paris', '2030-07-31T10:00:00.000Z'],
    ['2030-01-31T12:00:00Z', 'Europe/Paris', '2030-01-31T12:00:00.000Z'],
    ['2030-01-31T12:00:00.5+02:00', undefined, '2030-01-31T10:00:00.500Z'],
    ['2030-01-31 12:00', undefined, '2030-01-31T12:00:00.000Z'],
    ['2030-03-31 02:30:00', 'Europe/Paris', '2030-03-31T01:30:00.000Z'],
    ['2030-10-27 02:30:00', 'Europe/Paris', '2030-10-27T00:30:00.000Z'],
  ])('a date timer at %s in %s fires once at %s', (date, timezone, expected) => {
    const timer = parseTimer(DATE, timezone === undefined ? { date } : { date, timezone });
    const first = timer.first(at('2029-01-01T00:00:00Z'))!;
    expect(first.toISOString()).toBe(expected);
    expect(timer.after(first, first)).toBeNull();
  });

  it.each([
    [INTERVAL, { unit: 'fortnights', delta: 1 }, 'unit'],
    [INTERVAL, { unit: 'seconds', delta: 0 }, 'delta'],
    [INTERVAL, { unit: 'seconds' }, 'delta'],
    [INTERVAL, { unit: 'seconds', delta: 1, every: 2 }, 'every'],
    [CRON, { hour: 1, timezone: 'Mars/Olympus' }, 'timezone'],
    [DATE, { date: 'next tuesday' }, 'date'],
    [DATE, { date: '2030-02-30 10:00:00' }, 'date'],
    [DATE, {}, 'date'],
    [DATE, { date: '2030-01-01T00:00:00Z', catch_up: -1 }, 'catch_up'],
  ])('%s %j is refused naming %s', (ref, params, field) => {
    let error: unknown;
    try {
      parseTimer(ref, params);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe(field);
  });

  it('refuses a trigger that is not a timer', () => {
    expect(() => parseTimer('core.st2.webhook', { url: 'x' })).toThrow(ValidationError);
  });

  it('catch_up: true replays up to the configured maximum; a number is capped by it', () => {
    expect(parseTimer(INTERVAL, { unit: 'seconds', delta: 1, catch_up: true }, { catchUpMax: 7 }).catchUp).toBe(7);
    expect(parseTimer(INTERVAL, { unit: 'seconds', delta: 1, catch_up: 50 }, { catchUpMax: 7 }).catchUp).toBe(7);
    expect(parseTimer(INTERVAL, { unit: 'seconds', delta: 1, catch_up: 3 }).catchUp).toBe(3);
    expect(parseTimer(INTERVAL, { unit: 'seconds', delta: 1 }).catchUp).toBe(0);
  });
});

describe('planTicks', () => {
  const everySecond = parseTimer(INTERVAL, { unit: 'seconds', delta: 1 });
  const options = { graceMs: 30_000, maxTicks: 100 };
  const iso = (ticks: { at: Date }[]) => ticks.map((tick) => tick.at.toISOString());

  it('fires a tick that is due and moves to the next', () => {
    const plan = planTicks(everySecond, at('2030-01-01T00:00:10Z'), at('2030-01-01T00:00:10.400Z'), options);
    expect(iso(plan.fire)).toEqual(['2030-01-01T00:00:10.000Z']);
    expect(plan.next!.toISOString()).toBe('2030-01-01T00:00:11.000Z');
    expect(plan.missed).toBe(0);
  });

  it('fires every tick that is late but within the grace, none lost to a slow round', () => {
    const plan = planTicks(everySecond, at('2030-01-01T00:00:10Z'), at('2030-01-01T00:00:12.500Z'), options);
    expect(iso(plan.fire)).toEqual(['2030-01-01T00:00:10.000Z', '2030-01-01T00:00:11.000Z', '2030-01-01T00:00:12.000Z']);
    expect(plan.next!.toISOString()).toBe('2030-01-01T00:00:13.000Z');
  });

  it('skips ticks missed while nothing ran (older than the grace) and counts them', () => {
    const plan = planTicks(everySecond, at('2030-01-01T00:00:00Z'), at('2030-01-01T01:00:00Z'), { graceMs: 2_000, maxTicks: 100 });
    expect(iso(plan.fire)).toEqual(['2030-01-01T00:59:58.000Z', '2030-01-01T00:59:59.000Z', '2030-01-01T01:00:00.000Z']);
    expect(plan.missed).toBe(3598);
    expect(plan.fire.every((tick) => !tick.replay)).toBe(true);
  });

  it('with catch_up, replays the newest missed ticks, marked, oldest first', () => {
    const timer = parseTimer(INTERVAL, { unit: 'minutes', delta: 10, catch_up: 2 });
    const plan = planTicks(timer, at('2030-01-01T00:00:00Z'), at('2030-01-01T01:05:00Z'), options);
    expect(iso(plan.fire)).toEqual(['2030-01-01T00:50:00.000Z', '2030-01-01T01:00:00.000Z']);
    expect(plan.fire.map((tick) => tick.replay)).toEqual([true, true]);
    expect(plan.missed).toBe(5);
    expect(plan.next!.toISOString()).toBe('2030-01-01T01:10:00.000Z');
  });

  it('a date timer fires once when due and has no next time', () => {
    const timer = parseTimer(DATE, { date: '2030-01-01T00:00:00Z' });
    const plan = planTicks(timer, at('2030-01-01T00:00:00Z'), at('2030-01-01T00:00:01Z'), options);
    expect(iso(plan.fire)).toEqual(['2030-01-01T00:00:00.000Z']);
    expect(plan.next).toBeNull();
  });

  it('a date long past is missed, unless catch_up replays it', () => {
    const missed = planTicks(parseTimer(DATE, { date: '2030-01-01T00:00:00Z' }), at('2030-01-01T00:00:00Z'), at('2030-01-02T00:00:00Z'), options);
    expect(missed).toMatchObject({ fire: [], missed: 1, next: null });
    const replayed = planTicks(parseTimer(DATE, { date: '2030-01-01T00:00:00Z', catch_up: true }), at('2030-01-01T00:00:00Z'), at('2030-01-02T00:00:00Z'), options);
    expect(iso(replayed.fire)).toEqual(['2030-01-01T00:00:00.000Z']);
    expect(replayed).toMatchObject({ missed: 0, next: null });
  });

  it('fires at most maxTicks per plan and leaves the rest due', () => {
    const plan = planTicks(everySecond, at('2030-01-01T00:00:00Z'), at('2030-01-01T00:00:20Z'), { graceMs: 60_000, maxTicks: 5 });
    expect(plan.fire).toHaveLength(5);
    expect(plan.next!.toISOString()).toBe('2030-01-01T00:00:05.000Z');
  });
});

describe('the timer event payload', () => {
  it('executed_at is spelled as StackStorm timers spell it', () => {
    expect(stackstormTimestamp(at('2024-05-01T12:00:00.123Z'))).toBe('2024-05-01 12:00:00.123000+00:00');
    expect(stackstormTimestamp(at('2024-05-01T12:00:00Z'))).toBe('2024-05-01 12:00:00+00:00');
  });
});
