/**
 * Worker crash: N executions (half core.noop, half a short core.local) run
 * by three `attune worker` processes while `attune maintenance` sweeps; the
 * third worker is SIGKILLed at random moments, each time while it holds runs,
 * and restarted under the same name. Afterwards every execution is in exactly
 * one final state with one finish event and a consistent attempts history;
 * the retried ones are counted, none is lost or finished twice.
 */
import type pg from 'pg';
import { requestExecution } from '../../../src/engine/request-execution.js';
import { registerPack } from '../../../src/packs/register.js';
import { cleanDatabase } from '../../../src/testing/index.js';
import { auditExecutions, CORE_PACK, FaultHarness, randomBetween, reportFigures, sleep, waitUntil, type ExecutionAudit } from '../support.js';

export interface WorkerCrashOptions {
  executions: number;
  /** Kills of the victim worker, at least. */
  minKills: number;
  /** Bound on the whole run (a hang fails it). */
  timeoutMs: number;
}

export interface WorkerCrashResult {
  audit: ExecutionAudit;
  kills: number;
  restarts: number;
  /** Attempts the maintenance role recorded as lost (abandoned attempts of executions that went on). */
  lostAttempts: number;
  seconds: number;
  peakRssMb: Record<string, number>;
}

/** Inserts `count` requested executions copying the two template requests (their params prepared by requestExecution). */
async function requestMany(pool: pg.Pool, count: number): Promise<void> {
  const noop = await requestExecution(pool, 'core.noop', {}, { maxAttempts: 3 });
  const local = await requestExecution(pool, 'core.local', { cmd: 'echo ran; sleep 0.05' }, { maxAttempts: 3 });
  await pool.query(
    `INSERT INTO executions (action_id, action_ref, runner_type, params, max_attempts, timeout_seconds)
     SELECT t.action_id, t.action_ref, t.runner_type, t.params, t.max_attempts, t.timeout_seconds
       FROM generate_series(1, $1::int) AS g
       JOIN executions t ON t.id = CASE WHEN g % 2 = 0 THEN $2::bigint ELSE $3::bigint END`,
    [count - 2, noop.id, local.id],
  );
}

async function runsHeldBy(pool: pg.Pool, workerName: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM executions x JOIN workers w ON w.id = x.worker_id WHERE w.name = $1 AND x.status = 'running'`,
    [workerName],
  );
  return rows[0]!.n;
}

async function unfinished(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM executions WHERE status NOT IN ('succeeded', 'failed', 'timeout', 'canceled', 'abandoned')`,
  );
  return rows[0]!.n;
}

export async function runWorkerCrash(pool: pg.Pool, options: WorkerCrashOptions): Promise<WorkerCrashResult> {
  await cleanDatabase(pool);
  await registerPack(pool, CORE_PACK);
  await requestMany(pool, options.executions);
  const harness = new FaultHarness({});
  const startedAt = Date.now();
  const deadline = startedAt + options.timeoutMs;
  try {
    harness.sampleMemory();
    harness.start('maintenance', 'maintenance');
    for (const name of ['worker-1', 'worker-2', 'worker-3']) harness.start(name, 'worker');
    // Kill the victim while it holds runs, at a random moment after it got them, until the queue is
    // drained (and at least minKills times: new executions are added if the queue ran dry first).
    while (Date.now() < deadline) {
      const left = await unfinished(pool);
      if (left === 0 && harness.kills >= options.minKills) break;
      if (left === 0) await requestMany(pool, Math.max(20, Math.floor(options.executions / 10)));
      const holding = await waitUntil('worker-3 to hold runs', async () => (await runsHeldBy(pool, 'worker-3')) > 0 || (await unfinished(pool)) === 0, deadline - Date.now(), 50);
      if (!holding) continue;
      if ((await unfinished(pool)) === 0) continue;
      await sleep(randomBetween(0, 400));
      await harness.killAndRestart('worker-3');
      // Let it start and take work again before the next kill.
      await sleep(randomBetween(500, 2500));
    }
    await waitUntil('every execution to reach a final state', async () => (await unfinished(pool)) === 0, Math.max(1000, deadline - Date.now()), 250);
    const audit = await auditExecutions(pool);
    const lost = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM execution_attempts WHERE status = 'abandoned'`);
    const result: WorkerCrashResult = {
      audit,
      kills: harness.kills,
      restarts: harness.restarts,
      lostAttempts: lost.rows[0]!.n,
      seconds: Math.round((Date.now() - startedAt) / 100) / 10,
      peakRssMb: harness.peakRssMb(),
    };
    reportFigures('worker-crash', {
      executions: audit.total,
      byStatus: audit.byStatus,
      kills: result.kills,
      restarts: result.restarts,
      retried: audit.retried,
      lostAttemptsRecovered: result.lostAttempts,
      lost: audit.notFinal,
      duplicated: audit.duplicatedFinish,
      missingFinishEvents: audit.missingFinish,
      badHistory: audit.badHistory,
      seconds: result.seconds,
      peakRssMb: result.peakRssMb,
    });
    return result;
  } finally {
    await harness.close();
  }
}
