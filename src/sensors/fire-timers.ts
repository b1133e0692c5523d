/**
 * One claim of the timers role: lock due schedules (FOR UPDATE SKIP LOCKED),
 * write their ticks' events and move each schedule to its next time, all in
 * one transaction. A tick is fired by whichever process holds its row, once:
 * the event and the new next time commit together or not at all.
 */
import type { Executor } from '../db/pool.js';
import { withTransaction } from '../db/transaction.js';
import { fireEvents, type EventToFire } from '../engine/fire-event.js';
import { InvalidReferenceError, ValidationError } from '../errors.js';
import { ScheduleStore, type Schedule, type ScheduleAdvance } from './schedules.js';
import { planTicks, type TickPlan } from './ticks.js';
import { parseTimer, stackstormTimestamp, type ParseTimerOptions, type Timer } from './timers.js';

/** Options of `fireDueTimers`. */
export interface FireTimersOptions extends ParseTimerOptions {
  /** Most schedules claimed in one transaction. */
  batchSize: number;
  /** How late a tick may be and still fire (later ones were missed). */
  graceMs: number;
  /** Most ticks one schedule fires per claim. Default 100. */
  maxTicksPerSchedule?: number;
  /** Told about a schedule whose tick could not be recorded (its ticks are skipped, the schedule moves on). */
  onRefused?: (schedule: Schedule, error: Error) => void;
}

/** What one claim did. */
export interface FireTimersResult {
  /** Schedules claimed. */
  claimed: number;
  /** Events written. */
  fired: number;
  /** Ticks skipped as missed. */
  missed: number;
}

/** An event intake refused (bad trigger, payload): not a reason to stop the other schedules. */
function isRefusal(error: unknown): error is Error {
  return error instanceof ValidationError || error instanceof InvalidReferenceError;
}

/** Parsed timers by schedule, so a busy schedule is not parsed on every tick. */
const parsed = new Map<string, Timer | Error>();

function timerOf(schedule: Schedule, options: ParseTimerOptions): Timer | Error {
  const key = `${schedule.id}:${schedule.triggerRef}:${JSON.stringify(schedule.triggerParams)}:${options.catchUpMax ?? ''}`;
  let timer = parsed.get(key);
  if (timer === undefined) {
    try {
      timer = parseTimer(schedule.triggerRef, schedule.triggerParams, options);
    } catch (error) {
      timer = error as Error;
    }
    if (parsed.size > 50_000) parsed.clear();
    parsed.set(key, timer);
  }
  return timer;
}

function eventsOf(schedule: Schedule, plan: TickPlan, now: Date): EventToFire[] {
  const executedAt = stackstormTimestamp(now);
  return plan.fire.map((tick) => ({
    triggerRef: schedule.triggerRef,
    payload: { executed_at: executedAt, schedule: tick.replay ? { scheduled_at: tick.at.toISOString(), replay: true } : { scheduled_at: tick.at.toISOString() } },
    triggerParams: schedule.triggerParams,
    source: `timer:${schedule.id}`,
  }));
}

/**
 * Claims up to `batchSize` due schedules and fires their ticks, in one
 * transaction. When the events of the batch are refused (the timer trigger
 * is missing or disabled, say), each schedule is tried alone in a savepoint
 * and the refused ones skip their ticks, so one bad schedule neither stops
 * the others nor comes back due forever.
 */
export async function fireDueTimers(db: Executor, now: Date, options: FireTimersOptions): Promise<FireTimersResult> {
  const planOptions = { graceMs: options.graceMs, maxTicks: options.maxTicksPerSchedule ?? 100 };
  return withTransaction(db, async (tx) => {
    const claimed = await ScheduleStore.claimDue(tx, now, options.batchSize);
    const advances: ScheduleAdvance[] = [];
    const batches: { schedule: Schedule; events: EventToFire[] }[] = [];
    let missed = 0;
    for (const schedule of claimed) {
      const timer = timerOf(schedule, options);
      if (timer instanceof Error) {
        // Parameters changed meaning (a time zone gone from the system): no more ticks.
        advances.push({ id: schedule.id, nextAt: null, lastAt: null, fired: 0, missed: 0 });
        options.onRefused?.(schedule, timer);
        continue;
      }
      const plan = planTicks(timer, schedule.nextAt!, now, planOptions);
      missed += plan.missed;
      const events = eventsOf(schedule, plan, now);
      batches.push({ schedule, events });
      advances.push({ id: schedule.id, nextAt: plan.next, lastAt: plan.fire.at(-1)?.at ?? null, fired: events.length, missed: plan.missed });
    }
    const all = batches.flatMap((batch) => batch.events);
    let fired = all.length;
    try {
      await withTransaction(tx, () => fireEvents(tx, all));
    } catch (error) {
      if (!isRefusal(error)) throw error;
      fired = 0;
      for (const { schedule, events } of batches) {
        try {
          await withTransaction(tx, () => fireEvents(tx, events));
          fired += events.length;
        } catch (single) {
          if (!isRefusal(single)) throw single;
          const advance = advances.find((a) => a.id === schedule.id)!;
          advance.fired = 0;
          advance.lastAt = null;
          options.onRefused?.(schedule, single);
        }
      }
    }
    await ScheduleStore.advance(tx, advances);
    return { claimed: claimed.length, fired, missed };
  });
}
