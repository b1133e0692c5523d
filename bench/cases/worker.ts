/**
 * The worker role end to end, in this process with its own pool and
 * listener on the bench database (woken by NOTIFY, the poll a slow backstop):
 *
 * - worker.noop / worker.noop-events: batches of requested no-op executions
 *   claimed, run and completed by the worker, against a raw-SQL loop on one
 *   connection that claims with FOR UPDATE SKIP LOCKED and completes with
 *   one UPDATE, in batches of the same size as the worker's slots. With and
 *   without the core pack's finish triggers enabled (core.execution_finished
 *   and core.st2.generic.actiontrigger fired for every finish).
 * - worker.local-true: `core.local cmd=true`-style executions (the shell
 *   runner: run folder, process group, output capture, result) against
 *   spawning `true` with child_process directly, with the same concurrency.
 * - worker.backlog: 20,000 requested no-ops (2,000 with --quick) inserted at once and drained,
 *   against the same 20,000 fed to the same worker in batches of its slots,
 *   each only when the previous one finished (an empty queue).
 * - worker.latency: one no-op requested while the worker idles on LISTEN,
 *   timed until the worker's claim has it running; against the same row
 *   claimed with raw SQL on the requesting connection (no NOTIFY hop).
 *
 * The worker's statements go through its own pool: the statements per
 * operation count only what the operation itself sends.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { NotificationListener } from '../../src/db/listener.js';
import { createPool } from '../../src/db/pool.js';
import { createLogger } from '../../src/log.js';
import { registerPack } from '../../src/packs/register.js';
import { ActionRepository } from '../../src/repositories/actions.js';
import { PackRepository } from '../../src/repositories/packs.js';
import { createWorkerRole, type WorkerRole } from '../../src/worker/worker.js';
import type { BenchCase, Target } from '../harness.js';
import { rawClaimAndComplete } from '../raw-queue.js';
import { type BenchContext, databaseUrlOf } from '../context.js';

export const WORKER_NOOP_TARGET: Target = { label: 'worker ≥ 0.80× raw SKIP LOCKED loop', min: 0.8 };
export const WORKER_SHELL_TARGET: Target = { label: 'core.local true ≥ 0.70× spawning true', min: 0.7 };
export const WORKER_BACKLOG_TARGET: Target = { label: '20,000 backlog ≥ 0.80× empty-queue rate', min: 0.8 };

const CORE_PACK_DIR = new URL('../../packs/core', import.meta.url).pathname;
const PACK = 'bench_worker';
/** The worker's slots, and so the claim batch of both sides. */
const SLOTS = 16;
/** No-op executions per operation of worker.noop. */
const NOOP_BATCH = 64;
/** Shell executions per operation of worker.local-true. */
const SHELL_BATCH = 16;
/** The backlog of worker.backlog; a quick run uses a tenth (a full drain of 20,000 takes seconds per operation). */
const BACKLOG_FULL = 20_000;
const BACKLOG_QUICK = 2_000;
const FINISH_TRIGGERS = ['core.execution_finished', 'core.st2.generic.actiontrigger'];

interface Scene {
  pool: pg.Pool;
  listener: NotificationListener;
  worker: WorkerRole;
  dataDir: string;
  noop: { id: number; ref: string };
  shell: { id: number; ref: string };
  /** Rows only the raw baseline claims: a runner type the worker does not serve. */
  raw: { id: number; ref: string };
  /** The worker row the raw baseline claims for (the seeded bench worker). */
  rawWorkerId: number;
}

export function workerCases(ctx: BenchContext): BenchCase[] {
  const { db } = ctx;
  let scene: Scene | undefined;
  /** Ids the worker claimed / finished, and who waits for which: each event costs O(1), however many ids an operation waits for. */
  const claimed = { seen: new Set<number>(), waiting: new Map<number, { left: number; resolve(): void }>() };
  const finished = { seen: new Set<number>(), waiting: new Map<number, { left: number; resolve(): void }>() };
  const saw = (track: typeof claimed, id: number): void => {
    track.seen.add(id);
    const waiter = track.waiting.get(id);
    if (waiter === undefined) return;
    track.waiting.delete(id);
    if (--waiter.left === 0) waiter.resolve();
  };

  /** Resolves once the worker has claimed / finished every id (those it did already count at once). */
  const waitAll = (track: typeof claimed, ids: number[]): Promise<void> => {
    const left = ids.filter((id) => !track.seen.has(id));
    if (left.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const waiter = { left: left.length, resolve };
      for (const id of left) track.waiting.set(id, waiter);
    });
  };

  const build = async (): Promise<Scene> => {
    if (scene) return scene;
    const url = databaseUrlOf(ctx.client);
    const pool = createPool({ url, maxConnections: 6, applicationName: 'attune-bench-worker' });
    await registerPack(pool, CORE_PACK_DIR);
    const pack = (await PackRepository.findByRef(db, PACK)) ?? (await PackRepository.create(db, { ref: PACK, version: '1.0.0', name: 'Bench worker' }));
    const action = async (name: string, runnerType: 'noop' | 'shell' | 'http', paramSchema: Record<string, unknown> = {}) =>
      (await ActionRepository.findByRef(db, `${PACK}.${name}`)) ?? (await ActionRepository.create(db, { packId: pack.id, name, runnerType, paramSchema }));
    const noop = await action('noop', 'noop');
    const shell = await action('local', 'shell', { type: 'object', properties: { cmd: { type: 'string' } }, required: ['cmd'] });
    const raw = await action('raw', 'http');
    // The seeded requested executions have no runner type: no worker takes them.
    const listener = new NotificationListener({ url, healthCheckMs: 0 });
    await listener.start();
    const dataDir = mkdtempSync(join(tmpdir(), 'attune-bench-worker-'));
    const worker = createWorkerRole({
      pool,
      listener,
      logger: createLogger('silent'),
      name: 'bench-worker-role',
      slots: SLOTS,
      leaseSeconds: 60,
      runnerTypes: ['noop', 'shell'],
      graceSeconds: 5,
      pollIntervalMs: 1000,
      heartbeatSeconds: 10,
      dataDir,
      defaultTimeoutSeconds: 600,
      outputCapBytes: 1024 * 1024,
      backoff: { baseSeconds: 1, capSeconds: 300 },
      observer: {
        claimed(executions) {
          for (const execution of executions) saw(claimed, execution.id);
        },
        finished(id) {
          saw(finished, id);
        },
      },
    });
    await worker.start();
    const rawWorkerId = Number((await db.query<{ id: string }>(`SELECT id FROM workers WHERE name = 'bench-worker'`)).rows[0]!.id);
    scene = {
      pool, listener, worker, dataDir, rawWorkerId,
      noop: { id: noop.id, ref: noop.ref }, shell: { id: shell.id, ref: shell.ref }, raw: { id: raw.id, ref: raw.ref },
    };
    // A run stopped before its teardown leaves the run folders to this.
    process.once('exit', () => rmSync(dataDir, { recursive: true, force: true }));
    return scene;
  };

  /** Stops the scene's worker (and its listener and pool): the next case, or case group, has the queue to itself. */
  const teardown = async (): Promise<void> => {
    if (!scene) return;
    const s = scene;
    scene = undefined;
    await s.worker.stop();
    await s.listener.close();
    await s.pool.end();
    rmSync(s.dataDir, { recursive: true, force: true });
  };

  const finishEvents = async (enabled: boolean): Promise<void> => {
    const s = await build();
    await s.pool.query('UPDATE triggers SET enabled = $1 WHERE ref = ANY($2::text[]) AND pack_id IS NOT NULL', [enabled, FINISH_TRIGGERS]);
  };

  /** Requests `count` executions of `action` in one statement (as a rule batch would); returns their ids. */
  const request = async (action: { id: number; ref: string }, runnerType: string, count: number, params: Record<string, unknown> = {}): Promise<number[]> => {
    const result = await db.query<{ id: string }>(
      `INSERT INTO executions (action_id, action_ref, runner_type, params)
       SELECT $1, $2, $3, $4::jsonb FROM generate_series(1, $5) RETURNING id`,
      [action.id, action.ref, runnerType, JSON.stringify(params), count],
    );
    return result.rows.map((row) => Number(row.id));
  };

  const runByWorker = async (action: 'noop' | 'shell', count: number): Promise<number> => {
    const s = await build();
    const ids = action === 'noop' ? await request(s.noop, 'noop', count) : await request(s.shell, 'shell', count, { cmd: 'true' });
    await waitAll(finished, ids);
    return ids.length;
  };

  /** The raw loop: claim up to SLOTS with SKIP LOCKED straight into running, complete them in one UPDATE, until the batch is done. */
  const rawLoop = async (count: number): Promise<number> => {
    const s = await build();
    await request(s.raw, 'http', count);
    return rawDrain();
  };

  /** Claims and completes the raw rows until none is left. */
  const rawDrain = async (): Promise<number> => {
    const s = await build();
    return rawClaimAndComplete(db, { runnerTypes: ['http'], slots: SLOTS, workerId: s.rawWorkerId });
  };

  /** `true` spawned `count` times, at most SLOTS at once. */
  const spawnTrue = async (count: number): Promise<void> => {
    let started = 0;
    const one = (): Promise<void> =>
      new Promise((resolve, reject) => {
        const child = spawn('true', [], { stdio: 'ignore' });
        child.on('error', reject);
        child.on('close', () => resolve());
      });
    const lane = async (): Promise<void> => {
      while (started < count) {
        started++;
        await one();
      }
    };
    await Promise.all(Array.from({ length: Math.min(SLOTS, count) }, lane));
  };

  let lastLatencyId: number | undefined;
  const BACKLOG = ctx.quick ? BACKLOG_QUICK : BACKLOG_FULL;

  return [
    {
      name: 'worker.noop',
      group: 'executions',
      title: `${NOOP_BATCH} no-op executions claimed, run and completed by the worker (${SLOTS} slots), finish triggers disabled`,
      baselineTitle: `raw SQL: ${NOOP_BATCH} rows claimed SKIP LOCKED ${SLOTS} at a time and completed, one connection`,
      rowsPerOp: NOOP_BATCH,
      writes: true,
      maxOpsPerRound: 20,
      target: WORKER_NOOP_TARGET,
      teardown,
      setup: async () => finishEvents(false),
      repo: () => runByWorker('noop', NOOP_BATCH),
      baseline: () => rawLoop(NOOP_BATCH),
    },
    {
      name: 'worker.noop-events',
      group: 'executions',
      title: `as worker.noop, with core.execution_finished and core.st2.generic.actiontrigger fired for every finish`,
      baselineTitle: `raw SQL: ${NOOP_BATCH} rows claimed SKIP LOCKED ${SLOTS} at a time and completed, no events`,
      rowsPerOp: NOOP_BATCH,
      writes: true,
      maxOpsPerRound: 20,
      target: WORKER_NOOP_TARGET,
      teardown,
      setup: async () => finishEvents(true),
      repo: () => runByWorker('noop', NOOP_BATCH),
      baseline: () => rawLoop(NOOP_BATCH),
    },
    {
      name: 'worker.local-true',
      group: 'executions',
      title: `${SHELL_BATCH} shell executions of 'true' (core.local cmd=true) run by the worker, ${SLOTS} at once`,
      baselineTitle: `child_process.spawn('true') ${SHELL_BATCH} times, ${SLOTS} at once`,
      rowsPerOp: SHELL_BATCH,
      writes: true,
      maxOpsPerRound: 10,
      target: WORKER_SHELL_TARGET,
      teardown,
      setup: async () => finishEvents(false),
      repo: () => runByWorker('shell', SHELL_BATCH),
      baseline: () => spawnTrue(SHELL_BATCH),
    },
    {
      name: 'worker.backlog',
      group: 'executions',
      title: `${BACKLOG.toLocaleString('en')} requested no-ops inserted at once, drained by the worker (2,000 in a quick run)`,
      baselineTitle: `the same ${BACKLOG.toLocaleString('en')} fed ${SLOTS} at a time onto an empty queue`,
      rowsPerOp: BACKLOG,
      writes: true,
      maxOpsPerRound: 1,
      // Each operation drains 20,000 executions (seconds): three round pairs after the warm-up.
      maxRounds: 3,
      target: WORKER_BACKLOG_TARGET,
      teardown,
      setup: async () => finishEvents(false),
      repo: () => runByWorker('noop', BACKLOG),
      baseline: async () => {
        for (let done = 0; done < BACKLOG; done += SLOTS) await runByWorker('noop', SLOTS);
      },
    },
    {
      name: 'worker.latency',
      group: 'executions',
      title: 'requested → running: one no-op inserted while the worker idles on LISTEN, until the worker has claimed it',
      baselineTitle: 'the same row claimed with raw SQL on the requesting connection (no NOTIFY hop)',
      writes: true,
      maxOpsPerRound: 50,
      teardown,
      setup: async () => finishEvents(false),
      repo: async () => {
        const s = await build();
        // Idle first: the previous run finished, nothing in flight.
        if (lastLatencyId !== undefined) await waitAll(finished, [lastLatencyId]);
        const [id] = await request(s.noop, 'noop', 1);
        lastLatencyId = id!;
        await waitAll(claimed, [id!]);
      },
      baseline: async () => {
        const s = await build();
        await request(s.raw, 'http', 1);
        await rawDrain();
      },
    },
  ];
}
