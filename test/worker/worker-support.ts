/** Shared by the worker role tests: a committed test database, actions on each runner, a worker with fast settings, waits. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterEach, beforeEach } from 'vitest';
import { createLogger } from '../../src/log.js';
import { ExecutionRepository, FINAL_EXECUTION_STATUSES, type Execution, type ExecutionStatus } from '../../src/repositories/executions.js';
import type { JsonObject } from '../../src/repositories/packs.js';
import type { RunnerType } from '../../src/repositories/actions.js';
import { ActionFixture, cleanDatabase, PackFixture } from '../../src/testing/index.js';
import { createWorkerRole, type WorkerOptions, type WorkerRole } from '../../src/worker/worker.js';
import { FAST_PROCESS } from './helpers.js';

export const silentLogger = createLogger('silent');

/** A worker with small, fast settings on `pool`; `overrides` win. */
export function testWorker(pool: pg.Pool, dataDir: string, overrides: Partial<WorkerOptions> = {}): WorkerRole {
  return createWorkerRole({
    pool,
    logger: silentLogger,
    slots: 4,
    // Long: nothing sweeps in-process, and a short lease whose renewal is late on a loaded machine stops the run. Tests
    // about leases running out set their own.
    leaseSeconds: 30,
    runnerTypes: ['shell', 'shell-script', 'python', 'node', 'http', 'noop', 'inquiry', 'inject-trigger'],
    graceSeconds: 5,
    pollIntervalMs: 50,
    heartbeatSeconds: 1,
    dataDir,
    defaultTimeoutSeconds: 30,
    outputCapBytes: 1024 * 1024,
    backoff: { baseSeconds: 0, capSeconds: 0 },
    runners: { process: { process: FAST_PROCESS } },
    ...overrides,
  });
}

/**
 * A file a shell action waits for, so that it ends when the test says so (a
 * sleep can end on its own on a loaded machine, before the test has done what
 * must happen while the action runs): `wait` is the shell line, `open()` lets
 * the action go on, `remove()` cleans up.
 */
export function actionGate(name: string): { wait: string; open(): Promise<void>; remove(): Promise<void> } {
  const path = join(tmpdir(), `attune-gate-${name}-${process.pid}-${Date.now()}`);
  return {
    wait: `while [ ! -e '${path}' ]; do sleep 0.05; done`,
    open: () => writeFile(path, ''),
    remove: () => rm(path, { force: true }),
  };
}

/** A temporary data folder per call. */
export async function tempDataDir(): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'attune-worker-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** What a worker test holds per test: its data folder and the worker under test. */
export interface WorkerTestScene {
  /** This test's data folder (fresh for each test). */
  readonly dataDir: string;
  /** The worker under test; stopped after the test. A test that stops it itself sets it back to undefined. */
  worker: WorkerRole | undefined;
  /** Makes a test worker on `on` (default: the scene's pool) in this test's data folder, starts it, and keeps it as `worker`. */
  start(overrides?: Partial<WorkerOptions>, on?: pg.Pool): Promise<WorkerRole>;
}

/**
 * The per-test life of a worker test: a clean database and a fresh data
 * folder before each test; the worker stopped and the folder removed after.
 */
export function useWorkerScene(pool: pg.Pool): WorkerTestScene {
  let folder: Awaited<ReturnType<typeof tempDataDir>> | undefined;
  const scene: WorkerTestScene = {
    get dataDir() {
      if (folder === undefined) throw new Error('the data folder exists only inside a test');
      return folder.path;
    },
    worker: undefined,
    async start(overrides = {}, on = pool) {
      const worker = testWorker(on, scene.dataDir, overrides);
      scene.worker = worker;
      await worker.start();
      return worker;
    },
  };
  beforeEach(async () => {
    await cleanDatabase(pool);
    folder = await tempDataDir();
  });
  afterEach(async () => {
    await scene.worker?.stop();
    scene.worker = undefined;
    await folder?.remove();
    folder = undefined;
  });
  return scene;
}

/** An action of a fresh pack on `runnerType`. */
export async function actionOn(db: pg.Pool, runnerType: RunnerType, paramSchema: JsonObject = {}, timeoutSeconds: number | null = null) {
  const pack = await new PackFixture().create(db);
  return new ActionFixture().withRunnerType(runnerType).withParamSchema(paramSchema).withTimeout(timeoutSeconds).forPack(pack).create(db);
}

/** Waits (polling the row) until the execution is in one of `statuses`; fails after `ms` with what it saw. */
export async function waitForStatus(db: pg.Pool, id: number, statuses: readonly ExecutionStatus[] = FINAL_EXECUTION_STATUSES, ms = 20_000): Promise<Execution> {
  const until = Date.now() + ms;
  let execution = await ExecutionRepository.getById(db, id);
  while (!statuses.includes(execution.status)) {
    if (Date.now() > until) throw new Error(`execution ${id} is still ${execution.status} (waited for ${statuses.join(', ')})`);
    await new Promise((resolve) => setTimeout(resolve, 25));
    execution = await ExecutionRepository.getById(db, id);
  }
  return execution;
}

/** Waits until `check` returns a value other than undefined. */
export async function waitFor<T>(check: () => Promise<T | undefined>, what: string, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
