/**
 * Stores one run's output: chunks as the capture delivers them (already
 * coalesced to a few per second and capped), numbered in order, known
 * secret values replaced by `********`, appended with the run's fence (a
 * worker that lost its lease stores nothing). Writes are serialised, and
 * chunks that arrive while one is in flight go together in the next.
 */
import type pg from 'pg';
import { ExecutionOutputRepository, type ExecutionFence, type NewOutputChunk, type OutputStream } from '../repositories/executions.js';
import type { Logger } from '../log.js';
import { scrubSecrets } from './scrub.js';

export class OutputWriter {
  #seq = 0;
  #queue: NewOutputChunk[] = [];
  #writing: Promise<void> | null = null;
  /** False once a write found the lease gone. */
  #held = true;

  constructor(
    private readonly pool: pg.Pool,
    private readonly executionId: number,
    private readonly fence: ExecutionFence,
    private readonly secrets: readonly string[],
    private readonly logger: Logger,
  ) {}

  /** Queues a chunk; never throws. */
  push(stream: OutputStream, data: string): void {
    if (!this.#held || data === '') return;
    this.#queue.push({ seq: this.#seq++, stream, data: scrubSecrets(data, this.secrets) });
    if (this.#writing === null) this.#writing = this.#write();
  }

  /** Resolves once every queued chunk is written (or dropped). */
  async flush(): Promise<void> {
    while (this.#writing !== null) await this.#writing;
  }

  async #write(): Promise<void> {
    try {
      while (this.#queue.length > 0 && this.#held) {
        const chunks = this.#queue.splice(0, this.#queue.length);
        try {
          const stored = await ExecutionOutputRepository.append(this.pool, this.executionId, this.fence, chunks);
          if (stored === 0) this.#held = false;
        } catch (error) {
          // Output is best effort: the run and its result matter more than a lost chunk.
          this.logger.warn({ executionId: this.executionId, err: (error as Error).message }, 'could not store output');
        }
      }
    } finally {
      this.#writing = null;
    }
  }
}
