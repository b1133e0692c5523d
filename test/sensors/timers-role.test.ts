/**
 * The timers role against a real PostgreSQL: schedules follow the rules,
 * a claim writes the tick's event and the next time together, and two
 * processes racing over the same schedules fire every tick exactly once.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NotificationListener } from '../../src/db/listener.js';
import { RuleRepository, type Rule } from '../../src/repositories/rules.js';
import { PackRepository } from '../../src/repositories/packs.js';
import { fireDueTimers } from '../../src/sensors/fire-timers.js';
import { syncSchedules } from '../../src/sensors/schedule-sync.js';
import { ScheduleStore } from '../../src/sensors/schedules.js';
import { createTimersRole, type TimersRole } from '../../src/sensors/timers-role.js';
import { TIMER_TRIGGER_REFS } from '../../src/sensors/timers.js';
import { cleanDatabase, createTestPool, PackFixture } from '../../src/testing/index.js';
import { memoryLogger, registerCore, startListener, waitFor, type LogLine } from './support.js';

const pool = createTestPool({ maxConnections: 4 });
const FIRE = { batchSize: 100, graceMs: 30_000 };
let pack: { id: number; ref: string };

beforeEach(async () => {
  await cleanDatabase(pool);
  await registerCore(pool);
  pack = await new PackFixture().create(pool);
});
afterAll(() => pool.end());

let counter = 0;
function timerRule(triggerRef: string, triggerParams: Record<string, unknown>, packRef = pack.ref): Promise<Rule> {
  counter += 1;
  return RuleRepository.create(pool, { packRef, name: `timer_${counter}`, triggerRef, triggerParams, actionRef: 'core.noop' });
}

async function events(triggerRef?: string) {
  const result = await pool.query<{ id: string; trigger_ref: string; trigger_params: Record<string, unknown>; payload: Record<string, any>; source: string }>(
    `SELECT id, trigger_ref, trigger_params, payload, source FROM events ${triggerRef ? 'WHERE trigger_ref = $1' : ''} ORDER BY id`,
    triggerRef ? [triggerRef] : [],
  );
  return result.rows;
}

/** Makes every schedule due `seconds` ago. */
async function makeDue(seconds = 1): Promise<void> {
  await pool.query(`UPDATE schedules SET next_at = now() - make_interval(secs => $1) WHERE next_at IS NOT NULL`, [seconds]);
}

const INTERVAL = { unit: 'seconds', delta: 30 };

describe('schedules follow the rules', () => {
  it('a timer rule gets a schedule whose first tick is one interval away; rules with the same parameters share it', async () => {
    const now = new Date();
    await timerRule(TIMER_TRIGGER_REFS.interval, INTERVAL);
    await timerRule(TIMER_TRIGGER_REFS.interval, { delta: 30, unit: 'seconds' });
    await timerRule(TIMER_TRIGGER_REFS.interval, { unit: 'seconds', delta: 60 });
    const report = await syncSchedules(pool, now);
    expect(report.created).toHaveLength(2);
    const schedules = await ScheduleStore.list(pool);
    expect(schedules.map((s) => [s.triggerParams.delta, s.nextAt!.getTime() - now.getTime()]).sort()).toEqual([
      [30, 30_000],
      [60, 60_000],
    ]);
    expect((await syncSchedules(pool, new Date())).created).toEqual([]);
  });

  it('disabling, deleting and re-pointing rules removes and creates schedules', async () => {
    const a = await timerRule(TIMER_TRIGGER_REFS.interval, INTERVAL);
    const b = await timerRule(TIMER_TRIGGER_REFS.interval, INTERVAL);
    const c = await timerRule(TIMER_TRIGGER_REFS.cron, { minute: '*/5' });
    await syncSchedules(pool, new Date());
    expect(await ScheduleStore.list(pool)).toHaveLength(2);

    await RuleRepository.disable(pool, a.id);
    expect((await syncSchedules(pool, new Date())).removed).toEqual([]); // b still has the interval
    await RuleRepository.delete(pool, b.id);
    const afterDelete = await syncSchedules(pool, new Date());
    expect(afterDelete.removed.map((s) => s.triggerRef)).toEqual([TIMER_TRIGGER_REFS.interval]);

    await RuleRepository.update(pool, c.id, { triggerParams: { minute: '*/10' } });
    const afterUpdate = await syncSchedules(pool, new Date());
    expect(afterUpdate.removed.map((s) => s.triggerParams)).toEqual([{ minute: '*/5' }]);
    expect(afterUpdate.created.map((s) => s.triggerParams)).toEqual([{ minute: '*/10' }]);

    await RuleRepository.enable(pool, a.id);
    expect((await syncSchedules(pool, new Date())).created.map((s) => s.triggerParams)).toEqual([INTERVAL]);
  });

  it('a schedule goes when its pack version stops being the active one, and comes back with it', async () => {
    const v1 = await new PackFixture(`${pack.ref}_v`).withVersion('1.0.0').create(pool);
    await timerRule(TIMER_TRIGGER_REFS.interval, INTERVAL, v1.ref);
    await syncSchedules(pool, new Date());
    expect(await ScheduleStore.list(pool)).toHaveLength(1);
    await new PackFixture(v1.ref).withVersion('2.0.0').with({ isActive: false }).create(pool);
    await PackRepository.activateVersion(pool, v1.ref, '2.0.0');
    expect((await syncSchedules(pool, new Date())).removed).toHaveLength(1);
    await PackRepository.activateVersion(pool, v1.ref, '1.0.0');
    expect((await syncSchedules(pool, new Date())).created).toHaveLength(1);
  });

  it('parameters that give no schedule get a row with the reason and no next time', async () => {
    await timerRule(TIMER_TRIGGER_REFS.interval, { unit: 'fortnights', delta: 1 });
    const { created } = await syncSchedules(pool, new Date());
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({ nextAt: null });
    expect(created[0]!.error).toContain("'unit'");
  });
});

describe('fireDueTimers', () => {
  it('writes the tick as an event with the timer parameters and StackStorm payload, and moves the schedule on, once', async () => {
    await timerRule(TIMER_TRIGGER_REFS.interval, INTERVAL);
    await syncSchedules(pool, new Date());
    await makeDue();
    const [before] = await ScheduleStore.list(pool);
    const first = await fireDueTimers(pool, new Date(), FIRE);
    expect(first).toMatchObject({ claimed: 1, fired: 1, missed: 0 });
    const [event] = await events();
    expect(event).toMatchObject({ trigger_ref: TIMER_TRIGGER_REFS.interval, trigger_params: INTERVAL, source: `timer:${before!.id}` });
    expect(event!.payload.executed_at).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?\+00:00$/);
    expect(event!.payload.schedule).toEqual({ scheduled_at: before!.nextAt!.toISOString() });
    const [after] = await ScheduleStore.list(pool);
    expect(after!.nextAt!.getTime()).toBe(before!.nextAt!.getTime() + 30_000);
    expect(after).toMatchObject({ firedCount: 1, lastAt: before!.nextAt });
    expect(await fireDueTimers(pool, new Date(), FIRE)).toMatchObject({ claimed: 0, fired: 0 });
    expect(await events()).toHaveLength(1);
  });

  it('a date timer fires once and its schedule is done', async () => {
    // A second ago: within the grace, so the first claim fires it.
    const date = new Date(Date.now() - 1_000).toISOString();
    await timerRule(TIMER_TRIGGER_REFS.date, { date });
    await syncSchedules(pool, new Date());
    expect(await fireDueTimers(pool, new Date(), FIRE)).toMatchObject({ fired: 1 });
    const [schedule] = await ScheduleStore.list(pool);
    expect(schedule).toMatchObject({ nextAt: null, firedCount: 1, error: null });
    await syncSchedules(pool, new Date());
    expect(await fireDueTimers(pool, new Date(Date.now() + 3_600_000), FIRE)).toMatchObject({ claimed: 0 });
    expect(await events()).toHaveLength(1);
  });

  it('a schedule whose rule was just disabled fires nothing, even before the sync removes it', async () => {
    const rule = await timerRule(TIMER_TRIGGER_REFS.interval, INTERVAL);
    await syncSchedules(pool, new Date());
    await makeDue();
    await RuleRepository.disable(pool, rule.id);
    expect(await fireDueTimers(pool, new Date(), FIRE)).toMatchObject({ claimed: 0, fired: 0 });
    expect(await events()).toEqual([]);
  });

  it('ticks missed while nothing ran are skipped and counted; catch_up replays the newest of them', async () => {
    await timerRule(TIMER_TRIGGER_REFS.interval, { unit: 'seconds', delta: 10 });
    await timerRule(TIMER_TRIGGER_REFS.interval, { unit: 'seconds', delta: 10, catch_up: 3 });
    await syncSchedules(pool, new Date());
    await makeDue(600);
    const result = await fireDueTimers(pool, new Date(), { batchSize: 10, graceMs: 5_000 });
    const fired = await events();
    const replayed = fired.filter((event) => event.trigger_params.catch_up === 3);
    const plain = fired.filter((event) => event.trigger_params.catch_up === undefined);
    expect(replayed.filter((event) => event.payload.schedule.replay === true)).toHaveLength(3);
    expect(plain.every((event) => event.payload.schedule.replay === undefined)).toBe(true);
    expect(result.missed).toBeGreaterThanOrEqual(2 * 59 - 3);
    const schedules = await ScheduleStore.list(pool);
    expect(schedules.every((s) => s.nextAt!.getTime() > Date.now() - 5_000)).toBe(true);
  });

  it('a tick the event intake refuses is skipped and the schedule moves on; the others still fire', async () => {
    await timerRule(TIMER_TRIGGER_REFS.interval, INTERVAL);
    await timerRule(TIMER_TRIGGER_REFS.cron, { second: '*/5' });
    await syncSchedules(pool, new Date());
    await makeDue();
    await pool.query(`UPDATE triggers SET enabled = false WHERE ref = $1`, [TIMER_TRIGGER_REFS.cron]);
    const refused: string[] = [];
    const result = await fireDueTimers(pool, new Date(), { ...FIRE, onRefused: (schedule) => refused.push(schedule.triggerRef) });
    expect(result).toMatchObject({ claimed: 2, fired: 1 });
    expect(refused).toEqual([TIMER_TRIGGER_REFS.cron]);
    expect((await events()).map((e) => e.trigger_ref)).toEqual([TIMER_TRIGGER_REFS.interval]);
    expect(await fireDueTimers(pool, new Date(), FIRE)).toMatchObject({ claimed: 0 });
  });
});

describe('the timers role', () => {
  const roles: TimersRole[] = [];
  const logs: LogLine[][] = [];
  const listeners: NotificationListener[] = [];
  const pools = [createTestPool({ maxConnections: 2 }), createTestPool({ maxConnections: 2 })];
  afterEach(async () => {
    await Promise.all(roles.splice(0).map((role) => role.stop()));
    await Promise.all(listeners.splice(0).map((listener) => listener.close()));
    // A failing round is logged, not thrown: none may have failed.
    expect(logs.splice(0).flat().filter((line) => line.level >= 50).map((line) => `${line.msg}: ${String(line.err)}`)).toEqual([]);
  });
  afterAll(() => Promise.all(pools.map((p) => p.end())));

  async function startRole(index: number, settings = {}): Promise<TimersRole> {
    const listener = await startListener();
    listeners.push(listener);
    const { logger, lines } = memoryLogger();
    logs.push(lines);
    const role = createTimersRole({ db: pools[index]!, listener, logger, settings: { pollIntervalMs: 500, ...settings } });
    await role.start();
    roles.push(role);
    return role;
  }

  it('follows rule changes by NOTIFY: a new rule gets a schedule, a disabled one loses it', async () => {
    await startRole(0, { syncIntervalMs: 3_600_000 });
    const rule = await timerRule(TIMER_TRIGGER_REFS.interval, INTERVAL);
    await waitFor('the schedule of the new rule', async () => (await ScheduleStore.list(pool)).length === 1);
    await RuleRepository.disable(pool, rule.id);
    await waitFor('the schedule to go', async () => (await ScheduleStore.list(pool)).length === 0);
  });

  it('two processes over the same 1-second timers fire every tick exactly once, none missing', { timeout: 60_000 }, async () => {
    // Distinct parameters (a time zone each) make distinct schedules, all ticking every second.
    const zones = Intl.supportedValuesOf('timeZone').slice(0, 40);
    for (const timezone of zones) await timerRule(TIMER_TRIGGER_REFS.interval, { unit: 'seconds', delta: 1, timezone });
    const racing = await Promise.all([startRole(0, { batchSize: 7 }), startRole(1, { batchSize: 7 })]);
    await waitFor(
      'every schedule to fire four times',
      async () => Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM schedules WHERE fired_count >= 4')).rows[0]!.n) === zones.length,
      20_000,
    );
    await Promise.all(roles.splice(0).map((role) => role.stop()));
    // Both processes took part.
    expect(racing.map((role) => role.stats.fired > 0)).toEqual([true, true]);

    const fired = await events(TIMER_TRIGGER_REFS.interval);
    const ticks = new Map<string, number[]>();
    for (const event of fired) {
      const key = event.source;
      const list = ticks.get(key) ?? [];
      list.push(Date.parse(event.payload.schedule.scheduled_at));
      ticks.set(key, list);
    }
    expect(ticks.size).toBe(zones.length);
    for (const [source, times] of ticks) {
      const sorted = [...times].sort((a, b) => a - b);
      expect(new Set(sorted).size, `duplicate tick for ${source}`).toBe(sorted.length);
      // Consecutive ticks are one second apart: nothing missing between the first and the last.
      for (let i = 1; i < sorted.length; i++) expect(sorted[i]! - sorted[i - 1]!, `gap for ${source}`).toBe(1000);
    }
    const counts = await pool.query<{ fired: string; events: string }>(
      `SELECT (SELECT sum(fired_count) FROM schedules) AS fired, (SELECT count(*) FROM events) AS events`,
    );
    expect(Number(counts.rows[0]!.fired)).toBe(Number(counts.rows[0]!.events));
  });
});
