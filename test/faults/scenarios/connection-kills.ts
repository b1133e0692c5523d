/**
 * Connection kills: with `attune api`, `rules`, `worker` and `maintenance`
 * running under load (webhooks posted, executions requested directly),
 * `pg_terminate_backend` ends every Attune connection (application_name
 * 'attune <role>' and 'attune <role> listener') again and again. Nothing
 * wakes the roles afterwards: the pools reconnect, the listeners come back,
 * and polling alone must finish everything.
 */
import type pg from 'pg';
import { requestExecution } from '../../../src/engine/request-execution.js';
import { cleanDatabase } from '../../../src/testing/index.js';
import { apiUrl, auditWebhookEvents, createWebhookRule, postWebhooks, WebhookTally } from '../load.js';
import { auditExecutions, FaultHarness, randomBetween, reportFigures, sleep, waitUntil } from '../support.js';

export interface ConnectionKillsOptions {
  webhooks: number;
  directExecutions: number;
  /** Rounds of pg_terminate_backend, at least. */
  rounds: number;
  timeoutMs: number;
  /**
   * The worker's lease; default 10 s, not the fault settings' 3 s: under kills every 100-600 ms on a loaded machine a
   * round trip can take a second, and a 3 s lease (renewed every second) then runs out while the run is healthy. That
   * is a lease expiry, which this scenario is not about (docs/reliability.md).
   */
  leaseSeconds?: number;
}

/** Ends every connection of the Attune role processes on this database; returns how many. */
async function terminateAttuneConnections(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND application_name LIKE 'attune %' AND pid <> pg_backend_pid()`,
  );
  return rows[0]!.n;
}

export async function runConnectionKills(pool: pg.Pool, options: ConnectionKillsOptions) {
  await cleanDatabase(pool);
  const { ruleId, path } = await createWebhookRule(pool, 'kills');
  const harness = new FaultHarness({
    ATTUNE__WORKER__RUNNERS: 'noop,shell',
    ATTUNE__WORKER__LEASE_SECONDS: String(options.leaseSeconds ?? 10),
  });
  const deadline = Date.now() + options.timeoutMs;
  try {
    harness.sampleMemory();
    const api = harness.start('api', 'api');
    for (const role of ['rules', 'worker', 'maintenance'] as const) harness.start(role, role);
    const base = await apiUrl(api);
    await Promise.all(['rules', 'worker', 'maintenance'].map((name) => harness.get(name).waitForLog('running')));
    const tally = new WebhookTally();
    const directIds: number[] = [];
    let terminated = 0;
    let rounds = 0;
    const loadDone = new AbortController();
    const load = Promise.all([
      postWebhooks(() => base, path, options.webhooks, 4, tally, { pauseMs: 5 }),
      (async () => {
        for (let i = 0; i < options.directExecutions; i++) {
          directIds.push((await requestExecution(pool, 'core.local', { cmd: 'echo direct' })).id);
          await sleep(5);
        }
      })(),
    ]).finally(() => loadDone.abort());
    // Kill every Attune connection at random moments while the load runs, and at least `rounds` times.
    while ((!loadDone.signal.aborted || rounds < options.rounds) && Date.now() < deadline) {
      await sleep(randomBetween(100, 600));
      terminated += await terminateAttuneConnections(pool);
      rounds += 1;
    }
    await load;
    const loadEndedAt = Date.now();
    await waitUntil(
      'everything accepted to be processed',
      async () => {
        const webhooks = await auditWebhookEvents(pool, tally.acceptedEventIds, ruleId);
        const direct = await auditExecutions(pool, directIds);
        return webhooks.executions === webhooks.accepted && webhooks.notFinal === 0 && direct.notFinal === 0;
      },
      Math.max(1000, deadline - Date.now()),
      250,
    ).catch(async (error: Error) => {
      const state = await pool.query(`SELECT status, count(*)::int AS n FROM executions GROUP BY status`);
      const queued = await pool.query(`SELECT count(*)::int AS n FROM event_queue`);
      throw new Error(`${error.message}: executions ${JSON.stringify(state.rows)}, event queue ${queued.rows[0].n}, replies ${JSON.stringify(tally.toJSON())}`);
    });
    const webhooks = await auditWebhookEvents(pool, tally.acceptedEventIds, ruleId);
    const direct = await auditExecutions(pool, directIds);
    const all = await auditExecutions(pool);
    const reconnects = Object.fromEntries(
      [...harness.children].map(([name, child]) => [name, child.logLines().filter((line) => line.msg?.startsWith('notification listener reconnected')).length]),
    );
    const figures = {
      rounds,
      connectionsTerminated: terminated,
      replies: tally.toJSON(),
      webhooksAccepted: webhooks.accepted,
      webhookExecutionsSucceeded: webhooks.succeeded,
      directExecutions: direct.total,
      directByStatus: direct.byStatus,
      // A run's writes are retried on a fresh connection: none is left to the lease sweep because of a kill.
      abandoned: all.abandoned,
      listenerReconnects: reconnects,
      lost: webhooks.lostEvents + webhooks.withoutEnforcement + all.notFinal,
      duplicated: webhooks.duplicatedEnforcements + all.duplicatedFinish + all.badHistory,
      missingFinishEvents: all.missingFinish,
      drainSecondsAfterLoad: Math.round((Date.now() - loadEndedAt) / 100) / 10,
      rolesStillRunning: [...harness.children.values()].every((child) => child.running),
      peakRssMb: harness.peakRssMb(),
    };
    reportFigures('connection-kills', figures);
    return { figures, webhooks, direct };
  } finally {
    await harness.close();
  }
}
