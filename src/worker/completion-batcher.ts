/**
 * Batches completion writes: runs that finish together are written with one
 * `finishMany` statement (each fenced by its own attempt), as graphile-worker
 * batches its completions. With a FinishTriggerCache (a worker that follows
 * trigger changes) the same statement fires their finish events: one round
 * trip per batch. Without one, the statement and fireExecutionsFinished run
 * in one transaction. A flush is scheduled for the next turn of the event
 * loop after the first completion arrives, so a lone completion waits for
 * nothing.
 */
import type pg from 'pg';
import { withTransaction } from '../db/transaction.js';
import { fireExecutionsFinished, type FinishTriggerCache } from '../engine/internal-triggers.js';
import { ExecutionRepository, type CompletionApplied, type RetryBackoff, type RunCompletion } from '../repositories/executions.js';

interface Pending {
  completion: RunCompletion;
  resolve(applied: CompletionApplied | undefined): void;
  reject(error: unknown): void;
}

/** At most this many completions in one statement. */
export const MAX_COMPLETION_BATCH = 500;

export class CompletionBatcher {
  #pending: Pending[] = [];
  #scheduled = false;
  #flushing: Promise<void> = Promise.resolve();

  /** `triggers`: which finish triggers can fire, kept current by the caller; without it they are looked up per batch. */
  constructor(
    private readonly pool: pg.Pool,
    private readonly backoff: RetryBackoff,
    private readonly triggers?: FinishTriggerCache,
  ) {}

  /**
   * Queues a completion; resolves with what it did once written, or with
   * undefined when the fence no longer held the execution (nothing changed).
   */
  complete(completion: RunCompletion): Promise<CompletionApplied | undefined> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ completion, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => {
          this.#scheduled = false;
          this.#flushing = this.#flushing.then(() => this.#flush());
        });
      }
    });
  }

  /** Resolves once everything queued so far is written. */
  async drain(): Promise<void> {
    while (this.#pending.length > 0 || this.#scheduled) {
      await new Promise((resolve) => setImmediate(resolve));
      await this.#flushing;
    }
    await this.#flushing;
  }

  async #flush(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, MAX_COMPLETION_BATCH);
      try {
        const completions = batch.map((item) => item.completion);
        const applied =
          this.triggers !== undefined
            ? // One statement: the runs finished and their finish events fired together.
              await ExecutionRepository.finishMany(this.pool, completions, this.backoff, await this.triggers.get(this.pool))
            : await withTransaction(this.pool, async (tx) => {
                const rows = await ExecutionRepository.finishMany(tx, completions, this.backoff);
                const finished = rows.filter((row) => !row.retried).map((row) => row.execution);
                if (finished.length > 0) await fireExecutionsFinished(tx, finished);
                return rows;
              });
        const byId = new Map(applied.map((row) => [row.id, row]));
        for (const item of batch) item.resolve(byId.get(item.completion.id));
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
  }
}
