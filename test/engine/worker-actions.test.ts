/**
 * Actions of registered packs requested with requestExecution and run by the
 * worker role, end to end: python (a StackStorm Action class, a failing one,
 * a (status, result) tuple), node, http against a local server, noop and
 * core.inject_trigger; and the events Attune fires about its own work
 * (core.execution_finished, core.st2.generic.actiontrigger, the inquiry
 * events), read back as event rows, with secret parameters masked.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { respondToInquiry } from '../../src/engine/inquiries.js';
import { createMaintenanceRole } from '../../src/engine/maintenance.js';
import { requestExecution } from '../../src/engine/request-execution.js';
import { registerPack } from '../../src/packs/register.js';
import { ExecutionOutputRepository, type Execution } from '../../src/repositories/executions.js';
import { InquiryRepository } from '../../src/repositories/inquiries.js';
import { cleanDatabase, createTestPool } from '../../src/testing/index.js';
import type { WorkerRole } from '../../src/worker/worker.js';
import { CORE_PACK } from '../worker/helpers.js';
import { silentLogger, tempDataDir, testWorker, waitFor, waitForStatus } from '../worker/worker-support.js';
import { testCipher } from './rule-setup.js';

const pool = createTestPool();
const cipher = testCipher();
let dataDir: Awaited<ReturnType<typeof tempDataDir>>;
let worker: WorkerRole | undefined;
let packDir = '';
let server: Server;
let baseUrl = '';

/** A secret the tests look for wherever it must not be. */
const SECRET = 'hunter2-very-secret-token';

/** A pack of test actions, one per runner, written as a pack author would. */
const PACK_FILES: Record<string, string> = {
  'pack.yaml': 'ref: wtest\nname: wtest\ndescription: Worker test actions.\nversion: 1.0.0\nauthor: Attune tests\n',
  'actions/add.yaml':
    'name: add\nrunner_type: python-script\nentry_point: add.py\nparameters:\n  a: {type: integer, required: true}\n  b: {type: integer, default: 10}\n',
  'actions/add.py':
    'from st2common.runners.base_action import Action\n\n\nclass Add(Action):\n    def run(self, a, b):\n        print("adding %d and %d" % (a, b))\n        return {"sum": a + b}\n',
  'actions/divide.yaml': 'name: divide\nrunner_type: python-script\nentry_point: divide.py\nparameters:\n  a: {type: integer, required: true}\n',
  'actions/divide.py': 'from st2common.runners.base_action import Action\n\n\nclass Divide(Action):\n    def run(self, a):\n        return a / 0\n',
  'actions/verdict.yaml': 'name: verdict\nrunner_type: python-script\nentry_point: verdict.py\nparameters:\n  ok: {type: boolean, required: true}\n',
  'actions/verdict.py':
    'from st2common.runners.base_action import Action\n\n\nclass Verdict(Action):\n    def run(self, ok):\n        return (ok, {"ok": ok})\n',
  'actions/shout.yaml': 'name: shout\nrunner_type: node\nentry_point: shout.js\nparameters:\n  text: {type: string, required: true}\n',
  'actions/shout.js':
    "let input = '';\nprocess.stdin.on('data', (c) => (input += c));\nprocess.stdin.on('end', () => {\n  const { text } = JSON.parse(input);\n  if (text === 'fail') {\n    console.error('refusing to shout fail');\n    process.exit(4);\n  }\n  console.log(JSON.stringify({ shouted: text.toUpperCase() }));\n});\n",
  // The token printed in two pieces 0.6 s apart (two output chunks), then a start of the token that turns out not to be it.
  'actions/drip.yaml':
    "name: drip\nrunner_type: local-shell-cmd\nparameters:\n  cmd: {type: string, immutable: true, default: 'printf %s \"$token\" | head -c 10; sleep 0.6; printf %s \"$token\" | tail -c +11; echo; printf hunt; sleep 0.6; echo ing season'}\n  token: {type: string, secret: true, required: true}\n",
  'actions/login.yaml':
    "name: login\nrunner_type: local-shell-cmd\nparameters:\n  cmd: {type: string, immutable: true, default: 'echo \"token is $token\"; echo user $user'}\n  user: {type: string, required: true}\n  token: {type: string, secret: true, required: true}\n",
};

beforeAll(async () => {
  packDir = await mkdtemp(join(tmpdir(), 'attune-wtest-pack-'));
  for (const [path, content] of Object.entries(PACK_FILES)) {
    await mkdir(dirname(join(packDir, path)), { recursive: true });
    await writeFile(join(packDir, path), content);
  }
  server = createServer((request, response) => {
    if (request.url === '/ok') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ hello: 'world', method: request.method }));
    } else {
      response.writeHead(503, { 'content-type': 'text/plain' });
      response.end('down for maintenance');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(packDir, { recursive: true, force: true });
  await pool.end();
});
beforeEach(async () => {
  await cleanDatabase(pool);
  dataDir = await tempDataDir();
  await registerPack(pool, CORE_PACK);
  await registerPack(pool, packDir);
  worker = testWorker(pool, dataDir.path, { cipher });
  await worker.start();
});
afterEach(async () => {
  await worker?.stop();
  worker = undefined;
  await dataDir.remove();
});

async function run(actionRef: string, params: Record<string, unknown> = {}, traceId?: string): Promise<Execution> {
  const requested = await requestExecution(pool, actionRef, params as never, { cipher, ...(traceId === undefined ? {} : { traceId }) });
  return waitForStatus(pool, requested.id);
}

/** The payloads of the events of `triggerRef` about execution `id` (by `field`). */
async function eventsOf(triggerRef: string, id: number, field = 'execution_id'): Promise<Array<Record<string, unknown>>> {
  const { rows } = await pool.query<{ payload: Record<string, unknown> }>(
    `SELECT payload FROM events WHERE trigger_ref = $1 AND (payload->>$3)::bigint = $2 ORDER BY id`,
    [triggerRef, id, field],
  );
  return rows.map((row) => row.payload);
}

describe('actions through the worker', () => {
  it('python: a StackStorm Action class gets run(**params) with defaults; its return value is the result and its prints the output', async () => {
    const done = await run('wtest.add', { a: 2 });
    expect(done).toMatchObject({ status: 'succeeded', error: null });
    expect(done.result).toMatchObject({ exit_code: 0, result: { sum: 12 } });
    expect(await ExecutionOutputRepository.text(pool, done.id, 1, 'stdout')).toContain('adding 2 and 10');
  });

  it('python: an exception fails the execution with the traceback on stderr; a (False, result) tuple fails with its result', async () => {
    const raised = await run('wtest.divide', { a: 1 });
    expect(raised.status).toBe('failed');
    expect(await ExecutionOutputRepository.text(pool, raised.id, 1, 'stderr')).toContain('ZeroDivisionError');
    const refused = await run('wtest.verdict', { ok: false });
    expect(refused.status).toBe('failed');
    expect(refused.result).toMatchObject({ result: { ok: false } });
    expect((await run('wtest.verdict', { ok: true })).status).toBe('succeeded');
  });

  it('node: parameters as JSON on stdin, JSON stdout parsed; a non-zero exit fails with the exit code', async () => {
    const done = await run('wtest.shout', { text: 'hello' });
    expect(done).toMatchObject({ status: 'succeeded' });
    expect(done.result).toMatchObject({ exit_code: 0, result: { shouted: 'HELLO' } });
    const failed = await run('wtest.shout', { text: 'fail' });
    expect(failed.status).toBe('failed');
    expect(failed.result).toMatchObject({ exit_code: 4, stderr: 'refusing to shout fail' });
  });

  it('http (core.http): a 200 succeeds with the JSON body parsed; a 503 fails naming the status', async () => {
    const ok = await run('core.http', { url: `${baseUrl}/ok`, method: 'POST' });
    expect(ok.status).toBe('succeeded');
    expect(ok.result).toMatchObject({ status_code: 200, parsed: true, body: { hello: 'world', method: 'POST' } });
    const down = await run('core.http', { url: `${baseUrl}/down` });
    expect(down).toMatchObject({ status: 'failed', error: 'the server answered 503' });
    expect(down.result).toMatchObject({ status_code: 503, body: 'down for maintenance' });
  });

  it('http (core.http): a metadata address is refused without a request', async () => {
    const refused = await run('core.http', { url: 'http://169.254.169.254/latest/meta-data/' });
    expect(refused.status).toBe('failed');
    expect(refused.error).toMatch(/169\.254\.169\.254/);
  });

  it('noop (core.noop) succeeds', async () => {
    expect(await run('core.noop')).toMatchObject({ status: 'succeeded', error: null, attempt: 1 });
  });

  it('core.local: requested with the runner defaults (sudo_password has a null default) and run', async () => {
    const requested = await requestExecution(pool, 'core.local', { cmd: 'echo local' });
    expect(requested.params).not.toHaveProperty('sudo_password');
    const done = await waitForStatus(pool, requested.id);
    expect(done).toMatchObject({ status: 'succeeded', result: expect.objectContaining({ stdout: 'local' }) });
  });

  it('core.inject_trigger: the event exists with its payload, source and the execution trace, and the result names it', async () => {
    const done = await run('core.inject_trigger', { trigger: 'core.st2.webhook', payload: { headers: {}, body: { from: 'inject' } } }, 'trace-of-the-chain');
    expect(done.status).toBe('succeeded');
    const eventId = (done.result as { result: { event_id: number } }).result.event_id;
    const { rows } = await pool.query<{ trigger_ref: string; payload: unknown; trace_id: string | null; source: string }>(
      'SELECT trigger_ref, payload, trace_id, source FROM events WHERE id = $1',
      [eventId],
    );
    expect(rows).toEqual([
      { trigger_ref: 'core.st2.webhook', payload: { headers: {}, body: { from: 'inject' } }, trace_id: 'trace-of-the-chain', source: `execution:${done.id}` },
    ]);
  });

  it('core.inject_trigger: an unknown trigger fails the execution and fires nothing', async () => {
    const done = await run('core.inject_trigger', { trigger: 'nope.missing', payload: {} });
    expect(done.status).toBe('failed');
    expect(done.error).toContain('nope.missing');
    const { rows } = await pool.query(`SELECT 1 FROM events WHERE trigger_ref = 'nope.missing'`);
    expect(rows).toEqual([]);
  });
});

describe('finish events', () => {
  it('core.execution_finished and core.st2.generic.actiontrigger fire once per finished execution, with its outcome', async () => {
    const ok = await run('core.noop');
    const failed = await run('wtest.shout', { text: 'fail' });
    const [finishedOk] = await eventsOf('core.execution_finished', ok.id);
    expect(await eventsOf('core.execution_finished', ok.id)).toHaveLength(1);
    expect(finishedOk).toMatchObject({
      execution_id: ok.id,
      action_ref: 'core.noop',
      runner_type: 'noop',
      status: 'succeeded',
      error: null,
      attempt: 1,
      rule_ref: null,
      enforcement_id: null,
      started_at: ok.startedAt!.toISOString(),
    });
    const [finishedFailed] = await eventsOf('core.execution_finished', failed.id);
    expect(finishedFailed).toMatchObject({ status: 'failed', action_ref: 'wtest.shout', result: expect.objectContaining({ exit_code: 4 }) });
    const [st2] = await eventsOf('core.st2.generic.actiontrigger', failed.id);
    expect(st2).toMatchObject({
      execution_id: failed.id,
      status: 'failed',
      action_name: 'shout',
      action_ref: 'wtest.shout',
      runner_ref: 'node',
      parameters: { text: 'fail' },
    });
  });

  it('a secret parameter is masked in the finish events and scrubbed from the result and the output', async () => {
    const done = await run('wtest.login', { user: 'ann', token: SECRET });
    expect(done.status).toBe('succeeded');
    const stored = JSON.stringify(done);
    expect(stored.includes(SECRET)).toBe(false);
    expect((done.result as { stdout: string }).stdout).toBe('token is ********\nuser ann');
    const output = await ExecutionOutputRepository.text(pool, done.id, 1, 'stdout');
    expect(output.includes(SECRET)).toBe(false);
    for (const trigger of ['core.execution_finished', 'core.st2.generic.actiontrigger']) {
      const [payload] = await eventsOf(trigger, done.id);
      expect(payload!.parameters).toMatchObject({ user: 'ann', token: '********' });
      expect(JSON.stringify(payload).includes(SECRET)).toBe(false);
    }
  });

  it('a secret printed in two output chunks is scrubbed from the stored output too; a start of it that is not it is kept', async () => {
    const done = await run('wtest.drip', { token: SECRET });
    expect(done.status).toBe('succeeded');
    const chunks = await pool.query<{ data: string }>('SELECT data FROM execution_output WHERE execution_id = $1 AND stream = $2 ORDER BY seq', [done.id, 'stdout']);
    // Printed 0.6 s apart, the pieces reached the writer as separate chunks.
    expect(chunks.rows.length).toBeGreaterThan(1);
    expect(chunks.rows.some((row) => row.data.includes(SECRET.slice(0, 10)))).toBe(false);
    expect(await ExecutionOutputRepository.text(pool, done.id, 1, 'stdout')).toBe('********\nhunting season\n');
    expect((done.result as { stdout: string }).stdout).toBe('********\nhunting season');
  });
});

describe('inquiry events', () => {
  const schema = { type: 'object', properties: { approve: { type: 'boolean' } }, required: ['approve'] };

  it('core.ask fires core.inquiry_created and core.st2.generic.inquiry; the answer fires core.inquiry_responded and the finish events', async () => {
    const asked = await requestExecution(pool, 'core.ask', { schema, route: 'ops', users: ['ann'], ttl: 60 } as never);
    await waitForStatus(pool, asked.id, ['paused']);
    const inquiry = await waitFor(async () => (await InquiryRepository.list(pool, { executionId: asked.id })).items[0], 'the inquiry');
    expect(await eventsOf('core.inquiry_created', asked.id)).toEqual([
      expect.objectContaining({ inquiry_id: inquiry.id, execution_id: asked.id, route: 'ops', users: ['ann'], schema }),
    ]);
    expect(await eventsOf('core.st2.generic.inquiry', inquiry.id, 'id')).toEqual([{ id: inquiry.id, route: 'ops' }]);
    expect(await eventsOf('core.execution_finished', asked.id)).toEqual([]);

    await respondToInquiry(pool, inquiry.id, { approve: true });
    expect(await eventsOf('core.inquiry_responded', asked.id)).toEqual([
      expect.objectContaining({ inquiry_id: inquiry.id, execution_id: asked.id, route: 'ops', response: { approve: true }, responded_by: null }),
    ]);
    expect(await eventsOf('core.execution_finished', asked.id)).toEqual([
      expect.objectContaining({ status: 'succeeded', action_ref: 'core.ask', result: { approve: true } }),
    ]);
  });

  it('an inquiry nobody answers: the maintenance role fires core.inquiry_timed_out and the execution times out', async () => {
    const asked = await requestExecution(pool, 'core.ask', { schema, ttl: 1 } as never);
    await waitForStatus(pool, asked.id, ['paused']);
    const inquiry = await waitFor(async () => (await InquiryRepository.list(pool, { executionId: asked.id })).items[0], 'the inquiry');
    await pool.query(`UPDATE inquiries SET timeout_at = clock_timestamp() - interval '1 second' WHERE id = $1`, [inquiry.id]);
    const maintenance = createMaintenanceRole({
      pool,
      logger: silentLogger,
      intervalMs: 60_000,
      deadlineGraceSeconds: 30,
      backoff: { baseSeconds: 0, capSeconds: 0 },
      outputRetentionDays: 30,
    });
    expect((await maintenance.sweep()).inquiriesTimedOut).toBe(1);
    expect(await eventsOf('core.inquiry_timed_out', asked.id)).toEqual([expect.objectContaining({ inquiry_id: inquiry.id, execution_id: asked.id })]);
    expect(await eventsOf('core.execution_finished', asked.id)).toEqual([expect.objectContaining({ status: 'timeout', action_ref: 'core.ask' })]);
  });
});
