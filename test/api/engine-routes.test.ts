import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { registerPack } from '../../src/packs/register.js';
import { SecretCipher } from '../../src/crypto/secrets.js';
import { revealSecretParams } from '../../src/engine/request-execution.js';
import { ExecutionRepository } from '../../src/repositories/executions.js';
import { ActionFixture, ExecutionFixture, InquiryFixture, PackFixture, RuleFixture, TriggerFixture } from '../../src/testing/index.js';
import { useTransactionPerTest } from '../support/db.js';
import { TEST_ENCRYPTION_KEY, call, signedIn, useTestApp } from './support.js';

const ctx = useTransactionPerTest();
const api = useTestApp(ctx);
const cipher = new SecretCipher(TEST_ENCRYPTION_KEY);
const PASSWORD = 'pw-known-secret-41c2';
const CORE = fileURLToPath(new URL('../../packs/core', import.meta.url));

const SCHEMA = {
  type: 'object',
  properties: {
    cmd: { type: 'string' },
    retries: { type: 'integer', default: 3 },
    password: { type: 'string', secret: true },
  },
  required: ['cmd'],
  additionalProperties: false,
};

async function actionWithSecrets() {
  const pack = await new PackFixture().create(ctx.db);
  return new ActionFixture().forPack(pack).withParamSchema(SCHEMA).create(ctx.db);
}

describe('running actions', () => {
  it('POST /executions: 201, defaults applied, the secret stored encrypted and shown masked; bad parameters 422 naming the field, nothing written', async () => {
    const action = await actionWithSecrets();
    const { auth, identity } = await signedIn(ctx.db, 'operator');
    const response = await call(api.app, { method: 'POST', url: '/api/v1/executions', headers: auth, payload: { action: action.ref, parameters: { cmd: 'date', password: PASSWORD } } });
    expect(response.statusCode, response.body).toBe(201);
    expect(response.data.data).toMatchObject({ action_ref: action.ref, status: 'requested', requested_by: identity.id, params: { cmd: 'date', retries: 3, password: '********' } });
    expect(response.body.includes(PASSWORD)).toBe(false);
    const stored = await ExecutionRepository.getById(ctx.db, response.data.data.id);
    expect(JSON.stringify(stored.params).includes(PASSWORD)).toBe(false);
    expect(revealSecretParams(stored.params, SCHEMA, cipher).password === PASSWORD).toBe(true);

    const before = (await ctx.db.query('SELECT count(*)::int AS n FROM executions')).rows[0].n;
    const bad = await call(api.app, { method: 'POST', url: '/api/v1/executions', headers: auth, payload: { action: action.ref, parameters: { cmd: 5 } } });
    expect(bad.statusCode).toBe(422);
    expect(bad.data.error).toMatchObject({ code: 'ATTUNE_VALIDATION', field: 'params.cmd' });
    const missing = await call(api.app, { method: 'POST', url: '/api/v1/executions', headers: auth, payload: { action: 'nope.missing' } });
    expect(missing.statusCode).toBe(422);
    expect(missing.data.error.code).toBe('ATTUNE_INVALID_REFERENCE');
    expect((await ctx.db.query('SELECT count(*)::int AS n FROM executions')).rows[0].n).toBe(before);
    expect(api.logs.text.includes(PASSWORD)).toBe(false);
  });

  it('POST /actions/{ref}/execute runs the action by ref; 404 for an unknown one', async () => {
    const action = await actionWithSecrets();
    const { auth } = await signedIn(ctx.db, 'operator');
    const response = await call(api.app, { method: 'POST', url: `/api/v1/actions/${action.ref}/execute`, headers: auth, payload: { parameters: { cmd: 'ls' } } });
    expect(response.statusCode, response.body).toBe(201);
    expect(response.data.data.params).toEqual({ cmd: 'ls', retries: 3 });
    expect((await call(api.app, { method: 'POST', url: '/api/v1/actions/nope.missing/execute', headers: auth, payload: {} })).statusCode).toBe(404);
  });

  it('re-run: same action and parameters, the secret re-used encrypted and never shown; overrides apply', async () => {
    const action = await actionWithSecrets();
    const { auth } = await signedIn(ctx.db, 'operator');
    const first = await call(api.app, { method: 'POST', url: '/api/v1/executions', headers: auth, payload: { action: action.ref, parameters: { cmd: 'date', password: PASSWORD } } });
    const again = await call(api.app, { method: 'POST', url: `/api/v1/executions/${first.data.data.id}/re-run`, headers: auth, payload: { parameters: { cmd: 'uptime' } } });
    expect(again.statusCode, again.body).toBe(201);
    expect(again.data.data.id).not.toBe(first.data.data.id);
    expect(again.data.data.params).toEqual({ cmd: 'uptime', retries: 3, password: '********' });
    expect(again.body.includes(PASSWORD)).toBe(false);
    const stored = await ExecutionRepository.getById(ctx.db, again.data.data.id);
    expect(revealSecretParams(stored.params, SCHEMA, cipher).password === PASSWORD).toBe(true);
    expect((await call(api.app, { method: 'POST', url: '/api/v1/executions/999999999/re-run', headers: auth, payload: {} })).statusCode).toBe(404);
  });

  it('re-run with a new value for a parameter an immutable templated default reads: the default is rendered again (core.sleep)', async () => {
    await registerPack(ctx.db, CORE, { system: true });
    const { auth } = await signedIn(ctx.db, 'operator');
    const first = await call(api.app, { method: 'POST', url: '/api/v1/actions/core.sleep/execute', headers: auth, payload: { parameters: { seconds: 5 } } });
    expect(first.statusCode, first.body).toBe(201);
    expect(first.data.data.params).toMatchObject({ seconds: 5, cmd: 'sleep 5' });
    const changed = await call(api.app, { method: 'POST', url: `/api/v1/executions/${first.data.data.id}/re-run`, headers: auth, payload: { parameters: { seconds: 3 } } });
    expect(changed.statusCode, changed.body).toBe(201);
    expect(changed.data.data.params).toMatchObject({ seconds: 3, cmd: 'sleep 3' });
    const same = await call(api.app, { method: 'POST', url: `/api/v1/executions/${first.data.data.id}/re-run`, headers: auth, payload: {} });
    expect(same.statusCode, same.body).toBe(201);
    expect(same.data.data.params).toEqual(first.data.data.params);
    // An override of the immutable parameter itself is still refused, naming it.
    const forced = await call(api.app, { method: 'POST', url: `/api/v1/executions/${first.data.data.id}/re-run`, headers: auth, payload: { parameters: { cmd: 'rm -rf /tmp/x' } } });
    expect(forced.statusCode).toBe(422);
    expect(forced.data.error.field).toBe('params.cmd');
  });

  it('re-run of an action with an immutable templated default and a secret: the default re-rendered, the secret re-used encrypted', async () => {
    const pack = await new PackFixture().create(ctx.db);
    const schema = {
      type: 'object',
      properties: {
        host: { type: 'string' },
        cmd: { type: 'string', immutable: true, default: 'ping {{ host }}' },
        password: { type: 'string', secret: true },
      },
      additionalProperties: false,
    };
    const action = await new ActionFixture().forPack(pack).withParamSchema(schema).create(ctx.db);
    const { auth } = await signedIn(ctx.db, 'operator');
    const first = await call(api.app, { method: 'POST', url: '/api/v1/executions', headers: auth, payload: { action: action.ref, parameters: { host: 'a.example', password: PASSWORD } } });
    expect(first.statusCode, first.body).toBe(201);
    for (const overrides of [{ host: 'b.example' }, {}]) {
      const again = await call(api.app, { method: 'POST', url: `/api/v1/executions/${first.data.data.id}/re-run`, headers: auth, payload: { parameters: overrides } });
      expect(again.statusCode, again.body).toBe(201);
      const host = overrides.host ?? 'a.example';
      expect(again.data.data.params).toEqual({ host, cmd: `ping ${host}`, password: '********' });
      expect(again.body.includes(PASSWORD)).toBe(false);
      const stored = await ExecutionRepository.getById(ctx.db, again.data.data.id);
      expect(JSON.stringify(stored.params).includes(PASSWORD)).toBe(false);
      expect(revealSecretParams(stored.params, schema, cipher).password === PASSWORD).toBe(true);
    }
    expect(api.logs.text.includes(PASSWORD)).toBe(false);
  });

  it('cancel: a requested execution is canceled at once; cancelling a finished one is 409; an unknown one 404', async () => {
    const execution = await new ExecutionFixture().create(ctx.db);
    const { auth } = await signedIn(ctx.db, 'operator');
    const response = await call(api.app, { method: 'POST', url: `/api/v1/executions/${execution.id}/cancel`, headers: auth });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.data.data.status).toBe('canceled');
    const again = await call(api.app, { method: 'POST', url: `/api/v1/executions/${execution.id}/cancel`, headers: auth });
    expect(again.statusCode).toBe(409);
    expect(again.data.error.code).toBe('ATTUNE_ILLEGAL_STATE_CHANGE');
    expect((await call(api.app, { method: 'POST', url: '/api/v1/executions/999999999/cancel', headers: auth })).statusCode).toBe(404);
  });

  it('output: paged by (attempt, seq) with a cursor; 404 for an unknown execution', async () => {
    const execution = await new ExecutionFixture().create(ctx.db);
    await ctx.db.query(
      `INSERT INTO execution_output (execution_id, attempt, seq, stream, data) SELECT $1, 1, s, 'stdout', 'line ' || s FROM generate_series(0, 4) s`,
      [execution.id],
    );
    const { auth } = await signedIn(ctx.db, 'viewer');
    const first = await call(api.app, { method: 'GET', url: `/api/v1/executions/${execution.id}/output?limit=3`, headers: auth });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.data.data.map((c: { data: string }) => c.data)).toEqual(['line 0', 'line 1', 'line 2']);
    const second = await call(api.app, { method: 'GET', url: `/api/v1/executions/${execution.id}/output?limit=3&cursor=${first.data.next_cursor}`, headers: auth });
    expect(second.data.data.map((c: { seq: number }) => c.seq)).toEqual([3, 4]);
    expect(second.data.next_cursor).toBeNull();
    expect((await call(api.app, { method: 'GET', url: '/api/v1/executions/999999999/output', headers: auth })).statusCode).toBe(404);
    const badCursor = await call(api.app, { method: 'GET', url: `/api/v1/executions/${execution.id}/output?cursor=abc`, headers: auth });
    expect(badCursor.statusCode).toBe(422);
  });
});

describe('rules, events and inquiries', () => {
  it('rule test: each verdict and the rendered parameters; nothing written; payload xor event_id', async () => {
    const pack = await new PackFixture().create(ctx.db);
    const trigger = await new TriggerFixture().forPack(pack).create(ctx.db);
    const action = await new ActionFixture().forPack(pack).withParamSchema({ type: 'object', properties: { msg: { type: 'string' } } }).create(ctx.db);
    const rule = await new RuleFixture()
      .forPack(pack)
      .forTrigger(trigger)
      .forAction(action)
      .withCriteria({ 'trigger.level': { type: 'equals', pattern: 'high' } })
      .withActionParams({ msg: 'level {{ trigger.level }}' })
      .create(ctx.db);
    const { auth } = await signedIn(ctx.db, 'operator');
    const hit = await call(api.app, { method: 'POST', url: `/api/v1/rules/${rule.ref}/test`, headers: auth, payload: { payload: { level: 'high' } } });
    expect(hit.statusCode, hit.body).toBe(200);
    expect(hit.data.data).toMatchObject({ rule: rule.ref, matched: true, params: { msg: 'level high' }, enforcement_status: 'processed' });
    expect(hit.data.data.criteria).toHaveLength(1);
    const miss = await call(api.app, { method: 'POST', url: `/api/v1/rules/${rule.ref}/test`, headers: auth, payload: { payload: { level: 'low' } } });
    expect(miss.data.data.matched).toBe(false);
    expect((await ctx.db.query('SELECT count(*)::int AS n FROM enforcements')).rows[0].n).toBe(0);
    expect((await ctx.db.query('SELECT count(*)::int AS n FROM events')).rows[0].n).toBe(0);
    const both = await call(api.app, { method: 'POST', url: `/api/v1/rules/${rule.ref}/test`, headers: auth, payload: { payload: {}, event_id: 1 } });
    expect(both.statusCode).toBe(422);
    expect(both.data.error.field).toBe('payload');
    expect((await call(api.app, { method: 'POST', url: '/api/v1/rules/nope.missing/test', headers: auth, payload: { payload: {} } })).statusCode).toBe(404);
  });

  it('POST /events fires the trigger: 201 with the stored event; an unknown trigger 422 and nothing stored', async () => {
    const pack = await new PackFixture().create(ctx.db);
    const trigger = await new TriggerFixture().forPack(pack).create(ctx.db);
    const { auth, identity } = await signedIn(ctx.db, 'operator');
    const response = await call(api.app, { method: 'POST', url: '/api/v1/events', headers: auth, payload: { trigger: trigger.ref, payload: { a: 1 }, trace_id: 'trace-1' } });
    expect(response.statusCode, response.body).toBe(201);
    expect(response.data.data).toMatchObject({ trigger_ref: trigger.ref, payload: { a: 1 }, trace_id: 'trace-1', source: `api:${identity.login}` });
    const queued = await ctx.db.query('SELECT 1 FROM event_queue WHERE event_id = $1', [response.data.data.id]);
    expect(queued.rowCount).toBe(1);
    const bad = await call(api.app, { method: 'POST', url: '/api/v1/events', headers: auth, payload: { trigger: 'nope.missing' } });
    expect(bad.statusCode).toBe(422);
    expect((await ctx.db.query('SELECT count(*)::int AS n FROM events')).rows[0].n).toBe(1);
  });

  it('respond: 200 and the paused execution succeeds; a second answer 409; a response breaking the schema 422 naming the field', async () => {
    const inquiry = await new InquiryFixture()
      .withResponseSchema({ type: 'object', properties: { approved: { type: 'boolean' } }, required: ['approved'] })
      .create(ctx.db);
    const { auth } = await signedIn(ctx.db, 'operator');
    const wrong = await call(api.app, { method: 'POST', url: `/api/v1/inquiries/${inquiry.id}/respond`, headers: auth, payload: { response: { approved: 'yes' } } });
    expect(wrong.statusCode).toBe(422);
    expect(wrong.data.error.field).toBe('response.approved');
    const response = await call(api.app, { method: 'POST', url: `/api/v1/inquiries/${inquiry.id}/respond`, headers: auth, payload: { response: { approved: true } } });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.data.data).toMatchObject({ status: 'responded', response: { approved: true } });
    expect((await ExecutionRepository.getById(ctx.db, inquiry.executionId)).status).toBe('succeeded');
    const again = await call(api.app, { method: 'POST', url: `/api/v1/inquiries/${inquiry.id}/respond`, headers: auth, payload: { response: { approved: false } } });
    expect(again.statusCode).toBe(409);
    expect((await call(api.app, { method: 'POST', url: '/api/v1/inquiries/999999999/respond', headers: auth, payload: { response: {} } })).statusCode).toBe(404);
  });

  it('respond: an inquiry naming users is answered only by them (or an admin)', async () => {
    const inquiry = await new InquiryFixture().withResponseSchema({ type: 'object' }).with({ users: ['alice_only'] }).create(ctx.db);
    const { auth } = await signedIn(ctx.db, 'operator');
    const refused = await call(api.app, { method: 'POST', url: `/api/v1/inquiries/${inquiry.id}/respond`, headers: auth, payload: { response: {} } });
    expect(refused.statusCode).toBe(403);
    const admin = await signedIn(ctx.db, 'admin');
    expect((await call(api.app, { method: 'POST', url: `/api/v1/inquiries/${inquiry.id}/respond`, headers: admin.auth, payload: { response: {} } })).statusCode).toBe(200);
  });
});
