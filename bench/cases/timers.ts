/**
 * Timers: one claim of 500 due schedules (lock, write their 500 tick events
 * through fireEvents, move the schedules on, one transaction) against the
 * same work in hand-written SQL; and, checked once before timing, 10,000
 * timer rules due at once drained by the timers role's claim loop, each
 * firing exactly once, with the drain time and events/s printed (and the
 * hand-written drain's, for the ratio).
 */
import { join } from 'node:path';
import { registerPack } from '../../src/packs/register.js';
import { fireDueTimers } from '../../src/sensors/fire-timers.js';
import { stackstormTimestamp } from '../../src/sensors/timers.js';
import type { BenchCase } from '../harness.js';
import type { BenchContext } from '../context.js';

const BATCH = 500;
const DRAIN = 10_000;
const PACK = 'benchtimers';
const TRIGGER = 'core.st2.IntervalTimer';
const FIRE_OPTIONS = { batchSize: BATCH, graceMs: 86_400_000 };

export function timerCases(ctx: BenchContext): BenchCase[] {
  const { db, client } = ctx;
  let nextDelta = 100_000;

  /** `count` enabled timer rules with distinct intervals and their schedules, due `dueSql` (an SQL timestamp); returns the schedule ids. */
  async function seedTimers(count: number, dueSql: string): Promise<{ first: number; last: number }> {
    const from = nextDelta;
    nextDelta += count;
    await db.query(
      `INSERT INTO rules (pack_id, pack_ref, name, ref, trigger_id, trigger_ref, action_id, action_ref, trigger_params)
       SELECT p.id, p.ref, 'tick_' || g, p.ref || '.tick_' || g, t.id, t.ref, a.id, a.ref, jsonb_build_object('unit', 'seconds', 'delta', g)
         FROM generate_series($1::int, $2::int) g,
              (SELECT id, ref FROM packs WHERE ref = $3 AND is_active) p,
              (SELECT id, ref FROM triggers WHERE ref = $4 ORDER BY pack_id NULLS LAST LIMIT 1) t,
              (SELECT id, ref FROM actions WHERE ref = 'core.noop' ORDER BY id DESC LIMIT 1) a`,
      [from, from + count - 1, PACK, TRIGGER],
    );
    const result = await db.query<{ first: string; last: string }>(
      `WITH ins AS (INSERT INTO schedules (trigger_ref, trigger_params, next_at)
                    SELECT $1, jsonb_build_object('unit', 'seconds', 'delta', g), ${dueSql} FROM generate_series($2::int, $3::int) g RETURNING id)
       SELECT min(id) AS first, max(id) AS last FROM ins`,
      [TRIGGER, from, from + count - 1],
    );
    await db.query('ANALYZE schedules, rules');
    return { first: Number(result.rows[0]!.first), last: Number(result.rows[0]!.last) };
  }

  /** One claim of up to BATCH due schedules written by hand: lock, insert the events, move the rows on. */
  async function handClaim(): Promise<number> {
    await db.query('BEGIN');
    try {
      const claimed = await db.query<{ id: string; trigger_params: { delta: number }; next_at: Date }>(
        `SELECT s.id, s.trigger_params, s.next_at FROM schedules s
          WHERE s.next_at <= now() AND EXISTS (SELECT 1 FROM rules r WHERE r.enabled AND r.trigger_ref = s.trigger_ref AND md5(r.trigger_params::text) = s.params_hash
                                                 AND EXISTS (SELECT 1 FROM packs p WHERE p.id = r.pack_id AND p.is_active))
          ORDER BY s.next_at LIMIT $1 FOR UPDATE OF s SKIP LOCKED`,
        [BATCH],
      );
      const rows = claimed.rows;
      if (rows.length > 0) {
        const executedAt = stackstormTimestamp(new Date());
        await db.query(
          `INSERT INTO events (trigger_id, trigger_ref, payload, trigger_params, source, trace_id)
           SELECT (SELECT id FROM triggers WHERE ref = $1 ORDER BY pack_id NULLS LAST LIMIT 1), $1, p, tp, s, gen_random_uuid()::text
             FROM unnest($2::jsonb[], $3::jsonb[], $4::text[]) AS u(p, tp, s)`,
          [
            TRIGGER,
            rows.map((row) => JSON.stringify({ executed_at: executedAt, schedule: { scheduled_at: row.next_at.toISOString() } })),
            rows.map((row) => JSON.stringify(row.trigger_params)),
            rows.map((row) => `timer:${row.id}`),
          ],
        );
        await db.query(
          `UPDATE schedules s SET next_at = u.next_at, last_at = s.next_at, fired_count = s.fired_count + 1
             FROM unnest($1::bigint[], $2::timestamptz[]) AS u(id, next_at) WHERE s.id = u.id`,
          [rows.map((row) => row.id), rows.map((row) => new Date(row.next_at.getTime() + row.trigger_params.delta * 1000))],
        );
      }
      await db.query('COMMIT');
      return rows.length;
    } catch (error) {
      await db.query('ROLLBACK');
      throw error;
    }
  }

  async function drain(claim: () => Promise<number>): Promise<number> {
    const started = performance.now();
    while ((await claim()) > 0);
    return performance.now() - started;
  }

  let batchSet: { first: number; last: number } | undefined;

  return [
    {
      name: 'timers.claim-fire-500',
      group: 'events',
      title: `fireDueTimers: ${BATCH} due schedules claimed, ${BATCH} tick events written, schedules moved on (one transaction)`,
      baselineTitle: 'hand-written SELECT … FOR UPDATE SKIP LOCKED, INSERT of the events, UPDATE of the rows',
      rowsPerOp: BATCH,
      writes: true,
      maxOpsPerRound: 1,
      async setup(maxOpsPerVariant) {
        // withTransaction nests as a savepoint when the connection says it is in a transaction.
        (ctx.exec as unknown as { getTransactionStatus: () => string | null }).getTransactionStatus = () =>
          (client as unknown as { getTransactionStatus?: () => string | null }).getTransactionStatus?.() ?? null;
        if ((await db.query("SELECT 1 FROM packs WHERE ref = 'core'")).rows.length === 0) await registerPack(db, join(import.meta.dirname, '..', '..', 'packs', 'core'));
        if ((await db.query('SELECT 1 FROM packs WHERE ref = $1', [PACK])).rows.length === 0) {
          await db.query(`INSERT INTO packs (ref, version, name) VALUES ($1, '1.0.0', 'Timer benchmark')`, [PACK]);
        }
        // Not due until verify() has drained its own 10,000.
        batchSet = await seedTimers((2 * maxOpsPerVariant + 8) * BATCH, "now() + interval '1 day'");
      },
      async verify() {
        const drainSet = await seedTimers(DRAIN, "now() - interval '1 second'");
        const events = async () => Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM events WHERE trigger_ref = $1`, [TRIGGER])).rows[0]!.n);
        const before = await events();
        const repoMs = await drain(async () => (await fireDueTimers(db, new Date(), FIRE_OPTIONS)).claimed);
        const fired = (await events()) - before;
        const counts = await db.query<{ once: string; other: string }>(
          `SELECT count(*) FILTER (WHERE fired_count = 1) AS once, count(*) FILTER (WHERE fired_count <> 1) AS other FROM schedules WHERE id BETWEEN $1 AND $2`,
          [drainSet.first, drainSet.last],
        );
        const handSet = await seedTimers(DRAIN, "now() - interval '1 second'");
        const handMs = await drain(handClaim);
        process.stderr.write(
          `  timers.drain-${DRAIN}: ${DRAIN} timer rules due at once drained in ${repoMs.toFixed(0)} ms (${Math.round((DRAIN / repoMs) * 1000)} events/s, batches of ${BATCH}); ` +
            `hand-written SQL ${handMs.toFixed(0)} ms; ratio ${(handMs / repoMs).toFixed(2)}\n`,
        );
        await db.query(`UPDATE schedules SET next_at = now() - interval '1 second' WHERE id BETWEEN $1 AND $2`, [batchSet!.first, batchSet!.last]);
        await db.query('ANALYZE schedules');
        if (Number(counts.rows[0]!.once) !== DRAIN || Number(counts.rows[0]!.other) !== 0 || fired !== DRAIN) {
          return `drain: ${fired} events for ${DRAIN} schedules; ${counts.rows[0]!.once} fired once, ${counts.rows[0]!.other} otherwise`;
        }
        const handFired = await db.query<{ n: string }>(`SELECT count(*) AS n FROM schedules WHERE id BETWEEN $1 AND $2 AND fired_count = 1`, [handSet.first, handSet.last]);
        return Number(handFired.rows[0]!.n) === DRAIN ? null : 'the hand-written drain did not fire every schedule once';
      },
      async repo() {
        const result = await fireDueTimers(db, new Date(), FIRE_OPTIONS);
        if (result.claimed !== BATCH) throw new Error(`claimed ${result.claimed} schedules, expected ${BATCH}: the seeded pool ran dry`);
      },
      async baseline() {
        const claimed = await handClaim();
        if (claimed !== BATCH) throw new Error(`claimed ${claimed} schedules, expected ${BATCH}: the seeded pool ran dry`);
      },
    },
  ];
}
