/**
 * Records the process groups of runs as they start, many in one statement:
 * runs that spawn together (a claim fills many slots at once) would
 * otherwise send one UPDATE each and queue for the pool ahead of claims and
 * completions. A write is scheduled for the next turn of the event loop
 * after the first group arrives; each is fenced by its run's (worker,
 * attempt), so a worker that lost a lease records nothing for it.
 */
import type pg from 'pg';
import type { Logger } from '../log.js';
import { ExecutionRepository, type ExecutionFence } from '../repositories/executions.js';

interface PendingGroup {
  id: number;
  fence: ExecutionFence;
  pgid: number;
}

/** At most this many process groups in one statement. */
export const MAX_PROCESS_GROUP_BATCH = 1000;

export class ProcessGroupRecorder {
  #pending: PendingGroup[] = [];
  #scheduled = false;
  #writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly pool: pg.Pool,
    private readonly logger: Logger,
  ) {}

  /** Queues the process group of a run; never throws (a failed write is logged: recovery then cannot kill the group). */
  record(id: number, fence: ExecutionFence, pgid: number): void {
    this.#pending.push({ id, fence, pgid });
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#writing = this.#writing.then(() => this.#write());
    });
  }

  /** Resolves once everything queued so far is written. */
  async drain(): Promise<void> {
    while (this.#pending.length > 0 || this.#scheduled) {
      await new Promise((resolve) => setImmediate(resolve));
      await this.#writing;
    }
    await this.#writing;
  }

  async #write(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, MAX_PROCESS_GROUP_BATCH);
      try {
        await ExecutionRepository.recordProcessGroups(this.pool, batch);
      } catch (error) {
        this.logger.warn({ executionIds: batch.map((group) => group.id), err: (error as Error).message }, 'could not record the process groups');
      }
    }
  }
}
