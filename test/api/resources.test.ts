import { describe, expect, it } from 'vitest';
import { SecretCipher } from '../../src/crypto/secrets.js';
import { ActionFixture, EnforcementFixture, ExecutionFixture, IdentityFixture, PackFixture, RuleFixture, TriggerFixture } from '../../src/testing/index.js';
import { useTransactionPerTest } from '../support/db.js';
import { TEST_ENCRYPTION_KEY, call, signedIn, useTestApp } from './support.js';

const ctx = useTransactionPerTest();
const api = useTestApp(ctx);

function bundle(files: Record<string, string>) {
  return { files: Object.entries(files).map(([path, text]) => ({ path, content_base64: Buffer.from(text).toString('base64') })) };
}

describe('conventions', () => {
  it('lists page with an opaque cursor that stays put under inserts, and count=true adds the total', async () => {
    const { auth } = await signedIn(ctx.db, 'viewer');
    const pack = await new PackFixture().create(ctx.db);
    const action = await new ActionFixture('run').forPack(pack).create(ctx.db);
    const ids: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const e = await new ExecutionFixture().with({ actionId: action.id }).create(ctx.db);
      await ctx.db.query(`UPDATE executions SET created_at = '2001-01-01'::timestamptz + $2 * interval '1 second' WHERE id = $1`, [e.id, i]);
      ids.unshift(e.id);
    }
    const first = await call(api.app, { method: 'GET', url: '/api/v1/executions?limit=2&count=true', headers: auth });
    expect(first.statusCode).toBe(200);
    expect(first.data.total).toBe(5);
    expect(first.data.data.map((e: { id: number }) => e.id)).toEqual(ids.slice(0, 2));
    await new ExecutionFixture().with({ actionId: action.id }).create(ctx.db);
    const seen = [...first.data.data.map((e: { id: number }) => e.id)];
    let cursor = first.data.next_cursor as string | null;
    while (cursor) {
      const page = await call(api.app, { method: 'GET', url: `/api/v1/executions?limit=2&cursor=${cursor}`, headers: auth });
      expect(page.data.total).toBeUndefined();
      seen.push(...page.data.data.map((e: { id: number }) => e.id));
      cursor = page.data.next_cursor;
    }
    expect(seen).toEqual(ids);
    const foreign = await call(api.app, { method: 'GET', url: `/api/v1/packs?cursor=${first.data.next_cursor}`, headers: auth });
    expect(foreign.statusCode).toBe(422);
    expect(foreign.data.error).toMatchObject({ code: 'ATTUNE_VALIDATION', field: 'cursor' });
  });

  it('lists the executions a rule requested with ?rule=', async () => {
    const { auth } = await signedIn(ctx.db, 'viewer');
    const rule = await new RuleFixture().create(ctx.db);
    const enforcement = await new EnforcementFixture().forRule(rule).create(ctx.db);
    const mine = await new ExecutionFixture().forEnforcement(enforcement).create(ctx.db);
    await new ExecutionFixture().forEnforcement(await new EnforcementFixture().create(ctx.db)).create(ctx.db);
    const listed = await call(api.app, { method: 'GET', url: `/api/v1/executions?rule=${rule.ref}`, headers: auth });
    expect(listed.statusCode).toBe(200);
    expect(listed.data.data.map((e: { id: number }) => e.id)).toEqual([mine.id]);
    const bad = await call(api.app, { method: 'GET', url: '/api/v1/executions?rule=no%20dots', headers: auth });
    expect(bad.data.error).toMatchObject({ code: 'ATTUNE_VALIDATION', field: 'rule_ref' });
  });

  it('answers bad input with the field, unknown rows with 404, unknown routes with 404, never a stack', async () => {
    const { auth } = await signedIn(ctx.db, 'admin');
    const bad = [
      ['/api/v1/executions?limit=501', 'limit', 400],
      ['/api/v1/executions?status=done', 'status.0', 400],
      ['/api/v1/executions?colour=red', 'colour', 400],
      ['/api/v1/events/abc', 'id', 400],
    ] as const;
    for (const [url, field, status] of bad) {
      const response = await call(api.app, { method: 'GET', url, headers: auth });
      expect(response.statusCode, url).toBe(status);
      expect(response.data.error, url).toMatchObject({ code: 'ATTUNE_VALIDATION', field });
    }
    const missing = await call(api.app, { method: 'GET', url: '/api/v1/executions/424242', headers: auth });
    expect(missing.statusCode).toBe(404);
    expect(missing.data.error).toMatchObject({ code: 'ATTUNE_NOT_FOUND', entity: 'execution', field: 'id' });
    expect(missing.data.error.request_id).toBe(missing.headers['x-request-id']);
    const route = await call(api.app, { method: 'GET', url: '/api/v1/nothing', headers: auth });
    expect(route.statusCode).toBe(404);
    const json = await call(api.app, { method: 'POST', url: '/api/v1/identities', headers: { ...auth, 'content-type': 'application/json' }, payload: '{"login": ' });
    expect(json.statusCode).toBe(400);
    expect(json.body).not.toMatch(/at .*\.(ts|js):\d+/);
  });
});

describe('identities and tokens', () => {
  it('an admin creates an identity (409 on a taken login), who logs in, sees itself, makes and revokes a token', async () => {
    const { auth } = await signedIn(ctx.db, 'admin');
    const created = await call(api.app, { method: 'POST', url: '/api/v1/identities', headers: auth, payload: { login: 'dana', password: 'correct horse battery', role: 'operator' } });
    expect(created.statusCode).toBe(201);
    expect(created.data.data).toMatchObject({ login: 'dana', role: 'operator', has_password: true });
    expect(created.data.data).not.toHaveProperty('password');
    const again = await call(api.app, { method: 'POST', url: '/api/v1/identities', headers: auth, payload: { login: 'DANA' } });
    expect(again.statusCode).toBe(409);
    expect(again.data.error.field).toBe('login');
    const short = await call(api.app, { method: 'POST', url: '/api/v1/identities', headers: auth, payload: { login: 'erin', password: 'short' } });
    expect(short.statusCode).toBe(422);
    expect(short.data.error.field).toBe('password');

    const wrong = await call(api.app, { method: 'POST', url: '/api/v1/auth/login', payload: { login: 'dana', password: 'wrong password' } });
    expect(wrong.statusCode).toBe(401);
    const login = await call(api.app, { method: 'POST', url: '/api/v1/auth/login', payload: { login: 'dana', password: 'correct horse battery' } });
    expect(login.statusCode).toBe(201);
    const bearer = { authorization: `Bearer ${login.data.data.token}` };
    expect(new Date(login.data.data.expires_at).getTime()).toBeGreaterThan(Date.now());
    const me = await call(api.app, { method: 'GET', url: '/api/v1/auth/whoami', headers: bearer });
    expect(me.data.data).toMatchObject({ login: 'dana', role: 'operator' });

    const made = await call(api.app, { method: 'POST', url: '/api/v1/tokens', headers: bearer, payload: { name: 'ci', ttl_seconds: 3600 } });
    expect(made.statusCode).toBe(201);
    const listed = await call(api.app, { method: 'GET', url: '/api/v1/tokens', headers: bearer });
    expect(listed.data.data.map((t: { name: string }) => t.name).sort()).toEqual(['ci', 'login']);
    expect(listed.body.includes(made.data.data.token)).toBe(false);
    const others = await call(api.app, { method: 'GET', url: '/api/v1/tokens?all=true', headers: bearer });
    expect(others.statusCode).toBe(403);
    const revoked = await call(api.app, { method: 'DELETE', url: `/api/v1/tokens/${made.data.data.id}`, headers: bearer });
    expect(revoked.data.data.revoked_at).not.toBeNull();
    expect((await call(api.app, { method: 'GET', url: '/api/v1/auth/whoami', headers: { authorization: `Bearer ${made.data.data.token}` } })).statusCode).toBe(401);

    const deactivated = await call(api.app, { method: 'POST', url: '/api/v1/identities/dana/deactivate', headers: auth });
    expect(deactivated.data.data.is_active).toBe(false);
    expect((await call(api.app, { method: 'GET', url: '/api/v1/auth/whoami', headers: bearer })).statusCode).toBe(401);
  });

  it("a viewer cannot revoke someone else's token", async () => {
    const viewer = await signedIn(ctx.db, 'viewer');
    const other = await signedIn(ctx.db, 'viewer');
    const mine = await call(api.app, { method: 'GET', url: '/api/v1/tokens', headers: other.auth });
    const response = await call(api.app, { method: 'DELETE', url: `/api/v1/tokens/${mine.data.data[0].id}`, headers: viewer.auth });
    expect(response.statusCode).toBe(403);
  });
});

describe('keys', () => {
  it('masks secrets, decrypts only for an admin or the owner, and refuses to change identity keys of others', async () => {
    const operator = await signedIn(ctx.db, 'operator', new IdentityFixture('olga'));
    const admin = await signedIn(ctx.db, 'admin');
    const set = await call(api.app, { method: 'PUT', url: '/api/v1/keys/system.db_password', headers: operator.auth, payload: { value: 'hunter2-very-secret', secret: true } });
    expect(set.statusCode).toBe(201);
    expect(set.data.data).toMatchObject({ ref: 'system.db_password', value: '********', secret: true });
    const plain = await call(api.app, { method: 'PUT', url: '/api/v1/keys/system.region', headers: operator.auth, payload: { value: 'eu-west-1', ttl_seconds: 60 } });
    expect(plain.data.data.value).toBe('eu-west-1');
    expect(plain.data.data.expires_at).not.toBeNull();
    const updated = await call(api.app, { method: 'PUT', url: '/api/v1/keys/system.region', headers: operator.auth, payload: { value: 'eu-north-1' } });
    expect(updated.statusCode).toBe(200);
    expect(updated.data.data).toMatchObject({ value: 'eu-north-1', expires_at: null });

    const denied = await call(api.app, { method: 'GET', url: '/api/v1/keys/system.db_password?decrypt=true', headers: operator.auth });
    expect(denied.statusCode).toBe(403);
    const revealed = await call(api.app, { method: 'GET', url: '/api/v1/keys/system.db_password?decrypt=true', headers: admin.auth });
    expect(revealed.data.data.value === 'hunter2-very-secret').toBe(true);

    const own = await call(api.app, { method: 'PUT', url: '/api/v1/keys/identity.olga.token', headers: operator.auth, payload: { value: 'mine', secret: true } });
    expect(own.statusCode).toBe(201);
    const ownRead = await call(api.app, { method: 'GET', url: '/api/v1/keys/identity.olga.token?decrypt=true', headers: operator.auth });
    expect(ownRead.data.data.value).toBe('mine');
    const theirs = await call(api.app, { method: 'PUT', url: '/api/v1/keys/identity.someone.token', headers: operator.auth, payload: { value: 'x' } });
    expect(theirs.statusCode).toBe(403);
    const listed = await call(api.app, { method: 'GET', url: '/api/v1/keys?secret=true', headers: operator.auth });
    expect(listed.data.data.map((k: { value: unknown }) => k.value)).toEqual(['********', '********']);
    expect(listed.body.includes('hunter2')).toBe(false);
    const bad = await call(api.app, { method: 'PUT', url: '/api/v1/keys/nonsense', headers: operator.auth, payload: { value: 1 } });
    expect(bad.statusCode).toBe(422);
    expect(bad.data.error.field).toBe('ref');
    expect((await call(api.app, { method: 'DELETE', url: '/api/v1/keys/system.region', headers: operator.auth })).statusCode).toBe(204);
    expect((await call(api.app, { method: 'DELETE', url: '/api/v1/keys/system.region', headers: operator.auth })).statusCode).toBe(404);
  });
});

describe('packs and rules', () => {
  it('registers a bundle (validated again: an invalid one lists its problems), shows config masked, creates a StackStorm rule in pack default', async () => {
    const { auth } = await signedIn(ctx.db, 'admin');
    const invalid = await call(api.app, { method: 'POST', url: '/api/v1/packs', headers: auth, payload: bundle({ 'pack.yaml': 'ref: Bad Ref\nversion: 1\n' }) });
    expect(invalid.statusCode).toBe(422);
    expect(invalid.data.error.code).toBe('ATTUNE_PACK_INVALID');
    expect(invalid.data.error.problems.length).toBeGreaterThan(0);

    const files = {
      'pack.yaml': 'ref: demo\nname: Demo\nversion: 1.0.0\ndescription: demo pack\n',
      'config.schema.yaml': 'api_key:\n  type: string\n  secret: true\nregion:\n  type: string\n  default: eu\n',
      'actions/hello.yaml': 'name: hello\nrunner_type: local-shell-cmd\nparameters:\n  cmd:\n    type: string\n    default: echo hi\n',
      'triggers/ping.yaml': 'name: ping\ndescription: a ping\n',
    };
    const registered = await call(api.app, { method: 'POST', url: '/api/v1/packs', headers: auth, payload: bundle(files) });
    expect(registered.statusCode, registered.body).toBe(201);
    expect(registered.data.data).toMatchObject({ pack: 'demo', version: '1.0.0', activated: true });
    const got = await call(api.app, { method: 'GET', url: '/api/v1/packs/demo', headers: auth });
    expect(got.data.data.versions).toEqual([expect.objectContaining({ version: '1.0.0', is_active: true })]);

    const config = await call(api.app, { method: 'PUT', url: '/api/v1/packs/demo/config', headers: auth, payload: { api_key: 'sk-live-123456', region: 'us' } });
    expect(config.statusCode, config.body).toBe(200);
    expect(config.data.data).toEqual({ api_key: '********', region: 'us' });
    const badConfig = await call(api.app, { method: 'PUT', url: '/api/v1/packs/demo/config', headers: auth, payload: { region: 5 } });
    expect(badConfig.statusCode).toBe(422);

    const rule = { name: 'on_ping', trigger: { type: 'demo.ping' }, criteria: { 'trigger.host': { type: 'equals', pattern: 'a' } }, action: { ref: 'demo.hello', parameters: { cmd: 'echo {{ trigger.host }}' } } };
    const created = await call(api.app, { method: 'POST', url: '/api/v1/rules', headers: auth, payload: rule });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.data.data).toMatchObject({ ref: 'default.on_ping', pack_ref: 'default', trigger_ref: 'demo.ping', action_ref: 'demo.hello', enabled: true });
    expect((await call(api.app, { method: 'POST', url: '/api/v1/rules', headers: auth, payload: rule })).statusCode).toBe(409);
    const badOperator = await call(api.app, { method: 'POST', url: '/api/v1/rules', headers: auth, payload: { ...rule, name: 'x', criteria: { 'trigger.a': { type: 'sounds_like', pattern: 1 } } } });
    expect(badOperator.statusCode).toBe(422);
    expect(badOperator.data.error.code).toBe('ATTUNE_PACK_INVALID');
    const noAction = await call(api.app, { method: 'POST', url: '/api/v1/rules', headers: auth, payload: { ...rule, name: 'y', action: { ref: 'demo.missing' } } });
    expect(noAction.statusCode).toBe(422);
    const otherPack = await call(api.app, { method: 'POST', url: '/api/v1/rules', headers: auth, payload: { ...rule, name: 'z', pack: 'demo' } });
    expect(otherPack.data.error.field).toBe('pack');

    const patched = await call(api.app, { method: 'PATCH', url: '/api/v1/rules/default.on_ping', headers: auth, payload: { description: 'pings', criteria: {} } });
    expect(patched.data.data).toMatchObject({ description: 'pings', criteria: {} });
    expect((await call(api.app, { method: 'POST', url: '/api/v1/rules/default.on_ping/disable', headers: auth })).data.data.enabled).toBe(false);
    expect((await call(api.app, { method: 'DELETE', url: '/api/v1/rules/default.on_ping', headers: auth })).statusCode).toBe(204);
    expect((await call(api.app, { method: 'GET', url: '/api/v1/rules/default.on_ping', headers: auth })).statusCode).toBe(404);

    const trigger = await call(api.app, { method: 'GET', url: '/api/v1/triggers/demo.ping', headers: auth });
    expect(trigger.data.data).not.toHaveProperty('webhook_key');
    const uninstalled = await call(api.app, { method: 'DELETE', url: '/api/v1/packs/demo', headers: auth });
    expect(uninstalled.data.data).toMatchObject({ pack: 'demo', versions: ['1.0.0'] });
    expect((await call(api.app, { method: 'GET', url: '/api/v1/packs/demo', headers: auth })).statusCode).toBe(404);
  });

  it('masks secret parameters of executions by the action schema and stored ciphertexts', async () => {
    const { auth } = await signedIn(ctx.db, 'viewer');
    const pack = await new PackFixture().create(ctx.db);
    const action = await new ActionFixture('deploy').forPack(pack).with({ paramSchema: { properties: { password: { type: 'string', secret: true }, host: { type: 'string' } } } }).create(ctx.db);
    const ciphertext = new SecretCipher(TEST_ENCRYPTION_KEY).encrypt('tok', 'token');
    const execution = await new ExecutionFixture().with({ actionId: action.id, params: { password: 'plain-pass', host: 'h1', token: { $secret: ciphertext } } }).create(ctx.db);
    const one = await call(api.app, { method: 'GET', url: `/api/v1/executions/${execution.id}`, headers: auth });
    expect(one.data.data.params).toEqual({ password: '********', host: 'h1', token: '********' });
    const list = await call(api.app, { method: 'GET', url: `/api/v1/executions?action=${action.ref}`, headers: auth });
    expect(list.data.data[0].params).toEqual({ password: '********', host: 'h1', token: '********' });
    const trigger = await new TriggerFixture('t').forPack(pack).create(ctx.db);
    expect((await call(api.app, { method: 'GET', url: `/api/v1/triggers/${trigger.id}`, headers: auth })).data.data.ref).toBe(trigger.ref);
  });
});
