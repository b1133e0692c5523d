/** The web UI as the API serves it (src/api/web.ts): caching headers, the fallback, compression, CSP; on a small fixture build. */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiConfig, testApp } from '../api/support.js';
import { useTransactionPerTest } from '../support/db.js';
import { forwardingExecutor } from '../api/support.js';

const ctx = useTransactionPerTest();
let dir: string;
let app: FastifyInstance;
let unbuilt: FastifyInstance;
let open: FastifyInstance;
const SCRIPT = 'console.log("attune ui");'.repeat(50);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attune-web-dist-'));
  await mkdir(join(dir, 'assets'));
  await writeFile(join(dir, 'index.html'), '<!doctype html><html><head><title>Attune</title></head><body><script type="module" src="/assets/index-abc123.js"></script></body></html>');
  await writeFile(join(dir, 'assets', 'index-abc123.js'), SCRIPT);
  await writeFile(join(dir, 'assets', 'index-abc123.js.gz'), gzipSync(SCRIPT));
  const db = forwardingExecutor(() => ctx.db);
  app = (await testApp(db, apiConfig(), { webDir: dir })).app;
  unbuilt = (await testApp(db, apiConfig(), { webDir: join(dir, 'missing') })).app;
  open = (await testApp(db, apiConfig({ security: { enableAuth: false } }), { webDir: dir })).app;
});

afterAll(async () => {
  await Promise.all([app?.close(), unbuilt?.close(), open?.close()]);
  await rm(dir, { recursive: true, force: true });
});

describe('the web UI at /', () => {
  it('serves index.html uncached, telling the page whether a login is needed', async () => {
    const response = await app.inject({ url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.headers['cache-control']).toBe('no-cache');
    expect(response.body).toContain('<meta name="attune-auth" content="on" />');
    expect((await open.inject({ url: '/' })).body).toContain('<meta name="attune-auth" content="off" />');
  });

  it('serves hashed assets cached for a year, gzip-compressed when accepted', async () => {
    const plain = await app.inject({ url: '/assets/index-abc123.js' });
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.headers['content-type']).toMatch(/javascript/);
    expect(plain.body).toBe(SCRIPT);
    const gzipped = await app.inject({ url: '/assets/index-abc123.js', headers: { 'accept-encoding': 'gzip, br' } });
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gzipped.rawPayload.length).toBeLessThan(SCRIPT.length / 5);
  });

  it('answers index.html for the UI’s own paths, never for the API’s or a missing asset', async () => {
    for (const url of ['/executions/42', '/rules/examples.hello?x=1', '/docsx']) {
      const response = await app.inject({ url });
      expect(response.statusCode, url).toBe(200);
      expect(response.body, url).toContain('<title>Attune</title>');
    }
    for (const url of ['/api/v1/no-such-thing', '/api', '/healthz/x', '/metrics/x', '/docs/x/y/z.json', '/assets/index-old.js']) {
      const response = await app.inject({ url });
      expect(response.statusCode, url).toBe(404);
      expect(response.body, url).not.toContain('<title>Attune</title>');
    }
    expect(JSON.parse((await app.inject({ url: '/api/v1/no-such-thing' })).body).error.code).toBe('ATTUNE_NOT_FOUND');
    // The API's own routes are untouched.
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/api/v1/packs' })).statusCode).toBe(401);
  });

  it('sends a CSP the built app satisfies (scripts from this origin only), without upgrading requests to https', async () => {
    const csp = String((await app.inject({ url: '/' })).headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('upgrade-insecure-requests');
  });

  it('says how to build the UI when this installation has none', async () => {
    const response = await unbuilt.inject({ url: '/executions' });
    expect(response.statusCode).toBe(404);
    expect(response.body).toContain('npm run build:web');
  });
});
