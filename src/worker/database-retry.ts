/**
 * Retries a worker's database write while the connection is lost
 * (`ATTUNE_DATABASE_UNAVAILABLE`: a terminated connection, a server restart),
 * each try on a fresh pooled connection, with a bounded back-off. A run's
 * writes are fenced by its (worker, attempt) and live lease, so a retried
 * write is safe: one whose lease passed to another worker meanwhile changes
 * nothing (or raises `ATTUNE_LEASE_LOST`), and the caller stops the run.
 * Any other error, or a connection still lost after `maxMs`, is thrown.
 */
import { isAttuneError } from '../errors.js';
import type { Logger } from '../log.js';

/** How long and how often to retry. */
export interface ConnectionRetryOptions {
  /** Give up (throw the last error) once this much time passed since the first failure. */
  maxMs: number;
  /** First wait; doubled after each failure up to `maxDelayMs`. Default 100. */
  initialDelayMs?: number;
  /** Default 2000. */
  maxDelayMs?: number;
  /** Stops the waiting (the last error is thrown) when aborted. */
  signal?: AbortSignal;
  logger?: Logger;
  /** What is being written, for the log. */
  what: string;
  /** Added to the log line (an execution id, say). */
  context?: Record<string, unknown>;
}

/** True when `error` says the database connection is lost or could not be made. */
export function isConnectionLoss(error: unknown): boolean {
  return isAttuneError(error, 'ATTUNE_DATABASE_UNAVAILABLE');
}

/** Runs `write`, again after a back-off while it fails with a lost connection (see the module comment). */
export async function retryOnConnectionLoss<T>(write: () => Promise<T>, options: ConnectionRetryOptions): Promise<T> {
  let delay = options.initialDelayMs ?? 100;
  let firstFailure: number | undefined;
  let tries = 0;
  for (;;) {
    try {
      const value = await write();
      if (tries > 0) options.logger?.info({ ...options.context, tries: tries + 1 }, `${options.what}: written after the database came back`);
      return value;
    } catch (error) {
      if (!isConnectionLoss(error)) throw error;
      firstFailure ??= Date.now();
      tries += 1;
      if (Date.now() - firstFailure >= options.maxMs || options.signal?.aborted) throw error;
      if (tries === 1) options.logger?.warn({ ...options.context, err: (error as Error).message }, `${options.what}: database unavailable, retrying`);
      await pause(Math.min(delay, options.maxDelayMs ?? 2000), options.signal);
      delay *= 2;
    }
  }
}

/** Waits `ms`, or less when `signal` aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
