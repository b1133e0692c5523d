/**
 * Which ticks of a due schedule fire now. A tick at most `graceMs` late is
 * on time and fires (every one of them, so a busy timers role loses none);
 * older ticks were missed while nothing ran and are skipped, except the
 * newest `catchUp` of them, which fire too (marked as replays). Pure.
 */
import type { Timer } from './timers.js';

/** One tick to fire. */
export interface Tick {
  /** When it was due. */
  at: Date;
  /** True for a missed tick replayed by `catch_up`. */
  replay: boolean;
}

export interface TickPlan {
  /** Oldest first. */
  fire: Tick[];
  /** Missed ticks skipped (counted up to `MAX_COUNTED_MISSES` per plan). */
  missed: number;
  /** The schedule's next time: the first tick not fired; null when the timer has no more. */
  next: Date | null;
}

export interface PlanOptions {
  /** How late a tick may be and still fire. */
  graceMs: number;
  /** The most ticks one plan fires (a backlog beyond it stays due). */
  maxTicks: number;
}

/** Missed ticks are counted one by one up to this many (a cron every second, down for a year, is not walked). */
export const MAX_COUNTED_MISSES = 10_000;

/** The ticks of `timer` from `due` (its current next time) up to `now`. */
export function planTicks(timer: Timer, due: Date, now: Date, options: PlanOptions): TickPlan {
  const fire: Tick[] = [];
  const windowStart = new Date(now.getTime() - options.graceMs);
  let next: Date | null = due;
  let missed = 0;
  if (due.getTime() < windowStart.getTime()) {
    // The first tick at or after the window's start (after() is strict).
    next = timer.after(new Date(windowStart.getTime() - 1), due);
    missed = countMissed(timer, due, windowStart);
    if (timer.catchUp > 0) {
      const replays = timer.before(windowStart, due, Math.min(timer.catchUp, options.maxTicks));
      for (const at of replays) fire.push({ at, replay: true });
      missed = Math.max(0, missed - replays.length);
    }
  }
  while (next !== null && next.getTime() <= now.getTime() && fire.length < options.maxTicks) {
    fire.push({ at: next, replay: false });
    next = timer.after(next, due);
  }
  return { fire, missed, next };
}

function countMissed(timer: Timer, due: Date, windowStart: Date): number {
  let count = 0;
  for (let tick: Date | null = due; tick !== null && tick.getTime() < windowStart.getTime() && count < MAX_COUNTED_MISSES; tick = timer.after(tick, due)) count++;
  return count;
}
