import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fastifyHelmet from '@fastify/helmet';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { ensureFirstAdmin } from '../../src/api/auth/first-admin.js';
import { SECURITY_HEADERS } from '../../src/api/security-headers.js';
import { createApiRole } from '../../src/api/server.js';
import { DEFAULT_MIGRATIONS_DIR } from '../../src/db/migrator.js';
import { ActionFixture, PackFixture, ExecutionFixture, createTestPool } from '../../src/testing/index.js';
import { useTransactionPerTest } from '../support/db.js';
import { apiConfig, call, forwardingExecutor, signedIn, testApp, useTestApp } from './support.js';

const ctx = useTransactionPerTest();
const api = useTestApp(ctx);

describe('OpenAPI', () => {
  it('documents every route with its schemas and security, and serves Swagger UI at /docs', async () => {
    const doc = (await call(api.app, { method: 'GET', url: '/api/v1/openapi.json' })).data;
    expect(doc.openapi).toMatch(/^3\./);
    // The web UI's routes (/, /assets/*, /*) serve files, not the API: they are hidden from the document.
    const webUi = (url: string) => url === '/' || url === '/*' || url.startsWith('/assets/');
    const routes = api.app.routeRoles.filter((r) => r.method !== 'HEAD' && !r.url.startsWith('/docs') && r.url !== '/api/v1/openapi.json' && !webUi(r.url));
    expect(routes.length).toBeGreaterThan(50);
    for (const route of routes) {
      const openapiPath = route.url.replace(/:(\w+)/g, '{$1}');
      const operation = doc.paths[openapiPath]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.url}`).toBeDefined();
      expect(Object.keys(operation.responses).length, `${route.method} ${route.url} responses`).toBeGreaterThan(0);
      if (route.url.includes(':')) expect(operation.parameters?.some((p: { in: string }) => p.in === 'path'), route.url).toBe(true);
      if (['POST', 'PUT', 'PATCH'].includes(route.method) && !route.url.endsWith('/enable') && !route.url.endsWith('/disable') && !route.url.endsWith('/deactivate') && !route.url.endsWith('/cancel') && !route.url.endsWith('/stream/ticket')) {
        expect(operation.requestBody, `${route.method} ${route.url} body`).toBeDefined();
      }
      if (route.role === 'public') expect(operation.security).toBeUndefined();
      else expect(operation.security, `${route.method} ${route.url}`).toEqual([{ bearer: [] }]);
    }
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['Execution', 'Pack', 'ErrorBody']));
    const ui = await call(api.app, { method: 'GET', url: '/docs' });
    expect([200, 302]).toContain(ui.statusCode);
  });
});

describe('health and metrics', () => {
  it('/healthz and /readyz answer; /metrics has executions by status, queue depth, claim latency, events and HTTP requests', async () => {
    expect((await call(api.app, { method: 'GET', url: '/healthz' })).data).toEqual({ status: 'ok' });
    const ready = await call(api.app, { method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    const pack = await new PackFixture().create(ctx.db);
    const action = await new ActionFixture('a').forPack(pack).create(ctx.db);
    await new ExecutionFixture().with({ actionId: action.id }).create(ctx.db);
    const text = (await call(api.app, { method: 'GET', url: '/metrics' })).body;
    expect(text).toMatch(/attune_executions\{status="requested"\} 1/);
    expect(text).toMatch(/attune_execution_queue_depth 1/);
    expect(text).toContain('attune_execution_claim_latency_seconds');
    expect(text).toContain('attune_events_received_total');
    expect(text).toMatch(/attune_http_request_duration_seconds_count\{method="GET",route="\/readyz",status="200"\}/);
  });

  it('/readyz is 503 while a migration is pending', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'attune-migrations-'));
    try {
      cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
      writeFileSync(path.join(dir, '9999_later.sql'), 'SELECT 1;\n');
      const { app } = await testApp(forwardingExecutor(() => ctx.db), apiConfig(), { migrationsDir: dir });
      const response = await call(app, { method: 'GET', url: '/readyz' });
      expect(response.statusCode).toBe(503);
      expect(response.data.error.message).toContain('9999');
      await app.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('hardening', () => {
  it('sends security headers and the request id (taken from X-Request-Id when sane), and no CORS headers unless configured', async () => {
    const given = await call(api.app, { method: 'GET', url: '/healthz', headers: { 'x-request-id': 'abc-123', origin: 'https://evil.example' } });
    expect(given.headers['x-request-id']).toBe('abc-123');
    expect(given.headers['content-security-policy']).toContain("default-src 'self'");
    expect(given.headers['x-content-type-options']).toBe('nosniff');
    expect(given.headers['access-control-allow-origin']).toBeUndefined();
    const odd = await call(api.app, { method: 'GET', url: '/healthz', headers: { 'x-request-id': 'has spaces' } });
    expect(odd.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(api.logs.text).toContain('"request_id":"abc-123"');
    // The request's log line: the app's bindings and the request id, once, as pino would write them.
    const line = api.logs.lines.map((text) => JSON.parse(text) as Record<string, unknown>).find((entry) => entry.request_id === 'abc-123' && entry.msg === 'request');
    expect(line).toMatchObject({ app: 'attune', request_id: 'abc-123', method: 'GET', route: '/healthz', status: 200 });
    expect(api.logs.lines.find((text) => text.includes('abc-123'))!.match(/"request_id"/g)).toHaveLength(1);
    const { app } = await testApp(forwardingExecutor(() => ctx.db), apiConfig({ api: { corsOrigins: ['https://ui.example.com'] } }));
    const allowed = await call(app, { method: 'GET', url: '/healthz', headers: { origin: 'https://ui.example.com' } });
    expect(allowed.headers['access-control-allow-origin']).toBe('https://ui.example.com');
    await app.close();
  });

  it('sends exactly the security headers @fastify/helmet sent with the CSP the API had given it, in its order, on every response (401 and 403 too)', async () => {
    // The reference: @fastify/helmet with the options buildApp used to register it with.
    const reference = Fastify();
    await reference.register(fastifyHelmet, {
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", 'data:'],
          connectSrc: ["'self'"],
          fontSrc: ["'self'", 'data:'],
          objectSrc: ["'none'"],
          frameAncestors: ["'none'"],
          baseUri: ["'self'"],
          formAction: ["'self'"],
          upgradeInsecureRequests: null,
        },
      },
    });
    reference.get('/', async () => ({}));
    const helmetHeaders = Object.entries((await reference.inject({ url: '/' })).headers).filter(([name]) => !['content-type', 'content-length', 'date', 'connection'].includes(name));
    await reference.close();
    expect(helmetHeaders.length).toBeGreaterThanOrEqual(10);
    expect(SECURITY_HEADERS.map(([name, value]) => [name.toLowerCase(), value])).toEqual(helmetHeaders);

    const { auth } = await signedIn(ctx.db, 'viewer');
    const responses = {
      ok: await call(api.app, { method: 'GET', url: '/api/v1/executions?limit=1', headers: auth }),
      invalid: await call(api.app, { method: 'GET', url: '/api/v1/executions/abc', headers: auth }),
      unauthenticated: await call(api.app, { method: 'GET', url: '/api/v1/executions' }),
      forbidden: await call(api.app, { method: 'POST', url: '/api/v1/packs', headers: auth }),
      unknown: await call(api.app, { method: 'GET', url: '/api/v1/no-such-route' }),
      health: await call(api.app, { method: 'HEAD', url: '/healthz' }),
    };
    expect(Object.fromEntries(Object.entries(responses).map(([name, r]) => [name, r.statusCode]))).toEqual({ ok: 200, invalid: 400, unauthenticated: 401, forbidden: 403, unknown: 404, health: 200 });
    for (const [name, response] of Object.entries(responses)) {
      const sent = Object.entries(response.headers).filter(([header]) => helmetHeaders.some(([h]) => h === header));
      expect(sent, name).toEqual(helmetHeaders);
    }
  });

  it('refuses a body over the limit with 413, and rate-limits writes and logins with 429', async () => {
    const { app } = await testApp(forwardingExecutor(() => ctx.db), apiConfig({ api: { bodyLimitBytes: 2048, rateLimitMax: 2, loginRateLimitMax: 2 } }));
    const { auth } = await signedIn(ctx.db, 'admin');
    const big = await call(app, { method: 'POST', url: '/api/v1/identities', headers: auth, payload: { login: 'x', display_name: 'y'.repeat(5000) } });
    expect(big.statusCode).toBe(413);
    expect(big.data.error.code).toBe('ATTUNE_PAYLOAD_TOO_LARGE');
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await call(app, { method: 'PUT', url: `/api/v1/keys/system.k${i}`, headers: auth, payload: { value: i } })).statusCode);
    expect(statuses.slice(0, 1)).toEqual([201]);
    expect(statuses[2]).toBe(429);
    expect((await call(app, { method: 'GET', url: '/api/v1/keys', headers: auth })).statusCode).toBe(200);
    const logins: number[] = [];
    for (let i = 0; i < 3; i += 1) logins.push((await call(app, { method: 'POST', url: '/api/v1/auth/login', payload: { login: 'nobody', password: 'whatever1' } })).statusCode);
    expect(logins).toEqual([401, 401, 429]);
    await app.close();
  });

  it('never lets a known secret reach a response or a log line, through keys, secret parameters, pack config, logins and tokens', async () => {
    const SECRET = 'zq-KNOWN-SECRET-7f3a9c';
    const { auth } = await signedIn(ctx.db, 'admin');
    const responses: string[] = [];
    const send = async (options: Parameters<typeof call>[1]) => {
      const response = await call(api.app, options);
      responses.push(response.body, JSON.stringify(response.headers));
      return response;
    };
    await send({ method: 'PUT', url: '/api/v1/keys/system.s', headers: auth, payload: { value: SECRET, secret: true } });
    await send({ method: 'GET', url: '/api/v1/keys/system.s', headers: auth });
    await send({ method: 'GET', url: '/api/v1/keys', headers: auth });
    await send({ method: 'POST', url: '/api/v1/identities', headers: auth, payload: { login: 'sam', password: SECRET } });
    await send({ method: 'POST', url: '/api/v1/auth/login', payload: { login: 'sam', password: SECRET } });
    await send({ method: 'POST', url: '/api/v1/auth/login', payload: { login: 'sam', password: `${SECRET}x` } });
    await send({ method: 'PATCH', url: '/api/v1/identities/sam', headers: auth, payload: { password: `${SECRET}-2` } });
    await send({ method: 'GET', url: `/api/v1/packs?token=${SECRET}`, headers: auth });
    const pack = await new PackFixture().with({ confSchema: { type: 'object', properties: { api_key: { type: 'string', secret: true } } } }).create(ctx.db);
    await send({ method: 'PUT', url: `/api/v1/packs/${pack.ref}/config`, headers: auth, payload: { api_key: SECRET } });
    await send({ method: 'GET', url: `/api/v1/packs/${pack.ref}/config`, headers: auth });
    const action = await new ActionFixture('s').forPack(pack).with({ paramSchema: { properties: { p: { type: 'string', secret: true } } } }).create(ctx.db);
    const execution = await new ExecutionFixture().with({ actionId: action.id, params: { p: SECRET } }).create(ctx.db);
    await send({ method: 'GET', url: `/api/v1/executions/${execution.id}`, headers: auth });
    await send({ method: 'GET', url: '/api/v1/executions', headers: auth });
    await send({ method: 'PUT', url: '/api/v1/keys/nonsense', headers: auth, payload: { value: SECRET } });
    await send({ method: 'GET', url: '/api/v1/auth/whoami', headers: { authorization: `Bearer ${SECRET}` } });
    const leaks = [...responses, ...api.logs.lines].filter((text) => text.includes(SECRET)).map((text) => text.replaceAll(SECRET, '<SECRET>').slice(0, 300));
    expect(leaks).toEqual([]);
    // And the bearer tokens themselves never reach a log line.
    expect(api.logs.text.includes(auth.authorization.slice(7))).toBe(false);
    expect(api.logs.text.length).toBeGreaterThan(0);
  });
});

describe('first start and listening', () => {
  it('ensureFirstAdmin creates admin with a password and token only when no identity exists', async () => {
    const first = await ensureFirstAdmin(ctx.db);
    expect(first).toMatchObject({ login: 'admin' });
    const login = await call(api.app, { method: 'POST', url: '/api/v1/auth/login', payload: { login: 'admin', password: first!.password } });
    expect(login.data.data.identity.role).toBe('admin');
    const me = await call(api.app, { method: 'GET', url: '/api/v1/identities', headers: { authorization: `Bearer ${first!.token}` } });
    expect(me.statusCode).toBe(200);
    expect(await ensureFirstAdmin(ctx.db)).toBeNull();
  });

  it('with auth off every request acts as admin', async () => {
    const { app } = await testApp(forwardingExecutor(() => ctx.db), apiConfig({ security: { enableAuth: false } }));
    const me = await call(app, { method: 'GET', url: '/api/v1/auth/whoami' });
    expect(me.data.data).toMatchObject({ login: 'admin', role: 'admin', identity: null });
    expect((await call(app, { method: 'GET', url: '/api/v1/identities' })).statusCode).toBe(200);
    await app.close();
  });

  it('the api role listens on 127.0.0.1 (port 0 here), answers over real HTTP, and stops', async () => {
    const pool = createTestPool();
    const role = createApiRole({ db: pool, config: apiConfig({ api: { port: 0 } }) , logger: (await import('../../src/log.js')).createLogger('silent') });
    try {
      await role.start();
      expect(role.url()).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const response = await fetch(`${role.url()}/readyz`);
      expect(response.status).toBe(200);
      const denied = await fetch(`${role.url()}/api/v1/packs`);
      expect(denied.status).toBe(401);
      expect(denied.headers.get('x-request-id')).toBeTruthy();
    } finally {
      await role.stop();
      await pool.end();
    }
    expect(role.url()).toBeUndefined();
  });
});
