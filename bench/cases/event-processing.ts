/**
 * Event processing end to end: a batch of events fired (`fireEvents`) and
 * processed by the rules role's batch (`processEventBatch`: claim, match
 * every rule, render and validate the parameters, write enforcements and
 * requested executions, commit), with 1, 10 and 100 matching rules per event.
 * The baseline writes the same rows with hand-written SQL in the same batch
 * sizes: the events in one multi-row INSERT, then in one transaction their
 * queue rows deleted and the enforcements and executions inserted in one
 * statement, with the parameters built by string concatenation (no
 * criteria, no templates, no validation). Rates are events per second.
 */
import type pg from 'pg';
import { processEventBatch } from '../../src/engine/event-processor.js';
import { fireEvents, type EventToFire } from '../../src/engine/fire-event.js';
import { RuleCache } from '../../src/engine/rule-cache.js';
import { ActionRepository } from '../../src/repositories/actions.js';
import { PackRepository } from '../../src/repositories/packs.js';
import { RuleRepository } from '../../src/repositories/rules.js';
import { TriggerRepository } from '../../src/repositories/triggers.js';
import type { BenchCase, Target } from '../harness.js';
import { counter, type BenchContext } from '../context.js';

/** The target: end to end at least 0.7 of the hand-written SQL. */
export const PROCESSING_TARGET: Target = { label: 'end to end ≥ 0.70× hand-written SQL', min: 0.7 };

const PACK = 'bench_rules';
const ACTION_SCHEMA = {
  type: 'object',
  properties: { message: { type: 'string' }, host: { type: 'string' }, count: { type: 'integer', default: 1 } },
  required: ['message'],
  additionalProperties: false,
};

/** [matching rules per event, events per batch]: about a thousand enforcements a batch at 10 and 100 rules. */
const SHAPES: [rules: number, events: number][] = [
  [1, 100],
  [10, 100],
  [100, 10],
];

interface Scene {
  actionId: number;
  actionRef: string;
  /** Trigger ref and its rules, per rule count. */
  triggers: Map<number, { ref: string; id: number; rules: { id: number; ref: string; criteria: unknown }[] }>;
}

export function eventProcessingCases(ctx: BenchContext): BenchCase[] {
  const { db } = ctx;
  const next = counter();
  let scene: Scene | undefined;

  /** One pack, one action, and a trigger per shape with that many rules, each matching every bench event. */
  const build = async (): Promise<Scene> => {
    if (scene) return scene;
    const pack = (await PackRepository.findByRef(db, PACK)) ?? (await PackRepository.create(db, { ref: PACK, version: '1.0.0', name: 'Bench rules' }));
    const action =
      (await ActionRepository.findByRef(db, `${PACK}.notify`)) ??
      (await ActionRepository.create(db, { packId: pack.id, name: 'notify', runnerType: 'noop', paramSchema: ACTION_SCHEMA }));
    const triggers: Scene['triggers'] = new Map();
    for (const [ruleCount] of SHAPES) {
      const name = `alert_${ruleCount}`;
      const trigger = (await TriggerRepository.findByRef(db, `${PACK}.${name}`)) ?? (await TriggerRepository.create(db, { packId: pack.id, name }));
      const existing = await RuleRepository.listEnabledForTrigger(db, trigger.ref);
      for (let r = existing.length; r < ruleCount; r++) {
        await RuleRepository.create(db, {
          packId: pack.id,
          name: `on_${name}_${r}`,
          triggerId: trigger.id,
          actionId: action.id,
          criteria: { 'trigger.level': { type: 'equals', pattern: 'high' }, 'trigger.host': { type: 'startswith', pattern: 'web' } },
          actionParams: { message: `rule ${r}: {{ trigger.host }} is {{ trigger.level }}`, host: '{{ trigger.host }}' },
        });
      }
      const rules = (await RuleRepository.listEnabledForTrigger(db, trigger.ref)).map((rule) => ({ id: rule.id, ref: rule.ref, criteria: rule.criteria }));
      triggers.set(ruleCount, { ref: trigger.ref, id: trigger.id, rules });
    }
    // Events of the seeded data set (and of other cases) are queued too: the claim must find only this case's.
    await db.query('DELETE FROM event_queue');
    scene = { actionId: action.id, actionRef: action.ref, triggers };
    return scene;
  };

  const shapeCase = ([ruleCount, batch]: [number, number]): BenchCase => {
    const cache = new RuleCache();
    const events = (trigger: string): EventToFire[] =>
      Array.from({ length: batch }, (_, k) => {
        const n = next();
        return { triggerRef: trigger, payload: { level: 'high', host: `web-${n % 50}`, n, message: 'disk usage above threshold on /var' }, source: 'sensor.bench', traceId: `trace-${n}-${k}` };
      });
    return {
      name: `rules.process-${ruleCount}`,
      group: 'rules',
      writes: true,
      title: `fireEvents + processEventBatch: ${batch} events a batch, ${ruleCount} matching rule${ruleCount === 1 ? '' : 's'} each (${batch * ruleCount} enforcements and executions)`,
      baselineTitle: `INSERT events (unnest); BEGIN; DELETE their queue rows; INSERT enforcements + executions (one statement, params concatenated); COMMIT`,
      rowsPerOp: batch,
      target: PROCESSING_TARGET,
      maxOpsPerRound: 20,
      setup: async () => {
        await build();
      },
      verify: async () => {
        const s = await build();
        const trigger = s.triggers.get(ruleCount)!;
        await fireEvents(db, events(trigger.ref));
        const report = await processEventBatch(db as pg.PoolClient, { cache, batchSize: batch });
        if (report.events !== batch || report.executions !== batch * ruleCount || report.failures.length > 0) {
          return `processEventBatch did ${JSON.stringify({ ...report, failures: report.failures.slice(0, 2) })}, expected ${batch} events and ${batch * ruleCount} executions`;
        }
        return null;
      },
      repo: async () => {
        const trigger = scene!.triggers.get(ruleCount)!;
        await fireEvents(db, events(trigger.ref));
        const report = await processEventBatch(db as pg.PoolClient, { cache, batchSize: batch });
        if (report.events !== batch) throw new Error(`processed ${report.events} events, expected ${batch}: the queue holds other events`);
        return report;
      },
      baseline: async () => {
        const s = scene!;
        const trigger = s.triggers.get(ruleCount)!;
        const batchEvents = events(trigger.ref);
        const inserted = await db.query<{ id: number; payload: { host: string; level: string }; trace_id: string }>(
          `INSERT INTO events (trigger_id, trigger_ref, payload, source, trace_id)
           SELECT $1, $2, u.payload, u.source, u.trace_id FROM unnest($3::jsonb[], $4::text[], $5::text[]) AS u(payload, source, trace_id)
           RETURNING id, payload, trace_id`,
          [trigger.id, trigger.ref, batchEvents.map((e) => JSON.stringify(e.payload)), batchEvents.map((e) => e.source), batchEvents.map((e) => e.traceId)],
        );
        const ruleIds: number[] = [];
        const ruleRefs: string[] = [];
        const eventIds: number[] = [];
        const params: string[] = [];
        const traceIds: string[] = [];
        for (const row of inserted.rows) {
          trigger.rules.forEach((rule, r) => {
            ruleIds.push(rule.id);
            ruleRefs.push(rule.ref);
            eventIds.push(row.id);
            traceIds.push(row.trace_id);
            params.push(JSON.stringify({ message: `rule ${r}: ${row.payload.host} is ${row.payload.level}`, host: row.payload.host, count: 1 }));
          });
        }
        await db.query('BEGIN');
        try {
          await db.query('DELETE FROM event_queue WHERE event_id = ANY($1::bigint[])', [inserted.rows.map((row) => row.id)]);
          await db.query(
            `WITH input AS MATERIALIZED (
                    SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::jsonb[], $5::text[]) AS i(rule_id, rule_ref, event_id, params, trace_id)),
                  enforced AS (
                    INSERT INTO enforcements (rule_id, rule_ref, event_id, trigger_ref, status, payload, criteria, resolved_params)
                    SELECT i.rule_id, i.rule_ref, i.event_id, e.trigger_ref, 'processed', e.payload, r.criteria, i.params
                      FROM input i JOIN events e ON e.id = i.event_id JOIN rules r ON r.id = i.rule_id
                    RETURNING id, rule_id, event_id, resolved_params)
             INSERT INTO executions (action_id, action_ref, runner_type, params, enforcement_id, trace_id)
             SELECT $6, $7, 'noop', en.resolved_params, en.id, i.trace_id
               FROM enforced en JOIN input i ON i.rule_id = en.rule_id AND i.event_id = en.event_id`,
            [ruleIds, ruleRefs, eventIds, params, traceIds, s.actionId, s.actionRef],
          );
          await db.query('COMMIT');
        } catch (error) {
          await db.query('ROLLBACK');
          throw error;
        }
      },
    };
  };

  return SHAPES.map(shapeCase);
}
