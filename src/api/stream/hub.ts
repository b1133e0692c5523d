/**
 * The stream hub: one per process, fed by ONE LISTEN connection. A NOTIFY on
 * `attune_stream` (once per transaction that wrote log rows) makes the hub
 * read the notifications log after its position and hand the rows to every
 * subscriber; a NOTIFY on `attune_execution_output` tells the subscribers that
 * follow that execution's output to read it. Subscribers filter and write;
 * the hub never waits for them.
 *
 * Ids are given in insertion order but transactions commit in any order, so
 * the hub may read id 12 before id 11 commits. It remembers such gaps for a
 * while (`gapRecheckMs`) and reads them again on every wake-up and tick;
 * a late row is delivered then (after a larger id: at least once, in id order
 * per transaction).
 */
import type { Executor } from '../../db/pool.js';
import { NotificationListener } from '../../db/listener.js';
import type { Logger } from '../../log.js';
import { EXECUTION_OUTPUT_CHANNEL } from '../../repositories/execution-output.js';
import { NOTIFICATION_LOG_CHANNEL, NotificationRepository, type Notification } from '../../repositories/notifications.js';

/** Who receives what the hub reads. */
export interface StreamSubscriber {
  /** New log rows, oldest first. */
  notifications(rows: readonly Notification[]): void;
  /** A batch of output chunks of `executionId` was stored. */
  output?(executionId: number): void;
}

export interface StreamHubOptions {
  /** Where the log is read (a pool). */
  db: Executor;
  /** The database URL the one LISTEN connection opens. */
  url: string;
  logger: Logger;
  /** How long a skipped id is read again, waiting for its transaction to commit. Default 10 s. */
  gapRecheckMs?: number;
  /** Rows read per statement. Default 1000. */
  batchSize?: number;
}

/** Gaps remembered at most (a huge rolled-back batch leaves no more than this to re-read). */
const MAX_GAPS = 10_000;

export class StreamHub {
  readonly #options: StreamHubOptions;
  readonly #subscribers = new Set<StreamSubscriber>();
  #listener: NotificationListener | undefined;
  #starting: Promise<void> | undefined;
  #position = 0;
  /** Skipped ids → when they were first skipped. */
  readonly #gaps = new Map<number, number>();
  #reading: Promise<void> | undefined;
  #again = false;
  #tick: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: StreamHubOptions) {
    this.#options = options;
  }

  /** The id of the newest log row read so far: where a new live subscriber starts. */
  get position(): number {
    return this.#position;
  }

  get subscribers(): number {
    return this.#subscribers.size;
  }

  /** Opens the LISTEN connection and takes the log's current end as the position (once; later calls wait for it). */
  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const { logger } = this.#options;
    const listener = new NotificationListener({
      url: this.#options.url,
      applicationName: 'attune-stream',
      onError: (error, context) => logger.warn({ err: error.message, phase: context.phase }, 'stream listener'),
      // NOTIFYs sent while the connection was down are lost: read the log from the position.
      onReconnect: () => this.wake(),
    });
    await listener.listen(NOTIFICATION_LOG_CHANNEL, () => this.wake());
    await listener.listen(EXECUTION_OUTPUT_CHANNEL, (payload) => {
      const executionId = Number((payload as { executionId?: unknown } | null)?.executionId);
      if (!Number.isSafeInteger(executionId)) return;
      for (const subscriber of this.#subscribers) subscriber.output?.(executionId);
    });
    await listener.start();
    this.#listener = listener;
    this.#position = (await NotificationRepository.logBounds(this.#options.db)).last ?? 0;
    // The backstop: gaps are re-read, and a NOTIFY lost some other way is made up for.
    this.#tick = setInterval(() => this.wake(), 1000);
    this.#tick.unref();
  }

  /** Adds a subscriber; returns the function that removes it. */
  subscribe(subscriber: StreamSubscriber): () => void {
    this.#subscribers.add(subscriber);
    return () => this.#subscribers.delete(subscriber);
  }

  /** Reads the log after the position (and the gaps) and fans the rows out; calls made meanwhile fold into one more read. */
  wake(): void {
    if (this.#closed || this.#listener === undefined) return;
    if (this.#reading !== undefined) {
      this.#again = true;
      return;
    }
    this.#reading = this.#read()
      .catch((error: Error) => this.#options.logger.warn({ err: error.message }, 'stream: reading the notifications log failed; the next wake-up tries again'))
      .finally(() => {
        this.#reading = undefined;
        if (this.#again) {
          this.#again = false;
          this.wake();
        }
      });
  }

  async #read(): Promise<void> {
    const { db } = this.#options;
    const batchSize = this.#options.batchSize ?? 1000;
    const now = Date.now();
    const recheckMs = this.#options.gapRecheckMs ?? 10_000;
    for (const [id, since] of this.#gaps) if (now - since > recheckMs) this.#gaps.delete(id);
    const late = this.#gaps.size === 0 ? [] : await NotificationRepository.readLogIds(db, [...this.#gaps.keys()]);
    for (const row of late) this.#gaps.delete(row.id);
    if (late.length > 0) this.#deliver(late);
    for (;;) {
      const rows = await NotificationRepository.readLog(db, { after: this.#position, limit: batchSize });
      if (rows.length === 0) return;
      let previous = this.#position;
      for (const row of rows) {
        for (let id = previous + 1; id < row.id && this.#gaps.size < MAX_GAPS; id += 1) this.#gaps.set(id, now);
        previous = row.id;
      }
      this.#position = previous;
      this.#deliver(rows);
      if (rows.length < batchSize) return;
    }
  }

  #deliver(rows: readonly Notification[]): void {
    for (const subscriber of this.#subscribers) {
      try {
        subscriber.notifications(rows);
      } catch (error) {
        this.#options.logger.warn({ err: (error as Error).message }, 'stream: a subscriber failed');
      }
    }
  }

  /** Closes the LISTEN connection; subscribers receive nothing more. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#tick);
    this.#subscribers.clear();
    await this.#starting?.catch(() => undefined);
    await this.#reading;
    await this.#listener?.close();
  }
}
