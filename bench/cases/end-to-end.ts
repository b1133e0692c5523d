/**
 * End to end, event → `succeeded`: a batch of events fired (`fireEvents`) for
 * a trigger with one rule whose action is a no-op; the rules role turns them
 * into requested executions and the worker role claims, runs and completes
 * them. One operation ends when every execution of its batch has succeeded.
 *
 * - e2e.in-process / e2e.in-process-backlog: the rules role and the worker
 *   role run in the bench process, each with its own pool and NOTIFY
 *   listener, built as `attune rules` and `attune worker` build theirs (same
 *   settings); the operation waits on the worker's observer.
 * - e2e.processes / e2e.processes-backlog: `attune rules` and `attune worker`
 *   as two child processes (test/faults/role-process.ts, as the fault tests
 *   start them) on the bench database; the operation waits by reading, each
 *   time `attune_stream` is notified, first which executions the batch's
 *   events got, then (by primary key) whether they all succeeded.
 *
 * The backlog variants run with 20,000 requested executions (2,000 with
 * --quick) queued ahead of the batch, ready (run_after an hour ago) but of a
 * runner type no worker here serves (`python`): the claim index holds them and
 * every claim's range covers them, while the measured flow is the same. (A
 * backlog the worker serves would make the operation a drain of 20,000: that
 * is worker.backlog.) The seeded data's ~2,000 requested executions without
 * a runner type are queued in every variant alike.
 *
 * The baseline is the sum of the per-stage hand-written baselines of the
 * earlier benchmarks, run one after the other on the bench connection for a
 * batch of the same size: the events in one multi-row INSERT (event.create-many,
 * rules.process-1), their queue rows deleted and the enforcements and
 * executions written in one statement with the parameters concatenated
 * (rules.process-1), then the executions claimed FOR UPDATE SKIP LOCKED 16 at
 * a time and completed in one UPDATE per claim (worker.noop's raw loop). The
 * first two stages share one transaction, since the live rules role would
 * otherwise claim the baseline's events between them; that saves the baseline
 * a commit. Its executions are of runner type `http`, which no worker here
 * takes. Rates are events (= executions) per second.
 *
 * Where the time goes is printed to stderr when the bench exits: per
 * operation, the critical path split into intake (fireEvents), matching
 * (until the rules role has committed the last batch's executions), claim
 * (until the worker has claimed the last one) and run + complete (until the
 * last is written succeeded), with the first-execution latencies, and the
 * baseline's three stages timed the same way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { workerOptionsFrom } from '../../src/cli/commands/worker.js';
import { loadConfig } from '../../src/config.js';
import { SecretCipher } from '../../src/crypto/secrets.js';
import { NotificationListener } from '../../src/db/listener.js';
import { createPool } from '../../src/db/pool.js';
import { createEventProcessorRole, type EventProcessorRole } from '../../src/engine/event-processor.js';
import { fireEvents, type EventToFire } from '../../src/engine/fire-event.js';
import { createLogger } from '../../src/log.js';
import { ActionRepository } from '../../src/repositories/actions.js';
import { PackRepository } from '../../src/repositories/packs.js';
import { RuleRepository } from '../../src/repositories/rules.js';
import { TriggerRepository } from '../../src/repositories/triggers.js';
import { createWorkerRole, type WorkerRole } from '../../src/worker/worker.js';
import { counter, type BenchContext, databaseUrlOf } from '../context.js';
import type { BenchCase } from '../harness.js';
import { rawClaimAndComplete } from '../raw-queue.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ROLE_PROCESS = join(REPO_ROOT, 'test/faults/role-process.ts');
const PACK = 'bench_e2e';
/** Events (and so executions) per operation: two rules batches of the default 100. */
const BATCH = 200;
/** The worker's slots, and so the raw loop's claim size (as worker.noop). */
const SLOTS = 16;
const BACKLOG_FULL = 20_000;
const BACKLOG_QUICK = 2_000;
/** The child-process wait reads the batch's executions again after this long without an `attune_stream` notification. */
const POLL_MS = 25;
const FINISH_TRIGGERS = ['core.execution_finished', 'core.st2.generic.actiontrigger'];
const ACTION_SCHEMA = {
  type: 'object',
  properties: { message: { type: 'string' }, host: { type: 'string' }, count: { type: 'integer', default: 1 } },
  required: ['message'],
  additionalProperties: false,
};
/** rules.process-1's rule: two criteria and two templated parameters. */
const CRITERIA = { 'trigger.level': { type: 'equals', pattern: 'high' }, 'trigger.host': { type: 'startswith', pattern: 'web' } };
const PARAMS = { message: 'rule 0: {{ trigger.host }} is {{ trigger.level }}', host: '{{ trigger.host }}' };

/** The same settings for the roles in this process and in the child processes (config defaults otherwise). */
const ROLE_ENV: Record<string, string> = {
  ATTUNE__LOG__LEVEL: 'info',
  ATTUNE__WORKER__SLOTS: String(SLOTS),
  ATTUNE__WORKER__RUNNERS: 'noop',
  ATTUNE__WORKER__LEASE_SECONDS: '60',
  ATTUNE__SECURITY__ENABLE_AUTH: 'false',
};

/** One product operation's milestones, epoch milliseconds. */
interface OpMarks {
  t0: number;
  fired: number;
  requestedFirst: number;
  requestedAll: number;
  claimedFirst: number;
  claimedAll: number;
  finishedAll: number;
  end: number;
}

/** Epoch milliseconds with a fraction (the same clock as Date.now() and the server's clock_timestamp on this host). */
const now = (): number => performance.timeOrigin + performance.now();

function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface Scene {
  triggerId: number;
  triggerRef: string;
  rawTriggerId: number;
  rule: { id: number; ref: string };
  noop: { id: number; ref: string };
  raw: { id: number; ref: string };
  backlog: { id: number; ref: string };
  rawRule: { id: number; ref: string };
  rawWorkerId: number;
}

interface InProcess {
  rulesPool: pg.Pool;
  workerPool: pg.Pool;
  rulesListener: NotificationListener;
  workerListener: NotificationListener;
  rules: EventProcessorRole;
  worker: WorkerRole;
  dataDir: string;
}

interface Children {
  rules: ChildProcess;
  worker: ChildProcess;
  dataDir: string;
  /** The bench's own connection for waiting (not the timed bench connection), and its listener. */
  pool: pg.Pool;
  listener: NotificationListener;
}

export function endToEndCases(ctx: BenchContext): BenchCase[] {
  const { db } = ctx;
  const next = counter();
  const BACKLOG = ctx.quick ? BACKLOG_QUICK : BACKLOG_FULL;
  let scene: Scene | undefined;
  let inProcess: InProcess | undefined;
  let children: Children | undefined;

  /** Rules batches committed (epoch ms, executions written), from the rules role's 'processed event batch' log line. */
  const rulesBatches: { t: number; executions: number }[] = [];
  /** Worker claims and finishes in this process (epoch ms), by trace id of the event. */
  const traceOf = new Map<number, string>();
  const claims: { t: number; count: number }[] = [];
  const done = new Map<string, number>();
  let waiting: { left: Set<string>; resolve(): void } | undefined;
  /** The child-process wait: woken by `attune_stream`, or after POLL_MS without one. */
  let streamWake: (() => void) | undefined;
  const waitStats = { reads: 0, notified: 0, timer: 0, readMs: [] as number[] };

  /** Stage figures per case, printed at exit. */
  const marks = new Map<string, OpMarks[]>();
  const baselineStages: { intake: number; matching: number; claimComplete: number }[] = [];

  const build = async (): Promise<Scene> => {
    if (scene) return scene;
    const pack = (await PackRepository.findByRef(db, PACK)) ?? (await PackRepository.create(db, { ref: PACK, version: '1.0.0', name: 'Bench end to end' }));
    const action = async (name: string, runnerType: 'noop' | 'http' | 'python') =>
      (await ActionRepository.findByRef(db, `${PACK}.${name}`)) ??
      (await ActionRepository.create(db, { packId: pack.id, name, runnerType, paramSchema: ACTION_SCHEMA }));
    const noop = await action('noop', 'noop');
    const raw = await action('raw', 'http');
    const backlog = await action('backlog', 'python');
    const trigger = async (name: string) =>
      (await TriggerRepository.findByRef(db, `${PACK}.${name}`)) ?? (await TriggerRepository.create(db, { packId: pack.id, name }));
    const tick = await trigger('tick');
    const rawTick = await trigger('raw_tick');
    const rule = async (name: string, triggerId: number, actionId: number) =>
      (await RuleRepository.findByRef(db, `${PACK}.${name}`)) ??
      (await RuleRepository.create(db, { packId: pack.id, name, triggerId, actionId, criteria: CRITERIA, actionParams: PARAMS }));
    const onTick = await rule('on_tick', tick.id, noop.id);
    const onRawTick = await rule('on_raw_tick', rawTick.id, raw.id);
    // Events of the seeded data set (and of other cases) are queued too: the rules role must find only this case's.
    await db.query('DELETE FROM event_queue');
    // As worker.noop: no finish events (no-op if the core pack is not registered).
    await db.query('UPDATE triggers SET enabled = false WHERE ref = ANY($1::text[]) AND pack_id IS NOT NULL', [FINISH_TRIGGERS]);
    const rawWorkerId = Number((await db.query<{ id: string }>(`SELECT id FROM workers WHERE name = 'bench-worker'`)).rows[0]!.id);
    scene = {
      triggerId: tick.id,
      triggerRef: tick.ref,
      rawTriggerId: rawTick.id,
      rule: { id: onTick.id, ref: onTick.ref },
      noop: { id: noop.id, ref: noop.ref },
      raw: { id: raw.id, ref: raw.ref },
      backlog: { id: backlog.id, ref: backlog.ref },
      rawRule: { id: onRawTick.id, ref: onRawTick.ref },
      rawWorkerId,
    };
    return scene;
  };

  const setBacklog = async (size: number): Promise<void> => {
    const s = await build();
    const have = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM executions WHERE action_id = $1 AND status = $2', [s.backlog.id, 'requested'])).rows[0]!.n);
    if (have === size) return;
    await db.query('DELETE FROM executions WHERE action_id = $1', [s.backlog.id]);
    if (size > 0) {
      await db.query(
        `INSERT INTO executions (action_id, action_ref, runner_type, params, run_after)
         SELECT $1, $2, 'python', jsonb_build_object('message', 'backlog ' || g), now() - interval '1 hour'
           FROM generate_series(1, $3) AS g`,
        [s.backlog.id, s.backlog.ref, size],
      );
    }
    await ctx.client.query('VACUUM (ANALYZE) executions');
  };

  const roleConfig = () => loadConfig({ env: { ...ROLE_ENV, ATTUNE__DATABASE__URL: databaseUrlOf(ctx.client) }, envFiles: [] });

  const stopInProcess = async (): Promise<void> => {
    if (!inProcess) return;
    const p = inProcess;
    inProcess = undefined;
    await p.rules.stop();
    await p.worker.stop();
    await p.rulesListener.close();
    await p.workerListener.close();
    await p.rulesPool.end();
    await p.workerPool.end();
    rmSync(p.dataDir, { recursive: true, force: true });
  };

  const stopChildren = async (): Promise<void> => {
    if (!children) return;
    const c = children;
    children = undefined;
    const exited = (child: ChildProcess) => (child.exitCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once('exit', () => r())));
    c.rules.kill('SIGTERM');
    c.worker.kill('SIGTERM');
    await Promise.all([exited(c.rules), exited(c.worker)]);
    await c.listener.close();
    await c.pool.end();
    rmSync(c.dataDir, { recursive: true, force: true });
  };

  process.once('exit', () => {
    if (children) {
      children.rules.kill('SIGKILL');
      children.worker.kill('SIGKILL');
      rmSync(children.dataDir, { recursive: true, force: true });
    }
    if (inProcess) rmSync(inProcess.dataDir, { recursive: true, force: true });
    printStages();
  });

  /** Records a rules batch from a pino line of the rules role. */
  const rulesLine = (line: string, t?: number): void => {
    if (!line.includes('processed event batch')) return;
    try {
      const entry = JSON.parse(line) as { time?: number; executions?: number };
      rulesBatches.push({ t: t ?? entry.time ?? now(), executions: entry.executions ?? 0 });
    } catch {
      // not a JSON line
    }
  };

  const startInProcess = async (): Promise<void> => {
    await stopChildren();
    if (inProcess) return;
    const config = roleConfig();
    const url = config.database.url!;
    // Each role on its own pool and listener, as a separate `attune rules` / `attune worker` would have.
    const rulesPool = createPool({ url, maxConnections: config.database.maxConnections, applicationName: 'attune-bench-e2e-rules' });
    const workerPool = createPool({ url, maxConnections: config.database.maxConnections, applicationName: 'attune-bench-e2e-worker' });
    const rulesListener = new NotificationListener({ url, applicationName: 'attune-bench-e2e-rules listener' });
    const workerListener = new NotificationListener({ url, applicationName: 'attune-bench-e2e-worker listener' });
    await rulesListener.start();
    await workerListener.start();
    // The rules role logs at info as `attune rules` does; its batch lines are timed here, the rest dropped.
    const rulesLogger = createLogger(config.log.level, { write: (line: string) => rulesLine(line, now()) });
    const workerLogger = createLogger(config.log.level, { write: () => undefined });
    const rules = createEventProcessorRole({
      pool: rulesPool,
      listener: rulesListener,
      logger: rulesLogger,
      batchSize: config.rules.batchSize,
      pollIntervalMs: config.rules.pollIntervalMs,
      cipher: SecretCipher.fromConfig(config.security),
    });
    const dataDir = mkdtempSync(join(tmpdir(), 'attune-bench-e2e-'));
    const worker = createWorkerRole({
      ...workerOptionsFrom(config),
      pool: workerPool,
      listener: workerListener,
      logger: workerLogger.child({ role: 'worker' }),
      name: 'bench-e2e-worker',
      dataDir,
      observer: {
        claimed(executions) {
          claims.push({ t: now(), count: executions.length });
          for (const execution of executions) if (execution.traceId) traceOf.set(execution.id, execution.traceId);
        },
        finished(id) {
          const trace = traceOf.get(id);
          if (trace === undefined) return;
          traceOf.delete(id);
          done.set(trace, now());
          if (waiting?.left.delete(trace) && waiting.left.size === 0) waiting.resolve();
        },
      },
    });
    await rules.start();
    await worker.start();
    inProcess = { rulesPool, workerPool, rulesListener, workerListener, rules, worker, dataDir };
  };

  const startChildren = async (): Promise<void> => {
    await stopInProcess();
    if (children) return;
    const dataDir = mkdtempSync(join(tmpdir(), 'attune-bench-e2e-'));
    const env = {
      ...process.env,
      ...ROLE_ENV,
      ATTUNE__DATABASE__URL: databaseUrlOf(ctx.client),
      ATTUNE__WORKER__DATA_DIR: dataDir,
      ATTUNE__SENSORS__DATA_DIR: dataDir,
      ATTUNE__WORKER__NAME: 'bench-e2e-worker-process',
    };
    const start = (role: 'rules' | 'worker') =>
      new Promise<ChildProcess>((resolveStart, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', ROLE_PROCESS, role], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let ready = false;
        let stderr = '';
        child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
        createInterface({ input: child.stdout! }).on('line', (line) => {
          if (role === 'rules') rulesLine(line);
          if (!ready && line.includes('SIGINT or SIGTERM stops')) {
            ready = true;
            resolveStart(child);
          }
        });
        child.once('exit', (code) => {
          if (!ready) reject(new Error(`attune ${role} exited with ${String(code)} before it was running: ${stderr}`));
        });
      });
    const [rules, worker] = await Promise.all([start('rules'), start('worker')]);
    const url = databaseUrlOf(ctx.client);
    const pool = createPool({ url, maxConnections: 1, applicationName: 'attune-bench-e2e-wait' });
    // Dropping the bench database at the end ends this connection: nothing to report then.
    const listener = new NotificationListener({ url, applicationName: 'attune-bench-e2e-wait listener', onError: () => undefined });
    await listener.start();
    await listener.listen('attune_stream', () => streamWake?.());
    children = { rules, worker, dataDir, pool, listener };
  };

  const makeEvents = (): EventToFire[] =>
    Array.from({ length: BATCH }, () => {
      const n = next();
      return { triggerRef: scene!.triggerRef, payload: { level: 'high', host: `web-${n % 50}`, n, message: 'disk usage above threshold on /var' }, source: 'sensor.bench', traceId: `e2e-${n}` };
    });

  /** The critical path of one operation from the rules batches and claims seen since `t0`. */
  const record = (name: string, m: Pick<OpMarks, 't0' | 'fired' | 'end'> & Partial<OpMarks>): void => {
    const batches = rulesBatches.filter((b) => b.t >= m.t0 - 1);
    let total = 0;
    let requestedAll = NaN;
    for (const b of batches) {
      total += b.executions;
      if (total >= BATCH) {
        requestedAll = b.t;
        break;
      }
    }
    const full: OpMarks = {
      t0: m.t0,
      fired: m.fired,
      end: m.end,
      requestedFirst: batches[0]?.t ?? NaN,
      requestedAll,
      claimedFirst: m.claimedFirst ?? NaN,
      claimedAll: m.claimedAll ?? NaN,
      finishedAll: m.finishedAll ?? NaN,
    };
    let list = marks.get(name);
    if (!list) marks.set(name, (list = []));
    list.push(full);
  };

  /** In this process: fire, then wait on the worker's observer for every trace id of the batch. */
  const runInProcess = (name: string) => async (): Promise<number> => {
    await startInProcess();
    rulesBatches.splice(0, rulesBatches.length);
    claims.splice(0, claims.length);
    const t0 = now();
    const sent = ctx.exec.statements;
    const events = await fireEvents(db, makeEvents());
    const fired = now();
    // Replayed (the harness's client-side timing): the events are the recorded call's, long finished.
    if (ctx.exec.statements === sent) return events.length;
    const traces = events.map((e) => e.traceId!);
    const left = new Set(traces.filter((t) => !done.has(t)));
    if (left.size > 0) await new Promise<void>((resolveWait) => (waiting = { left, resolve: resolveWait }));
    waiting = undefined;
    const end = now();
    let claimed = 0;
    let claimedAll = NaN;
    for (const c of claims) {
      claimed += c.count;
      if (claimed >= BATCH) {
        claimedAll = c.t;
        break;
      }
    }
    const finishedAll = Math.max(...traces.map((t) => done.get(t) ?? NaN));
    for (const t of traces) done.delete(t);
    if (!ctx.exec.recording && name !== 'verify') record(name, { t0, fired, end, claimedFirst: claims[0]?.t ?? NaN, claimedAll, finishedAll });
    return events.length;
  };

  /** In child processes: fire, then read the batch's executions again on every `attune_stream` notification (and every POLL_MS without one). */
  const runProcesses = (name: string) => async (): Promise<number> => {
    await startChildren();
    const c = children!;
    rulesBatches.splice(0, rulesBatches.length);
    const t0 = now();
    const sent = ctx.exec.statements;
    const events = await fireEvents(db, makeEvents());
    const fired = now();
    if (ctx.exec.statements === sent) return events.length;
    const ids = events.map((e) => e.id);
    /** Resolves on the next `attune_stream` notification, or after POLL_MS without one. */
    const nextWake = (): Promise<void> =>
      new Promise<void>((r) => {
        const timer = setTimeout(() => {
          waitStats.timer++;
          r();
        }, POLL_MS);
        streamWake = () => {
          clearTimeout(timer);
          waitStats.notified++;
          r();
        };
      });
    /** One read of the wait, timed; the wake is armed before it, so nothing sent during the read is missed. */
    const read = async <T extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<{ rows: T[]; woken: Promise<void> }> => {
      const woken = nextWake();
      waitStats.reads++;
      const readStart = performance.now();
      const { rows } = await c.pool.query<T>(text, values);
      waitStats.readMs.push(performance.now() - readStart);
      return { rows, woken };
    };
    type Row = { left: string; s_first: number | null; s_all: number | null; f_all: number | null };
    let row: Row;
    try {
      // First the batch's executions, found through its events' enforcements (until all exist); then, by primary key, until all succeeded:
      // a read of 200 index lookups on every notification would itself load the server the roles run on.
      let executionIds: string[] = [];
      for (;;) {
        const found = await read<{ id: string }>(
          'SELECT x.id FROM enforcements en JOIN executions x ON x.enforcement_id = en.id WHERE en.event_id = ANY($1::bigint[])',
          [ids],
        );
        executionIds = found.rows.map((r) => r.id);
        if (executionIds.length === BATCH) break;
        await found.woken;
      }
      for (;;) {
        const state = await read<Row>(
          `SELECT count(*) FILTER (WHERE status <> 'succeeded') AS left,
                  extract(epoch FROM min(started_at)) * 1000 AS s_first, extract(epoch FROM max(started_at)) * 1000 AS s_all,
                  extract(epoch FROM max(finished_at)) * 1000 AS f_all
             FROM executions WHERE id = ANY($1::bigint[])`,
          [executionIds],
        );
        row = state.rows[0]!;
        if (Number(row.left) === 0) break;
        await state.woken;
      }
    } finally {
      streamWake = undefined;
    }
    const end = now();
    if (!ctx.exec.recording && name !== 'verify') record(name, { t0, fired, end, claimedFirst: Number(row.s_first), claimedAll: Number(row.s_all), finishedAll: Number(row.f_all) });
    return events.length;
  };

  /** The three hand-written stages, one after the other, on the bench connection. */
  const baseline = async (): Promise<number> => {
    const s = await build();
    const batch = makeEvents();
    const sent = ctx.exec.statements;
    const t0 = performance.now();
    await db.query('BEGIN');
    let tIntake: number;
    try {
      const inserted = await db.query<{ id: number; payload: { host: string; level: string }; trace_id: string }>(
        `INSERT INTO events (trigger_id, trigger_ref, payload, source, trace_id)
         SELECT $1, $2, u.payload, u.source, u.trace_id FROM unnest($3::jsonb[], $4::text[], $5::text[]) AS u(payload, source, trace_id)
         RETURNING id, payload, trace_id`,
        [s.rawTriggerId, `${PACK}.raw_tick`, batch.map((e) => JSON.stringify(e.payload)), batch.map((e) => e.source), batch.map((e) => e.traceId)],
      );
      tIntake = performance.now();
      const eventIds: number[] = [];
      const params: string[] = [];
      const traceIds: string[] = [];
      for (const row of inserted.rows) {
        eventIds.push(row.id);
        traceIds.push(row.trace_id);
        params.push(JSON.stringify({ message: `rule 0: ${row.payload.host} is ${row.payload.level}`, host: row.payload.host, count: 1 }));
      }
      await db.query('DELETE FROM event_queue WHERE event_id = ANY($1::bigint[])', [eventIds]);
      await db.query(
        `WITH input AS MATERIALIZED (
                SELECT * FROM unnest($1::bigint[], $2::jsonb[], $3::text[]) AS i(event_id, params, trace_id)),
              enforced AS (
                INSERT INTO enforcements (rule_id, rule_ref, event_id, trigger_ref, status, payload, criteria, resolved_params)
                SELECT $4, $5, i.event_id, e.trigger_ref, 'processed', e.payload, r.criteria, i.params
                  FROM input i JOIN events e ON e.id = i.event_id JOIN rules r ON r.id = $4
                RETURNING id, event_id, resolved_params)
         INSERT INTO executions (action_id, action_ref, runner_type, params, enforcement_id, trace_id)
         SELECT $6, $7, 'http', en.resolved_params, en.id, i.trace_id
           FROM enforced en JOIN input i ON i.event_id = en.event_id`,
        [eventIds, params, traceIds, s.rawRule.id, s.rawRule.ref, s.raw.id, s.raw.ref],
      );
      await db.query('COMMIT');
    } catch (error) {
      await db.query('ROLLBACK');
      throw error;
    }
    const tMatch = performance.now();
    const completed = await rawClaimAndComplete(db, { runnerTypes: ['http'], slots: SLOTS, workerId: s.rawWorkerId });
    // Statements not counted: replayed from a recorded call (the harness's client-side timing).
    const replayed = ctx.exec.statements === sent;
    if (!ctx.exec.recording && !replayed) baselineStages.push({ intake: tIntake - t0, matching: tMatch - tIntake, claimComplete: performance.now() - tMatch });
    if (completed !== BATCH && !replayed) throw new Error(`the raw loop completed ${completed} executions, expected ${BATCH}`);
    return completed;
  };

  /** One product operation, then its rows checked: every event has one execution of the no-op action, succeeded, with the event's trace id. */
  const verify = (run: () => Promise<number>) => async (): Promise<string | null> => {
    const before = Number((await db.query<{ id: string }>('SELECT coalesce(max(id), 0) AS id FROM events')).rows[0]!.id);
    await run();
    const row = (
      await db.query<{ events: string; ok: string }>(
        `SELECT count(DISTINCT ev.id) AS events,
                count(x.id) FILTER (WHERE x.status = 'succeeded' AND x.action_id = $2 AND x.trace_id = ev.trace_id) AS ok
           FROM events ev LEFT JOIN enforcements en ON en.event_id = ev.id LEFT JOIN executions x ON x.enforcement_id = en.id
          WHERE ev.id > $1 AND ev.trigger_id = $3`,
        [before, scene!.noop.id, scene!.triggerId],
      )
    ).rows[0]!;
    if (Number(row.events) !== BATCH || Number(row.ok) !== BATCH) return `fired ${row.events} events, ${row.ok} succeeded no-op executions with their trace id; expected ${BATCH} of each`;
    return null;
  };

  const printStages = (): void => {
    if (marks.size === 0 && baselineStages.length === 0) return;
    const f = (x: number) => (Number.isFinite(x) ? x.toFixed(1).padStart(7) : '      —');
    const lines = [
      `\nend to end: where the time goes (median ms per operation of ${BATCH} events; epoch clock; the first four columns are the critical path, they add up to total)`,
      '  case                      ops   intake  matching  to last claim  last run+complete  detect    total | rules 1st  claim 1st  worker drain',
    ];
    for (const [name, list] of marks) {
      const m = (fn: (x: OpMarks) => number) => median(list.map(fn).filter(Number.isFinite));
      lines.push(
        `  ${name.padEnd(24)} ${String(list.length).padStart(4)} ${f(m((x) => x.fired - x.t0))}  ${f(m((x) => x.requestedAll - x.fired))}        ${f(m((x) => x.claimedAll - x.requestedAll))}            ${f(m((x) => x.finishedAll - x.claimedAll))} ${f(m((x) => x.end - x.finishedAll))}  ${f(m((x) => x.end - x.t0))} |  ${f(m((x) => x.requestedFirst - x.fired))}    ${f(m((x) => x.claimedFirst - x.requestedFirst))}       ${f(m((x) => x.finishedAll - x.claimedFirst))}`,
      );
    }
    if (baselineStages.length > 0) {
      const m = (fn: (x: (typeof baselineStages)[number]) => number) => median(baselineStages.map(fn));
      lines.push(
        `  ${'baseline (all cases)'.padEnd(24)} ${String(baselineStages.length).padStart(4)} ${f(m((x) => x.intake))}  ${f(m((x) => x.matching))}   claim + complete ${f(m((x) => x.claimComplete))}                       ${f(m((x) => x.intake + x.matching + x.claimComplete))}`,
      );
    }
    if (waitStats.reads > 0) lines.push(`  (child-process wait: ${waitStats.reads} reads of the batch's executions, ${waitStats.notified} notifications, ${waitStats.timer} reads after ${POLL_MS} ms without one; a read took ${median(waitStats.readMs).toFixed(1)} ms at the median)`);
    process.stderr.write(`${lines.join('\n')}\n`);
  };

  const common = {
    group: 'events' as const,
    baselineTitle: `sum of the stage baselines: ${BATCH} events INSERTed (unnest), queue rows deleted + enforcements and executions in one statement, then claimed SKIP LOCKED ${SLOTS} at a time and completed`,
    rowsPerOp: BATCH,
    writes: true,
    maxOpsPerRound: 1,
    baseline,
  };
  const backlogNote = `${BACKLOG.toLocaleString('en')} ready executions of an unserved runner type queued ahead (2,000 with --quick)`;

  /** Whatever roles the case started, stopped: no later case shares the queues with them. */
  const teardown = async (): Promise<void> => {
    await stopInProcess();
    await stopChildren();
  };

  return [
    {
      ...common,
      teardown,
      name: 'e2e.in-process',
      title: `${BATCH} events → succeeded no-ops, rules and worker roles in the bench process (own pools and listeners), empty queue`,
      setup: async () => {
        await setBacklog(0);
        await startInProcess();
      },
      verify: verify(runInProcess('verify')),
      repo: runInProcess('e2e.in-process'),
    },
    {
      ...common,
      teardown,
      name: 'e2e.in-process-backlog',
      title: `as e2e.in-process, ${backlogNote}`,
      setup: async () => {
        await setBacklog(BACKLOG);
        await startInProcess();
      },
      repo: runInProcess('e2e.in-process-backlog'),
    },
    {
      ...common,
      teardown,
      name: 'e2e.processes',
      title: `${BATCH} events → succeeded no-ops, \`attune rules\` and \`attune worker\` as child processes, empty queue`,
      setup: async () => {
        await setBacklog(0);
        await startChildren();
      },
      verify: verify(runProcesses('verify')),
      repo: runProcesses('e2e.processes'),
    },
    {
      ...common,
      teardown,
      name: 'e2e.processes-backlog',
      title: `as e2e.processes, ${backlogNote}`,
      setup: async () => {
        await setBacklog(BACKLOG);
        await startChildren();
      },
      repo: runProcesses('e2e.processes-backlog'),
    },
  ];
}
