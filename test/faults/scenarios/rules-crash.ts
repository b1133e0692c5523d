/**
 * Rules-engine crash: a burst of N events is fired, `attune rules` matches
 * them in batches and is SIGKILLed mid-batch at random moments, then
 * restarted. Afterwards the queue is empty and every event has exactly one
 * enforcement per matching rule (one rule matches all, one the even events),
 * each with exactly one execution.
 */
import type pg from 'pg';
import { fireEvents } from '../../../src/engine/fire-event.js';
import { cleanDatabase } from '../../../src/testing/index.js';
import { createRule, createScene } from '../../engine/rule-setup.js';
import { auditEnforcements, FaultHarness, randomBetween, reportFigures, sleep, waitUntil } from '../support.js';

export interface RulesCrashOptions {
  events: number;
  minKills: number;
  timeoutMs: number;
}

async function queued(pool: pg.Pool): Promise<number> {
  return (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM event_queue')).rows[0]!.n;
}

export async function runRulesCrash(pool: pg.Pool, options: RulesCrashOptions) {
  await cleanDatabase(pool);
  const scene = await createScene(pool);
  const always = await createRule(pool, scene);
  const evenOnly = await createRule(pool, scene, { criteria: { 'trigger.even': { type: 'equals', pattern: true } } });
  for (let start = 0; start < options.events; start += 1000) {
    const size = Math.min(1000, options.events - start);
    await fireEvents(pool, Array.from({ length: size }, (_, i) => ({ triggerRef: scene.trigger.ref, payload: { n: start + i, even: (start + i) % 2 === 0 } })));
  }
  const harness = new FaultHarness({ ATTUNE__RULES__BATCH_SIZE: '100' });
  const startedAt = Date.now();
  const deadline = startedAt + options.timeoutMs;
  let killedWithWorkLeft = 0;
  try {
    harness.sampleMemory();
    harness.start('rules', 'rules');
    // Kill it at a random moment once it is matching (the queue shrinks), restart, again, until minKills
    // kills landed with work left; then let the last one drain the queue.
    while (killedWithWorkLeft < options.minKills && Date.now() < deadline) {
      const before = await queued(pool);
      if (before === 0) break;
      await waitUntil('the rules process to take events', async () => (await queued(pool)) < before, deadline - Date.now(), 20);
      await sleep(randomBetween(0, 300));
      await harness.killAndRestart('rules');
      if ((await queued(pool)) > 0) killedWithWorkLeft += 1;
    }
    await waitUntil('the event queue to drain', async () => (await queued(pool)) === 0, Math.max(1000, deadline - Date.now()), 200);
    const drainedAt = Date.now();
    const audit = await auditEnforcements(pool, [
      { id: always.id, matches: `e.trigger_ref = '${scene.trigger.ref}'` },
      { id: evenOnly.id, matches: `e.trigger_ref = '${scene.trigger.ref}' AND (e.payload->>'even')::boolean` },
    ]);
    // Enforcements for events that do not match (an odd event on the even rule) would be duplicates too.
    const stray = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM enforcements f JOIN events e ON e.id = f.event_id WHERE f.rule_id = $1 AND NOT (e.payload->>'even')::boolean`,
      [evenOnly.id],
    );
    const enforcements = (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM enforcements')).rows[0]!.n;
    const figures = {
      events: options.events,
      enforcements,
      expectedEnforcements: options.events + Math.ceil(options.events / 2),
      kills: harness.kills,
      killedWithWorkLeft,
      restarts: harness.restarts,
      lost: audit.missing,
      duplicated: audit.duplicated + stray.rows[0]!.n,
      executionsWrong: audit.executionsWrong,
      queued: audit.queued,
      seconds: Math.round((drainedAt - startedAt) / 100) / 10,
      peakRssMb: harness.peakRssMb(),
    };
    reportFigures('rules-crash', figures);
    return figures;
  } finally {
    await harness.close();
  }
}
