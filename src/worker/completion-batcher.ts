/**
 * Batches completion writes: runs that finish together are written with one
 * `finishMany` statement (each fenced by its own attempt), as graphile-worker
 * batches its completions. With a FinishTriggerCache (a worker that follows
 * trigger changes) the same statement fires their finish events: one round
 * trip per batch. Without one, the statement and fireExecutionsFinished run
 * in one transaction. A flush is scheduled for the next turn of the event
 * loop after the first completion arrives, so a lone completion waits for
 * nothing. A worker about to claim takes the queued completions along
 * (`flushWithClaim`): the batch's completions and the claim that refills
 * its slots go in one statement, one commit, instead of two side by side.
 */
import type pg from 'pg';
import type { Executor } from '../db/pool.js';
import { withTransaction } from '../db/transaction.js';
import { fireExecutionsFinished, type FinishTriggerCache } from '../engine/internal-triggers.js';
import {
  ExecutionRepository,
  type ClaimAndStartOptions,
  type CompletionApplied,
  type Execution,
  type FinishAndClaimResult,
  type FinishEventTriggers,
  type RetryBackoff,
  type RunCompletion,
} from '../repositories/executions.js';

interface Pending {
  completion: RunCompletion;
  resolve(applied: CompletionApplied | undefined): void;
  reject(error: unknown): void;
}

/** At most this many completions in one statement. */
export const MAX_COMPLETION_BATCH = 500;

export class CompletionBatcher {
  #pending: Pending[] = [];
  /** Completions a flushWithClaim could not write: only the plain flush, which waits for row locks, takes them. */
  #plainOnly: Pending[] = [];
  #scheduled = false;
  #flushing: Promise<void> = Promise.resolve();
  /** Writes made by flushWithClaim, outside the flush chain; drain waits for them too. */
  readonly #withClaims = new Set<Promise<unknown>>();

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
    return new Promise((resolve, reject) => this.#enqueue(this.#pending, [{ completion, resolve, reject }]));
  }

  /** Adds completions to `queue` (#pending, or #plainOnly) and makes sure a flush is scheduled. */
  #enqueue(queue: Pending[], items: Pending[]): void {
    queue.push(...items);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flushing = this.#flushing.then(() => this.#flush());
    });
  }

  /**
   * Writes the completions queued and not yet sent together with `claim`, in
   * one statement (finishAndClaim), and resolves them as a flush would;
   * returns the executions claimed. Undefined, sending nothing, when none is
   * queued: the caller claims alone. When the statement fails, the
   * completions are rejected (their callers retry them) and so is the claim.
   */
  async flushWithClaim(claim: ClaimAndStartOptions): Promise<Execution[] | undefined> {
    if (this.#pending.length === 0) return undefined;
    const batch = this.#pending.splice(0, MAX_COMPLETION_BATCH);
    const write = this.#writeWithClaim(batch, claim);
    this.#withClaims.add(write);
    try {
      return await write;
    } finally {
      this.#withClaims.delete(write);
    }
  }

  /** Resolves once everything queued so far is written (with a claim or alone, and what a claim left to the plain flush). */
  async drain(): Promise<void> {
    while (this.#pending.length > 0 || this.#plainOnly.length > 0 || this.#scheduled || this.#withClaims.size > 0) {
      await Promise.allSettled([...this.#withClaims]);
      await new Promise((resolve) => setImmediate(resolve));
      await this.#flushing;
    }
    await this.#flushing;
  }

  async #writeWithClaim(batch: Pending[], claim: ClaimAndStartOptions): Promise<Execution[]> {
    let written: FinishAndClaimResult;
    try {
      written = await this.#write(batch, claim);
    } catch (error) {
      for (const item of batch) item.reject(error);
      throw error;
    }
    const byId = new Map(written.finished.map((row) => [row.id, row]));
    // Not written (a row locked by another transaction, or a lost lease): the plain flush waits for the lock and says which.
    const unwritten = batch.filter((item) => !byId.has(item.completion.id));
    for (const item of batch) if (byId.has(item.completion.id)) item.resolve(byId.get(item.completion.id));
    if (unwritten.length > 0) this.#enqueue(this.#plainOnly, unwritten);
    return written.claimed;
  }

  async #flush(): Promise<void> {
    while (this.#pending.length > 0 || this.#plainOnly.length > 0) {
      const batch = this.#plainOnly.length > 0 ? this.#plainOnly.splice(0, MAX_COMPLETION_BATCH) : this.#pending.splice(0, MAX_COMPLETION_BATCH);
      try {
        const { finished } = await this.#write(batch);
        const byId = new Map(finished.map((row) => [row.id, row]));
        for (const item of batch) item.resolve(byId.get(item.completion.id));
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
  }

  /**
   * Writes a batch's completions, with `claim` the claim too, in one
   * statement that also fires their finish events when the trigger cache
   * knows them; without a cache, in a transaction with fireExecutionsFinished.
   */
  async #write(batch: Pending[], claim?: ClaimAndStartOptions): Promise<FinishAndClaimResult> {
    const completions = batch.map((item) => item.completion);
    const statement = async (db: Executor, events?: FinishEventTriggers): Promise<FinishAndClaimResult> =>
      claim === undefined
        ? { finished: await ExecutionRepository.finishMany(db, completions, this.backoff, events), claimed: [] }
        : ExecutionRepository.finishAndClaim(db, completions, claim, this.backoff, events);
    if (this.triggers !== undefined) return statement(this.pool, await this.triggers.get(this.pool));
    return withTransaction(this.pool, async (tx) => {
      const written = await statement(tx);
      const final = written.finished.filter((row) => !row.retried).map((row) => row.execution);
      if (final.length > 0) await fireExecutionsFinished(tx, final);
      return written;
    });
  }
}
