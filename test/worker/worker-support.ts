/** Shared by the worker role tests: a committed test database, actions on each runner, a worker with fast settings, waits. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { createLogger } from '../../src/log.js';
import { ExecutionRepository, FINAL_EXECUTION_STATUSES, type Execution, type ExecutionStatus } from '../../src/repositories/executions.js';
import type { JsonObject } from '../../src/repositories/packs.js';
import type { RunnerType } from '../../src/repositories/actions.js';
import { ActionFixture, PackFixture } from '../../src/testing/index.js';
import { createWorkerRole, type WorkerOptions, type WorkerRole } from '../../src/worker/worker.js';
import { FAST_PROCESS } from './helpers.js';

export const silentLogger = createLogger('silent');

/** A worker with small, fast settings on `pool`; `overrides` win. */
export function testWorker(pool: pg.Pool, dataDir: string, overrides: Partial<WorkerOptions> = {}): WorkerRole {
  return createWorkerRole({
    pool,
    logger: silentLogger,
    slots: 4,
    leaseSeconds: 3,
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

/** A temporary data folder per call. */
export async function tempDataDir(): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'attune-worker-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
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
