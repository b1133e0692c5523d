import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SecretCipher } from '../../src/crypto/secrets.js';
import { processEventBatch } from '../../src/engine/event-processor.js';
import { RuleCache } from '../../src/engine/rule-cache.js';
import { webhookSignature } from '../../src/api/routes/webhooks.js';
import { registerPack } from '../../src/packs/register.js';
import { KeyRepository, SYSTEM_OWNER } from '../../src/repositories/keys.js';
import { RuleRepository } from '../../src/repositories/rules.js';
import { useTransactionPerTest } from '../support/db.js';
import { TEST_ENCRYPTION_KEY, apiConfig, call, signedIn, useTestApp } from './support.js';

const CORE = fileURLToPath(new URL('../../packs/core', import.meta.url));
const ctx = useTransactionPerTest();
const api = useTestApp(ctx, apiConfig({ api: { bodyLimitBytes: 4096 } }));
const cipher = new SecretCipher(TEST_ENCRYPTION_KEY);
const SECRET = 'webhook-secret-8d1f0e';

async function setup() {
  await registerPack(ctx.db, CORE, { system: true });
  const pack = (await ctx.db.query<{ id: number }>(`SELECT id FROM packs WHERE ref = 'core' AND is_active`)).rows[0]!.id;
  const rule = (name: string, url: string) =>
    RuleRepository.create(ctx.db, { packId: pack, name, triggerRef: 'core.st2.webhook', triggerParams: { url }, actionRef: 'core.noop', actionParams: {}, criteria: {}, enabled: true });
  await rule('deploy_a', 'deploy');
  await rule('deploy_b', 'deploy');
  await rule('other', 'other');
  return signedIn(ctx.db, 'operator');
}

async function setSecret(name: string) {
  await KeyRepository.create(ctx.db, { ownerType: 'system', owner: SYSTEM_OWNER, name: `webhook_${name}`, value: SECRET, secret: true }, { cipher });
}

async function eventOf(id: number) {
  return (await ctx.db.query<{ trigger_ref: string; payload: any; trigger_params: any; source: string }>(`SELECT trigger_ref, payload, trigger_params, source FROM events WHERE id = $1`, [id])).rows[0]!;
}

describe('POST /api/v1/webhooks/{name}', () => {
  it('with a token: 202 with the event id, core.st2.webhook fired with {url} and {headers, headers_lower, body}, credentials left out', async () => {
    const { auth } = await setup();
    const response = await call(api.app, { method: 'POST', url: '/api/v1/webhooks/deploy', headers: { ...auth, 'X-GitHub-Event': 'push', cookie: 'sid=1' }, payload: { ref: 'main' } });
    expect(response.statusCode, response.body).toBe(202);
    const event = await eventOf(response.data.data.event_id);
    expect(event.trigger_ref).toBe('core.st2.webhook');
    expect(event.trigger_params).toEqual({ url: 'deploy' });
    expect(event.source).toBe('webhook:deploy');
    expect(event.payload.body).toEqual({ ref: 'main' });
    expect(event.payload.headers_lower['x-github-event']).toBe('push');
    // headers keeps each name as the client spelled it (inject sends them lower-cased).
    expect(Object.entries(event.payload.headers).find(([name]) => name.toLowerCase() === 'x-github-event')?.[1]).toBe('push');
    for (const headers of [event.payload.headers, event.payload.headers_lower]) {
      expect(Object.keys(headers).map((h) => h.toLowerCase())).not.toContain('authorization');
      expect(Object.keys(headers).map((h) => h.toLowerCase())).not.toContain('cookie');
    }
    expect(JSON.stringify(event.payload)).not.toContain(auth.authorization.slice(7));
  });

  it('two rules on one URL both fire; a rule on another URL does not (through the event processor)', async () => {
    const { auth } = await setup();
    const response = await call(api.app, { method: 'POST', url: '/api/v1/webhooks/deploy', headers: auth, payload: { n: 1 } });
    expect(response.statusCode).toBe(202);
    const report = await processEventBatch(ctx.db as never, { cache: new RuleCache() });
    expect(report.events).toBe(1);
    const { rows } = await ctx.db.query<{ rule_ref: string }>(`SELECT rule_ref FROM enforcements WHERE event_id = $1 ORDER BY rule_ref`, [response.data.data.event_id]);
    expect(rows.map((r) => r.rule_ref)).toEqual(['core.deploy_a', 'core.deploy_b']);
    const executions = await ctx.db.query(`SELECT 1 FROM executions WHERE action_ref = 'core.noop'`);
    expect(executions.rowCount).toBe(2);
  });

  it('HMAC: a valid X-Hub-Signature-256 is accepted without a token; a wrong, malformed or missing one is 401 and stores nothing', async () => {
    await setup();
    await setSecret('signed');
    const body = JSON.stringify({ action: 'opened' });
    const good = await call(api.app, { method: 'POST', url: '/api/v1/webhooks/signed', headers: { 'content-type': 'application/json', 'x-hub-signature-256': webhookSignature(SECRET, Buffer.from(body)) }, payload: body });
    expect(good.statusCode, good.body).toBe(202);
    expect((await eventOf(good.data.data.event_id)).payload.body).toEqual({ action: 'opened' });
    const before = (await ctx.db.query('SELECT count(*)::int AS n FROM events')).rows[0].n;
    for (const signature of [webhookSignature('wrong-secret', Buffer.from(body)), 'sha256=abc', webhookSignature(SECRET, Buffer.from(body + ' '))]) {
      const bad = await call(api.app, { method: 'POST', url: '/api/v1/webhooks/signed', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, payload: body });
      expect(bad.statusCode, signature).toBe(401);
      expect(bad.data.error.code).toBe('ATTUNE_UNAUTHENTICATED');
    }
    const missing = await call(api.app, { method: 'POST', url: '/api/v1/webhooks/signed', headers: { 'content-type': 'application/json' }, payload: body });
    expect(missing.statusCode).toBe(401);
    // A signed call to a name without a secret is 401 like any bad signature: names cannot be probed.
    const unknown = await call(api.app, { method: 'POST', url: '/api/v1/webhooks/deploy', headers: { 'content-type': 'application/json', 'x-hub-signature-256': webhookSignature(SECRET, Buffer.from(body)) }, payload: body });
    expect(unknown.statusCode).toBe(401);
    expect((await ctx.db.query('SELECT count(*)::int AS n FROM events')).rows[0].n).toBe(before);
    const logs = api.logs.text;
    expect(logs.includes(SECRET)).toBe(false);
  });

  it('form bodies become objects (repeated fields as lists); other content types are 415', async () => {
    const { auth } = await setup();
    const form = await call(api.app, { method: 'POST', url: '/api/v1/webhooks/deploy', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=1&b=two&b=three' });
    expect(form.statusCode, form.body).toBe(202);
    expect((await eventOf(form.data.data.event_id)).payload.body).toEqual({ a: '1', b: ['two', 'three'] });
    const text = await call(api.app, { method: 'POST', url: '/api/v1/webhooks/deploy', headers: { ...auth, 'content-type': 'text/plain' }, payload: 'hello' });
    expect(text.statusCode).toBe(415);
    const broken = await call(api.app, { method: 'POST', url: '/api/v1/webhooks/deploy', headers: { ...auth, 'content-type': 'application/json' }, payload: '{"a":' });
    expect(broken.statusCode).toBe(400);
    expect(broken.data.error.entity).toBe('body');
  });

  it('a body over the limit is 413; an unknown webhook is 404 with a token; a viewer is 403', async () => {
    const { auth } = await setup();
    const big = await call(api.app, { method: 'POST', url: '/api/v1/webhooks/deploy', headers: { ...auth, 'content-type': 'application/json' }, payload: JSON.stringify({ x: 'y'.repeat(5000) }) });
    expect(big.statusCode).toBe(413);
    expect(big.data.error.code).toBe('ATTUNE_PAYLOAD_TOO_LARGE');
    const unknown = await call(api.app, { method: 'POST', url: '/api/v1/webhooks/nobody_listens', headers: auth, payload: {} });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.data.error).toMatchObject({ code: 'ATTUNE_NOT_FOUND', entity: 'webhook', field: 'name' });
    const viewer = await signedIn(ctx.db, 'viewer');
    expect((await call(api.app, { method: 'POST', url: '/api/v1/webhooks/deploy', headers: viewer.auth, payload: {} })).statusCode).toBe(403);
    expect((await call(api.app, { method: 'POST', url: '/api/v1/webhooks/deploy', payload: {} })).statusCode).toBe(401);
    expect((await ctx.db.query('SELECT count(*)::int AS n FROM events')).rows[0].n).toBe(0);
  });
});

describe('a webhook while the database is away', () => {
  it('answers 503 ATTUNE_DATABASE_UNAVAILABLE at once rather than hanging the caller', async () => {
    const { createPool } = await import('../../src/db/pool.js');
    const { testApp } = await import('./support.js');
    // Nothing listens on port 1: every connection attempt is refused.
    const away = createPool({ url: 'postgres://postgres@127.0.0.1:1/attune_away', connectTimeoutMs: 1000, maxConnections: 1 });
    const { app } = await testApp(away, apiConfig({ security: { enableAuth: false } }));
    try {
      const response = await call(app, { method: 'POST', url: '/api/v1/webhooks/deploy', payload: { a: 1 } });
      expect(response.statusCode).toBe(503);
      expect(response.data.error.code).toBe('ATTUNE_DATABASE_UNAVAILABLE');
    } finally {
      await app.close();
      await away.end();
    }
  });
});
