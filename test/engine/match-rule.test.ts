import { describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../../src/errors.js';
import { fireEvent } from '../../src/engine/fire-event.js';
import { matchRule } from '../../src/engine/match-rule.js';
import { tableRowCounts } from '../../src/db/admin.js';
import { expectErrorType } from '../../src/testing/assertions.js';
import { TriggerFixture } from '../../src/testing/fixtures/triggers.js';
import { useTransactionPerTest } from '../support/db.js';
import { createRule, createScene, testCipher } from './rule-setup.js';

const ctx = useTransactionPerTest();
const cipher = testCipher();

const CRITERIA = {
  'trigger.level': { type: 'equals', pattern: 'high' },
  'trigger.host': { type: 'startswith', pattern: 'web' },
};

/** Rows this transaction has inserted, updated or deleted in the attune schema so far. */
async function writesInTransaction(): Promise<number> {
  const { rows } = await ctx.db.query<{ n: number }>(
    `SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::int AS n FROM pg_stat_xact_user_tables WHERE schemaname = 'attune'`,
  );
  return rows[0]!.n;
}

describe('matchRule', () => {
  it("reports each criterion's verdict and the parameters the rule would render", async () => {
    const scene = await createScene(ctx.db);
    const rule = await createRule(ctx.db, scene, { criteria: CRITERIA, actionParams: { message: '{{ trigger.host }} is {{ trigger.level }}' } });
    const result = await matchRule(ctx.db, rule.ref, { payload: { level: 'high', host: 'web-1' } }, { cipher });
    expect(result).toMatchObject({
      rule: rule.ref,
      enabled: true,
      eventId: null,
      triggerParamsMatched: true,
      matched: true,
      action: scene.action.ref,
      params: { message: 'web-1 is high', count: 1 },
      enforcementStatus: 'processed',
    });
    // JSONB keeps object keys in its own order, so compare by key.
    expect(Object.fromEntries(result.criteria.map((c) => [c.key, [c.operator, c.pattern, c.value, c.matched]]))).toEqual({
      'trigger.level': ['equals', 'high', 'high', true],
      'trigger.host': ['startswith', 'web', 'web-1', true],
    });
    expect(result.error).toBeUndefined();
  });

  it('shows which criterion failed, and renders nothing', async () => {
    const scene = await createScene(ctx.db);
    const rule = await createRule(ctx.db, scene, { criteria: CRITERIA });
    const result = await matchRule(ctx.db, rule, { payload: { level: 'high', host: 'db-1' } });
    expect(result.matched).toBe(false);
    expect(Object.fromEntries(result.criteria.map((c) => [c.key, c.matched]))).toEqual({ 'trigger.level': true, 'trigger.host': false });
    expect(result.params).toBeUndefined();
    expect(result.enforcementStatus).toBeUndefined();
  });

  it('reports the render error of a matching rule', async () => {
    const scene = await createScene(ctx.db);
    const rule = await createRule(ctx.db, scene, { actionParams: { message: '{{ trigger.nothing.here }}' } });
    const result = await matchRule(ctx.db, rule.ref, { payload: {} });
    expect(result).toMatchObject({ matched: true, enforcementStatus: 'failed', error: expect.stringContaining("parameter 'message'") });
    expect(result.params).toBeUndefined();
  });

  it('masks secret parameters', async () => {
    const schema = { type: 'object', properties: { password: { type: 'string', secret: true } }, additionalProperties: false };
    const scene = await createScene(ctx.db, { paramSchema: schema });
    const rule = await createRule(ctx.db, scene, { actionParams: { password: '{{ trigger.pw }}' } });
    const result = await matchRule(ctx.db, rule.ref, { payload: { pw: 'hunter2' } }, { cipher });
    expect(result.params).toEqual({ password: '********' });
    expect(JSON.stringify(result)).not.toContain('hunter2');
  });

  it('tests a stored event, with its trigger parameters', async () => {
    const scene = await createScene(ctx.db);
    const rule = await createRule(ctx.db, scene, { triggerParams: { url: 'deploy' } });
    const other = await fireEvent(ctx.db, scene.trigger.ref, {}, { triggerParams: { url: 'other' } });
    const mine = await fireEvent(ctx.db, scene.trigger.ref, {}, { triggerParams: { url: 'deploy' } });
    expect(await matchRule(ctx.db, rule.ref, { eventId: other.id })).toMatchObject({ eventId: other.id, triggerParamsMatched: false, matched: false });
    expect(await matchRule(ctx.db, rule.ref, { eventId: mine.id })).toMatchObject({ eventId: mine.id, triggerParamsMatched: true, matched: true });
  });

  it('refuses an event of another trigger, an unknown event and an unknown rule', async () => {
    const scene = await createScene(ctx.db);
    const rule = await createRule(ctx.db, scene);
    const elsewhere = await fireEvent(ctx.db, (await new TriggerFixture().create(ctx.db)).ref, {});
    expect((await expectErrorType(matchRule(ctx.db, rule.ref, { eventId: elsewhere.id }), ValidationError)).message).toContain('listens to');
    await expectErrorType(matchRule(ctx.db, rule.ref, { eventId: 2_000_000_000 }), NotFoundError);
    await expectErrorType(matchRule(ctx.db, 'nosuch.rule', { payload: {} }), NotFoundError);
  });

  it('writes nothing', async () => {
    const scene = await createScene(ctx.db);
    const rule = await createRule(ctx.db, scene, { criteria: CRITERIA });
    const event = await fireEvent(ctx.db, scene.trigger.ref, { level: 'high', host: 'web-2' });
    const before = await tableRowCounts(ctx.db);
    const writesBefore = await writesInTransaction();
    await matchRule(ctx.db, rule.ref, { eventId: event.id }, { cipher });
    await matchRule(ctx.db, rule.ref, { payload: { level: 'high', host: 'web-3' } }, { cipher });
    expect(await tableRowCounts(ctx.db)).toEqual(before);
    // The event is still queued: testing it did not process it.
    const queued = await ctx.db.query('SELECT 1 FROM event_queue WHERE event_id = $1', [event.id]);
    expect(queued.rows).toHaveLength(1);
    // Not a row inserted, updated or deleted in any Attune table by this transaction since.
    expect(await writesInTransaction()).toBe(writesBefore);
  });
});
