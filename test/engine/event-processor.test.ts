import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { processEventBatch } from '../../src/engine/event-processor.js';
import { fireEvent, fireEvents } from '../../src/engine/fire-event.js';
import { revealSecretParams } from '../../src/engine/request-execution.js';
import { RuleCache } from '../../src/engine/rule-cache.js';
import { NotificationListener } from '../../src/db/listener.js';
import { EventRepository } from '../../src/repositories/events.js';
import { EnforcementRepository } from '../../src/repositories/enforcements.js';
import { ExecutionRepository } from '../../src/repositories/executions.js';
import { RuleRepository } from '../../src/repositories/rules.js';
import { cleanDatabase, createTestPool } from '../../src/testing/database.js';
import { KeyFixture } from '../../src/testing/fixtures/keys.js';
import { useTransactionPerTest } from '../support/db.js';
import { ActionFixture } from '../../src/testing/fixtures/actions.js';
import { PackFixture } from '../../src/testing/fixtures/packs.js';
import { TriggerFixture } from '../../src/testing/fixtures/triggers.js';
import { PackRepository } from '../../src/repositories/packs.js';
import { createRule, createScene, MESSAGE_SCHEMA, testCipher } from './rule-setup.js';

const ctx = useTransactionPerTest();
const cipher = testCipher();

function processBatch(batchSize = 100) {
  return processEventBatch(ctx.db, { cache: new RuleCache(), batchSize, cipher });
}

async function enforcementsOf(eventId: number) {
  return (await EnforcementRepository.list(ctx.db, { eventId, limit: 100 })).items;
}

describe('processEventBatch', () => {
  it('writes a processed enforcement and a requested execution per matching rule, and takes the event off the queue', async () => {
    const scene = await createScene(ctx.db);
    const rule = await createRule(ctx.db, scene, {
      criteria: { 'trigger.level': { type: 'equals', pattern: 'high' } },
      actionParams: { message: 'alert: {{ trigger.text }}' },
    });
    const event = await fireEvent(ctx.db, scene.trigger.ref, { level: 'high', text: 'disk full' }, { traceId: 'trace-9' });
    const report = await processBatch();
    expect(report).toMatchObject({ events: 1, enforcements: 1, executions: 1, failures: [] });

    const [enforcement] = await enforcementsOf(event.id);
    expect(enforcement).toMatchObject({
      ruleId: rule.id,
      ruleRef: rule.ref,
      triggerRef: scene.trigger.ref,
      status: 'processed',
      payload: { level: 'high', text: 'disk full' },
      criteria: rule.criteria,
      resolvedParams: { message: 'alert: disk full', count: 1 },
      error: null,
    });
    const executions = (await ExecutionRepository.list(ctx.db, { enforcementId: enforcement!.id })).items;
    expect(executions).toHaveLength(1);
    expect(executions[0]).toMatchObject({
      actionId: scene.action.id,
      actionRef: scene.action.ref,
      status: 'requested',
      params: { message: 'alert: disk full', count: 1 },
      enforcementId: enforcement!.id,
      traceId: 'trace-9',
    });
    expect(await EventRepository.isUnprocessed(ctx.db, event.id)).toBe(false);
  });

  it('writes nothing for a rule whose criteria do not hold, and still marks the event processed', async () => {
    const scene = await createScene(ctx.db);
    await createRule(ctx.db, scene, { criteria: { 'trigger.level': { type: 'equals', pattern: 'high' } } });
    const event = await fireEvent(ctx.db, scene.trigger.ref, { level: 'low' });
    expect(await processBatch()).toMatchObject({ events: 1, enforcements: 0, executions: 0 });
    expect(await enforcementsOf(event.id)).toEqual([]);
    expect(await EventRepository.isUnprocessed(ctx.db, event.id)).toBe(false);
  });

  it('fires every enabled rule of an active pack on the trigger, not disabled rules nor rules on other triggers', async () => {
    const scene = await createScene(ctx.db);
    const other = await createScene(ctx.db);
    const a = await createRule(ctx.db, scene);
    const b = await createRule(ctx.db, scene);
    await createRule(ctx.db, scene, { enabled: false });
    await createRule(ctx.db, other);
    const event = await fireEvent(ctx.db, scene.trigger.ref, {});
    await processBatch();
    expect((await enforcementsOf(event.id)).map((e) => e.ruleId).sort()).toEqual([a.id, b.id].sort());
  });

  it("matches a rule's trigger parameters against the event's", async () => {
    const scene = await createScene(ctx.db);
    const deploy = await createRule(ctx.db, scene, { triggerParams: { url: 'deploy' } });
    await createRule(ctx.db, scene, { triggerParams: { url: 'other' } });
    const any = await createRule(ctx.db, scene);
    const event = await fireEvent(ctx.db, scene.trigger.ref, {}, { triggerParams: { url: 'deploy' } });
    await processBatch();
    expect((await enforcementsOf(event.id)).map((e) => e.ruleId).sort()).toEqual([deploy.id, any.id].sort());
  });

  it('records a failed enforcement with the reason for a rule whose parameters fail, and the other rules still fire', async () => {
    const scene = await createScene(ctx.db);
    const broken = await createRule(ctx.db, scene, { actionParams: { message: '{{ trigger.missing.deeper }}' } });
    const invalid = await createRule(ctx.db, scene, { actionParams: { message: 'hi', count: 'many' } });
    const good = await createRule(ctx.db, scene, { actionParams: { message: 'fine' } });
    const event = await fireEvent(ctx.db, scene.trigger.ref, { present: 1 });
    const report = await processBatch();
    expect(report).toMatchObject({ events: 1, enforcements: 3, executions: 1 });
    const byRule = new Map((await enforcementsOf(event.id)).map((e) => [e.ruleId, e]));
    expect(byRule.get(broken.id)).toMatchObject({ status: 'failed', error: expect.stringContaining("parameter 'message'") });
    expect(byRule.get(broken.id)!.error).toContain('missing');
    expect(byRule.get(invalid.id)).toMatchObject({ status: 'failed', error: expect.stringContaining('count') });
    expect(byRule.get(good.id)).toMatchObject({ status: 'processed', error: null });
    expect(report.failures.map((f) => f.ruleRef).sort()).toEqual([broken.ref, invalid.ref].sort());
  });

  it('records a disabled enforcement, with the reason, when the action is disabled', async () => {
    const scene = await createScene(ctx.db);
    await ctx.db.query(`UPDATE actions SET enabled = false, disabled_reason = 'runner orquesta is not supported yet' WHERE id = $1`, [scene.action.id]);
    await createRule(ctx.db, scene);
    const event = await fireEvent(ctx.db, scene.trigger.ref, {});
    expect(await processBatch()).toMatchObject({ enforcements: 1, executions: 0 });
    expect((await enforcementsOf(event.id))[0]).toMatchObject({ status: 'disabled', error: expect.stringContaining('runner orquesta is not supported yet') });
  });

  it('renders the key store, the pack configuration, the event and the rule into the parameters', async () => {
    const scene = await createScene(ctx.db, {
      config: { region: 'eu-1' },
      paramSchema: { type: 'object', properties: { message: { type: 'string' } }, additionalProperties: false },
    });
    await new KeyFixture().system().withName('greeting').withValue('hello').create(ctx.db);
    await new KeyFixture().forPack(scene.pack.ref).withName('token').withValue('tok').secret(cipher).create(ctx.db);
    await createRule(ctx.db, scene, {
      actionParams: { message: '{{ st2kv.system.greeting }} {{ keys.pack.token | decrypt_kv }} {{ config.region }} {{ rule.ref }} {{ event.id }} {{ action_context.trigger_instance }}' },
    });
    const event = await fireEvent(ctx.db, scene.trigger.ref, {});
    await processBatch();
    const [enforcement] = await enforcementsOf(event.id);
    const rule = (await RuleRepository.list(ctx.db, { packId: scene.pack.id })).items[0]!;
    expect(enforcement!.resolvedParams).toEqual({ message: `hello tok eu-1 ${rule.ref} ${event.id} ${event.id}` });
  });

  it('encrypts secret parameters in the execution and masks them in the enforcement', async () => {
    const schema = { type: 'object', properties: { password: { type: 'string', secret: true }, user: { type: 'string' } }, additionalProperties: false };
    const scene = await createScene(ctx.db, { paramSchema: schema });
    await createRule(ctx.db, scene, { actionParams: { password: '{{ trigger.pw }}', user: 'u' } });
    const event = await fireEvent(ctx.db, scene.trigger.ref, { pw: 's3cret' });
    await processBatch();
    const [enforcement] = await enforcementsOf(event.id);
    expect(enforcement!.resolvedParams).toEqual({ password: '********', user: 'u' });
    const [execution] = (await ExecutionRepository.list(ctx.db, { enforcementId: enforcement!.id })).items;
    expect(JSON.stringify(execution!.params)).not.toContain('s3cret');
    expect(revealSecretParams(execution!.params, schema, cipher)).toEqual({ password: 's3cret', user: 'u' });
  });

  it('processes at most batchSize events per call, oldest first', async () => {
    const scene = await createScene(ctx.db);
    await createRule(ctx.db, scene);
    const events = await fireEvents(ctx.db, Array.from({ length: 5 }, (_, i) => ({ triggerRef: scene.trigger.ref, payload: { i } })));
    expect(await processBatch(3)).toMatchObject({ events: 3, enforcements: 3 });
    expect(await EventRepository.isUnprocessed(ctx.db, events[0]!.id)).toBe(false);
    expect(await EventRepository.isUnprocessed(ctx.db, events[4]!.id)).toBe(true);
    expect(await processBatch(3)).toMatchObject({ events: 2 });
    expect(await processBatch(3)).toMatchObject({ events: 0 });
  });

  it('a redone event (queued again after its enforcements were written) fires nothing twice', async () => {
    const scene = await createScene(ctx.db);
    await createRule(ctx.db, scene);
    const event = await fireEvent(ctx.db, scene.trigger.ref, {});
    await processBatch();
    await ctx.db.query('INSERT INTO event_queue (event_id) VALUES ($1)', [event.id]);
    expect(await processBatch()).toMatchObject({ events: 1, enforcements: 0, executions: 0 });
    expect(await enforcementsOf(event.id)).toHaveLength(1);
    const { rows } = await ctx.db.query('SELECT count(*)::int AS n FROM executions');
    expect(rows[0]).toEqual({ n: 1 });
  });

  it('fires only the rules of the active version of a pack', async () => {
    const v1 = await createScene(ctx.db);
    const packRef = v1.pack.ref;
    const v1Rule = await createRule(ctx.db, v1);
    const v2Pack = await new PackFixture(packRef).withVersion('2.0.0').inactive().create(ctx.db);
    const v2Trigger = await new TriggerFixture(v1.trigger.name).forPack(v2Pack).create(ctx.db);
    const v2Action = await new ActionFixture(v1.action.name).forPack(v2Pack).withRunnerType('noop').withParamSchema(MESSAGE_SCHEMA).create(ctx.db);
    const v2Rule = await createRule(ctx.db, { pack: v2Pack, trigger: v2Trigger, action: v2Action });
    const first = await fireEvent(ctx.db, v1.trigger.ref, {});
    await processBatch();
    expect((await enforcementsOf(first.id)).map((e) => e.ruleId)).toEqual([v1Rule.id]);

    await PackRepository.activateVersion(ctx.db, packRef, '2.0.0');
    const second = await fireEvent(ctx.db, v1.trigger.ref, {});
    await processBatch();
    const [enforcement] = await enforcementsOf(second.id);
    expect(enforcement!.ruleId).toBe(v2Rule.id);
    const [execution] = (await ExecutionRepository.list(ctx.db, { enforcementId: enforcement!.id })).items;
    expect(execution!.actionId).toBe(v2Action.id);
  });
});

describe('the rule cache (committed)', () => {
  const pool = createTestPool();
  let listener: NotificationListener | undefined;
  beforeEach(async () => {
    await cleanDatabase(pool);
  });
  afterAll(async () => {
    await listener?.close();
    await pool.end();
  });

  it('is dropped when a rule changes (NOTIFY attune_rules_changed), so a new rule fires on the next event', async () => {
    listener = new NotificationListener({ url: process.env.ATTUNE__DATABASE__URL! });
    const cache = new RuleCache();
    await cache.attach(listener);
    await listener.start();
    const scene = await createScene(pool);
    const first = await createRule(pool, scene);
    await fireEvent(pool, scene.trigger.ref, {});
    expect(await processEventBatch(pool, { cache, cipher })).toMatchObject({ enforcements: 1 });

    const before = cache.invalidations;
    const second = await createRule(pool, scene);
    await new Promise<void>((resolve) => {
      const check = () => (cache.invalidations > before ? resolve() : setTimeout(check, 5));
      check();
    });
    const event = await fireEvent(pool, scene.trigger.ref, {});
    expect(await processEventBatch(pool, { cache, cipher })).toMatchObject({ enforcements: 2 });
    const rules = (await EnforcementRepository.list(pool, { eventId: event.id })).items.map((e) => e.ruleId).sort();
    expect(rules).toEqual([first.id, second.id].sort());
  });

  it('keeps serving cached rules until told otherwise', async () => {
    const cache = new RuleCache();
    const scene = await createScene(pool);
    await createRule(pool, scene);
    await fireEvent(pool, scene.trigger.ref, {});
    await processEventBatch(pool, { cache, cipher });
    // Written behind the cache's back, with no listener attached: the cache does not know.
    await createRule(pool, scene);
    await fireEvent(pool, scene.trigger.ref, {});
    expect(await processEventBatch(pool, { cache, cipher })).toMatchObject({ enforcements: 1 });
    cache.invalidate();
    await fireEvent(pool, scene.trigger.ref, {});
    expect(await processEventBatch(pool, { cache, cipher })).toMatchObject({ enforcements: 2 });
  });
});
