import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isBlockedAddress } from '../../src/worker/runners/http-address.js';
import { HttpRunner } from '../../src/worker/runners/http.js';
import { runnerInput, useTempRoot } from './helpers.js';

const root = useTempRoot('http');
let server: Server;
let base = '';
const hits: { method: string; url: string; headers: Record<string, unknown>; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      hits.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const url = new URL(req.url!, 'http://x');
      switch (url.pathname) {
        case '/json':
          res.setHeader('content-type', 'application/json; charset=utf-8');
          res.end(JSON.stringify({ ok: true, query: Object.fromEntries(url.searchParams), body, auth: req.headers.authorization ?? null, cookie: req.headers.cookie ?? null }));
          return;
        case '/text':
          res.end('plain text');
          return;
        case '/missing':
          res.statusCode = 404;
          res.end('nope');
          return;
        case '/redirect':
          res.statusCode = 302;
          res.setHeader('location', '/json?from=redirect');
          res.end();
          return;
        case '/loop':
          res.statusCode = 302;
          res.setHeader('location', '/loop');
          res.end();
          return;
        case '/to-metadata':
          res.statusCode = 302;
          res.setHeader('location', 'http://169.254.169.254/latest/meta-data/');
          res.end();
          return;
        case '/big':
          res.end('x'.repeat(200_000));
          return;
        case '/hang':
          return; // never answers
        default:
          res.statusCode = 500;
          res.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const runner = new HttpRunner();
const input = (parameters: Record<string, unknown>, overrides = {}) => runnerInput(root.path, { runnerType: 'http-request', parameters, ...overrides });

describe('http runner', () => {
  it('succeeds on 2xx with status, headers and the JSON body parsed; query params, basic auth and cookies sent', async () => {
    const outcome = await runner.run(input({ url: `${base}/json`, params: { q: 'a b' }, username: 'u', password: 'p', cookies: { c: 'v' } }));
    expect(outcome.status).toBe('succeeded');
    expect(outcome.result.status_code).toBe(200);
    expect(outcome.result.parsed).toBe(true);
    expect(outcome.result.headers).toMatchObject({ 'content-type': 'application/json; charset=utf-8' });
    expect(outcome.result.body).toMatchObject({ ok: true, query: { q: 'a b' }, auth: `Basic ${Buffer.from('u:p').toString('base64')}`, cookie: 'c=v' });
  });

  it('posts a body (POST by default when there is one) and checks a JSON body', async () => {
    const outcome = await runner.run(input({ url: `${base}/json`, body: '{"x":1}', headers: { 'Content-Type': 'application/json' } }));
    expect(hits.at(-1)?.method).toBe('POST');
    expect((outcome.result.body as { body: string }).body).toBe('{"x":1}');
    const bad = await runner.run(input({ url: `${base}/json`, body: '{nope', headers: { 'content-type': 'application/json' } }));
    expect(bad.status).toBe('failed');
    expect(bad.error).toContain('body is not valid JSON');
  });

  it('keeps a text body as text', async () => {
    const outcome = await runner.run(input({ url: `${base}/text` }));
    expect(outcome.result).toMatchObject({ status_code: 200, body: 'plain text', parsed: false });
  });

  it('fails on a status outside 200-206', async () => {
    const outcome = await runner.run(input({ url: `${base}/missing` }));
    expect(outcome.status).toBe('failed');
    expect(outcome.result.status_code).toBe(404);
    expect(outcome.error).toContain('404');
  });

  it('follows redirects of a GET, and of a POST only with allow_redirects; a loop stops at the bound', async () => {
    const get = await runner.run(input({ url: `${base}/redirect` }));
    expect(get.status).toBe('succeeded');
    expect((get.result.body as { query: unknown }).query).toEqual({ from: 'redirect' });
    const post = await runner.run(input({ url: `${base}/redirect`, method: 'POST', body: 'b' }));
    expect(post.result.status_code).toBe(302);
    const allowed = await runner.run(input({ url: `${base}/redirect`, method: 'POST', body: 'b', allow_redirects: true }));
    expect(allowed.result.status_code).toBe(200);
    const loop = await new HttpRunner({ maxRedirects: 3 }).run(input({ url: `${base}/loop` }));
    expect(loop.status).toBe('failed');
    expect(loop.error).toBe('more than 3 redirects');
  });

  it('refuses the metadata address, a redirect to it, and a name resolving to a link-local address', async () => {
    const direct = await runner.run(input({ url: 'http://169.254.169.254/latest/meta-data/' }));
    expect(direct.status).toBe('failed');
    expect(direct.error).toContain('refused to call 169.254.169.254');
    const before = hits.length;
    const redirect = await runner.run(input({ url: `${base}/to-metadata` }));
    expect(redirect.status).toBe('failed');
    expect(redirect.error).toContain('refused to call 169.254.169.254');
    expect(hits.length).toBe(before + 1);
    const resolving = new HttpRunner({
      resolver: (hostname, _options, callback) => callback(null, hostname === 'metadata.test' ? [{ address: '169.254.169.254', family: 4 }] : []),
    });
    const named = await resolving.run(input({ url: 'http://metadata.test/' }));
    expect(named.status).toBe('failed');
    expect(named.error).toContain('metadata.test: it resolves to 169.254.169.254');
    const mapped = await runner.run(input({ url: 'http://[::ffff:169.254.169.254]/' }));
    expect(mapped.error).toContain('refused to call');
  });

  it('knows which addresses are refused', () => {
    for (const address of ['169.254.169.254', '169.254.0.1', 'fe80::1', '[fe80::1]', 'fd00:ec2::254', '::ffff:169.254.169.254', '::ffff:a9fe:a9fe']) {
      expect(isBlockedAddress(address), address).toBe(true);
    }
    for (const address of ['127.0.0.1', '::1', '10.0.0.1', '192.168.1.1', 'example.com', '::ffff:127.0.0.1']) {
      expect(isBlockedAddress(address), address).toBe(false);
    }
  });

  it('allows link-local addresses when configured to (the refusal is the only thing that changes)', async () => {
    const outcome = await new HttpRunner({ allowLinkLocal: true }).run(input({ url: 'http://169.254.169.254:9/' }, { timeoutSeconds: 0.5 }));
    expect(outcome.error ?? '').not.toContain('refused to call');
  });

  it('caps the response size', async () => {
    const outcome = await new HttpRunner({ maxResponseBytes: 100_000 }).run(input({ url: `${base}/big` }));
    expect(outcome.status).toBe('failed');
    expect(outcome.error).toBe('the response body is larger than 100000 bytes');
  });

  it('times out, and is canceled', async () => {
    const timedOut = await runner.run(input({ url: `${base}/hang`, timeout: 0.3 }));
    expect(timedOut.status).toBe('timeout');
    const collected = input({ url: `${base}/hang` });
    const running = runner.run(collected);
    setImmediate(() => collected.controller.abort());
    expect((await running).status).toBe('canceled');
  });

  it('refuses host lists that disagree with the URL, proxies and bad URLs', async () => {
    expect((await runner.run(input({ url: `${base}/json`, url_hosts_blacklist: ['127.0.0.1'] }))).error).toContain('url_hosts_blacklist');
    expect((await runner.run(input({ url: `${base}/json`, url_hosts_whitelist: ['example.com'] }))).error).toContain('not in url_hosts_whitelist');
    expect((await runner.run(input({ url: `${base}/json`, http_proxy: 'http://proxy:3128' }))).error).toContain('http_proxy is not supported');
    expect((await runner.run(input({ url: 'not a url' }))).error).toBe('url is not a valid URL');
    expect((await runner.run(input({ url: 'file:///etc/passwd' }))).error).toContain('must be http or https');
  });
});
