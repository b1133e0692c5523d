/**
 * The `timers` role: keeps the schedules in step with the rules and fires
 * due ticks. Any number of processes may run it: claims use FOR UPDATE SKIP
 * LOCKED, so each tick fires once, and a process that dies leaves its
 * schedules to the others with nothing to configure.
 */
import type { Executor } from '../db/pool.js';
import type { NotificationListener } from '../db/listener.js';
import type { Logger } from '../log.js';
import type { Role } from '../roles.js';
import { fireDueTimers } from './fire-timers.js';
import { syncSchedules } from './schedule-sync.js';
import { ScheduleStore } from './schedules.js';
import { Wakeup } from './wake.js';

/** The channel rule and pack changes are announced on (migration 0020). */
export const RULES_CHANGED_CHANNEL = 'attune_rules_changed';

/** The timers role's settings (the `timers` section of the configuration). */
export interface TimersSettings {
  /** Most schedules claimed per transaction. */
  batchSize: number;
  /** Longest sleep between two looks at the schedules. */
  pollIntervalMs: number;
  /** How often schedules are checked against the rules without being told of a change. */
  syncIntervalMs: number;
  /** How late a tick may be and still fire; older ones count as missed. */
  misfireGraceSeconds: number;
  /** What `catch_up: true` replays, and the most any schedule replays. */
  catchUpMax: number;
}

export const TIMERS_DEFAULTS: TimersSettings = {
  batchSize: 500,
  pollIntervalMs: 5_000,
  syncIntervalMs: 30_000,
  misfireGraceSeconds: 30,
  catchUpMax: 100,
};

export interface TimersRoleOptions {
  db: Executor;
  listener: NotificationListener;
  logger: Logger;
  settings?: Partial<TimersSettings>;
  /** The time source; default the system clock. */
  clock?: () => Date;
}

/** Counters, for logs and tests. */
export interface TimersRoleStats {
  claims: number;
  fired: number;
  missed: number;
  syncs: number;
}

/** The timers role, with its counters and a way to ask for a sync. */
export interface TimersRole extends Role {
  readonly stats: TimersRoleStats;
  /** Re-reads the rules before the next claim (as a rule change does). */
  requestSync(): void;
}

/** After a due schedule was left to another process (or its rule just went), look again this soon. */
const BUSY_RETRY_MS = 100;
/** After a failed round (the database went away), wait this long before the next. */
const ERROR_RETRY_MS = 2_000;

export function createTimersRole(options: TimersRoleOptions): TimersRole {
  const settings = { ...TIMERS_DEFAULTS, ...options.settings };
  const clock = options.clock ?? (() => new Date());
  const logger = options.logger.child({ role: 'timers' });
  const wakeup = new Wakeup();
  const stats: TimersRoleStats = { claims: 0, fired: 0, missed: 0, syncs: 0 };
  let stopping = false;
  let syncWanted = true;
  let nextSyncAt = 0;
  let loop: Promise<void> | undefined;
  let unlisten: (() => Promise<void>) | undefined;

  const requestSync = (): void => {
    syncWanted = true;
    wakeup.wake();
  };

  async function sync(): Promise<void> {
    syncWanted = false;
    nextSyncAt = Date.now() + settings.syncIntervalMs;
    const report = await syncSchedules(options.db, clock(), { catchUpMax: settings.catchUpMax });
    stats.syncs++;
    for (const schedule of report.created) {
      if (schedule.error !== null) logger.warn({ schedule: schedule.id, trigger: schedule.triggerRef, params: schedule.triggerParams, reason: schedule.error }, 'timer parameters give no schedule');
      else logger.info({ schedule: schedule.id, trigger: schedule.triggerRef, params: schedule.triggerParams, next: schedule.nextAt }, 'schedule created');
    }
    for (const schedule of report.removed) logger.info({ schedule: schedule.id, trigger: schedule.triggerRef, params: schedule.triggerParams }, 'schedule removed: no enabled rule has it');
  }

  /** One round: sync when wanted, claim once; returns how long to wait before the next. */
  async function round(): Promise<number> {
    if (syncWanted || Date.now() >= nextSyncAt) await sync();
    const now = clock();
    const result = await fireDueTimers(options.db, now, {
      batchSize: settings.batchSize,
      graceMs: settings.misfireGraceSeconds * 1000,
      catchUpMax: settings.catchUpMax,
      onRefused: (schedule, error) => logger.error({ schedule: schedule.id, trigger: schedule.triggerRef, err: error.message }, 'timer tick refused; skipped'),
    });
    if (result.claimed > 0) {
      stats.claims++;
      stats.fired += result.fired;
      stats.missed += result.missed;
      logger.debug({ schedules: result.claimed, events: result.fired, missed: result.missed }, 'timers fired');
      if (result.missed > 0) logger.info({ missed: result.missed }, 'missed timer ticks skipped (catch_up replays them)');
    }
    if (result.claimed >= settings.batchSize) return 0;
    const earliest = await ScheduleStore.earliestDue(options.db);
    const untilSync = Math.max(0, nextSyncAt - Date.now());
    if (earliest === null) return Math.min(settings.pollIntervalMs, untilSync);
    const untilDue = earliest.getTime() - clock().getTime();
    return Math.min(settings.pollIntervalMs, untilSync, untilDue <= 0 ? BUSY_RETRY_MS : untilDue);
  }

  async function run(): Promise<void> {
    while (!stopping) {
      let delay: number;
      try {
        delay = await round();
      } catch (error) {
        logger.error({ err: (error as Error).message }, 'timers round failed; retrying');
        delay = ERROR_RETRY_MS;
      }
      if (!stopping && delay > 0) await wakeup.sleep(delay);
    }
  }

  return {
    name: 'timers',
    stats,
    requestSync,
    async start() {
      unlisten = await options.listener.listen(RULES_CHANGED_CHANNEL, requestSync);
      await sync();
      logger.info({ batchSize: settings.batchSize, misfireGraceSeconds: settings.misfireGraceSeconds }, 'timers started');
      loop = run();
    },
    async stop() {
      stopping = true;
      wakeup.wake();
      await loop;
      await unlisten?.();
      logger.info(stats, 'timers stopped');
    },
  };
}
