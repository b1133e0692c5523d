/**
 * Stores one run's output: chunks as the capture delivers them (already
 * coalesced to a few per second and capped), numbered in order, known
 * secret values replaced by `********` (also when split across chunks: the
 * end of a chunk that could begin a secret waits for the next one, or for
 * `flush`), appended with the run's fence (a worker that lost its lease
 * stores nothing). Writes are serialised, and chunks that arrive while one
 * is in flight go together in the next.
 *
 * While the database connection is lost, chunks wait and the write is tried
 * again with a back-off, on a fresh connection, for up to `retryMs`; at most
 * `maxBufferedBytes` wait meanwhile, and chunks past that are dropped and
 * replaced by one marker line saying how much was lost. A retried write
 * whose first try had in fact been stored (the reply was lost) finds its
 * chunks there already and counts them as stored.
 */
import type pg from 'pg';
import { isAttuneError } from '../errors.js';
import { ExecutionOutputRepository, type ExecutionFence, type NewOutputChunk, type OutputStream } from '../repositories/executions.js';
import type { Logger } from '../log.js';
import { isConnectionLoss } from './database-retry.js';
import { StreamScrubber } from './scrub.js';

/** How long and how much output waits while the database is away. */
export interface OutputRetryOptions {
  /** Longest a write is retried while the connection is lost; then the waiting chunks are dropped. Default 30 s. */
  retryMs?: number;
  /** Most bytes of output waiting to be written (a single chunk may exceed it); later chunks are dropped, with a marker. Default 4 MiB. */
  maxBufferedBytes?: number;
}

const RETRY_DELAYS_MS = { first: 100, max: 2000 };

export class OutputWriter {
  #seq = 0;
  #queue: NewOutputChunk[] = [];
  /** Bytes of the queued chunks (the drop marker not counted). */
  #queuedBytes = 0;
  readonly #sizes = new WeakMap<NewOutputChunk, number>();
  #writing: Promise<void> | null = null;
  /** False once a write found the lease gone. */
  #held = true;
  /** The marker chunk standing for output dropped while the database was away, until it is written. */
  #dropped: { chunk: NewOutputChunk; bytes: number } | null = null;
  readonly #retryMs: number;
  readonly #maxBufferedBytes: number;
  readonly #scrubbers: Record<OutputStream, StreamScrubber>;

  constructor(
    private readonly pool: pg.Pool,
    private readonly executionId: number,
    private readonly fence: ExecutionFence,
    secrets: readonly string[],
    private readonly logger: Logger,
    options: OutputRetryOptions = {},
  ) {
    this.#retryMs = options.retryMs ?? 30_000;
    this.#maxBufferedBytes = options.maxBufferedBytes ?? 4 * 1024 * 1024;
    this.#scrubbers = { stdout: new StreamScrubber(secrets), stderr: new StreamScrubber(secrets) };
  }

  /** Queues a chunk; never throws. */
  push(stream: OutputStream, data: string): void {
    if (!this.#held || data === '') return;
    this.#queueChunk(stream, this.#scrubbers[stream].push(data));
  }

  /** Queues what the scrubber let through (possibly nothing yet). */
  #queueChunk(stream: OutputStream, scrubbed: string): void {
    if (scrubbed === '') return;
    const bytes = Buffer.byteLength(scrubbed, 'utf8');
    if (this.#queuedBytes > 0 && this.#queuedBytes + bytes > this.#maxBufferedBytes) {
      this.#drop(bytes);
      return;
    }
    const chunk = { seq: this.#seq++, stream, data: scrubbed };
    this.#queue.push(chunk);
    this.#sizes.set(chunk, bytes);
    this.#queuedBytes += bytes;
    if (this.#writing === null) this.#writing = this.#write();
  }

  /** Queues what the scrubbers still hold (the output is over), and resolves once every queued chunk is written (or dropped). */
  async flush(): Promise<void> {
    if (this.#held) for (const stream of ['stdout', 'stderr'] as const) this.#queueChunk(stream, this.#scrubbers[stream].end());
    while (this.#writing !== null) await this.#writing;
  }

  /** Counts `bytes` dropped under one marker chunk, queued in the place of the first of them. */
  #drop(bytes: number): void {
    if (this.#dropped === null) {
      this.#dropped = { chunk: { seq: this.#seq++, stream: 'stderr', data: '' }, bytes: 0 };
      this.#queue.push(this.#dropped.chunk);
    }
    this.#dropped.bytes += bytes;
    this.#dropped.chunk.data = `[attune: ${this.#dropped.bytes} bytes of output dropped while the database was unavailable]\n`;
  }

  async #write(): Promise<void> {
    let firstFailure: number | undefined;
    let delay = RETRY_DELAYS_MS.first;
    try {
      while (this.#queue.length > 0 && this.#held) {
        const chunks = this.#queue.splice(0, this.#queue.length);
        // The marker is final once it leaves the queue: later drops start a new one.
        if (this.#dropped !== null && chunks.includes(this.#dropped.chunk)) this.#dropped = null;
        try {
          const stored = await ExecutionOutputRepository.append(this.pool, this.executionId, this.fence, chunks);
          if (stored === 0) this.#held = false;
          this.#written(chunks);
          firstFailure = undefined;
          delay = RETRY_DELAYS_MS.first;
        } catch (error) {
          if (isConnectionLoss(error)) {
            firstFailure ??= Date.now();
            if (Date.now() - firstFailure < this.#retryMs) {
              // Back to the front of the queue, in order, and again after a pause.
              this.#queue.unshift(...chunks);
              await new Promise((resolve) => setTimeout(resolve, delay));
              delay = Math.min(delay * 2, RETRY_DELAYS_MS.max);
              continue;
            }
          }
          this.#written(chunks);
          // A retry after a lost reply: the first try stored these chunks.
          if (firstFailure !== undefined && isAttuneError(error, 'ATTUNE_ALREADY_EXISTS')) continue;
          // Output is best effort: the run and its result matter more than a lost chunk.
          this.logger.warn({ executionId: this.executionId, err: (error as Error).message }, 'could not store output');
        }
      }
    } finally {
      this.#writing = null;
    }
  }

  /** Takes `chunks` off the bytes waiting (stored, or given up). */
  #written(chunks: readonly NewOutputChunk[]): void {
    for (const chunk of chunks) this.#queuedBytes -= this.#sizes.get(chunk) ?? 0;
  }
}
