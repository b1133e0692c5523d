/**
 * The schedules table (migration 0021): one row per distinct timer (timer
 * trigger ref + trigger parameters) of the enabled rules of active packs.
 * Rules with the same parameters share a row, so a tick is one event that
 * each of them matches once. Every statement here is one round trip.
 */
import type { Executor } from '../db/pool.js';
import { mapErrors } from '../db/pg-errors.js';
import type { JsonObject } from '../repositories/packs.js';
import { TIMER_TRIGGERS } from './timers.js';

/** A timer's state. */
export interface Schedule {
  id: number;
  triggerRef: string;
  triggerParams: JsonObject;
  /** The next tick; null once there is none (a date timer that fired, or `error`). */
  nextAt: Date | null;
  /** The scheduled time of the last tick fired. */
  lastAt: Date | null;
  firedCount: number;
  missedCount: number;
  /** Why the parameters give no schedule. */
  error: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A timer some enabled rule asks for. */
export interface WantedTimer {
  triggerRef: string;
  triggerParams: JsonObject;
}

/** A new row: its first tick, or why there is none. */
export interface NewSchedule extends WantedTimer {
  nextAt: Date | null;
  error: string | null;
}

/** What one claimed schedule did. */
export interface ScheduleAdvance {
  id: number;
  nextAt: Date | null;
  /** The last tick fired, when one was. */
  lastAt: Date | null;
  fired: number;
  missed: number;
}

const COLUMNS = 'id, trigger_ref, trigger_params, next_at, last_at, fired_count, missed_count, error, created_at, updated_at';

interface ScheduleRow {
  id: string | number;
  trigger_ref: string;
  trigger_params: JsonObject;
  next_at: Date | null;
  last_at: Date | null;
  fired_count: string | number;
  missed_count: string | number;
  error: string | null;
  created_at: Date;
  updated_at: Date;
}

function fromRow(row: ScheduleRow): Schedule {
  return {
    id: Number(row.id),
    triggerRef: row.trigger_ref,
    triggerParams: row.trigger_params,
    nextAt: row.next_at,
    lastAt: row.last_at,
    firedCount: Number(row.fired_count),
    missedCount: Number(row.missed_count),
    error: row.error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * An enabled rule of an active pack with the schedule's timer, found through
 * rules_trigger_params_enabled_idx. `s` is the schedule's alias.
 */
const HAS_ENABLED_RULE = `EXISTS (SELECT 1 FROM rules r
                     WHERE r.enabled AND r.trigger_ref = s.trigger_ref AND md5(r.trigger_params::text) = s.params_hash
                       AND EXISTS (SELECT 1 FROM packs p WHERE p.id = r.pack_id AND p.is_active))`;

async function query(db: Executor, sql: string, values: unknown[]): Promise<ScheduleRow[]> {
  const result = await mapErrors('schedule', () => db.query<ScheduleRow>(sql, values));
  return result.rows;
}

/** The schedules table's statements. Every function takes the executor first. */
export const ScheduleStore = {
  /** Every schedule, by id. */
  async list(db: Executor): Promise<Schedule[]> {
    return (await query(db, `SELECT ${COLUMNS} FROM schedules ORDER BY id`, [])).map(fromRow);
  },

  /** Removes the schedules no enabled rule of an active pack asks for any more; returns them. */
  async removeUnwanted(db: Executor): Promise<Schedule[]> {
    return (await query(db, `DELETE FROM schedules s WHERE NOT ${HAS_ENABLED_RULE} RETURNING ${COLUMNS}`, [])).map(fromRow);
  },

  /** The timers enabled rules of active packs ask for that have no schedule yet. */
  async missing(db: Executor): Promise<WantedTimer[]> {
    const result = await mapErrors('schedule', () =>
      db.query<{ trigger_ref: string; trigger_params: JsonObject }>(
        `SELECT DISTINCT r.trigger_ref, r.trigger_params
           FROM rules r
          WHERE r.enabled AND r.trigger_ref = ANY($1::text[])
            AND EXISTS (SELECT 1 FROM packs p WHERE p.id = r.pack_id AND p.is_active)
            AND NOT EXISTS (SELECT 1 FROM schedules s WHERE s.trigger_ref = r.trigger_ref AND s.params_hash = md5(r.trigger_params::text))`,
        [TIMER_TRIGGERS],
      ),
    );
    return result.rows.map((row) => ({ triggerRef: row.trigger_ref, triggerParams: row.trigger_params }));
  },

  /** Inserts new schedules in one statement; one another process inserted first is left alone. Returns those inserted. */
  async insert(db: Executor, schedules: NewSchedule[]): Promise<Schedule[]> {
    if (schedules.length === 0) return [];
    return (
      await query(
        db,
        `INSERT INTO schedules (trigger_ref, trigger_params, next_at, error)
         SELECT * FROM unnest($1::text[], $2::jsonb[], $3::timestamptz[], $4::text[])
         ON CONFLICT (trigger_ref, params_hash) DO NOTHING
         RETURNING ${COLUMNS}`,
        [
          schedules.map((s) => s.triggerRef),
          schedules.map((s) => JSON.stringify(s.triggerParams)),
          schedules.map((s) => s.nextAt),
          schedules.map((s) => s.error),
        ],
      )
    ).map(fromRow);
  },

  /**
   * Locks up to `limit` schedules due at `now` whose timer an enabled rule of
   * an active pack still has, oldest first, skipping rows another process
   * holds. Call inside the transaction that fires them.
   */
  async claimDue(tx: Executor, now: Date, limit: number): Promise<Schedule[]> {
    return (
      await query(
        tx,
        `SELECT ${COLUMNS} FROM schedules s
          WHERE s.next_at <= $1 AND ${HAS_ENABLED_RULE}
          ORDER BY s.next_at
          LIMIT $2
          FOR UPDATE OF s SKIP LOCKED`,
        [now, limit],
      )
    ).map(fromRow);
  },

  /** Moves claimed schedules on, in one statement. */
  async advance(tx: Executor, advances: ScheduleAdvance[]): Promise<void> {
    if (advances.length === 0) return;
    await query(
      tx,
      `UPDATE schedules s
          SET next_at = a.next_at, last_at = coalesce(a.last_at, s.last_at),
              fired_count = s.fired_count + a.fired, missed_count = s.missed_count + a.missed
         FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[], $4::bigint[], $5::bigint[]) AS a(id, next_at, last_at, fired, missed)
        WHERE s.id = a.id`,
      [advances.map((a) => a.id), advances.map((a) => a.nextAt), advances.map((a) => a.lastAt), advances.map((a) => a.fired), advances.map((a) => a.missed)],
    );
  },

  /** The earliest next tick of any schedule, or null when none is pending. */
  async earliestDue(db: Executor): Promise<Date | null> {
    const result = await mapErrors('schedule', () => db.query<{ next_at: Date | null }>('SELECT min(next_at) AS next_at FROM schedules WHERE next_at IS NOT NULL', []));
    return result.rows[0]?.next_at ?? null;
  },
};
