/**
 * Timer events through the rules role: each rule fires once per tick of its
 * own schedule, also when another rule's timer has the same parameters plus
 * more (a time zone, catch_up), as StackStorm matches a timer rule to its own
 * trigger only.
 */
import { afterAll, beforeEach, expect, it } from 'vitest';
import { processEventBatch } from '../../src/engine/event-processor.js';
import { RuleCache } from '../../src/engine/rule-cache.js';
import { RuleRepository } from '../../src/repositories/rules.js';
import { fireDueTimers } from '../../src/sensors/fire-timers.js';
import { syncSchedules } from '../../src/sensors/schedule-sync.js';
import { cleanDatabase, createTestPool, PackFixture } from '../../src/testing/index.js';
import { registerCore } from './support.js';

const pool = createTestPool();
beforeEach(async () => {
  await cleanDatabase(pool);
  await registerCore(pool);
});
afterAll(() => pool.end());

it('a timer rule matches the ticks of its own schedule only', async () => {
  const pack = await new PackFixture().create(pool);
  const params = [{ unit: 'seconds', delta: 5 }, { unit: 'seconds', delta: 5, timezone: 'Europe/Paris' }, { unit: 'seconds', delta: 5, catch_up: 2 }];
  const rules = await Promise.all(
    params.map((triggerParams, i) =>
      RuleRepository.create(pool, { packRef: pack.ref, name: `tick_${i}`, triggerRef: 'core.st2.IntervalTimer', triggerParams, actionRef: 'core.noop' }),
    ),
  );
  await syncSchedules(pool, new Date());
  await pool.query("UPDATE schedules SET next_at = now() - interval '1 second'");
  expect(await fireDueTimers(pool, new Date(), { batchSize: 10, graceMs: 30_000 })).toMatchObject({ claimed: 3, fired: 3 });
  const report = await processEventBatch(pool, { cache: new RuleCache() });
  expect(report).toMatchObject({ events: 3, enforcements: 3 });
  const perRule = await pool.query<{ rule_ref: string; n: number }>('SELECT rule_ref, count(*)::int AS n FROM enforcements GROUP BY rule_ref ORDER BY rule_ref');
  expect(perRule.rows).toEqual(rules.map((rule) => ({ rule_ref: rule.ref, n: 1 })).sort((a, b) => a.rule_ref.localeCompare(b.rule_ref)));
});
