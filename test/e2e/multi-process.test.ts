/**
 * Attune as several processes on one PostgreSQL (docs/deployment.md):
 * `attune up --roles api,rules` in one, two `attune worker` processes and
 * `attune maintenance` in others, all on a database of their own on the
 * run's server, spoken to over HTTP. One worker is SIGKILLed while it runs
 * executions: each of its runs is retried or abandoned once its lease runs
 * out (its processes killed), the other worker's runs succeed, and no
 * execution is lost or left unfinished.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCliConfig } from '../../src/cli/config-file.js';
import { withDatabase } from '../../src/config.js';
import { dropDatabase } from '../../src/db/admin.js';
import { createPool } from '../../src/db/pool.js';
import { uniqueName } from '../../src/testing/fixtures/unique.js';
import { api, AttuneProcess, eventually, isolatedEnv, scratchFolder, startUp } from './support.js';

const FINAL = ['succeeded', 'failed', 'timeout', 'canceled', 'abandoned'];
const serverUrl = process.env.ATTUNE__DATABASE__URL!;
const database = uniqueName('e2e_multi').replace(/[^a-z0-9_]/g, '_');
const scratch = scratchFolder('e2e-multi');
const processes: AttuneProcess[] = [];
let base: string;
let token: string;
let env: Record<string, string | undefined>;

const call = (method: string, route: string, body?: unknown) => api(base, method, route, { token, ...(body === undefined ? {} : { body }) });

/** `attune <role>` against the shared database, with leases and sweeps short enough for a test. */
function role(args: string[], extra: Record<string, string> = {}): AttuneProcess {
  const child = new AttuneProcess(args, { ...env, ...extra });
  processes.push(child);
  return child;
}

/** The pids of processes whose command line is exactly `argv` (from /proc). */
function processesRunning(argv: string[]): number[] {
  const wanted = `${argv.join('\0')}\0`;
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        return readFileSync(`/proc/${name}/cmdline`, 'utf8') === wanted;
      } catch {
        return false;
      }
    })
    .map(Number);
}

beforeAll(async () => {
  env = await isolatedEnv(scratch.dir, {
    ATTUNE__DATABASE__URL: withDatabase(serverUrl, database),
    // 10 s, not shorter: under a loaded CI machine a healthy worker's renewals
    // can be a second or more late, and a lease with no slack expires them.
    ATTUNE__WORKER__LEASE_SECONDS: '10',
    ATTUNE__WORKER__HEARTBEAT_SECONDS: '1',
    ATTUNE__WORKER__POLL_INTERVAL_MS: '100',
    ATTUNE__WORKER__SLOTS: '4',
    ATTUNE__EXECUTION__SWEEP_INTERVAL_MS: '200',
    ATTUNE__EXECUTION__RETRY_BACKOFF_BASE_SECONDS: '0',
  });
  // The API and the rules engine in one process; it creates and migrates the database.
  const started = await startUp(env, ['--roles', 'api,rules']);
  processes.push(started.up);
  base = started.apiUrl;
  token = readCliConfig(env.ATTUNE_CLI_CONFIG!)!.profiles.default!.token!;
  role(['maintenance']);
  for (const name of ['one', 'two']) {
    await role(['worker'], { ATTUNE__WORKER__NAME: `e2e-${name}`, ATTUNE__WORKER__DATA_DIR: path.join(scratch.dir, name) }).waitForLog('worker started');
  }
}, 120_000);

afterAll(async () => {
  for (const child of processes.reverse()) await child.stop('SIGTERM');
  const admin = createPool({ url: withDatabase(serverUrl, 'postgres'), maxConnections: 1 });
  await dropDatabase(admin, database, { force: true }).finally(() => admin.end());
  scratch.remove();
}, 60_000);

describe('several processes on one PostgreSQL', () => {
  it('a worker SIGKILLed mid-run: its runs are retried or abandoned, the others succeed, none is lost', async () => {
    // Unique durations, so each run's own sleep process can be found; longer
    // than the lease, so the victim's sleeps are still there for the sweep to kill.
    const durations = Array.from({ length: 6 }, (_, index) => `12.${process.pid % 1000}${index}`);
    const ids: number[] = [];
    for (const seconds of durations) {
      const requested = await call('POST', '/api/v1/actions/core.local/execute', { parameters: { cmd: `sleep ${seconds}; echo slept ${seconds}` } });
      expect(requested.status, requested.text).toBe(201);
      ids.push(requested.body.data.id);
    }
    const workers = (await call('GET', '/api/v1/workers')).body.data as Array<{ id: number; name: string }>;
    const byName = new Map(workers.map((worker) => [worker.name, worker.id]));
    // Wait until all six run (eight slots between the two workers, so both hold
    // some), then kill the first one: a run still waiting when the victim's runs
    // are noted could be claimed by the victim afterwards and wrongly count as
    // the other worker's.
    const holders = await eventually(async () => {
      const runs = await Promise.all(ids.map(async (id) => (await call('GET', `/api/v1/executions/${id}`)).body.data));
      const running = runs.filter((run) => run.status === 'running');
      const held = new Set(running.map((run) => run.worker_id));
      const bothHold = held.has(byName.get('e2e-one')) && held.has(byName.get('e2e-two'));
      return running.length === ids.length && bothHold ? running : undefined;
    });
    const victim = processes.find((child) => child.child.spawnargs.includes('worker'))!;
    const victimRuns = holders.filter((run) => run.worker_id === byName.get('e2e-one')).map((run) => run.id as number);
    expect(victimRuns.length).toBeGreaterThan(0);
    victim.child.kill('SIGKILL');
    await victim.exited;

    // Every execution ends once: the victim's retried (and then succeeded) or abandoned, the others succeeded.
    const done = await eventually(async () => {
      const runs = await Promise.all(ids.map(async (id) => (await call('GET', `/api/v1/executions/${id}`)).body.data));
      return runs.every((run) => FINAL.includes(run.status)) ? runs : undefined;
    });
    for (const run of done) {
      if (victimRuns.includes(run.id)) expect(['abandoned', 'succeeded']).toContain(run.status);
      else expect(run.status).toBe('succeeded');
    }
    expect(done.filter((run) => run.status === 'abandoned').every((run) => victimRuns.includes(run.id))).toBe(true);
    // The killed worker's actions were stopped by the maintenance sweep, not left running.
    await eventually(async () => durations.every((seconds) => processesRunning(['sleep', seconds]).length === 0));
    // Finished once each: one core.execution_finished event per execution.
    for (const id of ids) {
      const events = await call('GET', `/api/v1/events?trigger=core.execution_finished&limit=100`);
      expect(events.status, events.text).toBe(200);
      expect(events.body.data.filter((event: any) => event.payload.execution_id === id)).toHaveLength(1);
    }
  }, 90_000);
});
