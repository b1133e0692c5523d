/**
 * Runners that act on the database instead of starting a process (inquiry,
 * inject-trigger). The worker gives them what a process runner gets plus the
 * pool and the fence of the run, so that their writes are the worker's
 * writes: fenced by (worker, attempt).
 */
import type pg from 'pg';
import type { Execution, ExecutionFence } from '../repositories/executions.js';
import type { RunnerInput, RunnerOutcome } from './runners/types.js';

/** What a database runner gets beside the runner input. */
export interface DatabaseRunContext {
  pool: pg.Pool;
  fence: ExecutionFence;
  execution: Execution;
}

/** The run is not over: the execution now waits (paused) outside any slot and lease. */
export interface PausedOutcome {
  status: 'paused';
  /** What it waits on, for the log. */
  reason: string;
}

/** A runner that needs the database. `run` reports an outcome, or that the execution paused. */
export interface DatabaseRunner {
  readonly name: string;
  readonly needsDatabase: true;
  run(input: RunnerInput, context: DatabaseRunContext): Promise<RunnerOutcome | PausedOutcome>;
}

/** True for a runner that needs the database. */
export function isDatabaseRunner(runner: unknown): runner is DatabaseRunner {
  return typeof runner === 'object' && runner !== null && (runner as { needsDatabase?: unknown }).needsDatabase === true;
}

/** True when the outcome says the execution paused. */
export function isPaused(outcome: RunnerOutcome | PausedOutcome): outcome is PausedOutcome {
  return outcome.status === 'paused';
}
