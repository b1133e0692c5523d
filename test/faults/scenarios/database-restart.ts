/**
 * Database restart: the scenario starts its own throwaway PostgreSQL cluster
 * (EmbeddedServer on a free port, durability off; as root the server runs as
 * the unprivileged `postgres` OS user), runs `attune api`, `rules`, `worker`
 * and `maintenance` against it under load (webhooks and direct execution
 * requests), and restarts the server again and again. Nothing tells the
 * roles: each must resume by itself. Webhooks posted while the server is down
 * must get a clear 503, not a hang; after each restart the scenario measures
 * how long until a webhook is accepted again, until its execution succeeded
 * (API, rules and worker all back), and until the maintenance role swept a
 * run stranded on purpose. Afterwards every accepted event and every
 * execution requested is processed, once.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { createDatabase } from '../../../src/db/admin.js';
import { EmbeddedServer, findFreePort } from '../../../src/db/embedded.js';
import { migrate } from '../../../src/db/migrator.js';
import { createPool } from '../../../src/db/pool.js';
import { withTransaction } from '../../../src/db/transaction.js';
import { requestExecution } from '../../../src/engine/request-execution.js';
import { WorkerFixture } from '../../../src/testing/index.js';
import { apiUrl, auditWebhookEvents, BacklogGate, createWebhookRule, postWebhook, postWebhooks, WebhookTally } from '../load.js';
import { auditExecutions, FaultHarness, reportFigures, sleep, waitUntil } from '../support.js';

export interface DatabaseRestartOptions {
  restarts: number;
  /** How long the server stays down each time. */
  outageMs: number;
  /** Load between two restarts. */
  loadMs: number;
  /** Webhooks in flight at once during the load. */
  concurrency: number;
  /** The load pauses while more executions than this wait (requested or running), or more events: see BacklogGate. */
  maxBacklog?: number;
  /** The worker's lease; default the fault settings' 3 s. A lease shorter than an outage plus the reconnection runs out, and the sweep abandons the run. */
  leaseSeconds?: number;
  timeoutMs: number;
}

/** What one restart showed. */
export interface RestartFigures {
  /** Server down to server accepting connections again. */
  outageMs: number;
  /** Webhooks posted while the server was down, by reply. */
  repliesDuringOutage: Record<string, number>;
  /** The slowest of those replies: a 503 comes at once, not after a hang. */
  slowestOutageReplyMs: number;
  /** Server ready to the first webhook accepted (the API's pool is back). */
  firstAcceptedMs: number;
  /** Server ready to that webhook's execution succeeded (API, rules and worker all back). */
  recoveryMs: number;
  /** Server ready to the maintenance role having swept a run stranded after the restart. */
  maintenanceResumedMs: number;
}

/**
 * A run left `running` under a worker that does not exist, its lease already
 * expired: only the maintenance role's lease sweep ends it (abandoned, one attempt).
 */
async function strandRun(pool: pg.Pool): Promise<number> {
  return withTransaction(pool, async (tx) => {
    const ghost = await new WorkerFixture().create(tx);
    const execution = await requestExecution(tx, 'core.noop', {}, { maxAttempts: 1 });
    await tx.query(
      `UPDATE executions SET status = 'running', worker_id = $2, started_at = clock_timestamp(),
              lease_expires_at = clock_timestamp() - interval '1 second', deadline_at = clock_timestamp() + interval '10 minutes'
        WHERE id = $1`,
      [execution.id, ghost.id],
    );
    return execution.id;
  });
}

async function statusOf(pool: pg.Pool, id: number): Promise<string | undefined> {
  const { rows } = await pool.query<{ status: string }>('SELECT status FROM executions WHERE id = $1', [id]);
  return rows[0]?.status;
}

/** The status of the execution of webhook event `eventId`, once there is one. */
async function webhookExecutionStatus(pool: pg.Pool, eventId: number): Promise<string | undefined> {
  const { rows } = await pool.query<{ status: string }>(
    'SELECT x.status FROM executions x JOIN enforcements f ON f.id = x.enforcement_id WHERE f.event_id = $1',
    [eventId],
  );
  return rows[0]?.status;
}

/** Milliseconds since `start`, whole. */
const since = (start: number): number => Math.round(performance.now() - start);

export async function runDatabaseRestart(options: DatabaseRestartOptions) {
  // The cluster's folder must be reachable by the server's OS user when root runs the test.
  const clusterDir = mkdtempSync(join(tmpdir(), 'attune-fault-cluster-'));
  chmodSync(clusterDir, 0o755);
  const server = new EmbeddedServer({ dataDir: join(clusterDir, 'data'), port: await findFreePort(), durability: 'none' });
  const deadline = Date.now() + options.timeoutMs;
  let pool: pg.Pool | undefined;
  let harness: FaultHarness | undefined;
  let gate: BacklogGate | undefined;
  try {
    await server.start();
    const admin = createPool({ url: server.url(), maxConnections: 1 });
    await createDatabase(admin, 'attune').finally(() => admin.end());
    const url = server.url('attune');
    // The scenario's own connections fail fast while the server is down.
    pool = createPool({ url, maxConnections: 4, connectTimeoutMs: 2000 });
    pool.on('error', () => undefined);
    await migrate(pool);
    const { ruleId, path } = await createWebhookRule(pool, 'restart');

    harness = new FaultHarness({
      ATTUNE__DATABASE__URL: url,
      ATTUNE__WORKER__RUNNERS: 'noop,shell',
      ...(options.leaseSeconds === undefined ? {} : { ATTUNE__WORKER__LEASE_SECONDS: String(options.leaseSeconds) }),
    });
    harness.sampleMemory();
    const api = harness.start('api', 'api');
    for (const role of ['rules', 'worker', 'maintenance'] as const) harness.start(role, role);
    const base = await apiUrl(api);
    await Promise.all(['rules', 'worker', 'maintenance'].map((name) => harness!.get(name).waitForLog('running')));

    // Load for the whole scenario: webhooks, and executions requested directly (refused while the server is down).
    const tally = new WebhookTally();
    const directIds: number[] = [];
    let directRefused = 0;
    const stopLoad = new AbortController();
    gate = new BacklogGate(pool, options.maxBacklog ?? 200);
    const load = Promise.all([
      postWebhooks(() => base, path, Number.MAX_SAFE_INTEGER, options.concurrency, tally, { stop: stopLoad.signal, pauseMs: 20, gate: () => gate!.wait() }),
      (async () => {
        while (!stopLoad.signal.aborted) {
          await gate!.wait();
          try {
            directIds.push((await requestExecution(pool!, 'core.local', { cmd: 'echo direct' })).id);
          } catch {
            directRefused += 1;
          }
          await sleep(50);
        }
      })(),
    ]);

    const restarts: RestartFigures[] = [];
    const strandedIds: number[] = [];
    const probes = new WebhookTally();
    for (let round = 0; round < options.restarts; round++) {
      await sleep(options.loadMs);
      const down = performance.now();
      await server.stop();
      // Webhooks while the server is down: each must come back 503 at once. The outage is counted from the end of the
      // stop, which can itself take longer than the outage under load, and at least one webhook is always posted.
      const stopped = performance.now();
      const outage = new WebhookTally();
      let slowest = 0;
      do {
        const posted = performance.now();
        await postWebhook(base, path, { outage: round }, outage);
        slowest = Math.max(slowest, since(posted));
        await sleep(100);
      } while (performance.now() - stopped < options.outageMs);
      await server.start();
      const ready = performance.now();
      const outageMs = Math.round(ready - down);
      // The first webhook accepted again, and its way to a succeeded execution.
      const eventId = await waitUntil(
        `a webhook to be accepted after restart ${round + 1}`,
        async () => {
          const before = probes.acceptedEventIds.length;
          await postWebhook(base, path, { probe: round }, probes);
          return probes.acceptedEventIds.length > before ? probes.acceptedEventIds.at(-1) : undefined;
        },
        Math.max(1000, deadline - Date.now()),
        50,
      );
      const firstAcceptedMs = since(ready);
      const strandedId = await waitUntil('the database to take a stranded run', () => strandRun(pool!).catch(() => undefined), Math.max(1000, deadline - Date.now()), 50);
      strandedIds.push(strandedId);
      await waitUntil(`the webhook's execution to succeed after restart ${round + 1}`, async () => (await webhookExecutionStatus(pool!, eventId)) === 'succeeded', Math.max(1000, deadline - Date.now()), 50);
      const recoveryMs = since(ready);
      await waitUntil(`the maintenance role to sweep after restart ${round + 1}`, async () => (await statusOf(pool!, strandedId)) === 'abandoned', Math.max(1000, deadline - Date.now()), 50);
      restarts.push({ outageMs, repliesDuringOutage: outage.toJSON(), slowestOutageReplyMs: slowest, firstAcceptedMs, recoveryMs, maintenanceResumedMs: since(ready) });
    }
    await sleep(options.loadMs);
    stopLoad.abort();
    await load;
    const loadEndedAt = Date.now();

    const accepted = [...tally.acceptedEventIds, ...probes.acceptedEventIds];
    const stranded = new Set(strandedIds);
    await waitUntil(
      'everything accepted to be processed',
      async () => {
        const webhooks = await auditWebhookEvents(pool!, accepted, ruleId);
        const all = await auditExecutions(pool!);
        return webhooks.executions === webhooks.accepted && webhooks.notFinal === 0 && all.notFinal === 0;
      },
      Math.max(1000, deadline - Date.now()),
      250,
    );
    const webhooks = await auditWebhookEvents(pool, accepted, ruleId);
    const direct = await auditExecutions(pool, directIds);
    const all = await auditExecutions(pool);
    const notStranded = all.total - stranded.size;
    const abandonedOtherwise = all.abandoned - stranded.size;
    const reconnectsOf = (name: string): number =>
      harness!.get(name).logLines().filter((line) => line.msg?.startsWith('notification listener reconnected')).length;
    // A listener reconnects with a growing backoff, and the work above can be done (by polling) before it is back: wait
    // for the rules' and the worker's listeners before counting. One that never comes back still fails, at the deadline.
    for (const name of ['rules', 'worker']) {
      await waitUntil(`the ${name} role's notification listener to reconnect`, async () => (reconnectsOf(name) > 0 ? true : undefined), Math.max(1000, deadline - Date.now()), 100);
    }
    const reconnects = Object.fromEntries([...harness.children.keys()].map((name) => [name, reconnectsOf(name)]));
    const figures = {
      restarts: restarts.length,
      perRestart: restarts,
      replies: tally.toJSON(),
      webhooksAccepted: webhooks.accepted,
      webhookExecutionsSucceeded: webhooks.succeeded,
      directRequested: direct.total,
      directRefusedWhileDown: directRefused,
      directByStatus: direct.byStatus,
      executions: notStranded,
      // Runs that ended abandoned other than the stranded ones: a worker's lease that ran out while the server was down.
      abandoned: abandonedOtherwise,
      retried: all.retried,
      lost: webhooks.lostEvents + webhooks.withoutEnforcement + all.notFinal,
      duplicated: webhooks.duplicatedEnforcements + all.duplicatedFinish + all.badHistory,
      missingFinishEvents: all.missingFinish,
      listenerReconnects: reconnects,
      drainSecondsAfterLoad: Math.round((Date.now() - loadEndedAt) / 100) / 10,
      rolesStillRunning: [...harness.children.values()].every((child) => child.running),
      peakRssMb: harness.peakRssMb(),
    };
    reportFigures('database-restart', figures);
    return { figures, webhooks, direct };
  } finally {
    await gate?.stop();
    await harness?.close();
    await pool?.end().catch(() => undefined);
    await server.stop();
    rmSync(clusterDir, { recursive: true, force: true });
  }
}
