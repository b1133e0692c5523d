/**
 * Keeps the schedules in step with the rules: a row for every distinct
 * timer of the enabled rules of active packs, none for a timer no such rule
 * has any more. The timers role runs it when rules or packs change (NOTIFY
 * attune_rules_changed) and on an interval as a backstop; any number of
 * processes may run it at once (inserts of the same timer collide on the
 * unique key and one wins).
 */
import type { Executor } from '../db/pool.js';
import { isAttuneError } from '../errors.js';
import { ScheduleStore, type NewSchedule, type Schedule } from './schedules.js';
import { parseTimer, type ParseTimerOptions } from './timers.js';

/** What a sync changed. */
export interface ScheduleSyncReport {
  created: Schedule[];
  removed: Schedule[];
}

/**
 * Removes unwanted schedules and creates missing ones, each with its first
 * tick after `now` (a date timer: its date). Parameters that give no
 * schedule still get a row, with no next time and the reason in `error`,
 * so the problem is visible and not re-examined on every sync.
 */
export async function syncSchedules(db: Executor, now: Date, options: ParseTimerOptions = {}): Promise<ScheduleSyncReport> {
  const removed = await ScheduleStore.removeUnwanted(db);
  const missing = await ScheduleStore.missing(db);
  const rows: NewSchedule[] = missing.map((timer) => {
    try {
      return { ...timer, nextAt: parseTimer(timer.triggerRef, timer.triggerParams, options).first(now), error: null };
    } catch (error) {
      if (!isAttuneError(error)) throw error;
      return { ...timer, nextAt: null, error: error.message.slice(0, 2000) };
    }
  });
  const created = await ScheduleStore.insert(db, rows);
  return { created, removed };
}
