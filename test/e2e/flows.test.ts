/**
 * End to end, as a user drives Attune: one `attune up` (every role, auth on,
 * on a database of its own on the run's PostgreSQL server, created and
 * migrated by `up`), spoken to over HTTP on loopback with the token `up`
 * wrote to the CLI config file. Webhook → rule → action; a timer rule;
 * a secret key in a rule parameter; an approval (core.ask paused, answered,
 * succeeded); a long core.sleep canceled, its process gone.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCliConfig } from '../../src/cli/config-file.js';
import { withDatabase } from '../../src/config.js';
import { dropDatabase } from '../../src/db/admin.js';
import { createPool } from '../../src/db/pool.js';
import { uniqueName } from '../../src/testing/fixtures/unique.js';
import { api, eventually, isolatedEnv, ROOT, scratchFolder, startUp, type AttuneProcess } from './support.js';

const serverUrl = process.env.ATTUNE__DATABASE__URL!;
const database = uniqueName('e2e').replace(/[^a-z0-9_]/g, '_');
const scratch = scratchFolder('e2e');
let up: AttuneProcess;
let base: string;
let token: string;

/** A pack folder as the bundle `POST /api/v1/packs` takes. */
function bundle(dir: string): { files: Array<{ path: string; content_base64: string; executable: boolean }> } {
  const files: Array<{ path: string; content_base64: string; executable: boolean }> = [];
  const walk = (relative: string) => {
    for (const name of readdirSync(path.join(dir, relative))) {
      const file = path.join(relative, name);
      const stat = statSync(path.join(dir, file));
      if (stat.isDirectory()) walk(file);
      else files.push({ path: file, content_base64: readFileSync(path.join(dir, file)).toString('base64'), executable: (stat.mode & 0o111) !== 0 });
    }
  };
  walk('');
  return { files };
}

/** A pack given as files, for `POST /api/v1/packs`. */
function inlinePack(files: Record<string, string>, executable: string[] = []) {
  return {
    files: Object.entries(files).map(([file, text]) => ({ path: file, content_base64: Buffer.from(text).toString('base64'), executable: executable.includes(file) })),
  };
}

const call = (method: string, route: string, body?: unknown, headers?: Record<string, string>) =>
  api(base, method, route, { token, ...(body === undefined ? {} : { body }), ...(headers ? { headers } : {}) });

/** The executions of `action`, newest first. */
async function executionsOf(action: string): Promise<any[]> {
  const listed = await call('GET', `/api/v1/executions?action=${encodeURIComponent(action)}`);
  expect(listed.status).toBe(200);
  return listed.body.data;
}

/** Waits until execution `id` is in a final state; returns it. */
async function finished(id: number): Promise<any> {
  return eventually(async () => {
    const { body } = await call('GET', `/api/v1/executions/${id}`);
    return ['succeeded', 'failed', 'timeout', 'canceled', 'abandoned'].includes(body.data.status) ? body.data : undefined;
  });
}

/** The pids of processes whose command line is exactly `argv` (read from /proc, as ps does). */
function processesRunning(argv: string[]): number[] {
  const wanted = `${argv.join('\0')}\0`;
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8') === wanted) found.push(Number(name));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

beforeAll(async () => {
  const env = await isolatedEnv(scratch.dir, { ATTUNE__DATABASE__URL: withDatabase(serverUrl, database) });
  // The kit's encryption key stays in the environment: secrets work.
  expect(process.env.ATTUNE__SECURITY__ENCRYPTION_KEY).toBeDefined();
  ({ up, apiUrl: base } = await startUp(env));
  token = readCliConfig(env.ATTUNE_CLI_CONFIG!)!.profiles.default!.token!;
  const registered = await call('POST', '/api/v1/packs', bundle(path.join(ROOT, 'packs/examples')));
  expect(registered.status, registered.text).toBe(201);
}, 120_000);

afterAll(async () => {
  if (up) expect(await up.stop()).toBe(0);
  const admin = createPool({ url: withDatabase(serverUrl, 'postgres'), maxConnections: 1 });
  await dropDatabase(admin, database, { force: true }).finally(() => admin.end());
  scratch.remove();
});

describe('attune up, end to end', () => {
  it('starts without a deprecation warning (Fastify FSTDEP023/024 came from top-level log options)', () => {
    expect(up.stderr).not.toMatch(/FSTDEP|DeprecationWarning/);
  });

  it('webhook → rule → core.local: succeeded with the output', async () => {
    const rule = await call('POST', '/api/v1/rules', {
      name: 'e2e_local',
      trigger: { type: 'core.st2.webhook', parameters: { url: 'e2e_local' } },
      criteria: { 'trigger.body.word': { type: 'exists' } },
      action: { ref: 'core.local', parameters: { cmd: 'echo "local says {{ trigger.body.word }}"' } },
    });
    expect(rule.status, rule.text).toBe(201);
    const fired = await call('POST', '/api/v1/webhooks/e2e_local', { word: 'bonjour' });
    expect(fired.status, fired.text).toBe(202);
    expect(fired.body.data.event_id).toBeGreaterThan(0);
    const [requested] = await eventually(async () => {
      const runs = await executionsOf('core.local');
      return runs.length > 0 ? runs : undefined;
    });
    const done = await finished(requested.id);
    expect(done.status).toBe('succeeded');
    expect(done.result.stdout).toBe('local says bonjour');
  });

  it("the examples pack's hello webhook greets through a shell script, signed with the webhook's secret", async () => {
    expect((await call('PUT', '/api/v1/keys/system.webhook_hello', { value: 'hello-hook-secret', secret: true })).status).toBe(201);
    const body = JSON.stringify({ name: 'Ada' });
    const signature = `sha256=${createHash('sha256').update('').digest('hex')}`; // wrong on purpose first
    const refused = await api(base, 'POST', '/api/v1/webhooks/hello', { body, headers: { 'x-hub-signature-256': signature } });
    expect(refused.status).toBe(401);
    const { createHmac } = await import('node:crypto');
    const signed = await api(base, 'POST', '/api/v1/webhooks/hello', {
      body,
      headers: { 'x-hub-signature-256': `sha256=${createHmac('sha256', 'hello-hook-secret').update(body).digest('hex')}` },
    });
    expect(signed.status, signed.text).toBe(202);
    const [run] = await eventually(async () => {
      const runs = await executionsOf('examples.greet');
      return runs.length > 0 ? runs : undefined;
    });
    const done = await finished(run.id);
    expect(done.status).toBe('succeeded');
    expect(done.result.stdout).toContain('Hello, Ada!');
  });

  it('a timer rule fires', async () => {
    const rule = await call('POST', '/api/v1/rules', {
      name: 'e2e_every_second',
      trigger: { type: 'core.st2.IntervalTimer', parameters: { unit: 'seconds', delta: 1 } },
      action: { ref: 'core.noop' },
    });
    expect(rule.status, rule.text).toBe(201);
    const runs = await eventually(async () => {
      const found = (await executionsOf('core.noop')).filter((run) => run.status === 'succeeded');
      return found.length >= 2 ? found : undefined;
    });
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect((await call('DELETE', `/api/v1/rules/${rule.body.data.id}`)).status).toBe(204);
  });

  it('a secret key in a rule parameter reaches the action, and no response or log line holds it', async () => {
    const secret = `s3cret-${uniqueName('value')}`;
    const seen: string[] = [];
    const record = async (method: string, route: string, body?: unknown) => {
      const response = await call(method, route, body);
      seen.push(response.text);
      return response;
    };
    const pack = inlinePack(
      {
        'pack.yaml': 'ref: e2e_secret\nname: e2e_secret\nversion: 1.0.0\ndescription: checks a secret parameter\n',
        'actions/check.yaml':
          'name: check\nrunner_type: shell-script\nentry_point: check.sh\nparameters:\n  token:\n    type: string\n    secret: true\n    required: true\n    position: 0\n',
        'actions/check.sh': '#!/bin/sh\nprintf %s "$1" | sha256sum | cut -d" " -f1\n',
        'rules/use_secret.yaml':
          'name: use_secret\ntrigger:\n  type: core.st2.webhook\n  parameters:\n    url: e2e_secret\naction:\n  ref: e2e_secret.check\n  parameters:\n    token: "{{ st2kv.system.e2e_token | decrypt_kv }}"\n',
      },
      ['actions/check.sh'],
    );
    expect((await record('POST', '/api/v1/packs', pack)).status).toBe(201);
    expect((await record('PUT', '/api/v1/keys/system.e2e_token', { value: secret, secret: true })).status).toBe(201);
    expect((await record('POST', '/api/v1/webhooks/e2e_secret', { go: true })).status).toBe(202);
    const [run] = await eventually(async () => {
      const runs = await executionsOf('e2e_secret.check');
      return runs.length > 0 ? runs : undefined;
    });
    const done = await finished(run.id);
    expect(done.status).toBe('succeeded');
    // The action got the plaintext: it printed its hash.
    expect(done.result.stdout.trim()).toBe(createHash('sha256').update(secret).digest('hex'));
    await record('GET', `/api/v1/executions/${run.id}`);
    await record('GET', `/api/v1/executions/${run.id}/output`);
    await record('GET', '/api/v1/keys/system.e2e_token');
    await record('GET', '/api/v1/keys');
    await record('GET', `/api/v1/enforcements?rule=e2e_secret.use_secret`);
    const everything = [...seen, up.stdout, up.stderr].join('\n');
    expect(everything.includes(secret)).toBe(false);
    expect(JSON.stringify(done).includes(secret)).toBe(false);
  });

  it('the examples approval: core.ask pauses, the answer is posted, the execution succeeds and the approved rule runs', async () => {
    const fired = await call('POST', '/api/v1/webhooks/deploy', { version: '1.4.2' });
    expect(fired.status, fired.text).toBe(202);
    const [ask] = await eventually(async () => {
      const runs = (await executionsOf('core.ask')).filter((run) => run.status === 'paused');
      return runs.length > 0 ? runs : undefined;
    });
    const pending = await call('GET', '/api/v1/inquiries');
    expect(pending.status, pending.text).toBe(200);
    const inquiry = pending.body.data.find((item: any) => item.execution_id === ask.id);
    expect(inquiry).toMatchObject({ status: 'pending', route: 'deploy', response_schema: { title: 'Deploy version 1.4.2?' } });
    const filtered = await call('GET', '/api/v1/inquiries?status=pending');
    expect(filtered.body.data.map((item: any) => item.id)).toContain(inquiry.id);
    // A response the schema refuses changes nothing.
    expect((await call('POST', `/api/v1/inquiries/${inquiry.id}/respond`, { response: { approved: 'yes' } })).status).toBe(422);
    const answered = await call('POST', `/api/v1/inquiries/${inquiry.id}/respond`, { response: { approved: true, comment: 'go' } });
    expect(answered.status, answered.text).toBe(200);
    expect(answered.body.data.status).toBe('responded');
    const done = await finished(ask.id);
    expect(done.status).toBe('succeeded');
    expect(done.result).toEqual({ approved: true, comment: 'go' });
    // deploy_approved listens to core.inquiry_responded and runs core.echo.
    const echo = await eventually(async () => {
      const runs = (await executionsOf('core.echo')).filter((run) => run.status === 'succeeded');
      return runs.length > 0 ? runs[0] : undefined;
    });
    expect(echo.result.stdout).toBe('Deployment approved by admin');
    expect((await call('GET', '/api/v1/inquiries')).body.data.map((item: any) => item.id)).not.toContain(inquiry.id);
  });

  it('cancel a long core.sleep: canceled, and its process is gone', async () => {
    const seconds = 300 + (process.pid % 400);
    const requested = await call('POST', '/api/v1/actions/core.sleep/execute', { parameters: { seconds } });
    expect(requested.status, requested.text).toBe(201);
    expect(requested.body.data.params.cmd).toBe(`sleep ${seconds}`);
    const id = requested.body.data.id;
    await eventually(async () => (await call('GET', `/api/v1/executions/${id}`)).body.data.status === 'running');
    // The shell runner's process: `sleep <seconds>` (under its shell or in its place).
    await eventually(async () => processesRunning(['sleep', String(seconds)]).length > 0);
    const canceled = await call('POST', `/api/v1/executions/${id}/cancel`);
    expect(canceled.status, canceled.text).toBe(200);
    const done = await finished(id);
    expect(done.status).toBe('canceled');
    await eventually(async () => processesRunning(['sleep', String(seconds)]).length === 0);
    expect(processesRunning(['sleep', String(seconds)])).toEqual([]);
  });
});
