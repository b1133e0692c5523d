import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { fireEvents } from '../../src/engine/fire-event.js';
import { cleanDatabase, createTestPool } from '../../src/testing/database.js';
import { createRule, createScene } from './rule-setup.js';
import { eventually, RoleProcess } from './rules-role-process.js';

// Several `attune rules` processes race over one queue: SKIP LOCKED must give
// each event to exactly one of them, and the (rule, event) key must hold.
const PROCESSES = 3;
const EVENTS = 10_000;

const pool = createTestPool();

beforeEach(async () => {
  await cleanDatabase(pool);
});
afterAll(async () => {
  await pool.end();
});

describe('several rules processes at once', () => {
  it(`process ${EVENTS} events exactly once: one enforcement and one execution per matching rule, none missing, none doubled`, { timeout: 240_000 }, async () => {
    const scene = await createScene(pool);
    const always = await createRule(pool, scene);
    const evenOnly = await createRule(pool, scene, { criteria: { 'trigger.even': { type: 'equals', pattern: true } } });
    const url = process.env.ATTUNE__DATABASE__URL!;
    const roles = Array.from(
      { length: PROCESSES },
      () => new RoleProcess(['rules'], { ATTUNE__DATABASE__URL: url, ATTUNE__RULES__BATCH_SIZE: '50', ATTUNE__RULES__POLL_INTERVAL_MS: '200' }),
    );
    try {
      // All of them listening before the first event, so they really race.
      await Promise.all(roles.map((role) => role.waitForLog('running')));
      for (let start = 0; start < EVENTS; start += 1000) {
        await fireEvents(
          pool,
          Array.from({ length: 1000 }, (_, i) => ({ triggerRef: scene.trigger.ref, payload: { n: start + i, even: (start + i) % 2 === 0 } })),
        );
      }
      await eventually(async () => (await pool.query('SELECT 1 FROM event_queue LIMIT 1')).rows.length === 0);
    } finally {
      for (const role of roles) role.child.kill('SIGTERM');
    }
    expect(await Promise.all(roles.map((role) => role.exited))).toEqual(roles.map(() => 0));

    const { rows } = await pool.query<{ rule_id: number; enforcements: number; events: number; min: number; max: number }>(
      `SELECT rule_id, count(*)::int AS enforcements, count(DISTINCT event_id)::int AS events,
              min((payload->>'n')::int) AS min, max((payload->>'n')::int) AS max
         FROM enforcements GROUP BY rule_id ORDER BY rule_id`,
    );
    expect(rows).toEqual([
      { rule_id: always.id, enforcements: EVENTS, events: EVENTS, min: 0, max: EVENTS - 1 },
      { rule_id: evenOnly.id, enforcements: EVENTS / 2, events: EVENTS / 2, min: 0, max: EVENTS - 2 },
    ]);
    const wrong = await pool.query(
      `SELECT e.id FROM events e
        WHERE (SELECT count(*) FROM enforcements f WHERE f.event_id = e.id AND f.rule_id = $1) <> 1
           OR (SELECT count(*) FROM enforcements f WHERE f.event_id = e.id AND f.rule_id = $2) <> CASE WHEN (e.payload->>'even')::boolean THEN 1 ELSE 0 END
        LIMIT 5`,
      [always.id, evenOnly.id],
    );
    expect(wrong.rows).toEqual([]);
    const executions = await pool.query<{ total: number; distinct_enforcements: number; unlinked: number }>(
      `SELECT count(*)::int AS total, count(DISTINCT enforcement_id)::int AS distinct_enforcements,
              count(*) FILTER (WHERE enforcement_id IS NULL OR trace_id IS NULL)::int AS unlinked FROM executions`,
    );
    expect(executions.rows[0]).toEqual({ total: EVENTS * 1.5, distinct_enforcements: EVENTS * 1.5, unlinked: 0 });

    // Each process's totals add up to the whole, and the work was shared.
    const totals = roles.map((role) => Number(role.logLines().find((line) => line.msg === 'stopped processing events')?.events ?? 0));
    expect(totals.reduce((a, b) => a + b, 0)).toBe(EVENTS);
    expect(totals.filter((events) => events > 0).length).toBeGreaterThanOrEqual(2);
  });
});
