/**
 * The worker role: claims runnable executions of the runner types it
 * serves, up to its free slots, straight into running; runs each
 * (run-execution.ts); renews each lease at a third of its length (a lost
 * lease kills the run's process group); writes completions in batches; wakes
 * on NOTIFY `attune_executions` and polls as a backstop; follows cancels on
 * `attune_execution_cancel`; records heartbeats in the workers table under
 * its own session. `stop` stops claiming, hands back runs whose runner had
 * not started, lets running ones finish within the grace period, then kills
 * what is left and leaves it to the lease sweep.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';
import type { SecretCipher } from '../crypto/secrets.js';
import type { NotificationListener } from '../db/listener.js';
import { FinishTriggerCache } from '../engine/internal-triggers.js';
import { isAttuneError } from '../errors.js';
import type { Logger } from '../log.js';
import {
  ExecutionRepository,
  fenceOf,
  type ClaimAndStartOptions,
  type CompletionApplied,
  type Execution,
  type ExecutionFence,
  type RetryBackoff,
} from '../repositories/executions.js';
import { WorkerRepository } from '../repositories/workers.js';
import type { Role } from '../roles.js';
import { CompletionBatcher } from './completion-batcher.js';
import { retryOnConnectionLoss } from './database-retry.js';
import type { DatabaseRunner } from './database-runner.js';
import { ProcessGroupRecorder } from './process-group-recorder.js';
import { dataFolders, runExecution, type RunEnvironment, type RunHandle } from './run-execution.js';
import { createRunners, type RunnerOptions } from './runners/index.js';
import { InjectTriggerRunner } from './runners/inject-trigger.js';
import { InquiryRunner } from './runners/inquiry.js';
import type { Runner } from './runners/types.js';

/** Channels the worker listens on. */
export const EXECUTIONS_CHANNEL = 'attune_executions';
export const CANCEL_CHANNEL = 'attune_execution_cancel';
/** Trigger and pack changes: the finish triggers the worker knows of may have changed. */
export const TRIGGERS_CHANGED_CHANNEL = 'attune_rules_changed';

/** Everything a worker needs; `workerOptionsFromConfig` fills it from the configuration. */
export interface WorkerOptions {
  pool: pg.Pool;
  /** Wake-ups and cancels; without one the worker polls only (and learns of cancels at lease renewal). */
  listener?: NotificationListener;
  logger: Logger;
  /** Unique worker name. Default `<host>-<pid>`. */
  name?: string;
  slots: number;
  leaseSeconds: number;
  /** Runner types to take (Attune's names). */
  runnerTypes: readonly string[];
  graceSeconds: number;
  pollIntervalMs: number;
  heartbeatSeconds: number;
  /** Run folders, packs and environments go under it. */
  dataDir: string;
  defaultTimeoutSeconds: number;
  outputCapBytes: number;
  backoff: RetryBackoff;
  cipher?: SecretCipher;
  /** Options of the process runners (PATH, kill grace, Python and Node installers). */
  runners?: RunnerOptions;
  apiUrl?: string;
  /** Told what the worker claims and finishes (metrics, benchmarks); must not throw or block. */
  observer?: WorkerObserver;
}

/** Callbacks on a worker's claims and completions, called synchronously. */
export interface WorkerObserver {
  /** A claim took these executions (now running on this worker). */
  claimed?(executions: readonly Execution[]): void;
  /** A run's completion was written (`applied`), or found its lease gone (undefined). */
  finished?(executionId: number, applied: CompletionApplied | undefined): void;
}

interface ActiveRun {
  execution: Execution;
  fence: ExecutionFence;
  handle: RunHandle;
  renewal: NodeJS.Timeout;
  /** True while a renewal (and its retries on a fresh connection) is on its way: the next tick then does not start another. */
  renewing?: boolean;
  /** Set once the run is over and its completion written (or given up): renewals stop. */
  ended?: boolean;
  done: Promise<void>;
  /** True until the run's process (or database runner) is over; its completion may still be on its way to the database. */
  slotHeld: boolean;
}

/** The worker role (see the module comment). */
export class WorkerRole implements Role {
  readonly name = 'worker';
  readonly #options: WorkerOptions;
  /** Runs held: running, or written back. */
  readonly #runs = new Map<number, ActiveRun>();
  /** Slots in use: runs whose process has not ended. A slot is free again while its completion is being written. */
  #busy = 0;
  readonly #batcher: CompletionBatcher;
  /** Only with a listener to keep it current; without one the batcher looks the triggers up per batch. */
  readonly #finishTriggers: FinishTriggerCache | undefined;
  #wakeScheduled = false;
  readonly #environment: RunEnvironment;
  readonly #session = randomUUID();
  readonly #host = hostname();
  #workerId: number | undefined;
  #state: 'idle' | 'running' | 'stopping' | 'stopped' = 'idle';
  #claiming: Promise<void> | null = null;
  #claimAgain = false;
  #timers: NodeJS.Timeout[] = [];
  #unlisten: Array<() => Promise<void>> = [];

  constructor(options: WorkerOptions) {
    this.#options = options;
    this.#finishTriggers = options.listener ? new FinishTriggerCache() : undefined;
    this.#batcher = new CompletionBatcher(options.pool, options.backoff, this.#finishTriggers);
    const folders = dataFolders(options.dataDir);
    const runnerOptions: RunnerOptions = {
      ...options.runners,
      python: { environmentRoot: folders.environmentRoot, ...options.runners?.python },
      node: { environmentRoot: folders.environmentRoot, ...options.runners?.node },
    };
    const runners = new Map<string, Runner | DatabaseRunner>(createRunners(runnerOptions));
    runners.set('inquiry', new InquiryRunner());
    runners.set('inject-trigger', new InjectTriggerRunner());
    for (const name of [...runners.keys()]) if (!options.runnerTypes.includes(name)) runners.delete(name);
    this.#environment = {
      pool: options.pool,
      logger: options.logger,
      runners,
      packsDir: folders.packsDir,
      workRoot: folders.workRoot,
      outputCapBytes: options.outputCapBytes,
      defaultTimeoutSeconds: options.defaultTimeoutSeconds,
      cipher: options.cipher,
      ...(options.apiUrl === undefined ? {} : { apiUrl: options.apiUrl }),
      processGroups: new ProcessGroupRecorder(options.pool, options.logger),
      databaseRetryMs: this.#databaseRetryMs(),
    };
  }

  /** The worker's row id once started. */
  get workerId(): number | undefined {
    return this.#workerId;
  }

  /** Executions this worker holds now. */
  get activeExecutionIds(): number[] {
    return [...this.#runs.keys()];
  }

  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new Error(`worker is ${this.#state}; start it once`);
    const { pool, listener } = this.#options;
    const worker = await WorkerRepository.register(pool, {
      name: this.#options.name ?? `${this.#host}-${process.pid}`,
      host: this.#host,
      session: this.#session,
      capabilities: { runners: [...this.#environment.runners.keys()], slots: this.#options.slots },
      meta: { pid: process.pid },
    });
    this.#workerId = worker.id;
    this.#state = 'running';
    if (listener) {
      this.#unlisten.push(await listener.listen(EXECUTIONS_CHANNEL, () => this.#wake()));
      this.#unlisten.push(await listener.listen(CANCEL_CHANNEL, (payload) => this.#onCancel(payload)));
      this.#unlisten.push(await listener.listen(TRIGGERS_CHANGED_CHANNEL, () => this.#finishTriggers?.invalidate()));
    }
    this.#timers.push(setInterval(() => this.#wake(), this.#options.pollIntervalMs));
    this.#timers.push(setInterval(() => void this.#heartbeat(), this.#options.heartbeatSeconds * 1000));
    this.#options.logger.info({ workerId: worker.id, slots: this.#options.slots, runners: [...this.#environment.runners.keys()] }, 'worker started');
    this.#wake();
  }

  /** Looks for work now, and reads the finish triggers again (after a listener reconnect, when notifications may have been lost). */
  wake(): void {
    this.#finishTriggers?.invalidate();
    this.#wake();
  }

  /**
   * Wakes the claim loop on the next turn of the event loop: runs whose
   * completions were written together all free their slots first, so one
   * claim fills them all.
   */
  #wakeSoon(): void {
    if (this.#wakeScheduled) return;
    this.#wakeScheduled = true;
    setImmediate(() => {
      this.#wakeScheduled = false;
      this.#wake();
    });
  }

  /** Wakes the claim loop (a NOTIFY, the poll, a freed slot). */
  #wake(): void {
    if (this.#state !== 'running') return;
    if (this.#claiming !== null) {
      this.#claimAgain = true;
      return;
    }
    this.#claiming = this.#claimLoop().finally(() => {
      this.#claiming = null;
      if (this.#claimAgain) {
        this.#claimAgain = false;
        this.#wake();
      }
    });
  }

  async #claimLoop(): Promise<void> {
    while (this.#state === 'running') {
      // Completions still being written count too, up to as many again as there are slots (memory stays bounded).
      const free = Math.min(this.#options.slots - this.#busy, 2 * this.#options.slots - this.#runs.size);
      if (free <= 0) return;
      const claim: ClaimAndStartOptions = {
        workerId: this.#workerId!,
        limit: Math.min(free, 1000),
        leaseSeconds: this.#options.leaseSeconds,
        runnerTypes: [...this.#environment.runners.keys()],
        defaultTimeoutSeconds: this.#options.defaultTimeoutSeconds,
      };
      let claimed: Execution[];
      try {
        // The completions of the runs that just freed these slots go in the same statement: one round trip and one commit per batch.
        claimed = (await this.#batcher.flushWithClaim(claim)) ?? (await ExecutionRepository.claimAndStart(this.#options.pool, claim));
      } catch (error) {
        this.#options.logger.error({ err: (error as Error).message }, 'claim failed; the poll will try again');
        return;
      }
      if (claimed.length > 0) this.#options.observer?.claimed?.(claimed);
      for (const execution of claimed) this.#launch(execution);
      if (claimed.length < free) return;
    }
  }

  #launch(execution: Execution): void {
    const fence = fenceOf(execution);
    const handle: RunHandle = { abort: new AbortController(), started: false, stopping: this.#state !== 'running' };
    const renewEvery = Math.max(1000, (this.#options.leaseSeconds * 1000) / 3);
    const run = { execution, fence, handle, slotHeld: true } as ActiveRun;
    run.renewal = setInterval(() => void this.#renew(run), renewEvery);
    this.#runs.set(execution.id, run);
    this.#busy += 1;
    run.done = this.#execute(run).finally(() => {
      run.ended = true;
      clearInterval(run.renewal);
      this.#runs.delete(execution.id);
      this.#releaseSlot(run);
      this.#wakeSoon();
    });
  }

  /**
   * Frees a run's slot once its process is over, before its completion is
   * written: the next claim then goes out while the batch of completions is
   * on its way, instead of after it. The run stays held (its lease renewed)
   * until the completion is written.
   */
  #releaseSlot(run: ActiveRun): void {
    if (!run.slotHeld) return;
    run.slotHeld = false;
    this.#busy -= 1;
    this.#wakeSoon();
  }

  async #execute(run: ActiveRun): Promise<void> {
    const { execution, fence, handle } = run;
    const logger = this.#options.logger;
    try {
      const end = await runExecution(this.#environment, execution, fence, handle);
      this.#releaseSlot(run);
      if (end.kind === 'paused') return;
      if (end.kind === 'unstarted') {
        await this.#retryWrite('handing the execution back', execution.id, () => ExecutionRepository.handBack(this.#options.pool, [{ id: execution.id, fence }]));
        return;
      }
      if (handle.abort.signal.aborted && this.#state === 'stopping' && end.completion.status === 'canceled') return; // killed at the end of the grace: the sweep decides
      // The result is retried on a fresh connection while the database is away; the fence makes a second write safe.
      const applied = await this.#retryWrite('writing the result', execution.id, () => this.#batcher.complete(end.completion));
      this.#options.observer?.finished?.(execution.id, applied);
      if (applied === undefined) logger.warn({ executionId: execution.id, attempt: fence.attempt }, 'the lease was lost before the result was written; nothing changed');
    } catch (error) {
      if (isAttuneError(error, 'ATTUNE_LEASE_LOST')) logger.warn({ executionId: execution.id, err: (error as Error).message }, 'lease lost');
      else logger.error({ executionId: execution.id, err: (error as Error).message }, 'run failed in the worker');
    }
  }

  /**
   * Retries a run's write while the database connection is lost, for as long
   * as a lease lasts: past it the run is the lease sweep's, and a write fenced
   * by it would change nothing anyway.
   */
  #retryWrite<T>(what: string, executionId: number, write: () => Promise<T>): Promise<T> {
    return retryOnConnectionLoss(write, {
      maxMs: this.#databaseRetryMs(),
      // Several tries within a lease: with a short lease a 2-second wait could outlast it while the database is back.
      maxDelayMs: Math.min(2000, (this.#options.leaseSeconds * 1000) / 6),
      what,
      logger: this.#options.logger,
      context: { executionId },
    });
  }

  #databaseRetryMs(): number {
    return Math.max(5_000, this.#options.leaseSeconds * 1000);
  }

  /**
   * Renews a run's lease; a lost lease (canceled, taken back) kills the run.
   * A canceling row aborts it too. A renewal that loses its connection is
   * tried again at once on a fresh one, with a short back-off, rather than a
   * third of a lease later: under repeated connection loss two missed
   * renewals would let the lease run out while the run is healthy.
   */
  async #renew(run: ActiveRun): Promise<void> {
    if (run.renewing) return;
    run.renewing = true;
    try {
      const renewed = await retryOnConnectionLoss(
        async () => (run.ended ? undefined : ExecutionRepository.renewLease(this.#options.pool, run.execution.id, run.fence, this.#options.leaseSeconds)),
        {
          // Past a lease's length the lease is gone anyway; the run's end stops the retries too.
          maxMs: this.#options.leaseSeconds * 1000,
          initialDelayMs: 50,
          maxDelayMs: 500,
          what: 'renewing the lease',
          logger: this.#options.logger,
          context: { executionId: run.execution.id },
        },
      );
      if (renewed?.status === 'canceling') run.handle.abort.abort();
    } catch (error) {
      if (run.ended) return;
      if (isAttuneError(error, 'ATTUNE_LEASE_LOST') || isAttuneError(error, 'ATTUNE_NOT_FOUND')) {
        this.#options.logger.warn({ executionId: run.execution.id }, 'lease lost: stopping the run');
        clearInterval(run.renewal);
        run.handle.abort.abort();
      } else {
        this.#options.logger.warn({ executionId: run.execution.id, err: (error as Error).message }, 'lease renewal failed; retrying at the next renewal');
      }
    } finally {
      run.renewing = false;
    }
  }

  #onCancel(payload: unknown): void {
    const id = (payload as { id?: unknown } | null)?.id;
    const run = typeof id === 'number' ? this.#runs.get(id) : undefined;
    if (run !== undefined) run.handle.abort.abort();
  }

  async #heartbeat(): Promise<void> {
    if (this.#workerId === undefined) return;
    try {
      const held = await WorkerRepository.sessionHeartbeat(this.#options.pool, this.#workerId, this.#session, {
        status: this.#busy >= this.#options.slots ? 'busy' : 'active',
      });
      if (!held) this.#options.logger.error({ workerId: this.#workerId }, 'another process registered this worker name: its heartbeats count, not ours');
    } catch (error) {
      this.#options.logger.warn({ err: (error as Error).message }, 'heartbeat failed');
    }
  }

  async stop(): Promise<void> {
    if (this.#state !== 'running') return;
    this.#state = 'stopping';
    const logger = this.#options.logger;
    for (const timer of this.#timers) clearInterval(timer);
    for (const unlisten of this.#unlisten) await unlisten().catch(() => undefined);
    await this.#claiming;
    // Runs whose runner has not started go back to the queue without using an attempt.
    for (const run of this.#runs.values()) run.handle.stopping = true;
    const pending = [...this.#runs.values()];
    if (pending.length > 0) {
      logger.info({ running: pending.length, graceSeconds: this.#options.graceSeconds }, 'waiting for running executions');
      let graceTimer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'grace'>((resolve) => (graceTimer = setTimeout(() => resolve('grace'), this.#options.graceSeconds * 1000)));
      const ended = await Promise.race([Promise.all(pending.map((run) => run.done)).then(() => 'done' as const), graceOver]);
      clearTimeout(graceTimer);
      if (ended === 'grace') {
        const left = [...this.#runs.values()];
        logger.warn({ executions: left.map((run) => run.execution.id) }, 'grace period over: killing what is left; the lease sweep retries or abandons it');
        for (const run of left) {
          clearInterval(run.renewal);
          run.handle.abort.abort();
        }
        await Promise.all(left.map((run) => run.done));
      }
    }
    await this.#environment.processGroups.drain();
    await this.#batcher.drain();
    if (this.#workerId !== undefined) {
      await WorkerRepository.sessionHeartbeat(this.#options.pool, this.#workerId, this.#session, { status: 'inactive' }).catch(() => false);
    }
    this.#state = 'stopped';
    logger.info({ workerId: this.#workerId }, 'worker stopped');
  }
}

/** Creates the worker role. */
export function createWorkerRole(options: WorkerOptions): WorkerRole {
  return new WorkerRole(options);
}
